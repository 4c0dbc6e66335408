//! Template versions and what their import found: parameters, presets and
//! Terraform variables.

use rusqlite::{params, Connection, Row};
use uuid::Uuid;

use super::optional;
use crate::error::ApiResult;
use crate::provisioner::model::{Parameter, Preset, TemplateModel, Variable};
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

fn from_row(r: &Row) -> rusqlite::Result<VersionRow> {
    let id = |i: usize| -> rusqlite::Result<Uuid> {
        Ok(Uuid::parse_str(&r.get::<_, String>(i)?).unwrap_or_default())
    };
    let vars: String = r.get(11)?;
    Ok(VersionRow {
        id: id(0)?,
        template_id: r
            .get::<_, Option<String>>(1)?
            .and_then(|s| Uuid::parse_str(&s).ok()),
        organization_id: id(2)?,
        name: r.get(3)?,
        message: r.get(4)?,
        readme: r.get(5)?,
        job_id: id(6)?,
        created_by: id(7)?,
        archived: r.get(8)?,
        has_ai_task: r.get(9)?,
        has_external_agent: r.get(10)?,
        user_variable_values: serde_json::from_str(&vars).unwrap_or_default(),
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
        created_by_username: r.get(14)?,
        created_by_avatar_url: r.get(15)?,
        created_by_name: r.get(16)?,
    })
}

pub fn insert(conn: &Connection, v: &VersionRow) -> ApiResult<()> {
    conn.execute(
        "INSERT INTO template_versions (id, template_id, organization_id, name, message, job_id, created_by,
                                        user_variable_values, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![
            v.id.to_string(),
            v.template_id.map(|t| t.to_string()),
            v.organization_id.to_string(),
            v.name,
            v.message,
            v.job_id.to_string(),
            v.created_by.to_string(),
            serde_json::to_string(&v.user_variable_values)?,
            v.created_at
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: Uuid) -> ApiResult<Option<VersionRow>> {
    let sql = format!("{SELECT} WHERE v.id = ?");
    optional(conn.query_row(&sql, [id.to_string()], from_row))
}

pub fn get_by_job(conn: &Connection, job: Uuid) -> ApiResult<Option<VersionRow>> {
    let sql = format!("{SELECT} WHERE v.job_id = ?");
    optional(conn.query_row(&sql, [job.to_string()], from_row))
}

pub fn get_by_name(conn: &Connection, template: Uuid, name: &str) -> ApiResult<Option<VersionRow>> {
    let sql = format!("{SELECT} WHERE v.template_id = ? AND lower(v.name) = lower(?)");
    optional(conn.query_row(&sql, [template.to_string(), name.to_string()], from_row))
}

/// The version of `template` created last before `before` (Coder's
/// `GetPreviousTemplateVersion`).
pub fn previous(
    conn: &Connection,
    template: Uuid,
    before: Micros,
) -> ApiResult<Option<VersionRow>> {
    let sql = format!(
        "{SELECT} WHERE v.template_id = ? AND v.created_at < ? ORDER BY v.created_at DESC, v.id DESC LIMIT 1"
    );
    optional(conn.query_row(&sql, params![template.to_string(), before], from_row))
}

pub fn list(
    conn: &Connection,
    template: Uuid,
    include_archived: bool,
) -> ApiResult<Vec<VersionRow>> {
    let sql = format!(
        "{SELECT} WHERE v.template_id = ?1 AND (?2 OR v.archived = 0) ORDER BY v.created_at, v.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params![template.to_string(), include_archived], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn set_name_message(
    conn: &Connection,
    id: Uuid,
    name: &str,
    message: &str,
    now: Micros,
) -> ApiResult<()> {
    conn.execute(
        "UPDATE template_versions SET name = ?2, message = ?3, updated_at = ?4 WHERE id = ?1",
        params![id.to_string(), name, message, now],
    )?;
    Ok(())
}

pub fn attach(conn: &Connection, id: Uuid, template: Uuid, now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE template_versions SET template_id = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.to_string(), template.to_string(), now],
    )?;
    Ok(())
}

pub fn name_taken(conn: &Connection, template: Uuid, name: &str, except: Uuid) -> ApiResult<bool> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM template_versions WHERE template_id = ? AND lower(name) = lower(?) AND id <> ?",
        [template.to_string(), name.to_string(), except.to_string()],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Stores what an import found.
pub fn store_model(conn: &Connection, id: Uuid, m: &TemplateModel, now: Micros) -> ApiResult<()> {
    conn.execute(
        "UPDATE template_versions SET model = ?2, readme = ?3, has_ai_task = ?4, has_external_agent = ?5,
                updated_at = ?6 WHERE id = ?1",
        params![
            id.to_string(),
            serde_json::to_string(m)?,
            m.readme,
            m.has_ai_task,
            m.has_external_agent,
            now
        ],
    )?;
    for (i, p) in m.parameters.iter().enumerate() {
        conn.execute(
            "INSERT INTO template_version_parameters (template_version_id, position, name, definition)
             VALUES (?1, ?2, ?3, ?4)",
            params![id.to_string(), i as i64, p.name, serde_json::to_string(p)?],
        )?;
    }
    for p in &m.presets {
        conn.execute(
            "INSERT INTO template_version_presets (id, template_version_id, name, parameters, is_default,
                description, icon, desired_prebuild_instances, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                Uuid::new_v4().to_string(),
                id.to_string(),
                p.name,
                serde_json::to_string(&p.parameters)?,
                p.default,
                p.description,
                p.icon,
                p.prebuild_instances,
                now
            ],
        )?;
    }
    for (i, v) in m.variables.iter().enumerate() {
        conn.execute(
            "INSERT INTO template_version_variables (template_version_id, position, name, description, type,
                value, default_value, required, sensitive)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id.to_string(),
                i as i64,
                v.name,
                v.description,
                v.kind,
                "",
                v.default_value.clone().unwrap_or_default(),
                v.default_value.is_none(),
                v.sensitive
            ],
        )?;
    }
    Ok(())
}

pub fn model(conn: &Connection, id: Uuid) -> ApiResult<Option<TemplateModel>> {
    let text: Option<Option<String>> = optional(conn.query_row(
        "SELECT model FROM template_versions WHERE id = ?",
        [id.to_string()],
        |r| r.get(0),
    ))?;
    Ok(text.flatten().and_then(|t| serde_json::from_str(&t).ok()))
}

pub fn parameters(conn: &Connection, id: Uuid) -> ApiResult<Vec<Parameter>> {
    let mut stmt = conn.prepare_cached(
        "SELECT definition FROM template_version_parameters WHERE template_version_id = ? ORDER BY position",
    )?;
    let rows = stmt
        .query_map([id.to_string()], |r| r.get::<_, String>(0))?
        .filter_map(|r| r.ok().and_then(|t| serde_json::from_str(&t).ok()))
        .collect();
    Ok(rows)
}

pub fn presets(conn: &Connection, id: Uuid) -> ApiResult<Vec<(Uuid, Preset)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, parameters, is_default, description, icon, desired_prebuild_instances
         FROM template_version_presets WHERE template_version_id = ? ORDER BY created_at, rowid",
    )?;
    let rows = stmt
        .query_map([id.to_string()], |r| {
            let pid: String = r.get(0)?;
            let params: String = r.get(2)?;
            Ok((
                Uuid::parse_str(&pid).unwrap_or_default(),
                Preset {
                    name: r.get(1)?,
                    parameters: serde_json::from_str(&params).unwrap_or_default(),
                    default: r.get(3)?,
                    description: r.get(4)?,
                    icon: r.get(5)?,
                    prebuild_instances: r.get(6)?,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn variables(conn: &Connection, id: Uuid) -> ApiResult<Vec<Variable>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, description, type, default_value, required, sensitive FROM template_version_variables
         WHERE template_version_id = ? ORDER BY position",
    )?;
    let rows = stmt
        .query_map([id.to_string()], |r| {
            let required: bool = r.get(4)?;
            let default: String = r.get(3)?;
            Ok(Variable {
                name: r.get(0)?,
                description: r.get(1)?,
                kind: r.get(2)?,
                default_value: if required { None } else { Some(default) },
                sensitive: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
