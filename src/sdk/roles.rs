//! `codersdk/roles.go`: roles a caller may assign.

use serde::Serialize;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Permission {
    pub negate: bool,
    pub resource_type: String,
    pub action: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AssignableRoles {
    pub name: String,
    pub display_name: String,
    /// Empty for site roles.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub organization_id: String,
    pub site_permissions: Vec<Permission>,
    pub organization_permissions: Vec<Permission>,
    pub user_permissions: Vec<Permission>,
    pub organization_member_permissions: Vec<Permission>,
    pub assignable: bool,
    pub built_in: bool,
}
