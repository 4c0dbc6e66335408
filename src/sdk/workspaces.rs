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
pub struct WorkspacesResponse<W = Workspace> {
    pub workspaces: Vec<W>,
    pub count: i64,
}

/// One change of a watched workspace list (warren's list watch streams):
/// `added`, `updated` or `removed` (with a null workspace).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WorkspaceListChange<W = Workspace> {
    pub id: Uuid,
    pub change: &'static str,
    pub workspace: Option<W>,
}

/// [`WorkspacesResponse`] from workspaces already serialized (the render
/// cache's bodies): written straight into one buffer, no re-encoding. The
/// same bytes `serde_json` writes for the struct (a test holds them equal).
pub fn workspaces_response_json(bodies: &[bytes::Bytes], count: i64) -> bytes::Bytes {
    let len: usize = bodies.iter().map(|b| b.len() + 1).sum();
    let mut out = Vec::with_capacity(len + 40);
    out.extend_from_slice(b"{\"workspaces\":[");
    for (i, b) in bodies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b);
    }
    out.extend_from_slice(b"],\"count\":");
    out.extend_from_slice(count.to_string().as_bytes());
    out.push(b'}');
    bytes::Bytes::from(out)
}

/// [`WorkspaceListChange`] around an already serialized workspace.
pub fn workspace_list_change_json(
    id: Uuid,
    change: &'static str,
    workspace: Option<&bytes::Bytes>,
) -> bytes::Bytes {
    let mut out = Vec::with_capacity(workspace.map_or(0, |b| b.len()) + 80);
    out.extend_from_slice(b"{\"id\":\"");
    out.extend_from_slice(id.to_string().as_bytes());
    out.extend_from_slice(b"\",\"change\":");
    // A fixed word from warren's own code, quoted like serde quotes it.
    out.extend_from_slice(serde_json::to_string(change).unwrap_or_default().as_bytes());
    out.extend_from_slice(b",\"workspace\":");
    match workspace {
        Some(b) => out.extend_from_slice(b),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    bytes::Bytes::from(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn prebuilt_envelopes_are_the_structs_bytes() {
        let items = vec![json!({"id": "a", "n": 1}), json!({"x": [1, "é\""]})];
        let bodies: Vec<bytes::Bytes> = items
            .iter()
            .map(|v| bytes::Bytes::from(serde_json::to_vec(v).unwrap()))
            .collect();
        let typed = WorkspacesResponse {
            workspaces: items.clone(),
            count: 42,
        };
        assert_eq!(
            workspaces_response_json(&bodies, 42).as_ref(),
            serde_json::to_vec(&typed).unwrap().as_slice()
        );
        let empty: WorkspacesResponse<Value> = WorkspacesResponse {
            workspaces: vec![],
            count: 0,
        };
        assert_eq!(
            workspaces_response_json(&[], 0).as_ref(),
            serde_json::to_vec(&empty).unwrap().as_slice()
        );
        let id = Uuid::new_v4();
        for (change, w) in [("updated", Some(&items[0])), ("removed", None)] {
            let typed = WorkspaceListChange {
                id,
                change,
                workspace: w.cloned(),
            };
            let body = w.map(|v| bytes::Bytes::from(serde_json::to_vec(v).unwrap()));
            assert_eq!(
                workspace_list_change_json(id, change, body.as_ref()).as_ref(),
                serde_json::to_vec(&typed).unwrap().as_slice()
            );
        }
    }
}
