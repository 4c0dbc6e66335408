//! `codersdk/apikey.go`: API keys and tokens.

use serde::Serialize;
use uuid::Uuid;

use super::AllowListEntry;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ApiKey {
    pub id: String,
    pub user_id: Uuid,
    pub last_used: String,
    pub expires_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub login_type: String,
    pub scope: String,
    pub scopes: Vec<String>,
    pub allow_list: Vec<AllowListEntry>,
    pub token_name: String,
    pub lifetime_seconds: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ApiKeyWithOwner {
    #[serde(flatten)]
    pub key: ApiKey,
    pub username: String,
}

/// `codersdk.GenerateAPIKeyResponse`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GenerateApiKeyResponse {
    pub key: String,
}

/// `codersdk.TokenConfig`: the longest lifetime a token may ask for, in
/// nanoseconds (a Go duration).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TokenConfig {
    pub max_token_lifetime: u64,
}
