//! Workspace sharing: the user and group ACLs with roles `use` and `admin`.

use std::collections::{BTreeMap, HashMap};

use crate::domain::store::Tx;
use serde::Deserialize;
use uuid::Uuid;

use crate::authz::{Action, Subject};
use crate::domain::acl;
use crate::domain::groups;
use crate::domain::store::groups as group_store;
use crate::domain::store::users as user_store;
use crate::domain::store::workspaces::{self as store, WorkspaceRow};
use crate::domain::workspace_access::object;
use crate::error::ApiResult;
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

pub fn patch(conn: &Tx, subject: &Subject, w: &WorkspaceRow, req: &UpdateAcl) -> ApiResult<()> {
    subject.require(Action::Share, object(w))?;
    let change = acl::validate(
        conn,
        acl::Kind::Workspace,
        w.organization_id,
        "Invalid request to update workspace ACL",
        &acl::Request {
            users: ("user_roles", &req.user_roles),
            groups: ("group_roles", &req.group_roles),
        },
    )?;
    for (id, role) in &change.groups {
        store::set_group_acl(conn, w.id, *id, role.as_deref())?;
    }
    for (id, role) in &change.users {
        store::set_user_acl(conn, w.id, *id, role.as_deref())?;
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
