//! Template settings: creation, updates (schedules, TTLs, dormancy, ACL-free
//! metadata), deletion and the active version.

use crate::domain::store::Tx;
use serde::Deserialize;
use uuid::Uuid;

use super::access::{new_template, object};
use super::{AutostartRequirement, AutostopRequirement};
use crate::authz::{Action, Subject};
use crate::domain::names;
use crate::domain::store::jobs::{self as job_store};
use crate::domain::store::organizations::OrganizationRow;
use crate::domain::store::template_versions::{self as versions};
use crate::domain::store::templates::{self as store, TemplateRow};
use crate::error::{ApiError, ApiResult, Validation, Validator};
use crate::sdk::Micros;

pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

pub fn days_to_bits(days: &[String]) -> Result<i64, String> {
    let mut bits = 0;
    for d in days {
        let i = WEEKDAYS
            .iter()
            .position(|w| w.eq_ignore_ascii_case(d))
            .ok_or_else(|| format!("invalid day of week {d:?}"))?;
        bits |= 1 << i;
    }
    Ok(bits)
}

pub fn bits_to_days(bits: i64) -> Vec<&'static str> {
    WEEKDAYS
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, d)| *d)
        .collect()
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct CreateTemplateRequest {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub icon: String,
    pub template_version_id: Uuid,
    pub default_ttl_ms: Option<i64>,
    pub activity_bump_ms: Option<i64>,
    pub autostop_requirement: Option<AutostopRequirement>,
    pub autostart_requirement: Option<AutostartRequirement>,
    pub allow_user_cancel_workspace_jobs: Option<bool>,
    pub allow_user_autostart: Option<bool>,
    pub allow_user_autostop: Option<bool>,
    pub failure_ttl_ms: Option<i64>,
    pub dormant_ttl_ms: Option<i64>,
    pub delete_ttl_ms: Option<i64>,
    pub disable_everyone_group_access: bool,
    pub require_active_version: bool,
    pub max_port_share_level: Option<String>,
    pub use_classic_parameter_flow: Option<bool>,
    pub cors_behavior: Option<String>,
}

/// The template settings both create and PATCH validate the same way.
#[derive(Debug, Default)]
pub struct Settings {
    pub default_ttl_ms: Option<i64>,
    pub activity_bump_ms: Option<i64>,
    pub autostop_requirement: Option<AutostopRequirement>,
    pub autostart_requirement: Option<AutostartRequirement>,
    pub failure_ttl_ms: Option<i64>,
    pub time_til_dormant_ms: Option<i64>,
    pub time_til_dormant_autodelete_ms: Option<i64>,
    pub max_port_share_level: Option<String>,
    pub cors_behavior: Option<String>,
}

/// Checks settings and applies them to `t`; returns the validation failures.
fn apply_settings(t: &mut TemplateRow, s: &Settings) -> Vec<Validation> {
    let mut bad = Vec::new();
    let mut fail = |field: &str, detail: &str| {
        bad.push(Validation {
            field: field.into(),
            detail: detail.into(),
        })
    };
    if let Some(v) = s.default_ttl_ms {
        if v < 0 {
            fail("default_ttl_ms", "Must be a positive integer.");
        } else {
            t.default_ttl_ms = v;
        }
    }
    if let Some(v) = s.activity_bump_ms {
        if v < 0 {
            fail("activity_bump_ms", "Must be a positive integer.");
        } else {
            t.activity_bump_ms = v;
        }
    }
    for (field, value, slot) in [
        ("failure_ttl_ms", s.failure_ttl_ms, &mut t.failure_ttl_ms),
        (
            "time_til_dormant_ms",
            s.time_til_dormant_ms,
            &mut t.time_til_dormant_ms,
        ),
        (
            "time_til_dormant_autodelete_ms",
            s.time_til_dormant_autodelete_ms,
            &mut t.time_til_dormant_autodelete_ms,
        ),
    ] {
        if let Some(v) = value {
            if v < 0 {
                fail(field, "Must be a positive integer.");
            } else if v != 0 && v < 60_000 {
                fail(field, "Value must be at least one minute.");
            } else {
                *slot = v;
            }
        }
    }
    if let Some(r) = &s.autostop_requirement {
        match days_to_bits(&r.days_of_week) {
            Err(e) => fail("autostop_requirement.days_of_week", &e),
            Ok(bits) => {
                let weeks = if r.weeks == 0 { 1 } else { r.weeks };
                if !(1..=16).contains(&weeks) {
                    fail("autostop_requirement.weeks", "Must be between 1 and 16.");
                } else {
                    t.autostop_requirement_days = bits;
                    t.autostop_requirement_weeks = weeks;
                }
            }
        }
    }
    if let Some(r) = &s.autostart_requirement {
        match days_to_bits(&r.days_of_week) {
            Err(e) => fail("autostart_requirement.days_of_week", &e),
            Ok(bits) => t.autostart_requirement_days = bits,
        }
    }
    if let Some(l) = &s.max_port_share_level {
        if matches!(
            l.as_str(),
            "owner" | "authenticated" | "organization" | "public"
        ) {
            t.max_port_share_level = l.clone();
        } else {
            fail(
                "max_port_share_level",
                "Value must be one of owner, authenticated, organization, public.",
            );
        }
    }
    if let Some(c) = &s.cors_behavior {
        if matches!(c.as_str(), "simple" | "passthru") {
            t.cors_behavior = c.clone();
        } else {
            fail("cors_behavior", "Value must be one of simple, passthru.");
        }
    }
    bad
}

fn check_names(v: &mut Validator, name: &str, display_name: &str, required: bool) {
    if required {
        v.required("name", name);
    }
    if !name.is_empty() {
        v.check("name", "template_name", name, names::valid_name(name));
    }
    v.check(
        "display_name",
        "template_display_name",
        display_name,
        display_name.chars().count() <= 64 && display_name.trim() == display_name,
    );
}

pub fn create(
    conn: &Tx,
    subject: &Subject,
    org: &OrganizationRow,
    req: &CreateTemplateRequest,
    now: Micros,
) -> ApiResult<TemplateRow> {
    let mut v = Validator::new();
    check_names(&mut v, &req.name, &req.display_name, true);
    if req.template_version_id.is_nil() {
        v.check(
            "template_version_id",
            "required",
            &req.template_version_id.to_string(),
            false,
        );
    }
    v.finish()?;
    if !subject.can(Action::Create, new_template(org.id)) {
        return Err(ApiError::forbidden());
    }
    if store::get_by_name(conn, org.id, &req.name)?.is_some() {
        return Err(ApiError::conflict(format!(
            "Template with name {:?} already exists.",
            req.name
        ))
        .validation("name", "This value is already in use and should be unique."));
    }
    let version = versions::get(conn, req.template_version_id)?
        .filter(|v| v.organization_id == org.id)
        .ok_or_else(|| {
            ApiError::new(
                actix_web::http::StatusCode::NOT_FOUND,
                format!(
                    "Template version {:?} does not exist.",
                    req.template_version_id.to_string()
                ),
            )
            .validation("template_version_id", "Template version does not exist")
        })?;
    if version.archived {
        return Err(ApiError::bad_request(format!(
            "Template version {} is archived.",
            version.id
        )));
    }
    if version.template_id.is_some() {
        return Err(ApiError::bad_request(format!(
            "Template version {} is already part of a template",
            version.id
        )));
    }
    let job =
        job_store::get(conn, version.job_id)?.ok_or_else(|| ApiError::internal("job missing"))?;
    let mut t = TemplateRow {
        id: crate::domain::new_id(),
        organization_id: org.id,
        name: req.name.clone(),
        display_name: req.display_name.clone(),
        description: req.description.clone(),
        icon: req.icon.clone(),
        provisioner: job.provisioner.clone(),
        active_version_id: version.id,
        created_by: subject.user_id,
        activity_bump_ms: 3_600_000,
        autostop_requirement_weeks: 1,
        autostart_requirement_days: 127,
        allow_user_autostart: req.allow_user_autostart.unwrap_or(true),
        allow_user_autostop: req.allow_user_autostop.unwrap_or(true),
        allow_user_cancel_workspace_jobs: req.allow_user_cancel_workspace_jobs.unwrap_or(false),
        require_active_version: req.require_active_version,
        max_port_share_level: "owner".into(),
        use_classic_parameter_flow: req.use_classic_parameter_flow.unwrap_or(false),
        cors_behavior: "simple".into(),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    let bad = apply_settings(
        &mut t,
        &Settings {
            default_ttl_ms: req.default_ttl_ms,
            activity_bump_ms: req.activity_bump_ms,
            autostop_requirement: req.autostop_requirement.clone(),
            autostart_requirement: req.autostart_requirement.clone(),
            failure_ttl_ms: req.failure_ttl_ms,
            time_til_dormant_ms: req.dormant_ttl_ms,
            time_til_dormant_autodelete_ms: req.delete_ttl_ms,
            max_port_share_level: req.max_port_share_level.clone(),
            cors_behavior: req.cors_behavior.clone(),
        },
    );
    if !bad.is_empty() {
        return Err(ApiError::bad_request("Invalid create template request.").with_validations(bad));
    }
    store::insert(conn, &t)?;
    versions::attach(conn, version.id, t.id, now)?;
    if !req.disable_everyone_group_access {
        store::set_group_acl(conn, t.id, org.id, Some("use"))?;
    }
    store::get(conn, t.id)?.ok_or_else(|| ApiError::internal("template vanished"))
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct UpdateTemplateMeta {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub default_ttl_ms: Option<i64>,
    pub activity_bump_ms: Option<i64>,
    pub autostop_requirement: Option<AutostopRequirement>,
    pub autostart_requirement: Option<AutostartRequirement>,
    pub allow_user_autostart: Option<bool>,
    pub allow_user_autostop: Option<bool>,
    pub allow_user_cancel_workspace_jobs: Option<bool>,
    pub failure_ttl_ms: Option<i64>,
    pub time_til_dormant_ms: Option<i64>,
    pub time_til_dormant_autodelete_ms: Option<i64>,
    pub update_workspace_last_used_at: bool,
    pub update_workspace_dormant_at: bool,
    pub require_active_version: Option<bool>,
    pub deprecation_message: Option<String>,
    pub disable_everyone_group_access: Option<bool>,
    pub max_port_share_level: Option<String>,
    pub use_classic_parameter_flow: Option<bool>,
    pub cors_behavior: Option<String>,
    pub use_terraform_workspace_cache: Option<bool>,
}

/// Applies a PATCH; absent fields are unchanged. Returns `None` when
/// nothing changed (Coder's 304).
pub fn update(
    conn: &Tx,
    subject: &Subject,
    t: &TemplateRow,
    req: &UpdateTemplateMeta,
    now: Micros,
) -> ApiResult<Option<TemplateRow>> {
    subject.require(Action::Update, object(t))?;
    let mut v = Validator::new();
    check_names(
        &mut v,
        req.name.as_deref().unwrap_or(""),
        req.display_name.as_deref().unwrap_or(""),
        false,
    );
    v.finish()?;
    let mut next = t.clone();
    if let Some(n) = req.name.as_ref().filter(|n| !n.is_empty()) {
        next.name = n.clone();
    }
    for (src, dst) in [
        (&req.display_name, &mut next.display_name),
        (&req.description, &mut next.description),
        (&req.icon, &mut next.icon),
        (&req.deprecation_message, &mut next.deprecation_message),
    ] {
        if let Some(s) = src {
            *dst = s.clone();
        }
    }
    for (src, dst) in [
        (req.allow_user_autostart, &mut next.allow_user_autostart),
        (req.allow_user_autostop, &mut next.allow_user_autostop),
        (
            req.allow_user_cancel_workspace_jobs,
            &mut next.allow_user_cancel_workspace_jobs,
        ),
        (req.require_active_version, &mut next.require_active_version),
        (
            req.use_classic_parameter_flow,
            &mut next.use_classic_parameter_flow,
        ),
        (
            req.use_terraform_workspace_cache,
            &mut next.use_terraform_workspace_cache,
        ),
    ] {
        if let Some(b) = src {
            *dst = b;
        }
    }
    let bad = apply_settings(
        &mut next,
        &Settings {
            default_ttl_ms: req.default_ttl_ms,
            activity_bump_ms: req.activity_bump_ms,
            autostop_requirement: req.autostop_requirement.clone(),
            autostart_requirement: req.autostart_requirement.clone(),
            failure_ttl_ms: req.failure_ttl_ms,
            time_til_dormant_ms: req.time_til_dormant_ms,
            time_til_dormant_autodelete_ms: req.time_til_dormant_autodelete_ms,
            max_port_share_level: req.max_port_share_level.clone(),
            cors_behavior: req.cors_behavior.clone(),
        },
    );
    if !bad.is_empty() {
        return Err(
            ApiError::bad_request("Invalid request to update template metadata!")
                .with_validations(bad),
        );
    }
    if next.name != t.name {
        if let Some(other) = store::get_by_name(conn, t.organization_id, &next.name)? {
            if other.id != t.id {
                return Err(ApiError::conflict(format!(
                    "Template with name {:?} already exists.",
                    next.name
                ))
                .validation("name", "This value is already in use and should be unique."));
            }
        }
    }
    let everyone_has = t.group_acl.iter().any(|(g, _)| *g == t.organization_id);
    let acl_change = match req.disable_everyone_group_access {
        Some(true) if everyone_has => Some(None),
        Some(false) if !everyone_has => Some(Some("use")),
        _ => None,
    };
    let changed = settings_differ(t, &next)
        || acl_change.is_some()
        || req.update_workspace_last_used_at
        || req.update_workspace_dormant_at;
    if !changed {
        return Ok(None);
    }
    next.updated_at = now;
    store::update(conn, &next)?;
    if next.max_port_share_level != t.max_port_share_level {
        crate::domain::share_levels::lower_shares(conn, t.id, &next.max_port_share_level)?;
    }
    if let Some(role) = acl_change {
        store::set_group_acl(conn, t.id, t.organization_id, role)?;
    }
    if next.autostart_requirement_days != t.autostart_requirement_days {
        recompute_next_starts(conn, &next, now)?;
    }
    if req.update_workspace_last_used_at {
        crate::domain::store::workspaces::touch_last_used_of_template(conn, t.id, now)?;
    }
    if req.update_workspace_dormant_at {
        crate::domain::store::workspaces::restart_dormancy_of_template(conn, t.id, now)?;
    }
    Ok(Some(
        store::get(conn, t.id)?.ok_or_else(|| ApiError::internal("template vanished"))?,
    ))
}

/// The days autostart may fire changed: every scheduled workspace of the
/// template gets its `next_start_at` again.
fn recompute_next_starts(conn: &Tx, t: &TemplateRow, now: Micros) -> ApiResult<()> {
    for (id, spec) in crate::domain::store::workspaces::autostart_schedules_of_template(conn, t.id)?
    {
        let next = crate::domain::schedule::parse(&spec)
            .ok()
            .and_then(|s| s.next_after(now, t.autostart_requirement_days));
        crate::domain::store::workspaces::set_next_start(conn, id, next)?;
    }
    Ok(())
}

fn settings_differ(a: &TemplateRow, b: &TemplateRow) -> bool {
    (
        &a.name,
        &a.display_name,
        &a.description,
        &a.icon,
        &a.deprecation_message,
        &a.max_port_share_level,
        &a.cors_behavior,
    ) != (
        &b.name,
        &b.display_name,
        &b.description,
        &b.icon,
        &b.deprecation_message,
        &b.max_port_share_level,
        &b.cors_behavior,
    ) || [
        a.default_ttl_ms,
        a.activity_bump_ms,
        a.autostop_requirement_days,
        a.autostop_requirement_weeks,
        a.autostart_requirement_days,
        a.failure_ttl_ms,
        a.time_til_dormant_ms,
        a.time_til_dormant_autodelete_ms,
    ] != [
        b.default_ttl_ms,
        b.activity_bump_ms,
        b.autostop_requirement_days,
        b.autostop_requirement_weeks,
        b.autostart_requirement_days,
        b.failure_ttl_ms,
        b.time_til_dormant_ms,
        b.time_til_dormant_autodelete_ms,
    ] || [
        a.allow_user_autostart,
        a.allow_user_autostop,
        a.allow_user_cancel_workspace_jobs,
        a.require_active_version,
        a.use_classic_parameter_flow,
        a.use_terraform_workspace_cache,
    ] != [
        b.allow_user_autostart,
        b.allow_user_autostop,
        b.allow_user_cancel_workspace_jobs,
        b.require_active_version,
        b.use_classic_parameter_flow,
        b.use_terraform_workspace_cache,
    ]
}

pub fn delete(conn: &Tx, subject: &Subject, t: &TemplateRow, now: Micros) -> ApiResult<()> {
    subject.require(Action::Delete, object(t))?;
    if store::count_live_workspaces(conn, t.id)? > 0 {
        return Err(ApiError::bad_request(
            "All workspaces must be deleted before a template can be removed.",
        ));
    }
    Ok(store::soft_delete(conn, t.id, now)?)
}

/// `PATCH /templates/{template}/versions`: promote a version.
pub fn set_active_version(
    conn: &Tx,
    subject: &Subject,
    t: &TemplateRow,
    version: Uuid,
    now: Micros,
) -> ApiResult<()> {
    subject.require(Action::Update, object(t))?;
    let v = versions::get(conn, version)?.ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "Template version not found.",
        )
    })?;
    if v.template_id != Some(t.id) {
        return Err(ApiError::bad_request(
            "The provided template version doesn't belong to the specified template.",
        ));
    }
    if v.archived {
        return Err(ApiError::bad_request(
            "The provided template version is archived.",
        ));
    }
    let job = job_store::get(conn, v.job_id)?.ok_or_else(|| ApiError::internal("job missing"))?;
    if job.status() != "succeeded" {
        return Err(ApiError::bad_request(
            "Only versions that have been built successfully can be promoted.",
        ));
    }
    let mut next = t.clone();
    next.active_version_id = v.id;
    next.updated_at = now;
    Ok(store::update(conn, &next)?)
}
