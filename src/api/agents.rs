//! Agent routes: reading an agent, issuing a token to drive it from
//! outside, and the small HTTP agent API an external agent process uses.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::authz::Subject;
use crate::domain::workspace_agents;
use crate::error::{ApiError, ApiResult, Response};
use crate::http::auth::token_from_request;
use crate::http::{self, parse_uuid, Body};
use crate::App;

/// An agent authenticated by its own token (see the domain's
/// `workspace_agents::authenticate`).
pub struct AgentSession(pub workspace_agents::AgentSession);

impl FromRequest for AgentSession {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<AgentSession, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let app = req.app_data::<web::Data<App>>().cloned();
        let token = token_from_request(req);
        Box::pin(async move {
            let app = app.ok_or_else(|| ApiError::internal("application state missing"))?;
            let token = token.ok_or_else(|| {
                ApiError::unauthorized(
                    "Cookie \"coder_session_token\" or query parameter must be provided.",
                )
            })?;
            let now = app.now();
            let session = app
                .db
                .write(move |conn| workspace_agents::authenticate(conn, &token, now))
                .await?;
            Ok(AgentSession(session))
        })
    }
}

/// `GET /workspaceagents/{workspaceagent}`.
pub async fn get(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let timeout = app.inactive_timeout_us();
    let now = app.now();
    let out = app
        .db
        .read(move |conn| workspace_agents::get_rendered(conn, &subject, id, now, timeout))
        .await?;
    Ok(http::ok(&out))
}

/// `POST /workspaceagents/{workspaceagent}/token` (warren extension): issues a
/// fresh token so an external process can drive the agent; the built-in
/// simulation stops driving it.
pub async fn issue_token(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let token = app
        .db
        .write(move |conn| workspace_agents::issue_token(conn, &subject, id))
        .await?;
    Ok(http::created(&crate::sdk::AgentTokenResponse {
        agent_token: token,
    }))
}

const LIFECYCLE: &[&str] = &[
    "created",
    "starting",
    "start_timeout",
    "start_error",
    "ready",
    "shutting_down",
    "shutdown_timeout",
    "shutdown_error",
    "off",
];

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct LifecycleRequest {
    state: String,
    changed_at: Option<String>,
}

/// `POST /workspaceagents/me/report-lifecycle`.
pub async fn report_lifecycle(
    app: web::Data<App>,
    session: AgentSession,
    Body(req): Body<LifecycleRequest>,
) -> ApiResult<HttpResponse> {
    if !LIFECYCLE.contains(&req.state.as_str()) {
        return Err(
            ApiError::bad_request("Invalid lifecycle state.").validation(
                "state",
                format!("State must be one of: {}.", LIFECYCLE.join(", ")),
            ),
        );
    }
    let at = match &req.changed_at {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map_err(|e| {
                ApiError::bad_request("Request body must be valid JSON.").detail(e.to_string())
            })?
            .timestamp_micros(),
        None => app.now(),
    };
    let now = app.now();
    app.db
        .write(move |conn| {
            workspace_agents::report_lifecycle(conn, &session.0, &req.state, at, now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct StartupRequest {
    version: String,
    expanded_directory: String,
    subsystems: Vec<String>,
}

/// `POST /workspaceagents/me/startup`.
pub async fn startup(
    app: web::Data<App>,
    session: AgentSession,
    Body(req): Body<StartupRequest>,
) -> ApiResult<HttpResponse> {
    for s in &req.subsystems {
        if !matches!(s.as_str(), "envbox" | "envbuilder" | "exectrace") {
            return Err(ApiError::bad_request("Invalid subsystem.")
                .validation("subsystems", format!("invalid subsystem {s:?}")));
        }
    }
    let now = app.now();
    app.db
        .write(move |conn| {
            workspace_agents::report_startup(
                conn,
                &session.0,
                &req.version,
                &req.expanded_directory,
                &req.subsystems,
                now,
            )
        })
        .await?;
    Ok(http::ok(&Response::message("Startup reported.")))
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct AppStatusRequest {
    app_slug: String,
    state: String,
    message: String,
    uri: String,
    icon: String,
    needs_user_attention: bool,
}

/// `PATCH /workspaceagents/me/app-status`.
pub async fn app_status(
    app: web::Data<App>,
    session: AgentSession,
    Body(req): Body<AppStatusRequest>,
) -> ApiResult<HttpResponse> {
    if !matches!(
        req.state.as_str(),
        "working" | "idle" | "complete" | "failure"
    ) {
        return Err(ApiError::bad_request("Invalid state provided.")
            .detail(format!("invalid state: {:?}", req.state))
            .validation(
                "state",
                "State must be one of: complete, failure, working, idle.",
            ));
    }
    if req.message.chars().count() > 160 {
        return Err(ApiError::bad_request("Message is too long.")
            .validation("message", "Message must be at most 160 characters."));
    }
    let now = app.now();
    app.db
        .write(move |conn| {
            workspace_agents::report_app_status(
                conn,
                &session.0,
                &workspace_agents::AppStatusReport {
                    app_slug: &req.app_slug,
                    state: &req.state,
                    message: &req.message,
                    uri: &req.uri,
                    icon: &req.icon,
                    needs_user_attention: req.needs_user_attention,
                },
                now,
            )
        })
        .await?;
    Ok(http::ok(&Response::message("OK")))
}

/// `GET /workspaceagents/me/gitsshkey`: the owner's key pair.
pub async fn git_ssh_key(app: web::Data<App>, session: AgentSession) -> ApiResult<HttpResponse> {
    let (public_key, private_key) = app
        .db
        .read(move |conn| workspace_agents::owner_ssh_key(conn, &session.0))
        .await?;
    Ok(http::json(
        StatusCode::OK,
        &crate::sdk::AgentGitSshKey {
            public_key,
            private_key,
        },
    ))
}
