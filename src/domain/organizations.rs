//! Organizations and memberships: the default organization, resolution of
//! `{organization}`, creation with its Everyone group, members and org roles.

use crate::domain::store::Tx;
use serde::Deserialize;
use uuid::Uuid;

use crate::authz::{self, Action, Object, Subject};
use std::collections::HashMap;

use crate::domain::names;
use crate::domain::store::custom_roles;
use crate::domain::store::groups;
use crate::domain::store::groups::GroupRow;
use crate::domain::store::organizations::{self as store, MemberRow, OrganizationRow};
use crate::domain::store::users::{self as user_store, UserRow};
use crate::domain::users;
use crate::error::{ApiError, ApiResult, Validator};
use crate::query::paging::Page;
use crate::query::users::UserQuery;
use crate::sdk::{self, Micros};

pub fn render(o: &OrganizationRow) -> sdk::Organization {
    sdk::Organization {
        id: o.id,
        name: o.name.clone(),
        display_name: o.display_name.clone(),
        description: o.description.clone(),
        icon: o.icon.clone(),
        created_at: sdk::format_time(o.created_at),
        updated_at: sdk::format_time(o.updated_at),
        is_default: o.is_default,
    }
}

/// Display names of the organization's custom roles, by name.
fn custom_role_names(conn: &Tx, org: Uuid) -> ApiResult<HashMap<String, String>> {
    Ok(custom_roles::list(conn, org)?
        .into_iter()
        .map(|r| (r.name, r.display_name))
        .collect())
}

/// A membership as Coder shows it; `custom` gives the display names of the
/// organization's custom roles.
fn render_member(m: &MemberRow, custom: &HashMap<String, String>) -> sdk::OrganizationMember {
    sdk::OrganizationMember {
        user_id: m.user_id,
        organization_id: m.organization_id,
        created_at: sdk::format_time(m.created_at),
        updated_at: sdk::format_time(m.updated_at),
        roles: users::org_roles(m.organization_id, &m.roles, custom),
    }
}

fn render_member_with_user(
    m: &MemberRow,
    u: &UserRow,
    custom: &HashMap<String, String>,
) -> sdk::OrganizationMemberWithUserData {
    sdk::OrganizationMemberWithUserData {
        member: render_member(m, custom),
        username: u.username.clone(),
        name: u.name.clone(),
        avatar_url: u.avatar_url.clone(),
        email: u.email.clone(),
        global_roles: users::site_roles(&u.rbac_roles),
        last_seen_at: sdk::format_time_or_zero(u.last_seen_at),
        status: u.status.clone(),
        login_type: u.login_type.clone(),
        user_created_at: sdk::format_time(u.created_at),
        user_updated_at: sdk::format_time(u.updated_at),
        is_service_account: u.is_service_account,
    }
}

/// Creates the default organization `coder` and its Everyone group if the
/// database has none (Coder does this at boot, before any user exists).
pub fn ensure_default(conn: &Tx, now: Micros) -> ApiResult<OrganizationRow> {
    if let Some(o) = store::get_default(conn)? {
        return Ok(o);
    }
    let org = OrganizationRow {
        id: crate::domain::new_id(),
        name: "coder".into(),
        display_name: "Coder".into(),
        description: String::new(),
        icon: String::new(),
        is_default: true,
        created_at: now,
        updated_at: now,
    };
    store::insert(conn, &org)?;
    insert_everyone(conn, &org, now)?;
    Ok(org)
}

fn insert_everyone(conn: &Tx, org: &OrganizationRow, now: Micros) -> ApiResult<()> {
    Ok(groups::insert(
        conn,
        &GroupRow {
            id: org.id,
            organization_id: org.id,
            name: "Everyone".into(),
            display_name: String::new(),
            avatar_url: String::new(),
            quota_allowance: 0,
            source: "user".into(),
            created_at: now,
            organization_name: org.name.clone(),
            organization_display_name: org.display_name.clone(),
        },
    )?)
}

/// Resolves `{organization}`: `default`, the nil UUID, a UUID or a name; an
/// organization the subject may not read is not found.
pub fn resolve(conn: &Tx, subject: &Subject, arg: &str) -> ApiResult<OrganizationRow> {
    let found = if arg == "default" {
        store::get_default(conn)?
    } else if let Ok(id) = Uuid::parse_str(arg) {
        if id.is_nil() {
            store::get_default(conn)?
        } else {
            store::get(conn, id)?
        }
    } else {
        store::get_by_name(conn, arg)?
    };
    let org = found.ok_or_else(ApiError::not_found)?;
    subject.require_visible(Action::Read, Object::Organization { id: org.id })?;
    Ok(org)
}

/// `GET /organizations`: those the subject may read.
pub fn list(conn: &Tx, subject: &Subject) -> ApiResult<Vec<sdk::Organization>> {
    let only = subject.visible_orgs();
    Ok(store::list(conn, only.as_deref())?
        .iter()
        .map(render)
        .collect())
}

/// A page of an organization's members with their users, and the count.
pub fn member_page(
    conn: &Tx,
    subject: &Subject,
    org: &str,
    limit: i64,
    offset: i64,
) -> ApiResult<(Vec<sdk::OrganizationMemberWithUserData>, i64)> {
    let org = resolve(conn, subject, org)?;
    subject.require_visible(Action::Read, Object::OrganizationMember { org: org.id })?;
    let (rows, count) = store::list_members(conn, org.id, limit, offset)?;
    let custom = custom_role_names(conn, org.id)?;
    Ok((
        rows.iter()
            .map(|(m, u)| render_member_with_user(m, u, &custom))
            .collect(),
        count,
    ))
}

/// An organization by id that the subject may read, else 404.
pub fn get(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<OrganizationRow> {
    let org = store::get(conn, id)?.ok_or_else(ApiError::not_found)?;
    subject.require_visible(Action::Read, Object::Organization { id: org.id })?;
    Ok(org)
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct OrganizationRequest {
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub icon: Option<String>,
}

fn validate(req: &OrganizationRequest, required: bool) -> ApiResult<()> {
    let mut v = Validator::new();
    if required {
        v.required("name", &req.name);
    }
    if !req.name.is_empty() {
        v.check(
            "name",
            "organization_name",
            &req.name,
            names::valid_name(&req.name),
        );
    }
    let display = req.display_name.clone().unwrap_or_default();
    v.check(
        "display_name",
        "organization_display_name",
        &display,
        display.chars().count() <= 64 && display.trim() == display,
    );
    v.finish()?;
    if req.name.eq_ignore_ascii_case("default") {
        return Err(
            ApiError::bad_request("Organization name \"default\" is reserved.")
                .validation("name", "\"default\" is a reserved name"),
        );
    }
    Ok(())
}

pub fn create(
    conn: &Tx,
    subject: &Subject,
    req: &OrganizationRequest,
    now: Micros,
) -> ApiResult<OrganizationRow> {
    subject.require(Action::Create, Object::Organization { id: Uuid::nil() })?;
    validate(req, true)?;
    if store::get_by_name(conn, &req.name)?.is_some() {
        return Err(ApiError::conflict(format!(
            "Organization already exists with the name {:?}.",
            req.name
        ))
        .validation("name", "This value is already in use and should be unique."));
    }
    let org = OrganizationRow {
        id: crate::domain::new_id(),
        name: req.name.clone(),
        display_name: req
            .display_name
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| req.name.clone()),
        description: req.description.clone().unwrap_or_default(),
        icon: req.icon.clone().unwrap_or_default(),
        is_default: false,
        created_at: now,
        updated_at: now,
    };
    store::insert(conn, &org)?;
    insert_everyone(conn, &org, now)?;
    // The creator joins as an organization admin so the new org is usable.
    store::add_member(
        conn,
        &MemberRow {
            organization_id: org.id,
            user_id: subject.user_id,
            roles: vec![authz::ORG_ADMIN.to_string()],
            created_at: now,
            updated_at: now,
        },
    )?;
    Ok(org)
}

pub fn update(
    conn: &Tx,
    subject: &Subject,
    org: &OrganizationRow,
    req: &OrganizationRequest,
    now: Micros,
) -> ApiResult<OrganizationRow> {
    subject.require(Action::Update, Object::Organization { id: org.id })?;
    validate(req, false)?;
    let mut next = org.clone();
    if !req.name.is_empty() && req.name != org.name {
        if org.is_default && req.name.eq_ignore_ascii_case("default") {
            return Err(ApiError::bad_request(
                "Organization name \"default\" is reserved.",
            ));
        }
        if store::get_by_name(conn, &req.name)?.is_some_and(|o| o.id != org.id) {
            return Err(ApiError::conflict(format!(
                "Organization already exists with the name {:?}.",
                req.name
            ))
            .validation("name", "This value is already in use and should be unique."));
        }
        next.name = req.name.clone();
    }
    if let Some(d) = &req.display_name {
        next.display_name = d.clone();
    }
    if let Some(d) = &req.description {
        next.description = d.clone();
    }
    if let Some(i) = &req.icon {
        next.icon = i.clone();
    }
    next.updated_at = now;
    store::update(conn, &next)?;
    Ok(next)
}

pub fn delete(conn: &Tx, subject: &Subject, org: &OrganizationRow, now: Micros) -> ApiResult<()> {
    subject.require(Action::Delete, Object::Organization { id: org.id })?;
    if org.is_default {
        return Err(ApiError::bad_request(
            "Default organization cannot be deleted.",
        ));
    }
    let in_use = store::count_live_contents(conn, org.id)?;
    if in_use > 0 {
        return Err(ApiError::bad_request(
            "Organization still has templates or workspaces; delete them first.",
        ));
    }
    Ok(store::soft_delete(conn, org.id, now)?)
}

/// Adds a user to an organization (no explicit org roles).
pub fn add_member(
    conn: &Tx,
    subject: &Subject,
    org: &OrganizationRow,
    user: &UserRow,
    now: Micros,
) -> ApiResult<sdk::OrganizationMember> {
    subject.require(Action::Create, Object::OrganizationMember { org: org.id })?;
    if store::get_member(conn, org.id, user.id)?.is_some() {
        return Err(ApiError::bad_request(
            "Organization member already exists in this organization",
        ));
    }
    let m = MemberRow {
        organization_id: org.id,
        user_id: user.id,
        roles: vec![],
        created_at: now,
        updated_at: now,
    };
    store::add_member(conn, &m)?;
    Ok(render_member(&m, &HashMap::new()))
}

/// The membership of `user` in `org`, 404 when absent or unreadable.
pub fn member(
    conn: &Tx,
    subject: &Subject,
    org: &OrganizationRow,
    user: &UserRow,
) -> ApiResult<MemberRow> {
    subject.require_visible(Action::Read, Object::OrganizationMember { org: org.id })?;
    store::get_member(conn, org.id, user.id)?.ok_or_else(ApiError::not_found)
}

pub fn remove_member(
    conn: &Tx,
    subject: &Subject,
    org: &OrganizationRow,
    user: &UserRow,
) -> ApiResult<()> {
    member(conn, subject, org, user)?;
    if subject.is(user.id) {
        return Err(ApiError::bad_request(
            "cannot remove self from an organization",
        ));
    }
    subject.require(Action::Delete, Object::OrganizationMember { org: org.id })?;
    store::remove_member(conn, org.id, user.id)?;
    Ok(())
}

pub fn set_member_roles(
    conn: &Tx,
    subject: &Subject,
    org: &OrganizationRow,
    user: &UserRow,
    requested: &[String],
    now: Micros,
) -> ApiResult<sdk::OrganizationMember> {
    let current = member(conn, subject, org, user)?;
    if subject.is(user.id) {
        return Err(
            ApiError::bad_request("You cannot change your own organization roles.")
                .detail("Another user with the appropriate permissions must change your roles."),
        );
    }
    let mut granted: Vec<String> = Vec::new();
    for r in requested {
        // A built-in organization role, or a custom role of this
        // organization by its stored name.
        let name = if authz::org_role_display(r).is_some() {
            Some(r.clone())
        } else {
            custom_roles::get(conn, org.id, r)?.map(|c| c.name)
        };
        let Some(name) = name else {
            return Err(ApiError::bad_request(format!(
                "assign roles: role {r:?} does not exist in organization {:?}",
                org.name
            )));
        };
        if name != authz::ORG_MEMBER && !granted.contains(&name) {
            granted.push(name);
        }
    }
    let roles = granted;
    let changed = roles
        .iter()
        .filter(|r| !current.roles.contains(r))
        .chain(current.roles.iter().filter(|r| !roles.contains(r)));
    for r in changed {
        subject.require(
            Action::Assign,
            Object::OrgRole {
                org: org.id,
                name: r,
            },
        )?;
    }
    store::set_member_roles(conn, org.id, user.id, &roles, now)?;
    let m = store::get_member(conn, org.id, user.id)?
        .ok_or_else(|| ApiError::internal("member vanished"))?;
    Ok(render_member(&m, &custom_role_names(conn, org.id)?))
}

/// The organizations of `user` that the subject may read.
pub fn of_user(conn: &Tx, subject: &Subject, user: &UserRow) -> ApiResult<Vec<OrganizationRow>> {
    let all = store::list(conn, Some(&user.organization_ids))?;
    Ok(all
        .into_iter()
        .filter(|o| subject.can(Action::Read, Object::Organization { id: o.id }))
        .collect())
}

/// `GET /organizations/{organization}/members/{user}/workspaces/available-users`:
/// who the subject may pick as a workspace's owner. Those who may create
/// workspaces for any member get the organization's members, without
/// needing to read users (seed 004); everyone else gets themselves.
pub fn available_workspace_owners(
    tx: &Tx,
    subject: &Subject,
    org: &str,
    user: &str,
    q: UserQuery,
    page: &Page,
) -> ApiResult<Vec<sdk::MinimalUser>> {
    let mut filter = users::filter(q);
    let org = resolve(tx, subject, org)?;
    let user = users::resolve(tx, subject, user)?;
    member(tx, subject, &org, &user)?;
    if !subject.creates_for_anyone(org.id) {
        filter.visible_ids = Some(vec![subject.user_id]);
    }
    filter.organization = Some(org.id);
    let (rows, _) = user_store::list(tx, &filter, page.max_rows(), page.offset)?;
    Ok(rows.iter().map(users::minimal).collect())
}
