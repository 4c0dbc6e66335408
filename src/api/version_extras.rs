//! Template version routes beyond reading one: external auth, archiving,
//! and dry runs with their job, resources, logs and cancellation.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::authz::Subject;
use crate::domain::{dry_runs, template_versions};
use crate::error::{ApiResult, Response};
use crate::http::{self, parse_uuid, Body};
use crate::sdk;
use crate::App;

pub async fn external_auth(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .read(move |conn| template_versions::external_auth(conn, &subject, id))
        .await?;
    Ok(http::ok(&out))
}

async fn set_archived(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    archive: bool,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    let out = app
        .db
        .write(move |conn| template_versions::set_archived(conn, &subject, id, archive, now))
        .await?;
    Ok(http::ok(&out))
}

pub async fn archive(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    set_archived(app, subject, path, true).await
}

pub async fn unarchive(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    set_archived(app, subject, path, false).await
}

/// `POST /templates/{template}/versions/archive`.
pub async fn archive_unused(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<sdk::ArchiveTemplateVersionsRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    let out = app
        .db
        .write(move |conn| template_versions::archive_unused(conn, &subject, id, req.all, now))
        .await?;
    Ok(http::ok(&out))
}

pub async fn create_dry_run(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<sdk::CreateTemplateVersionDryRunRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    let out = app
        .db
        .write(move |conn| dry_runs::create(conn, &subject, id, &req, now))
        .await?;
    app.provisioner.wake();
    Ok(http::created(&out))
}

pub async fn dry_run(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (version, job) = path.into_inner();
    let version = parse_uuid(&version)?;
    let out = app
        .db
        .read(move |conn| dry_runs::get(conn, &subject, version, &job))
        .await?;
    Ok(http::ok(&out))
}

pub async fn dry_run_resources(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (version, job) = path.into_inner();
    let version = parse_uuid(&version)?;
    let (now, timeout) = (app.now(), app.inactive_timeout_us());
    let out = app
        .db
        .read(move |conn| dry_runs::resources(conn, &subject, version, &job, now, timeout))
        .await?;
    Ok(http::ok(&out))
}

pub async fn dry_run_logs(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (version, job) = path.into_inner();
    let version = parse_uuid(&version)?;
    let (after, follow) = super::logs::params(&req)?;
    let logs = app
        .db
        .read(move |conn| dry_runs::logs(conn, &subject, version, &job))
        .await?;
    super::logs::respond(app, req, payload, logs, after, follow).await
}

pub async fn cancel_dry_run(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (version, job) = path.into_inner();
    let version = parse_uuid(&version)?;
    let now = app.now();
    app.db
        .write(move |conn| dry_runs::cancel(conn, &subject, version, &job, now))
        .await?;
    Ok(http::json(
        StatusCode::OK,
        &Response::message("Job has been marked as canceled."),
    ))
}
