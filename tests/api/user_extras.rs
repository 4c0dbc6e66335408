//! A user's own settings: password validation, login type, appearance and
//! autofill of parameter values.

use serde_json::json;

use crate::common::*;

#[test]
fn validate_password_applies_the_account_rule_to_anyone() {
    let s = Server::start();
    // Before any user exists, as the setup page asks.
    let r = s.anon(
        "POST",
        "/api/v2/users/validate-password",
        Some(json!({"password": PASSWORD})),
    );
    assert_eq!(r.ok(200), &json!({"valid": true, "details": ""}));
    let weak = s.anon(
        "POST",
        "/api/v2/users/validate-password",
        Some(json!({"password": "password"})),
    );
    assert_eq!(weak.ok(200)["valid"], false);
    assert!(weak.body["details"]
        .as_str()
        .unwrap()
        .starts_with("insecure password"));
    let short = s.anon(
        "POST",
        "/api/v2/users/validate-password",
        Some(json!({"password": "aB1!"})),
    );
    assert_eq!(
        short.ok(200)["details"],
        "password must be at least 6 characters"
    );
    // The same rule refuses the password when an account is made.
    let o = s.setup();
    s.post(
        "/api/v2/users",
        &o.token,
        json!({"email": "w@example.com", "username": "weak", "password": "password",
               "organization_ids": [o.org]}),
    )
    .assert_error(400, "Password is invalid")
    .assert_field("password");
    let r = s.anon(
        "POST",
        "/api/v2/users/validate-password",
        Some(json!({"password": 7})),
    );
    r.assert_error(400, "Request body must be valid JSON.");
    assert!(
        r.body["detail"].as_str().unwrap().starts_with("password: "),
        "{}",
        r.text
    );
}

#[test]
fn login_type_is_personal() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let admin = s.user(&o, "uadmin", &["user-admin"]);
    let path = format!("/api/v2/users/{}/login-type", alice.id);
    assert_eq!(
        s.get(&path, &alice.token).ok(200),
        &json!({"login_type": "password"})
    );
    assert_eq!(
        s.get("/api/v2/users/me/login-type", &o.token).ok(200)["login_type"],
        "password"
    );
    s.get(&path, &o.token).ok(200);
    // A user admin sees Alice but not what is personal to her.
    s.get(&path, &admin.token).assert_error(404, NOT_FOUND);
    s.anon("GET", &path, None).assert_error(401, SIGNED_OUT);
    s.get("/api/v2/users/nobody/login-type", &o.token)
        .assert_error(400, "\"user\" must be an existing uuid or username.");
}

#[test]
fn appearance_is_stored_per_user() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &[]);
    let auditor = s.user(&o, "audrey", &["auditor"]);
    let path = format!("/api/v2/users/{}/appearance", alice.id);
    assert_eq!(
        s.get(&path, &alice.token).ok(200),
        &json!({"theme_preference": "", "terminal_font": ""})
    );
    let r = s.put(
        "/api/v2/users/me/appearance",
        &alice.token,
        json!({"theme_preference": "light", "terminal_font": "jetbrains-mono"}),
    );
    let want = json!({"theme_preference": "light", "terminal_font": "jetbrains-mono"});
    assert_eq!(r.ok(200), &want);
    assert_eq!(s.get(&path, &alice.token).ok(200), &want);
    // The theme is the user's own field too, and survives a restart.
    assert_eq!(
        s.get("/api/v2/users/me", &alice.token).ok(200)["theme_preference"],
        "light"
    );
    // Bad input, each naming its field.
    s.put(
        &path,
        &alice.token,
        json!({"theme_preference": "", "terminal_font": ""}),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("theme_preference");
    s.put(
        &path,
        &alice.token,
        json!({"theme_preference": "dark", "terminal_font": "comic-sans"}),
    )
    .assert_error(400, "Unsupported font family.")
    .assert_field("terminal_font");
    // Owners may change it; others who see Alice may not; the rest do not
    // see her.
    s.put(
        &path,
        &o.token,
        json!({"theme_preference": "dark", "terminal_font": ""}),
    )
    .ok(200);
    s.get(&path, &auditor.token).assert_error(403, "Forbidden.");
    s.put(
        &path,
        &auditor.token,
        json!({"theme_preference": "dark", "terminal_font": ""}),
    )
    .assert_error(403, "Forbidden.");
    s.get(&path, &bob.token).assert_error(404, NOT_FOUND);
    s.anon("GET", &path, None).assert_error(401, SIGNED_OUT);
    s.get("/api/v2/users/nobody/appearance", &o.token)
        .assert_error(400, "\"user\" must be an existing uuid or username.");
}

#[test]
fn autofill_offers_the_latest_values_of_the_active_version() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &[]);
    let t = s.template(&o, "tee");
    let template = t["id"].as_str().unwrap().to_string();
    let params = s.get(
        &format!(
            "/api/v2/templateversions/{}/rich-parameters",
            t["active_version_id"].as_str().unwrap()
        ),
        &o.token,
    );
    let params = params.ok(200).as_array().unwrap().clone();
    let mutable = params
        .iter()
        .find(|p| p["mutable"] == true && p["ephemeral"] == false && p["type"] == "string")
        .expect("the fixture has a mutable string parameter");
    let name = mutable["name"].as_str().unwrap().to_string();
    let path = format!("/api/v2/users/me/autofill-parameters?template_id={template}");
    assert_eq!(s.get(&path, &alice.token).ok(200), &json!([]));
    let w = s.workspace(&alice.token, &template, "dev");
    let id = w["id"].as_str().unwrap().to_string();
    let first = s.get(&path, &alice.token).ok(200).clone();
    assert!(
        first
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == name.as_str()),
        "{first}"
    );
    // Ephemeral parameters are not remembered.
    assert!(!first
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "dotfiles"));
    // A later build's value is the one offered.
    let value = mutable["options"]
        .as_array()
        .and_then(|o| o.last())
        .map(|o| o["value"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "changed".into());
    s.post(
        &format!("/api/v2/workspaces/{id}/builds"),
        &alice.token,
        json!({"transition": "start", "rich_parameter_values": [{"name": name, "value": value}]}),
    )
    .ok(201);
    s.wait_build(&alice.token, &id);
    let later = s.get(&path, &alice.token).ok(200).clone();
    let got = later
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name.as_str())
        .unwrap();
    assert_eq!(got["value"], value.as_str());
    // Only the user's own builds, and only who may read what is personal.
    assert_eq!(
        s.get(
            &format!(
                "/api/v2/users/{}/autofill-parameters?template_id={template}",
                bob.id
            ),
            &bob.token
        )
        .ok(200),
        &json!([])
    );
    s.get(
        &format!(
            "/api/v2/users/{}/autofill-parameters?template_id={template}",
            alice.id
        ),
        &o.token,
    )
    .ok(200);
    s.get(
        &format!(
            "/api/v2/users/{}/autofill-parameters?template_id={template}",
            alice.id
        ),
        &bob.token,
    )
    .assert_error(404, NOT_FOUND);
    // A template nobody built: nothing to offer.
    assert_eq!(
        s.get(
            "/api/v2/users/me/autofill-parameters?template_id=00000000-0000-0000-0000-000000000001",
            &alice.token
        )
        .ok(200),
        &json!([])
    );
    s.get("/api/v2/users/me/autofill-parameters", &alice.token)
        .assert_error(400, "Invalid query parameters.")
        .assert_field("template_id");
    s.get(
        "/api/v2/users/me/autofill-parameters?template_id=nope",
        &alice.token,
    )
    .assert_error(400, "Invalid query parameters.")
    .assert_field("template_id");
    s.get(
        &format!("/api/v2/users/me/autofill-parameters?template_id={template}&color=red"),
        &alice.token,
    )
    .assert_error(400, "Invalid query parameters.")
    .assert_field("color");
    s.anon("GET", &path, None).assert_error(401, SIGNED_OUT);
}
