//! Workspace resources and agents as clients see them: connection status,
//! lifecycle, health, apps and scripts.

use serde_json::Value;
use uuid::Uuid;

use crate::domain::store::resources::{AgentRow, AppRow, ResourceRow, ScriptRow};
use crate::sdk::{
    Healthcheck, Micros, Time, WorkspaceAgent, WorkspaceAgentHealth, WorkspaceAgentLogSource,
    WorkspaceAgentScript, WorkspaceApp, WorkspaceAppStatus, WorkspaceResource,
};

/// Connection status by Coder's algorithm (defined once, with its SQL, in
/// the store's `status` module).
pub fn status(a: &AgentRow, now: Micros, inactive_timeout_us: i64) -> &'static str {
    a.facts().status(now, inactive_timeout_us)
}

/// `(healthy, reason)` for an agent.
pub fn health(status: &str, lifecycle: &str) -> (bool, Option<&'static str>) {
    match (status, lifecycle) {
        ("disconnected", _) => (false, Some("agent is not connected")),
        ("timeout", _) => (false, Some("agent is taking too long to connect")),
        ("connected", "start_timeout") => (false, Some("agent startup script timed out")),
        ("connected", "start_error") => (false, Some("agent startup script exited with an error")),
        ("connected", _) => (true, None),
        _ => (false, None),
    }
}

fn render_app(a: &AppRow, statuses: &[WorkspaceAppStatus]) -> WorkspaceApp {
    WorkspaceApp {
        id: a.id,
        url: a.url.clone(),
        external: a.external,
        slug: a.slug.clone(),
        display_name: a.display_name.clone(),
        command: a.command.clone(),
        icon: a.icon.clone(),
        subdomain: a.subdomain,
        sharing_level: a.sharing_level.clone(),
        healthcheck: Healthcheck {
            url: a.healthcheck_url.clone(),
            interval: a.healthcheck_interval,
            threshold: a.healthcheck_threshold,
        },
        health: a.health.clone(),
        group: a.group_name.clone(),
        hidden: a.hidden,
        open_in: a.open_in.clone(),
        statuses: statuses.to_vec(),
    }
}

fn render_script(s: &ScriptRow) -> WorkspaceAgentScript {
    WorkspaceAgentScript {
        id: s.id,
        log_source_id: s.log_source_id,
        log_path: s.log_path.clone(),
        script: s.script.clone(),
        cron: s.cron.clone(),
        run_on_start: s.run_on_start,
        run_on_stop: s.run_on_stop,
        start_blocks_login: s.start_blocks_login,
        timeout: s.timeout_seconds,
        display_name: s.display_name.clone(),
    }
}

const SCRIPT_ICONS: &[(&str, &str)] = &[
    ("Startup Script", "/emojis/25b6.png"),
    ("Shutdown Script", "/emojis/25c0.png"),
];

/// The display apps an agent may offer, in Coder's order.
const DISPLAY_APPS: [&str; 5] = [
    "vscode",
    "vscode_insiders",
    "web_terminal",
    "ssh_helper",
    "port_forwarding_helper",
];

/// App statuses keyed by app id, newest first (loaded by the caller).
pub type AppStatuses = std::collections::HashMap<Uuid, Vec<WorkspaceAppStatus>>;

pub fn render_agent(
    a: &AgentRow,
    statuses: &AppStatuses,
    now: Micros,
    inactive_timeout_us: i64,
) -> WorkspaceAgent {
    let st = status(a, now, inactive_timeout_us);
    let (healthy, reason) = health(st, &a.lifecycle_state);
    let display_apps = DISPLAY_APPS
        .into_iter()
        .filter(|k| {
            a.display_apps
                .get(*k)
                .and_then(Value::as_bool)
                .unwrap_or(false)
        })
        .collect();
    let blocking = a
        .scripts
        .iter()
        .any(|s| s.run_on_start && s.start_blocks_login);
    WorkspaceAgent {
        id: a.id,
        parent_id: None,
        created_at: Time(a.created_at),
        updated_at: Time(a.updated_at),
        first_connected_at: Time::opt(a.first_connected_at),
        last_connected_at: Time::opt(a.last_connected_at),
        disconnected_at: Time::opt(a.disconnected_at),
        started_at: Time::opt(a.started_at),
        ready_at: Time::opt(a.ready_at),
        status: st,
        lifecycle_state: a.lifecycle_state.clone(),
        name: a.name.clone(),
        resource_id: a.resource_id,
        architecture: a.architecture.clone(),
        environment_variables: serde_json::from_value(a.environment_variables.clone())
            .unwrap_or_default(),
        operating_system: a.operating_system.clone(),
        logs_length: a.logs_length,
        logs_overflowed: a.logs_overflowed,
        directory: a.directory.clone(),
        version: a.version.clone(),
        api_version: a.api_version.clone(),
        apps: a
            .apps
            .iter()
            .map(|app| render_app(app, statuses.get(&app.id).map(Vec::as_slice).unwrap_or(&[])))
            .collect(),
        connection_timeout_seconds: a.connection_timeout_seconds,
        troubleshooting_url: a.troubleshooting_url.clone(),
        subsystems: Vec::new(),
        health: WorkspaceAgentHealth { healthy, reason },
        display_apps,
        log_sources: a
            .scripts
            .iter()
            .map(|s| WorkspaceAgentLogSource {
                workspace_agent_id: a.id,
                id: s.log_source_id,
                created_at: Time(a.created_at),
                display_name: s.display_name.clone(),
                icon: SCRIPT_ICONS
                    .iter()
                    .find(|(n, _)| *n == s.display_name)
                    .map(|(_, i)| (*i).to_string())
                    .unwrap_or_default(),
            })
            .chain(a.log_sources.iter().map(|s| WorkspaceAgentLogSource {
                workspace_agent_id: a.id,
                id: s.id,
                created_at: Time(s.created_at),
                display_name: s.display_name.clone(),
                icon: s.icon.clone(),
            }))
            .collect(),
        scripts: a.scripts.iter().map(render_script).collect(),
        startup_script_behavior: if blocking { "blocking" } else { "non-blocking" },
    }
}

pub fn render_resource(
    r: &ResourceRow,
    statuses: &AppStatuses,
    now: Micros,
    inactive_timeout_us: i64,
) -> WorkspaceResource {
    WorkspaceResource {
        id: r.id,
        created_at: Time(r.created_at),
        job_id: r.job_id,
        workspace_transition: r.transition.clone(),
        kind: r.kind.clone(),
        name: r.name.clone(),
        hide: r.hide,
        icon: r.icon.clone(),
        agents: r
            .agents
            .iter()
            .map(|a| render_agent(a, statuses, now, inactive_timeout_us))
            .collect(),
        metadata: serde_json::from_value(r.metadata.clone()).unwrap_or_default(),
        daily_cost: r.daily_cost,
    }
}
