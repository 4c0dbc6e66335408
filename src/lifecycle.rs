//! The lifecycle executor: once per tick, each workspace gets at most one of
//! autostop, autostart, failed-build cleanup, dormancy and autodelete, in
//! that order of precedence (Coder's autobuild loop).

use rusqlite::Connection;
use uuid::Uuid;

use crate::authz::{self, Subject};
use crate::builds::{self, BuildContext, CreateBuildRequest};
use crate::error::ApiResult;
use crate::schedule;
use crate::sdk::Micros;
use crate::store::templates as template_store;
use crate::store::workspaces as store;

/// A workspace whose latest build may call for action, with what decides it.
struct Candidate {
    id: Uuid,
    owner: Uuid,
    owner_status: String,
    transition: String,
    build_created: Micros,
    deadline: Option<Micros>,
    completed: Option<Micros>,
    failed: bool,
    active: bool,
}

/// What a tick did to one workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub workspace: Uuid,
    pub what: &'static str,
}

/// Workspaces that may need a transition at `now`: a pre-filter in SQL, so a
/// tick does not load every workspace; each is re-checked in `tick`.
fn candidates(conn: &Connection, now: Micros) -> ApiResult<Vec<Candidate>> {
    let mut stmt = conn.prepare_cached(
        "SELECT w.id, w.owner_id, u.status, b.transition, b.created_at, b.deadline, j.completed_at,
                j.error <> '', j.completed_at IS NULL
         FROM workspaces w JOIN users u ON u.id = w.owner_id
         JOIN workspace_builds b ON b.id = w.latest_build_id
         JOIN provisioner_jobs j ON j.id = b.job_id
         JOIN templates t ON t.id = w.template_id
         WHERE w.deleted = 0 AND j.completed_at IS NOT NULL AND (
               (b.transition = 'start' AND (b.deadline <= ?1 OR u.status = 'suspended'))
            OR (b.transition = 'stop' AND w.autostart_schedule IS NOT NULL)
            OR (j.error <> '' AND t.failure_ttl_ms > 0)
            OR (t.time_til_dormant_ms > 0 AND w.dormant_at IS NULL
                AND w.last_used_at < ?1 - t.time_til_dormant_ms * 1000)
            OR (w.deleting_at <= ?1))",
    )?;
    let rows = stmt
        .query_map([now], |r| {
            let id: String = r.get(0)?;
            let owner: String = r.get(1)?;
            Ok(Candidate {
                id: Uuid::parse_str(&id).unwrap_or_default(),
                owner: Uuid::parse_str(&owner).unwrap_or_default(),
                owner_status: r.get(2)?,
                transition: r.get(3)?,
                build_created: r.get(4)?,
                deadline: r.get(5)?,
                completed: r.get(6)?,
                failed: r.get(7)?,
                active: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The executor acts as the workspace owner with every right: its builds
/// name the owner as initiator, as Coder's do.
fn system_subject(owner: Uuid) -> Subject {
    Subject {
        user_id: owner,
        username: "lifecycle-executor".into(),
        key_id: "".into(),
        site_roles: std::sync::Arc::new(vec![authz::OWNER.to_string()]),
        orgs: Default::default(),
        groups: Default::default(),
    }
}

/// One tick at `now` (truncated to the minute by the caller if wanted).
pub fn tick(conn: &Connection, now: Micros) -> ApiResult<Vec<Action>> {
    let mut done = Vec::new();
    for c in candidates(conn, now)? {
        if c.active {
            continue;
        }
        let Some(w) = store::get(conn, c.id)? else {
            continue;
        };
        let Some(t) = template_store::get_any(conn, w.template_id)? else {
            continue;
        };
        let dormant = w.dormant_at.is_some();
        let succeeded_start = c.transition == "start" && !c.failed;
        let (transition, reason): (&str, &'static str) = if !dormant
            && succeeded_start
            && (c.owner_status == "suspended" || c.deadline.is_some_and(|d| now >= d))
        {
            ("stop", "autostop")
        } else if !dormant
            && !c.failed
            && c.transition == "stop"
            && c.owner_status == "active"
            && t.allow_user_autostart
            && w.autostart_schedule
                .as_deref()
                .and_then(|s| schedule::parse(s).ok())
                .and_then(|s| s.next_after(c.build_created, t.autostart_requirement_days))
                .is_some_and(|at| now >= at)
        {
            ("start", "autostart")
        } else if c.failed
            && t.failure_ttl_ms > 0
            && c.transition != "delete"
            && c.completed
                .is_some_and(|at| now - at > t.failure_ttl_ms * 1000)
        {
            ("stop", "autostop")
        } else if !dormant
            && t.time_til_dormant_ms > 0
            && now - w.last_used_at > t.time_til_dormant_ms * 1000
        {
            let deleting = Some(t.time_til_dormant_autodelete_ms)
                .filter(|d| *d > 0)
                .map(|d| now + d * 1000);
            store::set_dormant(conn, w.id, Some(now), deleting, now)?;
            done.push(Action {
                workspace: w.id,
                what: "dormant",
            });
            if !succeeded_start {
                continue;
            }
            ("stop", "dormancy")
        } else if dormant
            && t.time_til_dormant_autodelete_ms > 0
            && w.deleting_at.is_some_and(|d| now > d)
            && !(c.transition == "delete"
                && c.failed
                && c.completed.is_some_and(|at| now - at < 24 * 3_600_000_000))
        {
            ("delete", "autodelete")
        } else {
            continue;
        };
        let w = store::get(conn, w.id)?.unwrap_or(w);
        let req = CreateBuildRequest {
            transition: transition.into(),
            ..Default::default()
        };
        let ctx = BuildContext {
            workspace: &w,
            template: &t,
            first: false,
            system_reason: Some(reason),
        };
        match builds::create(conn, &system_subject(c.owner), &ctx, &req, now) {
            Ok(_) => done.push(Action {
                workspace: w.id,
                what: reason,
            }),
            // One workspace's trouble never stops the loop.
            Err(e) => log::warn!("lifecycle: {reason} of workspace {}: {}", w.id, e),
        }
    }
    Ok(done)
}

/// The executor's thread: a tick every interval until stopped.
pub struct Executor {
    stop: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Executor {
    /// Ticks with `tick_fn` every `interval`.
    pub fn start(interval: std::time::Duration, tick_fn: impl Fn() + Send + 'static) -> Executor {
        let stop = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("lifecycle".into())
            .spawn(move || loop {
                let (lock, cvar) = &*flag;
                let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
                let (guard, _) = cvar
                    .wait_timeout_while(guard, interval, |stopped| !*stopped)
                    .unwrap_or_else(|e| e.into_inner());
                if *guard {
                    return;
                }
                drop(guard);
                tick_fn();
            })
            .ok();
        Executor {
            stop,
            thread: std::sync::Mutex::new(thread),
        }
    }

    pub fn stop(&self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}
