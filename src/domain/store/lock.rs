//! One server per database file: an exclusive OS advisory lock on a lock
//! file beside the database, holding the pid of the server that has it. A
//! second server on the same file finds it locked and refuses to start,
//! naming the holder.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

use super::OpenError;

/// The lock file of the database at `db`: `<db>.lock`.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// A held lock; dropping it removes the lock file and releases the lock.
#[derive(Debug)]
pub struct DbLock {
    file: File,
    path: PathBuf,
}

impl DbLock {
    pub fn acquire(db: &Path) -> Result<DbLock, OpenError> {
        let path = lock_path(db);
        let failed = |source: std::io::Error| OpenError::Lock {
            path: db.display().to_string(),
            lock: path.display().to_string(),
            source,
        };
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(failed)?;
            if !file.try_lock_exclusive().map_err(failed)? {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(OpenError::InUse {
                    path: db.display().to_string(),
                    lock: path.display().to_string(),
                    holder: match text.trim() {
                        "" => "pid unknown".to_string(),
                        pid => format!("pid {pid}"),
                    },
                });
            }
            // A holder that was stopping may have removed the file between
            // our open and our lock: the lock must be on the file the path
            // names now, or a third server could lock a new one beside us.
            if !still_named(&file, &path) {
                continue;
            }
            file.set_len(0).map_err(failed)?;
            file.seek(SeekFrom::Start(0)).map_err(failed)?;
            writeln!(file, "{}", std::process::id()).map_err(failed)?;
            file.flush().map_err(failed)?;
            return Ok(DbLock { file, path });
        }
    }
}

#[cfg(unix)]
fn still_named(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_named(_: &File, path: &Path) -> bool {
    path.exists()
}

impl Drop for DbLock {
    fn drop(&mut self) {
        // Removed while still locked, so no other server can have it yet.
        let _ = std::fs::remove_file(&self.path);
        let _ = FileExt::unlock(&self.file);
    }
}
