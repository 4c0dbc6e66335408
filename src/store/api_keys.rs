//! API keys: sessions and named tokens. Only the SHA-256 of a secret is stored.

use rusqlite::{params, Connection, Row};
use uuid::Uuid;

use super::{json_col, optional};
use crate::error::ApiResult;
use crate::sdk::{AllowListEntry, Micros};

#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub id: String,
    pub hashed_secret: Vec<u8>,
    pub user_id: Uuid,
    pub login_type: String,
    pub scopes: Vec<String>,
    pub allow_list: Vec<AllowListEntry>,
    pub token_name: String,
    pub lifetime_seconds: i64,
    pub expires_at: Micros,
    pub last_used: Option<Micros>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

const COLUMNS: &str = "k.id, k.hashed_secret, k.user_id, k.login_type, k.scopes, k.allow_list, \
     k.token_name, k.lifetime_seconds, k.expires_at, k.last_used, k.created_at, k.updated_at";

fn from_row(r: &Row) -> rusqlite::Result<ApiKeyRow> {
    let user: String = r.get(2)?;
    let scopes: String = r.get(4)?;
    let allow: String = r.get(5)?;
    Ok(ApiKeyRow {
        id: r.get(0)?,
        hashed_secret: r.get(1)?,
        user_id: Uuid::parse_str(&user).unwrap_or_default(),
        login_type: r.get(3)?,
        scopes: json_col(&scopes),
        allow_list: json_col(&allow),
        token_name: r.get(6)?,
        lifetime_seconds: r.get(7)?,
        expires_at: r.get(8)?,
        last_used: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

pub fn insert(conn: &Connection, k: &ApiKeyRow) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO api_keys (id, hashed_secret, user_id, login_type, scopes, allow_list,
                               token_name, lifetime_seconds, expires_at, last_used, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            k.id,
            k.hashed_secret,
            k.user_id.to_string(),
            k.login_type,
            serde_json::to_string(&k.scopes)?,
            serde_json::to_string(&k.allow_list)?,
            k.token_name,
            k.lifetime_seconds,
            k.expires_at,
            k.last_used,
            k.created_at,
            k.updated_at
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> ApiResult<Option<ApiKeyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys k WHERE k.id = ?");
    optional(conn.query_row(&sql, [id], from_row))
}

pub fn get_by_token_name(
    conn: &Connection,
    user: Uuid,
    name: &str,
) -> ApiResult<Option<ApiKeyRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_keys k WHERE k.user_id = ? AND k.token_name = ? AND k.login_type = 'token'"
    );
    optional(conn.query_row(&sql, [user.to_string(), name.to_string()], from_row))
}

/// Tokens (login type `token`) of one user, or of every user; with usernames.
pub fn list_tokens(conn: &Connection, user: Option<Uuid>) -> ApiResult<Vec<(ApiKeyRow, String)>> {
    let sql = format!(
        "SELECT {COLUMNS}, u.username FROM api_keys k JOIN users u ON u.id = k.user_id
         WHERE k.login_type = 'token' AND u.deleted = 0 AND (?1 IS NULL OR k.user_id = ?1)
         ORDER BY k.created_at"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map([user.map(|u| u.to_string())], |r| {
            Ok((from_row(r)?, r.get::<_, String>(12)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn delete(conn: &Connection, id: &str) -> ApiResult<bool> {
    Ok(conn.execute("DELETE FROM api_keys WHERE id = ?", [id])? > 0)
}

pub fn delete_all_for_user(conn: &Connection, user: Uuid) -> ApiResult<()> {
    conn.execute("DELETE FROM api_keys WHERE user_id = ?", [user.to_string()])?;
    Ok(())
}

pub fn token_name_taken(conn: &Connection, user: Uuid, name: &str) -> ApiResult<bool> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM api_keys WHERE user_id = ? AND token_name = ? AND login_type = 'token'",
        [user.to_string(), name.to_string()],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Records use of a key: `last_used`, and the sliding expiry.
pub fn touch(conn: &Connection, id: &str, now: Micros, expires_at: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE api_keys SET last_used = ?2, expires_at = ?3, updated_at = ?2 WHERE id = ?1",
        params![id, now, expires_at],
    )?;
    Ok(())
}
