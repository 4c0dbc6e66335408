//! Template versions and what their import found: parameters, presets and
//! Terraform variables.

use super::sql::{args, parse_json, Row, StoreResult, Tx};
use uuid::Uuid;

use crate::domain::template_model::{Parameter, Preset, TemplateModel, Variable};
use crate::sdk::Micros;

#[derive(Debug, Clone)]
pub struct VersionRow {
    pub id: Uuid,
    pub template_id: Option<Uuid>,
    pub organization_id: Uuid,
    pub name: String,
    pub message: String,
    pub readme: String,
    pub job_id: Uuid,
    pub created_by: Uuid,
    pub archived: bool,
    pub has_ai_task: bool,
    pub has_external_agent: bool,
    pub user_variable_values: Vec<(String, String)>,
    pub created_at: Micros,
    pub updated_at: Micros,
    // Joined.
    pub created_by_username: String,
    pub created_by_avatar_url: String,
    pub created_by_name: String,
}

const SELECT: &str =
    "SELECT v.id, v.template_id, v.organization_id, v.name, v.message, v.readme, v.job_id,
        v.created_by, v.archived, v.has_ai_task, v.has_external_agent, v.user_variable_values,
        v.created_at, v.updated_at, u.username, u.avatar_url, u.name
    FROM template_versions v JOIN users u ON u.id = v.created_by";

fn from_row(r: &Row) -> StoreResult<VersionRow> {
    let id = |i: usize| -> StoreResult<Uuid> { r.get(i) };
    let vars: String = r.get(11)?;
    Ok(VersionRow {
        id: id(0)?,
        template_id: r.get(1)?,
        organization_id: id(2)?,
        name: r.get(3)?,
        message: r.get(4)?,
        readme: r.get(5)?,
        job_id: id(6)?,
        created_by: id(7)?,
        archived: r.get(8)?,
        has_ai_task: r.get(9)?,
        has_external_agent: r.get(10)?,
        user_variable_values: parse_json(&vars)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
        created_by_username: r.get(14)?,
        created_by_avatar_url: r.get(15)?,
        created_by_name: r.get(16)?,
    })
}

pub fn insert(tx: &Tx, v: &VersionRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO template_versions (id, template_id, organization_id, name, message, job_id, created_by,
                                        user_variable_values, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        args![v.id, v.template_id, v.organization_id, v.name, v.message, v.job_id, v.created_by, serde_json::to_string(&v.user_variable_values)?, v.created_at],
    )?;
    Ok(())
}

pub fn get(tx: &Tx, id: Uuid) -> StoreResult<Option<VersionRow>> {
    let sql = format!("{SELECT} WHERE v.id = ?");
    tx.query_opt(&sql, args![id], from_row)
}

pub fn get_by_job(tx: &Tx, job: Uuid) -> StoreResult<Option<VersionRow>> {
    let sql = format!("{SELECT} WHERE v.job_id = ?");
    tx.query_opt(&sql, args![job], from_row)
}

pub fn get_by_name(tx: &Tx, template: Uuid, name: &str) -> StoreResult<Option<VersionRow>> {
    let sql = format!("{SELECT} WHERE v.template_id = ? AND lower(v.name) = lower(?)");
    tx.query_opt(&sql, args![template, name], from_row)
}

/// The version of `template` created last before `before` (Coder's
/// `GetPreviousTemplateVersion`).
pub fn previous(tx: &Tx, template: Uuid, before: Micros) -> StoreResult<Option<VersionRow>> {
    let sql = format!(
        "{SELECT} WHERE v.template_id = ? AND v.created_at < ? ORDER BY v.created_at DESC, v.id DESC LIMIT 1"
    );
    tx.query_opt(&sql, args![template, before], from_row)
}

pub fn list(tx: &Tx, template: Uuid, include_archived: bool) -> StoreResult<Vec<VersionRow>> {
    let sql = format!(
        "{SELECT} WHERE v.template_id = ?1 AND (?2 OR v.archived = 0) ORDER BY v.created_at, v.id"
    );
    let rows = tx.query(&sql, args![template, include_archived], from_row)?;
    Ok(rows)
}

/// Archives the template's versions that nothing uses (Coder's
/// `ArchiveUnusedTemplateVersions`): not yet archived, not the active
/// version, not the version of a workspace's latest build (but a
/// deletion), and not an import still
/// pending or running; only `only` when given, only failed imports when
/// `failed_only`. Returns the ids archived.
pub fn archive_unused(
    tx: &Tx,
    template: Uuid,
    only: Option<Uuid>,
    failed_only: bool,
    now: Micros,
) -> StoreResult<Vec<Uuid>> {
    let status = super::status::job_status_sql;
    let sql = format!(
        "UPDATE template_versions SET archived = 1, updated_at = ?3
         WHERE id IN (
             SELECT v.id FROM template_versions v
             JOIN provisioner_jobs j ON j.id = v.job_id
             JOIN templates t ON t.id = v.template_id
             WHERE v.template_id = ?1 AND v.archived = 0 AND (?2 IS NULL OR v.id = ?2)
               AND v.id <> t.active_version_id
               AND v.id NOT IN (SELECT b.template_version_id FROM workspaces w
                                JOIN workspace_builds b ON b.id = w.latest_build_id
                                WHERE b.transition <> 'delete')
               AND NOT {pending} AND NOT {running}
               AND (NOT ?4 OR {failed}))
         RETURNING id",
        pending = status("pending"),
        running = status("running"),
        failed = status("failed"),
    );
    let mut ids: Vec<Uuid> =
        tx.query(&sql, args![template, only, now, failed_only], |r| r.get(0))?;
    ids.sort();
    Ok(ids)
}

pub fn unarchive(tx: &Tx, id: Uuid, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE template_versions SET archived = 0, updated_at = ?2 WHERE id = ?1",
        args![id, now],
    )?;
    Ok(())
}

pub fn set_name_message(
    tx: &Tx,
    id: Uuid,
    name: &str,
    message: &str,
    now: Micros,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE template_versions SET name = ?2, message = ?3, updated_at = ?4 WHERE id = ?1",
        args![id, name, message, now],
    )?;
    Ok(())
}

pub fn attach(tx: &Tx, id: Uuid, template: Uuid, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE template_versions SET template_id = ?2, updated_at = ?3 WHERE id = ?1",
        args![id, template, now],
    )?;
    Ok(())
}

pub fn name_taken(tx: &Tx, template: Uuid, name: &str, except: Uuid) -> StoreResult<bool> {
    let n: i64 = tx.query_one(
        "SELECT count(*) FROM template_versions WHERE template_id = ? AND lower(name) = lower(?) AND id <> ?",
        args![template, name, except],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Stores what an import found.
pub fn store_model(tx: &Tx, id: Uuid, m: &TemplateModel, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE template_versions SET model = ?2, readme = ?3, has_ai_task = ?4, has_external_agent = ?5,
                updated_at = ?6 WHERE id = ?1",
        args![id, serde_json::to_string(m)?, m.readme, m.has_ai_task, m.has_external_agent, now],
    )?;
    for (i, p) in m.parameters.iter().enumerate() {
        tx.execute(
            "INSERT INTO template_version_parameters (template_version_id, position, name, definition)
             VALUES (?1, ?2, ?3, ?4)",
            args![id, i as i64, p.name, serde_json::to_string(p)?],
        )?;
    }
    for p in &m.presets {
        tx.execute(
            "INSERT INTO template_version_presets (id, template_version_id, name, parameters, is_default,
                description, icon, desired_prebuild_instances, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            args![crate::domain::new_id(), id, p.name, serde_json::to_string(&p.parameters)?, p.default, p.description, p.icon, p.prebuild_instances, now],
        )?;
    }
    for (i, v) in m.variables.iter().enumerate() {
        tx.execute(
            "INSERT INTO template_version_variables (template_version_id, position, name, description, type,
                value, default_value, required, sensitive)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            args![id, i as i64, v.name, v.description, v.kind, "", v.default_value.clone().unwrap_or_default(), v.default_value.is_none(), v.sensitive],
        )?;
    }
    Ok(())
}

pub fn model(tx: &Tx, id: Uuid) -> StoreResult<Option<TemplateModel>> {
    let text: Option<Option<String>> = tx.query_opt(
        "SELECT model FROM template_versions WHERE id = ?",
        args![id],
        |r| r.get(0),
    )?;
    text.flatten().map(|t| parse_json(&t)).transpose()
}

pub fn parameters(tx: &Tx, id: Uuid) -> StoreResult<Vec<Parameter>> {
    tx.query(
        "SELECT definition FROM template_version_parameters WHERE template_version_id = ? ORDER BY position",
        args![id],
        |r| parse_json(&r.get::<String>(0)?),
    )
}

pub fn presets(tx: &Tx, id: Uuid) -> StoreResult<Vec<(Uuid, Preset)>> {
    tx.query(
        "SELECT id, name, parameters, is_default, description, icon, desired_prebuild_instances
         FROM template_version_presets WHERE template_version_id = ? ORDER BY created_at, rowid",
        args![id],
        |r| {
            let params: String = r.get(2)?;
            Ok((
                r.get(0)?,
                Preset {
                    name: r.get(1)?,
                    parameters: parse_json(&params)?,
                    default: r.get(3)?,
                    description: r.get(4)?,
                    icon: r.get(5)?,
                    prebuild_instances: r.get(6)?,
                },
            ))
        },
    )
}

pub fn variables(tx: &Tx, id: Uuid) -> StoreResult<Vec<Variable>> {
    tx.query(
        "SELECT name, description, type, default_value, required, sensitive FROM template_version_variables
         WHERE template_version_id = ? ORDER BY position",
        args![id],
        |r| {
            let required: bool = r.get(4)?;
            let default: String = r.get(3)?;
            Ok(Variable {
                name: r.get(0)?,
                description: r.get(1)?,
                kind: r.get(2)?,
                default_value: if required { None } else { Some(default) },
                sensitive: r.get(5)?,
            })
        },
    )
}
