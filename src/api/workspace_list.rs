//! `GET /workspaces`: the `q` language (and the old separate parameters),
//! read through the domain's one list pipeline.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::authz::Subject;
use crate::domain::workspace_list;
use crate::error::ApiResult;
use crate::http::{self, Query};
use crate::query::workspaces::parse_list_request;
use crate::App;

pub async fn list(
    app: web::Data<App>,
    subject: Subject,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (parsed, paging) = parse_list_request(&Query::from_request(&req).0)?;
    let ctx = app.render_ctx();
    let page = app
        .db
        .read(move |conn| {
            let filter = workspace_list::resolve(conn, &subject, parsed)?;
            workspace_list::page(conn, &subject, &filter, paging.limit, paging.offset, &ctx)
        })
        .await?;
    Ok(http::ok(&crate::sdk::WorkspacesResponse {
        workspaces: page.workspaces,
        count: page.count,
    }))
}
