//! Template version dry runs: the built-in provisioner plans a version with
//! given parameter values, as a workspace's first build would, without a
//! workspace. Coder authorizes them as workspaces of the version's
//! organization owned by whoever started them.

use serde_json::json;
use uuid::Uuid;

use crate::authz::{Action, Object, Subject};
use crate::domain::jobs::{self, JobLogs};
use crate::domain::store::jobs::{self as job_store, JobRow, NewJob};
use crate::domain::store::resources;
use crate::domain::store::template_versions::VersionRow;
use crate::domain::store::Tx;
use crate::domain::templates;
use crate::error::{ApiError, ApiResult};
use crate::sdk::{self, Micros};

/// The job type of a dry run.
pub const JOB_TYPE: &str = "template_version_dry_run";

/// A workspace of `owner` in the version's organization, as the dry run's
/// rights are checked.
fn as_workspace(v: &VersionRow, owner: Uuid) -> Object<'static> {
    Object::Workspace {
        org: v.organization_id,
        owner,
        users: &[],
        groups: &[],
        dormant: false,
    }
}

/// `POST /templateversions/{templateversion}/dry-run`: queues the job.
pub fn create(
    tx: &Tx,
    subject: &Subject,
    version: Uuid,
    req: &sdk::CreateTemplateVersionDryRunRequest,
    now: Micros,
) -> ApiResult<sdk::ProvisionerJob> {
    let v = templates::get_version(tx, subject, version)?;
    // Whoever may not create workspaces may not plan one (Coder's check).
    subject.require_visible(
        Action::Create,
        Object::NewWorkspace {
            org: v.organization_id,
            owner: subject.user_id,
        },
    )?;
    let import = job_store::get(tx, v.job_id)?.ok_or_else(|| ApiError::internal("job missing"))?;
    if import.completed_at.is_none() {
        return Err(ApiError::bad_request(
            "Template version import job hasn't completed!",
        ));
    }
    let id = crate::domain::new_id();
    job_store::insert(
        tx,
        &NewJob {
            id,
            job_type: JOB_TYPE,
            provisioner: import.provisioner.clone(),
            organization_id: v.organization_id,
            initiator_id: subject.user_id,
            file_id: import.file_id,
            input: json!({
                "template_version_id": v.id,
                "workspace_name": req.workspace_name,
                "rich_parameter_values": req.rich_parameter_values,
                "user_variable_values": req.user_variable_values,
            }),
            tags: import.tags.clone(),
            now,
        },
    )?;
    let job = job_store::get(tx, id)?.ok_or_else(|| ApiError::internal("job vanished"))?;
    Ok(jobs::render(&job))
}

/// The dry run `job` of `version`, checked in Coder's order: a job that
/// is no dry run, of another version, or of someone whose workspaces the
/// subject may not `action` is refused.
fn dry_run(
    tx: &Tx,
    subject: &Subject,
    version: Uuid,
    job: &str,
    action: Action,
) -> ApiResult<(VersionRow, JobRow)> {
    let v = templates::get_version(tx, subject, version)?;
    let id = Uuid::parse_str(job).map_err(|e| {
        ApiError::bad_request(format!("Job ID {job:?} must be a valid UUID.")).detail(e.to_string())
    })?;
    let j = job_store::get(tx, id)?.ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("Provisioner job {:?} not found.", id.to_string()),
        )
    })?;
    if j.job_type != JOB_TYPE {
        return Err(ApiError::forbidden());
    }
    if !subject.can(Action::Read, as_workspace(&v, j.initiator_id)) {
        return Err(ApiError::forbidden());
    }
    if j.input.get("template_version_id").and_then(|x| x.as_str()) != Some(&v.id.to_string()) {
        return Err(ApiError::forbidden());
    }
    if action != Action::Read {
        subject.require_visible(action, as_workspace(&v, j.initiator_id))?;
    }
    Ok((v, j))
}

/// `GET /templateversions/{templateversion}/dry-run/{jobID}`.
pub fn get(tx: &Tx, subject: &Subject, version: Uuid, job: &str) -> ApiResult<sdk::ProvisionerJob> {
    let (_, j) = dry_run(tx, subject, version, job, Action::Read)?;
    Ok(jobs::render(&j))
}

/// `GET …/dry-run/{jobID}/resources`: what the plan would create.
pub fn resources(
    tx: &Tx,
    subject: &Subject,
    version: Uuid,
    job: &str,
    now: Micros,
    inactive_timeout_us: i64,
) -> ApiResult<Vec<sdk::WorkspaceResource>> {
    let (_, j) = dry_run(tx, subject, version, job, Action::Read)?;
    if j.completed_at.is_none() {
        return Err(ApiError::bad_request("Job hasn't completed!"));
    }
    let none = Default::default();
    Ok(resources::for_jobs(tx, &[j.id])?
        .remove(&j.id)
        .unwrap_or_default()
        .iter()
        .map(|r| crate::domain::agents::render_resource(r, &none, now, inactive_timeout_us))
        .collect())
}

/// `GET …/dry-run/{jobID}/logs`.
pub fn logs(tx: &Tx, subject: &Subject, version: Uuid, job: &str) -> ApiResult<JobLogs> {
    let (_, j) = dry_run(tx, subject, version, job, Action::Read)?;
    Ok(JobLogs::of(j.id))
}

/// `PATCH …/dry-run/{jobID}/cancel`.
pub fn cancel(tx: &Tx, subject: &Subject, version: Uuid, job: &str, now: Micros) -> ApiResult<()> {
    let (_, j) = dry_run(tx, subject, version, job, Action::Update)?;
    if j.completed_at.is_some() {
        return Err(ApiError::bad_request("Job has already completed."));
    }
    if j.canceled_at.is_some() {
        return Err(ApiError::bad_request(
            "Job has already been marked as canceled.",
        ));
    }
    Ok(job_store::cancel(tx, j.id, now)?)
}
