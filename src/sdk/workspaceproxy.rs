//! `codersdk/workspaceproxy.go`: regions (the primary one is the
//! deployment itself).

use serde::Serialize;
use uuid::Uuid;

/// `codersdk.RegionsResponse[codersdk.Region]`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RegionsResponse {
    pub regions: Vec<Region>,
}

/// `codersdk.Region`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Region {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub icon_url: String,
    pub healthy: bool,
    pub path_app_url: String,
    pub wildcard_hostname: String,
}
