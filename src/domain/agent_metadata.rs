//! Agent metadata: the results of a template's `coder_agent` `metadata`
//! items, reported by an agent with its token or, for simulated agents,
//! made up on their intervals by the provisioner's loop.

use std::hash::{Hash, Hasher};

use uuid::Uuid;

use crate::authz::Subject;
use crate::domain::store::agent_extras::{self as store, MetadataRow};
use crate::domain::store::{resources, Db, Tx};
use crate::domain::template_model::AgentMetadata;
use crate::domain::workspace_agents::AgentSession;
use crate::domain::workspaces;
use crate::error::{ApiError, ApiResult, Validator};
use crate::sdk::{self, Micros, Time, ZERO_TIME_MICROS};

/// The kind of change the watch hub carries when results arrive.
pub use crate::domain::store::agent_extras::METADATA_CHANGED;

/// Longest value or error kept (Coder's `maxValueLen`); longer ones are cut
/// and the result's error says so.
pub const MAX_VALUE_BYTES: usize = 2048;

/// The agent's metadata rows, made with the agent: no result yet.
pub fn insert_for_agent(tx: &Tx, agent: Uuid, items: &[AgentMetadata]) -> ApiResult<()> {
    for m in items {
        store::insert_metadata(
            tx,
            &MetadataRow {
                agent_id: agent,
                key: m.key.clone(),
                display_name: m.display_name.clone(),
                script: m.script.clone(),
                interval: m.interval,
                timeout: m.timeout,
                display_order: m.order,
                value: String::new(),
                error: String::new(),
                collected_at: ZERO_TIME_MICROS,
            },
        )?;
    }
    Ok(())
}

/// `text` cut to at most [`MAX_VALUE_BYTES`] on a character boundary.
fn cut(text: &str) -> &str {
    let mut end = MAX_VALUE_BYTES.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `POST /workspaceagents/me/metadata`: results by key, stamped with the
/// server's clock; keys the agent does not declare are ignored, as Coder's
/// update ignores them.
pub fn report(
    tx: &Tx,
    session: &AgentSession,
    req: &sdk::PostMetadataRequest,
    now: Micros,
) -> ApiResult<()> {
    let mut v = Validator::new();
    for m in &req.metadata {
        v.required("key", &m.key);
    }
    v.finish()?;
    for m in &req.metadata {
        let mut error = m.error.clone();
        if m.value.len() > MAX_VALUE_BYTES {
            error = format!(
                "value of {} bytes exceeded {MAX_VALUE_BYTES} bytes",
                m.value.len()
            );
        }
        if m.error.len() > MAX_VALUE_BYTES {
            error = format!(
                "error of {} bytes exceeded {MAX_VALUE_BYTES} bytes",
                m.error.len()
            );
        }
        store::set_metadata_result(
            tx,
            session.agent_id(),
            &m.key,
            cut(&m.value),
            cut(&error),
            now,
        )?;
    }
    Ok(store::metadata_changed(tx, session.agent_id())?)
}

/// The metadata of an agent whose workspace the subject may read; only
/// [`readable`] makes one.
#[derive(Debug, Clone, Copy)]
pub struct AgentMetadataView {
    agent: Uuid,
    workspace: Uuid,
}

/// 404 unless the subject may read the agent's workspace.
pub fn readable(tx: &Tx, subject: &Subject, agent: Uuid) -> ApiResult<AgentMetadataView> {
    let (ws, _) = resources::agent_owner(tx, agent)?.ok_or_else(ApiError::not_found)?;
    workspaces::get(tx, subject, ws)?;
    Ok(AgentMetadataView {
        agent,
        workspace: ws,
    })
}

impl AgentMetadataView {
    pub fn workspace_id(&self) -> Uuid {
        self.workspace
    }

    pub fn agent_id(&self) -> Uuid {
        self.agent
    }

    /// Every item with its latest result, by display order and key; ages
    /// at `now`.
    pub fn current(&self, tx: &Tx, now: Micros) -> ApiResult<Vec<sdk::WorkspaceAgentMetadata>> {
        Ok(store::metadata(tx, self.agent)?
            .into_iter()
            .map(|m| sdk::WorkspaceAgentMetadata {
                result: sdk::WorkspaceAgentMetadataResult {
                    collected_at: Time(m.collected_at),
                    age: (now - m.collected_at) / 1_000_000,
                    value: m.value,
                    error: m.error,
                },
                description: sdk::WorkspaceAgentMetadataDescription {
                    display_name: m.display_name,
                    key: m.key,
                    script: m.script,
                    interval: m.interval,
                    timeout: m.timeout,
                },
            })
            .collect())
    }
}

/// The simulated agents someone watches the metadata of: only they report.
/// Nothing outside a metadata stream can see a result, so an agent nobody
/// watches costs nothing (10,000 simulated workspaces would otherwise
/// write 2,000 results a second of fiction); a stream's first watcher makes
/// its agent report at once.
#[derive(Debug, Default)]
pub struct Watched {
    agents: std::sync::Mutex<std::collections::HashMap<Uuid, usize>>,
}

/// One stream's interest in an agent's results; dropping it ends it.
#[derive(Debug)]
pub struct Watching {
    watched: std::sync::Arc<Watched>,
    agent: Uuid,
}

impl Watched {
    /// Registers a watcher of `agent` until the returned value drops.
    pub fn watch(self: &std::sync::Arc<Self>, agent: Uuid) -> Watching {
        *self.lock().entry(agent).or_default() += 1;
        Watching {
            watched: self.clone(),
            agent,
        }
    }

    /// The agents watched now.
    pub fn agents(&self) -> Vec<Uuid> {
        self.lock().keys().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Uuid, usize>> {
        self.agents.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let mut agents = self.watched.lock();
        if let Some(n) = agents.get_mut(&self.agent) {
            *n -= 1;
            if *n == 0 {
                agents.remove(&self.agent);
            }
        }
    }
}

/// Reports new results for the items of `agents` (simulated ones only)
/// that are due at `now`; returns how many.
pub fn report_simulated(db: &Db, agents: &[Uuid], now: Micros) -> ApiResult<usize> {
    if agents.is_empty() {
        return Ok(0);
    }
    let mut due = Vec::new();
    for some in agents.chunks(BEAT_SLICE) {
        due.extend(db.read_blocking(|tx| -> ApiResult<_> {
            Ok(store::due_simulated_metadata(tx, some, now)?)
        })?);
    }
    // In slices with a pause between them: thousands of agents report at
    // once, and one long transaction would hold the server's core that long.
    for slice in due.chunks(BEAT_SLICE) {
        db.write_uncached_blocking(|tx| -> ApiResult<()> {
            let mut agents = Vec::new();
            for m in slice {
                let value = simulated_value(m, now);
                store::set_metadata_result(tx, m.agent_id, &m.key, &value, "", now)?;
                if !agents.contains(&m.agent_id) {
                    agents.push(m.agent_id);
                }
            }
            for a in agents {
                store::metadata_changed(tx, a)?;
            }
            Ok(())
        })?;
        if slice.len() == BEAT_SLICE {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    Ok(due.len())
}

/// Metadata results the simulated agents' beat writes per transaction (and
/// agents it looks up per query).
const BEAT_SLICE: usize = 100;

/// A plausible result for an item, as `coder stat` prints it, varying with
/// the agent, the key and the time.
pub fn simulated_value(m: &MetadataRow, now: Micros) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (m.agent_id, &m.key, now / 1_000_000 / m.interval.max(1)).hash(&mut h);
    // A fraction in [0.05, 0.75).
    let f = 0.05 + (h.finish() % 7000) as f64 / 10_000.0;
    let hint = format!("{} {} {}", m.key, m.display_name, m.script).to_lowercase();
    if hint.contains("cpu") {
        format!("{:.2}/4 cores ({:.0}%)", f * 4.0, f * 100.0)
    } else if hint.contains("mem") || hint.contains("ram") {
        format!("{:.1}/8 GiB ({:.0}%)", f * 8.0, f * 100.0)
    } else if hint.contains("disk") {
        format!("{:.0}/50 GiB ({:.0}%)", f * 50.0, f * 100.0)
    } else if hint.contains("load") {
        format!("{:.2}", f * 4.0)
    } else {
        "ok".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_agents_report_only_while_watched() {
        let w = crate::testing::World::new();
        let ws = w.workspace("one");
        let agent = ws["latest_build"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|r| r["agents"][0]["id"].as_str())
            .map(|id| Uuid::parse_str(id).unwrap())
            .unwrap();
        let db = &w.running.app.db;
        let collected = || {
            db.read_blocking(|tx| store::metadata(tx, agent))
                .unwrap()
                .iter()
                .map(|m| m.collected_at)
                .collect::<Vec<_>>()
        };
        // The manual clock moves a microsecond at each reading.
        let now = || crate::clock::Clock::now(&*w.clock);
        let reported_since = |at: Micros| collected().iter().all(|c| *c >= at && *c <= now());
        w.clock.advance(std::time::Duration::from_secs(60));
        w.settle();
        assert_eq!(collected(), [ZERO_TIME_MICROS; 2], "reported unwatched");
        let at = now();
        let watching = w.running.app.provisioner.watch_metadata(agent).unwrap();
        assert!(reported_since(at), "the first watcher saw no report");
        w.clock.advance(std::time::Duration::from_secs(10));
        let at = now();
        w.settle();
        assert!(reported_since(at), "no report on the interval");
        let last = collected()[0];
        drop(watching);
        w.clock.advance(std::time::Duration::from_secs(30));
        w.settle();
        assert_eq!(collected(), [last; 2], "reported after the watcher left");
    }

    #[test]
    fn simulated_values_look_like_coder_stat() {
        let mut m = MetadataRow {
            agent_id: Uuid::new_v4(),
            key: "0_cpu_usage".into(),
            display_name: "CPU Usage".into(),
            script: "coder stat cpu".into(),
            interval: 10,
            ..Default::default()
        };
        let v = simulated_value(&m, 1_000_000_000);
        assert!(v.ends_with("%)") && v.contains("/4 cores ("), "{v}");
        // Stable within an interval, so a repeated report shows no change.
        assert_eq!(v, simulated_value(&m, 1_000_000_000 + 1_000_000));
        m.key = "1_ram_usage".into();
        m.display_name = "RAM Usage".into();
        m.script = "coder stat mem".into();
        assert!(simulated_value(&m, 0).contains(" GiB ("));
        m.key = "weather".into();
        m.display_name = "Weather".into();
        m.script = "curl wttr.in".into();
        assert_eq!(simulated_value(&m, 0), "ok");
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let s = "é".repeat(MAX_VALUE_BYTES);
        let c = cut(&s);
        assert!(c.len() <= MAX_VALUE_BYTES && c.chars().all(|ch| ch == 'é'));
        assert_eq!(cut("short"), "short");
    }
}
