//! Groups and the Everyone group.

use serde_json::json;

use crate::common::*;

const GROUP_KEYS: &[&str] = &[
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
];

#[test]
fn everyone_group_tracks_members() {
    let s = Server::start();
    let o = s.setup();
    s.user(&o, "alice", &[]);
    let r = s.get(&format!("/api/v2/groups/{}", o.org), &o.token);
    let g = r.ok(200);
    assert_keys(g, GROUP_KEYS);
    assert_eq!(g["name"], "Everyone");
    assert_eq!(g["organization_id"], o.org.as_str());
    assert_eq!(g["organization_name"], "coder");
    assert_eq!(g["organization_display_name"], "Coder");
    assert_eq!(g["total_member_count"], 2);
    assert_eq!(g["source"], "user");
    assert_eq!(g["quota_allowance"], 0);
    let names: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["admin", "alice"]);
    assert_keys(
        &g["members"][0],
        &[
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
        ],
    );
    // The Everyone group cannot be changed.
    let path = format!("/api/v2/groups/{}", o.org);
    s.patch(&path, &o.token, json!({"name": "All"}))
        .assert_error(400, "Cannot rename the \"Everyone\" group!");
    s.patch(&path, &o.token, json!({"display_name": "All"}))
        .assert_error(
            400,
            "Cannot update the Display Name for the \"Everyone\" group!",
        );
    s.patch(&path, &o.token, json!({"add_users": [o.id]}))
        .assert_error(
            403,
            "Cannot add or remove users from the \"Everyone\" group!",
        );
    s.delete(&path, &o.token).assert_error(
        400,
        "\"Everyone\" is a reserved group and cannot be deleted!",
    );
}

#[test]
fn groups_crud() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let b = s.user(&o, "bob", &[]);
    let r = s.post(
        "/api/v2/organizations/default/groups",
        &o.token,
        json!({"name": "devs", "display_name": "Developers", "avatar_url": "/a.png", "quota_allowance": 3}),
    );
    let g = r.ok(201).clone();
    assert_keys(&g, GROUP_KEYS);
    assert_eq!(g["name"], "devs");
    assert_eq!(g["display_name"], "Developers");
    assert_eq!(g["avatar_url"], "/a.png");
    assert_eq!(g["quota_allowance"], 3);
    assert_eq!(g["members"], json!([]));
    assert_eq!(g["total_member_count"], 0);
    let id = g["id"].as_str().unwrap().to_string();
    // Create errors.
    s.post(
        "/api/v2/organizations/default/groups",
        &o.token,
        json!({"name": "Everyone"}),
    )
    .assert_error(400, "Invalid group name.")
    .assert_field("name");
    s.post(
        "/api/v2/organizations/default/groups",
        &o.token,
        json!({"name": "devs"}),
    )
    .assert_error(409, "A group named \"devs\" already exists.");
    s.post(
        "/api/v2/organizations/default/groups",
        &o.token,
        json!({"display_name": "x"}),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("name");
    s.post(
        "/api/v2/organizations/default/groups",
        &a.token,
        json!({"name": "mine"}),
    )
    .assert_error(403, "Forbidden.");
    s.post(
        "/api/v2/organizations/nope/groups",
        &o.token,
        json!({"name": "x"}),
    )
    .assert_error(404, NOT_FOUND);
    s.anon(
        "POST",
        "/api/v2/organizations/default/groups",
        Some(json!({"name": "x"})),
    )
    .assert_error(401, SIGNED_OUT);
    // Patch: add members, rename.
    let path = format!("/api/v2/groups/{id}");
    let r = s.patch(
        &path,
        &o.token,
        json!({"add_users": [a.id], "name": "developers"}),
    );
    assert_eq!(r.ok(200)["name"], "developers");
    assert_eq!(r.body["total_member_count"], 1);
    assert_eq!(r.body["members"][0]["id"], a.id.as_str());
    s.patch(&path, &o.token, json!({"add_users": [a.id]}))
        .assert_error(400, "Cannot add the same user to a group twice!");
    s.patch(&path, &o.token, json!({"add_users": ["not-a-uuid"]}))
        .assert_error(400, "ID \"not-a-uuid\" must be a valid user UUID.");
    s.patch(&path, &o.token, json!({"name": "Everyone"}))
        .assert_error(400, "\"Everyone\" is a reserved group name!");
    s.post(
        "/api/v2/organizations/default/groups",
        &o.token,
        json!({"name": "ops"}),
    )
    .ok(201);
    s.patch(&path, &o.token, json!({"name": "ops"}))
        .assert_error(409, "A group with name \"ops\" already exists.");
    // A user outside the organization cannot join.
    s.post("/api/v2/organizations", &o.token, json!({"name": "acme"}))
        .ok(201);
    s.delete(
        &format!("/api/v2/organizations/default/members/{}", b.id),
        &o.token,
    );
    s.patch(&path, &o.token, json!({"add_users": [b.id]}))
        .assert_error(400, "User must be a member of organization \"developers\"");
    // Members read the groups they are in, and not others.
    s.get(&path, &a.token).ok(200);
    let ops = s.get("/api/v2/organizations/default/groups/ops", &o.token);
    let ops_id = ops.ok(200)["id"].as_str().unwrap().to_string();
    s.get(&format!("/api/v2/groups/{ops_id}"), &a.token)
        .assert_error(404, NOT_FOUND);
    s.patch(&path, &a.token, json!({"name": "x"}))
        .assert_error(403, "Forbidden.");
    s.get(
        "/api/v2/groups/7c60d51f-b44e-4682-87d6-449835ea4de6",
        &o.token,
    )
    .assert_error(404, NOT_FOUND);
    s.anon("GET", &path, None).assert_error(401, SIGNED_OUT);
    s.anon("PATCH", &path, Some(json!({})))
        .assert_error(401, SIGNED_OUT);
    // By name.
    let r = s.get("/api/v2/organizations/default/groups/developers", &o.token);
    assert_eq!(r.ok(200)["id"], id.as_str());
    s.get("/api/v2/organizations/default/groups/none", &o.token)
        .assert_error(404, NOT_FOUND);
    // Lists, with filters.
    let list = s.get("/api/v2/organizations/default/groups", &o.token);
    let names: Vec<&str> = list
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["developers", "Everyone", "ops"]);
    let mine = s.get("/api/v2/organizations/default/groups", &a.token);
    let names: Vec<&str> = mine
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["developers", "Everyone"]);
    let r = s.get("/api/v2/groups?organization=acme", &o.token);
    assert_eq!(r.ok(200).as_array().unwrap().len(), 1);
    let r = s.get("/api/v2/groups?has_member=alice", &o.token);
    let names: Vec<&str> = r
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["developers", "Everyone"]);
    let r = s.get(&format!("/api/v2/groups?group_ids={id},{ops_id}"), &o.token);
    assert_eq!(r.ok(200).as_array().unwrap().len(), 2);
    s.get("/api/v2/groups?group_ids=zzz", &o.token)
        .assert_error(400, "Query parameters have invalid values.")
        .assert_field("group_ids");
    s.get("/api/v2/groups?has_member=ghost", &o.token)
        .assert_error(400, "Query parameters have invalid values.")
        .assert_field("has_member");
    s.anon("GET", "/api/v2/groups", None)
        .assert_error(401, SIGNED_OUT);
    // Remove a member, then delete.
    let r = s.patch(&path, &o.token, json!({"remove_users": [a.id]}));
    assert_eq!(r.ok(200)["total_member_count"], 0);
    s.delete(&path, &a.token).assert_error(404, NOT_FOUND);
    s.anon("DELETE", &path, None).assert_error(401, SIGNED_OUT);
    let r = s.delete(&path, &o.token);
    assert_eq!(r.ok(200)["message"], "Successfully deleted group!");
    s.get(&path, &o.token).assert_error(404, NOT_FOUND);
}

#[test]
fn removing_a_member_drops_their_groups() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    s.post("/api/v2/organizations", &o.token, json!({"name": "acme"}))
        .ok(201);
    s.request(
        "POST",
        "/api/v2/organizations/acme/members/alice",
        Some(&o.token),
        &[],
        None,
    )
    .ok(200);
    let g = s.post(
        "/api/v2/organizations/acme/groups",
        &o.token,
        json!({"name": "team"}),
    );
    let gid = g.ok(201)["id"].as_str().unwrap().to_string();
    s.patch(
        &format!("/api/v2/groups/{gid}"),
        &o.token,
        json!({"add_users": [a.id]}),
    )
    .ok(200);
    s.delete("/api/v2/organizations/acme/members/alice", &o.token);
    let r = s.get(&format!("/api/v2/groups/{gid}"), &o.token);
    assert_eq!(r.ok(200)["total_member_count"], 0);
}
