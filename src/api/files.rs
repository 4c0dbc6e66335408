//! `POST /files` and `GET /files/{fileID}`.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
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
    mut payload: web::Payload,
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
    let mut data = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::bad_request("Failed to read file from request."))?;
        if data.len() + chunk.len() > limit {
            return Err(http::too_large(limit));
        }
        data.extend_from_slice(&chunk);
    }
    let data = if is_zip {
        web::block(move || files::zip_to_tar(&data, limit))
            .await
            .map_err(ApiError::internal)??
    } else {
        data
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
