//! Custom organization roles (Coder's Premium feature, free in warren):
//! created, listed, updated, deleted and assigned over HTTP with Coder's
//! shapes and messages; refused when they would grant more than their
//! creator holds; and weighed by the authorization module — including
//! seed 004's rule (below).
//!
//! Seed 004 (Coder's change for custom roles that create workspaces on
//! behalf of others): "Custom roles that can create workspaces on behalf
//! of other users need to be able to list users to populate the owner
//! dropdown in the workspace creation UI. Previously, this required a
//! separate `user:read` permission. [...] If the user has this permission
//! (`workspace:create` with `owner_id: *`), they can list all users without
//! needing explicit `user:read` permission."

use serde_json::{json, Value};

use crate::common::*;

/// Coder's answer to creating a workspace one may not create.
const REFUSED: &str = "Unauthorized to create workspace.";

fn roles_path(org: &str) -> String {
    format!("/api/v2/organizations/{org}/members/roles")
}

fn perm(resource_type: &str, action: &str) -> Value {
    json!({"negate": false, "resource_type": resource_type, "action": action})
}

fn role(name: &str, perms: &[Value]) -> Value {
    json!({"name": name, "display_name": format!("The {name}"),
           "organization_permissions": perms})
}

fn names(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_str().unwrap().to_string())
        .collect()
}

/// The custom roles of a role listing, as (name, assignable).
fn custom(list: &Value) -> Vec<(String, bool)> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["built_in"] == false)
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["assignable"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn assign(s: &Server, o: &Owner, token: &str, user: &str, roles: &[&str]) -> Resp {
    s.put(
        &format!("/api/v2/organizations/{}/members/{user}/roles", o.org),
        token,
        json!({ "roles": roles }),
    )
}

#[test]
fn custom_roles_are_created_listed_updated_and_deleted() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let path = roles_path(&o.org);

    let r = s.post(
        &path,
        &o.token,
        role(
            "reviewer",
            &[perm("template", "read"), perm("workspace", "read")],
        ),
    );
    let created = r.ok(200).clone();
    assert_eq!(
        created,
        json!({
            "name": "reviewer",
            "organization_id": o.org,
            "display_name": "The reviewer",
            "site_permissions": [],
            "organization_permissions": [perm("template", "read"), perm("workspace", "read")],
            "user_permissions": [],
            "organization_member_permissions": [],
        })
    );
    // Listed after the built-in roles, with the built-in ones as before.
    let list = s.get(&path, &o.token).ok(200).clone();
    let all = names(&list, "name");
    assert_eq!(all[0], "organization-admin");
    assert_eq!(all.last().unwrap(), "reviewer");
    let listed = list.as_array().unwrap().last().unwrap().clone();
    assert_eq!(listed["built_in"], false);
    assert_eq!(listed["assignable"], true);
    assert_eq!(
        listed["organization_permissions"],
        created["organization_permissions"]
    );
    // A member lists them too, assignable by nobody it could be.
    let r = s.get(&path, &alice.token);
    assert_eq!(custom(r.ok(200)), vec![("reviewer".to_string(), false)]);

    // Update replaces the display name and the permissions.
    let r = s.put(
        &path,
        &o.token,
        json!({"name": "reviewer", "display_name": "Reviewer",
               "organization_permissions": [perm("template", "read")]}),
    );
    assert_eq!(r.ok(200)["display_name"], "Reviewer");
    assert_eq!(
        r.body["organization_permissions"],
        json!([perm("template", "read")])
    );
    // Null lists are empty lists, as Go decodes them.
    let r = s.put(
        &path,
        &o.token,
        json!({"name": "reviewer", "display_name": "Reviewer",
               "site_permissions": null, "organization_permissions": null}),
    );
    assert_eq!(r.ok(200)["organization_permissions"], json!([]));
    s.put(
        &path,
        &o.token,
        json!({"name": "reviewer", "display_name": "Reviewer",
               "organization_permissions": [perm("template", "read")]}),
    )
    .ok(200);

    // Assigned like a built-in role, and shown with its display name.
    let r = assign(&s, &o, &o.token, &alice.id, &["reviewer"]);
    assert_eq!(
        r.ok(200)["roles"],
        json!([{"name": "reviewer", "display_name": "Reviewer", "organization_id": o.org}])
    );
    let members = s
        .get(
            &format!("/api/v2/organizations/{}/members", o.org),
            &o.token,
        )
        .ok(200)
        .clone();
    let a = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["username"] == "alice")
        .unwrap();
    assert_eq!(a["roles"][0]["display_name"], "Reviewer");
    let r = s.get(&format!("/api/v2/users/{}/roles", alice.id), &o.token);
    assert_eq!(r.ok(200)["organization_roles"][&o.org], json!(["reviewer"]));

    // Deleting it takes it away from its holders.
    let r = s.delete(&format!("{path}/reviewer"), &o.token);
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    let r = s.get(&format!("/api/v2/users/{}/roles", alice.id), &o.token);
    assert_eq!(r.ok(200)["organization_roles"][&o.org], json!([]));
    assert!(custom(s.get(&path, &o.token).ok(200)).is_empty());
    s.delete(&format!("{path}/reviewer"), &o.token)
        .assert_error(404, "No custom role with the name reviewer found")
        .assert_detail("no role found");
    // Updating a role that does not exist.
    s.put(&path, &o.token, role("ghost", &[]))
        .assert_error(404, NOT_FOUND);
    // Unknown organizations and anonymous callers.
    s.get(&roles_path("nope"), &o.token)
        .assert_error(404, NOT_FOUND);
    s.post(&roles_path("nope"), &o.token, role("x", &[]))
        .assert_error(404, NOT_FOUND);
    s.delete(&format!("{}/x", roles_path("nope")), &o.token)
        .assert_error(404, NOT_FOUND);
    for method in ["GET", "POST", "PUT"] {
        s.anon(method, &path, Some(role("x", &[])))
            .assert_error(401, SIGNED_OUT);
    }
    s.anon("DELETE", &format!("{path}/x"), None)
        .assert_error(401, SIGNED_OUT);
}

#[test]
fn custom_role_requests_are_checked_as_coder_does() {
    let s = Server::start();
    let o = s.setup();
    let path = roles_path(&o.org);
    // Built-in names are reserved.
    for name in ["owner", "organization-admin", "organization-member"] {
        s.post(&path, &o.token, role(name, &[]))
            .assert_error(400, "Reserved role name")
            .assert_detail(&format!(
                "{name:?} is a reserved role name, and not allowed to be used"
            ));
    }
    // Names follow Coder's NameValid.
    for (name, why) in [
        ("", "must be >= 1 character"),
        ("two words", "must be alphanumeric with hyphens"),
        ("-lead", "must be alphanumeric with hyphens"),
        (
            "a23456789012345678901234567890123",
            "must be <= 32 characters",
        ),
        ("new", "cannot use \"new\" as a name"),
    ] {
        s.post(&path, &o.token, role(name, &[]))
            .assert_error(400, "Invalid role name")
            .assert_detail(why);
    }
    // Organization roles hold organization permissions only.
    let with = |field: &str| {
        let mut b = role("mixed", &[]);
        b[field] = json!([perm("workspace", "read")]);
        b
    };
    s.post(&path, &o.token, with("site_permissions"))
        .assert_error(
            400,
            "Invalid request, not allowed to assign site wide permissions for an organization role.",
        )
        .assert_detail("organization scoped roles may not contain site wide permissions");
    s.post(&path, &o.token, with("user_permissions"))
        .assert_error(
            400,
            "Invalid request, not allowed to assign user permissions for an organization role.",
        )
        .assert_detail("organization scoped roles may not contain user permissions");
    s.put(&path, &o.token, with("organization_member_permissions"))
        .assert_error(
            400,
            "Invalid request, not allowed to assign organization member permissions for an organization role.",
        )
        .assert_detail("organization scoped roles may not contain organization member permissions");
    // Unknown resource types and actions.
    s.post(
        &path,
        &o.token,
        role(
            "odd",
            &[perm("spaceship", "read"), perm("template", "ssh")],
        ),
    )
    .assert_error(400, "Failed to update role permissions")
    .assert_detail(&format!(
        "invalid role: org={:?}: invalid resource type \"spaceship\"\norg={:?}: invalid action \"ssh\" for resource \"template\"",
        o.org, o.org
    ));
    // Names are unique per organization whatever their case.
    s.post(&path, &o.token, role("Lead", &[])).ok(200);
    s.post(&path, &o.token, role("lead", &[]))
        .assert_error(400, "Failed to update role permissions")
        .assert_detail(
            "pq: duplicate key value violates unique constraint \"idx_custom_roles_name_lower\"",
        );
    // Another organization may use the name.
    let other = s
        .post("/api/v2/organizations", &o.token, json!({"name": "other"}))
        .ok(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.post(&roles_path(&other), &o.token, role("lead", &[]))
        .ok(200);
    // An update leaves out what it does not know (Coder filters them so
    // that roles written by another version stay editable).
    let r = s.put(
        &path,
        &o.token,
        role(
            "lead",
            &[perm("spaceship", "read"), perm("template", "read")],
        ),
    );
    assert_eq!(r.ok(200)["name"], "Lead");
    assert_eq!(
        r.body["organization_permissions"],
        json!([perm("template", "read")])
    );
    // A permission given twice is kept once.
    let r = s.put(
        &path,
        &o.token,
        role(
            "lead",
            &[perm("template", "read"), perm("template", "read")],
        ),
    );
    assert_eq!(
        r.ok(200)["organization_permissions"],
        json!([perm("template", "read")])
    );
    // Bodies that are not JSON.
    let r = s.request("POST", &path, Some(&o.token), &[], Some("{"));
    r.assert_error(400, "Request body must be valid JSON.");
}

/// Coder's escalation rule: a custom role grants nothing its creator does
/// not hold on every object of its type in the organization; no negations,
/// no wildcards. Only those who may manage the organization's roles manage
/// custom roles.
#[test]
fn custom_roles_cannot_grant_more_than_their_creator_holds() {
    let s = Server::start();
    let o = s.setup();
    let admin = s.user(&o, "orgadmin", &[]);
    let user_admin = s.user(&o, "uadmin", &["user-admin"]);
    let member = s.user(&o, "member", &[]);
    assign(&s, &o, &o.token, &admin.id, &["organization-admin"]).ok(200);
    let path = roles_path(&o.org);
    let refused = |token: &str, p: Value, why: &str| {
        let detail = format!(
            "org={:?}: invalid permission for action={:?} type={:?}, {why}",
            o.org,
            p["action"].as_str().unwrap(),
            p["resource_type"].as_str().unwrap()
        );
        s.post(&path, token, role("escalate", std::slice::from_ref(&p)))
            .assert_error(400, "Failed to update role permissions")
            .assert_detail(&detail);
        s.put(&path, token, role("keeper", &[p]))
            .assert_error(400, "Failed to update role permissions")
            .assert_detail(&detail);
    };
    // The organization admin holds every workspace action but exec.
    s.post(
        &path,
        &admin.token,
        role("keeper", &[perm("workspace", "create")]),
    )
    .ok(200);
    refused(
        &admin.token,
        perm("workspace", "ssh"),
        "not allowed to grant this permission",
    );
    refused(
        &admin.token,
        perm("deployment_config", "read"),
        "not allowed to grant this permission",
    );
    // Nobody grants negations or wildcards, owners included.
    refused(
        &o.token,
        json!({"negate": true, "resource_type": "workspace", "action": "read"}),
        "no negative permissions",
    );
    refused(&o.token, perm("workspace", "*"), "no wildcard symbols");
    refused(&o.token, perm("*", "read"), "no wildcard symbols");
    // The site owner holds exec; warren has no rows for licenses, so
    // nobody holds (or grants) them.
    s.post(&path, &o.token, role("exec", &[perm("workspace", "ssh")]))
        .ok(200);
    refused(
        &o.token,
        perm("license", "read"),
        "not allowed to grant this permission",
    );
    // Members and user admins may not manage roles: hidden, as Coder.
    for t in [&member.token, &user_admin.token] {
        s.post(&path, t, role("mine", &[]))
            .assert_error(404, NOT_FOUND);
        s.put(&path, t, role("keeper", &[]))
            .assert_error(404, NOT_FOUND);
        s.delete(&format!("{path}/keeper"), t)
            .assert_error(403, "Forbidden.");
    }
    // A role that manages roles lets its holder create roles within what
    // it holds itself.
    s.post(
        &path,
        &o.token,
        role(
            "roler",
            &[perm("assign_org_role", "create"), perm("workspace", "read")],
        ),
    )
    .ok(200);
    assign(&s, &o, &o.token, &member.id, &["roler"]).ok(200);
    s.post(
        &path,
        &member.token,
        role("viewer", &[perm("workspace", "read")]),
    )
    .ok(200);
    s.post(
        &path,
        &member.token,
        role("maker", &[perm("workspace", "create")]),
    )
    .assert_error(400, "Failed to update role permissions");
    // It may not update or delete roles, nor assign them.
    s.put(&path, &member.token, role("viewer", &[]))
        .assert_error(404, NOT_FOUND);
    assign(&s, &o, &member.token, &user_admin.id, &["viewer"]).assert_error(403, "Forbidden.");
}

#[test]
fn custom_roles_are_assigned_like_built_in_roles_and_take_effect_at_once() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &[]);
    let org_user_admin = s.user(&o, "oua", &[]);
    assign(
        &s,
        &o,
        &o.token,
        &org_user_admin.id,
        &["organization-user-admin"],
    )
    .ok(200);
    let path = roles_path(&o.org);
    s.post(
        &path,
        &o.token,
        role("watcher", &[perm("workspace", "read")]),
    )
    .ok(200);
    let template = s.template(&o, "tmpl");
    let template = template["id"].as_str().unwrap();
    let w = s.workspace(&alice.token, template, "alices");
    let ws = format!("/api/v2/workspaces/{}", w["id"].as_str().unwrap());
    s.get(&ws, &bob.token).assert_error(404, NOT_FOUND);
    // Organization user admins assign built-in roles but not custom ones
    // (Coder's custom-organization-role is for owners and org admins).
    assign(&s, &o, &org_user_admin.token, &bob.id, &["watcher"]).assert_error(403, "Forbidden.");
    let list = s.get(&path, &org_user_admin.token).ok(200).clone();
    assert_eq!(custom(&list), vec![("watcher".to_string(), false)]);
    // Unknown roles, and roles of another organization, do not exist here.
    let other = s
        .post("/api/v2/organizations", &o.token, json!({"name": "other"}))
        .ok(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.post(&roles_path(&other), &o.token, role("elsewhere", &[]))
        .ok(200);
    for r in ["ghost", "elsewhere"] {
        assign(&s, &o, &o.token, &bob.id, &[r]).assert_error(
            400,
            &format!("assign roles: role {r:?} does not exist in organization \"coder\""),
        );
    }
    // A name in another case names the same role.
    let r = assign(&s, &o, &o.token, &bob.id, &["WATCHER"]);
    assert_eq!(r.ok(200)["roles"][0]["name"], "watcher");
    // Bob's session sees Alice's workspace at once, and in the list.
    s.get(&ws, &bob.token).ok(200);
    let list = s.get("/api/v2/workspaces", &bob.token);
    assert_eq!(list.ok(200)["count"], 1);
    // Updating the role takes effect at once too.
    s.put(&path, &o.token, role("watcher", &[])).ok(200);
    s.get(&ws, &bob.token).assert_error(404, NOT_FOUND);
    s.put(
        &path,
        &o.token,
        role("watcher", &[perm("workspace", "read")]),
    )
    .ok(200);
    s.get(&ws, &bob.token).ok(200);
    // So does deleting it.
    let r = s.delete(&format!("{path}/watcher"), &o.token);
    assert_eq!(r.status, 204, "{}", r.text);
    s.get(&ws, &bob.token).assert_error(404, NOT_FOUND);
    assert_eq!(s.get("/api/v2/workspaces", &bob.token).ok(200)["count"], 0);
}

/// Seed 004: a custom role holding exactly `workspace:create` at
/// organization level lists the organization's users — through `GET
/// /users` and `…/available-users` — and creates a workspace for another
/// member; the same user without the role gets only itself.
#[test]
fn seed_004_creating_for_anyone_lists_the_owner_picker() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let picker = s.user(&o, "picker", &[]);
    let template = s.template(&o, "tmpl");
    let template = template["id"].as_str().unwrap();
    // A user of another organization only.
    let other = s
        .post("/api/v2/organizations", &o.token, json!({"name": "other"}))
        .ok(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.post(
        "/api/v2/users",
        &o.token,
        json!({"email": "far@example.com", "username": "far", "password": PASSWORD,
               "organization_ids": [other]}),
    )
    .ok(201);
    let available = format!(
        "/api/v2/organizations/{}/members/me/workspaces/available-users",
        o.org
    );
    let users = |token: &str| {
        let r = s.get("/api/v2/users", token);
        let body = r.ok(200).clone();
        (names(&body["users"], "username"), body["count"].clone())
    };
    let create_for_alice = |token: &str, name: &str| {
        s.post(
            &format!(
                "/api/v2/organizations/{}/members/{}/workspaces",
                o.org, alice.id
            ),
            token,
            json!({"template_id": template, "name": name}),
        )
    };

    // Without the role: only itself.
    assert_eq!(users(&picker.token), (vec!["picker".to_string()], json!(1)));
    assert_eq!(
        names(s.get(&available, &picker.token).ok(200), "username"),
        vec!["picker"]
    );
    create_for_alice(&picker.token, "nope").assert_error(403, REFUSED);

    s.post(
        &roles_path(&o.org),
        &o.token,
        role("creator", &[perm("workspace", "create")]),
    )
    .ok(200);
    assign(&s, &o, &o.token, &picker.id, &["creator"]).ok(200);

    // With it: every member of the organization, and no one else.
    let everyone = vec!["admin", "alice", "picker"];
    assert_eq!(
        users(&picker.token),
        (everyone.iter().map(|n| n.to_string()).collect(), json!(3))
    );
    assert_eq!(
        names(s.get(&available, &picker.token).ok(200), "username"),
        everyone
    );
    // The search narrows the picker as for anyone.
    let r = s.get("/api/v2/users?q=ali", &picker.token);
    assert_eq!(names(&r.ok(200)["users"], "username"), vec!["alice"]);
    // It creates a workspace for Alice, which is hers.
    let r = create_for_alice(&picker.token, "forher");
    assert_eq!(r.ok(201)["owner_name"], "alice");
    let id = r.body["id"].as_str().unwrap().to_string();
    let w = s.get(&format!("/api/v2/workspaces/{id}"), &alice.token);
    assert_eq!(w.ok(200)["owner_id"], json!(alice.id));
    // Nothing beyond creating: it neither reads nor changes that workspace,
    // nor reads a user by itself.
    s.get(&format!("/api/v2/workspaces/{id}"), &picker.token)
        .assert_error(404, NOT_FOUND);
    s.get(
        &format!("/api/v2/users/{}/organizations", alice.id),
        &picker.token,
    )
    .assert_error(404, NOT_FOUND);

    // The same user without the role: only itself again.
    assign(&s, &o, &o.token, &picker.id, &[]).ok(200);
    assert_eq!(users(&picker.token), (vec!["picker".to_string()], json!(1)));
    assert_eq!(
        names(s.get(&available, &picker.token).ok(200), "username"),
        vec!["picker"]
    );
    create_for_alice(&picker.token, "again").assert_error(403, REFUSED);
}

/// Negation wins at the organization level (Coder's policy): the
/// workspace creation ban, which Coder writes as a negated
/// `workspace:create`, overrides a custom role granting it — for others and
/// for oneself — and with it the owner picker of seed 004. Custom roles
/// themselves may hold no negation (see the escalation test), so the ban is
/// the negation a client can put in place.
#[test]
fn negation_wins_over_a_custom_grant() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let picker = s.user(&o, "picker", &[]);
    let template = s.template(&o, "tmpl");
    let template = template["id"].as_str().unwrap();
    s.post(
        &roles_path(&o.org),
        &o.token,
        role("creator", &[perm("workspace", "create")]),
    )
    .ok(200);
    let available = format!(
        "/api/v2/organizations/{}/members/me/workspaces/available-users",
        o.org
    );
    let create_for = |owner: &str, name: &str| {
        s.post(
            &format!("/api/v2/organizations/{}/members/{owner}/workspaces", o.org),
            &picker.token,
            json!({"template_id": template, "name": name}),
        )
    };

    assign(
        &s,
        &o,
        &o.token,
        &picker.id,
        &["creator", "organization-workspace-creation-ban"],
    )
    .ok(200);
    create_for(&alice.id, "forher").assert_error(403, REFUSED);
    create_for("me", "mine").assert_error(403, REFUSED);
    assert_eq!(
        names(s.get(&available, &picker.token).ok(200), "username"),
        vec!["picker"]
    );
    let r = s.get("/api/v2/users", &picker.token);
    assert_eq!(names(&r.ok(200)["users"], "username"), vec!["picker"]);

    // Lifting the ban lets the grant through again.
    assign(&s, &o, &o.token, &picker.id, &["creator"]).ok(200);
    assert_eq!(
        names(s.get(&available, &picker.token).ok(200), "username"),
        vec!["admin", "alice", "picker"]
    );
    create_for(&alice.id, "forher").ok(201);
    create_for("me", "mine").ok(201);
}
