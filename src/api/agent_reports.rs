//! What an agent reports with its own token besides its lifecycle: logs
//! and their sources, metadata results, listening ports.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::agents::AgentSession;
use crate::domain::{agent_logs, agent_metadata, ports};
use crate::error::ApiResult;
use crate::http::{self, Body};
use crate::sdk;
use crate::App;

/// `PATCH /workspaceagents/me/logs`: 200 with a `null` body, as Coder.
pub async fn patch_logs(
    app: web::Data<App>,
    session: AgentSession,
    Body(req): Body<sdk::PatchLogs>,
) -> ApiResult<HttpResponse> {
    let now = app.now();
    let outcome = app
        .db
        .write(move |conn| agent_logs::patch(conn, &session.0, &req, now))
        .await?;
    // Refused logs are answered after the overflow mark was committed.
    outcome.into_result()?;
    Ok(http::ok(&serde_json::Value::Null))
}

/// `POST /workspaceagents/me/log-source`.
pub async fn post_log_source(
    app: web::Data<App>,
    session: AgentSession,
    Body(req): Body<sdk::PostLogSourceRequest>,
) -> ApiResult<HttpResponse> {
    let now = app.now();
    let out = app
        .db
        .write(move |conn| agent_logs::post_source(conn, &session.0, &req, now))
        .await?;
    Ok(http::created(&out))
}

/// `POST /workspaceagents/me/metadata`: 204, as Coder's HTTP route.
pub async fn post_metadata(
    app: web::Data<App>,
    session: AgentSession,
    Body(req): Body<sdk::PostMetadataRequest>,
) -> ApiResult<HttpResponse> {
    let now = app.now();
    app.db
        .write(move |conn| agent_metadata::report(conn, &session.0, &req, now))
        .await?;
    Ok(HttpResponse::build(StatusCode::NO_CONTENT).finish())
}

/// `POST /workspaceagents/me/listening-ports` (warren extension).
pub async fn post_listening_ports(
    app: web::Data<App>,
    session: AgentSession,
    Body(req): Body<sdk::PostListeningPortsRequest>,
) -> ApiResult<HttpResponse> {
    app.db
        .write(move |conn| ports::report_listening(conn, &session.0, &req))
        .await?;
    Ok(HttpResponse::build(StatusCode::NO_CONTENT).finish())
}
