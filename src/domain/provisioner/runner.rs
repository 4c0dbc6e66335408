//! The in-process provisioner daemon: takes queued jobs in order, runs
//! imports through the Terraform reader and simulates builds and agents,
//! writing logs and timings as a real provisioner would.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::SharedClock;
use crate::domain::store::Tx;
use serde_json::json;
use uuid::Uuid;

use super::terraform;
use crate::authz::{act, Act, Allowed, Guarded, Subject, System};
use crate::domain::auth::hash_secret;
use crate::domain::heartbeat::{Heartbeat, Liveness};
use crate::domain::jobs::WORKER_NAME;
use crate::domain::store::builds::{self, Completion};
use crate::domain::store::jobs::{self, JobRow, TimingRow};
use crate::domain::store::resources::{
    self, AgentRow, AgentUpdate, AppRow, ResourceRow, ScriptRow,
};
use crate::domain::store::template_versions as versions;
use crate::domain::store::templates;
use crate::domain::store::workspaces;
use crate::domain::store::Db;
use crate::domain::template_model::{Resource, TemplateModel};
use crate::error::{ApiError, ApiResult};
use crate::sdk::Micros;

struct Inner {
    db: Db,
    /// Who the daemon acts as: a system subject with only the rights the
    /// decision table gives the provisioner.
    subject: Subject,
    clock: SharedClock,
    /// Time the simulated stages of one job take in all.
    delay: Duration,
    worker_id: Uuid,
    pending: Mutex<bool>,
    signal: Condvar,
    stop: AtomicBool,
    /// Idle waits: each asks with a number, and the worker answers every
    /// number it has seen once it finds the queue empty.
    asked: AtomicU64,
    idle_at: Mutex<u64>,
    idle: Condvar,
    heartbeat: Heartbeat,
    /// Told of every job the daemon finishes (the metrics).
    on_job: std::sync::OnceLock<JobObserver>,
    /// The simulated agents whose metadata someone watches.
    watched: Arc<crate::domain::agent_metadata::Watched>,
}

/// A job the daemon finished, for whoever observes.
#[derive(Debug, Clone, Copy)]
pub struct JobDone<'a> {
    pub provisioner: &'a str,
    pub job_type: &'a str,
    /// Coder's job status at the end: succeeded, failed, canceled, or
    /// running when the server stopped it.
    pub status: &'a str,
    pub took: Duration,
}

pub type JobObserver = Arc<dyn Fn(&JobDone) + Send + Sync>;

/// Handle to the provisioner thread.
pub struct Provisioner {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Provisioner {
    pub fn start(db: Db, clock: SharedClock, delay: Duration) -> Provisioner {
        let inner = Arc::new(Inner {
            subject: Subject::system(System::Provisioner),
            clock,
            delay,
            // The replica's id: on PostgreSQL its liveness lock tells other
            // replicas whether this worker's running job is orphaned.
            worker_id: db.replica_id(),
            db,
            pending: Mutex::new(true),
            signal: Condvar::new(),
            stop: AtomicBool::new(false),
            asked: AtomicU64::new(0),
            idle_at: Mutex::new(0),
            idle: Condvar::new(),
            heartbeat: Heartbeat::default(),
            on_job: std::sync::OnceLock::new(),
            watched: Arc::default(),
        });
        let worker = inner.clone();
        let thread = std::thread::Builder::new()
            .name("provisioner".into())
            .spawn(move || worker.run())
            .ok();
        Provisioner {
            inner,
            thread: Mutex::new(thread),
        }
    }

    /// Tells the provisioner a job may be waiting.
    pub fn wake(&self) {
        let mut p = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
        *p = true;
        self.inner.signal.notify_all();
    }

    /// Blocks until every job queued before the call has run (or `timeout`
    /// passed); returns whether the queue was seen empty. Tests and
    /// embedders use it instead of polling.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let ticket = self.inner.asked.fetch_add(1, Ordering::SeqCst) + 1;
        self.wake();
        let idle_at = self.inner.idle_at.lock().unwrap_or_else(|e| e.into_inner());
        let (idle_at, _) = self
            .inner
            .idle
            .wait_timeout_while(idle_at, timeout, |seen| *seen < ticket)
            .unwrap_or_else(|e| e.into_inner());
        *idle_at >= ticket
    }

    /// Makes a simulated agent report its metadata while the returned
    /// value lives, starting with what is due now.
    pub fn watch_metadata(
        &self,
        agent: Uuid,
    ) -> ApiResult<crate::domain::agent_metadata::Watching> {
        let watching = self.inner.watched.watch(agent);
        crate::domain::agent_metadata::report_simulated(
            &self.inner.db,
            &[agent],
            self.inner.clock.now(),
        )?;
        Ok(watching)
    }

    /// Sets who is told of each finished job; once.
    pub fn observe(&self, f: JobObserver) {
        let _ = self.inner.on_job.set(f);
    }

    /// Whether the daemon's thread runs and beats (at least once a second
    /// while idle, at every stage of a job).
    pub fn liveness(&self) -> Liveness {
        let running = self
            .thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|t| !t.is_finished());
        Liveness {
            running,
            silent_for: self.inner.heartbeat.silent_for(),
            limit: SILENCE_LIMIT,
        }
    }

    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        self.wake();
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Provisioner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Why a job stopped before its end.
enum Halt {
    /// Canceled by a user: it completes as canceled.
    Canceled,
    /// The server is stopping: the job is abandoned as it stands, and the
    /// next start fails it (as after a crash).
    Stopping,
}

/// Silence past this means the daemon hangs: idle, it beats every second;
/// a job beats at each stage, and no stage waits this long.
const SILENCE_LIMIT: Duration = Duration::from_secs(120);

impl Inner {
    fn run(&self) {
        while !self.stop.load(Ordering::SeqCst) {
            self.heartbeat.beat();
            let asked = self.asked.load(Ordering::SeqCst);
            // Simulated agents report their metadata on the daemon's beat,
            // those someone watches.
            if let Err(e) = crate::domain::agent_metadata::report_simulated(
                &self.db,
                &self.watched.agents(),
                self.clock.now(),
            ) {
                log::error!("provisioner: simulated agent metadata: {e}");
            }
            match self.next_job() {
                Ok(Some(id)) => {
                    let started = std::time::Instant::now();
                    if let Err(e) = self.execute(id) {
                        log::error!("provisioner job {id}: {e}");
                        let now = self.clock.now();
                        let _ = self.db.write_blocking(|c| {
                            jobs::complete(c, id, "internal error running the job", "", now)
                        });
                    }
                    self.report(id, started.elapsed());
                    continue;
                }
                Ok(None) => {
                    let mut idle_at = self.idle_at.lock().unwrap_or_else(|e| e.into_inner());
                    *idle_at = asked;
                    self.idle.notify_all();
                }
                Err(e) => log::error!("provisioner: {e}"),
            }
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if !*p {
                p = self
                    .signal
                    .wait_timeout(p, Duration::from_secs(1))
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            *p = false;
        }
    }

    /// Tells the observer, if any, how the job ended.
    fn report(&self, id: Uuid, took: Duration) {
        let Some(observe) = self.on_job.get() else {
            return;
        };
        match self.db.read_blocking(|c| jobs::get(c, id)) {
            Ok(Some(job)) => observe(&JobDone {
                provisioner: &job.provisioner,
                job_type: &job.job_type,
                status: job.status(),
                took,
            }),
            Ok(None) => {}
            Err(e) => log::warn!("provisioner: job {id} not read back: {e}"),
        }
    }

    /// The proof that the daemon may `A` on `value`; a refusal is a bug in
    /// the decision table's system rows, reported as an internal error.
    fn permit<A: Act, T: Guarded>(&self, value: T) -> ApiResult<Allowed<T, A>> {
        self.subject.allow(value).map_err(|_| {
            ApiError::internal(format!(
                "the provisioner may not {:?} this object",
                A::ACTION
            ))
        })
    }

    fn next_job(&self) -> ApiResult<Option<Uuid>> {
        let now = self.clock.now();
        Ok(self
            .db
            .write_blocking(|c| jobs::acquire(c, self.worker_id, WORKER_NAME, now))?)
    }

    /// One step of a simulated stage; cut short when the server stops.
    fn pause(&self, steps: u32) {
        if self.delay.is_zero() {
            return;
        }
        let p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self
            .signal
            .wait_timeout_while(p, self.delay / steps.max(1), |_| {
                !self.stop.load(Ordering::SeqCst)
            });
    }

    fn log(
        &self,
        job: Uuid,
        source: &str,
        level: &str,
        stage: &str,
        lines: &[String],
    ) -> ApiResult<()> {
        let now = self.clock.now();
        self.db.write_blocking(|c| {
            for line in lines {
                jobs::append_log(c, job, source, level, stage, line, now)?;
            }
            Ok(())
        })
    }

    fn stage(
        &self,
        job: Uuid,
        stage: &str,
        lines: &[String],
    ) -> Result<(), Result<Halt, ApiError>> {
        self.heartbeat.beat();
        if self.stop.load(Ordering::SeqCst) {
            return Err(Ok(Halt::Stopping));
        }
        if self
            .db
            .write_blocking(|c| jobs::is_canceled(c, job))
            .map_err(|e| Err(ApiError::from(e)))?
        {
            return Err(Ok(Halt::Canceled));
        }
        self.log(
            job,
            "provisioner_daemon",
            "info",
            stage,
            &[stage.to_string()],
        )
        .map_err(Err)?;
        self.log(job, "provisioner", "info", stage, lines)
            .map_err(Err)?;
        self.pause(4);
        if self.stop.load(Ordering::SeqCst) {
            return Err(Ok(Halt::Stopping));
        }
        Ok(())
    }

    fn execute(&self, id: Uuid) -> ApiResult<()> {
        let job = self
            .db
            .write_blocking(|c| jobs::get(c, id))?
            .ok_or_else(|| ApiError::internal("acquired job vanished"))?;
        let job: Allowed<JobRow, act::Update> = self.permit(job)?;
        let result = match job.job_type.as_str() {
            "template_version_import" => self.import(&job),
            crate::domain::dry_runs::JOB_TYPE => self.dry_run(&job),
            _ => self.build(&job),
        };
        match result {
            Ok(()) => Ok(()),
            Err(Ok(Halt::Stopping)) => {
                log::warn!("provisioner: job {id} abandoned: the server is stopping");
                Ok(())
            }
            Err(Ok(Halt::Canceled)) => {
                let now = self.clock.now();
                self.log(
                    id,
                    "provisioner_daemon",
                    "warn",
                    "Cleaning up",
                    &["Job canceled".into()],
                )?;
                Ok(self
                    .db
                    .write_blocking(|c| jobs::complete(c, id, "", "", now))?)
            }
            Err(Err(e)) => Err(e),
        }
    }

    fn import(&self, job: &Allowed<JobRow, act::Update>) -> Result<(), Result<Halt, ApiError>> {
        let started = self.clock.now();
        let version = self
            .db
            .write_blocking(|c| -> ApiResult<_> {
                let v = versions::get_by_job(c, job.id)?
                    .ok_or_else(|| ApiError::internal("version missing"))?;
                crate::domain::templates::require_version_update(c, &self.subject, &v)?;
                Ok(v)
            })
            .map_err(Err)?;
        self.stage(job.id, "Setting up", &["Loading template source".into()])?;
        let file = self
            .db
            .write_blocking(|c| crate::domain::files::get(c, &self.subject, job.file_id))
            .map_err(Err)?;
        let parsed = terraform::import(&file.data, &version.user_variable_values);
        let model = match parsed {
            Ok(m) => m,
            Err(terraform::ImportError::Archive(_)) if job.provisioner == "echo" => {
                TemplateModel::default()
            }
            Err(e) => {
                let code = match e {
                    terraform::ImportError::MissingVariables(_) => "REQUIRED_TEMPLATE_VARIABLES",
                    _ => "",
                };
                let message = e.to_string();
                let now = self.clock.now();
                self.log(
                    job.id,
                    "provisioner",
                    "error",
                    "Parsing template parameters",
                    std::slice::from_ref(&message),
                )
                .map_err(Err)?;
                return self
                    .db
                    .write_blocking(|c| jobs::complete(c, job.id, &message, code, now))
                    .map_err(|e| Err(ApiError::from(e)));
            }
        };
        let params: Vec<String> = model
            .parameters
            .iter()
            .map(|p| format!("Parameter {:?} ({})", p.name, p.kind))
            .collect();
        self.stage(job.id, "Parsing template parameters", &params)?;
        let persistent: Vec<String> = model
            .resources
            .iter()
            .filter(|r| r.persistent)
            .map(|r| format!("{}.{}", r.kind, r.name))
            .collect();
        self.stage(job.id, "Detecting persistent resources", &persistent)?;
        let ephemeral: Vec<String> = model
            .resources
            .iter()
            .filter(|r| !r.persistent)
            .map(|r| format!("{}.{}", r.kind, r.name))
            .collect();
        self.stage(job.id, "Detecting ephemeral resources", &ephemeral)?;
        let now = self.clock.now();
        self.db
            .write_blocking(|c| -> ApiResult<()> {
                if jobs::is_canceled(c, job.id)? {
                    return Ok(jobs::complete(c, job.id, "", "", now)?);
                }
                versions::store_model(c, version.id, &model, now)?;
                timings(c, job.id, &model.resources, started, now)?;
                jobs::append_log(
                    c,
                    job.id,
                    "provisioner_daemon",
                    "info",
                    "Cleaning up",
                    "Cleaning up",
                    now,
                )?;
                Ok(jobs::complete(c, job.id, "", "", now)?)
            })
            .map_err(Err)
    }

    /// Plans a version with the job's parameter values as a first start
    /// build would, keeping the resources it would create with the job.
    fn dry_run(&self, job: &Allowed<JobRow, act::Update>) -> Result<(), Result<Halt, ApiError>> {
        let started = self.clock.now();
        let version = job
            .input
            .get("template_version_id")
            .and_then(|v| v.as_str())
            .and_then(|v| Uuid::parse_str(v).ok())
            .ok_or_else(|| Err(ApiError::internal("dry run without a version")))?;
        let model = self
            .db
            .write_blocking(|c| versions::model(c, version))
            .map_err(|e| Err(ApiError::from(e)))?
            .unwrap_or_default();
        self.stage(
            job.id,
            "Setting up",
            &[
                "Initializing the backend...".into(),
                "Terraform has been successfully initialized!".into(),
            ],
        )?;
        let supplied: Vec<(String, String)> = job
            .input
            .get("rich_parameter_values")
            .and_then(|v| {
                serde_json::from_value::<Vec<crate::sdk::DryRunParameter>>(v.clone()).ok()
            })
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect();
        if let Err(e) = crate::domain::parameters::resolve(&model.parameters, &supplied, None, None)
        {
            let message = format!("Unable to validate parameter {:?}: {}", e.name, e.detail);
            let now = self.clock.now();
            self.log(
                job.id,
                "provisioner",
                "error",
                "Planning infrastructure",
                std::slice::from_ref(&message),
            )
            .map_err(Err)?;
            return self
                .db
                .write_blocking(|c| jobs::complete(c, job.id, &message, "", now))
                .map_err(|e| Err(ApiError::from(e)));
        }
        let all: Vec<&Resource> = model.resources.iter().collect();
        self.stage(
            job.id,
            "Planning infrastructure",
            &[format!(
                "Plan: {} to add, 0 to change, 0 to destroy.",
                all.len()
            )],
        )?;
        let now = self.clock.now();
        self.db
            .write_blocking(|c| -> ApiResult<()> {
                if jobs::is_canceled(c, job.id)? {
                    return Ok(jobs::complete(c, job.id, "", "", now)?);
                }
                materialise(c, job.id, "start", &all, now)?;
                timings(c, job.id, &model.resources, started, now)?;
                jobs::append_log(
                    c,
                    job.id,
                    "provisioner_daemon",
                    "info",
                    "Cleaning up",
                    "Cleaning up",
                    now,
                )?;
                Ok(jobs::complete(c, job.id, "", "", now)?)
            })
            .map_err(Err)
    }

    fn build(&self, job: &Allowed<JobRow, act::Update>) -> Result<(), Result<Halt, ApiError>> {
        let started = self.clock.now();
        let build = self
            .db
            .write_blocking(|c| builds::get_by_job(c, job.id))
            .map_err(|e| Err(ApiError::from(e)))?
            .ok_or_else(|| Err(ApiError::internal("build missing")))?;
        let model = self
            .db
            .write_blocking(|c| versions::model(c, build.template_version_id))
            .map_err(|e| Err(ApiError::from(e)))?
            .unwrap_or_default();
        let orphan = job
            .input
            .get("orphan")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let transition = build.transition.clone();
        let affected: Vec<&Resource> = model
            .resources
            .iter()
            .filter(|r| transition != "stop" || r.persistent)
            .collect();
        let names: Vec<String> = model
            .resources
            .iter()
            .map(|r| format!("{}.{}", r.kind, r.name))
            .collect();
        self.stage(
            job.id,
            "Setting up",
            &[
                "Initializing the backend...".into(),
                "Terraform has been successfully initialized!".into(),
            ],
        )?;
        let plan = match transition.as_str() {
            "start" => format!(
                "Plan: {} to add, 0 to change, 0 to destroy.",
                affected.len()
            ),
            "stop" => format!(
                "Plan: 0 to add, 0 to change, {} to destroy.",
                model.resources.len() - affected.len()
            ),
            _ => format!(
                "Plan: 0 to add, 0 to change, {} to destroy.",
                model.resources.len()
            ),
        };
        self.stage(job.id, "Planning infrastructure", &[plan])?;
        // Coder's provisioner commits the cost of starts and stops (never of
        // deletions) between plan and apply.
        let cost: i64 = affected.iter().map(|r| r.daily_cost).sum();
        if matches!(transition.as_str(), "start" | "stop")
            && cost > 0
            && !self.commit_quota(job.id, &build, cost)?
        {
            return Ok(());
        }
        let (stage, verb) = match transition.as_str() {
            "start" => ("Starting workspace", "Creation complete"),
            "stop" => ("Stopping workspace", "Destruction complete"),
            _ => ("Destroying workspace", "Destruction complete"),
        };
        let lines: Vec<String> = if orphan {
            vec!["Orphaning workspace: infrastructure is left in place.".into()]
        } else {
            names.iter().map(|n| format!("{n}: {verb}")).collect()
        };
        self.stage(job.id, stage, &lines)?;
        let now = self.clock.now();
        let agents = self
            .db
            .write_blocking(|c| -> ApiResult<_> {
                if jobs::is_canceled(c, job.id)? {
                    jobs::complete(c, job.id, "", "", now)?;
                    return Ok(Vec::new());
                }
                let created = if transition == "delete" {
                    Vec::new()
                } else {
                    materialise(c, job.id, &transition, &affected, now)?
                };
                let ws = workspaces::get(c, build.workspace_id)?
                    .ok_or_else(|| ApiError::internal("workspace missing"))?;
                let ws: Allowed<_, act::Update> = self.permit(ws)?;
                let template = templates::get_any(c, ws.template_id)?
                    .ok_or_else(|| ApiError::internal("template missing"))?;
                let template: Allowed<_, act::Read> = self.permit(template)?;
                // Coder computes both for every transition; only start
                // builds are acted on, so others keep them empty.
                let ttl = crate::domain::schedule::effective_ttl_ms(
                    ws.ttl_ms,
                    template.allow_user_autostop,
                    template.default_ttl_ms,
                );
                let autostart = ws.autostart_schedule.as_deref().and_then(|s| crate::domain::schedule::parse(s).ok());
                let (deadline, max_deadline, rule) = if transition == "start" {
                    let max = crate::domain::schedule::max_deadline(
                        now,
                        template.autostop_requirement_days,
                        template.autostop_requirement_weeks,
                    );
                    let (deadline, rule) = crate::domain::schedule::deadline_with_rule(now, ttl, autostart.as_ref(), template.autostart_requirement_days, max);
                    // The TTL is the template's when users may not set their own.
                    let rule = if rule == "ttl" && !template.allow_user_autostop { "template_ttl" } else { rule };
                    (deadline, max, rule)
                } else {
                    (None, None, "")
                };
                if let Some(s) = &autostart {
                    if let Some(next) = s.next_after(now, template.autostart_requirement_days) {
                        workspaces::set_next_start(c, ws.id, Some(next))?;
                    }
                }
                let state = json!({
                    "version": 4,
                    "terraform_version": "1.9.0",
                    "resources": affected.iter().map(|r| json!({"type": r.kind, "name": r.name, "mode": "managed"})).collect::<Vec<_>>(),
                });
                builds::complete(
                    c,
                    build.id,
                    &Completion {
                        deadline,
                        max_deadline,
                        // Deletions commit no cost (Coder's rule).
                        daily_cost: if transition == "delete" { 0 } else { cost },
                        state: serde_json::to_vec(&state)?,
                        has_ai_task: model.has_ai_task,
                        has_external_agent: model.has_external_agent,
                    },
                    now,
                )?;
                if !rule.is_empty() {
                    builds::set_deadline_reason(c, build.id, rule, "", now)?;
                }
                if transition == "delete" {
                    workspaces::mark_deleted(c, build.workspace_id, now)?;
                }
                timings(c, job.id, &affected.iter().map(|r| (*r).clone()).collect::<Vec<_>>(), started, now)?;
                jobs::append_log(c, job.id, "provisioner_daemon", "info", "Cleaning up", "Cleaning up", now)?;
                jobs::complete(c, job.id, "", "", now)?;
                Ok(created)
            })
            .map_err(Err)?;
        for agent in agents {
            self.simulate_agent(&agent).map_err(Err)?;
        }
        Ok(())
    }

    /// Commits a build's daily cost against its owner's quota, logging the
    /// figures as Coder does; a refused build's job fails with Coder's error
    /// (and `false` is returned).
    fn commit_quota(
        &self,
        job: Uuid,
        build: &builds::BuildRow,
        cost: i64,
    ) -> Result<bool, Result<Halt, ApiError>> {
        const STAGE: &str = "Commit quota";
        let now = self.clock.now();
        let decision = self
            .db
            .write_blocking(|c| -> ApiResult<_> {
                let ws = workspaces::get(c, build.workspace_id)?
                    .ok_or_else(|| ApiError::internal("workspace missing"))?;
                let ws: Allowed<_, act::Update> = self.permit(ws)?;
                crate::domain::quotas::commit(c, &ws, build, cost, now)
            })
            .map_err(Err)?;
        let Some(d) = decision else {
            return Ok(true);
        };
        let figures = [
            format!("Build cost       —   {cost}"),
            format!("Budget           —   {}", d.budget),
            format!("Credits consumed —   {}", d.consumed),
        ];
        self.log(job, "provisioner", "info", STAGE, &figures)
            .map_err(Err)?;
        if d.ok {
            return Ok(true);
        }
        self.log(
            job,
            "provisioner",
            "warn",
            STAGE,
            &["This build would exceed your quota. Failing.".into()],
        )
        .map_err(Err)?;
        let now = self.clock.now();
        self.db
            .write_blocking(|c| jobs::complete(c, job, "insufficient quota", "", now))
            .map_err(|e| Err(ApiError::from(e)))?;
        Ok(false)
    }

    /// Moves a simulated agent through connecting → connected and
    /// created → starting → ready, running its start scripts.
    fn simulate_agent(&self, a: &AgentRow) -> ApiResult<()> {
        self.pause(4);
        let now = self.clock.now();
        self.db.write_blocking(|c| {
            resources::update_agent(
                c,
                a.id,
                &AgentUpdate {
                    lifecycle_state: Some("starting".into()),
                    started_at: Some(now),
                    connected_at: Some(now),
                    version: Some(crate::config::CODER_VERSION.trim_start_matches('v').into()),
                    api_version: Some("2.6".into()),
                    ..Default::default()
                },
                now,
            )
        })?;
        self.pause(4);
        let done = self.clock.now();
        self.db.write_blocking(|c| -> ApiResult<()> {
            for s in a.scripts.iter().filter(|s| s.run_on_start) {
                let lines: Vec<(String, String)> =
                    crate::domain::agent_logs::simulated_output(&s.script)
                        .into_iter()
                        .map(|line| ("info".to_string(), line))
                        .collect();
                if !lines.is_empty() {
                    crate::domain::agent_logs::append(c, a.id, s.log_source_id, &lines, done)?;
                }
                resources::add_script_timing(
                    c,
                    &resources::ScriptTiming {
                        script: s.id,
                        agent: a.id,
                        started_at: now,
                        ended_at: done,
                        stage: "start",
                        status: "ok",
                        exit_code: 0,
                    },
                )?;
            }
            Ok(resources::update_agent(
                c,
                a.id,
                &AgentUpdate {
                    lifecycle_state: Some("ready".into()),
                    ready_at: Some(done),
                    connected_at: Some(done),
                    ..Default::default()
                },
                done,
            )?)
        })
    }
}

/// Provisioner timings: init, plan and graph for the job, apply per resource.
fn timings(
    c: &Tx,
    job: Uuid,
    resources: &[Resource],
    started: Micros,
    ended: Micros,
) -> ApiResult<()> {
    let span = (ended - started).max(4);
    let quarter = span / 4;
    let mut at = started;
    for stage in ["init", "plan", "graph"] {
        jobs::add_timing(
            c,
            &TimingRow {
                job_id: job,
                started_at: at,
                ended_at: at + quarter,
                stage: stage.into(),
                source: "terraform".into(),
                action: stage.into(),
                resource: String::new(),
            },
        )?;
        at += quarter;
    }
    for r in resources {
        let provider = r.kind.split('_').next().unwrap_or("terraform").to_string();
        jobs::add_timing(
            c,
            &TimingRow {
                job_id: job,
                started_at: at,
                ended_at: ended,
                stage: "apply".into(),
                source: provider,
                action: "create".into(),
                resource: format!("{}.{}", r.kind, r.name),
            },
        )?;
    }
    Ok(())
}

/// The rows a transition of these resources produces: start builds get
/// agents with new ids, apps and scripts. Pure, so a version's resources can
/// be previewed without a build.
pub fn plan_rows(
    job: Uuid,
    transition: &str,
    resources: &[&Resource],
    now: Micros,
) -> Vec<ResourceRow> {
    let mut out = Vec::new();
    for r in resources {
        let mut row = ResourceRow {
            id: crate::domain::new_id(),
            job_id: job,
            transition: transition.into(),
            kind: r.kind.clone(),
            name: r.name.clone(),
            hide: r.hide,
            icon: r.icon.clone(),
            daily_cost: r.daily_cost,
            // Stored as it goes over the wire; a sensitive value is not kept.
            metadata: json!(r
                .metadata
                .iter()
                .map(|m| crate::sdk::WorkspaceResourceMetadata {
                    key: m.key.clone(),
                    value: if m.sensitive {
                        String::new()
                    } else {
                        m.value.clone()
                    },
                    sensitive: m.sensitive,
                })
                .collect::<Vec<_>>()),
            created_at: now,
            agents: Vec::new(),
        };
        if transition == "start" {
            for (i, a) in r.agents.iter().enumerate() {
                let mut agent = AgentRow {
                    id: crate::domain::new_id(),
                    resource_id: row.id,
                    name: a.name.clone(),
                    architecture: a.arch.clone(),
                    operating_system: a.os.clone(),
                    directory: a.dir.clone(),
                    environment_variables: json!(a.env),
                    connection_timeout_seconds: a.connection_timeout_seconds,
                    troubleshooting_url: a.troubleshooting_url.clone(),
                    motd_file: a.motd_file.clone(),
                    display_apps: serde_json::to_value(&a.display_apps).unwrap_or_default(),
                    metadata: serde_json::to_value(&a.metadata).unwrap_or_default(),
                    lifecycle_state: "created".into(),
                    simulated: true,
                    display_order: if a.order != 0 { a.order } else { i as i64 },
                    created_at: now,
                    updated_at: now,
                    ..Default::default()
                };
                for (j, app) in a.apps.iter().enumerate() {
                    agent.apps.push(AppRow {
                        id: crate::domain::new_id(),
                        agent_id: agent.id,
                        slug: app.slug.clone(),
                        display_name: app.display_name.clone(),
                        command: app.command.clone(),
                        url: app.url.clone(),
                        icon: app.icon.clone(),
                        subdomain: app.subdomain,
                        sharing_level: app.share.clone(),
                        healthcheck_url: app
                            .healthcheck
                            .as_ref()
                            .map(|h| h.url.clone())
                            .unwrap_or_default(),
                        healthcheck_interval: app
                            .healthcheck
                            .as_ref()
                            .map(|h| h.interval)
                            .unwrap_or(0),
                        healthcheck_threshold: app
                            .healthcheck
                            .as_ref()
                            .map(|h| h.threshold)
                            .unwrap_or(0),
                        health: if app.healthcheck.is_some() {
                            "initializing"
                        } else {
                            "disabled"
                        }
                        .into(),
                        external: app.external,
                        hidden: app.hidden,
                        open_in: app.open_in.clone(),
                        group_name: app.group.clone(),
                        display_order: if app.order != 0 { app.order } else { j as i64 },
                    });
                }
                for (j, s) in a.scripts.iter().enumerate() {
                    agent.scripts.push(ScriptRow {
                        id: crate::domain::new_id(),
                        agent_id: agent.id,
                        log_source_id: crate::domain::new_id(),
                        log_path: s.log_path.clone(),
                        script: s.script.clone(),
                        cron: s.cron.clone(),
                        run_on_start: s.run_on_start,
                        run_on_stop: s.run_on_stop,
                        start_blocks_login: s.start_blocks_login,
                        timeout_seconds: s.timeout_seconds,
                        display_name: s.display_name.clone(),
                        display_order: j as i64,
                    });
                }
                row.agents.push(agent);
            }
        }
        out.push(row);
    }
    out
}

/// Writes the resources a build produced. Each agent gets a fresh token of
/// which only the hash is kept.
fn materialise(
    c: &Tx,
    job: Uuid,
    transition: &str,
    resources: &[&Resource],
    now: Micros,
) -> ApiResult<Vec<AgentRow>> {
    let mut agents = Vec::new();
    for row in plan_rows(job, transition, resources, now) {
        resources::insert_resource(c, &row)?;
        for mut agent in row.agents {
            let token = Uuid::new_v4().to_string();
            resources::insert_agent(c, &agent, &hash_secret(&token))?;
            for app in &mut agent.apps {
                if app.health == "initializing" {
                    // The simulated app answers its health check at once.
                    app.health = "healthy".into();
                }
                resources::insert_app(c, app, now)?;
            }
            for s in &agent.scripts {
                let icon = if s.run_on_stop {
                    "/emojis/25c0.png"
                } else {
                    "/emojis/25b6.png"
                };
                resources::insert_script(c, s, icon, now)?;
            }
            let metadata: Vec<crate::domain::template_model::AgentMetadata> =
                serde_json::from_value(agent.metadata.clone()).unwrap_or_default();
            crate::domain::agent_metadata::insert_for_agent(c, agent.id, &metadata)?;
            crate::domain::store::agent_extras::set_listening_ports(
                c,
                agent.id,
                &crate::domain::ports::simulated_ports(&agent.apps),
            )?;
            agents.push(agent);
        }
    }
    Ok(agents)
}
