//! Provisioner jobs as clients see them (`codersdk.ProvisionerJob`) and
//! their logs.

use uuid::Uuid;

use crate::authz::{Guarded, Object};
use crate::domain::store::jobs::{JobRow, LogRow};
use crate::sdk::{
    MatchedProvisioners, Micros, ProvisionerJob, ProvisionerJobInput, ProvisionerJobLog,
    ProvisionerJobMetadata, Time,
};

impl Guarded for JobRow {
    fn object(&self) -> Object<'_> {
        Object::ProvisionerJob {
            org: self.organization_id,
        }
    }
}

/// The built-in provisioner daemon's identity.
pub const WORKER_NAME: &str = "warren-built-in";

pub fn render(j: &JobRow) -> ProvisionerJob {
    // The stored input also carries private fields (orphan, log level).
    let input_id = |k: &str| {
        j.input
            .get(k)
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
    };
    let m = &j.meta;
    ProvisionerJob {
        id: j.id,
        created_at: Time(j.created_at),
        started_at: Time::opt(j.started_at),
        completed_at: Time::opt(j.completed_at),
        canceled_at: Time::opt(j.canceled_at),
        error: j.error.clone(),
        error_code: j.error_code.clone(),
        status: j.status(),
        worker_id: j.worker_id,
        worker_name: j.worker_name.clone(),
        file_id: j.file_id,
        tags: serde_json::from_value(j.tags.clone()).unwrap_or_default(),
        queue_position: j.queue_position,
        queue_size: j.queue_size,
        organization_id: j.organization_id,
        initiator_id: j.initiator_id,
        input: ProvisionerJobInput {
            template_version_id: input_id("template_version_id"),
            workspace_build_id: input_id("workspace_build_id"),
            error: String::new(),
        },
        kind: j.job_type.clone(),
        metadata: ProvisionerJobMetadata {
            template_version_name: m.template_version_name.clone(),
            template_id: m.template_id.unwrap_or_default(),
            template_name: m.template_name.clone(),
            template_display_name: m.template_display_name.clone(),
            template_icon: m.template_icon.clone(),
            workspace_id: m.workspace_id,
            workspace_name: m.workspace_name.clone(),
            workspace_build_transition: m.transition.clone(),
        },
        logs_overflowed: j.logs_overflowed,
    }
}

pub fn render_log(l: &LogRow) -> ProvisionerJobLog {
    ProvisionerJobLog {
        id: l.id,
        created_at: Time(l.created_at),
        log_source: l.source.clone(),
        log_level: l.level.clone(),
        stage: l.stage.clone(),
        output: l.output.clone(),
    }
}

/// The built-in provisioner always matches every job.
pub fn matched_provisioners(now: Micros) -> MatchedProvisioners {
    MatchedProvisioners {
        count: 1,
        available: 1,
        most_recently_seen: Time(now),
    }
}

/// Jobs whose worker is gone (a previous run of this process, or on
/// PostgreSQL a dead replica) are failed; returns how many. `worker` is
/// this replica's id, whose own running jobs are alive.
pub fn fail_orphaned(
    tx: &crate::domain::store::Tx,
    worker: uuid::Uuid,
    now: Micros,
) -> crate::error::ApiResult<usize> {
    Ok(crate::domain::store::jobs::fail_orphaned(tx, worker, now)?)
}

/// The logs of a job the subject was allowed to read (through its build or
/// template version); only those accessors make one.
#[derive(Debug, Clone, Copy)]
pub struct JobLogs {
    job: uuid::Uuid,
}

impl JobLogs {
    pub(crate) fn of(job: uuid::Uuid) -> JobLogs {
        JobLogs { job }
    }

    /// Logs after `after`, at most `limit`, and whether the job has ended
    /// (so that nothing more will come).
    pub fn page(
        &self,
        tx: &crate::domain::store::Tx,
        after: i64,
        limit: i64,
    ) -> crate::error::ApiResult<(Vec<ProvisionerJobLog>, bool)> {
        let logs = crate::domain::store::jobs::logs(tx, self.job, after, limit)?;
        let done =
            crate::domain::store::jobs::get(tx, self.job)?.is_none_or(|j| j.completed_at.is_some());
        Ok((logs.iter().map(render_log).collect(), done))
    }
}
