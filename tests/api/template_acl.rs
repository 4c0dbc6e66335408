//! Template permissions (Coder's Premium template ACL, free in warren): the
//! three routes, the Everyone group's default `use`, and the ACL deciding
//! who sees a template, its versions and its workspaces, and who creates
//! workspaces from it — open watch streams included.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;
use crate::watch::{ws_next, ws_open};

const UNKNOWN: &str = "7c60d51f-b44e-4682-87d6-449835ea4de6";

/// Coder's `codersdk.User` keys (`avatar_url` is left out when empty), and
/// `role`.
const TEMPLATE_USER_KEYS: &[&str] = &[
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
    "role",
];

/// Coder's `codersdk.Group` keys, and `role`.
const TEMPLATE_GROUP_KEYS: &[&str] = &[
    "id",
    "name",
    "display_name",
    "organization_id",
    "organization_name",
    "organization_display_name",
    "members",
    "total_member_count",
    "avatar_url",
    "quota_allowance",
    "source",
    "role",
];

fn acl_path(template: &str) -> String {
    format!("/api/v2/templates/{template}/acl")
}

/// `(name, role)` of ACL entries.
type Entries = Vec<(String, String)>;

/// `(username, role)` of the ACL's users and `(group name, role)` of its
/// groups.
fn entries(acl: &Value) -> (Entries, Entries) {
    let pairs = |key: &str, name: &str| {
        acl[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key} in {acl}"))
            .iter()
            .map(|e| {
                (
                    e[name].as_str().unwrap().to_string(),
                    e["role"].as_str().unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    (pairs("users", "username"), pairs("group", "name"))
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

/// A group of the default organization with these members.
fn group(s: &Server, o: &Owner, name: &str, members: &[&str]) -> String {
    let g = s.post(
        &format!("/api/v2/organizations/{}/groups", o.org),
        &o.token,
        json!({"name": name}),
    );
    let id = g.ok(201)["id"].as_str().unwrap().to_string();
    s.patch(
        &format!("/api/v2/groups/{id}"),
        &o.token,
        json!({"add_users": members}),
    )
    .ok(200);
    id
}

#[test]
fn a_new_template_grants_the_everyone_group_use_unless_told_not_to() {
    let s = Server::start();
    let o = s.setup();
    let t = s.template(&o, "open");
    let acl = s.get(&acl_path(t["id"].as_str().unwrap()), &o.token);
    let acl = acl.ok(200);
    assert_keys(acl, &["users", "group"]);
    assert_eq!(entries(acl), (vec![], vec![pair("Everyone", "use")]));
    assert_keys(&acl["group"][0], TEMPLATE_GROUP_KEYS);
    assert_eq!(acl["group"][0]["id"], o.org.as_str());
    // Created with the Everyone group left out.
    let v = s.import(&o, "docker", None);
    let r = s.post(
        &format!("/api/v2/organizations/{}/templates", o.org),
        &o.token,
        json!({"name": "closed", "template_version_id": v["id"], "disable_everyone_group_access": true}),
    );
    let closed = r.ok(201)["id"].as_str().unwrap().to_string();
    let acl = s.get(&acl_path(&closed), &o.token);
    assert_eq!(entries(acl.ok(200)), (vec![], vec![]));
}

#[test]
fn template_admins_and_acl_admins_manage_the_list() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &[]);
    let carol = s.user(&o, "carol", &[]);
    let sam = s.user(&o, "sam", &[]);
    let devs = group(&s, &o, "devs", &[&bob.id]);
    let t = s.template(&o, "tee");
    let id = t["id"].as_str().unwrap().to_string();
    let r = s.patch(
        &acl_path(&id),
        &o.token,
        json!({"user_perms": {alice.id.clone(): "admin", sam.id.clone(): "use"},
               "group_perms": {devs.clone(): "use"}}),
    );
    assert_eq!(
        r.ok(200),
        &json!({"message": "Successfully updated template ACL list."})
    );
    // A suspended grantee is not listed.
    s.put(
        &format!("/api/v2/users/{}/status/suspend", sam.id),
        &o.token,
        json!({}),
    )
    .ok(200);
    let acl = s.get(&acl_path(&id), &o.token).ok(200).clone();
    assert_eq!(
        entries(&acl),
        (
            vec![pair("alice", "admin")],
            vec![pair("devs", "use"), pair("Everyone", "use")]
        )
    );
    let user = &acl["users"][0];
    assert_keys(user, TEMPLATE_USER_KEYS);
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["organization_ids"], json!([o.org]));
    assert_eq!(user["roles"], json!([]));
    let devs_entry = acl["group"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "devs")
        .unwrap();
    assert_eq!(devs_entry["total_member_count"], 1);
    assert_eq!(devs_entry["members"][0]["username"], "bob");

    // Alice, an ACL admin, manages the list herself: she sees who may be
    // added, grants Carol, then takes it back.
    let available = s.get(&format!("{}/available", acl_path(&id)), &alice.token);
    let available = available.ok(200);
    assert_keys(available, &["users", "groups"]);
    let names = |v: &Value, key: &str, field: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[field].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(available, "users", "username"),
        vec!["admin", "alice", "bob", "carol", "sam"]
    );
    assert_eq!(names(available, "groups", "name"), vec!["devs", "Everyone"]);
    let r = s.get(
        &format!("{}/available?q=car&limit=5", acl_path(&id)),
        &alice.token,
    );
    assert_eq!(names(r.ok(200), "users", "username"), vec!["carol"]);
    s.patch(
        &acl_path(&id),
        &alice.token,
        json!({"user_perms": {carol.id.clone(): "use"}}),
    )
    .ok(200);
    let acl = s.get(&acl_path(&id), &alice.token);
    assert_eq!(
        entries(acl.ok(200)).0,
        vec![pair("alice", "admin"), pair("carol", "use")]
    );
    // `""` removes, also an id that never was granted (or no longer exists).
    s.patch(
        &acl_path(&id),
        &alice.token,
        json!({"user_perms": {carol.id.clone(): "", UNKNOWN: ""}, "group_perms": {devs.clone(): ""}}),
    )
    .ok(200);
    let acl = s.get(&acl_path(&id), &alice.token);
    assert_eq!(
        entries(acl.ok(200)),
        (vec![pair("alice", "admin")], vec![pair("Everyone", "use")])
    );
    // Carol, granted `use` no more, only sees the template through the
    // Everyone group; she may not manage it.
    s.get(&acl_path(&id), &carol.token)
        .assert_error(403, "Forbidden.");
    // A site template administrator manages every template.
    let ta = s.user(&o, "tadmin", &["template-admin"]);
    s.get(&acl_path(&id), &ta.token).ok(200);
}

#[test]
fn acl_changes_are_validated_like_coders() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let t = s.template(&o, "tee");
    let path = acl_path(t["id"].as_str().unwrap());
    let invalid = "Invalid request to update template ACL";
    s.patch(
        &path,
        &o.token,
        json!({"user_perms": {alice.id.clone(): "updater"}}),
    )
    .assert_error(400, invalid)
    .assert_field("user_perms");
    let r = s.patch(
        &path,
        &o.token,
        json!({"user_perms": {alice.id.clone(): "updater"}}),
    );
    assert_eq!(
        r.body["validations"],
        json!([{"field": "user_perms", "detail": "role \"updater\" is not a valid template role"}])
    );
    let r = s.patch(&path, &o.token, json!({"user_perms": {"nope": "use"}}));
    assert_eq!(
        r.body["validations"],
        json!([{"field": "user_perms", "detail": "nope is not a valid UUID."}])
    );
    let r = s.patch(&path, &o.token, json!({"user_perms": {UNKNOWN: "use"}}));
    r.assert_error(400, invalid);
    assert_eq!(
        r.body["validations"],
        json!([{"field": "user_perms", "detail": format!("user with ID {UNKNOWN} does not exist")}])
    );
    let r = s.patch(&path, &o.token, json!({"group_perms": {UNKNOWN: "admin"}}));
    assert_eq!(
        r.body["validations"],
        json!([{"field": "group_perms", "detail": format!("group with ID {UNKNOWN} does not exist")}])
    );
    // A group of another organization is not one of this template's.
    let other = s.post("/api/v2/organizations", &o.token, json!({"name": "other"}));
    let other = other.ok(201)["id"].as_str().unwrap().to_string();
    s.patch(&path, &o.token, json!({"group_perms": {other: "use"}}))
        .assert_error(400, invalid)
        .assert_field("group_perms");
    // Every problem at once, groups first; nothing is applied.
    let r = s.patch(
        &path,
        &o.token,
        json!({"user_perms": {alice.id.clone(): "use", "x": "use"}, "group_perms": {UNKNOWN: "use"}}),
    );
    let fields: Vec<&str> = r.body["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["group_perms", "user_perms"]);
    let acl = s.get(&path, &o.token);
    assert_eq!(acl.ok(200)["users"], json!([]));
    // Bodies and queries that are not what Coder reads.
    s.patch(&path, &o.token, json!({"user_perms": ["use"]}))
        .assert_error(400, "Request body must be valid JSON.");
    s.get(&format!("{path}/available?q=status:sleepy"), &o.token)
        .assert_error(400, "Invalid user search query.")
        .assert_field("status");
    s.get(&format!("{path}/available?limit=-1"), &o.token)
        .assert_error(400, "Query parameters have invalid values.")
        .assert_field("limit");
    s.get("/api/v2/templates/nope/acl", &o.token)
        .assert_error(400, "Invalid UUID \"nope\".");
}

#[test]
fn acl_routes_hide_and_refuse_as_coder_does() {
    let s = Server::start();
    let o = s.setup();
    let bob = s.user(&o, "bob", &[]);
    let t = s.template(&o, "tee");
    let id = t["id"].as_str().unwrap().to_string();
    let routes = |template: &str| {
        [
            ("GET", acl_path(template), None),
            ("PATCH", acl_path(template), Some(json!({"user_perms": {}}))),
            ("GET", format!("{}/available", acl_path(template)), None),
        ]
    };
    for (method, path, body) in routes(&id) {
        s.anon(method, &path, body.clone())
            .assert_error(401, SIGNED_OUT);
    }
    for (method, path, body) in routes(UNKNOWN) {
        let b = body.map(|b| b.to_string());
        s.request(method, &path, Some(&o.token), &[], b.as_deref())
            .assert_error(404, NOT_FOUND);
    }
    // Bob uses the template through the Everyone group: he sees it, so the
    // list answers 403, and the candidates are hidden (404) as in Coder.
    s.get(&acl_path(&id), &bob.token)
        .assert_error(403, "Forbidden.");
    s.patch(
        &acl_path(&id),
        &bob.token,
        json!({"user_perms": {bob.id.clone(): "admin"}}),
    )
    .assert_error(403, "Forbidden.");
    s.get(&format!("{}/available", acl_path(&id)), &bob.token)
        .assert_error(404, NOT_FOUND);
    // Once the Everyone group is gone, Bob cannot see the template at all.
    s.patch(
        &acl_path(&id),
        &o.token,
        json!({"group_perms": {o.org.clone(): ""}}),
    )
    .ok(200);
    s.get(&acl_path(&id), &bob.token)
        .assert_error(404, NOT_FOUND);
}

/// The workspace ids of a list answer.
fn ids(list: &Value) -> Vec<String> {
    list["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_acl_decides_visibility_versions_and_creation_everywhere() {
    let s = Server::start();
    let o = s.setup();
    let bob = s.user(&o, "bob", &[]);
    let t = s.template(&o, "tee");
    let id = t["id"].as_str().unwrap().to_string();
    let version = t["active_version_id"].as_str().unwrap().to_string();
    let grant = |role: &str| {
        s.patch(
            &acl_path(&id),
            &o.token,
            json!({"user_perms": {bob.id.clone(): role}, "group_perms": {o.org.clone(): ""}}),
        )
        .ok(200);
    };
    let listed = || {
        let r = s.get("/api/v2/templates", &bob.token);
        r.ok(200)
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str())
    };
    let create = |name: &str| {
        s.post(
            "/api/v2/users/me/workspaces",
            &bob.token,
            json!({"template_id": id, "name": name}),
        )
    };
    // Granted `use`: Bob lists, reads and builds from the template.
    grant("use");
    assert!(listed());
    s.get(&format!("/api/v2/templates/{id}"), &bob.token)
        .ok(200);
    s.get(&format!("/api/v2/templateversions/{version}"), &bob.token)
        .ok(200);
    s.get(
        &format!("/api/v2/organizations/{}/templates/tee", o.org),
        &bob.token,
    )
    .ok(200);
    let w = create("mine").ok(201)["id"].as_str().unwrap().to_string();
    s.wait_build(&bob.token, &w);
    let r = s.get("/api/v2/workspaces?q=template:tee", &bob.token);
    assert_eq!(ids(r.ok(200)), vec![w.clone()]);
    // Use does not manage.
    s.patch(
        &format!("/api/v2/templates/{id}"),
        &bob.token,
        json!({"description": "mine now"}),
    )
    .assert_error(403, "Forbidden.");
    // Granted nothing: the template, its versions and its workspaces are
    // out of Bob's reach, his own workspace included (Coder answers 403
    // for a workspace whose template its viewer cannot read).
    grant("");
    assert!(!listed());
    s.get(&format!("/api/v2/templates/{id}"), &bob.token)
        .assert_error(404, NOT_FOUND);
    s.get(&format!("/api/v2/templateversions/{version}"), &bob.token)
        .assert_error(404, NOT_FOUND);
    s.get(
        &format!("/api/v2/organizations/{}/templates/tee", o.org),
        &bob.token,
    )
    .assert_error(404, NOT_FOUND);
    create("another")
        .assert_error(400, &format!("Template {id:?} doesn't exist."))
        .assert_field("template_id");
    let r = s.get("/api/v2/workspaces?q=template:tee", &bob.token);
    assert_eq!(ids(r.ok(200)), Vec::<String>::new());
    s.get(&format!("/api/v2/workspaces/{w}"), &bob.token)
        .assert_error(403, "Forbidden.");
    // The owner still sees it all.
    let r = s.get("/api/v2/workspaces?q=template:tee", &o.token);
    assert_eq!(ids(r.ok(200)), vec![w.clone()]);
    // Granted `admin`: Bob manages the template.
    grant("admin");
    s.patch(
        &format!("/api/v2/templates/{id}"),
        &bob.token,
        json!({"description": "managed by bob"}),
    )
    .ok(200);
    s.get(&format!("/api/v2/workspaces/{w}"), &bob.token)
        .ok(200);
}

/// The ACL taking effect on streams already open. Coder keeps a workspace
/// readable by its owner, but shows it only to viewers who may read its
/// template (the list skips it, the workspace watch reports "Forbidden
/// reading template of selected workspace."): so the owner of a workspace
/// who loses `use` on its template sees it leave their open list stream and
/// their open workspace stream end, and come back when granted again.
#[test]
fn acl_removal_takes_effect_on_open_watch_streams() {
    let s = Server::start();
    let o = s.setup();
    let bob = s.user(&o, "bob", &[]);
    let t = s.template(&o, "tee");
    let id = t["id"].as_str().unwrap().to_string();
    let grant = |role: &str| {
        s.patch(
            &acl_path(&id),
            &o.token,
            json!({"user_perms": {bob.id.clone(): role}, "group_perms": {o.org.clone(): ""}}),
        )
        .ok(200);
    };
    grant("use");
    let w = s.workspace(&bob.token, &id, "mine");
    let w = w["id"].as_str().unwrap().to_string();
    let mut list = ws_open(&s, "/api/v2/workspaces/watch-ws?q=owner:me", &bob.token);
    let page = next_event(&mut list);
    assert_eq!(page["type"], "workspaces");
    assert_eq!(ids(&page["data"]), vec![w.clone()]);
    let mut one = Sse::open(&s, &format!("/api/v2/workspaces/{w}/watch"), &bob.token);
    let (event, first) = one.next_data(Duration::from_secs(5)).unwrap();
    assert_eq!(
        (event.as_str(), first["id"].as_str()),
        ("data", Some(w.as_str()))
    );

    grant("");
    let removed = next_event(&mut list);
    assert_eq!(
        (
            &removed["type"],
            &removed["data"]["change"],
            &removed["data"]["id"]
        ),
        (&json!("workspace"), &json!("removed"), &json!(w))
    );
    let (event, error) = one.next_data(Duration::from_secs(5)).unwrap();
    assert_eq!(event, "error");
    assert_eq!(
        error["message"],
        "Forbidden reading template of selected workspace."
    );
    assert!(
        one.next_data(Duration::from_secs(1)).is_none(),
        "the stream ended"
    );

    // Granted again, it comes back.
    grant("use");
    let added = next_event(&mut list);
    assert_eq!(
        (&added["data"]["change"], &added["data"]["workspace"]["id"]),
        (&json!("added"), &json!(w))
    );
}

/// The next message of a WebSocket list stream that is not a ping.
fn next_event(ws: &mut crate::watch::Ws) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "no event");
        let m = ws_next(ws).unwrap();
        if m["type"] != "ping" {
            return m;
        }
    }
}
