//! Organizations and their memberships.

use super::sql::{args, parse_json, parse_uuid, placeholders, Param, Row, StoreResult, Tx};
use uuid::Uuid;

use crate::domain::store::users::{self, UserRow};
use crate::sdk::Micros;

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

fn from_row(r: &Row) -> StoreResult<OrganizationRow> {
    let id: String = r.get(0)?;
    Ok(OrganizationRow {
        id: parse_uuid(&id)?,
        name: r.get(1)?,
        display_name: r.get(2)?,
        description: r.get(3)?,
        icon: r.get(4)?,
        is_default: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

pub fn insert(tx: &Tx, o: &OrganizationRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO organizations (id, name, display_name, description, icon, is_default, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        args![o.id, o.name, o.display_name, o.description, o.icon, o.is_default, o.created_at, o.updated_at],
    )?;
    Ok(())
}

pub fn update(tx: &Tx, o: &OrganizationRow) -> StoreResult<()> {
    tx.execute(
        "UPDATE organizations SET name = ?2, display_name = ?3, description = ?4, icon = ?5, updated_at = ?6
         WHERE id = ?1",
        args![o.id, o.name, o.display_name, o.description, o.icon, o.updated_at],
    )?;
    Ok(())
}

pub fn soft_delete(tx: &Tx, id: Uuid, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE organizations SET deleted = 1, updated_at = ?2 WHERE id = ?1",
        args![id, now],
    )?;
    Ok(())
}

pub fn get(tx: &Tx, id: Uuid) -> StoreResult<Option<OrganizationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM organizations o WHERE o.id = ? AND o.deleted = 0");
    tx.query_opt(&sql, args![id], from_row)
}

pub fn get_by_name(tx: &Tx, name: &str) -> StoreResult<Option<OrganizationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM organizations o WHERE lower(o.name) = lower(?) AND o.deleted = 0"
    );
    tx.query_opt(&sql, args![name], from_row)
}

pub fn get_default(tx: &Tx) -> StoreResult<Option<OrganizationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM organizations o WHERE o.is_default = 1");
    tx.query_opt(&sql, args![], from_row)
}

/// All live organizations, or only those with the given ids.
pub fn list(tx: &Tx, only: Option<&[Uuid]>) -> StoreResult<Vec<OrganizationRow>> {
    let (filter, args): (String, Vec<Param<'static>>) = match only {
        None => (String::new(), Vec::new()),
        Some([]) => return Ok(Vec::new()),
        Some(ids) => (
            format!("AND o.id IN ({})", placeholders(ids.len())),
            Param::uuids(ids),
        ),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM organizations o WHERE o.deleted = 0 {filter}
         ORDER BY o.is_default DESC, lower(o.name)"
    );
    let rows = tx.query(&sql, &args, from_row)?;
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

pub fn add_member(tx: &Tx, m: &MemberRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO organization_members (organization_id, user_id, roles, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        args![
            m.organization_id,
            m.user_id,
            serde_json::to_string(&m.roles)?,
            m.created_at,
            m.updated_at
        ],
    )?;
    Ok(())
}

pub fn get_member(tx: &Tx, org: Uuid, user: Uuid) -> StoreResult<Option<MemberRow>> {
    tx.query_opt(
        "SELECT roles, created_at, updated_at FROM organization_members
         WHERE organization_id = ? AND user_id = ?",
        args![org, user],
        |r| {
            let roles: String = r.get(0)?;
            Ok(MemberRow {
                organization_id: org,
                user_id: user,
                roles: parse_json(&roles)?,
                created_at: r.get(1)?,
                updated_at: r.get(2)?,
            })
        },
    )
}

pub fn set_member_roles(
    tx: &Tx,
    org: Uuid,
    user: Uuid,
    roles: &[String],
    now: Micros,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE organization_members SET roles = ?3, updated_at = ?4
         WHERE organization_id = ?1 AND user_id = ?2",
        args![org, user, serde_json::to_string(roles)?, now],
    )?;
    Ok(())
}

/// Takes a role away from every member of the organization who holds it
/// (a deleted custom role, as Coder's trigger on `custom_roles` does).
pub fn remove_role_from_members(tx: &Tx, org: Uuid, role: &str) -> StoreResult<()> {
    tx.execute(
        "UPDATE organization_members
         SET roles = (SELECT coalesce(json_group_array(j.value), '[]')
                      FROM json_each(organization_members.roles) j
                      WHERE lower(j.value) <> lower(?2))
         WHERE organization_id = ?1
           AND EXISTS (SELECT 1 FROM json_each(organization_members.roles) j
                       WHERE lower(j.value) = lower(?2))",
        args![org, role],
    )?;
    Ok(())
}

/// Removes a membership and the user's groups in that organization.
pub fn remove_member(tx: &Tx, org: Uuid, user: Uuid) -> StoreResult<bool> {
    tx.execute(
        "DELETE FROM group_members WHERE user_id = ?2
           AND group_id IN (SELECT id FROM groups WHERE organization_id = ?1)",
        args![org, user],
    )?;
    Ok(tx.execute(
        "DELETE FROM organization_members WHERE organization_id = ?1 AND user_id = ?2",
        args![org, user],
    )? > 0)
}

/// Members of an organization with their user rows, ordered by username, in
/// one query; with the total before paging.
pub fn list_members(
    tx: &Tx,
    org: Uuid,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<(MemberRow, UserRow)>, i64)> {
    let count: i64 = tx.query_one(
        "SELECT count(*) FROM organization_members m JOIN users u ON u.id = m.user_id
         WHERE m.organization_id = ? AND u.deleted = 0",
        args![org],
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
    let rows = tx.query(&sql, args![org], |r| {
        let roles: String = r.get(0)?;
        let user = users::from_row(r, 3)?;
        Ok((
            MemberRow {
                organization_id: org,
                user_id: user.id,
                roles: parse_json(&roles)?,
                created_at: r.get(1)?,
                updated_at: r.get(2)?,
            },
            user,
        ))
    })?;
    Ok((rows, count))
}

/// Every membership of a user: organization id → explicit org roles.
pub fn memberships_of(tx: &Tx, user: Uuid) -> StoreResult<Vec<(Uuid, Vec<String>)>> {
    let rows = tx.query(
        "SELECT m.organization_id, m.roles FROM organization_members m
         JOIN organizations o ON o.id = m.organization_id
         WHERE m.user_id = ? AND o.deleted = 0",
        args![user],
        |r| {
            let id: String = r.get(0)?;
            let roles: String = r.get(1)?;
            Ok((parse_uuid(&id)?, parse_json(&roles)?))
        },
    )?;
    Ok(rows)
}

/// Live templates and workspaces of an organization.
pub fn count_live_contents(tx: &Tx, org: Uuid) -> StoreResult<i64> {
    tx.value(
        "SELECT (SELECT count(*) FROM templates WHERE organization_id = ?1 AND deleted = 0)
              + (SELECT count(*) FROM workspaces WHERE organization_id = ?1 AND deleted = 0)",
        args![org],
    )
}
