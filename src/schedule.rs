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
