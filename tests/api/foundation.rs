//! Error model, build info, health, first user, login, logout, token sources,
//! and persistence across restarts. The database file itself (foreign and
//! newer files, what is stored at rest) is tested in `store.rs`.

use std::time::Duration;

use serde_json::json;

use crate::common::*;
use crate::snapshot;

#[test]
fn buildinfo_healthz_and_version_header() {
    let s = Server::start();
    let r = s.anon("GET", "/api/v2/buildinfo", None);
    let b = r.ok(200);
    assert_keys(
        b,
        &[
            "external_url",
            "version",
            "dashboard_url",
            "telemetry",
            "workspace_proxy",
            "agent_api_version",
            "provisioner_api_version",
            "upgrade_message",
            "deployment_id",
        ],
    );
    let version = b["version"].as_str().unwrap();
    assert!(version.starts_with("v2."), "{version}");
    assert_eq!(r.header("X-Coder-Build-Version"), Some(version));
    assert_eq!(b["dashboard_url"], s.url(""));
    assert_eq!(b["telemetry"], false);
    assert_eq!(b["workspace_proxy"], false);
    uuid::Uuid::parse_str(b["deployment_id"].as_str().unwrap()).unwrap();
    let h = s.anon("GET", "/healthz", None);
    assert_eq!(h.status, 200);
    assert_eq!(h.text, "OK");
    assert!(h.header("X-Coder-Build-Version").is_some());
}

#[test]
fn error_model_for_routes_methods_json_and_size() {
    let s = Server::start_with(|c| c.max_body_bytes = 1024);
    let o = s.setup();
    s.anon("GET", "/api/v2/no/such/route", None)
        .assert_error(404, "Route not found.");
    s.anon("GET", "/nowhere", None)
        .assert_error(404, "Route not found.");
    let r = s.anon("DELETE", "/api/v2/users/first", None);
    r.assert_error(405, "Method not allowed.");
    assert!(r.header("X-Coder-Build-Version").is_some());
    // Malformed, empty and wrongly typed JSON.
    s.request("POST", "/api/v2/users/login", None, &[], Some("{bad"))
        .assert_error(400, "Request body must be valid JSON.");
    s.request("POST", "/api/v2/users/login", None, &[], Some(""))
        .assert_error(400, "Request body must be valid JSON.")
        .assert_detail("EOF");
    let r = s.request(
        "POST",
        "/api/v2/organizations",
        Some(&o.token),
        &[],
        Some(r#"{"name": 5}"#),
    );
    r.assert_error(400, "Request body must be valid JSON.");
    assert!(
        r.body["detail"].as_str().unwrap().contains("name"),
        "{}",
        r.text
    );
    // Oversize body.
    let big = format!(r#"{{"name":"{}"}}"#, "a".repeat(4096));
    s.request(
        "POST",
        "/api/v2/organizations",
        Some(&o.token),
        &[],
        Some(&big),
    )
    .assert_error(413, "Request body is too large.");
    // Field validation names the field.
    s.post(
        "/api/v2/organizations",
        &o.token,
        json!({"name": "bad name"}),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("name");
    // Malformed path UUID.
    s.get("/api/v2/groups/abc", &o.token)
        .assert_error(400, "Invalid UUID \"abc\".");
    // Unknown fields are ignored, trailing data after the first value too.
    let r = s.request(
        "POST",
        "/api/v2/users/login",
        None,
        &[],
        Some(
            r#"{"email":"admin@example.com","password":"SomeSecurePassword!","extra":1} trailing"#,
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

#[test]
fn first_user_setup() {
    let s = Server::start();
    let r = s.anon("GET", "/api/v2/users/first", None);
    r.assert_error(404, "The initial user has not been created!");
    assert!(r.header("X-Coder-Build-Version").is_some());
    // Validation: missing and malformed fields, each named.
    let r = s.anon(
        "POST",
        "/api/v2/users/first",
        Some(json!({"username": "x y"})),
    );
    r.assert_error(400, "Validation failed.")
        .assert_field("email")
        .assert_field("username")
        .assert_field("password");
    assert_eq!(
        r.body["validations"][0]["detail"],
        "Validation failed for tag \"required\" with value: \"\""
    );
    s.anon(
        "POST",
        "/api/v2/users/first",
        Some(json!({"email": "admin@example.com", "username": "admin", "password": "password"})),
    )
    .assert_error(400, "Password is invalid")
    .assert_field("password");
    let r = s.anon(
        "POST",
        "/api/v2/users/first",
        Some(json!({"email": "admin@example.com", "username": "admin", "name": "Admin", "password": PASSWORD})),
    );
    snapshot::assert_body("POST", "/api/v2/users/first", r.ok(201));
    let o = Owner {
        token: s.login("admin@example.com", PASSWORD),
        id: r.body["user_id"].as_str().unwrap().to_string(),
        org: r.body["organization_id"].as_str().unwrap().to_string(),
    };
    let r = s.anon("GET", "/api/v2/users/first", None);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["message"],
        "The initial user has already been created!"
    );
    s.anon(
        "POST",
        "/api/v2/users/first",
        Some(json!({"email": "b@example.com", "username": "b", "password": PASSWORD})),
    )
    .assert_error(409, "The initial user has already been created.");
    // The first user is an owner in the default organization.
    let me = s.get("/api/v2/users/me", &o.token);
    let me = me.ok(200);
    assert_eq!(me["id"], o.id.as_str());
    assert_eq!(
        me["roles"],
        json!([{"name": "owner", "display_name": "Owner"}])
    );
    assert_eq!(me["organization_ids"], json!([o.org]));
    let org = s.get("/api/v2/organizations/default", &o.token);
    assert_eq!(org.ok(200)["name"], "coder");
    assert_eq!(org.body["is_default"], true);
}

#[test]
fn login_and_logout() {
    let s = Server::start_with(|c| c.login_rate_limit = 3);
    let o = s.setup();
    let r = s.anon(
        "POST",
        "/api/v2/users/login",
        Some(json!({"email": "ADMIN@example.com", "password": PASSWORD})),
    );
    let token = r.ok(201)["session_token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 33);
    let cookie = r.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with(&format!("coder_session_token={token}")),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    // Missing fields.
    s.anon(
        "POST",
        "/api/v2/users/login",
        Some(json!({"email": "admin@example.com"})),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("password");
    // Same answer for unknown user and wrong password.
    s.anon(
        "POST",
        "/api/v2/users/login",
        Some(json!({"email": "nobody@example.com", "password": PASSWORD})),
    )
    .assert_error(401, "Incorrect email or password.");
    for _ in 0..3 {
        s.anon(
            "POST",
            "/api/v2/users/login",
            Some(json!({"email": "admin@example.com", "password": "wrong-password-1"})),
        )
        .assert_error(401, "Incorrect email or password.");
    }
    // Rate limited now, even with the right password.
    let r = s.anon(
        "POST",
        "/api/v2/users/login",
        Some(json!({"email": "admin@example.com", "password": PASSWORD})),
    );
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.body["message"].is_string());
    assert_eq!(r.header("retry-after"), Some("60"));
    // Within the minute it holds; once the minute has passed it lifts.
    s.advance(Duration::from_secs(59));
    let r = s.anon(
        "POST",
        "/api/v2/users/login",
        Some(json!({"email": "admin@example.com", "password": PASSWORD})),
    );
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.header("retry-after"), Some("1"));
    s.advance(Duration::from_secs(1));
    s.anon(
        "POST",
        "/api/v2/users/login",
        Some(json!({"email": "admin@example.com", "password": PASSWORD})),
    )
    .ok(201);
    // Logout deletes the key and expires the cookie.
    let r = s.request("POST", "/api/v2/users/logout", Some(&token), &[], None);
    assert_eq!(r.ok(200)["message"], "Logged out!");
    assert!(
        r.header("set-cookie").unwrap().contains("Max-Age=-1")
            || r.header("set-cookie").unwrap().contains("Max-Age=0")
    );
    s.get("/api/v2/users/me", &token)
        .assert_error(401, SIGNED_OUT)
        .assert_detail("API key is invalid.");
    s.get("/api/v2/users/me", &o.token).ok(200);
    s.anon("POST", "/api/v2/users/logout", None)
        .assert_error(401, SIGNED_OUT);
}

#[test]
fn suspended_and_non_password_logins() {
    let s = Server::start();
    let o = s.setup();
    let u = s.user(&o, "bob", &[]);
    s.put(
        &format!("/api/v2/users/{}/status/suspend", u.id),
        &o.token,
        json!({}),
    )
    .ok(200);
    s.anon(
        "POST",
        "/api/v2/users/login",
        Some(json!({"email": "bob@example.com", "password": PASSWORD})),
    )
    .assert_error(
        401,
        "Your account is suspended. Contact an admin to reactivate your account.",
    );
    s.get("/api/v2/users/me", &u.token).assert_error(
        401,
        "User is not active (status = \"suspended\"). Contact an admin to reactivate your account.",
    );
    s.post(
        "/api/v2/users",
        &o.token,
        json!({"email": "svc@example.com", "username": "svc", "login_type": "none", "organization_ids": [o.org]}),
    )
    .ok(201);
    s.anon(
        "POST",
        "/api/v2/users/login",
        Some(json!({"email": "svc@example.com", "password": PASSWORD})),
    )
    .assert_error(401, "Incorrect email or password.");
}

#[test]
fn token_sources_and_failures() {
    let s = Server::start();
    let o = s.setup();
    let t = &o.token;
    let me = "/api/v2/users/me";
    let ok = |r: Resp| assert_eq!(r.status, 200, "{}", r.text);
    ok(s.request(
        "GET",
        me,
        None,
        &[("Cookie", &format!("coder_session_token={t}"))],
        None,
    ));
    ok(s.request(
        "GET",
        &format!("{me}?coder_session_token={t}"),
        None,
        &[],
        None,
    ));
    ok(s.request(
        "GET",
        me,
        None,
        &[("Authorization", &format!("bearer  {t} "))],
        None,
    ));
    ok(s.request("GET", &format!("{me}?access_token={t}"), None, &[], None));
    // The cookie wins over a bad header.
    ok(s.request(
        "GET",
        me,
        Some("garbage"),
        &[("Cookie", &format!("coder_session_token={t}"))],
        None,
    ));
    s.anon("GET", me, None)
        .assert_error(401, SIGNED_OUT)
        .assert_detail("Cookie \"coder_session_token\" or query parameter must be provided.");
    s.get(me, "abc")
        .assert_error(401, SIGNED_OUT)
        .assert_detail(
            "Invalid API key format: incorrect amount of API key parts, expected 2 got 1",
        );
    s.get(me, "abc-defghijklmnopqrstuvwxyz")
        .assert_detail("Invalid API key format: invalid API key ID length, expected 10 got 3");
    s.get(me, "abcdefghij-short")
        .assert_detail("Invalid API key format: invalid API key secret length, expected 22 got 5");
    s.get(me, "abcdefghij-0123456789012345678901")
        .assert_error(401, SIGNED_OUT)
        .assert_detail("API key is invalid.");
    let (id, _) = t.split_once('-').unwrap();
    s.get(me, &format!("{id}-0123456789012345678901"))
        .assert_error(401, SIGNED_OUT)
        .assert_detail("API key secret is invalid.");
}

#[test]
fn expired_tokens_are_refused() {
    let s = Server::start();
    let o = s.setup();
    let r = s.post(
        "/api/v2/users/me/keys/tokens",
        &o.token,
        json!({"lifetime": 1_000_000_000u64, "token_name": "short"}),
    );
    let key = r.ok(201)["key"].as_str().unwrap().to_string();
    s.get("/api/v2/users/me", &key).ok(200);
    s.advance(std::time::Duration::from_millis(1100));
    let r = s.get("/api/v2/users/me", &key);
    r.assert_error(401, SIGNED_OUT);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("API key expired at \"") && detail.ends_with(" +0000 UTC\"."),
        "{detail}"
    );
}

#[test]
fn state_survives_restart() {
    let mut s = Server::start();
    let o = s.setup();
    s.restart();
    let me = s.get("/api/v2/users/me", &o.token);
    assert_eq!(me.ok(200)["username"], "admin");
    let token = s.login("admin@example.com", PASSWORD);
    s.get("/api/v2/users/me", &token).ok(200);
    assert_eq!(s.anon("GET", "/api/v2/users/first", None).status, 200);
}

#[test]
fn authmethods() {
    let s = Server::start();
    let r = s.anon("GET", "/api/v2/users/authmethods", None);
    let b = r.ok(200);
    assert_eq!(b["password"], json!({"enabled": true}));
    assert_eq!(b["github"]["enabled"], false);
    assert_eq!(b["oidc"]["enabled"], false);
    assert!(b["oidc"]["signInText"].is_string() && b["oidc"]["iconUrl"].is_string());
}

#[test]
fn database_file_holds_no_secrets_or_passwords() {
    let mut s = Server::start_sqlite();
    let o = s.setup();
    let r = s.post(
        "/api/v2/users/me/keys/tokens",
        &o.token,
        json!({"token_name": "t"}),
    );
    let token = r.ok(201)["key"].as_str().unwrap().to_string();
    let session = s.request("POST", "/api/v2/users/me/keys", Some(&o.token), &[], None);
    let session = session.ok(201)["key"].as_str().unwrap().to_string();
    // Read the database with its write-ahead log both live and after a
    // clean stop (which folds the log into the file).
    let files = |s: &Server| -> Vec<u8> {
        let mut all = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let p = format!("{}{suffix}", s.config.db.display());
            if let Ok(b) = std::fs::read(&p) {
                all.extend(b);
            }
        }
        all
    };
    let mut snapshots = vec![files(&s)];
    s.restart();
    snapshots.push(files(&s));
    for bytes in snapshots {
        let hay = String::from_utf8_lossy(&bytes);
        for t in [&o.token, &token, &session] {
            let secret = t.split('-').nth(1).unwrap();
            assert!(!hay.contains(secret), "a token secret is stored in clear");
        }
        assert!(!hay.contains(PASSWORD), "a password is stored in clear");
    }
}

/// Every route that needs a session, with a plausible path.
const AUTHENTICATED: &[(&str, &str)] = &[
    ("POST", "/api/v2/users/logout"),
    ("GET", "/api/v2/users/roles"),
    ("GET", "/api/v2/users"),
    ("POST", "/api/v2/users"),
    ("GET", "/api/v2/users/me"),
    ("DELETE", "/api/v2/users/me"),
    ("PUT", "/api/v2/users/me/status/suspend"),
    ("PUT", "/api/v2/users/me/status/activate"),
    ("GET", "/api/v2/users/me/roles"),
    ("PUT", "/api/v2/users/me/roles"),
    ("PUT", "/api/v2/users/me/profile"),
    ("PUT", "/api/v2/users/me/password"),
    ("GET", "/api/v2/users/me/gitsshkey"),
    ("PUT", "/api/v2/users/me/gitsshkey"),
    ("GET", "/api/v2/users/me/organizations"),
    ("GET", "/api/v2/users/me/organizations/coder"),
    ("POST", "/api/v2/users/me/keys"),
    ("GET", "/api/v2/users/me/keys/tokens"),
    ("POST", "/api/v2/users/me/keys/tokens"),
    ("GET", "/api/v2/users/me/keys/tokens/tokenconfig"),
    ("GET", "/api/v2/users/me/keys/tokens/name"),
    ("GET", "/api/v2/users/me/keys/abcdefghij"),
    ("DELETE", "/api/v2/users/me/keys/abcdefghij"),
    ("GET", "/api/v2/organizations"),
    ("POST", "/api/v2/organizations"),
    ("GET", "/api/v2/organizations/default"),
    ("PATCH", "/api/v2/organizations/default"),
    ("DELETE", "/api/v2/organizations/default"),
    ("GET", "/api/v2/organizations/default/members"),
    ("GET", "/api/v2/organizations/default/paginated-members"),
    ("GET", "/api/v2/organizations/default/members/roles"),
    ("POST", "/api/v2/organizations/default/members/me"),
    ("DELETE", "/api/v2/organizations/default/members/me"),
    ("PUT", "/api/v2/organizations/default/members/me/roles"),
    ("GET", "/api/v2/organizations/default/groups"),
    ("POST", "/api/v2/organizations/default/groups"),
    ("GET", "/api/v2/organizations/default/groups/Everyone"),
    ("GET", "/api/v2/groups"),
    ("GET", "/api/v2/groups/7c60d51f-b44e-4682-87d6-449835ea4de6"),
    (
        "PATCH",
        "/api/v2/groups/7c60d51f-b44e-4682-87d6-449835ea4de6",
    ),
    (
        "DELETE",
        "/api/v2/groups/7c60d51f-b44e-4682-87d6-449835ea4de6",
    ),
];

#[test]
fn every_authenticated_route_refuses_anonymous_callers() {
    let s = Server::start();
    s.setup();
    for (method, path) in AUTHENTICATED {
        let body = if *method == "GET" || *method == "DELETE" {
            None
        } else {
            Some("{}")
        };
        let r = s.request(method, path, None, &[], body);
        assert_eq!(r.status, 401, "{method} {path}: {}", r.text);
        r.assert_error(401, SIGNED_OUT)
            .assert_detail("Cookie \"coder_session_token\" or query parameter must be provided.");
    }
}

#[test]
fn dashboard_is_bundled_with_cache_validators() {
    let s = Server::start();
    let r = s.anon("GET", "/", None);
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let etag = r.header("etag").expect("the page has an ETag").to_string();
    // The page refers to its assets under a content version.
    let re = regex::Regex::new(r#"src="(/static/~[0-9a-f]{16}/app\.js)""#).unwrap();
    let app = re.captures(&r.text).expect("versioned app.js")[1].to_string();
    assert!(!r.text.contains("http://") && !r.text.contains("https://"));
    // Revalidating the page costs a 304 and no body.
    let again = s.request("GET", "/", None, &[("If-None-Match", &etag)], None);
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());
    // A versioned asset is kept by the browser for a year.
    let js = s.anon("GET", &app, None);
    assert_eq!(js.status, 200);
    assert!(js
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert_eq!(
        js.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(js.text.contains("./pages/workspaces.js"));
    let js_etag = js.header("etag").unwrap().to_string();
    assert_eq!(
        s.request("GET", &app, None, &[("If-None-Match", &js_etag)], None)
            .status,
        304
    );
    // The same file without a version, or under an older one, revalidates.
    let plain = s.anon("GET", "/static/api.js", None);
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("cache-control"), Some("no-cache"));
    assert!(plain.text.contains("X-CSRF-TOKEN"));
    let old = s.anon("GET", "/static/~0123456789abcdef/api.js", None);
    assert_eq!(old.status, 200);
    assert_eq!(old.header("cache-control"), Some("no-cache"));
    assert_eq!(old.header("etag"), plain.header("etag"));
    let css = s.anon("GET", "/static/app.css", None);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    s.anon("GET", "/static/missing.js", None)
        .assert_error(404, "Route not found.");
}
