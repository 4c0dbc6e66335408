//! Changes to an access-control list (a workspace's or a template's): the
//! one validation of `{id: role}` maps, after Coder's `acl.Validate`.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::domain::store::groups as group_store;
use crate::domain::store::users as user_store;
use crate::domain::store::Tx;
use crate::error::{ApiError, ApiResult, Validation};

/// Most entries one change may carry.
const MAX_ENTRIES: usize = 1000;

/// What the list belongs to: it names the roles in messages and decides
/// who may be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A workspace: grants work only for members of its organization, so
    /// others are refused up front.
    Workspace,
    /// A template: any existing user may be granted (as in Coder); the grant
    /// counts once they are a member of its organization.
    Template,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Workspace => "workspace",
            Kind::Template => "template",
        }
    }
}

/// One requested change: `(field name, id → role)` for users and groups.
pub struct Request<'a> {
    pub users: (&'static str, &'a BTreeMap<String, String>),
    pub groups: (&'static str, &'a BTreeMap<String, String>),
}

/// A validated change: each grantee with its new role, `None` to remove.
#[derive(Debug, Default)]
pub struct Change {
    pub users: Vec<(Uuid, Option<String>)>,
    pub groups: Vec<(Uuid, Option<String>)>,
}

/// Checks every entry: the role is `use`, `admin` or `""`, the id a UUID,
/// and (unless the entry removes) the user exists, or the group exists in
/// `org`. All problems are reported at once under Coder's `message`.
pub fn validate(
    conn: &Tx,
    kind: Kind,
    org: Uuid,
    message: &str,
    req: &Request,
) -> ApiResult<Change> {
    if req.users.1.len() + req.groups.1.len() > MAX_ENTRIES {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_ENTRIES} entries may be changed at once."
        )));
    }
    let mut bad = Vec::new();
    let mut out = Change::default();
    // Groups first, as Coder reports them.
    for (is_group, (field, map)) in [(true, req.groups), (false, req.users)] {
        for (key, role) in map {
            let mut fail = |detail: String| {
                bad.push(Validation {
                    field: field.into(),
                    detail,
                })
            };
            let role_ok = matches!(role.as_str(), "admin" | "use" | "");
            if !role_ok {
                fail(format!("role {role:?} is not a valid {} role", kind.name()));
            }
            let Ok(id) = Uuid::parse_str(key) else {
                fail(format!("{key} is not a valid UUID."));
                continue;
            };
            // Removing needs no existence: a deleted grantee must stay
            // removable.
            if !role.is_empty() {
                let problem = if is_group {
                    let exists =
                        group_store::get(conn, id)?.is_some_and(|g| g.organization_id == org);
                    (!exists).then(|| format!("group with ID {id} does not exist"))
                } else {
                    match user_store::get(conn, id)?.filter(|u| !u.deleted) {
                        None => Some(format!("user with ID {id} does not exist")),
                        Some(u)
                            if kind == Kind::Workspace && !u.organization_ids.contains(&org) =>
                        {
                            Some(format!(
                                "user with ID {id} is not a member of the workspace's organization"
                            ))
                        }
                        Some(_) => None,
                    }
                };
                if let Some(p) = problem {
                    fail(p);
                    continue;
                }
            }
            if role_ok {
                let role = Some(role.clone()).filter(|r| !r.is_empty());
                if is_group {
                    out.groups.push((id, role));
                } else {
                    out.users.push((id, role));
                }
            }
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::bad_request(message).with_validations(bad))
    }
}
