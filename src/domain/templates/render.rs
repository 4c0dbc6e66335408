//! The `codersdk.Template` shape, with build time statistics, rendered in
//! batches.

use std::collections::BTreeMap;

use crate::domain::store::Tx;
use uuid::Uuid;

use super::settings::bits_to_days;
use crate::domain::store::templates::{self as store, TemplateRow};
use crate::error::ApiResult;
use crate::sdk::{
    Micros, Template, TemplateAutostartRequirement, TemplateAutostopRequirement, Time,
    TransitionStats,
};

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).copied()
}

/// Renders templates with their build-time statistics.
pub fn render(conn: &Tx, t: &TemplateRow, now: Micros) -> ApiResult<Template> {
    Ok(render_many(conn, std::slice::from_ref(t), now)?.remove(0))
}

/// Renders templates with their build-time statistics and active users,
/// two queries for any number of templates.
pub fn render_many(conn: &Tx, ts: &[TemplateRow], now: Micros) -> ApiResult<Vec<Template>> {
    let ids: Vec<Uuid> = ts.iter().map(|t| t.id).collect();
    let mut durations = store::build_durations(conn, &ids)?;
    let mut active = store::active_users(conn, &ids, now - 7 * 24 * 3_600_000_000)?;
    ts.iter()
        .map(|t| {
            render_with(
                t,
                durations.remove(&t.id).unwrap_or_default(),
                active.remove(&t.id).unwrap_or(0),
            )
        })
        .collect()
}

fn days_of_week(bits: i64) -> Vec<String> {
    bits_to_days(bits).into_iter().map(String::from).collect()
}

fn render_with(
    t: &TemplateRow,
    durations: Vec<(String, i64)>,
    active_users: i64,
) -> ApiResult<Template> {
    let mut by: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (transition, ms) in &durations {
        by.entry(transition.as_str()).or_default().push(*ms);
    }
    let mut stats = BTreeMap::new();
    for tr in ["start", "stop", "delete"] {
        let mut v = by.remove(tr).unwrap_or_default();
        v.sort_unstable();
        stats.insert(
            tr,
            TransitionStats {
                p50: percentile(&v, 0.5),
                p95: percentile(&v, 0.95),
            },
        );
    }
    Ok(Template {
        id: t.id,
        created_at: Time(t.created_at),
        updated_at: Time(t.updated_at),
        organization_id: t.organization_id,
        organization_name: t.organization_name.clone(),
        organization_display_name: t.organization_display_name.clone(),
        organization_icon: t.organization_icon.clone(),
        name: t.name.clone(),
        display_name: t.display_name.clone(),
        provisioner: t.provisioner.clone(),
        active_version_id: t.active_version_id,
        active_user_count: active_users,
        build_time_stats: stats,
        description: t.description.clone(),
        deprecated: !t.deprecation_message.is_empty(),
        deprecation_message: t.deprecation_message.clone(),
        icon: t.icon.clone(),
        default_ttl_ms: t.default_ttl_ms,
        activity_bump_ms: t.activity_bump_ms,
        autostop_requirement: TemplateAutostopRequirement {
            days_of_week: days_of_week(t.autostop_requirement_days),
            weeks: t.autostop_requirement_weeks,
        },
        autostart_requirement: TemplateAutostartRequirement {
            days_of_week: days_of_week(t.autostart_requirement_days),
        },
        created_by_id: t.created_by,
        created_by_name: t.created_by_name.clone(),
        allow_user_autostart: t.allow_user_autostart,
        allow_user_autostop: t.allow_user_autostop,
        allow_user_cancel_workspace_jobs: t.allow_user_cancel_workspace_jobs,
        failure_ttl_ms: t.failure_ttl_ms,
        time_til_dormant_ms: t.time_til_dormant_ms,
        time_til_dormant_autodelete_ms: t.time_til_dormant_autodelete_ms,
        require_active_version: t.require_active_version,
        max_port_share_level: t.max_port_share_level.clone(),
        use_classic_parameter_flow: t.use_classic_parameter_flow,
        cors_behavior: t.cors_behavior.clone(),
        use_terraform_workspace_cache: t.use_terraform_workspace_cache,
        deleted: t.deleted,
        disable_module_cache: false,
    })
}
