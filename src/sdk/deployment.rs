//! `codersdk/deployment.go`: facts about the deployment that clients read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Time;

/// `codersdk.SSHConfigResponse`: what `coder config-ssh` writes.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SshConfigResponse {
    /// Deprecated by Coder in favour of the suffix; still sent.
    pub hostname_prefix: String,
    pub hostname_suffix: String,
    pub ssh_config_options: BTreeMap<String, String>,
}

/// `codersdk.UpdateCheckResponse`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UpdateCheckResponse {
    pub current: bool,
    pub version: String,
    pub url: String,
}

/// `codersdk.AvailableExperiments`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AvailableExperiments {
    pub safe: Vec<String>,
}

/// `codersdk.AppearanceConfig`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AppearanceConfig {
    pub application_name: String,
    pub logo_url: String,
    pub docs_url: String,
    /// Deprecated: the first announcement banner, or a disabled one.
    pub service_banner: BannerConfig,
    pub announcement_banners: Vec<BannerConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub support_links: Vec<LinkConfig>,
}

/// `codersdk.BannerConfig`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct BannerConfig {
    pub enabled: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub background_color: String,
}

/// `codersdk.LinkConfig`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LinkConfig {
    pub name: String,
    pub target: String,
    pub icon: String,
}

/// `codersdk.UpdateAppearanceConfig`: also what warren stores.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct UpdateAppearanceConfig {
    pub application_name: String,
    pub logo_url: String,
    /// Deprecated and ignored, as Coder ignores it.
    pub service_banner: BannerConfig,
    pub announcement_banners: Vec<BannerConfig>,
}

/// `codersdk.Entitlements`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Entitlements {
    pub features: BTreeMap<&'static str, Feature>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
    pub has_license: bool,
    pub trial: bool,
    pub require_telemetry: bool,
    pub refreshed_at: Time,
}

/// `codersdk.Feature`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Feature {
    pub entitlement: &'static str,
    pub enabled: bool,
}
