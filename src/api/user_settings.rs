//! A user's own settings: password checks, login type, appearance,
//! autofill of parameter values.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::authz::Subject;
use crate::domain::user_settings;
use crate::error::{ApiError, ApiResult, Validation};
use crate::http::{self, Body, Query};
use crate::sdk;
use crate::App;

/// `POST /users/validate-password`: open to all, as the setup page asks it
/// before any user exists.
pub async fn validate_password(Body(req): Body<sdk::ValidateUserPasswordRequest>) -> HttpResponse {
    http::ok(&user_settings::validate_password(&req.password))
}

pub async fn login_type(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let out = app
        .db
        .read(move |conn| user_settings::login_type(conn, &subject, &arg))
        .await?;
    Ok(http::ok(&out))
}

pub async fn appearance(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let out = app
        .db
        .read(move |conn| user_settings::appearance(conn, &subject, &arg))
        .await?;
    Ok(http::ok(&out))
}

pub async fn set_appearance(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<sdk::UpdateUserAppearanceSettingsRequest>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let now = app.now();
    let out = app
        .db
        .write(move |conn| user_settings::set_appearance(conn, &subject, &arg, &req, now))
        .await?;
    Ok(http::ok(&out))
}

/// `template_id` of an autofill request, checked as Coder's query
/// parser checks it (required, a UUID, no other parameters).
fn autofill_template(req: &HttpRequest) -> ApiResult<uuid::Uuid> {
    let q = Query::from_request(req);
    let mut problems = Vec::new();
    let mut template = None;
    match q.get("template_id") {
        None | Some("") => problems.push(Validation {
            field: "template_id".into(),
            detail: "Query param \"template_id\" is required and cannot be empty".into(),
        }),
        Some(v) => match uuid::Uuid::parse_str(v) {
            Ok(id) => template = Some(id),
            Err(_) => problems.push(Validation {
                field: "template_id".into(),
                detail: "Query param \"template_id\" must be a valid uuid".into(),
            }),
        },
    }
    for (k, _) in q.0.iter().filter(|(k, _)| k != "template_id") {
        problems.push(Validation {
            field: k.clone(),
            detail: format!("Query param {k:?} is not a valid query param"),
        });
    }
    match template {
        Some(id) if problems.is_empty() => Ok(id),
        _ => Err(ApiError::bad_request("Invalid query parameters.").with_validations(problems)),
    }
}

pub async fn autofill_parameters(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let template = autofill_template(&req)?;
    let arg = path.into_inner();
    let out = app
        .db
        .read(move |conn| user_settings::autofill(conn, &subject, &arg, template))
        .await?;
    Ok(http::ok(&out))
}
