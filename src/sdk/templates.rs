//! `codersdk/templates.go`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Group, ReducedUser, Time, User};

/// `codersdk.Template`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Template {
    pub id: Uuid,
    pub created_at: Time,
    pub updated_at: Time,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub organization_display_name: String,
    pub organization_icon: String,
    pub name: String,
    pub display_name: String,
    pub provisioner: String,
    pub active_version_id: Uuid,
    pub active_user_count: i64,
    pub build_time_stats: TemplateBuildTimeStats,
    pub description: String,
    pub deprecated: bool,
    pub deprecation_message: String,
    pub icon: String,
    pub default_ttl_ms: i64,
    pub activity_bump_ms: i64,
    pub autostop_requirement: TemplateAutostopRequirement,
    pub autostart_requirement: TemplateAutostartRequirement,
    pub created_by_id: Uuid,
    pub created_by_name: String,
    pub allow_user_autostart: bool,
    pub allow_user_autostop: bool,
    pub allow_user_cancel_workspace_jobs: bool,
    pub failure_ttl_ms: i64,
    pub time_til_dormant_ms: i64,
    pub time_til_dormant_autodelete_ms: i64,
    pub require_active_version: bool,
    pub max_port_share_level: String,
    pub use_classic_parameter_flow: bool,
    pub cors_behavior: String,
    pub use_terraform_workspace_cache: bool,
    pub deleted: bool,
    pub disable_module_cache: bool,
}

/// `codersdk.TemplateBuildTimeStats`: per transition (`start`, `stop`,
/// `delete`).
pub type TemplateBuildTimeStats = BTreeMap<&'static str, TransitionStats>;

/// `codersdk.TransitionStats`: build durations in milliseconds, null
/// without builds (Coder's Go field names, it has no JSON tags).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TransitionStats {
    #[serde(rename = "P50")]
    pub p50: Option<i64>,
    #[serde(rename = "P95")]
    pub p95: Option<i64>,
}

/// `codersdk.TemplateAutostopRequirement`.
#[derive(Debug, Deserialize, Serialize, Clone, Default, PartialEq, schemars::JsonSchema)]
pub struct TemplateAutostopRequirement {
    #[serde(default)]
    pub days_of_week: Vec<String>,
    #[serde(default)]
    pub weeks: i64,
}

/// `codersdk.TemplateAutostartRequirement`.
#[derive(Debug, Deserialize, Serialize, Clone, Default, PartialEq, schemars::JsonSchema)]
pub struct TemplateAutostartRequirement {
    #[serde(default)]
    pub days_of_week: Vec<String>,
}

/// `codersdk.TemplateExample`: warren bundles no starter templates, so the
/// list is always empty.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TemplateExample {
    pub id: String,
    pub url: String,
    pub name: String,
    pub description: String,
    pub icon: String,
    pub tags: Vec<String>,
    pub markdown: String,
}

/// `codersdk.TemplateACL`: Coder names the group list `group`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TemplateAcl {
    pub users: Vec<TemplateUser>,
    #[serde(rename = "group")]
    pub groups: Vec<TemplateGroup>,
}

/// `codersdk.TemplateUser`: a full user and its role.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TemplateUser {
    #[serde(flatten)]
    pub user: User,
    pub role: String,
}

/// `codersdk.TemplateGroup`: a group and its role.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TemplateGroup {
    #[serde(flatten)]
    pub group: Group,
    pub role: String,
}

/// `codersdk.UpdateTemplateACL`: user and group id → `use`, `admin`, or
/// `""` to remove; both maps may be left out.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct UpdateTemplateAcl {
    pub user_perms: Option<BTreeMap<String, String>>,
    pub group_perms: Option<BTreeMap<String, String>>,
}

/// `codersdk.ACLAvailable`: who may be added to a template's ACL.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AclAvailable {
    pub users: Vec<ReducedUser>,
    pub groups: Vec<Group>,
}
