//! Custom organization roles: a name and display name per organization,
//! and the organization-level permissions the role grants. Names are
//! unique per organization whatever their case, as Coder's
//! `idx_custom_roles_name_lower`.

use super::sql::{args, parse_json, placeholders, Param, Row, StoreResult, Tx};
use uuid::Uuid;

use crate::authz::Permission;
use crate::sdk::Micros;

#[derive(Debug, Clone)]
pub struct CustomRoleRow {
    pub organization_id: Uuid,
    pub name: String,
    pub display_name: String,
    pub org_permissions: Vec<Permission>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

const COLUMNS: &str = "name, display_name, org_permissions, created_at, updated_at";

fn from_row(org: Uuid) -> impl Fn(&Row) -> StoreResult<CustomRoleRow> {
    move |r| {
        let perms: String = r.get(2)?;
        Ok(CustomRoleRow {
            organization_id: org,
            name: r.get(0)?,
            display_name: r.get(1)?,
            org_permissions: parse_json(&perms)?,
            created_at: r.get(3)?,
            updated_at: r.get(4)?,
        })
    }
}

pub fn insert(tx: &Tx, role: &CustomRoleRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO custom_roles (organization_id, name, display_name, org_permissions, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![
            role.organization_id,
            role.name,
            role.display_name,
            serde_json::to_string(&role.org_permissions)?,
            role.created_at,
            role.updated_at
        ],
    )?;
    Ok(())
}

/// Replaces a role's display name and permissions; `None` when the
/// organization has no role of that name.
pub fn update(
    tx: &Tx,
    org: Uuid,
    name: &str,
    display_name: &str,
    perms: &[Permission],
    now: Micros,
) -> StoreResult<Option<CustomRoleRow>> {
    let changed = tx.execute(
        "UPDATE custom_roles SET display_name = ?3, org_permissions = ?4, updated_at = ?5
         WHERE organization_id = ?1 AND lower(name) = lower(?2)",
        args![org, name, display_name, serde_json::to_string(perms)?, now],
    )?;
    if changed == 0 {
        return Ok(None);
    }
    get(tx, org, name)
}

pub fn get(tx: &Tx, org: Uuid, name: &str) -> StoreResult<Option<CustomRoleRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM custom_roles WHERE organization_id = ? AND lower(name) = lower(?)"
    );
    tx.query_opt(&sql, args![org, name], from_row(org))
}

/// The organization's custom roles by name.
pub fn list(tx: &Tx, org: Uuid) -> StoreResult<Vec<CustomRoleRow>> {
    let sql = format!("SELECT {COLUMNS} FROM custom_roles WHERE organization_id = ? ORDER BY name");
    tx.query(&sql, args![org], from_row(org))
}

/// Those of `names` that are custom roles of the organization.
pub fn get_many(tx: &Tx, org: Uuid, names: &[&str]) -> StoreResult<Vec<CustomRoleRow>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM custom_roles
         WHERE organization_id = ? AND lower(name) IN ({})",
        placeholders(names.len())
    );
    let mut params = vec![Param::uuid(org)];
    params.extend(names.iter().map(|n| Param::text(n.to_lowercase())));
    tx.query(&sql, &params, from_row(org))
}

pub fn delete(tx: &Tx, org: Uuid, name: &str) -> StoreResult<bool> {
    Ok(tx.execute(
        "DELETE FROM custom_roles WHERE organization_id = ?1 AND lower(name) = lower(?2)",
        args![org, name],
    )? > 0)
}
