//! Workspace builds and the parameter values each one used.

use super::sql::{args, placeholders, Param, Row, StoreResult, ToParam, Tx};
use uuid::Uuid;

use crate::sdk::Micros;

#[derive(Debug, Clone, Default)]
pub struct BuildRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub template_version_id: Uuid,
    pub build_number: i64,
    pub transition: String,
    pub initiator_id: Uuid,
    pub reason: String,
    pub job_id: Uuid,
    pub deadline: Option<Micros>,
    pub max_deadline: Option<Micros>,
    pub daily_cost: i64,
    pub template_version_preset_id: Option<Uuid>,
    pub has_ai_task: Option<bool>,
    pub has_external_agent: Option<bool>,
    pub created_at: Micros,
    pub updated_at: Micros,
    // Joined.
    pub template_version_name: String,
    pub initiator_name: String,
}

const SELECT: &str = "SELECT b.id, b.workspace_id, b.template_version_id, b.build_number, b.transition,
        b.initiator_id, b.reason, b.job_id, b.deadline, b.max_deadline, b.daily_cost,
        b.template_version_preset_id, b.has_ai_task, b.has_external_agent, b.created_at, b.updated_at,
        v.name, u.username
    FROM workspace_builds b JOIN template_versions v ON v.id = b.template_version_id
    JOIN users u ON u.id = b.initiator_id";

fn from_row(r: &Row) -> StoreResult<BuildRow> {
    Ok(BuildRow {
        id: r.get(0)?,
        workspace_id: r.get(1)?,
        template_version_id: r.get(2)?,
        build_number: r.get(3)?,
        transition: r.get(4)?,
        initiator_id: r.get(5)?,
        reason: r.get(6)?,
        job_id: r.get(7)?,
        deadline: r.get(8)?,
        max_deadline: r.get(9)?,
        daily_cost: r.get(10)?,
        template_version_preset_id: r.get(11)?,
        has_ai_task: r.get(12)?,
        has_external_agent: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
        template_version_name: r.get(16)?,
        initiator_name: r.get(17)?,
    })
}

/// Inserts a build; the unique (workspace, build number) index makes a
/// racing second insert fail, which callers turn into 409.
pub fn insert(tx: &Tx, b: &BuildRow, state: Option<&[u8]>) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO workspace_builds (id, workspace_id, template_version_id, build_number, transition,
            initiator_id, reason, job_id, provisioner_state, template_version_preset_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
        args![b.id, b.workspace_id, b.template_version_id, b.build_number, b.transition, b.initiator_id, b.reason, b.job_id, state, b.template_version_preset_id, b.created_at],
    )?;
    Ok(())
}

pub fn get(tx: &Tx, id: Uuid) -> StoreResult<Option<BuildRow>> {
    let sql = format!("{SELECT} WHERE b.id = ?");
    tx.query_opt(&sql, args![id], from_row)
}

pub fn get_by_job(tx: &Tx, job: Uuid) -> StoreResult<Option<BuildRow>> {
    let sql = format!("{SELECT} WHERE b.job_id = ?");
    tx.query_opt(&sql, args![job], from_row)
}

pub fn get_by_number(tx: &Tx, workspace: Uuid, number: i64) -> StoreResult<Option<BuildRow>> {
    let sql = format!("{SELECT} WHERE b.workspace_id = ? AND b.build_number = ?");
    tx.query_opt(&sql, args![workspace, number], from_row)
}

pub fn get_many(tx: &Tx, ids: &[Uuid]) -> StoreResult<Vec<BuildRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("{SELECT} WHERE b.id IN ({})", placeholders(ids.len()));
    let rows = tx.query(&sql, &Param::uuids(ids), from_row)?;
    Ok(rows)
}

/// Builds of a workspace, newest first.
pub fn list(tx: &Tx, workspace: Uuid, since: Option<Micros>) -> StoreResult<Vec<BuildRow>> {
    let sql = format!(
        "{SELECT} WHERE b.workspace_id = ?1 AND (?2 IS NULL OR b.created_at > ?2) ORDER BY b.build_number DESC"
    );
    let rows = tx.query(&sql, args![workspace, since], from_row)?;
    Ok(rows)
}

pub fn state(tx: &Tx, id: Uuid) -> StoreResult<Option<Vec<u8>>> {
    let s: Option<Option<Vec<u8>>> = tx.query_opt(
        "SELECT provisioner_state FROM workspace_builds WHERE id = ?",
        args![id],
        |r| r.get(0),
    )?;
    Ok(s.flatten())
}

pub struct Completion {
    pub deadline: Option<Micros>,
    pub max_deadline: Option<Micros>,
    pub daily_cost: i64,
    pub state: Vec<u8>,
    pub has_ai_task: bool,
    pub has_external_agent: bool,
}

pub fn complete(tx: &Tx, id: Uuid, c: &Completion, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspace_builds SET deadline = ?2, max_deadline = ?3, daily_cost = ?4, provisioner_state = ?5,
            has_ai_task = ?6, has_external_agent = ?7, updated_at = ?8 WHERE id = ?1",
        args![id, c.deadline, c.max_deadline, c.daily_cost, c.state, c.has_ai_task, c.has_external_agent, now],
    )?;
    super::changed_where(
        tx,
        "SELECT workspace_id FROM workspace_builds WHERE id = ?",
        &id,
        "state_change",
    )?;
    Ok(())
}

/// The build's daily cost, as its quota commit granted it.
pub fn set_daily_cost(tx: &Tx, id: Uuid, cost: i64, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspace_builds SET daily_cost = ?2, updated_at = ?3 WHERE id = ?1",
        args![id, cost, now],
    )?;
    Ok(())
}

pub fn set_deadline(tx: &Tx, id: Uuid, deadline: Option<Micros>, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspace_builds SET deadline = ?2, updated_at = ?3 WHERE id = ?1",
        args![id, deadline, now],
    )?;
    super::changed_where(
        tx,
        "SELECT workspace_id FROM workspace_builds WHERE id = ?",
        &id,
        "deadline",
    )?;
    Ok(())
}

/// What set a build's deadline last: (reason, when, by whom or what).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeadlineReason {
    pub reason: String,
    pub set_at: Option<Micros>,
    pub set_by: String,
}

/// Records why the deadline is what it now is.
pub fn set_deadline_reason(
    tx: &Tx,
    id: Uuid,
    reason: &str,
    by: &str,
    now: Micros,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspace_builds SET deadline_reason = ?2, deadline_set_by = ?3, deadline_set_at = ?4
         WHERE id = ?1",
        args![id, reason, by, now],
    )?;
    Ok(())
}

pub fn deadline_reason(tx: &Tx, id: Uuid) -> StoreResult<DeadlineReason> {
    tx.query_one(
        "SELECT deadline_reason, deadline_set_at, deadline_set_by FROM workspace_builds WHERE id = ?",
        args![id],
        |r| {
            Ok(DeadlineReason {
                reason: r.get(0)?,
                set_at: r.get(1)?,
                set_by: r.get(2)?,
            })
        },
    )
}

pub fn insert_parameters(tx: &Tx, build: Uuid, values: &[(String, String)]) -> StoreResult<()> {
    // A statement per 200 values (800 bound parameters, far below either
    // engine's limit) rather than one per value.
    for (c, chunk) in values.chunks(200).enumerate() {
        let mut bound = Vec::with_capacity(chunk.len() * 4);
        for (i, (name, value)) in chunk.iter().enumerate() {
            bound.extend([
                Param::uuid(build),
                Param::Int((c * 200 + i) as i64),
                name.to_param(),
                value.to_param(),
            ]);
        }
        let rows = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
        tx.execute(
            &format!("INSERT INTO workspace_build_parameters (workspace_build_id, position, name, value) VALUES {rows}"),
            &bound,
        )?;
    }
    Ok(())
}

pub fn parameters(tx: &Tx, build: Uuid) -> StoreResult<Vec<(String, String)>> {
    tx.query(
        "SELECT name, value FROM workspace_build_parameters WHERE workspace_build_id = ? ORDER BY position",
        args![build],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}
