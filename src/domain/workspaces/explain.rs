//! "Why is my workspace on (or off)?": the lifecycle executor's rules
//! applied to one workspace (the same [`lifecycle::next`] the executor
//! acts on), with the setting behind each, and what it last did and why.

use uuid::Uuid;

use crate::authz::Subject;
use crate::domain::lifecycle::{self, Due};
use crate::domain::schedule;
use crate::domain::store::builds as build_store;
use crate::domain::store::jobs as job_store;
use crate::domain::store::lifecycle as actions;
use crate::domain::store::status::workspace_status;
use crate::domain::store::templates::TemplateRow;
use crate::domain::store::workspaces::{self as store, LifecycleCandidate, WorkspaceRow};
use crate::domain::store::Tx;
use crate::error::ApiResult;
use crate::sdk::{self, format_time, Micros, Time};

use crate::domain::workspace_access::get_with_template;

/// Actions shown, newest first.
const RECENT: i64 = 10;

/// The deployment's quiet hours, where autostop requirements stop
/// workspaces (Coder's default: midnight UTC).
const QUIET_HOURS: &str = "CRON_TZ=UTC 0 0 * * *";

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The days of a template's day mask (bit 0 = Monday).
fn days(mask: i64) -> Vec<String> {
    DAYS.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, d)| d.to_string())
        .collect()
}

fn duration_ms(ms: i64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(ms.max(0) as u64)).to_string()
}

fn at(us: Micros) -> String {
    format_time(us)
}

fn next(due: Option<Due>, detail: String) -> Option<sdk::ScheduleNext> {
    due.map(|d| sdk::ScheduleNext {
        at: Time(d.at),
        rule: d.reason.to_string(),
        detail,
    })
}

/// `GET /workspaces/{workspace}/schedule` for whoever may read it.
pub fn explain(
    tx: &Tx,
    subject: &Subject,
    id: Uuid,
    now: Micros,
) -> ApiResult<sdk::WorkspaceSchedule> {
    let (w, t) = get_with_template(tx, subject, id)?;
    let facts = store::lifecycle_facts(tx, w.id)?;
    let build = w
        .latest_build_id
        .map(|b| build_store::get(tx, b))
        .transpose()?
        .flatten();
    let job = build
        .as_ref()
        .map(|b| job_store::get(tx, b.job_id))
        .transpose()?
        .flatten();
    let status = match (&build, &job) {
        (Some(b), Some(j)) => workspace_status(j.status(), &b.transition),
        _ => "pending",
    };
    let reason = build
        .as_ref()
        .map(|b| build_store::deadline_reason(tx, b.id))
        .transpose()?
        .unwrap_or_default();
    let n = facts
        .as_ref()
        .map(|c| lifecycle::next(c, &w, &t, now))
        .unwrap_or_default();
    let recent = actions::recent(tx, w.id, RECENT)?
        .into_iter()
        .map(|(a, number)| sdk::ScheduleAction {
            at: Time(a.created_at),
            action: a.action,
            reason: a.reason,
            detail: a.detail,
            build_number: number,
        })
        .collect();
    let ttl = schedule::effective_ttl_ms(w.ttl_ms, t.allow_user_autostop, t.default_ttl_ms)
        .filter(|t| *t > 0);
    let deadline = build.as_ref().and_then(|b| b.deadline);
    let max_deadline = build.as_ref().and_then(|b| b.max_deadline);
    let stop = Stop {
        reason: &reason,
        ttl,
        t: &t,
        max_deadline,
    };
    let next_stop = match (n.autostop, n.failure_stop) {
        (Some(d), _) => next(Some(d), stop.detail(d, deadline)),
        (None, Some(d)) => next(
            Some(d),
            format!(
                "Stops after {}: its last build failed at {}, and the template stops failed workspaces after {} (failure_ttl_ms).",
                at(d.at),
                facts.as_ref().and_then(|c| c.completed).map(at).unwrap_or_default(),
                duration_ms(t.failure_ttl_ms)
            ),
        ),
        (None, None) => None,
    };
    let stop_detail = next_stop
        .as_ref()
        .map(|n| n.detail.clone())
        .unwrap_or_else(|| autostop_detail(status, ttl, &t));
    Ok(sdk::WorkspaceSchedule {
        workspace_id: w.id,
        now: Time(now),
        status: status.to_string(),
        autostart: autostart(&w, &t, facts.as_ref(), n.autostart, now),
        autostop: sdk::ScheduleAutostop {
            next: next_stop,
            deadline: Time::opt(deadline),
            max_deadline: Time::opt(max_deadline),
            deadline_rule: reason.reason.clone(),
            deadline_set_at: Time::opt(reason.set_at),
            deadline_set_by: reason.set_by.clone(),
            ttl_ms: ttl,
            ttl_source: match (ttl, t.allow_user_autostop) {
                (None, _) => "",
                (Some(_), true) => "workspace",
                (Some(_), false) => "template",
            }
            .to_string(),
            activity_bump_ms: t.activity_bump_ms,
            autostop_requirement: (t.autostop_requirement_days & 0x7f != 0).then(|| {
                sdk::ScheduleRequirement {
                    days: days(t.autostop_requirement_days),
                    weeks: t.autostop_requirement_weeks.max(1),
                    quiet_hours_schedule: QUIET_HOURS.into(),
                }
            }),
            failure_ttl_ms: t.failure_ttl_ms,
            detail: stop_detail,
        },
        dormancy: dormancy(&w, &t, &n),
        recent_actions: recent,
    })
}

fn autostart(
    w: &WorkspaceRow,
    t: &TemplateRow,
    c: Option<&LifecycleCandidate>,
    due: Option<Due>,
    now: Micros,
) -> sdk::ScheduleAutostart {
    let parsed = w
        .autostart_schedule
        .as_deref()
        .and_then(|s| schedule::parse(s).ok());
    let spec = w.autostart_schedule.clone().unwrap_or_default();
    let allowed = days(t.autostart_requirement_days).join(", ");
    let firing = parsed
        .as_ref()
        .and_then(|s| s.next_after(now, t.autostart_requirement_days));
    let blocked = if due.is_some() {
        None
    } else if w.deleted {
        Some(("deleted", "The workspace is deleted.".to_string()))
    } else if parsed.is_none() {
        Some(("no_schedule", "No autostart schedule is set.".to_string()))
    } else if !t.allow_user_autostart {
        Some((
            "template_disallows",
            format!("The template does not allow autostart (allow_user_autostart); the schedule {spec:?} is ignored."),
        ))
    } else if w.dormant_at.is_some() {
        Some((
            "dormant",
            "The workspace is dormant: it is never started automatically.".to_string(),
        ))
    } else if let Some(c) = c.filter(|c| c.owner_status != "active") {
        Some((
            "owner_inactive",
            format!(
                "Its owner is {}: it is never started automatically.",
                c.owner_status
            ),
        ))
    } else if c.is_some_and(|c| c.active) {
        Some(("building", "A build is in progress.".to_string()))
    } else if c.is_some_and(|c| c.failed) {
        Some((
            "last_build_failed",
            "Its last build failed: it is not started automatically.".to_string(),
        ))
    } else if firing.is_none() {
        Some((
            "no_allowed_day",
            format!("The schedule {spec:?} never fires on a day the template allows ({allowed})."),
        ))
    } else {
        Some((
            "not_stopped",
            format!(
                "It is not stopped; the schedule {spec:?} next fires at {}, and starts it only if it is stopped by then.",
                firing.map(at).unwrap_or_default()
            ),
        ))
    };
    let zone = parsed.as_ref().map(|s| s.tz.name().to_string());
    let detail = match &blocked {
        Some((_, why)) => why.clone(),
        None => format!(
            "Starts at {}: the owner's schedule {spec:?} (time zone {}), on a day the template allows ({allowed}).",
            due.map(|d| at(d.at)).unwrap_or_default(),
            zone.as_deref().unwrap_or("UTC")
        ),
    };
    sdk::ScheduleAutostart {
        next: next(due, detail.clone()),
        schedule: w.autostart_schedule.clone(),
        timezone: zone,
        allowed_days: days(t.autostart_requirement_days),
        allowed_by_template: t.allow_user_autostart,
        blocked_by: blocked.map(|(b, _)| b.to_string()),
        detail,
    }
}

/// What an autostop at a deadline is owed to.
struct Stop<'a> {
    reason: &'a build_store::DeadlineReason,
    ttl: Option<i64>,
    t: &'a TemplateRow,
    max_deadline: Option<Micros>,
}

impl Stop<'_> {
    fn detail(&self, due: Due, deadline: Option<Micros>) -> String {
        if due.reason == "owner_suspended" {
            return "Stops at the executor's next check: its owner is suspended.".into();
        }
        let d = deadline.map(at).unwrap_or_default();
        let set_at = self.reason.set_at.map(at).unwrap_or_default();
        let by = &self.reason.set_by;
        let ttl = self.ttl.map(duration_ms).unwrap_or_default();
        let requirement = || {
            format!(
                "the template's autostop requirement (stop on {} every {} week(s), at the quiet hours {QUIET_HOURS:?})",
                days(self.t.autostop_requirement_days).join(", "),
                self.t.autostop_requirement_weeks.max(1)
            )
        };
        let why = match self.reason.reason.as_str() {
            "ttl" => format!("the workspace's TTL of {ttl}, counted from when its build finished ({set_at})"),
            "template_ttl" => format!(
                "the template's default TTL of {ttl} (the template does not let users set their own), counted from when its build finished ({set_at})"
            ),
            "autostart_ttl" => format!(
                "its TTL of {ttl}, counted from the next autostart, which came before the TTL ran out"
            ),
            "max_deadline" => requirement(),
            "activity_bump" => format!(
                "activity{} at {set_at}, which moved the deadline by the template's activity bump of {}",
                if by.is_empty() { String::new() } else { format!(" by {by}") },
                duration_ms(self.t.activity_bump_ms)
            ),
            "extended" => format!("{by} extended it at {set_at}"),
            "ttl_disabled" => format!(
                "{by} turned autostop off at {set_at}; only the template's autostop requirement remains"
            ),
            _ => "its build's deadline".to_string(),
        };
        let mut out = format!("Stops at {d}: {why}.");
        if let Some(max) = self.max_deadline.filter(|m| Some(*m) != deadline) {
            out.push_str(&format!(
                " It cannot be extended past {} by {}.",
                at(max),
                requirement()
            ));
        }
        out
    }
}

/// Why nothing will stop the workspace automatically.
fn autostop_detail(status: &str, ttl: Option<i64>, t: &TemplateRow) -> String {
    if status != "running" {
        return format!("Nothing stops it automatically while it is {status}.");
    }
    match ttl {
        None if t.autostop_requirement_days & 0x7f == 0 => {
            "Runs until stopped: no TTL applies and the template has no autostop requirement."
                .into()
        }
        Some(ttl) => format!(
            "Runs until stopped: it started without a deadline; its TTL of {} applies from its next start.",
            duration_ms(ttl)
        ),
        None => "Runs until stopped: its build set no deadline.".into(),
    }
}

fn dormancy(w: &WorkspaceRow, t: &TemplateRow, n: &lifecycle::Next) -> sdk::ScheduleDormancy {
    let ttd = t.time_til_dormant_ms;
    let ttdad = t.time_til_dormant_autodelete_ms;
    let next_dormancy = next(
        n.dormancy,
        format!(
            "Turns dormant after {}: last used at {}, and the template makes workspaces dormant after {} without use (time_til_dormant_ms).",
            n.dormancy.map(|d| at(d.at)).unwrap_or_default(),
            at(w.last_used_at),
            duration_ms(ttd)
        ),
    );
    let next_deletion = match (n.autodelete, n.dormancy) {
        (Some(d), _) => next(
            Some(d),
            format!(
                "Deleted after {}: dormant since {}, and the template deletes workspaces dormant for {} (time_til_dormant_autodelete_ms).",
                at(d.at),
                w.dormant_at.map(at).unwrap_or_default(),
                duration_ms(ttdad)
            ),
        ),
        (None, Some(d)) if ttdad > 0 => {
            let when = schedule::plus_ms(d.at, ttdad);
            Some(sdk::ScheduleNext {
                at: Time(when),
                rule: "dormancy_autodelete".into(),
                detail: format!(
                    "If it turns dormant at {}, it is deleted after {} (time_til_dormant_autodelete_ms: {}).",
                    at(d.at),
                    at(when),
                    duration_ms(ttdad)
                ),
            })
        }
        _ => None,
    };
    let detail = match (w.dormant_at, ttd) {
        (Some(since), _) if ttdad > 0 => format!(
            "Dormant since {}; the template deletes dormant workspaces after {} (time_til_dormant_autodelete_ms).",
            at(since),
            duration_ms(ttdad)
        ),
        (Some(since), _) => format!(
            "Dormant since {}; the template never deletes dormant workspaces (time_til_dormant_autodelete_ms is 0).",
            at(since)
        ),
        (None, 0) => "The template never makes workspaces dormant (time_til_dormant_ms is 0).".into(),
        (None, _) => next_dormancy
            .as_ref()
            .map(|n| n.detail.clone())
            .unwrap_or_default(),
    };
    sdk::ScheduleDormancy {
        dormant_at: Time::opt(w.dormant_at),
        deleting_at: Time::opt(w.deleting_at),
        time_til_dormant_ms: ttd,
        time_til_dormant_autodelete_ms: ttdad,
        next_dormancy,
        next_deletion,
        detail,
    }
}
