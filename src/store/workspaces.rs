//! Workspaces and their sharing lists.

use rusqlite::{params, params_from_iter, Connection, Row};
use uuid::Uuid;

use super::optional;
use crate::error::ApiResult;
use crate::sdk::Micros;

#[derive(Debug, Clone, Default)]
pub struct WorkspaceRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub organization_id: Uuid,
    pub template_id: Uuid,
    pub name: String,
    pub autostart_schedule: Option<String>,
    pub ttl_ms: Option<i64>,
    pub next_start_at: Option<Micros>,
    pub last_used_at: Micros,
    pub dormant_at: Option<Micros>,
    pub deleting_at: Option<Micros>,
    pub automatic_updates: String,
    pub favorite: bool,
    pub latest_build_id: Option<Uuid>,
    pub deleted: bool,
    pub created_at: Micros,
    pub updated_at: Micros,
    pub user_acl: Vec<(Uuid, String)>,
    pub group_acl: Vec<(Uuid, String)>,
}

pub const COLUMNS: &str = "w.id, w.owner_id, w.organization_id, w.template_id, w.name, w.autostart_schedule,
        w.ttl_ms, w.next_start_at, w.last_used_at, w.dormant_at, w.deleting_at, w.automatic_updates,
        w.favorite, w.latest_build_id, w.deleted, w.created_at, w.updated_at,
        (SELECT json_group_array(json_array(a.user_id, a.role)) FROM workspace_user_acl a WHERE a.workspace_id = w.id),
        (SELECT json_group_array(json_array(a.group_id, a.role)) FROM workspace_group_acl a WHERE a.workspace_id = w.id)";

fn acl(text: Option<String>) -> Vec<(Uuid, String)> {
    let pairs: Vec<(String, String)> = text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    pairs
        .into_iter()
        .filter_map(|(id, role)| Uuid::parse_str(&id).ok().map(|id| (id, role)))
        .collect()
}

pub fn from_row(r: &Row) -> rusqlite::Result<WorkspaceRow> {
    let id = |i: usize| -> rusqlite::Result<Uuid> {
        Ok(Uuid::parse_str(&r.get::<_, String>(i)?).unwrap_or_default())
    };
    Ok(WorkspaceRow {
        id: id(0)?,
        owner_id: id(1)?,
        organization_id: id(2)?,
        template_id: id(3)?,
        name: r.get(4)?,
        autostart_schedule: r.get(5)?,
        ttl_ms: r.get(6)?,
        next_start_at: r.get(7)?,
        last_used_at: r.get(8)?,
        dormant_at: r.get(9)?,
        deleting_at: r.get(10)?,
        automatic_updates: r.get(11)?,
        favorite: r.get(12)?,
        latest_build_id: r
            .get::<_, Option<String>>(13)?
            .and_then(|s| Uuid::parse_str(&s).ok()),
        deleted: r.get(14)?,
        created_at: r.get(15)?,
        updated_at: r.get(16)?,
        user_acl: acl(r.get(17)?),
        group_acl: acl(r.get(18)?),
    })
}

/// Plain SQLite result: the caller maps the unique-name violation to 409.
pub fn insert(conn: &Connection, w: &WorkspaceRow) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO workspaces (id, owner_id, organization_id, template_id, name, autostart_schedule, ttl_ms,
            next_start_at, last_used_at, automatic_updates, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
        params![
            w.id.to_string(),
            w.owner_id.to_string(),
            w.organization_id.to_string(),
            w.template_id.to_string(),
            w.name,
            w.autostart_schedule,
            w.ttl_ms,
            w.next_start_at,
            w.last_used_at,
            w.automatic_updates,
            w.created_at
        ],
    )?;
    Ok(())
}

/// Including deleted workspaces: lookups by id see them.
pub fn get(conn: &Connection, id: Uuid) -> ApiResult<Option<WorkspaceRow>> {
    let sql = format!("SELECT {COLUMNS} FROM workspaces w WHERE w.id = ?");
    optional(conn.query_row(&sql, [id.to_string()], from_row))
}

pub fn get_by_owner_name(
    conn: &Connection,
    owner: Uuid,
    name: &str,
    include_deleted: bool,
) -> ApiResult<Option<WorkspaceRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM workspaces w WHERE w.owner_id = ?1 AND lower(w.name) = lower(?2)
           AND (?3 OR w.deleted = 0) ORDER BY w.deleted, w.created_at DESC LIMIT 1"
    );
    optional(conn.query_row(
        &sql,
        params![owner.to_string(), name, include_deleted],
        from_row,
    ))
}

pub fn get_many(conn: &Connection, ids: &[Uuid]) -> ApiResult<Vec<WorkspaceRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM workspaces w WHERE w.id IN ({})",
        super::placeholders(ids.len())
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(
            params_from_iter(ids.iter().map(|i| i.to_string())),
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn set_latest_build(conn: &Connection, id: Uuid, build: Uuid, now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE workspaces SET latest_build_id = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.to_string(), build.to_string(), now],
    )?;
    Ok(())
}

pub fn mark_deleted(conn: &Connection, id: Uuid, now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE workspaces SET deleted = 1, updated_at = ?2 WHERE id = ?1",
        params![id.to_string(), now],
    )?;
    Ok(())
}

pub fn set_name(conn: &Connection, id: Uuid, name: &str, now: Micros) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE workspaces SET name = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.to_string(), name, now],
    )?;
    Ok(())
}

pub fn set_autostart(
    conn: &Connection,
    id: Uuid,
    schedule: Option<&str>,
    next_start_at: Option<Micros>,
) -> ApiResult<()> {
    conn.execute(
        "UPDATE workspaces SET autostart_schedule = ?2, next_start_at = ?3 WHERE id = ?1",
        params![id.to_string(), schedule, next_start_at],
    )?;
    Ok(())
}

pub fn set_next_start(conn: &Connection, id: Uuid, next_start_at: Option<Micros>) -> ApiResult<()> {
    conn.execute(
        "UPDATE workspaces SET next_start_at = ?2 WHERE id = ?1",
        params![id.to_string(), next_start_at],
    )?;
    Ok(())
}

pub fn set_ttl(conn: &Connection, id: Uuid, ttl_ms: Option<i64>) -> ApiResult<()> {
    conn.execute(
        "UPDATE workspaces SET ttl_ms = ?2 WHERE id = ?1",
        params![id.to_string(), ttl_ms],
    )?;
    Ok(())
}

pub fn set_automatic_updates(conn: &Connection, id: Uuid, value: &str) -> ApiResult<()> {
    conn.execute(
        "UPDATE workspaces SET automatic_updates = ?2 WHERE id = ?1",
        params![id.to_string(), value],
    )?;
    Ok(())
}

/// Dormancy and its deletion date in one update; waking also counts as use.
pub fn set_dormant(
    conn: &Connection,
    id: Uuid,
    dormant_at: Option<Micros>,
    deleting_at: Option<Micros>,
    now: Micros,
) -> ApiResult<()> {
    conn.execute(
        "UPDATE workspaces SET dormant_at = ?2, deleting_at = ?3,
            last_used_at = CASE WHEN ?2 IS NULL THEN ?4 ELSE last_used_at END
         WHERE id = ?1",
        params![id.to_string(), dormant_at, deleting_at, now],
    )?;
    Ok(())
}

pub fn set_favorite(conn: &Connection, id: Uuid, favorite: bool) -> ApiResult<()> {
    conn.execute(
        "UPDATE workspaces SET favorite = ?2 WHERE id = ?1",
        params![id.to_string(), favorite],
    )?;
    Ok(())
}

/// Never moves `last_used_at` backwards.
pub fn touch_last_used(conn: &Connection, id: Uuid, now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE workspaces SET last_used_at = max(last_used_at, ?2) WHERE id = ?1",
        params![id.to_string(), now],
    )?;
    Ok(())
}

pub fn set_user_acl(conn: &Connection, id: Uuid, user: Uuid, role: Option<&str>) -> ApiResult<()> {
    match role {
        Some(r) => conn.execute(
            "INSERT INTO workspace_user_acl (workspace_id, user_id, role) VALUES (?1, ?2, ?3)
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role",
            params![id.to_string(), user.to_string(), r],
        )?,
        None => conn.execute(
            "DELETE FROM workspace_user_acl WHERE workspace_id = ?1 AND user_id = ?2",
            params![id.to_string(), user.to_string()],
        )?,
    };
    Ok(())
}

pub fn set_group_acl(
    conn: &Connection,
    id: Uuid,
    group: Uuid,
    role: Option<&str>,
) -> ApiResult<()> {
    match role {
        Some(r) => conn.execute(
            "INSERT INTO workspace_group_acl (workspace_id, group_id, role) VALUES (?1, ?2, ?3)
             ON CONFLICT (workspace_id, group_id) DO UPDATE SET role = excluded.role",
            params![id.to_string(), group.to_string(), r],
        )?,
        None => conn.execute(
            "DELETE FROM workspace_group_acl WHERE workspace_id = ?1 AND group_id = ?2",
            params![id.to_string(), group.to_string()],
        )?,
    };
    Ok(())
}

pub fn clear_acl(conn: &Connection, id: Uuid) -> ApiResult<()> {
    conn.execute(
        "DELETE FROM workspace_user_acl WHERE workspace_id = ?",
        [id.to_string()],
    )?;
    conn.execute(
        "DELETE FROM workspace_group_acl WHERE workspace_id = ?",
        [id.to_string()],
    )?;
    Ok(())
}
