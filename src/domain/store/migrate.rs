//! `warren migrate`: copies a SQLite database into an empty PostgreSQL one,
//! table by table in one PostgreSQL transaction, and verifies each table's
//! row count and checksum before committing.

use std::path::Path;

use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use super::sql::{Param, PgConn, Tx, Value};
use super::{postgres, OpenError, StoreError, SCHEMA_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0} does not exist")]
    NoSource(String),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("reading {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("writing {target}: {source}")]
    Postgres { target: String, source: StoreError },
    #[error("{target} is not empty (table {table} holds {rows} rows); refusing to write into it")]
    NotEmpty {
        target: String,
        table: String,
        rows: i64,
    },
    #[error("{target} holds warren schema version {found}, this binary writes {SCHEMA_VERSION}; start this warren on it once, or use an empty database")]
    Version { target: String, found: i64 },
    #[error("table {table}: {detail}")]
    Schema { table: String, detail: String },
    #[error("verification failed for table {table}: the source has {source_rows} rows (checksum {source_sum}), the copy {target_rows} (checksum {target_sum}); nothing was written")]
    Mismatch {
        table: String,
        source_rows: i64,
        source_sum: String,
        target_rows: i64,
        target_sum: String,
    },
}

/// What was copied of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableReport {
    pub table: String,
    pub rows: i64,
    /// SHA-256 (hex, first 16 bytes) over the table's rows, the same on both
    /// sides: each row is digested in a typed encoding, and the sorted row
    /// digests are digested again, so the order rows come back in does not
    /// matter.
    pub checksum: String,
}

/// One value in the checksum's encoding: a type tag, then its bytes.
fn encode(out: &mut Vec<u8>, v: &Value<'_>) {
    match v {
        Value::Null => out.push(0),
        Value::Int(i) => {
            out.push(1);
            out.extend_from_slice(&i.to_be_bytes());
        }
        Value::Real(f) => {
            out.push(2);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Value::Text(t) => {
            out.push(3);
            out.extend_from_slice(&(t.len() as u64).to_be_bytes());
            out.extend_from_slice(t.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(4);
            out.extend_from_slice(&(b.len() as u64).to_be_bytes());
            out.extend_from_slice(b);
        }
    }
}

fn from_sqlite(v: ValueRef<'_>) -> Result<Value<'_>, String> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(std::str::from_utf8(t).map_err(|e| e.to_string())?),
        ValueRef::Blob(b) => Value::Bytes(b),
    })
}

fn to_param(v: ValueRef<'_>) -> Param<'static> {
    match v {
        ValueRef::Null => Param::Null,
        ValueRef::Integer(i) => Param::Int(i),
        ValueRef::Real(f) => Param::Real(f),
        ValueRef::Text(t) => Param::text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Param::Blob(std::borrow::Cow::Owned(b.to_vec())),
    }
}

/// Row digests, sorted, digested again.
#[derive(Default)]
struct Checksum {
    rows: Vec<[u8; 32]>,
}

impl Checksum {
    fn add(&mut self, values: &[Value<'_>]) {
        let mut buf = Vec::new();
        for v in values {
            encode(&mut buf, v);
        }
        self.rows.push(Sha256::digest(&buf).into());
    }

    fn finish(mut self) -> (i64, String) {
        self.rows.sort_unstable();
        let mut h = Sha256::new();
        for r in &self.rows {
            h.update(r);
        }
        let d = h.finalize();
        let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
        (self.rows.len() as i64, hex)
    }
}

/// A table to copy: its name, the columns both sides have, and whether the
/// PostgreSQL side keeps SQLite's `rowid` as a column of its own.
struct Table {
    name: String,
    columns: Vec<String>,
    /// The tables its foreign keys point at.
    references: Vec<String>,
    rowid: bool,
}

/// `tables` in an order that copies each table after the ones it
/// references, as PostgreSQL checks every foreign key on insert. SQLite's
/// own order is creation order, which a migration that rebuilt a table
/// (version 3's `files`) no longer keeps.
fn referenced_first(mut left: Vec<Table>) -> Result<Vec<Table>, MigrateError> {
    let mut ordered: Vec<Table> = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready = left.iter().position(|t| {
            t.references
                .iter()
                .all(|r| *r == t.name || ordered.iter().any(|o| o.name == *r))
        });
        match ready {
            Some(i) => ordered.push(left.remove(i)),
            None => {
                return Err(MigrateError::Schema {
                    table: left
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    detail: "foreign keys refer to each other or to a missing table".into(),
                })
            }
        }
    }
    Ok(ordered)
}

fn quoted(cols: &[String]) -> String {
    cols.iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Copies `from` into the empty PostgreSQL database `to`; `progress` hears
/// of each table once it is copied and verified.
pub fn sqlite_to_postgres(
    from: &Path,
    to: &str,
    mut progress: impl FnMut(&TableReport),
) -> Result<Vec<TableReport>, MigrateError> {
    let shown_from = from.display().to_string();
    let shown_to = postgres::redact(to);
    if !from.is_file() {
        return Err(MigrateError::NoSource(shown_from));
    }
    // Brings an older file to this binary's schema (and refuses a foreign
    // or newer one), then folds its log into the file.
    let source_db = super::Db::open(from)?;
    source_db.close();
    drop(source_db);
    let sqlite_err = |source| MigrateError::Sqlite {
        path: shown_from.clone(),
        source,
    };
    let mut src =
        rusqlite::Connection::open_with_flags(from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(sqlite_err)?;
    // One snapshot of the source for the whole copy.
    let src = src.transaction().map_err(sqlite_err)?;

    let cfg = postgres::config(to)?;
    let pg_err = |source: StoreError| MigrateError::Postgres {
        target: shown_to.clone(),
        source,
    };
    {
        let mut probe = cfg
            .connect(::postgres::NoTls)
            .map_err(|e| pg_err(e.into()))?;
        let has_schema: bool = probe
            .query_one("SELECT to_regclass('warren_schema') IS NOT NULL", &[])
            .map_err(|e| pg_err(e.into()))?
            .get(0);
        if has_schema {
            let found: Option<i64> = probe
                .query_opt("SELECT version FROM warren_schema", &[])
                .map_err(|e| pg_err(e.into()))?
                .map(|r| r.get(0));
            // A newer or foreign one is refused by prepare_schema; an older
            // one is not migrated here, since nothing may be written to a
            // database that is not empty.
            if let Some(found) = found.filter(|v| *v < SCHEMA_VERSION) {
                return Err(MigrateError::Version {
                    target: shown_to,
                    found,
                });
            }
        }
    }
    postgres::prepare_schema(to, &cfg)?;
    let client = cfg
        .connect(::postgres::NoTls)
        .map_err(|e| pg_err(e.into()))?;
    let mut conn = PgConn::new(client);

    let mut tables = Vec::new();
    {
        let mut names = src
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
            )
            .map_err(sqlite_err)?;
        let names: Vec<String> = names
            .query_map([], |r| r.get(0))
            .map_err(sqlite_err)?
            .collect::<Result<_, _>>()
            .map_err(sqlite_err)?;
        for name in names {
            let mut info = src
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{name}') ORDER BY cid"
                ))
                .map_err(sqlite_err)?;
            let columns: Vec<String> = info
                .query_map([], |r| r.get(0))
                .map_err(sqlite_err)?
                .collect::<Result<_, _>>()
                .map_err(sqlite_err)?;
            let mut refs = src
                .prepare(&format!(
                    "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list('{name}')"
                ))
                .map_err(sqlite_err)?;
            let references: Vec<String> = refs
                .query_map([], |r| r.get(0))
                .map_err(sqlite_err)?
                .collect::<Result<_, _>>()
                .map_err(sqlite_err)?;
            tables.push(Table {
                name,
                columns,
                references,
                rowid: false,
            });
        }
    }
    let mut tables = referenced_first(tables)?;

    conn.begin_write().map_err(pg_err)?;
    let result = copy_all(&src, &mut conn, &mut tables, &shown_to, &mut progress);
    match result {
        Ok(reports) => {
            conn.commit(None).map_err(pg_err)?;
            // Planner statistics for the bulk-loaded tables now, rather
            // than whenever autovacuum comes by.
            conn.client
                .batch_execute("ANALYZE")
                .map_err(|e| pg_err(e.into()))?;
            Ok(reports)
        }
        Err(e) => {
            conn.rollback();
            Err(e)
        }
    }
}

fn copy_all(
    src: &rusqlite::Connection,
    conn: &mut PgConn,
    tables: &mut [Table],
    target: &str,
    progress: &mut impl FnMut(&TableReport),
) -> Result<Vec<TableReport>, MigrateError> {
    let pg_err = |source: StoreError| MigrateError::Postgres {
        target: target.to_string(),
        source,
    };
    let sqlite_err = |source| MigrateError::Sqlite {
        path: "the source".into(),
        source,
    };
    // Refuse a target holding any row, and learn each table's columns.
    for t in tables.iter_mut() {
        let tx = Tx::postgres(conn);
        let pg_cols: Vec<String> = tx
            .query(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
                &[Param::text(t.name.clone())],
                |r| r.get(0),
            )
            .map_err(pg_err)?;
        if pg_cols.is_empty() {
            return Err(MigrateError::Schema {
                table: t.name.clone(),
                detail: "missing from the PostgreSQL schema".into(),
            });
        }
        for c in &t.columns {
            if !pg_cols.contains(c) {
                return Err(MigrateError::Schema {
                    table: t.name.clone(),
                    detail: format!("column {c} is missing from the PostgreSQL schema"),
                });
            }
        }
        for c in &pg_cols {
            if c == "rowid" {
                t.rowid = true;
            } else if !t.columns.contains(c) {
                return Err(MigrateError::Schema {
                    table: t.name.clone(),
                    detail: format!("column {c} is missing from the SQLite database"),
                });
            }
        }
        let rows: i64 = tx
            .value(&format!("SELECT count(*) FROM \"{}\"", t.name), &[])
            .map_err(pg_err)?;
        if rows > 0 {
            return Err(MigrateError::NotEmpty {
                target: target.to_string(),
                table: t.name.clone(),
                rows,
            });
        }
    }
    // The rows arrive with the maintained columns of `workspaces` as the
    // source's triggers kept them; the target's triggers, which would
    // recompute them halfway (a workspace before its builds), are off
    // until the copy is done. (Within the transaction: a failed copy
    // leaves them on.)
    let switch_triggers = |conn: &mut PgConn, how: &str| {
        for t in tables.iter() {
            Tx::postgres(conn)
                .execute(
                    &format!("ALTER TABLE \"{}\" {how} TRIGGER USER", t.name),
                    &[],
                )
                .map_err(pg_err)?;
        }
        Ok::<(), MigrateError>(())
    };
    switch_triggers(conn, "DISABLE")?;
    let mut reports = Vec::new();
    for t in tables.iter() {
        let mut cols = t.columns.clone();
        if t.rowid {
            cols.insert(0, "rowid".into());
        }
        // SQLite's rowid is selected under its own name.
        let select = format!(
            "SELECT {} FROM \"{}\"",
            cols.iter()
                .map(|c| if c == "rowid" && t.rowid {
                    "rowid".to_string()
                } else {
                    format!("\"{c}\"")
                })
                .collect::<Vec<_>>()
                .join(", "),
            t.name
        );
        let per_row = cols.len();
        let batch = (30_000 / per_row).clamp(1, 500);
        let mut source_sum = Checksum::default();
        let mut pending: Vec<Param<'static>> = Vec::new();
        let mut pending_rows = 0usize;
        let flush = |conn: &mut PgConn, params: &mut Vec<Param<'static>>, n: &mut usize| {
            if *n == 0 {
                return Ok(());
            }
            let row = format!("({})", vec!["?"; per_row].join(", "));
            let sql = format!(
                "INSERT INTO \"{}\" ({}) VALUES {}",
                t.name,
                quoted(&cols),
                vec![row; *n].join(", ")
            );
            Tx::postgres(conn).execute(&sql, params)?;
            params.clear();
            *n = 0;
            Ok::<(), StoreError>(())
        };
        let mut stmt = src.prepare(&select).map_err(sqlite_err)?;
        let mut rows = stmt.query([]).map_err(sqlite_err)?;
        while let Some(r) = rows.next().map_err(sqlite_err)? {
            let mut values = Vec::with_capacity(per_row);
            for i in 0..per_row {
                let v = r.get_ref(i).map_err(sqlite_err)?;
                pending.push(to_param(v));
                values.push(from_sqlite(v).map_err(|detail| MigrateError::Schema {
                    table: t.name.clone(),
                    detail,
                })?);
            }
            source_sum.add(&values);
            pending_rows += 1;
            if pending_rows == batch {
                flush(conn, &mut pending, &mut pending_rows).map_err(pg_err)?;
            }
        }
        flush(conn, &mut pending, &mut pending_rows).map_err(pg_err)?;
        // Sequences continue after the copied ids.
        for c in &cols {
            let tx = Tx::postgres(conn);
            let seq: Option<String> = tx
                .value(
                    "SELECT pg_get_serial_sequence(?, ?)",
                    &[Param::text(t.name.clone()), Param::text(c.clone())],
                )
                .map_err(pg_err)?;
            if let Some(seq) = seq {
                tx.value::<i64>(
                    &format!(
                        "SELECT setval('{seq}', COALESCE((SELECT max(\"{c}\") FROM \"{}\"), 0) + 1, false)",
                        t.name
                    ),
                    &[],
                )
                .map_err(pg_err)?;
            }
        }
        // Read the copy back, within the transaction.
        let mut target_sum = Checksum::default();
        let read_back = format!("SELECT {} FROM \"{}\"", quoted(&cols), t.name);
        let copied = conn
            .client
            .query(&read_back, &[])
            .map_err(|e| pg_err(e.into()))?;
        for row in &copied {
            let mut values = Vec::with_capacity(per_row);
            for i in 0..per_row {
                values.push(super::sql::pg_value(row, i).map_err(pg_err)?);
            }
            target_sum.add(&values);
        }
        let (source_rows, source_sum) = source_sum.finish();
        let (target_rows, target_sum) = target_sum.finish();
        if source_rows != target_rows || source_sum != target_sum {
            return Err(MigrateError::Mismatch {
                table: t.name.clone(),
                source_rows,
                source_sum,
                target_rows,
                target_sum,
            });
        }
        let report = TableReport {
            table: t.name.clone(),
            rows: source_rows,
            checksum: source_sum,
        };
        progress(&report);
        reports.push(report);
    }
    switch_triggers(conn, "ENABLE")?;
    Ok(reports)
}
