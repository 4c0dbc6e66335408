//! `/organizations` routes and organization members.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::authz::Subject;
use crate::domain::organizations::{self, OrganizationRequest};
use crate::domain::users;
use crate::error::{ApiResult, Response};
use crate::http::{self, Body, Query};
use crate::query::paging::{Paging, MAX_PAGE};
use crate::sdk;
use crate::App;

pub async fn list(app: web::Data<App>, subject: Subject) -> ApiResult<HttpResponse> {
    let out = app
        .db
        .read(move |conn| organizations::list(conn, &subject))
        .await?;
    Ok(http::ok(&out))
}

pub async fn get(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let org = app
        .db
        .read(move |conn| organizations::resolve(conn, &subject, &arg))
        .await?;
    Ok(http::ok(&organizations::render(&org)))
}

pub async fn create(
    app: web::Data<App>,
    subject: Subject,
    Body(req): Body<OrganizationRequest>,
) -> ApiResult<HttpResponse> {
    let now = app.now();
    let org = app
        .db
        .write(move |conn| organizations::create(conn, &subject, &req, now))
        .await?;
    Ok(http::created(&organizations::render(&org)))
}

pub async fn update(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<OrganizationRequest>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let now = app.now();
    let org = app
        .db
        .write(move |conn| {
            let org = organizations::resolve(conn, &subject, &arg)?;
            organizations::update(conn, &subject, &org, &req, now)
        })
        .await?;
    Ok(http::ok(&organizations::render(&org)))
}

pub async fn delete(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let now = app.now();
    app.db
        .write(move |conn| {
            let org = organizations::resolve(conn, &subject, &arg)?;
            organizations::delete(conn, &subject, &org, now)
        })
        .await?;
    Ok(http::ok(&Response::message(
        "Organization has been deleted.",
    )))
}

async fn member_page(
    app: &App,
    subject: Subject,
    arg: String,
    limit: i64,
    offset: i64,
) -> ApiResult<(Vec<sdk::OrganizationMemberWithUserData>, i64)> {
    app.db
        .read(move |conn| organizations::member_page(conn, &subject, &arg, limit, offset))
        .await
}

pub async fn members(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (members, _) = member_page(&app, subject, path.into_inner(), MAX_PAGE * 10, 0).await?;
    Ok(http::ok(&members))
}

pub async fn paginated_members(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let page = Paging::capped().parse(&Query::from_request(&req).0)?;
    let (members, count) = member_page(
        &app,
        subject,
        path.into_inner(),
        page.max_rows(),
        page.offset,
    )
    .await?;
    Ok(http::ok(&crate::sdk::PaginatedMembersResponse {
        members,
        count,
    }))
}

pub async fn add_member(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (org_arg, user_arg) = path.into_inner();
    let now = app.now();
    let m = app
        .db
        .write(move |conn| {
            let org = organizations::resolve(conn, &subject, &org_arg)?;
            let user = users::resolve(conn, &subject, &user_arg)?;
            organizations::add_member(conn, &subject, &org, &user, now)
        })
        .await?;
    Ok(http::ok(&m))
}

pub async fn remove_member(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (org_arg, user_arg) = path.into_inner();
    app.db
        .write(move |conn| {
            let org = organizations::resolve(conn, &subject, &org_arg)?;
            let user = users::resolve(conn, &subject, &user_arg)?;
            organizations::remove_member(conn, &subject, &org, &user)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct UpdateRolesRequest {
    roles: Vec<String>,
}

pub async fn set_member_roles(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
    Body(req): Body<UpdateRolesRequest>,
) -> ApiResult<HttpResponse> {
    let (org_arg, user_arg) = path.into_inner();
    let now = app.now();
    let m = app
        .db
        .write(move |conn| {
            let org = organizations::resolve(conn, &subject, &org_arg)?;
            let user = users::resolve(conn, &subject, &user_arg)?;
            organizations::set_member_roles(conn, &subject, &org, &user, &req.roles, now)
        })
        .await?;
    Ok(http::ok(&m))
}
