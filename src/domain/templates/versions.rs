//! Template versions: creating one with its import job, reading one the
//! subject may see, and the version, parameter and preset shapes.

use std::collections::BTreeMap;

use crate::domain::store::Tx;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::access::{new_template, object};
use crate::authz::{Action, Object, Subject};
use crate::domain::jobs;
use crate::domain::names;
use crate::domain::store::jobs::{self as job_store, JobRow, NewJob};
use crate::domain::store::organizations::OrganizationRow;
use crate::domain::store::template_versions::{self as versions, VersionRow};
use crate::domain::store::templates::{self as store};
use crate::domain::template_model::{Parameter, Preset};
use crate::error::{ApiError, ApiResult, Validator};
use crate::sdk::{
    Micros, MinimalUser, PresetParameter, TemplateVersion, TemplateVersionParameter,
    TemplateVersionParameterOption, Time,
};

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
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

#[derive(Debug, Clone, Deserialize, Serialize, Default, schemars::JsonSchema)]
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
        free_random_name(conn, template.as_ref().map(|t| t.id))?
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
    let id = crate::domain::new_id();
    let job_id = crate::domain::new_id();
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

/// A generated version name no other version of the template has: a
/// Docker-style name, with a number once the plain ones run short (there
/// are a few hundred), as Coder's generator adds one.
fn free_random_name(conn: &Tx, template: Option<Uuid>) -> ApiResult<String> {
    let Some(t) = template else {
        return Ok(names::random_docker_name());
    };
    for attempt in 0..1000u32 {
        let mut name = names::random_docker_name();
        if attempt >= 10 {
            name.push_str(&(attempt / 10).to_string());
        }
        if !versions::name_taken(conn, t, &name, Uuid::nil())? {
            return Ok(name);
        }
    }
    Err(ApiError::conflict(
        "No free name is left for a new version: name it.",
    ))
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
