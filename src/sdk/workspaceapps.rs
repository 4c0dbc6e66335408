//! `codersdk/workspaceapps.go`: an agent's apps and the statuses they report.

use serde::Serialize;
use uuid::Uuid;

use super::Time;

/// `codersdk.WorkspaceApp`. warren serves no subdomain apps and no
/// tooltips, so `subdomain_name` and `tooltip` (both omitted when empty)
/// never appear.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceApp {
    pub id: Uuid,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    pub external: bool,
    pub slug: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub command: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icon: String,
    pub subdomain: bool,
    pub sharing_level: String,
    pub healthcheck: Healthcheck,
    pub health: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    pub hidden: bool,
    pub open_in: String,
    pub statuses: Vec<WorkspaceAppStatus>,
}

/// `codersdk.Healthcheck`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Healthcheck {
    pub url: String,
    pub interval: i64,
    pub threshold: i64,
}

/// `codersdk.WorkspaceAppStatus`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAppStatus {
    pub id: Uuid,
    pub created_at: Time,
    pub workspace_id: Uuid,
    pub agent_id: Uuid,
    pub app_id: Uuid,
    pub state: String,
    pub message: String,
    pub uri: String,
    pub icon: String,
    pub needs_user_attention: bool,
}
