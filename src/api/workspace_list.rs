//! `GET /workspaces`: the `q` language (and the old separate parameters),
//! Coder's ordering, `count` before paging, and batched rendering.

use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::authz::{Action, Subject};
use crate::domain::store::workspaces::{self as store, ListFilter};
use crate::domain::store::Tx;
use crate::domain::{templates, workspaces};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, Query};
use crate::workspace_query::{self, WorkspaceFilter};
use crate::App;

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
    let invalid = |v: crate::error::Validation| {
        ApiError::bad_request("Invalid workspace search query.").with_validations(vec![v])
    };
    if let Some(owner) = f.owner {
        if owner == "me" {
            out.owner = Some(subject.user_id);
        } else {
            match crate::domain::store::users::get_by_username(conn, &owner)? {
                Some(u) => out.owner = Some(u.id),
                None => out.nothing = true,
            }
        }
    }
    if let Some(org) = f.organization {
        let found = crate::domain::organizations::resolve(conn, subject, &org)
            .map_err(|_| invalid(workspace_query::organization_not_found(&org)))?;
        out.organization = Some(found.id);
    }
    if let Some(u) = f.shared_with_user {
        let user = match Uuid::parse_str(&u) {
            Ok(id) => crate::domain::store::users::get(conn, id)?,
            Err(_) => crate::domain::store::users::get_by_username(conn, &u)?,
        }
        .filter(|x| !x.deleted)
        .ok_or_else(|| invalid(workspace_query::shared_with_user_not_found(&u)))?;
        out.shared_with_user = Some(user.id);
    }
    if let Some(g) = f.shared_with_group {
        let (org_name, group_name) = match g.split_once('/') {
            Some((o, n)) => (o.to_string(), n.to_string()),
            None => ("default".to_string(), g.clone()),
        };
        let group = match Uuid::parse_str(&g) {
            Ok(id) => crate::domain::store::groups::get(conn, id)?,
            Err(_) => match crate::domain::organizations::resolve(conn, subject, &org_name) {
                Ok(org) => crate::domain::store::groups::get_by_name(conn, org.id, &group_name)?,
                Err(_) => None,
            },
        }
        .ok_or_else(|| invalid(workspace_query::shared_with_group_not_found(&g, &org_name)))?;
        out.shared_with_group = Some(group.id);
    }
    Ok(out)
}

pub async fn list(
    app: web::Data<App>,
    subject: Subject,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let q = Query::from_request(&req);
    let to_error = |e: workspace_query::QueryError| {
        ApiError::bad_request(e.message).with_validations(e.validations)
    };
    let (limit, offset) = workspace_query::parse_pagination(&q.0).map_err(to_error)?;
    let parsed =
        workspace_query::parse_workspace_query(q.get("q").unwrap_or(""), &q.0).map_err(to_error)?;
    let allow_renames = app.config.allow_workspace_renames;
    let timeout = app.inactive_timeout_us();
    let clock = app.clock.clone();
    let out = app
        .db
        .read(move |conn| {
            let filter = resolve(conn, &subject, parsed)?;
            let now = clock.now();
            let vis = subject.workspace_visibility();
            let (rows, count) = store::list(conn, &filter, &vis, limit, offset, now, timeout)?;
            // Workspaces whose template the caller cannot read are dropped
            // from the page (they still count), as Coder does.
            let ids: Vec<Uuid> = rows.iter().map(|w| w.template_id).collect();
            let readable: std::collections::HashSet<Uuid> =
                crate::domain::store::templates::list_any(conn, &ids)?
                    .iter()
                    .filter(|t| subject.can(Action::Read, templates::object(t)))
                    .map(|t| t.id)
                    .collect();
            let rows: Vec<_> = rows
                .into_iter()
                .filter(|w| readable.contains(&w.template_id))
                .collect();
            let rendered =
                workspaces::render_many(conn, &subject, &rows, allow_renames, now, timeout)?;
            Ok(crate::sdk::WorkspacesResponse {
                workspaces: rendered,
                count,
            })
        })
        .await?;
    Ok(http::ok(&out))
}
