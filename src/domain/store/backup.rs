//! Online backup and restore of the SQLite file: the engine-specific part of
//! `warren backup`, `warren restore` and `POST /api/v2/warren/backup`.
//!
//! A copy is taken with SQLite's online backup API in one step, which reads
//! one snapshot under a read transaction: in WAL mode writers go on beside
//! it, and the copy holds every transaction committed before the step began.
//! Each copy is then checked the way a restore checks a file: integrity,
//! warren's application id, a schema version this binary knows. (A
//! PostgreSQL deployment is backed up with `pg_dump`; nothing here applies.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{check_file, check_identity, lock, Db, OpenError, APPLICATION_ID, SCHEMA_VERSION};

/// What a verified copy holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub bytes: u64,
    pub schema_version: i64,
    /// Rows per kind of object, in a fixed order.
    pub counts: Vec<(&'static str, i64)>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes, schema version {}, integrity ok; ",
            self.bytes, self.schema_version
        )?;
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(what, n)| format!("{what} {n}"))
            .collect();
        f.write_str(&counts.join(", "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("{path} already exists; a backup never overwrites a file")]
    Exists { path: String },
    #[error("{path} is not a usable backup: {detail}")]
    Invalid { path: String, detail: String },
    #[error("{path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{db} is a PostgreSQL database: back it up with pg_dump and restore it with pg_restore (warren backup and restore copy a SQLite file)")]
    Postgres { db: String },
}

/// A PostgreSQL `--db` is refused: its own tools back it up.
fn sqlite_only(db: &Path) -> Result<(), BackupError> {
    match super::Location::parse(db) {
        super::Location::Sqlite(_) => Ok(()),
        pg @ super::Location::Postgres(_) => Err(BackupError::Postgres { db: pg.shown() }),
    }
}

/// The counted objects: (label, query).
const COUNTS: &[(&str, &str)] = &[
    ("users", "SELECT count(*) FROM users WHERE deleted = 0"),
    (
        "organizations",
        "SELECT count(*) FROM organizations WHERE deleted = 0",
    ),
    ("groups", "SELECT count(*) FROM groups"),
    (
        "templates",
        "SELECT count(*) FROM templates WHERE deleted = 0",
    ),
    (
        "template versions",
        "SELECT count(*) FROM template_versions",
    ),
    (
        "workspaces",
        "SELECT count(*) FROM workspaces WHERE deleted = 0",
    ),
    ("workspace builds", "SELECT count(*) FROM workspace_builds"),
    ("provisioner jobs", "SELECT count(*) FROM provisioner_jobs"),
    ("files", "SELECT count(*) FROM files"),
    ("api keys", "SELECT count(*) FROM api_keys"),
];

/// How long a copy waits for a database another connection holds locked
/// (a checkpoint, a WAL recovery) before giving up.
const BUSY: Duration = Duration::from_secs(5);

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |source| BackupError::Sqlite {
        path: path.display().to_string(),
        source,
    }
}

/// Copies everything `src` holds into a new database at `dest`, in one
/// step, then makes the copy a single self-contained file (no WAL).
fn copy(src: &Connection, dest: &Path) -> Result<(), BackupError> {
    let err = sqlite(dest);
    let mut out = Connection::open(dest).map_err(&err)?;
    {
        let backup = Backup::new(src, &mut out).map_err(&err)?;
        let started = std::time::Instant::now();
        loop {
            match backup.step(-1).map_err(&err)? {
                StepResult::Done => break,
                // Another connection holds a lock SQLite cannot read past
                // (a WAL recovery); the step is simply tried again.
                StepResult::Busy | StepResult::Locked | StepResult::More
                    if started.elapsed() < BUSY =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    return Err(BackupError::Invalid {
                        path: dest.display().to_string(),
                        detail: "the database stayed locked; try again".into(),
                    })
                }
            }
        }
    }
    out.execute_batch("PRAGMA journal_mode = DELETE;")
        .map_err(&err)?;
    Ok(())
}

/// Refuses a destination that exists (a backup never overwrites a file);
/// an empty file made for the purpose (a temporary file) is accepted.
fn check_destination(dest: &Path) -> Result<(), BackupError> {
    match std::fs::metadata(dest) {
        Ok(m) if m.is_file() && m.len() == 0 => Ok(()),
        Ok(_) => Err(BackupError::Exists {
            path: dest.display().to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(BackupError::Io {
            path: dest.display().to_string(),
            source,
        }),
    }
}

/// Checks a copy as a restore would: integrity, warren's application id, a
/// schema version this binary knows; and counts what it holds.
pub fn verify(path: &Path) -> Result<Summary, BackupError> {
    let shown = path.display().to_string();
    let invalid = |detail: String| BackupError::Invalid {
        path: shown.clone(),
        detail,
    };
    let meta = std::fs::metadata(path).map_err(|source| BackupError::Io {
        path: shown.clone(),
        source,
    })?;
    if !meta.is_file() {
        return Err(invalid("not a regular file".into()));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite(path))?;
    let app_id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| invalid(format!("not a SQLite database ({e})")))?;
    if app_id != APPLICATION_ID {
        return Err(invalid(format!(
            "not a warren database (application_id {app_id:#x})"
        )));
    }
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sqlite(path))?;
    if version > SCHEMA_VERSION {
        return Err(invalid(format!(
            "written by a newer warren (schema version {version}, this binary knows {SCHEMA_VERSION})"
        )));
    }
    if version < 1 {
        return Err(invalid("no warren schema".into()));
    }
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .map_err(sqlite(path))?;
    let problems: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sqlite(path))?
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(format!("integrity check failed: {e}")))?;
    if problems != ["ok"] {
        return Err(invalid(format!(
            "integrity check failed: {}",
            problems.join("; ")
        )));
    }
    let mut counts = Vec::new();
    for (label, sql) in COUNTS {
        // An older schema may lack a table a newer one counts.
        let n: i64 = conn.query_row(sql, [], |r| r.get(0)).unwrap_or(0);
        counts.push((*label, n));
    }
    Ok(Summary {
        bytes: meta.len(),
        schema_version: version,
        counts,
    })
}

/// Copies, verifies, and removes a copy that fails verification.
fn copy_verified(src: &Connection, dest: &Path) -> Result<Summary, BackupError> {
    let done = copy(src, dest).and_then(|()| verify(dest));
    if done.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    done
}

impl Db {
    /// A verified copy of the live database at `dest`, taken beside the
    /// requests this server goes on serving.
    pub fn backup_to(&self, dest: &Path) -> Result<Summary, BackupError> {
        let pool = match &self.backend {
            super::Backend::Sqlite(pool, _) => pool,
            super::Backend::Postgres(_) => {
                return Err(BackupError::Postgres {
                    db: "This deployment's database".into(),
                })
            }
        };
        check_destination(dest)?;
        let conn = pool.get().map_err(|e| BackupError::Invalid {
            path: dest.display().to_string(),
            detail: format!("no database connection: {e}"),
        })?;
        copy_verified(&conn, dest)
    }
}

/// `warren backup`: a verified copy of the database file at `db`, which a
/// running server may be writing meanwhile (nothing is written to `db`).
pub fn backup_file(db: &Path, dest: &Path) -> Result<Summary, BackupError> {
    sqlite_only(db)?;
    let shown = db.display().to_string();
    if !check_file(db)? {
        return Err(BackupError::Io {
            path: shown,
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    check_destination(dest)?;
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite(db))?;
    conn.busy_timeout(BUSY).map_err(sqlite(db))?;
    check_identity(&conn, &shown)?;
    copy_verified(&conn, dest)
}

/// `warren restore`: replaces the database at `db` with the backup at
/// `from`. Refused while a server holds `db`, and for a file that is not a
/// warren database or was written by a newer warren; nothing is changed
/// then. The backup is copied (never moved) beside `db`, verified, and
/// renamed into place; a WAL left by the replaced database is removed so
/// that it cannot be replayed onto the restored one.
pub fn restore(from: &Path, db: &Path) -> Result<Summary, BackupError> {
    sqlite_only(db)?;
    check_file(db)?;
    // Held throughout: no server may start on `db` meanwhile.
    let _held = lock::DbLock::acquire(db)?;
    verify(from)?;
    let staged = sibling(db, ".restoring");
    let _ = std::fs::remove_file(&staged);
    let src = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite(from))?;
    let summary = copy_verified(&src, &staged)?;
    drop(src);
    for suffix in ["-wal", "-shm", "-journal"] {
        let stale = sibling(db, suffix);
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                let _ = std::fs::remove_file(&staged);
                return Err(BackupError::Io {
                    path: stale.display().to_string(),
                    source,
                });
            }
        }
    }
    std::fs::rename(&staged, db).map_err(|source| BackupError::Io {
        path: db.display().to_string(),
        source,
    })?;
    Ok(summary)
}

/// `<db><suffix>`, beside the database.
fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
