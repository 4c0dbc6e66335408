//! Uploaded archives, content-addressed per uploader.

use super::sql::{args, parse_uuid, Row, StoreResult, Tx};
use uuid::Uuid;

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

fn from_row(r: &Row) -> StoreResult<FileRow> {
    let id: String = r.get(0)?;
    let by: String = r.get(2)?;
    Ok(FileRow {
        id: parse_uuid(&id)?,
        hash: r.get(1)?,
        created_by: parse_uuid(&by)?,
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

/// Inserts a file of `len` bytes read from `data`, streamed into its row.
pub fn insert_streamed(
    tx: &Tx,
    f: &NewFile,
    len: u64,
    data: &mut dyn std::io::Read,
) -> StoreResult<()> {
    tx.insert_streamed(
        "INSERT INTO files (id, hash, created_by, mimetype, created_at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![f.id, f.hash, f.created_by, f.mimetype, f.created_at],
        "files",
        "data",
        len,
        data,
    )
}

pub fn get(tx: &Tx, id: Uuid) -> StoreResult<Option<FileRow>> {
    tx.query_opt(
        "SELECT id, hash, created_by, mimetype, data, created_at FROM files WHERE id = ?",
        args![id],
        from_row,
    )
}

pub fn id_by_hash(tx: &Tx, hash: &str, uploader: Uuid) -> StoreResult<Option<Uuid>> {
    tx.query_opt(
        "SELECT id FROM files WHERE hash = ? AND created_by = ?",
        args![hash, &uploader],
        |r| r.get(0),
    )
}

/// Templates with a version built from the file.
pub fn templates_of(tx: &Tx, file: Uuid) -> StoreResult<Vec<Uuid>> {
    tx.query(
        "SELECT DISTINCT v.template_id FROM provisioner_jobs j JOIN template_versions v ON v.job_id = j.id
         WHERE j.file_id = ? AND v.template_id IS NOT NULL",
        args![file],
        |r| r.get(0),
    )
}
