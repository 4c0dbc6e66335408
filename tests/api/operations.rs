//! Operating warren: online backup and restore (the binary's commands and
//! the owner's download), readiness, and diagnostics.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;
use crate::snapshot;

/// Runs the warren binary; returns (success, stdout, stderr).
fn warren(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warren"))
        .args(args)
        .env_remove("WARREN_DB")
        .output()
        .expect("warren runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The names of the owner's API tokens.
fn token_names(s: &Server, token: &str) -> Vec<String> {
    s.get("/api/v2/users/me/keys/tokens", token)
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["token_name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_backup_taken_during_200_concurrent_writes_restores_every_write_acknowledged_before_it() {
    let srv = Server::start_sqlite();
    let o = srv.setup();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    let (acks, acked) = mpsc::channel::<(String, Instant)>();
    let mut began = None;
    let mut acknowledged = Vec::new();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let acks = acks.clone();
            let (srv, token) = (&srv, o.token.clone());
            scope.spawn(move || {
                for i in 0..25 {
                    let name = format!("w{t}-{i}");
                    let r = srv.post(
                        "/api/v2/users/me/keys/tokens",
                        &token,
                        json!({"token_name": name}),
                    );
                    r.ok(201);
                    acks.send((name, Instant::now())).unwrap();
                }
            });
        }
        drop(acks);
        // The backup starts once a quarter of the writes are in, while
        // the rest are still being made.
        while acknowledged.len() < 50 {
            acknowledged.push(acked.recv().unwrap());
        }
        began = Some(Instant::now());
        let (ok, out, err) = warren(&["backup", "--db", s(&srv.config.db), "--to", s(&backup)]);
        assert!(ok, "backup failed: {err}");
        assert!(out.contains("integrity ok"), "{out}");
        acknowledged.extend(acked.iter());
    });
    let began = began.unwrap();
    assert_eq!(acknowledged.len(), 200);
    let before: Vec<&String> = acknowledged
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(n, _)| n)
        .collect();
    assert!(before.len() >= 50);
    println!(
        "{} of 200 writes acknowledged before the backup began",
        before.len()
    );
    // Restored into a new database, which a server then opens.
    let restored = dir.path().join("restored.db");
    let (ok, out, err) = warren(&["restore", "--from", s(&backup), "--db", s(&restored)]);
    assert!(ok, "restore failed: {err}");
    assert!(out.contains("integrity ok"), "{out}");
    let copy = Server::start_with(|c| c.db = restored.clone());
    let names = token_names(&copy, &o.token);
    for name in before {
        assert!(
            names.contains(name),
            "{name} was acknowledged before the backup began but is missing"
        );
    }
    // The live server kept every write.
    assert_eq!(token_names(&srv, &o.token).len(), 200);
}

/// The body of a download, as bytes.
fn download(
    srv: &Server,
    path: &str,
    token: Option<&str>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = ureq::http::Request::builder()
        .method("POST")
        .uri(srv.url(path));
    if let Some(t) = token {
        req = req.header("Coder-Session-Token", t);
    }
    let mut resp = agent.run(req.body(()).unwrap()).unwrap();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    (status, headers, body)
}

#[test]
fn the_owner_downloads_a_backup_that_restores() {
    let srv = Server::start_sqlite();
    let o = srv.setup();
    let member = srv.user(&o, "member", &[]);
    srv.post(
        "/api/v2/users/me/keys/tokens",
        &o.token,
        json!({"token_name": "before-download"}),
    )
    .ok(201);
    let (status, headers, body) = download(&srv, "/api/v2/warren/backup", Some(&o.token));
    assert_eq!(status, 200);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), "application/vnd.sqlite3");
    assert!(header("content-disposition").starts_with("attachment; filename=\"warren-"));
    assert_eq!(header("content-length"), body.len().to_string());
    assert!(body.starts_with(b"SQLite format 3\0"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("download.db");
    std::fs::write(&file, &body).unwrap();
    let restored = dir.path().join("restored.db");
    let (ok, out, err) = warren(&["restore", "--from", s(&file), "--db", s(&restored)]);
    assert!(ok, "{err}");
    assert!(out.contains("users 2"), "{out}");
    let copy = Server::start_with(|c| c.db = restored.clone());
    assert!(token_names(&copy, &o.token).contains(&"before-download".to_string()));
    // Nothing is left beside the database.
    let leftovers: Vec<PathBuf> = std::fs::read_dir(srv.config.db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("backup"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Owners only.
    srv.request(
        "POST",
        "/api/v2/warren/backup",
        Some(&member.token),
        &[],
        None,
    )
    .assert_error(403, "Forbidden.");
    srv.anon("POST", "/api/v2/warren/backup", None)
        .assert_error(401, SIGNED_OUT);
    srv.request("GET", "/api/v2/warren/backup", Some(&o.token), &[], None)
        .assert_error(405, "Method not allowed.");
}

/// `bytes` with the 4-byte big-endian header field at `offset` set.
fn patched(bytes: &[u8], offset: usize, value: u32) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
    out
}

#[test]
fn restore_refuses_a_held_database_a_foreign_file_and_a_newer_one() {
    let srv = Server::start_sqlite();
    let o = srv.setup();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("b.db");
    let (ok, _, err) = warren(&["backup", "--db", s(&srv.config.db), "--to", s(&backup)]);
    assert!(ok, "{err}");
    // A backup never overwrites a file.
    let (ok, _, err) = warren(&["backup", "--db", s(&srv.config.db), "--to", s(&backup)]);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    // The server holds its database.
    let (ok, _, err) = warren(&["restore", "--from", s(&backup), "--db", s(&srv.config.db)]);
    assert!(!ok);
    assert!(err.contains("in use by another warren server"), "{err}");
    srv.get("/api/v2/users/me", &o.token).ok(200);
    let target = dir.path().join("target.db");
    let good = std::fs::read(&backup).unwrap();
    // Not SQLite at all, SQLite of another application, a newer warren.
    let foreign_app = patched(&good, 68, 0x1234);
    let newer = patched(&good, 60, warren::domain::SCHEMA_VERSION as u32 + 1);
    for (name, bytes, says) in [
        (
            "text.db",
            b"hello, not a database".to_vec(),
            "not a SQLite database",
        ),
        ("other.db", foreign_app, "not a warren database"),
        ("newer.db", newer, "written by a newer warren"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let (ok, _, err) = warren(&["restore", "--from", s(&path), "--db", s(&target)]);
        assert!(!ok, "{name} was restored");
        assert!(err.contains(says), "{name}: {err}");
        assert!(!target.exists(), "{name} left a database behind");
    }
    // A backup of something that is not a warren database is refused too.
    let text = dir.path().join("text.db");
    let (ok, _, err) = warren(&[
        "backup",
        "--db",
        s(&text),
        "--to",
        s(&dir.path().join("x.db")),
    ]);
    assert!(!ok);
    assert!(
        err.contains("damaged") || err.contains("not a warren database"),
        "{err}"
    );
    // The good backup restores over an existing, stopped database.
    let (ok, _, err) = warren(&["restore", "--from", s(&backup), "--db", s(&target)]);
    assert!(ok, "{err}");
    std::fs::write(dir.path().join("target.db-wal"), b"stale").unwrap();
    let (ok, _, err) = warren(&["restore", "--from", s(&backup), "--db", s(&target)]);
    assert!(ok, "{err}");
    assert!(
        !dir.path().join("target.db-wal").exists(),
        "a stale WAL survived"
    );
}

#[test]
fn readyz_turns_503_when_the_database_is_unreachable_and_back() {
    let srv = Server::start_sqlite();
    srv.setup();
    let r = srv.anon("GET", "/readyz", None);
    assert_eq!((r.status, r.text.as_str()), (200, "OK"));
    // The file is replaced by a directory: pooled connections still hold
    // the old file open, but the database is gone from its path.
    let db = srv.config.db.clone();
    let moved = db.with_extension("moved");
    std::fs::rename(&db, &moved).unwrap();
    std::fs::create_dir(&db).unwrap();
    let r = srv.anon("GET", "/readyz", None);
    r.assert_error(503, "Not ready: database.");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains(&*db.to_string_lossy()),
        "{}",
        r.text
    );
    // Liveness is another question: the process is up.
    assert_eq!(srv.anon("GET", "/healthz", None).status, 200);
    std::fs::remove_dir(&db).unwrap();
    std::fs::rename(&moved, &db).unwrap();
    let r = srv.anon("GET", "/readyz", None);
    assert_eq!((r.status, r.text.as_str()), (200, "OK"));
}

#[test]
fn readyz_names_a_background_worker_that_stopped() {
    let srv = Server::start();
    srv.app().lifecycle.get().unwrap().stop();
    srv.anon("GET", "/readyz", None)
        .assert_error(503, "Not ready: lifecycle.")
        .assert_detail("lifecycle is not running");
    srv.app().provisioner.stop();
    let r = srv.anon("GET", "/readyz", None);
    r.assert_error(503, "Not ready: provisioner, lifecycle.");
    assert_eq!(
        r.body["detail"],
        "provisioner is not running; lifecycle is not running"
    );
}

/// Diagnostics with the values that vary between runs (sizes, waits,
/// heartbeats) replaced by 0, so that the shape and the counts are
/// compared (and the body still matches its schema).
fn stable(mut d: Value) -> Value {
    for (section, fields) in [
        ("database", &["size_bytes", "wal_bytes"][..]),
        (
            "pool",
            &["acquisitions", "wait_seconds_total", "slowest_wait_seconds"][..],
        ),
    ] {
        for f in fields {
            assert!(d[section][f].is_number(), "{section}.{f}: {d}");
            d[section][f] = json!(0);
        }
    }
    for (_, w) in d["workers"].as_object_mut().unwrap() {
        assert!(w["seconds_since_heartbeat"].is_number());
        w["seconds_since_heartbeat"] = json!(0.0);
    }
    d
}

#[test]
fn diagnostics_report_counts_and_health_to_owners_only() {
    let srv = Server::start();
    let o = srv.setup();
    let member = srv.user(&o, "member", &[]);
    let t = srv.template(&o, "docker");
    srv.workspace(&member.token, t["id"].as_str().unwrap(), "dev");
    srv.advance(Duration::from_secs(90));
    let d = srv
        .get("/api/v2/warren/diagnostics", &o.token)
        .ok(200)
        .clone();
    assert_eq!(d["uptime_seconds"], 90);
    assert_eq!(d["counts"]["users"], json!({"active": 2}));
    assert_eq!(d["counts"]["workspaces"], json!({"running": 1}));
    assert_eq!(d["counts"]["provisioner_jobs"], json!({"succeeded": 2}));
    assert!(d["database"]["size_bytes"].as_u64().unwrap() > 0);
    assert!(d["pool"]["acquisitions"].as_u64().unwrap() > 0);
    // The snapshot is SQLite's: on PostgreSQL its engine and pool size are
    // checked here, then put as SQLite's.
    let mut d = d;
    let (engine, pool) = match postgres_admin() {
        Some(_) => ("postgresql", 10),
        None => ("sqlite", 8),
    };
    assert_eq!(d["database"]["engine"], engine);
    assert_eq!(d["pool"]["max_connections"], pool);
    d["database"]["engine"] = json!("sqlite");
    d["pool"]["max_connections"] = json!(8);
    assert_eq!(d["workers"]["provisioner"]["healthy"], true);
    // No secret of any kind.
    for secret in [o.token.as_str(), member.token.as_str(), PASSWORD] {
        assert!(!d.to_string().contains(secret));
    }
    snapshot::assert_body("GET", "/api/v2/warren/diagnostics", &stable(d));
    srv.get("/api/v2/warren/diagnostics", &member.token)
        .assert_error(403, "Forbidden.");
    srv.anon("GET", "/api/v2/warren/diagnostics", None)
        .assert_error(401, SIGNED_OUT);
    // Bad credentials are refused like everywhere else.
    srv.get("/api/v2/warren/diagnostics", "not-a-token")
        .assert_error(401, SIGNED_OUT);
}
