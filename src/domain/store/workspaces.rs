//! Workspaces and their sharing lists.

use super::sql::{args, placeholders, Param, Row, StoreResult, Tx};
use uuid::Uuid;

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

pub fn from_row(r: &Row) -> StoreResult<WorkspaceRow> {
    let id = |i: usize| -> StoreResult<Uuid> { r.get(i) };
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
        latest_build_id: r.get(13)?,
        deleted: r.get(14)?,
        created_at: r.get(15)?,
        updated_at: r.get(16)?,
        user_acl: super::acl_pairs(r.get(17)?)?,
        group_acl: super::acl_pairs(r.get(18)?)?,
    })
}

/// A second live workspace of one name for one owner is a
/// [`StoreError::Conflict`](super::StoreError::Conflict); the caller answers 409.
pub fn insert(tx: &Tx, w: &WorkspaceRow) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO workspaces (id, owner_id, organization_id, template_id, name, autostart_schedule, ttl_ms,
            next_start_at, last_used_at, automatic_updates, created_at, updated_at, owner_sort)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11,
                 (SELECT lower(username) FROM users WHERE id = ?2))",
        args![w.id, w.owner_id, w.organization_id, w.template_id, w.name, w.autostart_schedule, w.ttl_ms, w.next_start_at, w.last_used_at, w.automatic_updates, w.created_at],
    )?;
    super::changed(w.id, "created");
    Ok(())
}

/// Including deleted workspaces: lookups by id see them.
pub fn get(tx: &Tx, id: Uuid) -> StoreResult<Option<WorkspaceRow>> {
    let sql = format!("SELECT {COLUMNS} FROM workspaces w WHERE w.id = ?");
    tx.query_opt(&sql, args![id], from_row)
}

pub fn get_by_owner_name(
    tx: &Tx,
    owner: Uuid,
    name: &str,
    include_deleted: bool,
) -> StoreResult<Option<WorkspaceRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM workspaces w WHERE w.owner_id = ?1 AND lower(w.name) = lower(?2)
           AND (?3 OR w.deleted = 0) ORDER BY w.deleted, w.created_at DESC LIMIT 1"
    );
    tx.query_opt(&sql, args![owner, name, include_deleted], from_row)
}

pub fn get_many(tx: &Tx, ids: &[Uuid]) -> StoreResult<Vec<WorkspaceRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM workspaces w WHERE w.id IN ({})",
        placeholders(ids.len())
    );
    let rows = tx.query(&sql, &Param::uuids(ids), from_row)?;
    Ok(rows)
}

/// A new build is never running until its job succeeds.
pub fn set_latest_build(tx: &Tx, id: Uuid, build: Uuid, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspaces SET latest_build_id = ?2, running = 0, updated_at = ?3 WHERE id = ?1",
        args![id, build, now],
    )?;
    super::changed(id, "state_change");
    Ok(())
}

/// Called when a build's job succeeds.
pub fn set_running(tx: &Tx, id: Uuid, running: bool) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspaces SET running = ?2 WHERE id = ?1",
        args![id, running],
    )?;
    super::changed(id, "state_change");
    Ok(())
}

/// Keeps the list's owner sort key when a username changes.
pub fn rename_owner(tx: &Tx, owner: Uuid, username: &str) -> StoreResult<()> {
    super::changed_where(
        tx,
        "SELECT id FROM workspaces WHERE owner_id = ? AND deleted = 0",
        &owner.to_string(),
        "owner",
    )?;
    tx.execute(
        "UPDATE workspaces SET owner_sort = lower(?2) WHERE owner_id = ?1",
        args![owner, username],
    )?;
    Ok(())
}

pub fn mark_deleted(tx: &Tx, id: Uuid, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspaces SET deleted = 1, updated_at = ?2 WHERE id = ?1",
        args![id, now],
    )?;
    super::changed(id, "deleted");
    Ok(())
}

pub fn set_name(tx: &Tx, id: Uuid, name: &str, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspaces SET name = ?2, updated_at = ?3 WHERE id = ?1",
        args![id, name, now],
    )?;
    super::changed(id, "mtd_update");
    Ok(())
}

pub fn set_autostart(
    tx: &Tx,
    id: Uuid,
    schedule: Option<&str>,
    next_start_at: Option<Micros>,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspaces SET autostart_schedule = ?2, next_start_at = ?3 WHERE id = ?1",
        args![id, schedule, next_start_at],
    )?;
    super::changed(id, "schedule");
    Ok(())
}

pub fn set_next_start(tx: &Tx, id: Uuid, next_start_at: Option<Micros>) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspaces SET next_start_at = ?2 WHERE id = ?1",
        args![id, next_start_at],
    )?;
    super::changed(id, "schedule");
    Ok(())
}

pub fn set_ttl(tx: &Tx, id: Uuid, ttl_ms: Option<i64>) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspaces SET ttl_ms = ?2 WHERE id = ?1",
        args![id, ttl_ms],
    )?;
    super::changed(id, "ttl");
    Ok(())
}

pub fn set_automatic_updates(tx: &Tx, id: Uuid, value: &str) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspaces SET automatic_updates = ?2 WHERE id = ?1",
        args![id, value],
    )?;
    super::changed(id, "autoupdates");
    Ok(())
}

/// Dormancy and its deletion date in one update; waking also counts as use.
pub fn set_dormant(
    tx: &Tx,
    id: Uuid,
    dormant_at: Option<Micros>,
    deleting_at: Option<Micros>,
    now: Micros,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspaces SET dormant_at = ?2, deleting_at = ?3,
            last_used_at = CASE WHEN ?2 IS NULL THEN ?4 ELSE last_used_at END
         WHERE id = ?1",
        args![id, dormant_at, deleting_at, now],
    )?;
    super::changed(id, "dormancy");
    Ok(())
}

pub fn set_favorite(tx: &Tx, id: Uuid, favorite: bool) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspaces SET favorite = ?2 WHERE id = ?1",
        args![id, favorite],
    )?;
    super::changed(id, "favorite");
    Ok(())
}

/// Never moves `last_used_at` backwards.
pub fn touch_last_used(tx: &Tx, id: Uuid, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspaces SET last_used_at = max(last_used_at, ?2) WHERE id = ?1",
        args![id, now],
    )?;
    super::changed(id, "usage");
    Ok(())
}

pub fn set_user_acl(tx: &Tx, id: Uuid, user: Uuid, role: Option<&str>) -> StoreResult<()> {
    super::set_acl(tx, super::AclTable::WorkspaceUsers, id, user, role)?;
    super::changed(id, "acl");
    Ok(())
}

pub fn set_group_acl(tx: &Tx, id: Uuid, group: Uuid, role: Option<&str>) -> StoreResult<()> {
    super::set_acl(tx, super::AclTable::WorkspaceGroups, id, group, role)?;
    super::changed(id, "acl");
    Ok(())
}

pub fn clear_acl(tx: &Tx, id: Uuid) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM workspace_user_acl WHERE workspace_id = ?",
        args![id],
    )?;
    tx.execute(
        "DELETE FROM workspace_group_acl WHERE workspace_id = ?",
        args![id],
    )?;
    super::changed(id, "acl");
    Ok(())
}

/// `update_workspace_last_used_at` of a template update: every live
/// workspace of the template counts as used now.
pub fn touch_last_used_of_template(tx: &Tx, template: Uuid, now: Micros) -> StoreResult<()> {
    super::changed_where(
        tx,
        "SELECT id FROM workspaces WHERE template_id = ? AND deleted = 0",
        &template,
        "usage",
    )?;
    tx.execute(
        "UPDATE workspaces SET last_used_at = ?2, updated_at = ?2 WHERE template_id = ?1 AND deleted = 0",
        args![template, now],
    )?;
    Ok(())
}

/// `update_workspace_dormant_at` of a template update: dormant workspaces
/// of the template count as dormant from now.
pub fn restart_dormancy_of_template(tx: &Tx, template: Uuid, now: Micros) -> StoreResult<()> {
    super::changed_where(
        tx,
        "SELECT id FROM workspaces WHERE template_id = ? AND deleted = 0 AND dormant_at IS NOT NULL",
        &template,
        "dormancy",
    )?;
    tx.execute(
        "UPDATE workspaces SET dormant_at = ?2, updated_at = ?2
         WHERE template_id = ?1 AND deleted = 0 AND dormant_at IS NOT NULL",
        args![template, now],
    )?;
    Ok(())
}

/// Live workspaces of a template that have an autostart schedule.
pub fn autostart_schedules_of_template(
    tx: &Tx,
    template: Uuid,
) -> StoreResult<Vec<(Uuid, String)>> {
    tx.query(
        "SELECT id, autostart_schedule FROM workspaces
         WHERE template_id = ? AND deleted = 0 AND autostart_schedule IS NOT NULL",
        args![template],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// A workspace whose latest build may call for the lifecycle executor's
/// action, with what decides it.
#[derive(Debug, Clone)]
pub struct LifecycleCandidate {
    pub id: Uuid,
    pub owner: Uuid,
    pub owner_status: String,
    pub transition: String,
    pub build_created: Micros,
    pub deadline: Option<Micros>,
    pub completed: Option<Micros>,
    pub failed: bool,
    pub active: bool,
}

/// What the lifecycle executor reads of a workspace (`w`), its owner and
/// its latest build (`b`) and job (`j`).
const LIFECYCLE_FACTS: &str =
    "SELECT w.id, w.owner_id, u.status, b.transition, b.created_at, b.deadline, j.completed_at,
            j.error <> '', j.completed_at IS NULL
     FROM workspaces w JOIN users u ON u.id = w.owner_id
     JOIN workspace_builds b ON b.id = w.latest_build_id
     JOIN provisioner_jobs j ON j.id = b.job_id
     JOIN templates t ON t.id = w.template_id";

fn lifecycle_row(r: &Row) -> StoreResult<LifecycleCandidate> {
    Ok(LifecycleCandidate {
        id: r.get(0)?,
        owner: r.get(1)?,
        owner_status: r.get(2)?,
        transition: r.get(3)?,
        build_created: r.get(4)?,
        deadline: r.get(5)?,
        completed: r.get(6)?,
        failed: r.get(7)?,
        active: r.get(8)?,
    })
}

/// Workspaces that may need a transition at `now`: a pre-filter, so a tick
/// does not load every workspace; the executor re-checks each.
pub fn lifecycle_candidates(tx: &Tx, now: Micros) -> StoreResult<Vec<LifecycleCandidate>> {
    let sql = format!(
        "{LIFECYCLE_FACTS}
         WHERE w.deleted = 0 AND j.completed_at IS NOT NULL AND (
               (b.transition = 'start' AND (b.deadline <= ?1 OR u.status = 'suspended'))
            OR (b.transition = 'stop' AND w.autostart_schedule IS NOT NULL)
            OR (j.error <> '' AND t.failure_ttl_ms > 0)
            OR (t.time_til_dormant_ms > 0 AND w.dormant_at IS NULL
                AND w.last_used_at < ?1 - t.time_til_dormant_ms * 1000)
            OR (w.deleting_at <= ?1))"
    );
    tx.query(&sql, args![now], lifecycle_row)
}

/// The executor's facts about one workspace, whether due or not.
pub fn lifecycle_facts(tx: &Tx, id: Uuid) -> StoreResult<Option<LifecycleCandidate>> {
    let sql = format!("{LIFECYCLE_FACTS} WHERE w.id = ?1");
    tx.query_opt(&sql, args![id], lifecycle_row)
}

/// Live workspaces a user owns.
pub fn count_live_of_owner(tx: &Tx, owner: Uuid) -> StoreResult<i64> {
    tx.value(
        "SELECT count(*) FROM workspaces WHERE owner_id = ? AND deleted = 0",
        args![owner],
    )
}

/// Filters of `GET /workspaces` with names already resolved to ids.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// Some filter names something that does not exist: nothing matches.
    pub nothing: bool,
    pub owner: Option<Uuid>,
    pub name: Option<String>,
    pub template_name: Option<String>,
    pub status: Option<String>,
    pub has_agent: Vec<String>,
    pub dormant: bool,
    pub last_used_after: Option<Micros>,
    pub last_used_before: Option<Micros>,
    pub outdated: Option<bool>,
    pub has_ai_task: Option<bool>,
    pub has_external_agent: Option<bool>,
    pub ids: Vec<Uuid>,
    pub organization: Option<Uuid>,
    pub param_names: Vec<String>,
    pub param_values: Vec<(String, String)>,
    pub shared: Option<bool>,
    pub shared_with_user: Option<Uuid>,
    pub shared_with_group: Option<Uuid>,
}

/// One page of non-deleted workspaces matching `f` that `vis` may read, in
/// Coder's order, with the total count before paging. Two queries.
pub fn list(
    tx: &Tx,
    f: &ListFilter,
    vis: &crate::authz::WorkspaceVisibility,
    limit: Option<i64>,
    offset: i64,
    now: Micros,
    inactive_timeout_us: i64,
) -> StoreResult<(Vec<WorkspaceRow>, i64)> {
    if f.nothing {
        return Ok((Vec::new(), 0));
    }
    let mut c: Vec<String> = vec!["w.deleted = 0".into()];
    let mut a: Vec<Param<'static>> = Vec::new();
    let text = |s: &str| Param::text(s.to_string());
    if !vis.all {
        let mut any = Vec::new();
        if !vis.member_of.is_empty() {
            let ph = placeholders(vis.member_of.len());
            any.push(format!("(w.owner_id = ? AND w.organization_id IN ({ph}))"));
            a.push(text(&vis.user.to_string()));
            a.extend(vis.member_of.iter().map(|o| text(&o.to_string())));
            let gph = placeholders(vis.groups.len().max(1));
            any.push(format!(
                "(w.organization_id IN ({ph}) AND (EXISTS (SELECT 1 FROM workspace_user_acl x WHERE x.workspace_id = w.id AND x.user_id = ?)
                  OR EXISTS (SELECT 1 FROM workspace_group_acl x WHERE x.workspace_id = w.id AND x.group_id IN ({gph}))))"
            ));
            a.extend(vis.member_of.iter().map(|o| text(&o.to_string())));
            a.push(text(&vis.user.to_string()));
            if vis.groups.is_empty() {
                a.push(Param::Null);
            }
            a.extend(vis.groups.iter().map(|g| text(&g.to_string())));
        }
        if !vis.reads_all_in.is_empty() {
            any.push(format!(
                "w.organization_id IN ({})",
                placeholders(vis.reads_all_in.len())
            ));
            a.extend(vis.reads_all_in.iter().map(|o| text(&o.to_string())));
        }
        if any.is_empty() {
            return Ok((Vec::new(), 0));
        }
        c.push(format!("({})", any.join(" OR ")));
    }
    if let Some(o) = f.owner {
        c.push("w.owner_id = ?".into());
        a.push(text(&o.to_string()));
    }
    if let Some(n) = &f.name {
        // ILIKE semantics: % and _ stay wildcards, as in Coder.
        c.push("w.name LIKE ?".into());
        a.push(text(&format!("%{n}%")));
    }
    if let Some(t) = &f.template_name {
        c.push("lower(t.name) = lower(?) AND t.deleted = 0".into());
        a.push(text(t));
    }
    if let Some(s) = &f.status {
        c.push(super::status::workspace_status_sql(s));
    }
    if !f.has_agent.is_empty() {
        let states: Vec<String> = f
            .has_agent
            .iter()
            .map(|s| super::status::agent_status_sql(s, now, inactive_timeout_us))
            .collect();
        c.push(format!(
            "(b.transition = 'start' AND EXISTS (SELECT 1 FROM workspace_agents g JOIN workspace_resources r ON r.id = g.resource_id
               WHERE r.job_id = b.job_id AND ({})))",
            states.join(" OR ")
        ));
    }
    if f.dormant {
        c.push("w.dormant_at IS NOT NULL".into());
    }
    if let Some(t) = f.last_used_after {
        c.push("w.last_used_at >= ?".into());
        a.push(Param::Int(t));
    }
    if let Some(t) = f.last_used_before {
        c.push("w.last_used_at <= ?".into());
        a.push(Param::Int(t));
    }
    if let Some(o) = f.outdated {
        c.push(
            if o {
                "b.template_version_id <> t.active_version_id"
            } else {
                "b.template_version_id = t.active_version_id"
            }
            .into(),
        );
    }
    if let Some(v) = f.has_ai_task {
        c.push("COALESCE(b.has_ai_task, 0) = ?".into());
        a.push(Param::Int(v as i64));
    }
    if let Some(v) = f.has_external_agent {
        c.push("b.has_external_agent = ?".into());
        a.push(Param::Int(v as i64));
    }
    if !f.ids.is_empty() {
        c.push(format!("w.id IN ({})", placeholders(f.ids.len())));
        a.extend(f.ids.iter().map(|i| text(&i.to_string())));
    }
    if let Some(o) = f.organization {
        c.push("w.organization_id = ?".into());
        a.push(text(&o.to_string()));
    }
    if !f.param_names.is_empty() {
        let any: Vec<&str> = f
            .param_names
            .iter()
            .map(|_| "lower(p.name) LIKE lower(?)")
            .collect();
        c.push(format!(
            "EXISTS (SELECT 1 FROM workspace_build_parameters p WHERE p.workspace_build_id = b.id AND ({}))",
            any.join(" OR ")
        ));
        a.extend(f.param_names.iter().map(|n| text(n)));
    }
    if !f.param_values.is_empty() {
        let any: Vec<&str> = f
            .param_values
            .iter()
            .map(|_| "(lower(p.name) = lower(?) AND lower(p.value) = lower(?))")
            .collect();
        c.push(format!(
            "EXISTS (SELECT 1 FROM workspace_build_parameters p WHERE p.workspace_build_id = b.id AND ({}))",
            any.join(" OR ")
        ));
        for (n, v) in &f.param_values {
            a.push(text(n));
            a.push(text(v));
        }
    }
    if let Some(s) = f.shared {
        let cond = "(EXISTS (SELECT 1 FROM workspace_user_acl x WHERE x.workspace_id = w.id)
                     OR EXISTS (SELECT 1 FROM workspace_group_acl x WHERE x.workspace_id = w.id))";
        c.push(if s {
            cond.to_string()
        } else {
            format!("NOT {cond}")
        });
    }
    if let Some(u) = f.shared_with_user {
        c.push("EXISTS (SELECT 1 FROM workspace_user_acl x WHERE x.workspace_id = w.id AND x.user_id = ?)".into());
        a.push(text(&u.to_string()));
    }
    if let Some(g) = f.shared_with_group {
        c.push("EXISTS (SELECT 1 FROM workspace_group_acl x WHERE x.workspace_id = w.id AND x.group_id = ?)".into());
        a.push(text(&g.to_string()));
    }
    // Joins only where a filter needs them: the foreign keys guarantee the
    // rows exist, so the count of an unfiltered page is an index count.
    let needs_build = f.status.is_some()
        || !f.has_agent.is_empty()
        || f.outdated.is_some()
        || f.has_ai_task.is_some()
        || f.has_external_agent.is_some()
        || !f.param_names.is_empty()
        || !f.param_values.is_empty();
    let needs_template = f.template_name.is_some() || f.outdated.is_some();
    let mut joins = String::new();
    if needs_build {
        joins.push_str(" JOIN workspace_builds b ON b.id = w.latest_build_id JOIN provisioner_jobs j ON j.id = b.job_id");
    }
    if needs_template {
        joins.push_str(" JOIN templates t ON t.id = w.template_id");
    }
    let filter = c.join(" AND ");
    let count: i64 = tx.query_one(
        &format!("SELECT count(*) FROM workspaces w{joins} WHERE {filter}"),
        &a,
        |r| r.get(0),
    )?;
    // Coder's order: the caller's favorites first, then running ones, then
    // owner and name. The favorites are read apart; the rest is read in the
    // order of an index, so a page stops after its rows.
    let order = "ORDER BY w.running DESC, w.owner_sort, lower(w.name)";
    let viewer = Param::text(vis.user.to_string());
    let ids_of = |extra: &str, tail: &str| -> StoreResult<Vec<Uuid>> {
        let sql = format!(
            "SELECT w.id FROM workspaces w{joins} WHERE {filter} AND {extra} {order} {tail}"
        );
        let mut args = a.clone();
        args.push(viewer.clone());
        tx.query(&sql, &args, |r| r.get(0))
    };
    let favorites = ids_of("(w.owner_id = ? AND w.favorite = 1)", "")?;
    let want = limit.unwrap_or(i64::MAX);
    let mut ids: Vec<Uuid> = favorites
        .iter()
        .skip(offset as usize)
        .take(want as usize)
        .copied()
        .collect();
    let rest_offset = (offset - favorites.len() as i64).max(0);
    let rest_limit = want - ids.len() as i64;
    if rest_limit > 0 {
        let lim = if rest_limit == i64::MAX {
            -1
        } else {
            rest_limit
        };
        ids.extend(ids_of(
            "NOT (w.owner_id = ? AND w.favorite = 1)",
            &format!("LIMIT {lim} OFFSET {rest_offset}"),
        )?);
    }
    let mut by_id: std::collections::HashMap<Uuid, WorkspaceRow> =
        get_many(tx, &ids)?.into_iter().map(|w| (w.id, w)).collect();
    let rows = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    Ok((rows, count))
}
