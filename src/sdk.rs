//! Coder's wire types (`codersdk`): what warren sends and receives, with
//! Coder's field names and encodings.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

// Fields Coder tags `omitempty` are left out when empty, not sent as "".

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SlimRole {
    pub name: String,
    pub display_name: String,
    /// Empty for site roles.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub organization_id: String,
}

/// `codersdk.MinimalUser`.
#[derive(Debug, Clone, Serialize)]
pub struct MinimalUser {
    pub id: Uuid,
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub avatar_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReducedUser {
    pub id: Uuid,
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub avatar_url: String,
    pub name: String,
    pub email: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_seen_at: String,
    pub status: String,
    pub login_type: String,
    pub theme_preference: String,
    pub is_service_account: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    #[serde(flatten)]
    pub reduced: ReducedUser,
    pub organization_ids: Vec<Uuid>,
    pub roles: Vec<SlimRole>,
}

#[derive(Debug, Serialize)]
pub struct GetUsersResponse {
    pub users: Vec<User>,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub icon: String,
    pub created_at: String,
    pub updated_at: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrganizationMember {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub created_at: String,
    pub updated_at: String,
    pub roles: Vec<SlimRole>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrganizationMemberWithUserData {
    #[serde(flatten)]
    pub member: OrganizationMember,
    pub username: String,
    pub name: String,
    pub avatar_url: String,
    pub email: String,
    pub global_roles: Vec<SlimRole>,
    pub last_seen_at: String,
    pub status: String,
    pub login_type: String,
    pub user_created_at: String,
    pub user_updated_at: String,
    pub is_service_account: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub organization_display_name: String,
    pub members: Vec<ReducedUser>,
    pub total_member_count: i64,
    pub avatar_url: String,
    pub quota_allowance: i64,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AllowListEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// Coder's RBAC resource types (`codersdk.RBACResource`), the `type` an
/// allow-list entry may name besides `*`.
const RBAC_RESOURCES: &[&str] = &[
    "aibridge_interception",
    "api_key",
    "assign_org_role",
    "assign_role",
    "audit_log",
    "connection_log",
    "crypto_key",
    "debug_info",
    "deployment_config",
    "deployment_stats",
    "file",
    "group",
    "group_member",
    "idpsync_settings",
    "inbox_notification",
    "license",
    "notification_message",
    "notification_preference",
    "notification_template",
    "oauth2_app",
    "oauth2_app_code_token",
    "oauth2_app_secret",
    "organization",
    "organization_member",
    "prebuilt_workspace",
    "provisioner_daemon",
    "provisioner_jobs",
    "replicas",
    "system",
    "tailnet_coordinator",
    "template",
    "usage_event",
    "user",
    "user_secret",
    "webpush_subscription",
    "workspace",
    "workspace_agent_devcontainers",
    "workspace_agent_resource_monitor",
    "workspace_dormant",
    "workspace_proxy",
];

/// An allow-list entry in a request, validated as Coder's
/// `APIAllowListTarget` decodes it: the object `{"type", "id"}` or the
/// string `"<type>:<id>"`, a known resource type or `*`, a UUID or `*`.
/// A failure fails the body's decoding with Coder's message.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "serde_json::Value")]
pub struct AllowListTarget(pub AllowListEntry);

impl TryFrom<serde_json::Value> for AllowListTarget {
    type Error = String;

    fn try_from(v: serde_json::Value) -> Result<Self, String> {
        use serde_json::Value;
        // Go decodes the object form when every field it knows is a string
        // (or null) and one of type/id is set; anything else must be the
        // string form.
        let field = |o: &serde_json::Map<String, Value>, k: &str| match o.get(k) {
            None | Some(Value::Null) => Some(String::new()),
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => None,
        };
        let object = match &v {
            Value::Object(o) => {
                match (field(o, "type"), field(o, "id"), field(o, "display_name")) {
                    (Some(t), Some(i), Some(_)) if !t.is_empty() || !i.is_empty() => Some((t, i)),
                    _ => None,
                }
            }
            _ => None,
        };
        let (kind, id) = match (object, &v) {
            (Some((t, i)), _) => {
                if t.is_empty() || i.is_empty() {
                    return Err("allow_list entry must include both type and id".into());
                }
                (t, i)
            }
            (None, Value::String(s)) => match s.trim().split_once(':') {
                Some((kind, id)) if !kind.is_empty() && !id.is_empty() => {
                    (kind.to_string(), id.to_string())
                }
                _ => return Err(format!("invalid allow_list entry {s:?}: want <type>:<id>")),
            },
            (None, _) => {
                return Err(
                    "invalid allow_list entry: expected object with type/id or string".into(),
                )
            }
        };
        let (kind, id) = (kind.trim(), id.trim());
        if kind.is_empty() || id.is_empty() {
            return Err("allow_list entry must include non-empty type and id".into());
        }
        if kind != "*" && !RBAC_RESOURCES.contains(&kind) {
            return Err(format!("unknown resource type {kind:?}"));
        }
        if id != "*" && crate::query::go::parse_go_uuid(id).is_err() {
            return Err(format!("invalid {kind} ID (must be UUID): {id:?}"));
        }
        Ok(AllowListTarget(AllowListEntry {
            kind: kind.to_string(),
            id: id.to_string(),
        }))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub user_id: Uuid,
    pub last_used: String,
    pub expires_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub login_type: String,
    pub scope: String,
    pub scopes: Vec<String>,
    pub allow_list: Vec<AllowListEntry>,
    pub token_name: String,
    pub lifetime_seconds: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiKeyWithOwner {
    #[serde(flatten)]
    pub key: ApiKey,
    pub username: String,
}

#[derive(Debug, Serialize)]
pub struct GitSshKey {
    pub user_id: Uuid,
    pub created_at: String,
    pub updated_at: String,
    pub public_key: String,
}

#[derive(Debug, Serialize)]
pub struct Permission {
    pub negate: bool,
    pub resource_type: String,
    pub action: String,
}

#[derive(Debug, Serialize)]
pub struct AssignableRoles {
    pub name: String,
    pub display_name: String,
    /// Empty for site roles.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub organization_id: String,
    pub site_permissions: Vec<Permission>,
    pub organization_permissions: Vec<Permission>,
    pub user_permissions: Vec<Permission>,
    pub organization_member_permissions: Vec<Permission>,
    pub assignable: bool,
    pub built_in: bool,
}

#[derive(Debug, Serialize)]
pub struct BuildInfo {
    pub external_url: String,
    pub version: String,
    pub dashboard_url: String,
    pub telemetry: bool,
    pub workspace_proxy: bool,
    pub agent_api_version: String,
    pub provisioner_api_version: String,
    pub upgrade_message: String,
    pub deployment_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_drop_trailing_zeros_like_go() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_500_000), "1970-01-01T00:00:01.5Z");
        assert_eq!(format_time(1_000_123), "1970-01-01T00:00:01.000123Z");
    }
}
