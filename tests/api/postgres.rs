//! PostgreSQL's own behaviour: its schema against SQLite's, refusing what is
//! not an empty or a known warren database, and what it stores. These run
//! when the suite runs on PostgreSQL (`tests/with-postgres`, as `tests/run`
//! does); on SQLite they are ignored.

use std::collections::BTreeMap;

use crate::common::*;
use warren::Config;

/// table → [(column, type, not null)], and the index names.
type Shape = (BTreeMap<String, Vec<(String, String, bool)>>, Vec<String>);

fn sqlite_shape(path: &std::path::Path) -> Shape {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut tables = BTreeMap::new();
    let names: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for t in names {
        let cols: Vec<(String, String, bool)> = c
            .prepare(&format!(
                "SELECT name, type, \"notnull\" OR pk FROM pragma_table_info('{t}') ORDER BY cid"
            ))
            .unwrap()
            .query_map([], |r| {
                let ty: String = r.get(1)?;
                let ty = match ty.as_str() {
                    "INTEGER" => "bigint",
                    "TEXT" => "text",
                    "BLOB" => "bytea",
                    other => panic!("unexpected SQLite type {other}"),
                };
                Ok((r.get(0)?, ty.to_string(), r.get(2)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        tables.insert(t, cols);
    }
    let mut indexes: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    indexes.sort();
    (tables, indexes)
}

fn postgres_shape(db: &TestDb) -> Shape {
    let mut c = db.client();
    let mut tables: BTreeMap<String, Vec<(String, String, bool)>> = BTreeMap::new();
    for r in c
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'NO'
             FROM information_schema.columns WHERE table_schema = 'public'
             ORDER BY table_name, ordinal_position",
            &[],
        )
        .unwrap()
    {
        let table: String = r.get(0);
        let column: String = r.get(1);
        // warren's own bookkeeping, and SQLite's implicit rowid made real.
        if table == "warren_schema" || column == "rowid" {
            continue;
        }
        tables
            .entry(table)
            .or_default()
            .push((column, r.get(2), r.get(3)));
    }
    let mut indexes: Vec<String> = c
        .query(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    indexes.sort();
    (tables, indexes)
}

#[test]
#[ignore = "needs PostgreSQL: tests/run runs it"]
fn postgres_schema_has_sqlite_s_tables_columns_and_indexes() {
    let admin = require_postgres();
    let lite = Server::start_sqlite();
    let pg = TestDb::create(&admin);
    let s = Server::start_on(
        Some(pg),
        std::sync::Arc::new(warren::clock::ManualClock::starting_now()),
        |_| {},
    );
    let (lite_tables, lite_indexes) = sqlite_shape(&lite.config.db);
    let (pg_tables, pg_indexes) = postgres_shape(s.pg.as_ref().unwrap());
    assert_eq!(
        lite_tables.keys().collect::<Vec<_>>(),
        pg_tables.keys().collect::<Vec<_>>()
    );
    for (t, cols) in &lite_tables {
        assert_eq!(cols, &pg_tables[t], "columns of {t}");
    }
    assert_eq!(lite_indexes, pg_indexes);
    // Text sorts bytewise whatever the database's locale.
    let mut c = s.pg.as_ref().unwrap().client();
    let other: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.columns
             WHERE table_schema = 'public' AND data_type = 'text' AND collation_name IS DISTINCT FROM 'C'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(other, 0, "every text column is collated C");
}

#[test]
#[ignore = "needs PostgreSQL: tests/run runs it"]
fn postgres_databases_not_warren_s_or_newer_are_refused_untouched() {
    let admin = require_postgres();
    let start = |db: &TestDb| {
        let mut cfg = Config::defaults();
        cfg.address = "127.0.0.1:0".into();
        cfg.db = db.url.clone().into();
        warren::start(cfg)
    };
    // Tables of something else.
    let foreign = TestDb::create(&admin);
    foreign
        .client()
        .batch_execute("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('keep');")
        .unwrap();
    let err = start(&foreign).err().expect("refused");
    assert!(err.to_string().contains("refusing"), "{err}");
    let mut c = foreign.client();
    let tables: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "nothing was created beside the foreign table");
    // A warren database a newer warren wrote.
    let newer = TestDb::create(&admin);
    start(&newer).expect("starts on an empty database").stop();
    newer
        .client()
        .batch_execute("UPDATE warren_schema SET version = 99")
        .unwrap();
    let before: i64 = newer
        .client()
        .query_one("SELECT count(*) FROM organizations", &[])
        .unwrap()
        .get(0);
    let err = start(&newer).err().expect("refused");
    assert!(err.to_string().contains("newer warren"), "{err}");
    let mut c = newer.client();
    let version: i64 = c
        .query_one("SELECT version FROM warren_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, 99);
    let after: i64 = c
        .query_one("SELECT count(*) FROM organizations", &[])
        .unwrap()
        .get(0);
    assert_eq!(before, after);
    // A password in the URL never shows in the message.
    let mut cfg = Config::defaults();
    cfg.address = "127.0.0.1:0".into();
    let base = admin.rsplit_once('/').unwrap().0;
    cfg.db = format!(
        "{}/warren_no_such_database",
        base.replacen("postgres@", "postgres:hunter2@", 1)
    )
    .into();
    let err = warren::start(cfg).err().expect("refused");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(err.to_string().contains("***"), "{err}");
}

#[test]
#[ignore = "needs PostgreSQL: tests/run runs it"]
fn postgres_stores_secrets_only_as_hashes() {
    require_postgres();
    let s = Server::start();
    let o = s.setup();
    let mut c = s.pg.as_ref().expect("on PostgreSQL").client();
    let version: i64 = c
        .query_one("SELECT version FROM warren_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, warren::domain::SCHEMA_VERSION);
    let hash: String = c
        .query_one("SELECT hashed_password FROM users", &[])
        .unwrap()
        .get(0);
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let secret: Vec<u8> = c
        .query_one("SELECT hashed_secret FROM api_keys", &[])
        .unwrap()
        .get(0);
    assert_eq!(secret.len(), 32);
    let dump: String = c
        .query_one(
            "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM api_keys) t",
            &[],
        )
        .unwrap()
        .get(0);
    let secret_part = o.token.split('-').nth(1).unwrap();
    assert!(
        !dump.contains(secret_part),
        "a token secret is stored in clear"
    );
}
