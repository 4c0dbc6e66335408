//! PostgreSQL: the pool, the schema and its migrations, the locks that
//! coordinate replicas, and the event bus (LISTEN/NOTIFY) that carries one
//! replica's committed changes to every other.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use postgres::NoTls;
use r2d2::{ManageConnection, Pool};
use r2d2_postgres::PostgresConnectionManager;
use uuid::Uuid;

use super::sql::{PgConn, StoreError, StoreResult};
use super::{Change, ChangeSink, Event, OpenError, APPLICATION_ID, SCHEMA_VERSION};

/// The PostgreSQL schema at [`SCHEMA_VERSION`], for an empty database.
pub const SCHEMA: &str = include_str!("../../../schema.postgres.sql");

/// The first schema version PostgreSQL databases were created at.
pub const FIRST_VERSION: i64 = 3;

/// Forward-only migrations: entry `i` takes a database from version
/// `FIRST_VERSION + i` to the next. Every step added to SQLite's list gets
/// its counterpart here, and `schema.postgres.sql` is edited to match.
pub const MIGRATIONS: &[&str] = &[
    // 4: SQLite's steps 3 (`files.data` last, which only SQLite's in-place
    // blob writes need) and 4 (the index on `provisioner_jobs.file_id`):
    // a version-3 PostgreSQL database already has the index, and the
    // column order means nothing here.
    "CREATE INDEX IF NOT EXISTS provisioner_jobs_file_idx ON provisioner_jobs (file_id);",
    // 5: users' settings by key; agents' metadata results and listening
    // ports; shared ports.
    r#"CREATE TABLE user_configs (
         user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
         key     TEXT COLLATE "C" NOT NULL,
         value   TEXT COLLATE "C" NOT NULL,
         PRIMARY KEY (user_id, key)
     );
     CREATE TABLE workspace_agent_metadata (
         agent_id      TEXT COLLATE "C" NOT NULL REFERENCES workspace_agents (id),
         key           TEXT COLLATE "C" NOT NULL,
         display_name  TEXT COLLATE "C" NOT NULL DEFAULT '',
         script        TEXT COLLATE "C" NOT NULL DEFAULT '',
         interval      BIGINT NOT NULL DEFAULT 0,
         timeout       BIGINT NOT NULL DEFAULT 0,
         display_order BIGINT NOT NULL DEFAULT 0,
         value         TEXT COLLATE "C" NOT NULL DEFAULT '',
         error         TEXT COLLATE "C" NOT NULL DEFAULT '',
         collected_at  BIGINT NOT NULL,
         PRIMARY KEY (agent_id, key)
     );
     CREATE TABLE workspace_agent_listening_ports (
         agent_id     TEXT COLLATE "C" NOT NULL REFERENCES workspace_agents (id),
         port         BIGINT NOT NULL,
         network      TEXT COLLATE "C" NOT NULL,
         process_name TEXT COLLATE "C" NOT NULL DEFAULT '',
         PRIMARY KEY (agent_id, port, network)
     );
     CREATE TABLE workspace_agent_port_shares (
         workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
         agent_name   TEXT COLLATE "C" NOT NULL,
         port         BIGINT NOT NULL,
         share_level  TEXT COLLATE "C" NOT NULL,
         protocol     TEXT COLLATE "C" NOT NULL,
         PRIMARY KEY (workspace_id, agent_name, port)
     );"#,
    // 6: why a build's deadline is what it is, and the lifecycle executor's
    // actions with their reasons.
    r#"ALTER TABLE workspace_builds
         ADD COLUMN deadline_reason TEXT COLLATE "C" NOT NULL DEFAULT '',
         ADD COLUMN deadline_set_at BIGINT,
         ADD COLUMN deadline_set_by TEXT COLLATE "C" NOT NULL DEFAULT '';
     CREATE TABLE lifecycle_actions (
         id           BIGSERIAL PRIMARY KEY,
         workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
         build_id     TEXT COLLATE "C" REFERENCES workspace_builds (id),
         created_at   BIGINT NOT NULL,
         action       TEXT COLLATE "C" NOT NULL,
         reason       TEXT COLLATE "C" NOT NULL,
         detail       TEXT COLLATE "C" NOT NULL
     );
     CREATE INDEX lifecycle_actions_workspace_idx ON lifecycle_actions (workspace_id, id);"#,
    // 7: custom organization roles.
    r#"CREATE TABLE custom_roles (
         organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
         name            TEXT COLLATE "C" NOT NULL,
         display_name    TEXT COLLATE "C" NOT NULL DEFAULT '',
         org_permissions TEXT COLLATE "C" NOT NULL DEFAULT '[]',
         created_at      BIGINT NOT NULL,
         updated_at      BIGINT NOT NULL
     );
     CREATE UNIQUE INDEX custom_roles_name_idx ON custom_roles (organization_id, lower(name));"#,
    // 8: what the list's filters match, as maintained columns with indexes
    // in list order (filled as the step runs, see `MAINTAINED_SINCE`, and
    // kept by the triggers `prepare_schema` makes at every start); the
    // metadata beat's due items by index.
    r#"ALTER TABLE workspaces
         ADD COLUMN status             TEXT COLLATE "C",
         ADD COLUMN outdated           BIGINT,
         ADD COLUMN has_ai_task        BIGINT,
         ADD COLUMN has_external_agent BIGINT,
         ADD COLUMN agent_job_id       TEXT COLLATE "C",
         ADD COLUMN start_deadline     BIGINT,
         ADD COLUMN shared             BIGINT NOT NULL DEFAULT 0,
         ADD COLUMN agents_timeout_from     BIGINT,
         ADD COLUMN agents_connecting_until BIGINT,
         ADD COLUMN agents_disconnected     BIGINT,
         ADD COLUMN agents_silent_from      BIGINT,
         ADD COLUMN agents_connected_until  BIGINT;
     DROP INDEX workspaces_list_order_idx;
     CREATE INDEX workspaces_list_order_idx ON workspaces (running DESC, owner_sort, lower(name), id, owner_id, organization_id, favorite, deleted) WHERE deleted = 0;
     DROP INDEX workspaces_template_idx;
     DROP INDEX workspaces_organization_idx;
     CREATE INDEX workspaces_template_idx ON workspaces (template_id, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX workspaces_organization_idx ON workspaces (organization_id, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX workspaces_status_idx ON workspaces (status, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX workspaces_outdated_idx ON workspaces (outdated, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX workspaces_ai_task_idx ON workspaces (has_ai_task, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX workspaces_external_agent_idx ON workspaces (has_external_agent, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX workspaces_shared_idx ON workspaces (shared, running DESC, owner_sort, lower(name), deleted) WHERE deleted = 0;
     CREATE INDEX workspaces_latest_build_idx ON workspaces (latest_build_id, deleted);
     CREATE INDEX workspaces_agent_job_idx ON workspaces (agent_job_id);
     CREATE INDEX workspaces_agents_timeout_idx ON workspaces (agents_timeout_from, deleted) WHERE deleted = 0 AND agents_timeout_from IS NOT NULL;
     CREATE INDEX workspaces_agents_connecting_idx ON workspaces (agents_connecting_until, deleted) WHERE deleted = 0 AND agents_connecting_until IS NOT NULL;
     CREATE INDEX workspaces_agents_disconnected_idx ON workspaces (agents_disconnected, deleted) WHERE deleted = 0 AND agents_disconnected = 1;
     CREATE INDEX workspaces_agents_silent_idx ON workspaces (agents_silent_from, deleted) WHERE deleted = 0 AND agents_silent_from IS NOT NULL;
     CREATE INDEX workspaces_agents_connected_idx ON workspaces (agents_connected_until, deleted) WHERE deleted = 0 AND agents_connected_until IS NOT NULL;
     CREATE INDEX workspaces_start_deadline_idx ON workspaces (start_deadline) WHERE deleted = 0 AND start_deadline IS NOT NULL;
     CREATE INDEX workspaces_schedule_idx ON workspaces (autostart_schedule) WHERE deleted = 0 AND autostart_schedule IS NOT NULL;
     CREATE INDEX workspaces_dormancy_idx ON workspaces (template_id, last_used_at) WHERE deleted = 0 AND dormant_at IS NULL;
     CREATE INDEX workspaces_deleting_idx ON workspaces (deleting_at) WHERE deleted = 0 AND deleting_at IS NOT NULL;
     CREATE INDEX users_status_idx ON users (status);
     CREATE INDEX workspace_agent_metadata_due_idx ON workspace_agent_metadata ((collected_at + GREATEST(interval, 1) * 1000000));"#,
    // 9: the same as SQLite's.
    super::STEP_9,
];

/// The version whose step adds the maintained columns of `workspaces`:
/// a database migrated across it has them filled once.
const MAINTAINED_SINCE: i64 = 8;

/// The channel every replica listens on.
pub const CHANNEL: &str = "warren_changes";

/// NOTIFY payloads must stay under PostgreSQL's 8000 bytes; a transaction
/// that changed more workspaces than fit says "resync" instead.
const PAYLOAD_LIMIT: usize = 7900;

/// Advisory lock keys (one 64-bit space per database). Replica liveness
/// locks use the first 8 bytes of the replica id, see [`replica_key`].
const WRITE_LOCK: i64 = 0x5741_524E_0000_0001;
const MIGRATE_LOCK: i64 = 0x5741_524E_0000_0002;

/// The advisory lock a replica holds on its bus connection for as long as
/// it lives; the same number SQL derives from the id's text with
/// `('x' || substr(replace(id, '-', ''), 1, 16))::bit(64)::bigint`.
pub fn replica_key(replica: Uuid) -> i64 {
    let b = replica.as_bytes();
    i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// A named lock's key: FNV-1a of the name, outside the fixed keys' range.
pub fn named_key(name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// The URL with its password hidden, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = url[..scheme_end + 3].to_string();
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(c) => {
                    out.push_str(&userinfo[..c]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    // A password may also come as a query parameter.
    let mut hidden = String::new();
    for (i, part) in tail.split('&').enumerate() {
        if i > 0 {
            hidden.push('&');
        }
        match part.split_once("password=") {
            Some((head, _)) if head.is_empty() || head.ends_with('?') => {
                hidden.push_str(head);
                hidden.push_str("password=***");
            }
            _ => hidden.push_str(part),
        }
    }
    out.push_str(&hidden);
    out
}

/// r2d2_postgres's manager, handing out connections with their statement
/// cache.
#[derive(Debug)]
pub struct Manager(PostgresConnectionManager<NoTls>);

impl ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        Ok(PgConn::new(self.0.connect()?))
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        self.0.has_broken(&mut conn.client)
    }
}

pub type PgPool = Pool<Manager>;

fn open_err(target: &str) -> impl Fn(postgres::Error) -> OpenError + '_ {
    move |source| OpenError::Postgres {
        target: redact(target),
        source,
    }
}

/// Parses a `postgres://` URL.
pub fn config(url: &str) -> Result<postgres::Config, OpenError> {
    postgres::Config::from_str(url).map_err(open_err(url))
}

/// Checks that the database is empty or warren's at a version this binary
/// knows, then creates or migrates the schema. Concurrent starts of several
/// replicas take turns on an advisory lock. A foreign or newer database is
/// refused before anything is written to it.
pub fn prepare_schema(url: &str, cfg: &postgres::Config) -> Result<(), OpenError> {
    let err = open_err(url);
    let mut client = cfg.connect(NoTls).map_err(&err)?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])
        .map_err(&err)?;
    let result = migrate(&mut client, url).and_then(|()| make_triggers(&mut client).map_err(&err));
    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK]);
    result
}

/// Makes the triggers behind the maintained columns from their
/// definitions, as SQLite does at every start, so they never lag behind
/// them; but only where one differs from its definition (a new release):
/// replacing a trigger locks its table against every other replica's
/// reads, so a replica that starts beside running ones with the same
/// triggers leaves them alone. Writers are held off meanwhile (the
/// writers' lock), so none waits on a table this holds while holding one
/// this wants.
fn make_triggers(client: &mut postgres::Client) -> Result<(), postgres::Error> {
    let wanted = super::workspaces::postgres_triggers();
    let mut present = std::collections::HashMap::new();
    for r in client.query(
        "SELECT t.tgname::text, c.relname::text, p.prosrc
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
         WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace",
        &[],
    )? {
        present.insert(
            r.get::<_, String>(0),
            (r.get::<_, String>(1), r.get::<_, String>(2)),
        );
    }
    let stale: Vec<&super::workspaces::PgTrigger> = wanted
        .iter()
        .filter(|t| present.get(t.name) != Some(&(t.table.to_string(), t.source.clone())))
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    let ddl: String = stale.iter().map(|t| t.ddl.as_str()).collect();
    client.batch_execute(&format!(
        "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK}); {ddl} COMMIT;"
    ))
}

/// The warren version row, if the database has warren's schema.
fn stored_version(client: &mut postgres::Client) -> Result<Option<(i64, i64)>, postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('warren_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = client.query_opt("SELECT application_id, version FROM warren_schema", &[])?;
    Ok(Some(row.map(|r| (r.get(0), r.get(1))).unwrap_or((0, 0))))
}

fn migrate(client: &mut postgres::Client, url: &str) -> Result<(), OpenError> {
    let err = open_err(url);
    let shown = redact(url);
    match stored_version(client).map_err(&err)? {
        None => {
            let tables: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
                    &[],
                )
                .map_err(&err)?
                .get(0);
            if tables > 0 {
                return Err(OpenError::NotEmpty { path: shown });
            }
            client
                .batch_execute(&format!(
                    "BEGIN; {SCHEMA}
                     INSERT INTO warren_schema (application_id, version) VALUES ({APPLICATION_ID}, {SCHEMA_VERSION});
                     COMMIT;"
                ))
                .map_err(&err)?;
            Ok(())
        }
        Some((app, version)) => {
            if app != APPLICATION_ID {
                return Err(OpenError::Foreign {
                    path: shown,
                    found: app,
                });
            }
            if version > SCHEMA_VERSION {
                return Err(OpenError::Newer {
                    path: shown,
                    found: version,
                    known: SCHEMA_VERSION,
                });
            }
            let mut version = version;
            while version < SCHEMA_VERSION {
                let step = usize::try_from(version - FIRST_VERSION)
                    .ok()
                    .and_then(|i| MIGRATIONS.get(i))
                    .ok_or_else(|| OpenError::PostgresPool {
                        target: shown.clone(),
                        message: format!(
                            "schema version {version} predates PostgreSQL support (version {FIRST_VERSION}); refusing to touch it"
                        ),
                    })?;
                // Crossing the step that adds the maintained columns fills
                // them (the triggers are not there yet to do it).
                let fill = if version + 1 == MAINTAINED_SINCE {
                    super::translate::to_postgres(&super::workspaces::refresh_maintained("1 = 1"))
                } else {
                    String::new()
                };
                client
                    .batch_execute(&format!(
                        "BEGIN; {step} {fill}
                         UPDATE warren_schema SET version = {};
                         COMMIT;",
                        version + 1
                    ))
                    .map_err(&err)?;
                version += 1;
            }
            Ok(())
        }
    }
}

/// Builds the pool.
pub fn pool(
    url: &str,
    cfg: &postgres::Config,
    replica: Uuid,
    max_size: u32,
) -> Result<PgPool, OpenError> {
    let mut cfg = cfg.clone();
    cfg.application_name(&format!("warren {replica}"));
    // A writer waits for the writers' lock at most this long and then
    // answers "busy" (503), as SQLite's busy timeout makes it; and a
    // session that stalls inside a transaction (a replica frozen mid-write)
    // is ended by the server, which frees the lock for every other replica.
    let options = format!(
        "{} -c lock_timeout=10s -c idle_in_transaction_session_timeout=60s",
        cfg.get_options().unwrap_or_default()
    );
    cfg.options(options.trim());
    let manager = Manager(PostgresConnectionManager::new(cfg, NoTls));
    Pool::builder()
        .max_size(max_size.max(2))
        .min_idle(Some(2))
        // A dead connection is found by the statement that uses it; testing
        // each checkout would cost every transaction a round trip.
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .map_err(|e| OpenError::PostgresPool {
            target: redact(url),
            message: e.to_string(),
        })
}

impl PgConn {
    /// Ends a transaction a panic left open on this connection.
    fn settle(&mut self) -> StoreResult<()> {
        if self.in_tx {
            self.client.batch_execute("ROLLBACK")?;
            self.in_tx = false;
        }
        Ok(())
    }

    /// Begins a writing transaction. Writers take one transaction-scoped
    /// advisory lock, so they run one after the other across every replica,
    /// as SQLite's `BEGIN IMMEDIATE` makes them within one file: a check
    /// made inside the transaction (no active build, the next build number,
    /// a free name) still holds at its commit, and no write ever fails on a
    /// serialization conflict. Readers are not affected.
    pub fn begin_write(&mut self) -> StoreResult<()> {
        self.settle()?;
        self.in_tx = true;
        self.client.batch_execute(&format!(
            "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
        ))?;
        Ok(())
    }

    /// Begins a read: one snapshot for every statement, as SQLite's read
    /// transaction gives.
    pub fn begin_read(&mut self) -> StoreResult<()> {
        self.settle()?;
        self.in_tx = true;
        self.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        Ok(())
    }

    /// Commits; with `notice`, every replica hears of it once it is
    /// committed (NOTIFY is transactional).
    pub fn commit(&mut self, notice: Option<&str>) -> StoreResult<()> {
        let sql = match notice {
            // The payload is ours: hex, dashes, commas and a bar.
            Some(p) => format!(
                "SELECT pg_notify('{CHANNEL}', '{}'); COMMIT",
                p.replace('\'', "")
            ),
            None => "COMMIT".into(),
        };
        let r = self.client.batch_execute(&sql);
        self.in_tx = false;
        if r.is_err() {
            // A failed COMMIT leaves nothing open; a failed NOTIFY does.
            let _ = self.client.batch_execute("ROLLBACK");
        }
        Ok(r?)
    }

    pub fn rollback(&mut self) {
        if self.client.batch_execute("ROLLBACK").is_ok() {
            self.in_tx = false;
        }
    }
}

/// The kinds of change a notification names: those the streams tell apart
/// (metadata streams follow metadata changes only, the others every other
/// kind). Any other kind arrives as "remote".
const NAMED_KINDS: &[&str] = &[
    super::agent_extras::METADATA_CHANGED,
    super::agent_extras::LOGS_CHANGED,
];

/// What one replica tells the others about one committed transaction: its
/// id (so it ignores its own) and the workspaces that changed, each
/// `id` or `id:kind` for a kind in [`NAMED_KINDS`].
pub fn payload(origin: Uuid, changes: &[Change]) -> String {
    let mut out = format!("{origin}|");
    let mut seen = std::collections::HashSet::new();
    for (id, kind) in changes {
        let named = NAMED_KINDS.iter().find(|k| *k == kind);
        if !seen.insert((*id, named)) {
            continue;
        }
        let token = match named {
            Some(k) => format!("{id}:{k}"),
            None => id.to_string(),
        };
        if out.len() + token.len() + 1 > PAYLOAD_LIMIT {
            return format!("{origin}|resync");
        }
        if !out.ends_with('|') {
            out.push(',');
        }
        out.push_str(&token);
    }
    out
}

/// A payload read back: `None` for our own, else the event it carries.
pub fn parse_payload(me: Uuid, text: &str) -> Option<Event> {
    let (origin, rest) = text.split_once('|')?;
    if Uuid::parse_str(origin).ok() == Some(me) {
        return None;
    }
    if rest == "resync" {
        return Some(Event::Resync);
    }
    let mut changes = Vec::new();
    for part in rest.split(',').filter(|p| !p.is_empty()) {
        let (id, kind) = match part.split_once(':') {
            Some((id, kind)) => (id, NAMED_KINDS.iter().find(|k| **k == kind).copied()),
            None => (part, Some("remote")),
        };
        match (Uuid::parse_str(id), kind) {
            (Ok(id), Some(kind)) => changes.push((id, kind)),
            // Unreadable: reload everything rather than miss something.
            _ => return Some(Event::Resync),
        }
    }
    Some(Event::Changed(changes))
}

/// The listener thread's shared state.
pub struct BusState {
    stop: AtomicBool,
    /// LISTEN is active: remote changes reach this replica.
    healthy: AtomicBool,
    /// The first connection was made (or failed), for start-up.
    ready: Mutex<Option<Result<(), String>>>,
    ready_cv: Condvar,
}

impl BusState {
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }
}

/// The event bus between replicas: a dedicated connection that LISTENs on
/// [`CHANNEL`] and holds this replica's liveness lock (other replicas fail
/// the jobs of a replica whose lock is free).
pub struct Bus {
    pub state: Arc<BusState>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// How often the listener checks that its connection still answers.
const PROBE: Duration = Duration::from_secs(2);

impl Bus {
    /// Starts the listener; returns once it listens (or could not).
    pub fn start(
        url: &str,
        cfg: &postgres::Config,
        replica: Uuid,
        generation: Arc<AtomicU64>,
        sink: Arc<OnceLock<ChangeSink>>,
    ) -> Result<Bus, OpenError> {
        let mut cfg = cfg.clone();
        cfg.application_name(&format!("warren bus {replica}"));
        cfg.keepalives_idle(Duration::from_secs(10));
        let state = Arc::new(BusState {
            stop: AtomicBool::new(false),
            healthy: AtomicBool::new(false),
            ready: Mutex::new(None),
            ready_cv: Condvar::new(),
        });
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("pg-bus".into())
            .spawn(move || listen(cfg, replica, shared, generation, sink))
            .map_err(|e| OpenError::PostgresPool {
                target: redact(url),
                message: e.to_string(),
            })?;
        let ready = state.ready.lock().unwrap_or_else(|e| e.into_inner());
        let (ready, _) = state
            .ready_cv
            .wait_timeout_while(ready, Duration::from_secs(15), |r| r.is_none())
            .unwrap_or_else(|e| e.into_inner());
        let outcome = ready.clone();
        drop(ready);
        let bus = Bus {
            state,
            thread: Mutex::new(Some(thread)),
        };
        match outcome {
            Some(Ok(())) => Ok(bus),
            other => {
                bus.stop();
                Err(OpenError::PostgresPool {
                    target: redact(url),
                    message: format!(
                        "the change listener could not connect: {}",
                        other
                            .and_then(|r| r.err())
                            .unwrap_or_else(|| "timed out".into())
                    ),
                })
            }
        }
    }

    pub fn stop(&self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        self.stop();
    }
}

fn deliver(sink: &OnceLock<ChangeSink>, event: Event) {
    if let Some(s) = sink.get() {
        s(event);
    }
}

/// The listener loop: connect, take the liveness lock, LISTEN, relay.
/// After a lost connection every stream of this replica is told to resync
/// once it listens again, since notifications sent meanwhile are gone; and
/// until then the write generation moves on every read, so no cache is
/// trusted (see `Db::generation`).
fn listen(
    cfg: postgres::Config,
    replica: Uuid,
    state: Arc<BusState>,
    generation: Arc<AtomicU64>,
    sink: Arc<OnceLock<ChangeSink>>,
) {
    let mut first = true;
    let mut backoff = Duration::from_millis(50);
    let key = replica_key(replica);
    while !state.stop.load(Ordering::SeqCst) {
        let connected = cfg.connect(NoTls).and_then(|mut c| {
            c.batch_execute(&format!("LISTEN {CHANNEL}"))?;
            let locked: bool = c
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])?
                .get(0);
            Ok((c, locked))
        });
        let (mut client, mut locked) = match connected {
            Ok(c) => c,
            Err(e) => {
                if first {
                    *state.ready.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(Err(e.to_string()));
                    state.ready_cv.notify_all();
                    return;
                }
                log::warn!("change listener: cannot reconnect: {e}");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        backoff = Duration::from_millis(50);
        generation.fetch_add(1, Ordering::AcqRel);
        state.healthy.store(true, Ordering::Release);
        if first {
            first = false;
            *state.ready.lock().unwrap_or_else(|e| e.into_inner()) = Some(Ok(()));
            state.ready_cv.notify_all();
        } else {
            log::info!("change listener: listening again; every watch stream resyncs");
            deliver(&sink, Event::Resync);
        }
        let mut probed = Instant::now();
        loop {
            if state.stop.load(Ordering::SeqCst) {
                let _ = client.close();
                return;
            }
            let next = client
                .notifications()
                .timeout_iter(Duration::from_millis(200))
                .next();
            match next {
                Ok(Some(n)) => {
                    if let Some(event) = parse_payload(replica, n.payload()) {
                        // Caches first: a stream re-reading on this event
                        // must not be answered from them.
                        generation.fetch_add(1, Ordering::AcqRel);
                        deliver(&sink, event);
                    }
                    continue;
                }
                Ok(None) if !client.is_closed() => {}
                Ok(None) => break,
                Err(e) => {
                    log::warn!("change listener: {e}");
                    break;
                }
            }
            if probed.elapsed() >= PROBE {
                probed = Instant::now();
                if let Err(e) = client.is_valid(PROBE) {
                    log::warn!("change listener: connection lost: {e}");
                    break;
                }
                if !locked {
                    // A session of ours the server has not yet seen die may
                    // still hold it.
                    locked = client
                        .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                        .map(|r| r.get(0))
                        .unwrap_or(false);
                }
            }
        }
        state.healthy.store(false, Ordering::Release);
        generation.fetch_add(1, Ordering::AcqRel);
        log::warn!("change listener: connection lost; reconnecting");
    }
}

/// Holds a named session lock on a pooled connection until dropped.
pub struct NamedLock {
    conn: Option<r2d2::PooledConnection<Manager>>,
    key: i64,
}

impl NamedLock {
    /// Waits for the lock (at most the pool's `lock_timeout`, then
    /// [`StoreError::Busy`]).
    pub fn acquire(pool: &PgPool, name: &str) -> StoreResult<NamedLock> {
        let mut conn = pool.get()?;
        let key = named_key(name);
        conn.client
            .execute("SELECT pg_advisory_lock($1)", &[&key])
            .map_err(StoreError::from)?;
        Ok(NamedLock {
            conn: Some(conn),
            key,
        })
    }
}

impl Drop for NamedLock {
    fn drop(&mut self) {
        if let Some(mut c) = self.conn.take() {
            if c.client
                .execute("SELECT pg_advisory_unlock($1)", &[&self.key])
                .is_err()
            {
                // Closing the session is what frees its locks.
                let _ = c
                    .client
                    .batch_execute("SELECT pg_terminate_backend(pg_backend_pid())");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgres://warren:s3cret@db.example:5432/warren?sslmode=disable"),
            "postgres://warren:***@db.example:5432/warren?sslmode=disable"
        );
        assert_eq!(
            redact("postgresql://warren@db/warren?password=s3cret&x=1"),
            "postgresql://warren@db/warren?password=***&x=1"
        );
        assert_eq!(redact("postgres://db/w"), "postgres://db/w");
    }

    #[test]
    fn payloads_round_trip_and_fall_back_to_resync() {
        let me = Uuid::new_v4();
        let other = Uuid::new_v4();
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let metadata = super::super::agent_extras::METADATA_CHANGED;
        let p = payload(
            other,
            &[(a, "x"), (b, "y"), (a, "z"), (a, metadata), (a, metadata)],
        );
        assert_eq!(
            parse_payload(me, &p),
            Some(Event::Changed(vec![
                (a, "remote"),
                (b, "remote"),
                (a, metadata)
            ]))
        );
        // A kind this replica does not know: everything is reloaded.
        assert_eq!(
            parse_payload(me, &format!("{other}|{a}:unknown")),
            Some(Event::Resync)
        );
        // Our own notifications are skipped.
        assert_eq!(parse_payload(other, &p), None);
        // Too many for one notification.
        let many: Vec<Change> = (0..400).map(|_| (Uuid::new_v4(), "x")).collect();
        let p = payload(other, &many);
        assert!(p.len() < 8000);
        assert_eq!(parse_payload(me, &p), Some(Event::Resync));
        // A transaction that changed no workspace still invalidates caches.
        assert_eq!(
            parse_payload(me, &payload(other, &[])),
            Some(Event::Changed(vec![]))
        );
    }

    #[test]
    fn replica_keys_match_the_sql_derivation() {
        let id = Uuid::parse_str("80000000-0000-0001-ffff-ffffffffffff").unwrap();
        // ('x' || '8000000000000001')::bit(64)::bigint is negative.
        assert_eq!(replica_key(id), i64::MIN + 1);
        assert_ne!(named_key("lifecycle"), named_key("other"));
    }
}
