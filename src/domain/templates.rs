//! Templates and template versions: creation, import jobs, settings, the
//! active version, and their wire shapes.

use std::collections::BTreeMap;

use crate::domain::store::Tx;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::authz::{Action, Guarded, Object, Subject};
use crate::domain::jobs;
use crate::domain::names;
use crate::domain::store::jobs::{self as job_store, JobRow, NewJob};
use crate::domain::store::organizations::OrganizationRow;
use crate::domain::store::template_versions::{self as versions, VersionRow};
use crate::domain::store::templates::{self as store, TemplateRow};
use crate::domain::template_model::{Parameter, Preset};
use crate::error::{ApiError, ApiResult, Validation, Validator};
use crate::query::go::parse_go_uuid;
use crate::query::templates::TemplateQuery;
use crate::query::{organization_not_found, QueryError, TEMPLATE_QUERY_MESSAGE};
use crate::sdk::{
    Micros, MinimalUser, PresetParameter, Template, TemplateAutostartRequirement,
    TemplateAutostopRequirement, TemplateVersion, TemplateVersionParameter,
    TemplateVersionParameterOption, Time, TransitionStats,
};

pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl Guarded for TemplateRow {
    fn object(&self) -> Object<'_> {
        Object::Template {
            org: self.organization_id,
            users: &self.user_acl,
            groups: &self.group_acl,
        }
    }
}

pub fn object(t: &TemplateRow) -> Object<'_> {
    t.object()
}

/// A template not yet created in `org` (and an unattached version's):
/// whoever may create one there may handle it.
fn new_template(org: Uuid) -> Object<'static> {
    Object::Template {
        org,
        users: &[],
        groups: &[],
    }
}

/// A live template the subject may read, else 404.
pub fn get(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<TemplateRow> {
    let t = store::get(conn, id)?.ok_or_else(ApiError::not_found)?;
    subject.require_visible(Action::Read, object(&t))?;
    Ok(t)
}

/// `GET /templates` and `GET /organizations/{organization}/templates`: the
/// templates matching `q` that the subject may read (at most `max`).
pub fn list(
    conn: &Tx,
    subject: &Subject,
    q: TemplateQuery,
    org: Option<&str>,
    max: usize,
    now: Micros,
) -> ApiResult<Vec<crate::sdk::Template>> {
    let mut f = filter(conn, subject, q)?;
    if let Some(org) = org {
        f.organization = Some(crate::domain::organizations::resolve(conn, subject, org)?.id);
    }
    let visible: Vec<_> = store::list(conn, &f)?
        .into_iter()
        .filter(|t| subject.can(Action::Read, object(t)))
        .take(max)
        .collect();
    render_many(conn, &visible, now)
}

/// A template of an organization by name that the subject may read.
pub fn get_by_name(conn: &Tx, subject: &Subject, org: &str, name: &str) -> ApiResult<TemplateRow> {
    let org = crate::domain::organizations::resolve(conn, subject, org)?;
    let t = store::get_by_name(conn, org.id, name)?.ok_or_else(ApiError::not_found)?;
    subject.require_visible(Action::Read, object(&t))?;
    Ok(t)
}

/// Which of the given templates (deleted ones included) `viewer` may read;
/// one query.
pub fn readable_among(
    conn: &Tx,
    viewer: &Subject,
    ids: &[Uuid],
) -> ApiResult<std::collections::HashSet<Uuid>> {
    Ok(store::list_any(conn, ids)?
        .iter()
        .filter(|t| viewer.can(Action::Read, object(t)))
        .map(|t| t.id)
        .collect())
}

// ---------------------------------------------------------------- versions

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CreateVersionRequest {
    pub name: String,
    pub message: String,
    pub template_id: Option<Uuid>,
    pub storage_method: String,
    pub file_id: Option<Uuid>,
    pub example_id: String,
    pub provisioner: String,
    pub tags: BTreeMap<String, String>,
    pub user_variable_values: Vec<VariableValue>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct VariableValue {
    pub name: String,
    pub value: String,
}

pub fn create_version(
    conn: &Tx,
    subject: &Subject,
    org: &OrganizationRow,
    req: &CreateVersionRequest,
    now: Micros,
) -> ApiResult<VersionRow> {
    let file = req.file_id.filter(|f| !f.is_nil());
    let mut v = Validator::new();
    v.required("storage_method", &req.storage_method)
        .check(
            "storage_method",
            "oneof",
            &req.storage_method,
            req.storage_method == "file",
        )
        .required("provisioner", &req.provisioner)
        .check(
            "provisioner",
            "oneof",
            &req.provisioner,
            matches!(req.provisioner.as_str(), "terraform" | "echo"),
        );
    if file.is_none() && req.example_id.is_empty() {
        v.check(
            "file_id",
            "required_without",
            "00000000-0000-0000-0000-000000000000",
            false,
        );
    }
    if !req.name.is_empty() {
        v.check(
            "name",
            "template_version_name",
            &req.name,
            names::valid_version_name(&req.name),
        );
    }
    v.check("message", "lt", "", req.message.len() <= 1_048_576);
    v.finish()?;
    let template = match req.template_id.filter(|t| !t.is_nil()) {
        Some(id) => {
            let t = store::get(conn, id)?
                .filter(|t| t.organization_id == org.id && subject.can(Action::Read, object(t)))
                .ok_or_else(|| {
                    ApiError::new(
                        actix_web::http::StatusCode::NOT_FOUND,
                        "Template does not exist.",
                    )
                })?;
            subject.require(Action::Update, object(&t))?;
            Some(t)
        }
        None => {
            if !subject.can(Action::Create, new_template(org.id)) {
                return Err(ApiError::forbidden());
            }
            None
        }
    };
    if file.is_some() && !req.example_id.is_empty() {
        return Err(ApiError::bad_request(
            "You cannot specify both an example_id and a file_id.",
        ));
    }
    let Some(file_id) = file else {
        return Err(ApiError::bad_request("Example not found."));
    };
    let f = crate::domain::files::get(conn, subject, file_id).map_err(|e| {
        if e.status == actix_web::http::StatusCode::NOT_FOUND {
            ApiError::new(e.status, "File not found.")
        } else {
            e
        }
    })?;
    let name = if req.name.is_empty() {
        names::random_docker_name()
    } else {
        req.name.clone()
    };
    if let Some(t) = &template {
        if versions::name_taken(conn, t.id, &name, Uuid::nil())? {
            return Err(ApiError::conflict(format!(
                "A template version with name {name:?} already exists for this template."
            ))
            .validation("name", "This value is already in use and should be unique."));
        }
    }
    let id = Uuid::new_v4();
    let job_id = Uuid::new_v4();
    let mut tags: BTreeMap<String, String> = req.tags.clone();
    tags.entry("scope".into())
        .or_insert_with(|| "organization".into());
    tags.entry("owner".into()).or_default();
    if tags.get("scope").map(String::as_str) == Some("user") {
        tags.insert("owner".into(), subject.user_id.to_string());
    }
    job_store::insert(
        conn,
        &NewJob {
            id: job_id,
            job_type: "template_version_import",
            provisioner: req.provisioner.clone(),
            organization_id: org.id,
            initiator_id: subject.user_id,
            file_id: f.id,
            input: json!({ "template_version_id": id }),
            tags: json!(tags),
            now,
        },
    )?;
    versions::insert(
        conn,
        &VersionRow {
            id,
            template_id: template.as_ref().map(|t| t.id),
            organization_id: org.id,
            name,
            message: req.message.clone(),
            readme: String::new(),
            job_id,
            created_by: subject.user_id,
            archived: false,
            has_ai_task: false,
            has_external_agent: false,
            user_variable_values: req
                .user_variable_values
                .iter()
                .map(|v| (v.name.clone(), v.value.clone()))
                .collect(),
            created_at: now,
            updated_at: now,
            created_by_username: String::new(),
            created_by_avatar_url: String::new(),
            created_by_name: String::new(),
        },
    )?;
    versions::get(conn, id)?.ok_or_else(|| ApiError::internal("version vanished"))
}

/// A version the subject may read: through its template, or (unattached)
/// as a template administrator of its organization.
pub fn get_version(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<VersionRow> {
    let v = versions::get(conn, id)?.ok_or_else(ApiError::not_found)?;
    match v.template_id {
        Some(t) => {
            let t = store::get_any(conn, t)?.ok_or_else(ApiError::not_found)?;
            subject.require_visible(Action::Read, object(&t))?;
        }
        None => subject.require_visible(
            Action::Read,
            Object::UnattachedVersion {
                org: v.organization_id,
                created_by: v.created_by,
            },
        )?,
    }
    Ok(v)
}

/// May the subject change this version (rename, cancel its import)?
/// `GET /organizations/{organization}/templates/{templatename}/versions/{templateversionname}`:
/// a template the subject cannot read is not found, as in Coder.
pub fn version_by_names(
    conn: &Tx,
    subject: &Subject,
    org: &str,
    template: &str,
    version: &str,
) -> ApiResult<VersionRow> {
    let org = crate::domain::organizations::resolve(conn, subject, org)?;
    let t = store::get_by_name(conn, org.id, template)?.ok_or_else(ApiError::not_found)?;
    subject.require_visible(Action::Read, object(&t))?;
    versions::get_by_name(conn, t.id, version)?.ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("No template version found by name {version:?}."),
        )
    })
}

/// `…/versions/{templateversionname}/previous`: the version of the same
/// template created just before it.
pub fn previous_version(conn: &Tx, v: &VersionRow) -> ApiResult<VersionRow> {
    v.template_id
        .map(|t| versions::previous(conn, t, v.created_at))
        .transpose()?
        .flatten()
        .ok_or_else(|| {
            ApiError::new(
                actix_web::http::StatusCode::NOT_FOUND,
                format!("No previous template version found for {:?}.", v.name),
            )
        })
}

pub fn require_version_update(conn: &Tx, subject: &Subject, v: &VersionRow) -> ApiResult<()> {
    match v.template_id {
        Some(t) => {
            let t = store::get_any(conn, t)?.ok_or_else(ApiError::not_found)?;
            subject.require(Action::Update, object(&t))
        }
        None => subject.require(
            Action::Update,
            Object::UnattachedVersion {
                org: v.organization_id,
                created_by: v.created_by,
            },
        ),
    }
}

pub fn render_version(v: &VersionRow, job: &JobRow, now: Micros) -> TemplateVersion {
    TemplateVersion {
        id: v.id,
        template_id: v.template_id.unwrap_or_default(),
        organization_id: v.organization_id,
        created_at: Time(v.created_at),
        updated_at: Time(v.updated_at),
        name: v.name.clone(),
        message: v.message.clone(),
        job: jobs::render(job),
        readme: v.readme.clone(),
        created_by: MinimalUser {
            id: v.created_by,
            username: v.created_by_username.clone(),
            name: v.created_by_name.clone(),
            avatar_url: v.created_by_avatar_url.clone(),
        },
        archived: v.archived,
        warnings: Vec::new(),
        matched_provisioners: jobs::matched_provisioners(now),
        has_external_agent: v.has_external_agent,
    }
}

/// Renders versions with their jobs loaded in one query.
pub fn render_versions(
    conn: &Tx,
    vs: &[VersionRow],
    now: Micros,
) -> ApiResult<Vec<TemplateVersion>> {
    let ids: Vec<Uuid> = vs.iter().map(|v| v.job_id).collect();
    let jobs: std::collections::HashMap<Uuid, JobRow> = job_store::get_many(conn, &ids)?
        .into_iter()
        .map(|j| (j.id, j))
        .collect();
    vs.iter()
        .map(|v| {
            let j = jobs
                .get(&v.job_id)
                .ok_or_else(|| ApiError::internal("job missing"))?;
            Ok(render_version(v, j, now))
        })
        .collect()
}

pub fn render_one_version(conn: &Tx, v: &VersionRow, now: Micros) -> ApiResult<TemplateVersion> {
    Ok(render_versions(conn, std::slice::from_ref(v), now)?.remove(0))
}

/// The version's import job, required to have succeeded.
pub fn require_imported(conn: &Tx, v: &VersionRow) -> ApiResult<JobRow> {
    let job = job_store::get(conn, v.job_id)?.ok_or_else(|| ApiError::internal("job missing"))?;
    if job.completed_at.is_none() {
        return Err(ApiError::bad_request("Job hasn't completed!"));
    }
    Ok(job)
}

pub fn render_parameter(p: &Parameter) -> TemplateVersionParameter {
    let v = p.validation.clone().unwrap_or_default();
    TemplateVersionParameter {
        name: p.name.clone(),
        display_name: p.display_name.clone(),
        description: p.description.clone(),
        description_plaintext: plaintext(&p.description),
        kind: p.kind.clone(),
        form_type: p.form_type.clone(),
        mutable: p.mutable,
        default_value: p.default_value.clone().unwrap_or_default(),
        icon: p.icon.clone(),
        options: p
            .options
            .iter()
            .map(|o| TemplateVersionParameterOption {
                name: o.name.clone(),
                description: o.description.clone(),
                value: o.value.clone(),
                icon: o.icon.clone(),
            })
            .collect(),
        validation_error: v.error,
        validation_regex: v.regex,
        validation_min: v.min,
        validation_max: v.max,
        validation_monotonic: v.monotonic,
        required: p.default_value.is_none(),
        ephemeral: p.ephemeral,
    }
}

/// Markdown reduced to its text, as Coder's `description_plaintext`.
fn plaintext(md: &str) -> String {
    let mut out = String::new();
    for line in md.lines() {
        let line = line.trim_start_matches('#').trim();
        let cleaned: String = line
            .chars()
            .filter(|c| !matches!(c, '*' | '_' | '`'))
            .collect();
        if !out.is_empty() && !cleaned.is_empty() {
            out.push('\n');
        }
        out.push_str(&cleaned);
    }
    out
}

pub fn render_preset(id: Uuid, p: &Preset) -> crate::sdk::Preset {
    crate::sdk::Preset {
        id,
        name: p.name.clone(),
        parameters: p
            .parameters
            .iter()
            .map(|(k, v)| PresetParameter {
                name: k.clone(),
                value: v.clone(),
            })
            .collect(),
        default: p.default,
        desired_prebuild_instances: p.prebuild_instances,
        description: p.description.clone(),
        icon: p.icon.clone(),
    }
}

// ---------------------------------------------------------------- templates

pub use crate::sdk::{
    TemplateAutostartRequirement as AutostartRequirement,
    TemplateAutostopRequirement as AutostopRequirement,
};

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

#[derive(Debug, Deserialize, Default)]
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
        id: Uuid::new_v4(),
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

#[derive(Debug, Deserialize, Default)]
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

/// The store filter of a parsed template query: Coder takes an
/// organization UUID as given and looks a name up (an unknown or hidden one
/// is a 400 naming `organization`).
fn filter(conn: &Tx, subject: &Subject, q: TemplateQuery) -> ApiResult<store::TemplateFilter> {
    let organization = match q.organization {
        None => None,
        Some(v) => Some(match parse_go_uuid(&v) {
            Ok(id) => id,
            Err(_) => {
                crate::domain::organizations::resolve(conn, subject, &v)
                    .map_err(|_| {
                        QueryError::new(TEMPLATE_QUERY_MESSAGE, vec![organization_not_found(&v)])
                    })?
                    .id
            }
        }),
    };
    Ok(store::TemplateFilter {
        deleted: q.deleted,
        organization,
        exact_name: q.exact_name,
        exact_display_name: q.exact_display_name,
        fuzzy_name: q.fuzzy_name,
        fuzzy_display_name: q.fuzzy_display_name,
        ids: q.ids,
        deprecated: q.deprecated,
        has_ai_task: q.has_ai_task,
        has_external_agent: q.has_external_agent,
        author_id: q.author_id,
        author_username: q.author_username,
    })
}
