//! `/users` routes: first user, login and logout, user administration.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::authz::{Action, Subject};
use crate::domain::auth;
use crate::domain::organizations;
use crate::domain::store::{api_keys, users as store};
use crate::domain::users::{self, CreateFirstUserRequest, CreateUserRequest};
use crate::error::{ApiError, ApiResult, Response, Validation, Validator};
use crate::http::csrf;
use crate::http::{self, pagination, Body, Query};
use crate::sdk;
use crate::App;

pub async fn first_user_status(app: web::Data<App>) -> ApiResult<HttpResponse> {
    let n = app.db.read(|tx| Ok(store::count_active(tx)?)).await?;
    Ok(if n == 0 {
        http::message(
            StatusCode::NOT_FOUND,
            "The initial user has not been created!",
        )
    } else {
        http::message(StatusCode::OK, "The initial user has already been created!")
    })
}

pub async fn create_first_user(
    app: web::Data<App>,
    Body(req): Body<CreateFirstUserRequest>,
) -> ApiResult<HttpResponse> {
    users::validate_first_user_fields(&req)?;
    if app.db.read(|tx| Ok(store::count_active(tx)?)).await? > 0 {
        return Err(ApiError::conflict(
            "The initial user has already been created.",
        ));
    }
    users::check_new_password(&req.password)?;
    let hashed = app.passwords.hash(req.password.clone()).await?;
    let now = app.now();
    let ssh = users::new_ssh_key(uuid::Uuid::new_v4(), now)?;
    let first = app
        .db
        .write(move |conn| users::create_first_user(conn, &req, &hashed, ssh, now))
        .await?;
    Ok(http::created(&sdk::CreateFirstUserResponse {
        user_id: first.user_id,
        organization_id: first.organization_id,
    }))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LoginRequest {
    email: String,
    password: String,
}

fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

pub fn session_cookie(app: &App, token: &str, max_age: Option<CookieDuration>) -> Cookie<'static> {
    let mut c = Cookie::build(auth::COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(app.access_url.starts_with("https://"))
        .finish();
    if let Some(age) = max_age {
        c.set_max_age(age);
    }
    c
}

pub async fn login(
    app: web::Data<App>,
    http_req: HttpRequest,
    Body(req): Body<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validator::new();
    v.required("email", &req.email)
        .check(
            "email",
            "email",
            &req.email,
            crate::domain::names::valid_email(&req.email),
        )
        .required("password", &req.password);
    v.finish()?;
    let limiter_keys = auth::LoginLimiter::keys(&req.email, &client_address(&http_req));
    // The attempt is counted before the password is checked, so a parallel
    // flood gets no more checks than the limit.
    app.login_limiter.reserve(&limiter_keys)?;
    let email = req.email.clone();
    let user = app
        .db
        .read(move |conn| Ok(store::get_by_email(conn, &email)?))
        .await;
    let user = match user {
        Ok(u) => u,
        Err(e) => {
            app.login_limiter.release(&limiter_keys);
            return Err(e);
        }
    };
    let stored = user
        .as_ref()
        .map(|u| u.hashed_password.clone())
        .filter(|h| !h.is_empty());
    // Verified even when there is no such user, so both failures cost the
    // same.
    let ok = match app.passwords.verify([req.password.clone()], stored).await {
        Ok([ok]) => ok,
        Err(e) => {
            // Never checked (the server is busy): the attempt is not spent.
            app.login_limiter.release(&limiter_keys);
            return Err(e);
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Incorrect email or password.",
        ));
    };
    app.login_limiter.succeed(&limiter_keys);
    if user.login_type != "password" {
        return Err(ApiError::forbidden_msg(format!(
            "Incorrect login type, attempting to use \"password\" but user is of login type {:?}",
            user.login_type
        )));
    }
    if user.status == "suspended" {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Your account is suspended. Contact an admin to reactivate your account.",
        ));
    }
    let now = app.now();
    let key = auth::new_key(
        user.id,
        "password",
        app.config.session_duration,
        "",
        vec!["coder:all".into()],
        vec![sdk::AllowListEntry {
            kind: "*".into(),
            id: "*".into(),
        }],
        now,
    );
    let row = key.row.clone();
    app.db
        .write(move |conn| {
            api_keys::insert(conn, &row)?;
            Ok(store::touch_last_seen(conn, row.user_id, now)?)
        })
        .await?;
    let cookie = session_cookie(&app, &key.token, None);
    let csrf_token = app.csrf.token(&key.row.id);
    Ok(HttpResponse::Created()
        .cookie(cookie)
        .cookie(csrf::cookie(&app, Some(&csrf_token)))
        .json(sdk::LoginWithPasswordResponse {
            session_token: key.token,
        }))
}

pub async fn logout(app: web::Data<App>, subject: Subject) -> ApiResult<HttpResponse> {
    let key = subject.key_id.clone();
    app.db
        .write(move |conn| Ok(api_keys::delete(conn, &key)?))
        .await?;
    let cookie = session_cookie(&app, "", Some(CookieDuration::seconds(-1)));
    Ok(HttpResponse::Ok()
        .cookie(cookie)
        .cookie(csrf::cookie(&app, None))
        .json(Response::message("Logged out!")))
}

/// Loads `{user}` and checks the subject may read it (404 otherwise).
async fn readable_user(app: &App, subject: &Subject, arg: String) -> ApiResult<store::UserRow> {
    let s = subject.clone();
    app.db
        .read(move |conn| {
            let u = users::resolve(conn, &s, &arg)?;
            s.require_visible(Action::Read, users::object(&u))?;
            Ok(u)
        })
        .await
}

pub async fn get(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let u = readable_user(&app, &subject, path.into_inner()).await?;
    Ok(http::ok(&users::render(&u)))
}

/// Parses the `q` of `GET /users`.
pub fn user_filter(q: &str) -> ApiResult<store::UserFilter> {
    let mut f = store::UserFilter::default();
    let mut bad = Vec::new();
    let mut free = Vec::new();
    for term in split_terms(q) {
        let Some((key, value)) = term.split_once(':') else {
            free.push(term);
            continue;
        };
        let values: Vec<String> = value.split(',').map(|s| s.to_string()).collect();
        let time = |bad: &mut Vec<Validation>| -> Option<sdk::Micros> {
            let parsed = chrono::DateTime::parse_from_rfc3339(value)
                .map(|t| t.timestamp_micros())
                .ok()
                .or_else(|| {
                    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|d| d.and_utc().timestamp_micros())
                });
            if parsed.is_none() {
                bad.push(Validation {
                    field: key.to_string(),
                    detail: format!("Query param {key:?} must be a valid date format (2006-01-02T15:04:05Z07:00): parsing time {value:?}"),
                });
            }
            parsed
        };
        match key {
            "status" => {
                for s in &values {
                    if !matches!(s.as_str(), "active" | "dormant" | "suspended") {
                        bad.push(Validation {
                            field: "status".into(),
                            detail: format!("Query param \"status\" has invalid value: {s:?} is not a valid user status"),
                        });
                    }
                }
                f.status.extend(values);
            }
            "role" => f.roles.extend(values),
            "login_type" => f.login_types.extend(values),
            "name" => f.name = Some(value.to_string()),
            "created_before" => f.created_before = time(&mut bad),
            "created_after" => f.created_after = time(&mut bad),
            "last_seen_before" => f.last_seen_before = time(&mut bad),
            "last_seen_after" => f.last_seen_after = time(&mut bad),
            "service_account" => match value {
                "true" => f.service_account = Some(true),
                "false" => f.service_account = Some(false),
                _ => bad.push(Validation {
                    field: "service_account".into(),
                    detail: format!(
                        "Query param \"service_account\" must be a valid boolean: {value:?}"
                    ),
                }),
            },
            _ => bad.push(Validation {
                field: key.to_string(),
                detail: format!("Query param {key:?} is not a valid query param"),
            }),
        }
    }
    if !bad.is_empty() {
        return Err(ApiError::bad_request("Invalid user search query.").with_validations(bad));
    }
    if !free.is_empty() {
        f.search = Some(free.join(" "));
    }
    Ok(f)
}

/// Splits a search string on spaces, keeping double-quoted runs together.
pub fn split_terms(q: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in q.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    terms.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        terms.push(cur);
    }
    terms
}

pub async fn list(
    app: web::Data<App>,
    subject: Subject,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let q = Query::from_request(&req);
    let (limit, offset) = pagination(&q)?;
    let mut filter = user_filter(q.get("q").unwrap_or(""))?;
    if let Some(orgs) = subject.visible_users() {
        filter.visible_ids = Some(vec![subject.user_id]);
        filter.visible_orgs = orgs;
    }
    let (rows, count) = app
        .db
        .read(move |conn| Ok(store::list(conn, &filter, limit, offset)?))
        .await?;
    Ok(http::ok(&sdk::GetUsersResponse {
        users: rows.iter().map(users::render).collect(),
        count,
    }))
}

pub async fn create(
    app: web::Data<App>,
    subject: Subject,
    Body(mut req): Body<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    users::validate_create(&mut req)?;
    let hashed = if req.login_type == "password" {
        app.passwords.hash(req.password.clone()).await?
    } else {
        String::new()
    };
    let now = app.now();
    let ssh = users::new_ssh_key(uuid::Uuid::new_v4(), now)?;
    let user = app
        .db
        .write(move |conn| users::create_user(conn, &subject, &req, &hashed, ssh, now))
        .await?;
    Ok(http::created(&users::render(&user)))
}

pub async fn delete(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let now = app.now();
    app.db
        .write(move |conn| {
            let u = users::resolve(conn, &subject, &arg)?;
            users::delete(conn, &subject, &u, now)
        })
        .await?;
    Ok(http::message(StatusCode::OK, "User has been deleted!"))
}

async fn set_status(
    app: &App,
    subject: Subject,
    arg: String,
    status: &'static str,
) -> ApiResult<HttpResponse> {
    let now = app.now();
    let u = app
        .db
        .write(move |conn| {
            let u = users::resolve(conn, &subject, &arg)?;
            users::set_status(conn, &subject, &u, status, now)
        })
        .await?;
    Ok(http::ok(&users::render(&u)))
}

pub async fn suspend(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    set_status(&app, subject, path.into_inner(), "suspended").await
}

pub async fn activate(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    set_status(&app, subject, path.into_inner(), "active").await
}

pub async fn roles(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let u = readable_user(&app, &subject, path.into_inner()).await?;
    let id = u.id;
    let memberships = app
        .db
        .read(move |conn| {
            Ok(crate::domain::store::organizations::memberships_of(
                conn, id,
            )?)
        })
        .await?;
    let org_roles: BTreeMap<String, Vec<String>> = memberships
        .into_iter()
        .map(|(org, roles)| (org.to_string(), roles))
        .collect();
    Ok(http::ok(&sdk::UserRoles {
        roles: u.rbac_roles,
        organization_roles: org_roles,
    }))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct UpdateRolesRequest {
    roles: Vec<String>,
}

pub async fn set_roles(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<UpdateRolesRequest>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let now = app.now();
    let u = app
        .db
        .write(move |conn| {
            let u = users::resolve(conn, &subject, &arg)?;
            users::set_roles(conn, &subject, &u, &req.roles, now)
        })
        .await?;
    Ok(http::ok(&users::render(&u)))
}

pub async fn update_profile(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<users::UpdateProfileRequest>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let now = app.now();
    let u = app
        .db
        .write(move |conn| {
            let u = users::resolve(conn, &subject, &arg)?;
            users::update_profile(conn, &subject, &u, &req, now)
        })
        .await?;
    Ok(http::ok(&users::render(&u)))
}

pub async fn update_password(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    Body(req): Body<users::UpdatePasswordRequest>,
) -> ApiResult<HttpResponse> {
    let u = readable_user(&app, &subject, path.into_inner()).await?;
    let verify_old = users::check_password_change(&subject, &u, &req)?;
    let (old, new, stored) = (
        req.old_password.clone(),
        req.password.clone(),
        u.hashed_password.clone(),
    );
    let [old_ok, same] = app.passwords.verify([old, new], Some(stored)).await?;
    if verify_old && !old_ok {
        return Err(ApiError::bad_request("Old password is incorrect.")
            .validation("old_password", "Old password is incorrect."));
    }
    if same {
        return Err(ApiError::bad_request(
            "New password cannot match old password.",
        ));
    }
    let hashed = app.passwords.hash(req.password).await?;
    let now = app.now();
    let id = u.id;
    app.db
        .write(move |conn| {
            store::set_password(conn, id, &hashed, now)?;
            // A new password signs the user out everywhere.
            Ok(api_keys::delete_all_for_user(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn render_ssh(k: &store::SshKeyRow) -> sdk::GitSshKey {
    sdk::GitSshKey {
        user_id: k.user_id,
        created_at: sdk::format_time(k.created_at),
        updated_at: sdk::format_time(k.updated_at),
        public_key: k.public_key.clone(),
    }
}

pub async fn git_ssh_key(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let u = readable_user(&app, &subject, path.into_inner()).await?;
    subject.require(Action::ReadPersonal, users::object(&u))?;
    let id = u.id;
    let now = app.now();
    let key = app
        .db
        .write(move |conn| match store::get_ssh_key(conn, id)? {
            Some(k) => Ok(k),
            None => {
                let k = users::new_ssh_key(id, now)?;
                store::put_ssh_key(conn, &k)?;
                Ok(k)
            }
        })
        .await?;
    Ok(http::ok(&render_ssh(&key)))
}

pub async fn regenerate_git_ssh_key(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let u = readable_user(&app, &subject, path.into_inner()).await?;
    subject.require(Action::ReadPersonal, users::object(&u))?;
    let now = app.now();
    let mut key = users::new_ssh_key(u.id, now)?;
    let id = u.id;
    let created = app
        .db
        .read(move |conn| Ok(store::get_ssh_key(conn, id)?))
        .await?
        .map(|k| k.created_at)
        .unwrap_or(now);
    key.created_at = created;
    let stored = key.clone();
    app.db
        .write(move |conn| Ok(store::put_ssh_key(conn, &stored)?))
        .await?;
    Ok(http::ok(&render_ssh(&key)))
}

pub async fn organizations(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let u = readable_user(&app, &subject, path.into_inner()).await?;
    let orgs = app
        .db
        .read(move |conn| organizations::of_user(conn, &subject, &u))
        .await?;
    let out: Vec<_> = orgs.iter().map(organizations::render).collect();
    Ok(http::ok(&out))
}

pub async fn organization_by_name(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (arg, name) = path.into_inner();
    let u = readable_user(&app, &subject, arg).await?;
    let orgs = app
        .db
        .read(move |conn| organizations::of_user(conn, &subject, &u))
        .await?;
    let org = orgs
        .iter()
        .find(|o| o.name.eq_ignore_ascii_case(&name))
        .ok_or_else(ApiError::not_found)?;
    Ok(http::ok(&organizations::render(org)))
}

/// Go's `time.Duration` rendering (`168h0m0s`), used in Coder's messages.
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}h{}m{}s", s / 3600, (s % 3600) / 60, s % 60)
}
