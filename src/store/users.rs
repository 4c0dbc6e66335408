//! Users and their git SSH keys.

use rusqlite::{params, params_from_iter, types::Value, Connection, Row};
use uuid::Uuid;

use super::{json_col, optional};
use crate::error::ApiResult;
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

pub fn from_row(r: &Row, at: usize) -> rusqlite::Result<UserRow> {
    let id: String = r.get(at)?;
    let roles: String = r.get(at + 8)?;
    let orgs: Option<String> = r.get(at + 15)?;
    Ok(UserRow {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        username: r.get(at + 1)?,
        email: r.get(at + 2)?,
        name: r.get(at + 3)?,
        avatar_url: r.get(at + 4)?,
        hashed_password: r.get(at + 5)?,
        login_type: r.get(at + 6)?,
        status: r.get(at + 7)?,
        rbac_roles: json_col(&roles),
        is_service_account: r.get(at + 9)?,
        theme_preference: r.get(at + 10)?,
        created_at: r.get(at + 11)?,
        updated_at: r.get(at + 12)?,
        last_seen_at: r.get(at + 13)?,
        deleted: r.get(at + 14)?,
        organization_ids: orgs.map(|o| json_col(&o)).unwrap_or_default(),
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

pub fn insert(conn: &Connection, u: &NewUser) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO users (id, username, email, name, hashed_password, login_type, status,
                            rbac_roles, is_service_account, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
        params![
            u.id.to_string(),
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
pub fn get(conn: &Connection, id: Uuid) -> ApiResult<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.id = ?");
    optional(conn.query_row(&sql, [id.to_string()], |r| from_row(r, 0)))
}

pub fn get_by_username(conn: &Connection, username: &str) -> ApiResult<Option<UserRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users u WHERE lower(u.username) = lower(?) AND u.deleted = 0"
    );
    optional(conn.query_row(&sql, [username], |r| from_row(r, 0)))
}

pub fn get_by_email(conn: &Connection, email: &str) -> ApiResult<Option<UserRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM users u WHERE lower(u.email) = lower(?) AND u.deleted = 0");
    optional(conn.query_row(&sql, [email], |r| from_row(r, 0)))
}

pub fn count_active(conn: &Connection) -> ApiResult<i64> {
    Ok(
        conn.query_row("SELECT count(*) FROM users WHERE deleted = 0", [], |r| {
            r.get(0)
        })?,
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
}

/// One page of users matching `f`, ordered by username, with the total count
/// of matches before paging.
pub fn list(
    conn: &Connection,
    f: &UserFilter,
    limit: i64,
    offset: i64,
) -> ApiResult<(Vec<UserRow>, i64)> {
    let mut clauses = vec!["u.deleted = 0".to_string()];
    let mut args: Vec<Value> = Vec::new();
    if let Some(s) = &f.search {
        clauses.push("(instr(lower(u.username), ?) > 0 OR instr(lower(u.email), ?) > 0)".into());
        args.push(Value::Text(s.to_lowercase()));
        args.push(Value::Text(s.to_lowercase()));
    }
    let mut any_of = |col: &str, values: &[String], clauses: &mut Vec<String>| {
        if !values.is_empty() {
            clauses.push(format!("{col} IN ({})", super::placeholders(values.len())));
            args.extend(values.iter().map(|v| Value::Text(v.clone())));
        }
    };
    any_of("u.status", &f.status, &mut clauses);
    any_of("u.login_type", &f.login_types, &mut clauses);
    if !f.roles.is_empty() {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM json_each(u.rbac_roles) j WHERE j.value IN ({}))",
            super::placeholders(f.roles.len())
        ));
        args.extend(f.roles.iter().map(|v| Value::Text(v.clone())));
    }
    if let Some(n) = &f.name {
        clauses.push("instr(lower(u.name), ?) > 0".into());
        args.push(Value::Text(n.to_lowercase()));
    }
    for (col, op, v) in [
        ("u.created_at", "<", f.created_before),
        ("u.created_at", ">", f.created_after),
        ("u.last_seen_at", "<", f.last_seen_before),
        ("u.last_seen_at", ">", f.last_seen_after),
    ] {
        if let Some(v) = v {
            clauses.push(format!("{col} {op} ?"));
            args.push(Value::Integer(v));
        }
    }
    if let Some(sa) = f.service_account {
        clauses.push("u.is_service_account = ?".into());
        args.push(Value::Integer(sa as i64));
    }
    if let Some(org) = f.organization {
        clauses.push(
            "EXISTS (SELECT 1 FROM organization_members m WHERE m.user_id = u.id AND m.organization_id = ?)"
                .into(),
        );
        args.push(Value::Text(org.to_string()));
    }
    if let Some(ids) = &f.visible_ids {
        let mut vis = Vec::new();
        if !ids.is_empty() {
            vis.push(format!("u.id IN ({})", super::placeholders(ids.len())));
            args.extend(ids.iter().map(|i| Value::Text(i.to_string())));
        }
        if !f.visible_orgs.is_empty() {
            vis.push(format!(
                "EXISTS (SELECT 1 FROM organization_members m WHERE m.user_id = u.id AND m.organization_id IN ({}))",
                super::placeholders(f.visible_orgs.len())
            ));
            args.extend(f.visible_orgs.iter().map(|i| Value::Text(i.to_string())));
        }
        if vis.is_empty() {
            vis.push("0".into());
        }
        clauses.push(format!("({})", vis.join(" OR ")));
    }
    let filter = clauses.join(" AND ");
    let count: i64 = conn.query_row(
        &format!("SELECT count(*) FROM users u WHERE {filter}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let lim = if limit <= 0 { -1 } else { limit };
    let sql = format!(
        "SELECT {COLUMNS} FROM users u WHERE {filter}
         ORDER BY lower(u.username) LIMIT {lim} OFFSET {offset}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), |r| from_row(r, 0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, count))
}

pub fn set_status(conn: &Connection, id: Uuid, status: &str, now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE users SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.to_string(), status, now],
    )?;
    Ok(())
}

pub fn set_roles(conn: &Connection, id: Uuid, roles: &[String], now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE users SET rbac_roles = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.to_string(), serde_json::to_string(roles)?, now],
    )?;
    Ok(())
}

pub fn set_profile(
    conn: &Connection,
    id: Uuid,
    username: &str,
    name: &str,
    now: Micros,
) -> ApiResult<()> {
    conn.execute(
        "UPDATE users SET username = ?2, name = ?3, updated_at = ?4 WHERE id = ?1",
        params![id.to_string(), username, name, now],
    )?;
    Ok(())
}

pub fn set_password(conn: &Connection, id: Uuid, hash: &str, now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE users SET hashed_password = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.to_string(), hash, now],
    )?;
    Ok(())
}

/// Soft delete: the row stays for builds that name it as initiator; the
/// username and email become free again (the unique indexes skip deleted rows).
pub fn soft_delete(conn: &Connection, id: Uuid, now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE users SET deleted = 1, updated_at = ?2 WHERE id = ?1",
        params![id.to_string(), now],
    )?;
    Ok(())
}

pub fn touch_last_seen(conn: &Connection, id: Uuid, now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE users SET last_seen_at = ?2,
                status = CASE WHEN status = 'dormant' THEN 'active' ELSE status END
         WHERE id = ?1",
        params![id.to_string(), now],
    )?;
    Ok(())
}

pub fn username_taken(conn: &Connection, username: &str, except: Option<Uuid>) -> ApiResult<bool> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM users WHERE lower(username) = lower(?1) AND deleted = 0 AND id <> ?2",
        params![username, except.unwrap_or_default().to_string()],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

pub fn email_taken(conn: &Connection, email: &str) -> ApiResult<bool> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM users WHERE lower(email) = lower(?1) AND deleted = 0 AND email <> ''",
        [email],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Reduced users by id, in one query.
pub fn get_many(conn: &Connection, ids: &[Uuid]) -> ApiResult<Vec<UserRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM users u WHERE u.id IN ({}) ORDER BY lower(u.username)",
        super::placeholders(ids.len())
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(ids.iter().map(|i| i.to_string())), |r| {
            from_row(r, 0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
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

pub fn put_ssh_key(conn: &Connection, k: &SshKeyRow) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO user_ssh_keys (user_id, private_key, public_key, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (user_id) DO UPDATE SET private_key = excluded.private_key,
             public_key = excluded.public_key, updated_at = excluded.updated_at",
        params![
            k.user_id.to_string(),
            k.private_key,
            k.public_key,
            k.created_at,
            k.updated_at
        ],
    )?;
    Ok(())
}

pub fn get_ssh_key(conn: &Connection, user: Uuid) -> ApiResult<Option<SshKeyRow>> {
    optional(conn.query_row(
        "SELECT private_key, public_key, created_at, updated_at FROM user_ssh_keys WHERE user_id = ?",
        [user.to_string()],
        |r| {
            Ok(SshKeyRow {
                user_id: user,
                private_key: r.get(0)?,
                public_key: r.get(1)?,
                created_at: r.get(2)?,
                updated_at: r.get(3)?,
            })
        },
    ))
}
