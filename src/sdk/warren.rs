//! warren's own extensions, which `codersdk` does not have: what operators
//! read (diagnostics) and what users ask of a workspace's schedule. Same
//! conventions as Coder's types: snake_case fields, RFC 3339 times.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Time;

/// `GET /api/v2/warren/diagnostics`: what a bug report needs, no secrets.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Diagnostics {
    pub version: String,
    pub deployment_id: String,
    pub started_at: Time,
    pub uptime_seconds: i64,
    pub database: DiagnosticsDatabase,
    pub counts: DiagnosticsCounts,
    /// Open watch streams (SSE and WebSocket).
    pub watchers: u64,
    pub pool: DiagnosticsPool,
    /// Background workers by name: `provisioner`, `lifecycle`.
    pub workers: BTreeMap<String, DiagnosticsWorker>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DiagnosticsDatabase {
    /// `sqlite` or `postgresql`.
    pub engine: String,
    pub schema_version: i64,
    /// The file's size; PostgreSQL: the database's, as the server counts it.
    pub size_bytes: u64,
    /// SQLite's write-ahead log; 0 on PostgreSQL (its log is the cluster's).
    pub wal_bytes: u64,
}

/// Counts by status, keyed by Coder's status names.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DiagnosticsCounts {
    pub users: BTreeMap<String, i64>,
    pub organizations: i64,
    pub groups: i64,
    pub templates: i64,
    pub workspaces: BTreeMap<String, i64>,
    pub provisioner_jobs: BTreeMap<String, i64>,
}

/// Waits for a pooled database connection since the server started.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DiagnosticsPool {
    pub max_connections: u32,
    pub acquisitions: u64,
    pub wait_seconds_total: f64,
    pub slowest_wait_seconds: f64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DiagnosticsWorker {
    pub running: bool,
    pub seconds_since_heartbeat: f64,
    /// Running and beating within its limit.
    pub healthy: bool,
}

/// `GET /api/v2/workspaces/{workspace}/schedule`: why a workspace is on or
/// off, and what the lifecycle executor will do next and why.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WorkspaceSchedule {
    pub workspace_id: uuid::Uuid,
    /// The server's time the explanation holds at.
    pub now: Time,
    /// Coder's workspace status.
    pub status: String,
    pub autostart: ScheduleAutostart,
    pub autostop: ScheduleAutostop,
    pub dormancy: ScheduleDormancy,
    /// The lifecycle executor's latest actions, newest first.
    pub recent_actions: Vec<ScheduleAction>,
}

/// Something the executor will do, when, and by which rule.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ScheduleNext {
    pub at: Time,
    pub rule: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ScheduleAutostart {
    /// The next automatic start, if one will happen.
    pub next: Option<ScheduleNext>,
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    /// Days the template allows autostart on (lower-case English names).
    pub allowed_days: Vec<String>,
    pub allowed_by_template: bool,
    /// Why there is no next start: `no_schedule`, `template_disallows`,
    /// `owner_inactive`, `dormant`, `last_build_failed`, `not_stopped`,
    /// `building`, `no_allowed_day`, `deleted`.
    pub blocked_by: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ScheduleAutostop {
    /// The next automatic stop, if one will happen.
    pub next: Option<ScheduleNext>,
    pub deadline: Option<Time>,
    pub max_deadline: Option<Time>,
    /// What set the deadline last: `ttl`, `template_ttl`, `autostart_ttl`,
    /// `max_deadline`, `activity_bump`, `extended`, `ttl_disabled`.
    pub deadline_rule: String,
    pub deadline_set_at: Option<Time>,
    /// Who or what set it (a username, an app), when known.
    pub deadline_set_by: String,
    /// The TTL that applies, and whose it is (`workspace` or `template`).
    pub ttl_ms: Option<i64>,
    pub ttl_source: String,
    pub activity_bump_ms: i64,
    pub autostop_requirement: Option<ScheduleRequirement>,
    pub failure_ttl_ms: i64,
    pub detail: String,
}

/// The template's autostop requirement: a stop on these days, every so
/// many weeks, at the start of the quiet hours.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ScheduleRequirement {
    pub days: Vec<String>,
    pub weeks: i64,
    pub quiet_hours_schedule: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ScheduleDormancy {
    pub dormant_at: Option<Time>,
    pub deleting_at: Option<Time>,
    pub time_til_dormant_ms: i64,
    pub time_til_dormant_autodelete_ms: i64,
    pub next_dormancy: Option<ScheduleNext>,
    pub next_deletion: Option<ScheduleNext>,
    pub detail: String,
}

/// What the executor did and why.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ScheduleAction {
    pub at: Time,
    pub action: String,
    pub reason: String,
    pub detail: String,
    pub build_number: Option<i64>,
}
