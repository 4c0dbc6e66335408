//! Groups: creation, patching with Coder's checks (in Coder's order), deletion,
//! and rendering with members. The Everyone group is read-only.

use crate::domain::store::Tx;
use serde::Deserialize;
use uuid::Uuid;

use crate::authz::{Action, Object, Subject};
use crate::domain::names;
use crate::domain::store::groups::{self as store, GroupFilter, GroupRow};
use crate::domain::store::organizations::{self as orgs, OrganizationRow};
use crate::domain::users;
use crate::error::{ApiError, ApiResult, Validator};
use crate::sdk::{self, Micros};

pub fn object(g: &GroupRow) -> Object<'static> {
    Object::Group {
        org: g.organization_id,
        id: g.id,
    }
}

/// Renders groups with their members, loading all members in one query.
pub fn render_many(conn: &Tx, groups: &[GroupRow]) -> ApiResult<Vec<sdk::Group>> {
    let mut members = store::members_of(conn, groups)?;
    Ok(groups
        .iter()
        .map(|g| {
            let m: Vec<sdk::ReducedUser> = members
                .remove(&g.id)
                .unwrap_or_default()
                .iter()
                .map(users::reduced)
                .collect();
            sdk::Group {
                id: g.id,
                name: g.name.clone(),
                display_name: g.display_name.clone(),
                organization_id: g.organization_id,
                organization_name: g.organization_name.clone(),
                organization_display_name: g.organization_display_name.clone(),
                total_member_count: m.len() as i64,
                members: m,
                avatar_url: g.avatar_url.clone(),
                quota_allowance: g.quota_allowance,
                source: g.source.clone(),
            }
        })
        .collect())
}

pub fn render(conn: &Tx, g: &GroupRow) -> ApiResult<sdk::Group> {
    render_many(conn, std::slice::from_ref(g))?
        .pop()
        .ok_or_else(|| ApiError::internal("group render"))
}

/// Whether a group exists (search filters name groups without revealing
/// anything else about them).
pub fn id_if_exists(conn: &Tx, id: Uuid) -> ApiResult<Option<Uuid>> {
    Ok(store::get(conn, id)?.map(|g| g.id))
}

/// The id of a group of `org` by name, if any.
pub fn id_by_name(conn: &Tx, org: Uuid, name: &str) -> ApiResult<Option<Uuid>> {
    Ok(store::get_by_name(conn, org, name)?.map(|g| g.id))
}

/// A group by id, 404 when missing or unreadable.
pub fn get(conn: &Tx, subject: &Subject, id: Uuid) -> ApiResult<GroupRow> {
    let g = store::get(conn, id)?.ok_or_else(ApiError::not_found)?;
    subject.require_visible(Action::Read, object(&g))?;
    Ok(g)
}

/// A group of an organization by name that the subject may read.
pub fn get_by_name(conn: &Tx, subject: &Subject, org: &str, name: &str) -> ApiResult<GroupRow> {
    let org = crate::domain::organizations::resolve(conn, subject, org)?;
    let g = store::get_by_name(conn, org.id, name)?.ok_or_else(ApiError::not_found)?;
    get(conn, subject, g.id)
}

/// The filters of `GET /groups` as given (names not yet resolved).
pub struct GroupQuery {
    pub organization: Option<String>,
    pub has_member: Option<String>,
    pub ids: Option<Vec<Uuid>>,
}

/// `GET /groups`: the groups matching `q` that the subject may read.
pub fn search(conn: &Tx, subject: &Subject, q: GroupQuery) -> ApiResult<Vec<sdk::Group>> {
    let mut f = GroupFilter {
        ids: q.ids,
        ..Default::default()
    };
    if let Some(org) = q.organization {
        f.organization = Some(crate::domain::organizations::resolve(conn, subject, &org)?.id);
    }
    if let Some(m) = q.has_member {
        let id = users::id_by_id_or_username(conn, &m)?.ok_or_else(|| {
            ApiError::bad_request("Query parameters have invalid values.").validation(
                "has_member",
                format!("Query param \"has_member\" must be a valid user id or username: {m:?}"),
            )
        })?;
        f.has_member = Some(id);
    }
    let rows = list(conn, subject, &f)?;
    render_many(conn, &rows)
}

/// Groups matching `f` that the subject may read.
pub fn list(conn: &Tx, subject: &Subject, f: &GroupFilter) -> ApiResult<Vec<GroupRow>> {
    Ok(store::list(conn, f)?
        .into_iter()
        .filter(|g| subject.can(Action::Read, object(g)))
        .collect())
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct CreateGroupRequest {
    pub name: String,
    pub display_name: String,
    pub avatar_url: String,
    pub quota_allowance: i64,
}

pub fn create(
    conn: &Tx,
    subject: &Subject,
    org: &OrganizationRow,
    req: &CreateGroupRequest,
    now: Micros,
) -> ApiResult<GroupRow> {
    subject.require(
        Action::Create,
        Object::Group {
            org: org.id,
            id: Uuid::nil(),
        },
    )?;
    if req.name.eq_ignore_ascii_case("everyone") {
        return Err(ApiError::bad_request("Invalid group name.")
            .validation("name", "\"Everyone\" is a reserved group name"));
    }
    let mut v = Validator::new();
    v.required("name", &req.name)
        .check(
            "name",
            "group_name",
            &req.name,
            names::valid_name(&req.name),
        )
        .check(
            "display_name",
            "group_display_name",
            &req.display_name,
            names::valid_full_name(&req.display_name),
        )
        .check(
            "quota_allowance",
            "min",
            &req.quota_allowance.to_string(),
            req.quota_allowance >= 0,
        );
    v.finish()?;
    if store::get_by_name(conn, org.id, &req.name)?.is_some() {
        return Err(ApiError::conflict(format!(
            "A group named {:?} already exists.",
            req.name
        )));
    }
    let g = GroupRow {
        id: crate::domain::new_id(),
        organization_id: org.id,
        name: req.name.clone(),
        display_name: req.display_name.clone(),
        avatar_url: req.avatar_url.clone(),
        quota_allowance: req.quota_allowance,
        source: "user".into(),
        created_at: now,
        organization_name: org.name.clone(),
        organization_display_name: org.display_name.clone(),
    };
    store::insert(conn, &g)?;
    Ok(g)
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct PatchGroupRequest {
    pub add_users: Vec<String>,
    pub remove_users: Vec<String>,
    pub name: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub quota_allowance: Option<i64>,
}

/// Most users one PATCH may add or remove.
const MAX_PATCH_USERS: usize = 1000;

pub fn patch(
    conn: &Tx,
    subject: &Subject,
    g: &GroupRow,
    req: &PatchGroupRequest,
) -> ApiResult<GroupRow> {
    subject.require(Action::Update, object(g))?;
    let everyone = g.is_everyone();
    if everyone && !req.name.is_empty() && req.name != g.name {
        return Err(ApiError::bad_request(
            "Cannot rename the \"Everyone\" group!",
        ));
    }
    if everyone
        && req
            .display_name
            .as_deref()
            .is_some_and(|d| d != g.display_name)
    {
        return Err(ApiError::bad_request(
            "Cannot update the Display Name for the \"Everyone\" group!",
        ));
    }
    if !everyone && req.name.eq_ignore_ascii_case("everyone") {
        return Err(ApiError::bad_request(
            "\"Everyone\" is a reserved group name!",
        ));
    }
    if everyone && (!req.add_users.is_empty() || !req.remove_users.is_empty()) {
        return Err(ApiError::forbidden_msg(
            "Cannot add or remove users from the \"Everyone\" group!",
        ));
    }
    if req.add_users.len() + req.remove_users.len() > MAX_PATCH_USERS {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_PATCH_USERS} users may be added or removed at once."
        )));
    }
    let parse = |s: &String| {
        Uuid::parse_str(s)
            .map_err(|_| ApiError::bad_request(format!("ID {s:?} must be a valid user UUID.")))
    };
    let add: Vec<Uuid> = req.add_users.iter().map(parse).collect::<ApiResult<_>>()?;
    let remove: Vec<Uuid> = req
        .remove_users
        .iter()
        .map(parse)
        .collect::<ApiResult<_>>()?;
    for u in &add {
        if orgs::get_member(conn, g.organization_id, *u)?.is_none() {
            return Err(ApiError::bad_request(format!(
                "User must be a member of organization {:?}",
                g.name
            )));
        }
    }
    let mut v = Validator::new();
    if !req.name.is_empty() {
        v.check(
            "name",
            "group_name",
            &req.name,
            names::valid_name(&req.name),
        );
    }
    if let Some(d) = &req.display_name {
        v.check(
            "display_name",
            "group_display_name",
            d,
            names::valid_full_name(d),
        );
    }
    if let Some(q) = req.quota_allowance {
        v.check("quota_allowance", "min", &q.to_string(), q >= 0);
    }
    v.finish()?;
    let mut next = g.clone();
    if !req.name.is_empty() && req.name != g.name {
        if store::get_by_name(conn, g.organization_id, &req.name)?.is_some_and(|o| o.id != g.id) {
            return Err(ApiError::conflict(format!(
                "A group with name {:?} already exists.",
                req.name
            )));
        }
        next.name = req.name.clone();
    }
    if let Some(d) = &req.display_name {
        next.display_name = d.clone();
    }
    if let Some(a) = &req.avatar_url {
        next.avatar_url = a.clone();
    }
    if let Some(q) = req.quota_allowance {
        next.quota_allowance = q;
    }
    for u in &add {
        if store::is_member(conn, g.id, *u)? {
            return Err(ApiError::bad_request(
                "Cannot add the same user to a group twice!",
            ));
        }
        store::add_member(conn, g.id, *u)?;
    }
    for u in &remove {
        store::remove_member(conn, g.id, *u)?;
    }
    store::update(conn, &next)?;
    Ok(next)
}

pub fn delete(conn: &Tx, subject: &Subject, g: &GroupRow) -> ApiResult<()> {
    subject.require(Action::Delete, object(g))?;
    if g.is_everyone() {
        return Err(ApiError::bad_request(
            "\"Everyone\" is a reserved group and cannot be deleted!",
        ));
    }
    Ok(store::delete(conn, g.id)?)
}
