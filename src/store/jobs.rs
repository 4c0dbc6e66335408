//! Provisioner jobs, their logs and their timings.

use rusqlite::{params, params_from_iter, Connection, Row};
use uuid::Uuid;

use super::optional;
use crate::error::ApiResult;
use crate::sdk::Micros;

#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: Uuid,
    pub job_type: String,
    pub provisioner: String,
    pub organization_id: Uuid,
    pub initiator_id: Uuid,
    pub file_id: Uuid,
    pub input: serde_json::Value,
    pub tags: serde_json::Value,
    pub created_at: Micros,
    pub updated_at: Micros,
    pub started_at: Option<Micros>,
    pub completed_at: Option<Micros>,
    pub canceled_at: Option<Micros>,
    pub error: String,
    pub error_code: String,
    pub worker_id: Option<Uuid>,
    pub worker_name: String,
    pub logs_overflowed: bool,
    /// From the version or build the job belongs to.
    pub meta: JobMeta,
    /// 1-based place among pending jobs, and how many are pending.
    pub queue_position: i64,
    pub queue_size: i64,
}

#[derive(Debug, Clone, Default)]
pub struct JobMeta {
    pub template_version_id: Option<Uuid>,
    pub template_version_name: String,
    pub template_id: Option<Uuid>,
    pub template_name: String,
    pub template_display_name: String,
    pub template_icon: String,
    pub workspace_build_id: Option<Uuid>,
    pub workspace_id: Option<Uuid>,
    pub workspace_name: String,
    pub transition: String,
}

impl JobRow {
    /// Coder derives a job's status from its timestamps.
    pub fn status(&self) -> &'static str {
        match (self.completed_at, self.canceled_at, self.started_at) {
            (Some(_), _, _) if !self.error.is_empty() => "failed",
            (Some(_), Some(_), _) => "canceled",
            (Some(_), None, _) => "succeeded",
            (None, Some(_), _) => "canceling",
            (None, None, None) => "pending",
            (None, None, Some(_)) => "running",
        }
    }

    pub fn is_active(&self) -> bool {
        self.completed_at.is_none()
    }
}

const SELECT: &str = "SELECT j.id, j.job_type, j.provisioner, j.organization_id, j.initiator_id, j.file_id,
        j.input, j.tags, j.created_at, j.updated_at, j.started_at, j.completed_at, j.canceled_at,
        j.error, j.error_code, j.worker_id, j.worker_name, j.logs_overflowed,
        tv.id, tv.name, t.id, t.name, t.display_name, t.icon, b.id, w.id, w.name, b.transition,
        CASE WHEN j.started_at IS NULL AND j.completed_at IS NULL THEN
            (SELECT count(*) FROM provisioner_jobs p WHERE p.started_at IS NULL AND p.completed_at IS NULL
               AND (p.created_at < j.created_at OR (p.created_at = j.created_at AND p.id <= j.id)))
        ELSE 0 END,
        CASE WHEN j.started_at IS NULL AND j.completed_at IS NULL THEN
            (SELECT count(*) FROM provisioner_jobs p WHERE p.started_at IS NULL AND p.completed_at IS NULL)
        ELSE 0 END
    FROM provisioner_jobs j
    LEFT JOIN workspace_builds b ON b.job_id = j.id
    LEFT JOIN workspaces w ON w.id = b.workspace_id
    LEFT JOIN template_versions tv ON tv.id = COALESCE(b.template_version_id,
        (SELECT v.id FROM template_versions v WHERE v.job_id = j.id))
    LEFT JOIN templates t ON t.id = tv.template_id";

fn uuid_opt(s: Option<String>) -> Option<Uuid> {
    s.and_then(|s| Uuid::parse_str(&s).ok())
}

fn from_row(r: &Row) -> rusqlite::Result<JobRow> {
    let s = |i: usize| -> rusqlite::Result<String> { r.get(i) };
    let input: String = r.get(6)?;
    let tags: String = r.get(7)?;
    Ok(JobRow {
        id: Uuid::parse_str(&s(0)?).unwrap_or_default(),
        job_type: s(1)?,
        provisioner: s(2)?,
        organization_id: Uuid::parse_str(&s(3)?).unwrap_or_default(),
        initiator_id: Uuid::parse_str(&s(4)?).unwrap_or_default(),
        file_id: Uuid::parse_str(&s(5)?).unwrap_or_default(),
        input: serde_json::from_str(&input).unwrap_or_default(),
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        started_at: r.get(10)?,
        completed_at: r.get(11)?,
        canceled_at: r.get(12)?,
        error: r.get(13)?,
        error_code: r.get(14)?,
        worker_id: uuid_opt(r.get(15)?),
        worker_name: r.get(16)?,
        logs_overflowed: r.get(17)?,
        meta: JobMeta {
            template_version_id: uuid_opt(r.get(18)?),
            template_version_name: r.get::<_, Option<String>>(19)?.unwrap_or_default(),
            template_id: uuid_opt(r.get(20)?),
            template_name: r.get::<_, Option<String>>(21)?.unwrap_or_default(),
            template_display_name: r.get::<_, Option<String>>(22)?.unwrap_or_default(),
            template_icon: r.get::<_, Option<String>>(23)?.unwrap_or_default(),
            workspace_build_id: uuid_opt(r.get(24)?),
            workspace_id: uuid_opt(r.get(25)?),
            workspace_name: r.get::<_, Option<String>>(26)?.unwrap_or_default(),
            transition: r.get::<_, Option<String>>(27)?.unwrap_or_default(),
        },
        queue_position: r.get(28)?,
        queue_size: r.get(29)?,
    })
}

pub struct NewJob {
    pub id: Uuid,
    pub job_type: &'static str,
    pub provisioner: String,
    pub organization_id: Uuid,
    pub initiator_id: Uuid,
    pub file_id: Uuid,
    pub input: serde_json::Value,
    pub tags: serde_json::Value,
    pub now: Micros,
}

pub fn insert(conn: &Connection, j: &NewJob) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO provisioner_jobs (id, job_type, provisioner, organization_id, initiator_id, file_id,
                                       input, tags, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![
            j.id.to_string(),
            j.job_type,
            j.provisioner,
            j.organization_id.to_string(),
            j.initiator_id.to_string(),
            j.file_id.to_string(),
            j.input.to_string(),
            j.tags.to_string(),
            j.now
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: Uuid) -> ApiResult<Option<JobRow>> {
    let sql = format!("{SELECT} WHERE j.id = ?");
    optional(conn.query_row(&sql, [id.to_string()], from_row))
}

pub fn get_many(conn: &Connection, ids: &[Uuid]) -> ApiResult<Vec<JobRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{SELECT} WHERE j.id IN ({})",
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

/// Takes the oldest pending job for the built-in provisioner.
pub fn acquire(
    conn: &Connection,
    worker: Uuid,
    name: &str,
    now: Micros,
) -> ApiResult<Option<Uuid>> {
    let id: Option<String> = optional(conn.query_row(
        "UPDATE provisioner_jobs SET started_at = ?1, updated_at = ?1, worker_id = ?2, worker_name = ?3
         WHERE id = (SELECT id FROM provisioner_jobs WHERE started_at IS NULL AND completed_at IS NULL
                     ORDER BY created_at, id LIMIT 1)
         RETURNING id",
        params![now, worker.to_string(), name],
        |r| r.get(0),
    ))?;
    if let Some(job) = &id {
        job_changed(conn, job)?;
    }
    Ok(uuid_opt(id))
}

/// A job of a build changed state: so did its workspace.
fn job_changed(conn: &Connection, job: &str) -> ApiResult<()> {
    super::changed_where(
        conn,
        "SELECT workspace_id FROM workspace_builds WHERE job_id = ?",
        job,
        "state_change",
    )
}

/// Completes a job; `error` empty means success (or canceled when
/// `canceled_at` is set).
pub fn complete(
    conn: &Connection,
    id: Uuid,
    error: &str,
    error_code: &str,
    now: Micros,
) -> ApiResult<()> {
    conn.execute(
        "UPDATE provisioner_jobs SET completed_at = ?2, updated_at = ?2, error = ?3, error_code = ?4
         WHERE id = ?1 AND completed_at IS NULL",
        params![id.to_string(), now, error, error_code],
    )?;
    job_changed(conn, &id.to_string())?;
    Ok(())
}

/// Marks a job canceled; a job nobody has picked up completes at once.
pub fn cancel(conn: &Connection, id: Uuid, now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE provisioner_jobs SET canceled_at = ?2, updated_at = ?2,
                completed_at = CASE WHEN started_at IS NULL THEN ?2 ELSE completed_at END
         WHERE id = ?1",
        params![id.to_string(), now],
    )?;
    job_changed(conn, &id.to_string())?;
    Ok(())
}

pub fn is_canceled(conn: &Connection, id: Uuid) -> ApiResult<bool> {
    let c: Option<i64> = conn.query_row(
        "SELECT canceled_at FROM provisioner_jobs WHERE id = ?",
        [id.to_string()],
        |r| r.get(0),
    )?;
    Ok(c.is_some())
}

/// Jobs a previous run left running: they are failed at start-up, since the
/// process that ran them is gone.
pub fn fail_orphaned(conn: &Connection, now: Micros) -> ApiResult<usize> {
    Ok(conn.execute(
        "UPDATE provisioner_jobs SET completed_at = ?1, updated_at = ?1,
                error = CASE WHEN canceled_at IS NULL THEN 'The server stopped while this job was running.' ELSE '' END
         WHERE started_at IS NOT NULL AND completed_at IS NULL",
        [now],
    )?)
}

#[derive(Debug, Clone)]
pub struct LogRow {
    pub id: i64,
    pub created_at: Micros,
    pub source: String,
    pub level: String,
    pub stage: String,
    pub output: String,
}

pub fn append_log(
    conn: &Connection,
    job: Uuid,
    source: &str,
    level: &str,
    stage: &str,
    output: &str,
    now: Micros,
) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO provisioner_job_logs (job_id, created_at, source, level, stage, output)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![job.to_string(), now, source, level, stage, output],
    )?;
    Ok(())
}

/// Logs after `after`, at most `limit`.
pub fn logs(conn: &Connection, job: Uuid, after: i64, limit: i64) -> ApiResult<Vec<LogRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, created_at, source, level, stage, output FROM provisioner_job_logs
         WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
    )?;
    let rows = stmt
        .query_map(params![job.to_string(), after, limit], |r| {
            Ok(LogRow {
                id: r.get(0)?,
                created_at: r.get(1)?,
                source: r.get(2)?,
                level: r.get(3)?,
                stage: r.get(4)?,
                output: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[derive(Debug, Clone)]
pub struct TimingRow {
    pub job_id: Uuid,
    pub started_at: Micros,
    pub ended_at: Micros,
    pub stage: String,
    pub source: String,
    pub action: String,
    pub resource: String,
}

pub fn add_timing(conn: &Connection, t: &TimingRow) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO provisioner_job_timings (job_id, started_at, ended_at, stage, source, action, resource)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            t.job_id.to_string(),
            t.started_at,
            t.ended_at,
            t.stage,
            t.source,
            t.action,
            t.resource
        ],
    )?;
    Ok(())
}

pub fn timings(conn: &Connection, job: Uuid) -> ApiResult<Vec<TimingRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT started_at, ended_at, stage, source, action, resource FROM provisioner_job_timings
         WHERE job_id = ? ORDER BY started_at, rowid",
    )?;
    let rows = stmt
        .query_map([job.to_string()], |r| {
            Ok(TimingRow {
                job_id: job,
                started_at: r.get(0)?,
                ended_at: r.get(1)?,
                stage: r.get(2)?,
                source: r.get(3)?,
                action: r.get(4)?,
                resource: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
