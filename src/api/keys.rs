//! `/users/{user}/keys`: session keys and named API tokens.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::authz::Subject;
use crate::domain::keys::{self, CreateTokenRequest, Lifetimes};
use crate::error::ApiResult;
use crate::http::{self, Body, Query};
use crate::App;

fn lifetimes(app: &App) -> Lifetimes {
    Lifetimes {
        default: app.config.default_token_lifetime,
        max: app.config.max_token_lifetime,
        max_admin: app.config.max_admin_token_lifetime,
    }
}

/// `POST /users/{user}/keys`: a session-type key with the default lifetime.
pub async fn create_session_key(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let user = path.into_inner();
    let (limits, now) = (lifetimes(&app), app.now());
    let token = app
        .db
        .write(move |conn| keys::create_session_key(conn, &subject, &user, &limits, now))
        .await?;
    Ok(http::created(&crate::sdk::GenerateApiKeyResponse {
        key: token,
    }))
}

pub async fn create_token(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<CreateTokenRequest>,
) -> ApiResult<HttpResponse> {
    let user = path.into_inner();
    let (limits, now) = (lifetimes(&app), app.now());
    let token = app
        .db
        .write(move |conn| keys::create_token(conn, &subject, &user, &req, &limits, now))
        .await?;
    Ok(http::created(&crate::sdk::GenerateApiKeyResponse {
        key: token,
    }))
}

pub async fn list_tokens(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let user = path.into_inner();
    let all = Query::from_request(&req).flag("include_all");
    let out = app
        .db
        .read(move |conn| keys::list_tokens(conn, &subject, &user, all))
        .await?;
    Ok(http::ok(&out))
}

pub async fn token_config(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let user = path.into_inner();
    let limits = lifetimes(&app);
    let max = app
        .db
        .read(move |conn| keys::max_lifetime(conn, &subject, &user, &limits))
        .await?;
    Ok(http::ok(&crate::sdk::TokenConfig {
        max_token_lifetime: max.as_nanos() as u64,
    }))
}

pub async fn token_by_name(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (user, name) = path.into_inner();
    let out = app
        .db
        .read(move |conn| keys::token_by_name(conn, &subject, &user, &name))
        .await?;
    Ok(http::ok(&out))
}

pub async fn get(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (user, id) = path.into_inner();
    let out = app
        .db
        .read(move |conn| keys::get(conn, &subject, &user, &id))
        .await?;
    Ok(http::ok(&out))
}

pub async fn delete(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (user, id) = path.into_inner();
    app.db
        .write(move |conn| keys::delete(conn, &subject, &user, &id))
        .await?;
    Ok(HttpResponse::build(StatusCode::NO_CONTENT).finish())
}
