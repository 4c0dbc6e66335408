//! The workspace list: `GET /workspaces` and the list watch streams read
//! through this one pipeline (filter, visibility, Coder's order, count,
//! template readability, batched rendering).

use std::collections::HashSet;

use uuid::Uuid;

use crate::authz::{Action, Subject};
use crate::domain::store::workspaces as store;
pub use crate::domain::store::workspaces::ListFilter;
use crate::domain::store::Tx;
use crate::domain::workspaces::{self, RenderCtx};
use crate::domain::{groups, organizations, templates, users};
use crate::error::ApiResult;
use crate::query::workspaces::{
    shared_with_group_not_found, shared_with_group_organization_not_found,
    shared_with_user_not_found, WorkspaceFilter,
};
use crate::query::{organization_not_found, QueryError, WORKSPACE_QUERY_MESSAGE};

/// Resolves names in the parsed filter to ids; unknown owners and templates
/// match nothing, unknown organizations and sharing targets are errors.
pub fn resolve(conn: &Tx, subject: &Subject, f: WorkspaceFilter) -> ApiResult<ListFilter> {
    let mut out = ListFilter {
        name: f.name,
        template_name: f.template,
        status: f.status,
        has_agent: f.has_agent,
        dormant: f.dormant == Some(true),
        last_used_after: f.last_used_after.map(|t| t.timestamp_micros()),
        last_used_before: f.last_used_before.map(|t| t.timestamp_micros()),
        outdated: f.outdated,
        has_ai_task: f.has_ai_task,
        has_external_agent: f.has_external_agent,
        ids: f.ids,
        param_names: f.param_names,
        param_values: f.param_values,
        shared: f.shared,
        ..Default::default()
    };
    let invalid = |v| QueryError::new(WORKSPACE_QUERY_MESSAGE, vec![v]);
    if let Some(owner) = f.owner {
        if owner == "me" {
            out.owner = Some(subject.user_id);
        } else {
            match users::id_by_username(conn, &owner)? {
                Some(id) => out.owner = Some(id),
                None => out.nothing = true,
            }
        }
    }
    if let Some(org) = f.organization {
        let found = organizations::resolve(conn, subject, &org)
            .map_err(|_| invalid(organization_not_found(&org)))?;
        out.organization = Some(found.id);
    }
    if let Some(u) = f.shared_with_user {
        let id = users::id_by_id_or_username(conn, &u)?
            .ok_or_else(|| invalid(shared_with_user_not_found(&u)))?;
        out.shared_with_user = Some(id);
    }
    if let Some(g) = f.shared_with_group {
        let (org_name, group_name) = match g.split_once('/') {
            Some((o, n)) => (o.to_string(), n.to_string()),
            None => ("default".to_string(), g.clone()),
        };
        let group = match Uuid::parse_str(&g) {
            Ok(id) => groups::id_if_exists(conn, id)?,
            Err(_) => {
                let org = organizations::resolve(conn, subject, &org_name)
                    .map_err(|_| invalid(shared_with_group_organization_not_found(&org_name)))?;
                groups::id_by_name(conn, org.id, &group_name)?
            }
        }
        .ok_or_else(|| invalid(shared_with_group_not_found(&g, &org_name)))?;
        out.shared_with_group = Some(group);
    }
    Ok(out)
}

/// One page of what [`page`] found.
pub struct Page {
    /// The workspaces on the page, in order.
    pub ids: Vec<Uuid>,
    pub workspaces: Vec<crate::sdk::Workspace>,
    /// Every readable match, before paging.
    pub count: i64,
}

/// The workspaces `viewer` may read that match `f`, in Coder's order, one
/// page of them rendered. Those whose template the viewer cannot read are
/// dropped from the page but still counted, as in Coder.
pub fn page(
    conn: &Tx,
    viewer: &Subject,
    f: &ListFilter,
    limit: Option<i64>,
    offset: i64,
    ctx: &RenderCtx,
) -> ApiResult<Page> {
    let vis = viewer.workspace_visibility();
    let (rows, count) = store::list(
        conn,
        f,
        &vis,
        limit,
        offset,
        ctx.now,
        ctx.inactive_timeout_us,
    )?;
    let template_ids: Vec<Uuid> = rows.iter().map(|w| w.template_id).collect();
    let readable: HashSet<Uuid> = templates::readable_among(conn, viewer, &template_ids)?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|w| readable.contains(&w.template_id))
        .collect();
    let rendered = workspaces::render_many(
        conn,
        viewer,
        &rows,
        ctx.allow_renames,
        ctx.now,
        ctx.inactive_timeout_us,
    )?;
    Ok(Page {
        ids: rows.iter().map(|w| w.id).collect(),
        workspaces: rendered,
        count,
    })
}

/// Whether `viewer` may list the workspace at all (for list streams that
/// must tell a removal from a change it cannot see).
pub fn readable(viewer: &Subject, w: &workspaces::Workspace) -> bool {
    viewer.can(Action::Read, workspaces::object(w))
}
