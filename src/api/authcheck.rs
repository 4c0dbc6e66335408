//! `POST /authcheck`: Coder's batch permission check.

use actix_web::{web, HttpResponse};

use crate::authz::Subject;
use crate::domain::authcheck;
use crate::error::ApiResult;
use crate::http::{self, Body};
use crate::sdk::AuthorizationRequest;
use crate::App;

pub async fn check(
    app: web::Data<App>,
    subject: Subject,
    Body(req): Body<AuthorizationRequest>,
) -> ApiResult<HttpResponse> {
    let out = app
        .db
        .read(move |conn| authcheck::check(conn, &subject, &req))
        .await?;
    Ok(http::ok(&out))
}
