//! Workspace build routes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::authz::{Action, Subject};
use crate::domain::builds::{self, BuildContext, CreateBuildRequest};
use crate::domain::store::builds::{self as store, BuildRow};
use crate::domain::store::jobs as job_store;
use crate::domain::store::templates as template_store;
use crate::domain::store::workspaces::{self as ws_store, WorkspaceRow};
use crate::domain::store::Tx;
use crate::domain::{templates, users, workspaces};
use crate::error::{ApiError, ApiResult, Response};
use crate::http::{self, parse_uuid, Body, Query};
use crate::App;

fn render_all(
    conn: &Tx,
    app: &App,
    bs: &[BuildRow],
    ws: &[WorkspaceRow],
) -> ApiResult<Vec<crate::sdk::WorkspaceBuild>> {
    let loaded = builds::load(conn, bs, ws)?;
    let now = app.now();
    bs.iter()
        .map(|b| builds::render(b, &loaded, now, app.inactive_timeout_us()))
        .collect()
}

/// A build and its workspace, which the subject may read.
fn readable_build(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<(BuildRow, WorkspaceRow)> {
    let b = store::get(conn, id)?.ok_or_else(ApiError::not_found)?;
    let w = workspaces::get(conn, subject, b.workspace_id)?;
    Ok((b, w))
}

pub async fn create(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<CreateBuildRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    let a = app.clone();
    let out = app
        .db
        .write(move |conn| {
            let w = workspaces::get(conn, &subject, id)?;
            let t =
                template_store::get_any(conn, w.template_id)?.ok_or_else(ApiError::not_found)?;
            let b = builds::create(
                conn,
                &subject,
                &BuildContext {
                    workspace: &w,
                    template: &t,
                    first: false,
                    system_reason: None,
                    initiator: subject.user_id,
                },
                &req,
                now,
            )?;
            Ok(render_all(conn, &a, &[b], &[])?.remove(0))
        })
        .await?;
    app.provisioner.wake();
    Ok(http::created(&out))
}

pub async fn list(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let q = Query::from_request(&req);
    let (limit, offset) = http::pagination(&q)?;
    let since = match q.get("since").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    ApiError::bad_request("Query parameters have invalid values.").validation(
                        "since",
                        format!("Query param \"since\" must be a valid date format (2006-01-02T15:04:05Z07:00): {s:?}"),
                    )
                })?
                .timestamp_micros(),
        ),
    };
    let after = http::after_id(&q)?;
    let a = app.clone();
    let out = app
        .db
        .read(move |conn| {
            let w = workspaces::get(conn, &subject, id)?;
            let all = store::list(conn, w.id, since)?;
            let page = http::page(all, |b| b.id, after, limit, offset)?;
            render_all(conn, &a, &page, std::slice::from_ref(&w))
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
    let a = app.clone();
    let out = app
        .db
        .read(move |conn| {
            let (b, w) = readable_build(conn, &subject, id)?;
            Ok(render_all(conn, &a, &[b], &[w])?.remove(0))
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn by_number(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String, String)>,
) -> ApiResult<HttpResponse> {
    let (user, name, number) = path.into_inner();
    let number: i32 = number.parse().map_err(|e: std::num::ParseIntError| {
        ApiError::bad_request("Failed to parse build number as integer.").detail(e.to_string())
    })?;
    let a = app.clone();
    let out = app
        .db
        .read(move |conn| {
            let owner = users::resolve(conn, &subject, &user)?;
            let w = ws_store::get_by_owner_name(conn, owner.id, &name, true)?
                .ok_or_else(ApiError::not_found)?;
            subject.require_visible(Action::Read, workspaces::object(&w))?;
            let b =
                store::get_by_number(conn, w.id, number as i64)?.ok_or_else(ApiError::not_found)?;
            Ok(render_all(conn, &a, &[b], &[w])?.remove(0))
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn cancel(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let expect = Query::from_request(&req)
        .get("expect_status")
        .map(str::to_string);
    if let Some(e) = &expect {
        if !matches!(e.as_str(), "running" | "pending") {
            return Err(ApiError::bad_request(
                "Invalid expect_status. Only 'running' or 'pending' are allowed.",
            ));
        }
    }
    let now = app.now();
    app.db
        .write(move |conn| {
            let (b, w) = readable_build(conn, &subject, id)?;
            subject.require_visible(Action::Update, workspaces::object(&w))?;
            let t =
                template_store::get_any(conn, w.template_id)?.ok_or_else(ApiError::not_found)?;
            if !t.allow_user_cancel_workspace_jobs
                && !subject.can(Action::Update, templates::object(&t))
            {
                return Err(ApiError::forbidden_msg(
                    "User is not allowed to cancel workspace builds. Owner role is required.",
                ));
            }
            let job = job_store::get(conn, b.job_id)?.ok_or_else(ApiError::not_found)?;
            builds::check_cancelable(&job)?;
            if let Some(e) = &expect {
                if job.status() != e {
                    return Err(ApiError::new(
                        StatusCode::PRECONDITION_FAILED,
                        format!(
                            "Job is not in the expected state. Expected: {e}, Got: {}",
                            job.status()
                        ),
                    ));
                }
            }
            Ok(job_store::cancel(conn, job.id, now)?)
        })
        .await?;
    app.provisioner.wake();
    Ok(http::ok(&Response::message(
        "Job has been marked as canceled...",
    )))
}

pub async fn logs(
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
        .read(move |conn| Ok(readable_build(conn, &subject, id)?.0.job_id))
        .await?;
    super::logs::respond(app, req, payload, job, after, follow).await
}

pub async fn parameters(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .read(move |conn| {
            let (b, _) = readable_build(conn, &subject, id)?;
            Ok(store::parameters(conn, b.id)?)
        })
        .await?;
    let out: Vec<_> = out
        .into_iter()
        .map(|(name, value)| crate::sdk::WorkspaceBuildParameter { name, value })
        .collect();
    Ok(http::ok(&out))
}

pub async fn resources(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let a = app.clone();
    let out = app
        .db
        .read(move |conn| {
            let (b, w) = readable_build(conn, &subject, id)?;
            let job = job_store::get(conn, b.job_id)?.ok_or_else(ApiError::not_found)?;
            if job.completed_at.is_none() {
                return Err(ApiError::bad_request("Job hasn't completed!"));
            }
            Ok(render_all(conn, &a, &[b], &[w])?.remove(0).resources)
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn state(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .read(move |conn| {
            let (b, w) = readable_build(conn, &subject, id)?;
            let t =
                template_store::get_any(conn, w.template_id)?.ok_or_else(ApiError::not_found)?;
            subject.require_visible(Action::Update, templates::object(&t))?;
            Ok(store::state(conn, b.id)?.unwrap_or_default())
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(out))
}

pub async fn timings(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .read(move |conn| {
            let (b, _) = readable_build(conn, &subject, id)?;
            workspaces::build_timings(conn, &b)
        })
        .await?;
    Ok(http::ok(&out))
}
