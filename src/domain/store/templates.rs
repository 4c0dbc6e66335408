//! Templates and their access-control lists.

use std::collections::HashMap;

use super::sql::{args, placeholders, Param, Row, StoreResult, Tx};
use uuid::Uuid;

use crate::sdk::Micros;

#[derive(Debug, Clone, Default)]
pub struct TemplateRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub icon: String,
    pub provisioner: String,
    pub active_version_id: Uuid,
    pub created_by: Uuid,
    pub default_ttl_ms: i64,
    pub activity_bump_ms: i64,
    /// Bit 0 = Monday … bit 6 = Sunday.
    pub autostop_requirement_days: i64,
    pub autostop_requirement_weeks: i64,
    pub autostart_requirement_days: i64,
    pub allow_user_autostart: bool,
    pub allow_user_autostop: bool,
    pub allow_user_cancel_workspace_jobs: bool,
    pub failure_ttl_ms: i64,
    pub time_til_dormant_ms: i64,
    pub time_til_dormant_autodelete_ms: i64,
    pub require_active_version: bool,
    pub deprecation_message: String,
    pub max_port_share_level: String,
    pub use_classic_parameter_flow: bool,
    pub cors_behavior: String,
    pub created_at: Micros,
    pub updated_at: Micros,
    pub deleted: bool,
    pub use_terraform_workspace_cache: bool,
    // Joined for rendering.
    pub organization_name: String,
    pub organization_display_name: String,
    pub organization_icon: String,
    pub created_by_name: String,
    pub user_acl: Vec<(Uuid, String)>,
    pub group_acl: Vec<(Uuid, String)>,
}

const SELECT: &str = "SELECT t.id, t.organization_id, t.name, t.display_name, t.description, t.icon,
        t.provisioner, t.active_version_id, t.created_by, t.default_ttl_ms, t.activity_bump_ms,
        t.autostop_requirement_days, t.autostop_requirement_weeks, t.autostart_requirement_days,
        t.allow_user_autostart, t.allow_user_autostop, t.allow_user_cancel_workspace_jobs,
        t.failure_ttl_ms, t.time_til_dormant_ms, t.time_til_dormant_autodelete_ms,
        t.require_active_version, t.deprecation_message, t.max_port_share_level,
        t.use_classic_parameter_flow, t.cors_behavior, t.created_at, t.updated_at, t.deleted,
        t.use_terraform_workspace_cache, o.name, o.display_name, o.icon, u.username,
        (SELECT json_group_array(json_array(a.user_id, a.role)) FROM template_user_acl a WHERE a.template_id = t.id),
        (SELECT json_group_array(json_array(a.group_id, a.role)) FROM template_group_acl a WHERE a.template_id = t.id)
    FROM templates t JOIN organizations o ON o.id = t.organization_id JOIN users u ON u.id = t.created_by";

fn from_row(r: &Row) -> StoreResult<TemplateRow> {
    let id = |i: usize| -> StoreResult<Uuid> { r.get(i) };
    Ok(TemplateRow {
        id: id(0)?,
        organization_id: id(1)?,
        name: r.get(2)?,
        display_name: r.get(3)?,
        description: r.get(4)?,
        icon: r.get(5)?,
        provisioner: r.get(6)?,
        active_version_id: id(7)?,
        created_by: id(8)?,
        default_ttl_ms: r.get(9)?,
        activity_bump_ms: r.get(10)?,
        autostop_requirement_days: r.get(11)?,
        autostop_requirement_weeks: r.get(12)?,
        autostart_requirement_days: r.get(13)?,
        allow_user_autostart: r.get(14)?,
        allow_user_autostop: r.get(15)?,
        allow_user_cancel_workspace_jobs: r.get(16)?,
        failure_ttl_ms: r.get(17)?,
        time_til_dormant_ms: r.get(18)?,
        time_til_dormant_autodelete_ms: r.get(19)?,
        require_active_version: r.get(20)?,
        deprecation_message: r.get(21)?,
        max_port_share_level: r.get(22)?,
        use_classic_parameter_flow: r.get(23)?,
        cors_behavior: r.get(24)?,
        created_at: r.get(25)?,
        updated_at: r.get(26)?,
        deleted: r.get(27)?,
        use_terraform_workspace_cache: r.get(28)?,
        organization_name: r.get(29)?,
        organization_display_name: r.get(30)?,
        organization_icon: r.get(31)?,
        created_by_name: r.get(32)?,
        user_acl: super::acl_pairs(r.get(33)?)?,
        group_acl: super::acl_pairs(r.get(34)?)?,
    })
}

pub fn insert(tx: &Tx, t: &TemplateRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO templates (id, organization_id, name, display_name, description, icon, provisioner,
            active_version_id, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
        args![t.id, t.organization_id, t.name, t.display_name, t.description, t.icon, t.provisioner, t.active_version_id, t.created_by, t.created_at],
    )?;
    update(tx, t)
}

/// Writes every mutable column of `t`.
pub fn update(tx: &Tx, t: &TemplateRow) -> StoreResult<()> {
    tx.execute(
        "UPDATE templates SET name = ?2, display_name = ?3, description = ?4, icon = ?5,
            active_version_id = ?6, default_ttl_ms = ?7, activity_bump_ms = ?8,
            autostop_requirement_days = ?9, autostop_requirement_weeks = ?10,
            autostart_requirement_days = ?11, allow_user_autostart = ?12, allow_user_autostop = ?13,
            allow_user_cancel_workspace_jobs = ?14, failure_ttl_ms = ?15, time_til_dormant_ms = ?16,
            time_til_dormant_autodelete_ms = ?17, require_active_version = ?18,
            deprecation_message = ?19, max_port_share_level = ?20, use_classic_parameter_flow = ?21,
            cors_behavior = ?22, updated_at = ?23, use_terraform_workspace_cache = ?24
         WHERE id = ?1",
        args![
            t.id,
            t.name,
            t.display_name,
            t.description,
            t.icon,
            t.active_version_id,
            t.default_ttl_ms,
            t.activity_bump_ms,
            t.autostop_requirement_days,
            t.autostop_requirement_weeks,
            t.autostart_requirement_days,
            t.allow_user_autostart,
            t.allow_user_autostop,
            t.allow_user_cancel_workspace_jobs,
            t.failure_ttl_ms,
            t.time_til_dormant_ms,
            t.time_til_dormant_autodelete_ms,
            t.require_active_version,
            t.deprecation_message,
            t.max_port_share_level,
            t.use_classic_parameter_flow,
            t.cors_behavior,
            t.updated_at,
            t.use_terraform_workspace_cache
        ],
    )?;
    workspaces_changed(tx, t.id)
}

pub fn soft_delete(tx: &Tx, id: Uuid, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE templates SET deleted = 1, updated_at = ?2 WHERE id = ?1",
        args![id, now],
    )?;
    Ok(())
}

pub fn get(tx: &Tx, id: Uuid) -> StoreResult<Option<TemplateRow>> {
    let sql = format!("{SELECT} WHERE t.id = ? AND t.deleted = 0");
    tx.query_opt(&sql, args![id], from_row)
}

/// Including deleted templates (workspaces keep pointing at theirs).
pub fn get_any(tx: &Tx, id: Uuid) -> StoreResult<Option<TemplateRow>> {
    let sql = format!("{SELECT} WHERE t.id = ?");
    tx.query_opt(&sql, args![id], from_row)
}

pub fn get_by_name(tx: &Tx, org: Uuid, name: &str) -> StoreResult<Option<TemplateRow>> {
    let sql = format!(
        "{SELECT} WHERE t.organization_id = ? AND lower(t.name) = lower(?) AND t.deleted = 0"
    );
    tx.query_opt(&sql, args![org, name], from_row)
}

/// The filters of `GET /templates` (Coder's `GetTemplatesWithFilter`);
/// `None` or empty means "do not filter on this".
#[derive(Debug, Default)]
pub struct TemplateFilter {
    /// Deleted templates instead of live ones.
    pub deleted: bool,
    pub organization: Option<Uuid>,
    pub exact_name: Option<String>,
    pub exact_display_name: Option<String>,
    /// Substring of the name.
    pub fuzzy_name: Option<String>,
    /// Substring of the display name, or of the name (spaces dropped) when
    /// the template has no display name.
    pub fuzzy_display_name: Option<String>,
    pub ids: Vec<Uuid>,
    pub deprecated: Option<bool>,
    /// Of the active version.
    pub has_ai_task: Option<bool>,
    /// Of the active version.
    pub has_external_agent: Option<bool>,
    pub author_id: Option<Uuid>,
    pub author_username: Option<String>,
}

pub fn list(tx: &Tx, f: &TemplateFilter) -> StoreResult<Vec<TemplateRow>> {
    let mut clauses = vec!["t.deleted = ?".to_string()];
    let mut args: Vec<Param<'static>> = vec![Param::Int(f.deleted.into())];
    let mut clause = |sql: &str, values: &[&str]| {
        clauses.push(sql.to_string());
        args.extend(values.iter().map(|v| Param::text(*v)));
    };
    if let Some(o) = f.organization {
        clause("t.organization_id = ?", &[&o.to_string()]);
    }
    if let Some(n) = &f.exact_name {
        clause("lower(t.name) = lower(?)", &[n]);
    }
    if let Some(n) = &f.exact_display_name {
        clause("lower(t.display_name) = lower(?)", &[n]);
    }
    if let Some(n) = &f.fuzzy_name {
        clause("instr(lower(t.name), lower(?)) > 0", &[n]);
    }
    if let Some(n) = &f.fuzzy_display_name {
        clause(
            "CASE WHEN t.display_name <> '' THEN instr(lower(t.display_name), lower(?)) > 0
                  ELSE instr(lower(t.name), replace(lower(?), ' ', '')) > 0 END",
            &[n, n],
        );
    }
    if let Some(d) = f.deprecated {
        clause(
            if d {
                "t.deprecation_message <> ''"
            } else {
                "t.deprecation_message = ''"
            },
            &[],
        );
    }
    for (flag, column) in [
        (f.has_ai_task, "has_ai_task"),
        (f.has_external_agent, "has_external_agent"),
    ] {
        if let Some(b) = flag {
            clause(
                &format!(
                    "(SELECT v.{column} FROM template_versions v WHERE v.id = t.active_version_id) = {}",
                    i32::from(b)
                ),
                &[],
            );
        }
    }
    if let Some(a) = f.author_id {
        clause("t.created_by = ?", &[&a.to_string()]);
    }
    if let Some(a) = &f.author_username {
        clause(
            "t.created_by = (SELECT id FROM users WHERE lower(username) = lower(?) AND deleted = 0)",
            &[a],
        );
    }
    if !f.ids.is_empty() {
        let ids: Vec<String> = f.ids.iter().map(Uuid::to_string).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        clause(&format!("t.id IN ({})", placeholders(ids.len())), &ids);
    }
    let sql = format!(
        "{SELECT} WHERE {} ORDER BY lower(t.name), t.id",
        clauses.join(" AND ")
    );
    tx.query(&sql, &args, from_row)
}

pub fn set_group_acl(tx: &Tx, template: Uuid, group: Uuid, role: Option<&str>) -> StoreResult<()> {
    super::set_acl(tx, super::AclTable::TemplateGroups, template, group, role)
}

pub fn set_user_acl(tx: &Tx, template: Uuid, user: Uuid, role: Option<&str>) -> StoreResult<()> {
    super::set_acl(tx, super::AclTable::TemplateUsers, template, user, role)
}

/// Records a change of every live workspace of the template: their renders
/// show the template (and who may read it), so watchers must look again.
pub fn workspaces_changed(tx: &Tx, template: Uuid) -> StoreResult<()> {
    super::changed_where(
        tx,
        "SELECT id FROM workspaces WHERE template_id = ? AND deleted = 0",
        &template.to_string(),
        "template",
    )
}

pub fn count_live_workspaces(tx: &Tx, template: Uuid) -> StoreResult<i64> {
    tx.query_one(
        "SELECT count(*) FROM workspaces WHERE template_id = ? AND deleted = 0",
        args![template],
        |r| r.get(0),
    )
}

/// Build durations (ms) of each template's 300 most recent successful
/// builds, with their transitions — for `build_time_stats`. One query.
pub fn build_durations(
    tx: &Tx,
    templates: &[Uuid],
) -> StoreResult<HashMap<Uuid, Vec<(String, i64)>>> {
    let mut out: HashMap<Uuid, Vec<(String, i64)>> = HashMap::new();
    if templates.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT template_id, transition, ms FROM (
            SELECT w.template_id, b.transition, (j.completed_at - j.started_at) / 1000 AS ms,
                   row_number() OVER (PARTITION BY w.template_id ORDER BY j.completed_at DESC) AS n
            FROM workspace_builds b JOIN provisioner_jobs j ON j.id = b.job_id
            JOIN workspaces w ON w.id = b.workspace_id
            WHERE w.template_id IN ({}) AND j.completed_at IS NOT NULL AND j.started_at IS NOT NULL
              AND j.error = '' AND j.canceled_at IS NULL) AS recent
         WHERE n <= 300",
        placeholders(templates.len())
    );
    tx.each(&sql, &Param::uuids(templates), |r| {
        out.entry(r.get(0)?)
            .or_default()
            .push((r.get(1)?, r.get(2)?));
        Ok(())
    })?;
    Ok(out)
}

/// Distinct owners of each template's live workspaces used since `since`.
pub fn active_users(tx: &Tx, templates: &[Uuid], since: Micros) -> StoreResult<HashMap<Uuid, i64>> {
    let mut out = HashMap::new();
    if templates.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT template_id, count(DISTINCT owner_id) FROM workspaces
         WHERE template_id IN ({}) AND deleted = 0 AND last_used_at > ? GROUP BY template_id",
        placeholders(templates.len())
    );
    let mut args = Param::uuids(templates);
    args.push(Param::Int(since));
    tx.each(&sql, &args, |r| {
        out.insert(r.get(0)?, r.get(1)?);
        Ok(())
    })?;
    Ok(out)
}

/// Templates by id, deleted ones included, in one query.
pub fn list_any(tx: &Tx, ids: &[Uuid]) -> StoreResult<Vec<TemplateRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("{SELECT} WHERE t.id IN ({})", placeholders(ids.len()));
    tx.query(&sql, &Param::uuids(ids), from_row)
}
