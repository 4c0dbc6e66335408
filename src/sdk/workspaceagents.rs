//! `codersdk/workspaceagents.go`: agents as clients see them.

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use super::{Time, WorkspaceApp};

/// `codersdk.WorkspaceAgent`. warren has no instance identities, latency
/// reports or expanded directories to show, so `instance_id`, `latency` and
/// `expanded_directory` (all omitted when empty) never appear.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAgent {
    pub id: Uuid,
    /// Sub-agents (dev containers) are not built: always null.
    pub parent_id: Option<Uuid>,
    pub created_at: Time,
    pub updated_at: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_connected_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_connected_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnected_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<Time>,
    pub status: &'static str,
    pub lifecycle_state: String,
    pub name: String,
    pub resource_id: Uuid,
    pub architecture: String,
    pub environment_variables: BTreeMap<String, String>,
    pub operating_system: String,
    pub logs_length: i64,
    pub logs_overflowed: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub directory: String,
    pub version: String,
    pub api_version: String,
    pub apps: Vec<WorkspaceApp>,
    pub connection_timeout_seconds: i64,
    pub troubleshooting_url: String,
    pub subsystems: Vec<String>,
    pub health: WorkspaceAgentHealth,
    pub display_apps: Vec<&'static str>,
    pub log_sources: Vec<WorkspaceAgentLogSource>,
    pub scripts: Vec<WorkspaceAgentScript>,
    pub startup_script_behavior: &'static str,
}

/// `codersdk.WorkspaceAgentHealth`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAgentHealth {
    pub healthy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// `codersdk.WorkspaceAgentLogSource`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAgentLogSource {
    pub workspace_agent_id: Uuid,
    pub id: Uuid,
    pub created_at: Time,
    pub display_name: String,
    pub icon: String,
}

/// `codersdk.WorkspaceAgentScript`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAgentScript {
    pub id: Uuid,
    pub log_source_id: Uuid,
    pub log_path: String,
    pub script: String,
    pub cron: String,
    pub run_on_start: bool,
    pub run_on_stop: bool,
    pub start_blocks_login: bool,
    pub timeout: i64,
    pub display_name: String,
}

/// `agentsdk.GitSSHKey`: the owner's key pair, as the agent receives it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AgentGitSshKey {
    pub public_key: String,
    pub private_key: String,
}

/// A new agent token (warren's `POST /workspaceagents/{id}/token`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AgentTokenResponse {
    pub agent_token: String,
}

/// `codersdk.WorkspaceAgentLog`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAgentLog {
    pub id: i64,
    pub created_at: Time,
    pub output: String,
    pub level: String,
    pub source_id: Uuid,
}

/// `codersdk.WorkspaceAgentMetadata`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAgentMetadata {
    pub result: WorkspaceAgentMetadataResult,
    pub description: WorkspaceAgentMetadataDescription,
}

/// `codersdk.WorkspaceAgentMetadataResult`: `age` in seconds.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAgentMetadataResult {
    pub collected_at: Time,
    pub age: i64,
    pub value: String,
    pub error: String,
}

/// `codersdk.WorkspaceAgentMetadataDescription`: `interval` and `timeout`
/// in seconds.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAgentMetadataDescription {
    pub display_name: String,
    pub key: String,
    pub script: String,
    pub interval: i64,
    pub timeout: i64,
}

/// `codersdk.WorkspaceAgentListeningPortsResponse`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAgentListeningPortsResponse {
    pub ports: Vec<WorkspaceAgentListeningPort>,
}

/// `codersdk.WorkspaceAgentListeningPort`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceAgentListeningPort {
    pub process_name: String,
    pub network: String,
    pub port: i64,
}
