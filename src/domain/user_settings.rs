//! A user's own settings and facts: password strength checks, login type,
//! appearance, and the parameter values to prefill from their builds.

use uuid::Uuid;

use crate::authz::{Action, Subject};
use crate::domain::names;
use crate::domain::store::users::UserRow;
use crate::domain::store::{user_settings as store, Tx};
use crate::domain::users;
use crate::error::{ApiError, ApiResult, Validator};
use crate::sdk::{self, Micros};

/// Coder's terminal fonts (`codersdk.TerminalFontName`); empty is the
/// dashboard's default.
pub const TERMINAL_FONTS: &[&str] = &[
    "",
    "ibm-plex-mono",
    "fira-code",
    "source-code-pro",
    "jetbrains-mono",
];

/// How many remembered values autofill offers at most (Coder's limit).
const AUTOFILL_LIMIT: i64 = 100;

/// `POST /users/validate-password`: the rule account creation applies.
pub fn validate_password(password: &str) -> sdk::ValidateUserPasswordResponse {
    match names::password_problem(password) {
        Some(details) => sdk::ValidateUserPasswordResponse {
            valid: false,
            details,
        },
        None => sdk::ValidateUserPasswordResponse {
            valid: true,
            details: String::new(),
        },
    }
}

/// The user `{user}` names, if the subject may read it and `action` on it;
/// a readable user the subject may not act on is refused with 403 when
/// `forbidden`, else 404.
fn personal(
    tx: &Tx,
    subject: &Subject,
    arg: &str,
    action: Action,
    forbidden: bool,
) -> ApiResult<UserRow> {
    let u = users::get(tx, subject, arg)?.into_inner();
    if forbidden {
        subject.require(action, users::object(&u))?;
    } else {
        subject.require_visible(action, users::object(&u))?;
    }
    Ok(u)
}

/// `GET /users/{user}/login-type`.
pub fn login_type(tx: &Tx, subject: &Subject, arg: &str) -> ApiResult<sdk::UserLoginType> {
    let u = personal(tx, subject, arg, Action::ReadPersonal, false)?;
    Ok(sdk::UserLoginType {
        login_type: u.login_type,
    })
}

/// `GET /users/{user}/appearance`.
pub fn appearance(tx: &Tx, subject: &Subject, arg: &str) -> ApiResult<sdk::UserAppearanceSettings> {
    let u = personal(tx, subject, arg, Action::ReadPersonal, true)?;
    let (theme_preference, terminal_font) = store::appearance(tx, u.id)?;
    Ok(sdk::UserAppearanceSettings {
        theme_preference,
        terminal_font,
    })
}

/// `PUT /users/{user}/appearance`: checked as Coder does, body first.
pub fn set_appearance(
    tx: &Tx,
    subject: &Subject,
    arg: &str,
    req: &sdk::UpdateUserAppearanceSettingsRequest,
    now: Micros,
) -> ApiResult<sdk::UserAppearanceSettings> {
    let u = users::get(tx, subject, arg)?.into_inner();
    let mut v = Validator::new();
    v.required("theme_preference", &req.theme_preference);
    v.finish()?;
    if !TERMINAL_FONTS.contains(&req.terminal_font.as_str()) {
        return Err(
            ApiError::bad_request("Unsupported font family.").validation(
                "terminal_font",
                format!(
                    "Terminal font must be one of: {}.",
                    TERMINAL_FONTS[1..].join(", ")
                ),
            ),
        );
    }
    subject.require(Action::UpdatePersonal, users::object(&u))?;
    store::set_appearance(tx, u.id, &req.theme_preference, &req.terminal_font, now)?;
    Ok(sdk::UserAppearanceSettings {
        theme_preference: req.theme_preference.clone(),
        terminal_font: req.terminal_font.clone(),
    })
}

/// `GET /users/{user}/autofill-parameters?template_id=`: the user's latest
/// value of each parameter of the template's active version.
pub fn autofill(
    tx: &Tx,
    subject: &Subject,
    arg: &str,
    template: Uuid,
) -> ApiResult<Vec<sdk::UserParameter>> {
    let u = personal(tx, subject, arg, Action::ReadPersonal, true)?;
    Ok(
        store::recent_parameters(tx, u.id, template, AUTOFILL_LIMIT)?
            .into_iter()
            .map(|(name, value)| sdk::UserParameter { name, value })
            .collect(),
    )
}
