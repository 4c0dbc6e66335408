//! Workspace builds, jobs, logs and agents.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;
use crate::snapshot;

fn statuses(w: &Value) -> (String, String) {
    (
        w["latest_build"]["status"].as_str().unwrap().to_string(),
        w["latest_build"]["job"]["status"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

fn build(s: &Server, token: &str, ws: &str, body: Value) -> Resp {
    s.post(&format!("/api/v2/workspaces/{ws}/builds"), token, body)
}

#[test]
fn start_stop_delete_lifecycle() {
    let s = Server::start();
    let o = s.setup();
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap();
    let r = s.post(
        "/api/v2/users/me/workspaces",
        &o.token,
        json!({"template_id": tid, "name": "dev"}),
    );
    let created = r.ok(201).clone();
    assert_eq!(created["latest_build"]["build_number"], 1);
    assert_eq!(created["latest_build"]["transition"], "start");
    assert_eq!(created["latest_build"]["reason"], "initiator");
    let id = created["id"].as_str().unwrap().to_string();
    let w = s.wait_build(&o.token, &id);
    assert_eq!(statuses(&w), ("running".into(), "succeeded".into()));
    let b = &w["latest_build"];
    assert_eq!(b["job"]["type"], "workspace_build");
    assert_eq!(b["job"]["worker_name"], "warren-built-in");
    assert_eq!(b["daily_cost"], 10);
    let names: Vec<&str> = b["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["home_volume", "workspace"]);
    let agent = &b["resources"][1]["agents"][0];
    assert_eq!(agent["status"], "connected");
    assert_eq!(agent["lifecycle_state"], "ready");
    assert_eq!(agent["health"], json!({"healthy": true}));
    assert_time(&agent["first_connected_at"]);
    assert_time(&agent["ready_at"]);
    assert_eq!(w["health"], json!({"healthy": true, "failing_agents": []}));
    // Parameters were resolved and stored.
    let params = s.get(
        &format!(
            "/api/v2/workspacebuilds/{}/parameters",
            b["id"].as_str().unwrap()
        ),
        &o.token,
    );
    assert_eq!(
        params.ok(200).clone(),
        json!([{"name": "image", "value": "ubuntu"}, {"name": "cpu", "value": "2"},
               {"name": "region", "value": "eu"}, {"name": "dotfiles", "value": ""}])
    );
    // Stop: persistent resources only, no agents.
    let r = build(&s, &o.token, &id, json!({"transition": "stop"}));
    let stop = r.ok(201).clone();
    assert_eq!(stop["build_number"], 2);
    assert_eq!(stop["status"], "pending");
    assert_eq!(stop["resources"], json!([]));
    let w = s.wait_build(&o.token, &id);
    assert_eq!(statuses(&w), ("stopped".into(), "succeeded".into()));
    let res = w["latest_build"]["resources"].as_array().unwrap();
    assert_eq!(res.len(), 1);
    assert_eq!(res[0]["workspace_transition"], "stop");
    // Coder omits a resource's empty agent list.
    assert!(res[0].get("agents").is_none(), "{}", res[0]);
    assert_eq!(w["latest_build"]["deadline"], Value::Null);
    // Start again, inheriting the parameters.
    build(
        &s,
        &o.token,
        &id,
        json!({"transition": "start", "reason": "cli"}),
    )
    .ok(201);
    let w = s.wait_build(&o.token, &id);
    assert_eq!(statuses(&w), ("running".into(), "succeeded".into()));
    assert_eq!(w["latest_build"]["reason"], "cli");
    // Delete.
    build(&s, &o.token, &id, json!({"transition": "delete"})).ok(201);
    let w = s.wait_build(&o.token, &id);
    assert_eq!(statuses(&w), ("deleted".into(), "succeeded".into()));
    s.get(&format!("/api/v2/workspaces/{id}"), &o.token).assert_error(
        410,
        &format!("Workspace {id:?} was deleted, you can view this workspace by specifying '?deleted=true' and trying again."),
    );
    // Builds list, newest first; by number.
    let list = s.get(&format!("/api/v2/workspaces/{id}/builds"), &o.token);
    let numbers: Vec<i64> = list
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["build_number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![4, 3, 2, 1]);
    let paged = s.get(
        &format!("/api/v2/workspaces/{id}/builds?limit=2&offset=1"),
        &o.token,
    );
    let numbers: Vec<i64> = paged
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["build_number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![3, 2]);
    // Keyset paging: the builds after one, and Coder's 400s for paging.
    let third = list.body[1]["id"].as_str().unwrap().to_string();
    let after = s.get(
        &format!("/api/v2/workspaces/{id}/builds?after_id={third}&limit=1"),
        &o.token,
    );
    assert_eq!(after.ok(200).as_array().unwrap().len(), 1);
    assert_eq!(after.body[0]["build_number"], 2);
    let unknown = "7c60d51f-b44e-4682-87d6-449835ea4de6";
    s.get(
        &format!("/api/v2/workspaces/{id}/builds?after_id={unknown}"),
        &o.token,
    )
    .assert_error(
        400,
        &format!("Record at \"after_id\" (\"{unknown}\") does not exist."),
    );
    let r = s.get(
        &format!("/api/v2/workspaces/{id}/builds?limit=abc"),
        &o.token,
    );
    r.assert_error(400, "Query parameters have invalid values.");
    assert_eq!(
        r.body["validations"],
        json!([{
            "field": "limit",
            "detail": "Query param \"limit\" must be a valid 32-bit positive integer: strconv.ParseInt: parsing \"abc\": invalid syntax"
        }])
    );
    let two = s.get("/api/v2/users/me/workspace/dev/builds/2", &o.token);
    assert_eq!(two.ok(200)["transition"], "stop");
    s.get("/api/v2/users/me/workspace/dev/builds/x", &o.token)
        .assert_error(400, "Failed to parse build number as integer.");
    s.get("/api/v2/users/me/workspace/dev/builds/99", &o.token)
        .assert_error(404, NOT_FOUND);
    s.get("/api/v2/users/me/workspace/nope/builds/1", &o.token)
        .assert_error(404, NOT_FOUND);
    // Completed builds feed the template's build-time statistics.
    let stats = s.get(&format!("/api/v2/templates/{tid}"), &o.token);
    let stats = &stats.ok(200)["build_time_stats"];
    assert!(
        stats["start"]["P50"].is_number() && stats["stop"]["P95"].is_number(),
        "{stats}"
    );
    let listed = s.get("/api/v2/templates", &o.token);
    assert_eq!(&listed.ok(200)[0]["build_time_stats"], stats);
    // Its only workspace is deleted by now.
    assert_eq!(listed.body[0]["active_user_count"], 0);
    // The name is free again.
    let again = s.post(
        "/api/v2/users/me/workspaces",
        &o.token,
        json!({"template_id": tid, "name": "dev"}),
    );
    again.ok(201);
}

#[test]
fn build_errors_and_permissions() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let b = s.user(&o, "bob", &[]);
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap();
    let w = s.workspace(&a.token, tid, "mine");
    let id = w["id"].as_str().unwrap().to_string();
    build(&s, &a.token, &id, json!({}))
        .assert_error(400, "Validation failed.")
        .assert_field("transition");
    build(&s, &a.token, &id, json!({"transition": "reboot"}))
        .assert_error(400, "Validation failed.")
        .assert_field("transition");
    build(
        &s,
        &a.token,
        &id,
        json!({"transition": "start", "reason": "because"}),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("reason");
    build(
        &s,
        &a.token,
        &id,
        json!({"transition": "stop", "orphan": true}),
    )
    .assert_error(400, "Orphan is only permitted when deleting a workspace.");
    build(
        &s,
        &a.token,
        &id,
        json!({"transition": "delete", "orphan": true, "state": "e30="}),
    )
    .assert_error(
        400,
        "ProvisionerState cannot be set alongside Orphan since state intent is unclear.",
    );
    build(
        &s,
        &a.token,
        &id,
        json!({"transition": "delete", "orphan": true}),
    )
    .assert_error(403, "Only template managers may provide custom state");
    build(
        &s,
        &a.token,
        &id,
        json!({"transition": "start", "log_level": "debug"}),
    )
    .assert_error(
        400,
        "Workspace builds with a custom log level are restricted to administrators only.",
    );
    build(&s, &a.token, &id, json!({"transition": "start", "template_version_id": "7c60d51f-b44e-4682-87d6-449835ea4de6"}))
        .assert_error(400, "template version does not exist");
    let other = s.import(&o, "docker", None);
    build(
        &s,
        &a.token,
        &id,
        json!({"transition": "start", "template_version_id": other["id"]}),
    )
    .assert_error(400, "template version doesn't match template");
    // Parameter rules: each failure names the parameter.
    build(
        &s,
        &a.token,
        &id,
        json!({"transition": "start", "rich_parameter_values": [{"name": "cpu", "value": "20"}]}),
    )
    .assert_error(400, "Unable to validate parameter \"cpu\"")
    .assert_detail("CPU must be between 1 and 8, got 20");
    build(&s, &a.token, &id, json!({"transition": "start", "rich_parameter_values": [{"name": "region", "value": "us"}]}))
        .assert_error(400, "Unable to validate parameter \"region\"");
    build(&s, &a.token, &id, json!({"transition": "start", "rich_parameter_values": [{"name": "image", "value": "arch"}]}))
        .assert_error(400, "Unable to validate parameter \"image\"");
    // Hidden from others, 401 without a session, bad id.
    build(&s, &b.token, &id, json!({"transition": "stop"})).assert_error(404, NOT_FOUND);
    s.anon(
        "POST",
        &format!("/api/v2/workspaces/{id}/builds"),
        Some(json!({"transition": "stop"})),
    )
    .assert_error(401, SIGNED_OUT);
    build(&s, &a.token, "nope", json!({"transition": "stop"}))
        .assert_error(400, "Invalid UUID \"nope\".");
    s.get(&format!("/api/v2/workspaces/{id}/builds"), &b.token)
        .assert_error(404, NOT_FOUND);
    let bid = w["latest_build"]["id"].as_str().unwrap().to_string();
    s.get(&format!("/api/v2/workspacebuilds/{bid}"), &b.token)
        .assert_error(404, NOT_FOUND);
    s.get(&format!("/api/v2/workspacebuilds/{bid}"), &a.token)
        .ok(200);
    s.get(
        "/api/v2/workspacebuilds/7c60d51f-b44e-4682-87d6-449835ea4de6",
        &a.token,
    )
    .assert_error(404, NOT_FOUND);
    s.anon("GET", &format!("/api/v2/workspacebuilds/{bid}"), None)
        .assert_error(401, SIGNED_OUT);
    // State is for template managers only.
    s.get(&format!("/api/v2/workspacebuilds/{bid}/state"), &a.token)
        .assert_error(404, NOT_FOUND);
    let st = s.get(&format!("/api/v2/workspacebuilds/{bid}/state"), &o.token);
    assert_eq!(st.ok(200)["version"], 4);
    let res = s.get(
        &format!("/api/v2/workspacebuilds/{bid}/resources"),
        &a.token,
    );
    assert_eq!(res.ok(200).as_array().unwrap().len(), 2);
    // A valid change of a mutable parameter works, and the monotonic rule holds.
    build(
        &s,
        &a.token,
        &id,
        json!({"transition": "stop", "rich_parameter_values": [{"name": "cpu", "value": "4"}]}),
    )
    .ok(201);
    s.wait_build(&a.token, &id);
    build(
        &s,
        &a.token,
        &id,
        json!({"transition": "start", "rich_parameter_values": [{"name": "cpu", "value": "3"}]}),
    )
    .assert_error(400, "Unable to validate parameter \"cpu\"");
    // An owner may act on the member's workspace.
    build(&s, &o.token, &id, json!({"transition": "start"})).ok(201);
    // A build while another is active is a conflict.
    let slow = Server::start_with(|c| c.provisioner_delay = Duration::from_secs(2));
    let so = slow.setup();
    let st = slow.template(&so, "docker");
    let r = slow.post(
        "/api/v2/users/me/workspaces",
        &so.token,
        json!({"template_id": st["id"], "name": "w"}),
    );
    let sid = r.ok(201)["id"].as_str().unwrap().to_string();
    build(&slow, &so.token, &sid, json!({"transition": "stop"}))
        .assert_error(409, "A workspace build is already active.");
}

#[test]
fn twenty_simultaneous_starts_give_one_build() {
    // Builds take long enough to still be active while the requests race.
    let s = Server::start_with(|c| c.provisioner_delay = Duration::from_millis(1500));
    let o = s.setup();
    let t = s.template(&o, "docker");
    let w = s.workspace(&o.token, t["id"].as_str().unwrap(), "race");
    let id = w["id"].as_str().unwrap().to_string();
    build(&s, &o.token, &id, json!({"transition": "stop"})).ok(201);
    s.wait_build(&o.token, &id);
    let codes: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                scope.spawn(|| build(&s, &o.token, &id, json!({"transition": "start"})).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(codes.iter().filter(|c| **c == 201).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 19, "{codes:?}");
    let list = s.get(&format!("/api/v2/workspaces/{id}/builds"), &o.token);
    assert_eq!(list.ok(200).as_array().unwrap().len(), 3);
}

#[test]
fn cancel_mid_build() {
    let s = Server::start_with(|c| c.provisioner_delay = Duration::from_secs(2));
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let t = s.template(&o, "docker");
    let r = s.post(
        "/api/v2/users/me/workspaces",
        &a.token,
        json!({"template_id": t["id"], "name": "w"}),
    );
    let w = r.ok(201).clone();
    let id = w["id"].as_str().unwrap().to_string();
    let bid = w["latest_build"]["id"].as_str().unwrap().to_string();
    let cancel = format!("/api/v2/workspacebuilds/{bid}/cancel");
    // The template does not let users cancel.
    s.patch(&cancel, &a.token, json!({})).assert_error(
        403,
        "User is not allowed to cancel workspace builds. Owner role is required.",
    );
    s.watch_until(&id, &o.token, Duration::from_secs(10), |w| {
        w["latest_build"]["job"]["status"] == "running"
    });
    s.patch(
        &format!("{cancel}?expect_status=pending"),
        &o.token,
        json!({}),
    )
    .assert_error(
        412,
        "Job is not in the expected state. Expected: pending, Got: running",
    );
    let r = s.patch(&cancel, &o.token, json!({}));
    assert_eq!(r.ok(200)["message"], "Job has been marked as canceled...");
    snapshot::assert_body(
        "PATCH",
        "/api/v2/workspacebuilds/{workspacebuild}/cancel",
        &r.body,
    );
    let b = s.get(&format!("/api/v2/workspacebuilds/{bid}"), &o.token);
    assert!(
        matches!(b.ok(200)["status"].as_str(), Some("canceling" | "canceled")),
        "{}",
        b.text
    );
    let w = s.wait_build(&a.token, &id);
    assert_eq!(statuses(&w), ("canceled".into(), "canceled".into()));
    assert!(w["latest_build"]["job"].get("error").is_none());
    s.patch(&cancel, &o.token, json!({}))
        .assert_error(400, "Job has already completed!");
    s.patch(
        "/api/v2/workspacebuilds/7c60d51f-b44e-4682-87d6-449835ea4de6/cancel",
        &o.token,
        json!({}),
    )
    .assert_error(404, NOT_FOUND);
    s.anon("PATCH", &cancel, None).assert_error(401, SIGNED_OUT);
}

#[test]
fn logs_stream_while_a_build_runs() {
    let s = Server::start_with(|c| c.provisioner_delay = Duration::from_millis(1200));
    let o = s.setup();
    let t = s.template(&o, "docker");
    let r = s.post(
        "/api/v2/users/me/workspaces",
        &o.token,
        json!({"template_id": t["id"], "name": "w"}),
    );
    let bid = r.ok(201)["latest_build"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!(
        "ws://{}/api/v2/workspacebuilds/{bid}/logs?follow&after=0",
        s.url("").trim_start_matches("http://")
    );
    let mut req =
        tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    req.headers_mut().insert(
        "Cookie",
        format!("coder_session_token={}", o.token).parse().unwrap(),
    );
    let (mut socket, _) = tungstenite::connect(req).unwrap();
    if let tungstenite::stream::MaybeTlsStream::Plain(t) = socket.get_ref() {
        t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    let started = std::time::Instant::now();
    let mut logs = Vec::new();
    let mut first_at = None;
    loop {
        match socket.read() {
            Ok(tungstenite::Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                first_at.get_or_insert(started.elapsed());
                logs.push(v);
            }
            Ok(tungstenite::Message::Close(frame)) => {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(1000));
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("socket error: {e}"),
        }
    }
    // Logs arrived while the build was still running, then the socket closed.
    assert!(
        first_at.unwrap() < Duration::from_millis(900),
        "{first_at:?}"
    );
    let stages: Vec<&str> = logs.iter().map(|l| l["stage"].as_str().unwrap()).collect();
    assert!(
        stages.contains(&"Setting up")
            && stages.contains(&"Starting workspace")
            && stages.contains(&"Cleaning up"),
        "{stages:?}"
    );
    assert!(logs
        .windows(2)
        .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()));
    let b = s.get(&format!("/api/v2/workspacebuilds/{bid}"), &o.token);
    assert_eq!(b.ok(200)["job"]["status"], "succeeded");
    // Non-follow form and its errors.
    let page = s.get(&format!("/api/v2/workspacebuilds/{bid}/logs"), &o.token);
    assert_eq!(page.ok(200).as_array().unwrap().len(), logs.len());
    s.get(
        &format!("/api/v2/workspacebuilds/{bid}/logs?after=abc"),
        &o.token,
    )
    .assert_error(400, "Query param \"after\" must be an integer.");
}

#[test]
fn agents_read_and_driven_externally() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let t = s.template(&o, "docker");
    let w = s.workspace(&o.token, t["id"].as_str().unwrap(), "dev");
    let wid = w["id"].as_str().unwrap().to_string();
    let agent_id = w["latest_build"]["resources"][1]["agents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.get(&format!("/api/v2/workspaceagents/{agent_id}"), &o.token);
    let agent = r.ok(200).clone();
    assert_eq!(agent["name"], "main");
    assert_eq!(agent["status"], "connected");
    assert_eq!(agent["parent_id"], Value::Null);
    assert_eq!(agent["scripts"].as_array().unwrap().len(), 2);
    assert_eq!(agent["log_sources"].as_array().unwrap().len(), 2);
    s.get(&format!("/api/v2/workspaceagents/{agent_id}"), &a.token)
        .assert_error(404, NOT_FOUND);
    s.get(
        "/api/v2/workspaceagents/7c60d51f-b44e-4682-87d6-449835ea4de6",
        &o.token,
    )
    .assert_error(404, NOT_FOUND);
    s.anon("GET", &format!("/api/v2/workspaceagents/{agent_id}"), None)
        .assert_error(401, SIGNED_OUT);
    // Take the agent over from the simulation.
    s.request(
        "POST",
        &format!("/api/v2/workspaceagents/{agent_id}/token"),
        Some(&a.token),
        &[],
        None,
    )
    .assert_error(404, NOT_FOUND);
    let r = s.request(
        "POST",
        &format!("/api/v2/workspaceagents/{agent_id}/token"),
        Some(&o.token),
        &[],
        None,
    );
    let token = r.ok(201)["agent_token"].as_str().unwrap().to_string();
    let agent_req = |method: &str, path: &str, body: Value| {
        s.request(method, path, Some(&token), &[], Some(&body.to_string()))
    };
    let r = agent_req(
        "POST",
        "/api/v2/workspaceagents/me/report-lifecycle",
        json!({"state": "start_error"}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    agent_req(
        "POST",
        "/api/v2/workspaceagents/me/report-lifecycle",
        json!({"state": "napping"}),
    )
    .assert_error(400, "Invalid lifecycle state.")
    .assert_field("state");
    let w = s.get(&format!("/api/v2/workspaces/{wid}"), &o.token);
    assert_eq!(
        w.ok(200)["health"],
        json!({"healthy": false, "failing_agents": [agent_id]})
    );
    let r = agent_req(
        "PATCH",
        "/api/v2/workspaceagents/me/app-status",
        json!({"app_slug": "code-server", "state": "working", "message": "indexing", "uri": "file:///x"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    agent_req(
        "PATCH",
        "/api/v2/workspaceagents/me/app-status",
        json!({"app_slug": "code-server", "state": "sleepy"}),
    )
    .assert_error(400, "Invalid state provided.")
    .assert_field("state");
    agent_req(
        "PATCH",
        "/api/v2/workspaceagents/me/app-status",
        json!({"app_slug": "nope", "state": "idle"}),
    )
    .assert_error(400, "Failed to get workspace app.")
    .assert_detail("No app found with slug \"nope\"");
    let w = s.get(&format!("/api/v2/workspaces/{wid}"), &o.token);
    let st = &w.ok(200)["latest_app_status"];
    assert_eq!(st["state"], "working");
    assert_eq!(st["message"], "indexing");
    assert_eq!(st["agent_id"], agent_id.as_str());
    // Startup report: version, directory and subsystems show on the agent.
    let r = agent_req(
        "POST",
        "/api/v2/workspaceagents/me/startup",
        json!({"version": "2.29.0", "expanded_directory": "/home/coder", "subsystems": ["envbox"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let a = s.get(&format!("/api/v2/workspaceagents/{agent_id}"), &o.token);
    assert_eq!(a.ok(200)["version"], "2.29.0");
    agent_req(
        "POST",
        "/api/v2/workspaceagents/me/startup",
        json!({"subsystems": ["kubernetes"]}),
    )
    .assert_error(400, "Invalid subsystem.")
    .assert_field("subsystems");
    s.request(
        "POST",
        "/api/v2/workspaceagents/me/startup",
        None,
        &[],
        Some("{}"),
    )
    .assert_error(401, SIGNED_OUT);
    let key = s.request(
        "GET",
        "/api/v2/workspaceagents/me/gitsshkey",
        Some(&token),
        &[],
        None,
    );
    assert!(key.ok(200)["private_key"]
        .as_str()
        .unwrap()
        .contains("OPENSSH PRIVATE KEY"));
    // Bad and unknown agent tokens.
    s.request(
        "GET",
        "/api/v2/workspaceagents/me/gitsshkey",
        Some("not-a-uuid"),
        &[],
        None,
    )
    .assert_error(401, SIGNED_OUT)
    .assert_detail("Agent token is invalid.");
    s.request(
        "GET",
        "/api/v2/workspaceagents/me/gitsshkey",
        Some("7c60d51f-b44e-4682-87d6-449835ea4de6"),
        &[],
        None,
    )
    .assert_error(401, SIGNED_OUT);
    // A silent external agent becomes disconnected after the inactivity timeout.
    let quick = Server::start_with(|c| c.agent_inactive_timeout = Duration::from_secs(60));
    let qo = quick.setup();
    let qt = quick.template(&qo, "docker");
    let qw = quick.workspace(&qo.token, qt["id"].as_str().unwrap(), "dev");
    let qa = qw["latest_build"]["resources"][1]["agents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    quick
        .request(
            "POST",
            &format!("/api/v2/workspaceagents/{qa}/token"),
            Some(&qo.token),
            &[],
            None,
        )
        .ok(201);
    // The list counts by agents' status hold until the moment it changes,
    // and no further (nothing is written in between).
    let counts = |q: &str| {
        let r = quick.get(&format!("/api/v2/workspaces?q={q}"), &qo.token);
        let v = r.ok(200);
        (
            v["count"].as_i64().unwrap(),
            v["workspaces"].as_array().unwrap().len() as i64,
        )
    };
    assert_eq!(counts("has-agent:connected"), (1, 1));
    assert_eq!(counts("has-agent:disconnected"), (0, 0));
    quick.advance(Duration::from_secs(59));
    assert_eq!(counts("has-agent:connected"), (1, 1));
    quick.advance(Duration::from_secs(2));
    assert_eq!(counts("has-agent:connected"), (0, 0));
    assert_eq!(counts("has-agent:disconnected"), (1, 1));
    let r = quick.get(&format!("/api/v2/workspaceagents/{qa}"), &qo.token);
    assert_eq!(r.ok(200)["status"], "disconnected");
    assert_eq!(
        r.body["health"],
        json!({"healthy": false, "reason": "agent is not connected"})
    );
}

#[test]
fn build_sub_resources_not_found_and_hidden() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let t = s.template(&o, "docker");
    let w = s.workspace(&o.token, t["id"].as_str().unwrap(), "dev");
    let bid = w["latest_build"]["id"].as_str().unwrap().to_string();
    for sub in ["parameters", "resources", "logs", "state"] {
        let r = s.get(&format!("/api/v2/workspacebuilds/{bid}/{sub}"), &o.token);
        assert_eq!(r.status, 200, "{sub}: {}", r.text);
        s.get(&format!("/api/v2/workspacebuilds/{bid}/{sub}"), &a.token)
            .assert_error(404, NOT_FOUND);
        s.get(
            &format!("/api/v2/workspacebuilds/7c60d51f-b44e-4682-87d6-449835ea4de6/{sub}"),
            &o.token,
        )
        .assert_error(404, NOT_FOUND);
        s.get(&format!("/api/v2/workspacebuilds/nope/{sub}"), &o.token)
            .assert_error(400, "Invalid UUID \"nope\".");
        s.anon("GET", &format!("/api/v2/workspacebuilds/{bid}/{sub}"), None)
            .assert_error(401, SIGNED_OUT);
    }
    s.get(
        &format!(
            "/api/v2/workspaces/{}/builds?since=yesterday",
            w["id"].as_str().unwrap()
        ),
        &o.token,
    )
    .assert_error(400, "Query parameters have invalid values.")
    .assert_field("since");
    s.get(
        &format!(
            "/api/v2/workspaces/{}/builds?after_id=x",
            w["id"].as_str().unwrap()
        ),
        &o.token,
    )
    .assert_error(400, "Query parameters have invalid values.")
    .assert_field("after_id");
}
