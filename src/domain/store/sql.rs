//! The engine seam: the only code that speaks to a database driver.
//!
//! Entity modules write each statement once, in the SQL both engines accept
//! (`?` and `?N` placeholders, integers for booleans and times, text for
//! ids), bind values through [`Param`] and read columns through [`Row`].
//! Everything they return is a store-owned type or a [`StoreError`]; no
//! driver type leaves this module.
//!
//! On PostgreSQL a statement is first put into its dialect
//! ([`super::translate`]), prepared once per connection, and bound by the
//! types PostgreSQL inferred for its parameters: an integer bound where a
//! boolean is expected (`?1 OR …`) is sent as one, and columns read back
//! whatever integer width or boolean PostgreSQL chose for an expression.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use postgres::types::{FromSql, IsNull, ToSql, Type};

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

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        use postgres::error::SqlState;
        let Some(code) = e.code() else {
            return StoreError::Other(e.to_string());
        };
        let text = || {
            e.as_db_error()
                .map(|d| d.to_string())
                .unwrap_or_else(|| e.to_string())
        };
        if *code == SqlState::UNIQUE_VIOLATION {
            StoreError::Conflict(text())
        } else if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::LOCK_NOT_AVAILABLE
            || *code == SqlState::TOO_MANY_CONNECTIONS
        {
            StoreError::Busy
        } else if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED {
            StoreError::Corrupt(text())
        } else {
            StoreError::Other(text())
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
    Blob(Cow<'a, [u8]>),
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
        Param::Blob(Cow::Borrowed(self))
    }
}

impl ToParam for Vec<u8> {
    fn to_param(&self) -> Param<'_> {
        Param::Blob(Cow::Borrowed(self.as_slice()))
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
    inner: RowRef<'r>,
}

enum RowRef<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    /// Column `i` (0-based) as `T`.
    pub fn get<T: FromColumn>(&self, i: usize) -> StoreResult<T> {
        match self.inner {
            RowRef::Sqlite(r) => T::from_sqlite(r, i),
            RowRef::Postgres(r) => T::from_value(pg_value(r, i)?),
        }
    }
}

/// A PostgreSQL column value, decoded by its type.
#[derive(Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// A column's raw bytes, whatever its type; decoded by [`pg_value`].
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

pub(super) fn pg_value<'a>(row: &'a postgres::Row, i: usize) -> StoreResult<Value<'a>> {
    let ty = row
        .columns()
        .get(i)
        .ok_or_else(|| StoreError::Corrupt(format!("no column {i}")))?
        .type_()
        .clone();
    let Raw(raw) = row
        .try_get::<_, Raw>(i)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let Some(b) = raw else {
        return Ok(Value::Null);
    };
    let wrong = || StoreError::Corrupt(format!("column {i}: {} bytes of {ty}", b.len()));
    let int = |n: usize| -> StoreResult<i64> {
        let bytes = b.get(..n).filter(|_| b.len() == n).ok_or_else(wrong)?;
        let mut wide = [if bytes[0] & 0x80 != 0 { 0xff } else { 0 }; 8];
        wide[8 - n..].copy_from_slice(bytes);
        Ok(i64::from_be_bytes(wide))
    };
    let text = |b: &'a [u8]| std::str::from_utf8(b).map_err(|_| wrong());
    Ok(match ty {
        Type::BOOL => Value::Int(i64::from(*b.first().ok_or_else(wrong)? != 0)),
        Type::INT2 => Value::Int(int(2)?),
        Type::INT4 | Type::OID => Value::Int(int(4)?),
        Type::INT8 => Value::Int(int(8)?),
        Type::FLOAT4 => Value::Real(f64::from(f32::from_bits(int(4)? as u32))),
        Type::FLOAT8 => Value::Real(f64::from_bits(int(8)? as u64)),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
            Value::Text(text(b)?)
        }
        // Binary jsonb is a version byte, then the text.
        Type::JSONB => Value::Text(text(b.get(1..).ok_or_else(wrong)?)?),
        Type::BYTEA => Value::Bytes(b),
        _ => {
            return Err(StoreError::Corrupt(format!(
                "column {i}: unsupported type {ty}"
            )))
        }
    })
}

/// A Rust type a column reads into.
pub trait FromColumn: Sized {
    fn from_sqlite(row: &rusqlite::Row<'_>, i: usize) -> StoreResult<Self>;
    fn from_value(v: Value<'_>) -> StoreResult<Self>;
}

fn mismatch<T>(v: &Value<'_>, want: &str) -> StoreResult<T> {
    Err(StoreError::Corrupt(format!("{v:?} is not {want}")))
}

/// The non-null reading of a column; `Option<T>` adds NULL.
trait FromValue: Sized {
    fn from_present(v: Value<'_>) -> StoreResult<Self>;
}

impl FromValue for i64 {
    fn from_present(v: Value<'_>) -> StoreResult<Self> {
        match v {
            Value::Int(i) => Ok(i),
            v => mismatch(&v, "an integer"),
        }
    }
}

impl FromValue for bool {
    fn from_present(v: Value<'_>) -> StoreResult<Self> {
        match v {
            Value::Int(i) => Ok(i != 0),
            v => mismatch(&v, "a boolean"),
        }
    }
}

impl FromValue for f64 {
    fn from_present(v: Value<'_>) -> StoreResult<Self> {
        match v {
            Value::Real(f) => Ok(f),
            Value::Int(i) => Ok(i as f64),
            v => mismatch(&v, "a number"),
        }
    }
}

impl FromValue for String {
    fn from_present(v: Value<'_>) -> StoreResult<Self> {
        match v {
            Value::Text(t) => Ok(t.to_string()),
            v => mismatch(&v, "text"),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_present(v: Value<'_>) -> StoreResult<Self> {
        match v {
            Value::Bytes(b) => Ok(b.to_vec()),
            v => mismatch(&v, "bytes"),
        }
    }
}

impl FromValue for Uuid {
    fn from_present(v: Value<'_>) -> StoreResult<Self> {
        match v {
            Value::Text(t) => parse_uuid(t),
            v => mismatch(&v, "a UUID"),
        }
    }
}

macro_rules! plain_column {
    ($($t:ty),*) => {$(
        impl FromColumn for $t {
            fn from_sqlite(row: &rusqlite::Row<'_>, i: usize) -> StoreResult<Self> {
                Ok(row.get(i)?)
            }
            fn from_value(v: Value<'_>) -> StoreResult<Self> {
                match v {
                    Value::Null => mismatch(&v, stringify!($t)),
                    v => <$t>::from_present(v),
                }
            }
        }
        impl FromColumn for Option<$t> {
            fn from_sqlite(row: &rusqlite::Row<'_>, i: usize) -> StoreResult<Self> {
                Ok(row.get(i)?)
            }
            fn from_value(v: Value<'_>) -> StoreResult<Self> {
                match v {
                    Value::Null => Ok(None),
                    v => <$t>::from_present(v).map(Some),
                }
            }
        }
    )*};
}
plain_column!(i64, bool, f64, String, Vec<u8>);

impl FromColumn for Uuid {
    fn from_sqlite(row: &rusqlite::Row<'_>, i: usize) -> StoreResult<Self> {
        let text: String = row.get(i)?;
        parse_uuid(&text)
    }
    fn from_value(v: Value<'_>) -> StoreResult<Self> {
        match v {
            Value::Null => mismatch(&v, "a UUID"),
            v => Uuid::from_present(v),
        }
    }
}

impl FromColumn for Option<Uuid> {
    fn from_sqlite(row: &rusqlite::Row<'_>, i: usize) -> StoreResult<Self> {
        let text: Option<String> = row.get(i)?;
        text.as_deref().map(parse_uuid).transpose()
    }
    fn from_value(v: Value<'_>) -> StoreResult<Self> {
        match v {
            Value::Null => Ok(None),
            v => Uuid::from_present(v).map(Some),
        }
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

/// A parameter as PostgreSQL receives it: converted to the type it
/// inferred for the placeholder.
struct PgArg<'a>(&'a Param<'a>);

impl std::fmt::Debug for PgArg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for PgArg<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        let unexpected = || -> BoxError { format!("cannot bind {:?} as {ty}", self.0).into() };
        let is_text = matches!(
            *ty,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
        );
        match self.0 {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(i) => match *ty {
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT8 => i.to_sql(ty, out),
                Type::FLOAT4 | Type::FLOAT8 => (*i as f64).to_sql(&Type::FLOAT8, out),
                _ if is_text => i.to_string().as_str().to_sql(&Type::TEXT, out),
                _ => Err(unexpected()),
            },
            Param::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ if is_text => f.to_string().as_str().to_sql(&Type::TEXT, out),
                _ => Err(unexpected()),
            },
            Param::Text(t) => match *ty {
                _ if is_text => t.as_ref().to_sql(&Type::TEXT, out),
                Type::JSON => {
                    out.extend_from_slice(t.as_bytes());
                    Ok(IsNull::No)
                }
                Type::JSONB => {
                    out.extend_from_slice(&[1]);
                    out.extend_from_slice(t.as_bytes());
                    Ok(IsNull::No)
                }
                Type::INT8 => t.parse::<i64>()?.to_sql(ty, out),
                _ => Err(unexpected()),
            },
            Param::Blob(b) => match *ty {
                Type::BYTEA => b.as_ref().to_sql(ty, out),
                _ => Err(unexpected()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// The types a parameter bound to NULL is tried as, when PostgreSQL cannot
/// infer its type: those of warren's columns.
const NULL_GUESSES: [Type; 4] = [Type::INT8, Type::TEXT, Type::BYTEA, Type::BOOL];

/// Prepared statements kept per PostgreSQL connection.
const STATEMENT_CACHE: usize = 512;

/// A pooled PostgreSQL connection and the statements prepared on it.
pub struct PgConn {
    pub(super) client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
    /// A transaction was begun and not yet ended (a panic can leave one
    /// open); the next use rolls it back first.
    pub(super) in_tx: bool,
}

impl PgConn {
    pub(super) fn new(client: postgres::Client) -> PgConn {
        PgConn {
            client,
            statements: HashMap::new(),
            in_tx: false,
        }
    }

    /// `sql` (SQLite's dialect) prepared in PostgreSQL's, once per
    /// connection. A parameter whose type PostgreSQL cannot infer (`?1 IS
    /// NULL OR …` names it first where nothing says its type) is given the
    /// type of the value bound to it.
    fn statement(&mut self, sql: &str, args: &[Param<'_>]) -> StoreResult<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let translated = super::translate::to_postgres(sql);
        // Oid 0: "infer it".
        let unspecified = Type::new(
            "unspecified".into(),
            0,
            postgres::types::Kind::Simple,
            "pg_catalog".into(),
        );
        let mut types: Vec<Type> = Vec::new();
        let mut guessing: Option<(usize, usize)> = None;
        // A refused statement aborts the transaction it was prepared in;
        // a savepoint keeps the transaction usable for the next attempt.
        let guard = self.in_tx;
        if guard {
            self.client.batch_execute("SAVEPOINT warren_prepare")?;
        }
        let stmt = loop {
            let prepared = if types.is_empty() {
                self.client.prepare(&translated)
            } else {
                self.client.prepare_typed(&translated, &types)
            };
            if guard {
                self.client.batch_execute(if prepared.is_ok() {
                    "RELEASE warren_prepare"
                } else {
                    "ROLLBACK TO warren_prepare"
                })?;
            }
            match prepared {
                Ok(s) => break s,
                Err(e) => {
                    let indeterminate = e
                        .as_db_error()
                        .filter(|d| {
                            *d.code() == postgres::error::SqlState::INDETERMINATE_DATATYPE
                                || *d.code() == postgres::error::SqlState::AMBIGUOUS_PARAMETER
                        })
                        .and_then(|d| d.message().rsplit('$').next()?.parse::<usize>().ok())
                        .filter(|n| {
                            *n >= 1
                                && *n <= args.len()
                                && types.get(n - 1).is_none_or(|t| t.oid() == 0)
                        });
                    if let Some(n) = indeterminate {
                        if types.len() < n {
                            types.resize(n, unspecified.clone());
                        }
                        types[n - 1] = match &args[n - 1] {
                            Param::Int(_) => Type::INT8,
                            Param::Real(_) => Type::FLOAT8,
                            Param::Blob(_) => Type::BYTEA,
                            Param::Text(_) => Type::TEXT,
                            // NULL says nothing: try each type warren
                            // stores until the statement accepts one.
                            Param::Null => {
                                guessing = Some((n - 1, 0));
                                NULL_GUESSES[0].clone()
                            }
                        };
                        continue;
                    }
                    match guessing {
                        Some((i, g)) if g + 1 < NULL_GUESSES.len() => {
                            guessing = Some((i, g + 1));
                            types[i] = NULL_GUESSES[g + 1].clone();
                        }
                        _ => {
                            log::error!("postgres refused a statement: {e}: {translated}");
                            return Err(e.into());
                        }
                    }
                }
            }
        };
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    /// Runs `sql` with `args`; the rows it returns.
    fn query(&mut self, sql: &str, args: &[Param<'_>]) -> StoreResult<Vec<postgres::Row>> {
        let stmt = self.statement(sql, args)?;
        let bound: Vec<PgArg> = args.iter().map(PgArg).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|a| a as _).collect();
        Ok(self.client.query(&stmt, &refs)?)
    }

    fn execute(&mut self, sql: &str, args: &[Param<'_>]) -> StoreResult<u64> {
        let stmt = self.statement(sql, args)?;
        let bound: Vec<PgArg> = args.iter().map(PgArg).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|a| a as _).collect();
        Ok(self.client.execute(&stmt, &refs)?)
    }
}

/// Which SQL dialect a transaction speaks, for the few statements that
/// need an engine's own fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The connection a transaction runs on.
enum Engine<'c> {
    Sqlite(&'c rusqlite::Connection),
    Postgres(RefCell<&'c mut PgConn>),
}

/// Whether a statement changes rows (it may return them with RETURNING).
fn is_write(sql: &str) -> bool {
    let head = sql.trim_start().get(..6).unwrap_or("");
    ["INSERT", "UPDATE", "DELETE"]
        .iter()
        .any(|k| head.eq_ignore_ascii_case(k))
}

/// An open transaction: every entity function takes one. Reads see one
/// snapshot; writes commit or roll back together (see `Db`).
pub struct Tx<'c> {
    engine: Engine<'c>,
    /// Some statement changed a row (PostgreSQL; SQLite counts its own).
    wrote: Cell<bool>,
}

impl<'c> Tx<'c> {
    pub(super) fn sqlite(conn: &'c rusqlite::Connection) -> Tx<'c> {
        Tx {
            engine: Engine::Sqlite(conn),
            wrote: Cell::new(false),
        }
    }

    pub(super) fn postgres(conn: &'c mut PgConn) -> Tx<'c> {
        Tx {
            engine: Engine::Postgres(RefCell::new(conn)),
            wrote: Cell::new(false),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.engine {
            Engine::Sqlite(_) => Dialect::Sqlite,
            Engine::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Whether a statement of this transaction changed a row (PostgreSQL).
    pub(super) fn wrote(&self) -> bool {
        self.wrote.get()
    }

    /// Runs a statement; returns the number of rows it changed.
    pub fn execute(&self, sql: &str, args: &[Param<'_>]) -> StoreResult<usize> {
        match &self.engine {
            Engine::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(args.iter()))?)
            }
            Engine::Postgres(c) => {
                let n = c.borrow_mut().execute(sql, args)?;
                if n > 0 {
                    self.wrote.set(true);
                }
                Ok(n as usize)
            }
        }
    }

    /// Runs several statements without parameters (schema changes,
    /// savepoints), as written: no dialect translation.
    pub fn execute_batch(&self, sql: &str) -> StoreResult<()> {
        match &self.engine {
            Engine::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Engine::Postgres(c) => Ok(c.borrow_mut().client.batch_execute(sql)?),
        }
    }

    /// PostgreSQL's rows of a statement. The connection is released before
    /// the caller sees them, so it may run statements while reading.
    fn pg_rows(&self, sql: &str, args: &[Param<'_>]) -> StoreResult<Vec<postgres::Row>> {
        let Engine::Postgres(c) = &self.engine else {
            return Err(StoreError::Other("not a PostgreSQL transaction".into()));
        };
        let rows = c.borrow_mut().query(sql, args)?;
        if !rows.is_empty() && is_write(sql) {
            self.wrote.set(true);
        }
        Ok(rows)
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
                    f(&Row {
                        inner: RowRef::Sqlite(r),
                    })?;
                }
                Ok(())
            }
            Engine::Postgres(_) => {
                for r in &self.pg_rows(sql, args)? {
                    f(&Row {
                        inner: RowRef::Postgres(r),
                    })?;
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
                    Some(r) => Ok(Some(f(&Row {
                        inner: RowRef::Sqlite(r),
                    })?)),
                    None => Ok(None),
                }
            }
            Engine::Postgres(_) => match self.pg_rows(sql, args)?.first() {
                Some(r) => Ok(Some(f(&Row {
                    inner: RowRef::Postgres(r),
                })?)),
                None => Ok(None),
            },
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
    /// blob I/O, so the contents never sit in memory whole. PostgreSQL has
    /// no such I/O on a `BYTEA`: the contents are read and bound whole (as
    /// every file read loads them; the upload gate bounds how many at
    /// once). `sql` is an INSERT whose last parameter is the blob.
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
            Engine::Postgres(_) => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut std::io::Read::take(data, len), &mut bytes)
                    .map_err(|e| StoreError::Other(format!("reading a blob: {e}")))?;
                if bytes.len() as u64 != len {
                    return Err(StoreError::Other(format!(
                        "read {} of {len} bytes for {blob_column}",
                        bytes.len()
                    )));
                }
                let mut bound = args.to_vec();
                bound.push(Param::Blob(Cow::Owned(bytes)));
                self.execute(sql, &bound)?;
                Ok(())
            }
        }
    }

    /// One statement without parameters, written as it is (no dialect
    /// translation), from SQLite's statement cache: a savepoint per
    /// workspace of a lifecycle batch would otherwise be compiled each time.
    fn run_cached(&self, sql: &str) -> StoreResult<()> {
        match &self.engine {
            Engine::Sqlite(c) => {
                c.prepare_cached(sql)?.execute([])?;
                Ok(())
            }
            Engine::Postgres(_) => self.execute_batch(sql),
        }
    }

    /// Runs `f` inside a savepoint: its writes are undone when it fails,
    /// and the surrounding transaction goes on.
    pub fn savepoint<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run_cached("SAVEPOINT warren_unit")?;
        let recorded = super::changes_recorded();
        match f(self) {
            Ok(v) => {
                self.run_cached("RELEASE warren_unit")?;
                Ok(v)
            }
            Err(e) => {
                self.execute_batch("ROLLBACK TO warren_unit; RELEASE warren_unit")?;
                // What it changed was undone: nothing to tell watchers.
                super::forget_changes_after(recorded);
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

    /// A scratch database on the cluster `tests/with-postgres` provides,
    /// dropped after `f`.
    pub(crate) fn with_pg_db(f: impl FnOnce(&str)) {
        let admin = std::env::var("WARREN_TEST_POSTGRES")
            .expect("needs PostgreSQL: run through tests/with-postgres (tests/run does)");
        let name = format!("warren_u_{}", Uuid::new_v4().simple());
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let base = admin.rsplit_once('/').unwrap().0;
        let url = format!("{base}/{name}");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&url)));
        let _ = c.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"));
        if let Err(p) = result {
            std::panic::resume_unwind(p);
        }
    }

    fn with_pg_tx(f: impl FnOnce(&Tx<'_>)) {
        with_pg_db(|url| {
            let client = postgres::Client::connect(url, postgres::NoTls).unwrap();
            let mut conn = PgConn::new(client);
            conn.client
                .batch_execute(
                    "CREATE TABLE t (id TEXT COLLATE \"C\" PRIMARY KEY, n BIGINT, flag BIGINT, b BYTEA, j TEXT)",
                )
                .unwrap();
            conn.begin_write().unwrap();
            f(&Tx::postgres(&mut conn));
            conn.rollback();
        });
    }

    #[test]
    #[ignore = "needs PostgreSQL (tests/with-postgres)"]
    fn postgres_binds_and_reads_every_kind() {
        with_pg_tx(|tx| {
            let id = Uuid::new_v4();
            let blob = vec![1u8, 2, 3];
            let none: Option<i64> = None;
            tx.execute(
                "INSERT INTO t (id, n, flag, b, j) VALUES (?1, ?2, ?3, ?4, ?5)",
                args![id, none, true, blob, serde_json::json!({"a": 1})],
            )
            .unwrap();
            assert!(tx.wrote());
            let row = tx
                .query_one(
                    "SELECT id, n, flag, b, j, n IS NULL, count(*) OVER () FROM t WHERE id = ?",
                    args![id],
                    |r| {
                        Ok((
                            r.get::<Uuid>(0)?,
                            r.get::<Option<i64>>(1)?,
                            r.get::<bool>(2)?,
                            r.get::<Vec<u8>>(3)?,
                            parse_json::<serde_json::Value>(&r.get::<String>(4)?)?,
                            r.get::<bool>(5)?,
                            r.get::<i64>(6)?,
                        ))
                    },
                )
                .unwrap();
            assert_eq!(
                row,
                (id, None, true, blob, serde_json::json!({"a": 1}), true, 1)
            );
            // An integer bound where PostgreSQL wants a boolean, and a
            // parameter first seen in `IS NULL`, typed by its value or, for
            // NULL, by trying.
            let user: Option<String> = None;
            assert_eq!(
                tx.value::<i64>("SELECT count(*) FROM t WHERE (?1 OR flag = 0)", args![true]),
                Ok(1)
            );
            assert_eq!(
                tx.value::<i64>(
                    "SELECT count(*) FROM t WHERE (?1 IS NULL OR id = ?1)",
                    args![user]
                ),
                Ok(1)
            );
            assert_eq!(
                tx.value::<i64>(
                    "SELECT count(*) FROM t WHERE (?1 IS NULL OR id = ?1)",
                    args![id.to_string()]
                ),
                Ok(1)
            );
            tx.execute(
                "UPDATE t SET n = ?2, flag = CASE WHEN ?2 IS NULL THEN ?3 ELSE flag END WHERE id = ?1",
                args![id, none, 0],
            )
            .unwrap();
            assert_eq!(tx.value::<i64>("SELECT flag FROM t", args![]), Ok(0));
            assert_eq!(
                tx.value::<i64>("SELECT max(n, 7) FROM (SELECT 3 AS n) AS x", args![]),
                Ok(7)
            );
        });
    }

    #[test]
    #[ignore = "needs PostgreSQL (tests/with-postgres)"]
    fn postgres_errors_are_the_store_s_own() {
        with_pg_tx(|tx| {
            tx.execute("INSERT INTO t (id) VALUES ('not-a-uuid')", args![])
                .unwrap();
            assert!(matches!(
                tx.value::<Uuid>("SELECT id FROM t", args![]),
                Err(StoreError::Corrupt(_))
            ));
            assert_eq!(
                tx.value::<i64>("SELECT n FROM t WHERE id = 'none'", args![]),
                Err(StoreError::NotFound)
            );
            // A failed statement inside a savepoint leaves the transaction
            // usable, as on SQLite.
            let r: Result<(), StoreError> = tx.savepoint(|tx| {
                tx.execute("INSERT INTO t (id) VALUES ('not-a-uuid')", args![])?;
                Ok(())
            });
            assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
            assert_eq!(tx.value::<i64>("SELECT count(*) FROM t", args![]), Ok(1));
        });
    }

    #[test]
    fn a_failed_savepoint_undoes_only_its_own_writes() {
        with_tx(|tx| {
            super::super::take_changes();
            let (kept, undone) = (Uuid::new_v4(), Uuid::new_v4());
            tx.execute("INSERT INTO t (id) VALUES ('kept')", args![])
                .unwrap();
            super::super::changed(kept, "state_change");
            let r: Result<(), StoreError> = tx.savepoint(|tx| {
                tx.execute("INSERT INTO t (id) VALUES ('undone')", args![])?;
                super::super::changed(undone, "state_change");
                Err(StoreError::Other("boom".into()))
            });
            assert!(r.is_err());
            // Watchers hear only of what stays.
            assert_eq!(super::super::take_changes(), vec![(kept, "state_change")]);
            let ids = tx
                .query("SELECT id FROM t ORDER BY id", args![], |r| {
                    r.get::<String>(0)
                })
                .unwrap();
            assert_eq!(ids, vec!["kept".to_string()]);
        });
    }
}
