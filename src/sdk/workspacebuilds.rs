//! `codersdk/workspacebuilds.go`: builds, their resources, parameters and
//! timings.

use serde::Serialize;
use uuid::Uuid;

use super::{MatchedProvisioners, ProvisionerJob, Time, WorkspaceAgent};

/// `codersdk.WorkspaceBuild`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceBuild {
    pub id: Uuid,
    pub created_at: Time,
    pub updated_at: Time,
    pub workspace_id: Uuid,
    pub workspace_name: String,
    pub workspace_owner_id: Uuid,
    pub workspace_owner_name: String,
    pub workspace_owner_avatar_url: String,
    pub template_version_id: Uuid,
    pub template_version_name: String,
    pub build_number: i64,
    pub transition: String,
    pub initiator_id: Uuid,
    pub initiator_name: String,
    pub job: ProvisionerJob,
    pub reason: String,
    pub resources: Vec<WorkspaceResource>,
    /// A `NullTime`: null when unset, never omitted.
    pub deadline: Option<Time>,
    pub max_deadline: Option<Time>,
    pub status: &'static str,
    pub daily_cost: i64,
    pub matched_provisioners: MatchedProvisioners,
    pub template_version_preset_id: Option<Uuid>,
    /// Omitted until the build's job has decided them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_ai_task: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_external_agent: Option<bool>,
}

/// `codersdk.WorkspaceResource`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceResource {
    pub id: Uuid,
    pub created_at: Time,
    pub job_id: Uuid,
    pub workspace_transition: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub hide: bool,
    pub icon: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<WorkspaceAgent>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<WorkspaceResourceMetadata>,
    pub daily_cost: i64,
}

/// `codersdk.WorkspaceResourceMetadata` (a sensitive value is stored empty).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct WorkspaceResourceMetadata {
    pub key: String,
    pub value: String,
    pub sensitive: bool,
}

/// `codersdk.WorkspaceBuildParameter`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceBuildParameter {
    pub name: String,
    pub value: String,
}

/// `codersdk.WorkspaceBuildTimings`.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct WorkspaceBuildTimings {
    pub provisioner_timings: Vec<ProvisionerTiming>,
    pub agent_script_timings: Vec<AgentScriptTiming>,
    pub agent_connection_timings: Vec<AgentConnectionTiming>,
}

/// `codersdk.ProvisionerTiming`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProvisionerTiming {
    pub job_id: Uuid,
    pub started_at: Time,
    pub ended_at: Time,
    pub stage: String,
    pub source: String,
    pub action: String,
    pub resource: String,
}

/// `codersdk.AgentScriptTiming`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AgentScriptTiming {
    pub started_at: Time,
    pub ended_at: Time,
    pub exit_code: i64,
    pub stage: String,
    pub status: String,
    pub display_name: String,
    pub workspace_agent_id: Uuid,
    pub workspace_agent_name: String,
}

/// `codersdk.AgentConnectionTiming`: `ended_at` is Go's zero time until the
/// agent first connects.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AgentConnectionTiming {
    pub started_at: Time,
    pub ended_at: Time,
    pub stage: &'static str,
    pub workspace_agent_id: Uuid,
    pub workspace_agent_name: String,
}
