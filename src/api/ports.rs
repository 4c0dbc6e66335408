//! Ports: what an agent listens on, and ports shared beyond their owner.

use actix_web::{web, HttpResponse};

use crate::authz::Subject;
use crate::domain::ports;
use crate::error::ApiResult;
use crate::http::{self, parse_uuid, Body};
use crate::sdk;
use crate::App;

/// `GET /workspaceagents/{workspaceagent}/listening-ports`.
pub async fn listening_ports(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let (now, timeout) = (app.now(), app.inactive_timeout_us());
    let out = app
        .db
        .read(move |conn| ports::listening(conn, &subject, id, now, timeout))
        .await?;
    Ok(http::ok(&out))
}

pub async fn list_shares(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .read(move |conn| ports::list(conn, &subject, id))
        .await?;
    Ok(http::ok(&out))
}

pub async fn upsert_share(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<sdk::UpsertWorkspaceAgentPortShareRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .write(move |conn| ports::upsert(conn, &subject, id, &req))
        .await?;
    Ok(http::ok(&out))
}

/// 200 with an empty body, as Coder answers.
pub async fn delete_share(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<sdk::DeleteWorkspaceAgentPortShareRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    app.db
        .write(move |conn| ports::delete(conn, &subject, id, &req))
        .await?;
    Ok(HttpResponse::Ok().finish())
}
