//! The Workspaces API: create, read, settings, sharing, timings.

use serde_json::{json, Value};

use crate::common::*;
use crate::snapshot;

struct World {
    s: Server,
    o: Owner,
    alice: TestUser,
    bob: TestUser,
    template: String,
}

fn world() -> World {
    world_with(|_| {})
}

fn world_with(f: impl FnOnce(&mut warren::Config)) -> World {
    let s = Server::start_with(f);
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &[]);
    let t = s.template(&o, "docker");
    let template = t["id"].as_str().unwrap().to_string();
    World {
        s,
        o,
        alice,
        bob,
        template,
    }
}

#[test]
fn create_validation_and_errors() {
    let World {
        s,
        o,
        alice,
        bob,
        template,
    } = world();
    let create = |token: &str, body: Value| s.post("/api/v2/users/me/workspaces", token, body);
    let r = create(&alice.token, json!({"name": "w"}));
    r.assert_error(400, "Validation failed.");
    assert_eq!(
        r.body["validations"],
        json!([
            {"field": "template_id", "detail": "Validation failed for tag \"required_without\" with value: \"00000000-0000-0000-0000-000000000000\""},
            {"field": "template_version_id", "detail": "Validation failed for tag \"required_without\" with value: \"00000000-0000-0000-0000-000000000000\""}
        ])
    );
    let t = s
        .get(&format!("/api/v2/templates/{template}"), &o.token)
        .ok(200)
        .clone();
    create(&alice.token, json!({"name": "w", "template_id": template, "template_version_id": t["active_version_id"]}))
        .assert_error(400, "Validation failed.")
        .assert_field("template_version_id");
    let r = create(&alice.token, json!({"template_id": template}));
    r.assert_error(400, "Validation failed.");
    assert_eq!(
        r.body["validations"][0]["detail"],
        "Validation failed for tag \"workspace_name\" with value: \"\""
    );
    create(
        &alice.token,
        json!({"template_id": template, "name": "my workspace"}),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("name");
    create(
        &alice.token,
        json!({"template_id": "7c60d51f-b44e-4682-87d6-449835ea4de6", "name": "w"}),
    )
    .assert_error(
        400,
        "Template \"7c60d51f-b44e-4682-87d6-449835ea4de6\" doesn't exist.",
    )
    .assert_field("template_id");
    create(
        &alice.token,
        json!({"template_version_id": "7c60d51f-b44e-4682-87d6-449835ea4de6", "name": "w"}),
    )
    .assert_error(
        400,
        "Template version \"7c60d51f-b44e-4682-87d6-449835ea4de6\" doesn't exist.",
    )
    .assert_field("template_version_id");
    create(
        &alice.token,
        json!({"template_id": template, "name": "w", "autostart_schedule": "30 9 1 * *"}),
    )
    .assert_error(400, "Invalid Autostart Schedule.")
    .assert_field("schedule");
    create(
        &alice.token,
        json!({"template_id": template, "name": "w", "ttl_ms": 1000}),
    )
    .assert_error(400, "Invalid Workspace Time to Shutdown.")
    .assert_field("ttl_ms");
    create(
        &alice.token,
        json!({"template_id": template, "name": "w", "ttl_ms": 31i64 * 24 * 3_600_000}),
    )
    .assert_error(400, "Invalid Workspace Time to Shutdown.");
    create(
        &alice.token,
        json!({"template_id": template, "name": "w", "automatic_updates": "sometimes"}),
    )
    .assert_error(400, "Invalid Workspace Automatic Updates setting.")
    .assert_field("automatic_updates");
    create(&alice.token, json!({"template_id": template, "name": "w", "rich_parameter_values": [{"name": "cpu", "value": "99"}]}))
        .assert_error(400, "Unable to validate parameter \"cpu\"");
    create(&alice.token, json!({"template_id": template, "name": 5}))
        .assert_error(400, "Request body must be valid JSON.");
    // Success with everything set; 201 and the create response shape.
    let r = create(
        &alice.token,
        json!({"template_id": template, "name": "Dev-1", "autostart_schedule": "CRON_TZ=Europe/Berlin 30 8 * * 1-5",
               "ttl_ms": 90_000, "automatic_updates": "always",
               "rich_parameter_values": [{"name": "cpu", "value": "4"}]}),
    );
    let w = r.ok(201).clone();
    assert_eq!(w["name"], "Dev-1");
    assert_eq!(w["ttl_ms"], 60_000);
    assert_eq!(
        w["autostart_schedule"],
        "CRON_TZ=Europe/Berlin 30 8 * * 1-5"
    );
    assert_time(&w["next_start_at"]);
    assert_eq!(w["automatic_updates"], "always");
    assert_eq!(w["latest_build"]["status"], "pending");
    assert_eq!(w["latest_build"]["resources"], json!([]));
    assert_eq!(w["latest_build"]["deadline"], Value::Null);
    assert_eq!(w["favorite"], false);
    assert_eq!(w["latest_app_status"], Value::Null);
    assert_eq!(w["outdated"], false);
    assert_eq!(w["owner_name"], "alice");
    // Duplicate names (case-insensitive) per owner.
    create(
        &alice.token,
        json!({"template_id": template, "name": "dev-1"}),
    )
    .assert_error(409, "Workspace \"dev-1\" already exists.")
    .assert_field("name");
    create(
        &bob.token,
        json!({"template_id": template, "name": "dev-1"}),
    )
    .ok(201);
    // Creating for someone else needs permission.
    // Alice can see bob's membership but may not create for him.
    s.post(
        &format!("/api/v2/users/{}/workspaces", bob.id),
        &alice.token,
        json!({"template_id": template, "name": "x"}),
    )
    .assert_error(403, "Unauthorized to create workspace.");
    s.post(
        &format!("/api/v2/users/{}/workspaces", alice.id),
        &o.token,
        json!({"template_id": template, "name": "by-admin"}),
    )
    .ok(201);
    s.post(
        "/api/v2/users/ghost/workspaces",
        &o.token,
        json!({"template_id": template, "name": "x"}),
    )
    .assert_error(400, "\"user\" must be an existing uuid or username.");
    s.anon(
        "POST",
        "/api/v2/users/me/workspaces",
        Some(json!({"template_id": template, "name": "x"})),
    )
    .assert_error(401, SIGNED_OUT);
    // Route A: organization member.
    let r = s.post(
        &format!(
            "/api/v2/organizations/{}/members/{}/workspaces",
            o.org, alice.id
        ),
        &o.token,
        json!({"template_id": template, "name": "org-route"}),
    );
    assert_eq!(r.ok(201)["owner_id"], alice.id.as_str());
    s.post(
        &format!(
            "/api/v2/organizations/{}/members/{}/workspaces",
            o.org, bob.id
        ),
        &alice.token,
        json!({"template_id": template, "name": "x"}),
    )
    .assert_error(403, "Unauthorized to create workspace.");
    // A creation ban in the organization.
    s.put(
        &format!("/api/v2/organizations/default/members/{}/roles", bob.id),
        &o.token,
        json!({"roles": ["organization-workspace-creation-ban"]}),
    )
    .ok(200);
    create(
        &bob.token,
        json!({"template_id": template, "name": "banned"}),
    )
    .assert_error(403, "Unauthorized to create workspace.");
    // Deprecated templates refuse new workspaces.
    s.patch(
        &format!("/api/v2/templates/{template}"),
        &o.token,
        json!({"deprecation_message": "gone"}),
    )
    .ok(200);
    create(
        &alice.token,
        json!({"template_id": template, "name": "late"}),
    )
    .assert_error(
        400,
        "Template \"docker\" has been deprecated, and cannot be used to create a new workspace.",
    )
    .assert_detail("gone");
    // Old request form: parameter_values.
    s.patch(
        &format!("/api/v2/templates/{template}"),
        &o.token,
        json!({"deprecation_message": ""}),
    )
    .ok(200);
    let r = create(
        &alice.token,
        json!({"template_id": template, "name": "legacy", "parameter_values": [{"name": "image", "source_value": "x", "value": "debian"}]}),
    );
    let bid = r.ok(201)["latest_build"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let params = s.get(
        &format!("/api/v2/workspacebuilds/{bid}/parameters"),
        &alice.token,
    );
    assert_eq!(
        params.ok(200)[0],
        json!({"name": "image", "value": "debian"})
    );
}

#[test]
fn read_by_id_and_by_name() {
    let World {
        s,
        o,
        alice,
        bob,
        template,
    } = world();
    let w = s.workspace(&alice.token, &template, "dev");
    let id = w["id"].as_str().unwrap().to_string();
    s.get(&format!("/api/v2/workspaces/{id}"), &alice.token)
        .ok(200);
    s.get(&format!("/api/v2/workspaces/{id}"), &o.token).ok(200);
    s.get(&format!("/api/v2/workspaces/{id}"), &bob.token)
        .assert_error(404, NOT_FOUND);
    s.get("/api/v2/workspaces/nope", &alice.token)
        .assert_error(400, "Invalid UUID \"nope\".");
    s.get(
        "/api/v2/workspaces/7c60d51f-b44e-4682-87d6-449835ea4de6",
        &alice.token,
    )
    .assert_error(404, NOT_FOUND);
    s.get(
        &format!("/api/v2/workspaces/{id}?include_deleted=maybe"),
        &alice.token,
    )
    .assert_error(
        400,
        "Invalid boolean value \"maybe\" for \"include_deleted\" query param.",
    )
    .assert_field("deleted");
    s.anon("GET", &format!("/api/v2/workspaces/{id}"), None)
        .assert_error(401, SIGNED_OUT);
    let r = s.get("/api/v2/users/alice/workspace/DEV", &o.token);
    assert_eq!(r.ok(200)["id"], id.as_str());
    s.get("/api/v2/users/alice/workspace/dev", &bob.token)
        .assert_error(404, NOT_FOUND);
    s.get("/api/v2/users/alice/workspace/none", &o.token)
        .assert_error(404, NOT_FOUND);
    s.get(
        "/api/v2/users/alice/workspace/dev?include_deleted=x",
        &o.token,
    )
    .assert_error(
        400,
        "Invalid boolean value \"x\" for \"include_deleted\" query param.",
    )
    .assert_field("include_deleted");
    // Deleted: 404 by name unless asked for.
    s.post(
        &format!("/api/v2/workspaces/{id}/builds"),
        &alice.token,
        json!({"transition": "delete"}),
    )
    .ok(201);
    s.wait_build(&alice.token, &id);
    s.get("/api/v2/users/alice/workspace/dev", &alice.token)
        .assert_error(404, NOT_FOUND);
    let r = s.get(
        "/api/v2/users/alice/workspace/dev?include_deleted=true",
        &alice.token,
    );
    assert_eq!(r.ok(200)["latest_build"]["status"], "deleted");
    let r = s.get(
        &format!("/api/v2/workspaces/{id}?include_deleted=true"),
        &alice.token,
    );
    assert_eq!(r.ok(200)["latest_build"]["transition"], "delete");
}

#[test]
fn rename_rules() {
    let World {
        s, alice, template, ..
    } = world();
    let w = s.workspace(&alice.token, &template, "dev");
    let id = w["id"].as_str().unwrap();
    let path = format!("/api/v2/workspaces/{id}");
    s.patch(&path, &alice.token, json!({}))
        .assert_error(400, "Validation failed.")
        .assert_field("name");
    assert_eq!(
        s.patch(&path, &alice.token, json!({"name": "dev"})).status,
        204
    );
    s.patch(&path, &alice.token, json!({"name": "other"}))
        .assert_error(400, "Workspace renames are not allowed.");
    let World {
        s,
        alice,
        bob,
        template,
        ..
    } = world_with(|c| c.allow_workspace_renames = true);
    let w = s.workspace(&alice.token, &template, "dev");
    s.workspace(&alice.token, &template, "taken");
    let id = w["id"].as_str().unwrap();
    let path = format!("/api/v2/workspaces/{id}");
    assert_eq!(
        s.patch(&path, &alice.token, json!({"name": "Dev"})).status,
        204
    );
    assert_eq!(s.get(&path, &alice.token).ok(200)["name"], "Dev");
    s.patch(&path, &alice.token, json!({"name": "TAKEN"}))
        .assert_error(409, "Workspace \"TAKEN\" already exists.")
        .assert_field("name");
    s.patch(&path, &bob.token, json!({"name": "x"}))
        .assert_error(404, NOT_FOUND);
    s.anon("PATCH", &path, Some(json!({"name": "x"})))
        .assert_error(401, SIGNED_OUT);
}

#[test]
fn autostart_ttl_extend_autoupdates() {
    let World {
        s,
        o,
        alice,
        bob,
        template,
    } = world();
    let w = s.workspace(&alice.token, &template, "dev");
    let id = w["id"].as_str().unwrap().to_string();
    let p = |x: &str| format!("/api/v2/workspaces/{id}/{x}");
    // Autostart.
    assert_eq!(
        s.put(
            &p("autostart"),
            &alice.token,
            json!({"schedule": "CRON_TZ=Europe/Berlin 30 9 * * 1-5"})
        )
        .status,
        204
    );
    let got = s
        .get(&format!("/api/v2/workspaces/{id}"), &alice.token)
        .ok(200)
        .clone();
    assert_eq!(
        got["autostart_schedule"],
        "CRON_TZ=Europe/Berlin 30 9 * * 1-5"
    );
    assert_time(&got["next_start_at"]);
    s.put(
        &p("autostart"),
        &alice.token,
        json!({"schedule": "CRON_TZ=Nowhere/Land 30 9 * * *"}),
    )
    .assert_error(400, "Invalid autostart schedule.")
    .assert_field("schedule");
    assert_eq!(
        s.put(&p("autostart"), &alice.token, json!({"schedule": ""}))
            .status,
        204
    );
    let got = s
        .get(&format!("/api/v2/workspaces/{id}"), &alice.token)
        .ok(200)
        .clone();
    assert!(got.get("autostart_schedule").is_none());
    assert_eq!(got["next_start_at"], Value::Null);
    s.put(&p("autostart"), &bob.token, json!({"schedule": ""}))
        .assert_error(404, NOT_FOUND);
    // TTL.
    assert_eq!(
        s.put(&p("ttl"), &alice.token, json!({"ttl_ms": 7_200_000}))
            .status,
        204
    );
    assert_eq!(
        s.get(&format!("/api/v2/workspaces/{id}"), &alice.token)
            .ok(200)["ttl_ms"],
        7_200_000
    );
    s.put(&p("ttl"), &alice.token, json!({"ttl_ms": 59_999}))
        .assert_error(400, "Error updating workspace time until shutdown.")
        .assert_field("ttl_ms");
    s.put(&p("ttl"), &bob.token, json!({"ttl_ms": 7_200_000}))
        .assert_error(404, NOT_FOUND);
    // A start with a TTL gets a deadline; extend moves it.
    s.post(&p("builds"), &alice.token, json!({"transition": "stop"}))
        .ok(201);
    s.wait_build(&alice.token, &id);
    s.put(
        &p("extend"),
        &alice.token,
        json!({"deadline": "2099-01-01T00:00:00Z"}),
    )
    .assert_error(409, "Workspace must be started, current status: stop");
    s.post(&p("builds"), &alice.token, json!({"transition": "start"}))
        .ok(201);
    let w = s.wait_build(&alice.token, &id);
    assert_time(&w["latest_build"]["deadline"]);
    let target = chrono::Utc::now() + chrono::Duration::hours(5);
    let target_s = target.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let r = s.put(&p("extend"), &alice.token, json!({"deadline": target_s}));
    assert_eq!(
        r.ok(200)["message"],
        format!("Deadline updated to {target_s}.")
    );
    snapshot::assert_body("PUT", "/api/v2/workspaces/{workspace}/extend", &r.body);
    // The old {time, valid} form is accepted.
    let r = s.put(
        &p("extend"),
        &alice.token,
        json!({"deadline": {"time": target_s, "valid": true}}),
    );
    r.ok(200);
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(5)).to_rfc3339();
    s.put(&p("extend"), &alice.token, json!({"deadline": soon}))
        .assert_error(
            400,
            "Cannot extend workspace: new deadline must be at least 30 minutes in the future",
        );
    s.put(&p("extend"), &alice.token, json!({}))
        .assert_error(400, "Validation failed.")
        .assert_field("deadline");
    s.put(&p("extend"), &bob.token, json!({"deadline": target_s}))
        .assert_error(404, NOT_FOUND);
    // Disabling the TTL clears the running build's deadline.
    assert_eq!(
        s.put(&p("ttl"), &alice.token, json!({"ttl_ms": null}))
            .status,
        204
    );
    let w = s
        .get(&format!("/api/v2/workspaces/{id}"), &alice.token)
        .ok(200)
        .clone();
    assert_eq!(w["latest_build"]["deadline"], Value::Null);
    assert!(w.get("ttl_ms").is_none());
    s.put(&p("extend"), &alice.token, json!({"deadline": target_s}))
        .assert_error(409, "Workspace shutdown is manual.");
    // Automatic updates.
    assert_eq!(
        s.put(
            &p("autoupdates"),
            &alice.token,
            json!({"automatic_updates": "always"})
        )
        .status,
        204
    );
    s.put(
        &p("autoupdates"),
        &alice.token,
        json!({"automatic_updates": "Always"}),
    )
    .assert_error(400, "Invalid request")
    .assert_field("automatic_updates");
    s.put(
        &p("autoupdates"),
        &bob.token,
        json!({"automatic_updates": "never"}),
    )
    .assert_error(404, NOT_FOUND);
    // resolve-autostart: a new version with a new required parameter.
    let r = s.get(&p("resolve-autostart"), &alice.token);
    assert_eq!(r.ok(200), &json!({"parameter_mismatch": false}));
    s.get(&p("resolve-autostart"), &bob.token)
        .assert_error(404, NOT_FOUND);
    let _ = o;
}

#[test]
fn dormancy_favorites_usage_timings() {
    let World {
        s,
        o,
        alice,
        bob,
        template,
    } = world();
    s.patch(
        &format!("/api/v2/templates/{template}"),
        &o.token,
        json!({"time_til_dormant_autodelete_ms": 86_400_000}),
    )
    .ok(200);
    let w = s.workspace(&alice.token, &template, "dev");
    let id = w["id"].as_str().unwrap().to_string();
    let p = |x: &str| format!("/api/v2/workspaces/{id}/{x}");
    let r = s.put(&p("dormant"), &alice.token, json!({"dormant": true}));
    let d = r.ok(200).clone();
    assert_time(&d["dormant_at"]);
    assert_time(&d["deleting_at"]);
    assert_eq!(
        s.put(&p("dormant"), &alice.token, json!({"dormant": true}))
            .status,
        304
    );
    // Dormant workspaces cannot start.
    s.post(&p("builds"), &alice.token, json!({"transition": "start"}))
        .assert_error(403, "You do not have permission to update this workspace.");
    let r = s.put(&p("dormant"), &alice.token, json!({"dormant": false}));
    assert_eq!(r.ok(200)["dormant_at"], Value::Null);
    assert_eq!(r.body["deleting_at"], Value::Null);
    s.put(&p("dormant"), &bob.token, json!({"dormant": true}))
        .assert_error(404, NOT_FOUND);
    // Favorites are the owner's only.
    assert_eq!(s.put(&p("favorite"), &alice.token, json!({})).status, 204);
    assert_eq!(
        s.get(&format!("/api/v2/workspaces/{id}"), &alice.token)
            .ok(200)["favorite"],
        true
    );
    assert_eq!(
        s.get(&format!("/api/v2/workspaces/{id}"), &o.token).ok(200)["favorite"],
        false
    );
    s.put(&p("favorite"), &o.token, json!({}))
        .assert_error(403, "You can only favorite workspaces that you own.");
    s.delete(&p("favorite"), &o.token)
        .assert_error(403, "You can only un-favorite workspaces that you own.");
    assert_eq!(s.delete(&p("favorite"), &alice.token).status, 204);
    assert_eq!(s.delete(&p("favorite"), &alice.token).status, 204);
    s.put(&p("favorite"), &bob.token, json!({}))
        .assert_error(404, NOT_FOUND);
    // Usage: with an app session the deadline is bumped.
    assert_eq!(
        s.put(&p("ttl"), &alice.token, json!({"ttl_ms": 600_000}))
            .status,
        204
    );
    s.post(&p("builds"), &alice.token, json!({"transition": "start"}))
        .ok(201);
    let w = s.wait_build(&alice.token, &id);
    let before = w["latest_build"]["deadline"].as_str().unwrap().to_string();
    let last_used = w["last_used_at"].as_str().unwrap().to_string();
    let agent = w["latest_build"]["resources"][1]["agents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        s.request("POST", &p("usage"), Some(&alice.token), &[], None)
            .status,
        204
    );
    let r = s.post(
        &p("usage"),
        &alice.token,
        json!({"agent_id": agent, "app_name": "vscode"}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    let w = s
        .get(&format!("/api/v2/workspaces/{id}"), &alice.token)
        .ok(200)
        .clone();
    // Compared as times: Go's format drops trailing zeros, so ".63Z" sorts
    // after ".6301Z" as text.
    let time = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
    assert!(time(w["latest_build"]["deadline"].as_str().unwrap()) > time(&before));
    assert!(time(w["last_used_at"].as_str().unwrap()) > time(&last_used));
    s.post(&p("usage"), &alice.token, json!({"app_name": "vscode"}))
        .assert_error(400, "Invalid request")
        .assert_field("agent_id");
    s.post(
        &p("usage"),
        &alice.token,
        json!({"agent_id": agent, "app_name": "emacs"}),
    )
    .assert_error(400, "Invalid request")
    .assert_field("app_name");
    s.post(&p("usage"), &bob.token, json!({}))
        .assert_error(404, NOT_FOUND);
    // Timings of the latest build.
    let r = s.get(&p("timings"), &alice.token);
    let t = r.ok(200).clone();
    let stages: Vec<&str> = t["provisioner_timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, vec!["init", "plan", "graph", "apply", "apply"]);
    assert_eq!(t["agent_connection_timings"][0]["stage"], "connect");
    assert_eq!(
        t["agent_connection_timings"][0]["workspace_agent_name"],
        "main"
    );
    let scripts: Vec<&str> = t["agent_script_timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(scripts, vec!["Startup Script", "Dotfiles"]);
    assert_eq!(t["agent_script_timings"][0]["status"], "ok");
    s.get(&p("timings"), &bob.token)
        .assert_error(404, NOT_FOUND);
    s.anon("GET", &p("timings"), None)
        .assert_error(401, SIGNED_OUT);
}

#[test]
fn sharing_grants_take_effect_everywhere() {
    let World {
        s,
        o,
        alice,
        bob,
        template,
    } = world();
    let w = s.workspace(&alice.token, &template, "dev");
    let id = w["id"].as_str().unwrap().to_string();
    let acl = format!("/api/v2/workspaces/{id}/acl");
    let ws = format!("/api/v2/workspaces/{id}");
    // Before sharing: nothing for bob.
    s.get(&ws, &bob.token).assert_error(404, NOT_FOUND);
    s.get(&acl, &bob.token).assert_error(404, NOT_FOUND);
    let r = s.get(&acl, &alice.token);
    assert_eq!(r.ok(200), &json!({"users": [], "group": []}));
    assert!(s
        .get(&ws, &alice.token)
        .ok(200)
        .get("shared_with")
        .is_none());
    // Validation.
    let r = s.patch(&acl, &alice.token, json!({"user_roles": {"not-a-uuid": "use", bob.id.clone(): "owner"},
                                               "group_roles": {"7c60d51f-b44e-4682-87d6-449835ea4de6": "use"}}));
    r.assert_error(400, "Invalid request to update workspace ACL");
    assert_eq!(r.body["validations"].as_array().unwrap().len(), 3);
    // Share with bob as `use`.
    assert_eq!(
        s.patch(
            &acl,
            &alice.token,
            json!({"user_roles": {bob.id.clone(): "use"}})
        )
        .status,
        204
    );
    let got = s.get(&ws, &bob.token).ok(200).clone();
    assert_eq!(
        got["shared_with"],
        json!([{"id": bob.id, "actor_type": "user", "name": "", "avatar_url": "", "roles": ["use"]}])
    );
    let r = s.get(&acl, &alice.token);
    assert_eq!(
        r.ok(200)["users"],
        json!([{"id": bob.id, "username": "bob", "role": "use"}])
    );
    // `use` may stop and start but not change settings, share or delete.
    s.post(
        &format!("{ws}/builds"),
        &bob.token,
        json!({"transition": "stop"}),
    )
    .ok(201);
    s.wait_build(&bob.token, &id);
    s.put(
        &format!("{ws}/autoupdates"),
        &bob.token,
        json!({"automatic_updates": "always"}),
    )
    .assert_error(404, NOT_FOUND);
    s.post(&format!("{ws}/usage"), &bob.token, json!({}))
        .assert_error(403, "Forbidden.");
    s.patch(&acl, &bob.token, json!({}))
        .assert_error(403, "Forbidden.");
    s.post(
        &format!("{ws}/builds"),
        &bob.token,
        json!({"transition": "delete"}),
    )
    .assert_error(403, "You do not have permission to delete this workspace.");
    // `admin` may change settings and the ACL, but not delete.
    assert_eq!(
        s.patch(
            &acl,
            &alice.token,
            json!({"user_roles": {bob.id.clone(): "admin"}})
        )
        .status,
        204
    );
    assert_eq!(
        s.put(
            &format!("{ws}/autoupdates"),
            &bob.token,
            json!({"automatic_updates": "always"})
        )
        .status,
        204
    );
    assert_eq!(
        s.patch(
            &acl,
            &bob.token,
            json!({"group_roles": {o.org.clone(): "use"}})
        )
        .status,
        204
    );
    let groups = s.get(&acl, &bob.token).ok(200)["group"].clone();
    assert_eq!(groups[0]["name"], "Everyone");
    assert_eq!(groups[0]["role"], "use");
    s.post(
        &format!("{ws}/builds"),
        &bob.token,
        json!({"transition": "delete"}),
    )
    .assert_error(403, "You do not have permission to delete this workspace.");
    // Removing an entry with "" and clearing all with DELETE.
    assert_eq!(
        s.patch(
            &acl,
            &alice.token,
            json!({"user_roles": {bob.id.clone(): ""}})
        )
        .status,
        204
    );
    // Still shared through Everyone.
    s.get(&ws, &bob.token).ok(200);
    assert_eq!(s.delete(&acl, &alice.token).status, 204);
    s.get(&ws, &bob.token).assert_error(404, NOT_FOUND);
    s.delete(&acl, &bob.token).assert_error(404, NOT_FOUND);
    s.anon("DELETE", &acl, None).assert_error(401, SIGNED_OUT);
    s.anon("GET", &acl, None).assert_error(401, SIGNED_OUT);
}

#[test]
fn available_users_and_schedule_restrictions() {
    let World {
        s,
        o,
        alice,
        bob,
        template,
    } = world();
    let path = format!(
        "/api/v2/organizations/{}/members/me/workspaces/available-users",
        o.org
    );
    let r = s.get(&path, &o.token);
    let names: Vec<&str> = r
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["admin", "alice", "bob"]);
    assert_eq!(r.body[0]["name"], "Admin");
    assert!(r.body[1].get("name").is_none());
    let r = s.get(&format!("{path}?limit=1&offset=1"), &o.token);
    assert_eq!(r.ok(200).as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["username"], "alice");
    let r = s.get(&format!("{path}?q=bo"), &o.token);
    assert_eq!(r.ok(200)[0]["username"], "bob");
    // A plain member may only pick themselves.
    let r = s.get(&path, &alice.token);
    assert_eq!(r.ok(200), &json!([{"id": alice.id, "username": "alice"}]));
    s.get(&format!("{path}?limit=x"), &o.token)
        .assert_error(400, "Query parameters have invalid values.")
        .assert_field("limit");
    s.get(
        "/api/v2/organizations/nope/members/me/workspaces/available-users",
        &o.token,
    )
    .assert_error(404, NOT_FOUND);
    s.get(
        &format!(
            "/api/v2/organizations/{}/members/ghost/workspaces/available-users",
            o.org
        ),
        &o.token,
    )
    .assert_error(400, "\"user\" must be an existing uuid or username.");
    s.anon("GET", &path, None).assert_error(401, SIGNED_OUT);
    // Template autostart days move next_start_at.
    let w = s.post(
        "/api/v2/users/me/workspaces",
        &bob.token,
        json!({"template_id": template, "name": "sched", "autostart_schedule": "CRON_TZ=UTC 0 9 * * *"}),
    );
    let id = w.ok(201)["id"].as_str().unwrap().to_string();
    s.wait_build(&bob.token, &id);
    let before = s
        .get(&format!("/api/v2/workspaces/{id}"), &bob.token)
        .ok(200)["next_start_at"]
        .clone();
    assert!(before.is_string());
    let day = chrono::DateTime::parse_from_rfc3339(before.as_str().unwrap()).unwrap();
    let names = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let skip = chrono::Datelike::weekday(&day).num_days_from_monday() as usize;
    let allowed: Vec<&str> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != skip)
        .map(|(_, n)| *n)
        .collect();
    s.patch(
        &format!("/api/v2/templates/{template}"),
        &o.token,
        json!({"autostart_requirement": {"days_of_week": allowed}}),
    )
    .ok(200);
    let after = s
        .get(&format!("/api/v2/workspaces/{id}"), &bob.token)
        .ok(200)["next_start_at"]
        .clone();
    let after = chrono::DateTime::parse_from_rfc3339(after.as_str().unwrap()).unwrap();
    assert_eq!(after - day, chrono::Duration::days(1));
}

#[test]
fn racing_creates_of_one_name_give_one_workspace() {
    let World {
        s, alice, template, ..
    } = world();
    let codes: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|_| {
                scope.spawn(|| {
                    s.post(
                        "/api/v2/users/me/workspaces",
                        &alice.token,
                        json!({"template_id": template, "name": "same"}),
                    )
                    .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(codes.iter().filter(|c| **c == 201).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 9, "{codes:?}");
}
