//! A workspace's settings: name, schedule, TTL, deadline, updates, dormancy,
//! favorite, usage and activity bumps.

use crate::domain::store::{StoreError, Tx};
use serde::Deserialize;
use uuid::Uuid;

use crate::authz::{Action, Readable, Subject};
use crate::domain::names;
use crate::domain::schedule;
use crate::domain::store::builds as build_store;
use crate::domain::store::template_versions as versions;
use crate::domain::store::templates::TemplateRow;
use crate::domain::store::workspaces::{self as store, WorkspaceRow};
use crate::domain::templates;
use crate::error::{ApiError, ApiResult, Validator};
use crate::sdk::{self, Micros};

use super::create::check_ttl;
use super::render::render_one;
use crate::domain::workspace_access::{get, get_with_template, object, RenderCtx};

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
                build_store::set_deadline_reason(
                    conn,
                    b.id,
                    "ttl_disabled",
                    &subject.username,
                    now,
                )?;
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
    build_store::set_deadline_reason(conn, b.id, "extended", &subject.username, now)?;
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
            .map(|d| schedule::plus_ms(now, d));
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

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
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
    activity_bump_by(conn, w, t, now, &req.app_name)
}

/// Coder's ActivityBumpWorkspace on the latest build.
pub fn activity_bump(conn: &Tx, w: &WorkspaceRow, t: &TemplateRow, now: Micros) -> ApiResult<bool> {
    activity_bump_by(conn, w, t, now, "")
}

/// [`activity_bump`], recording `by` (the app whose use it was) as what
/// moved the deadline.
pub fn activity_bump_by(
    conn: &Tx,
    w: &WorkspaceRow,
    t: &TemplateRow,
    now: Micros,
    by: &str,
) -> ApiResult<bool> {
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
    let mut interval = t.activity_bump_ms.saturating_mul(1000);
    if let Some(next) = w
        .autostart_schedule
        .as_deref()
        .and_then(|s| schedule::parse(s).ok())
        .and_then(|s| s.next_after(now, t.autostart_requirement_days))
    {
        if now.saturating_add(interval) > next {
            let ttl = schedule::effective_ttl_ms(w.ttl_ms, t.allow_user_autostop, t.default_ttl_ms)
                .unwrap_or(0);
            interval = schedule::plus_ms(next - now, ttl);
        }
    }
    if interval <= 0 || deadline >= now.saturating_add(interval / 100 * 95) {
        return Ok(false);
    }
    let mut next = deadline.max(now.saturating_add(interval));
    if let Some(max) = b.max_deadline {
        next = next.min(max);
    }
    if next == deadline {
        return Ok(false);
    }
    build_store::set_deadline(conn, b.id, Some(next), now)?;
    let rule = if Some(next) == b.max_deadline {
        "max_deadline"
    } else {
        "activity_bump"
    };
    build_store::set_deadline_reason(conn, b.id, rule, by, now)?;
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
