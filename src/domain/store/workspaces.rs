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
    // The live one through the unique (owner, name) index, whose
    // `deleted = 0` the condition must spell out for the index to serve it;
    // a deleted one (rare: a build looked up by number) from the owner's.
    let live = format!(
        "SELECT {COLUMNS} FROM workspaces w WHERE w.owner_id = ?1 AND lower(w.name) = lower(?2) AND w.deleted = 0"
    );
    if let Some(w) = tx.query_opt(&live, args![owner, name], from_row)? {
        return Ok(Some(w));
    }
    if !include_deleted {
        return Ok(None);
    }
    let deleted = format!(
        "SELECT {COLUMNS} FROM workspaces w WHERE w.owner_id = ?1 AND lower(w.name) = lower(?2) AND w.deleted = 1
         ORDER BY w.created_at DESC LIMIT 1"
    );
    tx.query_opt(&deleted, args![owner, name], from_row)
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

/// Points the workspace at its new latest build (whose maintained columns,
/// `running` among them, the triggers then compute).
pub fn set_latest_build(tx: &Tx, id: Uuid, build: Uuid, now: Micros) -> StoreResult<()> {
    tx.execute(
        "UPDATE workspaces SET latest_build_id = ?2, updated_at = ?3 WHERE id = ?1",
        args![id, build, now],
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
///
/// Each way of being due is found through an index of its own (a passed
/// deadline, a suspended owner, a schedule, a failure under a template
/// that cleans up failures, an idle spell under a template with dormancy,
/// a passed deletion date), so a tick costs what its due workspaces cost,
/// not what the whole table does; the full condition is checked again on
/// what they find.
pub fn lifecycle_candidates(tx: &Tx, now: Micros) -> StoreResult<Vec<LifecycleCandidate>> {
    let sql = format!(
        "{LIFECYCLE_FACTS}
         WHERE w.id IN (
               SELECT id FROM workspaces WHERE deleted = 0 AND start_deadline <= ?1
               UNION SELECT id FROM workspaces WHERE deleted = 0
                   AND owner_id IN (SELECT id FROM users WHERE status = 'suspended')
               UNION SELECT id FROM workspaces WHERE deleted = 0 AND autostart_schedule IS NOT NULL
               UNION SELECT w2.id FROM templates t2 CROSS JOIN workspaces w2 ON w2.template_id = t2.id
                   WHERE t2.failure_ttl_ms > 0 AND w2.deleted = 0 AND w2.status = 'failed'
               UNION SELECT w2.id FROM templates t2 CROSS JOIN workspaces w2 ON w2.template_id = t2.id
                   WHERE t2.time_til_dormant_ms > 0 AND w2.deleted = 0 AND w2.dormant_at IS NULL
                     AND w2.last_used_at < ?1 - t2.time_til_dormant_ms * 1000
               UNION SELECT id FROM workspaces WHERE deleted = 0 AND deleting_at <= ?1)
           AND w.deleted = 0 AND j.completed_at IS NOT NULL AND (
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

/// The maintained columns [`maintained_values`] computes, in its order.
const MAINTAINED: &str =
    "status, running, outdated, has_ai_task, has_external_agent, agent_job_id, start_deadline";

/// The columns of `workspaces` the list's filters match, each defined once
/// here over the latest build `b`, its job `j` and the template `t`.
/// (Flags are written as `CASE … THEN 1 ELSE 0 END`: PostgreSQL stores no
/// boolean in an integer column.)
fn maintained_values() -> String {
    format!(
        "SELECT {status}, CASE WHEN {running} THEN 1 ELSE 0 END,
                CASE WHEN b.template_version_id <> t.active_version_id THEN 1 ELSE 0 END,
                COALESCE(b.has_ai_task, 0), b.has_external_agent,
                CASE WHEN b.transition = 'start' THEN b.job_id END,
                CASE WHEN b.transition = 'start' THEN b.deadline END
         FROM workspace_builds b JOIN provisioner_jobs j ON j.id = b.job_id
         JOIN templates t ON t.id = workspaces.template_id
         WHERE b.id = workspaces.latest_build_id",
        status = super::status::workspace_status_case_sql(),
        running = super::status::workspace_status_sql("running"),
    )
}

const SHARED: &str =
    "CASE WHEN EXISTS (SELECT 1 FROM workspace_user_acl a WHERE a.workspace_id = workspaces.id)
          OR EXISTS (SELECT 1 FROM workspace_group_acl a WHERE a.workspace_id = workspaces.id)
     THEN 1 ELSE 0 END";

/// Sets the agent summary (`status::AGENT_SUMMARY`) of the workspaces
/// `which` selects from the agents of their `agent_job_id`.
fn refresh_agents(which: &str) -> String {
    let names: Vec<&str> = super::status::AGENT_SUMMARY
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let aggregates: Vec<&str> = super::status::AGENT_SUMMARY
        .iter()
        .map(|(_, a)| *a)
        .collect();
    format!(
        "UPDATE workspaces SET ({}) = (SELECT {} FROM workspace_resources r
           JOIN workspace_agents g ON g.resource_id = r.id WHERE r.job_id = workspaces.agent_job_id)
         WHERE {which};",
        names.join(", "),
        aggregates.join(", ")
    )
}

/// Recomputes the maintained columns of the workspaces `which` selects, in
/// SQLite's dialect (PostgreSQL runs it through `translate`).
pub fn refresh_maintained(which: &str) -> String {
    format!(
        "UPDATE workspaces SET ({MAINTAINED}) =
           ({values}) WHERE {which};
         UPDATE workspaces SET shared = {SHARED} WHERE {which};
         {agents}",
        values = maintained_values(),
        agents = refresh_agents(which)
    )
}

/// One trigger behind the maintained columns, as both engines need it:
/// what fires it, a condition on the row (`NEW`/`OLD`) and its statements,
/// in SQLite's dialect.
struct Trigger {
    name: &'static str,
    /// `AFTER INSERT`, `AFTER UPDATE OF a, b`, …
    event: &'static str,
    table: &'static str,
    when: Option<&'static str>,
    body: String,
}

/// The triggers that keep the maintained columns true whatever writes the
/// rows they derive from: a new or replaced latest build, a job that
/// starts, ends or fails, a template's new active version, a share.
fn maintained_trigger_defs() -> Vec<Trigger> {
    let values = maintained_values();
    let refresh = |which: &str| {
        format!(
            "UPDATE workspaces SET ({MAINTAINED}) =
               ({values}) WHERE {which}; {}",
            refresh_agents(which)
        )
    };
    let agents = refresh_agents(
        "agent_job_id = (SELECT job_id FROM workspace_resources WHERE id = NEW.resource_id)",
    );
    let shared = |id: &str| format!("UPDATE workspaces SET shared = {SHARED} WHERE id = {id};");
    let t = |name, event, table, when, body| Trigger {
        name,
        event,
        table,
        when,
        body,
    };
    vec![
        // A workspace is made without a build and points at its first
        // one after: both triggers below wait for that pointer.
        t(
            "warren_ws_insert",
            "AFTER INSERT",
            "workspaces",
            Some("NEW.latest_build_id IS NOT NULL"),
            refresh("id = NEW.id"),
        ),
        t(
            "warren_ws_build",
            "AFTER UPDATE OF latest_build_id, template_id",
            "workspaces",
            None,
            refresh("id = NEW.id"),
        ),
        t(
            "warren_build_insert",
            "AFTER INSERT",
            "workspace_builds",
            Some("EXISTS (SELECT 1 FROM workspaces WHERE latest_build_id = NEW.id)"),
            refresh("latest_build_id = NEW.id"),
        ),
        t(
            "warren_build_update",
            "AFTER UPDATE OF template_version_id, transition, job_id, has_ai_task, has_external_agent, deadline",
            "workspace_builds",
            None,
            refresh("latest_build_id = NEW.id"),
        ),
        t(
            "warren_job_update",
            "AFTER UPDATE OF started_at, completed_at, canceled_at, error",
            "provisioner_jobs",
            None,
            refresh("latest_build_id IN (SELECT id FROM workspace_builds WHERE job_id = NEW.id)"),
        ),
        t(
            "warren_template_version",
            "AFTER UPDATE OF active_version_id",
            "templates",
            None,
            refresh("template_id = NEW.id AND deleted = 0"),
        ),
        t(
            "warren_agent_insert",
            "AFTER INSERT",
            "workspace_agents",
            None,
            agents.clone(),
        ),
        t(
            "warren_agent_update",
            "AFTER UPDATE OF first_connected_at, last_connected_at, disconnected_at, simulated, connection_timeout_seconds",
            "workspace_agents",
            None,
            agents,
        ),
        t("warren_user_acl_insert", "AFTER INSERT", "workspace_user_acl", None, shared("NEW.workspace_id")),
        t("warren_user_acl_delete", "AFTER DELETE", "workspace_user_acl", None, shared("OLD.workspace_id")),
        t("warren_group_acl_insert", "AFTER INSERT", "workspace_group_acl", None, shared("NEW.workspace_id")),
        t("warren_group_acl_delete", "AFTER DELETE", "workspace_group_acl", None, shared("OLD.workspace_id")),
    ]
}

/// The statements that (re)create the maintained columns' triggers on
/// SQLite, from their one definition: each definition's statements are a
/// trigger's body. (PostgreSQL's: [`postgres_triggers`].)
pub fn sqlite_triggers() -> String {
    maintained_trigger_defs()
        .iter()
        .map(|t| {
            let Trigger {
                name,
                event,
                table,
                when,
                body,
            } = t;
            let when = when.map(|w| format!("WHEN {w}")).unwrap_or_default();
            format!(
                "DROP TRIGGER IF EXISTS {name};
                 CREATE TRIGGER {name} {event} ON {table} {when} BEGIN {body} END;"
            )
        })
        .collect()
}

/// One maintained-column trigger as PostgreSQL runs it.
pub struct PgTrigger {
    pub name: &'static str,
    pub table: &'static str,
    /// The source of its PL/pgSQL function, which names the trigger's
    /// event too: the same source means the same trigger.
    pub source: String,
    /// What makes the function and the trigger.
    pub ddl: String,
}

/// The maintained columns' triggers on PostgreSQL: each definition's
/// statements, translated, are the body of a PL/pgSQL function that a row
/// trigger of the same name runs (a trigger's `WHEN` may not hold a
/// subquery there, so the condition becomes an `IF`).
pub fn postgres_triggers() -> Vec<PgTrigger> {
    maintained_trigger_defs()
        .into_iter()
        .map(|t| {
            let Trigger {
                name,
                event,
                table,
                when,
                body,
            } = t;
            let body = super::translate::to_postgres(&body);
            let body = match when {
                Some(w) => format!("IF {} THEN {body} END IF;", super::translate::to_postgres(w)),
                None => body,
            };
            let source = format!("\n-- {event} ON {table}\nBEGIN {body} RETURN NULL; END\n");
            let ddl = format!(
                "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $warren${source}$warren$;
                 DROP TRIGGER IF EXISTS {name} ON {table};
                 CREATE TRIGGER {name} {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}();"
            );
            PgTrigger {
                name,
                table,
                source,
                ddl,
            }
        })
        .collect()
}

/// Live workspaces a user owns.
pub fn count_live_of_owner(tx: &Tx, owner: Uuid) -> StoreResult<i64> {
    tx.value(
        "SELECT count(*) FROM workspaces WHERE owner_id = ? AND deleted = 0",
        args![owner],
    )
}

/// Counts of list filters, each valid while the database stays at the
/// generation it was counted at and, for a filter on agents' status (which
/// depends on the moment asked), until the next moment one of those
/// statuses can change. At most [`COUNTS_MAX`] filters; full, it starts
/// again empty.
#[derive(Default)]
pub struct CountCache {
    counts: std::sync::Mutex<std::collections::HashMap<String, Counted>>,
}

/// A count: the generation, the moments it holds over, the number.
type Counted = (u64, (Micros, Micros), i64);

pub const COUNTS_MAX: usize = 1024;

impl CountCache {
    fn get(&self, key: &str, generation: u64, now: Micros) -> Option<i64> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .get(key)
            .filter(|(g, (from, until), _)| *g == generation && (*from..=*until).contains(&now))
            .map(|(_, _, n)| *n)
    }

    fn put(&self, key: String, generation: u64, holds: (Micros, Micros), n: i64) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= COUNTS_MAX {
            counts.clear();
        }
        counts.insert(key, (generation, holds, n));
    }
}

/// A condition on the latest build's parameters as a set of builds (which
/// the parameters' index gives at once: the count) and as a check of each
/// row (the page, reading in list order); same placeholders, same order.
fn param_terms(cond: &str) -> (String, String) {
    (
        format!("w.latest_build_id IN (SELECT p.workspace_build_id FROM workspace_build_parameters p WHERE {cond})"),
        // `+` keeps the planner on the build's own parameters (its primary
        // key) rather than every build's parameters of that name.
        format!(
            "EXISTS (SELECT 1 FROM workspace_build_parameters p WHERE p.workspace_build_id = w.latest_build_id AND ({}))",
            cond.replace("lower(p.name)", "+lower(p.name)")
        ),
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

/// The ids of one page of non-deleted workspaces matching `f` that `vis`
/// may read, in Coder's order, with the total count before paging.
///
/// The count is the one part that reads every match; `counts` keeps it per
/// filter (the statement and its arguments, so also per caller's
/// visibility) while the database is at `generation`.
#[allow(clippy::too_many_arguments)]
pub fn list(
    tx: &Tx,
    f: &ListFilter,
    vis: &crate::authz::WorkspaceVisibility,
    limit: Option<i64>,
    offset: i64,
    now: Micros,
    inactive_timeout_us: i64,
    counts: &CountCache,
    generation: u64,
) -> StoreResult<(Vec<Uuid>, i64)> {
    if f.nothing {
        return Ok((Vec::new(), 0));
    }
    let mut c: Vec<String> = vec!["w.deleted = 0".into()];
    // Parameter filters in their two forms, see below.
    let mut params: Vec<(String, String)> = Vec::new();
    let mut a: Vec<Param<'static>> = Vec::new();
    let text = |s: &str| Param::text(s.to_string());
    // A viewer who reads only their own workspaces and those shared with
    // them sees a few hundred at most: the page is found from that set (by
    // id), not by reading a filter's index past everyone else's matches.
    let narrow = !vis.all && vis.reads_all_in.is_empty();
    let by_id = if narrow {
        "INDEXED BY sqlite_autoindex_workspaces_1"
    } else {
        ""
    };
    if narrow {
        if vis.member_of.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let gph = placeholders(vis.groups.len().max(1));
        c.push(format!(
            "w.organization_id IN ({}) AND w.id IN (
               SELECT o.id FROM workspaces o WHERE o.owner_id = ?
               UNION ALL SELECT x.workspace_id FROM workspace_user_acl x WHERE x.user_id = ?
               UNION ALL SELECT x.workspace_id FROM workspace_group_acl x WHERE x.group_id IN ({gph}))",
            placeholders(vis.member_of.len())
        ));
        a.extend(vis.member_of.iter().map(|o| text(&o.to_string())));
        a.push(text(&vis.user.to_string()));
        a.push(text(&vis.user.to_string()));
        if vis.groups.is_empty() {
            a.push(Param::Null);
        }
        a.extend(vis.groups.iter().map(|g| text(&g.to_string())));
    } else if !vis.all {
        let mut any = Vec::new();
        if !vis.member_of.is_empty() {
            let ph = placeholders(vis.member_of.len());
            any.push(format!("(w.owner_id = ? AND w.organization_id IN ({ph}))"));
            a.push(text(&vis.user.to_string()));
            a.extend(vis.member_of.iter().map(|o| text(&o.to_string())));
            let gph = placeholders(vis.groups.len().max(1));
            any.push(format!(
                "(w.organization_id IN ({ph}) AND (w.id IN (SELECT x.workspace_id FROM workspace_user_acl x WHERE x.user_id = ?)
                  OR w.id IN (SELECT x.workspace_id FROM workspace_group_acl x WHERE x.group_id IN ({gph}))))"
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
        // ILIKE semantics: % and _ stay wildcards, as in Coder. The value
        // is lower-case already and LIKE folds ASCII case as lower() does,
        // so this matches what `name LIKE` would, read from the indexes'
        // lower(name) instead of the rows.
        c.push("lower(w.name) LIKE ?".into());
        a.push(text(&format!("%{n}%")));
    }
    if let Some(t) = &f.template_name {
        c.push(
            "w.template_id IN (SELECT id FROM templates WHERE lower(name) = lower(?) AND deleted = 0)"
                .into(),
        );
        a.push(text(t));
    }
    if let Some(s) = &f.status {
        c.push("w.status = ?".into());
        a.push(text(s));
    }
    // The agents' status names the moment asked: the count's key names
    // none, and the count holds until the nearest moment one of the asked
    // statuses can change by time alone.
    let mut timeless: Option<(String, String)> = None;
    let mut next_changes = Vec::new();
    if !f.has_agent.is_empty() {
        let at = |now, inactive| {
            let states: Vec<String> = f
                .has_agent
                .iter()
                .map(|s| super::status::agents_have_sql(s, now, inactive))
                .collect();
            format!("({})", states.join(" OR "))
        };
        let cond = at(now, inactive_timeout_us);
        timeless = Some((cond.clone(), at(0, 0)));
        c.push(cond);
        next_changes = f
            .has_agent
            .iter()
            .filter_map(|s| super::status::agents_next_change_sql(s, now, inactive_timeout_us))
            .collect();
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
    // The flags' indexes hold only the rows whose flag is set: the value is
    // written out, not bound, for the planner to see that one serves.
    let flag = |column: &str, v: bool| format!("w.{column} = {}", v as i64);
    if let Some(o) = f.outdated {
        c.push(flag("outdated", o));
    }
    if let Some(v) = f.has_ai_task {
        c.push(flag("has_ai_task", v));
    }
    if let Some(v) = f.has_external_agent {
        c.push(flag("has_external_agent", v));
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
        // A name without wildcards is matched by equality, which the
        // parameters' index answers; LIKE on it would read them all.
        let any: Vec<&str> = f
            .param_names
            .iter()
            .map(|n| {
                if n.contains(['%', '_']) {
                    "lower(p.name) LIKE lower(?)"
                } else {
                    "lower(p.name) = lower(?)"
                }
            })
            .collect();
        params.push(param_terms(&any.join(" OR ")));
        c.push(params[params.len() - 1].0.clone());
        a.extend(f.param_names.iter().map(|n| text(n)));
    }
    if !f.param_values.is_empty() {
        let any: Vec<&str> = f
            .param_values
            .iter()
            .map(|_| "(lower(p.name) = lower(?) AND lower(p.value) = lower(?))")
            .collect();
        params.push(param_terms(&any.join(" OR ")));
        c.push(params[params.len() - 1].0.clone());
        for (n, v) in &f.param_values {
            a.push(text(n));
            a.push(text(v));
        }
    }
    if let Some(s) = f.shared {
        c.push(flag("shared", s));
    }
    if let Some(u) = f.shared_with_user {
        c.push(
            "w.id IN (SELECT x.workspace_id FROM workspace_user_acl x WHERE x.user_id = ?)".into(),
        );
        a.push(text(&u.to_string()));
    }
    if let Some(g) = f.shared_with_group {
        c.push(
            "w.id IN (SELECT x.workspace_id FROM workspace_group_acl x WHERE x.group_id = ?)"
                .into(),
        );
        a.push(text(&g.to_string()));
    }
    // Every filter is a column of the row or a subquery of its own: no
    // joins, so a page reads rows in the order of an index and stops.
    let filter = c.join(" AND ");
    let count_sql = format!("SELECT count(*) FROM workspaces w {by_id} WHERE {filter}");
    let key_sql = match &timeless {
        Some((at_now, at_zero)) => count_sql.replace(at_now, at_zero),
        None => count_sql.clone(),
    };
    let key = format!("{key_sql}\u{1f}{a:?}");
    let count: i64 = match counts.get(&key, generation, now) {
        Some(n) => n,
        None => {
            let n = tx.query_one(&count_sql, &a, |r| r.get(0))?;
            let mut until = Micros::MAX;
            for (probe, plus) in &next_changes {
                let next: Option<Micros> = tx.query_one(probe, &[], |r| r.get(0))?;
                if let Some(v) = next {
                    until = until.min(v.saturating_add(*plus));
                }
            }
            counts.put(key, generation, (now, until), n);
            n
        }
    };
    // A parameter filter finds its matches through the parameters' index,
    // which the planner also uses for the page and then sorts them all.
    // Past a few hundred matches, reading the list order and checking each
    // row's parameters costs less.
    let mut filter = filter;
    if count > 200 {
        for (set, each) in &params {
            filter = filter.replace(set, each);
        }
    }
    // The agents' summary columns have indexes for the count; a page reads
    // the list order and checks them on each row (`+` keeps them out).
    let filter = filter.replace("w.agents_", "+w.agents_");
    // Coder's order: the caller's favorites first, then running ones, then
    // owner and name. The favorites are read apart; the rest is read in the
    // order of an index, so a page stops after its rows.
    let order = "ORDER BY w.running DESC, w.owner_sort, lower(w.name)";
    let viewer = Param::text(vis.user.to_string());
    let ids_of = |index: &str, extra: &str, tail: &str| -> StoreResult<Vec<Uuid>> {
        let sql = format!(
            "SELECT w.id FROM workspaces w {index} WHERE {filter} AND {extra} {order} {tail}"
        );
        let mut args = a.clone();
        args.push(viewer.clone());
        tx.query(&sql, &args, |r| r.get(0))
    };
    // The caller's own workspaces are few: found by owner, whatever index
    // the filter would suggest (which would read every match).
    let favorites = ids_of(
        "INDEXED BY workspaces_owner_idx",
        "(w.owner_id = ? AND w.favorite = 1)",
        "",
    )?;
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
            by_id,
            "NOT (w.owner_id = ? AND w.favorite = 1)",
            &format!("LIMIT {lim} OFFSET {rest_offset}"),
        )?);
    }
    Ok((ids, count))
}
