//! `/users` routes: first user, login and logout, user administration.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::authz::{Readable, Subject};
use crate::domain::auth;
use crate::domain::organizations;
use crate::domain::users::{self, CreateFirstUserRequest, CreateUserRequest};
use crate::error::{ApiError, ApiResult, Response, Validator};
use crate::http::csrf;
use crate::http::{self, Body, Query};
use crate::query::paging::Paging;
use crate::query::users::parse_user_query;
use crate::sdk;
use crate::App;

pub async fn first_user_status(app: web::Data<App>) -> ApiResult<HttpResponse> {
    let pending = app.db.read(users::setup_pending).await?;
    Ok(if pending {
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
    if !app.db.read(users::setup_pending).await? {
        return Err(ApiError::conflict(
            "The initial user has already been created.",
        ));
    }
    users::check_new_password(&req.password)?;
    let hashed = app.passwords.hash(req.password.clone()).await?;
    let now = app.now();
    let ssh = users::new_ssh_key(crate::domain::new_id(), now)?;
    let first = app
        .db
        .write(move |conn| users::create_first_user(conn, &req, &hashed, ssh, now))
        .await?;
    Ok(http::created(&sdk::CreateFirstUserResponse {
        user_id: first.user_id,
        organization_id: first.organization_id,
    }))
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
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
    let mut c = Cookie::build(crate::http::auth::COOKIE, token.to_string())
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
    app.login_limiter.reserve(&limiter_keys, app.now())?;
    let email = req.email.clone();
    let user = app
        .db
        .read(move |conn| auth::account_by_email(conn, &email))
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
    let (user_id, lifetime) = (user.user_id, app.config.session_duration);
    let (token, key_id) = app
        .db
        .write(move |conn| auth::open_session(conn, user_id, lifetime, now))
        .await?;
    let cookie = session_cookie(&app, &token, None);
    let csrf_token = app.csrf.token(&key_id);
    Ok(HttpResponse::Created()
        .cookie(cookie)
        .cookie(csrf::cookie(&app, Some(&csrf_token)))
        .json(sdk::LoginWithPasswordResponse {
            session_token: token,
        }))
}

pub async fn logout(app: web::Data<App>, subject: Subject) -> ApiResult<HttpResponse> {
    app.db
        .write(move |conn| auth::close_session(conn, &subject))
        .await?;
    let cookie = session_cookie(&app, "", Some(CookieDuration::seconds(-1)));
    Ok(HttpResponse::Ok()
        .cookie(cookie)
        .cookie(csrf::cookie(&app, None))
        .json(Response::message("Logged out!")))
}

/// Loads `{user}` and checks the subject may read it (404 otherwise).
async fn readable_user(
    app: &App,
    subject: &Subject,
    arg: String,
) -> ApiResult<Readable<users::User>> {
    let s = subject.clone();
    app.db.read(move |conn| users::get(conn, &s, &arg)).await
}

pub async fn get(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let u = readable_user(&app, &subject, path.into_inner()).await?;
    Ok(http::ok(&users::render(&u)))
}

pub async fn list(
    app: web::Data<App>,
    subject: Subject,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    // Coder reads `q` before the paging parameters.
    let q = Query::from_request(&req);
    let filter = parse_user_query(q.get("q").unwrap_or(""))?;
    let page = Paging::capped().parse(&q.0)?;
    let out = app
        .db
        .read(move |conn| users::list(conn, &subject, filter, &page))
        .await?;
    Ok(http::ok(&out))
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
    let ssh = users::new_ssh_key(crate::domain::new_id(), now)?;
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
    let arg = path.into_inner();
    let (roles, org_roles) = app
        .db
        .read(move |conn| {
            let u = users::get(conn, &subject, &arg)?;
            users::roles_of(conn, &u)
        })
        .await?;
    Ok(http::ok(&sdk::UserRoles {
        roles,
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
    let change = users::check_password_change(&subject, &u, &req)?;
    let (old, new, stored) = (
        req.old_password.clone(),
        req.password.clone(),
        u.hashed_password.clone(),
    );
    let [old_ok, same] = app.passwords.verify([old, new], Some(stored)).await?;
    if change.verify_old && !old_ok {
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
    app.db
        .write(move |conn| users::commit_password(conn, &change, &hashed, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn git_ssh_key(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let now = app.now();
    let key = app
        .db
        .write(move |conn| users::ssh_key(conn, &subject, &arg, now))
        .await?;
    Ok(http::ok(&key))
}

pub async fn regenerate_git_ssh_key(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let now = app.now();
    let key = app
        .db
        .write(move |conn| users::regenerate_ssh_key(conn, &subject, &arg, now))
        .await?;
    Ok(http::ok(&key))
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
