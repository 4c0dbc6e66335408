//! Users: creation (first user and admin-created), resolution of `{user}`,
//! status, roles, profile, password, git SSH keys, and rendering.

use crate::domain::store::Tx;
use serde::Deserialize;
use ssh_key::{Algorithm, LineEnding, PrivateKey};
use uuid::Uuid;

use crate::authz::{self, Action, Guarded, Object, Readable, Subject};
use crate::domain::names;
use crate::domain::store::{api_keys, organizations, users, users::UserRow};
use crate::error::{ApiError, ApiResult, Validator};
use crate::query::paging::Page;
use crate::query::users::UserQuery;
use crate::sdk::{self, Micros};

pub fn reduced(u: &UserRow) -> sdk::ReducedUser {
    sdk::ReducedUser {
        id: u.id,
        username: u.username.clone(),
        avatar_url: u.avatar_url.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        created_at: sdk::format_time(u.created_at),
        updated_at: sdk::format_time(u.updated_at),
        last_seen_at: sdk::format_time_or_zero(u.last_seen_at),
        status: u.status.clone(),
        login_type: u.login_type.clone(),
        theme_preference: u.theme_preference.clone(),
        is_service_account: u.is_service_account,
    }
}

pub fn minimal(u: &UserRow) -> sdk::MinimalUser {
    sdk::MinimalUser {
        id: u.id,
        username: u.username.clone(),
        name: u.name.clone(),
        avatar_url: u.avatar_url.clone(),
    }
}

pub fn site_roles(roles: &[String]) -> Vec<sdk::SlimRole> {
    roles
        .iter()
        .map(|r| sdk::SlimRole {
            name: r.clone(),
            display_name: authz::site_role_display(r).unwrap_or(r).to_string(),
            organization_id: String::new(),
        })
        .collect()
}

/// Organization roles as Coder lists them; `custom` gives the display
/// names of the organization's custom roles.
pub fn org_roles(
    org: Uuid,
    roles: &[String],
    custom: &std::collections::HashMap<String, String>,
) -> Vec<sdk::SlimRole> {
    roles
        .iter()
        .map(|r| sdk::SlimRole {
            name: r.clone(),
            display_name: authz::org_role_display(r)
                .or(custom.get(r).map(String::as_str))
                .unwrap_or(r)
                .to_string(),
            organization_id: org.to_string(),
        })
        .collect()
}

pub fn render(u: &UserRow) -> sdk::User {
    sdk::User {
        reduced: reduced(u),
        organization_ids: u.organization_ids.clone(),
        roles: site_roles(&u.rbac_roles),
    }
}

/// Coder's answer for any `{user}` it cannot resolve.
pub fn unknown_user(arg: &str) -> ApiError {
    ApiError::bad_request("\"user\" must be an existing uuid or username.")
        .detail(format!("queried user={arg:?}"))
}

/// Resolves `{user}`: `me`, a UUID, or a username (case-insensitive). Deleted
/// users are not found. Existence is answered before permission, as Coder does.
pub fn resolve(conn: &Tx, subject: &Subject, arg: &str) -> ApiResult<UserRow> {
    let found = if arg == "me" {
        users::get(conn, subject.user_id)?
    } else if let Ok(id) = Uuid::parse_str(arg) {
        users::get(conn, id)?
    } else {
        users::get_by_username(conn, arg)?
    };
    found
        .filter(|u| !u.deleted)
        .ok_or_else(|| unknown_user(arg))
}

/// The id of a live user by username, if any (search filters name users
/// without revealing anything else about them).
pub fn id_by_username(conn: &Tx, username: &str) -> ApiResult<Option<Uuid>> {
    Ok(users::get_by_username(conn, username)?
        .filter(|u| !u.deleted)
        .map(|u| u.id))
}

/// The id of a live user given by id or username, if any.
pub fn id_by_id_or_username(conn: &Tx, arg: &str) -> ApiResult<Option<Uuid>> {
    let found = match Uuid::parse_str(arg) {
        Ok(id) => users::get(conn, id)?,
        Err(_) => users::get_by_username(conn, arg)?,
    };
    Ok(found.filter(|u| !u.deleted).map(|u| u.id))
}

impl Guarded for UserRow {
    fn object(&self) -> Object<'_> {
        Object::User {
            id: self.id,
            orgs: &self.organization_ids,
        }
    }
}

pub fn object(u: &UserRow) -> Object<'_> {
    u.object()
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct CreateFirstUserRequest {
    pub email: String,
    pub username: String,
    pub name: String,
    pub password: String,
    pub trial: bool,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct CreateUserRequest {
    pub email: String,
    pub username: String,
    pub name: String,
    pub password: String,
    pub login_type: String,
    pub user_status: Option<String>,
    /// Absent (or null) in older clients' bodies; see [`validate_create`].
    pub organization_ids: Option<Vec<Uuid>>,
    pub organization_id: Option<Uuid>,
    pub roles: Vec<String>,
    pub service_account: bool,
}

pub fn check_new_password(password: &str) -> ApiResult<()> {
    if let Some(problem) = names::password_problem(password) {
        return Err(ApiError::bad_request("Password is invalid").validation("password", problem));
    }
    Ok(())
}

/// Generates a user's git SSH key pair (ed25519).
pub fn new_ssh_key(user: Uuid, now: Micros) -> ApiResult<users::SshKeyRow> {
    let key = PrivateKey::random(&mut rand::rngs::OsRng, Algorithm::Ed25519)
        .map_err(ApiError::internal)?;
    let private_key = key
        .to_openssh(LineEnding::LF)
        .map_err(ApiError::internal)?
        .to_string();
    let public_key = key.public_key().to_openssh().map_err(ApiError::internal)?;
    Ok(users::SshKeyRow {
        user_id: user,
        private_key,
        public_key,
        created_at: now,
        updated_at: now,
    })
}

/// `POST /users/first` field checks; the password rules run after the
/// existing-user check, as in Coder.
pub fn validate_first_user_fields(req: &CreateFirstUserRequest) -> ApiResult<()> {
    let mut v = Validator::new();
    v.required("email", &req.email)
        .check("email", "email", &req.email, names::valid_email(&req.email))
        .required("username", &req.username)
        .check(
            "username",
            "username",
            &req.username,
            names::valid_name(&req.username),
        )
        .check(
            "name",
            "user_real_name",
            &req.name,
            names::valid_full_name(&req.name),
        )
        .required("password", &req.password);
    v.finish()
}

pub struct FirstUser {
    pub user_id: Uuid,
    pub organization_id: Uuid,
}

pub fn create_first_user(
    conn: &Tx,
    req: &CreateFirstUserRequest,
    hashed_password: &str,
    ssh: users::SshKeyRow,
    now: Micros,
) -> ApiResult<FirstUser> {
    if users::count_active(conn)? > 0 {
        return Err(ApiError::conflict(
            "The initial user has already been created.",
        ));
    }
    let org = organizations::get_default(conn)?
        .ok_or_else(|| ApiError::internal("default organization missing"))?;
    let id = ssh.user_id;
    users::insert(
        conn,
        &users::NewUser {
            id,
            username: &req.username,
            email: &req.email,
            name: &req.name,
            hashed_password,
            login_type: "password",
            status: "active",
            rbac_roles: &[authz::OWNER.to_string()],
            is_service_account: false,
            now,
        },
    )?;
    users::put_ssh_key(conn, &ssh)?;
    organizations::add_member(
        conn,
        &organizations::MemberRow {
            organization_id: org.id,
            user_id: id,
            roles: vec![],
            created_at: now,
            updated_at: now,
        },
    )?;
    Ok(FirstUser {
        user_id: id,
        organization_id: org.id,
    })
}

/// The checks of `POST /users` that need no database, in Coder's order.
pub fn validate_create(req: &mut CreateUserRequest) -> ApiResult<()> {
    if req.login_type.is_empty() {
        req.login_type = "password".into();
    }
    if req.service_account {
        req.login_type = "none".into();
    }
    if req.organization_ids.as_ref().is_none_or(Vec::is_empty) {
        if let Some(org) = req.organization_id {
            // The legacy singular field.
            req.organization_ids = Some(vec![org]);
        } else if req.organization_ids.is_none() {
            // Older Coder placed a user created without organizations in the
            // default one (the nil id stands for it); an explicit empty list
            // is refused below, as current Coder does.
            req.organization_ids = Some(vec![Uuid::nil()]);
        }
    }
    let mut v = Validator::new();
    if !req.service_account {
        v.required("email", &req.email).check(
            "email",
            "email",
            &req.email,
            names::valid_email(&req.email),
        );
    }
    v.required("username", &req.username)
        .check(
            "username",
            "username",
            &req.username,
            names::valid_name(&req.username),
        )
        .check(
            "name",
            "user_real_name",
            &req.name,
            names::valid_full_name(&req.name),
        );
    let status = req.user_status.clone().unwrap_or_default();
    v.check(
        "user_status",
        "oneof",
        &status,
        matches!(status.as_str(), "" | "active" | "dormant"),
    );
    v.check(
        "login_type",
        "oneof",
        &req.login_type,
        matches!(
            req.login_type.as_str(),
            "password" | "none" | "github" | "oidc"
        ),
    );
    v.finish()?;
    if req.login_type != "password" && !req.password.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Password cannot be set for non-password ({:?}) authentication.",
            req.login_type
        )));
    }
    if req.organization_ids.as_ref().is_none_or(Vec::is_empty) {
        return Err(ApiError::bad_request("No organization specified to place the user as a member of. It is required to specify at least one organization id to place the user in.")
            .validation("organization_ids", "required"));
    }
    if req.login_type == "password" {
        check_new_password(&req.password)?;
    }
    match req.login_type.as_str() {
        "oidc" => Err(ApiError::bad_request(
            "You must configure OIDC before creating OIDC users.",
        )),
        "github" => Err(ApiError::bad_request(format!(
            "Unsupported login type {:?} for manually creating new users.",
            req.login_type
        ))),
        _ => Ok(()),
    }
}

pub fn create_user(
    conn: &Tx,
    subject: &Subject,
    req: &CreateUserRequest,
    hashed_password: &str,
    ssh: users::SshKeyRow,
    now: Micros,
) -> ApiResult<UserRow> {
    if !subject.can(
        Action::Create,
        Object::User {
            id: Uuid::nil(),
            orgs: &[],
        },
    ) {
        return Err(ApiError::forbidden_msg(
            "You are not authorized to create users.",
        ));
    }
    if users::username_taken(conn, &req.username, None)?
        || (!req.email.is_empty() && users::email_taken(conn, &req.email)?)
    {
        return Err(ApiError::conflict("User already exists."));
    }
    let default_org = organizations::get_default(conn)?;
    let mut orgs = Vec::new();
    for id in req.organization_ids.iter().flatten() {
        let org = if id.is_nil() {
            default_org.clone()
        } else {
            organizations::get(conn, *id)?
        };
        let org = org.ok_or_else(|| {
            ApiError::new(
                actix_web::http::StatusCode::NOT_FOUND,
                format!(
                    "Organization does not exist with the provided id {:?}.",
                    id.to_string()
                ),
            )
        })?;
        if !orgs.contains(&org.id) {
            orgs.push(org.id);
        }
    }
    let mut roles = Vec::new();
    for r in &req.roles {
        if r == authz::MEMBER {
            continue;
        }
        if authz::site_role_display(r).is_none() {
            return Err(ApiError::bad_request(format!("Role {r:?} does not exist.")));
        }
        if !subject.can(Action::Assign, Object::SiteRole { name: r }) {
            return Err(ApiError::forbidden());
        }
        if !roles.contains(r) {
            roles.push(r.clone());
        }
    }
    let id = ssh.user_id;
    users::insert(
        conn,
        &users::NewUser {
            id,
            username: &req.username,
            email: &req.email,
            name: &req.name,
            hashed_password,
            login_type: &req.login_type,
            status: req
                .user_status
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or("dormant"),
            rbac_roles: &roles,
            is_service_account: req.service_account,
            now,
        },
    )?;
    users::put_ssh_key(conn, &ssh)?;
    for org in orgs {
        organizations::add_member(
            conn,
            &organizations::MemberRow {
                organization_id: org,
                user_id: id,
                roles: vec![],
                created_at: now,
                updated_at: now,
            },
        )?;
    }
    users::get(conn, id)?.ok_or_else(|| ApiError::internal("created user vanished"))
}

/// Soft-deletes a user after Coder's checks; their keys stop working.
pub fn delete(conn: &Tx, subject: &Subject, target: &UserRow, now: Micros) -> ApiResult<()> {
    subject.require_visible(Action::Read, object(target))?;
    if subject.is(target.id) {
        return Err(ApiError::forbidden_msg("You cannot delete yourself!"));
    }
    subject.require(Action::Delete, object(target))?;
    let workspaces = crate::domain::store::workspaces::count_live_of_owner(conn, target.id)?;
    if workspaces > 0 {
        return Err(ApiError::new(
            actix_web::http::StatusCode::EXPECTATION_FAILED,
            "You cannot delete a user that has workspaces. Delete their workspaces and try again!",
        ));
    }
    api_keys::delete_all_for_user(conn, target.id)?;
    Ok(users::soft_delete(conn, target.id, now)?)
}

pub fn set_status(
    conn: &Tx,
    subject: &Subject,
    target: &UserRow,
    status: &str,
    now: Micros,
) -> ApiResult<UserRow> {
    subject.require_visible(Action::Read, object(target))?;
    subject.require(Action::Update, object(target))?;
    if status == "suspended" {
        if subject.is(target.id) {
            return Err(ApiError::bad_request("You cannot suspend yourself."));
        }
        if authz::is_administrator(&target.rbac_roles) {
            return Err(ApiError::bad_request(
                "You cannot suspend a user with the \"owner\" role. You must remove the role first.",
            ));
        }
    }
    users::set_status(conn, target.id, status, now)?;
    users::get(conn, target.id)?.ok_or_else(|| ApiError::internal("user vanished"))
}

/// Replaces a user's explicit site roles; every added or removed role must
/// be assignable by the subject.
pub fn set_roles(
    conn: &Tx,
    subject: &Subject,
    target: &UserRow,
    requested: &[String],
    now: Micros,
) -> ApiResult<UserRow> {
    subject.require_visible(Action::Read, object(target))?;
    if subject.is(target.id) {
        return Err(ApiError::bad_request("You cannot change your own roles."));
    }
    let mut roles: Vec<String> = Vec::new();
    for r in requested {
        if authz::site_role_display(r).is_none() {
            return Err(ApiError::bad_request(format!(
                "assign roles: role {r:?} does not exist"
            )));
        }
        if r != authz::MEMBER && !roles.contains(r) {
            roles.push(r.clone());
        }
    }
    let changed = roles
        .iter()
        .filter(|r| !target.rbac_roles.contains(r))
        .chain(target.rbac_roles.iter().filter(|r| !roles.contains(r)));
    for r in changed {
        subject.require(Action::Assign, Object::SiteRole { name: r })?;
    }
    users::set_roles(conn, target.id, &roles, now)?;
    users::get(conn, target.id)?.ok_or_else(|| ApiError::internal("user vanished"))
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct UpdateProfileRequest {
    pub username: String,
    pub name: String,
}

pub fn update_profile(
    conn: &Tx,
    subject: &Subject,
    target: &UserRow,
    req: &UpdateProfileRequest,
    now: Micros,
) -> ApiResult<UserRow> {
    subject.require_visible(Action::Read, object(target))?;
    subject.require_visible(Action::UpdatePersonal, object(target))?;
    let mut v = Validator::new();
    v.required("username", &req.username)
        .check(
            "username",
            "username",
            &req.username,
            names::valid_name(&req.username),
        )
        .check(
            "name",
            "user_real_name",
            &req.name,
            names::valid_full_name(&req.name),
        );
    v.finish()?;
    if req.username != target.username {
        if !subject.can(Action::Update, object(target)) && !subject.is(target.id) {
            return Err(ApiError::not_found());
        }
        if users::username_taken(conn, &req.username, Some(target.id))? {
            return Err(
                ApiError::conflict("A user with this username already exists.")
                    .validation("username", "Username is already in use"),
            );
        }
    }
    users::set_profile(conn, target.id, &req.username, &req.name, now)?;
    crate::domain::store::workspaces::rename_owner(conn, target.id, &req.username)?;
    users::get(conn, target.id)?.ok_or_else(|| ApiError::internal("user vanished"))
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct UpdatePasswordRequest {
    pub old_password: String,
    pub password: String,
}

/// Checks a password change; returns whether the old password must be
/// verified (the caller does that outside the transaction).
pub fn check_password_change(
    subject: &Subject,
    target: &UserRow,
    req: &UpdatePasswordRequest,
) -> ApiResult<PasswordChange> {
    subject.require_visible(Action::Read, object(target))?;
    subject.require(Action::UpdatePersonal, object(target))?;
    let password = Object::Password {
        user: target.id,
        of_owner: authz::is_administrator(&target.rbac_roles),
    };
    if !subject.can(Action::Update, password) {
        return Err(ApiError::bad_request(
            "Only owners can change the password of an owner.",
        ));
    }
    if target.login_type != "password" {
        return Err(ApiError::bad_request(
            "Users without password login type cannot change their password.",
        ));
    }
    let mut v = Validator::new();
    v.required("password", &req.password);
    v.finish()?;
    check_new_password(&req.password)?;
    let own = subject.is(target.id);
    if own && req.old_password.is_empty() {
        return Err(ApiError::bad_request("Old password is required."));
    }
    Ok(PasswordChange {
        user: target.id,
        verify_old: own,
    })
}

pub use crate::domain::store::users::UserRow as User;

/// Whether first-user setup is still pending (no active user yet).
pub fn setup_pending(tx: &Tx) -> ApiResult<bool> {
    Ok(users::count_active(tx)? == 0)
}

/// `{user}`, which the subject may read (404 otherwise).
pub fn get(tx: &Tx, subject: &Subject, arg: &str) -> ApiResult<Readable<UserRow>> {
    let u = resolve(tx, subject, arg)?;
    subject.visible(u)
}

/// `GET /users`: one page of the users matching `q` that the subject may
/// read.
pub fn list(
    tx: &Tx,
    subject: &Subject,
    q: UserQuery,
    page: &Page,
) -> ApiResult<sdk::GetUsersResponse> {
    let mut filter = filter(q);
    if let Some(orgs) = subject.visible_users() {
        filter.visible_ids = Some(vec![subject.user_id]);
        filter.visible_orgs = orgs;
    }
    let (rows, count) = users::list(tx, &filter, page.max_rows(), page.offset)?;
    Ok(sdk::GetUsersResponse {
        users: rows.iter().map(render).collect(),
        count,
    })
}

/// Organization id → the roles held there.
pub type OrgRoles = std::collections::BTreeMap<String, Vec<String>>;

/// `GET /users/{user}/roles`: site roles and, per organization, the
/// organization roles.
pub fn roles_of(tx: &Tx, u: &Readable<UserRow>) -> ApiResult<(Vec<String>, OrgRoles)> {
    let org_roles = organizations::memberships_of(tx, u.id)?
        .into_iter()
        .map(|(org, roles)| (org.to_string(), roles))
        .collect();
    Ok((u.rbac_roles.clone(), org_roles))
}

/// A password change the subject was allowed to make (see
/// [`check_password_change`]); only that makes one.
pub struct PasswordChange {
    user: Uuid,
    /// The subject changes their own password: the old one must match.
    pub verify_old: bool,
}

/// Stores the new password of an allowed change; a new password signs the
/// user out everywhere.
pub fn commit_password(
    tx: &Tx,
    change: &PasswordChange,
    hashed: &str,
    now: Micros,
) -> ApiResult<()> {
    users::set_password(tx, change.user, hashed, now)?;
    api_keys::delete_all_for_user(tx, change.user)?;
    Ok(())
}

fn render_ssh(k: &users::SshKeyRow) -> sdk::GitSshKey {
    sdk::GitSshKey {
        user_id: k.user_id,
        created_at: sdk::format_time(k.created_at),
        updated_at: sdk::format_time(k.updated_at),
        public_key: k.public_key.clone(),
    }
}

/// `GET /users/{user}/gitsshkey`: made on first use.
pub fn ssh_key(tx: &Tx, subject: &Subject, arg: &str, now: Micros) -> ApiResult<sdk::GitSshKey> {
    let u = get(tx, subject, arg)?;
    subject.require(Action::ReadPersonal, object(&u))?;
    let key = match users::get_ssh_key(tx, u.id)? {
        Some(k) => k,
        None => {
            let k = new_ssh_key(u.id, now)?;
            users::put_ssh_key(tx, &k)?;
            k
        }
    };
    Ok(render_ssh(&key))
}

/// `PUT /users/{user}/gitsshkey`: a new key pair.
pub fn regenerate_ssh_key(
    tx: &Tx,
    subject: &Subject,
    arg: &str,
    now: Micros,
) -> ApiResult<sdk::GitSshKey> {
    let u = get(tx, subject, arg)?;
    subject.require(Action::ReadPersonal, object(&u))?;
    let mut key = new_ssh_key(u.id, now)?;
    key.created_at = users::get_ssh_key(tx, u.id)?
        .map(|k| k.created_at)
        .unwrap_or(now);
    users::put_ssh_key(tx, &key)?;
    Ok(render_ssh(&key))
}

/// The filters of `GET /users` (and of available-users).
pub use crate::domain::store::users::UserFilter;

/// The store filter of a parsed user query.
pub fn filter(q: UserQuery) -> UserFilter {
    let micros = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp_micros());
    UserFilter {
        search: q.search,
        status: q.status,
        roles: q.roles,
        login_types: q.login_types,
        name: q.name,
        created_before: micros(q.created_before),
        created_after: micros(q.created_after),
        last_seen_before: micros(q.last_seen_before),
        last_seen_after: micros(q.last_seen_after),
        service_account: q.service_account,
        // warren has no GitHub login, so no user has a GitHub id.
        nothing: q.github_com_user_id.is_some(),
        ..UserFilter::default()
    }
}
