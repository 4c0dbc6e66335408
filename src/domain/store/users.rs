//! Users and their git SSH keys.

use super::sql::{args, parse_json, parse_uuid, placeholders, Param, Row, StoreResult, Tx};
use uuid::Uuid;

use crate::sdk::Micros;

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub name: String,
    pub avatar_url: String,
    pub hashed_password: String,
    pub login_type: String,
    pub status: String,
    pub rbac_roles: Vec<String>,
    pub is_service_account: bool,
    pub theme_preference: String,
    pub created_at: Micros,
    pub updated_at: Micros,
    pub last_seen_at: Option<Micros>,
    pub deleted: bool,
    pub organization_ids: Vec<Uuid>,
}

pub const COLUMNS: &str = "u.id, u.username, u.email, u.name, u.avatar_url, u.hashed_password, \
     u.login_type, u.status, u.rbac_roles, u.is_service_account, u.theme_preference, \
     u.created_at, u.updated_at, u.last_seen_at, u.deleted, \
     (SELECT json_group_array(m.organization_id) FROM organization_members m WHERE m.user_id = u.id)";

pub fn from_row(r: &Row, at: usize) -> StoreResult<UserRow> {
    let id: String = r.get(at)?;
    let roles: String = r.get(at + 8)?;
    let orgs: Option<String> = r.get(at + 15)?;
    Ok(UserRow {
        id: parse_uuid(&id)?,
        username: r.get(at + 1)?,
        email: r.get(at + 2)?,
        name: r.get(at + 3)?,
        avatar_url: r.get(at + 4)?,
        hashed_password: r.get(at + 5)?,
        login_type: r.get(at + 6)?,
        status: r.get(at + 7)?,
        rbac_roles: parse_json(&roles)?,
        is_service_account: r.get(at + 9)?,
        theme_preference: r.get(at + 10)?,
        created_at: r.get(at + 11)?,
        updated_at: r.get(at + 12)?,
        last_seen_at: r.get(at + 13)?,
        deleted: r.get(at + 14)?,
        organization_ids: orgs
            .map(|o| parse_json(&o))
            .transpose()?
            .unwrap_or_default(),
    })
}

pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub hashed_password: &'a str,
    pub login_type: &'a str,
    pub status: &'a str,
    pub rbac_roles: &'a [String],
    pub is_service_account: bool,
    pub now: Micros,
}

pub fn insert(tx: &Tx, u: &NewUser) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO users (id, username, email, name, hashed_password, login_type, status,
                            rbac_roles, is_service_account, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
        args![
            u.id,
            u.username,
            u.email,
            u.name,
            u.hashed_password,
            u.login_type,
            u.status,
            serde_json::to_string(u.rbac_roles)?,
            u.is_service_account,
            u.now
        ],
    )?;
    Ok(())
}

/// A user by id, including deleted ones (callers decide what deletion means).
pub fn get(tx: &Tx, id: Uuid) -> StoreResult<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.id = ?");
    tx.query_opt(&sql, args![id], |r| from_row(r, 0))
}

pub fn get_by_username(tx: &Tx, username: &str) -> StoreResult<Option<UserRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users u WHERE lower(u.username) = lower(?) AND u.deleted = 0"
    );
    tx.query_opt(&sql, args![username], |r| from_row(r, 0))
}

pub fn get_by_email(tx: &Tx, email: &str) -> StoreResult<Option<UserRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM users u WHERE lower(u.email) = lower(?) AND u.deleted = 0");
    tx.query_opt(&sql, args![email], |r| from_row(r, 0))
}

pub fn count_active(tx: &Tx) -> StoreResult<i64> {
    tx.query_one(
        "SELECT count(*) FROM users WHERE deleted = 0",
        args![],
        |r| r.get(0),
    )
}

/// Filters of `GET /users`, already parsed.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub search: Option<String>,
    pub status: Vec<String>,
    pub roles: Vec<String>,
    pub login_types: Vec<String>,
    pub name: Option<String>,
    pub created_before: Option<Micros>,
    pub created_after: Option<Micros>,
    pub last_seen_before: Option<Micros>,
    pub last_seen_after: Option<Micros>,
    pub service_account: Option<bool>,
    /// Only these users (from authorization), `None` = no restriction.
    pub visible_ids: Option<Vec<Uuid>>,
    /// Or members of these organizations (from authorization).
    pub visible_orgs: Vec<Uuid>,
    /// Only members of this organization.
    pub organization: Option<Uuid>,
    /// The filter names something no user has: nothing matches.
    pub nothing: bool,
}

/// One page of users matching `f`, ordered by username, with the total count
/// of matches before paging.
pub fn list(tx: &Tx, f: &UserFilter, limit: i64, offset: i64) -> StoreResult<(Vec<UserRow>, i64)> {
    let mut clauses = vec!["u.deleted = 0".to_string()];
    let mut args: Vec<Param<'static>> = Vec::new();
    if f.nothing {
        clauses.push("0".into());
    }
    if let Some(s) = &f.search {
        clauses.push("(instr(lower(u.username), ?) > 0 OR instr(lower(u.email), ?) > 0)".into());
        args.push(Param::text(s.to_lowercase()));
        args.push(Param::text(s.to_lowercase()));
    }
    let mut any_of = |col: &str, values: &[String], clauses: &mut Vec<String>| {
        if !values.is_empty() {
            clauses.push(format!("{col} IN ({})", placeholders(values.len())));
            args.extend(values.iter().map(|v| Param::text(v.clone())));
        }
    };
    any_of("u.status", &f.status, &mut clauses);
    any_of("u.login_type", &f.login_types, &mut clauses);
    if !f.roles.is_empty() {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM json_each(u.rbac_roles) j WHERE j.value IN ({}))",
            placeholders(f.roles.len())
        ));
        args.extend(f.roles.iter().map(|v| Param::text(v.clone())));
    }
    if let Some(n) = &f.name {
        clauses.push("instr(lower(u.name), ?) > 0".into());
        args.push(Param::text(n.to_lowercase()));
    }
    for (col, op, v) in [
        ("u.created_at", "<", f.created_before),
        ("u.created_at", ">", f.created_after),
        ("u.last_seen_at", "<", f.last_seen_before),
        ("u.last_seen_at", ">", f.last_seen_after),
    ] {
        if let Some(v) = v {
            clauses.push(format!("{col} {op} ?"));
            args.push(Param::Int(v));
        }
    }
    if let Some(sa) = f.service_account {
        clauses.push("u.is_service_account = ?".into());
        args.push(Param::Int(sa as i64));
    }
    if let Some(org) = f.organization {
        clauses.push(
            "EXISTS (SELECT 1 FROM organization_members m WHERE m.user_id = u.id AND m.organization_id = ?)"
                .into(),
        );
        args.push(Param::text(org.to_string()));
    }
    if let Some(ids) = &f.visible_ids {
        let mut vis = Vec::new();
        if !ids.is_empty() {
            vis.push(format!("u.id IN ({})", placeholders(ids.len())));
            args.extend(ids.iter().map(|i| Param::text(i.to_string())));
        }
        if !f.visible_orgs.is_empty() {
            vis.push(format!(
                "EXISTS (SELECT 1 FROM organization_members m WHERE m.user_id = u.id AND m.organization_id IN ({}))",
                placeholders(f.visible_orgs.len())
            ));
            args.extend(f.visible_orgs.iter().map(|i| Param::text(i.to_string())));
        }
        if vis.is_empty() {
            vis.push("FALSE".into());
        }
        clauses.push(format!("({})", vis.join(" OR ")));
    }
    let filter = clauses.join(" AND ");
    let count: i64 = tx.query_one(
        &format!("SELECT count(*) FROM users u WHERE {filter}"),
        &args,
        |r| r.get(0),
    )?;
    let lim = if limit <= 0 { -1 } else { limit };
    let sql = format!(
        "SELECT {COLUMNS} FROM users u WHERE {filter}
         ORDER BY lower(u.username) LIMIT {lim} OFFSET {offset}"
    );
    let rows = tx.query(&sql, &args, |r| from_row(r, 0))?;
    Ok((rows, count))
}

pub fn set_status(tx: &Tx, id: Uuid, status: &str, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE users SET status = ?2, updated_at = ?3 WHERE id = ?1",
        args![id, status, now],
    )?;
    Ok(())
}

pub fn set_roles(tx: &Tx, id: Uuid, roles: &[String], now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE users SET rbac_roles = ?2, updated_at = ?3 WHERE id = ?1",
        args![id, serde_json::to_string(roles)?, now],
    )?;
    Ok(())
}

pub fn set_profile(tx: &Tx, id: Uuid, username: &str, name: &str, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE users SET username = ?2, name = ?3, updated_at = ?4 WHERE id = ?1",
        args![id, username, name, now],
    )?;
    Ok(())
}

pub fn set_password(tx: &Tx, id: Uuid, hash: &str, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE users SET hashed_password = ?2, updated_at = ?3 WHERE id = ?1",
        args![id, hash, now],
    )?;
    Ok(())
}

/// Soft delete: the row stays for builds that name it as initiator; the
/// username and email become free again (the unique indexes skip deleted rows).
pub fn soft_delete(tx: &Tx, id: Uuid, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE users SET deleted = 1, updated_at = ?2 WHERE id = ?1",
        args![id, now],
    )?;
    Ok(())
}

pub fn touch_last_seen(tx: &Tx, id: Uuid, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE users SET last_seen_at = ?2,
                status = CASE WHEN status = 'dormant' THEN 'active' ELSE status END
         WHERE id = ?1",
        args![id, now],
    )?;
    Ok(())
}

pub fn username_taken(tx: &Tx, username: &str, except: Option<Uuid>) -> StoreResult<bool> {
    let n: i64 = tx.query_one(
        "SELECT count(*) FROM users WHERE lower(username) = lower(?1) AND deleted = 0 AND id <> ?2",
        args![username, except.unwrap_or_default()],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

pub fn email_taken(tx: &Tx, email: &str) -> StoreResult<bool> {
    let n: i64 = tx.query_one(
        "SELECT count(*) FROM users WHERE lower(email) = lower(?1) AND deleted = 0 AND email <> ''",
        args![email],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Reduced users by id, in one query.
pub fn get_many(tx: &Tx, ids: &[Uuid]) -> StoreResult<Vec<UserRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM users u WHERE u.id IN ({}) ORDER BY lower(u.username)",
        placeholders(ids.len())
    );
    let rows = tx.query(&sql, &Param::uuids(ids), |r| from_row(r, 0))?;
    Ok(rows)
}

#[derive(Debug, Clone)]
pub struct SshKeyRow {
    pub user_id: Uuid,
    pub private_key: String,
    pub public_key: String,
    pub created_at: Micros,
    pub updated_at: Micros,
}

pub fn put_ssh_key(tx: &Tx, k: &SshKeyRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO user_ssh_keys (user_id, private_key, public_key, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (user_id) DO UPDATE SET private_key = excluded.private_key,
             public_key = excluded.public_key, updated_at = excluded.updated_at",
        args![
            k.user_id,
            k.private_key,
            k.public_key,
            k.created_at,
            k.updated_at
        ],
    )?;
    Ok(())
}

pub fn get_ssh_key(tx: &Tx, user: Uuid) -> StoreResult<Option<SshKeyRow>> {
    tx.query_opt(
        "SELECT private_key, public_key, created_at, updated_at FROM user_ssh_keys WHERE user_id = ?",
        args![user],
        |r| {
            Ok(SshKeyRow {
                user_id: user,
                private_key: r.get(0)?,
                public_key: r.get(1)?,
                created_at: r.get(2)?,
                updated_at: r.get(3)?,
            })
        },
    )
}
