//! Uploaded template archives: tar stored as is, zip converted to tar,
//! content-addressed per uploader.

use std::io::{Cursor, Read, Write};

use crate::domain::store::Tx;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::authz::{Action, Object, Subject};
use crate::domain::store::files::{self as store, FileRow};
use crate::error::{ApiError, ApiResult};
use crate::sdk::Micros;

pub const TAR: &str = "application/x-tar";
pub const ZIP: &str = "application/zip";

/// Converts a zip archive to tar, refusing unsafe paths and archives whose
/// expanded size exceeds `limit`.
pub fn zip_to_tar(bytes: &[u8], limit: usize) -> ApiResult<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| ApiError::bad_request("Incomplete .zip archive file."))?;
    let mut out = tar::Builder::new(Vec::new());
    let mut total = 0usize;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|_| ApiError::bad_request("Incomplete .zip archive file."))?;
        let Some(path) = entry.enclosed_name() else {
            return Err(ApiError::bad_request("Invalid .zip archive contents."));
        };
        if entry.is_dir() {
            continue;
        }
        let mut data = Vec::new();
        (&mut entry)
            .take((limit - total.min(limit)) as u64 + 1)
            .read_to_end(&mut data)
            .map_err(|_| ApiError::bad_request("Incomplete .zip archive file."))?;
        total += data.len();
        if total > limit {
            return Err(ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "Expanded .zip archive exceeds maximum size.",
            ));
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(entry.unix_mode().unwrap_or(0o644) & 0o777);
        header.set_cksum();
        out.append_data(&mut header, &path, data.as_slice())
            .map_err(|_| ApiError::bad_request("Invalid .zip archive contents."))?;
    }
    out.into_inner().map_err(ApiError::internal)
}

/// Converts a stored tar archive to zip (`GET /files/{id}?format=zip`).
pub fn tar_to_zip(bytes: &[u8]) -> ApiResult<Vec<u8>> {
    let mut archive = tar::Archive::new(bytes);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for entry in archive.entries().map_err(ApiError::internal)? {
        let mut entry = entry.map_err(ApiError::internal)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(ApiError::internal)?
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(ApiError::internal)?;
        zip.start_file(path, options).map_err(ApiError::internal)?;
        zip.write_all(&data).map_err(ApiError::internal)?;
    }
    Ok(zip.finish().map_err(ApiError::internal)?.into_inner())
}

/// Stores an upload; returns its id and whether it was new.
pub fn store(conn: &Tx, uploader: Uuid, data: Vec<u8>, now: Micros) -> ApiResult<(Uuid, bool)> {
    let hash = hex(&Sha256::digest(&data));
    if let Some(id) = store::id_by_hash(conn, &hash, uploader)? {
        return Ok((id, false));
    }
    let id = Uuid::new_v4();
    store::insert(
        conn,
        &FileRow {
            id,
            hash,
            created_by: uploader,
            mimetype: TAR.into(),
            data,
            created_at: now,
        },
    )?;
    Ok((id, true))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file the subject may read: as Coder, its uploader and those the
/// decision table names, or whoever may update a template built from it.
pub fn get(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<FileRow> {
    let f = store::get(conn, id)?.ok_or_else(ApiError::not_found)?;
    if subject.can(
        Action::Read,
        Object::File {
            owner: f.created_by,
        },
    ) {
        return Ok(f);
    }
    let templates =
        crate::domain::store::templates::list_any(conn, &store::templates_of(conn, id)?)?;
    if templates
        .iter()
        .any(|t| subject.can(Action::Update, crate::domain::templates::object(t)))
    {
        return Ok(f);
    }
    Err(ApiError::not_found())
}
