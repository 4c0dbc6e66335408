//! `codersdk/workspacequota.go`.

use serde::Serialize;

/// `codersdk.WorkspaceQuota`: what a user's workspaces in one organization
/// cost per day, and the sum of the quota allowances of their groups there.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WorkspaceQuota {
    pub credits_consumed: i64,
    pub budget: i64,
}
