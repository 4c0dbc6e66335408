//! `GET /workspaces`: the `q` language (and the old separate parameters),
//! read through the domain's one list pipeline.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::authz::Subject;
use crate::domain::workspace_list;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, Query};
use crate::{workspace_query, App};

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
    let ctx = app.render_ctx();
    let page = app
        .db
        .read(move |conn| {
            let filter = workspace_list::resolve(conn, &subject, parsed)?;
            workspace_list::page(conn, &subject, &filter, limit, offset, &ctx)
        })
        .await?;
    Ok(http::ok(&crate::sdk::WorkspacesResponse {
        workspaces: page.workspaces,
        count: page.count,
    }))
}
