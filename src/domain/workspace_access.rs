//! Reaching a workspace: the one accessor that proves the subject may read
//! it, and what renders of workspaces need. A leaf of the domain, so that
//! builds, sharing and the workspace rules can all depend on it.

use uuid::Uuid;

use crate::authz::{Guarded, Object, Readable, Subject};
use crate::domain::store::templates::{self as template_store, TemplateRow};
use crate::domain::store::workspaces::{self as store, WorkspaceRow};
use crate::domain::store::Tx;
use crate::error::{ApiError, ApiResult};
use crate::sdk::Micros;

pub use crate::domain::store::workspaces::WorkspaceRow as Workspace;

impl Guarded for WorkspaceRow {
    fn object(&self) -> Object<'_> {
        Object::Workspace {
            org: self.organization_id,
            owner: self.owner_id,
            users: &self.user_acl,
            groups: &self.group_acl,
            dormant: self.dormant_at.is_some(),
        }
    }
}

pub fn object(w: &WorkspaceRow) -> Object<'_> {
    w.object()
}

/// A workspace by id (deleted ones included) that the subject may read.
pub fn get(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<Readable<WorkspaceRow>> {
    let w = store::get(conn, id)?.ok_or_else(ApiError::not_found)?;
    subject.visible(w)
}

/// A workspace the subject may read, with its template (deleted ones
/// included: a workspace outlives its template's deletion).
pub fn get_with_template(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
) -> ApiResult<(Readable<WorkspaceRow>, TemplateRow)> {
    let w = get(conn, subject, id)?;
    let t = template_store::get_any(conn, w.template_id)?.ok_or_else(ApiError::not_found)?;
    Ok((w, t))
}

/// What every render of a workspace needs from the server.
#[derive(Debug, Clone, Copy)]
pub struct RenderCtx {
    pub now: Micros,
    pub inactive_timeout_us: i64,
    pub allow_renames: bool,
}
