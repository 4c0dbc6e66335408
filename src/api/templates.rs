//! Template and template version routes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use crate::authz::Subject;
use crate::domain::organizations;
use crate::domain::template_versions;
use crate::domain::templates::{
    self, CreateTemplateRequest, CreateVersionRequest, UpdateTemplateMeta,
};
use crate::error::{ApiResult, Response};
use crate::http::{self, parse_uuid, Body, Query};
use crate::query::paging::{Paging, MAX_PAGE};
use crate::query::templates::parse_template_query;
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
        .read(move |conn| template_versions::get_rendered(conn, &subject, id, now))
        .await?;
    Ok(http::ok(&out))
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
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
            template_versions::rename(conn, &subject, id, &req.name, req.message.as_deref(), now)
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
        .read(move |conn| template_versions::rich_parameters(conn, &subject, id))
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
        .read(move |conn| template_versions::presets(conn, &subject, id))
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
        .read(move |conn| template_versions::variables(conn, &subject, id))
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
        .write(move |conn| template_versions::cancel(conn, &subject, id, now))
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
    let q = parse_template_query(
        Query::from_request(req).get("q").unwrap_or(""),
        subject.user_id,
    )?;
    let now = app.now();
    let out = app
        .db
        .read(move |conn| {
            templates::list(conn, &subject, q, org.as_deref(), MAX_PAGE as usize, now)
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
            let t = templates::get_by_name(conn, &subject, &org, &name)?;
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
    let page = template_versions::VersionPage {
        include_archived: q.flag("include_archived"),
        page: Paging::capped().parse(&q.0)?,
    };
    let now = app.now();
    let out = app
        .db
        .read(move |conn| template_versions::list(conn, &subject, id, &page, now))
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
        .read(move |conn| template_versions::by_name(conn, &subject, id, &name, now))
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
            template_versions::by_names(conn, &subject, (&org, &template, &version), false, now)
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
            template_versions::by_names(conn, &subject, (&org, &template, &version), true, now)
        })
        .await?;
    Ok(http::ok(&out))
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
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
    let logs = app
        .db
        .read(move |conn| template_versions::logs(conn, &subject, id))
        .await?;
    super::logs::respond(app, req, payload, logs, after, follow).await
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
    let now = app.now();
    let out = app
        .db
        .read(move |conn| template_versions::planned_resources(conn, &subject, id, now, timeout))
        .await?;
    Ok(http::ok(&out))
}
