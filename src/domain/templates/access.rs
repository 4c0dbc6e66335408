//! Reaching templates: the decision table's view of a template, lookups by id
//! and name that refuse what the subject may not read.

use crate::domain::store::Tx;
use uuid::Uuid;

use crate::authz::{Action, Guarded, Object, Subject};
use crate::domain::store::templates::{self as store, TemplateRow};
use crate::error::{ApiError, ApiResult};

impl Guarded for TemplateRow {
    fn object(&self) -> Object<'_> {
        Object::Template {
            org: self.organization_id,
            users: &self.user_acl,
            groups: &self.group_acl,
        }
    }
}

pub fn object(t: &TemplateRow) -> Object<'_> {
    t.object()
}

/// A template not yet created in `org` (and an unattached version's):
/// whoever may create one there may handle it.
pub(super) fn new_template(org: Uuid) -> Object<'static> {
    Object::Template {
        org,
        users: &[],
        groups: &[],
    }
}

/// A live template the subject may read, else 404.
pub fn get(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<TemplateRow> {
    let t = store::get(conn, id)?.ok_or_else(ApiError::not_found)?;
    subject.require_visible(Action::Read, object(&t))?;
    Ok(t)
}

/// A template of an organization by name that the subject may read.
pub fn get_by_name(conn: &Tx, subject: &Subject, org: &str, name: &str) -> ApiResult<TemplateRow> {
    let org = crate::domain::organizations::resolve(conn, subject, org)?;
    let t = store::get_by_name(conn, org.id, name)?.ok_or_else(ApiError::not_found)?;
    subject.require_visible(Action::Read, object(&t))?;
    Ok(t)
}

/// Which of the given templates (deleted ones included) `viewer` may read;
/// one query.
pub fn readable_among(
    conn: &Tx,
    viewer: &Subject,
    ids: &[Uuid],
) -> ApiResult<std::collections::HashSet<Uuid>> {
    Ok(store::list_any(conn, ids)?
        .iter()
        .filter(|t| viewer.can(Action::Read, object(t)))
        .map(|t| t.id)
        .collect())
}
