//! Workspace build routes.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::authz::Subject;
use crate::domain::builds::{self, BuildPage, CreateBuildRequest};
use crate::error::{ApiError, ApiResult, Response};
use crate::http::{self, parse_uuid, Body, Query};
use crate::query::paging::Paging;
use crate::App;

pub async fn create(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<CreateBuildRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let ctx = app.render_ctx();
    let out = app
        .db
        .write(move |conn| builds::create_for_workspace(conn, &subject, id, &req, &ctx))
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
    let paging = Paging::capped().parse(&q.0)?;
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
    let page = BuildPage {
        since,
        page: paging,
    };
    let ctx = app.render_ctx();
    let out = app
        .db
        .read(move |conn| builds::list_for_workspace(conn, &subject, id, &page, &ctx))
        .await?;
    Ok(http::ok(&out))
}

pub async fn get(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let ctx = app.render_ctx();
    let out = app
        .db
        .read(move |conn| builds::get_rendered(conn, &subject, id, &ctx))
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
    let ctx = app.render_ctx();
    let out = app
        .db
        .read(move |conn| builds::by_number(conn, &subject, &user, &name, number.into(), &ctx))
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
        .write(move |conn| builds::cancel(conn, &subject, id, expect.as_deref(), now))
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
        .read(move |conn| builds::logs(conn, &subject, id))
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
        .read(move |conn| builds::parameters_of(conn, &subject, id))
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
    let ctx = app.render_ctx();
    let out = app
        .db
        .read(move |conn| builds::resources_of(conn, &subject, id, &ctx))
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
        .read(move |conn| builds::state_of(conn, &subject, id))
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
        .read(move |conn| builds::timings_of(conn, &subject, id))
        .await?;
    Ok(http::ok(&out))
}
