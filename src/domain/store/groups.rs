//! Groups and group membership. The Everyone group of an organization is a
//! row whose id equals the organization's; its members are the organization's
//! members, computed here rather than stored.

use std::collections::HashMap;

use super::sql::{args, parse_uuid, placeholders, Param, Row, StoreResult, Tx};
use uuid::Uuid;

use crate::domain::store::users::{self, UserRow};
use crate::sdk::Micros;

#[derive(Debug, Clone)]
pub struct GroupRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub display_name: String,
    pub avatar_url: String,
    pub quota_allowance: i64,
    pub source: String,
    pub created_at: Micros,
    pub organization_name: String,
    pub organization_display_name: String,
}

impl GroupRow {
    pub fn is_everyone(&self) -> bool {
        self.id == self.organization_id
    }
}

const COLUMNS: &str = "g.id, g.organization_id, g.name, g.display_name, g.avatar_url, \
     g.quota_allowance, g.source, g.created_at, o.name, o.display_name";

fn from_row(r: &Row) -> StoreResult<GroupRow> {
    let id: String = r.get(0)?;
    let org: String = r.get(1)?;
    Ok(GroupRow {
        id: parse_uuid(&id)?,
        organization_id: parse_uuid(&org)?,
        name: r.get(2)?,
        display_name: r.get(3)?,
        avatar_url: r.get(4)?,
        quota_allowance: r.get(5)?,
        source: r.get(6)?,
        created_at: r.get(7)?,
        organization_name: r.get(8)?,
        organization_display_name: r.get(9)?,
    })
}

pub fn insert(tx: &Tx, g: &GroupRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO groups (id, organization_id, name, display_name, avatar_url, quota_allowance, source, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        args![g.id, g.organization_id, g.name, g.display_name, g.avatar_url, g.quota_allowance, g.source, g.created_at],
    )?;
    Ok(())
}

pub fn update(tx: &Tx, g: &GroupRow) -> StoreResult<()> {
    tx.execute(
        "UPDATE groups SET name = ?2, display_name = ?3, avatar_url = ?4, quota_allowance = ?5 WHERE id = ?1",
        args![g.id, g.name, g.display_name, g.avatar_url, g.quota_allowance],
    )?;
    Ok(())
}

pub fn delete(tx: &Tx, id: Uuid) -> StoreResult<()> {
    tx.execute("DELETE FROM groups WHERE id = ?", args![id])?;
    Ok(())
}

pub fn get(tx: &Tx, id: Uuid) -> StoreResult<Option<GroupRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM groups g JOIN organizations o ON o.id = g.organization_id
         WHERE g.id = ? AND o.deleted = 0"
    );
    tx.query_opt(&sql, args![id], from_row)
}

pub fn get_by_name(tx: &Tx, org: Uuid, name: &str) -> StoreResult<Option<GroupRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM groups g JOIN organizations o ON o.id = g.organization_id
         WHERE g.organization_id = ? AND lower(g.name) = lower(?) AND o.deleted = 0"
    );
    tx.query_opt(&sql, args![org, name], from_row)
}

#[derive(Debug, Default)]
pub struct GroupFilter {
    pub organization: Option<Uuid>,
    pub has_member: Option<Uuid>,
    pub ids: Option<Vec<Uuid>>,
}

pub fn list(tx: &Tx, f: &GroupFilter) -> StoreResult<Vec<GroupRow>> {
    let mut clauses = vec!["o.deleted = 0".to_string()];
    let mut args: Vec<Param<'static>> = Vec::new();
    if let Some(org) = f.organization {
        clauses.push("g.organization_id = ?".into());
        args.push(Param::uuid(org));
    }
    if let Some(user) = f.has_member {
        clauses.push(
            "(EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = g.id AND gm.user_id = ?)
              OR (g.id = g.organization_id AND EXISTS (SELECT 1 FROM organization_members m
                  WHERE m.organization_id = g.organization_id AND m.user_id = ?)))"
                .into(),
        );
        args.push(Param::uuid(user));
        args.push(Param::uuid(user));
    }
    if let Some(ids) = &f.ids {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        clauses.push(format!("g.id IN ({})", placeholders(ids.len())));
        args.extend(Param::uuids(ids));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM groups g JOIN organizations o ON o.id = g.organization_id
         WHERE {} ORDER BY lower(o.name), lower(g.name)",
        clauses.join(" AND ")
    );
    let rows = tx.query(&sql, &args, from_row)?;
    Ok(rows)
}

/// Members of each group, in one query for all of them.
pub fn members_of(tx: &Tx, groups: &[GroupRow]) -> StoreResult<HashMap<Uuid, Vec<UserRow>>> {
    let mut out: HashMap<Uuid, Vec<UserRow>> = groups.iter().map(|g| (g.id, Vec::new())).collect();
    if groups.is_empty() {
        return Ok(out);
    }
    let ids: Vec<Uuid> = groups.iter().map(|g| g.id).collect();
    let ph = placeholders(ids.len());
    let sql = format!(
        "SELECT gm.group_id, {cols} FROM group_members gm JOIN users u ON u.id = gm.user_id
         WHERE gm.group_id IN ({ph}) AND u.deleted = 0
         UNION ALL
         SELECT m.organization_id, {cols} FROM organization_members m JOIN users u ON u.id = m.user_id
         WHERE m.organization_id IN ({ph}) AND u.deleted = 0
           AND EXISTS (SELECT 1 FROM groups g WHERE g.id = m.organization_id)
         ORDER BY 1",
        cols = users::COLUMNS
    );
    let mut args = Param::uuids(&ids);
    args.extend(Param::uuids(&ids));
    tx.each(&sql, &args, |r| {
        let gid: Uuid = r.get(0)?;
        if let Some(list) = out.get_mut(&gid) {
            list.push(users::from_row(r, 1)?);
        }
        Ok(())
    })?;
    for list in out.values_mut() {
        list.sort_by_key(|u| u.username.to_lowercase());
    }
    Ok(out)
}

pub fn add_member(tx: &Tx, group: Uuid, user: Uuid) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2)",
        args![group, user],
    )?;
    Ok(())
}

pub fn remove_member(tx: &Tx, group: Uuid, user: Uuid) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
        args![group, user],
    )?;
    Ok(())
}

pub fn is_member(tx: &Tx, group: Uuid, user: Uuid) -> StoreResult<bool> {
    let n: i64 = tx.query_one(
        "SELECT count(*) FROM group_members WHERE group_id = ?1 AND user_id = ?2",
        args![group, user],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Every group a user belongs to, Everyone groups included.
pub fn ids_of_user(tx: &Tx, user: Uuid) -> StoreResult<Vec<Uuid>> {
    tx.query(
        "SELECT group_id FROM group_members WHERE user_id = ?1
         UNION SELECT organization_id FROM organization_members WHERE user_id = ?1",
        args![user],
        |r| r.get(0),
    )
}
