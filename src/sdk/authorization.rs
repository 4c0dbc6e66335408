//! `codersdk/authorization.go`: batch permission checks.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `codersdk.AuthorizationRequest`: checks by the caller's own keys.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct AuthorizationRequest {
    pub checks: BTreeMap<String, AuthorizationCheck>,
}

/// `codersdk.AuthorizationCheck`.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct AuthorizationCheck {
    pub object: AuthorizationObject,
    pub action: String,
}

/// `codersdk.AuthorizationObject`: a set of objects of one type.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct AuthorizationObject {
    pub resource_type: String,
    /// A user id, or `me`.
    pub owner_id: String,
    pub organization_id: String,
    pub resource_id: String,
    #[serde(rename = "any_org")]
    pub any_org: bool,
}

/// `codersdk.AuthorizationResponse`: each check's key and answer.
pub type AuthorizationResponse = BTreeMap<String, bool>;
