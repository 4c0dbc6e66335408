//! Flood run (not a timed test): against a release build of warren, 200
//! parallel wrong logins for one email, then 200 parallel logins for unknown
//! emails from one address; on a fresh server with the login rate limit out
//! of the way, 200 parallel logins again; on another, 4 parallel maximal
//! uploads. Reports the server's peak RSS (VmHWM, from /proc) before and
//! after each flood, the answers, and how many password checks ran (one per
//! 401, and the server's own counter, logged when it stops).
//!
//! ```sh
//! cargo build --release
//! cargo bench --bench flood -- target/release/warren
//! ```
//!
//! Any warren binary may be named, e.g. one built from an older commit, to
//! compare. Traffic goes to 127.0.0.1 only; every loop is bounded.

// Test code may panic on what it did not expect: that is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PASSWORD: &str = "SomeSecurePassword!";
const LOGINS: usize = 200;
const UPLOADS: usize = 4;
/// warren's default `--max-file-bytes`: a maximal upload.
const UPLOAD_BYTES: usize = 100 << 20;

struct Server {
    child: Child,
    base: String,
    log: PathBuf,
    agent: ureq::Agent,
}

impl Server {
    fn start(bin: &Path, dir: &Path, extra: &[&str]) -> Server {
        let log = dir.join("server.log");
        let mut child = Command::new(bin)
            .args([
                "--address",
                "127.0.0.1:0",
                "--provisioner-delay",
                "0s",
                "--db",
            ])
            .arg(dir.join("warren.db"))
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut base = String::new();
        for _ in 0..10 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            if let Some(url) = line.split("listening on ").nth(1) {
                base = url.trim().to_string();
                break;
            }
        }
        assert!(
            !base.is_empty(),
            "{} did not say where it listens",
            bin.display()
        );
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || for _ in reader.lines() {});
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(300)))
            .build()
            .into();
        Server {
            child,
            base,
            log,
            agent,
        }
    }

    fn status(&self, key: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        text.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Peak resident set so far, in MiB.
    fn peak_mib(&self) -> f64 {
        self.status("VmHWM:") as f64 / 1024.0
    }

    fn rss_mib(&self) -> f64 {
        self.status("VmRSS:") as f64 / 1024.0
    }

    fn post(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", content_type);
        if let Some(t) = token {
            req = req.header("Coder-Session-Token", t);
        }
        match req.send(body) {
            Ok(mut r) => {
                let status = r.status().as_u16();
                let text = r.body_mut().read_to_string().unwrap_or_default();
                (status, serde_json::from_str(&text).unwrap_or(Value::Null))
            }
            Err(e) => (0, json!({ "error": e.to_string() })),
        }
    }

    fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        self.post(path, None, "application/json", body.to_string().as_bytes())
    }

    /// Creates the owner and returns a session token.
    fn setup(&self) -> String {
        let (status, body) = self.post_json(
            "/api/v2/users/first",
            json!({"email": "admin@example.com", "username": "admin", "password": PASSWORD}),
        );
        assert_eq!(status, 201, "{body}");
        let (status, body) = self.post_json(
            "/api/v2/users/login",
            json!({"email": "admin@example.com", "password": PASSWORD}),
        );
        assert_eq!(status, 201, "{body}");
        body["session_token"].as_str().unwrap().to_string()
    }

    /// Stops the server with SIGTERM; returns its password-check counter
    /// if it reports one.
    fn stop(mut self) -> Option<u64> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter_map(|l| l.split("password checks run: ").nth(1))
            .filter_map(|rest| rest.split(';').next()?.trim().parse().ok())
            .next_back()
    }
}

/// Runs `n` copies of `f` at once; returns the count of each status.
fn flood(n: usize, f: impl Fn(usize) -> u16 + Sync) -> (BTreeMap<u16, usize>, Duration) {
    let barrier = Barrier::new(n);
    let started = Instant::now();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, f) = (&barrier, &f);
                scope.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut counts = BTreeMap::new();
    for s in statuses {
        *counts.entry(s).or_insert(0) += 1;
    }
    (counts, started.elapsed())
}

fn show(counts: &BTreeMap<u16, usize>) -> String {
    counts
        .iter()
        .map(|(s, n)| format!("{n}×{s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() {
    let bin = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/warren"));
    println!("binary: {}", bin.display());

    // Logins.
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&bin, dir.path(), &[]);
    s.setup();
    let base = s.peak_mib();
    let (one_email, t1) = flood(LOGINS, |i| {
        s.post_json(
            "/api/v2/users/login",
            json!({"email": "admin@example.com", "password": format!("wrong-password-{i}")}),
        )
        .0
    });
    let after_one = s.peak_mib();
    let (unknown, t2) = flood(LOGINS, |i| {
        s.post_json(
            "/api/v2/users/login",
            json!({"email": format!("nobody{i}@example.com"), "password": "wrong-password"}),
        )
        .0
    });
    let after_unknown = s.peak_mib();
    let checks = s.stop();
    println!("\n{LOGINS} parallel wrong logins for one email (limit 10/min):");
    println!(
        "  answers: {} in {:.2}s",
        show(&one_email),
        t1.as_secs_f64()
    );
    println!(
        "  password checks: {} (one per 401)",
        one_email.get(&401).unwrap_or(&0)
    );
    println!("{LOGINS} parallel logins for unknown emails from one address (limit 50/min):");
    println!("  answers: {} in {:.2}s", show(&unknown), t2.as_secs_f64());
    println!(
        "  password checks: {} (one per 401)",
        unknown.get(&401).unwrap_or(&0)
    );
    match checks {
        // Two more: the owner's password hashed at setup, checked at login.
        Some(n) => println!("  server's counter, all phases: {n} (setup and login: 2)"),
        None => println!("  server's counter: not reported by this binary"),
    }
    println!(
        "  peak RSS: {base:.1} MiB after setup, {after_one:.1} MiB after the first flood, {after_unknown:.1} MiB after the second"
    );

    // Logins with the rate limit out of the way: only the bound on password
    // work itself stands between the flood and the server's memory.
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&bin, dir.path(), &["--login-rate-limit", "1000000"]);
    s.setup();
    let base = s.peak_mib();
    let (unlimited, t4) = flood(LOGINS, |i| {
        s.post_json(
            "/api/v2/users/login",
            json!({"email": format!("nobody{i}@example.com"), "password": "wrong-password"}),
        )
        .0
    });
    let after = s.peak_mib();
    s.stop();
    println!("{LOGINS} parallel logins for unknown emails, --login-rate-limit 1000000:");
    println!(
        "  answers: {} in {:.2}s",
        show(&unlimited),
        t4.as_secs_f64()
    );
    println!(
        "  password checks: {} (one per 401)",
        unlimited.get(&401).unwrap_or(&0)
    );
    println!("  peak RSS: {base:.1} MiB after setup, {after:.1} MiB after the flood");

    // Uploads.
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&bin, dir.path(), &[]);
    let token = s.setup();
    let bodies: Vec<Vec<u8>> = (0..UPLOADS)
        .map(|i| {
            let mut b = vec![0u8; UPLOAD_BYTES];
            // Distinct contents, so none is deduplicated.
            for (j, byte) in b.iter_mut().enumerate().step_by(4096) {
                *byte = (i * 31 + j / 4096) as u8;
            }
            b[0] = i as u8;
            b
        })
        .collect();
    let base = s.peak_mib();
    let base_rss = s.rss_mib();
    let (uploads, t3) = flood(UPLOADS, |i| {
        s.post(
            "/api/v2/files",
            Some(&token),
            "application/x-tar",
            &bodies[i],
        )
        .0
    });
    let after = s.peak_mib();
    s.stop();
    println!(
        "\n{UPLOADS} parallel uploads of {} MiB:",
        UPLOAD_BYTES >> 20
    );
    println!("  answers: {} in {:.2}s", show(&uploads), t3.as_secs_f64());
    println!(
        "  peak RSS: {base:.1} MiB before (RSS {base_rss:.1} MiB), {after:.1} MiB after: +{:.1} MiB, {:.2}× one upload per accepted upload",
        after - base,
        (after - base) / (UPLOAD_BYTES >> 20) as f64 / (*uploads.get(&201).unwrap_or(&1)).max(1) as f64
    );
}
