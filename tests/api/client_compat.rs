//! What clients nobody here wrote found (issue 9): Coder's own dashboard
//! client, Coder's published schemas, a third-party Python client, and the
//! seed pages' older request forms, each driven over HTTP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;

const NO_SUCH: &str = "7c60d51f-b44e-4682-87d6-449835ea4de6";

// ------------------------------------------------- 1. the seed's old form

/// `POST …/workspaces` as the seed's `002_…` page documents it, verbatim
/// but for the template id.
fn seed_create_body(template_id: &str) -> Value {
    json!({
        "autostart_schedule": "string",
        "name": "string",
        "parameter_values": [
            {
                "copy_from_parameter": "000e07d6-021d-446c-be14-48a9c20bca0b",
                "destination_scheme": "none",
                "name": "string",
                "source_scheme": "none",
                "source_value": "string"
            }
        ],
        "rich_parameter_values": [{"name": "string", "value": "string"}],
        "template_id": template_id,
        "ttl_ms": 0
    })
}

fn old_parameter(name: &str, value: &str) -> Value {
    json!({
        "copy_from_parameter": "000e07d6-021d-446c-be14-48a9c20bca0b",
        "destination_scheme": "none",
        "name": name,
        "source_scheme": "data",
        "source_value": value
    })
}

#[test]
fn seed_old_create_form_is_accepted_on_both_routes() {
    let s = Server::start();
    let o = s.setup();
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap();
    let routes = [
        "/api/v2/users/me/workspaces".to_string(),
        format!("/api/v2/organizations/{}/members/me/workspaces", o.org),
    ];
    for (i, route) in routes.iter().enumerate() {
        // Verbatim, the body decodes; its placeholder "string" is then
        // refused as a schedule, exactly as Coder refuses it.
        s.post(route, &o.token, seed_create_body(tid))
            .assert_error(400, "Invalid Autostart Schedule.")
            .assert_field("schedule");
        // The same form with the template's parameters and a real schedule
        // creates the workspace; a name given in both lists takes the rich
        // value.
        let mut body = seed_create_body(tid);
        body["name"] = json!(format!("seeded{i}"));
        body["autostart_schedule"] = json!("CRON_TZ=UTC 30 9 * * 1-5");
        body["parameter_values"] =
            json!([old_parameter("image", "debian"), old_parameter("cpu", "3")]);
        body["rich_parameter_values"] = json!([{"name": "cpu", "value": "4"}]);
        let r = s.post(route, &o.token, body);
        let bid = r.ok(201)["latest_build"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let params = s.get(
            &format!("/api/v2/workspacebuilds/{bid}/parameters"),
            &o.token,
        );
        let value = |name: &str| {
            params
                .ok(200)
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .map(|p| p["value"].clone())
        };
        assert_eq!(value("image"), Some(json!("debian")), "{}", params.text);
        assert_eq!(value("cpu"), Some(json!("4")), "{}", params.text);
    }
}

// ------------------------------------------- 2. WebSocket close handshake

type Ws = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>;

fn ws_open(s: &Server, path: &str, token: &str) -> Ws {
    let url = format!("ws://{}{path}", s.url("").trim_start_matches("http://"));
    let mut req =
        tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    req.headers_mut()
        .insert("Coder-Session-Token", token.parse().unwrap());
    tungstenite::connect(req).unwrap().0
}

fn set_read_timeout(ws: &Ws, t: Duration) {
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(t)).unwrap();
    }
}

/// Sends Close(1000); the server's Close, echoing the code, must arrive
/// within 100 ms (RFC 6455 §5.5.1). Messages already in flight are skipped.
#[track_caller]
fn assert_close_answered(mut ws: Ws, what: &str) {
    ws.close(Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: "".into(),
    }))
    .unwrap();
    let deadline = Instant::now() + Duration::from_millis(100);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "{what}: no Close within 100 ms");
        set_read_timeout(&ws, left);
        match ws.read() {
            Ok(tungstenite::Message::Close(frame)) => {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(1000), "{what}");
                return;
            }
            Ok(_) => continue,
            Err(e) => panic!("{what}: no Close frame within 100 ms: {e}"),
        }
    }
}

#[test]
fn websocket_close_is_answered_on_watch_and_log_streams() {
    let s = Server::start_with(|c| c.provisioner_delay = Duration::from_secs(2));
    let o = s.setup();
    // The workspace's build and a second import stay running while their
    // logs are followed.
    let t = s.template(&o, "docker");
    let r = s.post(
        "/api/v2/users/me/workspaces",
        &o.token,
        json!({"template_id": t["id"], "name": "w"}),
    );
    let w = r.ok(201).clone();
    let id = w["id"].as_str().unwrap();
    let bid = w["latest_build"]["id"].as_str().unwrap();
    // A version whose import is still running.
    let file = s.upload(&o.token, "application/x-tar", &fixture_tar("docker"));
    let v = s.post(
        &format!("/api/v2/organizations/{}/templateversions", o.org),
        &o.token,
        json!({"storage_method": "file", "provisioner": "terraform", "file_id": file.body["hash"]}),
    );
    let vid = v.ok(201)["id"].as_str().unwrap().to_string();
    for (path, what) in [
        (format!("/api/v2/workspaces/{id}/watch-ws"), "watch-ws"),
        ("/api/v2/workspaces/watch-ws".to_string(), "list watch-ws"),
        (
            format!("/api/v2/workspacebuilds/{bid}/logs?follow&after=0"),
            "build logs follow",
        ),
        (
            format!("/api/v2/templateversions/{vid}/logs?follow&after=0"),
            "version logs follow",
        ),
    ] {
        let mut ws = ws_open(&s, &path, &o.token);
        if what.contains("watch") {
            // The stream is live: its first message has arrived.
            set_read_timeout(&ws, Duration::from_secs(5));
            assert!(matches!(ws.read(), Ok(tungstenite::Message::Text(_))));
        }
        assert_close_answered(ws, what);
    }
}

// ----------------------------------------------- 3. every Template field

/// `codersdk.Template` of Coder v2.29.
const TEMPLATE_FIELDS: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "organization_id",
    "organization_name",
    "organization_display_name",
    "organization_icon",
    "name",
    "display_name",
    "provisioner",
    "active_version_id",
    "active_user_count",
    "build_time_stats",
    "description",
    "deprecated",
    "deprecation_message",
    "icon",
    "default_ttl_ms",
    "activity_bump_ms",
    "autostop_requirement",
    "autostart_requirement",
    "created_by_id",
    "created_by_name",
    "allow_user_autostart",
    "allow_user_autostop",
    "allow_user_cancel_workspace_jobs",
    "failure_ttl_ms",
    "time_til_dormant_ms",
    "time_til_dormant_autodelete_ms",
    "require_active_version",
    "max_port_share_level",
    "use_classic_parameter_flow",
    "cors_behavior",
    "use_terraform_workspace_cache",
];

#[test]
fn templates_carry_use_terraform_workspace_cache() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let t = s.template(&o, "docker");
    for f in TEMPLATE_FIELDS {
        assert!(t.get(*f).is_some(), "template lacks {f}: {t}");
    }
    assert_eq!(t["use_terraform_workspace_cache"], false);
    let tid = t["id"].as_str().unwrap();
    let path = format!("/api/v2/templates/{tid}");
    let r = s.patch(
        &path,
        &o.token,
        json!({"use_terraform_workspace_cache": true}),
    );
    assert_eq!(r.ok(200)["use_terraform_workspace_cache"], true);
    assert_eq!(
        s.get(&path, &o.token).ok(200)["use_terraform_workspace_cache"],
        true
    );
    assert_eq!(
        s.get("/api/v2/templates", &o.token).ok(200)[0]["use_terraform_workspace_cache"],
        true
    );
    // Unchanged: 304, as for every other setting.
    assert_eq!(
        s.patch(
            &path,
            &o.token,
            json!({"use_terraform_workspace_cache": true})
        )
        .status,
        304
    );
    s.patch(
        &path,
        &o.token,
        json!({"use_terraform_workspace_cache": "yes"}),
    )
    .assert_error(400, "Request body must be valid JSON.");
    s.patch(
        &path,
        &a.token,
        json!({"use_terraform_workspace_cache": false}),
    )
    .assert_error(403, "Forbidden.");
    s.anon(
        "PATCH",
        &path,
        Some(json!({"use_terraform_workspace_cache": false})),
    )
    .assert_error(401, SIGNED_OUT);
}

// ------------------------------------------------------- 4. preset keys

#[test]
fn presets_use_the_keys_coders_server_sends() {
    let s = Server::start();
    let o = s.setup();
    let t = s.template(&o, "docker");
    let vid = t["active_version_id"].as_str().unwrap();
    let r = s.get(&format!("/api/v2/templateversions/{vid}/presets"), &o.token);
    let presets = r.ok(200).as_array().unwrap();
    assert_eq!(presets.len(), 1, "{}", r.text);
    let p = &presets[0];
    assert_keys(
        p,
        &[
            "ID",
            "Name",
            "Parameters",
            "Default",
            "DesiredPrebuildInstances",
            "Description",
            "Icon",
        ],
    );
    assert_eq!(p["Name"], "Big machine");
    assert_eq!(p["Description"], "Eight cores on Debian");
    assert_eq!(p["Default"], false);
    assert_eq!(p["DesiredPrebuildInstances"], Value::Null);
    assert!(p["ID"].as_str().is_some_and(|id| id.len() == 36));
    let params = p["Parameters"].as_array().unwrap();
    assert_eq!(params.len(), 3);
    for param in params {
        assert_keys(param, &["Name", "Value"]);
    }
    assert!(params
        .iter()
        .any(|x| x["Name"] == "image" && x["Value"] == "debian"));
    // The preset's ID is what builds take.
    let w = s.post(
        "/api/v2/users/me/workspaces",
        &o.token,
        json!({"template_id": t["id"], "name": "p", "template_version_preset_id": p["ID"]}),
    );
    assert_eq!(
        w.ok(201)["latest_build"]["template_version_preset_id"],
        p["ID"]
    );
}

// -------------------------------------------------- 5. template search

fn names(r: &Resp) -> Vec<String> {
    let mut n: Vec<String> = r
        .ok(200)
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[test]
fn template_search_speaks_coders_language() {
    let s = Server::start();
    let o = s.setup();
    let tadmin = s.user(&o, "tadmin", &["template-admin"]);
    let docker = s.template(&o, "docker");
    // A second template by another author, with a display name.
    let v = s.import(&o, "docker", None);
    let python = s.post(
        &format!("/api/v2/organizations/{}/templates", o.org),
        &tadmin.token,
        json!({"name": "python", "display_name": "Python Env", "template_version_id": v["id"]}),
    );
    let python = python.ok(201).clone();
    let v = s.import(&o, "docker", None);
    let old = s.post(
        &format!("/api/v2/organizations/{}/templates", o.org),
        &o.token,
        json!({"name": "old", "template_version_id": v["id"]}),
    );
    let old_id = old.ok(201)["id"].as_str().unwrap().to_string();
    s.delete(&format!("/api/v2/templates/{old_id}"), &o.token)
        .ok(200);
    let q = |q: &str| {
        s.get(
            &format!("/api/v2/templates?q={}", form_urlencoded(q)),
            &o.token,
        )
    };
    assert_eq!(names(&q("author:me")), ["docker"]);
    assert_eq!(names(&q("author:tadmin")), ["python"]);
    assert_eq!(names(&q("author:nobody")), Vec::<String>::new());
    assert_eq!(names(&q(&format!("author_id:{}", tadmin.id))), ["python"]);
    // Bare words are the display name (or the name when there is none).
    assert_eq!(names(&q("python env")), ["python"]);
    assert_eq!(names(&q("Env")), ["python"]);
    assert_eq!(names(&q("dock")), ["docker"]);
    assert_eq!(names(&q("display_name:pyth")), ["python"]);
    assert_eq!(names(&q("exact_display_name:\"python env\"")), ["python"]);
    assert_eq!(names(&q("exact_display_name:python")), Vec::<String>::new());
    assert_eq!(names(&q("name:pyth")), ["python"]);
    assert_eq!(names(&q("exact_name:docker")), ["docker"]);
    assert_eq!(names(&q("exact_name:dock")), Vec::<String>::new());
    assert_eq!(
        names(&q(&format!(
            "ids:{},{}",
            docker["id"].as_str().unwrap(),
            python["id"].as_str().unwrap()
        ))),
        ["docker", "python"]
    );
    assert_eq!(names(&q("deleted:true")), ["old"]);
    assert_eq!(names(&q("deleted:false")), ["docker", "python"]);
    assert_eq!(names(&q("organization:coder")), ["docker", "python"]);
    assert_eq!(
        names(&q(&format!("organization:{}", o.org))),
        ["docker", "python"]
    );
    assert_eq!(names(&q("has-ai-task:true")), Vec::<String>::new());
    assert_eq!(names(&q("has-ai-task:false")), ["docker", "python"]);
    assert_eq!(names(&q("has_external_agent:false")), ["docker", "python"]);
    assert_eq!(names(&q("deprecated:false author:me")), ["docker"]);
    // The organization-scoped list takes the same language.
    assert_eq!(
        names(&s.get(
            &format!("/api/v2/organizations/{}/templates?q=author:me", o.org),
            &o.token
        )),
        ["docker"]
    );
    // Coder's messages for bad values and unknown keys, all at once.
    let r = q("author_id:abc has-ai-task:maybe ids:x,y color:red deleted:2");
    r.assert_error(400, "Invalid template search query.");
    let v: Vec<(String, String)> = r.body["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["field"].as_str().unwrap().to_string(),
                v["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has = |field: &str, detail: &str| {
        assert!(
            v.iter().any(|(f, d)| f == field && d == detail),
            "no {field}: {detail} in {v:?}"
        )
    };
    has(
        "author_id",
        "Query param \"author_id\" must be a valid uuid",
    );
    has(
        "has-ai-task",
        "Query param \"has-ai-task\" must be a valid boolean: strconv.ParseBool: parsing \"maybe\": invalid syntax",
    );
    has(
        "ids",
        "Query param \"ids\" has invalid values: invalid UUID length: 1\ninvalid UUID length: 1",
    );
    has("color", "\"color\" is not a valid query param");
    has(
        "deleted",
        "Query param \"deleted\" must be a valid boolean: strconv.ParseBool: parsing \"2\": invalid syntax",
    );
    q("organization:nowhere")
        .assert_error(400, "Invalid template search query.")
        .assert_field("organization");
    q("a:b:c")
        .assert_error(400, "Invalid template search query.")
        .assert_field("q");
    s.anon("GET", "/api/v2/templates?q=author:me", None)
        .assert_error(401, SIGNED_OUT);
}

/// Percent-encodes a query value.
fn form_urlencoded(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ------------------------------------------- 6. routes the dashboard calls

#[test]
fn template_versions_by_organization_template_and_name() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap().to_string();
    let first_id = t["active_version_id"].as_str().unwrap().to_string();
    let first = s
        .get(&format!("/api/v2/templateversions/{first_id}"), &o.token)
        .ok(200)["name"]
        .as_str()
        .unwrap()
        .to_string();
    let second = s.import(&o, "docker", Some(&tid));
    let second_name = second["name"].as_str().unwrap().to_string();
    for org in [o.org.as_str(), "coder"] {
        let base = format!("/api/v2/organizations/{org}/templates/docker/versions");
        let r = s.get(&format!("{base}/{first}"), &a.token);
        assert_eq!(r.ok(200)["id"], first_id.as_str());
        assert_eq!(r.body["template_id"], tid.as_str());
        let r = s.get(&format!("{base}/{second_name}"), &a.token);
        assert_eq!(r.ok(200)["id"], second["id"]);
        let r = s.get(&format!("{base}/{second_name}/previous"), &a.token);
        assert_eq!(r.ok(200)["id"], first_id.as_str());
        // Not found: the first has no previous version; unknown names.
        s.get(&format!("{base}/{first}/previous"), &a.token)
            .assert_error(
                404,
                &format!("No previous template version found for {first:?}."),
            );
        s.get(&format!("{base}/nope"), &a.token)
            .assert_error(404, "No template version found by name \"nope\".");
        s.get(&format!("{base}/nope/previous"), &a.token)
            .assert_error(404, "No template version found by name \"nope\".");
        for p in ["", "/previous"] {
            s.get(
                &format!("/api/v2/organizations/{org}/templates/nope/versions/{first}{p}"),
                &a.token,
            )
            .assert_error(404, NOT_FOUND);
            s.anon("GET", &format!("{base}/{second_name}{p}"), None)
                .assert_error(401, SIGNED_OUT);
        }
    }
    s.get(
        &format!("/api/v2/organizations/{NO_SUCH}/templates/docker/versions/{first}"),
        &o.token,
    )
    .assert_error(404, NOT_FOUND);
    // Not permitted: a template the member cannot read is hidden.
    s.patch(
        &format!("/api/v2/templates/{tid}"),
        &o.token,
        json!({"disable_everyone_group_access": true}),
    )
    .ok(200);
    let base = format!("/api/v2/organizations/{}/templates/docker/versions", o.org);
    s.get(&format!("{base}/{first}"), &a.token)
        .assert_error(404, NOT_FOUND);
    s.get(&format!("{base}/{second_name}/previous"), &a.token)
        .assert_error(404, NOT_FOUND);
    s.get(&format!("{base}/{second_name}/previous"), &o.token)
        .ok(200);
}

#[test]
fn workspace_build_timings() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let t = s.template(&o, "docker");
    let w = s.workspace(&o.token, t["id"].as_str().unwrap(), "dev");
    let id = w["id"].as_str().unwrap();
    let bid = w["latest_build"]["id"].as_str().unwrap();
    let path = format!("/api/v2/workspacebuilds/{bid}/timings");
    let r = s.get(&path, &o.token);
    let timings = r.ok(200).clone();
    assert_keys(
        &timings,
        &[
            "provisioner_timings",
            "agent_script_timings",
            "agent_connection_timings",
        ],
    );
    assert!(!timings["provisioner_timings"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        timings["provisioner_timings"][0]["job_id"],
        w["latest_build"]["job"]["id"]
    );
    assert_eq!(
        &timings,
        s.get(&format!("/api/v2/workspaces/{id}/timings"), &o.token)
            .ok(200)
    );
    // An earlier build keeps its own timings.
    s.post(
        &format!("/api/v2/workspaces/{id}/builds"),
        &o.token,
        json!({"transition": "stop"}),
    )
    .ok(201);
    s.wait_build(&o.token, id);
    assert_eq!(s.get(&path, &o.token).ok(200), &timings);
    s.get(
        &format!("/api/v2/workspacebuilds/{NO_SUCH}/timings"),
        &o.token,
    )
    .assert_error(404, NOT_FOUND);
    s.get("/api/v2/workspacebuilds/nope/timings", &o.token)
        .assert_error(400, "Invalid UUID \"nope\".");
    s.anon("GET", &path, None).assert_error(401, SIGNED_OUT);
    s.get(&path, &a.token).assert_error(404, NOT_FOUND);
}

// ---------------------------------------------- 7. long search terms

#[test]
fn long_search_terms_are_refused_naming_q() {
    let s = Server::start();
    let o = s.setup();
    // With a workspace to match against, the terms reach the database.
    let t = s.template(&o, "docker");
    s.workspace(&o.token, t["id"].as_str().unwrap(), "dev");
    let long = "a".repeat(50_001);
    for q in [
        long.clone(),
        format!("name:{long}"),
        format!("param:{long}"),
    ] {
        s.get(&format!("/api/v2/workspaces?q={q}"), &o.token)
            .assert_error(400, "Invalid workspace search query.")
            .assert_field("q");
        s.get(&format!("/api/v2/templates?q={q}"), &o.token)
            .assert_error(400, "Invalid template search query.")
            .assert_field("q");
    }
    // The old separate parameters are bounded the same way.
    s.get(&format!("/api/v2/workspaces?name={long}"), &o.token)
        .assert_error(400, "Invalid workspace search query.")
        .assert_field("name");
    // So are the list watch streams, which take the same language.
    s.get(&format!("/api/v2/workspaces/watch?q={long}"), &o.token)
        .assert_error(400, "Invalid workspace search query.")
        .assert_field("q");
    // A long but allowed query still answers.
    let fine = "b".repeat(1000);
    assert_eq!(
        s.get(&format!("/api/v2/workspaces?q={fine}"), &o.token)
            .ok(200)["count"],
        0
    );
    assert_eq!(
        s.get("/api/v2/workspaces?q=name:de", &o.token).ok(200)["count"],
        1
    );
}

// ----------------------------------------------- 8. non-object bodies

#[test]
fn non_object_json_bodies_are_refused() {
    let s = Server::start();
    let o = s.setup();
    let t = s.template(&o, "docker");
    let w = s.workspace(&o.token, t["id"].as_str().unwrap(), "dev");
    let id = w["id"].as_str().unwrap();
    let ttl_before = w["ttl_ms"].clone();
    let raw = |method: &str, path: &str, token: Option<&str>, body: &str| {
        s.request(method, path, token, &[], Some(body))
    };
    let r = raw(
        "PUT",
        &format!("/api/v2/workspaces/{id}/ttl"),
        Some(&o.token),
        "[7200000]",
    );
    r.assert_error(400, "Request body must be valid JSON.");
    assert_eq!(
        s.get(&format!("/api/v2/workspaces/{id}"), &o.token).ok(200)["ttl_ms"],
        ttl_before
    );
    let tid = t["id"].as_str().unwrap();
    let routes: Vec<(&str, String, Option<&str>)> = vec![
        ("POST", "/api/v2/users/login".into(), None),
        ("POST", "/api/v2/users/first".into(), None),
        ("POST", "/api/v2/users".into(), Some(o.token.as_str())),
        (
            "POST",
            "/api/v2/organizations".into(),
            Some(o.token.as_str()),
        ),
        (
            "PATCH",
            format!("/api/v2/templates/{tid}"),
            Some(o.token.as_str()),
        ),
        (
            "PUT",
            format!("/api/v2/workspaces/{id}/autostart"),
            Some(o.token.as_str()),
        ),
        (
            "PUT",
            format!("/api/v2/workspaces/{id}/ttl"),
            Some(o.token.as_str()),
        ),
        (
            "POST",
            format!("/api/v2/workspaces/{id}/builds"),
            Some(o.token.as_str()),
        ),
        (
            "POST",
            format!("/api/v2/workspaces/{id}/usage"),
            Some(o.token.as_str()),
        ),
        (
            "PATCH",
            format!("/api/v2/workspaces/{id}/acl"),
            Some(o.token.as_str()),
        ),
    ];
    for (method, path, token) in &routes {
        for body in ["[]", "[7200000]", "7", "\"text\"", "true", "null"] {
            raw(method, path, *token, body).assert_error(400, "Request body must be valid JSON.");
        }
    }
    // Objects still work.
    assert_eq!(
        raw(
            "PUT",
            &format!("/api/v2/workspaces/{id}/ttl"),
            Some(&o.token),
            "{\"ttl_ms\": 7200000}"
        )
        .status,
        204
    );
}

// ------------------------------------------- 9. token allow lists

#[test]
fn token_allow_lists_are_validated() {
    let s = Server::start();
    let o = s.setup();
    let path = "/api/v2/users/me/keys/tokens";
    let bad = [
        (
            json!([{"type": "nope", "id": "*"}]),
            "unknown resource type \"nope\"",
        ),
        (
            json!([{"type": "workspace", "id": "not-a-uuid"}]),
            "invalid workspace ID (must be UUID): \"not-a-uuid\"",
        ),
        (
            json!([{"type": "workspace"}]),
            "allow_list entry must include both type and id",
        ),
        (
            json!(["workspace:abc"]),
            "invalid workspace ID (must be UUID): \"abc\"",
        ),
        (
            json!(["workspace"]),
            "invalid allow_list entry \"workspace\": want <type>:<id>",
        ),
        (
            json!([7]),
            "invalid allow_list entry: expected object with type/id or string",
        ),
    ];
    for (i, (list, detail)) in bad.iter().enumerate() {
        let r = s.post(
            path,
            &o.token,
            json!({"token_name": format!("bad{i}"), "allow_list": list}),
        );
        r.assert_error(400, "Request body must be valid JSON.");
        assert!(
            r.body["detail"].as_str().unwrap().contains(detail),
            "{detail} in {}",
            r.text
        );
    }
    let ws = "0967198e-ec7b-4c6b-b4d3-f71244cadbe9";
    s.post(
        path,
        &o.token,
        json!({"token_name": "typed", "allow_list": [{"type": "workspace", "id": ws}]}),
    )
    .ok(201);
    s.post(
        path,
        &o.token,
        json!({"token_name": "wild", "allow_list": ["template:*"]}),
    )
    .ok(201);
    let tokens = s.get(path, &o.token);
    let tokens = tokens.ok(200).as_array().unwrap();
    assert_eq!(tokens.len(), 2, "refused tokens are not stored");
    let list =
        |name: &str| tokens.iter().find(|t| t["token_name"] == name).unwrap()["allow_list"].clone();
    assert_eq!(list("typed"), json!([{"type": "workspace", "id": ws}]));
    assert_eq!(list("wild"), json!([{"type": "template", "id": "*"}]));
}

// --------------------------------------------------------- 10. omitempty

#[test]
fn empty_optional_fields_are_omitted_like_coder() {
    let s = Server::start_with(|c| c.provisioner_delay = Duration::from_millis(800));
    let o = s.setup();
    let bob = s.user(&o, "bob", &["template-admin"]);
    // Users: no avatar; site roles without an organization.
    let me = s.get("/api/v2/users/me", &o.token);
    let me = me.ok(200);
    assert!(me.get("avatar_url").is_none(), "{me}");
    assert_eq!(
        me["roles"],
        json!([{"name": "owner", "display_name": "Owner"}])
    );
    for u in s.get("/api/v2/users", &o.token).ok(200)["users"]
        .as_array()
        .unwrap()
    {
        assert!(u.get("avatar_url").is_none(), "{u}");
    }
    let roles = s.get("/api/v2/users/roles", &o.token);
    for r in roles.ok(200).as_array().unwrap() {
        assert!(r.get("organization_id").is_none(), "{r}");
    }
    let roles = s.get(
        &format!("/api/v2/organizations/{}/members/roles", o.org),
        &o.token,
    );
    for r in roles.ok(200).as_array().unwrap() {
        assert_eq!(r["organization_id"], o.org.as_str());
    }
    // Group members are reduced users.
    let g = s.get(&format!("/api/v2/groups/{}", o.org), &o.token);
    for m in g.ok(200)["members"].as_array().unwrap() {
        assert!(m.get("avatar_url").is_none(), "{m}");
    }
    // Minimal users: a template version's author without name or avatar.
    let v = s.import(
        &Owner {
            token: bob.token.clone(),
            id: bob.id.clone(),
            org: o.org.clone(),
        },
        "docker",
        None,
    );
    assert_eq!(
        v["created_by"],
        json!({"id": bob.id, "username": "bob"}),
        "{v}"
    );
    // A build whose job has not decided them omits the AI-task flags.
    let t = s.template(&o, "docker");
    let r = s.post(
        "/api/v2/users/me/workspaces",
        &o.token,
        json!({"template_id": t["id"], "name": "w"}),
    );
    let b = &r.ok(201)["latest_build"];
    assert!(b.get("has_ai_task").is_none(), "{b}");
    assert!(b.get("has_external_agent").is_none(), "{b}");
    let id = r.body["id"].as_str().unwrap();
    let done = s.wait_build(&o.token, id);
    assert_eq!(done["latest_build"]["has_ai_task"], false);
    assert_eq!(done["latest_build"]["has_external_agent"], false);
    // Workspace ACL users are minimal users too.
    s.patch(
        &format!("/api/v2/workspaces/{id}/acl"),
        &o.token,
        json!({"user_roles": {bob.id.clone(): "use"}}),
    );
    let acl = s.get(&format!("/api/v2/workspaces/{id}/acl"), &o.token);
    assert_eq!(
        acl.ok(200)["users"],
        json!([{"id": bob.id, "username": "bob", "role": "use"}])
    );
}

// ----------------------------------------------- 11. trailing slashes

/// `v` without the times that move between two reads.
fn stable(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "most_recently_seen" | "last_seen_at"))
                .map(|(k, v)| (k.clone(), stable(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(stable).collect()),
        v => v.clone(),
    }
}

#[test]
fn trailing_slashes_route_like_coder() {
    let s = Server::start();
    let o = s.setup();
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap();
    for path in [
        format!("/api/v2/templates/{tid}/versions"),
        "/api/v2/users".to_string(),
        "/api/v2/workspaces".to_string(),
        "/api/v2/buildinfo".to_string(),
        format!("/api/v2/templates/{tid}"),
        "/api/v2/users/me".to_string(),
    ] {
        let plain = s.get(&path, &o.token);
        let slashed = s.get(&format!("{path}/"), &o.token);
        assert_eq!(slashed.status, 200, "{path}/: {}", slashed.text);
        assert_eq!(
            stable(&slashed.body),
            stable(&plain.body),
            "{path}/ answers like {path}"
        );
    }
    // The query string survives.
    assert_eq!(
        s.get("/api/v2/users/?q=nobody", &o.token).ok(200)["count"],
        0
    );
    // Writes too.
    let r = s.anon(
        "POST",
        "/api/v2/users/login/",
        Some(json!({"email": "admin@example.com", "password": PASSWORD})),
    );
    assert!(r.ok(201)["session_token"].is_string());
    // Unknown paths stay unknown; the admin page stays at "/".
    s.get("/api/v2/nope/", &o.token)
        .assert_error(404, "Route not found.");
    let root = s.anon("GET", "/", None);
    assert_eq!(root.status, 200);
    assert!(root
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
}

// -------------------------------------- 12. over-long request heads

/// Sends raw bytes on a fresh connection and reads every response until the
/// server closes it; returns (status, headers, body) of each.
fn raw_exchange(s: &Server, request: &[u8]) -> Vec<(u16, String, String)> {
    let addr = s.url("").trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(request);
    let mut data = Vec::new();
    let _ = stream.read_to_end(&mut data);
    let mut out = Vec::new();
    let mut rest = &data[..];
    while !rest.is_empty() {
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no head end in {:?}", String::from_utf8_lossy(rest)));
        let head = String::from_utf8_lossy(&rest[..end]).to_string();
        let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        let body = String::from_utf8_lossy(&rest[end + 4..end + 4 + len]).to_string();
        rest = &rest[end + 4 + len..];
        out.push((status, head, body));
    }
    out
}

#[track_caller]
fn assert_json_error(resp: &(u16, String, String), status: u16, message: &str) {
    assert_eq!(resp.0, status, "{resp:?}");
    assert!(
        resp.1
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{resp:?}"
    );
    let body: Value = serde_json::from_str(&resp.2).unwrap_or_else(|e| panic!("{e}: {resp:?}"));
    assert_eq!(body["message"], message, "{resp:?}");
    assert!(body["detail"].is_string(), "{resp:?}");
}

#[test]
fn over_long_request_lines_and_headers_get_coder_json() {
    let s = Server::start();
    let too_large = "Request header fields too large.";
    // A request line past every limit.
    let line = format!(
        "GET /api/v2/buildinfo?x={} HTTP/1.1\r\nHost: h\r\n\r\n",
        "a".repeat(70_000)
    );
    let r = raw_exchange(&s, line.as_bytes());
    assert_eq!(r.len(), 1);
    assert_json_error(&r[0], 431, too_large);
    // Headers past the limit: one huge header, and very many small ones.
    let huge = format!(
        "GET /api/v2/buildinfo HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
        "b".repeat(200_000)
    );
    assert_json_error(&raw_exchange(&s, huge.as_bytes())[0], 431, too_large);
    let mut many = String::from("GET /api/v2/buildinfo HTTP/1.1\r\nHost: h\r\n");
    for i in 0..200 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_json_error(&raw_exchange(&s, many.as_bytes())[0], 431, too_large);
    // Malformed heads are Coder-shaped 400s too.
    for bad in [
        "NOT HTTP\r\n\r\n".to_string(),
        "GET /api/v2/buildinfo HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n".to_string(),
        "GET /api/v2/buildinfo HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
            .to_string(),
    ] {
        assert_json_error(
            &raw_exchange(&s, bad.as_bytes())[0],
            400,
            "Malformed HTTP request.",
        );
    }
    // On a kept-alive connection, earlier requests (with fixed and chunked
    // bodies) are answered normally before the bad head is refused.
    let mut seq = Vec::new();
    seq.extend_from_slice(b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n");
    let login = br#"{"email":"nobody@example.com","password":"x"}"#;
    seq.extend_from_slice(
        format!(
            "POST /api/v2/users/login HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            login.len()
        )
        .as_bytes(),
    );
    seq.extend_from_slice(login);
    seq.extend_from_slice(
        b"POST /api/v2/users/login HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    seq.extend_from_slice(format!("{:x}\r\n", login.len()).as_bytes());
    seq.extend_from_slice(login);
    seq.extend_from_slice(b"\r\n0\r\n\r\n");
    seq.extend_from_slice(line.as_bytes());
    let r = raw_exchange(&s, &seq);
    assert_eq!(r.len(), 4, "{r:?}");
    assert_eq!(r[0].0, 200);
    assert_eq!(r[0].2, "OK");
    assert_eq!(r[1].0, 401, "{:?}", r[1]);
    assert_eq!(r[2].0, 401, "{:?}", r[2]);
    assert_json_error(&r[3], 431, too_large);
    // Ordinary requests are untouched.
    assert_eq!(
        raw_exchange(
            &s,
            b"GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        )[0]
        .0,
        200
    );
}

/// A client that never finishes its first head is answered 408 with Coder's
/// body once the head timeout has passed.
#[test]
fn slow_first_heads_get_coder_json() {
    let s = Server::start();
    let started = Instant::now();
    let r = raw_exchange(&s, b"GET /api/v2/buildinfo HTTP/1.1\r\nHost: h\r\n");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_json_error(&r[0], 408, "Request timeout.");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

// ------------------------------- 13. users without organization ids

#[test]
fn users_created_without_organization_ids_join_the_default_organization() {
    let s = Server::start();
    let o = s.setup();
    // No organization at all, as older clients send.
    let r = s.post(
        "/api/v2/users",
        &o.token,
        json!({"email": "old@example.com", "username": "old", "password": PASSWORD}),
    );
    assert_eq!(r.ok(201)["organization_ids"], json!([o.org]));
    // The legacy singular field.
    let r = s.post(
        "/api/v2/users",
        &o.token,
        json!({"email": "older@example.com", "username": "older", "password": PASSWORD, "organization_id": o.org}),
    );
    assert_eq!(r.ok(201)["organization_ids"], json!([o.org]));
    let members = s.get(
        &format!("/api/v2/organizations/{}/members", o.org),
        &o.token,
    );
    let members = members.ok(200).as_array().unwrap();
    for name in ["old", "older"] {
        assert!(members.iter().any(|m| m["username"] == name), "{name}");
    }
    // They can sign in.
    s.login("old@example.com", PASSWORD);
    // An explicit empty list is still Coder's 400.
    s.post(
        "/api/v2/users",
        &o.token,
        json!({"email": "e@example.com", "username": "e", "password": PASSWORD, "organization_ids": []}),
    )
    .assert_error(400, "No organization specified to place the user as a member of. It is required to specify at least one organization id to place the user in.")
    .assert_field("organization_ids");
}

// ------------------------------------------- 13. requests that upgrade

#[test]
fn requests_that_upgrade_are_answered_whole_and_the_connection_ends() {
    let s = Server::start();
    let o = s.setup();
    let t = s.template(&o, "t");
    let w = s.workspace(&o.token, t["id"].as_str().unwrap(), "w");
    let upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    // An ordinary route asked to upgrade answers as usual, then closes:
    // everything after such a head is its body.
    let answers = raw_exchange(
        &s,
        format!("GET /api/v2/buildinfo HTTP/1.1\r\nHost: h\r\n{upgrade}\r\n").as_bytes(),
    );
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].0, 200, "{answers:?}");
    assert!(
        answers[0]
            .1
            .to_ascii_lowercase()
            .contains("connection: close"),
        "{answers:?}"
    );
    let info: Value = serde_json::from_str(&answers[0].2).unwrap();
    assert!(info["version"].is_string(), "{info}");

    // Refusals carry Coder's error body with the head.
    let answers = raw_exchange(
        &s,
        format!("GET /api/v2/nope HTTP/1.1\r\nHost: h\r\n{upgrade}\r\n").as_bytes(),
    );
    assert_eq!(answers[0].0, 404, "{answers:?}");
    assert_eq!(answers[0].2, r#"{"message":"Route not found."}"#);
    let watch = format!("/api/v2/workspaces/{}/watch-ws", w["id"].as_str().unwrap());
    let answers = raw_exchange(
        &s,
        format!("GET {watch} HTTP/1.1\r\nHost: h\r\n{upgrade}\r\n").as_bytes(),
    );
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_json_error(
        &answers[0],
        401,
        "You are signed out or your session has expired. Please sign in again to continue.",
    );

    // What a client sends right behind its head reaches the socket: a close
    // frame (masked, code 1000) sent with the handshake is answered with
    // one, and the server ends the connection.
    let addr = s.url("").trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!(
        "GET {watch} HTTP/1.1\r\nHost: {addr}\r\nCoder-Session-Token: {}\r\n{upgrade}\r\n",
        o.token
    )
    .into_bytes();
    request.extend_from_slice(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]);
    stream.write_all(&request).unwrap();
    let mut data = Vec::new();
    stream.read_to_end(&mut data).unwrap();
    let end = data.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&data[..end]);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let frames = &data[end + 4..];
    // The server's close (unmasked, code 1000) is the last frame it sends.
    assert!(frames.ends_with(&[0x88, 0x02, 0x03, 0xE8]), "{frames:?}");
}
