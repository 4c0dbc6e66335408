//! Organization roles: the catalogue, and custom roles (Coder's
//! `enterprise/coderd/roles.go`).

use actix_web::{web, HttpResponse};

use crate::authz::Subject;
use crate::domain::roles;
use crate::error::ApiResult;
use crate::http::{self, Body};
use crate::sdk::CustomRoleRequest;
use crate::App;

/// `GET /organizations/{organization}/members/roles`.
pub async fn list(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let org = path.into_inner();
    let out = app
        .db
        .read(move |tx| roles::org_roles(tx, &subject, &org))
        .await?;
    Ok(http::ok(&out))
}

/// `POST /organizations/{organization}/members/roles`.
pub async fn create(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<CustomRoleRequest>,
) -> ApiResult<HttpResponse> {
    let org = path.into_inner();
    let now = app.now();
    let out = app
        .db
        .write(move |tx| roles::create(tx, &subject, &org, &req, now))
        .await?;
    Ok(http::ok(&out))
}

/// `PUT /organizations/{organization}/members/roles`.
pub async fn update(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<CustomRoleRequest>,
) -> ApiResult<HttpResponse> {
    let org = path.into_inner();
    let now = app.now();
    let out = app
        .db
        .write(move |tx| roles::update(tx, &subject, &org, &req, now))
        .await?;
    Ok(http::ok(&out))
}

/// `DELETE /organizations/{organization}/members/roles/{roleName}`.
pub async fn delete(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (org, name) = path.into_inner();
    app.db
        .write(move |tx| roles::delete(tx, &subject, &org, &name))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
