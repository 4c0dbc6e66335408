//! warren's own extensions, which `codersdk` does not have: what operators
//! read (diagnostics) and what users ask of a workspace's schedule. Same
//! conventions as Coder's types: snake_case fields, RFC 3339 times.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Time;

/// `GET /api/v2/warren/diagnostics`: what a bug report needs, no secrets.
#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticsDatabase {
    pub engine: String,
    pub schema_version: i64,
    pub size_bytes: u64,
    pub wal_bytes: u64,
}

/// Counts by status, keyed by Coder's status names.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticsCounts {
    pub users: BTreeMap<String, i64>,
    pub organizations: i64,
    pub groups: i64,
    pub templates: i64,
    pub workspaces: BTreeMap<String, i64>,
    pub provisioner_jobs: BTreeMap<String, i64>,
}

/// Waits for a pooled database connection since the server started.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticsPool {
    pub max_connections: u32,
    pub acquisitions: u64,
    pub wait_seconds_total: f64,
    pub slowest_wait_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticsWorker {
    pub running: bool,
    pub seconds_since_heartbeat: f64,
    /// Running and beating within its limit.
    pub healthy: bool,
}
