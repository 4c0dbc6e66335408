//! Attacks over real HTTP and WebSocket, and their refusals: cross-site
//! writes (CSRF), cross-site WebSockets, login and upload floods,
//! organization examples seen by outsiders, and the admin page's security
//! headers. Two servers on one file and bad database files are tested with
//! the store (`store.rs`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Barrier;
use std::time::Duration;

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

/// Waits (woken by the gate, no polling) until the upload gate admits
/// `n`; fails after ten seconds.
#[track_caller]
fn wait_admitted(app: &warren::App, what: &str, n: usize) {
    let last = app
        .uploads
        .wait_until(Duration::from_secs(10), |c| c.admitted == n);
    assert_eq!(last.admitted, n, "timed out: {what}");
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
    wait_admitted(&app, "twelve uploads admitted", 12);
    let r = s.upload(&o.token, "application/x-tar", &fixture_tar("docker"));
    r.assert_error(
        429,
        "The server is busy: too many uploads are waiting. Try again shortly.",
    );
    assert_retry_after(&r);
    // When they give up, uploads are accepted again.
    drop(holders);
    wait_admitted(&app, "held uploads released", 0);
    s.upload(&o.token, "application/x-tar", &fixture_tar("docker"))
        .ok(201);
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
