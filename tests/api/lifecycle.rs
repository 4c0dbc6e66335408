//! The lifecycle executor: autostop, autostart, dormancy and autodelete.
//! Times are moved into the past directly in the database file, the way the
//! clock would have moved them.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;

fn sql(s: &Server, statement: &str, params: &[&dyn rusqlite::ToSql]) {
    let c = rusqlite::Connection::open(&s.config.db).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.execute(statement, params).unwrap();
}

fn minutes_ago(n: i64) -> i64 {
    chrono::Utc::now().timestamp_micros() - n * 60_000_000
}

fn latest(s: &Server, token: &str, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    s.wait_for(
        &format!("/api/v2/workspaces/{id}?include_deleted=true"),
        token,
        |w| check(&w["latest_build"]) && w["latest_build"]["job"]["status"] == "succeeded",
    )
}

#[test]
fn autostop_autostart_dormancy_autodelete() {
    let s = Server::start_with(|c| c.autobuild_poll_interval = Duration::from_millis(100));
    let o = s.setup();
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap().to_string();
    let r = s.post(
        "/api/v2/users/me/workspaces",
        &o.token,
        json!({"template_id": tid, "name": "dev", "ttl_ms": 3_600_000, "autostart_schedule": "* * * * *"}),
    );
    let id = r.ok(201)["id"].as_str().unwrap().to_string();
    let w = s.wait_build(&o.token, &id);
    let build = w["latest_build"]["id"].as_str().unwrap().to_string();
    // Autostop: the deadline has passed.
    sql(
        &s,
        "UPDATE workspace_builds SET deadline = ?1 WHERE id = ?2",
        &[&minutes_ago(1), &build],
    );
    let w = latest(&s, &o.token, &id, |b| b["transition"] == "stop");
    assert_eq!(w["latest_build"]["reason"], "autostop");
    assert_eq!(w["latest_build"]["status"], "stopped");
    // Autostart: the schedule fired since the stop.
    let stop = w["latest_build"]["id"].as_str().unwrap().to_string();
    sql(
        &s,
        "UPDATE workspace_builds SET created_at = ?1 WHERE id = ?2",
        &[&minutes_ago(2), &stop],
    );
    let w = latest(&s, &o.token, &id, |b| {
        b["transition"] == "start" && b["build_number"] == 3
    });
    assert_eq!(w["latest_build"]["reason"], "autostart");
    assert_eq!(w["latest_build"]["status"], "running");
    assert_eq!(w["latest_build"]["initiator_id"], o.id.as_str());
    // Dormancy after inactivity stops the running workspace.
    s.put(
        &format!("/api/v2/workspaces/{id}/autostart"),
        &o.token,
        json!({"schedule": ""}),
    );
    s.patch(
        &format!("/api/v2/templates/{tid}"),
        &o.token,
        json!({"time_til_dormant_ms": 600_000, "time_til_dormant_autodelete_ms": 600_000}),
    )
    .ok(200);
    sql(
        &s,
        "UPDATE workspaces SET last_used_at = ?1 WHERE id = ?2",
        &[&minutes_ago(30), &id],
    );
    let w = latest(&s, &o.token, &id, |b| b["reason"] == "dormancy");
    assert_eq!(w["latest_build"]["transition"], "stop");
    assert_time(&w["dormant_at"]);
    assert_time(&w["deleting_at"]);
    // Autodelete once the deletion date has passed.
    sql(
        &s,
        "UPDATE workspaces SET deleting_at = ?1 WHERE id = ?2",
        &[&minutes_ago(1), &id],
    );
    let w = latest(&s, &o.token, &id, |b| b["transition"] == "delete");
    assert_eq!(w["latest_build"]["reason"], "autodelete");
    assert_eq!(w["latest_build"]["status"], "deleted");
    s.get(&format!("/api/v2/workspaces/{id}"), &o.token).assert_error(
        410,
        &format!("Workspace {id:?} was deleted, you can view this workspace by specifying '?deleted=true' and trying again."),
    );
}

#[test]
fn suspended_owners_are_stopped_and_failed_builds_cleaned_up() {
    let s = Server::start_with(|c| c.autobuild_poll_interval = Duration::from_millis(100));
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap().to_string();
    let w = s.workspace(&a.token, &tid, "dev");
    let id = w["id"].as_str().unwrap().to_string();
    s.put(
        &format!("/api/v2/users/{}/status/suspend", a.id),
        &o.token,
        json!({}),
    )
    .ok(200);
    let w = latest(&s, &o.token, &id, |b| b["transition"] == "stop");
    assert_eq!(w["latest_build"]["reason"], "autostop");
    // A failed build is stopped once the template's failure TTL has passed.
    s.put(
        &format!("/api/v2/users/{}/status/activate", a.id),
        &o.token,
        json!({}),
    )
    .ok(200);
    s.patch(
        &format!("/api/v2/templates/{tid}"),
        &o.token,
        json!({"failure_ttl_ms": 60_000}),
    )
    .ok(200);
    let r = s.post(
        &format!("/api/v2/workspaces/{id}/builds"),
        &o.token,
        json!({"transition": "start"}),
    );
    let job = r.ok(201)["job"]["id"].as_str().unwrap().to_string();
    latest(&s, &o.token, &id, |b| b["build_number"] == 3);
    sql(
        &s,
        "UPDATE provisioner_jobs SET error = 'boom', completed_at = ?1 WHERE id = ?2",
        &[&minutes_ago(5), &job],
    );
    let w = latest(&s, &o.token, &id, |b| b["build_number"] == 4);
    assert_eq!(w["latest_build"]["transition"], "stop");
    assert_eq!(w["latest_build"]["reason"], "autostop");
}
