//! The hot-path benchmark (issue 15): `cargo bench --bench hot_paths`.
//!
//! Scale: 10,000 workspaces over 100 users by default;
//! `cargo bench --bench hot_paths -- --workspaces 100000` (or
//! `WARREN_BENCH_WORKSPACES=100000`) for 100,000 over 1,000 users (always
//! 100 workspaces a user).
//!
//! The bench re-executes itself under `taskset -c 1` with the open-file
//! limit raised to the hard limit (10,000 WebSocket watchers need as many
//! descriptors on each side), and starts the release server binary under
//! `taskset -c 0`: the server and this load client each have one core.
//!
//! 1. Setup over HTTP (a first server run): the owner, two templates built
//!    from `tests/fixtures/docker` (`docker` with an old and an active
//!    version, `perf`), one workspace built through the API, one member.
//! 2. Seeding through SQL with the server stopped: the member's row is
//!    cloned into every user, and the built workspace row by row into every
//!    workspace (build, job, parameters, resources, agent, apps, scripts,
//!    log sources, metadata), varied so that every `q` key has matches:
//!    running 73 %, stopped 25 %, failed 2 %; half on each template; a
//!    tenth of the docker ones on the old version (outdated); 5 % dormant;
//!    4 % shared with another user; `region` eu/us/ap; last use spread
//!    over 100 hours.
//! 3. Measurement run: cold start to the first answered list; RSS; p50/p99
//!    of every list query and one per `q` key, of get by id and by
//!    owner/name, and of `/healthz` as the floor (one keep-alive
//!    connection, requests one after another);
//!    throughput of a list page, of get by id and of `/healthz` (4
//!    keep-alive connections, 5 s each); WebSocket watchers (2,400 and
//!    10,000 over 100 workspaces; 10 rounds, each changing the TTL of all
//!    100 once; latency from sending the change to each watcher's copy).
//! 4. Above 10,000 workspaces, the scale comparison: a server on this
//!    database and one on a 10,000 one (seeded as above), both pinned to
//!    core 0, asked the same paths in turn — every round asks each path
//!    once of each, alternating which goes first — so the host's bursts of
//!    noise fall on both sizes alike and the p99 ratio compares the sizes.
//! 5. Lifecycle run: the server ticks every second and logs each tick's
//!    duration at debug level (`lifecycle tick: N candidates, M actions,
//!    X ms`), which the bench reads from its log. Before it starts, rounds
//!    of 50, 50, 50 and 200 running workspaces are given deadlines (through
//!    SQL) that pass 6, 9, 12 and 15 s later, on the running server by time
//!    alone, and the tick that acts on each round is read. Then creates/s
//!    with 8 concurrent clients.
//!
//! Only HTTP and WebSocket traffic is measured; SQL only seeds.
//! `WARREN_BENCH_BIN=path` measures another build of the server (the
//! before/after comparison of a change).

// Bench code may panic on what it did not expect: that is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::types::Value as Sql;
use rusqlite::{params, Connection};
use serde_json::{json, Value};
use uuid::Uuid;

const PASSWORD: &str = "SomeSecurePassword!";
const PER_USER: usize = 100;
const SAMPLES: usize = 1000;
const WARMUP: usize = 50;
/// The unfiltered list page.
const PAGE: &str = "/api/v2/workspaces?limit=25";

/// `WARREN_BENCH_QUICK=1`: a smoke run (a tenth of the samples and of the
/// watchers) to check the bench itself; its numbers are not the figures.
fn quick() -> bool {
    std::env::var_os("WARREN_BENCH_QUICK").is_some()
}

/// Samples per latency (1,000; `WARREN_BENCH_SAMPLES=n` for another).
fn samples() -> usize {
    if let Some(n) = std::env::var("WARREN_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    if quick() {
        SAMPLES / 10
    } else {
        SAMPLES
    }
}
/// `WARREN_BENCH_PARTS=lists,watchers,scale,lifecycle,creates` (the default: all)
/// measures only the parts named.
fn part(name: &str) -> bool {
    std::env::var("WARREN_BENCH_PARTS").map_or(true, |v| v.split(',').any(|p| p.trim() == name))
}

const WATCHED: usize = 100;
const ROUNDS: usize = 10;

fn main() {
    pin_or_reexec();
    let workspaces = workspaces_wanted();
    let users = workspaces / PER_USER;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let log = dir.path().join("server.log");
    print_machine(workspaces, users);

    let setup = seeded(workspaces, &db, &log);

    // `WARREN_BENCH_SEED_ONLY=path`: keep the seeded database there and
    // stop (to study query plans on it).
    if let Ok(keep) = std::env::var("WARREN_BENCH_SEED_ONLY") {
        std::fs::copy(&db, &keep).unwrap();
        return;
    }
    let mut report = Report::default();
    if part("lists") || part("watchers") {
        measure(&db, &log, &setup, users, &mut report);
    }
    if workspaces > 10_000 && part("scale") {
        let small_db = dir.path().join("small.db");
        let small_log = dir.path().join("small.log");
        let small = seeded(10_000, &small_db, &small_log);
        report.scale = scale((&small_db, &small_log, &small), (&db, &log, &setup), users);
    }
    if part("lifecycle") || part("creates") {
        lifecycle_and_creates(&db, &log, &setup, &mut report);
    }
    report.print(workspaces, users);
}

/// Copies the seeded database for `workspaces` to `db` and returns its
/// setup: from `WARREN_BENCH_SEEDED=dir/<workspaces>` when that holds one
/// (iterating on one part), else set up over HTTP and seeded now (and kept
/// there when `WARREN_BENCH_SEEDED` is set).
fn seeded(workspaces: usize, db: &Path, log: &Path) -> Setup {
    let users = workspaces / PER_USER;
    let kept = std::env::var_os("WARREN_BENCH_SEEDED")
        .map(|d| Path::new(&d).join(format!("{workspaces}")));
    if let Some(k) = kept.as_ref().filter(|k| k.join("setup.json").exists()) {
        std::fs::copy(k.join("bench.db"), db).unwrap();
        println!(
            "seeded database of {workspaces} reused from {}",
            k.display()
        );
        return serde_json::from_str(&std::fs::read_to_string(k.join("setup.json")).unwrap())
            .unwrap();
    }
    let t = Instant::now();
    let setup = setup(db, log);
    let api_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    seed(db, &setup, users);
    println!(
        "setup over HTTP {api_secs:.1} s; seeded {} workspaces over {users} users (+ the owner's one) through SQL in {:.1} s",
        users * PER_USER,
        t.elapsed().as_secs_f64()
    );
    if let Some(k) = &kept {
        std::fs::create_dir_all(k).unwrap();
        std::fs::copy(db, k.join("bench.db")).unwrap();
        std::fs::write(k.join("setup.json"), serde_json::to_string(&setup).unwrap()).unwrap();
    }
    setup
}

// ------------------------------------------------------------ environment

/// Runs the bench again pinned to core 1 with the descriptor limit raised,
/// unless that already happened.
fn pin_or_reexec() {
    if std::env::var_os("WARREN_BENCH_PINNED").is_some() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n "$(ulimit -Hn)" && exec taskset -c 1 "$0" "$@""#)
        .arg(exe)
        .args(std::env::args().skip(1))
        .env("WARREN_BENCH_PINNED", "1")
        .status()
        .expect("sh and taskset (util-linux) are needed");
    std::process::exit(status.code().unwrap_or(1));
}

fn workspaces_wanted() -> usize {
    let args: Vec<String> = std::env::args().collect();
    let from_args = args
        .iter()
        .position(|a| a == "--workspaces")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let n: usize = from_args
        .or_else(|| std::env::var("WARREN_BENCH_WORKSPACES").ok())
        .map(|s| s.parse().expect("--workspaces takes a number"))
        .unwrap_or(10_000);
    assert!(
        n >= 10_000 && n % PER_USER == 0,
        "--workspaces must be a multiple of {PER_USER}, at least 10,000"
    );
    n
}

fn print_machine(workspaces: usize, users: usize) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .nth(1)
        .and_then(|k| k.parse::<u64>().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    println!("warren hot paths: {workspaces} workspaces over {users} users");
    println!(
        "machine: {model}; CPUs online {} (this client sees {cores}); {:.1} GiB RAM; Linux {}",
        online.trim(),
        mem as f64 / 1048576.0,
        kernel.trim()
    );
    println!("load average at start: {}", load.trim());
}

// ----------------------------------------------------------------- server

struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the release binary pinned to core 0; returns once it answers
    /// `probe` (a path and a token) with 200, and how long that took.
    fn start(
        db: &Path,
        log: &Path,
        extra: &[&str],
        probe: Option<(&str, &str)>,
    ) -> (Server, Duration) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let started = Instant::now();
        let bin = std::env::var("WARREN_BENCH_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_warren").to_string());
        let child = Command::new("taskset")
            .args(["-c", "0", &bin])
            .args(["--address", &address, "--db"])
            .arg(db)
            .args(extra)
            .env(
                "RUST_LOG",
                "info,warren::domain::lifecycle=debug,actix_server=warn",
            )
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start the server");
        let server = Server {
            child,
            base: format!("http://{address}"),
        };
        let http = Http::new(&server.base);
        let (path, token) = probe.unwrap_or(("/healthz", ""));
        loop {
            if let Ok(200) = http.try_status(path, Some(token).filter(|t| !t.is_empty())) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not answer {path}"
            );
            std::thread::sleep(Duration::from_micros(500));
        }
        (server, started.elapsed())
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (VmRSS, VmHWM) in MiB.
    fn rss(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

// ------------------------------------------------------------------- HTTP

struct Http {
    agent: ureq::Agent,
    base: String,
}

impl Http {
    fn new(base: &str) -> Http {
        Http {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
            base: base.to_string(),
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
    ) -> ureq::http::request::Builder {
        let mut b = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(t) = token {
            b = b.header("Coder-Session-Token", t);
        }
        b
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let b = self.request(method, path, token);
        let mut resp = match body {
            Some(v) => self.agent.run(
                b.header("Content-Type", "application/json")
                    .body(v.to_string())
                    .unwrap(),
            ),
            None => self.agent.run(b.body(()).unwrap()),
        }
        .expect("request");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn try_status(&self, path: &str, token: Option<&str>) -> Result<u16, ureq::Error> {
        let mut resp = self
            .agent
            .run(self.request("GET", path, token).body(()).unwrap())?;
        let _ = resp.body_mut().read_to_vec();
        Ok(resp.status().as_u16())
    }

    /// One GET whose body is read but not parsed; its status.
    fn get_raw(&self, path: &str, token: Option<&str>, sink: &mut Vec<u8>) -> u16 {
        let mut resp = self
            .agent
            .run(self.request("GET", path, token).body(()).unwrap())
            .expect("request");
        sink.clear();
        resp.body_mut().as_reader().read_to_end(sink).unwrap();
        resp.status().as_u16()
    }

    fn upload(&self, token: &str, data: Vec<u8>) -> Value {
        let req = self
            .request("POST", "/api/v2/files", Some(token))
            .header("Content-Type", "application/x-tar")
            .body(data)
            .unwrap();
        let mut resp = self.agent.run(req).unwrap();
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
    }

    fn wait<F: Fn(&Value) -> bool>(&self, path: &str, token: &str, done: F) -> Value {
        let start = Instant::now();
        loop {
            let (s, v) = self.call("GET", path, Some(token), None);
            if s == 200 && done(&v) {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timeout on {path}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn fixture_tar() -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docker");
    let mut b = tar::Builder::new(Vec::new());
    for name in ["main.tf", "README.md"] {
        let data = std::fs::read(dir.join(name)).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

// ------------------------------------------------------------------ setup

/// What the API-built setup left behind.
#[derive(serde::Serialize, serde::Deserialize)]
struct Setup {
    admin: String,
    org: String,
    docker: String,
    docker_old: String,
    docker_active: String,
    perf: String,
    perf_active: String,
    seed_ws: String,
    member: String,
}

fn setup(db: &Path, log: &Path) -> Setup {
    let (server, _) = Server::start(db, log, &["--provisioner-delay", "0s"], None);
    let c = Http::new(&server.base);
    let (_, first) = c.call(
        "POST",
        "/api/v2/users/first",
        None,
        Some(json!({"email": "admin@example.com", "username": "admin", "password": PASSWORD})),
    );
    let org = first["organization_id"].as_str().unwrap().to_string();
    let admin = login(&c, "admin@example.com");
    let file = c.upload(&admin, fixture_tar());
    let version = |template: Option<&str>| -> String {
        let mut body =
            json!({"storage_method": "file", "provisioner": "terraform", "file_id": file["hash"]});
        if let Some(t) = template {
            body["template_id"] = json!(t);
        }
        let (s, v) = c.call(
            "POST",
            &format!("/api/v2/organizations/{org}/templateversions"),
            Some(&admin),
            Some(body),
        );
        assert_eq!(s, 201, "{v}");
        let vid = v["id"].as_str().unwrap().to_string();
        c.wait(&format!("/api/v2/templateversions/{vid}"), &admin, |v| {
            v["job"]["status"] == "succeeded"
        });
        vid
    };
    let template = |name: &str, vid: &str| -> String {
        let (s, t) = c.call(
            "POST",
            &format!("/api/v2/organizations/{org}/templates"),
            Some(&admin),
            Some(json!({"name": name, "template_version_id": vid})),
        );
        assert_eq!(s, 201, "{t}");
        t["id"].as_str().unwrap().to_string()
    };
    let docker_old = version(None);
    let docker = template("docker", &docker_old);
    let (s, w) = c.call(
        "POST",
        "/api/v2/users/me/workspaces",
        Some(&admin),
        Some(json!({"template_id": docker, "name": "seed", "ttl_ms": 3_600_000})),
    );
    assert_eq!(s, 201, "{w}");
    let seed_ws = w["id"].as_str().unwrap().to_string();
    c.wait(&format!("/api/v2/workspaces/{seed_ws}"), &admin, |w| {
        w["latest_build"]["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["agents"].as_array().into_iter().flatten())
            .any(|a| a["lifecycle_state"] == "ready")
    });
    let docker_active = version(Some(&docker));
    let (s, v) = c.call(
        "PATCH",
        &format!("/api/v2/templates/{docker}/versions"),
        Some(&admin),
        Some(json!({"id": docker_active})),
    );
    assert_eq!(s, 200, "{v}");
    let perf_active = version(None);
    let perf = template("perf", &perf_active);
    let (s, u) = c.call(
        "POST",
        "/api/v2/users",
        Some(&admin),
        Some(
            json!({"email": "user0@example.com", "username": "user0", "password": PASSWORD,
                    "organization_ids": [org], "user_status": "active"}),
        ),
    );
    assert_eq!(s, 201, "{u}");
    let member = u["id"].as_str().unwrap().to_string();
    server.stop();
    Setup {
        admin,
        org,
        docker,
        docker_old,
        docker_active,
        perf,
        perf_active,
        seed_ws,
        member,
    }
}

fn login(c: &Http, email: &str) -> String {
    let (s, v) = c.call(
        "POST",
        "/api/v2/users/login",
        None,
        Some(json!({"email": email, "password": PASSWORD})),
    );
    assert_eq!(s, 201, "{v}");
    v["session_token"].as_str().unwrap().to_string()
}

// ---------------------------------------------------------------- seeding

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// Copies rows of `table` matching `key = ?` with some columns replaced:
/// by a bound value, or by an SQL expression. The statement is built from
/// the table's own column list, so every column the schema has is copied.
struct Copier<'c> {
    conn: &'c Connection,
    columns: HashMap<&'static str, Vec<String>>,
}

enum Ov {
    Val(Sql),
    Expr(&'static str),
}

impl<'c> Copier<'c> {
    fn copy(
        &mut self,
        table: &'static str,
        key: &str,
        key_value: &str,
        ov: &[(&str, Ov)],
    ) -> usize {
        let conn = self.conn;
        let columns = self.columns.entry(table).or_insert_with(|| {
            let mut stmt = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        });
        let mut params: Vec<Sql> = Vec::new();
        let select: Vec<String> = columns
            .iter()
            .map(|c| match ov.iter().find(|(n, _)| n == c) {
                Some((_, Ov::Val(v))) => {
                    params.push(v.clone());
                    format!("?{}", params.len())
                }
                Some((_, Ov::Expr(e))) => e.to_string(),
                None => c.clone(),
            })
            .collect();
        for (n, _) in ov {
            assert!(columns.iter().any(|c| c == n), "{table} has no column {n}");
        }
        params.push(Sql::Text(key_value.to_string()));
        let sql = format!(
            "INSERT INTO {table} ({}) SELECT {} FROM {table} WHERE {key} = ?{}",
            columns.join(", "),
            select.join(", "),
            params.len()
        );
        self.conn
            .prepare_cached(&sql)
            .unwrap()
            .execute(rusqlite::params_from_iter(params))
            .unwrap()
    }
}

fn text(s: &str) -> Ov {
    Ov::Val(Sql::Text(s.to_string()))
}

fn int(i: i64) -> Ov {
    Ov::Val(Sql::Integer(i))
}

fn opt_int(i: Option<i64>) -> Ov {
    Ov::Val(i.map(Sql::Integer).unwrap_or(Sql::Null))
}

/// An agent of the seed: its id, its apps' and its scripts' ids.
type SourceAgent = (String, Vec<String>, Vec<String>);

/// The seed workspace's rows that every clone copies.
struct Source {
    build: String,
    job: String,
    /// (resource id, its agents (id, apps, scripts)).
    resources: Vec<(String, Vec<SourceAgent>)>,
}

fn ids(conn: &Connection, sql: &str, arg: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([arg], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn source(conn: &Connection, ws: &str) -> Source {
    let (build, job): (String, String) = conn
        .query_row(
            "SELECT b.id, b.job_id FROM workspaces w JOIN workspace_builds b ON b.id = w.latest_build_id WHERE w.id = ?",
            [ws],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let resources = ids(
        conn,
        "SELECT id FROM workspace_resources WHERE job_id = ? ORDER BY id",
        &job,
    )
    .into_iter()
    .map(|r| {
        let agents = ids(
            conn,
            "SELECT id FROM workspace_agents WHERE resource_id = ? ORDER BY id",
            &r,
        )
        .into_iter()
        .map(|a| {
            let apps = ids(conn, "SELECT id FROM workspace_apps WHERE agent_id = ?", &a);
            let scripts = ids(
                conn,
                "SELECT id FROM workspace_agent_scripts WHERE agent_id = ?",
                &a,
            );
            (a, apps, scripts)
        })
        .collect();
        (r, agents)
    })
    .collect();
    Source {
        build,
        job,
        resources,
    }
}

fn seed(db: &Path, s: &Setup, users: usize) {
    let mut conn = Connection::open(db).unwrap();
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;")
        .unwrap();
    let tx = conn.transaction().unwrap();
    let src = source(&tx, &s.seed_ws);
    let mut cp = Copier {
        conn: &tx,
        columns: HashMap::new(),
    };
    let now = now_us();
    let hour = 3_600_000_000i64;
    let mut user_ids = vec![s.member.clone()];
    for i in 1..users {
        let id = Uuid::new_v4().to_string();
        cp.copy(
            "users",
            "id",
            &s.member,
            &[
                ("id", text(&id)),
                ("username", text(&format!("user{i}"))),
                ("email", text(&format!("user{i}@example.com"))),
            ],
        );
        cp.copy(
            "organization_members",
            "user_id",
            &s.member,
            &[("user_id", text(&id))],
        );
        user_ids.push(id);
    }
    for (i, owner) in user_ids.iter().enumerate() {
        for j in 0..PER_USER {
            let ws = Uuid::new_v4().to_string();
            let job = Uuid::new_v4().to_string();
            let build = Uuid::new_v4().to_string();
            let (template, version) = if j % 2 == 0 {
                let v = if j % 10 == 4 {
                    &s.docker_old
                } else {
                    &s.docker_active
                };
                (&s.docker, v)
            } else {
                (&s.perf, &s.perf_active)
            };
            let stopped = j % 4 == 3;
            let failed = !stopped && j % 50 == 1;
            let running = !stopped && !failed;
            let transition = if stopped { "stop" } else { "start" };
            cp.copy(
                "workspaces",
                "id",
                &s.seed_ws,
                &[
                    ("id", text(&ws)),
                    ("owner_id", text(owner)),
                    ("organization_id", text(&s.org)),
                    ("template_id", text(template)),
                    ("name", text(&format!("w{j}"))),
                    ("latest_build_id", text(&build)),
                    ("owner_sort", text(&format!("user{i}"))),
                    ("running", int(running as i64)),
                    ("favorite", int(0)),
                    (
                        "last_used_at",
                        int(now - (j as i64) * hour - i as i64 * 1_000_000),
                    ),
                    (
                        "dormant_at",
                        opt_int((j % 20 == 5).then_some(now - 24 * hour)),
                    ),
                ],
            );
            cp.copy(
                "provisioner_jobs",
                "id",
                &src.job,
                &[
                    ("id", text(&job)),
                    ("initiator_id", text(owner)),
                    (
                        "input",
                        text(&json!({"workspace_build_id": build}).to_string()),
                    ),
                    ("error", text(if failed { "simulated failure" } else { "" })),
                ],
            );
            cp.copy(
                "workspace_builds",
                "id",
                &src.build,
                &[
                    ("id", text(&build)),
                    ("workspace_id", text(&ws)),
                    ("template_version_id", text(version)),
                    ("transition", text(transition)),
                    ("initiator_id", text(owner)),
                    ("job_id", text(&job)),
                    ("deadline", opt_int(running.then_some(now + 24 * hour))),
                    ("max_deadline", opt_int(None)),
                ],
            );
            cp.copy(
                "workspace_build_parameters",
                "workspace_build_id",
                &src.build,
                &[("workspace_build_id", text(&build))],
            );
            tx.prepare_cached(
                "UPDATE workspace_build_parameters SET value = ?2 WHERE workspace_build_id = ?1 AND name = 'region'",
            )
            .unwrap()
            .execute(params![build, ["eu", "us", "ap"][j % 3]])
            .unwrap();
            if j % 25 == 7 {
                tx.prepare_cached(
                    "INSERT INTO workspace_user_acl (workspace_id, user_id, role) VALUES (?1, ?2, 'use')",
                )
                .unwrap()
                .execute(params![ws, user_ids[(i + 1) % user_ids.len()]])
                .unwrap();
            }
            if failed {
                continue;
            }
            for (res, agents) in &src.resources {
                if stopped && !agents.is_empty() {
                    continue;
                }
                let new_res = Uuid::new_v4().to_string();
                cp.copy(
                    "workspace_resources",
                    "id",
                    res,
                    &[
                        ("id", text(&new_res)),
                        ("job_id", text(&job)),
                        ("transition", text(transition)),
                    ],
                );
                for (agent, apps, scripts) in agents {
                    let new_agent = Uuid::new_v4().to_string();
                    cp.copy(
                        "workspace_agents",
                        "id",
                        agent,
                        &[
                            ("id", text(&new_agent)),
                            ("resource_id", text(&new_res)),
                            ("auth_token_hash", Ov::Expr("randomblob(32)")),
                        ],
                    );
                    for app in apps {
                        cp.copy(
                            "workspace_apps",
                            "id",
                            app,
                            &[
                                ("id", text(&Uuid::new_v4().to_string())),
                                ("agent_id", text(&new_agent)),
                            ],
                        );
                    }
                    for script in scripts {
                        cp.copy(
                            "workspace_agent_scripts",
                            "id",
                            script,
                            &[
                                ("id", text(&Uuid::new_v4().to_string())),
                                ("agent_id", text(&new_agent)),
                            ],
                        );
                    }
                    cp.copy(
                        "workspace_agent_log_sources",
                        "agent_id",
                        agent,
                        &[("agent_id", text(&new_agent))],
                    );
                    // Collected at spread moments, so the simulated agents'
                    // metadata beat writes a steady share every second.
                    let spread = ((i * PER_USER + j) % 10) as i64 * 1_000_000;
                    cp.copy(
                        "workspace_agent_metadata",
                        "agent_id",
                        agent,
                        &[
                            ("agent_id", text(&new_agent)),
                            ("collected_at", int(now - spread)),
                        ],
                    );
                }
            }
        }
    }
    drop(cp);
    tx.commit().unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
}

// ------------------------------------------------------------ measurement

#[derive(Default)]
struct Report {
    cold_start_ms: f64,
    rss_first_list: f64,
    rss_idle: f64,
    latencies: Vec<(String, String, f64, f64)>,
    throughput: Vec<(String, f64)>,
    watchers: Vec<WatchResult>,
    ticks: Vec<(usize, usize, f64)>,
    /// The ticks that acted on each round of `DUE_ROUNDS`.
    due_ticks: Vec<(usize, usize, f64)>,
    creates: Option<(usize, f64)>,
    /// The same paths on the 10,000 and this database, taken in turn.
    scale: Vec<ScaleRow>,
}

/// One path's p50 and p99 on the 10,000 database and on the larger one.
struct ScaleRow {
    name: String,
    small: (f64, f64),
    big: (f64, f64),
}

struct WatchResult {
    watchers: usize,
    delivered: usize,
    expected: usize,
    p50: f64,
    p99: f64,
    max: f64,
    connect_secs: f64,
    rss_before: f64,
    rss_connected: f64,
    rss_peak: f64,
    rss_after_rounds: f64,
    rss_left: f64,
}

/// Latency at two sizes taken in turn: both servers run (each pinned to
/// core 0, as always; the one not asked is idle), and every round asks
/// each path once of each server, alternating which goes first. A burst of
/// the host's noise then falls on both sizes and on every path alike, so
/// the p99 ratio compares the sizes, not two moments of the host.
fn scale(
    small: (&Path, &Path, &Setup),
    big: (&Path, &Path, &Setup),
    users: usize,
) -> Vec<ScaleRow> {
    let (small_server, _) = Server::start(small.0, small.1, &[], Some((PAGE, &small.2.admin)));
    let (big_server, _) = Server::start(big.0, big.1, &[], Some((PAGE, &big.2.admin)));
    let (cs, cb) = (Http::new(&small_server.base), Http::new(&big_server.base));
    let (ps, pb) = (paths(&cs, small.2, 100), paths(&cb, big.2, users));
    let pairs: Vec<_> = ps.asked().into_iter().zip(pb.asked()).collect();
    assert!(pairs.iter().all(|(s, b)| s.1 == b.1));
    // Twice the rounds of the other latencies: the p99 is the 20th slowest
    // of each, which one stall of the host does not move. Each path's two
    // asks are next to each other, so in reverse the larger goes first.
    let asks: Vec<(&Http, &str, &str)> = pairs
        .iter()
        .flat_map(|(s, b)| {
            [
                (&cs, s.2.as_str(), s.3.as_str()),
                (&cb, b.2.as_str(), b.3.as_str()),
            ]
        })
        .collect();
    let measured = in_turn(&asks, 2 * samples());
    small_server.stop();
    big_server.stop();
    pairs
        .iter()
        .zip(measured.chunks(2))
        .map(|((s, _), m)| ScaleRow {
            name: s.1.clone(),
            small: m[0],
            big: m[1],
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// p50 and p99 of each of `asks` (a server's client, a path, a token),
/// taken in turn: every round asks each once, in order on even rounds and
/// in reverse on odd ones, one request at a time. The host's bursts of
/// noise (up to a few hundred milliseconds, hitting every process alike)
/// then fall on every path a little instead of on one path a lot, so a
/// p99 tells the path's cost, not whether a burst came while it was
/// measured.
fn in_turn(asks: &[(&Http, &str, &str)], rounds: usize) -> Vec<(f64, f64)> {
    let mut sink = Vec::new();
    let mut times = vec![Vec::with_capacity(rounds); asks.len()];
    for round in 0..WARMUP + rounds {
        for i in 0..asks.len() {
            let k = if round % 2 == 0 {
                i
            } else {
                asks.len() - 1 - i
            };
            let (c, path, token) = asks[k];
            let t = Instant::now();
            let status = c.get_raw(path, Some(token), &mut sink);
            let d = t.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&sink));
            if round >= WARMUP {
                times[k].push(d);
            }
        }
    }
    times
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            (percentile(&v, 0.5), percentile(&v, 0.99))
        })
        .collect()
}

/// Requests per second from `conns` keep-alive connections for `secs`.
fn throughput(base: &str, path: &str, token: Option<&str>, conns: usize, secs: u64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let total: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..conns)
            .map(|_| {
                s.spawn(|| {
                    let c = Http::new(base);
                    let mut n = 0;
                    let mut sink = Vec::new();
                    while Instant::now() < deadline {
                        assert_eq!(c.get_raw(path, token, &mut sink), 200);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total as f64 / secs as f64
}

fn measure(db: &Path, log: &Path, s: &Setup, users: usize, report: &mut Report) {
    let (server, cold) = Server::start(db, log, &[], Some((PAGE, &s.admin)));
    report.cold_start_ms = cold.as_secs_f64() * 1000.0;
    report.rss_first_list = server.rss().0;
    let c = Http::new(&server.base);
    let p = paths(&c, s, users);
    let (member, by_id) = (&p.member, &p.by_id);
    if part("lists") {
        let named = p.asked();
        let asks: Vec<(&Http, &str, &str)> = named
            .iter()
            .map(|n| (&c, n.2.as_str(), n.3.as_str()))
            .collect();
        for (n, (p50, p99)) in named.iter().zip(in_turn(&asks, samples())) {
            report.latencies.push((n.0.into(), n.1.clone(), p50, p99));
        }
        if let Some((name, path, token)) = &p.deep {
            let (p50, p99) = in_turn(&[(&c, path, token)], samples())[0];
            report
                .latencies
                .push(("list".into(), name.clone(), p50, p99));
        }
        std::thread::sleep(Duration::from_secs(2));
        report.rss_idle = server.rss().0;

        let health = throughput(&server.base, "/healthz", None, 4, 5);
        let list = throughput(&server.base, PAGE, Some(&s.admin), 4, 5);
        let get = throughput(&server.base, by_id, Some(member), 4, 5);
        report.throughput = vec![
            ("`GET /healthz`".into(), health),
            ("`GET /workspaces?limit=25` (owner)".into(), list),
            ("`GET /workspaces/{id}`".into(), get),
        ];
    }

    if part("watchers") {
        // The first 100 workspaces of the owner's list are watched.
        let (_, first) = c.call("GET", "/api/v2/workspaces?limit=100", Some(&s.admin), None);
        let watched: Vec<String> = first["workspaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(watched.len(), WATCHED);
        let scale = if quick() { 10 } else { 1 };
        // `WARREN_BENCH_WATCHERS=2400,2400,…` runs other rounds of watchers
        // (whether memory comes back between them, say).
        let counts: Vec<usize> = std::env::var("WARREN_BENCH_WATCHERS")
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_else(|_| vec![2_400 / scale, 10_000 / scale]);
        for (k, n) in counts.into_iter().enumerate() {
            let base_ttl = 100 * (k as i64 + 1);
            let r = watchers(&server, &c, &s.admin, &watched, n, base_ttl);
            report.watchers.push(r);
        }
    }
    server.stop();
}

/// What the list part measures on one seeded database.
struct Paths {
    /// A member's token (user42).
    member: String,
    /// (name, path, token) of every list query both sizes have.
    list: Vec<(String, String, String)>,
    /// `offset=50000`, at 100,000 only: measured on its own, since the
    /// 50,000 index entries it skips would empty the connection's page
    /// cache between the other paths taken in turn, which at 10,000
    /// nothing does.
    deep: Option<(String, String, String)>,
    /// The member's first workspace by id and by owner/name.
    by_id: String,
    by_name: String,
}

impl Paths {
    /// Every path the latencies are taken of, as (kind, name, path,
    /// token): the lists, the two gets and `/healthz`, the floor (what one
    /// request costs the host, the server's HTTP layer and the client,
    /// with no application work).
    fn asked(&self) -> Vec<(&'static str, String, String, String)> {
        let mut all: Vec<_> = self
            .list
            .iter()
            .map(|(name, path, token)| ("list", name.clone(), path.clone(), token.clone()))
            .collect();
        let gets = [
            ("`GET /workspaces/{id}`", self.by_id.clone()),
            ("`GET /users/{user}/workspace/{name}`", self.by_name.clone()),
            ("`GET /healthz` (the floor)", "/healthz".to_string()),
        ];
        for (name, path) in gets {
            all.push(("get", name.into(), path, self.member.clone()));
        }
        all
    }
}

/// The list queries: the issue's, and one per `q` key; checks the seeding
/// on the way (every user has 100 workspaces, every query finds some).
fn paths(c: &Http, s: &Setup, users: usize) -> Paths {
    let member = login(c, "user42@example.com");
    let (_, all) = c.call("GET", "/api/v2/workspaces?limit=1", Some(&s.admin), None);
    assert_eq!(
        all["count"].as_u64().unwrap() as usize,
        users * PER_USER + 1
    );
    let (_, mine) = c.call(
        "GET",
        "/api/v2/workspaces?q=owner:me&limit=25",
        Some(&member),
        None,
    );
    assert_eq!(mine["count"], PER_USER);
    assert_eq!(mine["workspaces"].as_array().unwrap().len(), 25);
    let one = mine["workspaces"][0]["id"].as_str().unwrap().to_string();
    let one_name = mine["workspaces"][0]["name"].as_str().unwrap().to_string();
    let hour = 3_600_000_000i64;
    let at = |us: i64| {
        chrono::DateTime::from_timestamp_micros(us)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let before = at(now_us() - 90 * hour);
    let after = at(now_us() - 10 * hour);
    let q = |query: &str| format!("/api/v2/workspaces?q={}&limit=25", encode(query));
    // (name, path, token); most are one `q` key asked by the owner.
    let entry = |name: &str, path: String, token: &str| (name.to_string(), path, token.to_string());
    let owner_q = |query: &str| entry(&format!("`q={query}`"), q(query), &s.admin);
    let mut list = vec![
        entry("`q=owner:me` (member, 100 own)", q("owner:me"), &member),
        entry("unfiltered page", PAGE.into(), &s.admin),
        owner_q("status:running"),
        owner_q("name:w5 template:perf"),
        entry(
            "`offset=5000`",
            "/api/v2/workspaces?limit=25&offset=5000".into(),
            &s.admin,
        ),
    ];
    list.extend(
        [
            "status:stopped",
            "status:failed",
            "has-agent:connected",
            "healthy:true",
            "outdated:true",
            "dormant:true",
        ]
        .map(owner_q),
    );
    list.extend([
        entry(
            "`q=last_used_before:…` (90 h ago)",
            q(&format!("last_used_before:\"{before}\"")),
            &s.admin,
        ),
        entry(
            "`q=last_used_after:…` (10 h ago)",
            q(&format!("last_used_after:\"{after}\"")),
            &s.admin,
        ),
        owner_q("template:docker"),
        owner_q("owner:user42"),
        owner_q("name:w5"),
        entry("`q=user42/w7` (free text)", q("user42/w7"), &s.admin),
    ]);
    list.extend(
        [
            "param:region=us",
            "param:region",
            "shared:true",
            "shared_with_user:user42",
            "organization:coder",
        ]
        .map(owner_q),
    );
    list.push(entry("`q=id:…`", q(&format!("id:{one}")), &s.admin));
    list.extend(["has-ai-task:false", "has_external_agent:false"].map(owner_q));
    list.push(entry(
        "`q=status:running` (member)",
        q("status:running"),
        &member,
    ));
    let deep = (users >= 1000).then(|| {
        (
            "`offset=50000`".to_string(),
            "/api/v2/workspaces?limit=25&offset=50000".to_string(),
            s.admin.clone(),
        )
    });
    // Every query must find something, or it measures nothing.
    for (name, path, token) in list.iter().chain(&deep) {
        let (st, v) = c.call("GET", path, Some(token), None);
        assert_eq!(st, 200, "{name}: {v}");
        assert!(
            !v["workspaces"].as_array().unwrap().is_empty(),
            "{name} matched nothing"
        );
    }
    Paths {
        member,
        list,
        deep,
        by_id: format!("/api/v2/workspaces/{one}"),
        by_name: format!("/api/v2/users/user42/workspace/{one_name}"),
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `n` WebSocket watchers spread evenly over `watched`; ROUNDS rounds, each
/// changing the TTL of every watched workspace once (to `base_ttl + round`
/// minutes); the latency of each watcher's copy from the sending of its
/// change.
fn watchers(
    server: &Server,
    c: &Http,
    token: &str,
    watched: &[String],
    n: usize,
    base_ttl: i64,
) -> WatchResult {
    let rss_before = server.rss().0;
    let ws_base = server.base.replace("http://", "ws://");
    let (tx, rx) = std::sync::mpsc::channel::<(usize, i64, Instant)>();
    let ready = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let connect_start = Instant::now();
    let client = {
        let (ready, failed, stop) = (ready.clone(), failed.clone(), stop.clone());
        let urls: Vec<String> = watched
            .iter()
            .map(|id| format!("{ws_base}/api/v2/workspaces/{id}/watch-ws"))
            .collect();
        let token = token.to_string();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let gate = Arc::new(tokio::sync::Semaphore::new(200));
                let mut tasks = Vec::new();
                for i in 0..n {
                    let k = i % urls.len();
                    let url = urls[k].clone();
                    let (token, tx, ready, failed, gate) = (
                        token.clone(),
                        tx.clone(),
                        ready.clone(),
                        failed.clone(),
                        gate.clone(),
                    );
                    tasks.push(tokio::spawn(async move {
                        watch_one(k, &url, &token, tx, &ready, &failed, &gate).await;
                    }));
                }
                stop.notified().await;
                for t in tasks {
                    t.abort();
                }
            });
        })
    };
    while ready.load(Ordering::SeqCst) + failed.load(Ordering::SeqCst) < n {
        assert!(
            connect_start.elapsed() < Duration::from_secs(300),
            "watchers did not connect"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let connect_secs = connect_start.elapsed().as_secs_f64();
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "some watchers failed to connect"
    );
    std::thread::sleep(Duration::from_millis(500));
    let rss_connected = server.rss().0;
    let per_ws = n / watched.len();
    let mut all = Vec::with_capacity(n * ROUNDS);
    let mut delivered = 0;
    for round in 1..=ROUNDS as i64 {
        let ttl = (base_ttl + round) * 60_000;
        let mut sent: Vec<Instant> = Vec::with_capacity(watched.len());
        for id in watched {
            sent.push(Instant::now());
            let (st, v) = c.call(
                "PUT",
                &format!("/api/v2/workspaces/{id}/ttl"),
                Some(token),
                Some(json!({"ttl_ms": ttl})),
            );
            assert_eq!(st, 204, "{v}");
        }
        let want = per_ws * watched.len();
        let mut got = 0;
        let deadline = Instant::now() + Duration::from_secs(30);
        while got < want {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((k, seen_ttl, at)) if seen_ttl == ttl => {
                    got += 1;
                    all.push((at - sent[k]).as_secs_f64() * 1000.0);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        delivered += got;
    }
    let rss_after_rounds = server.rss().0;
    stop.notify_one();
    client.join().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let (rss_left, rss_peak) = server.rss();
    all.sort_by(f64::total_cmp);
    WatchResult {
        watchers: n,
        delivered,
        expected: per_ws * watched.len() * ROUNDS,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        max: all.last().copied().unwrap_or(f64::NAN),
        connect_secs,
        rss_before,
        rss_connected,
        rss_peak,
        rss_after_rounds,
        rss_left,
    }
}

/// One watcher: connects, waits for the initial state, then reports each
/// new TTL it sees with the moment it arrived.
async fn watch_one(
    k: usize,
    url: &str,
    token: &str,
    tx: std::sync::mpsc::Sender<(usize, i64, Instant)>,
    ready: &AtomicUsize,
    failed: &AtomicUsize,
    gate: &tokio::sync::Semaphore,
) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;
    let permit = gate.acquire().await.unwrap();
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Coder-Session-Token", token.parse().unwrap());
    let mut ws = match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            eprintln!("watcher: {e}");
            failed.fetch_add(1, Ordering::SeqCst);
            return;
        }
    };
    let mut last = None;
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            if let Some(ttl) = ttl_of(&t) {
                last = Some(ttl);
                break;
            }
        }
    }
    drop(permit);
    if last.is_none() {
        failed.fetch_add(1, Ordering::SeqCst);
        return;
    }
    ready.fetch_add(1, Ordering::SeqCst);
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            let at = Instant::now();
            if let Some(ttl) = ttl_of(&t) {
                if Some(ttl) != last {
                    last = Some(ttl);
                    let _ = tx.send((k, ttl, at));
                }
            }
        }
    }
}

/// The workspace's `ttl_ms` in a `data` event, found without parsing the
/// whole body (the client must leave its core to reading sockets).
fn ttl_of(text: &str) -> Option<i64> {
    if !text.starts_with(r#"{"type":"data""#) {
        return None;
    }
    let at = text.find(r#""ttl_ms":"#)? + 9;
    let digits: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Workspaces made due in each lifecycle round on the running server.
const DUE_ROUNDS: [usize; 4] = [50, 50, 50, 200];
/// When the first round falls due after the server starts (its first
/// ticks come before), and the time between rounds (several ticks).
const FIRST_DUE: Duration = Duration::from_secs(6);
const BETWEEN_ROUNDS: Duration = Duration::from_secs(3);

/// Gives each round of `DUE_ROUNDS` its own running workspaces, whose latest
/// builds' deadline falls `FIRST_DUE` from now, `BETWEEN_ROUNDS` apart:
/// deadlines then pass on the running server by time alone, as they do in
/// use. (Written before the server starts: a write from another process
/// would empty the server's page caches, which nothing but warren ever
/// writes in use.) Returns when the first round falls due.
fn schedule_due(db: &Path) -> Instant {
    let conn = Connection::open(db).unwrap();
    let due_at = Instant::now() + FIRST_DUE;
    let first = now_us() + FIRST_DUE.as_micros() as i64;
    let mut taken = 0;
    for (k, n) in DUE_ROUNDS.iter().enumerate() {
        let due = conn
            .execute(
                "UPDATE workspace_builds SET deadline = ?1 WHERE id IN (
                   SELECT latest_build_id FROM workspaces WHERE running = 1 AND deleted = 0 AND dormant_at IS NULL
                   ORDER BY id LIMIT ?2 OFFSET ?3)",
                params![
                    first + k as i64 * BETWEEN_ROUNDS.as_micros() as i64,
                    *n as i64,
                    taken as i64
                ],
            )
            .unwrap();
        assert_eq!(due, *n);
        taken += n;
    }
    due_at
}

/// The lifecycle ticks logged from `from` on that `keep` keeps, once there
/// are `count` (waiting at most `within`).
fn logged_ticks(
    log: &Path,
    from: u64,
    count: usize,
    within: Duration,
    keep: impl Fn(&(usize, usize, f64)) -> bool,
) -> Vec<(usize, usize, f64)> {
    let deadline = Instant::now() + within;
    loop {
        let ticks: Vec<_> = read_ticks(log, from).into_iter().filter(&keep).collect();
        if ticks.len() >= count {
            return ticks;
        }
        assert!(Instant::now() < deadline, "too few lifecycle ticks logged");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn lifecycle_and_creates(db: &Path, log: &Path, s: &Setup, report: &mut Report) {
    let log_start = std::fs::metadata(log).map(|m| m.len()).unwrap_or(0);
    let first_due = part("lifecycle").then(|| schedule_due(db));
    let (server, _) = Server::start(db, log, &["--autobuild-poll-interval", "1s"], None);
    if let Some(first_due) = first_due {
        // The first ticks, while the server starts (they act on whatever
        // the seeds left due).
        report.ticks = logged_ticks(log, log_start, 3, Duration::from_secs(30), |_| true);
        // Then deadlines pass on the running server, between two of its
        // ticks: three rounds of 50 workspaces (the first one also fills
        // the writer's page cache, cold after the start), then four times
        // as many.
        std::thread::sleep(
            first_due.saturating_duration_since(Instant::now() + Duration::from_millis(500)),
        );
        let from = std::fs::metadata(log).map(|m| m.len()).unwrap_or(0);
        let rounds = DUE_ROUNDS.len();
        let within = BETWEEN_ROUNDS * rounds as u32 + Duration::from_secs(30);
        report.due_ticks = logged_ticks(log, from, rounds, within, |t| t.1 > 0);
    }

    if part("creates") {
        // Creates: 8 clients, each its own keep-alive connection.
        const CLIENTS: usize = 8;
        const EACH: usize = 200;
        let started = Instant::now();
        std::thread::scope(|sc| {
            for t in 0..CLIENTS {
                let (base, admin, template) = (&server.base, &s.admin, &s.docker);
                sc.spawn(move || {
                    let c = Http::new(base);
                    for k in 0..EACH {
                        let (st, v) = c.call(
                            "POST",
                            "/api/v2/users/me/workspaces",
                            Some(admin),
                            Some(json!({"template_id": template, "name": format!("c-{t}-{k}")})),
                        );
                        assert_eq!(st, 201, "{v}");
                    }
                });
            }
        });
        let secs = started.elapsed().as_secs_f64();
        report.creates = Some((CLIENTS * EACH, CLIENTS as f64 * EACH as f64 / secs));
    }
    server.stop();
}

/// (candidates, actions, ms) of each tick logged since `from`.
fn read_ticks(log: &Path, from: u64) -> Vec<(usize, usize, f64)> {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text[(from as usize).min(text.len())..]).into_owned();
    text.lines()
        .filter_map(|l| {
            let rest = &l[l.find("lifecycle tick: ")? + 16..];
            let nums: Vec<f64> = rest
                .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .filter(|s| !s.is_empty())
                .filter_map(|s| s.parse().ok())
                .collect();
            (nums.len() >= 3).then(|| (nums[0] as usize, nums[1] as usize, nums[2]))
        })
        .collect()
}

impl Report {
    fn print(&self, workspaces: usize, users: usize) {
        let small = workspaces <= 10_000;
        println!();
        println!("### {workspaces} workspaces, {users} users");
        println!();
        println!(
            "{} samples per path, one keep-alive connection, one request at a time, the paths taken in turn",
            samples()
        );
        println!();
        println!("| path (`GET /api/v2/workspaces?…&limit=25` unless named) | p50 | p99 | target (10k) |");
        println!("|---|---|---|---|");
        let by_id = self
            .latencies
            .iter()
            .find(|l| l.1.contains("{id}"))
            .map(|l| l.3)
            .unwrap_or(f64::NAN);
        for (kind, name, p50, p99) in &self.latencies {
            let target = if kind == "get" {
                if name.contains("{name}") {
                    let ok = *p99 <= 2.0 * by_id;
                    format!("≤ 2× get by id ({:.2} ms): {}", 2.0 * by_id, yes(ok))
                } else {
                    String::new()
                }
            } else {
                let limit = if name.contains("owner:me") || name == "unfiltered page" {
                    3.0
                } else {
                    5.0
                };
                format!("≤ {limit} ms: {}", yes(*p99 <= limit))
            };
            println!("| {name} | {p50:.2} ms | {p99:.2} ms | {target} |");
        }
        println!();
        println!("| throughput (4 connections, 5 s) | req/s | share of `/healthz` |");
        println!("|---|---|---|");
        let health = self.throughput.first().map(|t| t.1).unwrap_or(f64::NAN);
        for (name, rps) in &self.throughput {
            println!("| {name} | {rps:.0} | {:.1} % |", rps / health * 100.0);
        }
        if let Some((_, list)) = self.throughput.get(1) {
            println!(
                "\nlist page ≥ 5 % of /healthz: {}",
                yes(list / health >= 0.05)
            );
        }
        println!();
        println!("| WebSocket watchers over {WATCHED} workspaces, {ROUNDS} rounds of {WATCHED} changes | delivered | p50 | p99 | max | connect | RSS before → connected → after rounds (peak) → left |");
        println!("|---|---|---|---|---|---|---|");
        for w in &self.watchers {
            println!(
                "| {} | {}/{} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} s | {:.0} → {:.0} → {:.0} ({:.0}) → {:.0} MiB |",
                w.watchers, w.delivered, w.expected, w.p50, w.p99, w.max, w.connect_secs,
                w.rss_before, w.rss_connected, w.rss_after_rounds, w.rss_peak, w.rss_left
            );
        }
        for w in &self.watchers {
            let (limit, growth) = if w.watchers < 10_000 {
                (100.0, None)
            } else {
                (500.0, Some(100.0))
            };
            let grew = w.rss_after_rounds.max(w.rss_connected) - w.rss_before;
            print!(
                "{} watchers: all delivered {}; p99 ≤ {limit} ms {}",
                w.watchers,
                yes(w.delivered == w.expected),
                yes(w.p99 <= limit)
            );
            match growth {
                Some(g) => println!("; RSS growth {grew:.0} MiB ≤ {g} MiB {}", yes(grew <= g)),
                None => println!("; RSS growth {grew:.0} MiB"),
            }
        }
        println!();
        println!(
            "cold start to the first answered list: {:.0} ms (≤ 200 ms {})",
            self.cold_start_ms,
            yes(self.cold_start_ms <= 200.0)
        );
        println!(
            "RSS after the first list: {:.0} MiB; idle after serving every list above: {:.0} MiB (≤ 100 MiB {})",
            self.rss_first_list,
            self.rss_idle,
            yes(self.rss_idle <= 100.0)
        );
        println!("first lifecycle ticks after the start (candidates, actions, duration):");
        for (c, a, ms) in &self.ticks {
            println!("  {c} candidates, {a} actions, {ms:.2} ms");
        }
        for (i, (c, _, ms)) in self.due_ticks.iter().enumerate() {
            // Rounds 2 and 3 are the target's: a running server's ticks.
            let target = match i {
                0 => " (the writer's page cache still cold after the start)".to_string(),
                1 | 2 => format!(" (≤ 20 ms {})", yes(*ms <= 20.0)),
                _ => String::new(),
            };
            println!(
                "tick with {c} due, on the running server: {ms:.2} ms{target}; {:.3} ms per due workspace",
                ms / *c as f64
            );
        }
        if let Some((n, rate)) = self.creates {
            println!(
                "workspace creates, 8 concurrent clients, {n} in all: {rate:.0}/s (≥ 1,000/s {})",
                yes(rate >= 1000.0)
            );
        }
        if !small {
            println!("(targets shown above are the 10,000-workspace ones)");
        }
        if !self.scale.is_empty() {
            println!();
            println!("### {workspaces} against 10,000 workspaces, taken in turn");
            println!();
            println!(
                "{} rounds; each asks every path once of each server (both pinned to core 0), alternating which goes first",
                2 * samples()
            );
            println!();
            println!("| path | 10,000 p50 / p99 | {workspaces} p50 / p99 | p99 ratio | p99 within 1.5× |");
            println!("|---|---|---|---|---|");
            for r in &self.scale {
                let ratio = r.big.1 / r.small.1;
                println!(
                    "| {} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {ratio:.2} | {} |",
                    r.name,
                    r.small.0,
                    r.small.1,
                    r.big.0,
                    r.big.1,
                    yes(ratio <= 1.5)
                );
            }
            let over = self
                .scale
                .iter()
                .filter(|r| r.big.1 > 1.5 * r.small.1)
                .count();
            println!(
                "\nevery p99 at {workspaces} within 1.5× of its 10,000 figure: {} ({over} of {} over)",
                yes(over == 0),
                self.scale.len()
            );
        }
    }
}

fn yes(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}
