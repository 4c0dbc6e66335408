//! Group routes.

use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::authz::Subject;
use crate::domain::groups::{self, CreateGroupRequest, PatchGroupRequest};
use crate::domain::organizations;
use crate::error::{ApiError, ApiResult, Response, Validation};
use crate::http::{self, parse_uuid, Body, Query};
use crate::App;

pub async fn list_in_org(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let out = app
        .db
        .read(move |conn| {
            groups::search(
                conn,
                &subject,
                groups::GroupQuery {
                    organization: Some(arg),
                    has_member: None,
                    ids: None,
                },
            )
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn create(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<CreateGroupRequest>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let now = app.now();
    let out = app
        .db
        .write(move |conn| {
            let org = organizations::resolve(conn, &subject, &arg)?;
            let g = groups::create(conn, &subject, &org, &req, now)?;
            groups::render(conn, &g)
        })
        .await?;
    Ok(http::created(&out))
}

pub async fn get_by_name(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (arg, name) = path.into_inner();
    let out = app
        .db
        .read(move |conn| {
            let g = groups::get_by_name(conn, &subject, &arg, &name)?;
            groups::render(conn, &g)
        })
        .await?;
    Ok(http::ok(&out))
}

/// `GET /groups?organization=&has_member=&group_ids=`.
pub async fn list(
    app: web::Data<App>,
    subject: Subject,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let q = Query::from_request(&req);
    let org = q
        .get("organization")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let member = q
        .get("has_member")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let mut bad = Vec::new();
    let ids = match q.get("group_ids").filter(|s| !s.is_empty()) {
        None => None,
        Some(list) => {
            let mut ids = Vec::new();
            for part in list.split(',') {
                match Uuid::parse_str(part.trim()) {
                    Ok(id) => ids.push(id),
                    Err(_) => bad.push(Validation {
                        field: "group_ids".into(),
                        detail: format!("Query param \"group_ids\" has invalid uuids: {part:?}"),
                    }),
                }
            }
            Some(ids)
        }
    };
    if !bad.is_empty() {
        return Err(
            ApiError::bad_request("Query parameters have invalid values.").with_validations(bad),
        );
    }
    let query = groups::GroupQuery {
        organization: org,
        has_member: member,
        ids,
    };
    let out = app
        .db
        .read(move |conn| groups::search(conn, &subject, query))
        .await?;
    Ok(http::ok(&out))
}

pub async fn get(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .read(move |conn| {
            let g = groups::get(conn, &subject, id)?;
            groups::render(conn, &g)
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn patch(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<PatchGroupRequest>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .write(move |conn| {
            let g = groups::get(conn, &subject, id)?;
            let g = groups::patch(conn, &subject, &g, &req)?;
            groups::render(conn, &g)
        })
        .await?;
    Ok(http::ok(&out))
}

pub async fn delete(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    app.db
        .write(move |conn| {
            let g = groups::get(conn, &subject, id)?;
            groups::delete(conn, &subject, &g)
        })
        .await?;
    Ok(http::ok(&Response::message("Successfully deleted group!")))
}
