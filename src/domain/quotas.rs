//! Workspace quotas (Coder's Premium feature, free in warren). A member's
//! budget in an organization is the sum of the quota allowances of their
//! groups there (the Everyone group included); what they consume is the
//! daily cost of the latest build of each of their live workspaces there, so
//! a stopped workspace costs only what its stop build kept (its persistent
//! resources).
//!
//! Coder enforces quotas whenever it is licensed; warren enforces them in an
//! organization once any of its groups has an allowance, so templates that
//! declare a cost keep building until an administrator sets a budget.

use crate::authz::{act, Allowed, Subject};
use crate::domain::store::builds::{self, BuildRow};
use crate::domain::store::quotas as store;
use crate::domain::store::workspaces::WorkspaceRow;
use crate::domain::store::Tx;
use crate::domain::{organizations, users};
use crate::error::ApiResult;
use crate::sdk::{Micros, WorkspaceQuota};

/// `GET /organizations/{organization}/members/{user}/workspace-quota` and
/// (for the default organization) `GET /workspace-quota/{user}`: whoever may
/// read the user may read their quota.
pub fn of_member(conn: &Tx, subject: &Subject, org: &str, user: &str) -> ApiResult<WorkspaceQuota> {
    let user = users::get(conn, subject, user)?;
    let org = organizations::resolve(conn, subject, org)?;
    Ok(WorkspaceQuota {
        credits_consumed: store::consumed(conn, user.id, org.id)?,
        budget: store::allowance(conn, user.id, org.id)?,
    })
}

/// The answer to a build's request to cost `cost` per day (Coder's
/// `CommitQuota`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    pub ok: bool,
    /// The owner's consumption with this build's cost when granted, without
    /// it when refused.
    pub consumed: i64,
    pub budget: i64,
}

/// Decides whether `build` of workspace `ws` may cost `cost` per day, and
/// records the cost on the build when it may. `None` when quotas are not
/// configured in the workspace's organization. A build that lowers the
/// workspace's cost (a stop) passes even over budget.
pub fn commit(
    conn: &Tx,
    ws: &Allowed<WorkspaceRow, act::Update>,
    build: &BuildRow,
    cost: i64,
    now: Micros,
) -> ApiResult<Option<Commit>> {
    if !store::configured(conn, ws.organization_id)? {
        return Ok(None);
    }
    // This build is already the workspace's latest, at cost 0: `consumed`
    // counts the owner's other workspaces only.
    let consumed = store::consumed(conn, ws.owner_id, ws.organization_id)?;
    let budget = store::allowance(conn, ws.owner_id, ws.organization_id)?;
    let previous = builds::get_by_number(conn, ws.id, build.build_number - 1)?;
    let net_increase = previous.is_none_or(|p| cost >= p.daily_cost);
    let next = consumed + cost;
    if next > budget && net_increase {
        return Ok(Some(Commit {
            ok: false,
            consumed,
            budget,
        }));
    }
    builds::set_daily_cost(conn, build.id, cost, now)?;
    Ok(Some(Commit {
        ok: true,
        consumed: next,
        budget,
    }))
}
