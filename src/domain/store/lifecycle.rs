//! The lifecycle executor's record of what it did and why.

use super::sql::{args, StoreResult, Tx};
use uuid::Uuid;

use crate::sdk::Micros;

/// Actions kept per workspace; older ones are dropped as new ones come.
const KEPT: i64 = 50;

#[derive(Debug, Clone, PartialEq)]
pub struct ActionRow {
    pub workspace_id: Uuid,
    pub build_id: Option<Uuid>,
    pub created_at: Micros,
    pub action: String,
    pub reason: String,
    pub detail: String,
}

pub fn record(tx: &Tx, a: &ActionRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO lifecycle_actions (workspace_id, build_id, created_at, action, reason, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![
            a.workspace_id,
            a.build_id,
            a.created_at,
            a.action,
            a.reason,
            a.detail
        ],
    )?;
    tx.execute(
        "DELETE FROM lifecycle_actions WHERE workspace_id = ?1 AND id <= (
             SELECT id FROM lifecycle_actions WHERE workspace_id = ?1
             ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        args![a.workspace_id, KEPT],
    )?;
    Ok(())
}

/// The newest `limit` actions on a workspace, newest first, with the
/// number of the build each started.
pub fn recent(tx: &Tx, workspace: Uuid, limit: i64) -> StoreResult<Vec<(ActionRow, Option<i64>)>> {
    tx.query(
        "SELECT a.workspace_id, a.build_id, a.created_at, a.action, a.reason, a.detail, b.build_number
         FROM lifecycle_actions a LEFT JOIN workspace_builds b ON b.id = a.build_id
         WHERE a.workspace_id = ?1 ORDER BY a.id DESC LIMIT ?2",
        args![workspace, limit],
        |r| {
            Ok((
                ActionRow {
                    workspace_id: r.get(0)?,
                    build_id: r.get(1)?,
                    created_at: r.get(2)?,
                    action: r.get(3)?,
                    reason: r.get(4)?,
                    detail: r.get(5)?,
                },
                r.get(6)?,
            ))
        },
    )
}
