//! Workspace routes: create (both forms) and read.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::authz::{Action, Subject};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, parse_uuid, Body, Query};
use crate::store::templates as template_store;
use crate::store::workspaces as store;
use crate::workspaces::{self, CreateWorkspaceRequest};
use crate::{organizations, sdk, templates, users, App};

/// Renders one workspace for the subject.
pub fn render_one(
    conn: &rusqlite::Connection,
    app: &App,
    subject: &Subject,
    w: &store::WorkspaceRow,
) -> ApiResult<serde_json::Value> {
    Ok(workspaces::render_many(
        conn,
        subject,
        std::slice::from_ref(w),
        app.config.allow_workspace_renames,
        sdk::now(),
        app.inactive_timeout_us(),
    )?
    .remove(0))
}

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
    let now = sdk::now();
    let a = app.clone();
    let out = app
        .db
        .write(move |conn| {
            let org = organizations::resolve(conn, &subject, &org_arg)?;
            let owner = users::resolve(conn, &subject, &user_arg)?;
            organizations::member(conn, &subject, &org, &owner)?;
            workspaces::validate_create(&req)?;
            let w = workspaces::create(conn, &subject, &owner, Some(org.id), &req, now)?;
            render_one(conn, &a, &subject, &w)
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
    let now = sdk::now();
    let a = app.clone();
    let out = app
        .db
        .write(move |conn| {
            let owner = users::resolve(conn, &subject, &user_arg)?;
            workspaces::validate_create(&req)?;
            if !subject.can(Action::Read, users::object(&owner)) {
                // Without read access to the user, the owner must be a member
                // of the template's organization that the caller can see.
                let tid = req.template_id.unwrap_or_default();
                let t = template_store::get(conn, tid)?
                    .filter(|t| subject.can(Action::Read, templates::object(t)))
                    .ok_or_else(ApiError::not_found)?;
                let org = crate::store::organizations::get(conn, t.organization_id)?
                    .ok_or_else(ApiError::not_found)?;
                organizations::member(conn, &subject, &org, &owner)?;
            }
            let w = workspaces::create(conn, &subject, &owner, None, &req, now)?;
            render_one(conn, &a, &subject, &w)
        })
        .await?;
    app.provisioner.wake();
    Ok(http::created(&out))
}

/// `GET /workspaces/{workspace}`.
pub async fn get(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let deleted_ok = include_deleted(&req, "deleted")?;
    let a = app.clone();
    let out = app
        .db
        .read(move |conn| {
            let w = workspaces::get(conn, &subject, id)?;
            if w.deleted && !deleted_ok {
                return Err(ApiError::new(
                    StatusCode::GONE,
                    format!("Workspace {:?} was deleted, you can view this workspace by specifying '?deleted=true' and trying again.", id.to_string()),
                ));
            }
            let t = template_store::get_any(conn, w.template_id)?.ok_or_else(ApiError::not_found)?;
            subject.require(Action::Read, templates::object(&t))?;
            render_one(conn, &a, &subject, &w)
        })
        .await?;
    Ok(http::ok(&out))
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
    let a = app.clone();
    let out = app
        .db
        .read(move |conn| {
            let owner = users::resolve(conn, &subject, &user_arg)?;
            let w = match store::get_by_owner_name(conn, owner.id, &name, false)? {
                Some(w) => Some(w),
                None if deleted_ok => store::get_by_owner_name(conn, owner.id, &name, true)?,
                None => None,
            }
            .ok_or_else(ApiError::not_found)?;
            subject.require_visible(Action::Read, workspaces::object(&w))?;
            let t =
                template_store::get_any(conn, w.template_id)?.ok_or_else(ApiError::not_found)?;
            subject.require_visible(Action::Read, templates::object(&t))?;
            render_one(conn, &a, &subject, &w)
        })
        .await?;
    Ok(http::ok(&out))
}

/// The workspace id of a path, for routes nested under it.
pub fn workspace_id(s: &str) -> ApiResult<Uuid> {
    parse_uuid(s)
}
