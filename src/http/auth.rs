//! Who is calling: the session token from Coder's five sources, and the
//! extractor that turns it into a [`Subject`].

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use crate::authz::Subject;
use crate::domain::auth;
use crate::error::ApiError;
use crate::App;

pub const COOKIE: &str = "coder_session_token";
pub const HEADER: &str = "Coder-Session-Token";

/// The token of a request, from the first non-empty of Coder's five sources.
pub fn token_from_request(req: &HttpRequest) -> Option<String> {
    let query = || form_urlencoded::parse(req.query_string().as_bytes());
    let from_query = |key: &str| {
        query()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.into_owned())
    };
    if let Some(c) = req.cookie(COOKIE).filter(|c| !c.value().is_empty()) {
        return Some(c.value().to_string());
    }
    if let Some(t) = from_query(COOKIE) {
        return Some(t);
    }
    if let Some(h) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        if !h.is_empty() {
            return Some(h.to_string());
        }
    }
    if let Some(h) = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
    {
        if let Some((scheme, rest)) = h.split_once(' ') {
            if scheme.eq_ignore_ascii_case("bearer") && !rest.trim().is_empty() {
                return Some(rest.trim().to_string());
            }
        }
    }
    from_query("access_token")
}

impl FromRequest for Subject {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Subject, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let app = req.app_data::<web::Data<App>>().cloned();
        let token = token_from_request(req);
        Box::pin(async move {
            let app = app.ok_or_else(|| ApiError::internal("application state missing"))?;
            let token = token.ok_or_else(|| {
                ApiError::unauthorized(
                    "Cookie \"coder_session_token\" or query parameter must be provided.",
                )
            })?;
            auth::subject_for(&app.db, &app.auth_cache, token, app.now()).await
        })
    }
}
