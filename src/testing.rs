//! A real server on a temporary database for the crate's own tests: the
//! first user, the docker fixture as a template, and workspaces on it, all
//! made over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::clock::ManualClock;

pub struct World {
    pub running: crate::Running,
    pub clock: Arc<ManualClock>,
    pub token: String,
    pub template: String,
    agent: ureq::Agent,
    _dir: tempfile::TempDir,
}

impl World {
    /// A server with the first user and a template from the docker fixture.
    pub fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::Config::defaults();
        config.address = "127.0.0.1:0".into();
        config.db = dir.path().join("warren.db");
        config.provisioner_delay = Duration::ZERO;
        let clock = Arc::new(ManualClock::starting_now());
        let running = crate::start_with_clock(config, clock.clone()).unwrap();
        let mut w = World {
            running,
            clock,
            token: String::new(),
            template: String::new(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
            _dir: dir,
        };
        let first = w.call(
            "POST",
            "/api/v2/users/first",
            json!({"email": "a@example.com", "username": "admin", "password": "SomeSecurePassword!"}),
        );
        let org = first["organization_id"].as_str().unwrap().to_string();
        let login = w.call(
            "POST",
            "/api/v2/users/login",
            json!({"email": "a@example.com", "password": "SomeSecurePassword!"}),
        );
        w.token = login["session_token"].as_str().unwrap().to_string();
        let req = ureq::http::Request::builder()
            .method("POST")
            .uri(w.running.url("/api/v2/files"))
            .header("Coder-Session-Token", &w.token)
            .header("Content-Type", "application/x-tar")
            .body(fixture())
            .unwrap();
        let file: Value = serde_json::from_str(
            &w.agent
                .run(req)
                .unwrap()
                .body_mut()
                .read_to_string()
                .unwrap(),
        )
        .unwrap();
        let version = w.call(
            "POST",
            &format!("/api/v2/organizations/{org}/templateversions"),
            json!({"storage_method": "file", "file_id": file["hash"], "provisioner": "terraform"}),
        );
        w.settle();
        let template = w.call(
            "POST",
            &format!("/api/v2/organizations/{org}/templates"),
            json!({"name": "t", "template_version_id": version["id"]}),
        );
        w.template = template["id"].as_str().unwrap().to_string();
        w
    }

    /// Calls the API as the first user.
    pub fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(self.running.url(path))
            .header("Coder-Session-Token", &self.token)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .unwrap();
        let mut resp = self.agent.run(req).unwrap();
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null)
    }

    /// A workspace of the first user on the template, built.
    pub fn workspace(&self, name: &str) -> Value {
        let w = self.call(
            "POST",
            "/api/v2/users/me/workspaces",
            json!({"template_id": self.template, "name": name, "ttl_ms": 3_600_000}),
        );
        self.settle();
        self.call(
            "GET",
            &format!("/api/v2/workspaces/{}", w["id"].as_str().unwrap()),
            Value::Null,
        )
    }

    pub fn id(w: &Value) -> Uuid {
        Uuid::parse_str(w["id"].as_str().unwrap()).unwrap()
    }

    /// Waits until the provisioner has run every queued job and beaten once.
    pub fn settle(&self) {
        assert!(self
            .running
            .app
            .provisioner
            .wait_idle(Duration::from_secs(20)));
    }
}

/// The docker fixture as a tar archive.
fn fixture() -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docker");
    let mut b = tar::Builder::new(Vec::new());
    b.append_dir_all(".", &dir).unwrap();
    b.into_inner().unwrap()
}
