//! Integration tests: each starts the real warren server on a loopback port
//! with a temporary SQLite file (or, under `tests/with-postgres`, a database
//! of its own on a throwaway PostgreSQL cluster) and speaks HTTP to it.

// Test code may panic on what it did not expect: that is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_logs;
mod authcheck;
mod builds;
mod client_compat;
mod common;
mod deployment;
mod foundation;
mod groups;
mod keys;
mod lifecycle;
mod list;
mod matrix;
mod metrics;
mod openapi;
mod operations;
mod organizations;
mod ports;
mod postgres;
mod quotas;
mod replicas;
mod roles;
mod schedule_explain;
mod security;
mod shapes;
mod snapshot;
mod store;
mod template_acl;
mod templates;
mod user_extras;
mod users;
mod version_extras;
mod watch;
mod workspaces;
