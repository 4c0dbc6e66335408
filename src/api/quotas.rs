//! Workspace quotas: Coder's Premium quota endpoints.

use actix_web::{web, HttpResponse};

use crate::authz::Subject;
use crate::domain::quotas;
use crate::error::ApiResult;
use crate::http;
use crate::App;

/// `GET /workspace-quota/{user}`: Coder's deprecated form, for the default
/// organization.
pub async fn of_user(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let user = path.into_inner();
    let out = app
        .db
        .read(move |conn| quotas::of_member(conn, &subject, "default", &user))
        .await?;
    Ok(http::ok(&out))
}

pub async fn of_member(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (org, user) = path.into_inner();
    let out = app
        .db
        .read(move |conn| quotas::of_member(conn, &subject, &org, &user))
        .await?;
    Ok(http::ok(&out))
}
