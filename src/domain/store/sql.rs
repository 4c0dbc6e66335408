//! The engine seam: the only code that speaks to a database driver.
//!
//! Entity modules write each statement once, in the SQL both engines accept
//! (`?` and `?N` placeholders, integers for booleans and times, text for
//! ids), bind values through [`Param`] and read columns through [`Row`].
//! Everything they return is a store-owned type or a [`StoreError`]; no
//! driver type leaves this module.

use std::borrow::Cow;

use uuid::Uuid;

pub type StoreResult<T> = Result<T, StoreError>;

/// What can go wrong in storage, in terms the domain can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A statement that must return a row returned none.
    #[error("no such row")]
    NotFound,
    /// A unique or primary-key constraint refused the write (a race the
    /// domain's own check lost); carries the driver's description.
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    /// The database stayed locked past the busy timeout.
    #[error("the database is busy")]
    Busy,
    /// A stored value is not what the schema promises (an id that is not a
    /// UUID, a column of the wrong type).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode;
        match &e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            rusqlite::Error::SqliteFailure(f, msg) => match f.code {
                ErrorCode::ConstraintViolation
                    if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
                {
                    StoreError::Conflict(msg.clone().unwrap_or_else(|| e.to_string()))
                }
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy,
                ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                    StoreError::Corrupt(e.to_string())
                }
                _ => StoreError::Other(e.to_string()),
            },
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Other(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> StoreError {
        StoreError::Corrupt(format!("stored JSON: {e}"))
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> StoreError {
        StoreError::Other(format!("connection pool: {e}"))
    }
}

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(Cow<'a, str>),
    Blob(&'a [u8]),
}

impl Param<'static> {
    /// Owned text, for parameter lists built at run time.
    pub fn text(s: impl Into<String>) -> Param<'static> {
        Param::Text(Cow::Owned(s.into()))
    }

    pub fn uuid(id: Uuid) -> Param<'static> {
        Param::Text(Cow::Owned(id.to_string()))
    }

    /// One parameter per id, for `IN (…)` lists.
    pub fn uuids(ids: &[Uuid]) -> Vec<Param<'static>> {
        ids.iter().map(|i| Param::uuid(*i)).collect()
    }
}

/// A Rust value that binds as a [`Param`].
pub trait ToParam {
    fn to_param(&self) -> Param<'_>;
}

impl<T: ToParam + ?Sized> ToParam for &T {
    fn to_param(&self) -> Param<'_> {
        (**self).to_param()
    }
}

impl ToParam for i64 {
    fn to_param(&self) -> Param<'_> {
        Param::Int(*self)
    }
}

impl ToParam for i32 {
    fn to_param(&self) -> Param<'_> {
        Param::Int(i64::from(*self))
    }
}

impl ToParam for u32 {
    fn to_param(&self) -> Param<'_> {
        Param::Int(i64::from(*self))
    }
}

impl ToParam for bool {
    fn to_param(&self) -> Param<'_> {
        Param::Int(i64::from(*self))
    }
}

impl ToParam for f64 {
    fn to_param(&self) -> Param<'_> {
        Param::Real(*self)
    }
}

impl ToParam for str {
    fn to_param(&self) -> Param<'_> {
        Param::Text(Cow::Borrowed(self))
    }
}

impl ToParam for String {
    fn to_param(&self) -> Param<'_> {
        Param::Text(Cow::Borrowed(self.as_str()))
    }
}

impl ToParam for Uuid {
    fn to_param(&self) -> Param<'_> {
        Param::Text(Cow::Owned(self.to_string()))
    }
}

impl ToParam for [u8] {
    fn to_param(&self) -> Param<'_> {
        Param::Blob(self)
    }
}

impl ToParam for Vec<u8> {
    fn to_param(&self) -> Param<'_> {
        Param::Blob(self.as_slice())
    }
}

/// JSON columns are stored as text.
impl ToParam for serde_json::Value {
    fn to_param(&self) -> Param<'_> {
        Param::Text(Cow::Owned(self.to_string()))
    }
}

impl<T: ToParam> ToParam for Option<T> {
    fn to_param(&self) -> Param<'_> {
        match self {
            Some(v) => v.to_param(),
            None => Param::Null,
        }
    }
}

impl<'a> ToParam for Param<'a> {
    fn to_param(&self) -> Param<'_> {
        self.clone()
    }
}

/// `args![a, b, c]`: the parameters of one statement.
macro_rules! args {
    () => { &[] as &[$crate::domain::store::sql::Param<'_>] };
    ($($v:expr),+ $(,)?) => {
        &[$($crate::domain::store::sql::ToParam::to_param(&$v)),+]
    };
}
pub(crate) use args;

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Param::Null => ValueRef::Null,
            Param::Int(i) => ValueRef::Integer(*i),
            Param::Real(f) => ValueRef::Real(*f),
            Param::Text(s) => ValueRef::Text(s.as_bytes()),
            Param::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// One result row.
pub struct Row<'r> {
    inner: &'r rusqlite::Row<'r>,
}

impl Row<'_> {
    /// Column `i` (0-based) as `T`.
    pub fn get<T: FromColumn>(&self, i: usize) -> StoreResult<T> {
        T::from_sqlite(self.inner, i)
    }
}

/// A Rust type a column reads into.
pub trait FromColumn: Sized {
    fn from_sqlite(row: &rusqlite::Row<'_>, i: usize) -> StoreResult<Self>;
}

macro_rules! plain_column {
    ($($t:ty),*) => {$(
        impl FromColumn for $t {
            fn from_sqlite(row: &rusqlite::Row<'_>, i: usize) -> StoreResult<Self> {
                Ok(row.get(i)?)
            }
        }
    )*};
}
plain_column!(
    i64,
    Option<i64>,
    bool,
    Option<bool>,
    f64,
    Option<f64>,
    String,
    Option<String>,
    Vec<u8>,
    Option<Vec<u8>>
);

impl FromColumn for Uuid {
    fn from_sqlite(row: &rusqlite::Row<'_>, i: usize) -> StoreResult<Self> {
        let text: String = row.get(i)?;
        parse_uuid(&text)
    }
}

impl FromColumn for Option<Uuid> {
    fn from_sqlite(row: &rusqlite::Row<'_>, i: usize) -> StoreResult<Self> {
        let text: Option<String> = row.get(i)?;
        text.as_deref().map(parse_uuid).transpose()
    }
}

/// A stored id; one that does not parse is corruption, never the nil UUID.
pub fn parse_uuid(text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("{text:?} is not a UUID")))
}

/// A stored JSON text column decoded into `T`.
pub fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    Ok(serde_json::from_str(text)?)
}

/// The connection a transaction runs on.
enum Engine<'c> {
    Sqlite(&'c rusqlite::Connection),
}

/// An open transaction: every entity function takes one. Reads see one
/// snapshot; writes commit or roll back together (see `Db`).
pub struct Tx<'c> {
    engine: Engine<'c>,
}

impl<'c> Tx<'c> {
    pub(super) fn sqlite(conn: &'c rusqlite::Connection) -> Tx<'c> {
        Tx {
            engine: Engine::Sqlite(conn),
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub fn execute(&self, sql: &str, args: &[Param<'_>]) -> StoreResult<usize> {
        match &self.engine {
            Engine::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(args.iter()))?)
            }
        }
    }

    /// Runs several statements without parameters (schema changes).
    pub fn execute_batch(&self, sql: &str) -> StoreResult<()> {
        match &self.engine {
            Engine::Sqlite(c) => Ok(c.execute_batch(sql)?),
        }
    }

    /// Calls `f` for each row, in order, stopping at its first error.
    pub fn each(
        &self,
        sql: &str,
        args: &[Param<'_>],
        mut f: impl FnMut(&Row<'_>) -> StoreResult<()>,
    ) -> StoreResult<()> {
        match &self.engine {
            Engine::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                while let Some(r) = rows.next()? {
                    f(&Row { inner: r })?;
                }
                Ok(())
            }
        }
    }

    /// Every row, mapped by `f`.
    pub fn query<T>(
        &self,
        sql: &str,
        args: &[Param<'_>],
        mut f: impl FnMut(&Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, args, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, if any.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        args: &[Param<'_>],
        f: impl FnOnce(&Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        match &self.engine {
            Engine::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                match rows.next()? {
                    Some(r) => Ok(Some(f(&Row { inner: r })?)),
                    None => Ok(None),
                }
            }
        }
    }

    /// The first row; [`StoreError::NotFound`] when there is none.
    pub fn query_one<T>(
        &self,
        sql: &str,
        args: &[Param<'_>],
        f: impl FnOnce(&Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.query_opt(sql, args, f)?.ok_or(StoreError::NotFound)
    }

    /// A single value of the first row (counts, ids, flags).
    pub fn value<T: FromColumn>(&self, sql: &str, args: &[Param<'_>]) -> StoreResult<T> {
        self.query_one(sql, args, |r| r.get(0))
    }

    /// Inserts one row whose last column, `blob_column`, takes `len` bytes
    /// read from `data`. SQLite writes them in place through incremental
    /// blob I/O, so the contents never sit in memory whole. `sql` is an
    /// INSERT whose last parameter is the blob.
    pub fn insert_streamed(
        &self,
        sql: &str,
        args: &[Param<'_>],
        table: &str,
        blob_column: &str,
        len: u64,
        data: &mut dyn std::io::Read,
    ) -> StoreResult<()> {
        match &self.engine {
            Engine::Sqlite(c) => {
                let size = i32::try_from(len)
                    .map_err(|_| StoreError::Other(format!("a blob of {len} bytes")))?;
                let mut stmt = c.prepare_cached(sql)?;
                let mut bound: Vec<&dyn rusqlite::ToSql> =
                    args.iter().map(|a| a as &dyn rusqlite::ToSql).collect();
                let zero = rusqlite::blob::ZeroBlob(size);
                bound.push(&zero);
                stmt.execute(bound.as_slice())?;
                let row = c.last_insert_rowid();
                let table =
                    std::ffi::CString::new(table).map_err(|e| StoreError::Other(e.to_string()))?;
                let column = std::ffi::CString::new(blob_column)
                    .map_err(|e| StoreError::Other(e.to_string()))?;
                let mut blob = c.blob_open(
                    rusqlite::MAIN_DB,
                    table.as_c_str(),
                    column.as_c_str(),
                    row,
                    false,
                )?;
                let copied = std::io::copy(data, &mut blob)
                    .map_err(|e| StoreError::Other(format!("writing a blob: {e}")))?;
                if copied != len {
                    return Err(StoreError::Other(format!(
                        "wrote {copied} of {len} bytes into {blob_column}"
                    )));
                }
                Ok(())
            }
        }
    }

    /// Runs `f` inside a savepoint: its writes are undone when it fails,
    /// and the surrounding transaction goes on.
    pub fn savepoint<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.execute_batch("SAVEPOINT warren_unit")?;
        match f(self) {
            Ok(v) => {
                self.execute_batch("RELEASE warren_unit")?;
                Ok(v)
            }
            Err(e) => {
                self.execute_batch("ROLLBACK TO warren_unit; RELEASE warren_unit")?;
                Err(e)
            }
        }
    }
}

/// `?,?,?` for `n` list items.
pub fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 2);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push('?');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_tx(f: impl FnOnce(&Tx<'_>)) {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, flag INTEGER, b BLOB, j TEXT)",
        )
        .unwrap();
        f(&Tx::sqlite(&conn));
    }

    #[test]
    fn binds_and_reads_every_kind() {
        with_tx(|tx| {
            let id = Uuid::new_v4();
            let blob = vec![1u8, 2, 3];
            let none: Option<i64> = None;
            tx.execute(
                "INSERT INTO t (id, n, flag, b, j) VALUES (?1, ?2, ?3, ?4, ?5)",
                args![id, none, true, blob, serde_json::json!({"a": 1})],
            )
            .unwrap();
            let row = tx
                .query_one(
                    "SELECT id, n, flag, b, j FROM t WHERE id = ?",
                    args![id],
                    |r| {
                        Ok((
                            r.get::<Uuid>(0)?,
                            r.get::<Option<i64>>(1)?,
                            r.get::<bool>(2)?,
                            r.get::<Vec<u8>>(3)?,
                            parse_json::<serde_json::Value>(&r.get::<String>(4)?)?,
                        ))
                    },
                )
                .unwrap();
            assert_eq!(row, (id, None, true, blob, serde_json::json!({"a": 1})));
            assert_eq!(tx.value::<i64>("SELECT count(*) FROM t", args![]), Ok(1));
        });
    }

    #[test]
    fn errors_are_the_store_s_own() {
        with_tx(|tx| {
            tx.execute("INSERT INTO t (id) VALUES ('not-a-uuid')", args![])
                .unwrap();
            assert!(matches!(
                tx.value::<Uuid>("SELECT id FROM t", args![]),
                Err(StoreError::Corrupt(_))
            ));
            assert!(matches!(
                tx.execute("INSERT INTO t (id) VALUES ('not-a-uuid')", args![]),
                Err(StoreError::Conflict(_))
            ));
            assert_eq!(
                tx.value::<i64>("SELECT n FROM t WHERE id = 'none'", args![]),
                Err(StoreError::NotFound)
            );
        });
    }

    #[test]
    fn a_failed_savepoint_undoes_only_its_own_writes() {
        with_tx(|tx| {
            tx.execute("INSERT INTO t (id) VALUES ('kept')", args![])
                .unwrap();
            let r: Result<(), StoreError> = tx.savepoint(|tx| {
                tx.execute("INSERT INTO t (id) VALUES ('undone')", args![])?;
                Err(StoreError::Other("boom".into()))
            });
            assert!(r.is_err());
            let ids = tx
                .query("SELECT id FROM t ORDER BY id", args![], |r| {
                    r.get::<String>(0)
                })
                .unwrap();
            assert_eq!(ids, vec!["kept".to_string()]);
        });
    }
}
