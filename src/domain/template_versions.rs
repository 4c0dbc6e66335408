//! Template version operations behind the version routes: renaming,
//! parameters, presets, variables, the import's logs and cancellation, the
//! planned resources, and reading versions by template and name.

use uuid::Uuid;

use crate::authz::Subject;
use crate::domain::jobs::JobLogs;
use crate::domain::store::jobs as job_store;
use crate::domain::store::template_versions as versions;
use crate::domain::store::Tx;
use crate::domain::templates;
use crate::error::{ApiError, ApiResult, Validator};
use crate::query::paging::{self, Page, UnknownAfterId};
use crate::sdk::{self, Micros};

/// `PATCH /templateversions/{templateversion}`: a new name and message.
pub fn rename(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
    name: &str,
    message: Option<&str>,
    now: Micros,
) -> ApiResult<sdk::TemplateVersion> {
    let v = templates::get_version(conn, subject, id)?;
    templates::require_version_update(conn, subject, &v)?;
    let name = if name.is_empty() {
        v.name.clone()
    } else {
        name.to_string()
    };
    let mut check = Validator::new();
    check.check(
        "name",
        "template_version_name",
        &name,
        crate::domain::names::valid_version_name(&name),
    );
    check.finish()?;
    if let Some(t) = v.template_id {
        if versions::name_taken(conn, t, &name, v.id)? {
            return Err(ApiError::conflict(format!(
                "A template version with name {name:?} already exists for this template."
            ))
            .validation("name", "This value is already in use and should be unique."));
        }
    }
    let message = message
        .map(str::to_string)
        .unwrap_or_else(|| v.message.clone());
    versions::set_name_message(conn, v.id, &name, &message, now)?;
    let v = versions::get(conn, v.id)?.ok_or_else(ApiError::not_found)?;
    templates::render_one_version(conn, &v, now)
}

/// `GET /templateversions/{templateversion}/rich-parameters`.
pub fn rich_parameters(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
) -> ApiResult<Vec<sdk::TemplateVersionParameter>> {
    let v = templates::get_version(conn, subject, id)?;
    templates::require_imported(conn, &v)?;
    Ok(versions::parameters(conn, v.id)?
        .iter()
        .map(templates::render_parameter)
        .collect())
}

/// `GET /templateversions/{templateversion}/presets`.
pub fn presets(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<Vec<sdk::Preset>> {
    let v = templates::get_version(conn, subject, id)?;
    Ok(versions::presets(conn, v.id)?
        .iter()
        .map(|(id, p)| templates::render_preset(*id, p))
        .collect())
}

/// `GET /templateversions/{templateversion}/variables`: sensitive values
/// redacted, as in Coder.
pub fn variables(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
) -> ApiResult<Vec<crate::sdk::TemplateVersionVariable>> {
    let v = templates::get_version(conn, subject, id)?;
    templates::require_imported(conn, &v)?;
    let supplied = v.user_variable_values.clone();
    Ok(versions::variables(conn, v.id)?
        .iter()
        .map(|var| {
            let value = supplied
                .iter()
                .find(|(n, _)| *n == var.name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let redact = |s: String| {
                if var.sensitive && !s.is_empty() {
                    "*redacted*".to_string()
                } else {
                    s
                }
            };
            crate::sdk::TemplateVersionVariable {
                name: var.name.clone(),
                description: var.description.clone(),
                kind: var.kind.clone(),
                value: redact(value),
                default_value: redact(var.default_value.clone().unwrap_or_default()),
                required: var.default_value.is_none(),
                sensitive: var.sensitive,
            }
        })
        .collect())
}

/// `PATCH /templateversions/{templateversion}/cancel`: the import job.
pub fn cancel(conn: &Tx, subject: &Subject, id: Uuid, now: Micros) -> ApiResult<()> {
    let v = templates::get_version(conn, subject, id)?;
    templates::require_version_update(conn, subject, &v)?;
    let job = job_store::get(conn, v.job_id)?.ok_or_else(ApiError::not_found)?;
    crate::domain::builds::check_cancelable(&job)?;
    Ok(job_store::cancel(conn, job.id, now)?)
}

/// The import logs `GET /templateversions/{templateversion}/logs` shows.
pub fn logs(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<JobLogs> {
    Ok(JobLogs::of(
        templates::get_version(conn, subject, id)?.job_id,
    ))
}

/// `GET /templateversions/{templateversion}/resources`: what the version
/// would create, for both transitions, with fresh agent ids, by name.
pub fn planned_resources(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
    now: Micros,
    inactive_timeout_us: i64,
) -> ApiResult<Vec<sdk::WorkspaceResource>> {
    let v = templates::get_version(conn, subject, id)?;
    let job = templates::require_imported(conn, &v)?;
    let model = versions::model(conn, v.id)?.unwrap_or_default();
    let all: Vec<_> = model.resources.iter().collect();
    let persistent: Vec<_> = model.resources.iter().filter(|r| r.persistent).collect();
    let mut rows = crate::domain::provisioner::runner::plan_rows(job.id, "start", &all, now);
    rows.extend(crate::domain::provisioner::runner::plan_rows(
        job.id,
        "stop",
        &persistent,
        now,
    ));
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let none = Default::default();
    Ok(rows
        .iter()
        .map(|r| crate::domain::agents::render_resource(r, &none, now, inactive_timeout_us))
        .collect())
}

/// Paging of `GET /templates/{template}/versions`.
pub struct VersionPage {
    pub include_archived: bool,
    pub page: Page,
}

/// `GET /templates/{template}/versions`.
pub fn list(
    conn: &Tx,
    subject: &Subject,
    template: Uuid,
    p: &VersionPage,
    now: Micros,
) -> ApiResult<Vec<sdk::TemplateVersion>> {
    let t = templates::get(conn, subject, template)?;
    let all = versions::list(conn, t.id, p.include_archived)?;
    let page = paging::page(all, |v| v.id, &p.page).map_err(UnknownAfterId::versions_error)?;
    templates::render_versions(conn, &page, now)
}

/// `GET /templates/{template}/versions/{templateversionname}`.
pub fn by_name(
    conn: &Tx,
    subject: &Subject,
    template: Uuid,
    name: &str,
    now: Micros,
) -> ApiResult<sdk::TemplateVersion> {
    let t = templates::get(conn, subject, template)?;
    let v = versions::get_by_name(conn, t.id, name)?.ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("No template version found by name {name:?}."),
        )
    })?;
    templates::render_one_version(conn, &v, now)
}

/// The version of a template in an organization by their names, rendered;
/// with `previous`, the one created just before it.
pub fn by_names(
    conn: &Tx,
    subject: &Subject,
    names: (&str, &str, &str),
    previous: bool,
    now: Micros,
) -> ApiResult<sdk::TemplateVersion> {
    let (org, template, version) = names;
    let v = templates::version_by_names(conn, subject, org, template, version)?;
    let v = if previous {
        templates::previous_version(conn, &v)?
    } else {
        v
    };
    templates::render_one_version(conn, &v, now)
}

/// `GET /templateversions/{templateversion}`.
pub fn get_rendered(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
    now: Micros,
) -> ApiResult<sdk::TemplateVersion> {
    let v = templates::get_version(conn, subject, id)?;
    templates::render_one_version(conn, &v, now)
}

/// Coder's answer when archiving is refused for lack of rights or objects.
fn archive_not_found() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "Template or template versions not found.",
    )
}

/// `POST /templateversions/{templateversion}/archive` and `/unarchive`,
/// checked in Coder's order. Coder answers with a JSON string.
pub fn set_archived(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
    archive: bool,
    now: Micros,
) -> ApiResult<String> {
    let v = templates::get_version(conn, subject, id)?;
    let verb = if archive { "archived" } else { "unarchived" };
    if v.archived == archive {
        return Err(ApiError::bad_request(format!(
            "Template version already {verb}"
        )));
    }
    let Some(template) = v.template_id else {
        return Err(ApiError::bad_request(
            "Cannot archive template versions not associate with a template.",
        ));
    };
    let t =
        crate::domain::store::templates::get_any(conn, template)?.ok_or_else(archive_not_found)?;
    if !subject.can(crate::authz::Action::Update, templates::object(&t)) {
        return Err(archive_not_found());
    }
    if archive {
        if versions::archive_unused(conn, template, Some(v.id), false, now)?.is_empty() {
            // Coder answers 500 here; the request, not the server, is at fault.
            return Err(ApiError::bad_request(
                "Unable to archive specified version, the version is likely in use by a workspace or currently set to the active version",
            ));
        }
    } else {
        versions::unarchive(conn, v.id, now)?;
    }
    Ok(format!("template version {:?} {verb}", v.id.to_string()))
}

/// `POST /templates/{template}/versions/archive`: the unused versions,
/// all of them or only failed imports.
pub fn archive_unused(
    conn: &Tx,
    subject: &Subject,
    template: Uuid,
    all: bool,
    now: Micros,
) -> ApiResult<sdk::ArchiveTemplateVersionsResponse> {
    let t = templates::get(conn, subject, template)?;
    if !subject.can(crate::authz::Action::Update, templates::object(&t)) {
        return Err(archive_not_found());
    }
    let ids = versions::archive_unused(conn, t.id, None, !all, now)?;
    Ok(sdk::ArchiveTemplateVersionsResponse {
        template_id: t.id,
        archived_ids: (!ids.is_empty()).then_some(ids),
    })
}

/// `GET /templateversions/{templateversion}/external-auth`: warren has no
/// external auth providers, so no version needs one.
pub fn external_auth(
    conn: &Tx,
    subject: &Subject,
    id: Uuid,
) -> ApiResult<Vec<sdk::TemplateVersionExternalAuth>> {
    templates::get_version(conn, subject, id)?;
    Ok(Vec::new())
}
