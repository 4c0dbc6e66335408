//! `POST /files` and `GET /files/{fileID}`.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::authz::Subject;
use crate::domain::files;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, Query};
use crate::App;

pub async fn upload(
    app: web::Data<App>,
    subject: Subject,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let is_zip = match content_type.as_str() {
        files::TAR => false,
        files::ZIP | "application/x-zip-compressed" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "Unsupported content type header {other:?}."
            )))
        }
    };
    let limit = app.config.max_file_bytes;
    // A declared size over the limit is refused before a byte is read.
    if http::content_length(&req).is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    let _pass = app.uploads.enter().await?;
    let spooled = files::spool(app.spool_dir.clone(), payload, limit).await?;
    let data = if is_zip {
        let dir = app.spool_dir.clone();
        web::block(move || files::zip_to_tar(spooled.file, limit, &dir))
            .await
            .map_err(ApiError::internal)??
    } else {
        spooled
    };
    let now = app.now();
    let uploader = subject.user_id;
    let (id, new) = app
        .db
        .write(move |conn| files::store(conn, uploader, data, now))
        .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(http::json(status, &crate::sdk::UploadResponse { hash: id }))
}

pub async fn download(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = Uuid::parse_str(&path.into_inner())
        .map_err(|_| ApiError::bad_request("File id must be a valid UUID."))?;
    let q = Query::from_request(&req);
    let format = q.get("format").unwrap_or("").to_string();
    if !matches!(format.as_str(), "" | "zip") {
        return Err(ApiError::bad_request("Unsupported conversion format."));
    }
    let file = app
        .db
        .read(move |conn| files::get(conn, &subject, id))
        .await?;
    if format == "zip" {
        let zipped = web::block(move || files::tar_to_zip(&file.data))
            .await
            .map_err(ApiError::internal)??;
        return Ok(HttpResponse::Ok().content_type(files::ZIP).body(zipped));
    }
    Ok(HttpResponse::Ok()
        .content_type(file.mimetype)
        .body(file.data))
}
