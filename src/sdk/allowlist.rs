//! `codersdk/allowlist.go`: API key allow lists.

use serde::{Deserialize, Serialize};

use crate::authz::check::RESOURCES;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct AllowListEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// An allow-list entry in a request, validated as Coder's
/// `APIAllowListTarget` decodes it: the object `{"type", "id"}` or the
/// string `"<type>:<id>"`, a known resource type or `*`, a UUID or `*`.
/// A failure fails the body's decoding with Coder's message.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
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
        // Coder's RBAC resource types (`codersdk.RBACResource`).
        if kind != "*" && !RESOURCES.iter().any(|(t, _)| *t == kind) {
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
