//! Agent routes: reading an agent, issuing a token to drive it from
//! outside, and the small HTTP agent API an external agent process uses.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use crate::authz::{Action, Subject};
use crate::domain::auth::{hash_secret, token_from_request};
use crate::domain::store::resources::{self, AgentRow, AgentUpdate};
use crate::domain::store::workspaces as ws_store;
use crate::domain::{agents, builds, workspaces};
use crate::error::{ApiError, ApiResult, Response};
use crate::http::{self, parse_uuid, Body};
use crate::App;

/// An agent authenticated by its token, belonging to the latest build of a
/// live workspace.
pub struct AgentSession {
    pub agent: AgentRow,
    pub workspace_id: Uuid,
}

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
            if Uuid::parse_str(&token).is_err() {
                return Err(ApiError::unauthorized("Agent token is invalid."));
            }
            let hash = hash_secret(&token);
            let now = app.now();
            let session = app
                .db
                .write(move |conn| {
                    let invalid = || ApiError::unauthorized("Agent token is invalid.");
                    let agent = resources::agent_by_token_hash(conn, &hash)?.ok_or_else(invalid)?;
                    let (ws_id, build) =
                        resources::agent_owner(conn, agent.id)?.ok_or_else(invalid)?;
                    let ws = ws_store::get(conn, ws_id)?.ok_or_else(invalid)?;
                    if ws.deleted || ws.latest_build_id != Some(build) {
                        return Err(invalid());
                    }
                    // Any authenticated agent request is a heartbeat.
                    resources::update_agent(
                        conn,
                        agent.id,
                        &AgentUpdate {
                            connected_at: Some(now),
                            ..Default::default()
                        },
                        now,
                    )?;
                    Ok(AgentSession {
                        agent,
                        workspace_id: ws_id,
                    })
                })
                .await?;
            Ok(session)
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
    let clock = app.clock.clone();
    let out = app
        .db
        .read(move |conn| {
            let agent = resources::get_agent(conn, id)?.ok_or_else(ApiError::not_found)?;
            let (ws_id, build) =
                resources::agent_owner(conn, id)?.ok_or_else(ApiError::not_found)?;
            workspaces::get(conn, &subject, ws_id)?;
            // Load the agent with its apps and scripts through its build.
            let b =
                crate::domain::store::builds::get(conn, build)?.ok_or_else(ApiError::not_found)?;
            let loaded = resources::for_jobs(conn, &[b.job_id])?;
            let full = loaded
                .values()
                .flatten()
                .flat_map(|r| r.agents.iter())
                .find(|a| a.id == agent.id)
                .cloned()
                .unwrap_or(agent);
            let statuses = builds::app_statuses(conn, &[ws_id])?;
            Ok(agents::render_agent(&full, &statuses, clock.now(), timeout))
        })
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
    let token = Uuid::new_v4().to_string();
    let hash = hash_secret(&token);
    app.db
        .write(move |conn| {
            resources::get_agent(conn, id)?.ok_or_else(ApiError::not_found)?;
            let (ws_id, _) = resources::agent_owner(conn, id)?.ok_or_else(ApiError::not_found)?;
            let w = workspaces::get(conn, &subject, ws_id)?;
            subject.require(Action::Update, workspaces::object(&w))?;
            Ok(resources::set_agent_token_hash(conn, id, &hash)?)
        })
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

#[derive(Debug, Deserialize, Default)]
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
    let state = req.state.clone();
    app.db
        .write(move |conn| {
            let mut u = AgentUpdate {
                lifecycle_state: Some(state.clone()),
                ..Default::default()
            };
            match state.as_str() {
                "starting" => u.started_at = Some(at),
                "ready" | "start_timeout" | "start_error" => u.ready_at = Some(at),
                _ => {}
            }
            Ok(resources::update_agent(conn, session.agent.id, &u, now)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Default)]
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
            Ok(resources::set_agent_startup(
                conn,
                session.agent.id,
                &req.version,
                &req.expanded_directory,
                &req.subsystems,
                now,
            )?)
        })
        .await?;
    Ok(http::ok(&Response::message("Startup reported.")))
}

#[derive(Debug, Deserialize, Default)]
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
            let app_id = resources::app_id_by_slug(conn, session.agent.id, &req.app_slug)?
                .ok_or_else(|| {
                    ApiError::bad_request("Failed to get workspace app.")
                        .detail(format!("No app found with slug {:?}", req.app_slug))
                })?;
            Ok(resources::insert_app_status(
                conn,
                &resources::AppStatus {
                    workspace: session.workspace_id,
                    agent: session.agent.id,
                    app: app_id,
                    state: &req.state,
                    message: &req.message,
                    uri: &req.uri,
                    icon: &req.icon,
                    needs_user_attention: req.needs_user_attention,
                },
                now,
            )?)
        })
        .await?;
    Ok(http::ok(&Response::message("OK")))
}

/// `GET /workspaceagents/me/gitsshkey`: the owner's key pair.
pub async fn git_ssh_key(app: web::Data<App>, session: AgentSession) -> ApiResult<HttpResponse> {
    let ws = session.workspace_id;
    let key = app
        .db
        .read(move |conn| {
            let w = ws_store::get(conn, ws)?.ok_or_else(ApiError::not_found)?;
            crate::domain::store::users::get_ssh_key(conn, w.owner_id)?
                .ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok(http::json(
        StatusCode::OK,
        &crate::sdk::AgentGitSshKey {
            public_key: key.public_key,
            private_key: key.private_key,
        },
    ))
}
