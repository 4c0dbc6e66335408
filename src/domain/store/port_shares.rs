//! Ports of a workspace's agents shared beyond their owner.

use super::sql::{args, StoreResult, Tx};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct PortShareRow {
    pub workspace_id: Uuid,
    pub agent_name: String,
    pub port: i64,
    pub share_level: String,
    pub protocol: String,
}

fn from_row(r: &super::sql::Row) -> StoreResult<PortShareRow> {
    Ok(PortShareRow {
        workspace_id: r.get(0)?,
        agent_name: r.get(1)?,
        port: r.get(2)?,
        share_level: r.get(3)?,
        protocol: r.get(4)?,
    })
}

const COLUMNS: &str = "workspace_id, agent_name, port, share_level, protocol";

pub fn list(tx: &Tx, workspace: Uuid) -> StoreResult<Vec<PortShareRow>> {
    tx.query(
        &format!(
            "SELECT {COLUMNS} FROM workspace_agent_port_shares WHERE workspace_id = ?
             ORDER BY agent_name, port"
        ),
        args![workspace],
        from_row,
    )
}

pub fn get(tx: &Tx, workspace: Uuid, agent: &str, port: i64) -> StoreResult<Option<PortShareRow>> {
    tx.query_opt(
        &format!(
            "SELECT {COLUMNS} FROM workspace_agent_port_shares
             WHERE workspace_id = ?1 AND agent_name = ?2 AND port = ?3"
        ),
        args![workspace, agent, port],
        from_row,
    )
}

pub fn upsert(tx: &Tx, s: &PortShareRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO workspace_agent_port_shares (workspace_id, agent_name, port, share_level, protocol)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (workspace_id, agent_name, port)
         DO UPDATE SET share_level = excluded.share_level, protocol = excluded.protocol",
        args![s.workspace_id, s.agent_name, s.port, s.share_level, s.protocol],
    )?;
    Ok(())
}

pub fn delete(tx: &Tx, workspace: Uuid, agent: &str, port: i64) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM workspace_agent_port_shares WHERE workspace_id = ?1 AND agent_name = ?2 AND port = ?3",
        args![workspace, agent, port],
    )?;
    Ok(())
}

/// Names of the agents of the workspace's latest build.
pub fn latest_agent_names(tx: &Tx, workspace: Uuid) -> StoreResult<Vec<String>> {
    tx.query(
        "SELECT a.name FROM workspaces w
         JOIN workspace_builds b ON b.id = w.latest_build_id
         JOIN workspace_resources r ON r.job_id = b.job_id
         JOIN workspace_agents a ON a.resource_id = r.id
         WHERE w.id = ?",
        args![workspace],
        |r| r.get(0),
    )
}

/// Lowers the template's workspaces' shares above `max` to `max`; with
/// `max` `owner` (nothing shared) removes them.
pub fn lower_for_template(tx: &Tx, template: Uuid, max: &str, allowed: &[&str]) -> StoreResult<()> {
    let allowed = serde_json::to_string(allowed)?;
    if max == "owner" {
        tx.execute(
            "DELETE FROM workspace_agent_port_shares
             WHERE workspace_id IN (SELECT id FROM workspaces WHERE template_id = ?1)",
            args![template],
        )?;
    } else {
        tx.execute(
            "UPDATE workspace_agent_port_shares SET share_level = ?2
             WHERE workspace_id IN (SELECT id FROM workspaces WHERE template_id = ?1)
               AND share_level NOT IN (SELECT value FROM json_each(?3))",
            args![template, max, allowed],
        )?;
    }
    Ok(())
}
