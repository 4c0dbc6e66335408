//! `codersdk/buildinfo.go`.

use serde::Serialize;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BuildInfo {
    pub external_url: String,
    pub version: String,
    pub dashboard_url: String,
    pub telemetry: bool,
    pub workspace_proxy: bool,
    pub agent_api_version: String,
    pub provisioner_api_version: String,
    pub upgrade_message: String,
    pub deployment_id: String,
}
