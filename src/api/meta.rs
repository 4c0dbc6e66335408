//! Deployment-level endpoints: health, build info, auth methods, site roles.

use actix_web::{web, HttpResponse};

use crate::authz::Subject;
use crate::domain::roles;
use crate::{http, sdk, App};

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("OK")
}

/// What `/buildinfo` and `/updatecheck` link to.
pub const EXTERNAL_URL: &str = "https://github.com/coder/coder";

pub async fn buildinfo(app: web::Data<App>) -> HttpResponse {
    http::ok(&sdk::BuildInfo {
        external_url: EXTERNAL_URL.into(),
        version: app.version.clone(),
        dashboard_url: app.access_url.clone(),
        telemetry: false,
        workspace_proxy: false,
        agent_api_version: "2.6".into(),
        provisioner_api_version: "1.10".into(),
        upgrade_message: String::new(),
        deployment_id: app.deployment_id.clone(),
    })
}

pub async fn auth_methods() -> HttpResponse {
    http::ok(&sdk::AuthMethods {
        password: sdk::AuthMethod { enabled: true },
        github: sdk::GithubAuthMethod {
            enabled: false,
            default_provider_configured: false,
        },
        oidc: sdk::OidcAuthMethod {
            enabled: false,
            sign_in_text: String::new(),
            icon_url: String::new(),
        },
    })
}

/// `GET /users/roles`: site roles, each marked assignable by the caller.
pub async fn site_roles(subject: Subject) -> HttpResponse {
    http::ok(&roles::site_roles(&subject))
}
