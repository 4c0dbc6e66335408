//! What operators ask of the database itself: counts by status, the file's
//! (or the PostgreSQL database's) size, whether it answers, and how long requests waited for a pooled
//! connection.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

use super::sql::{args, StoreResult, Tx};
pub use super::status::{job_status, workspace_status, JobFacts};
use super::{Backend, Db};

fn job_facts(r: &super::sql::Row, from: usize) -> StoreResult<JobFacts> {
    Ok(JobFacts {
        started: r.get(from)?,
        completed: r.get(from + 1)?,
        canceled: r.get(from + 2)?,
        errored: r.get(from + 3)?,
    })
}

/// Jobs grouped by the facts their status is made of.
pub fn jobs(tx: &Tx) -> StoreResult<Vec<(JobFacts, i64)>> {
    tx.query(
        "SELECT j.started_at IS NOT NULL, j.completed_at IS NOT NULL, j.canceled_at IS NOT NULL,
                j.error <> '', count(*)
         FROM provisioner_jobs j GROUP BY 1, 2, 3, 4",
        args![],
        |r| Ok((job_facts(r, 0)?, r.get(4)?)),
    )
}

/// Live workspaces grouped by their latest build's transition and job facts.
pub fn workspaces(tx: &Tx) -> StoreResult<Vec<(String, JobFacts, i64)>> {
    tx.query(
        "SELECT b.transition, j.started_at IS NOT NULL, j.completed_at IS NOT NULL,
                j.canceled_at IS NOT NULL, j.error <> '', count(*)
         FROM workspaces w JOIN workspace_builds b ON b.id = w.latest_build_id
         JOIN provisioner_jobs j ON j.id = b.job_id
         WHERE w.deleted = 0 GROUP BY 1, 2, 3, 4, 5",
        args![],
        |r| Ok((r.get(0)?, job_facts(r, 1)?, r.get(5)?)),
    )
}

/// Live users by status.
pub fn users(tx: &Tx) -> StoreResult<Vec<(String, i64)>> {
    tx.query(
        "SELECT status, count(*) FROM users WHERE deleted = 0 GROUP BY status",
        args![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

pub fn organizations(tx: &Tx) -> StoreResult<i64> {
    tx.value(
        "SELECT count(*) FROM organizations WHERE deleted = 0",
        args![],
    )
}

pub fn groups(tx: &Tx) -> StoreResult<i64> {
    tx.value("SELECT count(*) FROM groups", args![])
}

pub fn templates(tx: &Tx) -> StoreResult<i64> {
    tx.value("SELECT count(*) FROM templates WHERE deleted = 0", args![])
}

/// The database file and its write-ahead log, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSizes {
    pub database: u64,
    pub wal: u64,
}

/// How long work waited for a pooled connection. The observer, once set,
/// sees every wait (the metrics histogram).
#[derive(Default)]
pub struct PoolStats {
    pub acquisitions: AtomicU64,
    pub wait_micros: AtomicU64,
    pub slowest_micros: AtomicU64,
    observer: OnceLock<Arc<dyn Fn(Duration) + Send + Sync>>,
}

impl std::fmt::Debug for PoolStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolStats")
            .field("acquisitions", &self.acquisitions)
            .field("wait_micros", &self.wait_micros)
            .finish()
    }
}

impl PoolStats {
    pub(super) fn record(&self, waited: Duration) {
        let us = waited.as_micros() as u64;
        self.acquisitions.fetch_add(1, Ordering::Relaxed);
        self.wait_micros.fetch_add(us, Ordering::Relaxed);
        self.slowest_micros.fetch_max(us, Ordering::Relaxed);
        if let Some(o) = self.observer.get() {
            o(waited);
        }
    }

    /// Sets who sees each wait; once.
    pub fn observe(&self, f: Arc<dyn Fn(Duration) + Send + Sync>) {
        let _ = self.observer.set(f);
    }
}

impl Db {
    /// The file the pool has open, as SQLite names it.
    fn main_file(pool: &Pool<SqliteConnectionManager>) -> StoreResult<PathBuf> {
        let conn = pool.get()?;
        let file: String = conn.query_row(
            "SELECT file FROM pragma_database_list WHERE name = 'main'",
            [],
            |r| r.get(0),
        )?;
        Ok(PathBuf::from(file))
    }

    /// SQLite: the database file's and its WAL's sizes. PostgreSQL: the
    /// database's size as the server counts it (its write-ahead log is the
    /// cluster's, not the database's: 0).
    pub fn file_sizes(&self) -> StoreResult<FileSizes> {
        match &self.backend {
            Backend::Sqlite(pool, _) => {
                let main = Db::main_file(pool)?;
                let mut wal = main.clone().into_os_string();
                wal.push("-wal");
                let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                Ok(FileSizes {
                    database: size(&main),
                    wal: size(std::path::Path::new(&wal)),
                })
            }
            Backend::Postgres(_) => {
                let bytes: i64 = self.read_blocking(|tx| {
                    tx.value("SELECT pg_database_size(current_database())", args![])
                })?;
                Ok(FileSizes {
                    database: u64::try_from(bytes).unwrap_or(0),
                    wal: 0,
                })
            }
        }
    }

    /// Whether the database answers through a new connection: to the file
    /// at its path on SQLite (pooled connections keep a file that was moved
    /// or deleted open, and would go on answering from it), to the server
    /// on PostgreSQL (a pooled connection says nothing of whether the
    /// server still accepts one). Either gives up after `timeout`.
    pub fn probe(&self, timeout: Duration) -> Result<(), String> {
        match &self.backend {
            Backend::Sqlite(pool, _) => {
                let main = Db::main_file(pool)
                    .map_err(|e| format!("no pooled connection answers: {e}"))?;
                let conn = Connection::open_with_flags(&main, OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .map_err(|e| format!("cannot open {}: {e}", main.display()))?;
                conn.busy_timeout(timeout).map_err(|e| e.to_string())?;
                conn.query_row("SELECT count(*) FROM settings", [], |r| r.get::<_, i64>(0))
                    .map_err(|e| format!("{} does not answer: {e}", main.display()))?;
                Ok(())
            }
            Backend::Postgres(pg) => {
                let mut cfg = pg.cfg.clone();
                cfg.connect_timeout(timeout);
                let mut client = cfg
                    .connect(::postgres::NoTls)
                    .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
                client
                    .batch_execute(&format!(
                        "SET statement_timeout = {}",
                        timeout.as_millis().max(1)
                    ))
                    .and_then(|()| client.query_one("SELECT count(*) FROM settings", &[]))
                    .map_err(|e| format!("PostgreSQL does not answer: {e}"))?;
                Ok(())
            }
        }
    }

    /// How long work waited for pooled connections.
    pub fn pool_stats(&self) -> &PoolStats {
        &self.pool_stats
    }

    /// The most connections the pool holds.
    pub fn pool_size(&self) -> u32 {
        match &self.backend {
            Backend::Sqlite(pool, _) => pool.max_size(),
            Backend::Postgres(pg) => pg.pool().map(|p| p.max_size()).unwrap_or(0),
        }
    }
}
