//! Every endpoint of the reference page that shows an example response: the
//! key set and JSON types of warren's real response match the example,
//! recursively. Keys Coder omits when empty (per the spec) may be absent;
//! fields the spec makes nullable may be null.

use serde_json::{json, Value};

use crate::common::*;

/// Keys Coder itself omits when empty (`parent.key` for keys omitted only
/// under that parent).
const OMITEMPTY: &[&str] = &[
    "detail",
    "validations",
    "input.template_version_id",
    "input.workspace_build_id",
    "input.error",
    "metadata.workspace_id",
    "autostart_schedule",
    "ttl_ms",
    "shared_with",
    "started_at",
    "completed_at",
    "canceled_at",
    "error",
    "error_code",
    "worker_id",
    "worker_name",
    "available_workers",
    "first_connected_at",
    "last_connected_at",
    "disconnected_at",
    "ready_at",
    "instance_id",
    "directory",
    "expanded_directory",
    "latency",
    "subdomain_name",
    "tooltip",
    "exit_code",
    "status_message",
    "reason",
    "url",
    "command",
    "group",
    "display_name",
    "icon",
    "name",
    "avatar_url",
    "has_ai_task",
    "has_external_agent",
    // `codersdk.WorkspaceResource` tags both `omitempty`.
    "resources[0].agents",
    "resources[0].metadata",
    // `codersdk.TemplateVersion.Warnings` is tagged `omitempty`.
    "warnings",
];

/// Fields that are a value or null.
const NULLABLE: &[&str] = &[
    "deadline",
    "max_deadline",
    "latest_app_status",
    "next_start_at",
    "dormant_at",
    "deleting_at",
    "task_id",
    "parent_id",
    "template_version_preset_id",
    "has_ai_task",
    "has_external_agent",
    "data",
    "most_recently_seen",
];

/// Documented as `{uuid, valid}` objects; the wire form is a string or null.
const NULL_UUIDS: &[&str] = &["task_id", "parent_id"];

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn compare(example: &Value, actual: &Value, path: &str, errors: &mut Vec<String>) {
    let key = path.rsplit('.').next().unwrap_or("");
    if NULL_UUIDS.contains(&key) {
        if !(actual.is_null() || actual.is_string()) {
            errors.push(format!(
                "{path}: expected uuid string or null, got {actual}"
            ));
        }
        return;
    }
    if actual.is_null() && NULLABLE.contains(&key) {
        return;
    }
    match (example, actual) {
        (Value::Object(e), Value::Object(a)) => {
            // Maps keyed by data (property1, property2…) are free-form.
            if e.keys().any(|k| k.starts_with("property")) {
                return;
            }
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => compare(ev, av, &format!("{path}.{k}"), errors),
                    None if OMITEMPTY.contains(&k.as_str())
                        || OMITEMPTY.contains(&format!("{key}.{k}").as_str()) => {}
                    None => errors.push(format!("{path}.{k}: missing")),
                }
            }
            for k in a.keys() {
                if !e.contains_key(k) {
                    errors.push(format!("{path}.{k}: not in the reference"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let (Some(ev), Some(av)) = (e.first(), a.first()) {
                compare(ev, av, &format!("{path}[0]"), errors);
            }
        }
        (e, a) if kind(e) == kind(a) => {}
        (e, a) => errors.push(format!("{path}: expected {}, got {}", kind(e), kind(a))),
    }
}

fn fixture(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reference")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[track_caller]
fn assert_shape(name: &str, actual: &Value) {
    let mut errors = Vec::new();
    compare(&fixture(name), actual, name, &mut errors);
    assert!(errors.is_empty(), "{name}:\n{}", errors.join("\n"));
}

/// Every nested object must be exercised: a workspace with agents, apps,
/// an app status, scripts, a schedule, a TTL and sharing.
#[test]
fn responses_match_the_reference_examples() {
    let s = Server::start();
    let o = s.setup();
    let bob = s.user(&o, "bob", &[]);
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap().to_string();
    let create = s.post(
        "/api/v2/users/me/workspaces",
        &o.token,
        json!({"template_id": tid, "name": "dev", "autostart_schedule": "CRON_TZ=UTC 0 9 * * 1-5", "ttl_ms": 3_600_000}),
    );
    assert_shape("create_workspace", create.ok(201));
    let id = create.body["id"].as_str().unwrap().to_string();
    let w = s.wait_build(&o.token, &id);
    let agent = w["latest_build"]["resources"][1]["agents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = s.request(
        "POST",
        &format!("/api/v2/workspaceagents/{agent}/token"),
        Some(&o.token),
        &[],
        None,
    );
    let token = token.ok(201)["agent_token"].as_str().unwrap().to_string();
    s.request(
        "PATCH",
        "/api/v2/workspaceagents/me/app-status",
        Some(&token),
        &[],
        Some(
            &json!({"app_slug": "code-server", "state": "working", "message": "m", "uri": "u"})
                .to_string(),
        ),
    )
    .ok(200);
    s.patch(
        &format!("/api/v2/workspaces/{id}/acl"),
        &o.token,
        json!({"user_roles": {bob.id.clone(): "use"}, "group_roles": {o.org.clone(): "admin"}}),
    );
    let by_id = s.get(&format!("/api/v2/workspaces/{id}"), &o.token);
    assert!(by_id.body["latest_app_status"].is_object());
    assert!(by_id.body["shared_with"].is_array());
    assert_shape("workspace_by_id", by_id.ok(200));
    assert_shape(
        "workspace_by_name",
        s.get("/api/v2/users/me/workspace/dev", &o.token).ok(200),
    );
    assert_shape(
        "list_workspaces",
        s.get("/api/v2/workspaces", &o.token).ok(200),
    );
    assert_shape(
        "workspace_acl",
        s.get(&format!("/api/v2/workspaces/{id}/acl"), &o.token)
            .ok(200),
    );
    assert_shape(
        "timings",
        s.get(&format!("/api/v2/workspaces/{id}/timings"), &o.token)
            .ok(200),
    );
    assert_shape(
        "resolve_autostart",
        s.get(
            &format!("/api/v2/workspaces/{id}/resolve-autostart"),
            &o.token,
        )
        .ok(200),
    );
    let target = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
    assert_shape(
        "extend",
        s.put(
            &format!("/api/v2/workspaces/{id}/extend"),
            &o.token,
            json!({"deadline": target}),
        )
        .ok(200),
    );
    assert_shape(
        "dormant",
        s.put(
            &format!("/api/v2/workspaces/{id}/dormant"),
            &o.token,
            json!({"dormant": true}),
        )
        .ok(200),
    );
    let by_org = s.post(
        &format!(
            "/api/v2/organizations/{}/members/{}/workspaces",
            o.org, bob.id
        ),
        &o.token,
        json!({"template_id": tid, "name": "bobs"}),
    );
    assert_shape("create_workspace_by_org", by_org.ok(201));
    s.put(
        &format!("/api/v2/users/{}/profile", o.id),
        &o.token,
        json!({"username": "admin", "name": "Admin"}),
    )
    .ok(200);
    let users = s.get(
        &format!(
            "/api/v2/organizations/{}/members/me/workspaces/available-users",
            o.org
        ),
        &o.token,
    );
    assert_shape("available_users", users.ok(200));
}
