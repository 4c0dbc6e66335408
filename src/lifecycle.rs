//! The lifecycle executor: once per tick, each workspace gets at most one of
//! autostop, autostart, failed-build cleanup, dormancy and autodelete, in
//! that order of precedence (Coder's autobuild loop).

use crate::store::Tx;
use uuid::Uuid;

use crate::authz::{self, Subject};
use crate::builds::{self, BuildContext, CreateBuildRequest};
use crate::error::ApiResult;
use crate::schedule;
use crate::sdk::Micros;
use crate::store::templates as template_store;
use crate::store::workspaces as store;

/// What a tick did to one workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub workspace: Uuid,
    pub what: &'static str,
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
pub fn tick(conn: &Tx, now: Micros) -> ApiResult<Vec<Action>> {
    let mut done = Vec::new();
    for c in crate::store::workspaces::lifecycle_candidates(conn, now)? {
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
