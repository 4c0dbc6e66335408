//! Facts about the deployment that Coder's clients read: SSH config,
//! regions, update check, experiments, appearance, entitlements.

use serde_json::json;

use crate::common::*;

#[test]
fn deployment_facts_need_no_network() {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    assert_eq!(
        s.get("/api/v2/deployment/ssh", &alice.token).ok(200),
        &json!({"hostname_prefix": "coder.", "hostname_suffix": "coder", "ssh_config_options": {}})
    );
    let regions = s.get("/api/v2/regions", &alice.token).ok(200).clone();
    let info = s.get("/api/v2/buildinfo", &alice.token).ok(200).clone();
    assert_eq!(
        regions,
        json!({"regions": [{"id": info["deployment_id"], "name": "primary",
            "display_name": "Default", "icon_url": "/emojis/1f3e1.png", "healthy": true,
            "path_app_url": info["dashboard_url"], "wildcard_hostname": ""}]})
    );
    // The update check is open to all and never asks anyone.
    let u = s.anon("GET", "/api/v2/updatecheck", None);
    assert_eq!(
        u.ok(200),
        &json!({"current": true, "version": info["version"], "url": info["external_url"]})
    );
    assert_eq!(
        s.get("/api/v2/experiments", &alice.token).ok(200),
        &json!([])
    );
    assert_eq!(
        s.get("/api/v2/experiments/available", &alice.token).ok(200),
        &json!({"safe": []})
    );
    let e = s.get("/api/v2/entitlements", &alice.token).ok(200).clone();
    assert_keys(
        &e,
        &[
            "features",
            "warnings",
            "errors",
            "has_license",
            "trial",
            "require_telemetry",
            "refreshed_at",
        ],
    );
    assert_eq!(
        e["features"]["advanced_template_scheduling"],
        json!({"entitlement": "entitled", "enabled": true})
    );
    assert_eq!(
        e["features"]["audit_log"],
        json!({"entitlement": "not_entitled", "enabled": false})
    );
    assert_eq!(e["has_license"], false);
    assert_time(&e["refreshed_at"]);
    for path in [
        "/api/v2/deployment/ssh",
        "/api/v2/regions",
        "/api/v2/experiments",
        "/api/v2/experiments/available",
        "/api/v2/entitlements",
    ] {
        s.anon("GET", path, None).assert_error(401, SIGNED_OUT);
    }
    // No such deployment fact.
    s.get("/api/v2/deployment/nothing", &alice.token)
        .assert_error(404, "Route not found.");
}

#[test]
fn owners_set_the_appearance_everyone_sees() {
    let mut s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let auditor = s.user(&o, "audrey", &["auditor"]);
    let plain = s.anon("GET", "/api/v2/appearance", None).ok(200).clone();
    let docs = plain["docs_url"].as_str().unwrap().to_string();
    assert!(docs.starts_with("https://coder.com/docs/@v2."));
    assert_eq!(
        plain,
        json!({"application_name": "", "logo_url": "", "docs_url": docs,
               "service_banner": {"enabled": false}, "announcement_banners": [],
               "support_links": [{"name": "Documentation", "target": docs, "icon": "docs"}]})
    );
    let update = json!({"application_name": "Warren", "logo_url": "/logo.png",
    "announcement_banners": [
        {"enabled": true, "message": "Maintenance at noon", "background_color": "#004852"},
        {"enabled": false, "message": "Old news", "background_color": "#aabbcc"},
    ]});
    let r = s.put("/api/v2/appearance", &o.token, update.clone());
    let echoed = r.ok(200).clone();
    assert_eq!(echoed["application_name"], "Warren");
    assert_eq!(
        echoed["announcement_banners"],
        update["announcement_banners"]
    );
    let seen = |s: &Server| s.anon("GET", "/api/v2/appearance", None).ok(200).clone();
    let a = seen(&s);
    assert_eq!(a["application_name"], "Warren");
    assert_eq!(a["logo_url"], "/logo.png");
    assert_eq!(a["announcement_banners"], update["announcement_banners"]);
    // The deprecated single banner is the first.
    assert_eq!(a["service_banner"], update["announcement_banners"][0]);
    // Stored: it survives a restart.
    s.restart();
    assert_eq!(seen(&s)["application_name"], "Warren");
    let o_token = o.token.clone();
    // Others may not change it; nobody may without signing in.
    s.put("/api/v2/appearance", &alice.token, update.clone())
        .assert_error(403, "Insufficient permissions to update appearance");
    s.put("/api/v2/appearance", &auditor.token, update.clone())
        .assert_error(403, "Insufficient permissions to update appearance");
    s.anon("PUT", "/api/v2/appearance", Some(update))
        .assert_error(401, SIGNED_OUT);
    // Colours are checked as Coder checks them.
    s.put(
        "/api/v2/appearance",
        &o_token,
        json!({"announcement_banners": [{"enabled": true, "message": "x", "background_color": "red"}]}),
    )
    .assert_error(400, "Invalid color format: \"red\"")
    .assert_detail("expected # prefix and 6 characters")
    .assert_field("announcement_banners[0].background_color");
    s.put(
        "/api/v2/appearance",
        &o_token,
        json!({"announcement_banners": {}}),
    )
    .assert_error(400, "Request body must be valid JSON.");
    // Clearing it.
    s.put("/api/v2/appearance", &o_token, json!({})).ok(200);
    assert_eq!(seen(&s)["announcement_banners"], json!([]));
}
