//! Uploaded archives, content-addressed per uploader.

use std::io::Read;

use rusqlite::blob::ZeroBlob;
use rusqlite::{params, Connection, MAIN_DB};
use uuid::Uuid;

use super::optional;
use crate::error::{ApiError, ApiResult};
use crate::sdk::Micros;

#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: Uuid,
    pub hash: String,
    pub created_by: Uuid,
    pub mimetype: String,
    pub data: Vec<u8>,
    pub created_at: Micros,
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<FileRow> {
    let id: String = r.get(0)?;
    let by: String = r.get(2)?;
    Ok(FileRow {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        hash: r.get(1)?,
        created_by: Uuid::parse_str(&by).unwrap_or_default(),
        mimetype: r.get(3)?,
        data: r.get(4)?,
        created_at: r.get(5)?,
    })
}

/// A file row to insert; its contents are streamed in separately.
pub struct NewFile<'a> {
    pub id: Uuid,
    pub hash: &'a str,
    pub created_by: Uuid,
    pub mimetype: &'a str,
    pub created_at: Micros,
}

/// Inserts a file of `len` bytes read from `data`, written through SQLite's
/// incremental blob I/O so that the contents never sit in memory whole.
pub fn insert_streamed(
    conn: &Connection,
    f: &NewFile,
    len: u64,
    data: &mut impl Read,
) -> ApiResult<()> {
    let size = i32::try_from(len).map_err(ApiError::internal)?;
    conn.execute(
        "INSERT INTO files (id, hash, created_by, mimetype, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![f.id.to_string(), f.hash, f.created_by.to_string(), f.mimetype, ZeroBlob(size), f.created_at],
    )?;
    let row = conn.last_insert_rowid();
    let mut blob = conn.blob_open(MAIN_DB, c"files", c"data", row, false)?;
    let copied = std::io::copy(data, &mut blob).map_err(ApiError::internal)?;
    if copied != len {
        return Err(ApiError::internal(format!(
            "stored {copied} of {len} bytes of file {}",
            f.id
        )));
    }
    Ok(())
}

pub fn get(conn: &Connection, id: Uuid) -> ApiResult<Option<FileRow>> {
    optional(conn.query_row(
        "SELECT id, hash, created_by, mimetype, data, created_at FROM files WHERE id = ?",
        [id.to_string()],
        from_row,
    ))
}

pub fn id_by_hash(conn: &Connection, hash: &str, uploader: Uuid) -> ApiResult<Option<Uuid>> {
    let id: Option<String> = optional(conn.query_row(
        "SELECT id FROM files WHERE hash = ? AND created_by = ?",
        [hash, &uploader.to_string()],
        |r| r.get(0),
    ))?;
    Ok(id.and_then(|s| Uuid::parse_str(&s).ok()))
}
