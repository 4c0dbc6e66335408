//! Template version routes beyond reading one: external auth, archiving,
//! and dry runs.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;
use crate::snapshot;

#[test]
fn external_auth_lists_no_providers() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let t = s.template(&o, "tee");
    let version = t["active_version_id"].as_str().unwrap();
    let path = format!("/api/v2/templateversions/{version}/external-auth");
    assert_eq!(s.get(&path, &alice.token).ok(200), &json!([]));
    // An unattached version is its creator's and template admins'.
    let loose = s.import(&o, "docker", None);
    let loose = format!(
        "/api/v2/templateversions/{}/external-auth",
        loose["id"].as_str().unwrap()
    );
    s.get(&loose, &o.token).ok(200);
    s.get(&loose, &alice.token).assert_error(404, NOT_FOUND);
    s.get(
        "/api/v2/templateversions/00000000-0000-0000-0000-000000000001/external-auth",
        &o.token,
    )
    .assert_error(404, NOT_FOUND);
    s.get("/api/v2/templateversions/nope/external-auth", &o.token)
        .assert_error(400, "Invalid UUID \"nope\".");
    s.anon("GET", &path, None).assert_error(401, SIGNED_OUT);
}

fn versions(s: &Server, token: &str, template: &str, query: &str) -> Vec<String> {
    let r = s.get(
        &format!("/api/v2/templates/{template}/versions{query}"),
        token,
    );
    r.ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn versions_are_archived_when_unused_and_unarchived() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let t = s.template(&o, "tee");
    let template = t["id"].as_str().unwrap().to_string();
    let active = t["active_version_id"].as_str().unwrap().to_string();
    let spare = s.import(&o, "docker", Some(&template))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let archive = |v: &str, token: &str| {
        s.post(
            &format!("/api/v2/templateversions/{v}/archive"),
            token,
            json!({}),
        )
    };
    // The active version is in use.
    archive(&active, &o.token).assert_error(
        400,
        "Unable to archive specified version, the version is likely in use by a workspace or currently set to the active version",
    );
    // Members read versions but may not archive them.
    archive(&spare, &alice.token).assert_error(404, "Template or template versions not found.");
    let r = archive(&spare, &o.token);
    assert_eq!(
        r.ok(200),
        &json!(format!("template version \"{spare}\" archived"))
    );
    assert_eq!(
        s.get(&format!("/api/v2/templateversions/{spare}"), &o.token)
            .ok(200)["archived"],
        true
    );
    archive(&spare, &o.token).assert_error(400, "Template version already archived");
    // Lists leave archived versions out unless asked.
    assert_eq!(versions(&s, &o.token, &template, ""), vec![active.clone()]);
    assert_eq!(
        versions(&s, &o.token, &template, "?include_archived=true").len(),
        2
    );
    // An archived version cannot become active.
    s.patch(
        &format!("/api/v2/templates/{template}/versions"),
        &o.token,
        json!({"id": spare}),
    )
    .assert_error(400, "The provided template version is archived.");
    let unarchive = |v: &str, token: &str| {
        s.post(
            &format!("/api/v2/templateversions/{v}/unarchive"),
            token,
            json!({}),
        )
    };
    unarchive(&spare, &alice.token).assert_error(404, "Template or template versions not found.");
    assert_eq!(
        unarchive(&spare, &o.token).ok(200),
        &json!(format!("template version \"{spare}\" unarchived"))
    );
    unarchive(&spare, &o.token).assert_error(400, "Template version already unarchived");
    // A version of no template.
    let loose = s.import(&o, "docker", None)["id"]
        .as_str()
        .unwrap()
        .to_string();
    archive(&loose, &o.token).assert_error(
        400,
        "Cannot archive template versions not associate with a template.",
    );
    archive("00000000-0000-0000-0000-000000000001", &o.token).assert_error(404, NOT_FOUND);
    archive("nope", &o.token).assert_error(400, "Invalid UUID \"nope\".");
    s.anon(
        "POST",
        &format!("/api/v2/templateversions/{spare}/archive"),
        Some(json!({})),
    )
    .assert_error(401, SIGNED_OUT);
}

#[test]
fn unused_versions_are_archived_in_bulk() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let t = s.template(&o, "tee");
    let template = t["id"].as_str().unwrap().to_string();
    let first = t["active_version_id"].as_str().unwrap().to_string();
    // Alice's workspace uses the first version; a second becomes active.
    s.workspace(&alice.token, &template, "dev");
    let second = s.import(&o, "docker", Some(&template))["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.patch(
        &format!("/api/v2/templates/{template}/versions"),
        &o.token,
        json!({"id": second}),
    )
    .ok(200);
    let unused = s.import(&o, "docker", Some(&template))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let broken = s.import(&o, "broken", Some(&template));
    assert_eq!(broken["job"]["status"], "failed");
    let broken = broken["id"].as_str().unwrap().to_string();
    let path = format!("/api/v2/templates/{template}/versions/archive");
    // By default only failed imports.
    let r = s.post(&path, &o.token, json!({}));
    assert_eq!(
        r.ok(200),
        &json!({"template_id": template, "archived_ids": [broken]})
    );
    // With `all`, every version nothing uses and not yet archived: not the
    // active one, not one a workspace's latest build uses.
    let r = s.post(&path, &o.token, json!({"all": true}));
    assert_eq!(r.ok(200)["archived_ids"], json!([unused]));
    assert_eq!(
        versions(&s, &o.token, &template, ""),
        vec![first.clone(), second.clone()]
    );
    // Nothing left: Coder sends null.
    let none = s.post(&path, &o.token, json!({"all": false}));
    assert_eq!(none.ok(200)["archived_ids"], Value::Null);
    s.post(&path, &alice.token, json!({}))
        .assert_error(404, "Template or template versions not found.");
    s.post(
        "/api/v2/templates/00000000-0000-0000-0000-000000000001/versions/archive",
        &o.token,
        json!({}),
    )
    .assert_error(404, NOT_FOUND);
    s.post(&path, &o.token, json!({"all": "yes"}))
        .assert_error(400, "Request body must be valid JSON.");
    s.anon("POST", &path, Some(json!({})))
        .assert_error(401, SIGNED_OUT);
}

/// A dry run of `version` by `token`: its job.
fn dry_run(s: &Server, token: &str, version: &str, body: Value) -> Value {
    let r = s.post(
        &format!("/api/v2/templateversions/{version}/dry-run"),
        token,
        body,
    );
    r.ok(201).clone()
}

#[test]
fn dry_run_plans_without_a_workspace() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &[]);
    let t = s.template(&o, "tee");
    let version = t["active_version_id"].as_str().unwrap().to_string();
    let job = dry_run(
        &s,
        &alice.token,
        &version,
        json!({"workspace_name": "plan", "rich_parameter_values": [{"name": "cpu", "value": "4"}]}),
    );
    assert_eq!(job["type"], "template_version_dry_run");
    assert_eq!(job["status"], "pending");
    assert_eq!(job["initiator_id"], alice.id.as_str());
    assert_eq!(job["input"]["template_version_id"], version.as_str());
    let id = job["id"].as_str().unwrap().to_string();
    let base = format!("/api/v2/templateversions/{version}/dry-run/{id}");
    // Resources come once the plan is done.
    s.settle();
    let done = s.get(&base, &alice.token).ok(200).clone();
    assert_eq!(done["status"], "succeeded", "{done}");
    let resources = s.get(&format!("{base}/resources"), &alice.token);
    let resources = resources.ok(200).as_array().unwrap().clone();
    let names: Vec<&str> = resources
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"workspace") && names.contains(&"home_volume"),
        "{names:?}"
    );
    let agents: Vec<Value> = resources
        .iter()
        .flat_map(|r| r["agents"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0]["name"], "main");
    // No workspace came of it.
    assert_eq!(
        s.get("/api/v2/workspaces", &alice.token).ok(200)["count"],
        0
    );
    let logs = s.get(&format!("{base}/logs"), &alice.token);
    let logs = logs.ok(200).clone();
    let stages: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["stage"].as_str().unwrap())
        .collect();
    assert!(stages.contains(&"Planning infrastructure"), "{stages:?}");
    snapshot::assert_body(
        "GET",
        "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/logs",
        &logs,
    );
    // Finished: it cannot be canceled.
    s.patch(&format!("{base}/cancel"), &alice.token, json!({}))
        .assert_error(400, "Job has already completed.");
    // Parameters are checked as a build checks them: the plan fails.
    let bad = dry_run(
        &s,
        &alice.token,
        &version,
        json!({"rich_parameter_values": [{"name": "cpu", "value": "99"}]}),
    );
    s.settle();
    let bad = s.get(
        &format!(
            "/api/v2/templateversions/{version}/dry-run/{}",
            bad["id"].as_str().unwrap()
        ),
        &alice.token,
    );
    let bad = bad.ok(200).clone();
    assert_eq!(bad["status"], "failed");
    assert!(bad["error"]
        .as_str()
        .unwrap()
        .contains("CPU must be between 1 and 8, got 99"));
    // Another member's dry run is theirs; the owner reads every one.
    s.get(&base, &bob.token).assert_error(403, "Forbidden.");
    s.get(&format!("{base}/resources"), &bob.token)
        .assert_error(403, "Forbidden.");
    s.patch(&format!("{base}/cancel"), &bob.token, json!({}))
        .assert_error(403, "Forbidden.");
    s.get(&base, &o.token).ok(200);
    // Jobs that are not dry runs of this version.
    let import = t["active_version_id"].as_str().unwrap();
    let import_job = s.get(&format!("/api/v2/templateversions/{import}"), &o.token);
    let import_job = import_job.ok(200)["job"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.get(
        &format!("/api/v2/templateversions/{version}/dry-run/{import_job}"),
        &o.token,
    )
    .assert_error(403, "Forbidden.");
    let other = s.import(&o, "docker", Some(t["id"].as_str().unwrap()));
    s.get(
        &format!(
            "/api/v2/templateversions/{}/dry-run/{id}",
            other["id"].as_str().unwrap()
        ),
        &o.token,
    )
    .assert_error(403, "Forbidden.");
    s.get(
        &format!("/api/v2/templateversions/{version}/dry-run/00000000-0000-0000-0000-000000000001"),
        &o.token,
    )
    .assert_error(
        404,
        "Provisioner job \"00000000-0000-0000-0000-000000000001\" not found.",
    );
    s.get(
        &format!("/api/v2/templateversions/{version}/dry-run/nope"),
        &o.token,
    )
    .assert_error(400, "Job ID \"nope\" must be a valid UUID.");
    s.post(
        &format!("/api/v2/templateversions/{version}/dry-run"),
        &alice.token,
        json!({"rich_parameter_values": {"cpu": "2"}}),
    )
    .assert_error(400, "Request body must be valid JSON.");
    // Versions the caller cannot read, and anonymous callers.
    let loose = s.import(&o, "docker", None);
    s.post(
        &format!(
            "/api/v2/templateversions/{}/dry-run",
            loose["id"].as_str().unwrap()
        ),
        &alice.token,
        json!({}),
    )
    .assert_error(404, NOT_FOUND);
    s.anon(
        "POST",
        &format!("/api/v2/templateversions/{version}/dry-run"),
        Some(json!({})),
    )
    .assert_error(401, SIGNED_OUT);
    s.anon("GET", &base, None).assert_error(401, SIGNED_OUT);
}

#[test]
fn dry_run_is_canceled_while_it_runs() {
    let s = Server::start_with(|c| c.provisioner_delay = Duration::from_secs(2));
    let o = s.setup();
    let t = s.template(&o, "tee");
    let version = t["active_version_id"].as_str().unwrap().to_string();
    let job = dry_run(&s, &o.token, &version, json!({}));
    let base = format!(
        "/api/v2/templateversions/{version}/dry-run/{}",
        job["id"].as_str().unwrap()
    );
    let r = s.patch(&format!("{base}/cancel"), &o.token, json!({}));
    assert_eq!(
        r.ok(200),
        &json!({"message": "Job has been marked as canceled."})
    );
    snapshot::assert_body(
        "PATCH",
        "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/cancel",
        &r.body,
    );
    let again = s.patch(&format!("{base}/cancel"), &o.token, json!({}));
    assert_eq!(again.status, 400, "{}", again.text);
    assert!(
        matches!(
            again.body["message"].as_str(),
            Some("Job has already been marked as canceled." | "Job has already completed.")
        ),
        "{}",
        again.text
    );
    s.settle();
    assert_eq!(s.get(&base, &o.token).ok(200)["status"], "canceled");
    s.get(&format!("{base}/resources"), &o.token).ok(200);
}

#[test]
fn unnamed_versions_of_a_template_get_distinct_names() {
    // Far more versions than a birthday among a few hundred plain names
    // allows without a clash.
    let s = Server::start();
    let o = s.setup();
    let t = s.template(&o, "tee");
    let template = t["id"].as_str().unwrap();
    let mut names = std::collections::HashSet::new();
    for _ in 0..60 {
        let v = s.import(&o, "docker", Some(template));
        assert!(names.insert(v["name"].as_str().unwrap().to_string()));
    }
}
