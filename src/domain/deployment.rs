//! Facts about the deployment that Coder's clients read at start: SSH
//! configuration, regions, update check, experiments, appearance (which
//! owners change) and entitlements. None needs a network call.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::authz::{Action, Object, Subject};
use crate::config::CODER_VERSION;
use crate::domain::store::{get_setting, set_setting, Tx};
use crate::error::{ApiError, ApiResult};
use crate::sdk::{self, Micros, Time};

/// Where the stored appearance lives in `settings`.
const APPEARANCE_SETTING: &str = "appearance";

/// `GET /deployment/ssh`: Coder's defaults (`--ssh-hostname-prefix`,
/// `--workspace-hostname-suffix`), no extra options.
pub fn ssh_config() -> sdk::SshConfigResponse {
    sdk::SshConfigResponse {
        hostname_prefix: "coder.".into(),
        hostname_suffix: "coder".into(),
        ssh_config_options: BTreeMap::new(),
    }
}

/// `GET /regions`: the deployment is the one, primary, region, with
/// Coder's default proxy name and icon.
pub fn regions(deployment_id: &str, access_url: &str) -> sdk::RegionsResponse {
    sdk::RegionsResponse {
        regions: vec![sdk::Region {
            id: Uuid::parse_str(deployment_id).unwrap_or_default(),
            name: "primary".into(),
            display_name: "Default".into(),
            icon_url: "/emojis/1f3e1.png".into(),
            healthy: true,
            path_app_url: access_url.into(),
            wildcard_hostname: String::new(),
        }],
    }
}

/// `GET /updatecheck`: warren never asks the network, so the running
/// version is reported as current (Coder's answer with update checks off).
pub fn update_check(version: &str, external_url: &str) -> sdk::UpdateCheckResponse {
    sdk::UpdateCheckResponse {
        current: true,
        version: version.into(),
        url: external_url.into(),
    }
}

/// `GET /experiments`: none enabled.
pub fn experiments() -> Vec<String> {
    Vec::new()
}

/// `GET /experiments/available`: none offered.
pub fn available_experiments() -> sdk::AvailableExperiments {
    sdk::AvailableExperiments { safe: Vec::new() }
}

/// Coder's documentation for the version warren speaks.
pub fn docs_url() -> String {
    format!("https://coder.com/docs/@{CODER_VERSION}")
}

fn stored_appearance(tx: &Tx) -> ApiResult<sdk::UpdateAppearanceConfig> {
    Ok(match get_setting(tx, APPEARANCE_SETTING)? {
        Some(json) => serde_json::from_str(&json)?,
        None => sdk::UpdateAppearanceConfig::default(),
    })
}

/// `GET /appearance`: what owners set, Coder's documentation link.
pub fn appearance(tx: &Tx) -> ApiResult<sdk::AppearanceConfig> {
    let a = stored_appearance(tx)?;
    let docs = docs_url();
    Ok(sdk::AppearanceConfig {
        application_name: a.application_name,
        logo_url: a.logo_url,
        service_banner: a.announcement_banners.first().cloned().unwrap_or_default(),
        announcement_banners: a.announcement_banners,
        support_links: vec![sdk::LinkConfig {
            name: "Documentation".into(),
            target: docs.clone(),
            icon: "docs".into(),
        }],
        docs_url: docs,
    })
}

/// Coder's check of a banner colour: `#` and six hex digits.
fn hex_color_problem(color: &str) -> Option<&'static str> {
    if color.len() != 7 {
        return Some("expected # prefix and 6 characters");
    }
    if !color.starts_with('#') {
        return Some("no # prefix");
    }
    if !color[1..].chars().all(|c| c.is_ascii_hexdigit()) {
        return Some("encoding/hex: invalid byte");
    }
    None
}

/// `PUT /appearance`: owners only; stored whole, echoed as Coder echoes it.
pub fn set_appearance(
    tx: &Tx,
    subject: &Subject,
    req: sdk::UpdateAppearanceConfig,
) -> ApiResult<sdk::UpdateAppearanceConfig> {
    if !subject.can(Action::Update, Object::DeploymentConfig) {
        return Err(ApiError::forbidden_msg(
            "Insufficient permissions to update appearance",
        ));
    }
    for (i, b) in req.announcement_banners.iter().enumerate() {
        if let Some(problem) = hex_color_problem(&b.background_color) {
            return Err(ApiError::bad_request(format!(
                "Invalid color format: {:?}",
                b.background_color
            ))
            .detail(problem)
            .validation(
                format!("announcement_banners[{i}].background_color"),
                problem,
            ));
        }
    }
    let stored = sdk::UpdateAppearanceConfig {
        service_banner: sdk::BannerConfig::default(),
        ..req.clone()
    };
    set_setting(tx, APPEARANCE_SETTING, &serde_json::to_string(&stored)?)?;
    Ok(req)
}

/// Coder's features, and whether warren does what each stands for.
const FEATURES: &[(&str, bool)] = &[
    ("access_control", false),
    ("advanced_template_scheduling", true),
    ("appearance", true),
    ("audit_log", false),
    ("browser_only", false),
    ("control_shared_ports", true),
    ("custom_roles", false),
    ("external_provisioner_daemons", false),
    ("external_token_encryption", false),
    ("high_availability", false),
    ("multiple_external_auth", false),
    ("multiple_organizations", true),
    ("scim", false),
    ("template_rbac", true),
    ("user_limit", false),
    ("user_role_management", false),
    ("workspace_batch_actions", true),
    ("workspace_prebuilds", false),
    ("workspace_proxy", false),
];

/// `GET /entitlements`: what warren offers, granted without a license.
pub fn entitlements(now: Micros) -> sdk::Entitlements {
    sdk::Entitlements {
        features: FEATURES
            .iter()
            .map(|(name, offered)| {
                (
                    *name,
                    sdk::Feature {
                        entitlement: if *offered { "entitled" } else { "not_entitled" },
                        enabled: *offered,
                    },
                )
            })
            .collect(),
        warnings: Vec::new(),
        errors: Vec::new(),
        has_license: false,
        trial: false,
        require_telemetry: false,
        refreshed_at: Time(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_colours_are_checked_as_coder_checks_them() {
        assert_eq!(hex_color_problem("#00ff7A"), None);
        assert_eq!(
            hex_color_problem("red"),
            Some("expected # prefix and 6 characters")
        );
        assert_eq!(hex_color_problem("0000ff0"), Some("no # prefix"));
        assert!(hex_color_problem("#00gg00").is_some());
        assert!(hex_color_problem("").is_some());
    }
}
