//! Agent logs: what an agent (or the simulation) writes with its token, in
//! Coder's limits, and what readers of the agent's workspace see.

use uuid::Uuid;

use crate::authz::Subject;
use crate::domain::store::agent_extras::{self as store, LogSourceRow};
use crate::domain::store::resources;
use crate::domain::store::Tx;
use crate::domain::workspace_agents::AgentSession;
use crate::domain::workspaces;
use crate::error::{ApiError, ApiResult};
use crate::sdk::{self, Micros, Time};

/// Bytes of log output an agent may store in all (Coder's
/// `max_logs_length`); beyond it the agent's logs are marked overflowed.
pub const LOGS_LIMIT: i64 = 1 << 20;

/// Coder's log source for logs sent without one (`agentsdk.ExternalLogSourceID`).
pub const EXTERNAL_SOURCE: Uuid = Uuid::from_u128(0x3b579bf4_1ed8_4b99_87a8_e9a1e3410410);

const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];

/// How an append went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    Stored,
    /// Refused: the logs would pass [`LOGS_LIMIT`]. `already` when an
    /// earlier append had reached it.
    Overflowed {
        already: bool,
    },
}

impl Appended {
    /// Coder's answer to an agent whose logs were refused.
    pub fn into_result(self) -> ApiResult<()> {
        match self {
            Appended::Stored => Ok(()),
            Appended::Overflowed { already } => {
                let e = ApiError::new(
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "Logs limit exceeded",
                );
                Err(if already {
                    e.detail(format!(
                        "The agent's logs have reached their limit of {LOGS_LIMIT} bytes."
                    ))
                } else {
                    e
                })
            }
        }
    }
}

/// Appends `(level, output)` lines of one source at `now`: all of them, or
/// none when they would pass the limit (which marks the logs overflowed).
pub fn append(
    tx: &Tx,
    agent: Uuid,
    source: Uuid,
    lines: &[(String, String)],
    now: Micros,
) -> ApiResult<Appended> {
    let (length, overflowed) = store::log_state(tx, agent)?;
    let added: i64 = lines.iter().map(|(_, o)| o.len() as i64).sum();
    if length + added > LOGS_LIMIT {
        if !overflowed {
            store::set_logs_overflowed(tx, agent)?;
        }
        return Ok(Appended::Overflowed {
            already: overflowed,
        });
    }
    store::append_logs(tx, agent, source, lines, added, now)?;
    Ok(Appended::Stored)
}

/// `PATCH /workspaceagents/me/logs`. The outcome is returned rather than
/// failed, so that an overflow's mark is kept when the caller answers 413.
pub fn patch(
    tx: &Tx,
    session: &AgentSession,
    req: &sdk::PatchLogs,
    now: Micros,
) -> ApiResult<Appended> {
    if req.logs.is_empty() {
        return Err(
            ApiError::bad_request("No logs provided.").validation("logs", "No logs provided.")
        );
    }
    let mut lines = Vec::with_capacity(req.logs.len());
    for l in &req.logs {
        let level = if l.level.is_empty() { "info" } else { &l.level };
        if !LEVELS.contains(&level) {
            return Err(ApiError::bad_request("Invalid log level provided.")
                .detail(format!("invalid log level: {:?}", l.level))
                .validation(
                    "level",
                    format!("Level must be one of: {}.", LEVELS.join(", ")),
                ));
        }
        lines.push((level.to_string(), l.output.clone()));
    }
    let source = if req.log_source_id.is_nil() {
        store::insert_log_source(
            tx,
            &LogSourceRow {
                id: EXTERNAL_SOURCE,
                agent_id: session.agent_id(),
                display_name: "External".into(),
                icon: "/emojis/1f310.png".into(),
                created_at: now,
            },
        )?;
        EXTERNAL_SOURCE
    } else {
        req.log_source_id
    };
    append(tx, session.agent_id(), source, &lines, now)
}

/// `POST /workspaceagents/me/log-source`: registers a source; one the
/// agent already has is answered as given.
pub fn post_source(
    tx: &Tx,
    session: &AgentSession,
    req: &sdk::PostLogSourceRequest,
    now: Micros,
) -> ApiResult<sdk::WorkspaceAgentLogSource> {
    store::insert_log_source(
        tx,
        &LogSourceRow {
            id: req.id,
            agent_id: session.agent_id(),
            display_name: req.display_name.clone(),
            icon: req.icon.clone(),
            created_at: now,
        },
    )?;
    Ok(sdk::WorkspaceAgentLogSource {
        workspace_agent_id: session.agent_id(),
        id: req.id,
        created_at: Time(now),
        display_name: req.display_name.clone(),
        icon: req.icon.clone(),
    })
}

/// The logs of an agent whose workspace the subject may read; only
/// [`readable`] makes one.
#[derive(Debug, Clone, Copy)]
pub struct AgentLogs {
    agent: Uuid,
    workspace: Uuid,
}

/// Logs a request reads at most at once: the limit bounds an agent's logs
/// by bytes, this bounds a page by rows.
pub const PAGE: i64 = 10_000;

/// `GET /workspaceagents/{workspaceagent}/logs`: 404 unless the subject may
/// read the agent's workspace.
pub fn readable(tx: &Tx, subject: &Subject, agent: Uuid) -> ApiResult<AgentLogs> {
    let (ws, _) = resources::agent_owner(tx, agent)?.ok_or_else(ApiError::not_found)?;
    workspaces::get(tx, subject, ws)?;
    Ok(AgentLogs {
        agent,
        workspace: ws,
    })
}

impl AgentLogs {
    pub fn workspace_id(&self) -> Uuid {
        self.workspace
    }

    /// Logs with `after < id < before` (`before` 0: no bound), in order.
    pub fn page(&self, tx: &Tx, after: i64, before: i64) -> ApiResult<Vec<sdk::WorkspaceAgentLog>> {
        Ok(store::logs(tx, self.agent, after, before, PAGE)?
            .into_iter()
            .map(|l| sdk::WorkspaceAgentLog {
                id: l.id,
                created_at: Time(l.created_at),
                output: l.output,
                level: l.level,
                source_id: l.source_id,
            })
            .collect())
    }

    /// Whether more logs can come: the agent is in its workspace's latest
    /// build.
    pub fn live(&self, tx: &Tx) -> ApiResult<bool> {
        Ok(store::in_latest_build(tx, self.agent)?)
    }
}

/// Lines per script the simulation writes at most.
const SIMULATED_LINES: usize = 200;

/// What a simulated agent's script prints: each command traced as `sh -x`
/// does, followed by what an `echo` prints.
pub fn simulated_output(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in script.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(format!("+ {line}"));
        if let Some(text) = line.strip_prefix("echo ") {
            let text = text.trim();
            let unquoted = text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .or_else(|| text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
                .unwrap_or(text);
            out.push(unquoted.to_string());
        }
        if out.len() >= SIMULATED_LINES {
            out.truncate(SIMULATED_LINES);
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_scripts_print_a_trace_and_their_echoes() {
        assert_eq!(
            simulated_output("#!/bin/sh\nset -e\n\n  echo \"starting\"\necho 'x y'\n"),
            vec![
                "+ set -e",
                "+ echo \"starting\"",
                "starting",
                "+ echo 'x y'",
                "x y"
            ]
        );
        assert!(simulated_output("").is_empty());
        let long = "true\n".repeat(1000);
        assert_eq!(simulated_output(&long).len(), SIMULATED_LINES);
    }

    #[test]
    fn the_external_source_is_coders() {
        assert_eq!(
            EXTERNAL_SOURCE.to_string(),
            "3b579bf4-1ed8-4b99-87a8-e9a1e3410410"
        );
    }
}
