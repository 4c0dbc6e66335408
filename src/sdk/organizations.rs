//! `codersdk/organizations.go`: organizations and their members.

use serde::Serialize;
use uuid::Uuid;

use super::SlimRole;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub icon: String,
    pub created_at: String,
    pub updated_at: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct OrganizationMember {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub created_at: String,
    pub updated_at: String,
    pub roles: Vec<SlimRole>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct OrganizationMemberWithUserData {
    #[serde(flatten)]
    pub member: OrganizationMember,
    pub username: String,
    pub name: String,
    pub avatar_url: String,
    pub email: String,
    pub global_roles: Vec<SlimRole>,
    pub last_seen_at: String,
    pub status: String,
    pub login_type: String,
    pub user_created_at: String,
    pub user_updated_at: String,
    pub is_service_account: bool,
}

/// `codersdk.PaginatedMembersResponse`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PaginatedMembersResponse {
    pub members: Vec<OrganizationMemberWithUserData>,
    pub count: i64,
}
