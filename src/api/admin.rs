//! The bundled admin page: static files compiled into the binary.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{web, HttpResponse};
use include_dir::{include_dir, Dir};

use crate::error::{ApiError, ApiResult};

static STATIC: Dir = include_dir!("$CARGO_MANIFEST_DIR/static");

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

fn serve(path: &str) -> ApiResult<HttpResponse> {
    let file = STATIC
        .get_file(path)
        .ok_or_else(|| ApiError::new(actix_web::http::StatusCode::NOT_FOUND, "Route not found."))?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type(path)))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(file.contents()))
}

pub async fn index() -> ApiResult<HttpResponse> {
    serve("index.html")
}

pub async fn asset(path: web::Path<String>) -> ApiResult<HttpResponse> {
    serve(&path.into_inner())
}
