//! What a build created: resources, agents, apps, scripts and their timings.
//! Loaded in batches (one query per table for any number of jobs).

use std::collections::HashMap;

use super::sql::{args, parse_json, placeholders, Param, Row, StoreResult, Tx};
use serde_json::Value;
use uuid::Uuid;

use crate::sdk::Micros;

#[derive(Debug, Clone, Default)]
pub struct ResourceRow {
    pub id: Uuid,
    pub job_id: Uuid,
    pub transition: String,
    pub kind: String,
    pub name: String,
    pub hide: bool,
    pub icon: String,
    pub daily_cost: i64,
    pub metadata: Value,
    pub created_at: Micros,
    pub agents: Vec<AgentRow>,
}

pub use super::status::AgentFacts;

impl AgentRow {
    /// What the connection status reads of this agent.
    pub fn facts(&self) -> AgentFacts {
        AgentFacts {
            created_at: self.created_at,
            connection_timeout_seconds: self.connection_timeout_seconds,
            first_connected_at: self.first_connected_at,
            last_connected_at: self.last_connected_at,
            disconnected_at: self.disconnected_at,
            simulated: self.simulated,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AgentRow {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub name: String,
    pub architecture: String,
    pub operating_system: String,
    pub directory: String,
    pub environment_variables: Value,
    pub version: String,
    pub api_version: String,
    pub connection_timeout_seconds: i64,
    pub troubleshooting_url: String,
    pub motd_file: String,
    pub display_apps: Value,
    pub metadata: Value,
    pub lifecycle_state: String,
    pub started_at: Option<Micros>,
    pub ready_at: Option<Micros>,
    pub first_connected_at: Option<Micros>,
    pub last_connected_at: Option<Micros>,
    pub disconnected_at: Option<Micros>,
    pub simulated: bool,
    pub logs_length: i64,
    pub logs_overflowed: bool,
    pub display_order: i64,
    pub created_at: Micros,
    pub updated_at: Micros,
    pub apps: Vec<AppRow>,
    pub scripts: Vec<ScriptRow>,
    /// Log sources besides the scripts' own (registered by the agent).
    pub log_sources: Vec<super::agent_extras::LogSourceRow>,
}

#[derive(Debug, Clone, Default)]
pub struct AppRow {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub slug: String,
    pub display_name: String,
    pub command: String,
    pub url: String,
    pub icon: String,
    pub subdomain: bool,
    pub sharing_level: String,
    pub healthcheck_url: String,
    pub healthcheck_interval: i64,
    pub healthcheck_threshold: i64,
    pub health: String,
    pub external: bool,
    pub hidden: bool,
    pub open_in: String,
    pub group_name: String,
    pub display_order: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ScriptRow {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub log_source_id: Uuid,
    pub log_path: String,
    pub script: String,
    pub cron: String,
    pub run_on_start: bool,
    pub run_on_stop: bool,
    pub start_blocks_login: bool,
    pub timeout_seconds: i64,
    pub display_name: String,
    pub display_order: i64,
}

pub fn insert_resource(tx: &Tx, r: &ResourceRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO workspace_resources (id, job_id, transition, type, name, hide, icon, daily_cost, metadata, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        args![r.id, r.job_id, r.transition, r.kind, r.name, r.hide, r.icon, r.daily_cost, r.metadata, r.created_at],
    )?;
    Ok(())
}

pub fn insert_agent(tx: &Tx, a: &AgentRow, token_hash: &[u8]) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO workspace_agents (id, resource_id, name, auth_token_hash, architecture, operating_system,
            directory, environment_variables, connection_timeout_seconds, troubleshooting_url, motd_file,
            display_apps, metadata, simulated, display_order, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)",
        args![a.id, a.resource_id, a.name, token_hash, a.architecture, a.operating_system, a.directory, a.environment_variables, a.connection_timeout_seconds, a.troubleshooting_url, a.motd_file, a.display_apps, a.metadata, a.simulated, a.display_order, a.created_at],
    )?;
    Ok(())
}

pub fn insert_app(tx: &Tx, a: &AppRow, now: Micros) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO workspace_apps (id, agent_id, slug, display_name, command, url, icon, subdomain, sharing_level,
            healthcheck_url, healthcheck_interval, healthcheck_threshold, health, external, hidden, open_in,
            group_name, display_order, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
        args![a.id, a.agent_id, a.slug, a.display_name, a.command, a.url, a.icon, a.subdomain, a.sharing_level, a.healthcheck_url, a.healthcheck_interval, a.healthcheck_threshold, a.health, a.external, a.hidden, a.open_in, a.group_name, a.display_order, now],
    )?;
    Ok(())
}

pub fn insert_script(tx: &Tx, s: &ScriptRow, icon: &str, now: Micros) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO workspace_agent_log_sources (id, agent_id, display_name, icon, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        args![s.log_source_id, s.agent_id, s.display_name, icon, now],
    )?;
    tx.execute(
        "INSERT INTO workspace_agent_scripts (id, agent_id, log_source_id, log_path, script, cron, run_on_start,
            run_on_stop, start_blocks_login, timeout_seconds, display_name, display_order, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        args![s.id, s.agent_id, s.log_source_id, s.log_path, s.script, s.cron, s.run_on_start, s.run_on_stop, s.start_blocks_login, s.timeout_seconds, s.display_name, s.display_order, now],
    )?;
    Ok(())
}

const AGENT_COLUMNS: &str = "a.id, a.resource_id, a.name, a.architecture, a.operating_system, a.directory,
    a.environment_variables, a.version, a.api_version, a.connection_timeout_seconds, a.troubleshooting_url,
    a.motd_file, a.display_apps, a.metadata, a.lifecycle_state, a.started_at, a.ready_at,
    a.first_connected_at, a.last_connected_at, a.disconnected_at, a.simulated, a.logs_length,
    a.logs_overflowed, a.display_order, a.created_at, a.updated_at";

fn agent_from_row(r: &Row) -> StoreResult<AgentRow> {
    let json = |i: usize| -> StoreResult<Value> { parse_json(&r.get::<String>(i)?) };
    Ok(AgentRow {
        id: r.get(0)?,
        resource_id: r.get(1)?,
        name: r.get(2)?,
        architecture: r.get(3)?,
        operating_system: r.get(4)?,
        directory: r.get(5)?,
        environment_variables: json(6)?,
        version: r.get(7)?,
        api_version: r.get(8)?,
        connection_timeout_seconds: r.get(9)?,
        troubleshooting_url: r.get(10)?,
        motd_file: r.get(11)?,
        display_apps: json(12)?,
        metadata: json(13)?,
        lifecycle_state: r.get(14)?,
        started_at: r.get(15)?,
        ready_at: r.get(16)?,
        first_connected_at: r.get(17)?,
        last_connected_at: r.get(18)?,
        disconnected_at: r.get(19)?,
        simulated: r.get(20)?,
        logs_length: r.get(21)?,
        logs_overflowed: r.get(22)?,
        display_order: r.get(23)?,
        created_at: r.get(24)?,
        updated_at: r.get(25)?,
        apps: Vec::new(),
        scripts: Vec::new(),
        log_sources: Vec::new(),
    })
}

/// Resources of the given jobs with their agents, apps and scripts: four
/// queries whatever the number of jobs.
pub fn for_jobs(tx: &Tx, jobs: &[Uuid]) -> StoreResult<HashMap<Uuid, Vec<ResourceRow>>> {
    let mut out: HashMap<Uuid, Vec<ResourceRow>> = HashMap::new();
    if jobs.is_empty() {
        return Ok(out);
    }
    let ids = Param::uuids(jobs);
    let ph = placeholders(ids.len());
    let resources = tx.query(
        &format!(
        "SELECT id, job_id, transition, type, name, hide, icon, daily_cost, metadata, created_at
         FROM workspace_resources WHERE job_id IN ({ph}) ORDER BY name, id"
    ),
        &ids,
        |r| {
            Ok(ResourceRow {
                id: r.get(0)?,
                job_id: r.get(1)?,
                transition: r.get(2)?,
                kind: r.get(3)?,
                name: r.get(4)?,
                hide: r.get(5)?,
                icon: r.get(6)?,
                daily_cost: r.get(7)?,
                metadata: parse_json(&r.get::<String>(8)?)?,
                created_at: r.get(9)?,
                agents: Vec::new(),
            })
        },
    )?;
    let mut agents: HashMap<Uuid, Vec<AgentRow>> = HashMap::new();
    let agent_rows = tx.query(&format!(
        "SELECT {AGENT_COLUMNS} FROM workspace_agents a JOIN workspace_resources r ON r.id = a.resource_id
         WHERE r.job_id IN ({ph}) ORDER BY a.display_order, a.name"
    ), &ids, agent_from_row)?;
    let mut apps: HashMap<Uuid, Vec<AppRow>> = HashMap::new();
    let sql = format!(
        "SELECT p.id, p.agent_id, p.slug, p.display_name, p.command, p.url, p.icon, p.subdomain, p.sharing_level,
                p.healthcheck_url, p.healthcheck_interval, p.healthcheck_threshold, p.health, p.external,
                p.hidden, p.open_in, p.group_name, p.display_order
         FROM workspace_apps p JOIN workspace_agents a ON a.id = p.agent_id
         JOIN workspace_resources r ON r.id = a.resource_id
         WHERE r.job_id IN ({ph}) ORDER BY p.display_order, p.slug"
    );
    tx.each(&sql, &ids, |r| {
        let app = AppRow {
            id: r.get(0)?,
            agent_id: r.get(1)?,
            slug: r.get(2)?,
            display_name: r.get(3)?,
            command: r.get(4)?,
            url: r.get(5)?,
            icon: r.get(6)?,
            subdomain: r.get(7)?,
            sharing_level: r.get(8)?,
            healthcheck_url: r.get(9)?,
            healthcheck_interval: r.get(10)?,
            healthcheck_threshold: r.get(11)?,
            health: r.get(12)?,
            external: r.get(13)?,
            hidden: r.get(14)?,
            open_in: r.get(15)?,
            group_name: r.get(16)?,
            display_order: r.get(17)?,
        };
        apps.entry(app.agent_id).or_default().push(app);
        Ok(())
    })?;
    let mut scripts: HashMap<Uuid, Vec<ScriptRow>> = HashMap::new();
    let sql = format!(
        "SELECT s.id, s.agent_id, s.log_source_id, s.log_path, s.script, s.cron, s.run_on_start, s.run_on_stop,
                s.start_blocks_login, s.timeout_seconds, s.display_name, s.display_order
         FROM workspace_agent_scripts s JOIN workspace_agents a ON a.id = s.agent_id
         JOIN workspace_resources r ON r.id = a.resource_id
         WHERE r.job_id IN ({ph}) ORDER BY s.display_order"
    );
    tx.each(&sql, &ids, |r| {
        let s = ScriptRow {
            id: r.get(0)?,
            agent_id: r.get(1)?,
            log_source_id: r.get(2)?,
            log_path: r.get(3)?,
            script: r.get(4)?,
            cron: r.get(5)?,
            run_on_start: r.get(6)?,
            run_on_stop: r.get(7)?,
            start_blocks_login: r.get(8)?,
            timeout_seconds: r.get(9)?,
            display_name: r.get(10)?,
            display_order: r.get(11)?,
        };
        scripts.entry(s.agent_id).or_default().push(s);
        Ok(())
    })?;
    let mut sources: HashMap<Uuid, Vec<super::agent_extras::LogSourceRow>> = HashMap::new();
    let sql = format!(
        "SELECT s.id, s.agent_id, s.display_name, s.icon, s.created_at
         FROM workspace_agent_log_sources s JOIN workspace_agents a ON a.id = s.agent_id
         JOIN workspace_resources r ON r.id = a.resource_id
         WHERE r.job_id IN ({ph}) AND NOT EXISTS (SELECT 1 FROM workspace_agent_scripts c
             WHERE c.agent_id = s.agent_id AND c.log_source_id = s.id)
         ORDER BY s.created_at, s.id"
    );
    tx.each(&sql, &ids, |r| {
        let s = super::agent_extras::LogSourceRow {
            id: r.get(0)?,
            agent_id: r.get(1)?,
            display_name: r.get(2)?,
            icon: r.get(3)?,
            created_at: r.get(4)?,
        };
        sources.entry(s.agent_id).or_default().push(s);
        Ok(())
    })?;
    for mut a in agent_rows {
        a.apps = apps.remove(&a.id).unwrap_or_default();
        a.scripts = scripts.remove(&a.id).unwrap_or_default();
        a.log_sources = sources.remove(&a.id).unwrap_or_default();
        agents.entry(a.resource_id).or_default().push(a);
    }
    for mut r in resources {
        r.agents = agents.remove(&r.id).unwrap_or_default();
        out.entry(r.job_id).or_default().push(r);
    }
    Ok(out)
}

pub fn get_agent(tx: &Tx, id: Uuid) -> StoreResult<Option<AgentRow>> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM workspace_agents a WHERE a.id = ?");
    tx.query_opt(&sql, args![id], agent_from_row)
}

pub fn agent_by_token_hash(tx: &Tx, hash: &[u8]) -> StoreResult<Option<AgentRow>> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM workspace_agents a WHERE a.auth_token_hash = ?");
    tx.query_opt(&sql, args![hash], agent_from_row)
}

/// The workspace and build an agent belongs to.
pub fn agent_owner(tx: &Tx, agent: Uuid) -> StoreResult<Option<(Uuid, Uuid)>> {
    tx.query_opt(
        "SELECT b.workspace_id, b.id FROM workspace_agents a JOIN workspace_resources r ON r.id = a.resource_id
         JOIN workspace_builds b ON b.job_id = r.job_id WHERE a.id = ?",
        args![agent],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Records a change to the workspace an agent belongs to.
fn agent_changed(tx: &Tx, agent: Uuid) -> StoreResult<()> {
    if let Some((ws, _)) = agent_owner(tx, agent)? {
        super::changed(ws, "agent");
    }
    Ok(())
}

pub fn set_agent_token_hash(tx: &Tx, agent: Uuid, hash: &[u8]) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspace_agents SET auth_token_hash = ?2, simulated = 0 WHERE id = ?1",
        args![agent, hash],
    )?;
    agent_changed(tx, agent)
}

/// What an external agent reports at start-up.
pub fn set_agent_startup(
    tx: &Tx,
    agent: Uuid,
    version: &str,
    expanded_directory: &str,
    subsystems: &[String],
    now: Micros,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspace_agents SET version = ?2, expanded_directory = ?3, subsystems = ?4, updated_at = ?5 WHERE id = ?1",
        args![agent, version, expanded_directory, serde_json::to_string(subsystems)?, now],
    )?;
    agent_changed(tx, agent)
}

pub fn app_id_by_slug(tx: &Tx, agent: Uuid, slug: &str) -> StoreResult<Option<Uuid>> {
    tx.query_opt(
        "SELECT id FROM workspace_apps WHERE agent_id = ? AND slug = ?",
        args![agent, slug],
        |r| r.get(0),
    )
}

pub struct AppStatus<'a> {
    pub workspace: Uuid,
    pub agent: Uuid,
    pub app: Uuid,
    pub state: &'a str,
    pub message: &'a str,
    pub uri: &'a str,
    pub icon: &'a str,
    pub needs_user_attention: bool,
}

pub fn insert_app_status(tx: &Tx, s: &AppStatus, now: Micros) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO workspace_app_statuses (id, created_at, workspace_id, agent_id, app_id, state, message, uri, icon, needs_user_attention)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        args![crate::domain::new_id(), now, s.workspace, s.agent, s.app, s.state, s.message, s.uri, s.icon, s.needs_user_attention],
    )?;
    super::changed(s.workspace, "app_status");
    Ok(())
}

/// Connection and lifecycle updates, each applied only when given.
#[derive(Debug, Default)]
pub struct AgentUpdate {
    pub lifecycle_state: Option<String>,
    pub started_at: Option<Micros>,
    pub ready_at: Option<Micros>,
    pub connected_at: Option<Micros>,
    pub disconnected_at: Option<Micros>,
    pub version: Option<String>,
    pub api_version: Option<String>,
}

pub fn update_agent(tx: &Tx, agent: Uuid, u: &AgentUpdate, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspace_agents SET
            lifecycle_state = COALESCE(?2, lifecycle_state),
            started_at = COALESCE(?3, started_at),
            ready_at = COALESCE(?4, ready_at),
            first_connected_at = COALESCE(first_connected_at, ?5),
            last_connected_at = COALESCE(?5, last_connected_at),
            disconnected_at = COALESCE(?6, disconnected_at),
            version = COALESCE(?7, version),
            api_version = COALESCE(?8, api_version),
            updated_at = ?9
         WHERE id = ?1",
        args![
            agent,
            u.lifecycle_state,
            u.started_at,
            u.ready_at,
            u.connected_at,
            u.disconnected_at,
            u.version,
            u.api_version,
            now
        ],
    )?;
    agent_changed(tx, agent)?;
    Ok(())
}

pub struct ScriptTiming<'a> {
    pub script: Uuid,
    pub agent: Uuid,
    pub started_at: Micros,
    pub ended_at: Micros,
    pub stage: &'a str,
    pub status: &'a str,
    pub exit_code: i64,
}

pub fn add_script_timing(tx: &Tx, t: &ScriptTiming) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO workspace_agent_script_timings (script_id, agent_id, started_at, ended_at, exit_code, stage, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![t.script, t.agent, t.started_at, t.ended_at, t.exit_code, t.stage, t.status],
    )?;
    Ok(())
}

/// A status an app reported through the agent API.
#[derive(Debug, Clone)]
pub struct AppStatusRow {
    pub id: Uuid,
    pub created_at: Micros,
    pub workspace_id: Uuid,
    pub agent_id: Uuid,
    pub app_id: Uuid,
    pub state: String,
    pub message: String,
    pub uri: String,
    pub icon: String,
    pub needs_user_attention: bool,
}

/// App statuses of the given workspaces, newest first.
pub fn app_statuses(tx: &Tx, workspaces: &[Uuid]) -> StoreResult<Vec<AppStatusRow>> {
    if workspaces.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, created_at, workspace_id, agent_id, app_id, state, message, uri, icon, needs_user_attention
         FROM workspace_app_statuses WHERE workspace_id IN ({}) ORDER BY created_at DESC, rowid DESC",
        placeholders(workspaces.len())
    );
    tx.query(&sql, &Param::uuids(workspaces), |r| {
        Ok(AppStatusRow {
            id: r.get(0)?,
            created_at: r.get(1)?,
            workspace_id: r.get(2)?,
            agent_id: r.get(3)?,
            app_id: r.get(4)?,
            state: r.get(5)?,
            message: r.get(6)?,
            uri: r.get(7)?,
            icon: r.get(8)?,
            needs_user_attention: r.get(9)?,
        })
    })
}

/// A script run an agent reported, with its script's display name.
#[derive(Debug, Clone)]
pub struct ScriptTimingRow {
    pub agent_id: Uuid,
    pub started_at: Micros,
    pub ended_at: Micros,
    pub exit_code: i64,
    pub stage: String,
    pub status: String,
    pub display_name: String,
}

/// Script timings of the given agents, in start order; one query.
pub fn script_timings(tx: &Tx, agents: &[Uuid]) -> StoreResult<Vec<ScriptTimingRow>> {
    if agents.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT t.agent_id, t.started_at, t.ended_at, t.exit_code, t.stage, t.status, s.display_name
         FROM workspace_agent_script_timings t JOIN workspace_agent_scripts s ON s.id = t.script_id
         WHERE t.agent_id IN ({}) ORDER BY t.started_at",
        placeholders(agents.len())
    );
    tx.query(&sql, &Param::uuids(agents), |r| {
        Ok(ScriptTimingRow {
            agent_id: r.get(0)?,
            started_at: r.get(1)?,
            ended_at: r.get(2)?,
            exit_code: r.get(3)?,
            stage: r.get(4)?,
            status: r.get(5)?,
            display_name: r.get(6)?,
        })
    })
}

/// What the connection status of the agents of a job's resources reads.
pub fn agent_facts(tx: &Tx, job: Uuid) -> StoreResult<Vec<AgentFacts>> {
    tx.query(
        "SELECT a.created_at, a.connection_timeout_seconds, a.first_connected_at, a.last_connected_at,
                a.disconnected_at, a.simulated
         FROM workspace_agents a JOIN workspace_resources r ON r.id = a.resource_id WHERE r.job_id = ?",
        args![job],
        |r| {
            Ok(AgentFacts {
                created_at: r.get(0)?,
                connection_timeout_seconds: r.get(1)?,
                first_connected_at: r.get(2)?,
                last_connected_at: r.get(3)?,
                disconnected_at: r.get(4)?,
                simulated: r.get(5)?,
            })
        },
    )
}
