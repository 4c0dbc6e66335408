//! A template's access-control list: Coder's Premium template permissions.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::authz::Subject;
use crate::domain::templates::acl;
use crate::error::{ApiResult, Response};
use crate::http::{self, parse_uuid, Body, Query};
use crate::query::paging::Paging;
use crate::query::users::parse_user_query;
use crate::sdk::UpdateTemplateAcl;
use crate::App;

pub async fn get(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let out = app
        .db
        .read(move |conn| acl::get(conn, &subject, id))
        .await?;
    Ok(http::ok(&out))
}

pub async fn patch(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<UpdateTemplateAcl>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    app.db
        .write(move |conn| acl::patch(conn, &subject, id, &req))
        .await?;
    Ok(http::ok(&Response::message(
        "Successfully updated template ACL list.",
    )))
}

pub async fn available(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    // As Coder's user list: `q` before the paging parameters.
    let q = Query::from_request(&req);
    let filter = parse_user_query(q.get("q").unwrap_or(""))?;
    let page = Paging::capped().parse(&q.0)?;
    let out = app
        .db
        .read(move |conn| acl::available(conn, &subject, id, filter, &page))
        .await?;
    Ok(http::ok(&out))
}
