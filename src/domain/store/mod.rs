//! The storage layer: every SQL statement warren runs lives under this module,
//! one file per entity. Callers above it see plain Rust rows and two entry
//! points, [`Db::read`] and [`Db::write`], on either engine: an embedded
//! SQLite file or a PostgreSQL database that several replicas share. The
//! entity functions are written once; `sql` is the seam between them and
//! the two drivers.

pub mod agent_extras;
pub mod api_keys;
pub mod backup;
pub mod builds;
mod checkpoint;
pub mod custom_roles;
pub mod files;
pub mod groups;
pub mod jobs;
pub mod lifecycle;
pub mod lock;
pub mod migrate;
pub mod organizations;
pub mod port_shares;
pub mod postgres;
pub mod quotas;
pub mod resources;
pub mod sql;
pub mod stats;
pub mod status;
mod translate;

use sql::{args, ToParam};
pub use sql::{StoreError, StoreResult, Tx};
pub mod template_versions;
pub mod templates;
pub mod user_settings;
pub mod users;
pub mod workspaces;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use r2d2::{CustomizeConnection, Pool};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, MAIN_DB};
use uuid::Uuid;

/// `PRAGMA application_id` of a warren database ("WARN").
pub const APPLICATION_ID: i64 = 0x5741_524E;
/// The schema version this binary writes; `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 9;

const SCHEMA: &str = include_str!("../../../schema.sql");

/// Step 9, the same on both engines: a job's place in the queue is counted
/// from the pending jobs' index alone (it holds what the count compares and
/// checks), and the running jobs' index no longer competes with it for
/// pending ones.
/// The boolean filters' indexes hold only the rows whose flag is set
/// (a few in a hundred), so flipping `running`, which they carry for the
/// list order, rewrites four indexes fewer for most rows; a filter on a
/// flag being false reads the list order index, which holds the flags.
pub(super) const STEP_9: &str = "DROP INDEX IF EXISTS provisioner_jobs_pending_idx;
     CREATE INDEX provisioner_jobs_pending_idx ON provisioner_jobs (created_at, id, started_at, completed_at) WHERE started_at IS NULL AND completed_at IS NULL;
     DROP INDEX IF EXISTS provisioner_jobs_active_idx;
     CREATE INDEX provisioner_jobs_active_idx ON provisioner_jobs (started_at) WHERE started_at IS NOT NULL AND completed_at IS NULL;
     DROP INDEX IF EXISTS workspaces_list_order_idx;
     CREATE INDEX workspaces_list_order_idx ON workspaces (running DESC, owner_sort, lower(name), id, owner_id, organization_id, favorite, deleted, outdated, has_ai_task, has_external_agent, shared) WHERE deleted = 0;
     DROP INDEX IF EXISTS workspaces_outdated_idx;
     CREATE INDEX workspaces_outdated_idx ON workspaces (running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0 AND outdated = 1;
     DROP INDEX IF EXISTS workspaces_ai_task_idx;
     CREATE INDEX workspaces_ai_task_idx ON workspaces (running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0 AND has_ai_task = 1;
     DROP INDEX IF EXISTS workspaces_external_agent_idx;
     CREATE INDEX workspaces_external_agent_idx ON workspaces (running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0 AND has_external_agent = 1;
     DROP INDEX IF EXISTS workspaces_shared_idx;
     CREATE INDEX workspaces_shared_idx ON workspaces (running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0 AND shared = 1;";

/// Forward-only migrations: entry `i` takes a database from version `i + 1`
/// to `i + 2`. `schema.sql` is always the latest schema: a new database gets
/// it whole, an older one these steps.
const MIGRATIONS: &[&str] = &[
    // 2: Coder v2.29's template setting `use_terraform_workspace_cache`.
    "ALTER TABLE templates ADD COLUMN use_terraform_workspace_cache INTEGER NOT NULL DEFAULT 0;",
    // 3: `files.data` becomes the last column. SQLite builds a record with
    // a zero-filled blob in place only when the blob ends the record; in
    // the middle it materialises the zeros, so streaming an upload into
    // its row held the whole file in memory twice.
    "CREATE TABLE files_v2 (
         id         TEXT PRIMARY KEY,
         hash       TEXT NOT NULL,
         created_by TEXT NOT NULL REFERENCES users (id),
         mimetype   TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         data       BLOB NOT NULL
     );
     INSERT INTO files_v2 (id, hash, created_by, mimetype, created_at, data)
         SELECT id, hash, created_by, mimetype, created_at, data FROM files;
     DROP TABLE files;
     ALTER TABLE files_v2 RENAME TO files;
     CREATE UNIQUE INDEX files_hash_idx ON files (hash, created_by);",
    // 4: file reads look up the templates built from a file.
    "CREATE INDEX IF NOT EXISTS provisioner_jobs_file_idx ON provisioner_jobs (file_id);",
    // 5: users' settings by key; agents' metadata results and listening
    // ports; shared ports.
    "CREATE TABLE IF NOT EXISTS user_configs (
         user_id TEXT NOT NULL REFERENCES users (id),
         key     TEXT NOT NULL,
         value   TEXT NOT NULL,
         PRIMARY KEY (user_id, key)
     ) WITHOUT ROWID;
     CREATE TABLE IF NOT EXISTS workspace_agent_metadata (
         agent_id      TEXT NOT NULL REFERENCES workspace_agents (id),
         key           TEXT NOT NULL,
         display_name  TEXT NOT NULL DEFAULT '',
         script        TEXT NOT NULL DEFAULT '',
         interval      INTEGER NOT NULL DEFAULT 0,
         timeout       INTEGER NOT NULL DEFAULT 0,
         display_order INTEGER NOT NULL DEFAULT 0,
         value         TEXT NOT NULL DEFAULT '',
         error         TEXT NOT NULL DEFAULT '',
         collected_at  INTEGER NOT NULL,
         PRIMARY KEY (agent_id, key)
     ) WITHOUT ROWID;
     CREATE TABLE IF NOT EXISTS workspace_agent_listening_ports (
         agent_id     TEXT NOT NULL REFERENCES workspace_agents (id),
         port         INTEGER NOT NULL,
         network      TEXT NOT NULL,
         process_name TEXT NOT NULL DEFAULT '',
         PRIMARY KEY (agent_id, port, network)
     ) WITHOUT ROWID;
     CREATE TABLE IF NOT EXISTS workspace_agent_port_shares (
         workspace_id TEXT NOT NULL REFERENCES workspaces (id),
         agent_name   TEXT NOT NULL,
         port         INTEGER NOT NULL,
         share_level  TEXT NOT NULL,
         protocol     TEXT NOT NULL,
         PRIMARY KEY (workspace_id, agent_name, port)
     ) WITHOUT ROWID;",
    // 6: why a build's deadline is what it is, and the lifecycle executor's
    // actions with their reasons (the schedule explanation reads both).
    "ALTER TABLE workspace_builds ADD COLUMN deadline_reason TEXT NOT NULL DEFAULT '';
     ALTER TABLE workspace_builds ADD COLUMN deadline_set_at INTEGER;
     ALTER TABLE workspace_builds ADD COLUMN deadline_set_by TEXT NOT NULL DEFAULT '';
     CREATE TABLE lifecycle_actions (
         id           INTEGER PRIMARY KEY AUTOINCREMENT,
         workspace_id TEXT NOT NULL REFERENCES workspaces (id),
         build_id     TEXT REFERENCES workspace_builds (id),
         created_at   INTEGER NOT NULL,
         action       TEXT NOT NULL,
         reason       TEXT NOT NULL,
         detail       TEXT NOT NULL
     );
     CREATE INDEX lifecycle_actions_workspace_idx ON lifecycle_actions (workspace_id, id);",
    // 7: custom organization roles.
    "CREATE TABLE IF NOT EXISTS custom_roles (
         organization_id TEXT NOT NULL REFERENCES organizations (id),
         name            TEXT NOT NULL,
         display_name    TEXT NOT NULL DEFAULT '',
         org_permissions TEXT NOT NULL DEFAULT '[]',
         created_at      INTEGER NOT NULL,
         updated_at      INTEGER NOT NULL
     );
     CREATE UNIQUE INDEX IF NOT EXISTS custom_roles_name_idx
         ON custom_roles (organization_id, lower(name));",
    // 8: what the list's filters match, as maintained columns with indexes
    // in list order (filled, and kept by triggers, by `maintain` at open);
    // the metadata beat's due items by index.
    // (The columns themselves are added by `MAINTAINED_COLUMNS` first.)
    "DROP INDEX IF EXISTS workspaces_list_order_idx;
     CREATE INDEX workspaces_list_order_idx ON workspaces (running DESC, owner_sort, lower(name), id, owner_id, organization_id, favorite, deleted) WHERE deleted = 0;
     DROP INDEX IF EXISTS workspaces_template_idx;
     DROP INDEX IF EXISTS workspaces_organization_idx;
     CREATE INDEX workspaces_template_idx ON workspaces (template_id, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX workspaces_organization_idx ON workspaces (organization_id, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX IF NOT EXISTS workspaces_status_idx ON workspaces (status, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX IF NOT EXISTS workspaces_outdated_idx ON workspaces (outdated, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX IF NOT EXISTS workspaces_ai_task_idx ON workspaces (has_ai_task, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX IF NOT EXISTS workspaces_external_agent_idx ON workspaces (has_external_agent, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX IF NOT EXISTS workspaces_shared_idx ON workspaces (shared, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX IF NOT EXISTS workspaces_latest_build_idx ON workspaces (latest_build_id, deleted);
     CREATE INDEX IF NOT EXISTS workspaces_agent_job_idx ON workspaces (agent_job_id);
     CREATE INDEX IF NOT EXISTS workspaces_agents_timeout_idx ON workspaces (agents_timeout_from, deleted) WHERE deleted = 0 AND agents_timeout_from IS NOT NULL;
     CREATE INDEX IF NOT EXISTS workspaces_agents_connecting_idx ON workspaces (agents_connecting_until, deleted) WHERE deleted = 0 AND agents_connecting_until IS NOT NULL;
     CREATE INDEX IF NOT EXISTS workspaces_agents_disconnected_idx ON workspaces (agents_disconnected, deleted) WHERE deleted = 0 AND agents_disconnected = 1;
     CREATE INDEX IF NOT EXISTS workspaces_agents_silent_idx ON workspaces (agents_silent_from, deleted) WHERE deleted = 0 AND agents_silent_from IS NOT NULL;
     CREATE INDEX IF NOT EXISTS workspaces_agents_connected_idx ON workspaces (agents_connected_until, deleted) WHERE deleted = 0 AND agents_connected_until IS NOT NULL;
     CREATE INDEX IF NOT EXISTS workspaces_start_deadline_idx ON workspaces (start_deadline) WHERE deleted = 0 AND start_deadline IS NOT NULL;
     CREATE INDEX IF NOT EXISTS workspaces_schedule_idx ON workspaces (autostart_schedule) WHERE deleted = 0 AND autostart_schedule IS NOT NULL;
     CREATE INDEX IF NOT EXISTS workspaces_dormancy_idx ON workspaces (template_id, last_used_at) WHERE deleted = 0 AND dormant_at IS NULL;
     CREATE INDEX IF NOT EXISTS workspaces_deleting_idx ON workspaces (deleting_at) WHERE deleted = 0 AND deleting_at IS NOT NULL;
     CREATE INDEX IF NOT EXISTS users_status_idx ON users (status);
     CREATE INDEX IF NOT EXISTS workspace_agent_metadata_due_idx ON workspace_agent_metadata (collected_at + max(interval, 1) * 1000000);",
    // 9: see `STEP_9`.
    STEP_9,
];

/// Columns migration 8 adds to `workspaces` (SQLite has no `ADD COLUMN IF
/// NOT EXISTS`: each is added only when missing, so the step can run on a
/// database that already has some).
const MAINTAINED_COLUMNS: &[(&str, &str)] = &[
    ("status", "TEXT"),
    ("outdated", "INTEGER"),
    ("has_ai_task", "INTEGER"),
    ("has_external_agent", "INTEGER"),
    ("agent_job_id", "TEXT"),
    ("start_deadline", "INTEGER"),
    ("shared", "INTEGER NOT NULL DEFAULT 0"),
    ("agents_timeout_from", "INTEGER"),
    ("agents_connecting_until", "INTEGER"),
    ("agents_disconnected", "INTEGER"),
    ("agents_silent_from", "INTEGER"),
    ("agents_connected_until", "INTEGER"),
];

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{path} is not a warren database (application_id {found:#x}); refusing to touch it")]
    Foreign { path: String, found: i64 },
    #[error("{path} was written by a newer warren (schema version {found}, this binary knows {known}); refusing to touch it")]
    Newer {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("{path} holds tables but no warren schema; refusing to touch it")]
    NotEmpty { path: String },
    #[error("{path} is a directory; --db must name a database file (it is created if missing)")]
    Directory { path: String },
    #[error("{path} is not a regular file; --db must name a database file")]
    NotAFile { path: String },
    #[error("{path} is read-only; warren needs to write to its database (make the file writable or choose another --db)")]
    ReadOnly { path: String },
    #[error("{path} is damaged ({detail}); refusing to touch it")]
    Damaged { path: String, detail: String },
    #[error("{path} is in use by another warren server ({holder}, lock file {lock}); stop it first or choose another --db")]
    InUse {
        path: String,
        lock: String,
        holder: String,
    },
    #[error("cannot lock {path}: {lock}: {source}")]
    Lock {
        path: String,
        lock: String,
        source: std::io::Error,
    },
    #[error("cannot open database {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("cannot open database pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("cannot use PostgreSQL database {target}: {source}")]
    Postgres {
        target: String,
        source: ::postgres::Error,
    },
    #[error("cannot use PostgreSQL database {target}: {message}")]
    PostgresPool { target: String, message: String },
}

#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<Connection, rusqlite::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut Connection) -> Result<(), rusqlite::Error> {
        // WAL lets readers run beside the single writer; NORMAL synchronous is
        // durable across application crashes in WAL mode and only risks the
        // last commits on power loss, which is the usual trade for a local
        // server. busy_timeout makes a second writer wait instead of failing.
        // Checkpoints run on a thread of their own (see `checkpoint`).
        // Temporary storage in memory: a statement whose undo journal
        // passes 64 KiB (a workspace row update touching its many indexes)
        // would otherwise create, write and delete a file each time.
        // Each connection keeps up to 4 MiB of pages (SQLite's default is
        // 2 MiB): at 100,000 workspaces, mixed list traffic touches more
        // index pages than 2 MiB holds, and every miss is a read(2). The
        // bound is per connection; they fill only with pages read (8 MiB
        // made 10,000 watchers cost 14 MiB more, for little more gain).
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA wal_autocheckpoint = 0;
             PRAGMA temp_store = MEMORY;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -4096;",
        )?;
        conn.set_prepared_statement_cache_capacity(256);
        Ok(())
    }
}

/// What changed about a workspace, as the storage functions that change it
/// record; published after the transaction commits.
pub type Change = (Uuid, &'static str);

/// What the event bus delivers to the watch hub.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A committed transaction (of this replica or, on PostgreSQL, of
    /// another) changed these workspaces.
    Changed(Vec<Change>),
    /// Changes may have been missed: every stream reloads.
    Resync,
}

/// Receives every event of the bus (the watch hub).
pub type ChangeSink = Arc<dyn Fn(Event) + Send + Sync>;

thread_local! {
    // Transactions run on one blocking thread each, so the changes of the
    // running transaction collect here.
    static CHANGES: RefCell<Vec<Change>> = const { RefCell::new(Vec::new()) };
}

/// Records a change for every workspace id a query returns.
pub fn changed_where(tx: &Tx, sql: &str, arg: &dyn ToParam, kind: &'static str) -> StoreResult<()> {
    tx.each(sql, &[arg.to_param()], |r| {
        changed(r.get(0)?, kind);
        Ok(())
    })
}

/// Records that a workspace changed in the current transaction.
pub fn changed(workspace: Uuid, kind: &'static str) {
    CHANGES.with(|c| c.borrow_mut().push((workspace, kind)));
}

/// How many changes the running transaction has recorded so far.
fn changes_recorded() -> usize {
    CHANGES.with(|c| c.borrow().len())
}

/// Forgets the changes recorded after the first `n` (a savepoint's,
/// undone with it).
fn forget_changes_after(n: usize) {
    CHANGES.with(|c| c.borrow_mut().truncate(n))
}

fn take_changes() -> Vec<Change> {
    CHANGES.with(|c| std::mem::take(&mut *c.borrow_mut()))
}

/// Where the database is: `--db` holds a file path or a `postgres://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(db: &Path) -> Location {
        let text = db.to_string_lossy();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Location::Postgres(text.into_owned())
        } else {
            Location::Sqlite(db.to_path_buf())
        }
    }

    /// For messages: a URL's password is hidden.
    pub fn shown(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(u) => postgres::redact(u),
        }
    }
}

#[derive(Clone)]
enum Backend {
    /// The pool that reads, and the one connection that writes. SQLite
    /// runs one writer at a time anyway; keeping it on one connection keeps
    /// that connection's page cache valid across its own commits (a commit
    /// by another connection empties it), and writers queue on the mutex
    /// instead of polling for the lock. (PostgreSQL has no such cache per
    /// connection and its writers take turns by `PgConn::begin_write`.)
    Sqlite(Pool<SqliteConnectionManager>, Arc<Writer>),
    Postgres(Arc<PgBackend>),
}

struct PgBackend {
    /// Always `Some` but in `drop`.
    pool: Option<postgres::PgPool>,
    bus: postgres::Bus,
    /// How to connect afresh (the readiness probe).
    cfg: ::postgres::Config,
}

impl PgBackend {
    fn pool(&self) -> StoreResult<&postgres::PgPool> {
        self.pool
            .as_ref()
            .ok_or_else(|| StoreError::Other("the PostgreSQL pool is closed".into()))
    }
}

impl Drop for PgBackend {
    /// The blocking driver closes a connection by running a runtime of its
    /// own, which must not happen on an async runtime's thread (an embedder
    /// may drop the last handle there): the pool is then dropped on a
    /// thread of its own.
    fn drop(&mut self) {
        let pool = self.pool.take();
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

/// SQLite's one writing connection, and the thread that checkpoints what
/// it commits.
struct Writer {
    conn: Mutex<Connection>,
    checkpoint: checkpoint::Checkpointer,
}

/// The database, on either engine.
#[derive(Clone)]
pub struct Db {
    backend: Backend,
    /// Bumped after every committed write (on PostgreSQL also after every
    /// other replica's, as its notification arrives): anything cached from
    /// the database is valid only while this has not moved.
    generation: Arc<AtomicU64>,
    sink: Arc<OnceLock<ChangeSink>>,
    /// This process among the replicas sharing the database; its
    /// provisioner's worker id.
    replica: Uuid,
    /// SQLite's named locks (one process holds the file).
    local_lock: Arc<Mutex<()>>,
    /// This server's claim on the SQLite file, given up by [`Db::close`]
    /// (PostgreSQL is shared by design: none).
    lock: Arc<Mutex<Option<lock::DbLock>>>,
    pool_stats: Arc<stats::PoolStats>,
}

impl Db {
    /// Opens the database `--db` names; see [`Db::open`] and
    /// [`Db::open_postgres`].
    pub fn connect(location: &Location, max_connections: u32) -> Result<Db, OpenError> {
        match location {
            Location::Sqlite(p) => Db::open(p),
            Location::Postgres(url) => Db::open_postgres(url, max_connections),
        }
    }

    /// Opens (creating if needed) the database at `path`, checks that it is a
    /// warren database of a version this binary understands, and migrates it.
    /// A foreign or newer file is refused before anything is written to it.
    pub fn open(path: &Path) -> Result<Db, OpenError> {
        let shown = path.display().to_string();
        let sqlite_err = |source| OpenError::Sqlite {
            path: shown.clone(),
            source,
        };
        let exists = check_file(path)?;
        // Taken before anything reads the file: a server already on it may
        // be writing, and must remain the only one that does.
        let lock = lock::DbLock::acquire(path)?;
        if exists {
            // Inspected as an immutable file: nothing (no -wal, no -shm) is
            // created beside a file that is then refused.
            let conn = open_immutable(path).map_err(sqlite_err)?;
            check_identity(&conn, &shown)?;
        }
        let mut conn = Connection::open(path).map_err(sqlite_err)?;
        // SQLite quietly opens a file it may not write read-only.
        if conn.is_readonly(MAIN_DB).map_err(sqlite_err)? {
            return Err(OpenError::ReadOnly { path: shown });
        }
        check_identity(&conn, &shown)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sqlite_err)?;
        conn.execute_batch("PRAGMA journal_mode = WAL;")
            .map_err(sqlite_err)?;
        migrate(&mut conn).map_err(sqlite_err)?;
        Pragmas.on_acquire(&mut conn).map_err(sqlite_err)?;
        let checkpoint = checkpoint::Checkpointer::start(path).map_err(sqlite_err)?;
        let manager = SqliteConnectionManager::file(path);
        let pool = Pool::builder()
            .max_size(8)
            .connection_customizer(Box::new(Pragmas))
            .build(manager)?;
        Ok(Db {
            backend: Backend::Sqlite(
                pool,
                Arc::new(Writer {
                    conn: Mutex::new(conn),
                    checkpoint,
                }),
            ),
            generation: Arc::new(AtomicU64::new(1)),
            sink: Arc::new(OnceLock::new()),
            replica: Uuid::new_v4(),
            local_lock: Arc::new(Mutex::new(())),
            lock: Arc::new(Mutex::new(Some(lock))),
            pool_stats: Arc::default(),
        })
    }

    /// Connects to the PostgreSQL database at `url`, refuses it when it is
    /// not empty and not warren's or when a newer warren wrote it, creates
    /// or migrates the schema, and starts listening for other replicas'
    /// changes.
    pub fn open_postgres(url: &str, max_connections: u32) -> Result<Db, OpenError> {
        let cfg = postgres::config(url)?;
        postgres::prepare_schema(url, &cfg)?;
        let replica = Uuid::new_v4();
        let generation = Arc::new(AtomicU64::new(1));
        let sink = Arc::new(OnceLock::new());
        let pool = postgres::pool(url, &cfg, replica, max_connections)?;
        let bus = postgres::Bus::start(url, &cfg, replica, generation.clone(), sink.clone())?;
        Ok(Db {
            backend: Backend::Postgres(Arc::new(PgBackend {
                pool: Some(pool),
                bus,
                cfg,
            })),
            generation,
            sink,
            replica,
            local_lock: Arc::new(Mutex::new(())),
            lock: Arc::new(Mutex::new(None)),
            pool_stats: Arc::default(),
        })
    }

    pub fn engine(&self) -> sql::Dialect {
        match self.backend {
            Backend::Sqlite(..) => sql::Dialect::Sqlite,
            Backend::Postgres(_) => sql::Dialect::Postgres,
        }
    }

    /// The engine's name, as diagnostics report it.
    pub fn engine_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(..) => "sqlite",
            Backend::Postgres(_) => "postgresql",
        }
    }

    /// This replica's id (the provisioner's worker id).
    pub fn replica_id(&self) -> Uuid {
        self.replica
    }

    /// Where the watch hub hears of committed changes; set once, when the
    /// hub starts.
    pub fn set_change_sink(&self, sink: ChangeSink) {
        let _ = self.sink.set(sink);
    }

    fn publish(sink: &OnceLock<ChangeSink>, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        if let Some(s) = sink.get() {
            s(Event::Changed(changes));
        }
    }

    /// The write generation; see the field. While the PostgreSQL listener
    /// is down another replica's writes go unheard, so every call answers a
    /// new value and nothing cached is used.
    pub fn generation(&self) -> u64 {
        match &self.backend {
            Backend::Postgres(pg) if !pg.bus.state.healthy() => {
                self.generation.fetch_add(1, Ordering::AcqRel) + 1
            }
            _ => self.generation.load(Ordering::Acquire),
        }
    }

    /// Runs read-only work off the async workers, inside one read
    /// transaction: every query of `f` sees the same snapshot.
    pub async fn read_as<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || db.read_blocking(f))
            .await
            .map_err(|e| E::from(StoreError::Other(e.to_string())))?
    }

    /// [`Db::read_as`] on the calling thread.
    pub fn read_blocking<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        match &self.backend {
            Backend::Sqlite(pool, _) => {
                let mut conn = timed(&self.pool_stats, || pool.get())?;
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Deferred)
                    .map_err(StoreError::from)?;
                let out = f(&Tx::sqlite(&tx));
                // Nothing to keep: ending a read transaction either way is the same.
                drop(tx);
                out
            }
            Backend::Postgres(pg) => {
                let mut conn = pg_begin(pg.pool()?, &self.pool_stats, sql::PgConn::begin_read)?;
                let out = f(&Tx::postgres(&mut conn));
                conn.rollback();
                out
            }
        }
    }

    /// Runs `f` inside one writing transaction off the async workers (see
    /// [`Db::write_blocking`]). Any error rolls everything back.
    pub async fn write_as<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || db.write_blocking(f))
            .await
            .map_err(|e| E::from(StoreError::Other(e.to_string())))?
    }

    /// [`Db::write_uncached_blocking`] off the async workers.
    pub async fn write_uncached_as<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T, E> + Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || db.write_uncached_blocking(f))
            .await
            .map_err(|e| E::from(StoreError::Other(e.to_string())))?
    }

    /// [`Db::write_as`] on the calling thread (start-up, background
    /// workers). On SQLite one `BEGIN IMMEDIATE` transaction; on PostgreSQL
    /// one transaction that writers of every replica take in turn (see
    /// `PgConn::begin_write`), whose changes every other replica hears of
    /// by one NOTIFY once it commits.
    pub fn write_blocking<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.commit(f, true)
    }

    /// A write to tables nothing cached reads (agents' metadata results,
    /// which only their own streams show): it leaves this replica's
    /// generation alone, so the simulated agents' beat, which writes every
    /// second, does not throw away every rendered workspace and session.
    /// Its changes are published as usual (on PostgreSQL other replicas
    /// still move their generation on its notification: they cannot tell
    /// it apart, and moving too often is only slower).
    pub fn write_uncached_blocking<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.commit(f, false)
    }

    fn commit<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
        bump: bool,
    ) -> Result<T, E> {
        match &self.backend {
            Backend::Sqlite(_, writer) => {
                let mut conn = writer.conn.lock().unwrap_or_else(|e| e.into_inner());
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(StoreError::from)?;
                take_changes();
                let before = tx.total_changes();
                let out = f(&Tx::sqlite(&tx));
                let changes = take_changes();
                let out = out?;
                let changed = tx.total_changes() != before;
                tx.commit().map_err(StoreError::from)?;
                if changed && bump {
                    self.generation.fetch_add(1, Ordering::AcqRel);
                }
                if changed {
                    writer.checkpoint.committed();
                    writer.checkpoint.restart_on(&conn);
                }
                drop(conn);
                Db::publish(&self.sink, changes);
                Ok(out)
            }
            Backend::Postgres(pg) => {
                let mut conn = pg_begin(pg.pool()?, &self.pool_stats, sql::PgConn::begin_write)?;
                take_changes();
                let (out, wrote) = {
                    let tx = Tx::postgres(&mut conn);
                    let out = f(&tx);
                    (out, tx.wrote())
                };
                let changes = take_changes();
                let out = match out {
                    Ok(v) => v,
                    Err(e) => {
                        conn.rollback();
                        return Err(e);
                    }
                };
                let notice = (wrote || !changes.is_empty())
                    .then(|| postgres::payload(self.replica, &changes));
                conn.commit(notice.as_deref())?;
                if wrote && bump {
                    self.generation.fetch_add(1, Ordering::AcqRel);
                }
                Db::publish(&self.sink, changes);
                Ok(out)
            }
        }
    }

    /// Runs `f` while holding the lock `name`: across every replica on
    /// PostgreSQL (a session advisory lock), within this process on SQLite.
    /// The lifecycle executor ticks under one, so a second replica's tick
    /// sees the builds the first one queued.
    pub fn exclusive<T>(&self, name: &str, f: impl FnOnce() -> T) -> StoreResult<T> {
        match &self.backend {
            Backend::Sqlite(..) => {
                let _held = self.local_lock.lock().unwrap_or_else(|e| e.into_inner());
                Ok(f())
            }
            Backend::Postgres(pg) => {
                let _held = postgres::NamedLock::acquire(pg.pool()?, name)?;
                Ok(f())
            }
        }
    }

    /// Stops background work of the store. On SQLite folds the WAL back
    /// into the main file so a stopped server leaves one self-contained
    /// database file; on PostgreSQL stops listening, which also frees this
    /// replica's liveness lock.
    pub fn close(&self) {
        match &self.backend {
            Backend::Sqlite(pool, writer) => {
                writer.checkpoint.stop();
                if let Ok(conn) = pool.get() {
                    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
                        log::warn!("checkpoint at shutdown failed: {e}");
                    }
                }
            }
            Backend::Postgres(pg) => pg.bus.stop(),
        }
        self.lock.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// A pooled connection from `get`; the wait is recorded in `stats`.
fn timed<C>(
    stats: &stats::PoolStats,
    get: impl FnOnce() -> Result<C, r2d2::Error>,
) -> StoreResult<C> {
    let asked = std::time::Instant::now();
    let conn = get();
    stats.record(asked.elapsed());
    Ok(conn?)
}

/// A pooled PostgreSQL connection with a transaction begun. A connection
/// that turns out dead at BEGIN (the server restarted) is dropped and the
/// BEGIN retried once on a fresh one: nothing had run yet.
fn pg_begin(
    pool: &postgres::PgPool,
    stats: &stats::PoolStats,
    begin: fn(&mut sql::PgConn) -> StoreResult<()>,
) -> StoreResult<r2d2::PooledConnection<postgres::Manager>> {
    let mut tries = 0;
    loop {
        let mut conn = timed(stats, || pool.get())?;
        match begin(&mut conn) {
            Ok(()) => return Ok(conn),
            Err(e) if conn.client.is_closed() && tries == 0 => {
                log::warn!("database connection lost ({e}); retrying on a fresh one");
                tries += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// What `--db` names: a regular, writable file, or nothing yet (`false`).
/// Checked before anything is created beside it.
fn check_file(path: &Path) -> Result<bool, OpenError> {
    let shown = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => {
            return Err(OpenError::Lock {
                lock: shown.clone(),
                path: shown,
                source,
            })
        }
    };
    if meta.is_dir() {
        return Err(OpenError::Directory { path: shown });
    }
    if !meta.is_file() {
        return Err(OpenError::NotAFile { path: shown });
    }
    // No write permission bit at all is read-only even for root, who could
    // write it anyway. (A file this user may not write is caught when
    // SQLite opens it.)
    if meta.permissions().readonly() {
        return Err(OpenError::ReadOnly { path: shown });
    }
    Ok(true)
}

/// A read-only connection that treats the file as unchanging: SQLite then
/// takes no locks and creates no -wal or -shm file (the WAL, if any, is
/// read by the real open that follows).
fn open_immutable(path: &Path) -> Result<Connection, rusqlite::Error> {
    let absolute = std::path::absolute(path).map_err(|e| {
        rusqlite::Error::InvalidPath(PathBuf::from(format!("{}: {e}", path.display())))
    })?;
    let uri = url::Url::from_file_path(&absolute)
        .map_err(|_| rusqlite::Error::InvalidPath(absolute.clone()))?;
    Connection::open_with_flags(
        format!("{uri}?immutable=1"),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
}

fn check_identity(conn: &Connection, path: &str) -> Result<(), OpenError> {
    let sqlite_err = |source: rusqlite::Error| match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
            OpenError::Damaged {
                path: path.to_string(),
                detail: source.to_string(),
            }
        }
        _ => OpenError::Sqlite {
            path: path.to_string(),
            source,
        },
    };
    let app_id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(sqlite_err)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sqlite_err)?;
    if app_id == 0 && version == 0 {
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_err)?;
        if tables > 0 {
            return Err(OpenError::NotEmpty {
                path: path.to_string(),
            });
        }
        return Ok(());
    }
    if app_id != APPLICATION_ID {
        return Err(OpenError::Foreign {
            path: path.to_string(),
            found: app_id,
        });
    }
    if version > SCHEMA_VERSION {
        return Err(OpenError::Newer {
            path: path.to_string(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Brings the schema to [`SCHEMA_VERSION`], one transaction per version.
/// Foreign keys are off meanwhile, as SQLite's procedure for rebuilding a
/// table asks, and checked before anything is committed.
fn migrate(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(SCHEMA)?;
        tx.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
        ))?;
        tx.commit()?;
    }
    let mut version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let before = version;
    while version < SCHEMA_VERSION {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if version + 1 == 8 {
            for (name, decl) in MAINTAINED_COLUMNS {
                let present: i64 = tx.query_row(
                    "SELECT count(*) FROM pragma_table_info('workspaces') WHERE name = ?",
                    [name],
                    |r| r.get(0),
                )?;
                if present == 0 {
                    tx.execute_batch(&format!("ALTER TABLE workspaces ADD COLUMN {name} {decl};"))?;
                }
            }
        }
        tx.execute_batch(MIGRATIONS[(version - 1) as usize])?;
        let broken: i64 =
            tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if broken > 0 {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                Some(format!(
                    "migration to schema version {} leaves {broken} broken references",
                    version + 1
                )),
            ));
        }
        tx.execute_batch(&format!("PRAGMA user_version = {};", version + 1))?;
        tx.commit()?;
        version += 1;
    }
    // The triggers behind the maintained columns are made afresh from
    // their definitions at every start, so they never lag behind them.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(&workspaces::sqlite_triggers())?;
    if before < 8 {
        tx.execute_batch(&workspaces::refresh_maintained("1 = 1"))?;
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")
}

/// An access-control list aggregated by the statement as JSON pairs
/// `[[id, role], …]`.
fn acl_pairs(text: Option<String>) -> StoreResult<Vec<(Uuid, String)>> {
    let pairs: Vec<(String, String)> = match text {
        Some(t) => sql::parse_json(&t)?,
        None => Vec::new(),
    };
    pairs
        .into_iter()
        .map(|(id, role)| Ok((sql::parse_uuid(&id)?, role)))
        .collect()
}

/// The access-control tables: (table, owner column, grantee column).
#[derive(Clone, Copy)]
pub enum AclTable {
    TemplateUsers,
    TemplateGroups,
    WorkspaceUsers,
    WorkspaceGroups,
}

impl AclTable {
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            AclTable::TemplateUsers => ("template_user_acl", "template_id", "user_id"),
            AclTable::TemplateGroups => ("template_group_acl", "template_id", "group_id"),
            AclTable::WorkspaceUsers => ("workspace_user_acl", "workspace_id", "user_id"),
            AclTable::WorkspaceGroups => ("workspace_group_acl", "workspace_id", "group_id"),
        }
    }
}

/// Sets (or, with `None`, removes) one grant of an access-control list.
pub fn set_acl(
    tx: &Tx,
    table: AclTable,
    owner: Uuid,
    grantee: Uuid,
    role: Option<&str>,
) -> StoreResult<()> {
    let (t, o, g) = table.names();
    match role {
        Some(role) => tx.execute(
            &format!(
                "INSERT INTO {t} ({o}, {g}, role) VALUES (?1, ?2, ?3)
                 ON CONFLICT ({o}, {g}) DO UPDATE SET role = excluded.role"
            ),
            args![owner, grantee, role],
        )?,
        None => tx.execute(
            &format!("DELETE FROM {t} WHERE {o} = ?1 AND {g} = ?2"),
            args![owner, grantee],
        )?,
    };
    Ok(())
}

/// Settings table access (deployment id and similar single values).
pub fn get_setting(tx: &Tx, key: &str) -> StoreResult<Option<String>> {
    tx.query_opt(
        "SELECT value FROM settings WHERE key = ?",
        args![key],
        |r| r.get(0),
    )
}

pub fn set_setting(tx: &Tx, key: &str, value: &str) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        args![key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table's columns and every index's columns, as SQLite reports
    /// them (the stored CREATE text differs after ALTER TABLE).
    fn schema_of(conn: &Connection) -> Vec<String> {
        let mut names = conn
            .prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        let objects: Vec<(String, String, String)> = names
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut out = Vec::new();
        for (kind, name, table) in objects {
            let pragma = if kind == "table" {
                "table_xinfo"
            } else {
                "index_xinfo"
            };
            let mut cols = conn
                .prepare(&format!("PRAGMA {pragma}(\"{name}\")"))
                .unwrap();
            let n = cols.column_count();
            let rows: Vec<String> = cols
                .query_map([], |r| {
                    let mut v = Vec::new();
                    for i in 0..n {
                        v.push(format!("{:?}", r.get_ref(i)?));
                    }
                    Ok(v.join(","))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            out.push(format!("{kind} {name} on {table}: {}", rows.join(" | ")));
        }
        out
    }

    #[test]
    fn a_postgres_url_selects_postgres_and_anything_else_is_a_file() {
        for url in [
            "postgres://u:p@h/db",
            "postgresql://h:5433/db?connect_timeout=5",
        ] {
            assert_eq!(
                Location::parse(Path::new(url)),
                Location::Postgres(url.to_string())
            );
        }
        for path in ["./warren.db", "/var/lib/warren/warren.db", "postgres.db"] {
            assert_eq!(
                Location::parse(Path::new(path)),
                Location::Sqlite(path.into())
            );
        }
        assert_eq!(
            Location::Postgres("postgres://warren:s3cret@db/warren".into()).shown(),
            "postgres://warren:***@db/warren"
        );
    }

    #[test]
    fn postgres_migrations_reach_the_same_version() {
        assert_eq!(
            postgres::FIRST_VERSION + postgres::MIGRATIONS.len() as i64,
            SCHEMA_VERSION,
            "every SQLite migration needs its PostgreSQL counterpart"
        );
    }

    #[test]
    fn migrating_a_version_1_database_gives_the_latest_schema() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh).unwrap();
        // Version 1 is the latest schema without what later steps added.
        let mut old = Connection::open_in_memory().unwrap();
        old.execute_batch(SCHEMA).unwrap();
        old.execute_batch(
            "DROP INDEX workspaces_status_idx;
             DROP INDEX workspaces_outdated_idx;
             DROP INDEX workspaces_ai_task_idx;
             DROP INDEX workspaces_external_agent_idx;
             DROP INDEX workspaces_shared_idx;
             DROP INDEX workspaces_latest_build_idx;
             DROP INDEX workspaces_agent_job_idx;
             DROP INDEX workspaces_agents_timeout_idx;
             DROP INDEX workspaces_agents_connecting_idx;
             DROP INDEX workspaces_agents_disconnected_idx;
             DROP INDEX workspaces_agents_silent_idx;
             DROP INDEX workspaces_agents_connected_idx;
             DROP INDEX workspaces_start_deadline_idx;
             DROP INDEX workspaces_schedule_idx;
             DROP INDEX workspaces_dormancy_idx;
             DROP INDEX workspaces_deleting_idx;
             DROP INDEX users_status_idx;
             DROP INDEX workspace_agent_metadata_due_idx;
             DROP INDEX workspaces_list_order_idx;
             CREATE INDEX workspaces_list_order_idx ON workspaces (running DESC, owner_sort, lower(name)) WHERE deleted = 0;
             DROP INDEX workspaces_template_idx;
             CREATE INDEX workspaces_template_idx ON workspaces (template_id) WHERE deleted = 0;
             DROP INDEX workspaces_organization_idx;
             CREATE INDEX workspaces_organization_idx ON workspaces (organization_id) WHERE deleted = 0;
             ALTER TABLE workspaces DROP COLUMN status;
             ALTER TABLE workspaces DROP COLUMN outdated;
             ALTER TABLE workspaces DROP COLUMN has_ai_task;
             ALTER TABLE workspaces DROP COLUMN has_external_agent;
             ALTER TABLE workspaces DROP COLUMN agent_job_id;
             ALTER TABLE workspaces DROP COLUMN start_deadline;
             ALTER TABLE workspaces DROP COLUMN shared;
             ALTER TABLE workspaces DROP COLUMN agents_timeout_from;
             ALTER TABLE workspaces DROP COLUMN agents_connecting_until;
             ALTER TABLE workspaces DROP COLUMN agents_disconnected;
             ALTER TABLE workspaces DROP COLUMN agents_silent_from;
             ALTER TABLE workspaces DROP COLUMN agents_connected_until;
             DROP TABLE lifecycle_actions;
             ALTER TABLE workspace_builds DROP COLUMN deadline_reason;
             ALTER TABLE workspace_builds DROP COLUMN deadline_set_at;
             ALTER TABLE workspace_builds DROP COLUMN deadline_set_by;
             DROP TABLE custom_roles;
             DROP TABLE workspace_agent_metadata;
             DROP TABLE workspace_agent_listening_ports;
             DROP TABLE workspace_agent_port_shares;
             DROP TABLE user_configs;
             DROP INDEX provisioner_jobs_file_idx;
             ALTER TABLE templates DROP COLUMN use_terraform_workspace_cache;
             DROP TABLE files;
             CREATE TABLE files (
                 id TEXT PRIMARY KEY, hash TEXT NOT NULL,
                 created_by TEXT NOT NULL REFERENCES users (id), mimetype TEXT NOT NULL,
                 data BLOB NOT NULL, created_at INTEGER NOT NULL);
             CREATE UNIQUE INDEX files_hash_idx ON files (hash, created_by);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        migrate(&mut old).unwrap();
        assert_eq!(schema_of(&old), schema_of(&fresh));
        let version: i64 = old
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }
}
