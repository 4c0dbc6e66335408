//! SQLite's WAL checkpoints, off the write path.
//!
//! By default the connection whose commit pushes the WAL past 1,000 pages
//! copies it back into the database file and syncs both, inside that
//! commit: one write in twenty waited ~18 ms for the disk while every other
//! writer queued behind it. Here every connection has automatic checkpoints
//! off, and one thread with a connection of its own runs a PASSIVE
//! checkpoint shortly after commits: it never blocks a writer or a reader,
//! and copies what no reader still needs. A writer only starts the WAL over
//! when every frame was copied before it began, which under a steady stream
//! of writes never happens (the WAL grew past 250 MiB in 1,600 creates, and
//! every new frame cost the kernel a fresh page). So once the WAL is past
//! `RESTART_FRAMES`, the thread asks the writer, between two of its
//! transactions, to copy the few frames written since its PASSIVE pass
//! ([`Checkpointer::restart_on`]); the writer's next transaction then starts
//! the WAL over. (A RESTART from this thread would take the write lock by
//! polling it, and a busy writer never lets go long enough.) Durability is
//! unchanged (WAL with
//! `synchronous = NORMAL`: a commit is safe from a crash of the process at
//! once, from a power loss once checkpointed).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How long commits may gather before they are checkpointed together
/// (pages written again meanwhile are copied once).
const INTERVAL: Duration = Duration::from_millis(200);

/// Commits after which the checkpoint runs without waiting for the
/// interval, so the WAL stays a few MiB under a steady stream of writes.
/// (At 64, with a quarter of the restart length, creates spent ~15 % of
/// the server's time copying the same hot index pages again and restarting
/// the WAL; at 256, ~15 % more creates a second.)
const BATCH: u64 = 256;

/// WAL length (frames of one page) past which the writer is asked to make
/// its next transaction start the WAL over (16 MiB of 4 KiB pages: one
/// block of SQLite's WAL index, which readers search a block at a time).
const RESTART_FRAMES: i64 = 4096;

#[derive(Default)]
struct State {
    /// Commits since the last checkpoint began.
    pending: u64,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Set after a pass over a long WAL; taken by the writer.
    restart: AtomicBool,
}

/// The checkpointing thread of one database file; stops when dropped.
pub struct Checkpointer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Starts checkpointing `path` (a WAL database) on a connection of its
    /// own.
    pub fn start(path: &Path) -> rusqlite::Result<Checkpointer> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        let shared = Arc::new(Shared::default());
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("checkpoint".into())
            .spawn(move || run(&worker, &conn))
            .ok();
        Ok(Checkpointer {
            shared,
            thread: Mutex::new(thread),
        })
    }

    /// Tells the thread a transaction committed.
    pub fn committed(&self) {
        let mut s = self.lock();
        s.pending += 1;
        if s.pending == 1 || s.pending >= BATCH {
            self.shared.wake.notify_one();
        }
    }

    /// Called by the writer with its connection between two transactions:
    /// after this thread's pass over a long WAL, copies what was committed
    /// since (a few frames, two syncs), so that the writer's next
    /// transaction starts the WAL over.
    pub fn restart_on(&self, writer: &Connection) {
        if self.shared.restart.swap(false, Ordering::AcqRel) {
            // Busy (this thread began its next pass) only defers it.
            if let Err(e) = checkpoint(writer, "PASSIVE") {
                log::warn!("checkpoint before a restart failed: {e}");
            }
        }
    }

    /// Stops the thread after the checkpoint it may be running.
    pub fn stop(&self) {
        self.lock().stop = true;
        self.shared.wake.notify_one();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(shared: &Shared, conn: &Connection) {
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        // Asleep until a first commit; then up to INTERVAL for more.
        state = shared
            .wake
            .wait_while(state, |s| !s.stop && s.pending == 0)
            .unwrap_or_else(|e| e.into_inner());
        if !state.stop && state.pending < BATCH {
            state = shared
                .wake
                .wait_timeout_while(state, INTERVAL, |s| !s.stop && s.pending < BATCH)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if state.stop {
            return;
        }
        state.pending = 0;
        drop(state);
        match checkpoint(conn, "PASSIVE") {
            Ok((_, log, _)) => {
                if log >= RESTART_FRAMES {
                    shared.restart.store(true, Ordering::Release);
                }
            }
            Err(e) => log::warn!("checkpoint failed: {e}"),
        }
        state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    }
}

/// Runs one checkpoint: (busy, frames in the WAL, frames copied).
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64, i64)> {
    let done = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    log::trace!(
        "checkpoint {mode}: busy {}, {} frames, {} copied",
        done.0,
        done.1,
        done.2
    );
    Ok(done)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A WAL database with a table of blobs and its writer, which never
    /// checkpoints by itself.
    fn wal_database() -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x BLOB);",
            )
            .unwrap();
        (dir, path, writer)
    }

    #[test]
    fn commits_are_checkpointed_by_the_thread_not_the_writer() {
        let (_dir, path, writer) = wal_database();
        let ck = Checkpointer::start(&path).unwrap();
        // Far past the 1,000 pages at which a writer would checkpoint.
        for _ in 0..BATCH * 4 {
            writer
                .execute("INSERT INTO t VALUES (zeroblob(20000))", [])
                .unwrap();
            ck.committed();
        }
        // Only a checkpoint writes the database file itself: the thread's
        // brings every row there.
        let rows = BATCH * 4 * 20_000;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&path).unwrap().len() < rows {
            assert!(std::time::Instant::now() < deadline, "not checkpointed");
            std::thread::yield_now();
        }
        ck.stop();
        assert!(ck.thread.lock().unwrap().is_none());
    }

    #[test]
    fn a_steady_stream_of_commits_keeps_the_wal_short() {
        let (dir, path, writer) = wal_database();
        writer.busy_timeout(Duration::from_secs(5)).unwrap();
        let ck = Checkpointer::start(&path).unwrap();
        // 80 MiB in 4,000 commits written back to back: the writer never
        // waits for a checkpoint, so only a restart keeps the WAL short.
        let wal = dir.path().join("t.db-wal");
        let mut longest = 0;
        for i in 0..4_000 {
            writer
                .execute("INSERT INTO t VALUES (zeroblob(20000))", [])
                .unwrap();
            ck.committed();
            ck.restart_on(&writer);
            if i % 100 == 0 {
                writer.execute("DELETE FROM t", []).unwrap();
                ck.committed();
                ck.restart_on(&writer);
            }
            longest = longest.max(std::fs::metadata(&wal).unwrap().len());
        }
        ck.stop();
        // At most the restart length plus what one pass lets through.
        let bound = 2 * RESTART_FRAMES as u64 * 4096;
        assert!(longest < bound, "the WAL grew to {} MiB", longest >> 20);
    }
}
