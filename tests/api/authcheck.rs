//! `POST /authcheck`: Coder's batch permission check, answered by the
//! decision table.

use serde_json::{json, Value};

use crate::common::*;

fn check(object: Value, action: &str) -> Value {
    json!({"object": object, "action": action})
}

#[test]
fn authcheck_answers_each_check_as_the_roles_allow() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &[]);
    let auditor = s.user(&o, "audrey", &["auditor"]);
    let t = s.template(&o, "tee");
    let template = t["id"].as_str().unwrap().to_string();
    let w = s.workspace(&alice.token, &template, "dev");
    let workspace = w["id"].as_str().unwrap().to_string();
    let body = json!({"checks": {
        // The dashboard's site-wide checks.
        "viewAllUsers": check(json!({"resource_type": "user"}), "read"),
        "createTemplates": check(json!({"resource_type": "template", "any_org": true}), "create"),
        "viewDeploymentConfig": check(json!({"resource_type": "deployment_config"}), "read"),
        "editDeploymentConfig": check(json!({"resource_type": "deployment_config"}), "update"),
        "viewAnyAuditLog": check(json!({"resource_type": "audit_log", "any_org": true}), "read"),
        // The workspace page's: one workspace and one template by id.
        "readWorkspace": check(json!({"resource_type": "workspace", "resource_id": workspace}), "read"),
        "sshWorkspace": check(json!({"resource_type": "workspace", "resource_id": workspace}), "ssh"),
        "updateTemplate": check(json!({"resource_type": "template", "resource_id": template}), "update"),
        // Owned by me in the organization.
        "createWorkspace": check(json!({"resource_type": "workspace",
            "organization_id": o.org, "owner_id": "me"}), "create"),
        "readMyKeys": check(json!({"resource_type": "api_key", "owner_id": "me"}), "read"),
        // What no role grants answers no rather than failing.
        "license": check(json!({"resource_type": "license"}), "read"),
        "noSuchType": check(json!({"resource_type": "spaceship"}), "read"),
        "noSuchAction": check(json!({"resource_type": "user"}), "launch"),
        "orgAndAny": check(json!({"resource_type": "organization_member",
            "organization_id": o.org, "any_org": true}), "read"),
    }});
    let answers = |token: &str| {
        s.post("/api/v2/authcheck", token, body.clone())
            .ok(200)
            .clone()
    };
    let owner = answers(&o.token);
    let expect_owner = json!({
        "viewAllUsers": true, "createTemplates": true, "viewDeploymentConfig": true,
        "editDeploymentConfig": true, "viewAnyAuditLog": true, "readWorkspace": true,
        "sshWorkspace": true, "updateTemplate": true, "createWorkspace": true,
        "readMyKeys": true, "license": false, "noSuchType": false, "noSuchAction": false,
        "orgAndAny": false,
    });
    assert_eq!(owner, expect_owner);
    let a = answers(&alice.token);
    assert_eq!(
        a,
        json!({
            "viewAllUsers": false, "createTemplates": false, "viewDeploymentConfig": false,
            "editDeploymentConfig": false, "viewAnyAuditLog": false, "readWorkspace": true,
            "sshWorkspace": true, "updateTemplate": false, "createWorkspace": true,
            "readMyKeys": true, "license": false, "noSuchType": false, "noSuchAction": false,
            "orgAndAny": false,
        })
    );
    // Bob cannot see Alice's workspace: a check on it answers no, it
    // neither fails nor reveals it.
    let b = answers(&bob.token);
    assert_eq!(b["readWorkspace"], false);
    assert_eq!(b["sshWorkspace"], false);
    assert_eq!(b["createWorkspace"], true);
    // Auditors read the deployment's configuration and audit log only.
    let au = answers(&auditor.token);
    assert_eq!(
        (
            &au["viewAllUsers"],
            &au["viewDeploymentConfig"],
            &au["editDeploymentConfig"],
            &au["viewAnyAuditLog"],
            &au["readWorkspace"]
        ),
        (
            &json!(true),
            &json!(true),
            &json!(false),
            &json!(true),
            &json!(false)
        )
    );
    // An object that does not exist answers no.
    let missing = s.post(
        "/api/v2/authcheck",
        &o.token,
        json!({"checks": {"gone": check(json!({"resource_type": "workspace",
            "resource_id": "00000000-0000-0000-0000-000000000001"}), "read")}}),
    );
    assert_eq!(missing.ok(200), &json!({"gone": false}));
    // No checks, no answers.
    assert_eq!(
        s.post("/api/v2/authcheck", &alice.token, json!({})).ok(200),
        &json!({})
    );
}

#[test]
fn authcheck_refuses_bad_checks_and_anonymous_callers() {
    let s = Server::start();
    let o = s.setup();
    s.anon(
        "POST",
        "/api/v2/authcheck",
        Some(json!({"checks": {"k": check(json!({"resource_type": "user"}), "read")}})),
    )
    .assert_error(401, SIGNED_OUT);
    s.post(
        "/api/v2/authcheck",
        &o.token,
        json!({"checks": {"k": check(json!({"resource_type": ""}), "read")}}),
    )
    .assert_error(
        400,
        "Object's \"resource_type\" field must be defined for key \"k\".",
    )
    .assert_field("resource_type");
    s.post(
        "/api/v2/authcheck",
        &o.token,
        json!({"checks": {"k": check(json!({"resource_type": "workspace", "resource_id": "nope"}), "read")}}),
    )
    .assert_error(400, "Object \"nope\" id is not a valid uuid.")
    .assert_field("resource_id");
    s.post(
        "/api/v2/authcheck",
        &o.token,
        json!({"checks": {"k": check(json!({"resource_type": "file",
            "resource_id": "00000000-0000-0000-0000-000000000001"}), "read")}}),
    )
    .assert_error(
        400,
        "Object type \"file\" does not support \"resource_id\" field.",
    )
    .assert_field("resource_type");
    let many: serde_json::Map<String, Value> = (0..11)
        .map(|i| {
            (
                format!("k{i}"),
                check(
                    json!({"resource_type": "user", "resource_id": o.id}),
                    "read",
                ),
            )
        })
        .collect();
    s.post("/api/v2/authcheck", &o.token, json!({"checks": many}))
        .assert_error(
            400,
            "Endpoint only supports using \"resource_id\" field 10 times, found 11 usages. Remove 1 objects with this field set.",
        );
    s.post("/api/v2/authcheck", &o.token, json!({"checks": []}))
        .assert_error(400, "Request body must be valid JSON.");
}
