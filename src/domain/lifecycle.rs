//! The lifecycle executor: once per tick, each workspace gets at most one of
//! autostop, autostart, failed-build cleanup, dormancy and autodelete, in
//! that order of precedence (Coder's autobuild loop).

use crate::domain::store::Tx;
use std::collections::HashMap;
use uuid::Uuid;

use crate::authz::{Action as AuthAction, Subject, System};
use crate::domain::builds::{self, BuildContext, CreateBuildRequest};
use crate::domain::heartbeat::{Heartbeat, Liveness};
use crate::domain::schedule;
use crate::domain::store::lifecycle as actions;
use crate::domain::store::templates::{self as template_store, TemplateRow};
use crate::domain::store::workspaces::{self as store, LifecycleCandidate, WorkspaceRow};
use crate::domain::store::Db;
use crate::error::ApiResult;
use crate::sdk::Micros;

/// What a tick did to one workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub workspace: Uuid,
    pub what: &'static str,
    /// The rule that made it due: `deadline`, `owner_suspended`,
    /// `failure_ttl`, `schedule`, `inactivity`, `dormant`,
    /// `dormancy_autodelete`.
    pub reason: &'static str,
}

/// One tick at `now`: each due workspace is acted on in a savepoint of its
/// own (a nested transaction), so one workspace's failure undoes only its
/// own work, and is logged; up to [`BATCH`] share each commit.
/// Each tick logs (at debug level) how many workspaces it looked at, what
/// it did and how long it took: the one place its cost can be read.
/// Ticks take turns under one lock, across replicas on PostgreSQL (Coder's
/// executor takes an advisory lock per tick too): a replica ticking after
/// another reads the builds that one queued, so a due workspace is acted on
/// once.
pub fn tick(db: &Db, now: Micros) -> ApiResult<Vec<Action>> {
    db.exclusive("lifecycle", || tick_alone(db, now))?
}

/// Due workspaces acted on per commit.
const BATCH: usize = 64;

fn tick_alone(db: &Db, now: Micros) -> ApiResult<Vec<Action>> {
    let started = std::time::Instant::now();
    let candidates = db.read_blocking(|tx| -> ApiResult<_> {
        Ok(crate::domain::store::workspaces::lifecycle_candidates(
            tx, now,
        )?)
    })?;
    let looked_at = candidates.len();

    let subject = Subject::system(System::Lifecycle);
    let due: Vec<_> = candidates.into_iter().filter(|c| !c.active).collect();
    let mut done = Vec::new();
    // Each due workspace in a savepoint of its own (a nested transaction):
    // a failure undoes only its own work. Up to `BATCH` share one commit, which
    // writes the pages they have in common once; a batch is short, so a
    // long tick never holds the write lock for long.
    for batch in due.chunks(BATCH) {
        let acted = db.write_blocking(|tx| -> ApiResult<Vec<Action>> {
            // The batch's workspaces and templates, read once inside its
            // transaction (no workspace's action changes another's row or
            // a template).
            let ids: Vec<Uuid> = batch.iter().map(|c| c.id).collect();
            let rows: HashMap<Uuid, WorkspaceRow> = store::get_many(tx, &ids)?
                .into_iter()
                .map(|w| (w.id, w))
                .collect();
            let mut template_ids: Vec<Uuid> = rows.values().map(|w| w.template_id).collect();
            template_ids.sort_unstable();
            template_ids.dedup();
            let templates: HashMap<Uuid, TemplateRow> =
                template_store::list_any(tx, &template_ids)?
                    .into_iter()
                    .map(|t| (t.id, t))
                    .collect();
            let mut acted = Vec::new();
            for c in batch {
                let Some(w) = rows.get(&c.id) else { continue };
                let Some(t) = templates.get(&w.template_id) else {
                    continue;
                };
                match tx.savepoint(|tx| act(tx, &subject, c, w.clone(), t, now)) {
                    Ok(actions) => acted.extend(actions),
                    Err(e) => log::warn!("lifecycle: workspace {}: {e}", c.id),
                }
            }
            Ok(acted)
        });
        match acted {
            Ok(actions) => done.extend(actions),
            Err(e) => log::warn!("lifecycle: {} workspaces not acted on: {e}", batch.len()),
        }
    }
    log::debug!(
        "lifecycle tick: {looked_at} candidates, {} actions, {:.3} ms",
        done.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(done)
}

/// When one rule of the executor applies to a workspace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Due {
    pub at: Micros,
    /// Due at `at` itself, or only once it has passed.
    pub inclusive: bool,
    /// The rule, as [`Action::reason`] names it.
    pub reason: &'static str,
}

impl Due {
    pub fn reached(&self, now: Micros) -> bool {
        if self.inclusive {
            now >= self.at
        } else {
            now > self.at
        }
    }
}

/// When each rule next applies to a workspace; `None` where it does not.
/// The executor acts on the first one reached, in field order; the
/// schedule explanation shows them. One definition for both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Next {
    pub autostop: Option<Due>,
    pub autostart: Option<Due>,
    pub failure_stop: Option<Due>,
    pub dormancy: Option<Due>,
    pub autodelete: Option<Due>,
}

const DAY: Micros = 24 * 3_600_000_000;

/// The rules of Coder's autobuild loop over the executor's facts at `now`.
/// Nothing applies while a build runs.
pub fn next(c: &LifecycleCandidate, w: &WorkspaceRow, t: &TemplateRow, now: Micros) -> Next {
    if c.active || w.deleted {
        return Next::default();
    }
    let dormant = w.dormant_at.is_some();
    let succeeded_start = c.transition == "start" && !c.failed;
    let due = |at, inclusive, reason| Due {
        at,
        inclusive,
        reason,
    };
    let autostop = match (dormant, succeeded_start) {
        (false, true) if c.owner_status == "suspended" => Some(due(now, true, "owner_suspended")),
        (false, true) => c.deadline.map(|d| due(d, true, "deadline")),
        _ => None,
    };
    let autostart = (!dormant
        && !c.failed
        && c.transition == "stop"
        && c.owner_status == "active"
        && t.allow_user_autostart)
        .then(|| {
            w.autostart_schedule
                .as_deref()
                .and_then(|s| schedule::parse(s).ok())
                .and_then(|s| s.next_after(c.build_created, t.autostart_requirement_days))
        })
        .flatten()
        .map(|at| due(at, true, "schedule"));
    let failure_stop = (c.failed && t.failure_ttl_ms > 0 && c.transition != "delete")
        .then_some(c.completed)
        .flatten()
        .map(|at| {
            due(
                schedule::plus_ms(at, t.failure_ttl_ms),
                false,
                "failure_ttl",
            )
        });
    let dormancy = (!dormant && t.time_til_dormant_ms > 0).then(|| {
        due(
            schedule::plus_ms(w.last_used_at, t.time_til_dormant_ms),
            false,
            "inactivity",
        )
    });
    let autodelete = (dormant && t.time_til_dormant_autodelete_ms > 0)
        .then_some(w.deleting_at)
        .flatten()
        .map(|d| {
            // A deletion that failed is tried again a day after it failed.
            match c.completed.filter(|_| c.transition == "delete" && c.failed) {
                Some(failed) if failed + DAY > d => due(failed + DAY, true, "dormancy_autodelete"),
                _ => due(d, false, "dormancy_autodelete"),
            }
        });
    Next {
        autostop,
        autostart,
        failure_stop,
        dormancy,
        autodelete,
    }
}

fn duration_ms(ms: i64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(ms.max(0) as u64)).to_string()
}

/// Why the executor did what it did, in words, for the record.
fn detail(reason: &str, c: &LifecycleCandidate, w: &WorkspaceRow, t: &TemplateRow) -> String {
    let time = |us: Option<Micros>| us.map(crate::sdk::format_time).unwrap_or_default();
    match reason {
        "deadline" => format!("The build's deadline {} passed.", time(c.deadline)),
        "owner_suspended" => "Its owner is suspended.".into(),
        "schedule" => format!(
            "Its autostart schedule {:?} came due.",
            w.autostart_schedule.as_deref().unwrap_or("")
        ),
        "failure_ttl" => format!(
            "Its last build failed at {}; the template stops failed workspaces after {} (failure_ttl_ms).",
            time(c.completed),
            duration_ms(t.failure_ttl_ms)
        ),
        "inactivity" => format!(
            "Unused since {}; the template makes workspaces dormant after {} without use (time_til_dormant_ms).",
            time(Some(w.last_used_at)),
            duration_ms(t.time_til_dormant_ms)
        ),
        "dormant" => "It became dormant, which stops it.".into(),
        "dormancy_autodelete" => format!(
            "Dormant since {}; the template deletes dormant workspaces after {} (time_til_dormant_autodelete_ms), on {}.",
            time(w.dormant_at),
            duration_ms(t.time_til_dormant_autodelete_ms),
            time(w.deleting_at)
        ),
        other => other.to_string(),
    }
}

/// Records an action with its reason, and returns it.
fn record(
    tx: &Tx,
    w: &WorkspaceRow,
    build: Option<Uuid>,
    what: &'static str,
    reason: &'static str,
    detail: String,
    now: Micros,
) -> ApiResult<Action> {
    actions::record(
        tx,
        &actions::ActionRow {
            workspace_id: w.id,
            build_id: build,
            created_at: now,
            action: what.into(),
            reason: reason.into(),
            detail,
        },
    )?;
    Ok(Action {
        workspace: w.id,
        what,
        reason,
    })
}

/// The transition one due workspace gets, if any, in the caller's
/// transaction.
fn act(
    tx: &Tx,
    subject: &Subject,
    c: &LifecycleCandidate,
    w: WorkspaceRow,
    t: &TemplateRow,
    now: Micros,
) -> ApiResult<Vec<Action>> {
    let mut done = Vec::new();
    let n = next(c, &w, t, now);
    let reached = |d: Option<Due>| d.filter(|d| d.reached(now));
    let (transition, what, reason): (&str, &'static str, &'static str) =
        if let Some(d) = reached(n.autostop) {
            ("stop", "autostop", d.reason)
        } else if let Some(d) = reached(n.autostart) {
            ("start", "autostart", d.reason)
        } else if let Some(d) = reached(n.failure_stop) {
            ("stop", "autostop", d.reason)
        } else if let Some(d) = reached(n.dormancy) {
            let deleting = Some(t.time_til_dormant_autodelete_ms)
                .filter(|d| *d > 0)
                .map(|d| schedule::plus_ms(now, d));
            subject.require(
                AuthAction::Update,
                crate::domain::workspace_access::object(&w),
            )?;
            store::set_dormant(tx, w.id, Some(now), deleting, now)?;
            let why = detail(d.reason, c, &w, t);
            done.push(record(tx, &w, None, "dormant", d.reason, why, now)?);
            // Only a running workspace is stopped by it.
            if c.transition != "start" || c.failed {
                return Ok(done);
            }
            ("stop", "dormancy", "dormant")
        } else if let Some(d) = reached(n.autodelete) {
            ("delete", "autodelete", d.reason)
        } else {
            return Ok(done);
        };
    let why = detail(reason, c, &w, t);
    // Read again only where dormancy just changed it.
    let w = if done.is_empty() {
        w
    } else {
        store::get(tx, w.id)?.unwrap_or(w)
    };
    let w = subject.visible(w)?;
    let req = CreateBuildRequest {
        transition: transition.into(),
        ..Default::default()
    };
    let ctx = BuildContext {
        workspace: &w,
        template: t,
        first: false,
        system_reason: Some(what),
        initiator: c.owner,
    };
    let build = builds::create(tx, subject, &ctx, &req, now)?;
    done.push(record(tx, &w, Some(build.id), what, reason, why, now)?);
    Ok(done)
}

/// The executor's thread: a tick every interval until stopped.
pub struct Executor {
    stop: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
    heartbeat: std::sync::Arc<Heartbeat>,
    interval: std::time::Duration,
}

impl Executor {
    /// Ticks with `tick_fn` every `interval`.
    pub fn start(interval: std::time::Duration, tick_fn: impl Fn() + Send + 'static) -> Executor {
        let stop = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let flag = stop.clone();
        let heartbeat = std::sync::Arc::new(Heartbeat::default());
        let beats = heartbeat.clone();
        let thread = std::thread::Builder::new()
            .name("lifecycle".into())
            .spawn(move || loop {
                beats.beat();
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
            heartbeat,
            interval,
        }
    }

    /// Whether the executor's thread runs and beats: once per interval,
    /// after each tick; a tick that hangs past a minute more is a fault.
    pub fn liveness(&self) -> Liveness {
        let running = self
            .thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|t| !t.is_finished());
        Liveness {
            running,
            silent_for: self.heartbeat.silent_for(),
            limit: self.interval * 2 + std::time::Duration::from_secs(60),
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::testing::World;

    #[test]
    fn a_failure_after_the_job_insert_undoes_only_that_workspace() {
        let w = World::new();
        let ids: Vec<_> = ["one", "two"]
            .iter()
            .map(|name| World::id(&w.workspace(name)))
            .collect();
        w.clock.advance(Duration::from_secs(61 * 60));
        let running = &w.running;
        // Both are due for autostop; the first one's build fails after its
        // job was queued.
        crate::domain::builds::tests::FAIL_AFTER_JOB.with(|f| f.set(Some(ids[0])));
        let actions = running.app.lifecycle_tick();
        crate::domain::builds::tests::FAIL_AFTER_JOB.with(|f| f.set(None));
        assert_eq!(actions.len(), 1, "{actions:?}");
        assert_eq!(actions[0].workspace, ids[1]);
        assert_eq!(actions[0].what, "autostop");
        let orphans = running
            .app
            .db
            .read_blocking(crate::domain::store::jobs::count_orphans)
            .unwrap();
        assert_eq!(orphans, 0, "a job without its build was left behind");
        // The failed workspace is simply due again at the next tick.
        let again = running.app.lifecycle_tick();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].workspace, ids[0]);
    }
}
