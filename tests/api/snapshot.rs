//! JSON snapshots of success bodies (insta), one per route, under
//! `tests/api/snapshots/`, named after the route's method and path; a
//! stream's snapshots hold its first data event, named after the route
//! with `_event` appended, and kinds of later events (`_event_added`).
//! Bodies
//! are normalised first so that a snapshot changes only when the shape or
//! a value that is not random does: ids, times, secrets and generated names
//! become placeholders. A missing snapshot fails (CI runs with
//! `INSTA_UPDATE=no`); record new ones with `INSTA_UPDATE=always`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

/// The snapshot's file name (without `.snap`) for a route of the table.
pub fn name(method: &str, path: &str) -> String {
    let mut out = String::new();
    for c in format!("{method} {path}").chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// The snapshot's file name for a data event of a route's stream: its
/// first (`which` is `None`) or a kind of later event (`Some("added")`).
/// `path` carries the query that makes a route stream (`?follow=true`).
pub fn event_name(method: &str, path: &str, which: Option<&str>) -> String {
    match which {
        None => format!("{}_event", name(method, path)),
        Some(which) => format!("{}_event_{which}", name(method, path)),
    }
}

/// Whether a route's snapshot has been recorded.
pub fn exists(method: &str, path: &str) -> bool {
    exists_named(&name(method, path))
}

/// Whether the snapshot `file` (without `.snap`) has been recorded.
pub fn exists_named(file: &str) -> bool {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/api/snapshots")
        .join(format!("{file}.snap"))
        .is_file()
}

/// Compares `body` (normalised) with the route's snapshot; panics on a
/// difference or a missing snapshot.
#[track_caller]
pub fn assert_body(method: &str, path: &str, body: &Value) {
    assert_body_with(method, path, body, &[]);
}

/// [`assert_body`], with ids the test knows shown by name: `(id, label)`
/// becomes `[label]`.
#[track_caller]
pub fn assert_body_with(method: &str, path: &str, body: &Value, known: &[(String, String)]) {
    assert_named(
        &name(method, path),
        &format!("{method} {path}"),
        body,
        known,
    );
}

/// Compares a data `event` of a route's stream (normalised, `known` ids by
/// name) with its snapshot, named by [`event_name`].
#[track_caller]
pub fn assert_event_with(
    method: &str,
    path: &str,
    which: Option<&str>,
    event: &Value,
    known: &[(String, String)],
) {
    let info = match which {
        None => format!("{method} {path} (first data event)"),
        Some(which) => format!("{method} {path} ({which} event)"),
    };
    assert_named(&event_name(method, path, which), &info, event, known);
}

#[track_caller]
fn assert_named(file: &str, info: &str, body: &Value, known: &[(String, String)]) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_info(&info);
    let normalized = normalize_with(body, known);
    settings.bind(|| insta::assert_json_snapshot!(file, normalized));
}

/// Fields whose values are secrets generated per run. (`key` also names
/// resource metadata and agent metadata items, whose values are shape and
/// stay: only a `key` in Coder's token form, `id-secret`, is a secret.)
const TOKEN_FIELDS: &[&str] = &["session_token", "agent_token", "private_key", "public_key"];

fn re(pattern: &'static str, cell: &'static OnceLock<Regex>) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("pattern"))
}

fn api_token_re() -> &'static Regex {
    static C: OnceLock<Regex> = OnceLock::new();
    re(r"^[0-9A-Za-z]{10}-[0-9A-Za-z]{22}$", &C)
}

fn uuid_re() -> &'static Regex {
    static C: OnceLock<Regex> = OnceLock::new();
    re(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        &C,
    )
}

fn time_re() -> &'static Regex {
    static C: OnceLock<Regex> = OnceLock::new();
    re(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})",
        &C,
    )
}

fn hash_re() -> &'static Regex {
    static C: OnceLock<Regex> = OnceLock::new();
    re(r"\b[0-9a-f]{64}\b", &C)
}

fn port_re() -> &'static Regex {
    static C: OnceLock<Regex> = OnceLock::new();
    re(r"(127\.0\.0\.1|localhost|\[::1\]):\d+", &C)
}

/// Docker-style names warren generates for unnamed versions and tokens.
fn docker_name_re() -> &'static Regex {
    static C: OnceLock<Regex> = OnceLock::new();
    re(
        r"\b(?:admiring|brave|clever|dazzling|eager|frosty|gallant|happy|inspiring|jolly|keen|lucid|modest|nifty|optimistic|peaceful|quirky|relaxed|serene|trusting|upbeat|vibrant|wizardly|zealous)_[a-z]+\d*\b",
        &C,
    )
}

/// Replaces what differs between runs: every UUID by `[uuid:N]`, numbered
/// by first appearance in the body (so that relations stay visible), RFC
/// 3339 times by `[time]`, secrets by `[token]`, content hashes by
/// `[hash]`, generated names by `[name]`, loopback ports by `[port]`.
pub fn normalize(body: &Value) -> Value {
    normalize_with(body, &[])
}

/// [`normalize`], with the ids of `known` shown as `[label]`. Sets of ids
/// (arrays of UUIDs only, in no order Coder defines) are sorted once
/// normalised.
pub fn normalize_with(body: &Value, known: &[(String, String)]) -> Value {
    let mut ids = Ids {
        known: known
            .iter()
            .map(|(id, label)| (id.to_ascii_lowercase(), label.clone()))
            .collect(),
        seen: HashMap::new(),
    };
    walk(body, None, &mut ids)
}

struct Ids {
    known: HashMap<String, String>,
    seen: HashMap<String, usize>,
}

fn walk(v: &Value, field: Option<&str>, ids: &mut Ids) -> Value {
    match v {
        Value::String(s) => Value::String(scrub(s, field, ids)),
        Value::Array(items) => {
            let id_set = !items.is_empty()
                && items.iter().all(|i| {
                    i.as_str()
                        .is_some_and(|s| uuid_re().is_match(s) && s.len() == 36)
                });
            if id_set {
                // Known ids first, so that numbering does not follow the
                // set's random order where it can be avoided.
                let mut strs: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                strs.sort_by_key(|s| !ids.known.contains_key(&s.to_ascii_lowercase()));
                let mut out: Vec<String> = strs.iter().map(|s| scrub(s, field, ids)).collect();
                out.sort();
                return Value::Array(out.into_iter().map(Value::String).collect());
            }
            let mut out: Vec<Value> = items.iter().map(|i| walk(i, field, ids)).collect();
            // ACL entries come from a map in Coder (a JSON object), in no
            // defined order.
            let acl = field == Some("shared_with")
                || items
                    .iter()
                    .all(|i| i.get("role").is_some() && i.get("id").is_some());
            if acl && !items.is_empty() {
                out.sort_by_key(|v| v.to_string());
            }
            Value::Array(out)
        }
        Value::Object(o) => {
            // An API key's id is the random public half of its secret.
            let api_key = o.contains_key("token_name") && o.contains_key("lifetime_seconds");
            // A simulated agent's metadata reading varies with the agent.
            let reading = o.contains_key("collected_at") && o.contains_key("age");
            let mut out = Map::new();
            for (k, item) in o {
                let value = if api_key && k == "id" && item.is_string() {
                    Value::String("[token]".into())
                } else if reading && k == "value" && item.is_string() {
                    Value::String("[reading]".into())
                } else {
                    walk(item, Some(k), ids)
                };
                out.insert(scrub(k, None, ids), value);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn scrub(s: &str, field: Option<&str>, ids: &mut Ids) -> String {
    if field.is_some_and(|f| TOKEN_FIELDS.contains(&f)) && !s.is_empty() {
        return "[token]".into();
    }
    if field == Some("key") && api_token_re().is_match(s) {
        return "[token]".into();
    }
    let s = uuid_re().replace_all(s, |c: &regex::Captures| {
        let id = c[0].to_ascii_lowercase();
        if let Some(label) = ids.known.get(&id) {
            return format!("[{label}]");
        }
        let next = ids.seen.len() + 1;
        let n = *ids.seen.entry(id).or_insert(next);
        format!("[uuid:{n}]")
    });
    let s = time_re().replace_all(&s, "[time]");
    let s = hash_re().replace_all(&s, "[hash]");
    let s = port_re().replace_all(&s, "$1:[port]");
    docker_name_re().replace_all(&s, "[name]").into_owned()
}

#[test]
fn normalization_keeps_relations_and_hides_what_varies() {
    let body = serde_json::json!({
        "a": "7c60d51f-b44e-4682-87d6-449835ea4de6",
        "b": ["0e3c7c37-2b0f-4b8e-9d89-7f4a1b6c0b11", "7C60D51F-B44E-4682-87D6-449835EA4DE6"],
        "s": [{"id": "0e3c7c37-2b0f-4b8e-9d89-7f4a1b6c0b11", "role": "use"},
              {"id": "7c60d51f-b44e-4682-87d6-449835ea4de6", "role": "admin"}],
        "c": "2025-01-02T03:04:05.123456Z",
        "key": "abcdef1234-0123456789abcdefABCDEF",
        "meta": [{"key": "image", "value": "ubuntu"}],
        "m": "Deadline updated to 2025-01-02T03:04:05Z.",
        "n": "eager_turing",
        "url": "http://127.0.0.1:4567/x",
        "k": {"id": "abcdef1234", "token_name": "ci", "lifetime_seconds": 1},
    });
    assert_eq!(
        normalize(&body),
        serde_json::json!({
            "a": "[uuid:1]",
            // A set of ids is sorted once normalised.
            "b": ["[uuid:1]", "[uuid:2]"],
            // So are ACL entries.
            "s": [{"id": "[uuid:1]", "role": "admin"}, {"id": "[uuid:2]", "role": "use"}],
            "c": "[time]",
            "key": "[token]",
            // A metadata item's key is shape, not a secret.
            "meta": [{"key": "image", "value": "ubuntu"}],
            "m": "Deadline updated to [time].",
            "n": "[name]",
            "url": "http://127.0.0.1:[port]/x",
            "k": {"id": "[token]", "token_name": "ci", "lifetime_seconds": 1},
        })
    );
    assert_eq!(name("GET", "/api/v2/users/{user}"), "GET_api_v2_users_user");
    assert_eq!(
        event_name(
            "GET",
            "/api/v2/workspacebuilds/{workspacebuild}/logs?follow=true",
            None
        ),
        "GET_api_v2_workspacebuilds_workspacebuild_logs_follow_true_event"
    );
    assert_eq!(
        event_name("GET", "/api/v2/workspaces/watch", Some("added")),
        "GET_api_v2_workspaces_watch_event_added"
    );
}
