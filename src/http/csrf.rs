//! CSRF protection for cookie-authenticated writes, as Coder's middleware
//! (nosurf) does it: a non-GET request under `/api` that carries the session
//! cookie must prove it comes from warren's own page, by sending the session
//! token itself in the `Coder-Session-Token` header or the
//! `coder_session_token` query parameter (which a page elsewhere cannot
//! know), or a valid `X-CSRF-TOKEN` header. The token is bound to the
//! session: an HMAC-SHA256, under a per-deployment secret, of the API key id,
//! so it stays the same for the session's life and no other session's token
//! passes.

use actix_web::body::BoxBody;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::{web, ResponseError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::auth;
use crate::error::ApiError;
use crate::http::auth as http_auth;
use crate::App;

/// The cookie that hands the token to the page's JavaScript.
pub const COOKIE: &str = "csrf_token";
/// The header a page sends the token back in.
pub const HEADER: &str = "X-CSRF-TOKEN";
/// Coder's answer to a refused request.
pub const FAILED: &str = "Something is wrong with your CSRF token. Please refresh the page. If this error persists, try clearing your cookies.";
/// The settings row holding the deployment's secret.
pub const SECRET_SETTING: &str = "csrf_secret";

/// Issues and checks session-bound tokens.
pub struct Csrf {
    key: Vec<u8>,
}

impl Csrf {
    /// `secret` is the stored setting: base64 of random bytes.
    pub fn new(secret: &str) -> Result<Csrf, base64::DecodeError> {
        Ok(Csrf {
            key: URL_SAFE_NO_PAD.decode(secret)?,
        })
    }

    /// A fresh secret for a new deployment.
    pub fn new_secret() -> String {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[allow(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    fn mac(&self, key_id: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key size");
        mac.update(b"warren csrf v1\0");
        mac.update(key_id.as_bytes());
        mac
    }

    /// The token of the session whose API key id is `key_id`.
    pub fn token(&self, key_id: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(key_id).finalize().into_bytes())
    }

    /// Whether `sent` is the token of `key_id`'s session (constant time).
    pub fn verify(&self, key_id: &str, sent: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(sent.trim()) {
            Ok(tag) => self.mac(key_id).verify_slice(&tag).is_ok(),
            Err(_) => false,
        }
    }
}

/// The `csrf_token` cookie: readable by the page's script (not HttpOnly),
/// sent only to this site. `None` expires it.
pub fn cookie(app: &App, token: Option<&str>) -> Cookie<'static> {
    let mut c = Cookie::build(COOKIE, token.unwrap_or("").to_string())
        .path("/")
        .http_only(false)
        .same_site(SameSite::Lax)
        .secure(app.access_url.starts_with("https://"))
        .finish();
    if token.is_none() {
        c.set_max_age(CookieDuration::seconds(-1));
    }
    c
}

/// Paths that take writes without the check, as in Coder: first-user setup
/// and login (there is no session yet), and the agent's own API
/// (authenticated by the agent token).
fn exempt_path(path: &str) -> bool {
    path == "/api/v2/users/first"
        || path == "/api/v2/users/login"
        || path.starts_with("/api/v2/workspaceagents/me/")
}

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether the request may pass without (or with a valid) CSRF token.
fn allowed(req: &ServiceRequest, csrf: &Csrf) -> bool {
    if matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return true;
    }
    let path = req.path();
    if !path.starts_with("/api") || exempt_path(path) {
        return true;
    }
    // Only a cookie is attached by the browser on its own; without one there
    // is nothing to forge.
    let Some(cookie) = req.cookie(http_auth::COOKIE) else {
        return true;
    };
    let session = cookie.value();
    if session.is_empty() {
        return true;
    }
    let header = req
        .headers()
        .get(http_auth::HEADER)
        .and_then(|v| v.to_str().ok());
    if header.is_some_and(|h| same(h, session)) {
        return true;
    }
    let in_query = form_urlencoded::parse(req.query_string().as_bytes())
        .any(|(k, v)| k == http_auth::COOKIE && same(&v, session));
    if in_query {
        return true;
    }
    let Some(sent) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    match auth::parse_token(session) {
        Ok((key_id, _)) => csrf.verify(key_id, sent),
        Err(_) => false,
    }
}

/// The CSRF middleware; refused requests get Coder's message in a 400.
pub async fn middleware(
    req: ServiceRequest,
    next: actix_web::middleware::Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let pass = match req.app_data::<web::Data<App>>() {
        Some(app) => allowed(&req, &app.csrf),
        None => true,
    };
    if !pass {
        let res = ApiError::bad_request(FAILED).error_response();
        return Ok(req.into_response(res));
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_the_session_and_the_deployment() {
        let a = Csrf::new(&Csrf::new_secret()).unwrap();
        let b = Csrf::new(&Csrf::new_secret()).unwrap();
        let t = a.token("abcdefghij");
        assert_eq!(t, a.token("abcdefghij"));
        assert!(a.verify("abcdefghij", &t));
        assert!(!a.verify("abcdefghik", &t));
        assert!(!b.verify("abcdefghij", &t));
        assert!(!a.verify("abcdefghij", "not base64!"));
        assert!(!a.verify("abcdefghij", ""));
    }
}
