//! Workspace quotas: a member's budget in an organization and what their
//! workspaces there cost (Coder's `quotas.sql`).

use super::sql::{args, StoreResult, Tx};
use uuid::Uuid;

/// The sum of the quota allowances of the groups `user` is in within `org`,
/// its Everyone group included; 0 for a non-member.
pub fn allowance(tx: &Tx, user: Uuid, org: Uuid) -> StoreResult<i64> {
    tx.query_one(
        "SELECT coalesce(sum(g.quota_allowance), 0) FROM groups g
         WHERE g.organization_id = ?2
           AND EXISTS (SELECT 1 FROM organization_members m
                       WHERE m.organization_id = ?2 AND m.user_id = ?1)
           AND (g.id = g.organization_id
                OR EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = g.id AND gm.user_id = ?1))",
        args![user, org],
        |r| r.get(0),
    )
}

/// What `owner`'s live workspaces in `org` cost per day: the daily cost of
/// each one's latest build.
pub fn consumed(tx: &Tx, owner: Uuid, org: Uuid) -> StoreResult<i64> {
    tx.query_one(
        "SELECT coalesce(sum(b.daily_cost), 0) FROM workspaces w
         JOIN workspace_builds b ON b.workspace_id = w.id
         WHERE w.owner_id = ?1 AND w.organization_id = ?2 AND w.deleted = 0
           AND b.build_number = (SELECT max(l.build_number) FROM workspace_builds l
                                 WHERE l.workspace_id = w.id)",
        args![owner, org],
        |r| r.get(0),
    )
}

/// Whether any group of `org` has a quota allowance: quotas apply in an
/// organization from the moment one is configured.
pub fn configured(tx: &Tx, org: Uuid) -> StoreResult<bool> {
    tx.query_one(
        "SELECT EXISTS (SELECT 1 FROM groups WHERE organization_id = ? AND quota_allowance > 0)",
        args![org],
        |r| r.get(0),
    )
}
