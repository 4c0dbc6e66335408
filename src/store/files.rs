//! Uploaded archives, content-addressed per uploader.

use rusqlite::{params, Connection};
use uuid::Uuid;

use super::optional;
use crate::error::ApiResult;
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

pub fn insert(conn: &Connection, f: &FileRow) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO files (id, hash, created_by, mimetype, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![f.id.to_string(), f.hash, f.created_by.to_string(), f.mimetype, f.data, f.created_at],
    )?;
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
