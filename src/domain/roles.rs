//! Roles: the site and organization role catalogues, and custom
//! organization roles (Coder's `enterprise/coderd/roles.go`), whose
//! organization-level permissions the authorization module weighs with the
//! built-in roles.

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use uuid::Uuid;

use crate::authz::{self, Action, Object, Permission, Subject};
use crate::domain::names;
use crate::domain::organizations;
use crate::domain::store::custom_roles::{self as store, CustomRoleRow};
use crate::domain::store::organizations as org_store;
use crate::domain::store::Tx;
use crate::error::{ApiError, ApiResult};
use crate::sdk::{self, Micros};

/// Custom roles one organization may hold; more are refused.
pub const MAX_PER_ORGANIZATION: usize = 1000;

const FAILED: &str = "Failed to update role permissions";

fn builtin(name: &str, display: &str, org: String, assignable: bool) -> sdk::AssignableRoles {
    sdk::AssignableRoles {
        role: sdk::Role {
            name: name.into(),
            display_name: display.into(),
            organization_id: org,
            site_permissions: vec![],
            organization_permissions: vec![],
            user_permissions: vec![],
            organization_member_permissions: vec![],
        },
        assignable,
        built_in: true,
    }
}

fn render(r: &CustomRoleRow) -> sdk::Role {
    sdk::Role {
        name: r.name.clone(),
        organization_id: r.organization_id.to_string(),
        display_name: r.display_name.clone(),
        site_permissions: vec![],
        organization_permissions: r.org_permissions.clone(),
        user_permissions: vec![],
        organization_member_permissions: vec![],
    }
}

/// `GET /users/roles`: the site roles, each marked assignable by the caller.
pub fn site_roles(subject: &Subject) -> Vec<sdk::AssignableRoles> {
    authz::SITE_ROLES
        .iter()
        .map(|(name, display)| {
            builtin(
                name,
                display,
                String::new(),
                subject.can(Action::Assign, Object::SiteRole { name }),
            )
        })
        .collect()
}

/// `GET /organizations/{organization}/members/roles`: the built-in
/// organization roles, then the organization's custom roles, each marked
/// assignable by the caller.
pub fn org_roles(
    tx: &Tx,
    subject: &Subject,
    org_arg: &str,
) -> ApiResult<Vec<sdk::AssignableRoles>> {
    let org = organizations::resolve(tx, subject, org_arg)?;
    subject.require_visible(Action::Read, Object::OrgRoles { org: org.id })?;
    let assignable =
        |name: &str| subject.can(Action::Assign, Object::OrgRole { org: org.id, name });
    let mut out: Vec<sdk::AssignableRoles> = authz::ORG_ROLES
        .iter()
        .map(|(name, display)| builtin(name, display, org.id.to_string(), assignable(name)))
        .collect();
    for r in store::list(tx, org.id)? {
        out.push(sdk::AssignableRoles {
            assignable: assignable(&r.name),
            role: render(&r),
            built_in: false,
        });
    }
    Ok(out)
}

/// Coder's checks of a role request before it reaches the store
/// (`validOrganizationRoleRequest`): a name of its own, valid, and only
/// organization permissions.
fn validate(req: &sdk::CustomRoleRequest) -> ApiResult<()> {
    let reserved = authz::SITE_ROLES
        .iter()
        .chain(authz::ORG_ROLES)
        .any(|(n, _)| *n == req.name);
    if reserved {
        return Err(ApiError::bad_request("Reserved role name").detail(format!(
            "{:?} is a reserved role name, and not allowed to be used",
            req.name
        )));
    }
    if let Some(problem) = names::name_problem(&req.name) {
        return Err(ApiError::bad_request("Invalid role name").detail(problem));
    }
    let given = |l: &Option<Vec<Permission>>| l.as_ref().is_some_and(|l| !l.is_empty());
    if given(&req.site_permissions) {
        return Err(ApiError::bad_request(
            "Invalid request, not allowed to assign site wide permissions for an organization role.",
        )
        .detail("organization scoped roles may not contain site wide permissions"));
    }
    if given(&req.user_permissions) {
        return Err(ApiError::bad_request(
            "Invalid request, not allowed to assign user permissions for an organization role.",
        )
        .detail("organization scoped roles may not contain user permissions"));
    }
    if given(&req.organization_member_permissions) {
        return Err(ApiError::bad_request(
            "Invalid request, not allowed to assign organization member permissions for an organization role.",
        )
        .detail("organization scoped roles may not contain organization member permissions"));
    }
    Ok(())
}

/// The request's organization permissions, each once, in the order given
/// (a set, so that a body full of permissions costs linear time).
fn permissions_of(req: &sdk::CustomRoleRequest) -> Vec<Permission> {
    let mut seen: HashSet<&Permission> = HashSet::new();
    req.organization_permissions
        .iter()
        .flatten()
        .filter(|p| seen.insert(p))
        .cloned()
        .collect()
}

/// Coder's `customRoleCheck` for an organization role: every permission
/// valid, then none the subject could not grant itself (no negation, no
/// wildcard, nothing the subject does not hold in the organization).
fn check_grants(subject: &Subject, org: Uuid, perms: &[Permission]) -> ApiResult<()> {
    let invalid: Vec<String> = perms
        .iter()
        .filter_map(|p| p.problem())
        .map(|problem| format!("org={:?}: {problem}", org.to_string()))
        .collect();
    if !invalid.is_empty() {
        return Err(
            ApiError::bad_request(FAILED).detail(format!("invalid role: {}", invalid.join("\n")))
        );
    }
    for p in perms {
        let why = if p.negate {
            "no negative permissions"
        } else if p.action == authz::check::WILDCARD || p.resource_type == authz::check::WILDCARD {
            "no wildcard symbols"
        } else if !subject.holds_in_org(p, org) {
            "not allowed to grant this permission"
        } else {
            continue;
        };
        return Err(ApiError::bad_request(FAILED).detail(format!(
            "org={:?}: invalid permission for action={:?} type={:?}, {why}",
            org.to_string(),
            p.action,
            p.resource_type
        )));
    }
    Ok(())
}

/// `POST /organizations/{organization}/members/roles`.
pub fn create(
    tx: &Tx,
    subject: &Subject,
    org_arg: &str,
    req: &sdk::CustomRoleRequest,
    now: Micros,
) -> ApiResult<sdk::Role> {
    let org = organizations::resolve(tx, subject, org_arg)?;
    validate(req)?;
    subject.require_visible(Action::Create, Object::OrgRoles { org: org.id })?;
    let perms = permissions_of(req);
    check_grants(subject, org.id, &perms)?;
    if store::get(tx, org.id, &req.name)?.is_some() {
        return Err(ApiError::bad_request(FAILED).detail(
            "pq: duplicate key value violates unique constraint \"idx_custom_roles_name_lower\"",
        ));
    }
    if store::list(tx, org.id)?.len() >= MAX_PER_ORGANIZATION {
        return Err(ApiError::bad_request(FAILED).detail(format!(
            "an organization holds at most {MAX_PER_ORGANIZATION} custom roles"
        )));
    }
    let row = CustomRoleRow {
        organization_id: org.id,
        name: req.name.clone(),
        display_name: req.display_name.clone(),
        org_permissions: perms,
        created_at: now,
        updated_at: now,
    };
    store::insert(tx, &row)?;
    Ok(render(&row))
}

/// `PUT /organizations/{organization}/members/roles`: replaces a custom
/// role's display name and permissions. As Coder does, permissions it does
/// not know (a resource type or action of another version) are left out
/// rather than refused.
pub fn update(
    tx: &Tx,
    subject: &Subject,
    org_arg: &str,
    req: &sdk::CustomRoleRequest,
    now: Micros,
) -> ApiResult<sdk::Role> {
    let org = organizations::resolve(tx, subject, org_arg)?;
    validate(req)?;
    subject.require_visible(Action::Update, Object::OrgRoles { org: org.id })?;
    let perms: Vec<Permission> = permissions_of(req)
        .into_iter()
        .filter(|p| p.problem().is_none())
        .collect();
    check_grants(subject, org.id, &perms)?;
    let row = store::update(tx, org.id, &req.name, &req.display_name, &perms, now)?
        .ok_or_else(ApiError::not_found)?;
    Ok(render(&row))
}

/// `DELETE /organizations/{organization}/members/roles/{roleName}`: the
/// role goes, and with it every member's assignment of it.
pub fn delete(tx: &Tx, subject: &Subject, org_arg: &str, name: &str) -> ApiResult<()> {
    let org = organizations::resolve(tx, subject, org_arg)?;
    subject.require_visible(Action::Read, Object::OrgRoles { org: org.id })?;
    let role = store::get(tx, org.id, name)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("No custom role with the name {name} found"),
        )
        .detail("no role found")
    })?;
    subject.require(Action::Delete, Object::OrgRoles { org: org.id })?;
    store::delete(tx, org.id, &role.name)?;
    org_store::remove_role_from_members(tx, org.id, &role.name)?;
    Ok(())
}

/// Organization id → the permissions the custom roles among `memberships`
/// grant there, for the subject of a request.
pub fn held_permissions(
    tx: &Tx,
    memberships: &[(Uuid, Vec<String>)],
) -> ApiResult<HashMap<Uuid, Vec<Permission>>> {
    let mut out = HashMap::new();
    for (org, roles) in memberships {
        let custom: Vec<&str> = roles
            .iter()
            .map(String::as_str)
            .filter(|r| authz::org_role_display(r).is_none())
            .collect();
        if custom.is_empty() {
            continue;
        }
        let perms: Vec<Permission> = store::get_many(tx, *org, &custom)?
            .into_iter()
            .flat_map(|r| r.org_permissions)
            .collect();
        out.insert(*org, perms);
    }
    Ok(out)
}
