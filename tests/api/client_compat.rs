//! What clients nobody here wrote found (issue 9): Coder's own dashboard
//! client, Coder's published schemas, a third-party Python client, and the
//! seed pages' older request forms, each driven over HTTP.

use serde_json::{json, Value};

use crate::common::*;

// ------------------------------------------------- 1. the seed's old form

/// `POST …/workspaces` as the seed's `002_…` page documents it, verbatim
/// but for the template id.
fn seed_create_body(template_id: &str) -> Value {
    json!({
        "autostart_schedule": "string",
        "name": "string",
        "parameter_values": [
            {
                "copy_from_parameter": "000e07d6-021d-446c-be14-48a9c20bca0b",
                "destination_scheme": "none",
                "name": "string",
                "source_scheme": "none",
                "source_value": "string"
            }
        ],
        "rich_parameter_values": [{"name": "string", "value": "string"}],
        "template_id": template_id,
        "ttl_ms": 0
    })
}

fn old_parameter(name: &str, value: &str) -> Value {
    json!({
        "copy_from_parameter": "000e07d6-021d-446c-be14-48a9c20bca0b",
        "destination_scheme": "none",
        "name": name,
        "source_scheme": "data",
        "source_value": value
    })
}

#[test]
fn seed_old_create_form_is_accepted_on_both_routes() {
    let s = Server::start();
    let o = s.setup();
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap();
    let routes = [
        "/api/v2/users/me/workspaces".to_string(),
        format!("/api/v2/organizations/{}/members/me/workspaces", o.org),
    ];
    for (i, route) in routes.iter().enumerate() {
        // Verbatim, the body decodes; its placeholder "string" is then
        // refused as a schedule, exactly as Coder refuses it.
        s.post(route, &o.token, seed_create_body(tid))
            .assert_error(400, "Invalid Autostart Schedule.")
            .assert_field("schedule");
        // The same form with the template's parameters and a real schedule
        // creates the workspace; a name given in both lists takes the rich
        // value.
        let mut body = seed_create_body(tid);
        body["name"] = json!(format!("seeded{i}"));
        body["autostart_schedule"] = json!("CRON_TZ=UTC 30 9 * * 1-5");
        body["parameter_values"] =
            json!([old_parameter("image", "debian"), old_parameter("cpu", "3")]);
        body["rich_parameter_values"] = json!([{"name": "cpu", "value": "4"}]);
        let r = s.post(route, &o.token, body);
        let bid = r.ok(201)["latest_build"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let params = s.get(
            &format!("/api/v2/workspacebuilds/{bid}/parameters"),
            &o.token,
        );
        let value = |name: &str| {
            params
                .ok(200)
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .map(|p| p["value"].clone())
        };
        assert_eq!(value("image"), Some(json!("debian")), "{}", params.text);
        assert_eq!(value("cpu"), Some(json!("4")), "{}", params.text);
    }
}
