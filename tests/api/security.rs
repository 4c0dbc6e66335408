//! Attacks over real HTTP and WebSocket, and their refusals: cross-site
//! writes (CSRF), cross-site WebSockets, login and upload floods, two servers
//! on one file, bad database files, organization examples seen by
//! outsiders, and the admin page's security headers.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::client::IntoClientRequest;

use crate::common::*;

const CSRF_FAILED: &str = "Something is wrong with your CSRF token. Please refresh the page. If this error persists, try clearing your cookies.";

fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_string()
}

/// A browser's login: the session token and the CSRF token its cookie hands
/// to the page.
fn browser_login(s: &Server, email: &str) -> (String, String) {
    let r = s.anon(
        "POST",
        "/api/v2/users/login",
        Some(json!({"email": email, "password": PASSWORD})),
    );
    let token = r.ok(201)["session_token"].as_str().unwrap().to_string();
    let csrf = r.set_cookie("csrf_token").expect("login sets csrf_token");
    (token, cookie_value(csrf))
}

#[test]
fn csrf_a_session_cookie_alone_cannot_write() {
    let s = Server::start();
    let o = s.setup();
    let t = s.template(&o, "t");
    let w = s.workspace(&o.token, t["id"].as_str().unwrap(), "w");
    let id = w["id"].as_str().unwrap().to_string();
    let (session, csrf) = browser_login(&s, "admin@example.com");
    let cookie = format!("coder_session_token={session}");
    // What a form on another site can send: the cookie the browser attaches
    // by itself, `text/plain`, and a body that happens to be JSON.
    let form = |method: &str, path: &str, extra: &[(&str, &str)], body: &str| {
        let mut headers = vec![("Cookie", cookie.as_str())];
        headers.extend_from_slice(extra);
        s.raw(
            method,
            path,
            &headers,
            Some(("text/plain", body.as_bytes())),
        )
    };
    let builds = format!("/api/v2/workspaces/{id}/builds");
    let ttl = format!("/api/v2/workspaces/{id}/ttl");
    let favorite = format!("/api/v2/workspaces/{id}/favorite");
    let attacks = [
        ("POST", builds.as_str(), r#"{"transition":"delete"}"#),
        (
            "POST",
            "/api/v2/users/me/keys/tokens",
            r#"{"token_name":"stolen"}"#,
        ),
        ("PUT", ttl.as_str(), r#"{"ttl_ms":3600000}"#),
        ("PUT", favorite.as_str(), ""),
        ("POST", "/api/v2/users/logout", ""),
    ];
    let (_, other_session_csrf) = browser_login(&s, "admin@example.com");
    for (method, path, body) in attacks {
        form(method, path, &[], body).assert_error(400, CSRF_FAILED);
        // A made-up token or another session's token is no better.
        form(method, path, &[("X-CSRF-TOKEN", "bm90LWEtdG9rZW4")], body)
            .assert_error(400, CSRF_FAILED);
        form(method, path, &[("X-CSRF-TOKEN", &other_session_csrf)], body)
            .assert_error(400, CSRF_FAILED);
        // A different token in the header does not vouch for the cookie.
        form(method, path, &[("Coder-Session-Token", &o.token)], body)
            .assert_error(400, CSRF_FAILED);
    }
    // Nothing happened.
    let after = s.get(&format!("/api/v2/workspaces/{id}"), &o.token);
    assert_eq!(
        after.ok(200)["latest_build"]["id"],
        w["latest_build"]["id"],
        "no build was started"
    );
    assert_eq!(after.body["ttl_ms"], w["ttl_ms"]);
    assert_eq!(after.body["favorite"], false);
    let tokens = s.get("/api/v2/users/me/keys/tokens", &o.token);
    assert!(tokens
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["token_name"] != "stolen"));
    s.get("/api/v2/users/me", &session).ok(200);

    // The page's way: the session's token in X-CSRF-TOKEN.
    let r = form(
        "PUT",
        &ttl,
        &[("X-CSRF-TOKEN", &csrf)],
        r#"{"ttl_ms":3600000}"#,
    );
    assert_eq!(r.status, 204, "{}", r.text);
    // A client's way: the session token itself in the header or the query,
    // which a page on another site cannot know.
    let r = form("PUT", &favorite, &[("Coder-Session-Token", &session)], "");
    assert_eq!(r.status, 204, "{}", r.text);
    let r = s.raw(
        "DELETE",
        &format!("{favorite}?coder_session_token={session}"),
        &[("Cookie", &cookie)],
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text);
    // Without a session cookie there is nothing to forge: header-only
    // clients are unaffected.
    s.put(&ttl, &o.token, json!({"ttl_ms": 7200000})).ok(204);
    let after = s.get(&format!("/api/v2/workspaces/{id}"), &o.token);
    assert_eq!(after.ok(200)["ttl_ms"], 7200000);
    // Login and first-user setup take no token, cookie or not.
    let r = s.raw(
        "POST",
        "/api/v2/users/login",
        &[("Cookie", &cookie)],
        Some((
            "application/json",
            json!({"email": "admin@example.com", "password": PASSWORD})
                .to_string()
                .as_bytes(),
        )),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = s.raw(
        "POST",
        "/api/v2/users/first",
        &[("Cookie", &cookie)],
        Some(("application/json", b"{}")),
    );
    assert_ne!(r.body["message"], CSRF_FAILED, "{}", r.text);
    // Nor does the agent's own API (it authenticates with the agent token).
    let r = form(
        "POST",
        "/api/v2/workspaceagents/me/report-lifecycle",
        &[],
        r#"{"state":"ready"}"#,
    );
    assert_eq!(r.status, 401, "{}", r.text);
    // The forged build, with the page's token, goes through.
    let r = form(
        "POST",
        &builds,
        &[("X-CSRF-TOKEN", &csrf)],
        r#"{"transition":"stop"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text);

    // Logout takes the token too, and clears the CSRF cookie.
    let r = form(
        "POST",
        "/api/v2/users/logout",
        &[("X-CSRF-TOKEN", &csrf)],
        "",
    );
    assert_eq!(r.ok(200)["message"], "Logged out!");
    let cleared = r
        .set_cookie("csrf_token")
        .expect("logout clears csrf_token");
    assert!(
        cleared.contains("Max-Age=0") || cleared.contains("Max-Age=-1"),
        "{cleared}"
    );
}

#[test]
fn csrf_token_reaches_the_page_by_cookie_and_meta_tag() {
    let s = Server::start();
    s.setup();
    let login = s.anon(
        "POST",
        "/api/v2/users/login",
        Some(json!({"email": "admin@example.com", "password": PASSWORD})),
    );
    let session = login.ok(201)["session_token"].as_str().unwrap().to_string();
    let c = login.set_cookie("csrf_token").unwrap();
    // Readable by the page's script, sent only to this site.
    assert!(!c.contains("HttpOnly"), "{c}");
    assert!(c.contains("Path=/") && c.contains("SameSite=Lax"), "{c}");
    assert!(!c.contains("Secure"), "{c}");
    let csrf = cookie_value(c);

    // The page served to the signed-in browser carries the same token.
    let cookie = format!("coder_session_token={session}");
    let page = s.raw("GET", "/", &[("Cookie", &cookie)], None);
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains(&format!(
            "<meta property=\"csrf-token\" content=\"{csrf}\">"
        )),
        "{}",
        page.text
    );
    assert_eq!(cookie_value(page.set_cookie("csrf_token").unwrap()), csrf);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    // Stable for the session's life.
    let again = s.raw("GET", "/", &[("Cookie", &cookie)], None);
    assert_eq!(cookie_value(again.set_cookie("csrf_token").unwrap()), csrf);
    // No session, an invalid one, or a header token: no token on the page.
    for headers in [
        vec![],
        vec![(
            "Cookie",
            "coder_session_token=abcdefghij-0123456789012345678901",
        )],
        vec![("Coder-Session-Token", session.as_str())],
    ] {
        let page = s.raw("GET", "/", &headers, None);
        assert_eq!(page.status, 200);
        assert!(!page.text.contains("csrf-token"), "{}", page.text);
        assert!(page.set_cookie("csrf_token").is_none());
    }

    // Behind an https access URL the cookie is Secure.
    let tls = Server::start_with(|c| c.access_url = Some("https://warren.example".into()));
    tls.setup();
    let login = tls.anon(
        "POST",
        "/api/v2/users/login",
        Some(json!({"email": "admin@example.com", "password": PASSWORD})),
    );
    assert!(login.set_cookie("csrf_token").unwrap().contains("Secure"));
}

/// Opens a WebSocket with the session cookie and `origin`; the handshake's
/// status and, when refused, its body.
fn ws_open(s: &Server, path: &str, session: &str, origin: Option<&str>) -> (u16, Value) {
    let url = format!("ws://{}{path}", s.url("").trim_start_matches("http://"));
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut().insert(
        "Cookie",
        format!("coder_session_token={session}").parse().unwrap(),
    );
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    match tungstenite::connect(req) {
        Ok((mut socket, resp)) => {
            let _ = socket.close(None);
            (resp.status().as_u16(), Value::Null)
        }
        Err(tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            (resp.status().as_u16(), body)
        }
        Err(e) => panic!("{path}: {e}"),
    }
}

#[test]
fn websocket_upgrades_from_another_origin_are_refused() {
    let s = Server::start();
    let o = s.setup();
    let t = s.template(&o, "t");
    let w = s.workspace(&o.token, t["id"].as_str().unwrap(), "w");
    let paths = [
        format!("/api/v2/workspaces/{}/watch-ws", w["id"].as_str().unwrap()),
        "/api/v2/workspaces/watch-ws?q=owner:me".to_string(),
        format!(
            "/api/v2/workspacebuilds/{}/logs?follow",
            w["latest_build"]["id"].as_str().unwrap()
        ),
        format!(
            "/api/v2/templateversions/{}/logs?follow",
            t["active_version_id"].as_str().unwrap()
        ),
    ];
    let host = s.url("").trim_start_matches("http://").to_string();
    let own = format!("http://{host}");
    for path in &paths {
        for evil in [
            "http://evil.example",
            "null",
            &format!("http://{host}.evil.example"),
            &format!(
                "http://localhost:{}",
                s.running.as_ref().unwrap().address.port()
            ),
        ] {
            let (status, body) = ws_open(&s, path, &o.token, Some(evil));
            assert_eq!(status, 403, "{path} from {evil}: {body}");
            assert_eq!(body["message"], "Failed to accept websocket.", "{body}");
            let detail = body["detail"].as_str().unwrap();
            assert!(
                detail.contains("is not authorized for Host")
                    || detail.contains("failed to parse Origin"),
                "{detail}"
            );
        }
        let (status, body) = ws_open(&s, path, &o.token, Some("http://evil.example"));
        assert_eq!(status, 403);
        assert_eq!(
            body["detail"],
            format!("request Origin \"http://evil.example\" is not authorized for Host \"{host}\"")
        );
        // The page's own origin, or a client that sends none, is welcome.
        assert_eq!(ws_open(&s, path, &o.token, Some(&own)).0, 101, "{path}");
        assert_eq!(ws_open(&s, path, &o.token, None).0, 101, "{path}");
    }

    // The configured access URL (a proxy in front) is this server too.
    let proxied = Server::start_with(|c| c.access_url = Some("https://warren.example".into()));
    let po = proxied.setup();
    let list = "/api/v2/workspaces/watch-ws";
    assert_eq!(
        ws_open(&proxied, list, &po.token, Some("https://warren.example")).0,
        101
    );
    assert_eq!(
        ws_open(&proxied, list, &po.token, Some("http://warren.example")).0,
        403
    );
}

/// Sends `n` logins at once (released together by a barrier).
fn login_flood(s: &Server, n: usize, body: impl Fn(usize) -> Value + Sync) -> Vec<Resp> {
    let barrier = Barrier::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, body) = (&barrier, &body);
                scope.spawn(move || {
                    barrier.wait();
                    s.anon("POST", "/api/v2/users/login", Some(body(i)))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[track_caller]
fn assert_retry_after(r: &Resp) {
    let secs: u64 = r
        .header("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {}", r.text))
        .parse()
        .unwrap();
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
}

#[test]
fn a_parallel_login_flood_gets_no_more_password_checks_than_the_limit() {
    let s = Server::start();
    let o = s.setup();
    s.user(&o, "member", &[]);
    let app = s.running.as_ref().unwrap().app.clone();
    let checks = || app.passwords.checks();
    let before = checks();
    // 200 wrong passwords for one email at once, against 10 a minute.
    let results = login_flood(
        &s,
        200,
        |i| json!({"email": "admin@example.com", "password": format!("wrong-password-{i}")}),
    );
    let mut wrong = 0;
    for r in &results {
        match r.status {
            401 => {
                r.assert_error(401, "Incorrect email or password.");
                wrong += 1;
            }
            _ => {
                r.assert_error(
                    429,
                    "You've been rate limited for sending more than 10 failed login attempts in 1m0s.",
                );
                assert_retry_after(r);
            }
        }
    }
    assert_eq!(wrong, 10);
    assert_eq!(checks() - before, 10, "password checks for one email");
    // Even the right password waits for the minute to pass.
    let r = s.anon(
        "POST",
        "/api/v2/users/login",
        Some(json!({"email": "admin@example.com", "password": PASSWORD})),
    );
    r.assert_error(
        429,
        "You've been rate limited for sending more than 10 failed login attempts in 1m0s.",
    );
    assert_retry_after(&r);

    // A success from the same address (the attacker's own account) does not
    // wipe out the address's failures.
    s.login("member@example.com", PASSWORD);
    // 200 unknown emails from one address: at most five times the limit
    // from that address in the minute, 10 of which the first flood used.
    let before = checks();
    let results = login_flood(
        &s,
        200,
        |i| json!({"email": format!("nobody{i}@example.com"), "password": "wrong-password"}),
    );
    let unknown = results.iter().filter(|r| r.status == 401).count();
    for r in results.iter().filter(|r| r.status != 401) {
        assert_eq!(r.status, 429, "{}", r.text);
        assert_retry_after(r);
    }
    assert_eq!(unknown, 40);
    assert_eq!(checks() - before, 40, "password checks from one address");
}

#[test]
fn password_work_is_bounded_and_the_excess_gets_429_with_retry_after() {
    let s = Server::start_with(|c| c.login_rate_limit = 10_000);
    s.setup();
    let app = s.running.as_ref().unwrap().app.clone();
    let before = app.passwords.checks();
    let results = login_flood(
        &s,
        200,
        |i| json!({"email": format!("nobody{i}@example.com"), "password": "wrong-password"}),
    );
    let checked = results.iter().filter(|r| r.status == 401).count();
    let busy: Vec<_> = results.iter().filter(|r| r.status != 401).collect();
    // Two hashes run at once and 64 more wait: 200 at once cannot all be
    // admitted.
    assert!(
        !busy.is_empty(),
        "every one of 200 parallel checks was queued"
    );
    for r in busy {
        r.assert_error(
            429,
            "The server is busy: too many password checks are waiting. Try again shortly.",
        );
        assert_retry_after(r);
    }
    assert_eq!(app.passwords.checks() - before, checked as u64);
    // A refused attempt was never checked, so it is not counted against the
    // email: its owner can log in at once.
    assert_eq!(s.login("admin@example.com", PASSWORD).len(), 33);
}

/// Sends a request head (no body) on a fresh connection and reads the
/// response: status and JSON body.
fn send_head(s: &Server, head: &str) -> (u16, Value) {
    let addr = s.url("").trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader
        .read_line(&mut status_line)
        .expect("an answer before the body was sent, not a wait for it");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn upload_head(s: &Server, token: &str, length: u64) -> String {
    let host = s.url("").trim_start_matches("http://").to_string();
    format!(
        "POST /api/v2/files HTTP/1.1\r\nHost: {host}\r\nCoder-Session-Token: {token}\r\nContent-Type: application/x-tar\r\nContent-Length: {length}\r\n\r\n"
    )
}

#[test]
fn a_body_declared_too_large_is_refused_before_it_is_read() {
    let s = Server::start();
    let o = s.setup();
    // 200 MiB declared, nothing sent: the answer cannot wait for the body.
    let (status, body) = send_head(&s, &upload_head(&s, &o.token, 200 << 20));
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["message"], "Request body is too large.");
    assert_eq!(
        body["detail"],
        format!("The request body must be at most {} bytes.", 100 << 20)
    );
    // The same for JSON bodies.
    let host = s.url("").trim_start_matches("http://").to_string();
    let (status, body) = send_head(
        &s,
        &format!(
            "POST /api/v2/users/login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            2 << 20
        ),
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["message"], "Request body is too large.");
    // An upload within the limit is still stored byte for byte.
    let tar = fixture_tar("docker");
    let r = s.upload(&o.token, "application/x-tar", &tar);
    let id = r.ok(201)["hash"].as_str().unwrap().to_string();
    let back = s.raw(
        "GET",
        &format!("/api/v2/files/{id}"),
        &[("Coder-Session-Token", &o.token)],
        None,
    );
    assert_eq!(back.text.as_bytes(), tar.as_slice());
}

/// Polls until `cond` holds; fails after ten seconds.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn concurrent_uploads_are_bounded_and_the_excess_gets_429() {
    let s = Server::start();
    let o = s.setup();
    let app = s.running.as_ref().unwrap().app.clone();
    // Twelve uploads that announce a body and hold on to it: four streaming,
    // eight waiting their turn.
    let addr = s.url("").trim_start_matches("http://").to_string();
    let head = upload_head(&s, &o.token, 1000);
    let holders: Vec<TcpStream> = (0..12)
        .map(|_| {
            let mut t = TcpStream::connect(&addr).unwrap();
            t.write_all(head.as_bytes()).unwrap();
            t
        })
        .collect();
    wait_until("twelve uploads admitted", || app.uploads.admitted() == 12);
    let r = s.upload(&o.token, "application/x-tar", &fixture_tar("docker"));
    r.assert_error(
        429,
        "The server is busy: too many uploads are waiting. Try again shortly.",
    );
    assert_retry_after(&r);
    // When they give up, uploads are accepted again.
    drop(holders);
    wait_until("held uploads released", || app.uploads.admitted() == 0);
    s.upload(&o.token, "application/x-tar", &fixture_tar("docker"))
        .ok(201);
}

fn warren_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warren"));
    c.env("RUST_LOG", "warn").stdin(Stdio::null());
    c
}

/// A server process of this test; killed if the test fails before it is
/// stopped.
struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts the real binary on `db` and waits until it listens.
fn spawn_server(db: &Path) -> Spawned {
    let mut child = warren_bin()
        .args(["server", "--address", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(["--provisioner-delay", "0s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening on"), "{line}");
    Spawned(child)
}

fn terminate(Spawned(child): &mut Spawned) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "stopped gracefully: {exit:?}");
}

#[test]
fn a_second_server_on_the_same_file_exits_naming_the_file_and_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("warren.db");
    let mut first = spawn_server(&db);
    let first_pid = first.0.id();
    let lock = dir.path().join("warren.db.lock");
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap().trim(),
        first_pid.to_string()
    );
    let second = warren_bin()
        .args(["server", "--address", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&db.display().to_string()), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "in use by another warren server (pid {first_pid}, "
        )),
        "{stderr}"
    );
    // The same within one process.
    let mut config = test_config(&dir);
    config.db = db.clone();
    match warren::prepare(config.clone()) {
        Ok(_) => panic!("a second server started on {}", db.display()),
        Err(e) => assert!(
            e.to_string().contains("in use by another warren server"),
            "{e}"
        ),
    }
    // A clean stop gives the file up and removes the lock file.
    terminate(&mut first);
    assert!(!lock.exists());
    // So does a crash (the OS drops the lock; the stale file is taken over).
    let mut third = spawn_server(&db);
    third.0.kill().unwrap();
    third.0.wait().unwrap();
    assert!(lock.exists());
    let mut fourth = spawn_server(&db);
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap().trim(),
        fourth.0.id().to_string()
    );
    terminate(&mut fourth);
}

/// Every file in `dir`, name and bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let data = if e.path().is_dir() {
                b"<dir>".to_vec()
            } else {
                std::fs::read(e.path()).unwrap()
            };
            (name, data)
        })
        .collect()
}

/// A stopped warren database with a user in it.
fn make_database(dir: &tempfile::TempDir) -> warren::Config {
    let config = test_config(dir);
    let running = warren::start(config.clone()).unwrap();
    ureq::post(&running.url("/api/v2/users/first"))
        .send_json(json!({"email": "admin@example.com", "username": "admin", "password": PASSWORD}))
        .unwrap();
    running.stop();
    config
}

/// Starting on `config` fails with a message naming the file and saying
/// `why`, and leaves the directory exactly as it was.
#[track_caller]
fn assert_refused(config: &warren::Config, why: &str) {
    let dir = config.db.parent().unwrap();
    let before = snapshot(dir);
    let message = match warren::prepare(config.clone()) {
        Ok(_) => panic!("{} was accepted", config.db.display()),
        Err(e) => e.to_string(),
    };
    assert!(
        message.contains(&config.db.display().to_string()) && message.contains(why),
        "{message}"
    );
    let after = snapshot(dir);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "files beside {}",
        config.db.display()
    );
    assert!(before == after, "{} was changed", config.db.display());
}

#[test]
fn bad_database_files_are_refused_by_name_and_left_exactly_as_found() {
    // A clean stop leaves one self-contained file.
    let dir = tempfile::tempdir().unwrap();
    let config = make_database(&dir);
    assert_eq!(
        snapshot(dir.path()).into_keys().collect::<Vec<_>>(),
        ["warren.db"]
    );

    // Read-only (no write permission at all: refused even for root).
    let mut perms = std::fs::metadata(&config.db).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&config.db, perms).unwrap();
    assert_refused(&config, "is read-only");
    // The binary says so and exits 1.
    let out = warren_bin()
        .args(["--address", "127.0.0.1:0", "--db"])
        .arg(&config.db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("warren: {} is read-only", config.db.display())),
        "{stderr}"
    );

    // A directory.
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    config.db = dir.path().join("data");
    std::fs::create_dir(&config.db).unwrap();
    assert_refused(&config, "is a directory");

    // Newer: a warren database from a later schema.
    let dir = tempfile::tempdir().unwrap();
    let config = make_database(&dir);
    let conn = rusqlite::Connection::open(&config.db).unwrap();
    conn.execute_batch("PRAGMA user_version = 99;").unwrap();
    drop(conn);
    assert_refused(&config, "was written by a newer warren");

    // Not warren's: another application's SQLite file.
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&dir);
    let conn = rusqlite::Connection::open(&config.db).unwrap();
    conn.execute_batch(
        "PRAGMA application_id = 1234; PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');",
    )
    .unwrap();
    drop(conn);
    assert_refused(&config, "is not a warren database");

    // Truncated: the second half of a warren database lost.
    let dir = tempfile::tempdir().unwrap();
    let config = make_database(&dir);
    let len = std::fs::metadata(&config.db).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&config.db)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    assert_refused(&config, "is damaged");
}

#[test]
fn organization_template_examples_are_hidden_from_non_members() {
    let s = Server::start();
    let o = s.setup();
    let member = s.user(&o, "member", &[]);
    let other = s.post("/api/v2/organizations", &o.token, json!({"name": "other"}));
    let other_id = other.ok(201)["id"].as_str().unwrap().to_string();
    for org in ["other", other_id.as_str()] {
        let path = format!("/api/v2/organizations/{org}/templates/examples");
        s.get(&path, &member.token).assert_error(404, NOT_FOUND);
        // As for the organization itself.
        s.get(&format!("/api/v2/organizations/{org}"), &member.token)
            .assert_error(404, NOT_FOUND);
        assert_eq!(s.get(&path, &o.token).ok(200), &json!([]));
        s.anon("GET", &path, None).assert_error(401, SIGNED_OUT);
    }
    let own = format!("/api/v2/organizations/{}/templates/examples", o.org);
    assert_eq!(s.get(&own, &member.token).ok(200), &json!([]));
    s.get("/api/v2/organizations/nope/templates/examples", &o.token)
        .assert_error(404, NOT_FOUND);
}

#[test]
fn the_admin_page_is_served_with_security_headers() {
    let s = Server::start();
    for path in ["/", "/static/app.js", "/static/app.css"] {
        let r = s.raw("GET", path, &[], None);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.header("content-security-policy"),
            Some("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
            "{path}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{path}");
    }
    // The policy allows no inline script or style, so the page has none.
    let page = s.raw("GET", "/", &[], None).text.to_lowercase();
    for tag in page.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap();
        if tag.starts_with("script") {
            assert!(tag.contains("src="), "inline script: <{tag}>");
        }
        assert!(!tag.starts_with("style"), "inline style: <{tag}>");
        assert!(!tag.contains(" style="), "inline style attribute: <{tag}>");
        assert!(
            !tag.split_whitespace()
                .any(|a| a.starts_with("on") && a.contains('=')),
            "inline handler: <{tag}>"
        );
    }
    assert!(
        page.contains("<script type=\"module\" src=\"/static/~"),
        "the page loads its own module"
    );
}

#[test]
fn a_version_1_database_is_migrated_with_its_files() {
    let mut s = Server::start();
    let o = s.setup();
    let v = s.import(&o, "docker", None);
    assert_eq!(v["job"]["status"], "succeeded", "{v}");
    let tar = fixture_tar("docker");
    let file = s.upload(&o.token, "application/x-tar", &tar);
    let file_id = file.ok(200)["hash"].as_str().unwrap().to_string();
    s.running.take().unwrap().stop();
    // Back to version 2's layout, where the contents sat mid-row.
    let conn = rusqlite::Connection::open(&s.config.db).unwrap();
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
    drop(conn);
    s.restart();
    let back = s.raw(
        "GET",
        &format!("/api/v2/files/{file_id}"),
        &[("Coder-Session-Token", &o.token)],
        None,
    );
    assert_eq!(back.status, 200);
    assert_eq!(back.text.as_bytes(), tar.as_slice());
    let version = s.get(
        &format!("/api/v2/templateversions/{}", v["id"].as_str().unwrap()),
        &o.token,
    );
    assert_eq!(version.ok(200)["job"]["file_id"], file_id);
    let conn = rusqlite::Connection::open(&s.config.db).unwrap();
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('files')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(columns.last().map(String::as_str), Some("data"));
    let broken: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(broken, 0);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, warren::domain::SCHEMA_VERSION);
}
