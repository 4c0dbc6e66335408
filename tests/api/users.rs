//! `/users` endpoints.

use serde_json::json;

use crate::common::*;

const USER_KEYS: &[&str] = &[
    "id",
    "username",
    "name",
    "email",
    "created_at",
    "updated_at",
    "last_seen_at",
    "status",
    "login_type",
    "theme_preference",
    "is_service_account",
    "organization_ids",
    "roles",
];

#[test]
fn create_user_and_read_it_field_by_field() {
    let s = Server::start();
    let o = s.setup();
    let r = s.post(
        "/api/v2/users",
        &o.token,
        json!({"email": "carol@example.com", "username": "carol", "name": "Carol C",
               "password": PASSWORD, "organization_ids": ["00000000-0000-0000-0000-000000000000"],
               "roles": ["auditor"]}),
    );
    let u = r.ok(201).clone();
    assert_keys(&u, USER_KEYS);
    assert_eq!(u["username"], "carol");
    assert_eq!(u["email"], "carol@example.com");
    assert_eq!(u["name"], "Carol C");
    assert_eq!(u["status"], "dormant");
    assert_eq!(u["login_type"], "password");
    // Coder omits an empty avatar.
    assert!(u.get("avatar_url").is_none());
    assert_eq!(u["theme_preference"], "");
    assert_eq!(u["is_service_account"], false);
    assert_eq!(u["last_seen_at"], "0001-01-01T00:00:00Z");
    assert_time(&u["created_at"]);
    assert_time(&u["updated_at"]);
    assert_eq!(u["organization_ids"], json!([o.org]));
    assert_eq!(
        u["roles"],
        json!([{"name": "auditor", "display_name": "Auditor"}])
    );
    // By id, by username (case-insensitive), and as me after login (which
    // turns a dormant user active).
    let id = u["id"].as_str().unwrap();
    assert_eq!(
        s.get(&format!("/api/v2/users/{id}"), &o.token).ok(200)["username"],
        "carol"
    );
    assert_eq!(s.get("/api/v2/users/CAROL", &o.token).ok(200)["id"], id);
    let t = s.login("carol@example.com", PASSWORD);
    let me = s.get("/api/v2/users/me", &t);
    assert_eq!(me.ok(200)["status"], "active");
    assert_time(&me.body["last_seen_at"]);
}

#[test]
fn create_user_errors() {
    let s = Server::start();
    let o = s.setup();
    let member = s.user(&o, "member", &[]);
    let base = json!({"email": "d@example.com", "username": "dave", "password": PASSWORD, "organization_ids": [o.org]});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    s.post(
        "/api/v2/users",
        &o.token,
        with("username", json!("bad name")),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("username");
    s.post(
        "/api/v2/users",
        &o.token,
        with("email", json!("not-an-email")),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("email");
    s.post("/api/v2/users", &o.token, with("login_type", json!("none")))
        .assert_error(
            400,
            "Password cannot be set for non-password (\"none\") authentication.",
        );
    s.post("/api/v2/users", &o.token, with("organization_ids", json!([])))
        .assert_error(400, "No organization specified to place the user as a member of. It is required to specify at least one organization id to place the user in.")
        .assert_field("organization_ids");
    s.post("/api/v2/users", &o.token, with("password", json!("weak")))
        .assert_error(400, "Password is invalid")
        .assert_field("password");
    s.post("/api/v2/users", &o.token, with("organization_ids", json!(["7c60d51f-b44e-4682-87d6-449835ea4de6"])))
        .assert_error(404, "Organization does not exist with the provided id \"7c60d51f-b44e-4682-87d6-449835ea4de6\".");
    s.post("/api/v2/users", &o.token, with("roles", json!(["nope"])))
        .assert_error(400, "Role \"nope\" does not exist.");
    s.post("/api/v2/users", &member.token, base.clone())
        .assert_error(403, "You are not authorized to create users.");
    s.anon("POST", "/api/v2/users", Some(base.clone()))
        .assert_error(401, SIGNED_OUT);
    s.post("/api/v2/users", &o.token, base.clone()).ok(201);
    s.post(
        "/api/v2/users",
        &o.token,
        with("email", json!("other@example.com")),
    )
    .assert_error(409, "User already exists.");
    s.post("/api/v2/users", &o.token, with("username", json!("other")))
        .assert_error(409, "User already exists.");
}

#[test]
fn get_user_visibility_and_unknown_users() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let b = s.user(&o, "bob", &[]);
    s.get("/api/v2/users/me", &a.token).ok(200);
    s.get(&format!("/api/v2/users/{}", a.id), &a.token).ok(200);
    // A member cannot read another member: hidden.
    s.get(&format!("/api/v2/users/{}", b.id), &a.token)
        .assert_error(404, NOT_FOUND);
    s.get("/api/v2/users/bob", &a.token)
        .assert_error(404, NOT_FOUND);
    // Unknown users are Coder's 400.
    s.get("/api/v2/users/nosuchuser", &o.token)
        .assert_error(400, "\"user\" must be an existing uuid or username.")
        .assert_detail("queried user=\"nosuchuser\"");
    s.get(
        "/api/v2/users/7c60d51f-b44e-4682-87d6-449835ea4de6",
        &o.token,
    )
    .assert_error(400, "\"user\" must be an existing uuid or username.");
    s.anon("GET", "/api/v2/users/me", None)
        .assert_error(401, SIGNED_OUT);
    // Auditors and template admins read everyone.
    let aud = s.user(&o, "aud", &["auditor"]);
    s.get("/api/v2/users/bob", &aud.token).ok(200);
    let ta = s.user(&o, "ta", &["template-admin"]);
    s.get("/api/v2/users/bob", &ta.token).ok(200);
}

#[test]
fn list_users_query_paging_and_visibility() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    s.user(&o, "bob", &["template-admin"]);
    s.user(&o, "Carl", &[]);
    let r = s.get("/api/v2/users", &o.token);
    let b = r.ok(200);
    assert_keys(b, &["users", "count"]);
    let names: Vec<&str> = b["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["admin", "alice", "bob", "Carl"]);
    assert_eq!(b["count"], 4);
    assert_keys(&b["users"][0], USER_KEYS);
    // Paging keeps the total count.
    let r = s.get("/api/v2/users?limit=2&offset=1", &o.token);
    let names: Vec<&str> = r.ok(200)["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["alice", "bob"]);
    assert_eq!(r.body["count"], 4);
    // Free text, role, status, login_type.
    let q = |q: &str| {
        let r = s.get(&format!("/api/v2/users?q={}", urlencode(q)), &o.token);
        r.ok(200)["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(q("ali"), vec!["alice"]);
    assert_eq!(q("example.com role:template-admin"), vec!["bob"]);
    assert_eq!(q("role:owner"), vec!["admin"]);
    assert_eq!(q("status:active login_type:password").len(), 4);
    assert_eq!(q("status:suspended").len(), 0);
    // Errors.
    s.get("/api/v2/users?q=color:blue", &o.token)
        .assert_error(400, "Invalid user search query.")
        .assert_field("color");
    s.get("/api/v2/users?q=status:sleepy", &o.token)
        .assert_error(400, "Invalid user search query.")
        .assert_field("status");
    s.get("/api/v2/users?limit=-1", &o.token)
        .assert_error(400, "Query parameters have invalid values.")
        .assert_field("limit");
    s.get("/api/v2/users?offset=x", &o.token)
        .assert_error(400, "Query parameters have invalid values.")
        .assert_field("offset");
    s.anon("GET", "/api/v2/users", None)
        .assert_error(401, SIGNED_OUT);
    // A plain member sees only itself.
    let r = s.get("/api/v2/users", &a.token);
    assert_eq!(r.ok(200)["count"], 1);
    assert_eq!(r.body["users"][0]["username"], "alice");
}

/// `limit`, `offset` and `after_id` of `GET /users` answer Coder's 400s
/// (`httpapi.ParsePagination`), all errors at once; a bad `q` is reported
/// before them, as Coder reads `q` first.
#[test]
fn list_users_paging_errors_are_coders() {
    let s = Server::start();
    let o = s.setup();
    let r = s.get("/api/v2/users?limit=abc", &o.token);
    r.assert_error(400, "Query parameters have invalid values.");
    assert_eq!(
        r.body["validations"],
        json!([{
            "field": "limit",
            "detail": "Query param \"limit\" must be a valid 32-bit positive integer: strconv.ParseInt: parsing \"abc\": invalid syntax"
        }])
    );
    let r = s.get(
        "/api/v2/users?offset=-1&limit=2147483648&after_id=x",
        &o.token,
    );
    r.assert_error(400, "Query parameters have invalid values.");
    assert_eq!(
        r.body["validations"],
        json!([
            {"field": "after_id", "detail": "Query param \"after_id\" must be a valid uuid"},
            {"field": "limit", "detail": "Query param \"limit\" must be a valid 32-bit positive integer: strconv.ParseInt: parsing \"2147483648\": value out of range"},
            {"field": "offset", "detail": "Query param \"offset\" must be a valid 32-bit positive integer: value is negative"},
        ])
    );
    s.get("/api/v2/users?limit=1&limit=2", &o.token)
        .assert_error(400, "Query parameters have invalid values.")
        .assert_field("limit");
    s.get("/api/v2/users?limit=x&q=color:blue", &o.token)
        .assert_error(400, "Invalid user search query.")
        .assert_field("color");
    // A limit of 0 is the capped page, not an error.
    let r = s.get("/api/v2/users?limit=0", &o.token);
    assert_eq!(r.ok(200)["users"].as_array().unwrap().len(), 1);
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn delete_user() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let b = s.user(&o, "bob", &[]);
    s.delete(&format!("/api/v2/users/{}", o.id), &o.token)
        .assert_error(403, "You cannot delete yourself!");
    s.delete(&format!("/api/v2/users/{}", b.id), &a.token)
        .assert_error(404, NOT_FOUND);
    s.delete("/api/v2/users/ghost", &o.token)
        .assert_error(400, "\"user\" must be an existing uuid or username.");
    s.anon("DELETE", &format!("/api/v2/users/{}", b.id), None)
        .assert_error(401, SIGNED_OUT);
    let r = s.delete(&format!("/api/v2/users/{}", b.id), &o.token);
    assert_eq!(r.ok(200)["message"], "User has been deleted!");
    // Gone from reads, keys dead, name reusable.
    s.get(&format!("/api/v2/users/{}", b.id), &o.token)
        .assert_error(400, "\"user\" must be an existing uuid or username.");
    s.get("/api/v2/users/me", &b.token)
        .assert_error(401, SIGNED_OUT);
    assert_eq!(s.get("/api/v2/users", &o.token).ok(200)["count"], 2);
    s.user(&o, "bob", &[]);
    // A user-admin may delete; a member may read self but not delete self.
    let ua = s.user(&o, "ua", &["user-admin"]);
    s.delete(&format!("/api/v2/users/{}", a.id), &ua.token)
        .ok(200);
}

#[test]
fn suspend_and_activate() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let b = s.user(&o, "bob", &[]);
    let r = s.put(
        &format!("/api/v2/users/{}/status/suspend", a.id),
        &o.token,
        json!({}),
    );
    assert_eq!(r.ok(200)["status"], "suspended");
    assert_keys(&r.body, USER_KEYS);
    let r = s.put(
        &format!("/api/v2/users/{}/status/activate", a.id),
        &o.token,
        json!({}),
    );
    assert_eq!(r.ok(200)["status"], "active");
    s.get("/api/v2/users/me", &a.token).ok(200);
    s.put("/api/v2/users/me/status/suspend", &o.token, json!({}))
        .assert_error(400, "You cannot suspend yourself.");
    let o2 = s.user(&o, "owner2", &["owner"]);
    s.put(
        &format!("/api/v2/users/{}/status/suspend", o2.id),
        &o.token,
        json!({}),
    )
    .assert_error(
        400,
        "You cannot suspend a user with the \"owner\" role. You must remove the role first.",
    );
    // A member may see itself but not suspend anyone; others are hidden.
    s.put("/api/v2/users/me/status/suspend", &a.token, json!({}))
        .assert_error(403, "Forbidden.");
    s.put(
        &format!("/api/v2/users/{}/status/suspend", b.id),
        &a.token,
        json!({}),
    )
    .assert_error(404, NOT_FOUND);
    s.put("/api/v2/users/ghost/status/activate", &o.token, json!({}))
        .assert_error(400, "\"user\" must be an existing uuid or username.");
    s.anon("PUT", "/api/v2/users/me/status/activate", None)
        .assert_error(401, SIGNED_OUT);
}

#[test]
fn site_roles() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let ua = s.user(&o, "ua", &["user-admin"]);
    let r = s.put(
        &format!("/api/v2/users/{}/roles", a.id),
        &o.token,
        json!({"roles": ["template-admin", "member"]}),
    );
    assert_eq!(
        r.ok(200)["roles"],
        json!([{"name": "template-admin", "display_name": "Template Admin"}])
    );
    let r = s.get(&format!("/api/v2/users/{}/roles", a.id), &o.token);
    assert_eq!(r.ok(200)["roles"], json!(["template-admin"]));
    assert_eq!(r.body["organization_roles"][&o.org], json!([]));
    s.put("/api/v2/users/me/roles", &o.token, json!({"roles": []}))
        .assert_error(400, "You cannot change your own roles.");
    s.put(
        &format!("/api/v2/users/{}/roles", a.id),
        &o.token,
        json!({"roles": ["wizard"]}),
    )
    .assert_error(400, "assign roles: role \"wizard\" does not exist");
    s.put(
        &format!("/api/v2/users/{}/roles", a.id),
        &o.token,
        json!({"roles": 5}),
    )
    .assert_error(400, "Request body must be valid JSON.");
    // A user-admin may not grant owner.
    s.put(
        &format!("/api/v2/users/{}/roles", a.id),
        &ua.token,
        json!({"roles": ["template-admin", "owner"]}),
    )
    .assert_error(403, "Forbidden.");
    s.put(
        &format!("/api/v2/users/{}/roles", o.id),
        &a.token,
        json!({"roles": []}),
    )
    .assert_status_any(&[403, 404]);
    s.anon("GET", "/api/v2/users/me/roles", None)
        .assert_error(401, SIGNED_OUT);
    // The roles list marks what the caller may assign.
    let r = s.get("/api/v2/users/roles", &ua.token);
    let roles = r.ok(200).as_array().unwrap();
    let owner = roles.iter().find(|x| x["name"] == "owner").unwrap();
    assert_eq!(owner["assignable"], false);
    let member = roles.iter().find(|x| x["name"] == "member").unwrap();
    assert_eq!(member["assignable"], true);
    // A site role has no organization: Coder omits the empty id.
    assert_keys(
        owner,
        &[
            "name",
            "display_name",
            "site_permissions",
            "organization_permissions",
            "user_permissions",
            "organization_member_permissions",
            "assignable",
            "built_in",
        ],
    );
}

trait AnyStatus {
    fn assert_status_any(&self, s: &[u16]);
}
impl AnyStatus for Resp {
    #[track_caller]
    fn assert_status_any(&self, s: &[u16]) {
        assert!(
            s.contains(&self.status),
            "status {} body {}",
            self.status,
            self.text
        );
        assert!(self.body["message"].is_string());
    }
}

#[test]
fn profile_and_password() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let b = s.user(&o, "bob", &[]);
    let r = s.put(
        "/api/v2/users/me/profile",
        &a.token,
        json!({"username": "alice2", "name": "Alice Two"}),
    );
    assert_eq!(r.ok(200)["username"], "alice2");
    assert_eq!(r.body["name"], "Alice Two");
    s.put(
        "/api/v2/users/me/profile",
        &a.token,
        json!({"username": "bob"}),
    )
    .assert_error(409, "A user with this username already exists.")
    .assert_field("username");
    s.put(
        "/api/v2/users/me/profile",
        &a.token,
        json!({"username": ""}),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("username");
    s.put(
        &format!("/api/v2/users/{}/profile", b.id),
        &a.token,
        json!({"username": "x"}),
    )
    .assert_error(404, NOT_FOUND);
    // Password change.
    s.put(
        "/api/v2/users/me/password",
        &a.token,
        json!({"password": "AnotherStrongPass#9"}),
    )
    .assert_error(400, "Old password is required.");
    s.put(
        "/api/v2/users/me/password",
        &a.token,
        json!({"old_password": "nope-nope", "password": "AnotherStrongPass#9"}),
    )
    .assert_error(400, "Old password is incorrect.");
    s.put(
        "/api/v2/users/me/password",
        &a.token,
        json!({"old_password": PASSWORD, "password": PASSWORD}),
    )
    .assert_error(400, "New password cannot match old password.");
    s.put(
        "/api/v2/users/me/password",
        &a.token,
        json!({"old_password": PASSWORD, "password": "weak"}),
    )
    .assert_error(400, "Password is invalid");
    let r = s.put(
        "/api/v2/users/me/password",
        &a.token,
        json!({"old_password": PASSWORD, "password": "AnotherStrongPass#9"}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    // All of the user's keys are gone; the new password works.
    s.get("/api/v2/users/me", &a.token)
        .assert_error(401, SIGNED_OUT);
    s.login("alice@example.com", "AnotherStrongPass#9");
    // An owner may reset without the old password.
    let r = s.put(
        &format!("/api/v2/users/{}/password", b.id),
        &o.token,
        json!({"password": "ResetByOwner#123"}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    // A user-admin resets a member's password but not an owner's.
    let ua = s.user(&o, "ua", &["user-admin"]);
    let r = s.put(
        &format!("/api/v2/users/{}/password", b.id),
        &ua.token,
        json!({"password": "ResetByUserAdmin#1"}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    s.put(
        &format!("/api/v2/users/{}/password", o.id),
        &ua.token,
        json!({"password": "ResetByUserAdmin#1"}),
    )
    .assert_error(400, "Only owners can change the password of an owner.");
    s.anon("PUT", "/api/v2/users/me/password", Some(json!({})))
        .assert_error(401, SIGNED_OUT);
}

#[test]
fn git_ssh_keys() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let r = s.get("/api/v2/users/me/gitsshkey", &a.token);
    let k = r.ok(200).clone();
    assert_keys(&k, &["user_id", "created_at", "updated_at", "public_key"]);
    assert_eq!(k["user_id"], a.id.as_str());
    let pk = k["public_key"].as_str().unwrap();
    assert!(pk.starts_with("ssh-ed25519 AAAA"), "{pk}");
    let r = s.put("/api/v2/users/me/gitsshkey", &a.token, json!({}));
    assert_ne!(r.ok(200)["public_key"], k["public_key"]);
    assert_eq!(r.body["created_at"], k["created_at"]);
    // Owners may read others' keys; members may not see others at all.
    s.get(&format!("/api/v2/users/{}/gitsshkey", a.id), &o.token)
        .ok(200);
    s.get(&format!("/api/v2/users/{}/gitsshkey", o.id), &a.token)
        .assert_error(404, NOT_FOUND);
    let aud = s.user(&o, "aud", &["auditor"]);
    s.get(&format!("/api/v2/users/{}/gitsshkey", a.id), &aud.token)
        .assert_error(403, "Forbidden.");
    s.get("/api/v2/users/ghost/gitsshkey", &o.token)
        .assert_error(400, "\"user\" must be an existing uuid or username.");
    s.anon("GET", "/api/v2/users/me/gitsshkey", None)
        .assert_error(401, SIGNED_OUT);
}

#[test]
fn user_organizations() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let r = s.get("/api/v2/users/me/organizations", &a.token);
    let orgs = r.ok(200).as_array().unwrap();
    assert_eq!(orgs.len(), 1);
    assert_keys(
        &orgs[0],
        &[
            "id",
            "name",
            "display_name",
            "description",
            "icon",
            "created_at",
            "updated_at",
            "is_default",
        ],
    );
    let r = s.get("/api/v2/users/me/organizations/coder", &a.token);
    assert_eq!(r.ok(200)["id"], o.org.as_str());
    s.get("/api/v2/users/me/organizations/nope", &a.token)
        .assert_error(404, NOT_FOUND);
    s.get(&format!("/api/v2/users/{}/organizations", o.id), &a.token)
        .assert_error(404, NOT_FOUND);
    s.get("/api/v2/users/ghost/organizations", &o.token)
        .assert_error(400, "\"user\" must be an existing uuid or username.");
    s.anon("GET", "/api/v2/users/me/organizations", None)
        .assert_error(401, SIGNED_OUT);
}
