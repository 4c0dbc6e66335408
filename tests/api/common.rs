//! Test harness: a real warren server on a loopback port and a temporary
//! SQLite file, and a small HTTP client that never treats a status as an error.
//!
//! With `WARREN_TEST_POSTGRES` set (an admin URL of a throwaway cluster, as
//! `tests/with-postgres` provides), every server runs on PostgreSQL instead:
//! each test gets a database of its own, created empty and dropped after.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;
use ureq::Agent;
use warren::clock::ManualClock;
use warren::{Config, Running};

pub const PASSWORD: &str = "SomeSecurePassword!";
pub const SIGNED_OUT: &str =
    "You are signed out or your session has expired. Please sign in again to continue.";
pub const NOT_FOUND: &str = "Resource not found or you do not have access to this resource";

/// What schema version 8 added to a SQLite database warren made (its
/// triggers, indexes and maintained columns), undone: tests that fake an
/// older database run it first.
pub const SQLITE_UNDO_8: &str = "DROP TRIGGER warren_ws_insert;
     DROP TRIGGER warren_ws_build;
     DROP TRIGGER warren_build_insert;
     DROP TRIGGER warren_build_update;
     DROP TRIGGER warren_job_update;
     DROP TRIGGER warren_template_version;
     DROP TRIGGER warren_agent_insert;
     DROP TRIGGER warren_agent_update;
     DROP TRIGGER warren_user_acl_insert;
     DROP TRIGGER warren_user_acl_delete;
     DROP TRIGGER warren_group_acl_insert;
     DROP TRIGGER warren_group_acl_delete;
     DROP INDEX workspaces_status_idx;
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
     ALTER TABLE workspaces DROP COLUMN agents_connected_until;";

/// [`SQLITE_UNDO_8`] on PostgreSQL (the triggers' functions go with them).
pub const POSTGRES_UNDO_8: &str = "DROP FUNCTION warren_ws_insert() CASCADE;
     DROP FUNCTION warren_ws_build() CASCADE;
     DROP FUNCTION warren_build_insert() CASCADE;
     DROP FUNCTION warren_build_update() CASCADE;
     DROP FUNCTION warren_job_update() CASCADE;
     DROP FUNCTION warren_template_version() CASCADE;
     DROP FUNCTION warren_agent_insert() CASCADE;
     DROP FUNCTION warren_agent_update() CASCADE;
     DROP FUNCTION warren_user_acl_insert() CASCADE;
     DROP FUNCTION warren_user_acl_delete() CASCADE;
     DROP FUNCTION warren_group_acl_insert() CASCADE;
     DROP FUNCTION warren_group_acl_delete() CASCADE;
     DROP INDEX workspaces_status_idx;
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
     ALTER TABLE workspaces DROP COLUMN status, DROP COLUMN outdated, DROP COLUMN has_ai_task, DROP COLUMN has_external_agent, DROP COLUMN agent_job_id, DROP COLUMN start_deadline, DROP COLUMN shared, DROP COLUMN agents_timeout_from, DROP COLUMN agents_connecting_until, DROP COLUMN agents_disconnected, DROP COLUMN agents_silent_from, DROP COLUMN agents_connected_until;";

/// Turns a stopped server's SQLite file back into version 2's layout, where
/// a file's contents sat mid-row and later steps' tables did not exist.
pub fn back_to_version_2(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(SQLITE_UNDO_8).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         BEGIN;
         CREATE TABLE files_v1 (
             id TEXT PRIMARY KEY, hash TEXT NOT NULL,
             created_by TEXT NOT NULL REFERENCES users (id), mimetype TEXT NOT NULL,
             data BLOB NOT NULL, created_at INTEGER NOT NULL);
         INSERT INTO files_v1 SELECT id, hash, created_by, mimetype, data, created_at FROM files;
         DROP TABLE files;
         ALTER TABLE files_v1 RENAME TO files;
         CREATE UNIQUE INDEX files_hash_idx ON files (hash, created_by);
         DROP TABLE lifecycle_actions;
         ALTER TABLE workspace_builds DROP COLUMN deadline_reason;
         ALTER TABLE workspace_builds DROP COLUMN deadline_set_at;
         ALTER TABLE workspace_builds DROP COLUMN deadline_set_by;
         PRAGMA user_version = 2;
         COMMIT;",
    )
    .unwrap();
}

pub struct Server {
    pub running: Option<Running>,
    _dir: TempDir,
    agent: Agent,
    pub config: Config,
    /// The server's clock: time moves only when a test advances it.
    pub clock: Arc<ManualClock>,
    /// The test's own PostgreSQL database, when the suite runs on one;
    /// dropped after the server stops.
    pub pg: Option<TestDb>,
}

/// The admin URL of the PostgreSQL cluster the suite runs on, if any.
pub fn postgres_admin() -> Option<String> {
    std::env::var("WARREN_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
}

/// The admin URL, for tests that only make sense on PostgreSQL.
#[track_caller]
pub fn require_postgres() -> String {
    postgres_admin()
        .expect("this test needs PostgreSQL: run it through tests/with-postgres (tests/run does)")
}

/// An empty database on the test cluster, dropped (with any connection
/// still open to it) when this is dropped.
pub struct TestDb {
    admin: String,
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn create(admin: &str) -> TestDb {
        let name = format!("warren_t_{}", uuid::Uuid::new_v4().simple());
        let mut c = postgres::Client::connect(admin, postgres::NoTls).expect("test cluster");
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        // The admin URL names the cluster's maintenance database last.
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
        TestDb {
            admin: admin.to_string(),
            url: format!("{base}/{name}"),
            name,
        }
    }

    /// A client on this database.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts a Coder error body: status, message, and that nothing else
    /// but detail/validations is present.
    #[track_caller]
    pub fn assert_error(&self, status: u16, message: &str) -> &Resp {
        assert_eq!(self.status, status, "status; body: {}", self.text);
        assert_eq!(
            self.body["message"], message,
            "message; body: {}",
            self.text
        );
        let obj = self.body.as_object().expect("error body is an object");
        for k in obj.keys() {
            assert!(
                ["message", "detail", "validations"].contains(&k.as_str()),
                "unexpected key {k} in {}",
                self.text
            );
        }
        self
    }

    /// Every value of a header (`Set-Cookie` comes once per cookie).
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The `Set-Cookie` header of cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.header_all("set-cookie")
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    #[track_caller]
    pub fn assert_detail(&self, detail: &str) -> &Resp {
        assert_eq!(self.body["detail"], detail, "detail; body: {}", self.text);
        self
    }

    /// Asserts a validation entry names `field`.
    #[track_caller]
    pub fn assert_field(&self, field: &str) -> &Resp {
        let v = self.body["validations"]
            .as_array()
            .unwrap_or_else(|| panic!("no validations in {}", self.text));
        assert!(
            v.iter()
                .any(|e| e["field"] == field && e["detail"].is_string()),
            "no validation for {field} in {}",
            self.text
        );
        self
    }

    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "status; body: {}", self.text);
        &self.body
    }
}

pub fn test_config(dir: &TempDir) -> Config {
    let mut c = Config::defaults();
    c.address = "127.0.0.1:0".into();
    c.db = dir.path().join("warren.db");
    c.access_url = None;
    c.provisioner_delay = Duration::ZERO;
    // Tests tick the executor themselves (`Server::tick`) at the manual
    // clock's time; a tick of its own thread, a real minute into a slow
    // run, would act on what a test just made due before the test does.
    c.autobuild_poll_interval = Duration::from_secs(24 * 3600);
    c
}

/// A tar archive of the files of `tests/fixtures/<name>`.
pub fn fixture_tar(name: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let mut b = tar::Builder::new(Vec::new());
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let data = std::fs::read(&p).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, p.file_name().unwrap(), data.as_slice())
            .unwrap();
    }
    b.into_inner().unwrap()
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(|_| {})
    }

    pub fn start_with(f: impl FnOnce(&mut Config)) -> Server {
        let pg = postgres_admin().map(|admin| TestDb::create(&admin));
        Server::start_on(pg, Arc::new(ManualClock::starting_now()), f)
    }

    /// A server on its SQLite file whatever engine the suite runs on, for
    /// tests of the file itself.
    pub fn start_sqlite() -> Server {
        Server::start_on(None, Arc::new(ManualClock::starting_now()), |_| {})
    }

    /// A server on `pg` (or a SQLite file when `None`) with the given clock.
    pub fn start_on(
        pg: Option<TestDb>,
        clock: Arc<ManualClock>,
        f: impl FnOnce(&mut Config),
    ) -> Server {
        // The server's errors go with a failing test's output.
        let _ =
            env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("error"))
                .is_test(true)
                .try_init();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = test_config(&dir);
        if let Some(db) = &pg {
            config.db = db.url.clone().into();
        }
        f(&mut config);
        let running =
            warren::start_with_clock(config.clone(), clock.clone()).expect("server starts");
        let agent = agent();
        Server {
            running: Some(running),
            _dir: dir,
            agent,
            config,
            clock,
            pg,
        }
    }

    pub fn app(&self) -> &warren::App {
        &self.running.as_ref().expect("running").app
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Runs one tick of the lifecycle executor at the clock's time and lets
    /// the builds it queued run.
    pub fn tick(&self) -> Vec<warren::domain::lifecycle::Action> {
        let actions = self.app().lifecycle_tick();
        self.settle();
        actions
    }

    /// Waits until every queued provisioner job has run.
    pub fn settle(&self) {
        assert!(
            self.app().provisioner.wait_idle(Duration::from_secs(20)),
            "the provisioner did not become idle"
        );
    }

    /// Stops the server and starts a new one on the same database file.
    pub fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop();
        }
        self.running = Some(
            warren::start_with_clock(self.config.clone(), self.clock.clone())
                .expect("server restarts"),
        );
    }

    pub fn url(&self, path: &str) -> String {
        self.running.as_ref().expect("running").url(path)
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        send(&self.agent, &self.url(path), method, token, headers, body)
    }

    /// Sends raw bytes with a content type.
    pub fn upload(&self, token: &str, content_type: &str, data: &[u8]) -> Resp {
        self.raw(
            "POST",
            "/api/v2/files",
            &[("Coder-Session-Token", token)],
            Some((content_type, data)),
        )
    }

    /// A request with exactly these headers and, if given, a body of the
    /// given content type (what a browser form or a script would send).
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Resp {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let result = match body {
            Some((content_type, data)) => self.agent.run(
                builder
                    .header("Content-Type", content_type)
                    .body(data.to_vec())
                    .unwrap(),
            ),
            None => self.agent.run(builder.body(()).unwrap()),
        };
        let mut resp = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            headers,
        }
    }

    /// Lets queued provisioner jobs run, then reads `path`, which must
    /// satisfy `done`.
    #[track_caller]
    pub fn wait_for(&self, path: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
        self.settle();
        let r = self.get(path, token);
        assert!(
            r.status == 200 && done(&r.body),
            "{path} is not in the state awaited once the provisioner is idle: {}",
            r.text
        );
        r.body
    }

    /// Uploads a fixture, imports it as a version and waits for the import.
    pub fn import(&self, owner: &Owner, fixture: &str, template_id: Option<&str>) -> Value {
        let file = self.upload(&owner.token, "application/x-tar", &fixture_tar(fixture));
        let file_id = file.body["hash"]
            .as_str()
            .unwrap_or_else(|| panic!("{}", file.text))
            .to_string();
        let mut body =
            json!({"storage_method": "file", "file_id": file_id, "provisioner": "terraform"});
        if let Some(t) = template_id {
            body["template_id"] = json!(t);
        }
        let r = self.post(
            &format!("/api/v2/organizations/{}/templateversions", owner.org),
            &owner.token,
            body,
        );
        let id = r.ok(201)["id"].as_str().unwrap().to_string();
        self.wait_for(
            &format!("/api/v2/templateversions/{id}"),
            &owner.token,
            |v| {
                matches!(
                    v["job"]["status"].as_str(),
                    Some("succeeded" | "failed" | "canceled")
                )
            },
        )
    }

    /// A template named `name` from the docker fixture.
    pub fn template(&self, owner: &Owner, name: &str) -> Value {
        let v = self.import(owner, "docker", None);
        assert_eq!(v["job"]["status"], "succeeded", "{v}");
        let r = self.post(
            &format!("/api/v2/organizations/{}/templates", owner.org),
            &owner.token,
            json!({"name": name, "template_version_id": v["id"]}),
        );
        r.ok(201).clone()
    }

    /// Creates a workspace for `token`'s user and waits for its first build.
    pub fn workspace(&self, token: &str, template_id: &str, name: &str) -> Value {
        let r = self.post(
            "/api/v2/users/me/workspaces",
            token,
            json!({"template_id": template_id, "name": name}),
        );
        let id = r.ok(201)["id"].as_str().unwrap().to_string();
        self.wait_build(token, &id)
    }

    /// Waits until the workspace's latest build has completed and, for a
    /// start, its agents are ready.
    pub fn wait_build(&self, token: &str, workspace: &str) -> Value {
        self.wait_for(
            &format!("/api/v2/workspaces/{workspace}?include_deleted=true"),
            token,
            |w| {
                let b = &w["latest_build"];
                let done = matches!(
                    b["job"]["status"].as_str(),
                    Some("succeeded" | "failed" | "canceled")
                );
                let agents_ready = b["resources"].as_array().into_iter().flatten().all(|r| {
                    r["agents"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .all(|a| a["lifecycle_state"] == "ready")
                });
                done && (b["transition"] != "start"
                    || b["job"]["status"] != "succeeded"
                    || agents_ready)
            },
        )
    }

    pub fn get(&self, path: &str, token: &str) -> Resp {
        self.request("GET", path, Some(token), &[], None)
    }

    pub fn delete(&self, path: &str, token: &str) -> Resp {
        self.request("DELETE", path, Some(token), &[], None)
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.request("POST", path, Some(token), &[], Some(&body.to_string()))
    }

    pub fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.request("PUT", path, Some(token), &[], Some(&body.to_string()))
    }

    pub fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.request("PATCH", path, Some(token), &[], Some(&body.to_string()))
    }

    pub fn anon(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let b = body.map(|b| b.to_string());
        self.request(method, path, None, &[], b.as_deref())
    }

    pub fn login(&self, email: &str, password: &str) -> String {
        let r = self.anon(
            "POST",
            "/api/v2/users/login",
            Some(json!({"email": email, "password": password})),
        );
        r.ok(201)["session_token"]
            .as_str()
            .expect("session_token")
            .to_string()
    }

    /// First user (owner) created and logged in.
    pub fn setup(&self) -> Owner {
        let r = self.anon(
            "POST",
            "/api/v2/users/first",
            Some(json!({"email": "admin@example.com", "username": "admin", "name": "Admin", "password": PASSWORD})),
        );
        let body = r.ok(201).clone();
        let token = self.login("admin@example.com", PASSWORD);
        Owner {
            token,
            id: body["user_id"].as_str().unwrap().to_string(),
            org: body["organization_id"].as_str().unwrap().to_string(),
        }
    }

    /// Creates an active password user with the given site roles and logs in.
    pub fn user(&self, owner: &Owner, username: &str, roles: &[&str]) -> TestUser {
        let r = self.post(
            "/api/v2/users",
            &owner.token,
            json!({
                "email": format!("{username}@example.com"),
                "username": username,
                "password": PASSWORD,
                "organization_ids": [owner.org],
                "user_status": "active",
                "roles": roles,
            }),
        );
        let id = r.ok(201)["id"].as_str().unwrap().to_string();
        let token = self.login(&format!("{username}@example.com"), PASSWORD);
        TestUser { id, token }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop();
        }
    }
}

pub struct Owner {
    pub token: String,
    pub id: String,
    pub org: String,
}

pub struct TestUser {
    pub id: String,
    pub token: String,
}

/// Asserts that `v` has exactly `keys` (no more, no fewer).
#[track_caller]
pub fn assert_keys(v: &Value, keys: &[&str]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    let mut have: Vec<&str> = obj.keys().map(|s| s.as_str()).collect();
    have.sort();
    let mut want = keys.to_vec();
    want.sort();
    assert_eq!(have, want, "keys of {v}");
}

/// Asserts an RFC 3339 UTC timestamp.
#[track_caller]
pub fn assert_time(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert!(s.ends_with('Z'), "{s} is UTC");
}

/// One request; the status is never an error.
pub fn send(
    agent: &Agent,
    url: &str,
    method: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        builder = builder.header("Coder-Session-Token", t);
    }
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let result = match body {
        Some(b) => {
            let req = builder
                .header("Content-Type", "application/json")
                .body(b.to_string())
                .expect("request");
            agent.run(req)
        }
        None => {
            let req = builder.body(()).expect("request");
            agent.run(req)
        }
    };
    let mut resp = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        body,
        text,
        headers,
    }
}

/// The harness's HTTP agent: statuses are answers, not errors.
pub fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A minimal SSE client: HTTP/1.1, chunked body, `event:`/`data:` frames.
pub struct Sse {
    pub reader: BufReader<TcpStream>,
    buf: String,
    pub status: u16,
    pub headers: String,
}

impl Sse {
    pub fn open(s: &Server, path: &str, token: &str) -> Sse {
        Sse::open_as(s, path, Some(token))
    }

    /// [`Sse::open`], anonymously when `token` is `None`.
    pub fn open_as(s: &Server, path: &str, token: Option<&str>) -> Sse {
        Sse::connect_as(&s.url(""), path, token)
    }

    /// Opens `path` on the server at `base` (`http://host:port`).
    pub fn connect(base: &str, path: &str, token: &str) -> Sse {
        Sse::connect_as(base, path, Some(token))
    }

    /// [`Sse::connect`], anonymously when `token` is `None`.
    pub fn connect_as(base: &str, path: &str, token: Option<&str>) -> Sse {
        let addr = base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let mut stream = TcpStream::connect(&addr).unwrap();
        let auth = token
            .map(|t| format!("Coder-Session-Token: {t}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Accept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(stream);
        let mut headers = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            headers.push_str(&line);
        }
        let status = headers.split_whitespace().nth(1).unwrap().parse().unwrap();
        Sse {
            reader,
            buf: String::new(),
            status,
            headers,
        }
    }

    /// The next `(event, data)`; `None` when the stream ended or timed out.
    pub fn next(&mut self, timeout: Duration) -> Option<(String, Value)> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                let mut event = String::new();
                let mut data = Value::Null;
                for line in frame.lines() {
                    if let Some(e) = line.strip_prefix("event: ") {
                        event = e.to_string();
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data = serde_json::from_str(d).unwrap();
                    }
                }
                return Some((event, data));
            }
            if Instant::now() > deadline {
                return None;
            }
            self.reader
                .get_mut()
                .set_read_timeout(Some(deadline - Instant::now() + Duration::from_millis(1)))
                .unwrap();
            let mut size = String::new();
            match self.reader.read_line(&mut size) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            if n == 0 {
                return None;
            }
            let mut chunk = vec![0; n + 2];
            self.reader.read_exact(&mut chunk).ok()?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    }

    /// The next event that is not a ping.
    pub fn next_data(&mut self, timeout: Duration) -> Option<(String, Value)> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            match self.next(deadline - Instant::now()) {
                Some((e, _)) if e == "ping" => continue,
                other => return other,
            }
        }
        None
    }
}

impl Server {
    /// Watches a workspace until its state satisfies `done` (pushed by the
    /// server, no polling); fails after `timeout`.
    #[track_caller]
    pub fn watch_until(
        &self,
        workspace: &str,
        token: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let mut sse = Sse::open(
            self,
            &format!("/api/v2/workspaces/{workspace}/watch"),
            token,
        );
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match sse.next_data(left) {
                Some((e, v)) if e == "data" && done(&v) => return v,
                Some(_) => continue,
                None => panic!("workspace {workspace} never reached the awaited state"),
            }
        }
    }
}
