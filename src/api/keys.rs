//! `/users/{user}/keys`: session keys and named API tokens.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::authz::{Action, Object, Subject};
use crate::domain::auth;
use crate::domain::store::{api_keys, users::UserRow};
use crate::domain::users;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, Body, Query};
use crate::sdk::{self, AllowListEntry};
use crate::App;

fn render(k: &api_keys::ApiKeyRow) -> sdk::ApiKey {
    let scope = if k
        .scopes
        .iter()
        .any(|s| s == "coder:application_connect" || s == "application_connect")
    {
        "application_connect"
    } else {
        "all"
    };
    sdk::ApiKey {
        id: k.id.clone(),
        user_id: k.user_id,
        last_used: sdk::format_time_or_zero(k.last_used),
        expires_at: sdk::format_time(k.expires_at),
        created_at: sdk::format_time(k.created_at),
        updated_at: sdk::format_time(k.updated_at),
        login_type: k.login_type.clone(),
        scope: scope.into(),
        scopes: k.scopes.clone(),
        allow_list: k.allow_list.clone(),
        token_name: k.token_name.clone(),
        lifetime_seconds: k.lifetime_seconds,
    }
}

/// Resolves `{user}` and checks the subject may manage that user's keys:
/// an unreadable user is hidden (404), a readable one refused (403).
async fn key_owner(
    app: &App,
    subject: &Subject,
    arg: String,
    action: Action,
) -> ApiResult<UserRow> {
    let s = subject.clone();
    app.db
        .read(move |conn| {
            let u = users::resolve(conn, &s, &arg)?;
            s.require_visible(Action::Read, users::object(&u))?;
            s.require(action, Object::ApiKey { owner: u.id })?;
            Ok(u)
        })
        .await
}

fn all_scope() -> (Vec<String>, Vec<AllowListEntry>) {
    (
        vec!["coder:all".into()],
        vec![AllowListEntry {
            kind: "*".into(),
            id: "*".into(),
        }],
    )
}

/// `POST /users/{user}/keys`: a session-type key with the default lifetime.
pub async fn create_session_key(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let u = key_owner(&app, &subject, path.into_inner(), Action::Create).await?;
    let (scopes, allow) = all_scope();
    let key = auth::new_key(
        u.id,
        "password",
        app.config.default_token_lifetime,
        "",
        scopes,
        allow,
        app.now(),
    );
    let row = key.row.clone();
    app.db
        .write(move |conn| Ok(api_keys::insert(conn, &row)?))
        .await?;
    Ok(http::created(&crate::sdk::GenerateApiKeyResponse {
        key: key.token,
    }))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CreateTokenRequest {
    /// Nanoseconds, as Go's `time.Duration`.
    lifetime: i64,
    scope: String,
    scopes: Vec<String>,
    token_name: String,
    allow_list: Vec<sdk::AllowListTarget>,
}

const MAX_TOKEN_NAME: usize = 64;

pub async fn create_token(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<CreateTokenRequest>,
) -> ApiResult<HttpResponse> {
    let u = key_owner(&app, &subject, path.into_inner(), Action::Create).await?;
    let fail = |detail: String| {
        ApiError::bad_request("Failed to validate create API key request.").detail(detail)
    };
    if req.lifetime < 0 {
        return Err(fail("lifetime must be positive".into()));
    }
    let max = if u.rbac_roles.iter().any(|r| r == crate::authz::OWNER) {
        app.config.max_admin_token_lifetime
    } else {
        app.config.max_token_lifetime
    };
    let lifetime = if req.lifetime == 0 {
        app.config.default_token_lifetime.min(max)
    } else {
        Duration::from_nanos(req.lifetime as u64)
    };
    if lifetime > max {
        return Err(fail(format!(
            "lifetime must be less than {}",
            super::users::go_duration(max)
        )));
    }
    let mut scopes: Vec<String> = Vec::new();
    let requested: Vec<String> = if req.scopes.is_empty() {
        vec![if req.scope.is_empty() {
            "all".into()
        } else {
            req.scope.clone()
        }]
    } else {
        req.scopes.clone()
    };
    for s in requested {
        let normalized = match s.as_str() {
            "all" | "coder:all" => "coder:all",
            "application_connect" | "coder:application_connect" => "coder:application_connect",
            other => {
                return Err(ApiError::bad_request("Failed to create API key.")
                    .detail(format!("invalid or unsupported API key scope: {other:?}")))
            }
        };
        if !scopes.iter().any(|x| x == normalized) {
            scopes.push(normalized.to_string());
        }
    }
    let allow = if req.allow_list.is_empty() {
        all_scope().1
    } else {
        req.allow_list.iter().map(|t| t.0.clone()).collect()
    };
    let name = if req.token_name.is_empty() {
        crate::domain::names::random_docker_name()
    } else {
        req.token_name.clone()
    };
    if name.len() > MAX_TOKEN_NAME {
        return Err(ApiError::validation_failed(vec![
            crate::error::Validation {
                field: "token_name".into(),
                detail: format!("Validation failed for tag \"max\" with value: {name:?}"),
            },
        ]));
    }
    let key = auth::new_key(u.id, "token", lifetime, &name, scopes, allow, app.now());
    let row = key.row.clone();
    app.db
        .write(move |conn| {
            if api_keys::token_name_taken(conn, row.user_id, &row.token_name)? {
                return Err(ApiError::conflict(format!(
                    "A token with name {:?} already exists.",
                    row.token_name
                ))
                .validation("name", "This value is already in use and should be unique."));
            }
            Ok(api_keys::insert(conn, &row)?)
        })
        .await?;
    Ok(http::created(&crate::sdk::GenerateApiKeyResponse {
        key: key.token,
    }))
}

pub async fn list_tokens(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let u = key_owner(&app, &subject, path.into_inner(), Action::Read).await?;
    let q = Query::from_request(&req);
    // include_all lists every user's tokens, for those who may read them all.
    let everyone = Object::ApiKey {
        owner: uuid::Uuid::nil(),
    };
    let all = q.flag("include_all") && subject.can(Action::Read, everyone);
    let owner = if all { None } else { Some(u.id) };
    let rows = app
        .db
        .read(move |conn| Ok(api_keys::list_tokens(conn, owner)?))
        .await?;
    let out: Vec<sdk::ApiKeyWithOwner> = rows
        .iter()
        .filter(|(k, _)| subject.can(Action::Read, Object::ApiKey { owner: k.user_id }))
        .map(|(k, username)| sdk::ApiKeyWithOwner {
            key: render(k),
            username: username.clone(),
        })
        .collect();
    Ok(http::ok(&out))
}

pub async fn token_config(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let u = key_owner(&app, &subject, path.into_inner(), Action::Read).await?;
    let max = if u.rbac_roles.iter().any(|r| r == crate::authz::OWNER) {
        app.config.max_admin_token_lifetime
    } else {
        app.config.max_token_lifetime
    };
    Ok(http::ok(&crate::sdk::TokenConfig {
        max_token_lifetime: max.as_nanos() as u64,
    }))
}

pub async fn token_by_name(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (arg, name) = path.into_inner();
    let u = key_owner(&app, &subject, arg, Action::Read).await?;
    let key = app
        .db
        .read(move |conn| Ok(api_keys::get_by_token_name(conn, u.id, &name)?))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(http::ok(&render(&key)))
}

async fn owned_key(app: &App, user: &UserRow, id: String) -> ApiResult<api_keys::ApiKeyRow> {
    let uid = user.id;
    app.db
        .read(move |conn| Ok(api_keys::get(conn, &id)?))
        .await?
        .filter(|k| k.user_id == uid)
        .ok_or_else(ApiError::not_found)
}

pub async fn get(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (arg, id) = path.into_inner();
    let u = key_owner(&app, &subject, arg, Action::Read).await?;
    let key = owned_key(&app, &u, id).await?;
    Ok(http::ok(&render(&key)))
}

pub async fn delete(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (arg, id) = path.into_inner();
    let u = key_owner(&app, &subject, arg, Action::Delete).await?;
    let key = owned_key(&app, &u, id).await?;
    app.db
        .write(move |conn| Ok(api_keys::delete(conn, &key.id)?))
        .await?;
    Ok(HttpResponse::build(StatusCode::NO_CONTENT).finish())
}
