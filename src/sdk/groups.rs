//! `codersdk/groups.go`.

use serde::Serialize;
use uuid::Uuid;

use super::ReducedUser;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub organization_display_name: String,
    pub members: Vec<ReducedUser>,
    pub total_member_count: i64,
    pub avatar_url: String,
    pub quota_allowance: i64,
    pub source: String,
}
