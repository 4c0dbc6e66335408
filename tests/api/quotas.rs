//! Workspace quotas (Coder's Premium feature, free in warren): budgets from
//! group allowances, consumption from the builds' daily cost, and builds
//! refused over budget. The docker fixture's running workspace costs 10 a
//! day (a `coder_metadata` with `daily_cost = 10` on its container); stopped,
//! it keeps only its volume, which costs nothing.

use serde_json::{json, Value};

use crate::common::*;

fn quota(s: &Server, token: &str, org: &str, user: &str) -> Value {
    s.get(
        &format!("/api/v2/organizations/{org}/members/{user}/workspace-quota"),
        token,
    )
    .ok(200)
    .clone()
}

fn set_allowance(s: &Server, o: &Owner, group: &str, allowance: i64) {
    s.patch(
        &format!("/api/v2/groups/{group}"),
        &o.token,
        json!({"quota_allowance": allowance}),
    )
    .ok(200);
}

fn build(s: &Server, token: &str, workspace: &str, transition: &str) -> Value {
    s.post(
        &format!("/api/v2/workspaces/{workspace}/builds"),
        token,
        json!({"transition": transition}),
    )
    .ok(201);
    s.wait_build(token, workspace)
}

/// `(stage, level, output)` of a build's logs in one stage.
fn logs_of_stage(s: &Server, token: &str, build: &str, stage: &str) -> Vec<(String, String)> {
    let r = s.get(&format!("/api/v2/workspacebuilds/{build}/logs"), token);
    r.ok(200)
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["stage"] == stage)
        .map(|l| {
            (
                l["log_level"].as_str().unwrap().to_string(),
                l["output"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn line(level: &str, output: &str) -> (String, String) {
    (level.to_string(), output.to_string())
}

#[test]
fn budget_is_the_sum_of_group_allowances_and_consumption_the_latest_builds_cost() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let t = s.template(&o, "tee");
    let template = t["id"].as_str().unwrap();
    // Nothing configured: builds cost what their resources declare, and
    // nothing is enforced.
    let w = s.workspace(&alice.token, template, "one");
    let w = w["id"].as_str().unwrap().to_string();
    let q = s.get("/api/v2/workspace-quota/me", &alice.token);
    let q = q.ok(200);
    assert_keys(q, &["credits_consumed", "budget"]);
    assert_eq!(q, &json!({"credits_consumed": 10, "budget": 0}));
    // Allowances of Alice's groups add up, the Everyone group included; a
    // group she is not in does not count.
    let devs = s.post(
        &format!("/api/v2/organizations/{}/groups", o.org),
        &o.token,
        json!({"name": "devs", "quota_allowance": 7}),
    );
    let devs = devs.ok(201)["id"].as_str().unwrap().to_string();
    let ops = s.post(
        &format!("/api/v2/organizations/{}/groups", o.org),
        &o.token,
        json!({"name": "ops", "quota_allowance": 100}),
    );
    ops.ok(201);
    s.patch(
        &format!("/api/v2/groups/{devs}"),
        &o.token,
        json!({"add_users": [alice.id]}),
    )
    .ok(200);
    set_allowance(&s, &o, &o.org, 5);
    assert_eq!(
        quota(&s, &alice.token, &o.org, "me"),
        json!({"credits_consumed": 10, "budget": 12})
    );
    // The same through the deprecated route, by id and by name, and as
    // seen by the owner.
    for (token, user) in [(&alice.token, alice.id.as_str()), (&o.token, "alice")] {
        let r = s.get(&format!("/api/v2/workspace-quota/{user}"), token);
        assert_eq!(r.ok(200), &json!({"credits_consumed": 10, "budget": 12}));
    }
    // Stopped, the workspace costs only its persistent resources (none);
    // the latest build counts, not the sum of all builds.
    let stopped = build(&s, &alice.token, &w, "stop");
    assert_eq!(stopped["latest_build"]["daily_cost"], 0);
    assert_eq!(quota(&s, &alice.token, &o.org, "me")["credits_consumed"], 0);
    let started = build(&s, &alice.token, &w, "start");
    assert_eq!(started["latest_build"]["daily_cost"], 10);
    assert_eq!(
        quota(&s, &alice.token, &o.org, "me")["credits_consumed"],
        10
    );
    // Deleted workspaces cost nothing; deletions commit no cost.
    let deleted = build(&s, &alice.token, &w, "delete");
    assert_eq!(deleted["latest_build"]["daily_cost"], 0);
    assert_eq!(
        quota(&s, &alice.token, &o.org, "me"),
        json!({"credits_consumed": 0, "budget": 12})
    );
    // Budgets are per organization: in another one Alice has none.
    let other = s.post("/api/v2/organizations", &o.token, json!({"name": "other"}));
    let other = other.ok(201)["id"].as_str().unwrap().to_string();
    s.post(
        &format!("/api/v2/organizations/{other}/members/{}", alice.id),
        &o.token,
        json!({}),
    )
    .ok(200);
    assert_eq!(
        quota(&s, &alice.token, &other, "me"),
        json!({"credits_consumed": 0, "budget": 0})
    );
}

#[test]
fn a_build_over_quota_is_refused() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let t = s.template(&o, "tee");
    let template = t["id"].as_str().unwrap();
    set_allowance(&s, &o, &o.org, 15);
    // The first workspace fits: its build logs the figures.
    let one = s.workspace(&alice.token, template, "one");
    assert_eq!(one["latest_build"]["status"], "running");
    let first_build = one["latest_build"]["id"].as_str().unwrap();
    assert_eq!(
        logs_of_stage(&s, &alice.token, first_build, "Commit quota"),
        vec![
            line("info", "Build cost       —   10"),
            line("info", "Budget           —   15"),
            line("info", "Credits consumed —   10"),
        ]
    );
    // The second would bring Alice to 20 of 15: its job fails with Coder's
    // error before anything is created.
    let two = s.workspace(&alice.token, template, "two");
    let b = &two["latest_build"];
    assert_eq!(b["status"], "failed");
    assert_eq!(b["job"]["status"], "failed");
    assert_eq!(b["job"]["error"], "insufficient quota");
    assert_eq!(b["daily_cost"], 0);
    assert_eq!(b["resources"], json!([]));
    assert_eq!(
        logs_of_stage(&s, &alice.token, b["id"].as_str().unwrap(), "Commit quota"),
        vec![
            line("info", "Build cost       —   10"),
            line("info", "Budget           —   15"),
            line("info", "Credits consumed —   10"),
            line("warn", "This build would exceed your quota. Failing."),
        ]
    );
    let starting = logs_of_stage(
        &s,
        &alice.token,
        b["id"].as_str().unwrap(),
        "Starting workspace",
    );
    assert!(starting.is_empty(), "{starting:?}");
    assert_eq!(
        quota(&s, &alice.token, &o.org, "me"),
        json!({"credits_consumed": 10, "budget": 15})
    );
    // Stopping the first frees its credits: the second starts.
    let one = one["id"].as_str().unwrap();
    let two = two["id"].as_str().unwrap();
    build(&s, &alice.token, one, "stop");
    let two = build(&s, &alice.token, two, "start");
    assert_eq!(two["latest_build"]["status"], "running");
    // A lower budget refuses a restart of the stopped one.
    set_allowance(&s, &o, &o.org, 5);
    let again = build(&s, &alice.token, one, "start");
    assert_eq!(again["latest_build"]["job"]["error"], "insufficient quota");
    assert_eq!(
        quota(&s, &alice.token, &o.org, "me"),
        json!({"credits_consumed": 10, "budget": 5})
    );
    // The owner's own budget is theirs: the owner (Everyone: 5) may not
    // start a workspace costing 10 either.
    let mine = s.workspace(&o.token, template, "mine");
    assert_eq!(mine["latest_build"]["job"]["error"], "insufficient quota");
}

#[test]
fn quota_routes_hide_and_refuse_as_coder_does() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &[]);
    let org_route = |user: &str| {
        format!(
            "/api/v2/organizations/{}/members/{user}/workspace-quota",
            o.org
        )
    };
    for path in [
        "/api/v2/workspace-quota/alice".to_string(),
        org_route("alice"),
    ] {
        s.anon("GET", &path, None).assert_error(401, SIGNED_OUT);
        // Bob may not read Alice: her quota is hidden.
        s.get(&path, &bob.token).assert_error(404, NOT_FOUND);
        s.get(&path, &alice.token).ok(200);
        s.get(&path, &o.token).ok(200);
    }
    // An unknown user is Coder's 400 naming `user`.
    for path in [
        "/api/v2/workspace-quota/nobody".to_string(),
        org_route("nobody"),
    ] {
        s.get(&path, &o.token)
            .assert_error(400, "\"user\" must be an existing uuid or username.");
    }
    // An unknown organization, or one the caller is not in, is not found.
    s.get(
        "/api/v2/organizations/7c60d51f-b44e-4682-87d6-449835ea4de6/members/me/workspace-quota",
        &alice.token,
    )
    .assert_error(404, NOT_FOUND);
    let other = s.post("/api/v2/organizations", &o.token, json!({"name": "other"}));
    let other = other.ok(201)["id"].as_str().unwrap().to_string();
    s.get(
        &format!("/api/v2/organizations/{other}/members/me/workspace-quota"),
        &alice.token,
    )
    .assert_error(404, NOT_FOUND);
    // User administrators and auditors read anyone's.
    for role in ["user-admin", "auditor"] {
        let u = s.user(&o, &format!("{role}x"), &[role]);
        s.get(&org_route("alice"), &u.token).ok(200);
    }
}
