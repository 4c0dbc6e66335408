//! `GET /workspaces/{workspace}/schedule` (warren extension): the next
//! autostart and autostop with the rule behind each, dormancy and deletion
//! with the template setting that says so, and the lifecycle executor's
//! actions with their reasons. Time moves only by the server's clock.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

fn micros(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_micros()
}

/// A server whose clock reads Monday 2026-11-23 10:00 UTC, and its owner
/// with a token that outlives the days the tests move through.
fn server() -> (Server, Owner) {
    let s = Server::start();
    s.clock.set(micros("2026-11-23T10:00:00Z"));
    let mut o = s.setup();
    let r = s.post(
        "/api/v2/users/me/keys/tokens",
        &o.token,
        json!({"token_name": "long", "lifetime": 7 * 24 * 3_600_000_000_000i64}),
    );
    o.token = r.ok(201)["key"].as_str().unwrap().to_string();
    (s, o)
}

/// A time the server's clock made, to the second: the manual clock moves
/// a microsecond per reading, so times it stamps are a few µs late.
#[track_caller]
fn assert_at(v: &Value, want: &str) {
    let got = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    let t = chrono::DateTime::parse_from_rfc3339(got).unwrap();
    assert_eq!(
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        want,
        "{got} is not {want}"
    );
    assert!(t.timestamp_subsec_micros() < 1000, "{got} is not {want}");
}

fn explain(s: &Server, token: &str, id: &str) -> Value {
    s.settle();
    s.get(&format!("/api/v2/workspaces/{id}/schedule"), token)
        .ok(200)
        .clone()
}

fn create(s: &Server, token: &str, template: &str, body: Value) -> String {
    let mut body = body;
    body["template_id"] = json!(template);
    let r = s.post("/api/v2/users/me/workspaces", token, body);
    let id = r.ok(201)["id"].as_str().unwrap().to_string();
    s.wait_build(token, &id);
    id
}

fn build(s: &Server, token: &str, id: &str, transition: &str) {
    s.post(
        &format!("/api/v2/workspaces/{id}/builds"),
        token,
        json!({"transition": transition}),
    )
    .ok(201);
    s.wait_build(token, id);
}

fn patch_template(s: &Server, o: &Owner, template: &str, body: Value) {
    s.patch(&format!("/api/v2/templates/{template}"), &o.token, body)
        .ok(200);
}

#[test]
fn autostart_follows_the_owners_schedule_in_its_zone_and_the_templates_days() {
    let (s, o) = server();
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap();
    let id = create(
        &s,
        &o.token,
        tid,
        json!({"name": "dev", "ttl_ms": 3_600_000, "autostart_schedule": "CRON_TZ=Europe/Berlin 30 8 * * 1-5"}),
    );
    // Running: the schedule would start it only if it were stopped.
    let e = explain(&s, &o.token, &id);
    assert_eq!(e["status"], "running");
    assert_eq!(e["autostart"]["next"], Value::Null);
    assert_eq!(e["autostart"]["blocked_by"], "not_stopped");
    assert_eq!(e["autostart"]["timezone"], "Europe/Berlin");
    // 08:30 in Berlin in November is 07:30 UTC, Tuesday the next weekday.
    assert!(
        e["autostart"]["detail"]
            .as_str()
            .unwrap()
            .contains("2026-11-24T07:30:00Z"),
        "{e}"
    );
    build(&s, &o.token, &id, "stop");
    let e = explain(&s, &o.token, &id);
    assert_at(&e["autostart"]["next"]["at"], "2026-11-24T07:30:00Z");
    assert_eq!(e["autostart"]["next"]["rule"], "schedule");
    assert_eq!(e["autostart"]["blocked_by"], Value::Null);
    assert_eq!(e["autostart"]["allowed_days"].as_array().unwrap().len(), 7);
    // The template does not allow starts on Tuesdays: Wednesday then.
    patch_template(
        &s,
        &o,
        tid,
        json!({"autostart_requirement": {"days_of_week": ["monday", "wednesday", "thursday", "friday", "saturday", "sunday"]}}),
    );
    let e = explain(&s, &o.token, &id);
    assert_at(&e["autostart"]["next"]["at"], "2026-11-25T07:30:00Z");
    assert!(!e["autostart"]["allowed_days"]
        .as_array()
        .unwrap()
        .contains(&json!("tuesday")));
    // The template forbids autostart altogether.
    patch_template(&s, &o, tid, json!({"allow_user_autostart": false}));
    let e = explain(&s, &o.token, &id);
    assert_eq!(e["autostart"]["next"], Value::Null);
    assert_eq!(e["autostart"]["blocked_by"], "template_disallows");
    assert_eq!(e["autostart"]["allowed_by_template"], false);
    // Allowed again: the executor starts it when the explanation said.
    patch_template(&s, &o, tid, json!({"allow_user_autostart": true}));
    s.clock.set(micros("2026-11-25T07:29:00Z"));
    assert!(s.tick().is_empty(), "a minute early");
    s.advance(MINUTE);
    let actions = s.tick();
    assert_eq!(
        (actions[0].what, actions[0].reason),
        ("autostart", "schedule")
    );
    let e = explain(&s, &o.token, &id);
    assert_eq!(e["status"], "running");
    let a = &e["recent_actions"][0];
    assert_eq!(
        (&a["action"], &a["reason"], &a["build_number"]),
        (&json!("autostart"), &json!("schedule"), &json!(3))
    );
    assert_at(&a["at"], "2026-11-25T07:30:00Z");
    assert!(a["detail"].as_str().unwrap().contains("Europe/Berlin"));
}

#[test]
fn autostop_names_the_ttl_and_whose_it_is() {
    let (s, o) = server();
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap();
    let id = create(
        &s,
        &o.token,
        tid,
        json!({"name": "dev", "ttl_ms": 7_200_000}),
    );
    let e = explain(&s, &o.token, &id);
    let stop = &e["autostop"];
    assert_at(&stop["next"]["at"], "2026-11-23T12:00:00Z");
    assert_eq!(stop["next"]["rule"], "deadline");
    assert_eq!(stop["deadline_rule"], "ttl");
    assert_eq!(stop["ttl_source"], "workspace");
    assert_eq!(stop["ttl_ms"], 7_200_000);
    assert!(
        stop["detail"]
            .as_str()
            .unwrap()
            .contains("the workspace's TTL of 2h"),
        "{stop}"
    );
    // The template's default TTL governs when users may not set their own.
    patch_template(
        &s,
        &o,
        tid,
        json!({"allow_user_autostop": false, "default_ttl_ms": 10_800_000}),
    );
    build(&s, &o.token, &id, "stop");
    build(&s, &o.token, &id, "start");
    let e = explain(&s, &o.token, &id);
    let stop = &e["autostop"];
    assert_at(&stop["next"]["at"], "2026-11-23T13:00:00Z");
    assert_eq!(stop["deadline_rule"], "template_ttl");
    assert_eq!(stop["ttl_source"], "template");
    assert_eq!(stop["ttl_ms"], 10_800_000);
    assert!(stop["detail"]
        .as_str()
        .unwrap()
        .contains("the template's default TTL of 3h"));
    // At the deadline the executor stops it, and says why.
    s.clock.set(micros("2026-11-23T13:00:01Z"));
    assert_eq!(s.tick()[0].reason, "deadline");
    let e = explain(&s, &o.token, &id);
    assert_eq!(e["status"], "stopped");
    assert_eq!(e["autostop"]["next"], Value::Null);
    let a = &e["recent_actions"][0];
    assert_eq!(
        (&a["action"], &a["reason"]),
        (&json!("autostop"), &json!("deadline"))
    );
    let detail = a["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("The build's deadline 2026-11-23T13:00:00")
            && detail.ends_with("passed."),
        "{detail}"
    );
}

#[test]
fn an_activity_bump_names_the_app_and_when() {
    let (s, o) = server();
    let t = s.template(&o, "docker");
    let id = create(
        &s,
        &o.token,
        t["id"].as_str().unwrap(),
        json!({"name": "dev", "ttl_ms": 3_600_000}),
    );
    let w = s.get(&format!("/api/v2/workspaces/{id}"), &o.token);
    let agent = w.ok(200)["latest_build"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["agents"].as_array().cloned().unwrap_or_default())
        .next()
        .expect("an agent")["id"]
        .clone();
    s.advance(50 * MINUTE);
    s.post(
        &format!("/api/v2/workspaces/{id}/usage"),
        &o.token,
        json!({"agent_id": agent, "app_name": "vscode"}),
    )
    .ok(204);
    let e = explain(&s, &o.token, &id);
    let stop = &e["autostop"];
    assert_at(&stop["next"]["at"], "2026-11-23T11:50:00Z");
    assert_eq!(stop["deadline_rule"], "activity_bump");
    assert_eq!(stop["deadline_set_by"], "vscode");
    assert_at(&stop["deadline_set_at"], "2026-11-23T10:50:00Z");
    assert_eq!(stop["activity_bump_ms"], 3_600_000);
    assert!(
        stop["detail"]
            .as_str()
            .unwrap()
            .contains("activity by vscode at 2026-11-23T10:50:00"),
        "{stop}"
    );
}

#[test]
fn the_autostop_requirement_caps_the_deadline_at_the_quiet_hours() {
    let (s, o) = server();
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap();
    patch_template(
        &s,
        &o,
        tid,
        json!({"autostop_requirement": {"days_of_week": ["sunday"], "weeks": 1}}),
    );
    // No TTL: the requirement alone stops it, Sunday at midnight UTC.
    let id = create(&s, &o.token, tid, json!({"name": "dev", "ttl_ms": 0}));
    let e = explain(&s, &o.token, &id);
    let stop = &e["autostop"];
    assert_at(&stop["next"]["at"], "2026-11-29T00:00:00Z");
    assert_eq!(stop["deadline_rule"], "max_deadline");
    assert_eq!(stop["ttl_ms"], Value::Null);
    assert_eq!(
        stop["autostop_requirement"],
        json!({"days": ["sunday"], "weeks": 1, "quiet_hours_schedule": "CRON_TZ=UTC 0 0 * * *"})
    );
    // With a TTL the deadline comes first, and cannot pass the requirement.
    let id = create(
        &s,
        &o.token,
        tid,
        json!({"name": "ttl", "ttl_ms": 7_200_000}),
    );
    let e = explain(&s, &o.token, &id);
    assert_at(&e["autostop"]["next"]["at"], "2026-11-23T12:00:00Z");
    assert_at(&e["autostop"]["max_deadline"], "2026-11-29T00:00:00Z");
    assert!(e["autostop"]["detail"]
        .as_str()
        .unwrap()
        .contains("cannot be extended past 2026-11-29T00:00:00Z"));
    // Extended by a person.
    s.put(
        &format!("/api/v2/workspaces/{id}/extend"),
        &o.token,
        json!({"deadline": "2026-11-23T15:00:00Z"}),
    )
    .ok(200);
    let e = explain(&s, &o.token, &id);
    assert_at(&e["autostop"]["next"]["at"], "2026-11-23T15:00:00Z");
    assert_eq!(e["autostop"]["deadline_rule"], "extended");
    assert_eq!(e["autostop"]["deadline_set_by"], "admin");
    // Autostop turned off: only the requirement remains.
    s.put(
        &format!("/api/v2/workspaces/{id}/ttl"),
        &o.token,
        json!({"ttl_ms": null}),
    )
    .ok(204);
    let e = explain(&s, &o.token, &id);
    assert_at(&e["autostop"]["next"]["at"], "2026-11-29T00:00:00Z");
    assert_eq!(e["autostop"]["deadline_rule"], "ttl_disabled");
}

#[test]
fn dormancy_and_deletion_name_the_template_settings() {
    let (s, o) = server();
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap();
    let id = create(&s, &o.token, tid, json!({"name": "dev", "ttl_ms": 0}));
    let e = explain(&s, &o.token, &id);
    assert_eq!(e["dormancy"]["next_dormancy"], Value::Null);
    assert!(e["dormancy"]["detail"]
        .as_str()
        .unwrap()
        .contains("never makes workspaces dormant"));
    assert_eq!(e["autostop"]["next"], Value::Null);
    assert!(e["autostop"]["detail"]
        .as_str()
        .unwrap()
        .starts_with("Runs until stopped"));
    patch_template(
        &s,
        &o,
        tid,
        json!({"time_til_dormant_ms": 600_000, "time_til_dormant_autodelete_ms": 1_200_000}),
    );
    let e = explain(&s, &o.token, &id);
    let d = &e["dormancy"];
    assert_at(&d["next_dormancy"]["at"], "2026-11-23T10:10:00Z");
    assert_eq!(d["next_dormancy"]["rule"], "inactivity");
    assert!(d["next_dormancy"]["detail"]
        .as_str()
        .unwrap()
        .contains("time_til_dormant_ms"));
    assert_at(&d["next_deletion"]["at"], "2026-11-23T10:30:00Z");
    assert!(d["next_deletion"]["detail"]
        .as_str()
        .unwrap()
        .starts_with("If it turns dormant"));
    // Dormant (and so stopped) once unused past the setting.
    s.advance(11 * MINUTE);
    let whats: Vec<_> = s.tick().iter().map(|a| (a.what, a.reason)).collect();
    assert_eq!(whats, [("dormant", "inactivity"), ("dormancy", "dormant")]);
    let e = explain(&s, &o.token, &id);
    let d = &e["dormancy"];
    assert_at(&d["dormant_at"], "2026-11-23T10:11:00Z");
    assert_eq!(d["next_dormancy"], Value::Null);
    assert_at(&d["next_deletion"]["at"], "2026-11-23T10:31:00Z");
    assert_eq!(d["next_deletion"]["rule"], "dormancy_autodelete");
    assert!(d["next_deletion"]["detail"]
        .as_str()
        .unwrap()
        .contains("time_til_dormant_autodelete_ms"));
    assert_eq!(e["autostart"]["blocked_by"], "no_schedule");
    let actions: Vec<(&str, &str)> = e["recent_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["action"].as_str().unwrap(), a["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [("dormancy", "dormant"), ("dormant", "inactivity")]
    );
    assert_eq!(e["recent_actions"][0]["build_number"], 2);
    assert_eq!(e["recent_actions"][1]["build_number"], Value::Null);
    // Deleted once the date has passed; the explanation still answers.
    s.advance(20 * MINUTE);
    assert_eq!(s.tick()[0].reason, "dormancy_autodelete");
    let e = explain(&s, &o.token, &id);
    assert_eq!(e["status"], "deleted");
    assert_eq!(e["recent_actions"][0]["action"], "autodelete");
    assert_eq!(e["dormancy"]["next_deletion"], Value::Null);
}

#[test]
fn suspended_owners_and_failed_builds() {
    let (mut s, o) = server();
    let a = s.user(&o, "alice", &[]);
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap().to_string();
    let id = create(
        &s,
        &a.token,
        &tid,
        json!({"name": "dev", "ttl_ms": 0, "autostart_schedule": "CRON_TZ=UTC 0 9 * * *"}),
    );
    s.put(
        &format!("/api/v2/users/{}/status/suspend", a.id),
        &o.token,
        json!({}),
    )
    .ok(200);
    let e = explain(&s, &o.token, &id);
    assert_eq!(e["autostop"]["next"]["rule"], "owner_suspended");
    assert_at(&e["autostop"]["next"]["at"], "2026-11-23T10:00:00Z");
    assert_eq!(e["autostart"]["blocked_by"], "owner_inactive");
    assert_eq!(s.tick()[0].reason, "owner_suspended");
    let e = explain(&s, &o.token, &id);
    assert_eq!(e["autostart"]["blocked_by"], "owner_inactive");
    assert_eq!(e["recent_actions"][0]["detail"], "Its owner is suspended.");
    s.put(
        &format!("/api/v2/users/{}/status/activate", a.id),
        &o.token,
        json!({}),
    )
    .ok(200);
    // A build the server was running when it stopped has failed.
    patch_template(&s, &o, &tid, json!({"failure_ttl_ms": 3_600_000}));
    s.config.provisioner_delay = Duration::from_secs(30);
    s.restart();
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
    let e = explain(&s, &o.token, &id);
    assert_eq!(e["status"], "failed");
    assert_eq!(e["autostop"]["next"]["rule"], "failure_ttl");
    assert_at(&e["autostop"]["next"]["at"], "2026-11-23T11:00:00Z");
    assert_eq!(e["autostart"]["blocked_by"], "last_build_failed");
    s.advance(HOUR + MINUTE);
    assert_eq!(s.tick()[0].reason, "failure_ttl");
    let e = explain(&s, &o.token, &id);
    assert!(e["recent_actions"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("failure_ttl_ms"));
}

#[test]
fn the_explanation_refuses_like_the_workspace_does() {
    let (s, o) = server();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &[]);
    let t = s.template(&o, "docker");
    let id = create(
        &s,
        &alice.token,
        t["id"].as_str().unwrap(),
        json!({"name": "dev"}),
    );
    let path = format!("/api/v2/workspaces/{id}/schedule");
    s.get(&path, &alice.token).ok(200);
    s.get(&path, &o.token).ok(200);
    // Bob may not see Alice's workspace: it does not exist for him.
    s.get(&path, &bob.token).assert_error(404, NOT_FOUND);
    s.anon("GET", &path, None).assert_error(401, SIGNED_OUT);
    s.get(
        &format!("/api/v2/workspaces/{}/schedule", uuid::Uuid::new_v4()),
        &o.token,
    )
    .assert_error(404, NOT_FOUND);
    s.get("/api/v2/workspaces/not-a-uuid/schedule", &o.token)
        .assert_error(400, "Invalid UUID \"not-a-uuid\".");
}

#[test]
fn the_largest_template_durations_overflow_nothing() {
    // Found by the OpenAPI fuzz run: milliseconds as large as JSON allows
    // made time arithmetic overflow (a 500, a panic in debug builds).
    let (s, o) = server();
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap();
    let id = create(
        &s,
        &o.token,
        tid,
        json!({"name": "dev", "ttl_ms": 3_600_000}),
    );
    patch_template(
        &s,
        &o,
        tid,
        json!({
            "time_til_dormant_ms": i64::MAX,
            "time_til_dormant_autodelete_ms": i64::MAX,
            "failure_ttl_ms": i64::MAX,
            "activity_bump_ms": i64::MAX,
        }),
    );
    let e = explain(&s, &o.token, &id);
    assert_eq!(e["dormancy"]["time_til_dormant_ms"], i64::MAX);
    s.put(
        &format!("/api/v2/workspaces/{id}/dormant"),
        &o.token,
        json!({"dormant": true}),
    )
    .ok(200);
    let e = explain(&s, &o.token, &id);
    assert!(e["dormancy"]["next_deletion"]["at"].is_string(), "{e}");
    assert!(s.tick().is_empty());
}
