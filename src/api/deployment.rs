//! Facts about the deployment that Coder's clients read: SSH config,
//! regions, update check, experiments, appearance, entitlements.

use actix_web::{web, HttpResponse};

use crate::authz::Subject;
use crate::domain::deployment;
use crate::error::ApiResult;
use crate::http::{self, Body};
use crate::sdk;
use crate::App;

pub async fn ssh_config(_subject: Subject) -> HttpResponse {
    http::ok(&deployment::ssh_config())
}

pub async fn regions(app: web::Data<App>, _subject: Subject) -> HttpResponse {
    http::ok(&deployment::regions(&app.deployment_id, &app.access_url))
}

pub async fn update_check(app: web::Data<App>) -> HttpResponse {
    http::ok(&deployment::update_check(
        &app.version,
        super::meta::EXTERNAL_URL,
    ))
}

pub async fn experiments(_subject: Subject) -> HttpResponse {
    http::ok(&deployment::experiments())
}

pub async fn available_experiments(_subject: Subject) -> HttpResponse {
    http::ok(&deployment::available_experiments())
}

/// `GET /appearance`: open to all, as the sign-in page shows it.
pub async fn appearance(app: web::Data<App>) -> ApiResult<HttpResponse> {
    let out = app.db.read(deployment::appearance).await?;
    Ok(http::ok(&out))
}

pub async fn set_appearance(
    app: web::Data<App>,
    subject: Subject,
    Body(req): Body<sdk::UpdateAppearanceConfig>,
) -> ApiResult<HttpResponse> {
    let out = app
        .db
        .write(move |conn| deployment::set_appearance(conn, &subject, req))
        .await?;
    Ok(http::ok(&out))
}

pub async fn entitlements(app: web::Data<App>, _subject: Subject) -> HttpResponse {
    http::ok(&deployment::entitlements(app.now()))
}
