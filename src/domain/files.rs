//! Uploaded template archives: tar stored as is, zip converted to tar,
//! content-addressed per uploader.

use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;

use crate::domain::store::Tx;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::authz::{Action, Guarded, Object, Subject};
use crate::domain::store::files::{self as store, FileRow, NewFile};
use crate::error::{ApiError, ApiResult};
use crate::sdk::Micros;

pub const TAR: &str = "application/x-tar";
pub const ZIP: &str = "application/zip";

/// An upload spooled to an unnamed temporary file, with its length and
/// SHA-256; the file is positioned at its start.
pub struct Spooled {
    pub file: File,
    pub len: u64,
    pub hash: String,
}

/// Chunks of an upload in flight between the request and the spool writer.
const SPOOL_CHUNKS: usize = 16;
/// An upload whose client sends nothing for this long is abandoned.
const UPLOAD_IDLE: Duration = Duration::from_secs(30);

fn read_failed() -> ApiError {
    ApiError::bad_request("Failed to read file from request.")
}

/// Streams a request body of at most `limit` bytes into a temporary file in
/// `dir`, hashing it on the way: memory holds a few chunks, never the file.
pub async fn spool(
    dir: PathBuf,
    mut payload: actix_web::web::Payload,
    limit: usize,
) -> ApiResult<Spooled> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(SPOOL_CHUNKS);
    let writer = actix_web::web::block(move || -> ApiResult<Spooled> {
        let mut file = tempfile::tempfile_in(&dir).map_err(ApiError::internal)?;
        let mut hasher = Sha256::new();
        let mut len = 0u64;
        while let Some(chunk) = rx.blocking_recv() {
            hasher.update(&chunk);
            file.write_all(&chunk).map_err(ApiError::internal)?;
            len += chunk.len() as u64;
        }
        file.seek(SeekFrom::Start(0)).map_err(ApiError::internal)?;
        Ok(Spooled {
            file,
            len,
            hash: hex(&hasher.finalize()),
        })
    });
    let mut total = 0usize;
    loop {
        let next = tokio::time::timeout(UPLOAD_IDLE, payload.next())
            .await
            .map_err(|_| {
                read_failed().detail(format!("No data arrived for {}s.", UPLOAD_IDLE.as_secs()))
            })?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| read_failed().detail(e.to_string()))?;
        total += chunk.len();
        if total > limit {
            return Err(ApiError::too_large(limit));
        }
        if tx.send(chunk).await.is_err() {
            // The writer failed; its error is the answer.
            break;
        }
    }
    drop(tx);
    writer.await.map_err(ApiError::internal)?
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Converts a spooled zip archive to a spooled tar, refusing unsafe paths
/// and archives whose expanded size exceeds `limit`. Entries are streamed:
/// neither archive is held in memory.
pub fn zip_to_tar(zip: File, limit: usize, dir: &Path) -> ApiResult<Spooled> {
    let incomplete = || ApiError::bad_request("Incomplete .zip archive file.");
    let mut archive = zip::ZipArchive::new(BufReader::new(zip)).map_err(|_| incomplete())?;
    let out = tempfile::tempfile_in(dir).map_err(ApiError::internal)?;
    let mut tar = tar::Builder::new(BufWriter::new(out));
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|_| incomplete())?;
        let Some(path) = entry.enclosed_name() else {
            return Err(ApiError::bad_request("Invalid .zip archive contents."));
        };
        if entry.is_dir() {
            continue;
        }
        // The declared size bounds what is read, so a lying entry cannot
        // expand past the limit.
        let size = entry.size();
        total = total.saturating_add(size);
        if total > limit as u64 {
            return Err(ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "Expanded .zip archive exceeds maximum size.",
            ));
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(entry.unix_mode().unwrap_or(0o644) & 0o777);
        header.set_cksum();
        let mut data = Counted {
            inner: entry.take(size),
            count: 0,
        };
        tar.append_data(&mut header, &path, &mut data)
            .map_err(|_| incomplete())?;
        if data.count != size {
            return Err(incomplete());
        }
    }
    let mut file = tar
        .into_inner()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(ApiError::internal)?;
    let len = file.seek(SeekFrom::End(0)).map_err(ApiError::internal)?;
    file.seek(SeekFrom::Start(0)).map_err(ApiError::internal)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(ApiError::internal)?;
    file.seek(SeekFrom::Start(0)).map_err(ApiError::internal)?;
    Ok(Spooled {
        file,
        len,
        hash: hex(&hasher.finalize()),
    })
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

/// Stores a spooled upload, streaming it into the database; returns its id
/// and whether it was new.
pub fn store(
    conn: &Tx,
    uploader: Uuid,
    mut upload: Spooled,
    now: Micros,
) -> ApiResult<(Uuid, bool)> {
    if let Some(id) = store::id_by_hash(conn, &upload.hash, uploader)? {
        return Ok((id, false));
    }
    let id = crate::domain::new_id();
    store::insert_streamed(
        conn,
        &NewFile {
            id,
            hash: &upload.hash,
            created_by: uploader,
            mimetype: TAR,
            created_at: now,
        },
        upload.len,
        &mut upload.file,
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
        .any(|t| subject.can(Action::Update, t.object()))
    {
        return Ok(f);
    }
    Err(ApiError::not_found())
}
