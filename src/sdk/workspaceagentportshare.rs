//! `codersdk/workspaceagentportshare.go`: ports shared beyond their owner.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `codersdk.WorkspaceAgentPortShares`. Coder sends `null` for none.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAgentPortShares {
    pub shares: Option<Vec<WorkspaceAgentPortShare>>,
}

/// `codersdk.WorkspaceAgentPortShare`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAgentPortShare {
    pub workspace_id: Uuid,
    pub agent_name: String,
    pub port: i64,
    pub share_level: String,
    pub protocol: String,
}

/// `codersdk.UpsertWorkspaceAgentPortShareRequest`.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct UpsertWorkspaceAgentPortShareRequest {
    pub agent_name: String,
    pub port: i64,
    pub share_level: String,
    pub protocol: String,
}

/// `codersdk.DeleteWorkspaceAgentPortShareRequest`.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct DeleteWorkspaceAgentPortShareRequest {
    pub agent_name: String,
    pub port: i64,
}
