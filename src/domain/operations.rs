//! Operating the deployment: backups, readiness and diagnostics. Only
//! owners see the deployment as a whole (its backup holds every row).

use std::collections::BTreeMap;
use std::path::Path;

use actix_web::http::StatusCode;

use crate::authz::{Action, Object, Subject};
use crate::domain::store::stats;
use crate::domain::store::{Db, Tx};
use crate::error::{ApiError, ApiResult};

pub use crate::domain::store::backup::{
    backup_file, restore, verify, BackupError, Summary as BackupSummary,
};
pub use crate::domain::store::stats::{FileSizes, PoolStats};

/// Refuses everyone but owners: the deployment is not theirs to see.
pub fn require_owner(subject: &Subject) -> ApiResult<()> {
    subject.require(Action::Read, Object::Deployment)
}

/// A verified copy of the live database in a temporary file (removed when
/// dropped), for an owner to download.
pub struct BackupFile {
    pub file: tempfile::NamedTempFile,
    pub summary: BackupSummary,
}

/// Takes a backup for `subject` into a temporary file in `dir` (beside the
/// database, on its disk). Blocking: run it off the async workers. A
/// PostgreSQL deployment answers 501, pointing to pg_dump.
pub fn backup(subject: &Subject, db: &Db, dir: &Path) -> ApiResult<BackupFile> {
    require_owner(subject)?;
    let file = tempfile::Builder::new()
        .prefix(".warren-backup-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(ApiError::internal)?;
    let summary = db.backup_to(file.path()).map_err(|e| match e {
        BackupError::Postgres { .. } => ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "Back up a PostgreSQL database with pg_dump.",
        )
        .detail(e.to_string()),
        e => ApiError::internal(e),
    })?;
    Ok(BackupFile { file, summary })
}

/// What the deployment holds, counted by status.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub users: BTreeMap<String, i64>,
    pub organizations: i64,
    pub groups: i64,
    pub templates: i64,
    pub workspaces: BTreeMap<String, i64>,
    pub provisioner_jobs: BTreeMap<String, i64>,
}

/// Provisioner jobs by Coder's job status.
pub fn job_counts(tx: &Tx) -> ApiResult<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    for (facts, n) in stats::jobs(tx)? {
        *out.entry(stats::job_status(&facts).to_string())
            .or_default() += n;
    }
    Ok(out)
}

/// Every count diagnostics report, in one snapshot; owners only.
pub fn counts(tx: &Tx, subject: &Subject) -> ApiResult<Counts> {
    require_owner(subject)?;
    let mut workspaces = BTreeMap::new();
    for (transition, facts, n) in stats::workspaces(tx)? {
        let status = stats::workspace_status(stats::job_status(&facts), &transition);
        *workspaces.entry(status.to_string()).or_default() += n;
    }
    Ok(Counts {
        users: stats::users(tx)?.into_iter().collect(),
        organizations: stats::organizations(tx)?,
        groups: stats::groups(tx)?,
        templates: stats::templates(tx)?,
        workspaces,
        provisioner_jobs: job_counts(tx)?,
    })
}

/// Whether the database answers: the file at its path opens (PostgreSQL:
/// the server accepts a new connection) and a query on it returns within a
/// second. `Err` names what failed. Blocking.
pub fn check_database(db: &Db) -> Result<(), String> {
    db.probe(std::time::Duration::from_secs(1))
}

/// The database file's and its WAL's sizes.
pub fn file_sizes(db: &Db) -> ApiResult<FileSizes> {
    Ok(db.file_sizes()?)
}
