//! Coder's wire types (`codersdk`): what warren sends and receives, with
//! Coder's field names and encodings.

use chrono::{DateTime, TimeZone, Utc};

/// Go's zero time, sent for non-nullable times that were never set.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Go's zero time in microseconds since the Unix epoch.
pub const ZERO_TIME_MICROS: Micros = -62_135_596_800_000_000;

/// Microseconds since the epoch: warren's stored time unit.
pub type Micros = i64;

/// Formats like Go's RFC3339Nano on a microsecond time: trailing fractional
/// zeros are dropped.
pub fn format_time(us: Micros) -> String {
    let Some(t) = Utc.timestamp_micros(us).single() else {
        return ZERO_TIME.to_string();
    };
    let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = us.rem_euclid(1_000_000);
    if frac != 0 {
        let digits = format!("{frac:06}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// A time on the wire: microseconds since the epoch, serialized like Go's
/// RFC3339Nano (see [`format_time`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub Micros);

impl Time {
    pub fn opt(us: Option<Micros>) -> Option<Time> {
        us.map(Time)
    }

    /// Go's zero time when unset, for non-nullable times.
    pub fn or_zero(us: Option<Micros>) -> Time {
        Time(us.unwrap_or(ZERO_TIME_MICROS))
    }
}

/// A time is an RFC 3339 string on the wire.
impl schemars::JsonSchema for Time {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Time".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "format": "date-time"})
    }
}

impl serde::Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_time(self.0))
    }
}

pub fn format_opt_time(us: Option<Micros>) -> Option<String> {
    us.map(format_time)
}

pub fn format_time_or_zero(us: Option<Micros>) -> String {
    us.map(format_time).unwrap_or_else(|| ZERO_TIME.to_string())
}

pub fn to_datetime(us: Micros) -> DateTime<Utc> {
    Utc.timestamp_micros(us).single().unwrap_or_default()
}

/// Go's default rendering of a time, used inside some of Coder's messages.
pub fn go_time_string(us: Micros) -> String {
    to_datetime(us)
        .format("%Y-%m-%d %H:%M:%S%.f +0000 UTC")
        .to_string()
}

// Fields Coder tags `omitempty` are left out when empty, not sent as "";
// each module is named after the `codersdk` file that defines its types.

mod agentsdk;
mod allowlist;
mod apikey;
mod authorization;
mod buildinfo;
mod deployment;
mod files;
mod groups;
mod organizations;
mod provisionerdaemons;
mod roles;
mod templates;
mod templateversions;
mod users;
mod warren;
mod workspaceagentportshare;
mod workspaceagents;
mod workspaceapps;
mod workspacebuilds;
mod workspaceproxy;
mod workspacequota;
mod workspaces;

pub use agentsdk::*;
pub use allowlist::*;
pub use apikey::*;
pub use authorization::*;
pub use buildinfo::*;
pub use deployment::*;
pub use files::*;
pub use groups::*;
pub use organizations::*;
pub use provisionerdaemons::*;
pub use roles::*;
pub use templates::*;
pub use templateversions::*;
pub use users::*;
pub use warren::*;
pub use workspaceagentportshare::*;
pub use workspaceagents::*;
pub use workspaceapps::*;
pub use workspacebuilds::*;
pub use workspaceproxy::*;
pub use workspacequota::*;
pub use workspaces::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_drop_trailing_zeros_like_go() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_500_000), "1970-01-01T00:00:01.5Z");
        assert_eq!(format_time(1_000_123), "1970-01-01T00:00:01.000123Z");
        assert_eq!(format_time(ZERO_TIME_MICROS), ZERO_TIME);
        assert_eq!(
            serde_json::to_string(&Time::or_zero(None)).unwrap(),
            format!("\"{ZERO_TIME}\"")
        );
    }
}
