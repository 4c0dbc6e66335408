//! `codersdk/provisionerdaemons.go`: provisioner jobs and their logs.

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use super::Time;

/// `codersdk.ProvisionerJob`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProvisionerJob {
    pub id: Uuid,
    pub created_at: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canceled_at: Option<Time>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_code: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<Uuid>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub worker_name: String,
    pub file_id: Uuid,
    pub tags: BTreeMap<String, String>,
    pub queue_position: i64,
    pub queue_size: i64,
    pub organization_id: Uuid,
    pub initiator_id: Uuid,
    pub input: ProvisionerJobInput,
    #[serde(rename = "type")]
    pub kind: String,
    pub metadata: ProvisionerJobMetadata,
    pub logs_overflowed: bool,
}

/// `codersdk.ProvisionerJobInput`: what the job builds.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct ProvisionerJobInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_version_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_build_id: Option<Uuid>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// `codersdk.ProvisionerJobMetadata`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProvisionerJobMetadata {
    pub template_version_name: String,
    pub template_id: Uuid,
    pub template_name: String,
    pub template_display_name: String,
    pub template_icon: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<Uuid>,
    pub workspace_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub workspace_build_transition: String,
}

/// `codersdk.ProvisionerJobLog`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProvisionerJobLog {
    pub id: i64,
    pub created_at: Time,
    pub log_source: String,
    pub log_level: String,
    pub stage: String,
    pub output: String,
}

/// `codersdk.MatchedProvisioners`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MatchedProvisioners {
    pub count: i64,
    pub available: i64,
    pub most_recently_seen: Time,
}
