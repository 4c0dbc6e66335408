//! `/workspaces/{workspace}/port-share`: ports shared beyond their owner,
//! up to the template's maximum level.

use serde_json::{json, Value};

use crate::common::*;

fn share(port: i64, level: &str, protocol: &str) -> Value {
    json!({"agent_name": "main", "port": port, "share_level": level, "protocol": protocol})
}

#[test]
fn port_shares_follow_the_templates_maximum_level() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &[]);
    let carol = s.user(&o, "carol", &[]);
    let t = s.template(&o, "tee");
    let template = t["id"].as_str().unwrap().to_string();
    let w = s.workspace(&alice.token, &template, "dev");
    let id = w["id"].as_str().unwrap().to_string();
    let path = format!("/api/v2/workspaces/{id}/port-share");
    // Nothing shared yet: Coder sends null.
    assert_eq!(s.get(&path, &alice.token).ok(200), &json!({"shares": null}));
    // A template's maximum starts at owner: nothing may be shared.
    assert_eq!(t["max_port_share_level"], "owner");
    s.post(&path, &alice.token, share(8080, "authenticated", "http"))
        .assert_error(
            400,
            "\"authenticated\" sharing level is not allowed under max level \"owner\"",
        )
        .assert_field("share_level");
    let set_max = |level: &str| {
        s.patch(
            &format!("/api/v2/templates/{template}"),
            &o.token,
            json!({"max_port_share_level": level}),
        )
        .ok(200);
    };
    set_max("authenticated");
    s.post(&path, &alice.token, share(8080, "public", "http"))
        .assert_error(
            400,
            "\"public\" sharing level is not allowed under max level \"authenticated\"",
        );
    let r = s.post(&path, &alice.token, share(8080, "organization", "https"));
    assert_eq!(
        r.ok(200),
        &json!({"workspace_id": id, "agent_name": "main", "port": 8080,
                "share_level": "organization", "protocol": "https"})
    );
    // Posting the same port again changes it.
    s.post(&path, &alice.token, share(8080, "authenticated", "http"))
        .ok(200);
    set_max("public");
    s.post(&path, &alice.token, share(3000, "public", "http"))
        .ok(200);
    let listed = s.get(&path, &alice.token).ok(200).clone();
    assert_eq!(
        listed["shares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (
                x["port"].as_i64().unwrap(),
                x["share_level"].as_str().unwrap().to_string()
            ))
            .collect::<Vec<_>>(),
        vec![
            (3000, "public".to_string()),
            (8080, "authenticated".to_string())
        ]
    );
    // Lowering the maximum lowers the shares above it; owner ends them.
    set_max("authenticated");
    let listed = s.get(&path, &alice.token).ok(200).clone();
    assert!(listed["shares"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["share_level"] == "authenticated"));
    set_max("owner");
    assert_eq!(s.get(&path, &alice.token).ok(200), &json!({"shares": null}));
    set_max("public");
    // Bad input, each naming its field, in Coder's order.
    s.post(&path, &alice.token, share(8080, "owner", "http"))
        .assert_error(400, "Port sharing level not allowed.")
        .assert_field("share_level");
    s.post(&path, &alice.token, share(8, "public", "http"))
        .assert_error(400, "Port must be between 9 and 65535.")
        .assert_field("port");
    s.post(&path, &alice.token, share(8080, "public", "ftp"))
        .assert_error(400, "Port protocol not allowed.")
        .assert_field("protocol");
    s.post(
        &path,
        &alice.token,
        json!({"agent_name": "nope", "port": 8080, "share_level": "public", "protocol": "http"}),
    )
    .assert_error(400, "Agent not found.")
    .assert_field("agent_name");
    // Deleting: 200 with nothing, then not found.
    s.post(&path, &alice.token, share(9000, "public", "http"))
        .ok(200);
    let d = s.request(
        "DELETE",
        &path,
        Some(&alice.token),
        &[],
        Some(&json!({"agent_name": "main", "port": 9000}).to_string()),
    );
    assert_eq!((d.status, d.text.as_str()), (200, ""));
    s.request(
        "DELETE",
        &path,
        Some(&alice.token),
        &[],
        Some(&json!({"agent_name": "main", "port": 9000}).to_string()),
    )
    .assert_error(404, "Port share not found.");
    // Who may read and change shares: Carol uses the workspace, Bob is
    // nobody to it.
    s.patch(
        &format!("/api/v2/workspaces/{id}/acl"),
        &alice.token,
        json!({"user_roles": {carol.id.clone(): "use"}}),
    )
    .ok(204);
    s.get(&path, &carol.token).ok(200);
    s.post(&path, &carol.token, share(8080, "public", "http"))
        .assert_error(404, NOT_FOUND);
    s.get(&path, &bob.token).assert_error(404, NOT_FOUND);
    s.post(&path, &bob.token, share(8080, "public", "http"))
        .assert_error(404, NOT_FOUND);
    s.post(&path, &o.token, share(8080, "public", "http"))
        .ok(200);
    s.anon("GET", &path, None).assert_error(401, SIGNED_OUT);
    s.anon("POST", &path, Some(share(8080, "public", "http")))
        .assert_error(401, SIGNED_OUT);
    let missing = "/api/v2/workspaces/00000000-0000-0000-0000-000000000001/port-share";
    s.get(missing, &o.token).assert_error(404, NOT_FOUND);
    s.post(missing, &o.token, share(8080, "public", "http"))
        .assert_error(404, NOT_FOUND);
    let delete = |path: &str, token: Option<&str>| {
        s.request(
            "DELETE",
            path,
            token,
            &[],
            Some(&json!({"agent_name": "main", "port": 8080}).to_string()),
        )
    };
    delete(missing, Some(&o.token)).assert_error(404, NOT_FOUND);
    delete(&path, Some(&bob.token)).assert_error(404, NOT_FOUND);
    delete(&path, None).assert_error(401, SIGNED_OUT);
    s.post(&path, &alice.token, json!({"port": "8080"}))
        .assert_error(400, "Request body must be valid JSON.");
}
