//! Tests of the store itself: the SQLite file format, its locking, the
//! migrations from older schema versions, and what is stored at rest
//! (secrets only as hashes). These tests open the database file directly;
//! this module is the only place in tests/ where raw SQL may appear.
//! Everything else sets up state through the API (and the injectable clock
//! for time).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::json;

use crate::common::*;

#[test]
fn foreign_and_newer_databases_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    // Not a warren database.
    let foreign = dir.path().join("foreign.db");
    {
        let c = rusqlite::Connection::open(&foreign).unwrap();
        c.execute_batch("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('keep');")
            .unwrap();
    }
    let before = std::fs::read(&foreign).unwrap();
    let mut cfg = test_config(&dir);
    cfg.db = foreign.clone();
    let err = warren::start(cfg).err().expect("refused");
    assert!(err.to_string().contains("refusing"), "{err}");
    assert_eq!(std::fs::read(&foreign).unwrap(), before);
    // A warren database from the future.
    let newer = dir.path().join("newer.db");
    {
        let mut cfg = test_config(&dir);
        cfg.db = newer.clone();
        warren::start(cfg).unwrap().stop();
        let c = rusqlite::Connection::open(&newer).unwrap();
        c.execute_batch("PRAGMA user_version = 99;").unwrap();
    }
    let before = std::fs::read(&newer).unwrap();
    let mut cfg = test_config(&dir);
    cfg.db = newer.clone();
    let err = warren::start(cfg).err().expect("refused");
    assert!(err.to_string().contains("newer warren"), "{err}");
    assert_eq!(std::fs::read(&newer).unwrap(), before);
}

#[test]
fn database_pragmas() {
    let s = Server::start_sqlite();
    s.setup();
    let c = rusqlite::Connection::open(&s.config.db).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, warren::domain::SCHEMA_VERSION);
    // Secrets are stored only as hashes.
    let hash: String = c
        .query_row("SELECT hashed_password FROM users", [], |r| r.get(0))
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let secret: Vec<u8> = c
        .query_row("SELECT hashed_secret FROM api_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(secret.len(), 32);
}

/// A version-1 database (before the column existed) migrates forward and
/// keeps its templates.
#[test]
fn version_one_databases_gain_the_template_setting() {
    let mut s = Server::start_sqlite();
    let o = s.setup();
    let t = s.template(&o, "docker");
    s.running.take().unwrap().stop();
    {
        let c = rusqlite::Connection::open(&s.config.db).unwrap();
        c.execute_batch(SQLITE_UNDO_8).unwrap();
        c.execute_batch(
            "ALTER TABLE templates DROP COLUMN use_terraform_workspace_cache;
             DROP TABLE lifecycle_actions;
             ALTER TABLE workspace_builds DROP COLUMN deadline_reason;
             ALTER TABLE workspace_builds DROP COLUMN deadline_set_at;
             ALTER TABLE workspace_builds DROP COLUMN deadline_set_by;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    s.restart();
    let path = format!("/api/v2/templates/{}", t["id"].as_str().unwrap());
    assert_eq!(
        s.get(&path, &o.token).ok(200)["use_terraform_workspace_cache"],
        false
    );
    s.patch(
        &path,
        &o.token,
        json!({"use_terraform_workspace_cache": true}),
    )
    .ok(200);
}

fn warren_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warren"));
    c.env("RUST_LOG", "warn").stdin(Stdio::null());
    c
}

/// A server process of this test; killed if the test fails before it is
/// stopped.
struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts the real binary on `db` and waits until it listens.
fn spawn_server(db: &Path) -> Spawned {
    let mut child = warren_bin()
        .args(["server", "--address", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(["--provisioner-delay", "0s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening on"), "{line}");
    Spawned(child)
}

fn terminate(Spawned(child): &mut Spawned) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "stopped gracefully: {exit:?}");
}

#[test]
fn a_second_server_on_the_same_file_exits_naming_the_file_and_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("warren.db");
    let mut first = spawn_server(&db);
    let first_pid = first.0.id();
    let lock = dir.path().join("warren.db.lock");
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap().trim(),
        first_pid.to_string()
    );
    let second = warren_bin()
        .args(["server", "--address", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&db.display().to_string()), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "in use by another warren server (pid {first_pid}, "
        )),
        "{stderr}"
    );
    // The same within one process.
    let mut config = test_config(&dir);
    config.db = db.clone();
    match warren::prepare(config.clone()) {
        Ok(_) => panic!("a second server started on {}", db.display()),
        Err(e) => assert!(
            e.to_string().contains("in use by another warren server"),
            "{e}"
        ),
    }
    // A clean stop gives the file up and removes the lock file.
    terminate(&mut first);
    assert!(!lock.exists());
    // So does a crash (the OS drops the lock; the stale file is taken over).
    let mut third = spawn_server(&db);
    third.0.kill().unwrap();
    third.0.wait().unwrap();
    assert!(lock.exists());
    let mut fourth = spawn_server(&db);
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap().trim(),
        fourth.0.id().to_string()
    );
    terminate(&mut fourth);
}

/// Every file in `dir`, name and bytes.
fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let data = if e.path().is_dir() {
                b"<dir>".to_vec()
            } else {
                std::fs::read(e.path()).unwrap()
            };
            (name, data)
        })
        .collect()
}

/// A stopped warren database with a user in it.
fn make_database(dir: &tempfile::TempDir) -> warren::Config {
    let config = test_config(dir);
    let running = warren::start(config.clone()).unwrap();
    ureq::post(&running.url("/api/v2/users/first"))
        .send_json(json!({"email": "admin@example.com", "username": "admin", "password": PASSWORD}))
        .unwrap();
    running.stop();
    config
}

/// Starting on `config` fails with a message naming the file and saying
/// `why`, and leaves the directory exactly as it was.
#[track_caller]
fn assert_refused(config: &warren::Config, why: &str) {
    let dir = config.db.parent().unwrap();
    let before = files_in(dir);
    let message = match warren::prepare(config.clone()) {
        Ok(_) => panic!("{} was accepted", config.db.display()),
        Err(e) => e.to_string(),
    };
    assert!(
        message.contains(&config.db.display().to_string()) && message.contains(why),
        "{message}"
    );
    let after = files_in(dir);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "files beside {}",
        config.db.display()
    );
    assert!(before == after, "{} was changed", config.db.display());
}

#[test]
fn bad_database_files_are_refused_by_name_and_left_exactly_as_found() {
    // A clean stop leaves one self-contained file.
    let dir = tempfile::tempdir().unwrap();
    let config = make_database(&dir);
    assert_eq!(
        files_in(dir.path()).into_keys().collect::<Vec<_>>(),
        ["warren.db"]
    );

    // Read-only (no write permission at all: refused even for root).
    let mut perms = std::fs::metadata(&config.db).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&config.db, perms).unwrap();
    assert_refused(&config, "is read-only");
    // The binary says so and exits 1.
    let out = warren_bin()
        .args(["--address", "127.0.0.1:0", "--db"])
        .arg(&config.db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("warren: {} is read-only", config.db.display())),
        "{stderr}"
    );

    // A directory.
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    config.db = dir.path().join("data");
    std::fs::create_dir(&config.db).unwrap();
    assert_refused(&config, "is a directory");

    // Newer: a warren database from a later schema.
    let dir = tempfile::tempdir().unwrap();
    let config = make_database(&dir);
    let conn = rusqlite::Connection::open(&config.db).unwrap();
    conn.execute_batch("PRAGMA user_version = 99;").unwrap();
    drop(conn);
    assert_refused(&config, "was written by a newer warren");

    // Not warren's: another application's SQLite file.
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&dir);
    let conn = rusqlite::Connection::open(&config.db).unwrap();
    conn.execute_batch(
        "PRAGMA application_id = 1234; PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');",
    )
    .unwrap();
    drop(conn);
    assert_refused(&config, "is not a warren database");

    // Truncated: the second half of a warren database lost.
    let dir = tempfile::tempdir().unwrap();
    let config = make_database(&dir);
    let len = std::fs::metadata(&config.db).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&config.db)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    assert_refused(&config, "is damaged");
}

#[test]
fn a_version_1_database_is_migrated_with_its_files() {
    let mut s = Server::start_sqlite();
    let o = s.setup();
    let v = s.import(&o, "docker", None);
    assert_eq!(v["job"]["status"], "succeeded", "{v}");
    let tar = fixture_tar("docker");
    let file = s.upload(&o.token, "application/x-tar", &tar);
    let file_id = file.ok(200)["hash"].as_str().unwrap().to_string();
    s.running.take().unwrap().stop();
    back_to_version_2(&s.config.db);
    s.restart();
    let back = s.raw(
        "GET",
        &format!("/api/v2/files/{file_id}"),
        &[("Coder-Session-Token", &o.token)],
        None,
    );
    assert_eq!(back.status, 200);
    assert_eq!(back.text.as_bytes(), tar.as_slice());
    let version = s.get(
        &format!("/api/v2/templateversions/{}", v["id"].as_str().unwrap()),
        &o.token,
    );
    assert_eq!(version.ok(200)["job"]["file_id"], file_id);
    let conn = rusqlite::Connection::open(&s.config.db).unwrap();
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('files')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(columns.last().map(String::as_str), Some("data"));
    let broken: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(broken, 0);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, warren::domain::SCHEMA_VERSION);
}
