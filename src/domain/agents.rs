//! Workspace resources and agents as clients see them: connection status,
//! lifecycle, health, apps and scripts.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::domain::store::resources::{AgentRow, AppRow, ResourceRow, ScriptRow};
use crate::sdk::{format_opt_time, format_time, Micros};

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

fn render_app(a: &AppRow, statuses: &[Value]) -> Value {
    let mut v = json!({
        "id": a.id,
        "external": a.external,
        "slug": a.slug,
        "subdomain": a.subdomain,
        "sharing_level": a.sharing_level,
        "healthcheck": {
            "url": a.healthcheck_url,
            "interval": a.healthcheck_interval,
            "threshold": a.healthcheck_threshold,
        },
        "health": a.health,
        "hidden": a.hidden,
        "open_in": a.open_in,
        "statuses": statuses,
    });
    for (k, s) in [
        ("url", &a.url),
        ("display_name", &a.display_name),
        ("command", &a.command),
        ("icon", &a.icon),
        ("group", &a.group_name),
    ] {
        if !s.is_empty() {
            v[k] = json!(s);
        }
    }
    v
}

fn render_script(s: &ScriptRow) -> Value {
    json!({
        "id": s.id,
        "log_source_id": s.log_source_id,
        "log_path": s.log_path,
        "script": s.script,
        "cron": s.cron,
        "run_on_start": s.run_on_start,
        "run_on_stop": s.run_on_stop,
        "start_blocks_login": s.start_blocks_login,
        "timeout": s.timeout_seconds,
        "display_name": s.display_name,
    })
}

const SCRIPT_ICONS: &[(&str, &str)] = &[
    ("Startup Script", "/emojis/25b6.png"),
    ("Shutdown Script", "/emojis/25c0.png"),
];

/// App statuses keyed by app id, newest first (loaded by the caller).
pub type AppStatuses = std::collections::HashMap<Uuid, Vec<Value>>;

pub fn render_agent(
    a: &AgentRow,
    statuses: &AppStatuses,
    now: Micros,
    inactive_timeout_us: i64,
) -> Value {
    let st = status(a, now, inactive_timeout_us);
    let (healthy, reason) = health(st, &a.lifecycle_state);
    let mut health = json!({ "healthy": healthy });
    if let Some(r) = reason {
        health["reason"] = json!(r);
    }
    let display_apps: Vec<&str> = [
        "vscode",
        "vscode_insiders",
        "web_terminal",
        "ssh_helper",
        "port_forwarding_helper",
    ]
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
    let mut v = json!({
        "id": a.id,
        "parent_id": null,
        "created_at": format_time(a.created_at),
        "updated_at": format_time(a.updated_at),
        "status": st,
        "lifecycle_state": a.lifecycle_state,
        "name": a.name,
        "resource_id": a.resource_id,
        "architecture": a.architecture,
        "operating_system": a.operating_system,
        "environment_variables": a.environment_variables,
        "version": a.version,
        "api_version": a.api_version,
        "apps": a.apps.iter().map(|app| render_app(app, statuses.get(&app.id).map(Vec::as_slice).unwrap_or(&[]))).collect::<Vec<_>>(),
        "connection_timeout_seconds": a.connection_timeout_seconds,
        "troubleshooting_url": a.troubleshooting_url,
        "subsystems": [],
        "health": health,
        "display_apps": display_apps,
        "log_sources": a.scripts.iter().map(|s| json!({
            "id": s.log_source_id,
            "workspace_agent_id": a.id,
            "created_at": format_time(a.created_at),
            "display_name": s.display_name,
            "icon": SCRIPT_ICONS.iter().find(|(n, _)| *n == s.display_name).map(|(_, i)| *i).unwrap_or(""),
        })).collect::<Vec<_>>(),
        "scripts": a.scripts.iter().map(render_script).collect::<Vec<_>>(),
        "startup_script_behavior": if blocking { "blocking" } else { "non-blocking" },
        "logs_length": a.logs_length,
        "logs_overflowed": a.logs_overflowed,
    });
    for (k, t) in [
        ("first_connected_at", a.first_connected_at),
        ("last_connected_at", a.last_connected_at),
        ("disconnected_at", a.disconnected_at),
        ("started_at", a.started_at),
        ("ready_at", a.ready_at),
    ] {
        if let Some(t) = format_opt_time(t) {
            v[k] = json!(t);
        }
    }
    if !a.directory.is_empty() {
        v["directory"] = json!(a.directory);
    }
    v
}

pub fn render_resource(
    r: &ResourceRow,
    statuses: &AppStatuses,
    now: Micros,
    inactive_timeout_us: i64,
) -> Value {
    json!({
        "id": r.id,
        "created_at": format_time(r.created_at),
        "job_id": r.job_id,
        "workspace_transition": r.transition,
        "type": r.kind,
        "name": r.name,
        "hide": r.hide,
        "icon": r.icon,
        "agents": r.agents.iter().map(|a| render_agent(a, statuses, now, inactive_timeout_us)).collect::<Vec<_>>(),
        "metadata": r.metadata,
        "daily_cost": r.daily_cost,
    })
}
