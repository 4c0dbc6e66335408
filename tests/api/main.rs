//! Integration tests: each starts the real warren server on a loopback port
//! with a temporary SQLite file and speaks HTTP to it.

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
mod security;
mod shapes;
mod snapshot;
mod templates;
mod users;
mod watch;
mod workspaces;
