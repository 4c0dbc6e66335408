//! Organizations, members and organization roles.

use serde_json::json;

use crate::common::*;

const ORG_KEYS: &[&str] = &[
    "id",
    "name",
    "display_name",
    "description",
    "icon",
    "created_at",
    "updated_at",
    "is_default",
];

#[test]
fn organizations_crud() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let r = s.post(
        "/api/v2/organizations",
        &o.token,
        json!({"name": "acme", "display_name": "Acme Inc", "description": "d", "icon": "/i.png"}),
    );
    let org = r.ok(201).clone();
    assert_keys(&org, ORG_KEYS);
    assert_eq!(org["name"], "acme");
    assert_eq!(org["display_name"], "Acme Inc");
    assert_eq!(org["description"], "d");
    assert_eq!(org["icon"], "/i.png");
    assert_eq!(org["is_default"], false);
    let id = org["id"].as_str().unwrap();
    // By id, by name, default aliases.
    assert_eq!(
        s.get(&format!("/api/v2/organizations/{id}"), &o.token)
            .ok(200)["name"],
        "acme"
    );
    assert_eq!(
        s.get("/api/v2/organizations/acme", &o.token).ok(200)["id"],
        id
    );
    assert_eq!(
        s.get("/api/v2/organizations/default", &o.token).ok(200)["id"],
        o.org.as_str()
    );
    assert_eq!(
        s.get(
            "/api/v2/organizations/00000000-0000-0000-0000-000000000000",
            &o.token
        )
        .ok(200)["id"],
        o.org.as_str()
    );
    // The new org has its own Everyone group, whose id is the org's.
    let groups = s.get("/api/v2/organizations/acme/groups", &o.token);
    assert_eq!(groups.ok(200)[0]["id"], id);
    assert_eq!(groups.body[0]["name"], "Everyone");
    // List: owners see all; members only theirs.
    assert_eq!(
        s.get("/api/v2/organizations", &o.token)
            .ok(200)
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let mine = s.get("/api/v2/organizations", &a.token);
    assert_eq!(mine.ok(200).as_array().unwrap().len(), 1);
    assert_keys(&mine.body[0], ORG_KEYS);
    s.get("/api/v2/organizations/acme", &a.token)
        .assert_error(404, NOT_FOUND);
    s.get("/api/v2/organizations/nope", &o.token)
        .assert_error(404, NOT_FOUND);
    s.anon("GET", "/api/v2/organizations", None)
        .assert_error(401, SIGNED_OUT);
    // Create errors.
    s.post("/api/v2/organizations", &o.token, json!({"name": "acme"}))
        .assert_error(409, "Organization already exists with the name \"acme\".");
    s.post("/api/v2/organizations", &o.token, json!({}))
        .assert_error(400, "Validation failed.")
        .assert_field("name");
    s.post(
        "/api/v2/organizations",
        &o.token,
        json!({"name": "default"}),
    )
    .assert_error(400, "Organization name \"default\" is reserved.")
    .assert_field("name");
    s.post("/api/v2/organizations", &a.token, json!({"name": "mine"}))
        .assert_error(403, "Forbidden.");
    s.anon("POST", "/api/v2/organizations", Some(json!({"name": "x"})))
        .assert_error(401, SIGNED_OUT);
    // Update.
    let r = s.patch(
        "/api/v2/organizations/acme",
        &o.token,
        json!({"name": "acme2", "description": "new"}),
    );
    assert_eq!(r.ok(200)["name"], "acme2");
    assert_eq!(r.body["display_name"], "Acme Inc");
    assert_eq!(r.body["description"], "new");
    s.patch(
        "/api/v2/organizations/acme2",
        &o.token,
        json!({"name": "coder"}),
    )
    .assert_error(409, "Organization already exists with the name \"coder\".");
    s.patch(
        "/api/v2/organizations/acme2",
        &o.token,
        json!({"name": "bad name"}),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("name");
    s.patch(
        "/api/v2/organizations/default",
        &a.token,
        json!({"description": "x"}),
    )
    .assert_error(403, "Forbidden.");
    s.patch(
        "/api/v2/organizations/acme2",
        &a.token,
        json!({"description": "x"}),
    )
    .assert_error(404, NOT_FOUND);
    // Delete.
    s.delete("/api/v2/organizations/default", &o.token)
        .assert_error(400, "Default organization cannot be deleted.");
    s.delete("/api/v2/organizations/default", &a.token)
        .assert_error(403, "Forbidden.");
    s.delete("/api/v2/organizations/acme2", &a.token)
        .assert_error(404, NOT_FOUND);
    s.anon("DELETE", "/api/v2/organizations/acme2", None)
        .assert_error(401, SIGNED_OUT);
    let r = s.delete("/api/v2/organizations/acme2", &o.token);
    assert!(r.ok(200)["message"].is_string());
    s.get("/api/v2/organizations/acme2", &o.token)
        .assert_error(404, NOT_FOUND);
}

#[test]
fn members_add_list_remove() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let b = s.user(&o, "bob", &[]);
    s.post("/api/v2/organizations", &o.token, json!({"name": "acme"}))
        .ok(201);
    let r = s.request(
        "POST",
        &format!("/api/v2/organizations/acme/members/{}", a.id),
        Some(&o.token),
        &[],
        None,
    );
    let m = r.ok(200).clone();
    assert_keys(
        &m,
        &[
            "user_id",
            "organization_id",
            "created_at",
            "updated_at",
            "roles",
        ],
    );
    assert_eq!(m["user_id"], a.id.as_str());
    assert_eq!(m["roles"], json!([]));
    s.request(
        "POST",
        "/api/v2/organizations/acme/members/alice",
        Some(&o.token),
        &[],
        None,
    )
    .assert_error(
        400,
        "Organization member already exists in this organization",
    );
    s.request(
        "POST",
        "/api/v2/organizations/acme/members/ghost",
        Some(&o.token),
        &[],
        None,
    )
    .assert_error(400, "\"user\" must be an existing uuid or username.");
    // Alice now sees acme and its members, but may not add anyone.
    let r = s.get("/api/v2/organizations/acme/members", &a.token);
    let list = r.ok(200).as_array().unwrap().clone();
    let names: Vec<&str> = list
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["admin", "alice"]);
    assert_keys(
        &list[0],
        &[
            "user_id",
            "organization_id",
            "created_at",
            "updated_at",
            "roles",
            "username",
            "name",
            "avatar_url",
            "email",
            "global_roles",
            "last_seen_at",
            "status",
            "login_type",
            "user_created_at",
            "user_updated_at",
            "is_service_account",
        ],
    );
    assert_eq!(list[0]["global_roles"][0]["name"], "owner");
    // The creator of acme was made its organization admin.
    assert_eq!(list[0]["roles"][0]["name"], "organization-admin");
    s.request(
        "POST",
        &format!("/api/v2/organizations/acme/members/{}", b.id),
        Some(&a.token),
        &[],
        None,
    )
    .assert_error(403, "Forbidden.");
    s.get("/api/v2/organizations/acme/members", &b.token)
        .assert_error(404, NOT_FOUND);
    s.anon("GET", "/api/v2/organizations/acme/members", None)
        .assert_error(401, SIGNED_OUT);
    // Paginated members.
    let r = s.get(
        "/api/v2/organizations/default/paginated-members?limit=2&offset=1",
        &o.token,
    );
    let b2 = r.ok(200);
    assert_eq!(b2["count"], 3);
    let names: Vec<&str> = b2["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["alice", "bob"]);
    s.get(
        "/api/v2/organizations/default/paginated-members?limit=x",
        &o.token,
    )
    .assert_error(400, "Query parameters have invalid values.")
    .assert_field("limit");
    // Remove.
    s.delete("/api/v2/organizations/acme/members/me", &o.token)
        .assert_error(400, "cannot remove self from an organization");
    s.delete("/api/v2/organizations/acme/members/bob", &o.token)
        .assert_error(404, NOT_FOUND);
    s.delete("/api/v2/organizations/acme/members/admin", &a.token)
        .assert_error(403, "Forbidden.");
    let r = s.delete("/api/v2/organizations/acme/members/alice", &o.token);
    assert_eq!(r.status, 204, "{}", r.text);
    s.get("/api/v2/organizations/acme", &a.token)
        .assert_error(404, NOT_FOUND);
    s.anon("DELETE", "/api/v2/organizations/acme/members/alice", None)
        .assert_error(401, SIGNED_OUT);
}

#[test]
fn organization_roles() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let b = s.user(&o, "bob", &[]);
    let r = s.put(
        "/api/v2/organizations/default/members/alice/roles",
        &o.token,
        json!({"roles": ["organization-admin"]}),
    );
    assert_eq!(
        r.ok(200)["roles"],
        json!([{"name": "organization-admin", "display_name": "Organization Admin", "organization_id": o.org}])
    );
    // Alice, now org admin, may assign org roles to bob and manage members.
    s.put(
        "/api/v2/organizations/default/members/bob/roles",
        &a.token,
        json!({"roles": ["organization-auditor"]}),
    )
    .ok(200);
    let r = s.get("/api/v2/users/bob/roles", &o.token);
    assert_eq!(
        r.ok(200)["organization_roles"][&o.org],
        json!(["organization-auditor"])
    );
    s.put(
        "/api/v2/organizations/default/members/alice/roles",
        &a.token,
        json!({"roles": []}),
    )
    .assert_error(400, "You cannot change your own organization roles.")
    .assert_detail("Another user with the appropriate permissions must change your roles.");
    s.put(
        "/api/v2/organizations/default/members/bob/roles",
        &o.token,
        json!({"roles": ["owner"]}),
    )
    .assert_error(
        400,
        "assign roles: role \"owner\" does not exist in organization \"coder\"",
    );
    s.put(
        "/api/v2/organizations/default/members/alice/roles",
        &b.token,
        json!({"roles": []}),
    )
    .assert_error(403, "Forbidden.");
    s.put(
        "/api/v2/organizations/default/members/ghost/roles",
        &o.token,
        json!({"roles": []}),
    )
    .assert_error(400, "\"user\" must be an existing uuid or username.");
    s.anon(
        "PUT",
        "/api/v2/organizations/default/members/bob/roles",
        Some(json!({"roles": []})),
    )
    .assert_error(401, SIGNED_OUT);
    // The org roles list marks assignability for the caller.
    let r = s.get("/api/v2/organizations/default/members/roles", &b.token);
    let roles = r.ok(200).as_array().unwrap();
    assert_eq!(roles.len(), 6);
    assert!(roles
        .iter()
        .all(|x| x["assignable"] == false && x["organization_id"] == o.org.as_str()));
    let r = s.get("/api/v2/organizations/default/members/roles", &a.token);
    assert!(r
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["assignable"] == true));
    s.get("/api/v2/organizations/nope/members/roles", &a.token)
        .assert_error(404, NOT_FOUND);
    // A workspace-creation ban is a valid org role.
    s.put(
        "/api/v2/organizations/default/members/bob/roles",
        &o.token,
        json!({"roles": ["organization-workspace-creation-ban"]}),
    )
    .ok(200);
}
