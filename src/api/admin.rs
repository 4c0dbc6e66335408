//! The bundled admin page: static files compiled into the binary, served
//! with headers that keep other sites from framing it or injecting into it.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use include_dir::{include_dir, Dir};

use crate::auth;
use crate::authz::Subject;
use crate::csrf;
use crate::error::{ApiError, ApiResult};
use crate::App;

static STATIC: Dir = include_dir!("$CARGO_MANIFEST_DIR/static");

/// Only the page's own files: no inline script or style, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// A response of the admin page, security headers set.
fn page(content_type: &str) -> HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    res.insert_header((CONTENT_TYPE, content_type))
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"));
    res
}

fn file(path: &str) -> ApiResult<&'static include_dir::File<'static>> {
    STATIC
        .get_file(path)
        .ok_or_else(|| ApiError::new(actix_web::http::StatusCode::NOT_FOUND, "Route not found."))
}

/// The page. With a valid session cookie it carries the session's CSRF
/// token, in a `csrf_token` cookie and a `<meta property="csrf-token">` tag.
pub async fn index(
    app: web::Data<App>,
    req: HttpRequest,
    subject: Option<Subject>,
) -> ApiResult<HttpResponse> {
    let html = file("index.html")?
        .contents_utf8()
        .ok_or_else(|| ApiError::internal("index.html is not UTF-8"))?;
    let has_cookie = req
        .cookie(auth::COOKIE)
        .is_some_and(|c| !c.value().is_empty());
    // The cookie comes first among the token's sources, so the subject is
    // the cookie's session when there is one.
    let token = subject
        .filter(|_| has_cookie)
        .map(|s| app.csrf.token(&s.key_id));
    let mut res = page(content_type("index.html"));
    // The page may carry a session's token: never stored by a cache.
    res.insert_header((CACHE_CONTROL, "no-store"));
    Ok(match token {
        Some(t) => {
            let meta = format!("<meta property=\"csrf-token\" content=\"{t}\">\n</head>");
            res.cookie(csrf::cookie(&app, Some(&t)))
                .body(html.replacen("</head>", &meta, 1))
        }
        None => res.body(html),
    })
}

pub async fn asset(path: web::Path<String>) -> ApiResult<HttpResponse> {
    let path = path.into_inner();
    let f = file(&path)?;
    Ok(page(content_type(&path))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(f.contents()))
}
