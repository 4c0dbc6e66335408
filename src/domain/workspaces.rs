//! Workspaces: creation with its first build, lookup, and the
//! `codersdk.Workspace` shape as a given viewer sees it.

use std::collections::HashMap;

use crate::domain::store::{StoreError, Tx};
use serde::Deserialize;
use uuid::Uuid;

use crate::authz::{Action, Guarded, Object, Readable, Subject};
use crate::domain::builds::{
    self, BuildContext, CreateBuildRequest, LegacyParameterValue, NameValue,
};
use crate::domain::names;
use crate::domain::schedule;
use crate::domain::store::builds as build_store;
use crate::domain::store::template_versions as versions;
use crate::domain::store::templates::{self as template_store, TemplateRow};
use crate::domain::store::users::UserRow;
use crate::domain::store::workspaces::{self as store, WorkspaceRow};
use crate::domain::{organizations, templates, users};
use crate::error::{ApiError, ApiResult, Validator};
use crate::sdk::{self, Micros, Time, WorkspaceBuildTimings, WorkspaceHealth};

pub use crate::domain::workspace_access::{get, get_with_template, object, RenderCtx, Workspace};

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CreateWorkspaceRequest {
    pub template_id: Option<Uuid>,
    pub template_version_id: Option<Uuid>,
    pub name: String,
    pub autostart_schedule: Option<String>,
    pub ttl_ms: Option<i64>,
    pub rich_parameter_values: Vec<NameValue>,
    /// Older clients' list; a name also in `rich_parameter_values` takes
    /// the rich value.
    pub parameter_values: Vec<LegacyParameterValue>,
    pub automatic_updates: String,
    pub template_version_preset_id: Option<Uuid>,
}

/// Struct validation of the create body, with Coder's exact entries.
pub fn validate_create(req: &CreateWorkspaceRequest) -> ApiResult<()> {
    let t = req.template_id.unwrap_or_default();
    let v = req.template_version_id.unwrap_or_default();
    let mut check = Validator::new();
    if t.is_nil() && v.is_nil() {
        check
            .check("template_id", "required_without", &t.to_string(), false)
            .check(
                "template_version_id",
                "required_without",
                &v.to_string(),
                false,
            );
    } else if !t.is_nil() && !v.is_nil() {
        check
            .check("template_id", "excluded_with", &t.to_string(), false)
            .check(
                "template_version_id",
                "excluded_with",
                &v.to_string(),
                false,
            );
    }
    check.check(
        "name",
        "workspace_name",
        &req.name,
        names::valid_name(&req.name),
    );
    check.finish()
}

/// TTL rule of create and `PUT …/ttl`: whole minutes, 1 minute to 30 days.
pub fn check_ttl(ttl_ms: i64) -> Result<i64, String> {
    let truncated = ttl_ms / 60_000 * 60_000;
    if truncated < 60_000 {
        return Err("time until shutdown must be at least one minute".into());
    }
    if truncated > 30 * 24 * 3_600_000 {
        return Err("time until shutdown must be less than 30 days".into());
    }
    Ok(truncated)
}

/// `POST /organizations/{organization}/members/{user}/workspaces` and (with
/// no organization) `POST /users/{user}/workspaces`: checks who may own the
/// workspace, creates it with its first build, and renders it.
pub fn create_for(
    conn: &Tx,
    subject: &Subject,
    org_arg: Option<&str>,
    owner_arg: &str,
    req: &CreateWorkspaceRequest,
    ctx: &RenderCtx,
) -> ApiResult<sdk::Workspace> {
    let (owner, org) = match org_arg {
        Some(org_arg) => {
            let org = organizations::resolve(conn, subject, org_arg)?;
            let owner = users::resolve(conn, subject, owner_arg)?;
            organizations::member(conn, subject, &org, &owner)?;
            validate_create(req)?;
            (owner, Some(org.id))
        }
        None => {
            let owner = users::resolve(conn, subject, owner_arg)?;
            validate_create(req)?;
            if !subject.can(Action::Read, owner.object()) {
                // Without read access to the user, the owner must be a member
                // of the template's organization that the caller can see.
                let tid = req.template_id.unwrap_or_default();
                let t = templates::get(conn, subject, tid)?;
                let org = organizations::get(conn, subject, t.organization_id)?;
                organizations::member(conn, subject, &org, &owner)?;
            }
            (owner, None)
        }
    };
    let w = create(conn, subject, &owner, org, req, ctx.now)?;
    render_one(conn, subject, &w, ctx)
}

/// `GET /users/{user}/workspace/{workspacename}`: a workspace of the user
/// by name (a deleted one only when asked), rendered; hidden when the
/// subject may not read it or its template.
pub fn by_owner_and_name(
    conn: &Tx,
    subject: &Subject,
    owner_arg: &str,
    name: &str,
    include_deleted: bool,
    ctx: &RenderCtx,
) -> ApiResult<sdk::Workspace> {
    let owner = users::resolve(conn, subject, owner_arg)?;
    let w = match store::get_by_owner_name(conn, owner.id, name, false)? {
        Some(w) => Some(w),
        None if include_deleted => store::get_by_owner_name(conn, owner.id, name, true)?,
        None => None,
    }
    .ok_or_else(ApiError::not_found)?;
    let w: Readable<WorkspaceRow> = subject.visible(w)?;
    let t = template_store::get_any(conn, w.template_id)?.ok_or_else(ApiError::not_found)?;
    subject.require_visible(Action::Read, templates::object(&t))?;
    render_one(conn, subject, &w, ctx)
}

/// Creates a workspace owned by `owner` and queues its first build.
pub fn create(
    conn: &Tx,
    subject: &Subject,
    owner: &UserRow,
    org_route: Option<Uuid>,
    req: &CreateWorkspaceRequest,
    now: Micros,
) -> ApiResult<WorkspaceRow> {
    let not_exist = |field: &str, what: String| {
        ApiError::bad_request(what).validation(field, "template not found")
    };
    let template_id = match req.template_version_id.filter(|v| !v.is_nil()) {
        Some(vid) => {
            let v = versions::get(conn, vid)?.ok_or_else(|| {
                not_exist(
                    "template_version_id",
                    format!("Template version {:?} doesn't exist.", vid.to_string()),
                )
            })?;
            if v.archived {
                return Err(ApiError::new(
                    actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "Archived template versions cannot be used to make a workspace.",
                )
                .validation("template_version_id", "template version archived"));
            }
            v.template_id.ok_or_else(|| {
                not_exist(
                    "template_version_id",
                    format!("Template version {:?} doesn't exist.", vid.to_string()),
                )
            })?
        }
        None => req.template_id.unwrap_or_default(),
    };
    let template = template_store::get_any(conn, template_id)?
        .filter(|t| subject.can(Action::Read, templates::object(t)))
        .ok_or_else(|| {
            not_exist(
                "template_id",
                format!("Template {:?} doesn't exist.", template_id.to_string()),
            )
        })?;
    if template.deleted {
        return Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("Template {:?} has been deleted!", template.name),
        ));
    }
    if let Some(org) = org_route {
        if org != template.organization_id {
            return Err(ApiError::forbidden_msg(format!(
                "Template is not in organization {:?}.",
                org.to_string()
            )));
        }
    }
    if !subject.can(
        Action::Create,
        Object::NewWorkspace {
            org: template.organization_id,
            owner: owner.id,
        },
    ) {
        return Err(ApiError::forbidden_msg("Unauthorized to create workspace.").detail(
            "You are unable to create a workspace in this organization. It is possible to have access to the template, but not be able to create a workspace. Please contact an administrator about your permissions if you feel this is an error.",
        ));
    }
    if !subject.can(Action::Use, templates::object(&template)) {
        return Err(ApiError::forbidden_msg(format!(
            "Unauthorized access to use the template {:?}.",
            template.name
        ))
        .detail("Although you are able to view the template, you are unable to create a workspace using it. Please contact an administrator about your permissions if you feel this is an error."));
    }
    if !template.deprecation_message.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Template {:?} has been deprecated, and cannot be used to create a new workspace.",
            template.name
        ))
        .detail(template.deprecation_message.clone()));
    }
    let autostart = req.autostart_schedule.clone().filter(|s| !s.is_empty());
    let next_start_at = match &autostart {
        Some(s) => {
            let parsed = schedule::parse(s).map_err(|e| {
                ApiError::bad_request("Invalid Autostart Schedule.").validation("schedule", e)
            })?;
            parsed.next_after(now, template.autostart_requirement_days)
        }
        None => None,
    };
    let ttl_ms = match req.ttl_ms.filter(|t| *t != 0) {
        Some(t) => Some(check_ttl(t).map_err(|e| {
            ApiError::bad_request("Invalid Workspace Time to Shutdown.").validation("ttl_ms", e)
        })?),
        None => Some(template.default_ttl_ms).filter(|t| *t > 0),
    };
    let automatic_updates = match req.automatic_updates.as_str() {
        "" => "never",
        "always" => "always",
        "never" => "never",
        _ => {
            return Err(
                ApiError::bad_request("Invalid Workspace Automatic Updates setting.").validation(
                    "automatic_updates",
                    "Automatic updates must be always or never",
                ),
            )
        }
    };
    let conflict = || {
        ApiError::conflict(format!("Workspace {:?} already exists.", req.name))
            .validation("name", "This value is already in use and should be unique.")
    };
    if store::get_by_owner_name(conn, owner.id, &req.name, false)?.is_some() {
        return Err(conflict());
    }
    let w = WorkspaceRow {
        id: Uuid::new_v4(),
        owner_id: owner.id,
        organization_id: template.organization_id,
        template_id: template.id,
        name: req.name.clone(),
        autostart_schedule: autostart,
        ttl_ms,
        next_start_at,
        last_used_at: now,
        automatic_updates: automatic_updates.into(),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    store::insert(conn, &w).map_err(|e| match e {
        // The unique index settles a race between two creates of one name.
        StoreError::Conflict(_) => conflict(),
        e => ApiError::from(e),
    })?;
    let w = store::get(conn, w.id)?.ok_or_else(|| ApiError::internal("workspace vanished"))?;
    let w: Readable<WorkspaceRow> = subject.visible(w)?;
    builds::create(
        conn,
        subject,
        &BuildContext {
            workspace: &w,
            template: &template,
            first: true,
            system_reason: None,
            initiator: subject.user_id,
        },
        &CreateBuildRequest {
            transition: "start".into(),
            template_version_id: req.template_version_id,
            rich_parameter_values: req.rich_parameter_values.clone(),
            parameter_values: req.parameter_values.clone(),
            template_version_preset_id: req.template_version_preset_id,
            ..Default::default()
        },
        now,
    )?;
    store::get(conn, w.id)?.ok_or_else(|| ApiError::internal("workspace vanished"))
}

/// Renders workspaces for `viewer`, loading their builds, jobs, resources,
/// owners and templates in batches.
pub fn render_many(
    conn: &Tx,
    viewer: &Subject,
    ws: &[WorkspaceRow],
    allow_renames: bool,
    now: Micros,
    inactive_timeout_us: i64,
) -> ApiResult<Vec<sdk::Workspace>> {
    let build_ids: Vec<Uuid> = ws.iter().filter_map(|w| w.latest_build_id).collect();
    let builds: HashMap<Uuid, build_store::BuildRow> = build_store::get_many(conn, &build_ids)?
        .into_iter()
        .map(|b| (b.id, b))
        .collect();
    let build_list: Vec<build_store::BuildRow> = builds.values().cloned().collect();
    let loaded = builds::load(conn, &build_list, ws)?;
    let mut template_ids: Vec<Uuid> = ws.iter().map(|w| w.template_id).collect();
    template_ids.sort();
    template_ids.dedup();
    let templates: HashMap<Uuid, TemplateRow> = template_store::list_any(conn, &template_ids)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut shared = crate::domain::sharing::shared_with(conn, ws)?;
    let mut out = Vec::with_capacity(ws.len());
    for w in ws {
        let t = templates
            .get(&w.template_id)
            .ok_or_else(|| ApiError::internal("template missing"))?;
        let b = w
            .latest_build_id
            .and_then(|id| builds.get(&id))
            .ok_or_else(|| ApiError::internal("workspace without build"))?;
        let build = builds::render(b, &loaded, now, inactive_timeout_us)?;
        let owner = loaded.owners.get(&w.owner_id);
        let failing_agents: Vec<Uuid> = build
            .resources
            .iter()
            .flat_map(|r| &r.agents)
            .filter(|a| !a.health.healthy)
            .map(|a| a.id)
            .collect();
        let latest_app_status = loaded
            .statuses
            .values()
            .flatten()
            .filter(|s| s.workspace_id == w.id)
            .max_by_key(|s| s.created_at)
            .cloned();
        let ttl_ms = schedule::effective_ttl_ms(w.ttl_ms, t.allow_user_autostop, t.default_ttl_ms);
        out.push(sdk::Workspace {
            id: w.id,
            created_at: Time(w.created_at),
            updated_at: Time(w.updated_at),
            owner_id: w.owner_id,
            owner_name: owner.map(|o| o.username.clone()).unwrap_or_default(),
            owner_avatar_url: owner.map(|o| o.avatar_url.clone()).unwrap_or_default(),
            organization_id: w.organization_id,
            organization_name: t.organization_name.clone(),
            template_id: t.id,
            template_name: t.name.clone(),
            template_display_name: t.display_name.clone(),
            template_icon: t.icon.clone(),
            template_allow_user_cancel_workspace_jobs: t.allow_user_cancel_workspace_jobs,
            template_active_version_id: t.active_version_id,
            template_require_active_version: t.require_active_version,
            template_use_classic_parameter_flow: t.use_classic_parameter_flow,
            outdated: b.template_version_id != t.active_version_id,
            latest_build: build,
            latest_app_status,
            name: w.name.clone(),
            autostart_schedule: w.autostart_schedule.clone(),
            ttl_ms,
            last_used_at: Time(w.last_used_at),
            deleting_at: Time::opt(w.deleting_at),
            dormant_at: Time::opt(w.dormant_at),
            health: WorkspaceHealth {
                healthy: failing_agents.is_empty(),
                failing_agents,
            },
            automatic_updates: w.automatic_updates.clone(),
            allow_renames,
            favorite: w.favorite && viewer.can(Action::Favorite, w.object()),
            next_start_at: Time::opt(w.next_start_at),
            is_prebuild: false,
            task_id: None,
            shared_with: shared.remove(&w.id).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Settings changes need `update`; callers without it are refused as 404,
/// the way Coder's newest handlers answer.
fn require_update(subject: &Subject, w: &WorkspaceRow) -> ApiResult<()> {
    subject.require_visible(Action::Update, object(w))
}

/// `PATCH /workspaces/{workspace}`: returns whether anything changed.
pub fn rename(
    conn: &Tx,
    subject: &Subject,
    w: &WorkspaceRow,
    name: &str,
    allow_renames: bool,
    now: Micros,
) -> ApiResult<bool> {
    let mut v = Validator::new();
    v.check("name", "username", name, names::valid_name(name));
    v.finish()?;
    if name == w.name {
        return Ok(false);
    }
    if !allow_renames {
        return Err(ApiError::bad_request("Workspace renames are not allowed."));
    }
    subject.require(Action::Update, object(w))?;
    if w.deleted {
        return Err(ApiError::new(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            format!("Workspace {:?} is deleted and cannot be updated.", w.name),
        ));
    }
    let conflict = || {
        ApiError::conflict(format!("Workspace {name:?} already exists."))
            .validation("name", "This value is already in use and should be unique.")
    };
    if store::get_by_owner_name(conn, w.owner_id, name, false)?.is_some_and(|o| o.id != w.id) {
        return Err(conflict());
    }
    store::set_name(conn, w.id, name, now).map_err(|e| match e {
        StoreError::Conflict(_) => conflict(),
        e => ApiError::from(e),
    })?;
    Ok(true)
}

pub fn set_autostart(
    conn: &Tx,
    subject: &Subject,
    w: &WorkspaceRow,
    t: &TemplateRow,
    spec: Option<&str>,
    now: Micros,
) -> ApiResult<()> {
    let parsed = match spec.filter(|s| !s.is_empty()) {
        Some(s) => Some(schedule::parse(s).map_err(|e| {
            ApiError::bad_request("Invalid autostart schedule.").validation("schedule", e)
        })?),
        None => None,
    };
    if !t.allow_user_autostart {
        let m = "Autostart is not allowed for workspaces using this template.";
        return Err(ApiError::bad_request(m).validation("schedule", m));
    }
    let next = match &parsed {
        Some(p) => Some(
            p.next_after(now, t.autostart_requirement_days)
                .ok_or_else(|| {
                    ApiError::new(
                        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal error calculating workspace autostart schedule.",
                    )
                    .detail("no allowed autostart")
                })?,
        ),
        None => None,
    };
    require_update(subject, w)?;
    Ok(store::set_autostart(
        conn,
        w.id,
        spec.filter(|s| !s.is_empty()),
        next,
    )?)
}

pub fn set_ttl(
    conn: &Tx,
    subject: &Subject,
    w: &WorkspaceRow,
    t: &TemplateRow,
    ttl_ms: Option<i64>,
    now: Micros,
) -> ApiResult<()> {
    let fail = |detail: &str| {
        ApiError::bad_request("Error updating workspace time until shutdown.")
            .validation("ttl_ms", detail)
    };
    if !t.allow_user_autostop {
        return Err(fail(
            "Custom autostop TTL is not allowed for workspaces using this template.",
        ));
    }
    let ttl = match ttl_ms.filter(|t| *t != 0) {
        Some(v) => Some(check_ttl(v).map_err(|e| fail(&e))?),
        None => None,
    };
    require_update(subject, w)?;
    store::set_ttl(conn, w.id, ttl)?;
    if ttl.is_none() {
        // Disabling autostop ends it for the running build too, down to the
        // template's hard limit.
        if let Some(b) = w
            .latest_build_id
            .map(|id| build_store::get(conn, id))
            .transpose()?
            .flatten()
        {
            if b.transition == "start" {
                build_store::set_deadline(conn, b.id, b.max_deadline, now)?;
            }
        }
    }
    Ok(())
}

/// `PUT …/extend`: returns the new deadline.
pub fn extend(
    conn: &Tx,
    subject: &Subject,
    w: &WorkspaceRow,
    deadline: Micros,
    now: Micros,
) -> ApiResult<Micros> {
    require_update(subject, w)?;
    let b = w
        .latest_build_id
        .map(|id| build_store::get(conn, id))
        .transpose()?
        .flatten()
        .ok_or_else(|| ApiError::internal("workspace without build"))?;
    if b.transition != "start" {
        return Err(ApiError::conflict(format!(
            "Workspace must be started, current status: {}",
            b.transition
        )));
    }
    let job = crate::domain::store::jobs::get(conn, b.job_id)?
        .ok_or_else(|| ApiError::internal("job missing"))?;
    let Some(completed) = job.completed_at else {
        return Err(ApiError::conflict("Workspace is still building!"));
    };
    if b.deadline.is_none() {
        return Err(ApiError::conflict("Workspace shutdown is manual."));
    }
    if deadline < now + 29 * 60_000_000 {
        return Err(ApiError::bad_request(
            "Cannot extend workspace: new deadline must be at least 30 minutes in the future",
        ));
    }
    if deadline < completed {
        return Err(ApiError::bad_request(
            "Cannot extend workspace: new deadline must be before workspace start time",
        ));
    }
    if b.max_deadline.is_some_and(|m| deadline > m) {
        return Err(ApiError::bad_request(
            "Cannot extend workspace beyond max deadline.",
        ));
    }
    build_store::set_deadline(conn, b.id, Some(deadline), now)?;
    Ok(deadline)
}

pub fn set_automatic_updates(
    conn: &Tx,
    subject: &Subject,
    w: &WorkspaceRow,
    value: &str,
) -> ApiResult<()> {
    if !matches!(value, "always" | "never") {
        return Err(ApiError::bad_request("Invalid request")
            .validation("automatic_updates", "must be always or never"));
    }
    require_update(subject, w)?;
    Ok(store::set_automatic_updates(conn, w.id, value)?)
}

/// `PUT …/dormant`: `false` when already in the requested state (304).
/// `PUT …/dormant`: the workspace as it is now, or `None` when it already
/// was in the requested state (304).
pub fn set_dormant(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
    dormant: bool,
    ctx: &RenderCtx,
) -> ApiResult<Option<sdk::Workspace>> {
    let (w, t) = get_with_template(conn, subject, id)?;
    if !change_dormancy(conn, subject, &w, &t, dormant, ctx.now)? {
        return Ok(None);
    }
    let w = get(conn, subject, id)?;
    subject.require(Action::Read, templates::object(&t))?;
    Ok(Some(render_one(conn, subject, &w, ctx)?))
}

fn change_dormancy(
    conn: &Tx,
    subject: &Subject,
    w: &Readable<WorkspaceRow>,
    t: &TemplateRow,
    dormant: bool,
    now: Micros,
) -> ApiResult<bool> {
    if w.dormant_at.is_some() == dormant {
        return Ok(false);
    }
    require_update(subject, w)?;
    let (at, deleting) = if dormant {
        let deleting = Some(t.time_til_dormant_autodelete_ms)
            .filter(|d| *d > 0)
            .map(|d| now + d * 1000);
        (Some(now), deleting)
    } else {
        (None, None)
    };
    store::set_dormant(conn, w.id, at, deleting, now)?;
    Ok(true)
}

pub fn set_favorite(
    conn: &Tx,
    subject: &Subject,
    w: &WorkspaceRow,
    favorite: bool,
) -> ApiResult<()> {
    if !subject.can(Action::Favorite, object(w)) {
        return Err(ApiError::forbidden_msg(if favorite {
            "You can only favorite workspaces that you own."
        } else {
            "You can only un-favorite workspaces that you own."
        }));
    }
    Ok(store::set_favorite(conn, w.id, favorite)?)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct UsageRequest {
    pub agent_id: Option<Uuid>,
    pub app_name: String,
}

/// `POST …/usage`: records use; a valid body naming an app session also
/// bumps the running build's deadline by the template's activity bump.
/// Returns whether the deadline moved.
pub fn record_usage(
    conn: &Tx,
    subject: &Subject,
    w: &WorkspaceRow,
    t: &TemplateRow,
    body: Option<&UsageRequest>,
    now: Micros,
) -> ApiResult<bool> {
    if !subject.can(Action::Update, object(w)) {
        return Err(ApiError::forbidden());
    }
    store::touch_last_used(conn, w.id, now)?;
    let Some(req) = body else { return Ok(false) };
    let agent = req.agent_id.filter(|a| !a.is_nil());
    if agent.is_none() && req.app_name.is_empty() {
        return Ok(false);
    }
    if agent.is_none() {
        return Err(ApiError::bad_request("Invalid request")
            .validation("agent_id", "must be set when app_name is set"));
    }
    if req.app_name.is_empty() {
        return Err(ApiError::bad_request("Invalid request")
            .validation("app_name", "must be set when agent_id is set"));
    }
    if !matches!(
        req.app_name.as_str(),
        "vscode" | "jetbrains" | "reconnecting-pty" | "ssh"
    ) {
        return Err(ApiError::bad_request("Invalid request").validation(
            "app_name",
            "must be one of [vscode jetbrains reconnecting-pty ssh]",
        ));
    }
    let agent = agent.unwrap_or_default();
    match crate::domain::store::resources::agent_owner(conn, agent)? {
        Some((ws, _)) if ws == w.id => {}
        _ => return Err(ApiError::not_found()),
    }
    activity_bump(conn, w, t, now)
}

/// Coder's ActivityBumpWorkspace on the latest build.
pub fn activity_bump(conn: &Tx, w: &WorkspaceRow, t: &TemplateRow, now: Micros) -> ApiResult<bool> {
    let Some(b) = w
        .latest_build_id
        .map(|id| build_store::get(conn, id))
        .transpose()?
        .flatten()
    else {
        return Ok(false);
    };
    let job = crate::domain::store::jobs::get(conn, b.job_id)?
        .ok_or_else(|| ApiError::internal("job missing"))?;
    let Some(deadline) = b.deadline else {
        return Ok(false);
    };
    if b.transition != "start" || job.completed_at.is_none() || t.activity_bump_ms <= 0 {
        return Ok(false);
    }
    let mut interval = t.activity_bump_ms * 1000;
    if let Some(next) = w
        .autostart_schedule
        .as_deref()
        .and_then(|s| schedule::parse(s).ok())
        .and_then(|s| s.next_after(now, t.autostart_requirement_days))
    {
        if now + interval > next {
            let ttl = schedule::effective_ttl_ms(w.ttl_ms, t.allow_user_autostop, t.default_ttl_ms)
                .unwrap_or(0);
            interval = (next - now) + ttl * 1000;
        }
    }
    if interval <= 0 || deadline >= now + interval * 95 / 100 {
        return Ok(false);
    }
    let mut next = deadline.max(now + interval);
    if let Some(max) = b.max_deadline {
        next = next.min(max);
    }
    if next == deadline {
        return Ok(false);
    }
    build_store::set_deadline(conn, b.id, Some(next), now)?;
    Ok(true)
}

/// `GET …/resolve-autostart`: would the next autostart lack parameters?
pub fn parameter_mismatch(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<bool> {
    let (w, t) = get_with_template(conn, subject, id)?;
    subject.require_visible(Action::Read, templates::object(&t))?;
    if !(t.require_active_version || w.automatic_updates == "always") {
        return Ok(false);
    }
    let Some(b) = w
        .latest_build_id
        .map(|id| build_store::get(conn, id))
        .transpose()?
        .flatten()
    else {
        return Ok(false);
    };
    if b.template_version_id == t.active_version_id {
        return Ok(false);
    }
    let params = versions::parameters(conn, t.active_version_id)?;
    let previous = build_store::parameters(conn, b.id)?;
    Ok(crate::domain::parameters::resolve(&params, &[], Some(&previous), None).is_err())
}

/// `GET /workspaces/{workspace}/timings`: those of the latest build.
pub fn timings(conn: &Tx, w: &WorkspaceRow) -> ApiResult<WorkspaceBuildTimings> {
    match w
        .latest_build_id
        .map(|id| build_store::get(conn, id))
        .transpose()?
        .flatten()
    {
        Some(b) => builds::build_timings(conn, &b),
        None => Ok(WorkspaceBuildTimings::default()),
    }
}

/// Rendered workspaces for `GET /workspaces/{id}`, valid while the database
/// has not been written since and until the first time-driven change (an
/// agent timing out or going silent). Stored as a non-owner sees them; the
/// owner's `favorite` is patched in per request.
#[derive(Default)]
pub struct RenderCache {
    entries: std::sync::Mutex<HashMap<Uuid, std::sync::Arc<Cached>>>,
}

pub struct Cached {
    generation: u64,
    valid_until: Micros,
    row: WorkspaceRow,
    template: TemplateRow,
    /// The JSON as any viewer but the owner sees it.
    body: bytes::Bytes,
    /// The JSON as the owner sees it, when it differs (a favorite).
    owner_body: Option<bytes::Bytes>,
}

/// Why a viewer may not see a cached workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unseen {
    /// They may not read the workspace: it is not found.
    Hidden,
    /// They may read it but not its template.
    TemplateForbidden,
}

/// A workspace as one viewer sees it.
pub struct Seen {
    pub body: bytes::Bytes,
    pub deleted: bool,
}

impl Cached {
    /// The body `viewer` sees, after the same checks as an uncached read.
    pub fn view(&self, viewer: &Subject) -> Result<Seen, Unseen> {
        if !viewer.can(Action::Read, self.row.object()) {
            return Err(Unseen::Hidden);
        }
        if !viewer.can(Action::Read, templates::object(&self.template)) {
            return Err(Unseen::TemplateForbidden);
        }
        let body = match &self.owner_body {
            Some(b) if viewer.can(Action::Favorite, self.row.object()) => b.clone(),
            _ => self.body.clone(),
        };
        Ok(Seen {
            body,
            deleted: self.row.deleted,
        })
    }

    /// Whether the workspace is deleted, for viewers who may read it.
    pub fn deleted_for(&self, viewer: &Subject) -> Option<bool> {
        viewer
            .can(Action::Read, self.row.object())
            .then_some(self.row.deleted)
    }
}

/// One workspace rendered for `viewer`.
pub fn render_one(
    conn: &Tx,
    viewer: &Subject,
    w: &WorkspaceRow,
    ctx: &RenderCtx,
) -> ApiResult<sdk::Workspace> {
    render_many(
        conn,
        viewer,
        std::slice::from_ref(w),
        ctx.allow_renames,
        ctx.now,
        ctx.inactive_timeout_us,
    )?
    .pop()
    .ok_or_else(|| ApiError::internal("workspace render"))
}

/// The one way to read a rendered workspace: from the cache while nothing
/// was written since, else rendered now and cached for every viewer (the
/// `GET /workspaces/{id}` route and every watcher of the workspace share it).
/// `None` when there is no such workspace; viewers are checked by
/// [`Cached::view`].
pub async fn cached(
    db: &crate::domain::Db,
    cache: &std::sync::Arc<RenderCache>,
    viewer: &Subject,
    id: Uuid,
    ctx: RenderCtx,
) -> ApiResult<Option<std::sync::Arc<Cached>>> {
    let generation = db.generation();
    if let Some(c) = cache.get(id, generation, ctx.now) {
        return Ok(Some(c));
    }
    let fill = cache.clone();
    let viewer = viewer.clone();
    let found = db
        .read(move |conn| {
            let Some(w) = store::get(conn, id)? else {
                return Ok(false);
            };
            let t = template_store::get_any(conn, w.template_id)?
                .ok_or_else(|| ApiError::internal("workspace without template"))?;
            let body = render_one(conn, &viewer, &w, &ctx)?;
            let until = render_valid_until(conn, &w, ctx.now, ctx.inactive_timeout_us)?;
            fill.put(generation, until, w, t, body);
            Ok(true)
        })
        .await?;
    // A render that lost a race with a write is still the freshest state;
    // the write's own change note follows.
    Ok(found.then(|| cache.latest(id)).flatten())
}

const RENDER_CACHE_MAX: usize = 10_000;

impl RenderCache {
    pub fn get(&self, id: Uuid, generation: u64, now: Micros) -> Option<std::sync::Arc<Cached>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&id)
            .filter(|c| c.generation == generation && now < c.valid_until)
            .cloned()
    }

    /// Entries among `ids` whose clock-driven validity has run out since
    /// they were rendered; each is reported once (until rendered again).
    pub fn expired(&self, ids: &[Uuid], now: Micros) -> Vec<Uuid> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for id in ids {
            if entries.get(id).is_some_and(|c| c.valid_until <= now) {
                entries.remove(id);
                out.push(*id);
            }
        }
        out
    }

    /// The newest entry whatever its generation.
    pub fn latest(&self, id: Uuid) -> Option<std::sync::Arc<Cached>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&id).cloned()
    }

    pub fn put(
        &self,
        generation: u64,
        valid_until: Micros,
        row: WorkspaceRow,
        template: TemplateRow,
        mut body: sdk::Workspace,
    ) {
        // `favorite` is the only field that depends on who looks.
        body.favorite = false;
        let plain = bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let owner_body = row.favorite.then(|| {
            body.favorite = true;
            bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
        });
        let body = plain;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= RENDER_CACHE_MAX {
            entries.clear();
        }
        entries.insert(
            row.id,
            std::sync::Arc::new(Cached {
                generation,
                valid_until,
                row,
                template,
                body,
                owner_body,
            }),
        );
    }
}

/// The first moment an agent of the latest build changes status by the
/// clock alone: a never-connected agent reaching its connection timeout, or
/// an externally driven agent going silent.
pub fn render_valid_until(
    conn: &Tx,
    w: &WorkspaceRow,
    now: Micros,
    inactive_timeout_us: i64,
) -> ApiResult<Micros> {
    let far = now + 3_600_000_000;
    let Some(b) = w
        .latest_build_id
        .map(|id| build_store::get(conn, id))
        .transpose()?
        .flatten()
    else {
        return Ok(far);
    };
    Ok(
        crate::domain::store::resources::agent_facts(conn, b.job_id)?
            .iter()
            .filter_map(|f| f.changes_at(now, inactive_timeout_us))
            .filter(|at| *at > now)
            .fold(far, Micros::min),
    )
}
