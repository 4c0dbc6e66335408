//! `codersdk/users.go` (and `gitsshkey.go`): users as clients see them.

use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct SlimRole {
    pub name: String,
    pub display_name: String,
    /// Empty for site roles.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub organization_id: String,
}

/// `codersdk.MinimalUser`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MinimalUser {
    pub id: Uuid,
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub avatar_url: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ReducedUser {
    pub id: Uuid,
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub avatar_url: String,
    pub name: String,
    pub email: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_seen_at: String,
    pub status: String,
    pub login_type: String,
    pub theme_preference: String,
    pub is_service_account: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct User {
    #[serde(flatten)]
    pub reduced: ReducedUser,
    pub organization_ids: Vec<Uuid>,
    pub roles: Vec<SlimRole>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GetUsersResponse {
    pub users: Vec<User>,
    pub count: i64,
}

/// `codersdk.CreateFirstUserResponse`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CreateFirstUserResponse {
    pub user_id: Uuid,
    pub organization_id: Uuid,
}

/// `codersdk.LoginWithPasswordResponse`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LoginWithPasswordResponse {
    pub session_token: String,
}

/// `codersdk.UserRoles`: site role names and, per organization id, the
/// organization role names.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UserRoles {
    pub roles: Vec<String>,
    pub organization_roles: std::collections::BTreeMap<String, Vec<String>>,
}

/// `codersdk.GitSSHKey`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GitSshKey {
    pub user_id: Uuid,
    pub created_at: String,
    pub updated_at: String,
    pub public_key: String,
}

/// `codersdk.AuthMethods`: warren signs in with passwords only.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AuthMethods {
    pub password: AuthMethod,
    pub github: GithubAuthMethod,
    pub oidc: OidcAuthMethod,
}

/// `codersdk.AuthMethod`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AuthMethod {
    pub enabled: bool,
}

/// `codersdk.GithubAuthMethod`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GithubAuthMethod {
    pub enabled: bool,
    pub default_provider_configured: bool,
}

/// `codersdk.OIDCAuthMethod` (camel-cased keys, as Coder tags them).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OidcAuthMethod {
    pub enabled: bool,
    #[serde(rename = "signInText")]
    pub sign_in_text: String,
    #[serde(rename = "iconUrl")]
    pub icon_url: String,
}

/// `codersdk.ValidateUserPasswordRequest`.
#[derive(Debug, serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct ValidateUserPasswordRequest {
    pub password: String,
}

/// `codersdk.ValidateUserPasswordResponse`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ValidateUserPasswordResponse {
    pub valid: bool,
    pub details: String,
}

/// `codersdk.UserLoginType`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UserLoginType {
    pub login_type: String,
}

/// `codersdk.UserAppearanceSettings`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UserAppearanceSettings {
    pub theme_preference: String,
    pub terminal_font: String,
}

/// `codersdk.UpdateUserAppearanceSettingsRequest`.
#[derive(Debug, serde::Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct UpdateUserAppearanceSettingsRequest {
    pub theme_preference: String,
    pub terminal_font: String,
}

/// `codersdk.UserParameter`: a value the user gave a parameter before.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UserParameter {
    pub name: String,
    pub value: String,
}
