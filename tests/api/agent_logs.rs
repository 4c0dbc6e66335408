//! Agent logs, metadata and listening ports: written by agents with their
//! tokens (and by the simulation), read and followed by whoever may read
//! the agent's workspace.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;

type Ws = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>;

/// A server with an owner, Alice, Bob, and Alice's running workspace; its
/// agent's id.
struct World {
    s: Server,
    o: Owner,
    alice: TestUser,
    bob: TestUser,
    workspace: String,
    agent: String,
}

fn world(configure: impl FnOnce(&mut warren::Config)) -> World {
    let s = Server::start_with(configure);
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &[]);
    let t = s.template(&o, "tee");
    let w = s.workspace(&alice.token, t["id"].as_str().unwrap(), "dev");
    let agent = agent_of(&w);
    World {
        s,
        o,
        alice,
        bob,
        workspace: w["id"].as_str().unwrap().to_string(),
        agent,
    }
}

fn agent_of(w: &Value) -> String {
    w["latest_build"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["agents"].as_array().cloned().unwrap_or_default())
        .next()
        .expect("an agent")["id"]
        .as_str()
        .unwrap()
        .to_string()
}

impl World {
    /// Hands the agent over to an outside process: its new token.
    fn take_over(&self) -> String {
        let r = self.s.post(
            &format!("/api/v2/workspaceagents/{}/token", self.agent),
            &self.alice.token,
            json!({}),
        );
        r.ok(201)["agent_token"].as_str().unwrap().to_string()
    }

    fn logs(&self, query: &str) -> Vec<Value> {
        let r = self.s.get(
            &format!("/api/v2/workspaceagents/{}/logs{query}", self.agent),
            &self.alice.token,
        );
        r.ok(200).as_array().unwrap().clone()
    }

    fn agent(&self) -> Value {
        let r = self.s.get(
            &format!("/api/v2/workspaceagents/{}", self.agent),
            &self.alice.token,
        );
        r.ok(200).clone()
    }
}

fn ws_open(s: &Server, path: &str, token: &str) -> Ws {
    let url = format!("ws://{}{path}", s.url("").trim_start_matches("http://"));
    let mut req =
        tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    req.headers_mut()
        .insert("Coder-Session-Token", token.parse().unwrap());
    let (socket, _) = tungstenite::connect(req).unwrap();
    if let tungstenite::stream::MaybeTlsStream::Plain(t) = socket.get_ref() {
        t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    socket
}

/// The next text message as JSON, or the close frame's code.
fn ws_next(ws: &mut Ws) -> Result<Value, u16> {
    loop {
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => return Ok(serde_json::from_str(&t).unwrap()),
            Ok(tungstenite::Message::Close(f)) => {
                return Err(f.map(|f| f.code.into()).unwrap_or(0))
            }
            Ok(_) => continue,
            Err(e) => panic!("websocket: {e}"),
        }
    }
}

#[test]
fn simulated_agents_log_their_start_and_agents_append_with_sources() {
    let w = world(|_| {});
    let s = &w.s;
    // The simulation ran the start scripts: a trace of each, echoes printed.
    let logs = w.logs("");
    let outputs: Vec<&str> = logs.iter().map(|l| l["output"].as_str().unwrap()).collect();
    assert_eq!(
        outputs,
        vec![
            "+ set -e",
            "+ echo \"starting\"",
            "starting",
            "+ coder dotfiles -y"
        ]
    );
    let agent = w.agent();
    let startup = agent["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sc| sc["display_name"] == "Startup Script")
        .unwrap()["log_source_id"]
        .clone();
    assert_eq!(logs[0]["source_id"], startup);
    assert_eq!(logs[0]["level"], "info");
    assert_time(&logs[0]["created_at"]);
    let length: usize = outputs.iter().map(|o| o.len()).sum();
    assert_eq!(agent["logs_length"], length);
    assert_eq!(agent["logs_overflowed"], false);
    // Paging by id.
    let first = logs[0]["id"].as_i64().unwrap();
    assert_eq!(w.logs(&format!("?after={first}")).len(), 3);
    assert_eq!(w.logs(&format!("?before={}", first + 2)).len(), 2);
    assert_eq!(
        w.logs(&format!("?after={first}&before={}", first + 2))
            .len(),
        1
    );
    // An outside agent sends lines without a source: Coder's External one.
    let token = w.take_over();
    let r = s.request(
        "PATCH",
        "/api/v2/workspaceagents/me/logs",
        Some(&token),
        &[],
        Some(
            &json!({"logs": [
                {"created_at": "2020-01-01T00:00:00Z", "output": "hello", "level": "warn"},
                {"created_at": "2020-01-01T00:00:00Z", "output": "world"},
            ]})
            .to_string(),
        ),
    );
    assert_eq!(r.ok(200), &Value::Null);
    let logs = w.logs("");
    let last = &logs[logs.len() - 1];
    assert_eq!(last["output"], "world");
    assert_eq!(last["level"], "info");
    assert_eq!(last["source_id"], "3b579bf4-1ed8-4b99-87a8-e9a1e3410410");
    // Stamped with the server's clock, not the agent's.
    assert_ne!(last["created_at"], "2020-01-01T00:00:00Z");
    assert_eq!(logs[logs.len() - 2]["level"], "warn");
    // A source of its own, registered once (again answers the same).
    let source = json!({"id": "0d9a4c42-53c3-4e8b-9a0e-8c3f6b2f1a11", "display_name": "Build",
                        "icon": "/emojis/1f528.png"});
    for _ in 0..2 {
        let r = s.request(
            "POST",
            "/api/v2/workspaceagents/me/log-source",
            Some(&token),
            &[],
            Some(&source.to_string()),
        );
        let b = r.ok(201);
        assert_eq!(b["id"], source["id"]);
        assert_eq!(b["workspace_agent_id"], w.agent.as_str());
        assert_eq!(b["display_name"], "Build");
    }
    let r = s.request(
        "PATCH",
        "/api/v2/workspaceagents/me/logs",
        Some(&token),
        &[],
        Some(&json!({"log_source_id": source["id"], "logs": [{"output": "compiling", "level": "debug"}]}).to_string()),
    );
    r.ok(200);
    assert_eq!(w.logs("").last().unwrap()["source_id"], source["id"]);
    let names: Vec<Value> = w.agent()["log_sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["display_name"].clone())
        .collect();
    assert!(names.contains(&json!("External")) && names.contains(&json!("Build")));
    // Bad input, each naming its field.
    let patch = |body: Value| {
        s.request(
            "PATCH",
            "/api/v2/workspaceagents/me/logs",
            Some(&token),
            &[],
            Some(&body.to_string()),
        )
    };
    patch(json!({"logs": []}))
        .assert_error(400, "No logs provided.")
        .assert_field("logs");
    patch(json!({"logs": [{"output": "x", "level": "loud"}]}))
        .assert_error(400, "Invalid log level provided.")
        .assert_detail("invalid log level: \"loud\"")
        .assert_field("level");
    let r = patch(json!({"logs": "x"}));
    r.assert_error(400, "Request body must be valid JSON.");
    assert!(
        r.body["detail"].as_str().unwrap().starts_with("logs: "),
        "{}",
        r.text
    );
    s.get(
        &format!("/api/v2/workspaceagents/{}/logs?after=-1", w.agent),
        &w.alice.token,
    )
    .assert_error(
        400,
        "Query param \"after\" must be an integer greater than or equal to zero.",
    )
    .assert_field("after");
    s.get(
        &format!("/api/v2/workspaceagents/{}/logs?before=x", w.agent),
        &w.alice.token,
    )
    .assert_field("before");
    // Who may read them, and who may write them.
    s.get(
        &format!("/api/v2/workspaceagents/{}/logs", w.agent),
        &w.bob.token,
    )
    .assert_error(404, NOT_FOUND);
    s.get(
        "/api/v2/workspaceagents/00000000-0000-0000-0000-000000000001/logs",
        &w.o.token,
    )
    .assert_error(404, NOT_FOUND);
    s.anon(
        "GET",
        &format!("/api/v2/workspaceagents/{}/logs", w.agent),
        None,
    )
    .assert_error(401, SIGNED_OUT);
    s.anon(
        "PATCH",
        "/api/v2/workspaceagents/me/logs",
        Some(json!({"logs": [{"output": "x"}]})),
    )
    .assert_error(401, SIGNED_OUT);
    // A user's session is no agent token.
    s.request(
        "PATCH",
        "/api/v2/workspaceagents/me/logs",
        Some(&w.alice.token),
        &[],
        Some(&json!({"logs": [{"output": "x"}]}).to_string()),
    )
    .assert_error(401, SIGNED_OUT)
    .assert_detail("Agent token is invalid.");
    let r = s.request(
        "POST",
        "/api/v2/workspaceagents/me/log-source",
        Some(&token),
        &[],
        Some(&json!({"id": "nope"}).to_string()),
    );
    r.assert_error(400, "Request body must be valid JSON.");
    assert!(
        r.body["detail"].as_str().unwrap().starts_with("id: "),
        "{}",
        r.text
    );
    // Every agent route wants an agent's token.
    for (method, route) in [
        ("POST", "log-source"),
        ("POST", "metadata"),
        ("POST", "listening-ports"),
    ] {
        let path = format!("/api/v2/workspaceagents/me/{route}");
        s.anon(method, &path, Some(json!({})))
            .assert_error(401, SIGNED_OUT);
        s.request(method, &path, Some(&w.alice.token), &[], Some("{}"))
            .assert_detail("Agent token is invalid.");
    }
}

#[test]
fn an_agents_logs_stop_at_one_mebibyte() {
    let w = world(|_| {});
    let token = w.take_over();
    let send = |n: usize| {
        w.s.request(
            "PATCH",
            "/api/v2/workspaceagents/me/logs",
            Some(&token),
            &[],
            Some(&json!({"logs": [{"output": "x".repeat(n)}]}).to_string()),
        )
    };
    send(600_000).ok(200);
    let before = w.agent()["logs_length"].as_i64().unwrap();
    // The batch that would pass the limit is refused whole, and marks the
    // logs overflowed.
    send(600_000).assert_error(413, "Logs limit exceeded");
    let agent = w.agent();
    assert_eq!(agent["logs_overflowed"], true);
    assert_eq!(agent["logs_length"], before);
    // Later ones that would pass it are told why; what still fits is
    // kept, as Coder's HTTP route keeps it.
    send(600_000)
        .assert_error(413, "Logs limit exceeded")
        .assert_detail("The agent's logs have reached their limit of 1048576 bytes.");
    send(10).ok(200);
    assert_eq!(w.logs("").len(), 6);
    assert_eq!(w.agent()["logs_length"], before + 10);
}

#[test]
fn following_agent_logs_pushes_new_lines_until_the_build_ends() {
    let w = world(|_| {});
    let s = &w.s;
    let token = w.take_over();
    let path = format!("/api/v2/workspaceagents/{}/logs?follow", w.agent);
    let mut ws = ws_open(s, &path, &w.alice.token);
    let first = ws_next(&mut ws).unwrap();
    assert_eq!(first.as_array().unwrap().len(), 4, "{first}");
    let last = first[3]["id"].as_i64().unwrap();
    for line in ["one", "two"] {
        s.request(
            "PATCH",
            "/api/v2/workspaceagents/me/logs",
            Some(&token),
            &[],
            Some(&json!({"logs": [{"output": line}]}).to_string()),
        )
        .ok(200);
        let next = ws_next(&mut ws).unwrap();
        assert_eq!(next[0]["output"], line, "{next}");
        assert!(next[0]["id"].as_i64().unwrap() > last);
    }
    // From a given id, an empty first array.
    let mut later = ws_open(
        s,
        &format!("{path}&after=999999&no_compression"),
        &w.alice.token,
    );
    assert_eq!(ws_next(&mut later).unwrap(), json!([]));
    // A new build replaces the agent: the stream ends normally.
    s.post(
        &format!("/api/v2/workspaces/{}/builds", w.workspace),
        &w.alice.token,
        json!({"transition": "stop"}),
    )
    .ok(201);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match ws_next(&mut ws) {
            Err(code) => {
                assert_eq!(code, 1000);
                break;
            }
            Ok(_) => assert!(Instant::now() < deadline, "the stream did not end"),
        }
    }
    // An agent of an old build: what it wrote, then the end.
    let mut old = ws_open(s, &path, &w.alice.token);
    assert_eq!(ws_next(&mut old).unwrap().as_array().unwrap().len(), 6);
    assert_eq!(ws_next(&mut old), Err(1000));
    // A page on another site may not follow them.
    let url = format!("ws://{}{path}", s.url("").trim_start_matches("http://"));
    let mut req =
        tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    req.headers_mut()
        .insert("Coder-Session-Token", w.alice.token.parse().unwrap());
    req.headers_mut()
        .insert("Origin", "http://evil.example".parse().unwrap());
    match tungstenite::connect(req) {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 403),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_followed_stream_answers_a_close_with_a_close() {
    let w = world(|_| {});
    let mut ws = ws_open(
        &w.s,
        &format!("/api/v2/workspaceagents/{}/logs?follow", w.agent),
        &w.alice.token,
    );
    ws_next(&mut ws).unwrap();
    ws.close(Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Away,
        reason: "".into(),
    }))
    .unwrap();
    loop {
        match ws.read() {
            Ok(tungstenite::Message::Close(f)) => {
                assert_eq!(f.map(|f| u16::from(f.code)), Some(1001));
                break;
            }
            Ok(_) => continue,
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn metadata_is_reported_on_its_interval_and_pushed_to_watchers() {
    let w = world(|_| {});
    let s = &w.s;
    let path = format!("/api/v2/workspaceagents/{}/watch-metadata", w.agent);
    let mut sse = Sse::open(s, &path, &w.alice.token);
    assert_eq!(sse.status, 200);
    assert!(sse.headers.contains("text/event-stream"));
    let (kind, first) = sse.next_data(Duration::from_secs(5)).unwrap();
    assert_eq!(kind, "data");
    let items = first.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["description"],
        json!({"display_name": "CPU Usage", "key": "0_cpu_usage", "script": "coder stat cpu",
               "interval": 10, "timeout": 1})
    );
    // The simulation reported at once, with coder stat's look.
    let cpu = items[0]["result"]["value"].as_str().unwrap();
    assert!(cpu.contains("/4 cores ("), "{cpu}");
    assert_eq!(items[0]["result"]["error"], "");
    assert_eq!(items[0]["result"]["age"], 0);
    assert!(items[1]["result"]["value"]
        .as_str()
        .unwrap()
        .contains("GiB"));
    let collected = items[0]["result"]["collected_at"].clone();
    // Nothing is due before the interval has passed.
    s.advance(Duration::from_secs(5));
    s.settle();
    s.advance(Duration::from_secs(5));
    s.settle();
    let (_, next) = sse.next_data(Duration::from_secs(5)).unwrap();
    assert_ne!(next[0]["result"]["collected_at"], collected);
    assert_eq!(next[0]["result"]["age"], 0);
    // The WebSocket twin sends the same events.
    let mut ws = ws_open(
        s,
        &format!("/api/v2/workspaceagents/{}/watch-metadata-ws", w.agent),
        &w.alice.token,
    );
    assert_eq!(
        ws_next(&mut ws).unwrap(),
        json!({"type": "ping", "data": null})
    );
    let m = ws_next(&mut ws).unwrap();
    assert_eq!(m["type"], "data");
    assert_eq!(
        m["data"][0]["result"]["collected_at"],
        next[0]["result"]["collected_at"]
    );
    // An outside agent reports its own results; the simulation stops.
    let token = w.take_over();
    let long = "v".repeat(3000);
    s.request(
        "POST",
        "/api/v2/workspaceagents/me/metadata",
        Some(&token),
        &[],
        Some(
            &json!({"metadata": [
                {"key": "0_cpu_usage", "value": "3.00/4 cores (75%)", "error": "",
                 "collected_at": "2020-01-01T00:00:00Z", "age": 9},
                {"key": "1_ram_usage", "value": long},
                {"key": "not_declared", "value": "ignored"},
            ]})
            .to_string(),
        ),
    )
    .ok(204);
    let deadline = Instant::now() + Duration::from_secs(5);
    let pushed = loop {
        let m = ws_next(&mut ws).unwrap();
        if m["data"][0]["result"]["value"] == "3.00/4 cores (75%)" {
            break m;
        }
        assert!(Instant::now() < deadline, "no push of the reported value");
    };
    let ram = &pushed["data"][1]["result"];
    assert_eq!(ram["value"].as_str().unwrap().len(), 2048);
    assert_eq!(ram["error"], "value of 3000 bytes exceeded 2048 bytes");
    assert_eq!(pushed["data"].as_array().unwrap().len(), 2);
    s.advance(Duration::from_secs(30));
    s.settle();
    let mut again = ws_open(
        s,
        &format!("/api/v2/workspaceagents/{}/watch-metadata-ws", w.agent),
        &w.alice.token,
    );
    ws_next(&mut again).unwrap();
    let now = ws_next(&mut again).unwrap();
    assert_eq!(
        now["data"][0]["result"]["value"], "3.00/4 cores (75%)",
        "the simulation kept reporting for an outside agent"
    );
    assert_eq!(now["data"][0]["result"]["age"], 30);
    // Bad input, unknown agents, strangers, anonymous callers.
    s.request(
        "POST",
        "/api/v2/workspaceagents/me/metadata",
        Some(&token),
        &[],
        Some(&json!({"metadata": [{"key": "", "value": "x"}]}).to_string()),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("key");
    s.request(
        "POST",
        "/api/v2/workspaceagents/me/metadata",
        Some(&token),
        &[],
        Some(&json!({"metadata": {"key": "x"}}).to_string()),
    )
    .assert_error(400, "Request body must be valid JSON.");
    s.anon(
        "POST",
        "/api/v2/workspaceagents/me/metadata",
        Some(json!({"metadata": []})),
    )
    .assert_error(401, SIGNED_OUT);
    for suffix in ["watch-metadata", "watch-metadata-ws"] {
        let p = format!("/api/v2/workspaceagents/{}/{suffix}", w.agent);
        s.get(&p, &w.bob.token).assert_error(404, NOT_FOUND);
        s.anon("GET", &p, None).assert_error(401, SIGNED_OUT);
        s.get(
            &format!("/api/v2/workspaceagents/00000000-0000-0000-0000-000000000001/{suffix}"),
            &w.o.token,
        )
        .assert_error(404, NOT_FOUND);
        s.get(
            &format!("/api/v2/workspaceagents/nope/{suffix}"),
            &w.o.token,
        )
        .assert_error(400, "Invalid UUID \"nope\".");
    }
}

#[test]
fn listening_ports_are_an_agents_reports_filtered_as_coder_filters_them() {
    let w = world(|c| c.agent_inactive_timeout = Duration::from_secs(60));
    let s = &w.s;
    let path = format!("/api/v2/workspaceagents/{}/listening-ports", w.agent);
    // The simulated agent listens on its app's port only, which is the
    // app's, not a port to offer.
    assert_eq!(s.get(&path, &w.alice.token).ok(200), &json!({"ports": []}));
    let token = w.take_over();
    let report = |ports: Value| {
        s.request(
            "POST",
            "/api/v2/workspaceagents/me/listening-ports",
            Some(&token),
            &[],
            Some(&json!({"ports": ports}).to_string()),
        )
    };
    report(json!([
        {"process_name": "sshd", "network": "tcp", "port": 22},
        {"process_name": "vite", "network": "tcp", "port": 5173},
        {"process_name": "code-server", "network": "tcp", "port": 13337},
        {"process_name": "agent", "network": "tcp", "port": 4},
        {"process_name": "postgres", "network": "tcp", "port": 5432},
        {"process_name": "api", "port": 3000},
    ]))
    .ok(204);
    assert_eq!(
        s.get(&path, &w.alice.token).ok(200),
        &json!({"ports": [
            {"process_name": "api", "network": "tcp", "port": 3000},
            {"process_name": "vite", "network": "tcp", "port": 5173},
        ]})
    );
    report(json!([{"port": 70000}]))
        .assert_error(400, "Invalid listening port.")
        .assert_field("port");
    report(json!([{"port": 53, "network": "udp"}]))
        .assert_error(400, "Invalid listening port.")
        .assert_field("network");
    s.get(&path, &w.bob.token).assert_error(404, NOT_FOUND);
    s.anon("GET", &path, None).assert_error(401, SIGNED_OUT);
    s.get(
        "/api/v2/workspaceagents/00000000-0000-0000-0000-000000000001/listening-ports",
        &w.o.token,
    )
    .assert_error(404, NOT_FOUND);
    s.get("/api/v2/workspaceagents/nope/listening-ports", &w.o.token)
        .assert_error(400, "Invalid UUID \"nope\".");
    // An agent that went silent cannot be asked.
    s.advance(Duration::from_secs(61));
    s.get(&path, &w.alice.token).assert_error(
        400,
        "Agent state is \"disconnected\", it must be in the \"connected\" state.",
    );
}
