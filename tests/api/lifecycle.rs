//! The lifecycle executor: autostop, autostart, failed-build cleanup,
//! dormancy and autodelete. Time moves by the server's clock; each tick runs
//! when the test asks for it.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;

const MINUTE: Duration = Duration::from_secs(60);

/// The workspace (deleted ones included) once queued builds have run.
fn workspace(s: &Server, token: &str, id: &str) -> Value {
    s.settle();
    s.get(
        &format!("/api/v2/workspaces/{id}?include_deleted=true"),
        token,
    )
    .ok(200)
    .clone()
}

#[test]
fn autostop_autostart_dormancy_autodelete() {
    let s = Server::start();
    // A fixed Monday 10:00 UTC: a build finishing within an hour before
    // the 09:00 autostart would get the autostart's deadline (Coder's
    // CalculateAutostop), so the test must not depend on the hour it runs.
    s.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .timestamp_micros(),
    );
    let o = s.setup();
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap().to_string();
    let r = s.post(
        "/api/v2/users/me/workspaces",
        &o.token,
        json!({"template_id": tid, "name": "dev", "ttl_ms": 3_600_000, "autostart_schedule": "CRON_TZ=UTC 0 9 * * *"}),
    );
    let id = r.ok(201)["id"].as_str().unwrap().to_string();
    s.wait_build(&o.token, &id);
    // Nothing is due yet.
    assert!(s.tick().is_empty());
    // Autostop: an hour later the deadline has passed.
    s.advance(61 * MINUTE);
    let actions = s.tick();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0].what, "autostop");
    let w = workspace(&s, &o.token, &id);
    assert_eq!(w["latest_build"]["transition"], "stop");
    assert_eq!(w["latest_build"]["reason"], "autostop");
    assert_eq!(w["latest_build"]["status"], "stopped");
    // Autostart: the schedule fires at the next 09:00 UTC, not before.
    let next_start = chrono::DateTime::parse_from_rfc3339(w["next_start_at"].as_str().unwrap())
        .unwrap()
        .timestamp_micros();
    let now = s.clock.now_peek();
    s.advance(Duration::from_micros(
        (next_start - now - 60_000_000) as u64,
    ));
    assert!(s.tick().is_empty(), "a minute early");
    s.advance(2 * MINUTE);
    assert_eq!(s.tick()[0].what, "autostart");
    let w = workspace(&s, &o.token, &id);
    assert_eq!(w["latest_build"]["transition"], "start");
    assert_eq!(w["latest_build"]["build_number"], 3);
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
    s.advance(11 * MINUTE);
    let whats: Vec<&str> = s.tick().iter().map(|a| a.what).collect();
    assert_eq!(whats, ["dormant", "dormancy"]);
    let w = workspace(&s, &o.token, &id);
    assert_eq!(w["latest_build"]["transition"], "stop");
    assert_eq!(w["latest_build"]["reason"], "dormancy");
    assert_time(&w["dormant_at"]);
    assert_time(&w["deleting_at"]);
    // Autodelete once the deletion date has passed.
    s.advance(11 * MINUTE);
    assert_eq!(s.tick()[0].what, "autodelete");
    let w = workspace(&s, &o.token, &id);
    assert_eq!(w["latest_build"]["transition"], "delete");
    assert_eq!(w["latest_build"]["reason"], "autodelete");
    assert_eq!(w["latest_build"]["status"], "deleted");
    s.get(&format!("/api/v2/workspaces/{id}"), &o.token).assert_error(
        410,
        &format!("Workspace {id:?} was deleted, you can view this workspace by specifying '?deleted=true' and trying again."),
    );
}

#[test]
fn suspended_owners_are_stopped_and_failed_builds_cleaned_up() {
    let mut s = Server::start();
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
    assert_eq!(s.tick()[0].what, "autostop");
    let w = workspace(&s, &o.token, &id);
    assert_eq!(w["latest_build"]["transition"], "stop");
    assert_eq!(w["latest_build"]["reason"], "autostop");
    // A build the server was running when it stopped has failed: builds
    // now take long enough to be caught running.
    s.config.provisioner_delay = Duration::from_secs(30);
    s.restart();
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
    s.post(
        &format!("/api/v2/workspaces/{id}/builds"),
        &o.token,
        json!({"transition": "start"}),
    )
    .ok(201);
    s.watch_until(&id, &o.token, Duration::from_secs(10), |w| {
        w["latest_build"]["job"]["status"] == "running"
    });
    s.config.provisioner_delay = Duration::ZERO;
    s.restart();
    let w = workspace(&s, &o.token, &id);
    assert_eq!(w["latest_build"]["build_number"], 3);
    assert_eq!(w["latest_build"]["status"], "failed");
    // It is stopped once the template's failure TTL has passed.
    assert!(s.tick().is_empty(), "the failure is fresh");
    s.advance(2 * MINUTE);
    assert_eq!(s.tick()[0].what, "autostop");
    let w = workspace(&s, &o.token, &id);
    assert_eq!(w["latest_build"]["build_number"], 4);
    assert_eq!(w["latest_build"]["transition"], "stop");
    assert_eq!(w["latest_build"]["reason"], "autostop");
}
