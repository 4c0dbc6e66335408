//! Ports: what an agent listens on, and ports of a workspace's agents
//! shared beyond their owner, up to the template's maximum level.

use uuid::Uuid;

use crate::authz::{Action, Subject};
use crate::domain::agents;
use crate::domain::share_levels::{allowed_under, rank};
use crate::domain::store::agent_extras::{self as extras, ListeningPortRow};
use crate::domain::store::port_shares::{self as store, PortShareRow};
use crate::domain::store::resources::{self, AppRow};
use crate::domain::store::templates as template_store;
use crate::domain::store::Tx;
use crate::domain::workspace_agents::AgentSession;
use crate::domain::workspaces;
use crate::error::{ApiError, ApiResult};
use crate::sdk::{self, Micros};

/// Lowest port the listening-ports list shows (Coder reserves 1–8).
const MIN_LISTENING_PORT: i64 = 9;

/// Ports of common servers that are not web apps, which Coder leaves out of
/// the list (`workspacesdk.AgentIgnoredListeningPorts`).
const IGNORED_PORTS: &[i64] = &[
    20, 21, 22, 23, 25, 53, 110, 143, 179, 389, 636, 465, 587, 989, 990, 993, 995, 3306, 3389,
    5432, 27017, 27018, 27019, 28017,
];

fn render(s: &PortShareRow) -> sdk::WorkspaceAgentPortShare {
    sdk::WorkspaceAgentPortShare {
        workspace_id: s.workspace_id,
        agent_name: s.agent_name.clone(),
        port: s.port,
        share_level: s.share_level.clone(),
        protocol: s.protocol.clone(),
    }
}

/// `GET /workspaces/{workspace}/port-share`.
pub fn list(
    tx: &Tx,
    subject: &Subject,
    workspace: Uuid,
) -> ApiResult<sdk::WorkspaceAgentPortShares> {
    let w = workspaces::get(tx, subject, workspace)?;
    let shares: Vec<_> = store::list(tx, w.id)?.iter().map(render).collect();
    Ok(sdk::WorkspaceAgentPortShares {
        shares: (!shares.is_empty()).then_some(shares),
    })
}

/// The workspace, if the subject may change it (404 otherwise, like
/// Coder's other settings of a workspace).
fn changeable(tx: &Tx, subject: &Subject, workspace: Uuid) -> ApiResult<workspaces::Workspace> {
    let w = workspaces::get(tx, subject, workspace)?.into_inner();
    subject.require_visible(Action::Update, workspaces::object(&w))?;
    Ok(w)
}

/// `POST /workspaces/{workspace}/port-share`, checked in Coder's order.
pub fn upsert(
    tx: &Tx,
    subject: &Subject,
    workspace: Uuid,
    req: &sdk::UpsertWorkspaceAgentPortShareRequest,
) -> ApiResult<sdk::WorkspaceAgentPortShare> {
    let w = changeable(tx, subject, workspace)?;
    if req.share_level == "owner" || rank(&req.share_level).is_none() {
        return Err(ApiError::bad_request("Port sharing level not allowed.")
            .validation("share_level", "Port sharing level not allowed."));
    }
    if !(MIN_LISTENING_PORT..=65535).contains(&req.port) {
        return Err(ApiError::bad_request("Port must be between 9 and 65535.")
            .validation("port", "Port must be between 9 and 65535."));
    }
    if !matches!(req.protocol.as_str(), "http" | "https") {
        return Err(ApiError::bad_request("Port protocol not allowed.")
            .validation("protocol", "Protocol must be one of: http, https."));
    }
    let t = template_store::get_any(tx, w.template_id)?.ok_or_else(ApiError::not_found)?;
    allowed_under(&req.share_level, &t.max_port_share_level)
        .map_err(|m| ApiError::bad_request(m.clone()).validation("share_level", m))?;
    if !store::latest_agent_names(tx, w.id)?.contains(&req.agent_name) {
        return Err(ApiError::bad_request("Agent not found.")
            .validation("agent_name", "No agent of the latest build has this name."));
    }
    let share = PortShareRow {
        workspace_id: w.id,
        agent_name: req.agent_name.clone(),
        port: req.port,
        share_level: req.share_level.clone(),
        protocol: req.protocol.clone(),
    };
    store::upsert(tx, &share)?;
    Ok(render(&share))
}

/// `DELETE /workspaces/{workspace}/port-share`.
pub fn delete(
    tx: &Tx,
    subject: &Subject,
    workspace: Uuid,
    req: &sdk::DeleteWorkspaceAgentPortShareRequest,
) -> ApiResult<()> {
    let w = changeable(tx, subject, workspace)?;
    if store::get(tx, w.id, &req.agent_name, req.port)?.is_none() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "Port share not found.",
        ));
    }
    Ok(store::delete(tx, w.id, &req.agent_name, req.port)?)
}

/// The port of an app's local URL (`http://localhost:8080/…`).
fn app_port(app: &AppRow) -> Option<i64> {
    let u = url::Url::parse(&app.url).ok()?;
    let port = i64::from(u.port()?);
    (1..=65535).contains(&port).then_some(port)
}

/// What a simulated agent listens on: its apps' ports.
pub fn simulated_ports(apps: &[AppRow]) -> Vec<ListeningPortRow> {
    let mut out: Vec<ListeningPortRow> = Vec::new();
    for a in apps.iter().filter(|a| !a.external) {
        if let Some(port) = app_port(a) {
            if !out.iter().any(|p| p.port == port) {
                out.push(ListeningPortRow {
                    port,
                    network: "tcp".into(),
                    process_name: a.slug.clone(),
                });
            }
        }
    }
    out
}

/// `POST /workspaceagents/me/listening-ports` (warren extension): what an
/// external agent listens on now.
pub fn report_listening(
    tx: &Tx,
    session: &AgentSession,
    req: &sdk::PostListeningPortsRequest,
) -> ApiResult<()> {
    let mut rows = Vec::with_capacity(req.ports.len());
    for p in &req.ports {
        if !(0..=65535).contains(&p.port) {
            return Err(ApiError::bad_request("Invalid listening port.")
                .validation("port", "Port must be between 0 and 65535."));
        }
        let network = if p.network.is_empty() {
            "tcp"
        } else {
            &p.network
        };
        if network != "tcp" {
            return Err(ApiError::bad_request("Invalid listening port.")
                .validation("network", "Network must be tcp."));
        }
        rows.push(ListeningPortRow {
            port: p.port,
            network: network.into(),
            process_name: p.process_name.clone(),
        });
    }
    Ok(extras::set_listening_ports(tx, session.agent_id(), &rows)?)
}

/// `GET /workspaceagents/{workspaceagent}/listening-ports`: the agent's
/// ports but reserved ones, common non-web servers and its apps' own, as
/// Coder filters them. The agent must be connected.
pub fn listening(
    tx: &Tx,
    subject: &Subject,
    agent: Uuid,
    now: Micros,
    inactive_timeout_us: i64,
) -> ApiResult<sdk::WorkspaceAgentListeningPortsResponse> {
    let a = resources::get_agent(tx, agent)?.ok_or_else(ApiError::not_found)?;
    let (ws, build) = resources::agent_owner(tx, agent)?.ok_or_else(ApiError::not_found)?;
    workspaces::get(tx, subject, ws)?;
    let status = agents::status(&a, now, inactive_timeout_us);
    if status != "connected" {
        return Err(ApiError::bad_request(format!(
            "Agent state is {status:?}, it must be in the \"connected\" state."
        )));
    }
    let job = crate::domain::store::builds::get(tx, build)?
        .ok_or_else(ApiError::not_found)?
        .job_id;
    let apps: Vec<AppRow> = resources::for_jobs(tx, &[job])?
        .into_values()
        .flatten()
        .flat_map(|r| r.agents)
        .filter(|x| x.id == agent)
        .flat_map(|x| x.apps)
        .collect();
    let app_ports: Vec<i64> = apps.iter().filter_map(app_port).collect();
    Ok(sdk::WorkspaceAgentListeningPortsResponse {
        ports: extras::listening_ports(tx, agent)?
            .into_iter()
            .filter(|p| {
                p.port >= MIN_LISTENING_PORT
                    && !IGNORED_PORTS.contains(&p.port)
                    && !app_ports.contains(&p.port)
            })
            .map(|p| sdk::WorkspaceAgentListeningPort {
                process_name: p.process_name,
                network: p.network,
                port: p.port,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_agents_listen_on_their_apps_ports() {
        let app = |slug: &str, url: &str, external| AppRow {
            slug: slug.into(),
            url: url.into(),
            external,
            ..Default::default()
        };
        let ports = simulated_ports(&[
            app(
                "code-server",
                "http://localhost:13337/?folder=/home/coder",
                false,
            ),
            app("again", "http://127.0.0.1:13337", false),
            app("docs", "https://coder.com/docs", true),
            app("plain", "http://localhost/", false),
        ]);
        assert_eq!(ports.len(), 1);
        assert_eq!(
            (ports[0].port, ports[0].process_name.as_str()),
            (13337, "code-server")
        );
    }
}
