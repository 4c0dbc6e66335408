//! PostgreSQL's own behaviour: its schema against SQLite's, refusing what is
//! not an empty or a known warren database, and what it stores. These run
//! when the suite runs on PostgreSQL (`tests/with-postgres`, as `tests/run`
//! does); on SQLite they are ignored.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

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
    // The maintained columns' triggers, made from one definition.
    let lite_triggers: Vec<String> = rusqlite::Connection::open(&lite.config.db)
        .unwrap()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let pg_triggers: Vec<String> =
        s.pg.as_ref()
            .unwrap()
            .client()
            .query(
                "SELECT tgname::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(lite_triggers.len(), 12, "{lite_triggers:?}");
    assert_eq!(lite_triggers, pg_triggers);
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

/// A restart leaves the maintained columns' triggers alone when they match
/// their definitions (replacing one locks its table against the other
/// replicas), and puts back one that differs; the columns stay true.
#[test]
#[ignore = "needs PostgreSQL: tests/run runs it"]
fn postgres_a_restart_replaces_only_triggers_that_differ() {
    let admin = require_postgres();
    let mut s = Server::start_on(
        Some(TestDb::create(&admin)),
        Arc::new(warren::clock::ManualClock::starting_now()),
        |_| {},
    );
    let o = s.setup();
    let oids = |s: &Server| -> Vec<(String, u32, u32)> {
        s.pg.as_ref()
            .unwrap()
            .client()
            .query(
                "SELECT tgname::text, oid, tgfoid FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    };
    let before = oids(&s);
    assert_eq!(before.len(), 12, "{before:?}");
    s.restart();
    assert_eq!(oids(&s), before, "an unchanged trigger is left alone");
    // One trigger gone, another's function doing nothing.
    s.pg.as_ref()
        .unwrap()
        .client()
        .batch_execute(
            "DROP TRIGGER warren_user_acl_insert ON workspace_user_acl;
             CREATE OR REPLACE FUNCTION warren_ws_build() RETURNS trigger LANGUAGE plpgsql
                 AS $$ BEGIN RETURN NULL; END $$;",
        )
        .unwrap();
    s.restart();
    let after = oids(&s);
    assert_eq!(after.len(), 12, "{after:?}");
    let changed: Vec<&str> = after
        .iter()
        .zip(&before)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.as_str())
        .collect();
    assert_eq!(changed, ["warren_user_acl_insert", "warren_ws_build"]);
    // Both work again: a new workspace's status and a share are seen.
    let t = s.template(&o, "docker");
    let w = s.workspace(&o.token, t["id"].as_str().unwrap(), "kept");
    let id = w["id"].as_str().unwrap();
    s.settle();
    let found = s.get("/api/v2/workspaces?q=status:running", &o.token);
    assert_eq!(found.ok(200)["count"], 1);
    let bob = s.user(&o, "bob", &[]);
    s.patch(
        &format!("/api/v2/workspaces/{id}/acl"),
        &o.token,
        json!({"user_roles": {bob.id.clone(): "use"}}),
    )
    .ok(204);
    let shared = s.get("/api/v2/workspaces?q=shared:true", &o.token);
    assert_eq!(shared.ok(200)["count"], 1);
}

/// A database at version 3, the first PostgreSQL version, is brought to the
/// latest schema at start and keeps its rows.
#[test]
#[ignore = "needs PostgreSQL: tests/run runs it"]
fn postgres_a_version_3_database_migrates_to_the_latest_schema() {
    let admin = require_postgres();
    let lite = Server::start_sqlite();
    let mut s = Server::start_on(
        Some(TestDb::create(&admin)),
        Arc::new(warren::clock::ManualClock::starting_now()),
        |_| {},
    );
    let o = s.setup();
    s.running.take().unwrap().stop();
    // Version 3 had everything but what versions 5, 6, 7 and 8 added
    // (version 4's index was already there).
    let mut c = s.pg.as_ref().unwrap().client();
    c.batch_execute(POSTGRES_UNDO_8).unwrap();
    c.batch_execute(
        "DROP TABLE user_configs, workspace_agent_metadata,
                    workspace_agent_listening_ports, workspace_agent_port_shares,
                    lifecycle_actions, custom_roles;
         ALTER TABLE workspace_builds DROP COLUMN deadline_reason,
             DROP COLUMN deadline_set_at, DROP COLUMN deadline_set_by;
         UPDATE warren_schema SET version = 3;",
    )
    .unwrap();
    s.restart();
    let version: i64 = c
        .query_one("SELECT version FROM warren_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, warren::domain::SCHEMA_VERSION);
    let (lite_tables, lite_indexes) = sqlite_shape(&lite.config.db);
    let (pg_tables, pg_indexes) = postgres_shape(s.pg.as_ref().unwrap());
    assert_eq!(lite_tables, pg_tables);
    assert_eq!(lite_indexes, pg_indexes);
    // The rows stayed, and the new tables take rows.
    s.get("/api/v2/users/me", &o.token).ok(200);
    let font = json!({"theme_preference": "dark", "terminal_font": "fira-code"});
    assert_eq!(
        s.put("/api/v2/users/me/appearance", &o.token, font.clone())
            .ok(200),
        &font
    );
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

#[test]
#[ignore = "needs PostgreSQL: tests/run runs it"]
fn postgres_a_lost_listener_resyncs_every_stream_and_hears_others_again() {
    require_postgres();
    let s = Server::start();
    let o = s.setup();
    let t = s.template(&o, "docker");
    let w = s.workspace(&o.token, t["id"].as_str().unwrap(), "watched");
    let id = w["id"].as_str().unwrap().to_string();
    // A second replica on the same database.
    let url = s.pg.as_ref().unwrap().url.clone();
    let other = Server::start_on(None, s.clock.clone(), |c| c.db = url.into());
    let mut sse = Sse::open(&s, &format!("/api/v2/workspaces/{id}/watch"), &o.token);
    let (e, _) = sse
        .next_data(Duration::from_secs(5))
        .expect("initial state");
    assert_eq!(e, "data");
    // Changes of the other replica arrive.
    let put_ttl = |ttl: i64| {
        other
            .put(
                &format!("/api/v2/workspaces/{id}/ttl"),
                &o.token,
                json!({"ttl_ms": ttl}),
            )
            .ok(204);
    };
    put_ttl(7_200_000);
    let (e, v) = sse.next_data(Duration::from_secs(5)).expect("the change");
    assert_eq!((e.as_str(), &v["ttl_ms"]), ("data", &json!(7_200_000)));
    // The server ends this replica's listening connection.
    let replica = s.app().db.replica_id();
    let ended: i64 =
        s.pg.as_ref()
            .unwrap()
            .client()
            .query_one(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                   WHERE application_name = $1) AS t",
                &[&format!("warren bus {replica}")],
            )
            .unwrap()
            .get(0);
    assert_eq!(ended, 1);
    // Whatever was sent meanwhile is lost: once listening again, every
    // stream reloads, though nothing changed.
    let (e, v) = sse.next_data(Duration::from_secs(10)).expect("a resync");
    assert_eq!((e.as_str(), &v["id"]), ("data", &json!(id)));
    assert_eq!(v["ttl_ms"], 7_200_000);
    // And the other replica's changes arrive again.
    put_ttl(10_800_000);
    let (e, v) = sse.next_data(Duration::from_secs(5)).expect("the change");
    assert_eq!((e.as_str(), &v["ttl_ms"]), ("data", &json!(10_800_000)));
}

/// Every read the migration comparison makes, as (path, token).
fn reads(s: &Server, tokens: &[(&str, &str)]) -> Vec<(String, String)> {
    let owner = tokens[0].1;
    let mut paths: Vec<(String, String)> = Vec::new();
    let get = |p: &str| s.get(p, owner).ok(200).clone();
    for p in [
        "/api/v2/users?limit=50",
        "/api/v2/organizations",
        "/api/v2/groups",
        "/api/v2/templates",
        "/api/v2/workspaces?limit=50",
        "/api/v2/users/me/keys/tokens",
        "/api/v2/users/roles",
    ] {
        paths.push((p.to_string(), owner.to_string()));
    }
    for (who, token) in tokens {
        for p in [
            "/api/v2/users/me".to_string(),
            "/api/v2/workspaces?q=owner:me".to_string(),
            "/api/v2/workspaces?q=shared:true".to_string(),
            format!("/api/v2/users/{who}/organizations"),
            "/api/v2/users/me/appearance".to_string(),
            "/api/v2/workspace-quota/me".to_string(),
        ] {
            paths.push((p, token.to_string()));
        }
    }
    for org in get("/api/v2/organizations").as_array().unwrap() {
        let id = org["id"].as_str().unwrap();
        for suffix in ["members", "members/roles"] {
            paths.push((
                format!("/api/v2/organizations/{id}/{suffix}"),
                owner.to_string(),
            ));
        }
    }
    for g in get("/api/v2/groups").as_array().unwrap() {
        paths.push((
            format!("/api/v2/groups/{}", g["id"].as_str().unwrap()),
            owner.to_string(),
        ));
    }
    for t in get("/api/v2/templates").as_array().unwrap() {
        let id = t["id"].as_str().unwrap();
        for suffix in ["", "/acl", "/acl/available"] {
            paths.push((format!("/api/v2/templates/{id}{suffix}"), owner.to_string()));
        }
        for v in get(&format!("/api/v2/templates/{id}/versions"))
            .as_array()
            .unwrap()
        {
            let v = v["id"].as_str().unwrap();
            // Not `/resources`: a preview made afresh (new ids) on each read.
            for suffix in ["", "/rich-parameters", "/logs", "/presets", "/variables"] {
                paths.push((
                    format!("/api/v2/templateversions/{v}{suffix}"),
                    owner.to_string(),
                ));
            }
        }
        paths.push((
            format!("/api/v2/templates/{id}/versions"),
            owner.to_string(),
        ));
    }
    let all = get("/api/v2/workspaces?limit=50");
    for w in all["workspaces"].as_array().unwrap() {
        let id = w["id"].as_str().unwrap();
        for suffix in [
            "",
            "/builds",
            "/acl",
            "/timings",
            "/resolve-autostart",
            "/port-share",
            "/schedule",
        ] {
            paths.push((
                format!("/api/v2/workspaces/{id}{suffix}"),
                owner.to_string(),
            ));
        }
        for r in w["latest_build"]["resources"].as_array().unwrap() {
            for a in r["agents"].as_array().into_iter().flatten() {
                paths.push((
                    format!(
                        "/api/v2/workspaceagents/{}/listening-ports",
                        a["id"].as_str().unwrap()
                    ),
                    owner.to_string(),
                ));
            }
        }
        for b in get(&format!("/api/v2/workspaces/{id}/builds"))
            .as_array()
            .unwrap()
        {
            let b = b["id"].as_str().unwrap();
            for suffix in [
                "",
                "/logs",
                "/resources",
                "/parameters",
                "/timings",
                "/state",
            ] {
                paths.push((
                    format!("/api/v2/workspacebuilds/{b}{suffix}"),
                    owner.to_string(),
                ));
            }
        }
    }
    paths
}

/// What a read answered: status and body, with the fields that are the
/// time of the request itself (not stored state) blanked: a provisioner's
/// `most_recently_seen`, the schedule explanation's `now`.
fn answers(s: &Server, paths: &[(String, String)]) -> Vec<(String, u16, serde_json::Value)> {
    fn blank(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "most_recently_seen" || k == "now" {
                        *x = json!("(now)");
                    } else {
                        blank(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(blank),
            _ => {}
        }
    }
    let base = s.url("");
    paths
        .iter()
        .map(|(p, t)| {
            let r = s.get(p, t);
            // The servers listen on different ports.
            let text = r.text.replace(&base, "http://SERVER");
            let mut v = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
            blank(&mut v);
            (p.clone(), r.status, v)
        })
        .collect()
}

/// Where two JSON values differ, as paths.
fn differences(a: &serde_json::Value, b: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    use serde_json::Value::{Array, Object};
    match (a, b) {
        (Object(x), Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let path = format!("{at}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(l), Some(r)) => differences(l, r, &path, out),
                    (l, r) => out.push(format!("{path}: {l:?} vs {r:?}")),
                }
            }
        }
        (Array(x), Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                differences(l, r, &format!("{at}[{i}]"), out);
            }
        }
        (l, r) if l != r => out.push(format!("{at}: {l} vs {r}")),
        _ => {}
    }
}

#[test]
#[ignore = "needs PostgreSQL: tests/run runs it"]
fn migrate_copies_sqlite_into_postgres_and_every_read_answers_the_same() {
    let admin = require_postgres();
    let clock = Arc::new(warren::clock::ManualClock::starting_now());
    let mut lite = Server::start_on(None, clock.clone(), |_| {});
    let s = &lite;
    // Users, a group, templates, workspaces with several builds, sharing,
    // favorites and a token.
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &["template-admin"]);
    let g = s
        .post(
            "/api/v2/organizations/default/groups",
            &o.token,
            json!({"name": "devs", "display_name": "Developers"}),
        )
        .ok(201)
        .clone();
    let gid = g["id"].as_str().unwrap().to_string();
    s.patch(
        &format!("/api/v2/groups/{gid}"),
        &o.token,
        json!({"add_users": [alice.id, bob.id]}),
    )
    .ok(200);
    let t = s.template(&o, "docker");
    let tid = t["id"].as_str().unwrap().to_string();
    let second = s.template(&o, "second");
    s.import(&o, "docker", Some(&tid));
    let mine = s.workspace(&o.token, &tid, "mine");
    let hers = s.workspace(&alice.token, &tid, "hers");
    s.workspace(&bob.token, second["id"].as_str().unwrap(), "his");
    let mine_id = mine["id"].as_str().unwrap().to_string();
    let hers_id = hers["id"].as_str().unwrap().to_string();
    for transition in ["stop", "start"] {
        s.post(
            &format!("/api/v2/workspaces/{mine_id}/builds"),
            &o.token,
            json!({"transition": transition}),
        )
        .ok(201);
        s.wait_build(&o.token, &mine_id);
    }
    s.patch(
        &format!("/api/v2/workspaces/{hers_id}/acl"),
        &alice.token,
        json!({"user_roles": {bob.id.clone(): "use"}, "group_roles": {gid.clone(): "admin"}}),
    )
    .ok(204);
    s.put(
        &format!("/api/v2/workspaces/{mine_id}/favorite"),
        &o.token,
        json!({}),
    )
    .ok(204);
    s.put(
        &format!("/api/v2/workspaces/{hers_id}/favorite"),
        &alice.token,
        json!({}),
    )
    .ok(204);
    s.post(
        "/api/v2/users/me/keys/tokens",
        &o.token,
        json!({"token_name": "ci"}),
    )
    .ok(201);
    // A workspace the lifecycle executor stopped: its deadline's reason
    // and the action are what the schedule explanation reads. (Before the
    // quota below, which leaves the owner no budget.)
    let brief = s
        .post(
            "/api/v2/users/me/workspaces",
            &o.token,
            json!({"template_id": tid, "name": "brief", "ttl_ms": 3_600_000}),
        )
        .ok(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.wait_build(&o.token, &brief);
    s.advance(Duration::from_secs(61 * 60));
    let acted = s.tick();
    assert!(
        acted
            .iter()
            .any(|a| a.workspace.to_string() == brief && a.what == "autostop"),
        "{acted:?}"
    );
    // Template permissions, a quota allowance, a user's setting and a
    // shared port; the agents' metadata and listening ports are the
    // simulated agents' own.
    s.patch(
        &format!("/api/v2/templates/{tid}/acl"),
        &o.token,
        json!({"user_perms": {alice.id.clone(): "admin"}, "group_perms": {gid.clone(): "use"}}),
    )
    .ok(200);
    s.patch(
        &format!("/api/v2/groups/{gid}"),
        &o.token,
        json!({"quota_allowance": 50}),
    )
    .ok(200);
    s.put(
        "/api/v2/users/me/appearance",
        &alice.token,
        json!({"theme_preference": "dark", "terminal_font": "fira-code"}),
    )
    .ok(200);
    s.patch(
        &format!("/api/v2/templates/{tid}"),
        &o.token,
        json!({"max_port_share_level": "public"}),
    )
    .ok(200);
    s.post(
        &format!("/api/v2/workspaces/{mine_id}/port-share"),
        &o.token,
        json!({"agent_name": "main", "port": 8080, "share_level": "authenticated", "protocol": "http"}),
    )
    .ok(200);
    // A custom role held by Bob.
    s.post(
        &format!("/api/v2/organizations/{}/members/roles", o.org),
        &o.token,
        json!({"name": "reviewer", "display_name": "Reviewer",
               "organization_permissions": [
                   {"negate": false, "resource_type": "workspace", "action": "read"}]}),
    )
    .ok(200);
    s.put(
        &format!("/api/v2/organizations/{}/members/{}/roles", o.org, bob.id),
        &o.token,
        json!({"roles": ["reviewer"]}),
    )
    .ok(200);
    let tokens = [
        ("admin", o.token.as_str()),
        ("alice", alice.token.as_str()),
        ("bob", bob.token.as_str()),
    ];
    let paths = reads(s, &tokens);
    assert!(paths.len() > 80, "{} reads", paths.len());
    // Reads record their users as seen (at most once an hour, and the
    // clock moved an hour on): a first pass leaves that settled.
    answers(s, &paths);
    let before = answers(s, &paths);
    let file = lite.config.db.clone();
    lite.running.take().unwrap().stop();

    let target = TestDb::create(&admin);
    let migrate = |url: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_warren"))
            .args(["migrate", "--from"])
            .arg(&file)
            .args(["--to", url])
            .env("RUST_LOG", "warn")
            .output()
            .expect("warren migrate runs")
    };
    let out = migrate(&target.url);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for table in [
        "users",
        "templates",
        "workspaces",
        "workspace_builds",
        "workspace_user_acl",
        "group_members",
        "template_user_acl",
        "template_group_acl",
        "user_configs",
        "workspace_agent_metadata",
        "workspace_agent_listening_ports",
        "workspace_agent_port_shares",
        "lifecycle_actions",
        "custom_roles",
    ] {
        // "  <table>  <rows> rows  sha256 <sum>  verified", rows copied.
        let copied = printed.lines().find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(table) && l.ends_with("verified"))
                .then(|| words.next()?.parse::<i64>().ok())
                .flatten()
        });
        assert!(copied.is_some_and(|n| n > 0), "{table} in {printed}");
    }
    let url = target.url.clone();
    let pg = Server::start_on(Some(target), clock.clone(), |_| {});
    let after = answers(&pg, &paths);
    let mut differ = Vec::new();
    for (b, a) in before.iter().zip(&after) {
        if b != a {
            let mut paths = Vec::new();
            differences(&b.2, &a.2, "", &mut paths);
            differ.push(format!("GET {}: {} vs {}: {paths:?}", b.0, b.1, a.1));
        }
    }
    assert!(
        differ.is_empty(),
        "answers differ after the copy:\n{}",
        differ.join("\n")
    );
    println!(
        "{} reads answer the same before and after the copy",
        before.len()
    );
    // A second copy into the now non-empty database is refused and
    // changes nothing.
    let out = migrate(&url);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(answers(&pg, &paths), after);
}

/// A file an older warren made (version 2: `files` rebuilt by version 3's
/// step, so created after the tables that reference it; version 6's
/// additions undone, those of 5 and 7 are made only if missing) copies
/// too: tables go in the order of their foreign keys, not of their
/// creation.
#[test]
#[ignore = "needs PostgreSQL: tests/run runs it"]
fn migrate_copies_a_file_an_older_warren_made() {
    let admin = require_postgres();
    let mut lite = Server::start_sqlite();
    let o = lite.setup();
    let v = lite.import(&o, "docker", None);
    assert_eq!(v["job"]["status"], "succeeded", "{v}");
    lite.running.take().unwrap().stop();
    back_to_version_2(&lite.config.db);
    let target = TestDb::create(&admin);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warren"))
        .args(["migrate", "--from"])
        .arg(&lite.config.db)
        .args(["--to", &target.url])
        .env("RUST_LOG", "warn")
        .output()
        .expect("warren migrate runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let pg = Server::start_on(
        Some(target),
        Arc::new(warren::clock::ManualClock::starting_now()),
        |_| {},
    );
    let token = pg.login("admin@example.com", PASSWORD);
    let version = pg.get(
        &format!("/api/v2/templateversions/{}", v["id"].as_str().unwrap()),
        &token,
    );
    let file = version.ok(200)["job"]["file_id"]
        .as_str()
        .unwrap()
        .to_string();
    let back = pg.raw(
        "GET",
        &format!("/api/v2/files/{file}"),
        &[("Coder-Session-Token", &token)],
        None,
    );
    assert_eq!(back.status, 200);
    assert_eq!(back.text.as_bytes(), fixture_tar("docker").as_slice());
}

/// Backups of a PostgreSQL database are pg_dump's: the owner's download
/// answers 501 saying so, `warren backup` and `warren restore` refuse with
/// the same pointer, and nothing is written anywhere.
#[test]
#[ignore = "needs PostgreSQL: tests/run runs it"]
fn postgres_backup_and_restore_point_to_pg_dump() {
    let admin = require_postgres();
    let s = Server::start_on(
        Some(TestDb::create(&admin)),
        Arc::new(warren::clock::ManualClock::starting_now()),
        |_| {},
    );
    let o = s.setup();
    s.post("/api/v2/warren/backup", &o.token, json!({}))
        .assert_error(501, "Back up a PostgreSQL database with pg_dump.")
        .assert_detail(
            "This deployment's database is a PostgreSQL database: back it up with pg_dump and restore it with pg_restore (warren backup and restore copy a SQLite file)",
        );
    let url = s.pg.as_ref().unwrap().url.clone();
    // A password in the URL is not repeated.
    let with_password = url.replacen("postgres@", "postgres:hunter2@", 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let warren = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_warren"))
            .args(args)
            .env_remove("WARREN_DB")
            .output()
            .expect("warren runs")
    };
    let out = warren(&[
        "backup",
        "--db",
        &with_password,
        "--to",
        file.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("is a PostgreSQL database: back it up with pg_dump"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!file.exists());
    std::fs::write(&file, b"anything").unwrap();
    let out = warren(&["restore", "--from", file.to_str().unwrap(), "--db", &url]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("restore it with pg_restore"), "{err}");
    // The database is as it was.
    s.get("/api/v2/users/me", &o.token).ok(200);
}

/// `/readyz` asks PostgreSQL itself, on a new connection: when the server
/// accepts none for the database (pooled connections still open), the
/// replica is not ready; when it accepts them again, it is.
#[test]
#[ignore = "needs PostgreSQL: tests/run runs it"]
fn postgres_readyz_probes_the_database_server() {
    let admin = require_postgres();
    let s = Server::start_on(
        Some(TestDb::create(&admin)),
        Arc::new(warren::clock::ManualClock::starting_now()),
        |_| {},
    );
    let o = s.setup();
    let r = s.anon("GET", "/readyz", None);
    assert_eq!((r.status, r.text.as_str()), (200, "OK"));
    let name = s.pg.as_ref().unwrap().name.clone();
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .unwrap();
    let r = s.anon("GET", "/readyz", None);
    r.assert_error(503, "Not ready: database.");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("database: cannot connect to PostgreSQL"),
        "{detail}"
    );
    // Liveness is another question: the process is up, and serves.
    assert_eq!(s.anon("GET", "/healthz", None).status, 200);
    s.get("/api/v2/users/me", &o.token).ok(200);
    c.batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .unwrap();
    let r = s.anon("GET", "/readyz", None);
    assert_eq!((r.status, r.text.as_str()), (200, "OK"));
}
