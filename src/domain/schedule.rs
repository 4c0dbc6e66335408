//! Autostart schedules in Coder's weekly cron form
//! (`CRON_TZ=Area/City m h * * dow`), parsed by croner with chrono-tz.

use std::str::FromStr;

use chrono::{Datelike, Utc};
use chrono_tz::Tz;
use croner::Cron;

use crate::sdk::{to_datetime, Micros};

#[derive(Debug, Clone)]
pub struct Schedule {
    pub tz: Tz,
    pub cron: Cron,
}

/// Parses a weekly schedule; the error text is what Coder reports in the
/// `schedule` validation entry.
pub fn parse(spec: &str) -> Result<Schedule, String> {
    let spec = spec.trim();
    let (tz, rest) = match spec.strip_prefix("CRON_TZ=") {
        Some(r) => {
            let (zone, rest) = r.split_once(' ').unwrap_or((r, ""));
            let tz = Tz::from_str(zone).map_err(|_| {
                format!("parse schedule: provided bad location {zone}: unknown time zone {zone}")
            })?;
            (tz, rest.trim())
        }
        None => (Tz::UTC, spec),
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.len() != 5 {
        return Err("validate weekly schedule: expected schedule to consist of 5 fields with an optional CRON_TZ=<timezone> prefix".into());
    }
    if fields[2] != "*" || fields[3] != "*" {
        return Err("validate weekly schedule: expected day-of-month and month to be *".into());
    }
    let cron = Cron::from_str(&fields.join(" ")).map_err(|e| format!("parse schedule: {e}"))?;
    Ok(Schedule { tz, cron })
}

impl Schedule {
    /// The next firing strictly after `after` on a day allowed by the
    /// template (bit 0 = Monday, in the schedule's own zone), looking at most
    /// seven days ahead.
    pub fn next_after(&self, after: Micros, allowed_days: i64) -> Option<Micros> {
        let mut from = to_datetime(after).with_timezone(&self.tz);
        let limit = after + 7 * 24 * 3_600_000_000;
        for _ in 0..64 {
            let next = self.cron.find_next_occurrence(&from, false).ok()?;
            let us = next.with_timezone(&Utc).timestamp_micros();
            if us > limit {
                return None;
            }
            let day = next.weekday().num_days_from_monday();
            if allowed_days & (1 << day) != 0 {
                return Some(us);
            }
            from = next;
        }
        None
    }
}

/// `t` plus a duration in milliseconds, saturating: settings hold any
/// positive number of milliseconds, and no sum of them may overflow.
pub fn plus_ms(t: Micros, ms: i64) -> Micros {
    t.saturating_add(ms.saturating_mul(1000))
}

const DAY: Micros = 24 * 3_600_000_000;
const HOUR: Micros = 3_600_000_000;

/// The TTL that governs a workspace: its own, unless the template forbids
/// user autostop, when the template's default applies (Coder's rule for
/// rendering, build deadlines and activity bumps alike).
pub fn effective_ttl_ms(
    own: Option<i64>,
    allow_user_autostop: bool,
    default_ttl_ms: i64,
) -> Option<i64> {
    if allow_user_autostop {
        own
    } else {
        Some(default_ttl_ms)
    }
}

/// The template autostop requirement's hard stop (`max_deadline`) for a build
/// completing at `now`, with the deployment's default quiet hours (midnight
/// UTC): the first required day at 00:00 at least an hour away, counting
/// only weeks whose index since Monday 2023-01-02 is divisible by `weeks`.
pub fn max_deadline(now: Micros, days: i64, weeks: i64) -> Option<Micros> {
    if days & 0x7f == 0 {
        return None;
    }
    let epoch = chrono::NaiveDate::from_ymd_opt(2023, 1, 2)?
        .and_hms_opt(0, 0, 0)?
        .and_utc()
        .timestamp_micros();
    let mut day = (now + HOUR - epoch).div_euclid(DAY) * DAY + epoch;
    if day < now + HOUR {
        day += DAY;
    }
    let weeks = weeks.max(1);
    for _ in 0..(7 * weeks + 7) {
        let index = (day - epoch).div_euclid(DAY);
        let week = index.div_euclid(7);
        let weekday = index.rem_euclid(7);
        if week % weeks == 0 && days & (1 << weekday) != 0 {
            return Some(day);
        }
        day += DAY;
    }
    None
}

/// Deadline of a start build completing at `now` (Coder's CalculateAutostop):
/// now + TTL, moved to the next autostart + TTL when it would cross it, and
/// capped by `max_deadline`.
pub fn deadline(
    now: Micros,
    ttl_ms: Option<i64>,
    autostart: Option<&Schedule>,
    allowed_days: i64,
    max_deadline: Option<Micros>,
) -> Option<Micros> {
    deadline_with_rule(now, ttl_ms, autostart, allowed_days, max_deadline).0
}

/// [`deadline`], with the rule that set it: `ttl` (now + TTL),
/// `autostart_ttl` (the next autostart + TTL), `max_deadline` (the
/// template's autostop requirement), or `""` when there is none.
pub fn deadline_with_rule(
    now: Micros,
    ttl_ms: Option<i64>,
    autostart: Option<&Schedule>,
    allowed_days: i64,
    max_deadline: Option<Micros>,
) -> (Option<Micros>, &'static str) {
    let mut rule = "";
    let mut deadline = ttl_ms.filter(|t| *t > 0).map(|ttl| {
        let d = plus_ms(now, ttl);
        match autostart.and_then(|s| s.next_after(now, allowed_days)) {
            Some(next) if d > next => {
                rule = "autostart_ttl";
                plus_ms(next, ttl)
            }
            _ => {
                rule = "ttl";
                d
            }
        }
    });
    if let Some(max) = max_deadline {
        if deadline.is_none_or(|d| d > max) {
            deadline = Some(max);
            rule = "max_deadline";
        }
    }
    (deadline, rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Micros {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn parses_weekly_schedules_with_zones() {
        let s = parse("CRON_TZ=Europe/Berlin 30 8 * * 1-5").unwrap();
        // Friday 2026-11-20 12:00 UTC → next is Monday 08:30 Berlin = 07:30 UTC.
        assert_eq!(
            s.next_after(at("2026-11-20T12:00:00Z"), 127),
            Some(at("2026-11-23T07:30:00Z"))
        );
        // Monday not allowed by the template → Tuesday.
        assert_eq!(
            s.next_after(at("2026-11-20T12:00:00Z"), 127 & !1),
            Some(at("2026-11-24T07:30:00Z"))
        );
        assert_eq!(s.next_after(at("2026-11-20T12:00:00Z"), 0), None);
        let utc = parse("0 9 * * *").unwrap();
        assert_eq!(
            utc.next_after(at("2026-11-20T09:00:00Z"), 127),
            Some(at("2026-11-21T09:00:00Z"))
        );
    }

    #[test]
    fn deadlines_follow_ttl_autostart_and_requirements() {
        // Autostart 09:00, TTL 12 h, started 21:45 → 21:00 next day.
        let s = parse("0 9 * * *").unwrap();
        let ttl = 12 * 3_600_000;
        assert_eq!(
            deadline(at("2026-11-23T21:45:00Z"), Some(ttl), Some(&s), 127, None),
            Some(at("2026-11-24T21:00:00Z"))
        );
        assert_eq!(
            deadline(at("2026-11-23T10:00:00Z"), Some(ttl), None, 127, None),
            Some(at("2026-11-23T22:00:00Z"))
        );
        assert_eq!(
            deadline(at("2026-11-23T10:00:00Z"), None, None, 127, None),
            None
        );
        // Requirement on Sundays (bit 6): Monday 2026-11-23 → Sunday 2026-11-29 00:00.
        let max = max_deadline(at("2026-11-23T10:00:00Z"), 1 << 6, 1);
        assert_eq!(max, Some(at("2026-11-29T00:00:00Z")));
        assert_eq!(
            deadline(at("2026-11-23T10:00:00Z"), None, None, 127, max),
            max
        );
        assert_eq!(max_deadline(at("2026-11-23T10:00:00Z"), 0, 1), None);
        // Every day: the coming midnight at least an hour away.
        assert_eq!(
            max_deadline(at("2026-11-23T23:30:00Z"), 127, 1),
            Some(at("2026-11-25T00:00:00Z"))
        );
    }

    #[test]
    fn rejects_what_coder_rejects() {
        assert!(parse("30 8 1 * *")
            .unwrap_err()
            .contains("day-of-month and month"));
        assert!(parse("30 8 * *").unwrap_err().contains("5 fields"));
        assert!(parse("CRON_TZ=Nowhere/Land 30 8 * * *")
            .unwrap_err()
            .contains("unknown time zone Nowhere/Land"));
        assert!(parse("99 8 * * *").is_err());
    }
}
