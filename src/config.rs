//! Configuration: defaults, overridden by `WARREN_*` environment variables,
//! overridden by command-line flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// The Coder release whose API warren reproduces; `/buildinfo` reports it.
pub const CODER_VERSION: &str = "v2.29.0";

#[derive(Debug, Parser)]
#[command(
    name = "warren",
    version,
    about = "Coder's Workspaces API on one SQLite file or a shared PostgreSQL database"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub server: Config,
}

// Parsed once at start-up: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server (the default).
    Server(Config),
    /// Copy a SQLite database into an empty PostgreSQL one, verifying every
    /// table's row count and checksum (stop the server first).
    Migrate(MigrateArgs),
    /// Write a consistent, verified copy of the database while a server
    /// may be serving from it.
    Backup(BackupArgs),
    /// Replace the database with a backup (no server may hold it).
    Restore(RestoreArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct MigrateArgs {
    /// The SQLite database file to copy (brought to this binary's schema
    /// version first, as a server start would).
    #[arg(long)]
    pub from: PathBuf,
    /// The PostgreSQL database to copy into: `postgres://user:password@host/db`.
    /// It must be empty (or hold warren's schema and no rows).
    #[arg(long)]
    pub to: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BackupArgs {
    /// The database to copy.
    #[arg(long, env = "WARREN_DB", default_value = "./warren.db")]
    pub db: PathBuf,
    /// Where the copy goes; must not exist.
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RestoreArgs {
    /// The backup to restore.
    #[arg(long)]
    pub from: PathBuf,
    /// The database to replace (or create).
    #[arg(long, env = "WARREN_DB", default_value = "./warren.db")]
    pub db: PathBuf,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "WARREN_ADDRESS", default_value = "127.0.0.1:3000")]
    pub address: String,
    /// SQLite database file (created if missing), or a PostgreSQL URL
    /// (`postgres://user:password@host:port/database`) that any number of
    /// replicas may share.
    #[arg(long, env = "WARREN_DB", default_value = "./warren.db")]
    pub db: PathBuf,
    /// Most connections this replica opens to PostgreSQL (one more listens
    /// for other replicas' changes).
    #[arg(long, env = "WARREN_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,
    /// Public URL of this server, reported as `dashboard_url`; defaults to
    /// `http://<address>`.
    #[arg(long, env = "WARREN_ACCESS_URL")]
    pub access_url: Option<String>,
    /// Lifetime of a browser/CLI session created by login.
    #[arg(long, env = "WARREN_SESSION_DURATION", default_value = "24h", value_parser = humantime::parse_duration)]
    pub session_duration: Duration,
    /// Lifetime of a token created without one.
    #[arg(long, env = "WARREN_DEFAULT_TOKEN_LIFETIME", default_value = "7days", value_parser = humantime::parse_duration)]
    pub default_token_lifetime: Duration,
    /// Longest lifetime a member may request for a token (Coder's default).
    #[arg(long, env = "WARREN_MAX_TOKEN_LIFETIME", default_value = "2562047h", value_parser = humantime::parse_duration)]
    pub max_token_lifetime: Duration,
    /// Longest lifetime an owner may request for a token (Coder's default).
    #[arg(long, env = "WARREN_MAX_ADMIN_TOKEN_LIFETIME", default_value = "7days", value_parser = humantime::parse_duration)]
    pub max_admin_token_lifetime: Duration,
    /// Failed logins allowed per email (and per client address) per minute
    /// before further attempts get 429.
    #[arg(long, env = "WARREN_LOGIN_RATE_LIMIT", default_value_t = 10)]
    pub login_rate_limit: u32,
    /// Largest JSON request body, in bytes.
    #[arg(long, env = "WARREN_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Largest uploaded template archive (and expanded zip), in bytes.
    #[arg(long, env = "WARREN_MAX_FILE_BYTES", default_value_t = 100 << 20)]
    pub max_file_bytes: usize,
    /// How long the built-in provisioner's simulated stages take in all
    /// (`0s` for instant builds).
    #[arg(long, env = "WARREN_PROVISIONER_DELAY", default_value = "1s", value_parser = humantime::parse_duration)]
    pub provisioner_delay: Duration,
    /// An agent driven through the agent API that stays silent this long is
    /// disconnected.
    #[arg(long, env = "WARREN_AGENT_INACTIVE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub agent_inactive_timeout: Duration,
    /// Let owners rename workspaces (Coder's `--allow-workspace-renames`).
    #[arg(long, env = "WARREN_ALLOW_WORKSPACE_RENAMES", default_value_t = false)]
    pub allow_workspace_renames: bool,
    /// How often the lifecycle executor looks for workspaces to autostart,
    /// autostop, make dormant or delete.
    #[arg(long, env = "WARREN_AUTOBUILD_POLL_INTERVAL", default_value = "1m", value_parser = humantime::parse_duration)]
    pub autobuild_poll_interval: Duration,
    /// Heartbeat of watch streams (SSE ping events, WebSocket ping frames).
    #[arg(long, env = "WARREN_WATCH_PING_INTERVAL", default_value = "15s", value_parser = humantime::parse_duration)]
    pub watch_ping_interval: Duration,
    /// Version string reported by `/buildinfo` and `X-Coder-Build-Version`.
    #[arg(long, env = "WARREN_BUILD_VERSION")]
    pub build_version: Option<String>,
    /// Serve Prometheus metrics at `/metrics` on `--prometheus-address`
    /// (Coder's `--prometheus-enable`).
    #[arg(long, env = "WARREN_PROMETHEUS_ENABLE", default_value_t = false)]
    pub prometheus_enable: bool,
    /// The listener of `/metrics`, apart from the API's.
    #[arg(
        long,
        env = "WARREN_PROMETHEUS_ADDRESS",
        default_value = "127.0.0.1:2112"
    )]
    pub prometheus_address: String,
}

impl Config {
    /// A configuration for tests and embedding: everything at its default.
    pub fn defaults() -> Config {
        Cli::parse_from(["warren"]).server
    }

    pub fn version(&self) -> String {
        self.build_version
            .clone()
            .unwrap_or_else(|| format!("{CODER_VERSION}+warren-{}", env!("CARGO_PKG_VERSION")))
    }
}

/// What the command line asks for.
#[allow(clippy::large_enum_variant)]
pub enum Run {
    Server(Config),
    Migrate(MigrateArgs),
    Backup(BackupArgs),
    Restore(RestoreArgs),
}

impl Cli {
    pub fn into_run(self) -> Run {
        match self.command {
            Some(Command::Server(c)) => Run::Server(c),
            Some(Command::Backup(b)) => Run::Backup(b),
            Some(Command::Restore(r)) => Run::Restore(r),
            Some(Command::Migrate(m)) => Run::Migrate(m),
            None => Run::Server(self.server),
        }
    }
}
