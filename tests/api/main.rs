//! Integration tests: each starts the real warren server on a loopback port
//! with a temporary SQLite file (or, under `tests/with-postgres`, a database
//! of its own on a throwaway PostgreSQL cluster) and speaks HTTP to it.

mod builds;
mod client_compat;
mod common;
mod foundation;
mod groups;
mod keys;
mod lifecycle;
mod list;
mod matrix;
mod organizations;
mod postgres;
mod replicas;
mod shapes;
mod templates;
mod users;
mod watch;
mod workspaces;
