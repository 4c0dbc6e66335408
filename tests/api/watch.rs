//! Watch streams over real sockets: SSE and WebSocket, one workspace and
//! the whole list, and clean-up when clients vanish.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;
use crate::snapshot;

pub type Ws = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>;

pub fn ws_open(s: &Server, path: &str, token: &str) -> Ws {
    let url = format!("ws://{}{path}", s.url("").trim_start_matches("http://"));
    let mut req =
        tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    req.headers_mut()
        .insert("Coder-Session-Token", token.parse().unwrap());
    let (socket, _) = tungstenite::connect(req).unwrap();
    if let tungstenite::stream::MaybeTlsStream::Plain(t) = socket.get_ref() {
        t.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    }
    socket
}

/// The next JSON message (pings answered by the library); `Err` carries the
/// close frame's code and reason.
pub fn ws_next(ws: &mut Ws) -> Result<Value, (u16, String)> {
    loop {
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => return Ok(serde_json::from_str(&t).unwrap()),
            Ok(tungstenite::Message::Close(f)) => {
                return Err(f
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((0, String::new())))
            }
            Ok(_) => continue,
            Err(e) => return Err((0, e.to_string())),
        }
    }
}

fn quick_server() -> (Server, Owner, TestUser, String) {
    let s = Server::start_with(|c| {
        c.watch_ping_interval = Duration::from_millis(300);
        c.allow_workspace_renames = true;
    });
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let t = s.template(&o, "docker");
    let template = t["id"].as_str().unwrap().to_string();
    (s, o, alice, template)
}

#[test]
fn sse_sends_state_then_every_kind_of_change() {
    let (s, o, alice, template) = quick_server();
    let w = s.workspace(&alice.token, &template, "dev");
    let id = w["id"].as_str().unwrap().to_string();
    let mut sse = Sse::open(&s, &format!("/api/v2/workspaces/{id}/watch"), &alice.token);
    assert_eq!(sse.status, 200);
    assert!(sse
        .headers
        .to_lowercase()
        .contains("content-type: text/event-stream"));
    assert!(sse
        .headers
        .to_lowercase()
        .contains("cache-control: no-cache"));
    let (e, _) = sse.next(Duration::from_secs(2)).unwrap();
    assert_eq!(e, "ping");
    let (e, initial) = sse.next(Duration::from_secs(2)).unwrap();
    assert_eq!(e, "data");
    assert_eq!(initial["id"], id.as_str());
    assert_eq!(initial["latest_build"]["status"], "running");
    // Pings on the configured cadence.
    let started = Instant::now();
    let (e, _) = sse.next(Duration::from_secs(2)).unwrap();
    assert_eq!(e, "ping");
    // 300 ms, not the default 15 s (loosely: the machine may be busy).
    assert!(started.elapsed() < Duration::from_secs(5));
    // Each change arrives within a second.
    let ws = |x: &str| format!("/api/v2/workspaces/{id}/{x}");
    let within = |sse: &mut Sse, check: &dyn Fn(&Value) -> bool, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match sse.next_data(left) {
                Some((e, v)) if e == "data" && check(&v) => return v,
                Some(_) => continue,
                None => panic!("no update for {what} pushed"),
            }
        }
    };
    assert_eq!(
        s.patch(
            &format!("/api/v2/workspaces/{id}"),
            &alice.token,
            json!({"name": "dev2"})
        )
        .status,
        204
    );
    within(&mut sse, &|v| v["name"] == "dev2", "rename");
    s.put(
        &ws("autostart"),
        &alice.token,
        json!({"schedule": "CRON_TZ=UTC 0 9 * * *"}),
    );
    within(
        &mut sse,
        &|v| v["autostart_schedule"] == "CRON_TZ=UTC 0 9 * * *",
        "autostart",
    );
    s.put(&ws("ttl"), &alice.token, json!({"ttl_ms": 7_200_000}));
    within(&mut sse, &|v| v["ttl_ms"] == 7_200_000, "ttl");
    s.put(&ws("favorite"), &alice.token, json!({}));
    within(&mut sse, &|v| v["favorite"] == true, "favorite");
    s.put(
        &ws("autoupdates"),
        &alice.token,
        json!({"automatic_updates": "always"}),
    );
    within(
        &mut sse,
        &|v| v["automatic_updates"] == "always",
        "autoupdates",
    );
    s.patch(
        &ws("acl"),
        &alice.token,
        json!({"group_roles": {o.org.clone(): "use"}}),
    );
    within(&mut sse, &|v| v["shared_with"].is_array(), "acl");
    // A build: state changes, then agents connect and become ready.
    s.post(&ws("builds"), &alice.token, json!({"transition": "stop"}))
        .ok(201);
    within(
        &mut sse,
        &|v| v["latest_build"]["transition"] == "stop",
        "build queued",
    );
    within(
        &mut sse,
        &|v| v["latest_build"]["status"] == "stopped",
        "build done",
    );
    s.post(&ws("builds"), &alice.token, json!({"transition": "start"}))
        .ok(201);
    let v = within(
        &mut sse,
        &|v| {
            v["latest_build"]["status"] == "running"
                && v["latest_build"]["resources"][1]["agents"][0]["lifecycle_state"] == "ready"
        },
        "started with its agent ready",
    );
    let started_deadline = v["latest_build"]["deadline"].as_str().map(str::to_string);
    let agent = v["latest_build"]["resources"][1]["agents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Deadline: extend.
    let target = (chrono::Utc::now() + chrono::Duration::hours(6))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    s.put(&ws("extend"), &alice.token, json!({"deadline": target}))
        .ok(200);
    let extended = within(
        &mut sse,
        &|v| v["latest_build"]["deadline"] == target.as_str(),
        "extend",
    );
    assert_ne!(
        extended["latest_build"]["deadline"]
            .as_str()
            .map(str::to_string),
        started_deadline
    );
    // Agent lifecycle and app status from an external agent.
    let token = s.request(
        "POST",
        &format!("/api/v2/workspaceagents/{agent}/token"),
        Some(&alice.token),
        &[],
        None,
    );
    let token = token.ok(201)["agent_token"].as_str().unwrap().to_string();
    s.request(
        "POST",
        "/api/v2/workspaceagents/me/report-lifecycle",
        Some(&token),
        &[],
        Some(&json!({"state": "start_error"}).to_string()),
    );
    within(
        &mut sse,
        &|v| v["latest_build"]["resources"][1]["agents"][0]["lifecycle_state"] == "start_error",
        "agent lifecycle",
    );
    s.request(
        "PATCH",
        "/api/v2/workspaceagents/me/app-status",
        Some(&token),
        &[],
        Some(&json!({"app_slug": "code-server", "state": "idle", "message": "done"}).to_string()),
    );
    within(
        &mut sse,
        &|v| v["latest_app_status"]["state"] == "idle",
        "app status",
    );
    // Usage that bumps the deadline.
    s.put(
        &ws("extend"),
        &alice.token,
        json!({"deadline": (chrono::Utc::now() + chrono::Duration::minutes(40)).to_rfc3339()}),
    )
    .ok(200);
    within(&mut sse, &|_| true, "extend again");
    s.post(
        &ws("usage"),
        &alice.token,
        json!({"agent_id": agent, "app_name": "ssh"}),
    );
    within(
        &mut sse,
        &|v| v["last_used_at"] != extended["last_used_at"],
        "usage",
    );
    // Dormancy.
    s.put(&ws("dormant"), &alice.token, json!({"dormant": true}))
        .ok(200);
    within(&mut sse, &|v| v["dormant_at"].is_string(), "dormancy");
    s.put(&ws("dormant"), &alice.token, json!({"dormant": false}))
        .ok(200);
    within(&mut sse, &|v| v["dormant_at"].is_null(), "wake");
    // Delete: the last state, then an error, then the stream ends.
    s.post(&ws("builds"), &alice.token, json!({"transition": "delete"}))
        .ok(201);
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut saw_error = false;
    while let Some((e, v)) = sse.next_data(deadline.saturating_duration_since(Instant::now())) {
        if e == "error" {
            assert_eq!(v["message"], "Workspace has been deleted.");
            saw_error = true;
            break;
        }
    }
    assert!(saw_error);
    assert!(
        sse.next(Duration::from_secs(1)).is_none(),
        "stream closed after the error"
    );
}

#[test]
fn sse_errors_before_streaming() {
    let (s, o, alice, template) = quick_server();
    let w = s.workspace(&o.token, &template, "adm");
    let id = w["id"].as_str().unwrap();
    let r = s.get(&format!("/api/v2/workspaces/{id}/watch"), &alice.token);
    r.assert_error(404, NOT_FOUND);
    s.anon("GET", &format!("/api/v2/workspaces/{id}/watch"), None)
        .assert_error(401, SIGNED_OUT);
    s.get("/api/v2/workspaces/nope/watch", &o.token)
        .assert_error(400, "Invalid UUID \"nope\".");
    s.anon("GET", &format!("/api/v2/workspaces/{id}/watch-ws"), None)
        .assert_error(401, SIGNED_OUT);
    s.get("/api/v2/workspaces/watch?q=foo:bar", &o.token)
        .assert_error(400, "Invalid workspace search query.");
}

#[test]
fn websocket_stream_and_close_on_lost_access() {
    let (s, o, alice, template) = quick_server();
    let bob = s.user(&o, "bob", &[]);
    let w = s.workspace(&alice.token, &template, "dev");
    let id = w["id"].as_str().unwrap().to_string();
    s.patch(
        &format!("/api/v2/workspaces/{id}/acl"),
        &alice.token,
        json!({"user_roles": {bob.id.clone(): "use"}}),
    );
    let mut ws = ws_open(&s, &format!("/api/v2/workspaces/{id}/watch-ws"), &bob.token);
    assert_eq!(
        ws_next(&mut ws).unwrap(),
        json!({"type": "ping", "data": null})
    );
    let first = ws_next(&mut ws).unwrap();
    assert_eq!(first["type"], "data");
    assert_eq!(first["data"]["id"], id.as_str());
    assert_eq!(first["data"]["favorite"], false);
    // A change arrives within a second.
    let t = Instant::now();
    s.put(
        &format!("/api/v2/workspaces/{id}/ttl"),
        &alice.token,
        json!({"ttl_ms": 600_000}),
    );
    let next = ws_next(&mut ws).unwrap();
    assert_eq!(next["data"]["ttl_ms"], 600_000);
    assert!(t.elapsed() < Duration::from_secs(1));
    // Losing access ends the stream with an error and a close frame.
    assert_eq!(
        s.delete(&format!("/api/v2/workspaces/{id}/acl"), &alice.token)
            .status,
        204
    );
    let err = ws_next(&mut ws).unwrap();
    assert_eq!(
        err,
        json!({"type": "error", "data": {"message": NOT_FOUND}})
    );
    let (code, reason) = ws_next(&mut ws).unwrap_err();
    assert_eq!(code, 1000);
    assert_eq!(reason, NOT_FOUND);
    // One-way: a client message closes with 1002.
    let mut ws = ws_open(
        &s,
        &format!("/api/v2/workspaces/{id}/watch-ws"),
        &alice.token,
    );
    ws_next(&mut ws).unwrap();
    ws_next(&mut ws).unwrap();
    ws.send(tungstenite::Message::Text("hello".into())).unwrap();
    let (code, reason) = ws_next(&mut ws).unwrap_err();
    assert_eq!(code, 1002);
    assert_eq!(
        reason,
        "Clients cannot send messages for one-way WebSockets"
    );
    // Token from the query string, as browsers send it.
    let url = format!(
        "ws://{}/api/v2/workspaces/{id}/watch-ws?coder_session_token={}",
        s.url("").trim_start_matches("http://"),
        alice.token
    );
    let (mut q, _) = tungstenite::connect(url.as_str()).unwrap();
    let first: Value =
        serde_json::from_str(q.read().unwrap().into_text().unwrap().as_str()).unwrap();
    assert_eq!(first, json!({"type": "ping", "data": null}));
}

#[test]
fn list_stream_reports_added_updated_removed() {
    let (s, _o, alice, template) = quick_server();
    s.workspace(&alice.token, &template, "one");
    let mut ws = ws_open(&s, "/api/v2/workspaces/watch-ws?q=owner:me", &alice.token);
    ws_next(&mut ws).unwrap();
    let page = ws_next(&mut ws).unwrap();
    assert_eq!(page["type"], "workspaces");
    assert_eq!(page["data"]["count"], 1);
    let r = s.post(
        "/api/v2/users/me/workspaces",
        &alice.token,
        json!({"template_id": template, "name": "two"}),
    );
    let two = r.ok(201)["id"].as_str().unwrap().to_string();
    let added = ws_next(&mut ws).unwrap();
    assert_eq!(added["type"], "workspace");
    assert_eq!(added["data"]["change"], "added");
    assert_eq!(added["data"]["workspace"]["name"], "two");
    // Later changes to it are updates (a burst may arrive as one).
    s.wait_build(&alice.token, &two);
    s.put(
        &format!("/api/v2/workspaces/{two}/ttl"),
        &alice.token,
        json!({"ttl_ms": 900_000}),
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let m = ws_next(&mut ws).unwrap();
        assert_eq!(m["data"]["change"], "updated", "{m}");
        if m["data"]["workspace"]["ttl_ms"] == 900_000 {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    s.post(
        &format!("/api/v2/workspaces/{two}/builds"),
        &alice.token,
        json!({"transition": "delete"}),
    )
    .ok(201);
    s.wait_build(&alice.token, &two);
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut removed = false;
    while Instant::now() < deadline {
        let m = ws_next(&mut ws).unwrap();
        if m["data"]["change"] == "removed" {
            assert_eq!(m["data"]["id"], two.as_str());
            removed = true;
            break;
        }
    }
    assert!(removed);
    // The SSE twin sends the same page first.
    let mut sse = Sse::open(&s, "/api/v2/workspaces/watch?q=owner:me", &alice.token);
    let (e, page) = sse.next_data(Duration::from_secs(2)).unwrap();
    assert_eq!(e, "workspaces");
    assert_eq!(page["count"], 1);
}

/// The next data event of a list stream over SSE, as
/// `{"event": kind, "data": body}` (pings and blank probes skipped).
fn sse_event(sse: &mut Sse) -> Value {
    loop {
        match sse.next_data(Duration::from_secs(3)) {
            Some((e, _)) if e.is_empty() => continue,
            Some((event, data)) => return json!({"event": event, "data": data}),
            None => panic!("the stream ended"),
        }
    }
}

/// The next message of a WebSocket stream that is not a ping.
fn ws_event(ws: &mut Ws) -> Value {
    loop {
        let m = ws_next(ws).unwrap();
        if m["type"] != "ping" {
            return m;
        }
    }
}

/// The list streams' later events, over both transports, against their
/// snapshots (the first event, the page, is recorded by the matrix): a
/// workspace shared with the watcher is `added`, a change to it `updated`,
/// losing the share `removed`. No build runs meanwhile, so every body shows
/// a settled workspace.
#[test]
fn list_stream_change_events_match_their_snapshots() {
    let (s, o, alice, template) = quick_server();
    let bob = s.user(&o, "bob", &[]);
    let w = s.workspace(&alice.token, &template, "shared");
    let id = w["id"].as_str().unwrap().to_string();
    let known = [
        (o.id.clone(), "user:owner".to_string()),
        (alice.id.clone(), "user:alice".into()),
        (bob.id.clone(), "user:bob".into()),
        (o.org.clone(), "organization:coder".into()),
        (template.clone(), "template:docker".into()),
        (id.clone(), "workspace:shared".into()),
    ];
    let sse_path = "/api/v2/workspaces/watch";
    let ws_path = "/api/v2/workspaces/watch-ws";
    let mut sse = Sse::open(&s, sse_path, &bob.token);
    let mut ws = ws_open(&s, ws_path, &bob.token);
    // Bob sees nothing yet.
    let page = sse_event(&mut sse);
    assert_eq!(
        (&page["event"], &page["data"]["count"]),
        (&json!("workspaces"), &json!(0))
    );
    let page = ws_event(&mut ws);
    assert_eq!(
        (&page["type"], &page["data"]["count"]),
        (&json!("workspaces"), &json!(0))
    );
    let acl = format!("/api/v2/workspaces/{id}/acl");
    let changes: [(&str, &dyn Fn()); 3] = [
        ("added", &|| {
            s.patch(
                &acl,
                &alice.token,
                json!({"user_roles": {bob.id.clone(): "use"}}),
            )
            .ok(204);
        }),
        ("updated", &|| {
            s.put(
                &format!("/api/v2/workspaces/{id}/ttl"),
                &alice.token,
                json!({"ttl_ms": 900_000}),
            )
            .ok(204);
        }),
        ("removed", &|| {
            s.delete(&acl, &alice.token).ok(204);
        }),
    ];
    for (change, act) in changes {
        act();
        let e = sse_event(&mut sse);
        assert_eq!(e["event"], "workspace", "{e}");
        assert_eq!(e["data"]["change"], change, "{e}");
        assert_eq!(e["data"]["id"], id.as_str());
        snapshot::assert_event_with("GET", sse_path, Some(change), &e, &known);
        let m = ws_event(&mut ws);
        assert_eq!(m["type"], "workspace", "{m}");
        // The same body (times may differ by the render's moment).
        assert_eq!(
            snapshot::normalize(&m["data"]),
            snapshot::normalize(&e["data"])
        );
        snapshot::assert_event_with("GET", ws_path, Some(change), &m, &known);
    }
}

#[test]
fn five_hundred_abandoned_watchers_leave_nothing_behind() {
    // Pings far apart: the clients below never answer them, and clean-up
    // must come from noticing the closed connections, not from timeouts.
    let s = Server::start_with(|c| c.watch_ping_interval = Duration::from_secs(60));
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let t = s.template(&o, "docker");
    let template = t["id"].as_str().unwrap().to_string();
    let w = s.workspace(&alice.token, &template, "dev");
    let id = w["id"].as_str().unwrap().to_string();
    let app = s.running.as_ref().unwrap().app.clone();
    let mut sockets = Vec::new();
    let mut streams = Vec::new();
    for i in 0..500 {
        if i % 2 == 0 {
            let mut ws = ws_open(
                &s,
                &format!("/api/v2/workspaces/{id}/watch-ws"),
                &alice.token,
            );
            ws_next(&mut ws).unwrap();
            sockets.push(ws);
        } else {
            let mut sse = Sse::open(&s, &format!("/api/v2/workspaces/{id}/watch"), &alice.token);
            sse.next(Duration::from_secs(2)).unwrap();
            streams.push(sse);
        }
    }
    assert_eq!(
        app.watchers
            .wait_until(Duration::from_secs(10), |n| n >= 500),
        500,
        "{} websockets, {} streams",
        sockets.len(),
        streams.len()
    );
    // Abrupt disconnects: sockets dropped without a close handshake.
    for ws in sockets.drain(..) {
        if let tungstenite::stream::MaybeTlsStream::Plain(t) = ws.get_ref() {
            let _ = t.shutdown(std::net::Shutdown::Both);
        }
    }
    for sse in streams.drain(..) {
        let _ = sse.reader.get_ref().shutdown(std::net::Shutdown::Both);
    }
    assert_eq!(
        app.watchers.wait_until(Duration::from_secs(10), |n| n == 0),
        0
    );
    // The server is still healthy.
    s.get(&format!("/api/v2/workspaces/{id}"), &alice.token)
        .ok(200);
}

#[test]
fn a_silent_external_agent_is_pushed_as_disconnected() {
    let s = Server::start_with(|c| c.agent_inactive_timeout = Duration::from_secs(60));
    let o = s.setup();
    let t = s.template(&o, "docker");
    let w = s.workspace(&o.token, t["id"].as_str().unwrap(), "dev");
    let id = w["id"].as_str().unwrap().to_string();
    let agent = w["latest_build"]["resources"][1]["agents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.request(
        "POST",
        &format!("/api/v2/workspaceagents/{agent}/token"),
        Some(&o.token),
        &[],
        None,
    )
    .ok(201);
    let mut sse = Sse::open(&s, &format!("/api/v2/workspaces/{id}/watch"), &o.token);
    let (_, first) = sse.next_data(Duration::from_secs(2)).unwrap();
    assert_eq!(
        first["latest_build"]["resources"][1]["agents"][0]["status"],
        "connected"
    );
    // Nothing is written when the agent goes quiet; the clock alone changes
    // its status, and the watcher is told.
    s.advance(Duration::from_secs(61));
    let (e, next) = sse.next_data(Duration::from_secs(5)).expect("pushed");
    assert_eq!(e, "data");
    assert_eq!(
        next["latest_build"]["resources"][1]["agents"][0]["status"],
        "disconnected"
    );
    assert_eq!(next["health"]["healthy"], false);
}

#[test]
fn stopping_the_server_ends_open_streams_promptly() {
    let (mut s, _o, alice, template) = quick_server();
    s.workspace(&alice.token, &template, "one");
    let mut ws = ws_open(&s, "/api/v2/workspaces/watch-ws?q=owner:me", &alice.token);
    ws_next(&mut ws).unwrap();
    let mut sse = Sse::open(&s, "/api/v2/workspaces/watch?q=owner:me", &alice.token);
    sse.next(Duration::from_secs(2)).unwrap();
    let t = Instant::now();
    s.running.take().unwrap().stop();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        t.elapsed()
    );
    // Both clients saw their stream end (after anything already sent).
    let mut left = 0;
    while sse.next(Duration::from_secs(2)).is_some() {
        left += 1;
        assert!(left < 10, "the SSE stream did not end");
    }
    let mut left = 0;
    while ws_next(&mut ws).is_ok() {
        left += 1;
        assert!(left < 10, "the WebSocket did not close");
    }
}
