//! A template's access-control list (Coder's Premium template permissions):
//! reading it, changing it, and who can be added to it. Whoever may update
//! the template (its organization's template administrators and the ACL's
//! `admin` grantees) manages the list.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::access;
use crate::authz::{act, Allowed, Subject};
use crate::domain::acl;
use crate::domain::store::groups::{self as group_store, GroupFilter};
use crate::domain::store::templates::{self as store, TemplateRow};
use crate::domain::store::users as user_store;
use crate::domain::store::Tx;
use crate::domain::{groups, users};
use crate::error::ApiResult;
use crate::query::paging::Page;
use crate::query::users::UserQuery;
use crate::sdk::{AclAvailable, TemplateAcl, TemplateGroup, TemplateUser, UpdateTemplateAcl};

/// The template, which the subject must read (404) and may update (403).
fn managed(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<Allowed<TemplateRow, act::Update>> {
    subject.permitted(access::get(conn, subject, id)?)
}

/// `GET /templates/{template}/acl`: the granted users that still exist and
/// are not suspended, and the granted groups, each with its role.
pub fn get(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<TemplateAcl> {
    let t = managed(conn, subject, id)?;
    let ids: Vec<Uuid> = t.user_acl.iter().map(|(id, _)| *id).collect();
    let mut granted: Vec<_> = user_store::get_many(conn, &ids)?
        .into_iter()
        .filter(|u| !u.deleted && u.status != "suspended")
        .collect();
    granted.sort_by_key(|u| u.username.to_lowercase());
    let users = granted
        .iter()
        .filter_map(|u| {
            let role = t.user_acl.iter().find(|(id, _)| *id == u.id)?.1.clone();
            Some(TemplateUser {
                user: users::render(u),
                role,
            })
        })
        .collect();
    let rows = group_store::list(
        conn,
        &GroupFilter {
            ids: Some(t.group_acl.iter().map(|(id, _)| *id).collect()),
            ..Default::default()
        },
    )?;
    let groups = groups::render_many(conn, &rows)?
        .into_iter()
        .filter_map(|g| {
            let role = t.group_acl.iter().find(|(id, _)| *id == g.id)?.1.clone();
            Some(TemplateGroup { group: g, role })
        })
        .collect();
    Ok(TemplateAcl { users, groups })
}

/// `PATCH /templates/{template}/acl`: grants, changes and (with `""`)
/// removes roles. Watchers of the template's workspaces see the effect at
/// once: a workspace whose template its viewer can no longer read leaves
/// their lists.
pub fn patch(conn: &Tx, subject: &Subject, id: Uuid, req: &UpdateTemplateAcl) -> ApiResult<()> {
    let t = managed(conn, subject, id)?;
    let none = BTreeMap::new();
    let change = acl::validate(
        conn,
        acl::Kind::Template,
        t.organization_id,
        "Invalid request to update template ACL",
        &acl::Request {
            users: ("user_perms", req.user_perms.as_ref().unwrap_or(&none)),
            groups: ("group_perms", req.group_perms.as_ref().unwrap_or(&none)),
        },
    )?;
    for (user, role) in &change.users {
        store::set_user_acl(conn, t.id, *user, role.as_deref())?;
    }
    for (group, role) in &change.groups {
        store::set_group_acl(conn, t.id, *group, role.as_deref())?;
    }
    store::workspaces_changed(conn, t.id)?;
    Ok(())
}

/// `GET /templates/{template}/acl/available`: one page of the users matching
/// `q` and every group that could be granted. Coder lists every user of the
/// deployment; warren lists the members of the template's organization, the
/// only users a grant works for.
pub fn available(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
    q: UserQuery,
    page: &Page,
) -> ApiResult<AclAvailable> {
    // Coder hides the template from those who may not manage it.
    let t: Allowed<TemplateRow, act::Update> = subject.visible(access::get(conn, subject, id)?)?;
    let mut filter = users::filter(q);
    filter.organization = Some(t.organization_id);
    let (rows, _) = user_store::list(conn, &filter, page.max_rows(), page.offset)?;
    let group_rows = group_store::list(
        conn,
        &GroupFilter {
            organization: Some(t.organization_id),
            ..Default::default()
        },
    )?;
    Ok(AclAvailable {
        users: rows.iter().map(users::reduced).collect(),
        groups: groups::render_many(conn, &group_rows)?,
    })
}
