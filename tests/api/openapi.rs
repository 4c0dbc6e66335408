//! The OpenAPI document at `/api/v2/openapi.json`: it describes every route
//! of the route table, and what warren answers matches it. Every success
//! body the suite records (`tests/api/snapshots/`) is checked against the
//! schema the document gives for it; CI also fuzzes a live server with
//! schemathesis against it (`.ci/fuzz`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{json, Value};
use warren::api::{openapi, ROUTES};

use crate::common::*;

fn document() -> Value {
    openapi::document("test")
}

/// The route table's path in the document's form.
fn doc_path(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        let name = rest[open + 1..close].split(':').next().unwrap();
        out.push_str(&format!("{{{name}}}"));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn every_route_of_the_table_is_in_the_document() {
    let doc = document();
    let mut missing = Vec::new();
    for r in ROUTES {
        if openapi::describe(r.method, r.path).is_none() {
            missing.push(format!(
                "{} {}: not described (src/api/openapi.rs)",
                r.method, r.path
            ));
        }
        let op = &doc["paths"][doc_path(r.path)][r.method.to_ascii_lowercase()];
        if !op.is_object() {
            missing.push(format!("{} {}: not in the document", r.method, r.path));
            continue;
        }
        // Every path parameter is declared.
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let in_path: BTreeSet<String> = doc_path(r.path)
            .split('{')
            .skip(1)
            .map(|s| s.split('}').next().unwrap().to_string())
            .collect();
        let in_path: BTreeSet<&str> = in_path.iter().map(String::as_str).collect();
        assert_eq!(declared, in_path, "{} {}", r.method, r.path);
        // Every error is Coder's body.
        assert_eq!(
            op["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Response",
            "{} {}",
            r.method,
            r.path
        );
        assert!(op["operationId"].is_string());
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    // Nothing is described that the table does not serve.
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, ROUTES.len());
    // Operation ids are unique.
    let mut ids = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            assert!(ids.insert(op["operationId"].as_str().unwrap().to_string()));
        }
    }
}

#[test]
fn the_document_is_served_with_coders_field_names() {
    let s = Server::start();
    let r = s.anon("GET", "/api/v2/openapi.json", None);
    let doc = r.ok(200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], s.app().version.as_str());
    assert_eq!(
        doc["components"]["securitySchemes"]["CoderSessionToken"]["name"],
        "Coder-Session-Token"
    );
    let schemas = &doc["components"]["schemas"];
    // Coder's names, and its omitempty rules: a field left out when empty is
    // not required.
    let workspace = &schemas["Workspace"];
    for field in [
        "latest_build",
        "owner_name",
        "ttl_ms",
        "next_start_at",
        "dormant_at",
    ] {
        assert!(
            workspace["properties"][field].is_object(),
            "Workspace.{field}"
        );
    }
    let required = workspace["required"].as_array().unwrap();
    assert!(required.contains(&json!("latest_build")));
    assert!(!required.contains(&json!("ttl_ms")));
    assert_eq!(
        schemas["Response"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["detail", "message", "validations"]
    );
    assert_eq!(schemas["Response"]["required"], json!(["message"]));
    // Request bodies: what the handlers decode.
    let create = &doc["paths"]["/api/v2/users/{user}/workspaces"]["post"];
    let body = &create["requestBody"]["content"]["application/json"]["schema"];
    for field in [
        "template_id",
        "name",
        "autostart_schedule",
        "ttl_ms",
        "rich_parameter_values",
    ] {
        assert!(
            body["properties"][field].is_object(),
            "CreateWorkspaceRequest.{field}: {body}"
        );
    }
    // Public routes need no token; agent routes take the agent's.
    assert_eq!(
        doc["paths"]["/api/v2/buildinfo"]["get"]["security"],
        json!([])
    );
    assert_eq!(
        doc["paths"]["/api/v2/workspaceagents/me/startup"]["post"]["security"],
        json!([{"CoderAgentToken": []}])
    );
    // Its index: every operation with its answers, and every schema.
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let answers: Vec<String> = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(status, r)| {
                    let body = r["content"]
                        .as_object()
                        .map(|c| {
                            c.iter()
                                .map(|(t, m)| match schema_name(&m["schema"]) {
                                    Some(name) if t == "application/json" => name,
                                    _ => t.clone(),
                                })
                                .collect::<Vec<_>>()
                                .join("|")
                        })
                        .unwrap_or_default();
                    format!("{status} {body}").trim_end().to_string()
                })
                .collect();
            // What a stream carries: each event's kind and data, or each
            // WebSocket message.
            let stream = match (op["x-events"].as_object(), op.get("x-websocket-message")) {
                (Some(events), _) => format!(
                    "; events {}",
                    events
                        .iter()
                        .map(|(kind, s)| format!("{kind} {}", schema_name(s).unwrap()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                (None, Some(m)) => format!("; messages {}", schema_name(m).unwrap()),
                (None, None) => String::new(),
            };
            operations.push(format!(
                "{} {path}{} -> {}{stream}",
                method.to_uppercase(),
                if op["requestBody"].is_object() {
                    " (body)"
                } else {
                    ""
                },
                answers.join(", ")
            ));
        }
    }
    operations.sort();
    let index = json!({
        "openapi": doc["openapi"],
        "operations": operations,
        "schemas": schemas.as_object().unwrap().keys().collect::<Vec<_>>(),
    });
    crate::snapshot::assert_body("GET", "/api/v2/openapi.json", &index);
    // A real error validates against the error schema.
    let err = s.anon("GET", "/api/v2/users/me", None);
    assert_valid(
        doc,
        &json!({"$ref": "#/components/schemas/Response"}),
        &err.body,
        "error",
    );
}

/// A schema's name in the index: its component, `[item]` for an array,
/// or its JSON type.
fn schema_name(schema: &Value) -> Option<String> {
    let component = |s: &Value| {
        s["$ref"]
            .as_str()
            .map(|r| r.trim_start_matches("#/components/schemas/").to_string())
    };
    if let Some(name) = component(schema) {
        return Some(name);
    }
    if schema["type"] == "array" {
        let items = &schema["items"];
        let item = component(items).or_else(|| items["type"].as_str().map(str::to_string));
        return Some(format!("[{}]", item.unwrap_or_else(|| "?".into())));
    }
    schema["type"].as_str().map(str::to_string)
}

/// Validates `instance` against `schema`, whose `$ref`s point into `doc`.
#[track_caller]
fn assert_valid(doc: &Value, schema: &Value, instance: &Value, what: &str) {
    let errors = validation_errors(doc, schema, instance);
    assert!(errors.is_empty(), "{what}: {}", errors.join("\n"));
}

fn validation_errors(doc: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": doc["components"],
        "allOf": [schema],
    });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        // Snapshots hold placeholders ("[uuid:1]", "[time]") where ids and
        // times were.
        .should_validate_formats(false)
        .build(&root)
        .unwrap();
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// A recorded snapshot: its `info` line (what it records) and the body.
fn snapshots() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/snapshots");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut parts = text.splitn(3, "---\n");
        let (_, header, body) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        let info = header
            .lines()
            .find_map(|l| l.strip_prefix("info: "))
            .unwrap_or_else(|| panic!("{}: no info line", path.display()))
            .trim_matches('"')
            .to_string();
        out.push((
            info,
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        ));
    }
    out
}

/// What a snapshot's `info` line names: a route's success body
/// (`GET /path`), or a data event of its stream
/// (`GET /path?follow=true (first data event)`, `… (added event)`).
struct Recorded<'a> {
    method: &'a str,
    route: &'a str,
    event: bool,
}

fn recorded(info: &str) -> Recorded<'_> {
    let (request, event) = match info.strip_suffix(" event)") {
        Some(rest) => (rest.rsplit_once(" (").unwrap().0, true),
        None => (info, false),
    };
    let (method, target) = request.split_once(' ').unwrap();
    // The query that makes a route stream is no part of its path.
    let route = target.split('?').next().unwrap();
    Recorded {
        method,
        route,
        event,
    }
}

/// The schema of a recorded stream event and the part of it that the
/// schema describes. SSE events are recorded as `{"event","data"}`,
/// WebSocket messages of a watch as sent, `{"type","data"}`: the
/// operation's `x-events` gives each kind's data schema. A followed logs
/// WebSocket's messages are described whole by `x-websocket-message`.
fn event_schema<'a>(op: &Value, event: &'a Value) -> Result<(Value, &'a Value), String> {
    if let Some(events) = op["x-events"].as_object() {
        let sse = op["responses"]["200"]["content"]["text/event-stream"].is_object();
        let key = if sse { "event" } else { "type" };
        let fields: BTreeSet<&str> = event
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        if fields != BTreeSet::from([key, "data"]) {
            return Err(format!("an event is {{{key:?}, \"data\"}}, not {event}"));
        }
        let kind = event[key].as_str().unwrap_or_default();
        return match events.get(kind) {
            Some(schema) => Ok((schema.clone(), &event["data"])),
            None => Err(format!("the document gives no event {kind:?}")),
        };
    }
    match op.get("x-websocket-message") {
        Some(schema) => Ok((schema.clone(), event)),
        None => Err("the document describes no events".into()),
    }
}

#[test]
fn every_recorded_success_body_matches_the_document() {
    let doc = document();
    let (mut checked, mut events) = (0, 0);
    let mut failures = Vec::new();
    for (info, body) in snapshots() {
        let Recorded {
            method,
            route,
            event,
        } = recorded(&info);
        let Some(r) = ROUTES
            .iter()
            .find(|r| r.method == method && r.path == route)
        else {
            failures.push(format!("snapshot of {info}, which is no route"));
            continue;
        };
        let op = &doc["paths"][doc_path(r.path)][method.to_ascii_lowercase()];
        if event {
            match event_schema(op, &body) {
                Ok((schema, data)) => {
                    for e in validation_errors(&doc, &schema, data) {
                        failures.push(format!("{info}: {e}"));
                    }
                    events += 1;
                }
                Err(e) => failures.push(format!("{info}: {e}")),
            }
            continue;
        }
        // The success answer with a JSON body.
        let schema = op["responses"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(status, _)| status.starts_with('2'))
            .find_map(|(_, resp)| resp["content"]["application/json"]["schema"].as_object())
            .cloned();
        let Some(schema) = schema else {
            failures.push(format!("{info}: the document gives no JSON success body"));
            continue;
        };
        for e in validation_errors(&doc, &Value::Object(schema), &body) {
            failures.push(format!("{info}: {e}"));
        }
        checked += 1;
    }
    println!("{checked} recorded success bodies and {events} stream events match the document");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 60, "only {checked} snapshots found");
    assert!(events > 5, "only {events} stream events found");
}

#[test]
fn live_answers_match_the_document() {
    let s = Server::start();
    let o = s.setup();
    let doc = document();
    let t = s.template(&o, "docker");
    let w = s.workspace(&o.token, t["id"].as_str().unwrap(), "dev");
    let id = w["id"].as_str().unwrap();
    // Bodies whose values snapshots hide (ids, times, formats) are checked
    // whole here, formats aside.
    for (route, path) in [
        (
            "/api/v2/workspaces/{workspace}",
            format!("/api/v2/workspaces/{id}"),
        ),
        (
            "/api/v2/workspaces/{workspace}/schedule",
            format!("/api/v2/workspaces/{id}/schedule"),
        ),
        ("/api/v2/workspaces", "/api/v2/workspaces".to_string()),
        (
            "/api/v2/templates/{template}",
            format!("/api/v2/templates/{}", t["id"].as_str().unwrap()),
        ),
        ("/api/v2/users/{user}", "/api/v2/users/me".to_string()),
        (
            "/api/v2/warren/diagnostics",
            "/api/v2/warren/diagnostics".to_string(),
        ),
    ] {
        let body = s.get(&path, &o.token).ok(200).clone();
        let schema = &doc["paths"][route]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        assert_valid(&doc, schema, &body, route);
    }
}
