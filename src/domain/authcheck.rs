//! `POST /authcheck`: Coder's batch permission check, answered by the
//! decision table (see `authz::check`). A check naming one object by id is
//! answered from that object; one the subject cannot read answers no.

use uuid::Uuid;

use crate::authz::check::{Set, BY_ID};
use crate::authz::{Action, Guarded, Subject};
use crate::domain::store::Tx;
use crate::domain::store::{groups, templates, users, workspaces};
use crate::error::{ApiError, ApiResult};
use crate::sdk::{AuthorizationObject, AuthorizationRequest, AuthorizationResponse};

/// Checks naming an object by id, at most, per request (each costs a read).
const MAX_BY_ID: usize = 10;

pub fn check(
    tx: &Tx,
    subject: &Subject,
    req: &AuthorizationRequest,
) -> ApiResult<AuthorizationResponse> {
    let by_id = req
        .checks
        .values()
        .filter(|c| !c.object.resource_id.is_empty())
        .count();
    if by_id > MAX_BY_ID {
        return Err(ApiError::bad_request(format!(
            "Endpoint only supports using \"resource_id\" field {MAX_BY_ID} times, found {by_id} usages. Remove {} objects with this field set.",
            by_id - MAX_BY_ID
        )));
    }
    let mut out = AuthorizationResponse::new();
    for (key, c) in &req.checks {
        let o = &c.object;
        if o.resource_type.is_empty() {
            let message =
                format!("Object's \"resource_type\" field must be defined for key {key:?}.");
            return Err(ApiError::bad_request(message.clone()).validation("resource_type", message));
        }
        let answer = if o.resource_id.is_empty() {
            subject.can_on_set(
                &c.action,
                &Set {
                    resource_type: &o.resource_type,
                    owner: id_of(&o.owner_id, subject),
                    org: id_of(&o.organization_id, subject),
                    any_org: o.any_org,
                },
            )
        } else {
            by_resource_id(tx, subject, o, &c.action)?
        };
        out.insert(key.clone(), answer);
    }
    Ok(out)
}

/// An owner or organization as a check names it: `me` is the subject; an
/// absent or malformed id matches no user or organization.
fn id_of(s: &str, subject: &Subject) -> Uuid {
    if s == "me" {
        return subject.user_id;
    }
    Uuid::parse_str(s).unwrap_or(Uuid::nil())
}

/// A check on one object: no when it does not exist or the subject cannot
/// read it.
fn by_resource_id(
    tx: &Tx,
    subject: &Subject,
    o: &AuthorizationObject,
    action: &str,
) -> ApiResult<bool> {
    let id = Uuid::parse_str(&o.resource_id).map_err(|e| {
        ApiError::bad_request(format!(
            "Object {:?} id is not a valid uuid.",
            o.resource_id
        ))
        .validation("resource_id", e.to_string())
    })?;
    if !BY_ID.contains(&o.resource_type.as_str()) {
        let message = format!(
            "Object type {:?} does not support \"resource_id\" field.",
            o.resource_type
        );
        return Err(ApiError::bad_request(message.clone()).validation("resource_type", message));
    }
    let kind = o.resource_type.as_str();
    let decide = |object: crate::authz::Object| {
        subject.can(Action::Read, object) && subject.can_on(kind, action, object)
    };
    Ok(match kind {
        "workspace" => workspaces::get(tx, id)?.is_some_and(|w| decide(w.object())),
        "template" => templates::get(tx, id)?.is_some_and(|t| decide(t.object())),
        "user" => users::get(tx, id)?
            .filter(|u| !u.deleted)
            .is_some_and(|u| decide(u.object())),
        _ => groups::get(tx, id)?.is_some_and(|g| decide(crate::domain::groups::object(&g))),
    })
}
