//! Workspace builds and the parameter values each one used.

use rusqlite::{params, params_from_iter, Connection, Row};
use uuid::Uuid;

use super::optional;
use crate::error::ApiResult;
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

fn uuid(s: String) -> Uuid {
    Uuid::parse_str(&s).unwrap_or_default()
}

fn from_row(r: &Row) -> rusqlite::Result<BuildRow> {
    Ok(BuildRow {
        id: uuid(r.get(0)?),
        workspace_id: uuid(r.get(1)?),
        template_version_id: uuid(r.get(2)?),
        build_number: r.get(3)?,
        transition: r.get(4)?,
        initiator_id: uuid(r.get(5)?),
        reason: r.get(6)?,
        job_id: uuid(r.get(7)?),
        deadline: r.get(8)?,
        max_deadline: r.get(9)?,
        daily_cost: r.get(10)?,
        template_version_preset_id: r.get::<_, Option<String>>(11)?.map(uuid),
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
pub fn insert(conn: &Connection, b: &BuildRow, state: Option<&[u8]>) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO workspace_builds (id, workspace_id, template_version_id, build_number, transition,
            initiator_id, reason, job_id, provisioner_state, template_version_preset_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
        params![
            b.id.to_string(),
            b.workspace_id.to_string(),
            b.template_version_id.to_string(),
            b.build_number,
            b.transition,
            b.initiator_id.to_string(),
            b.reason,
            b.job_id.to_string(),
            state,
            b.template_version_preset_id.map(|p| p.to_string()),
            b.created_at
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: Uuid) -> ApiResult<Option<BuildRow>> {
    let sql = format!("{SELECT} WHERE b.id = ?");
    optional(conn.query_row(&sql, [id.to_string()], from_row))
}

pub fn get_by_job(conn: &Connection, job: Uuid) -> ApiResult<Option<BuildRow>> {
    let sql = format!("{SELECT} WHERE b.job_id = ?");
    optional(conn.query_row(&sql, [job.to_string()], from_row))
}

pub fn get_by_number(
    conn: &Connection,
    workspace: Uuid,
    number: i64,
) -> ApiResult<Option<BuildRow>> {
    let sql = format!("{SELECT} WHERE b.workspace_id = ? AND b.build_number = ?");
    optional(conn.query_row(&sql, params![workspace.to_string(), number], from_row))
}

pub fn get_many(conn: &Connection, ids: &[Uuid]) -> ApiResult<Vec<BuildRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{SELECT} WHERE b.id IN ({})",
        super::placeholders(ids.len())
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(
            params_from_iter(ids.iter().map(|i| i.to_string())),
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Builds of a workspace, newest first.
pub fn list(conn: &Connection, workspace: Uuid, since: Option<Micros>) -> ApiResult<Vec<BuildRow>> {
    let sql = format!(
        "{SELECT} WHERE b.workspace_id = ?1 AND (?2 IS NULL OR b.created_at > ?2) ORDER BY b.build_number DESC"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params![workspace.to_string(), since], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn state(conn: &Connection, id: Uuid) -> ApiResult<Option<Vec<u8>>> {
    let s: Option<Option<Vec<u8>>> = optional(conn.query_row(
        "SELECT provisioner_state FROM workspace_builds WHERE id = ?",
        [id.to_string()],
        |r| r.get(0),
    ))?;
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

pub fn complete(conn: &Connection, id: Uuid, c: &Completion, now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE workspace_builds SET deadline = ?2, max_deadline = ?3, daily_cost = ?4, provisioner_state = ?5,
            has_ai_task = ?6, has_external_agent = ?7, updated_at = ?8 WHERE id = ?1",
        params![
            id.to_string(),
            c.deadline,
            c.max_deadline,
            c.daily_cost,
            c.state,
            c.has_ai_task,
            c.has_external_agent,
            now
        ],
    )?;
    super::changed_where(
        conn,
        "SELECT workspace_id FROM workspace_builds WHERE id = ?",
        &id.to_string(),
        "state_change",
    )?;
    Ok(())
}

pub fn set_deadline(
    conn: &Connection,
    id: Uuid,
    deadline: Option<Micros>,
    now: Micros,
) -> ApiResult<()> {
    conn.execute(
        "UPDATE workspace_builds SET deadline = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.to_string(), deadline, now],
    )?;
    super::changed_where(
        conn,
        "SELECT workspace_id FROM workspace_builds WHERE id = ?",
        &id.to_string(),
        "deadline",
    )?;
    Ok(())
}

pub fn insert_parameters(
    conn: &Connection,
    build: Uuid,
    values: &[(String, String)],
) -> ApiResult<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO workspace_build_parameters (workspace_build_id, position, name, value) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (i, (name, value)) in values.iter().enumerate() {
        stmt.execute(params![build.to_string(), i as i64, name, value])?;
    }
    Ok(())
}

pub fn parameters(conn: &Connection, build: Uuid) -> ApiResult<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, value FROM workspace_build_parameters WHERE workspace_build_id = ? ORDER BY position",
    )?;
    let rows = stmt
        .query_map([build.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
