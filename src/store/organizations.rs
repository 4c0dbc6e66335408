//! Organizations and their memberships.

use rusqlite::{params, params_from_iter, Connection, Row};
use uuid::Uuid;

use super::{json_col, optional};
use crate::error::ApiResult;
use crate::sdk::Micros;
use crate::store::users::{self, UserRow};

#[derive(Debug, Clone)]
pub struct OrganizationRow {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub icon: String,
    pub is_default: bool,
    pub created_at: Micros,
    pub updated_at: Micros,
}

const COLUMNS: &str =
    "o.id, o.name, o.display_name, o.description, o.icon, o.is_default, o.created_at, o.updated_at";

fn from_row(r: &Row) -> rusqlite::Result<OrganizationRow> {
    let id: String = r.get(0)?;
    Ok(OrganizationRow {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        name: r.get(1)?,
        display_name: r.get(2)?,
        description: r.get(3)?,
        icon: r.get(4)?,
        is_default: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

pub fn insert(conn: &Connection, o: &OrganizationRow) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO organizations (id, name, display_name, description, icon, is_default, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            o.id.to_string(),
            o.name,
            o.display_name,
            o.description,
            o.icon,
            o.is_default,
            o.created_at,
            o.updated_at
        ],
    )?;
    Ok(())
}

pub fn update(conn: &Connection, o: &OrganizationRow) -> ApiResult<()> {
    conn.execute(
        "UPDATE organizations SET name = ?2, display_name = ?3, description = ?4, icon = ?5, updated_at = ?6
         WHERE id = ?1",
        params![
            o.id.to_string(),
            o.name,
            o.display_name,
            o.description,
            o.icon,
            o.updated_at
        ],
    )?;
    Ok(())
}

pub fn soft_delete(conn: &Connection, id: Uuid, now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE organizations SET deleted = 1, updated_at = ?2 WHERE id = ?1",
        params![id.to_string(), now],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: Uuid) -> ApiResult<Option<OrganizationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM organizations o WHERE o.id = ? AND o.deleted = 0");
    optional(conn.query_row(&sql, [id.to_string()], from_row))
}

pub fn get_by_name(conn: &Connection, name: &str) -> ApiResult<Option<OrganizationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM organizations o WHERE lower(o.name) = lower(?) AND o.deleted = 0"
    );
    optional(conn.query_row(&sql, [name], from_row))
}

pub fn get_default(conn: &Connection) -> ApiResult<Option<OrganizationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM organizations o WHERE o.is_default = 1");
    optional(conn.query_row(&sql, [], from_row))
}

/// All live organizations, or only those with the given ids.
pub fn list(conn: &Connection, only: Option<&[Uuid]>) -> ApiResult<Vec<OrganizationRow>> {
    let (filter, args): (String, Vec<String>) = match only {
        None => (String::new(), Vec::new()),
        Some([]) => return Ok(Vec::new()),
        Some(ids) => (
            format!("AND o.id IN ({})", super::placeholders(ids.len())),
            ids.iter().map(|i| i.to_string()).collect(),
        ),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM organizations o WHERE o.deleted = 0 {filter}
         ORDER BY o.is_default DESC, lower(o.name)"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[derive(Debug, Clone)]
pub struct MemberRow {
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub roles: Vec<String>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

pub fn add_member(conn: &Connection, m: &MemberRow) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO organization_members (organization_id, user_id, roles, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            m.organization_id.to_string(),
            m.user_id.to_string(),
            serde_json::to_string(&m.roles)?,
            m.created_at,
            m.updated_at
        ],
    )?;
    Ok(())
}

pub fn get_member(conn: &Connection, org: Uuid, user: Uuid) -> ApiResult<Option<MemberRow>> {
    optional(conn.query_row(
        "SELECT roles, created_at, updated_at FROM organization_members
         WHERE organization_id = ? AND user_id = ?",
        [org.to_string(), user.to_string()],
        |r| {
            let roles: String = r.get(0)?;
            Ok(MemberRow {
                organization_id: org,
                user_id: user,
                roles: json_col(&roles),
                created_at: r.get(1)?,
                updated_at: r.get(2)?,
            })
        },
    ))
}

pub fn set_member_roles(
    conn: &Connection,
    org: Uuid,
    user: Uuid,
    roles: &[String],
    now: Micros,
) -> ApiResult<()> {
    conn.execute(
        "UPDATE organization_members SET roles = ?3, updated_at = ?4
         WHERE organization_id = ?1 AND user_id = ?2",
        params![
            org.to_string(),
            user.to_string(),
            serde_json::to_string(roles)?,
            now
        ],
    )?;
    Ok(())
}

/// Removes a membership and the user's groups in that organization.
pub fn remove_member(conn: &Connection, org: Uuid, user: Uuid) -> ApiResult<bool> {
    conn.execute(
        "DELETE FROM group_members WHERE user_id = ?2
           AND group_id IN (SELECT id FROM groups WHERE organization_id = ?1)",
        [org.to_string(), user.to_string()],
    )?;
    Ok(conn.execute(
        "DELETE FROM organization_members WHERE organization_id = ?1 AND user_id = ?2",
        [org.to_string(), user.to_string()],
    )? > 0)
}

/// Members of an organization with their user rows, ordered by username, in
/// one query; with the total before paging.
pub fn list_members(
    conn: &Connection,
    org: Uuid,
    limit: i64,
    offset: i64,
) -> ApiResult<(Vec<(MemberRow, UserRow)>, i64)> {
    let count: i64 = conn.query_row(
        "SELECT count(*) FROM organization_members m JOIN users u ON u.id = m.user_id
         WHERE m.organization_id = ? AND u.deleted = 0",
        [org.to_string()],
        |r| r.get(0),
    )?;
    let lim = if limit <= 0 { -1 } else { limit };
    let sql = format!(
        "SELECT m.roles, m.created_at, m.updated_at, {} FROM organization_members m
         JOIN users u ON u.id = m.user_id
         WHERE m.organization_id = ? AND u.deleted = 0
         ORDER BY lower(u.username) LIMIT {lim} OFFSET {offset}",
        users::COLUMNS
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map([org.to_string()], |r| {
            let roles: String = r.get(0)?;
            let user = users::from_row(r, 3)?;
            Ok((
                MemberRow {
                    organization_id: org,
                    user_id: user.id,
                    roles: json_col(&roles),
                    created_at: r.get(1)?,
                    updated_at: r.get(2)?,
                },
                user,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, count))
}

/// Every membership of a user: organization id → explicit org roles.
pub fn memberships_of(conn: &Connection, user: Uuid) -> ApiResult<Vec<(Uuid, Vec<String>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.organization_id, m.roles FROM organization_members m
         JOIN organizations o ON o.id = m.organization_id
         WHERE m.user_id = ? AND o.deleted = 0",
    )?;
    let rows = stmt
        .query_map([user.to_string()], |r| {
            let id: String = r.get(0)?;
            let roles: String = r.get(1)?;
            Ok((Uuid::parse_str(&id).unwrap_or_default(), json_col(&roles)))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
