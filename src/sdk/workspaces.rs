//! `codersdk/workspaces.go`: workspaces, their lists and ACLs.

use serde::Serialize;
use uuid::Uuid;

use super::{Group, MinimalUser, Time, WorkspaceAppStatus, WorkspaceBuild};

/// `codersdk.Workspace`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Workspace {
    pub id: Uuid,
    pub created_at: Time,
    pub updated_at: Time,
    pub owner_id: Uuid,
    pub owner_name: String,
    pub owner_avatar_url: String,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub template_id: Uuid,
    pub template_name: String,
    pub template_display_name: String,
    pub template_icon: String,
    pub template_allow_user_cancel_workspace_jobs: bool,
    pub template_active_version_id: Uuid,
    pub template_require_active_version: bool,
    pub template_use_classic_parameter_flow: bool,
    pub latest_build: WorkspaceBuild,
    pub latest_app_status: Option<WorkspaceAppStatus>,
    pub outdated: bool,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autostart_schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<i64>,
    pub last_used_at: Time,
    pub deleting_at: Option<Time>,
    pub dormant_at: Option<Time>,
    pub health: WorkspaceHealth,
    pub automatic_updates: String,
    pub allow_renames: bool,
    pub favorite: bool,
    pub next_start_at: Option<Time>,
    pub is_prebuild: bool,
    /// Tasks are not built: always null.
    pub task_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_with: Vec<SharedWorkspaceActor>,
}

/// `codersdk.WorkspaceHealth`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceHealth {
    pub healthy: bool,
    pub failing_agents: Vec<Uuid>,
}

/// `codersdk.SharedWorkspaceActor`: a user or group the workspace is
/// shared with.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SharedWorkspaceActor {
    pub id: Uuid,
    pub actor_type: &'static str,
    pub name: String,
    pub avatar_url: String,
    pub roles: Vec<String>,
}

/// `codersdk.WorkspacesResponse`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WorkspacesResponse {
    pub workspaces: Vec<Workspace>,
    pub count: i64,
}

/// One change of a watched workspace list (warren's list watch streams):
/// `added`, `updated` or `removed` (with a null workspace).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WorkspaceListChange {
    pub id: Uuid,
    pub change: &'static str,
    pub workspace: Option<Workspace>,
}

/// `codersdk.ResolveAutostartResponse`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ResolveAutostartResponse {
    pub parameter_mismatch: bool,
}

/// `codersdk.WorkspaceACL`: Coder names the group list `group`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAcl {
    pub users: Vec<WorkspaceUser>,
    #[serde(rename = "group")]
    pub groups: Vec<WorkspaceGroup>,
}

/// `codersdk.WorkspaceUser`: a minimal user and its role.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WorkspaceUser {
    #[serde(flatten)]
    pub user: MinimalUser,
    pub role: String,
}

/// `codersdk.WorkspaceGroup`: a group and its role.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WorkspaceGroup {
    #[serde(flatten)]
    pub group: Group,
    pub role: String,
}
