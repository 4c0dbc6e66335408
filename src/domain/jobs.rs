//! Provisioner jobs as clients see them (`codersdk.ProvisionerJob`) and
//! their logs.

use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::domain::store::jobs::{JobRow, LogRow};
use crate::sdk::{self, format_opt_time, format_time, Micros};

/// The built-in provisioner daemon's identity.
pub const WORKER_NAME: &str = "warren-built-in";

#[derive(Debug, Clone, Serialize)]
pub struct ProvisionerJob {
    pub id: Uuid,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canceled_at: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_code: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<Uuid>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub worker_name: String,
    pub file_id: Uuid,
    pub tags: Value,
    pub queue_position: i64,
    pub queue_size: i64,
    pub organization_id: Uuid,
    pub initiator_id: Uuid,
    pub input: Value,
    #[serde(rename = "type")]
    pub kind: String,
    pub metadata: Value,
    pub logs_overflowed: bool,
}

pub fn render(j: &JobRow) -> ProvisionerJob {
    let mut input = Map::new();
    if let Some(v) = j.input.get("template_version_id") {
        input.insert("template_version_id".into(), v.clone());
    }
    if let Some(v) = j.input.get("workspace_build_id") {
        input.insert("workspace_build_id".into(), v.clone());
    }
    let m = &j.meta;
    let mut metadata = json!({
        "template_version_name": m.template_version_name,
        "template_id": m.template_id.unwrap_or_default(),
        "template_name": m.template_name,
        "template_display_name": m.template_display_name,
        "template_icon": m.template_icon,
        "workspace_name": m.workspace_name,
    });
    if let Some(w) = m.workspace_id {
        metadata["workspace_id"] = json!(w);
    }
    if !m.transition.is_empty() {
        metadata["workspace_build_transition"] = json!(m.transition);
    }
    ProvisionerJob {
        id: j.id,
        created_at: format_time(j.created_at),
        started_at: format_opt_time(j.started_at),
        completed_at: format_opt_time(j.completed_at),
        canceled_at: format_opt_time(j.canceled_at),
        error: j.error.clone(),
        error_code: j.error_code.clone(),
        status: j.status().into(),
        worker_id: j.worker_id,
        worker_name: j.worker_name.clone(),
        file_id: j.file_id,
        tags: j.tags.clone(),
        queue_position: j.queue_position,
        queue_size: j.queue_size,
        organization_id: j.organization_id,
        initiator_id: j.initiator_id,
        input: Value::Object(input),
        kind: j.job_type.clone(),
        metadata,
        logs_overflowed: j.logs_overflowed,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProvisionerJobLog {
    pub id: i64,
    pub created_at: String,
    pub log_source: String,
    pub log_level: String,
    pub stage: String,
    pub output: String,
}

pub fn render_log(l: &LogRow) -> ProvisionerJobLog {
    ProvisionerJobLog {
        id: l.id,
        created_at: format_time(l.created_at),
        log_source: l.source.clone(),
        log_level: l.level.clone(),
        stage: l.stage.clone(),
        output: l.output.clone(),
    }
}

/// The built-in provisioner always matches every job.
pub fn matched_provisioners(now: Micros) -> Value {
    json!({"count": 1, "available": 1, "most_recently_seen": sdk::format_time(now)})
}

/// Jobs a previous run left running are failed at start-up, since the
/// process that ran them is gone; returns how many.
pub fn fail_orphaned(tx: &crate::domain::store::Tx, now: Micros) -> crate::error::ApiResult<usize> {
    Ok(crate::domain::store::jobs::fail_orphaned(tx, now)?)
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
