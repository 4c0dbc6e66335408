//! `codersdk/roles.go`: roles, their permissions, and which the caller may
//! assign.

use serde::{Deserialize, Serialize};

pub use crate::authz::Permission;

/// `codersdk.Role`: a role with its permissions at each level.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Role {
    pub name: String,
    /// Empty for site roles.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub organization_id: String,
    pub display_name: String,
    pub site_permissions: Vec<Permission>,
    pub organization_permissions: Vec<Permission>,
    pub user_permissions: Vec<Permission>,
    pub organization_member_permissions: Vec<Permission>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AssignableRoles {
    #[serde(flatten)]
    pub role: Role,
    pub assignable: bool,
    pub built_in: bool,
}

/// `codersdk.CustomRoleRequest`: the body that creates or updates a custom
/// organization role. Lists may be absent or `null`.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct CustomRoleRequest {
    pub name: String,
    pub display_name: String,
    pub site_permissions: Option<Vec<Permission>>,
    pub organization_permissions: Option<Vec<Permission>>,
    pub user_permissions: Option<Vec<Permission>>,
    pub organization_member_permissions: Option<Vec<Permission>>,
}
