//! API keys of a user: session keys and named tokens. Only the owner of the
//! keys and site owners manage them (the decision table's `api key` rows).

use std::time::Duration;

use uuid::Uuid;

use crate::authz::{self, Action, Object, Subject};
use crate::domain::auth;
use crate::domain::store::api_keys::{self, ApiKeyRow};
use crate::domain::store::users::UserRow;
use crate::domain::store::Tx;
use crate::domain::users;
use crate::error::{ApiError, ApiResult};
use crate::sdk::{self, AllowListEntry, Micros};

/// The deployment's token lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// Of a token created without one, and of session keys.
    pub default: Duration,
    pub max: Duration,
    /// The longest an administrator's token may live (Coder's
    /// `--max-admin-token-lifetime`).
    pub max_admin: Duration,
}

impl Lifetimes {
    fn max_for(&self, u: &UserRow) -> Duration {
        if authz::is_administrator(&u.rbac_roles) {
            self.max_admin
        } else {
            self.max
        }
    }
}

fn render(k: &ApiKeyRow) -> sdk::ApiKey {
    let scope = if k
        .scopes
        .iter()
        .any(|s| s == "coder:application_connect" || s == "application_connect")
    {
        "application_connect"
    } else {
        "all"
    };
    sdk::ApiKey {
        id: k.id.clone(),
        user_id: k.user_id,
        last_used: sdk::format_time_or_zero(k.last_used),
        expires_at: sdk::format_time(k.expires_at),
        created_at: sdk::format_time(k.created_at),
        updated_at: sdk::format_time(k.updated_at),
        login_type: k.login_type.clone(),
        scope: scope.into(),
        scopes: k.scopes.clone(),
        allow_list: k.allow_list.clone(),
        token_name: k.token_name.clone(),
        lifetime_seconds: k.lifetime_seconds,
    }
}

/// `{user}` whose keys the subject may `action`: an unreadable user is
/// hidden (404), a readable one refused (403).
fn owner(conn: &Tx, subject: &Subject, arg: &str, action: Action) -> ApiResult<UserRow> {
    let u = users::resolve(conn, subject, arg)?;
    subject.require_visible(Action::Read, users::object(&u))?;
    subject.require(action, Object::ApiKey { owner: u.id })?;
    Ok(u)
}

fn all_scope() -> (Vec<String>, Vec<AllowListEntry>) {
    (
        vec!["coder:all".into()],
        vec![AllowListEntry {
            kind: "*".into(),
            id: "*".into(),
        }],
    )
}

/// `POST /users/{user}/keys`: a session-type key with the default
/// lifetime; returns the token, shown once.
pub fn create_session_key(
    conn: &Tx,
    subject: &Subject,
    user: &str,
    limits: &Lifetimes,
    now: Micros,
) -> ApiResult<String> {
    let u = owner(conn, subject, user, Action::Create)?;
    let (scopes, allow) = all_scope();
    let key = auth::new_key(u.id, "password", limits.default, "", scopes, allow, now);
    api_keys::insert(conn, &key.row)?;
    Ok(key.token)
}

/// The body of `POST /users/{user}/keys/tokens`.
#[derive(Debug, serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct CreateTokenRequest {
    /// Nanoseconds, as Go's `time.Duration`.
    pub lifetime: i64,
    pub scope: String,
    pub scopes: Vec<String>,
    pub token_name: String,
    pub allow_list: Vec<sdk::AllowListTarget>,
}

const MAX_TOKEN_NAME: usize = 64;

/// `POST /users/{user}/keys/tokens`: returns the token, shown once.
pub fn create_token(
    conn: &Tx,
    subject: &Subject,
    user: &str,
    req: &CreateTokenRequest,
    limits: &Lifetimes,
    now: Micros,
) -> ApiResult<String> {
    let u = owner(conn, subject, user, Action::Create)?;
    let fail = |detail: String| {
        ApiError::bad_request("Failed to validate create API key request.").detail(detail)
    };
    if req.lifetime < 0 {
        return Err(fail("lifetime must be positive".into()));
    }
    let max = limits.max_for(&u);
    let lifetime = if req.lifetime == 0 {
        limits.default.min(max)
    } else {
        Duration::from_nanos(req.lifetime as u64)
    };
    if lifetime > max {
        return Err(fail(format!(
            "lifetime must be less than {}",
            go_duration(max)
        )));
    }
    let mut scopes: Vec<String> = Vec::new();
    let requested: Vec<String> = if req.scopes.is_empty() {
        vec![if req.scope.is_empty() {
            "all".into()
        } else {
            req.scope.clone()
        }]
    } else {
        req.scopes.clone()
    };
    for s in requested {
        let normalized = match s.as_str() {
            "all" | "coder:all" => "coder:all",
            "application_connect" | "coder:application_connect" => "coder:application_connect",
            other => {
                return Err(ApiError::bad_request("Failed to create API key.")
                    .detail(format!("invalid or unsupported API key scope: {other:?}")))
            }
        };
        if !scopes.iter().any(|x| x == normalized) {
            scopes.push(normalized.to_string());
        }
    }
    let allow = if req.allow_list.is_empty() {
        all_scope().1
    } else {
        req.allow_list.iter().map(|t| t.0.clone()).collect()
    };
    let name = if req.token_name.is_empty() {
        crate::domain::names::random_docker_name()
    } else {
        req.token_name.clone()
    };
    if name.len() > MAX_TOKEN_NAME {
        return Err(ApiError::validation_failed(vec![
            crate::error::Validation {
                field: "token_name".into(),
                detail: format!("Validation failed for tag \"max\" with value: {name:?}"),
            },
        ]));
    }
    let key = auth::new_key(u.id, "token", lifetime, &name, scopes, allow, now);
    if api_keys::token_name_taken(conn, key.row.user_id, &key.row.token_name)? {
        return Err(ApiError::conflict(format!(
            "A token with name {:?} already exists.",
            key.row.token_name
        ))
        .validation("name", "This value is already in use and should be unique."));
    }
    api_keys::insert(conn, &key.row)?;
    Ok(key.token)
}

/// `GET /users/{user}/keys/tokens`; `include_all` lists every user's
/// tokens, for those who may read them all.
pub fn list_tokens(
    conn: &Tx,
    subject: &Subject,
    user: &str,
    include_all: bool,
) -> ApiResult<Vec<sdk::ApiKeyWithOwner>> {
    let u = owner(conn, subject, user, Action::Read)?;
    let everyone = Object::ApiKey { owner: Uuid::nil() };
    let all = include_all && subject.can(Action::Read, everyone);
    let rows = api_keys::list_tokens(conn, if all { None } else { Some(u.id) })?;
    Ok(rows
        .iter()
        .filter(|(k, _)| subject.can(Action::Read, Object::ApiKey { owner: k.user_id }))
        .map(|(k, username)| sdk::ApiKeyWithOwner {
            key: render(k),
            username: username.clone(),
        })
        .collect())
}

/// `GET /users/{user}/keys/tokens/tokenconfig`: the longest lifetime the
/// user may ask for.
pub fn max_lifetime(
    conn: &Tx,
    subject: &Subject,
    user: &str,
    limits: &Lifetimes,
) -> ApiResult<Duration> {
    let u = owner(conn, subject, user, Action::Read)?;
    Ok(limits.max_for(&u))
}

/// `GET /users/{user}/keys/tokens/{keyname}`.
pub fn token_by_name(
    conn: &Tx,
    subject: &Subject,
    user: &str,
    name: &str,
) -> ApiResult<sdk::ApiKey> {
    let u = owner(conn, subject, user, Action::Read)?;
    let key = api_keys::get_by_token_name(conn, u.id, name)?.ok_or_else(ApiError::not_found)?;
    Ok(render(&key))
}

/// A key of `{user}` by id.
fn owned(conn: &Tx, u: &UserRow, id: &str) -> ApiResult<ApiKeyRow> {
    api_keys::get(conn, id)?
        .filter(|k| k.user_id == u.id)
        .ok_or_else(ApiError::not_found)
}

/// `GET /users/{user}/keys/{keyid}`.
pub fn get(conn: &Tx, subject: &Subject, user: &str, id: &str) -> ApiResult<sdk::ApiKey> {
    let u = owner(conn, subject, user, Action::Read)?;
    Ok(render(&owned(conn, &u, id)?))
}

/// `DELETE /users/{user}/keys/{keyid}`.
pub fn delete(conn: &Tx, subject: &Subject, user: &str, id: &str) -> ApiResult<()> {
    let u = owner(conn, subject, user, Action::Delete)?;
    let key = owned(conn, &u, id)?;
    api_keys::delete(conn, &key.id)?;
    Ok(())
}

/// Go's `time.Duration` rendering (`168h0m0s`), used in Coder's messages.
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}h{}m{}s", s / 3600, (s % 3600) / 60, s % 60)
}
