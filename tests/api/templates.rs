//! Files, template versions (import of real Terraform), templates.

use serde_json::json;

use crate::common::*;
use crate::snapshot;

#[test]
fn files_upload_dedup_download() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let tar = fixture_tar("docker");
    let r = s.upload(&o.token, "application/x-tar", &tar);
    let id = r.ok(201)["hash"].as_str().unwrap().to_string();
    assert_keys(&r.body, &["hash"]);
    snapshot::assert_body("POST", "/api/v2/files", &r.body);
    // Same bytes, same uploader: same id, 200.
    let again = s.upload(&o.token, "application/x-tar", &tar);
    assert_eq!(again.ok(200)["hash"], id.as_str());
    let r = s.get(&format!("/api/v2/files/{id}"), &o.token);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-tar"));
    assert_eq!(r.text.len(), tar.len());
    // As zip, and back: a zip upload is stored as tar.
    let z = s.get(&format!("/api/v2/files/{id}?format=zip"), &o.token);
    assert_eq!(z.header("content-type"), Some("application/zip"));
    s.get(&format!("/api/v2/files/{id}?format=rar"), &o.token)
        .assert_error(400, "Unsupported conversion format.");
    s.get("/api/v2/files/nope", &o.token)
        .assert_error(400, "File id must be a valid UUID.");
    s.get(
        "/api/v2/files/7c60d51f-b44e-4682-87d6-449835ea4de6",
        &o.token,
    )
    .assert_error(404, NOT_FOUND);
    // Other members cannot read someone's upload.
    s.get(&format!("/api/v2/files/{id}"), &a.token)
        .assert_error(404, NOT_FOUND);
    s.upload(&o.token, "text/plain", b"hi")
        .assert_error(400, "Unsupported content type header \"text/plain\".");
    s.upload(&o.token, "application/zip", b"not a zip")
        .assert_error(400, "Incomplete .zip archive file.");
    s.anon("GET", &format!("/api/v2/files/{id}"), None)
        .assert_error(401, SIGNED_OUT);
}

#[test]
fn zip_uploads_become_tar() {
    let s = Server::start();
    let o = s.setup();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("main.tf", zip::write::SimpleFileOptions::default())
        .unwrap();
    use std::io::Write;
    zip.write_all(b"resource \"null_resource\" \"x\" {}\n")
        .unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let r = s.upload(&o.token, "application/zip", &bytes);
    let id = r.ok(201)["hash"].as_str().unwrap().to_string();
    let f = s.get(&format!("/api/v2/files/{id}"), &o.token);
    assert_eq!(f.header("content-type"), Some("application/x-tar"));
    let mut archive = tar::Archive::new(f.text.as_bytes());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["main.tf"]);
    let too_big = Server::start_with(|c| c.max_file_bytes = 16);
    let o2 = too_big.setup();
    too_big
        .upload(&o2.token, "application/x-tar", &fixture_tar("docker"))
        .assert_error(413, "Request body is too large.");
}

#[test]
fn docker_template_imports_field_by_field() {
    let s = Server::start();
    let o = s.setup();
    let v = s.import(&o, "docker", None);
    assert_eq!(v["job"]["status"], "succeeded", "{v}");
    assert_eq!(v["job"]["type"], "template_version_import");
    assert_time(&v["job"]["started_at"]);
    assert_time(&v["job"]["completed_at"]);
    assert_eq!(v["template_id"], "00000000-0000-0000-0000-000000000000");
    assert!(v["readme"].as_str().unwrap().contains("Docker workspace"));
    assert_eq!(v["created_by"]["username"], "admin");
    let id = v["id"].as_str().unwrap();
    // Rich parameters, in order.
    let r = s.get(
        &format!("/api/v2/templateversions/{id}/rich-parameters"),
        &o.token,
    );
    let params = r.ok(200).as_array().unwrap().clone();
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["image", "cpu", "region", "dotfiles"]);
    let image = &params[0];
    assert_eq!(image["display_name"], "Container image");
    assert_eq!(
        image["description"],
        "Which **image** should the workspace use?"
    );
    assert_eq!(
        image["description_plaintext"],
        "Which image should the workspace use?"
    );
    assert_eq!(image["type"], "string");
    assert_eq!(image["default_value"], "ubuntu");
    assert_eq!(image["mutable"], true);
    assert_eq!(image["icon"], "/icon/docker.png");
    assert_eq!(image["required"], false);
    assert_eq!(image["ephemeral"], false);
    assert_eq!(
        image["options"],
        json!([
            {"name": "Ubuntu", "description": "Ubuntu 22.04", "value": "ubuntu", "icon": "/icon/ubuntu.svg"},
            {"name": "Debian", "description": "", "value": "debian", "icon": "/icon/debian.svg"}
        ])
    );
    let cpu = &params[1];
    assert_eq!(cpu["type"], "number");
    assert_eq!(cpu["default_value"], "2");
    assert_eq!(cpu["validation_min"], 1);
    assert_eq!(cpu["validation_max"], 8);
    assert_eq!(cpu["validation_monotonic"], "increasing");
    assert_eq!(
        cpu["validation_error"],
        "CPU must be between {min} and {max}, got {value}"
    );
    let region = &params[2];
    assert_eq!(region["mutable"], false);
    assert_eq!(region["validation_regex"], "^[a-z]+$");
    assert!(region.get("validation_min").is_none());
    assert_eq!(params[3]["ephemeral"], true);
    // Presets.
    let r = s.get(&format!("/api/v2/templateversions/{id}/presets"), &o.token);
    let presets = r.ok(200).as_array().unwrap().clone();
    assert_eq!(presets.len(), 1);
    assert_eq!(presets[0]["Name"], "Big machine");
    assert_eq!(presets[0]["Description"], "Eight cores on Debian");
    let mut pv: Vec<(String, String)> = presets[0]["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["Name"].as_str().unwrap().into(),
                p["Value"].as_str().unwrap().into(),
            )
        })
        .collect();
    pv.sort();
    assert_eq!(
        pv,
        vec![
            ("cpu".into(), "8".into()),
            ("image".into(), "debian".into()),
            ("region".into(), "eu".into())
        ]
    );
    // Resources: both transitions, sorted by name.
    let r = s.get(
        &format!("/api/v2/templateversions/{id}/resources"),
        &o.token,
    );
    let res = r.ok(200).as_array().unwrap().clone();
    let rs: Vec<(String, String, String)> = res
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().into(),
                r["name"].as_str().unwrap().into(),
                r["workspace_transition"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        rs,
        vec![
            ("docker_volume".into(), "home_volume".into(), "start".into()),
            ("docker_volume".into(), "home_volume".into(), "stop".into()),
            (
                "docker_container".into(),
                "workspace".into(),
                "start".into()
            ),
        ]
    );
    let container = &res[2];
    assert_eq!(container["icon"], "/icon/docker.png");
    assert_eq!(container["daily_cost"], 10);
    assert_eq!(
        container["metadata"],
        json!([{"key": "image", "value": "codercom/enterprise-base:ubuntu", "sensitive": false},
               {"key": "secret", "value": "", "sensitive": true}])
    );
    let agent = &container["agents"][0];
    assert_eq!(agent["name"], "main");
    assert_eq!(agent["operating_system"], "linux");
    assert_eq!(agent["directory"], "/home/coder");
    assert_eq!(
        agent["environment_variables"],
        json!({"EDITOR": "vim", "GIT_AUTHOR_NAME": "coder"})
    );
    assert_eq!(agent["connection_timeout_seconds"], 120);
    assert_eq!(
        agent["display_apps"],
        json!([
            "vscode",
            "web_terminal",
            "ssh_helper",
            "port_forwarding_helper"
        ])
    );
    let apps = agent["apps"].as_array().unwrap();
    let slugs: Vec<&str> = apps.iter().map(|a| a["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, vec!["code-server", "docs"]);
    assert_eq!(
        apps[0]["healthcheck"],
        json!({"url": "http://localhost:13337/healthz", "interval": 5, "threshold": 6})
    );
    assert_eq!(apps[0]["url"], "http://localhost:13337/?folder=/home/coder");
    assert_eq!(apps[1]["external"], true);
    let scripts: Vec<&str> = agent["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(scripts, vec!["Startup Script", "Dotfiles"]);
    assert_eq!(agent["scripts"][0]["script"], "set -e\necho \"starting\"\n");
    // Variables and logs.
    let vars = s.get(
        &format!("/api/v2/templateversions/{id}/variables"),
        &o.token,
    );
    let names: Vec<&str> = vars
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["docker_socket", "image_registry"]);
    let logs = s.get(&format!("/api/v2/templateversions/{id}/logs"), &o.token);
    let logs = logs.ok(200).as_array().unwrap().clone();
    assert!(logs.len() >= 5);
    assert_keys(
        &logs[0],
        &[
            "id",
            "created_at",
            "log_source",
            "log_level",
            "stage",
            "output",
        ],
    );
    assert!(logs
        .windows(2)
        .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()));
    let after = logs[1]["id"].as_i64().unwrap();
    let later = s.get(
        &format!("/api/v2/templateversions/{id}/logs?after={after}"),
        &o.token,
    );
    assert_eq!(later.ok(200).as_array().unwrap().len(), logs.len() - 2);
    s.get(
        &format!("/api/v2/templateversions/{id}/logs?after=x"),
        &o.token,
    )
    .assert_error(400, "Query param \"after\" must be an integer.");
}

#[test]
fn syntax_errors_fail_the_import_with_file_and_line() {
    let s = Server::start();
    let o = s.setup();
    let v = s.import(&o, "broken", None);
    assert_eq!(v["job"]["status"], "failed", "{v}");
    let err = v["job"]["error"].as_str().unwrap();
    assert!(err.starts_with("broken.tf:6,"), "{err}");
    let id = v["id"].as_str().unwrap();
    s.get(
        &format!("/api/v2/templateversions/{id}/resources"),
        &o.token,
    )
    .ok(200);
    // The server keeps working: a good import right after succeeds.
    let good = s.import(&o, "docker", None);
    assert_eq!(good["job"]["status"], "succeeded");
    // A failed version cannot back a workspace.
    let t = s.post(
        &format!("/api/v2/organizations/{}/templates", o.org),
        &o.token,
        json!({"name": "broken", "template_version_id": id}),
    );
    let t = t.ok(201)["id"].as_str().unwrap().to_string();
    s.post("/api/v2/users/me/workspaces", &o.token, json!({"template_id": t, "name": "w"}))
        .assert_error(400, &format!(
            "The provided template version {:?} has failed to import: {:?}. You cannot build workspaces with it!",
            v["name"].as_str().unwrap(),
            err
        ));
}

#[test]
fn template_version_errors() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let path = format!("/api/v2/organizations/{}/templateversions", o.org);
    let r = s.post(&path, &o.token, json!({}));
    r.assert_error(400, "Validation failed.")
        .assert_field("storage_method")
        .assert_field("provisioner")
        .assert_field("file_id");
    let file = s.upload(&o.token, "application/x-tar", &fixture_tar("docker"));
    let file_id = file.body["hash"].as_str().unwrap().to_string();
    let base = json!({"storage_method": "file", "provisioner": "terraform", "file_id": file_id});
    let mut both = base.clone();
    both["example_id"] = json!("docker");
    s.post(&path, &o.token, both)
        .assert_error(400, "You cannot specify both an example_id and a file_id.");
    let mut unknown = base.clone();
    unknown["file_id"] = json!("7c60d51f-b44e-4682-87d6-449835ea4de6");
    s.post(&path, &o.token, unknown)
        .assert_error(404, "File not found.");
    let mut no_template = base.clone();
    no_template["template_id"] = json!("7c60d51f-b44e-4682-87d6-449835ea4de6");
    s.post(&path, &o.token, no_template)
        .assert_error(404, "Template does not exist.");
    s.post(&path, &a.token, base.clone())
        .assert_error(403, "Forbidden.");
    s.anon("POST", &path, Some(base.clone()))
        .assert_error(401, SIGNED_OUT);
    s.get(
        "/api/v2/templateversions/7c60d51f-b44e-4682-87d6-449835ea4de6",
        &o.token,
    )
    .assert_error(404, NOT_FOUND);
    s.get("/api/v2/templateversions/bad", &o.token)
        .assert_error(400, "Invalid UUID \"bad\".");
    // Versions of a template: names unique, patch, active version.
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap().to_string();
    let v2 = s.import(&o, "docker", Some(&tid));
    let v2id = v2["id"].as_str().unwrap().to_string();
    let r = s.patch(
        &format!("/api/v2/templateversions/{v2id}"),
        &o.token,
        json!({"name": "v2", "message": "second"}),
    );
    assert_eq!(r.ok(200)["name"], "v2");
    assert_eq!(r.body["message"], "second");
    let mut dup = base.clone();
    dup["template_id"] = json!(tid);
    dup["name"] = json!("v2");
    s.post(&path, &o.token, dup)
        .assert_error(
            409,
            "A template version with name \"v2\" already exists for this template.",
        )
        .assert_field("name");
    let list = s.get(&format!("/api/v2/templates/{tid}/versions"), &o.token);
    assert_eq!(list.ok(200).as_array().unwrap().len(), 2);
    let by_name = s.get(&format!("/api/v2/templates/{tid}/versions/v2"), &o.token);
    assert_eq!(by_name.ok(200)["id"], v2id.as_str());
    s.get(&format!("/api/v2/templates/{tid}/versions/nope"), &o.token)
        .assert_error(404, "No template version found by name \"nope\".");
    let r = s.patch(
        &format!("/api/v2/templates/{tid}/versions"),
        &o.token,
        json!({"id": v2id}),
    );
    assert_eq!(r.ok(200)["message"], "Updated the active template version!");
    assert_eq!(
        s.get(&format!("/api/v2/templates/{tid}"), &o.token).ok(200)["active_version_id"],
        v2id.as_str()
    );
    let other = s.import(&o, "docker", None);
    s.patch(
        &format!("/api/v2/templates/{tid}/versions"),
        &o.token,
        json!({"id": other["id"]}),
    )
    .assert_error(
        400,
        "The provided template version doesn't belong to the specified template.",
    );
    s.patch(
        &format!("/api/v2/templates/{tid}/versions"),
        &o.token,
        json!({}),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("id");
    s.patch(
        &format!("/api/v2/templates/{tid}/versions"),
        &a.token,
        json!({"id": v2id}),
    )
    .assert_error(403, "Forbidden.");
}

#[test]
fn templates_crud_and_settings() {
    let s = Server::start();
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let t = s.template(&o, "docker");
    assert_eq!(t["name"], "docker");
    assert_eq!(t["provisioner"], "terraform");
    assert_eq!(t["organization_name"], "coder");
    assert_eq!(t["created_by_name"], "admin");
    assert_eq!(t["activity_bump_ms"], 3_600_000);
    assert_eq!(t["allow_user_autostart"], true);
    assert_eq!(t["allow_user_cancel_workspace_jobs"], false);
    assert_eq!(
        t["autostop_requirement"],
        json!({"days_of_week": [], "weeks": 1})
    );
    assert_eq!(
        t["autostart_requirement"]["days_of_week"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(
        t["build_time_stats"]["start"],
        json!({"P50": null, "P95": null})
    );
    assert_eq!(t["max_port_share_level"], "owner");
    let tid = t["id"].as_str().unwrap().to_string();
    // Members see it through the Everyone group.
    s.get(&format!("/api/v2/templates/{tid}"), &a.token).ok(200);
    assert_eq!(
        s.get("/api/v2/templates", &a.token)
            .ok(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.get("/api/v2/organizations/default/templates/docker", &a.token)
            .ok(200)["id"],
        tid.as_str()
    );
    s.get("/api/v2/organizations/default/templates/nope", &a.token)
        .assert_error(404, NOT_FOUND);
    assert_eq!(
        s.get("/api/v2/templates?q=exact_name:docker", &o.token)
            .ok(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.get("/api/v2/templates?q=name:dock", &o.token)
            .ok(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.get("/api/v2/templates?q=deprecated:true", &o.token)
            .ok(200)
            .as_array()
            .unwrap()
            .len(),
        0
    );
    s.get("/api/v2/templates?q=color:red", &o.token)
        .assert_error(400, "Invalid template search query.")
        .assert_field("color");
    // Create errors.
    let v = s.import(&o, "docker", None);
    let create = format!("/api/v2/organizations/{}/templates", o.org);
    s.post(
        &create,
        &o.token,
        json!({"name": "docker", "template_version_id": v["id"]}),
    )
    .assert_error(409, "Template with name \"docker\" already exists.")
    .assert_field("name");
    s.post(
        &create,
        &o.token,
        json!({"name": "x", "template_version_id": "7c60d51f-b44e-4682-87d6-449835ea4de6"}),
    )
    .assert_error(
        404,
        "Template version \"7c60d51f-b44e-4682-87d6-449835ea4de6\" does not exist.",
    );
    s.post(
        &create,
        &o.token,
        json!({"name": "x", "template_version_id": t["active_version_id"]}),
    )
    .assert_error(
        400,
        &format!(
            "Template version {} is already part of a template",
            t["active_version_id"].as_str().unwrap()
        ),
    );
    s.post(
        &create,
        &o.token,
        json!({"name": "x", "template_version_id": v["id"], "default_ttl_ms": -1}),
    )
    .assert_error(400, "Invalid create template request.")
    .assert_field("default_ttl_ms");
    s.post(
        &create,
        &o.token,
        json!({"name": "bad name", "template_version_id": v["id"]}),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("name");
    s.post(
        &create,
        &a.token,
        json!({"name": "mine", "template_version_id": v["id"]}),
    )
    .assert_error(403, "Forbidden.");
    // Patch: every setting the Workspaces API depends on.
    let r = s.patch(
        &format!("/api/v2/templates/{tid}"),
        &o.token,
        json!({
            "default_ttl_ms": 3_600_000, "activity_bump_ms": 600_000,
            "autostart_requirement": {"days_of_week": ["monday", "friday"]},
            "autostop_requirement": {"days_of_week": ["sunday"], "weeks": 2},
            "allow_user_autostart": false, "allow_user_autostop": false,
            "allow_user_cancel_workspace_jobs": true, "failure_ttl_ms": 120_000,
            "time_til_dormant_ms": 86_400_000, "time_til_dormant_autodelete_ms": 172_800_000,
            "require_active_version": true, "deprecation_message": "use v2",
            "use_classic_parameter_flow": true, "display_name": "Docker"
        }),
    );
    let p = r.ok(200).clone();
    assert_eq!(p["default_ttl_ms"], 3_600_000);
    assert_eq!(p["activity_bump_ms"], 600_000);
    assert_eq!(
        p["autostart_requirement"]["days_of_week"],
        json!(["monday", "friday"])
    );
    assert_eq!(
        p["autostop_requirement"],
        json!({"days_of_week": ["sunday"], "weeks": 2})
    );
    assert_eq!(p["allow_user_autostart"], false);
    assert_eq!(p["allow_user_autostop"], false);
    assert_eq!(p["allow_user_cancel_workspace_jobs"], true);
    assert_eq!(p["failure_ttl_ms"], 120_000);
    assert_eq!(p["time_til_dormant_ms"], 86_400_000);
    assert_eq!(p["time_til_dormant_autodelete_ms"], 172_800_000);
    assert_eq!(p["require_active_version"], true);
    assert_eq!(p["deprecated"], true);
    assert_eq!(p["deprecation_message"], "use v2");
    assert_eq!(p["use_classic_parameter_flow"], true);
    assert_eq!(p["display_name"], "Docker");
    // Nothing changed: 304.
    let same = s.patch(
        &format!("/api/v2/templates/{tid}"),
        &o.token,
        json!({"default_ttl_ms": 3_600_000}),
    );
    assert_eq!(same.status, 304);
    s.patch(
        &format!("/api/v2/templates/{tid}"),
        &o.token,
        json!({"failure_ttl_ms": 10}),
    )
    .assert_error(400, "Invalid request to update template metadata!")
    .assert_field("failure_ttl_ms");
    s.patch(
        &format!("/api/v2/templates/{tid}"),
        &o.token,
        json!({"autostart_requirement": {"days_of_week": ["funday"]}}),
    )
    .assert_error(400, "Invalid request to update template metadata!");
    s.patch(
        &format!("/api/v2/templates/{tid}"),
        &a.token,
        json!({"display_name": "x"}),
    )
    .assert_error(403, "Forbidden.");
    // Removing Everyone hides it from members.
    s.patch(
        &format!("/api/v2/templates/{tid}"),
        &o.token,
        json!({"disable_everyone_group_access": true}),
    )
    .ok(200);
    s.get(&format!("/api/v2/templates/{tid}"), &a.token)
        .assert_error(404, NOT_FOUND);
    assert_eq!(
        s.get("/api/v2/templates", &a.token)
            .ok(200)
            .as_array()
            .unwrap()
            .len(),
        0
    );
    s.anon("GET", &format!("/api/v2/templates/{tid}"), None)
        .assert_error(401, SIGNED_OUT);
    // Delete.
    s.delete(&format!("/api/v2/templates/{tid}"), &a.token)
        .assert_error(404, NOT_FOUND);
    let r = s.delete(&format!("/api/v2/templates/{tid}"), &o.token);
    assert_eq!(r.ok(200)["message"], "Template has been deleted!");
    s.get(&format!("/api/v2/templates/{tid}"), &o.token)
        .assert_error(404, NOT_FOUND);
}

#[test]
fn version_endpoints_not_found_forbidden_and_pending() {
    let s = Server::start_with(|c| c.provisioner_delay = std::time::Duration::from_secs(2));
    let o = s.setup();
    let a = s.user(&o, "alice", &[]);
    let file = s.upload(&o.token, "application/x-tar", &fixture_tar("docker"));
    let r = s.post(
        &format!("/api/v2/organizations/{}/templateversions", o.org),
        &o.token,
        json!({"storage_method": "file", "provisioner": "terraform", "file_id": file.body["hash"], "name": "first"}),
    );
    let v = r.ok(201).clone();
    assert_eq!(v["job"]["status"], "pending");
    assert_eq!(v["job"]["queue_position"], 1);
    assert_eq!(v["job"]["queue_size"], 1);
    let id = v["id"].as_str().unwrap().to_string();
    // Until the import completes, its results are not readable.
    for p in ["rich-parameters", "resources", "variables"] {
        s.get(&format!("/api/v2/templateversions/{id}/{p}"), &o.token)
            .assert_error(400, "Job hasn't completed!");
    }
    // An unattached version is only visible to template admins.
    for p in [
        "",
        "/rich-parameters",
        "/presets",
        "/resources",
        "/logs",
        "/variables",
    ] {
        s.get(&format!("/api/v2/templateversions/{id}{p}"), &a.token)
            .assert_error(404, NOT_FOUND);
        s.get(
            &format!("/api/v2/templateversions/7c60d51f-b44e-4682-87d6-449835ea4de6{p}"),
            &o.token,
        )
        .assert_error(404, NOT_FOUND);
    }
    s.patch(
        &format!("/api/v2/templateversions/{id}"),
        &o.token,
        json!({"name": "bad name!"}),
    )
    .assert_error(400, "Validation failed.")
    .assert_field("name");
    s.patch(
        &format!("/api/v2/templateversions/{id}"),
        &a.token,
        json!({"name": "x"}),
    )
    .assert_error(404, NOT_FOUND);
    // Cancel the import.
    let r = s.patch(
        &format!("/api/v2/templateversions/{id}/cancel"),
        &o.token,
        json!({}),
    );
    assert_eq!(r.ok(200)["message"], "Job has been marked as canceled...");
    snapshot::assert_body(
        "PATCH",
        "/api/v2/templateversions/{templateversion}/cancel",
        &r.body,
    );
    s.patch(
        &format!("/api/v2/templateversions/{id}/cancel"),
        &o.token,
        json!({}),
    )
    .assert_error(400, "Job has already been marked as canceled!");
    let done = s.wait_for(&format!("/api/v2/templateversions/{id}"), &o.token, |v| {
        v["job"]["status"] == "canceled"
    });
    assert!(done["job"].get("error").is_none());
    // Examples exist as an (empty) list.
    assert_eq!(
        s.get("/api/v2/templates/examples", &o.token).ok(200),
        &json!([])
    );
}
