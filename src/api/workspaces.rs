//! Workspace routes: create (both forms) and read.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::authz::Subject;
use crate::domain::workspaces::{self, CreateWorkspaceRequest};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, parse_uuid, Body, Query};
use crate::query::paging::Paging;
use crate::query::users::parse_user_query;
use crate::{sdk, App};

/// Go's strconv.ParseBool.
pub fn go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn include_deleted(req: &HttpRequest, field: &str) -> ApiResult<bool> {
    let q = Query::from_request(req);
    match q.get("include_deleted").filter(|s| !s.is_empty()) {
        None => Ok(false),
        Some(v) => go_bool(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid boolean value {v:?} for \"include_deleted\" query param."
            ))
            .validation(field, "Must be a valid boolean")
        }),
    }
}

/// `POST /organizations/{organization}/members/{user}/workspaces`.
pub async fn create_in_org(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
    Body(req): Body<CreateWorkspaceRequest>,
) -> ApiResult<HttpResponse> {
    let (org_arg, user_arg) = path.into_inner();
    let ctx = app.render_ctx();
    let out = app
        .db
        .write(move |conn| {
            workspaces::create_for(conn, &subject, Some(&org_arg), &user_arg, &req, &ctx)
        })
        .await?;
    app.provisioner.wake();
    Ok(http::created(&out))
}

/// `POST /users/{user}/workspaces`.
pub async fn create_for_user(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<CreateWorkspaceRequest>,
) -> ApiResult<HttpResponse> {
    let user_arg = path.into_inner();
    let ctx = app.render_ctx();
    let out = app
        .db
        .write(move |conn| workspaces::create_for(conn, &subject, None, &user_arg, &req, &ctx))
        .await?;
    app.provisioner.wake();
    Ok(http::created(&out))
}

/// `GET /workspaces/{workspace}`: the hot path, answered from the render
/// cache when nothing was written since the last render.
pub async fn get(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let deleted_ok = include_deleted(&req, "deleted")?;
    let cached = workspaces::cached(
        &app.db,
        &app.workspace_cache,
        &subject,
        id,
        app.render_ctx(),
    )
    .await?
    .ok_or_else(ApiError::not_found)?;
    if cached.deleted_for(&subject) == Some(true) && !deleted_ok {
        return Err(ApiError::new(
            StatusCode::GONE,
            format!("Workspace {:?} was deleted, you can view this workspace by specifying '?deleted=true' and trying again.", id.to_string()),
        ));
    }
    match cached.view(&subject) {
        Ok(seen) => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(seen.body)),
        Err(workspaces::Unseen::Hidden) => Err(ApiError::not_found()),
        Err(workspaces::Unseen::TemplateForbidden) => Err(ApiError::forbidden()),
    }
}

/// `GET /users/{user}/workspace/{workspacename}`.
pub async fn get_by_owner_and_name(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (user_arg, name) = path.into_inner();
    let deleted_ok = include_deleted(&req, "include_deleted")?;
    // The names are looked up once per caller while nothing is written;
    // the workspace itself comes from the render cache, as by id.
    let key = (
        subject.user_id,
        user_arg.to_lowercase(),
        name.to_lowercase(),
        deleted_ok,
    );
    let cache = &app.workspace_cache;
    let id = match cache.named(&key, app.db.generation()) {
        Some(id) => id,
        None => {
            let generation = app.db.generation();
            let s = subject.clone();
            let id = app
                .db
                .read(move |conn| {
                    workspaces::id_by_owner_and_name(conn, &s, &user_arg, &name, deleted_ok)
                })
                .await?;
            cache.name(key, generation, id);
            id
        }
    };
    let cached = workspaces::cached(&app.db, cache, &subject, id, app.render_ctx())
        .await?
        .ok_or_else(ApiError::not_found)?;
    // What the lookup checked (the workspace and its template visible)
    // holds for the cached body too, or nothing is shown.
    match cached.view(&subject) {
        Ok(seen) => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(seen.body)),
        Err(_) => Err(ApiError::not_found()),
    }
}

#[derive(Debug, serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct RenameRequest {
    name: String,
}

pub async fn rename(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<RenameRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let allow = app.config.allow_workspace_renames;
    let now = app.now();
    app.db
        .write(move |conn| {
            let w = workspaces::get(conn, &subject, id)?;
            workspaces::rename(conn, &subject, &w, &req.name, allow, now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct AutostartRequest {
    schedule: Option<String>,
}

pub async fn autostart(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<AutostartRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    app.db
        .write(move |conn| {
            let (w, t) = workspaces::get_with_template(conn, &subject, id)?;
            workspaces::set_autostart(conn, &subject, &w, &t, req.schedule.as_deref(), now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct TtlRequest {
    ttl_ms: Option<i64>,
}

pub async fn ttl(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<TtlRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    app.db
        .write(move |conn| {
            let (w, t) = workspaces::get_with_template(conn, &subject, id)?;
            workspaces::set_ttl(conn, &subject, &w, &t, req.ttl_ms, now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A time given as an RFC 3339 string or, as old clients send it, as
/// `{"time": "...", "valid": true}`.
fn time_input(v: &serde_json::Value) -> ApiResult<Option<sdk::Micros>> {
    let bad = |e: String| ApiError::bad_request("Request body must be valid JSON.").detail(e);
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.timestamp_micros()))
            .map_err(|e| bad(format!("deadline: {e}"))),
        serde_json::Value::Object(o) => {
            if o.get("valid").and_then(|v| v.as_bool()) == Some(false) {
                return Ok(None);
            }
            time_input(o.get("time").unwrap_or(&serde_json::Value::Null))
        }
        other => Err(bad(format!("deadline: invalid type {other}"))),
    }
}

#[derive(Debug, serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct ExtendRequest {
    deadline: serde_json::Value,
}

pub async fn extend(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<ExtendRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let deadline = time_input(&req.deadline)?.filter(|t| *t > sdk::ZERO_TIME_MICROS).ok_or_else(|| {
        ApiError::validation_failed(vec![crate::error::Validation {
            field: "deadline".into(),
            detail: "Validation failed for tag \"required\" with value: \"0001-01-01 00:00:00 +0000 UTC\"".into(),
        }])
    })?;
    let now = app.now();
    let new = app
        .db
        .write(move |conn| {
            let w = workspaces::get(conn, &subject, id)?;
            workspaces::extend(conn, &subject, &w, deadline, now)
        })
        .await?;
    let shown = sdk::to_datetime(new).format("%Y-%m-%dT%H:%M:%SZ");
    Ok(http::ok(&crate::error::Response::message(format!(
        "Deadline updated to {shown}."
    ))))
}

#[derive(Debug, serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct AutoupdatesRequest {
    automatic_updates: String,
}

pub async fn autoupdates(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<AutoupdatesRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    app.db
        .write(move |conn| {
            let w = workspaces::get(conn, &subject, id)?;
            workspaces::set_automatic_updates(conn, &subject, &w, &req.automatic_updates)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct DormantRequest {
    dormant: bool,
}

pub async fn dormant(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<DormantRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let ctx = app.render_ctx();
    let out = app
        .db
        .write(move |conn| workspaces::set_dormant(conn, &subject, id, req.dormant, &ctx))
        .await?;
    Ok(match out {
        Some(w) => http::ok(&w),
        None => HttpResponse::NotModified().finish(),
    })
}

async fn favorite(
    app: web::Data<App>,
    subject: Subject,
    id: String,
    value: bool,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&id)?;
    app.db
        .write(move |conn| {
            let w = workspaces::get(conn, &subject, id)?;
            workspaces::set_favorite(conn, &subject, &w, value)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn put_favorite(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    favorite(app, subject, path.into_inner(), true).await
}

pub async fn delete_favorite(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    favorite(app, subject, path.into_inner(), false).await
}

pub async fn usage(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    if body.len() > app.config.max_body_bytes {
        return Err(ApiError::too_large(app.config.max_body_bytes));
    }
    let req: Option<workspaces::UsageRequest> = if body.iter().all(|b| b.is_ascii_whitespace()) {
        None
    } else {
        Some(http::decode(&body)?)
    };
    let now = app.now();
    app.db
        .write(move |conn| {
            let (w, t) = workspaces::get_with_template(conn, &subject, id)?;
            workspaces::record_usage(conn, &subject, &w, &t, req.as_ref(), now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn resolve_autostart(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let mismatch = app
        .db
        .read(move |conn| workspaces::parameter_mismatch(conn, &subject, id))
        .await?;
    Ok(http::ok(&sdk::ResolveAutostartResponse {
        parameter_mismatch: mismatch,
    }))
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
            let w = workspaces::get(conn, &subject, id)?;
            workspaces::timings(conn, &w)
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn get_acl(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .read(move |conn| {
            let w = workspaces::get(conn, &subject, id)?;
            crate::domain::sharing::get(conn, &subject, &w)
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn patch_acl(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<crate::domain::sharing::UpdateAcl>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    app.db
        .write(move |conn| {
            let w = workspaces::get(conn, &subject, id)?;
            crate::domain::sharing::patch(conn, &subject, &w, &req)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn delete_acl(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    app.db
        .write(move |conn| {
            let w = workspaces::get(conn, &subject, id)?;
            crate::domain::sharing::clear(conn, &subject, &w)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /organizations/{organization}/members/{user}/workspaces/available-users`:
/// who the caller may pick as owner. Those who may create workspaces for any
/// member get the organization's members (without needing user-read
/// permission, seed 004); everyone else gets themselves.
pub async fn available_users(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (org_arg, user_arg) = path.into_inner();
    // The user search of `GET /users`, read the same way.
    let q = Query::from_request(&req);
    let filter = parse_user_query(q.get("q").unwrap_or(""))?;
    let page = Paging::capped().parse(&q.0)?;
    let out = app
        .db
        .read(move |conn| {
            crate::domain::organizations::available_workspace_owners(
                conn, &subject, &org_arg, &user_arg, filter, &page,
            )
        })
        .await?;
    Ok(http::ok(&out))
}
