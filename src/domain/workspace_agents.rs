//! Workspace agents: read by users through their workspace, handed to an
//! outside process with a fresh token, and the agent's own reports
//! (lifecycle, startup, app statuses) under its token.

use uuid::Uuid;

use crate::authz::{Action, Subject};
use crate::domain::auth::hash_secret;
use crate::domain::store::resources::{self, AgentUpdate};
use crate::domain::store::workspaces as ws_store;
use crate::domain::store::Tx;
use crate::domain::{agents, builds, workspaces};
use crate::error::{ApiError, ApiResult};
use crate::sdk::Micros;

/// An agent authenticated by its token, belonging to the latest build of a
/// live workspace. Only [`authenticate`] makes one.
#[derive(Debug, Clone)]
pub struct AgentSession {
    agent: Uuid,
    workspace: Uuid,
}

impl AgentSession {
    pub fn agent_id(&self) -> Uuid {
        self.agent
    }

    pub fn workspace_id(&self) -> Uuid {
        self.workspace
    }
}

/// The agent whose token this is; every authenticated agent request is a
/// heartbeat.
pub fn authenticate(conn: &Tx, token: &str, now: Micros) -> ApiResult<AgentSession> {
    let invalid = || ApiError::unauthorized("Agent token is invalid.");
    if Uuid::parse_str(token).is_err() {
        return Err(invalid());
    }
    let agent = resources::agent_by_token_hash(conn, &hash_secret(token))?.ok_or_else(invalid)?;
    let (ws_id, build) = resources::agent_owner(conn, agent.id)?.ok_or_else(invalid)?;
    let ws = ws_store::get(conn, ws_id)?.ok_or_else(invalid)?;
    if ws.deleted || ws.latest_build_id != Some(build) {
        return Err(invalid());
    }
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
        agent: agent.id,
        workspace: ws_id,
    })
}

/// The workspace an agent belongs to, which the subject may read.
fn workspace_of(
    conn: &Tx,
    subject: &Subject,
    agent: Uuid,
) -> ApiResult<(crate::authz::Readable<workspaces::Workspace>, Uuid)> {
    let (ws_id, build) = resources::agent_owner(conn, agent)?.ok_or_else(ApiError::not_found)?;
    Ok((workspaces::get(conn, subject, ws_id)?, build))
}

/// `GET /workspaceagents/{workspaceagent}`.
pub fn get_rendered(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
    now: Micros,
    inactive_timeout_us: i64,
) -> ApiResult<crate::sdk::WorkspaceAgent> {
    let agent = resources::get_agent(conn, id)?.ok_or_else(ApiError::not_found)?;
    let (w, build) = workspace_of(conn, subject, id)?;
    // The agent with its apps and scripts, loaded through its build.
    let b = crate::domain::store::builds::get(conn, build)?.ok_or_else(ApiError::not_found)?;
    let loaded = resources::for_jobs(conn, &[b.job_id])?;
    let full = loaded
        .values()
        .flatten()
        .flat_map(|r| r.agents.iter())
        .find(|a| a.id == agent.id)
        .cloned()
        .unwrap_or(agent);
    let statuses = builds::app_statuses(conn, &[w.id])?;
    Ok(agents::render_agent(
        &full,
        &statuses,
        now,
        inactive_timeout_us,
    ))
}

/// `POST /workspaceagents/{workspaceagent}/token` (warren extension): a
/// fresh token for an outside process to drive the agent; the built-in
/// simulation stops driving it. Only its hash is stored.
pub fn issue_token(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<String> {
    resources::get_agent(conn, id)?.ok_or_else(ApiError::not_found)?;
    let (w, _) = workspace_of(conn, subject, id)?;
    subject.require(Action::Update, workspaces::object(&w))?;
    let token = Uuid::new_v4().to_string();
    resources::set_agent_token_hash(conn, id, &hash_secret(&token))?;
    Ok(token)
}

/// `POST /workspaceagents/me/report-lifecycle`.
pub fn report_lifecycle(
    conn: &Tx,
    session: &AgentSession,
    state: &str,
    at: Micros,
    now: Micros,
) -> ApiResult<()> {
    let mut u = AgentUpdate {
        lifecycle_state: Some(state.to_string()),
        ..Default::default()
    };
    match state {
        "starting" => u.started_at = Some(at),
        "ready" | "start_timeout" | "start_error" => u.ready_at = Some(at),
        _ => {}
    }
    Ok(resources::update_agent(conn, session.agent, &u, now)?)
}

/// `POST /workspaceagents/me/startup`.
pub fn report_startup(
    conn: &Tx,
    session: &AgentSession,
    version: &str,
    expanded_directory: &str,
    subsystems: &[String],
    now: Micros,
) -> ApiResult<()> {
    Ok(resources::set_agent_startup(
        conn,
        session.agent,
        version,
        expanded_directory,
        subsystems,
        now,
    )?)
}

/// What an agent reports about one of its apps.
pub struct AppStatusReport<'a> {
    pub app_slug: &'a str,
    pub state: &'a str,
    pub message: &'a str,
    pub uri: &'a str,
    pub icon: &'a str,
    pub needs_user_attention: bool,
}

/// `PATCH /workspaceagents/me/app-status`.
pub fn report_app_status(
    conn: &Tx,
    session: &AgentSession,
    r: &AppStatusReport,
    now: Micros,
) -> ApiResult<()> {
    let app_id = resources::app_id_by_slug(conn, session.agent, r.app_slug)?.ok_or_else(|| {
        ApiError::bad_request("Failed to get workspace app.")
            .detail(format!("No app found with slug {:?}", r.app_slug))
    })?;
    Ok(resources::insert_app_status(
        conn,
        &resources::AppStatus {
            workspace: session.workspace,
            agent: session.agent,
            app: app_id,
            state: r.state,
            message: r.message,
            uri: r.uri,
            icon: r.icon,
            needs_user_attention: r.needs_user_attention,
        },
        now,
    )?)
}

/// `GET /workspaceagents/me/gitsshkey`: the workspace owner's key pair, as
/// (public, private).
pub fn owner_ssh_key(conn: &Tx, session: &AgentSession) -> ApiResult<(String, String)> {
    let w = ws_store::get(conn, session.workspace)?.ok_or_else(ApiError::not_found)?;
    let key = crate::domain::store::users::get_ssh_key(conn, w.owner_id)?
        .ok_or_else(ApiError::not_found)?;
    Ok((key.public_key, key.private_key))
}
