//! Workspace builds: the checks and parameter rules of a new build, its job,
//! cancellation, and the `codersdk.WorkspaceBuild` shape.

use std::collections::HashMap;

use crate::domain::store::{StoreError, Tx};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::authz::{Action, Readable, Subject};
use crate::domain::agents::{self, AppStatuses};
use crate::domain::jobs;
use crate::domain::parameters;
use crate::domain::store::builds::{self as store, BuildRow};
use crate::domain::store::jobs::{self as job_store, JobRow, NewJob};
use crate::domain::store::resources;
use crate::domain::store::template_versions as versions;
use crate::domain::store::templates::TemplateRow;
use crate::domain::store::users;
use crate::domain::store::workspaces::{self as ws_store, WorkspaceRow};
use crate::domain::workspace_access::{self as workspaces, RenderCtx};
use crate::error::{ApiError, ApiResult, Validator};
use crate::query::paging::{self, Page, UnknownAfterId};
use crate::sdk::{AgentConnectionTiming, AgentScriptTiming, ProvisionerTiming};
use crate::sdk::{
    Micros, Time, WorkspaceAppStatus, WorkspaceBuild, WorkspaceBuildTimings, WorkspaceResource,
};

#[derive(Debug, Clone, Deserialize, Default, schemars::JsonSchema)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

/// An entry of the older `parameter_values` list: either today's
/// `{name, value}` or the legacy `{name, source_value, source_scheme,
/// destination_scheme, copy_from_parameter}`, whose value is `source_value`.
#[derive(Debug, Clone, Deserialize, Default, schemars::JsonSchema)]
#[serde(try_from = "LegacyParameterFields")]
pub struct LegacyParameterValue(pub NameValue);

#[derive(Deserialize, schemars::JsonSchema)]
struct LegacyParameterFields {
    name: String,
    value: Option<String>,
    source_value: Option<String>,
}

impl TryFrom<LegacyParameterFields> for LegacyParameterValue {
    type Error = &'static str;

    fn try_from(f: LegacyParameterFields) -> Result<Self, Self::Error> {
        let value = f.value.or(f.source_value).ok_or("missing field `value`")?;
        Ok(LegacyParameterValue(NameValue {
            name: f.name,
            value,
        }))
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct CreateBuildRequest {
    pub transition: String,
    pub template_version_id: Option<Uuid>,
    pub rich_parameter_values: Vec<NameValue>,
    /// Older clients' list; a name also in `rich_parameter_values` takes
    /// the rich value.
    pub parameter_values: Vec<LegacyParameterValue>,
    pub template_version_preset_id: Option<Uuid>,
    pub orphan: bool,
    pub state: Option<String>,
    pub log_level: String,
    pub reason: String,
    pub dry_run: bool,
}

const CLIENT_REASONS: &[&str] = &[
    "dashboard",
    "cli",
    "ssh_connection",
    "vscode_connection",
    "jetbrains_connection",
];

/// Everything a new build needs that does not come from the request.
pub struct BuildContext<'a> {
    /// The workspace, which the subject was allowed to read.
    pub workspace: &'a Readable<WorkspaceRow>,
    pub template: &'a TemplateRow,
    /// The first build of a new workspace.
    pub first: bool,
    /// Set for builds the server itself starts (autostart, autostop…).
    pub system_reason: Option<&'static str>,
    /// Who the build names as its initiator: the caller, or for the
    /// server's own builds the workspace owner, as Coder's do.
    pub initiator: Uuid,
}

/// Validates and queues a build in the caller's transaction; returns it.
pub fn create(
    conn: &Tx,
    subject: &Subject,
    ctx: &BuildContext,
    req: &CreateBuildRequest,
    now: Micros,
) -> ApiResult<BuildRow> {
    let ws = ctx.workspace;
    let t = ctx.template;
    let mut v = Validator::new();
    v.required("transition", &req.transition).check(
        "transition",
        "oneof",
        &req.transition,
        matches!(req.transition.as_str(), "start" | "stop" | "delete"),
    );
    if !req.reason.is_empty() {
        v.check(
            "reason",
            "oneof",
            &req.reason,
            CLIENT_REASONS.contains(&req.reason.as_str()),
        );
    }
    v.check(
        "log_level",
        "oneof",
        &req.log_level,
        matches!(req.log_level.as_str(), "" | "debug"),
    );
    v.finish()?;
    if req.orphan && req.transition != "delete" {
        return Err(ApiError::bad_request(
            "Orphan is only permitted when deleting a workspace.",
        ));
    }
    if req.orphan && req.state.is_some() {
        return Err(ApiError::bad_request(
            "ProvisionerState cannot be set alongside Orphan since state intent is unclear.",
        ));
    }
    let object = workspaces::object(ws);
    // A first build comes with the workspace's creation, which its proof
    // stands for; later builds take the rights of their transition.
    if !ctx.first {
        subject.require_visible(Action::Read, object)?;
        let (action, verb) = match req.transition.as_str() {
            "start" => (Action::Start, "update"),
            "stop" => (Action::Stop, "update"),
            _ => (Action::Delete, "delete"),
        };
        if !subject.can(action, object) {
            return Err(ApiError::forbidden_msg(format!(
                "You do not have permission to {verb} this workspace."
            )));
        }
    }
    let template_manager = subject.can(Action::Update, crate::domain::templates::object(t));
    if (req.state.is_some() || req.orphan) && !template_manager {
        return Err(ApiError::forbidden_msg(
            "Only template managers may provide custom state",
        ));
    }
    if !req.log_level.is_empty() && !template_manager {
        return Err(ApiError::bad_request(
            "Workspace builds with a custom log level are restricted to administrators only.",
        ));
    }
    let previous = match ws.latest_build_id {
        Some(id) => store::get(conn, id)?,
        None => None,
    };
    let version_id = match req.template_version_id.filter(|v| !v.is_nil()) {
        Some(v) => v,
        None => {
            let wants_active = req.transition == "start"
                && (ws.automatic_updates == "always"
                    || (t.require_active_version
                        && (!template_manager || ctx.system_reason.is_some())));
            match &previous {
                Some(p) if !wants_active => p.template_version_id,
                _ => t.active_version_id,
            }
        }
    };
    let version = versions::get(conn, version_id)?
        .ok_or_else(|| ApiError::bad_request("template version does not exist"))?;
    if version.template_id != Some(t.id) {
        return Err(ApiError::bad_request(
            "template version doesn't match template",
        ));
    }
    let vjob =
        job_store::state(conn, version.job_id)?.ok_or_else(|| ApiError::internal("job missing"))?;
    match vjob.status() {
        "pending" | "running" | "canceling" => {
            return Err(ApiError::new(
                actix_web::http::StatusCode::NOT_ACCEPTABLE,
                format!(
                    "The provided template version is {}. Wait for it to complete importing!",
                    vjob.status()
                ),
            ))
        }
        "failed" | "canceled" => {
            return Err(ApiError::bad_request(format!(
                "The provided template version {:?} has failed to import: {:?}. You cannot build workspaces with it!",
                version.name, vjob.error
            )))
        }
        _ => {}
    }
    if let Some(p) = &previous {
        let pjob =
            job_store::state(conn, p.job_id)?.ok_or_else(|| ApiError::internal("job missing"))?;
        if pjob.is_active() {
            return Err(ApiError::conflict("A workspace build is already active."));
        }
    }
    // Parameters.
    let definitions = versions::parameters(conn, version.id)?;
    let presets = versions::presets(conn, version.id)?;
    let chosen = match req.template_version_preset_id.filter(|p| !p.is_nil()) {
        Some(id) => Some(
            presets
                .iter()
                .find(|(pid, _)| *pid == id)
                .ok_or_else(|| ApiError::bad_request("Invalid template version preset ID."))?,
        ),
        None => None,
    };
    let supplied: Vec<(String, String)> = req
        .parameter_values
        .iter()
        .map(|p| &p.0)
        .chain(req.rich_parameter_values.iter())
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    let previous_values = match &previous {
        Some(p) => Some(store::parameters(conn, p.id)?),
        None => None,
    };
    let resolved = parameters::resolve(
        &definitions,
        &supplied,
        previous_values.as_deref(),
        chosen.map(|(_, p)| &p.parameters),
    )
    .map_err(|e| {
        ApiError::bad_request(format!("Unable to validate parameter {:?}", e.name)).detail(e.detail)
    })?;
    if req.transition == "start"
        && t.require_active_version
        && version.id != t.active_version_id
        && !template_manager
        && !ctx.first
    {
        return Err(ApiError::forbidden_msg(
            "cannot use non-active version: template requires the active version",
        ));
    }
    let preset_id = chosen
        .map(|(id, _)| *id)
        .or_else(|| parameters::matching_preset(&presets, &resolved).copied());
    let state: Option<Vec<u8>> = if req.orphan {
        None
    } else if let Some(s) = &req.state {
        Some(
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| {
                    ApiError::bad_request("Request body must be valid JSON.").detail(e.to_string())
                })?,
        )
    } else {
        match &previous {
            Some(p) => store::state(conn, p.id)?,
            None => None,
        }
    };
    let build_id = crate::domain::new_id();
    let job_id = crate::domain::new_id();
    job_store::insert(
        conn,
        &NewJob {
            id: job_id,
            job_type: "workspace_build",
            provisioner: t.provisioner.clone(),
            organization_id: ws.organization_id,
            initiator_id: ctx.initiator,
            file_id: vjob.file_id,
            input: json!({ "workspace_build_id": build_id, "orphan": req.orphan, "log_level": req.log_level }),
            tags: vjob.tags.clone(),
            now,
        },
    )?;
    #[cfg(test)]
    if tests::FAIL_AFTER_JOB.with(|f| f.get() == Some(ws.id)) {
        return Err(ApiError::internal("injected failure after the job insert"));
    }
    let build = BuildRow {
        id: build_id,
        workspace_id: ws.id,
        template_version_id: version.id,
        build_number: previous.as_ref().map(|p| p.build_number + 1).unwrap_or(1),
        transition: req.transition.clone(),
        initiator_id: ctx.initiator,
        reason: ctx
            .system_reason
            .map(str::to_string)
            .or_else(|| Some(req.reason.clone()).filter(|r| !r.is_empty()))
            .unwrap_or_else(|| "initiator".into()),
        job_id,
        template_version_preset_id: preset_id,
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    store::insert(conn, &build, state.as_deref()).map_err(|e| match e {
        StoreError::Conflict(_) => ApiError::conflict("A workspace build is already active."),
        e => ApiError::from(e),
    })?;
    store::insert_parameters(conn, build_id, &resolved)?;
    ws_store::set_latest_build(conn, ws.id, build_id, now)?;
    store::get(conn, build_id)?.ok_or_else(|| ApiError::internal("build vanished"))
}

/// Coder's refusals for canceling a job.
pub fn check_cancelable(job: &JobRow) -> ApiResult<()> {
    if job.completed_at.is_some() {
        return Err(ApiError::bad_request("Job has already completed!"));
    }
    if job.canceled_at.is_some() {
        return Err(ApiError::bad_request(
            "Job has already been marked as canceled!",
        ));
    }
    Ok(())
}

/// Workspace status from the latest build's job status and transition.
pub fn status(job_status: &str, transition: &str) -> &'static str {
    crate::domain::store::status::workspace_status(job_status, transition)
}

/// App statuses of the given workspaces, newest first per app.
pub fn app_statuses(conn: &Tx, workspaces: &[Uuid]) -> ApiResult<AppStatuses> {
    let mut out: AppStatuses = HashMap::new();
    for st in resources::app_statuses(conn, workspaces)? {
        out.entry(st.app_id).or_default().push(WorkspaceAppStatus {
            id: st.id,
            created_at: Time(st.created_at),
            workspace_id: st.workspace_id,
            agent_id: st.agent_id,
            app_id: st.app_id,
            state: st.state,
            message: st.message,
            uri: st.uri,
            icon: st.icon,
            needs_user_attention: st.needs_user_attention,
        });
    }
    Ok(out)
}

/// A build, reachable only through its workspace, which the subject may
/// read.
pub struct ReadableBuild {
    pub build: BuildRow,
    pub workspace: Readable<WorkspaceRow>,
}

/// A build by id whose workspace the subject may read, else 404.
pub fn get(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<ReadableBuild> {
    let build = store::get(conn, id)?.ok_or_else(ApiError::not_found)?;
    let workspace = workspaces::get(conn, subject, build.workspace_id)?;
    Ok(ReadableBuild { build, workspace })
}

/// Renders builds (of the given workspaces) in batches.
pub fn render_all(
    conn: &Tx,
    bs: &[BuildRow],
    ws: &[WorkspaceRow],
    ctx: &RenderCtx,
) -> ApiResult<Vec<WorkspaceBuild>> {
    let loaded = load(conn, bs, ws)?;
    bs.iter()
        .map(|b| render(b, &loaded, ctx.now, ctx.inactive_timeout_us))
        .collect()
}

fn render_one(conn: &Tx, b: ReadableBuild, ctx: &RenderCtx) -> ApiResult<WorkspaceBuild> {
    render_all(conn, &[b.build], &[b.workspace.into_inner()], ctx)?
        .pop()
        .ok_or_else(|| ApiError::internal("build render"))
}

/// `POST /workspaces/{workspace}/builds`.
pub fn create_for_workspace(
    conn: &Tx,
    subject: &Subject,
    workspace: Uuid,
    req: &CreateBuildRequest,
    ctx: &RenderCtx,
) -> ApiResult<WorkspaceBuild> {
    let (w, t) = workspaces::get_with_template(conn, subject, workspace)?;
    let b = create(
        conn,
        subject,
        &BuildContext {
            workspace: &w,
            template: &t,
            first: false,
            system_reason: None,
            initiator: subject.user_id,
        },
        req,
        ctx.now,
    )?;
    render_one(
        conn,
        ReadableBuild {
            build: b,
            workspace: w,
        },
        ctx,
    )
}

/// Paging of `GET /workspaces/{workspace}/builds`.
pub struct BuildPage {
    pub since: Option<Micros>,
    pub page: Page,
}

/// `GET /workspaces/{workspace}/builds`: newest first.
pub fn list_for_workspace(
    conn: &Tx,
    subject: &Subject,
    workspace: Uuid,
    p: &BuildPage,
    ctx: &RenderCtx,
) -> ApiResult<Vec<WorkspaceBuild>> {
    let w = workspaces::get(conn, subject, workspace)?;
    let all = store::list(conn, w.id, p.since)?;
    let page = paging::page(all, |b| b.id, &p.page).map_err(UnknownAfterId::error)?;
    render_all(conn, &page, std::slice::from_ref(&w), ctx)
}

/// `GET /workspacebuilds/{workspacebuild}`.
pub fn get_rendered(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
    ctx: &RenderCtx,
) -> ApiResult<WorkspaceBuild> {
    let b = get(conn, subject, id)?;
    render_one(conn, b, ctx)
}

/// `GET /users/{user}/workspace/{workspacename}/builds/{buildnumber}`
/// (deleted workspaces included).
pub fn by_number(
    conn: &Tx,
    subject: &Subject,
    owner_arg: &str,
    workspace_name: &str,
    number: i64,
    ctx: &RenderCtx,
) -> ApiResult<WorkspaceBuild> {
    let owner = crate::domain::users::resolve(conn, subject, owner_arg)?;
    let w = ws_store::get_by_owner_name(conn, owner.id, workspace_name, true)?
        .ok_or_else(ApiError::not_found)?;
    let workspace = subject.visible(w)?;
    let build =
        store::get_by_number(conn, workspace.id, number)?.ok_or_else(ApiError::not_found)?;
    render_one(conn, ReadableBuild { build, workspace }, ctx)
}

/// `PATCH /workspacebuilds/{workspacebuild}/cancel`, with Coder's optional
/// `expect_status` precondition.
pub fn cancel(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
    expect: Option<&str>,
    now: Micros,
) -> ApiResult<()> {
    let b = get(conn, subject, id)?;
    subject.require_visible(Action::Update, workspaces::object(&b.workspace))?;
    let t = crate::domain::store::templates::get_any(conn, b.workspace.template_id)?
        .ok_or_else(ApiError::not_found)?;
    if !t.allow_user_cancel_workspace_jobs
        && !subject.can(Action::Update, crate::domain::templates::object(&t))
    {
        return Err(ApiError::forbidden_msg(
            "User is not allowed to cancel workspace builds. Owner role is required.",
        ));
    }
    let job = job_store::get(conn, b.build.job_id)?.ok_or_else(ApiError::not_found)?;
    check_cancelable(&job)?;
    if let Some(e) = expect {
        if job.status() != e {
            return Err(ApiError::new(
                actix_web::http::StatusCode::PRECONDITION_FAILED,
                format!(
                    "Job is not in the expected state. Expected: {e}, Got: {}",
                    job.status()
                ),
            ));
        }
    }
    Ok(job_store::cancel(conn, job.id, now)?)
}

/// The logs `GET /workspacebuilds/{id}/logs` shows.
pub fn logs(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<jobs::JobLogs> {
    Ok(jobs::JobLogs::of(get(conn, subject, id)?.build.job_id))
}

/// `GET /workspacebuilds/{workspacebuild}/parameters`: (name, value) pairs.
pub fn parameters_of(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<Vec<(String, String)>> {
    let b = get(conn, subject, id)?;
    Ok(store::parameters(conn, b.build.id)?)
}

/// `GET /workspacebuilds/{workspacebuild}/resources`: once the job is done.
pub fn resources_of(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
    ctx: &RenderCtx,
) -> ApiResult<Vec<WorkspaceResource>> {
    let b = get(conn, subject, id)?;
    let job = job_store::get(conn, b.build.job_id)?.ok_or_else(ApiError::not_found)?;
    if job.completed_at.is_none() {
        return Err(ApiError::bad_request("Job hasn't completed!"));
    }
    Ok(render_one(conn, b, ctx)?.resources)
}

/// `GET /workspacebuilds/{workspacebuild}/state`: for template managers.
pub fn state_of(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<Vec<u8>> {
    let b = get(conn, subject, id)?;
    let t = crate::domain::store::templates::get_any(conn, b.workspace.template_id)?
        .ok_or_else(ApiError::not_found)?;
    subject.require_visible(Action::Update, crate::domain::templates::object(&t))?;
    Ok(store::state(conn, b.build.id)?.unwrap_or_default())
}

/// `GET /workspacebuilds/{workspacebuild}/timings`.
pub fn timings_of(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<WorkspaceBuildTimings> {
    let b = get(conn, subject, id)?;
    build_timings(conn, &b.build)
}

/// Everything needed to render builds, loaded in batches.
pub struct Loaded {
    pub jobs: HashMap<Uuid, JobRow>,
    pub resources: HashMap<Uuid, Vec<resources::ResourceRow>>,
    pub statuses: AppStatuses,
    pub owners: HashMap<Uuid, users::UserRow>,
    pub workspaces: HashMap<Uuid, WorkspaceRow>,
}

pub fn load(conn: &Tx, builds: &[BuildRow], workspaces: &[WorkspaceRow]) -> ApiResult<Loaded> {
    let job_ids: Vec<Uuid> = builds.iter().map(|b| b.job_id).collect();
    let jobs = job_store::get_many(conn, &job_ids)?
        .into_iter()
        .map(|j| (j.id, j))
        .collect();
    let resources = resources::for_jobs(conn, &job_ids)?;
    let mut ws: HashMap<Uuid, WorkspaceRow> =
        workspaces.iter().map(|w| (w.id, w.clone())).collect();
    let missing: Vec<Uuid> = builds
        .iter()
        .map(|b| b.workspace_id)
        .filter(|id| !ws.contains_key(id))
        .collect();
    for w in ws_store::get_many(conn, &missing)? {
        ws.insert(w.id, w);
    }
    let ws_ids: Vec<Uuid> = ws.keys().copied().collect();
    let statuses = app_statuses(conn, &ws_ids)?;
    let mut owner_ids: Vec<Uuid> = ws.values().map(|w| w.owner_id).collect();
    owner_ids.sort();
    owner_ids.dedup();
    let owners = users::get_many(conn, &owner_ids)?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(Loaded {
        jobs,
        resources,
        statuses,
        owners,
        workspaces: ws,
    })
}

pub fn render(
    b: &BuildRow,
    l: &Loaded,
    now: Micros,
    inactive_timeout_us: i64,
) -> ApiResult<WorkspaceBuild> {
    let job = l
        .jobs
        .get(&b.job_id)
        .ok_or_else(|| ApiError::internal("job missing"))?;
    let ws = l
        .workspaces
        .get(&b.workspace_id)
        .ok_or_else(|| ApiError::internal("workspace missing"))?;
    let owner = l.owners.get(&ws.owner_id);
    let resources = l
        .resources
        .get(&b.job_id)
        .map(|rs| {
            rs.iter()
                .map(|r| agents::render_resource(r, &l.statuses, now, inactive_timeout_us))
                .collect()
        })
        .unwrap_or_default();
    Ok(WorkspaceBuild {
        id: b.id,
        created_at: Time(b.created_at),
        updated_at: Time(b.updated_at),
        workspace_id: ws.id,
        workspace_name: ws.name.clone(),
        workspace_owner_id: ws.owner_id,
        workspace_owner_name: owner.map(|o| o.username.clone()).unwrap_or_default(),
        workspace_owner_avatar_url: owner.map(|o| o.avatar_url.clone()).unwrap_or_default(),
        template_version_id: b.template_version_id,
        template_version_name: b.template_version_name.clone(),
        build_number: b.build_number,
        transition: b.transition.clone(),
        initiator_id: b.initiator_id,
        initiator_name: b.initiator_name.clone(),
        job: jobs::render(job),
        reason: b.reason.clone(),
        resources,
        deadline: Time::opt(b.deadline),
        max_deadline: Time::opt(b.max_deadline),
        status: status(job.status(), &b.transition),
        daily_cost: b.daily_cost,
        matched_provisioners: jobs::matched_provisioners(now),
        template_version_preset_id: b.template_version_preset_id,
        has_ai_task: b.has_ai_task,
        has_external_agent: b.has_external_agent,
    })
}

/// A build's `codersdk.WorkspaceBuildTimings`.
pub fn build_timings(
    conn: &Tx,
    b: &crate::domain::store::builds::BuildRow,
) -> ApiResult<WorkspaceBuildTimings> {
    let provisioner_timings = crate::domain::store::jobs::timings(conn, b.job_id)?
        .into_iter()
        .map(|t| ProvisionerTiming {
            job_id: t.job_id,
            started_at: Time(t.started_at),
            ended_at: Time(t.ended_at),
            stage: t.stage,
            source: t.source,
            action: t.action,
            resource: t.resource,
        })
        .collect();
    let resources = crate::domain::store::resources::for_jobs(conn, &[b.job_id])?;
    let agents: Vec<&crate::domain::store::resources::AgentRow> = resources
        .values()
        .flatten()
        .flat_map(|r| r.agents.iter())
        .collect();
    let agent_connection_timings = agents
        .iter()
        .map(|a| AgentConnectionTiming {
            started_at: Time(a.created_at),
            ended_at: Time::or_zero(a.first_connected_at),
            stage: "connect",
            workspace_agent_id: a.id,
            workspace_agent_name: a.name.clone(),
        })
        .collect();
    let ids: Vec<Uuid> = agents.iter().map(|a| a.id).collect();
    let agent_script_timings = crate::domain::store::resources::script_timings(conn, &ids)?
        .into_iter()
        .map(|t| AgentScriptTiming {
            workspace_agent_name: agents
                .iter()
                .find(|a| a.id == t.agent_id)
                .map(|a| a.name.clone())
                .unwrap_or_default(),
            started_at: Time(t.started_at),
            ended_at: Time(t.ended_at),
            exit_code: t.exit_code,
            stage: t.stage,
            status: t.status,
            display_name: t.display_name,
            workspace_agent_id: t.agent_id,
        })
        .collect();
    Ok(WorkspaceBuildTimings {
        provisioner_timings,
        agent_script_timings,
        agent_connection_timings,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    thread_local! {
        /// A workspace whose next build fails right after its job is queued.
        pub static FAIL_AFTER_JOB: std::cell::Cell<Option<uuid::Uuid>> =
            const { std::cell::Cell::new(None) };
    }
}
