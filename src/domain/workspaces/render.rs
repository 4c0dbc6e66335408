//! The `codersdk.Workspace` shape as a given viewer sees it, loaded in
//! batches.

use std::collections::HashMap;

use crate::domain::store::Tx;
use uuid::Uuid;

use crate::authz::{Action, Guarded, Subject};
use crate::domain::builds::{self};
use crate::domain::schedule;
use crate::domain::store::builds as build_store;
use crate::domain::store::templates::{self as template_store, TemplateRow};
use crate::domain::store::workspaces::WorkspaceRow;
use crate::error::{ApiError, ApiResult};
use crate::sdk::{self, Micros, Time, WorkspaceBuildTimings, WorkspaceHealth};

use crate::domain::workspace_access::RenderCtx;

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
    let templates = templates_of(conn, ws)?;
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

/// The templates of `ws`, by id, read in one query.
pub(super) fn templates_of(
    conn: &Tx,
    ws: &[WorkspaceRow],
) -> ApiResult<HashMap<Uuid, TemplateRow>> {
    let mut ids: Vec<Uuid> = ws.iter().map(|w| w.template_id).collect();
    ids.sort();
    ids.dedup();
    Ok(template_store::list_any(conn, &ids)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect())
}
