//! SQLite and PostgreSQL side by side: `tests/bench-engines` (a throwaway
//! PostgreSQL cluster around `cargo bench --bench engines`).
//!
//! Seeds 10,001 workspaces over 100 users into a SQLite file (one real
//! workspace built through the API, cloned row by row in SQL), copies it into
//! PostgreSQL with `warren migrate`, then runs the release `warren` binary on
//! each engine — one process on the SQLite file, two replicas on the
//! PostgreSQL database — and measures over HTTP on loopback:
//!
//! - `GET /workspaces?q=owner:me&limit=25` (a page of 25 of one user's 100)
//!   p50/p99, sequential requests to one replica;
//! - workspace creates per second: 8 clients creating 400 workspaces (each
//!   queues a build the replicas' provisioners run meanwhile), on SQLite's
//!   one process, on one PostgreSQL replica, and spread over both;
//! - change → watcher latency p50/p99: a TTL change sent to one replica until
//!   an SSE watcher of the workspace reads the new state — on PostgreSQL the
//!   watcher is on the other replica (NOTIFY between them), on SQLite in the
//!   same process (there is no other).
//!
//! Everything shares the machine's cores: the client threads, the replicas
//! and PostgreSQL itself.

// Benchmark code may panic on what it did not expect: that is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use serde_json::{json, Value};
use uuid::Uuid;

const USERS: usize = 100;
const PER_USER: usize = 100;
const PASSWORD: &str = "SomeSecurePassword!";
const LIST: &str = "/api/v2/workspaces?q=owner:me&limit=25";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn call(
    agent: &ureq::Agent,
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut b = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    if let Some(t) = token {
        b = b.header("Coder-Session-Token", t);
    }
    let mut resp = match body {
        Some(v) => agent.run(
            b.header("Content-Type", "application/json")
                .body(v.to_string())
                .unwrap(),
        ),
        None => agent.run(b.body(()).unwrap()),
    }
    .expect("request");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn fixture_tar() -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docker");
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

fn wait(base: &str, path: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let a = agent();
    let start = Instant::now();
    loop {
        let (s, v) = call(&a, base, "GET", path, Some(token), None);
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

/// Copies every row of the seed workspace's latest build for `owner`.
fn clone_workspace(tx: &Connection, src: &Value, owner: &str, org: &str, name: &str) {
    let ws = Uuid::new_v4().to_string();
    let job = Uuid::new_v4().to_string();
    let build = Uuid::new_v4().to_string();
    let src_ws = src["id"].as_str().unwrap();
    let src_build = src["latest_build"]["id"].as_str().unwrap();
    let src_job = src["latest_build"]["job"]["id"].as_str().unwrap();
    tx.execute(
        "INSERT INTO workspaces (id, owner_id, organization_id, template_id, name, ttl_ms, last_used_at, automatic_updates, created_at, updated_at, owner_sort, running)
         SELECT ?1, ?2, ?3, template_id, ?4, ttl_ms, last_used_at, automatic_updates, created_at, updated_at,
                (SELECT lower(username) FROM users WHERE id = ?2), running FROM workspaces WHERE id = ?5",
        params![ws, owner, org, name, src_ws],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO provisioner_jobs (id, job_type, provisioner, organization_id, initiator_id, file_id, input, tags, created_at, updated_at, started_at, completed_at, worker_id, worker_name)
         SELECT ?1, job_type, provisioner, organization_id, ?2, file_id, json_object('workspace_build_id', ?3), tags, created_at, updated_at, started_at, completed_at, worker_id, worker_name
         FROM provisioner_jobs WHERE id = ?4",
        params![job, owner, build, src_job],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO workspace_builds (id, workspace_id, template_version_id, build_number, transition, initiator_id, reason, job_id, deadline, daily_cost, created_at, updated_at)
         SELECT ?1, ?2, template_version_id, 1, transition, ?3, reason, ?4, deadline, daily_cost, created_at, updated_at FROM workspace_builds WHERE id = ?5",
        params![build, ws, owner, job, src_build],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO workspace_build_parameters (workspace_build_id, position, name, value)
         SELECT ?1, position, name, value FROM workspace_build_parameters WHERE workspace_build_id = ?2",
        params![build, src_build],
    )
    .unwrap();
    tx.execute(
        "UPDATE workspaces SET latest_build_id = ?2 WHERE id = ?1",
        params![ws, build],
    )
    .unwrap();
    for r in src["latest_build"]["resources"].as_array().unwrap() {
        let res = Uuid::new_v4().to_string();
        tx.execute(
            "INSERT INTO workspace_resources (id, job_id, transition, type, name, hide, icon, daily_cost, metadata, created_at)
             SELECT ?1, ?2, transition, type, name, hide, icon, daily_cost, metadata, created_at FROM workspace_resources WHERE id = ?3",
            params![res, job, r["id"].as_str().unwrap()],
        )
        .unwrap();
        for a in r["agents"].as_array().into_iter().flatten() {
            let agent = Uuid::new_v4().to_string();
            tx.execute(
                "INSERT INTO workspace_agents (id, resource_id, name, auth_token_hash, architecture, operating_system, directory,
                    environment_variables, connection_timeout_seconds, display_apps, metadata, lifecycle_state, started_at, ready_at,
                    first_connected_at, last_connected_at, simulated, created_at, updated_at)
                 SELECT ?1, ?2, name, randomblob(32), architecture, operating_system, directory, environment_variables,
                    connection_timeout_seconds, display_apps, metadata, lifecycle_state, started_at, ready_at, first_connected_at,
                    last_connected_at, simulated, created_at, updated_at FROM workspace_agents WHERE id = ?3",
                params![agent, res, a["id"].as_str().unwrap()],
            )
            .unwrap();
            for table in ["workspace_apps", "workspace_agent_scripts"] {
                let cols = if table == "workspace_apps" {
                    "slug, display_name, url, icon, sharing_level, healthcheck_url, health, external, open_in, display_order, created_at"
                } else {
                    "log_source_id, script, run_on_start, display_name, display_order, created_at"
                };
                tx.execute(
                    &format!(
                        "INSERT INTO {table} (id, agent_id, {cols})
                         SELECT lower(hex(randomblob(16))), ?1, {cols}
                         FROM {table} WHERE agent_id = ?2"
                    ),
                    params![agent, a["id"].as_str().unwrap()],
                )
                .unwrap();
            }
        }
    }
}

/// Seeds the SQLite file at `path`: admin, USERS users of PER_USER
/// workspaces each. Returns the default organization's id.
fn seed(path: &std::path::Path) -> String {
    let mut config = warren::Config::defaults();
    config.address = "127.0.0.1:0".into();
    config.db = path.to_path_buf();
    config.provisioner_delay = Duration::ZERO;
    let server = warren::start(config).expect("server");
    let base = server.url("");
    let a = agent();
    let (_, first) = call(
        &a,
        &base,
        "POST",
        "/api/v2/users/first",
        None,
        Some(json!({"email": "admin@example.com", "username": "admin", "password": PASSWORD})),
    );
    let org = first["organization_id"].as_str().unwrap().to_string();
    let admin = login(&base, "admin@example.com");
    let req = ureq::http::Request::builder()
        .method("POST")
        .uri(format!("{base}/api/v2/files"))
        .header("Coder-Session-Token", &admin)
        .header("Content-Type", "application/x-tar")
        .body(fixture_tar())
        .unwrap();
    let file: Value =
        serde_json::from_str(&a.run(req).unwrap().body_mut().read_to_string().unwrap()).unwrap();
    let (_, v) = call(
        &a,
        &base,
        "POST",
        &format!("/api/v2/organizations/{org}/templateversions"),
        Some(&admin),
        Some(
            json!({"storage_method": "file", "provisioner": "terraform", "file_id": file["hash"]}),
        ),
    );
    let vid = v["id"].as_str().unwrap().to_string();
    wait(
        &base,
        &format!("/api/v2/templateversions/{vid}"),
        &admin,
        |v| v["job"]["status"] == "succeeded",
    );
    let (_, t) = call(
        &a,
        &base,
        "POST",
        &format!("/api/v2/organizations/{org}/templates"),
        Some(&admin),
        Some(json!({"name": "docker", "template_version_id": vid})),
    );
    let (_, w) = call(
        &a,
        &base,
        "POST",
        "/api/v2/users/me/workspaces",
        Some(&admin),
        Some(json!({"template_id": t["id"], "name": "seed", "ttl_ms": 3_600_000})),
    );
    let seed = wait(
        &base,
        &format!("/api/v2/workspaces/{}", w["id"].as_str().unwrap()),
        &admin,
        |w| w["latest_build"]["resources"][1]["agents"][0]["lifecycle_state"] == "ready",
    );
    let mut users = Vec::new();
    for i in 0..USERS {
        let (s, u) = call(
            &a,
            &base,
            "POST",
            "/api/v2/users",
            Some(&admin),
            Some(
                json!({"email": format!("user{i}@example.com"), "username": format!("user{i}"), "password": PASSWORD,
                        "organization_ids": [org], "user_status": "active"}),
            ),
        );
        assert_eq!(s, 201, "{u}");
        users.push(u["id"].as_str().unwrap().to_string());
    }
    server.stop();
    let mut conn = Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    for (i, u) in users.iter().enumerate() {
        for j in 0..PER_USER {
            clone_workspace(&tx, &seed, u, &org, &format!("ws-{i}-{j}"));
        }
    }
    tx.commit().unwrap();
    t["id"].as_str().unwrap().to_string()
}

fn login(base: &str, email: &str) -> String {
    let (s, v) = call(
        &agent(),
        base,
        "POST",
        "/api/v2/users/login",
        None,
        Some(json!({"email": email, "password": PASSWORD})),
    );
    assert_eq!(s, 201, "{v}");
    v["session_token"].as_str().unwrap().to_string()
}

/// A release `warren server` process.
struct Replica {
    child: Child,
    base: String,
}

impl Replica {
    fn start(db: &str) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warren"))
            .args(["server", "--address", "127.0.0.1:0", "--db", db])
            .args(["--provisioner-delay", "0s"])
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("warren starts");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let base = loop {
            let mut line = String::new();
            assert!(out.read_line(&mut line).unwrap() > 0, "warren exited");
            if let Some(rest) = line.split(" listening on ").nth(1) {
                break rest.trim().to_string();
            }
        };
        // Keep draining what it prints.
        std::thread::spawn(move || for _ in out.lines() {});
        Replica { child, base }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// p50 and p99 in milliseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |p: f64| ms(samples[((samples.len() as f64 - 1.0) * p).round() as usize]);
    (at(0.5), at(0.99))
}

fn list_latency(base: &str, token: &str) -> (f64, f64) {
    let a = agent();
    for _ in 0..30 {
        call(&a, base, "GET", LIST, Some(token), None);
    }
    let samples = (0..500)
        .map(|_| {
            let t = Instant::now();
            let (s, v) = call(&a, base, "GET", LIST, Some(token), None);
            assert_eq!(s, 200);
            assert_eq!(v["workspaces"].as_array().map(Vec::len), Some(25));
            t.elapsed()
        })
        .collect();
    percentiles(samples)
}

/// Workspaces created per second by 8 clients, 50 each, client `i` using
/// `bases[i % len]`.
fn creates(bases: &[&str], token: &str, template: &str, tag: &str) -> f64 {
    const CLIENTS: usize = 8;
    const EACH: usize = 50;
    let started = Instant::now();
    std::thread::scope(|s| {
        for c in 0..CLIENTS {
            let base = bases[c % bases.len()].to_string();
            s.spawn(move || {
                let a = agent();
                for i in 0..EACH {
                    let (st, v) = call(
                        &a,
                        &base,
                        "POST",
                        "/api/v2/users/me/workspaces",
                        Some(token),
                        Some(json!({"template_id": template, "name": format!("{tag}-{c}-{i}")})),
                    );
                    assert_eq!(st, 201, "{v}");
                }
            });
        }
    });
    (CLIENTS * EACH) as f64 / started.elapsed().as_secs_f64()
}

/// A minimal SSE reader of `data` events.
struct Sse {
    reader: BufReader<TcpStream>,
    buf: String,
}

impl Sse {
    fn open(base: &str, path: &str, token: &str) -> Sse {
        let addr = base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCoder-Session-Token: {token}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream);
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
        }
        Sse {
            reader,
            buf: String::new(),
        }
    }

    /// The next `data` event's JSON.
    fn next_data(&mut self) -> Value {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                // Blank lines (the server's liveness probes) may lead.
                let frame = frame.trim_start_matches('\n');
                if frame.starts_with("event: data") {
                    let data = frame
                        .lines()
                        .find_map(|l| l.strip_prefix("data: "))
                        .unwrap();
                    return serde_json::from_str(data).unwrap();
                }
                continue;
            }
            let mut size = String::new();
            self.reader
                .read_line(&mut size)
                .expect("the stream goes on");
            let n = usize::from_str_radix(size.trim(), 16).expect("a chunk");
            let mut chunk = vec![0; n + 2];
            self.reader.read_exact(&mut chunk).unwrap();
            self.buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    }
}

/// A TTL change sent to `writer` until a watcher on `watcher` reads it.
fn change_latency(writer: &str, watcher: &str, token: &str, workspace: &str) -> (f64, f64) {
    let path = format!("/api/v2/workspaces/{workspace}");
    let mut sse = Sse::open(watcher, &format!("{path}/watch"), token);
    sse.next_data();
    let a = agent();
    let samples = (1..=200i64)
        .map(|round| {
            let ttl = (100 + round) * 60_000;
            let sent = Instant::now();
            let (s, _) = call(
                &a,
                writer,
                "PUT",
                &format!("{path}/ttl"),
                Some(token),
                Some(json!({"ttl_ms": ttl})),
            );
            assert_eq!(s, 204);
            while sse.next_data()["ttl_ms"] != ttl {}
            sent.elapsed()
        })
        .collect();
    percentiles(samples)
}

struct Figures {
    list: (f64, f64),
    creates: Vec<(String, f64)>,
    change: (f64, f64),
}

fn measure(bases: &[&str], template: &str) -> Figures {
    let member = login(bases[0], "user42@example.com");
    let admin = login(bases[0], "admin@example.com");
    let list = list_latency(bases[0], &member);
    let mut creates_per_s = vec![(
        "one replica".to_string(),
        creates(&bases[..1], &admin, template, "one"),
    )];
    if bases.len() > 1 {
        creates_per_s.push((
            format!("{} replicas", bases.len()),
            creates(bases, &admin, template, "spread"),
        ));
    }
    let (_, mine) = call(&agent(), bases[0], "GET", LIST, Some(&member), None);
    let workspace = mine["workspaces"][0]["id"].as_str().unwrap().to_string();
    let change = change_latency(bases[0], bases[bases.len() - 1], &member, &workspace);
    Figures {
        list,
        creates: creates_per_s,
        change,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no options.
    let admin_url = std::env::var("WARREN_TEST_POSTGRES")
        .expect("run through tests/bench-engines (it starts a PostgreSQL cluster)");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.db");
    let started = Instant::now();
    let template = seed(&file);
    println!(
        "seeded {} workspaces over {USERS} users into SQLite in {:.1} s",
        USERS * PER_USER + 1,
        started.elapsed().as_secs_f64()
    );
    let name = format!("warren_bench_{}", Uuid::new_v4().simple());
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let pg_url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let started = Instant::now();
    let tables = warren::migrate(&file, &pg_url, |_| {}).expect("migrate");
    let rows: i64 = tables.iter().map(|t| t.rows).sum();
    println!(
        "warren migrate copied and verified {rows} rows into PostgreSQL in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let settings: Vec<String> = admin
        .query(
            "SELECT name || '=' || setting FROM pg_settings
             WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers')
             ORDER BY name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();

    let sqlite = {
        let one = Replica::start(file.to_str().unwrap());
        measure(&[&one.base], &template)
    };
    let postgres = {
        let a = Replica::start(&pg_url);
        let b = Replica::start(&pg_url);
        measure(&[&a.base, &b.base], &template)
    };
    let _ = admin.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"));

    println!();
    println!(
        "PostgreSQL: {} (the cluster tests/bench-engines starts)",
        settings.join(", ")
    );
    println!("SQLite: WAL, synchronous=NORMAL (warren's settings)");
    println!(
        "{} cores shared by the clients, the replicas and PostgreSQL",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| measure | SQLite | PostgreSQL |");
    println!("|---|---|---|");
    println!(
        "| `GET /workspaces?q=owner:me&limit=25` at 10,001 workspaces, p50 / p99 | {:.2} / {:.2} ms | {:.2} / {:.2} ms |",
        sqlite.list.0, sqlite.list.1, postgres.list.0, postgres.list.1
    );
    println!(
        "| workspace creates per second, one replica (8 clients) | {:.0} | {:.0} |",
        sqlite.creates[0].1, postgres.creates[0].1
    );
    println!(
        "| workspace creates per second, {} (8 clients) | (one process only) | {:.0} |",
        postgres.creates[1].0, postgres.creates[1].1
    );
    println!(
        "| change → watcher p50 / p99 (PostgreSQL: across replicas; SQLite: same process) | {:.1} / {:.1} ms | {:.1} / {:.1} ms |",
        sqlite.change.0, sqlite.change.1, postgres.change.0, postgres.change.1
    );
}
