//! Statuses that Coder derives from stored timestamps, each defined once:
//! an ordered table of conditions over stored columns. The same table
//! evaluates a row in Rust (what a client sees) and renders SQL (what the
//! `status:` and `has-agent:` filters of `GET /workspaces` match), so the
//! two can never disagree.

use crate::sdk::Micros;

/// A condition and whether it must hold.
type Term<C> = (C, bool);

/// A status holds for the first row of its table whose terms all hold.
type Table<C> = &'static [(&'static str, &'static [Term<C>])];

/// Evaluates `table` in order with `holds`.
fn evaluate<C: Copy>(table: Table<C>, holds: impl Fn(C) -> bool) -> &'static str {
    table
        .iter()
        .find(|(_, terms)| terms.iter().all(|(c, want)| holds(*c) == *want))
        .map(|(s, _)| *s)
        .unwrap_or("")
}

/// The SQL condition for `status` in `table`: one of its rows holds and no
/// earlier row does (the first match wins, as in [`evaluate`]).
fn render<C: Copy>(table: Table<C>, status: &str, sql: impl Fn(C) -> String) -> String {
    let conj = |terms: &[Term<C>]| -> String {
        if terms.is_empty() {
            return "1 = 1".into();
        }
        terms
            .iter()
            .map(|(c, want)| {
                if *want {
                    format!("({})", sql(*c))
                } else {
                    format!("NOT ({})", sql(*c))
                }
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let mut alternatives = Vec::new();
    for (i, (s, terms)) in table.iter().enumerate() {
        if *s != status {
            continue;
        }
        let earlier: Vec<String> = table[..i]
            .iter()
            .filter(|(e, _)| *e != status)
            .map(|(_, t)| format!("NOT ({})", conj(t)))
            .collect();
        let mut parts = vec![format!("({})", conj(terms))];
        parts.extend(earlier);
        alternatives.push(format!("({})", parts.join(" AND ")));
    }
    if alternatives.is_empty() {
        return "1 = 0".into();
    }
    format!("({})", alternatives.join(" OR "))
}

// ------------------------------------------------------------------- jobs

/// Conditions over a provisioner job (aliased `j` in SQL).
#[derive(Debug, Clone, Copy)]
pub enum JobCond {
    Started,
    Completed,
    Canceled,
    Errored,
}

use JobCond::*;

/// Coder's provisioner job status.
const JOB_STATUS: Table<JobCond> = &[
    ("failed", &[(Completed, true), (Errored, true)]),
    ("canceled", &[(Completed, true), (Canceled, true)]),
    ("succeeded", &[(Completed, true)]),
    ("canceling", &[(Canceled, true)]),
    ("pending", &[(Started, false)]),
    ("running", &[]),
];

/// What the job status reads of a job.
pub struct JobFacts {
    pub started: bool,
    pub completed: bool,
    pub canceled: bool,
    pub errored: bool,
}

impl JobFacts {
    /// A job is active until it completes (canceled and failed ones too).
    pub fn is_active(&self) -> bool {
        !self.completed
    }
}

pub fn job_status(j: &JobFacts) -> &'static str {
    evaluate(JOB_STATUS, |c| match c {
        Started => j.started,
        Completed => j.completed,
        Canceled => j.canceled,
        Errored => j.errored,
    })
}

/// The SQL condition for a job status, over a job aliased `j`.
pub fn job_status_sql(status: &str) -> String {
    render(JOB_STATUS, status, job_sql)
}

fn job_sql(c: JobCond) -> String {
    match c {
        Started => "j.started_at IS NOT NULL",
        Completed => "j.completed_at IS NOT NULL",
        Canceled => "j.canceled_at IS NOT NULL",
        Errored => "j.error <> ''",
    }
    .into()
}

// ------------------------------------------------------------- workspaces

/// A workspace's status from its latest build: (status, job status,
/// transition or any).
const WORKSPACE_STATUS: &[(&str, &str, Option<&str>)] = &[
    ("pending", "pending", None),
    ("starting", "running", Some("start")),
    ("stopping", "running", Some("stop")),
    ("deleting", "running", Some("delete")),
    ("running", "succeeded", Some("start")),
    ("stopped", "succeeded", Some("stop")),
    ("deleted", "succeeded", Some("delete")),
    ("canceling", "canceling", None),
    ("canceled", "canceled", None),
    ("failed", "failed", None),
];

/// Coder's workspace (and build) status.
pub fn workspace_status(job_status: &str, transition: &str) -> &'static str {
    WORKSPACE_STATUS
        .iter()
        .find(|(_, j, t)| *j == job_status && t.is_none_or(|t| t == transition))
        .map(|(s, _, _)| *s)
        .unwrap_or("failed")
}

/// The SQL condition for a workspace status, over the latest build `b` and
/// its job `j`.
pub fn workspace_status_sql(status: &str) -> String {
    let alternatives: Vec<String> = WORKSPACE_STATUS
        .iter()
        .filter(|(s, _, _)| *s == status)
        .map(|(_, job, transition)| {
            let job = render(JOB_STATUS, job, job_sql);
            match transition {
                Some(t) => format!("({job} AND b.transition = '{t}')"),
                None => job,
            }
        })
        .collect();
    if alternatives.is_empty() {
        "1 = 0".into()
    } else {
        format!("({})", alternatives.join(" OR "))
    }
}

/// The workspace status as one SQL expression over the latest build `b`
/// and its job `j` (what the maintained `workspaces.status` holds).
pub fn workspace_status_case_sql() -> String {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = String::from("CASE");
    for (status, _, _) in WORKSPACE_STATUS {
        if seen.contains(status) {
            continue;
        }
        seen.push(status);
        out.push_str(&format!(
            " WHEN {} THEN '{status}'",
            workspace_status_sql(status)
        ));
    }
    out.push_str(" ELSE 'failed' END");
    out
}

// ----------------------------------------------------------------- agents

/// Conditions over a workspace agent (aliased `g` in SQL).
#[derive(Debug, Clone, Copy)]
pub enum AgentCond {
    NeverConnected,
    /// Never connected within its connection timeout.
    TimedOut,
    /// Disconnected since it last connected.
    DisconnectedSince,
    /// An externally driven agent silent past the inactivity timeout.
    /// Simulated agents report without heartbeats, so only explicit
    /// disconnection ends their connection.
    Silent,
}

use AgentCond::*;

/// Coder's agent connection status.
const AGENT_STATUS: Table<AgentCond> = &[
    ("timeout", &[(NeverConnected, true), (TimedOut, true)]),
    ("connecting", &[(NeverConnected, true)]),
    ("disconnected", &[(DisconnectedSince, true)]),
    ("disconnected", &[(Silent, true)]),
    ("connected", &[]),
];

/// What the connection status reads of an agent.
#[derive(Debug, Clone)]
pub struct AgentFacts {
    pub created_at: Micros,
    pub connection_timeout_seconds: i64,
    pub first_connected_at: Option<Micros>,
    pub last_connected_at: Option<Micros>,
    pub disconnected_at: Option<Micros>,
    pub simulated: bool,
}

impl AgentFacts {
    /// When a clock-driven condition starts to hold, if it can.
    fn holds_from(&self, c: AgentCond, inactive_us: i64) -> Option<Micros> {
        match c {
            TimedOut => (self.connection_timeout_seconds > 0)
                .then(|| self.created_at + self.connection_timeout_seconds * 1_000_000),
            Silent => (!self.simulated).then(|| self.last_connected_at.unwrap_or(0) + inactive_us),
            _ => None,
        }
    }

    fn holds(&self, c: AgentCond, now: Micros, inactive_us: i64) -> bool {
        match c {
            NeverConnected => self.first_connected_at.is_none(),
            DisconnectedSince => {
                self.disconnected_at.unwrap_or(0) > self.last_connected_at.unwrap_or(0)
            }
            TimedOut | Silent => self.holds_from(c, inactive_us).is_some_and(|at| now > at),
        }
    }

    pub fn status(&self, now: Micros, inactive_us: i64) -> &'static str {
        evaluate(AGENT_STATUS, |c| self.holds(c, now, inactive_us))
    }

    /// The first moment after `now` at which the status changes by the clock
    /// alone (a connection timeout reached, an agent gone silent), if any.
    pub fn changes_at(&self, now: Micros, inactive_us: i64) -> Option<Micros> {
        let current = self.status(now, inactive_us);
        [TimedOut, Silent]
            .into_iter()
            .filter_map(|c| self.holds_from(c, inactive_us))
            .filter(|at| *at >= now && self.status(*at + 1, inactive_us) != current)
            .min()
    }
}

/// Stands for "no end" in the summaries below (far from overflowing when
/// a timeout is added).
const NO_END: i64 = 4_000_000_000_000_000_000;

/// What a workspace keeps about the agents of its latest start build so
/// that `has-agent:` asks its own row, not every agent's: for each status,
/// a bound in time (or a flag) deciding whether *some* agent has it at a
/// given moment. Names and aggregates over agents `g`; [`agents_have_sql`]
/// reads them. The same conditions as [`AGENT_STATUS`], gathered per
/// workspace (a test holds the two equal on every combination).
pub const AGENT_SUMMARY: [(&str, &str); 5] = [
    // Some never-connected agent times out after this.
    (
        "agents_timeout_from",
        "min(CASE WHEN g.first_connected_at IS NULL AND g.connection_timeout_seconds > 0
              THEN g.created_at + g.connection_timeout_seconds * 1000000 END)",
    ),
    // Some never-connected agent is still connecting until this.
    (
        "agents_connecting_until",
        "max(CASE WHEN g.first_connected_at IS NULL THEN
              CASE WHEN g.connection_timeout_seconds > 0
                   THEN g.created_at + g.connection_timeout_seconds * 1000000
                   ELSE 4000000000000000000 END END)",
    ),
    // Some agent was disconnected since it last connected.
    (
        "agents_disconnected",
        "max(CASE WHEN g.first_connected_at IS NOT NULL
                   AND COALESCE(g.disconnected_at, 0) > COALESCE(g.last_connected_at, 0)
              THEN 1 ELSE 0 END)",
    ),
    // The earliest last connection of an agent that goes silent.
    (
        "agents_silent_from",
        "min(CASE WHEN g.first_connected_at IS NOT NULL AND g.simulated = 0
              THEN COALESCE(g.last_connected_at, 0) END)",
    ),
    // The latest last connection of a connected agent (simulated ones
    // stay connected).
    (
        "agents_connected_until",
        "max(CASE WHEN g.first_connected_at IS NOT NULL
                   AND NOT (COALESCE(g.disconnected_at, 0) > COALESCE(g.last_connected_at, 0))
              THEN CASE WHEN g.simulated = 1 THEN 4000000000000000000
                        ELSE COALESCE(g.last_connected_at, 0) END END)",
    ),
];

/// Whether some agent summarised in the row `w` has `status` at `now`.
pub fn agents_have_sql(status: &str, now: Micros, inactive_us: i64) -> String {
    debug_assert!(AGENT_SUMMARY[1].1.contains(&NO_END.to_string()));
    // Each a range of one column, so that an index answers it.
    let silent_before = now - inactive_us;
    match status {
        "timeout" => format!("w.agents_timeout_from < {now}"),
        "connecting" => format!("w.agents_connecting_until >= {now}"),
        "disconnected" => {
            format!("(w.agents_disconnected = 1 OR w.agents_silent_from < {silent_before})")
        }
        "connected" => format!("w.agents_connected_until >= {silent_before}"),
        _ => "1 = 0".into(),
    }
}

/// When the workspaces [`agents_have_sql`] selects for `status` at `now`
/// can next change by the passing of time alone: a query for the nearest
/// summary value still ahead (one probe of its index) and what to add to
/// it. Until that moment (inclusive) the selection at any later time is
/// the one at `now`, unless something is written.
pub fn agents_next_change_sql(
    status: &str,
    now: Micros,
    inactive_us: i64,
) -> Option<(String, i64)> {
    let probe = |column: &str, from: Micros| {
        format!(
            "SELECT min(w.{column}) FROM workspaces w WHERE w.deleted = 0 AND w.{column} >= {from}"
        )
    };
    let silent_before = now - inactive_us;
    match status {
        // Joins once `now` passes its start; leaves once `now` passes its end.
        "timeout" => Some((probe("agents_timeout_from", now), 0)),
        "connecting" => Some((probe("agents_connecting_until", now), 0)),
        // Both move with `now - inactive`.
        "disconnected" => Some((probe("agents_silent_from", silent_before), inactive_us)),
        "connected" => Some((probe("agents_connected_until", silent_before), inactive_us)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_workspace_agent_summary_agrees_with_each_agents_status() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE g (ws INTEGER, created_at INTEGER, connection_timeout_seconds INTEGER,
                first_connected_at INTEGER, last_connected_at INTEGER, disconnected_at INTEGER,
                simulated INTEGER)",
        )
        .unwrap();
        let inactive = 30_000_000;
        let opts = [None, Some(10_000_000), Some(80_000_000)];
        let mut agents = Vec::new();
        for timeout in [0, 5, 500] {
            for first in [None, Some(10_000_000)] {
                for last in opts {
                    for disc in opts {
                        for simulated in [false, true] {
                            agents.push(AgentFacts {
                                created_at: 1_000_000,
                                connection_timeout_seconds: timeout,
                                first_connected_at: first,
                                last_connected_at: last,
                                disconnected_at: disc,
                                simulated,
                            });
                        }
                    }
                }
            }
        }
        // Workspaces of one agent each, and of pairs.
        let mut workspaces: Vec<Vec<&AgentFacts>> = agents.iter().map(|a| vec![a]).collect();
        for (i, a) in agents.iter().enumerate() {
            for b in agents.iter().skip(i).step_by(7) {
                workspaces.push(vec![a, b]);
            }
        }
        for (ws, members) in workspaces.iter().enumerate() {
            for f in members {
                conn.execute(
                    "INSERT INTO g VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    rusqlite::params![
                        ws as i64,
                        f.created_at,
                        f.connection_timeout_seconds,
                        f.first_connected_at,
                        f.last_connected_at,
                        f.disconnected_at,
                        f.simulated
                    ],
                )
                .unwrap();
            }
        }
        let columns: Vec<String> = AGENT_SUMMARY
            .iter()
            .map(|(name, agg)| format!("{agg} AS {name}"))
            .collect();
        conn.execute_batch(&format!(
            "CREATE TABLE w AS SELECT ws, {} FROM g GROUP BY ws",
            columns.join(", ")
        ))
        .unwrap();
        for now in [
            2_000_000,
            7_000_000,
            50_000_000,
            100_000_000,
            200_000_000_000,
        ] {
            for s in [
                "timeout",
                "connecting",
                "connected",
                "disconnected",
                "other",
            ] {
                let sql = format!(
                    "SELECT ws FROM w WHERE {} ORDER BY ws",
                    agents_have_sql(s, now, inactive)
                );
                let mut stmt = conn.prepare(&sql).unwrap();
                let got: Vec<i64> = stmt
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                let want: Vec<i64> = workspaces
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.iter().any(|a| a.status(now, inactive) == s))
                    .map(|(i, _)| i as i64)
                    .collect();
                assert_eq!(got, want, "{s} at {now}");
            }
        }
    }

    fn agent() -> AgentFacts {
        AgentFacts {
            created_at: 1_000_000,
            connection_timeout_seconds: 10,
            first_connected_at: None,
            last_connected_at: None,
            disconnected_at: None,
            simulated: false,
        }
    }

    #[test]
    fn agent_statuses_follow_coders_algorithm() {
        let mut a = agent();
        assert_eq!(a.status(2_000_000, 60_000_000), "connecting");
        assert_eq!(a.status(11_000_001, 60_000_000), "timeout");
        assert_eq!(a.changes_at(2_000_000, 60_000_000), Some(11_000_000));
        a.first_connected_at = Some(3_000_000);
        a.last_connected_at = Some(3_000_000);
        assert_eq!(a.status(4_000_000, 60_000_000), "connected");
        assert_eq!(a.status(64_000_000, 60_000_000), "disconnected");
        assert_eq!(a.changes_at(4_000_000, 60_000_000), Some(63_000_000));
        a.simulated = true;
        assert_eq!(a.status(64_000_000, 60_000_000), "connected");
        assert_eq!(a.changes_at(4_000_000, 60_000_000), None);
        a.disconnected_at = Some(5_000_000);
        assert_eq!(a.status(6_000_000, 60_000_000), "disconnected");
    }

    #[test]
    fn the_sql_of_each_job_and_workspace_status_matches_the_rust_evaluation() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE j (started_at INTEGER, completed_at INTEGER, canceled_at INTEGER, error TEXT);
             CREATE TABLE b (transition TEXT);",
        )
        .unwrap();
        for started in [false, true] {
            for completed in [false, true] {
                for canceled in [false, true] {
                    for errored in [false, true] {
                        for transition in ["start", "stop", "delete"] {
                            conn.execute_batch("DELETE FROM j; DELETE FROM b;").unwrap();
                            conn.execute(
                                "INSERT INTO j VALUES (?1, ?2, ?3, ?4)",
                                rusqlite::params![
                                    started.then_some(1),
                                    completed.then_some(1),
                                    canceled.then_some(1),
                                    if errored { "boom" } else { "" }
                                ],
                            )
                            .unwrap();
                            conn.execute("INSERT INTO b VALUES (?1)", [transition])
                                .unwrap();
                            let job = job_status(&JobFacts {
                                started,
                                completed,
                                canceled,
                                errored,
                            });
                            let ws = workspace_status(job, transition);
                            for (s, _, _) in WORKSPACE_STATUS {
                                let sql = format!(
                                    "SELECT count(*) FROM j, b WHERE {}",
                                    workspace_status_sql(s)
                                );
                                let n: i64 = conn.query_row(&sql, [], |r| r.get(0)).unwrap();
                                assert_eq!(n == 1, ws == *s, "{s}: job {job}, {transition}");
                            }
                        }
                    }
                }
            }
        }
    }
}
