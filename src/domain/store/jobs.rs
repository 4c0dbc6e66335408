//! Provisioner jobs, their logs and their timings.

use super::sql::{args, parse_json, placeholders, Dialect, Param, Row, StoreResult, Tx};
use uuid::Uuid;

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
    fn facts(&self) -> super::status::JobFacts {
        super::status::JobFacts {
            started: self.started_at.is_some(),
            completed: self.completed_at.is_some(),
            canceled: self.canceled_at.is_some(),
            errored: !self.error.is_empty(),
        }
    }

    /// Coder derives a job's status from its timestamps.
    pub fn status(&self) -> &'static str {
        super::status::job_status(&self.facts())
    }

    pub fn is_active(&self) -> bool {
        self.facts().is_active()
    }
}

/// A job no provisioner has taken yet, over the alias `$t`: the pending
/// jobs' partial index's condition, so queries on it read only that index.
macro_rules! pending {
    ($t:literal) => {
        concat!($t, ".started_at IS NULL AND ", $t, ".completed_at IS NULL")
    };
}

/// A pending job's place in the queue is the queue's length (counted once
/// per query) less the jobs queued after it: a job just queued, the one
/// most often shown, has none. The row comparison reads only the jobs after
/// it from the index (`a > x OR (a = x AND b > y)` made the planner read
/// them all: with 200,000 queued, 13 ms instead of 2 ms in SQLite 3.40).
const SELECT: &str = concat!(
    "WITH queue (n) AS (SELECT count(*) FROM provisioner_jobs p WHERE ",
    pending!("p"),
    ")
    SELECT j.id, j.job_type, j.provisioner, j.organization_id, j.initiator_id, j.file_id,
        j.input, j.tags, j.created_at, j.updated_at, j.started_at, j.completed_at, j.canceled_at,
        j.error, j.error_code, j.worker_id, j.worker_name, j.logs_overflowed,
        tv.id, tv.name, t.id, t.name, t.display_name, t.icon, b.id, w.id, w.name, b.transition,
        CASE WHEN ",
    pending!("j"),
    " THEN (SELECT n FROM queue) - (SELECT count(*) FROM provisioner_jobs p WHERE ",
    pending!("p"),
    " AND (p.created_at, p.id) > (j.created_at, j.id))
        ELSE 0 END,
        CASE WHEN ",
    pending!("j"),
    " THEN (SELECT n FROM queue) ELSE 0 END
    FROM provisioner_jobs j
    LEFT JOIN workspace_builds b ON b.job_id = j.id
    LEFT JOIN workspaces w ON w.id = b.workspace_id
    LEFT JOIN template_versions tv ON tv.id = COALESCE(b.template_version_id,
        (SELECT v.id FROM template_versions v WHERE v.job_id = j.id))
    LEFT JOIN templates t ON t.id = tv.template_id"
);

fn from_row(r: &Row) -> StoreResult<JobRow> {
    let s = |i: usize| -> StoreResult<String> { r.get(i) };
    let input: String = r.get(6)?;
    let tags: String = r.get(7)?;
    Ok(JobRow {
        id: r.get(0)?,
        job_type: s(1)?,
        provisioner: s(2)?,
        organization_id: r.get(3)?,
        initiator_id: r.get(4)?,
        file_id: r.get(5)?,
        input: parse_json(&input)?,
        tags: parse_json(&tags)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        started_at: r.get(10)?,
        completed_at: r.get(11)?,
        canceled_at: r.get(12)?,
        error: r.get(13)?,
        error_code: r.get(14)?,
        worker_id: r.get(15)?,
        worker_name: r.get(16)?,
        logs_overflowed: r.get(17)?,
        meta: JobMeta {
            template_version_id: r.get(18)?,
            template_version_name: r.get::<Option<String>>(19)?.unwrap_or_default(),
            template_id: r.get(20)?,
            template_name: r.get::<Option<String>>(21)?.unwrap_or_default(),
            template_display_name: r.get::<Option<String>>(22)?.unwrap_or_default(),
            template_icon: r.get::<Option<String>>(23)?.unwrap_or_default(),
            workspace_build_id: r.get(24)?,
            workspace_id: r.get(25)?,
            workspace_name: r.get::<Option<String>>(26)?.unwrap_or_default(),
            transition: r.get::<Option<String>>(27)?.unwrap_or_default(),
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

pub fn insert(tx: &Tx, j: &NewJob) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO provisioner_jobs (id, job_type, provisioner, organization_id, initiator_id, file_id,
                                       input, tags, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        args![j.id, j.job_type, j.provisioner, j.organization_id, j.initiator_id, j.file_id, j.input, j.tags, j.now],
    )?;
    Ok(())
}

pub fn get(tx: &Tx, id: Uuid) -> StoreResult<Option<JobRow>> {
    let sql = format!("{SELECT} WHERE j.id = ?");
    tx.query_opt(&sql, args![id], from_row)
}

/// What deciding on a new build reads of a job: its state, file and tags,
/// without [`get`]'s joins and queue count (a build is created per due
/// workspace in a lifecycle tick and per create).
pub struct JobState {
    pub facts: super::status::JobFacts,
    pub error: String,
    pub file_id: Uuid,
    pub tags: serde_json::Value,
}

impl JobState {
    pub fn status(&self) -> &'static str {
        super::status::job_status(&self.facts)
    }

    pub fn is_active(&self) -> bool {
        self.facts.is_active()
    }
}

pub fn state(tx: &Tx, id: Uuid) -> StoreResult<Option<JobState>> {
    tx.query_opt(
        "SELECT started_at IS NOT NULL, completed_at IS NOT NULL, canceled_at IS NOT NULL, error, file_id, tags
         FROM provisioner_jobs WHERE id = ?",
        args![id],
        |r| {
            let error: String = r.get(3)?;
            let tags: String = r.get(5)?;
            Ok(JobState {
                facts: super::status::JobFacts {
                    started: r.get(0)?,
                    completed: r.get(1)?,
                    canceled: r.get(2)?,
                    errored: !error.is_empty(),
                },
                error,
                file_id: r.get(4)?,
                tags: parse_json(&tags)?,
            })
        },
    )
}

pub fn get_many(tx: &Tx, ids: &[Uuid]) -> StoreResult<Vec<JobRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("{SELECT} WHERE j.id IN ({})", placeholders(ids.len()));
    let rows = tx.query(&sql, &Param::uuids(ids), from_row)?;
    Ok(rows)
}

/// Takes the oldest pending job for the built-in provisioner, after failing
/// the running jobs whose worker is gone. On PostgreSQL the pick skips rows
/// another transaction holds (Coder's `AcquireProvisionerJob`), so each job
/// goes to exactly one replica.
pub fn acquire(tx: &Tx, worker: Uuid, name: &str, now: Micros) -> StoreResult<Option<Uuid>> {
    fail_orphaned(tx, worker, now)?;
    let skip_locked = match tx.dialect() {
        Dialect::Sqlite => "",
        Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
    };
    let id: Option<Uuid> = tx.query_opt(
        &format!(
            "UPDATE provisioner_jobs SET started_at = ?1, updated_at = ?1, worker_id = ?2, worker_name = ?3
             WHERE id = (SELECT p.id FROM provisioner_jobs p WHERE {}
                         ORDER BY p.created_at, p.id LIMIT 1 {skip_locked})
             RETURNING id",
            pending!("p")
        ),
        args![now, worker, name],
        |r| r.get(0),
    )?;
    if let Some(job) = id {
        job_changed(tx, job)?;
    }
    Ok(id)
}

/// A job of a build changed state: so did its workspace.
fn job_changed(tx: &Tx, job: Uuid) -> StoreResult<()> {
    super::changed_where(
        tx,
        "SELECT workspace_id FROM workspace_builds WHERE job_id = ?",
        &job,
        "state_change",
    )
}

/// Completes a job; `error` empty means success (or canceled when
/// `canceled_at` is set).
pub fn complete(tx: &Tx, id: Uuid, error: &str, error_code: &str, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE provisioner_jobs SET completed_at = ?2, updated_at = ?2, error = ?3, error_code = ?4
         WHERE id = ?1 AND completed_at IS NULL",
        args![id, now, error, error_code],
    )?;
    job_changed(tx, id)?;
    Ok(())
}

/// Marks a job canceled; a job nobody has picked up completes at once.
pub fn cancel(tx: &Tx, id: Uuid, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE provisioner_jobs SET canceled_at = ?2, updated_at = ?2,
                completed_at = CASE WHEN started_at IS NULL THEN ?2 ELSE completed_at END
         WHERE id = ?1",
        args![id, now],
    )?;
    job_changed(tx, id)?;
    Ok(())
}

/// Whether the job's worker should stop: it was canceled, or completed
/// without it (failed as orphaned by another replica that found this one's
/// liveness lock free, see [`fail_orphaned`]).
pub fn is_canceled(tx: &Tx, id: Uuid) -> StoreResult<bool> {
    let (canceled, completed): (Option<i64>, Option<i64>) = tx.query_one(
        "SELECT canceled_at, completed_at FROM provisioner_jobs WHERE id = ?",
        args![id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(canceled.is_some() || completed.is_some())
}

/// Fails the running jobs whose worker is gone, as Coder fails hung jobs.
/// SQLite has one process: every running job not of `worker` (this
/// process's) was left by an earlier run. On PostgreSQL a worker is alive
/// while its replica holds its advisory lock (on the connection it listens
/// on, which the server drops when the process dies); a job whose worker's
/// lock can be taken is orphaned.
pub fn fail_orphaned(tx: &Tx, worker: Uuid, now: Micros) -> StoreResult<usize> {
    let alive = match tx.dialect() {
        Dialect::Sqlite => "",
        Dialect::Postgres => {
            "AND (worker_id IS NULL
                  OR pg_try_advisory_xact_lock(('x' || substr(replace(worker_id, '-', ''), 1, 16))::bit(64)::bigint))"
        }
    };
    let orphans: Vec<Uuid> = tx.query(
        &format!(
            "SELECT id FROM provisioner_jobs
             WHERE started_at IS NOT NULL AND completed_at IS NULL
               AND (worker_id IS NULL OR worker_id <> ?) {alive}"
        ),
        args![worker],
        |r| r.get(0),
    )?;
    for id in &orphans {
        tx.execute(
            "UPDATE provisioner_jobs SET completed_at = ?2, updated_at = ?2,
                    error = CASE WHEN canceled_at IS NULL THEN 'The server stopped while this job was running.' ELSE '' END
             WHERE id = ?1 AND completed_at IS NULL",
            args![id, now],
        )?;
        job_changed(tx, *id)?;
    }
    Ok(orphans.len())
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
    tx: &Tx,
    job: Uuid,
    source: &str,
    level: &str,
    stage: &str,
    output: &str,
    now: Micros,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO provisioner_job_logs (job_id, created_at, source, level, stage, output)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![job, now, source, level, stage, output],
    )?;
    Ok(())
}

/// Logs after `after`, at most `limit`.
pub fn logs(tx: &Tx, job: Uuid, after: i64, limit: i64) -> StoreResult<Vec<LogRow>> {
    let rows = tx.query(
        "SELECT id, created_at, source, level, stage, output FROM provisioner_job_logs
         WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
        args![job, after, limit],
        |r| {
            Ok(LogRow {
                id: r.get(0)?,
                created_at: r.get(1)?,
                source: r.get(2)?,
                level: r.get(3)?,
                stage: r.get(4)?,
                output: r.get(5)?,
            })
        },
    )?;
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

pub fn add_timing(tx: &Tx, t: &TimingRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO provisioner_job_timings (job_id, started_at, ended_at, stage, source, action, resource)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![t.job_id, t.started_at, t.ended_at, t.stage, t.source, t.action, t.resource],
    )?;
    Ok(())
}

pub fn timings(tx: &Tx, job: Uuid) -> StoreResult<Vec<TimingRow>> {
    let rows = tx.query(
        "SELECT started_at, ended_at, stage, source, action, resource FROM provisioner_job_timings
         WHERE job_id = ? ORDER BY started_at, rowid",
        args![job],
        |r| {
            Ok(TimingRow {
                job_id: job,
                started_at: r.get(0)?,
                ended_at: r.get(1)?,
                stage: r.get(2)?,
                source: r.get(3)?,
                action: r.get(4)?,
                resource: r.get(5)?,
            })
        },
    )?;
    Ok(rows)
}

/// Jobs that belong to neither a build nor a template version (dry runs
/// belong to none): there are none unless a transaction left one behind.
#[cfg(test)]
pub fn count_orphans(tx: &Tx) -> StoreResult<i64> {
    tx.value(
        "SELECT count(*) FROM provisioner_jobs j
         WHERE j.job_type <> 'template_version_dry_run' AND NOT EXISTS (SELECT 1 FROM workspace_builds b WHERE b.job_id = j.id)
           AND NOT EXISTS (SELECT 1 FROM template_versions v WHERE v.job_id = j.id)",
        args![],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::store::StoreError;
    use crate::testing::World;

    #[test]
    fn a_pending_jobs_place_counts_the_jobs_queued_before_it_and_ties_go_by_id() {
        let w = World::new();
        let r: Result<(), StoreError> = w.running.app.db.write_blocking(|tx| {
            let any: Uuid = tx.value("SELECT id FROM provisioner_jobs LIMIT 1", args![])?;
            let model = get(tx, any)?.ok_or(StoreError::NotFound)?;
            let mut ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
            // The middle two are queued at the same moment: id order.
            ids[1..3].sort();
            for (id, at) in ids.iter().zip([10, 20, 20, 30]) {
                insert(
                    tx,
                    &NewJob {
                        id: *id,
                        job_type: "template_version_import",
                        provisioner: model.provisioner.clone(),
                        organization_id: model.organization_id,
                        initiator_id: model.initiator_id,
                        file_id: model.file_id,
                        input: serde_json::json!({}),
                        tags: serde_json::json!({}),
                        now: at,
                    },
                )?;
            }
            let jobs = get_many(tx, &ids)?;
            for (k, id) in ids.iter().enumerate() {
                let j = jobs.iter().find(|j| j.id == *id).expect("read back");
                assert_eq!(
                    (j.queue_position, j.queue_size),
                    (k as i64 + 1, 4),
                    "job {k}"
                );
            }
            // Undone, so the provisioner never sees them.
            Err(StoreError::Other("rolled back".into()))
        });
        assert!(r.is_err());
    }
}
