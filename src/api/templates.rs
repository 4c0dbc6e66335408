//! Template and template version routes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use crate::authz::{Action, Subject};
use crate::domain::organizations;
use crate::domain::store::jobs as job_store;
use crate::domain::store::template_versions as versions;
use crate::domain::store::templates::{self as store, TemplateFilter};
use crate::domain::templates::{
    self, CreateTemplateRequest, CreateVersionRequest, UpdateTemplateMeta,
};
use crate::error::{ApiError, ApiResult, Response};
use crate::http::{self, parse_uuid, Body, Query};
use crate::App;

pub async fn create_version(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<CreateVersionRequest>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let now = app.now();
    let out = app
        .db
        .write(move |conn| {
            let org = organizations::resolve(conn, &subject, &arg)?;
            let v = templates::create_version(conn, &subject, &org, &req, now)?;
            templates::render_one_version(conn, &v, now)
        })
        .await?;
    app.provisioner.wake();
    Ok(http::created(&out))
}

pub async fn get_version(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    let out = app
        .db
        .read(move |conn| {
            let v = templates::get_version(conn, &subject, id)?;
            templates::render_one_version(conn, &v, now)
        })
        .await?;
    Ok(http::ok(&out))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct PatchVersionRequest {
    name: String,
    message: Option<String>,
}

pub async fn patch_version(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<PatchVersionRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    let out = app
        .db
        .write(move |conn| {
            let v = templates::get_version(conn, &subject, id)?;
            templates::require_version_update(conn, &subject, &v)?;
            let name = if req.name.is_empty() {
                v.name.clone()
            } else {
                req.name.clone()
            };
            let mut check = crate::error::Validator::new();
            check.check(
                "name",
                "template_version_name",
                &name,
                templates::valid_version_name(&name),
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
            let message = req.message.clone().unwrap_or_else(|| v.message.clone());
            versions::set_name_message(conn, v.id, &name, &message, now)?;
            let v = versions::get(conn, v.id)?.ok_or_else(ApiError::not_found)?;
            templates::render_one_version(conn, &v, now)
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn rich_parameters(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .read(move |conn| {
            let v = templates::get_version(conn, &subject, id)?;
            templates::require_imported(conn, &v)?;
            let params = versions::parameters(conn, v.id)?;
            Ok(params
                .iter()
                .map(templates::render_parameter)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn presets(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .read(move |conn| {
            let v = templates::get_version(conn, &subject, id)?;
            let presets = versions::presets(conn, v.id)?;
            Ok(presets
                .iter()
                .map(|(id, p)| templates::render_preset(*id, p))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn variables(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .read(move |conn| {
            let v = templates::get_version(conn, &subject, id)?;
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
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn cancel_version(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    app.db
        .write(move |conn| {
            let v = templates::get_version(conn, &subject, id)?;
            templates::require_version_update(conn, &subject, &v)?;
            let job = job_store::get(conn, v.job_id)?.ok_or_else(ApiError::not_found)?;
            crate::domain::builds::check_cancelable(&job)?;
            Ok(job_store::cancel(conn, job.id, now)?)
        })
        .await?;
    Ok(http::ok(&Response::message(
        "Job has been marked as canceled...",
    )))
}

// ---------------------------------------------------------------- templates

pub async fn create(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<CreateTemplateRequest>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let now = app.now();
    let out = app
        .db
        .write(move |conn| {
            let org = organizations::resolve(conn, &subject, &arg)?;
            let t = templates::create(conn, &subject, &org, &req, now)?;
            templates::render(conn, &t, now)
        })
        .await?;
    Ok(http::created(&out))
}

async fn list_with(
    app: &App,
    subject: Subject,
    req: &HttpRequest,
    org: Option<String>,
) -> ApiResult<HttpResponse> {
    let q = Query::from_request(req).get("q").unwrap_or("").to_string();
    let now = app.now();
    let out = app
        .db
        .read(move |conn| {
            let mut f: TemplateFilter = templates::parse_filter(conn, &subject, &q)?;
            if let Some(org) = org {
                f.organization = Some(organizations::resolve(conn, &subject, &org)?.id);
            }
            let visible: Vec<_> = store::list(conn, &f)?
                .into_iter()
                .filter(|t| subject.can(Action::Read, templates::object(t)))
                .take(http::MAX_PAGE as usize)
                .collect();
            templates::render_many(conn, &visible, now)
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn list(
    app: web::Data<App>,
    subject: Subject,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    list_with(&app, subject, &req, None).await
}

pub async fn list_in_org(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    list_with(&app, subject, &req, Some(path.into_inner())).await
}

pub async fn get_by_name(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (org, name) = path.into_inner();
    let now = app.now();
    let out = app
        .db
        .read(move |conn| {
            let org = organizations::resolve(conn, &subject, &org)?;
            let t = store::get_by_name(conn, org.id, &name)?.ok_or_else(ApiError::not_found)?;
            subject.require_visible(Action::Read, templates::object(&t))?;
            templates::render(conn, &t, now)
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn get(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    let out = app
        .db
        .read(move |conn| {
            let t = templates::get(conn, &subject, id)?;
            templates::render(conn, &t, now)
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn update(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<UpdateTemplateMeta>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    let out = app
        .db
        .write(move |conn| {
            let t = templates::get(conn, &subject, id)?;
            match templates::update(conn, &subject, &t, &req, now)? {
                Some(t) => Ok(Some(templates::render(conn, &t, now)?)),
                None => Ok(None),
            }
        })
        .await?;
    Ok(match out {
        Some(t) => http::ok(&t),
        None => HttpResponse::NotModified().finish(),
    })
}

pub async fn delete(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    app.db
        .write(move |conn| {
            let t = templates::get(conn, &subject, id)?;
            templates::delete(conn, &subject, &t, now)
        })
        .await?;
    Ok(http::message(StatusCode::OK, "Template has been deleted!"))
}

pub async fn versions(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let q = Query::from_request(&req);
    let (limit, offset) = http::pagination(&q)?;
    let include_archived = q.flag("include_archived");
    let after = http::after_id(&q)?;
    let now = app.now();
    let out = app
        .db
        .read(move |conn| {
            let t = templates::get(conn, &subject, id)?;
            let all = versions::list(conn, t.id, include_archived)?;
            let page = http::page(all, |v| v.id, after, limit, offset)?;
            templates::render_versions(conn, &page, now)
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn version_by_name(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, name) = path.into_inner();
    let id = parse_uuid(&id)?;
    let now = app.now();
    let out = app
        .db
        .read(move |conn| {
            let t = templates::get(conn, &subject, id)?;
            let v = versions::get_by_name(conn, t.id, &name)?.ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("No template version found by name {name:?}."),
                )
            })?;
            templates::render_one_version(conn, &v, now)
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn version_by_org_template_and_name(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String, String)>,
) -> ApiResult<HttpResponse> {
    let (org, template, version) = path.into_inner();
    let now = app.now();
    let out = app
        .db
        .read(move |conn| {
            let v = templates::version_by_names(conn, &subject, &org, &template, &version)?;
            templates::render_one_version(conn, &v, now)
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn previous_version_by_org_template_and_name(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String, String)>,
) -> ApiResult<HttpResponse> {
    let (org, template, version) = path.into_inner();
    let now = app.now();
    let out = app
        .db
        .read(move |conn| {
            let v = templates::version_by_names(conn, &subject, &org, &template, &version)?;
            let previous = templates::previous_version(conn, &v)?;
            templates::render_one_version(conn, &previous, now)
        })
        .await?;
    Ok(http::ok(&out))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct UpdateActiveVersion {
    id: Uuid,
}

pub async fn set_active_version(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<UpdateActiveVersion>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let mut v = crate::error::Validator::new();
    v.check("id", "required", &req.id.to_string(), !req.id.is_nil());
    v.finish()?;
    let now = app.now();
    app.db
        .write(move |conn| {
            let t = templates::get(conn, &subject, id)?;
            templates::set_active_version(conn, &subject, &t, req.id, now)
        })
        .await?;
    Ok(http::ok(&Response::message(
        "Updated the active template version!",
    )))
}

/// warren bundles no starter templates.
pub async fn examples(_subject: Subject) -> HttpResponse {
    http::ok(&Vec::<crate::sdk::TemplateExample>::new())
}

/// The organization's examples: like `GET /organizations/{organization}`,
/// 404 to whoever is not a member.
pub async fn examples_in_org(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    app.db
        .read(move |conn| organizations::resolve(conn, &subject, &arg))
        .await?;
    Ok(http::ok(&Vec::<crate::sdk::TemplateExample>::new()))
}

pub async fn version_logs(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let (after, follow) = super::logs::params(&req)?;
    let job = app
        .db
        .read(move |conn| Ok(templates::get_version(conn, &subject, id)?.job_id))
        .await?;
    super::logs::respond(app, req, payload, job, after, follow).await
}

/// Resources a version would create, for both transitions, with fresh agent
/// ids, sorted by name.
pub async fn version_resources(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let timeout = app.inactive_timeout_us();
    let clock = app.clock.clone();
    let out = app
        .db
        .read(move |conn| {
            let v = templates::get_version(conn, &subject, id)?;
            let job = templates::require_imported(conn, &v)?;
            let model = versions::model(conn, v.id)?.unwrap_or_default();
            let now = clock.now();
            let all: Vec<_> = model.resources.iter().collect();
            let persistent: Vec<_> = model.resources.iter().filter(|r| r.persistent).collect();
            let mut rows =
                crate::domain::provisioner::runner::plan_rows(job.id, "start", &all, now);
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
                .map(|r| crate::domain::agents::render_resource(r, &none, now, timeout))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(http::ok(&out))
}
