//! `codersdk/templateversions.go` (and `presets.go`): versions, their
//! parameters, variables and presets.

use serde::Serialize;
use uuid::Uuid;

use super::{MatchedProvisioners, MinimalUser, ProvisionerJob, Time};

/// `codersdk.TemplateVersion`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TemplateVersion {
    pub id: Uuid,
    /// The nil UUID for a version not (yet) attached to a template.
    pub template_id: Uuid,
    pub organization_id: Uuid,
    pub created_at: Time,
    pub updated_at: Time,
    pub name: String,
    pub message: String,
    pub job: ProvisionerJob,
    pub readme: String,
    pub created_by: MinimalUser,
    pub archived: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub matched_provisioners: MatchedProvisioners,
    pub has_external_agent: bool,
}

/// `codersdk.TemplateVersionParameter`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TemplateVersionParameter {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    pub description: String,
    pub description_plaintext: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub form_type: String,
    pub mutable: bool,
    pub default_value: String,
    pub icon: String,
    pub options: Vec<TemplateVersionParameterOption>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub validation_error: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub validation_regex: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_min: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_max: Option<i64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub validation_monotonic: String,
    pub required: bool,
    pub ephemeral: bool,
}

/// `codersdk.TemplateVersionParameterOption`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TemplateVersionParameterOption {
    pub name: String,
    pub description: String,
    pub value: String,
    pub icon: String,
}

/// `codersdk.TemplateVersionVariable` (sensitive values are redacted).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TemplateVersionVariable {
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub default_value: String,
    pub required: bool,
    pub sensitive: bool,
}

/// `codersdk.Preset`: it has no JSON tags, so Coder's server sends the Go
/// field names (and the dashboard reads them); the generated docs'
/// lowercase keys are not what goes over the wire.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Preset {
    #[serde(rename = "ID")]
    pub id: Uuid,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Parameters")]
    pub parameters: Vec<PresetParameter>,
    #[serde(rename = "Default")]
    pub default: bool,
    #[serde(rename = "DesiredPrebuildInstances")]
    pub desired_prebuild_instances: Option<i64>,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Icon")]
    pub icon: String,
}

/// `codersdk.PresetParameter` (Go field names too).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PresetParameter {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Value")]
    pub value: String,
}

/// `codersdk.ArchiveTemplateVersionsRequest`: with `all`, every unused
/// version; otherwise only failed imports.
#[derive(Debug, serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct ArchiveTemplateVersionsRequest {
    pub all: bool,
}

/// `codersdk.ArchiveTemplateVersionsResponse`; Coder sends `null` when
/// nothing was archived.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ArchiveTemplateVersionsResponse {
    pub template_id: Uuid,
    pub archived_ids: Option<Vec<Uuid>>,
}

/// `codersdk.TemplateVersionExternalAuth`: warren has no external auth
/// providers, so versions list none.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TemplateVersionExternalAuth {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub display_name: String,
    pub display_icon: String,
    pub authenticate_url: String,
    pub authenticated: bool,
    pub optional: bool,
}

/// `codersdk.CreateTemplateVersionDryRunRequest`.
#[derive(Debug, serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct CreateTemplateVersionDryRunRequest {
    pub workspace_name: String,
    pub rich_parameter_values: Vec<DryRunParameter>,
    pub user_variable_values: Vec<DryRunParameter>,
}

/// A `{name, value}` pair of a dry-run request.
#[derive(Debug, Clone, serde::Deserialize, Serialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct DryRunParameter {
    pub name: String,
    pub value: String,
}
