//! `codersdk/agentsdk`: what an agent sends with its own token.

use serde::Deserialize;
use uuid::Uuid;

/// `agentsdk.PatchLogs`. A nil (or absent) source is Coder's "External".
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct PatchLogs {
    pub log_source_id: Uuid,
    pub logs: Vec<AgentLogEntry>,
}

/// `agentsdk.Log`. The time is checked but not kept: Coder stamps logs
/// with the server's clock.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct AgentLogEntry {
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    pub output: String,
    pub level: String,
}

/// `agentsdk.PostLogSourceRequest`.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct PostLogSourceRequest {
    pub id: Uuid,
    pub display_name: String,
    pub icon: String,
}

/// `agentsdk.PostMetadataRequest`: results of the agent's metadata items.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct PostMetadataRequest {
    pub metadata: Vec<AgentMetadataReport>,
}

/// `agentsdk.Metadata`: a key and its `WorkspaceAgentMetadataResult`.
/// `collected_at` and `age` are checked but not kept: the server's clock
/// stamps results, as Coder does against clock skew.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct AgentMetadataReport {
    pub key: String,
    pub collected_at: Option<chrono::DateTime<chrono::Utc>>,
    pub age: i64,
    pub value: String,
    pub error: String,
}

/// What an external agent reports listening on (a warren extension: Coder's
/// server asks its agents over their tunnel).
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct PostListeningPortsRequest {
    pub ports: Vec<AgentListeningPort>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct AgentListeningPort {
    pub process_name: String,
    pub network: String,
    pub port: i64,
}
