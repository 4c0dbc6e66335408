//! API keys: sessions and named tokens. Only the SHA-256 of a secret is stored.

use super::sql::{args, parse_json, parse_uuid, Row, StoreResult, Tx};
use uuid::Uuid;

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

fn from_row(r: &Row) -> StoreResult<ApiKeyRow> {
    let user: String = r.get(2)?;
    let scopes: String = r.get(4)?;
    let allow: String = r.get(5)?;
    Ok(ApiKeyRow {
        id: r.get(0)?,
        hashed_secret: r.get(1)?,
        user_id: parse_uuid(&user)?,
        login_type: r.get(3)?,
        scopes: parse_json(&scopes)?,
        allow_list: parse_json(&allow)?,
        token_name: r.get(6)?,
        lifetime_seconds: r.get(7)?,
        expires_at: r.get(8)?,
        last_used: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

pub fn insert(tx: &Tx, k: &ApiKeyRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO api_keys (id, hashed_secret, user_id, login_type, scopes, allow_list,
                               token_name, lifetime_seconds, expires_at, last_used, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        args![k.id, k.hashed_secret, k.user_id, k.login_type, serde_json::to_string(&k.scopes)?, serde_json::to_string(&k.allow_list)?, k.token_name, k.lifetime_seconds, k.expires_at, k.last_used, k.created_at, k.updated_at],
    )?;
    Ok(())
}

pub fn get(tx: &Tx, id: &str) -> StoreResult<Option<ApiKeyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys k WHERE k.id = ?");
    tx.query_opt(&sql, args![id], from_row)
}

pub fn get_by_token_name(tx: &Tx, user: Uuid, name: &str) -> StoreResult<Option<ApiKeyRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_keys k WHERE k.user_id = ? AND k.token_name = ? AND k.login_type = 'token'"
    );
    tx.query_opt(&sql, args![user, name], from_row)
}

/// Tokens (login type `token`) of one user, or of every user; with usernames.
pub fn list_tokens(tx: &Tx, user: Option<Uuid>) -> StoreResult<Vec<(ApiKeyRow, String)>> {
    let sql = format!(
        "SELECT {COLUMNS}, u.username FROM api_keys k JOIN users u ON u.id = k.user_id
         WHERE k.login_type = 'token' AND u.deleted = 0 AND (?1 IS NULL OR k.user_id = ?1)
         ORDER BY k.created_at"
    );
    let rows = tx.query(&sql, args![user], |r| {
        Ok((from_row(r)?, r.get::<String>(12)?))
    })?;
    Ok(rows)
}

pub fn delete(tx: &Tx, id: &str) -> StoreResult<bool> {
    Ok(tx.execute("DELETE FROM api_keys WHERE id = ?", args![id])? > 0)
}

pub fn delete_all_for_user(tx: &Tx, user: Uuid) -> StoreResult<()> {
    tx.execute("DELETE FROM api_keys WHERE user_id = ?", args![user])?;
    Ok(())
}

pub fn token_name_taken(tx: &Tx, user: Uuid, name: &str) -> StoreResult<bool> {
    let n: i64 = tx.query_one(
        "SELECT count(*) FROM api_keys WHERE user_id = ? AND token_name = ? AND login_type = 'token'",
        args![user, name],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Records use of a key: `last_used`, and the sliding expiry.
pub fn touch(tx: &Tx, id: &str, now: Micros, expires_at: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE api_keys SET last_used = ?2, expires_at = ?3, updated_at = ?2 WHERE id = ?1",
        args![id, now, expires_at],
    )?;
    Ok(())
}
