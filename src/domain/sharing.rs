//! Workspace sharing: the user and group ACLs with roles `use` and `admin`.

use std::collections::{BTreeMap, HashMap};

use crate::domain::store::Tx;
use serde::Deserialize;
use uuid::Uuid;

use crate::authz::{Action, Subject};
use crate::domain::groups;
use crate::domain::store::groups as group_store;
use crate::domain::store::users as user_store;
use crate::domain::store::workspaces::{self as store, WorkspaceRow};
use crate::domain::workspace_access::object;
use crate::error::{ApiError, ApiResult, Validation};
use crate::sdk::{SharedWorkspaceActor, WorkspaceAcl, WorkspaceGroup, WorkspaceUser};

/// Anyone who may change the workspace may read its ACL.
pub fn get(conn: &Tx, subject: &Subject, w: &WorkspaceRow) -> ApiResult<WorkspaceAcl> {
    subject.require_visible(Action::Update, object(w))?;
    let user_ids: Vec<Uuid> = w.user_acl.iter().map(|(id, _)| *id).collect();
    let users: HashMap<Uuid, user_store::UserRow> = user_store::get_many(conn, &user_ids)?
        .into_iter()
        .filter(|u| !u.deleted)
        .map(|u| (u.id, u))
        .collect();
    let out_users = w
        .user_acl
        .iter()
        .filter_map(|(id, role)| {
            users.get(id).map(|u| WorkspaceUser {
                user: crate::domain::users::minimal(u),
                role: role.clone(),
            })
        })
        .collect();
    let group_ids: Vec<Uuid> = w.group_acl.iter().map(|(id, _)| *id).collect();
    let rows = group_store::list(
        conn,
        &group_store::GroupFilter {
            ids: Some(group_ids),
            ..Default::default()
        },
    )?;
    let rendered = groups::render_many(conn, &rows)?;
    let out_groups = rendered
        .into_iter()
        .filter_map(|g| {
            let role = w.group_acl.iter().find(|(id, _)| *id == g.id)?.1.clone();
            Some(WorkspaceGroup { group: g, role })
        })
        .collect();
    Ok(WorkspaceAcl {
        users: out_users,
        groups: out_groups,
    })
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct UpdateAcl {
    pub user_roles: BTreeMap<String, String>,
    pub group_roles: BTreeMap<String, String>,
}

/// Most entries one PATCH may carry.
const MAX_ENTRIES: usize = 1000;

pub fn patch(conn: &Tx, subject: &Subject, w: &WorkspaceRow, req: &UpdateAcl) -> ApiResult<()> {
    subject.require(Action::Share, object(w))?;
    if req.user_roles.len() + req.group_roles.len() > MAX_ENTRIES {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_ENTRIES} entries may be changed at once."
        )));
    }
    let mut bad = Vec::new();
    let mut groups = Vec::new();
    let mut users = Vec::new();
    for (field, map, out) in [
        ("group_roles", &req.group_roles, &mut groups),
        ("user_roles", &req.user_roles, &mut users),
    ] {
        for (key, role) in map {
            let mut fail = |detail: String| {
                bad.push(Validation {
                    field: field.into(),
                    detail,
                })
            };
            if !matches!(role.as_str(), "admin" | "use" | "") {
                fail(format!("role {role:?} is not a valid workspace role"));
                continue;
            }
            let Ok(id) = Uuid::parse_str(key) else {
                fail(format!("{key} is not a valid UUID."));
                continue;
            };
            if !role.is_empty() {
                let exists = if field == "group_roles" {
                    group_store::get(conn, id)?
                        .is_some_and(|g| g.organization_id == w.organization_id)
                } else {
                    match user_store::get(conn, id)?.filter(|u| !u.deleted) {
                        None => false,
                        // A grant only works for members of the workspace's
                        // organization, so others are refused up front.
                        Some(u) if !u.organization_ids.contains(&w.organization_id) => {
                            fail(format!(
                                "user with ID {id} is not a member of the workspace's organization"
                            ));
                            continue;
                        }
                        Some(_) => true,
                    }
                };
                if !exists {
                    let what = if field == "group_roles" {
                        "group"
                    } else {
                        "user"
                    };
                    fail(format!("{what} with ID {id} does not exist"));
                    continue;
                }
            }
            out.push((id, role.clone()));
        }
    }
    if !bad.is_empty() {
        return Err(
            ApiError::bad_request("Invalid request to update workspace ACL").with_validations(bad),
        );
    }
    for (id, role) in groups {
        store::set_group_acl(
            conn,
            w.id,
            id,
            Some(role.as_str()).filter(|r| !r.is_empty()),
        )?;
    }
    for (id, role) in users {
        store::set_user_acl(
            conn,
            w.id,
            id,
            Some(role.as_str()).filter(|r| !r.is_empty()),
        )?;
    }
    Ok(())
}

pub fn clear(conn: &Tx, subject: &Subject, w: &WorkspaceRow) -> ApiResult<()> {
    subject.require(Action::Share, object(w))?;
    Ok(store::clear_acl(conn, w.id)?)
}

/// `shared_with` entries of many workspaces, with two look-ups in all.
pub fn shared_with(
    conn: &Tx,
    ws: &[WorkspaceRow],
) -> ApiResult<HashMap<Uuid, Vec<SharedWorkspaceActor>>> {
    let user_ids: Vec<Uuid> = ws
        .iter()
        .flat_map(|w| w.user_acl.iter().map(|(id, _)| *id))
        .collect();
    let group_ids: Vec<Uuid> = ws
        .iter()
        .flat_map(|w| w.group_acl.iter().map(|(id, _)| *id))
        .collect();
    let users: HashMap<Uuid, user_store::UserRow> = user_store::get_many(conn, &user_ids)?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let groups: HashMap<Uuid, group_store::GroupRow> = if group_ids.is_empty() {
        HashMap::new()
    } else {
        group_store::list(
            conn,
            &group_store::GroupFilter {
                ids: Some(group_ids),
                ..Default::default()
            },
        )?
        .into_iter()
        .map(|g| (g.id, g))
        .collect()
    };
    let mut out = HashMap::new();
    for w in ws {
        let mut entries = Vec::new();
        for (id, role) in &w.user_acl {
            let u = users.get(id);
            entries.push(SharedWorkspaceActor {
                id: *id,
                actor_type: "user",
                name: u.map(|u| u.name.clone()).unwrap_or_default(),
                avatar_url: u.map(|u| u.avatar_url.clone()).unwrap_or_default(),
                roles: vec![role.clone()],
            });
        }
        for (id, role) in &w.group_acl {
            let g = groups.get(id);
            entries.push(SharedWorkspaceActor {
                id: *id,
                actor_type: "group",
                name: g.map(|g| g.name.clone()).unwrap_or_default(),
                avatar_url: g.map(|g| g.avatar_url.clone()).unwrap_or_default(),
                roles: vec![role.clone()],
            });
        }
        if !entries.is_empty() {
            out.insert(w.id, entries);
        }
    }
    Ok(out)
}
