//! Benchmark of the hot paths: `cargo bench --bench hot_paths`.
//!
//! Seeds 10,000 workspaces over 100 users (one real workspace built through
//! the API, then cloned row by row in SQL so that every workspace has a
//! complete build, resources, agent, apps and scripts), then measures over
//! HTTP on loopback: p50/p95 of `GET /workspaces?q=owner:me` (a page of 25 of
//! one user's 100), of an unfiltered admin page of 25 over all 10,000, and of
//! `GET /workspaces/{id}`; and the throughput of `GET /workspaces/{id}`
//! against `GET /healthz` of the same server in the same run.

// Test code may panic on what it did not expect: that is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use serde_json::{json, Value};
use uuid::Uuid;

const USERS: usize = 100;
const PER_USER: usize = 100;
const PASSWORD: &str = "SomeSecurePassword!";

struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut b = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(t) = token {
            b = b.header("Coder-Session-Token", t);
        }
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

    fn upload(&self, token: &str, data: Vec<u8>) -> Value {
        let req = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{}/api/v2/files", self.base))
            .header("Coder-Session-Token", token)
            .header("Content-Type", "application/x-tar")
            .body(data)
            .unwrap();
        let mut resp = self.agent.run(req).unwrap();
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
    }
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

fn wait<F: Fn(&Value) -> bool>(c: &Client, path: &str, token: &str, done: F) -> Value {
    let start = Instant::now();
    loop {
        let (s, v) = c.call("GET", path, Some(token), None);
        if s == 200 && done(&v) {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timeout on {path}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Copies every row of the template workspace's latest build for `owner`.
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
        for a in r["agents"].as_array().unwrap() {
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
            tx.execute(
                "INSERT INTO workspace_apps (id, agent_id, slug, display_name, url, icon, sharing_level, healthcheck_url, health, external, open_in, display_order, created_at)
                 SELECT lower(hex(randomblob(16))), ?1, slug, display_name, url, icon, sharing_level, healthcheck_url, health, external, open_in, display_order, created_at
                 FROM workspace_apps WHERE agent_id = ?2",
                params![agent, a["id"].as_str().unwrap()],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO workspace_agent_scripts (id, agent_id, log_source_id, script, run_on_start, display_name, display_order, created_at)
                 SELECT lower(hex(randomblob(16))), ?1, log_source_id, script, run_on_start, display_name, display_order, created_at
                 FROM workspace_agent_scripts WHERE agent_id = ?2",
                params![agent, a["id"].as_str().unwrap()],
            )
            .unwrap();
        }
    }
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |p: f64| {
        samples[((samples.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
    };
    (at(0.5), at(0.95))
}

fn latency(c: &Client, path: &str, token: &str, n: usize) -> (f64, f64) {
    for _ in 0..20 {
        c.call("GET", path, Some(token), None);
    }
    let samples = (0..n)
        .map(|_| {
            let t = Instant::now();
            let (s, _) = c.call("GET", path, Some(token), None);
            assert_eq!(s, 200, "{path}");
            t.elapsed()
        })
        .collect();
    percentiles(samples)
}

/// Requests per second from `threads` keep-alive clients for `secs`.
fn throughput(base: &str, path: &str, token: Option<&str>, threads: usize, secs: u64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let total: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let c = Client {
                        agent: ureq::Agent::config_builder()
                            .http_status_as_error(false)
                            .build()
                            .into(),
                        base: base.to_string(),
                    };
                    let mut n = 0;
                    let mut sink = Vec::new();
                    while Instant::now() < deadline {
                        // The body is read but not parsed: the client should
                        // spend as little of the shared CPU as it can.
                        let mut b = ureq::http::Request::builder()
                            .method("GET")
                            .uri(format!("{}{path}", c.base));
                        if let Some(t) = token {
                            b = b.header("Coder-Session-Token", t);
                        }
                        let mut resp = c.agent.run(b.body(()).unwrap()).expect("request");
                        assert_eq!(resp.status().as_u16(), 200);
                        sink.clear();
                        std::io::Read::read_to_end(&mut resp.body_mut().as_reader(), &mut sink)
                            .unwrap();
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

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = warren::Config::defaults();
    config.address = "127.0.0.1:0".into();
    config.db = dir.path().join("bench.db");
    config.provisioner_delay = Duration::ZERO;
    let server = warren::start(config).expect("server");
    let base = server.url("");
    let c = Client {
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into(),
        base: base.clone(),
    };
    let started = Instant::now();
    let (_, first) = c.call(
        "POST",
        "/api/v2/users/first",
        None,
        Some(json!({"email": "admin@example.com", "username": "admin", "password": PASSWORD})),
    );
    let org = first["organization_id"].as_str().unwrap().to_string();
    let (_, login) = c.call(
        "POST",
        "/api/v2/users/login",
        None,
        Some(json!({"email": "admin@example.com", "password": PASSWORD})),
    );
    let admin = login["session_token"].as_str().unwrap().to_string();
    let file = c.upload(&admin, fixture_tar());
    let (_, v) = c.call(
        "POST",
        &format!("/api/v2/organizations/{org}/templateversions"),
        Some(&admin),
        Some(
            json!({"storage_method": "file", "provisioner": "terraform", "file_id": file["hash"]}),
        ),
    );
    let vid = v["id"].as_str().unwrap().to_string();
    wait(
        &c,
        &format!("/api/v2/templateversions/{vid}"),
        &admin,
        |v| v["job"]["status"] == "succeeded",
    );
    let (_, t) = c.call(
        "POST",
        &format!("/api/v2/organizations/{org}/templates"),
        Some(&admin),
        Some(json!({"name": "docker", "template_version_id": vid})),
    );
    let (_, w) = c.call(
        "POST",
        "/api/v2/users/me/workspaces",
        Some(&admin),
        Some(json!({"template_id": t["id"], "name": "seed", "ttl_ms": 3_600_000})),
    );
    let seed = wait(
        &c,
        &format!("/api/v2/workspaces/{}", w["id"].as_str().unwrap()),
        &admin,
        |w| w["latest_build"]["resources"][1]["agents"][0]["lifecycle_state"] == "ready",
    );
    let mut users = Vec::new();
    for i in 0..USERS {
        let (s, u) = c.call(
            "POST",
            "/api/v2/users",
            Some(&admin),
            Some(json!({"email": format!("user{i}@example.com"), "username": format!("user{i}"), "password": PASSWORD,
                        "organization_ids": [org], "user_status": "active"})),
        );
        assert_eq!(s, 201, "{u}");
        users.push(u["id"].as_str().unwrap().to_string());
    }
    {
        let mut conn = Connection::open(dir.path().join("bench.db")).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        let tx = conn.transaction().unwrap();
        for (i, u) in users.iter().enumerate() {
            for j in 0..PER_USER {
                clone_workspace(&tx, &seed, u, &org, &format!("ws-{i}-{j}"));
            }
        }
        tx.commit().unwrap();
    }
    let (_, login) = c.call(
        "POST",
        "/api/v2/users/login",
        None,
        Some(json!({"email": "user42@example.com", "password": PASSWORD})),
    );
    let member = login["session_token"].as_str().unwrap().to_string();
    let (_, all) = c.call("GET", "/api/v2/workspaces?limit=1", Some(&admin), None);
    assert_eq!(
        all["count"].as_i64().unwrap() as usize,
        USERS * PER_USER + 1
    );
    let (_, mine) = c.call(
        "GET",
        "/api/v2/workspaces?q=owner:me&limit=25",
        Some(&member),
        None,
    );
    assert_eq!(mine["count"], PER_USER);
    assert_eq!(mine["workspaces"].as_array().unwrap().len(), 25);
    println!(
        "seeded {} workspaces over {USERS} users in {:.1}s",
        USERS * PER_USER + 1,
        started.elapsed().as_secs_f64()
    );

    let one = format!(
        "/api/v2/workspaces/{}",
        mine["workspaces"][0]["id"].as_str().unwrap()
    );
    let (p50, p95) = latency(&c, "/api/v2/workspaces?q=owner:me&limit=25", &member, 300);
    println!("GET /workspaces?q=owner:me (page of 25 of 100):   p50 {p50:.2} ms  p95 {p95:.2} ms");
    let (p50, p95) = latency(&c, "/api/v2/workspaces?limit=25", &admin, 300);
    println!("GET /workspaces (admin, page of 25 of 10,001):    p50 {p50:.2} ms  p95 {p95:.2} ms");
    let (p50, p95) = latency(&c, &one, &member, 300);
    println!(
        "GET /workspaces/{{id}}:                             p50 {p50:.2} ms  p95 {p95:.2} ms"
    );
    let health = throughput(&base, "/healthz", None, 4, 5);
    let get = throughput(&base, &one, Some(&member), 4, 5);
    println!("throughput, 4 keep-alive clients, 5 s each:");
    println!("  GET /healthz          {health:.0} req/s");
    println!(
        "  GET /workspaces/{{id}}  {get:.0} req/s  ({:.0} % of /healthz)",
        get / health * 100.0
    );
    fan_out(&base, &c, &one, &member);
    server.stop();
}

/// Watch fan-out: WATCHERS WebSocket watchers on one workspace; each round
/// changes its TTL once and measures when every watcher has the new state.
fn fan_out(base: &str, c: &Client, path: &str, token: &str) {
    const WATCHERS: usize = 500;
    const ROUNDS: i64 = 10;
    let ws_url = format!("ws://{}{path}/watch-ws", base.trim_start_matches("http://"));
    let (arrived_tx, arrived_rx) = std::sync::mpsc::channel::<(i64, Instant)>();
    let ready = std::sync::Arc::new(std::sync::Barrier::new(WATCHERS + 1));
    let mut threads = Vec::new();
    for _ in 0..WATCHERS {
        let url = ws_url.clone();
        let token = token.to_string();
        let tx = arrived_tx.clone();
        let ready = ready.clone();
        threads.push(std::thread::spawn(move || {
            let mut req =
                tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
            req.headers_mut()
                .insert("Coder-Session-Token", token.parse().unwrap());
            let (mut ws, _) = tungstenite::connect(req).unwrap();
            // The ping and the initial state.
            ws.read().unwrap();
            ws.read().unwrap();
            ready.wait();
            let mut seen = 0;
            while seen < ROUNDS {
                match ws.read() {
                    Ok(tungstenite::Message::Text(t)) => {
                        let v: Value = serde_json::from_str(&t).unwrap();
                        if let Some(ttl) = v["data"]["ttl_ms"].as_i64() {
                            let round = ttl / 60_000 - 100;
                            if round > seen {
                                seen = round;
                                tx.send((round, Instant::now())).unwrap();
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }));
    }
    ready.wait();
    let mut worst = Vec::new();
    let mut all = Vec::new();
    for round in 1..=ROUNDS {
        let sent = Instant::now();
        let (s, _) = c.call(
            "PUT",
            &format!("{path}/ttl"),
            Some(token),
            Some(json!({"ttl_ms": (100 + round) * 60_000})),
        );
        assert_eq!(s, 204);
        let mut last = Duration::ZERO;
        for _ in 0..WATCHERS {
            let (r, at) = arrived_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("every watcher is told");
            assert_eq!(r, round);
            let d = at - sent;
            all.push(d);
            last = last.max(d);
        }
        worst.push(last);
    }
    for t in threads {
        t.join().unwrap();
    }
    let (p50, p95) = percentiles(all);
    let (w50, w95) = percentiles(worst);
    println!("watch fan-out, {WATCHERS} WebSocket watchers on one workspace, {ROUNDS} changes:");
    println!("  change → watcher: p50 {p50:.1} ms  p95 {p95:.1} ms;  change → last watcher: p50 {w50:.1} ms  p95 {w95:.1} ms");
}
