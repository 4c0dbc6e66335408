//! What agents report besides their lifecycle: logs and their sources,
//! metadata results, listening ports.

use super::sql::{args, Param, Row, StoreResult, ToParam, Tx};
use uuid::Uuid;

use crate::sdk::Micros;

/// Kinds of change the watch hub carries for these reports.
pub const LOGS_CHANGED: &str = "agent_logs";
pub const METADATA_CHANGED: &str = "agent_metadata";

/// Records a change of `kind` to the workspace an agent belongs to.
fn agent_changed(tx: &Tx, agent: Uuid, kind: &'static str) -> StoreResult<()> {
    if let Some((ws, _)) = super::resources::agent_owner(tx, agent)? {
        super::changed(ws, kind);
    }
    Ok(())
}

/// Whether the agent belongs to the latest build of its workspace.
pub fn in_latest_build(tx: &Tx, agent: Uuid) -> StoreResult<bool> {
    let n: i64 = tx.value(
        "SELECT count(*) FROM workspace_agents a
         JOIN workspace_resources r ON r.id = a.resource_id
         JOIN workspace_builds b ON b.job_id = r.job_id
         JOIN workspaces w ON w.latest_build_id = b.id
         WHERE a.id = ?",
        args![agent],
    )?;
    Ok(n > 0)
}

// ------------------------------------------------------------------ logs

#[derive(Debug, Clone)]
pub struct LogSourceRow {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub display_name: String,
    pub icon: String,
    pub created_at: Micros,
}

/// Adds a log source unless the agent has one with that id; returns
/// whether it was added.
pub fn insert_log_source(tx: &Tx, s: &LogSourceRow) -> StoreResult<bool> {
    let n = tx.execute(
        "INSERT INTO workspace_agent_log_sources (id, agent_id, display_name, icon, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (agent_id, id) DO NOTHING",
        args![s.id, s.agent_id, s.display_name, s.icon, s.created_at],
    )?;
    if n > 0 {
        agent_changed(tx, s.agent_id, "agent")?;
    }
    Ok(n > 0)
}

/// (bytes of logs stored, whether the limit was reached).
pub fn log_state(tx: &Tx, agent: Uuid) -> StoreResult<(i64, bool)> {
    tx.query_one(
        "SELECT logs_length, logs_overflowed FROM workspace_agents WHERE id = ?",
        args![agent],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Appends log lines `(level, output)` of one source, all at `now`, and
/// counts `length` bytes against the agent's logs.
pub fn append_logs(
    tx: &Tx,
    agent: Uuid,
    source: Uuid,
    lines: &[(String, String)],
    length: i64,
    now: Micros,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspace_agents SET logs_length = logs_length + ?2 WHERE id = ?1",
        args![agent, length],
    )?;
    for (level, output) in lines {
        tx.execute(
            "INSERT INTO workspace_agent_logs (agent_id, log_source_id, created_at, output, level)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            args![agent, source, now, output, level],
        )?;
    }
    agent_changed(tx, agent, LOGS_CHANGED)
}

pub fn set_logs_overflowed(tx: &Tx, agent: Uuid) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspace_agents SET logs_overflowed = 1 WHERE id = ?",
        args![agent],
    )?;
    agent_changed(tx, agent, LOGS_CHANGED)
}

#[derive(Debug, Clone)]
pub struct AgentLogRow {
    pub id: i64,
    pub created_at: Micros,
    pub output: String,
    pub level: String,
    pub source_id: Uuid,
}

/// Logs with `after < id < before` (no upper bound when `before` is 0), in
/// order, at most `limit`.
pub fn logs(
    tx: &Tx,
    agent: Uuid,
    after: i64,
    before: i64,
    limit: i64,
) -> StoreResult<Vec<AgentLogRow>> {
    tx.query(
        "SELECT id, created_at, output, level, log_source_id FROM workspace_agent_logs
         WHERE agent_id = ?1 AND id > ?2 AND (?3 = 0 OR id < ?3) ORDER BY id LIMIT ?4",
        args![agent, after, before, limit],
        |r| {
            Ok(AgentLogRow {
                id: r.get(0)?,
                created_at: r.get(1)?,
                output: r.get(2)?,
                level: r.get(3)?,
                source_id: r.get(4)?,
            })
        },
    )
}

// -------------------------------------------------------------- metadata

#[derive(Debug, Clone, Default)]
pub struct MetadataRow {
    pub agent_id: Uuid,
    pub key: String,
    pub display_name: String,
    pub script: String,
    pub interval: i64,
    pub timeout: i64,
    pub display_order: i64,
    pub value: String,
    pub error: String,
    pub collected_at: Micros,
}

const METADATA_COLUMNS: &str = "agent_id, key, display_name, script, interval, timeout, \
     display_order, value, error, collected_at";

fn metadata_from_row(r: &Row) -> StoreResult<MetadataRow> {
    Ok(MetadataRow {
        agent_id: r.get(0)?,
        key: r.get(1)?,
        display_name: r.get(2)?,
        script: r.get(3)?,
        interval: r.get(4)?,
        timeout: r.get(5)?,
        display_order: r.get(6)?,
        value: r.get(7)?,
        error: r.get(8)?,
        collected_at: r.get(9)?,
    })
}

pub fn insert_metadata(tx: &Tx, m: &MetadataRow) -> StoreResult<()> {
    tx.execute(
        &format!(
            "INSERT INTO workspace_agent_metadata ({METADATA_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        args![
            m.agent_id,
            m.key,
            m.display_name,
            m.script,
            m.interval,
            m.timeout,
            m.display_order,
            m.value,
            m.error,
            m.collected_at
        ],
    )?;
    Ok(())
}

/// An agent's metadata, by display order and key.
pub fn metadata(tx: &Tx, agent: Uuid) -> StoreResult<Vec<MetadataRow>> {
    tx.query(
        &format!(
            "SELECT {METADATA_COLUMNS} FROM workspace_agent_metadata WHERE agent_id = ?
             ORDER BY display_order, key"
        ),
        args![agent],
        metadata_from_row,
    )
}

/// Records a result for one key; returns whether the agent has that key.
pub fn set_metadata_result(
    tx: &Tx,
    agent: Uuid,
    key: &str,
    value: &str,
    error: &str,
    collected_at: Micros,
) -> StoreResult<bool> {
    let n = tx.execute(
        "UPDATE workspace_agent_metadata SET value = ?3, error = ?4, collected_at = ?5
         WHERE agent_id = ?1 AND key = ?2",
        args![agent, key, value, error, collected_at],
    )?;
    Ok(n > 0)
}

/// Announces new metadata results of an agent to its watchers.
pub fn metadata_changed(tx: &Tx, agent: Uuid) -> StoreResult<()> {
    agent_changed(tx, agent, METADATA_CHANGED)
}

/// Metadata items of simulated, ready agents of live workspaces' latest
/// builds whose interval has passed since their last result at `now`.
pub fn due_simulated_metadata(
    tx: &Tx,
    agents: &[Uuid],
    now: Micros,
) -> StoreResult<Vec<MetadataRow>> {
    if agents.is_empty() {
        return Ok(Vec::new());
    }
    let marks = super::sql::placeholders(agents.len());
    let mut params = Param::uuids(agents);
    params.push(now.to_param());
    tx.query(
        &format!(
            "SELECT m.agent_id, m.key, m.display_name, m.script, m.interval, m.timeout,
                m.display_order, m.value, m.error, m.collected_at
         FROM workspace_agent_metadata m
         JOIN workspace_agents a ON a.id = m.agent_id
         JOIN workspace_resources r ON r.id = a.resource_id
         JOIN workspace_builds b ON b.job_id = r.job_id
         JOIN workspaces w ON w.latest_build_id = b.id AND w.deleted = 0
         WHERE m.agent_id IN ({marks}) AND a.simulated = 1 AND a.lifecycle_state = 'ready'
           AND m.collected_at + max(m.interval, 1) * 1000000 <= ?
         ORDER BY m.agent_id, m.display_order, m.key"
        ),
        &params,
        metadata_from_row,
    )
}

// -------------------------------------------------------- listening ports

#[derive(Debug, Clone)]
pub struct ListeningPortRow {
    pub port: i64,
    pub network: String,
    pub process_name: String,
}

/// Replaces the ports an agent listens on.
pub fn set_listening_ports(tx: &Tx, agent: Uuid, ports: &[ListeningPortRow]) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM workspace_agent_listening_ports WHERE agent_id = ?",
        args![agent],
    )?;
    for p in ports {
        tx.execute(
            "INSERT INTO workspace_agent_listening_ports (agent_id, port, network, process_name)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (agent_id, port, network)
             DO UPDATE SET process_name = excluded.process_name",
            args![agent, p.port, p.network, p.process_name],
        )?;
    }
    Ok(())
}

pub fn listening_ports(tx: &Tx, agent: Uuid) -> StoreResult<Vec<ListeningPortRow>> {
    tx.query(
        "SELECT port, network, process_name FROM workspace_agent_listening_ports
         WHERE agent_id = ? ORDER BY port, network",
        args![agent],
        |r| {
            Ok(ListeningPortRow {
                port: r.get(0)?,
                network: r.get(1)?,
                process_name: r.get(2)?,
            })
        },
    )
}
