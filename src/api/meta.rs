//! Deployment-level endpoints: health, build info, auth methods, role lists.

use actix_web::{web, HttpResponse};

use crate::authz::{self, Action, Object, Subject};
use crate::domain::organizations;
use crate::error::ApiResult;
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

fn role(name: &str, display: &str, org: String, assignable: bool) -> sdk::AssignableRoles {
    sdk::AssignableRoles {
        name: name.into(),
        display_name: display.into(),
        organization_id: org,
        site_permissions: vec![],
        organization_permissions: vec![],
        user_permissions: vec![],
        organization_member_permissions: vec![],
        assignable,
        built_in: true,
    }
}

/// `GET /users/roles`: site roles, each marked assignable by the caller.
pub async fn site_roles(subject: Subject) -> HttpResponse {
    let roles: Vec<_> = authz::SITE_ROLES
        .iter()
        .map(|(name, display)| {
            role(
                name,
                display,
                String::new(),
                subject.can(Action::Assign, Object::SiteRole { name }),
            )
        })
        .collect();
    http::ok(&roles)
}

/// `GET /organizations/{organization}/members/roles`.
pub async fn org_roles(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let arg = path.into_inner();
    let s = subject.clone();
    let org = app
        .db
        .read(move |conn| organizations::resolve(conn, &s, &arg))
        .await?;
    let roles: Vec<_> = authz::ORG_ROLES
        .iter()
        .map(|(name, display)| {
            role(
                name,
                display,
                org.id.to_string(),
                subject.can(Action::Assign, Object::OrgRole { org: org.id, name }),
            )
        })
        .collect();
    Ok(http::ok(&roles))
}
