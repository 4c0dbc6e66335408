//! `/users/{user}/keys` endpoints.

use serde_json::json;

use crate::common::*;

const KEY_KEYS: &[&str] = &[
    "id",
    "user_id",
    "last_used",
    "expires_at",
    "created_at",
    "updated_at",
    "login_type",
    "scope",
    "scopes",
    "allow_list",
    "token_name",
    "lifetime_seconds",
];

#[test]
fn session_keys() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let r = s.request("POST", "/api/v2/users/me/keys", Some(&a.token), &[], None);
    let key = r.ok(201)["key"].as_str().unwrap().to_string();
    assert!(r.header("set-cookie").is_none());
    s.get("/api/v2/users/me", &key).ok(200);
    let id = key.split('-').next().unwrap();
    let k = s.get(&format!("/api/v2/users/me/keys/{id}"), &a.token);
    let k = k.ok(200);
    assert_keys(k, KEY_KEYS);
    assert_eq!(k["login_type"], "password");
    assert_eq!(k["token_name"], "");
    assert_eq!(k["lifetime_seconds"], 7 * 24 * 3600);
    // Owners create keys for others; members cannot (the owner is hidden).
    s.request(
        "POST",
        &format!("/api/v2/users/{}/keys", a.id),
        Some(&o.token),
        &[],
        None,
    )
    .ok(201);
    s.request(
        "POST",
        &format!("/api/v2/users/{}/keys", o.id),
        Some(&a.token),
        &[],
        None,
    )
    .assert_error(404, NOT_FOUND);
    let aud = s.user(&o, "aud", &["auditor"]);
    s.request(
        "POST",
        &format!("/api/v2/users/{}/keys", a.id),
        Some(&aud.token),
        &[],
        None,
    )
    .assert_error(403, "Forbidden.");
    s.request(
        "POST",
        "/api/v2/users/ghost/keys",
        Some(&o.token),
        &[],
        None,
    )
    .assert_error(400, "\"user\" must be an existing uuid or username.");
    s.anon("POST", "/api/v2/users/me/keys", None)
        .assert_error(401, SIGNED_OUT);
}

#[test]
fn tokens_create_list_get_delete() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let r = s.post(
        "/api/v2/users/me/keys/tokens",
        &a.token,
        json!({"token_name": "ci", "lifetime": 3_600_000_000_000u64, "scope": "all"}),
    );
    let token = r.ok(201)["key"].as_str().unwrap().to_string();
    s.get("/api/v2/users/me", &token).ok(200);
    let r = s.get("/api/v2/users/me/keys/tokens/ci", &a.token);
    let k = r.ok(200).clone();
    assert_keys(&k, KEY_KEYS);
    assert_eq!(k["token_name"], "ci");
    assert_eq!(k["login_type"], "token");
    assert_eq!(k["lifetime_seconds"], 3600);
    assert_eq!(k["scope"], "all");
    assert_eq!(k["scopes"], json!(["coder:all"]));
    assert_eq!(k["allow_list"], json!([{"type": "*", "id": "*"}]));
    assert_time(&k["last_used"]);
    // An unnamed token gets a Docker-style name.
    s.post("/api/v2/users/me/keys/tokens", &a.token, json!({}))
        .ok(201);
    let r = s.get("/api/v2/users/me/keys/tokens", &a.token);
    let list = r.ok(200).as_array().unwrap();
    assert_eq!(list.len(), 2);
    let mut keys = KEY_KEYS.to_vec();
    keys.push("username");
    assert_keys(&list[0], &keys);
    assert_eq!(list[0]["username"], "alice");
    let generated = list.iter().find(|k| k["token_name"] != "ci").unwrap();
    assert!(generated["token_name"].as_str().unwrap().contains('_'));
    // Session keys are not tokens.
    assert!(list.iter().all(|k| k["login_type"] == "token"));
    // Errors.
    s.post(
        "/api/v2/users/me/keys/tokens",
        &a.token,
        json!({"token_name": "ci"}),
    )
    .assert_error(409, "A token with name \"ci\" already exists.")
    .assert_field("name");
    s.post(
        "/api/v2/users/me/keys/tokens",
        &a.token,
        json!({"lifetime": -5}),
    )
    .assert_error(400, "Failed to validate create API key request.");
    s.post(
        "/api/v2/users/me/keys/tokens",
        &o.token,
        json!({"lifetime": 30 * 24 * 3_600_000_000_000u64}),
    )
    .assert_error(400, "Failed to validate create API key request.")
    .assert_detail("lifetime must be less than 168h0m0s");
    s.post(
        "/api/v2/users/me/keys/tokens",
        &a.token,
        json!({"scope": "bogus"}),
    )
    .assert_error(400, "Failed to create API key.")
    .assert_detail("invalid or unsupported API key scope: \"bogus\"");
    s.post(
        "/api/v2/users/me/keys/tokens",
        &a.token,
        json!({"token_name": 7}),
    )
    .assert_error(400, "Request body must be valid JSON.");
    s.get("/api/v2/users/me/keys/tokens/nope", &a.token)
        .assert_error(404, NOT_FOUND);
    s.get(&format!("/api/v2/users/{}/keys/tokens", o.id), &a.token)
        .assert_error(404, NOT_FOUND);
    s.anon("GET", "/api/v2/users/me/keys/tokens", None)
        .assert_error(401, SIGNED_OUT);
    // Owners list everyone's tokens with include_all.
    s.post(
        "/api/v2/users/me/keys/tokens",
        &o.token,
        json!({"token_name": "admin-token"}),
    )
    .ok(201);
    let all = s.get("/api/v2/users/me/keys/tokens?include_all=true", &o.token);
    assert_eq!(all.ok(200).as_array().unwrap().len(), 3);
    let mine = s.get("/api/v2/users/me/keys/tokens?include_all=true", &a.token);
    assert_eq!(mine.ok(200).as_array().unwrap().len(), 2);
    // Delete by key id.
    let id = token.split('-').next().unwrap();
    s.delete(&format!("/api/v2/users/{}/keys/{id}", o.id), &a.token)
        .assert_error(404, NOT_FOUND);
    s.delete(&format!("/api/v2/users/me/keys/{id}"), &o.token)
        .assert_error(404, NOT_FOUND);
    let r = s.delete(&format!("/api/v2/users/me/keys/{id}"), &a.token);
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    s.get("/api/v2/users/me", &token)
        .assert_error(401, SIGNED_OUT);
    s.get(&format!("/api/v2/users/me/keys/{id}"), &a.token)
        .assert_error(404, NOT_FOUND);
    s.delete(&format!("/api/v2/users/me/keys/{id}"), &a.token)
        .assert_error(404, NOT_FOUND);
    s.anon("DELETE", &format!("/api/v2/users/me/keys/{id}"), None)
        .assert_error(401, SIGNED_OUT);
}

#[test]
fn token_config() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let r = s.get("/api/v2/users/me/keys/tokens/tokenconfig", &o.token);
    assert_eq!(
        r.ok(200)["max_token_lifetime"],
        7u64 * 24 * 3600 * 1_000_000_000
    );
    let r = s.get("/api/v2/users/me/keys/tokens/tokenconfig", &a.token);
    assert_eq!(
        r.ok(200)["max_token_lifetime"],
        2_562_047u64 * 3600 * 1_000_000_000
    );
    s.anon("GET", "/api/v2/users/me/keys/tokens/tokenconfig", None)
        .assert_error(401, SIGNED_OUT);
}
