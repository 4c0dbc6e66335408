//! The route table. Every route is declared once, below, with the policy
//! that guards it; the same table registers the handlers with actix and
//! drives the route × actor authorization test (`tests/api/matrix.rs`).
//! Handlers are thin: parse the request, resolve and authorize through the
//! domain, serialize the answer.

pub mod admin;
pub mod agent_logs;
pub mod agent_reports;
pub mod agents;
pub mod authcheck;
pub mod builds;
pub mod deployment;
pub mod files;
pub mod groups;
pub mod keys;
pub mod logs;
pub mod meta;
pub mod openapi;
pub mod operations;
pub mod organizations;
pub mod ports;
pub mod quotas;
pub mod roles;
pub mod schedule;
pub mod template_acl;
pub mod templates;
pub mod user_settings;
pub mod users;
pub mod version_extras;
pub mod watch;
pub mod workspace_list;
pub mod workspaces;

use actix_web::web;

use crate::authz::Action;

/// The kind of object a route acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    User,
    ApiKey,
    Organization,
    Member,
    Group,
    /// The organization roles of the organization the path names.
    Role,
    File,
    Template,
    TemplateVersion,
    Workspace,
    WorkspaceBuild,
    WorkspaceAgent,
    /// The deployment's own settings (appearance).
    Deployment,
    /// The deployment run as a whole (diagnostics, backups).
    Operations,
}

/// How a refusal answers: Coder hides the existence of most objects (404)
/// and answers 403 where the caller can already see the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Deny {
    Hidden,
    Forbidden,
}

/// What guards a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user: the route acts on the caller itself, or lists
    /// only what the caller may read.
    SignedIn,
    /// A workspace agent, with its own token.
    Agent,
    /// `Action` on the object the path names.
    On(Resource, Action, Deny),
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub policy: Policy,
}

/// Declares the routes: registers each handler and lists it in [`ROUTES`].
/// Paths are matched in the order written (fixed segments before `{…}`).
macro_rules! routes {
    ($( $path:literal { $( $method:ident => $handler:path, $policy:expr );+ $(;)? } )*) => {
        /// Every route warren serves, in matching order.
        pub const ROUTES: &[Route] = &[
            $( $( Route { method: stringify!($method), path: $path, policy: $policy }, )+ )*
        ];

        pub fn routes(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    web::resource($path)
                        $( .route(web::method(actix_web::http::Method::$method).to($handler)) )+
                );
            )*
        }
    };
}

use Action::*;
use Deny::*;
use Policy::*;
use Resource::*;

routes! {
    "/healthz" { GET => meta::healthz, Public }
    "/readyz" { GET => operations::readyz, Public }
    "/" { GET => admin::index, Public }
    "/static/{path:.*}" { GET => admin::asset, Public }
    "/api/v2/buildinfo" { GET => meta::buildinfo, Public }
    "/api/v2/openapi.json" { GET => openapi::serve, Public }
    // warren extensions for operators.
    "/api/v2/warren/diagnostics" { GET => operations::diagnostics, On(Operations, Read, Forbidden) }
    "/api/v2/warren/backup" { POST => operations::backup, On(Operations, Read, Forbidden) }

    // Users: fixed paths before `{user}`.
    "/api/v2/users/first" {
        GET => users::first_user_status, Public;
        POST => users::create_first_user, Public;
    }
    "/api/v2/users/login" { POST => users::login, Public }
    "/api/v2/users/logout" { POST => users::logout, SignedIn }
    "/api/v2/users/authmethods" { GET => meta::auth_methods, Public }
    "/api/v2/users/validate-password" { POST => user_settings::validate_password, Public }
    "/api/v2/users/roles" { GET => meta::site_roles, SignedIn }
    "/api/v2/users" {
        GET => users::list, SignedIn;
        POST => users::create, On(User, Create, Forbidden);
    }
    "/api/v2/users/{user}" {
        GET => users::get, On(User, Read, Hidden);
        DELETE => users::delete, On(User, Delete, Forbidden);
    }
    "/api/v2/users/{user}/status/suspend" { PUT => users::suspend, On(User, Update, Forbidden) }
    "/api/v2/users/{user}/status/activate" { PUT => users::activate, On(User, Update, Forbidden) }
    "/api/v2/users/{user}/roles" {
        GET => users::roles, On(User, Read, Hidden);
        PUT => users::set_roles, On(User, Assign, Forbidden);
    }
    "/api/v2/users/{user}/profile" { PUT => users::update_profile, On(User, UpdatePersonal, Hidden) }
    "/api/v2/users/{user}/password" { PUT => users::update_password, On(User, UpdatePersonal, Forbidden) }
    "/api/v2/users/{user}/gitsshkey" {
        GET => users::git_ssh_key, On(User, ReadPersonal, Forbidden);
        PUT => users::regenerate_git_ssh_key, On(User, ReadPersonal, Forbidden);
    }
    "/api/v2/users/{user}/organizations" { GET => users::organizations, On(User, Read, Hidden) }
    "/api/v2/users/{user}/workspaces" { POST => workspaces::create_for_user, On(Workspace, Create, Forbidden) }
    "/api/v2/users/{user}/workspace/{workspacename}" {
        GET => workspaces::get_by_owner_and_name, On(Workspace, Read, Hidden)
    }
    "/api/v2/users/{user}/workspace/{workspacename}/builds/{buildnumber}" {
        GET => builds::by_number, On(WorkspaceBuild, Read, Hidden)
    }
    "/api/v2/users/{user}/organizations/{organizationname}" {
        GET => users::organization_by_name, On(User, Read, Hidden)
    }

    // API keys and tokens.
    "/api/v2/users/{user}/keys" { POST => keys::create_session_key, On(ApiKey, Create, Forbidden) }
    "/api/v2/users/{user}/keys/tokens" {
        GET => keys::list_tokens, On(ApiKey, Read, Forbidden);
        POST => keys::create_token, On(ApiKey, Create, Forbidden);
    }
    "/api/v2/users/{user}/keys/tokens/tokenconfig" { GET => keys::token_config, On(ApiKey, Read, Forbidden) }
    "/api/v2/users/{user}/keys/tokens/{keyname}" { GET => keys::token_by_name, On(ApiKey, Read, Forbidden) }
    "/api/v2/users/{user}/keys/{keyid}" {
        GET => keys::get, On(ApiKey, Read, Forbidden);
        DELETE => keys::delete, On(ApiKey, Delete, Forbidden);
    }

    "/api/v2/workspace-quota/{user}" { GET => quotas::of_user, On(User, Read, Hidden) }

    // Files.
    "/api/v2/files" { POST => files::upload, SignedIn }
    "/api/v2/files/{fileID}" { GET => files::download, On(File, Read, Hidden) }

    // Organizations and members.
    "/api/v2/organizations" {
        GET => organizations::list, SignedIn;
        POST => organizations::create, On(Organization, Create, Forbidden);
    }
    "/api/v2/organizations/{organization}" {
        GET => organizations::get, On(Organization, Read, Hidden);
        PATCH => organizations::update, On(Organization, Update, Forbidden);
        DELETE => organizations::delete, On(Organization, Delete, Forbidden);
    }
    "/api/v2/organizations/{organization}/members" { GET => organizations::members, On(Member, Read, Hidden) }
    "/api/v2/organizations/{organization}/paginated-members" {
        GET => organizations::paginated_members, On(Member, Read, Hidden)
    }
    // Organization roles; custom roles are managed by whoever may create,
    // update or delete them in the organization.
    "/api/v2/organizations/{organization}/members/roles" {
        GET => roles::list, On(Role, Read, Hidden);
        POST => roles::create, On(Role, Create, Hidden);
        PUT => roles::update, On(Role, Update, Hidden);
    }
    "/api/v2/organizations/{organization}/members/roles/{roleName}" {
        DELETE => roles::delete, On(Role, Delete, Forbidden)
    }
    "/api/v2/organizations/{organization}/members/{user}" {
        POST => organizations::add_member, On(Member, Create, Forbidden);
        DELETE => organizations::remove_member, On(Member, Delete, Forbidden);
    }
    "/api/v2/organizations/{organization}/members/{user}/roles" {
        PUT => organizations::set_member_roles, On(Member, Assign, Forbidden)
    }
    "/api/v2/organizations/{organization}/members/{user}/workspaces" {
        POST => workspaces::create_in_org, On(Workspace, Create, Forbidden)
    }
    "/api/v2/organizations/{organization}/members/{user}/workspace-quota" {
        GET => quotas::of_member, On(User, Read, Hidden)
    }
    "/api/v2/organizations/{organization}/members/{user}/workspaces/available-users" {
        GET => workspaces::available_users, On(Member, Read, Hidden)
    }

    // Templates and versions.
    "/api/v2/organizations/{organization}/templateversions" {
        POST => templates::create_version, On(TemplateVersion, Create, Forbidden)
    }
    "/api/v2/organizations/{organization}/templates/examples" {
        GET => templates::examples_in_org, On(Organization, Read, Hidden)
    }
    "/api/v2/organizations/{organization}/templates" {
        GET => templates::list_in_org, On(Organization, Read, Hidden);
        POST => templates::create, On(Template, Create, Forbidden);
    }
    "/api/v2/organizations/{organization}/templates/{templatename}" {
        GET => templates::get_by_name, On(Template, Read, Hidden)
    }
    "/api/v2/organizations/{organization}/templates/{templatename}/versions/{templateversionname}" {
        GET => templates::version_by_org_template_and_name, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/organizations/{organization}/templates/{templatename}/versions/{templateversionname}/previous" {
        GET => templates::previous_version_by_org_template_and_name, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/templates" { GET => templates::list, SignedIn }
    "/api/v2/templates/examples" { GET => templates::examples, SignedIn }
    "/api/v2/templates/{template}" {
        GET => templates::get, On(Template, Read, Hidden);
        PATCH => templates::update, On(Template, Update, Forbidden);
        DELETE => templates::delete, On(Template, Delete, Forbidden);
    }
    // Template permissions: managed by whoever may update the template.
    "/api/v2/templates/{template}/acl" {
        GET => template_acl::get, On(Template, Update, Forbidden);
        PATCH => template_acl::patch, On(Template, Update, Forbidden);
    }
    "/api/v2/templates/{template}/acl/available" {
        GET => template_acl::available, On(Template, Update, Hidden)
    }
    "/api/v2/templates/{template}/versions" {
        GET => templates::versions, On(Template, Read, Hidden);
        PATCH => templates::set_active_version, On(Template, Update, Forbidden);
    }
    "/api/v2/templates/{template}/versions/archive" {
        POST => version_extras::archive_unused, On(Template, Update, Hidden)
    }
    "/api/v2/templates/{template}/versions/{templateversionname}" {
        GET => templates::version_by_name, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/templateversions/{templateversion}" {
        GET => templates::get_version, On(TemplateVersion, Read, Hidden);
        PATCH => templates::patch_version, On(TemplateVersion, Update, Forbidden);
    }
    "/api/v2/templateversions/{templateversion}/rich-parameters" {
        GET => templates::rich_parameters, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/templateversions/{templateversion}/presets" {
        GET => templates::presets, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/templateversions/{templateversion}/variables" {
        GET => templates::variables, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/templateversions/{templateversion}/resources" {
        GET => templates::version_resources, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/templateversions/{templateversion}/logs" {
        GET => templates::version_logs, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/templateversions/{templateversion}/cancel" {
        PATCH => templates::cancel_version, On(TemplateVersion, Update, Forbidden)
    }

    // Workspaces and builds.
    "/api/v2/workspaces" { GET => workspace_list::list, SignedIn }
    "/api/v2/workspaces/watch" { GET => watch::watch_list_sse, SignedIn }
    "/api/v2/workspaces/watch-ws" { GET => watch::watch_list_ws, SignedIn }
    "/api/v2/workspaces/{workspace}/watch" { GET => watch::watch_sse, On(Workspace, Read, Hidden) }
    "/api/v2/workspaces/{workspace}/watch-ws" { GET => watch::watch_ws, On(Workspace, Read, Hidden) }
    "/api/v2/workspaces/{workspace}" {
        GET => workspaces::get, On(Workspace, Read, Hidden);
        PATCH => workspaces::rename, On(Workspace, Update, Forbidden);
    }
    "/api/v2/workspaces/{workspace}/autostart" { PUT => workspaces::autostart, On(Workspace, Update, Hidden) }
    "/api/v2/workspaces/{workspace}/ttl" { PUT => workspaces::ttl, On(Workspace, Update, Hidden) }
    "/api/v2/workspaces/{workspace}/extend" { PUT => workspaces::extend, On(Workspace, Update, Hidden) }
    "/api/v2/workspaces/{workspace}/autoupdates" { PUT => workspaces::autoupdates, On(Workspace, Update, Hidden) }
    "/api/v2/workspaces/{workspace}/dormant" { PUT => workspaces::dormant, On(Workspace, Update, Hidden) }
    "/api/v2/workspaces/{workspace}/favorite" {
        PUT => workspaces::put_favorite, On(Workspace, Favorite, Forbidden);
        DELETE => workspaces::delete_favorite, On(Workspace, Favorite, Forbidden);
    }
    "/api/v2/workspaces/{workspace}/usage" { POST => workspaces::usage, On(Workspace, Update, Forbidden) }
    "/api/v2/workspaces/{workspace}/resolve-autostart" {
        GET => workspaces::resolve_autostart, On(Workspace, Read, Hidden)
    }
    "/api/v2/workspaces/{workspace}/timings" { GET => workspaces::timings, On(Workspace, Read, Hidden) }
    // warren extension: why a workspace is on or off.
    "/api/v2/workspaces/{workspace}/schedule" { GET => schedule::explain, On(Workspace, Read, Hidden) }
    "/api/v2/workspaces/{workspace}/acl" {
        GET => workspaces::get_acl, On(Workspace, Share, Hidden);
        PATCH => workspaces::patch_acl, On(Workspace, Share, Forbidden);
        DELETE => workspaces::delete_acl, On(Workspace, Share, Forbidden);
    }
    "/api/v2/workspaces/{workspace}/builds" {
        GET => builds::list, On(Workspace, Read, Hidden);
        POST => builds::create, On(Workspace, Stop, Forbidden);
    }
    "/api/v2/workspacebuilds/{workspacebuild}" { GET => builds::get, On(WorkspaceBuild, Read, Hidden) }
    "/api/v2/workspacebuilds/{workspacebuild}/cancel" {
        PATCH => builds::cancel, On(WorkspaceBuild, Update, Hidden)
    }
    "/api/v2/workspacebuilds/{workspacebuild}/logs" { GET => builds::logs, On(WorkspaceBuild, Read, Hidden) }
    "/api/v2/workspacebuilds/{workspacebuild}/parameters" {
        GET => builds::parameters, On(WorkspaceBuild, Read, Hidden)
    }
    "/api/v2/workspacebuilds/{workspacebuild}/resources" {
        GET => builds::resources, On(WorkspaceBuild, Read, Hidden)
    }
    "/api/v2/workspacebuilds/{workspacebuild}/state" { GET => builds::state, On(Template, Update, Hidden) }
    "/api/v2/workspacebuilds/{workspacebuild}/timings" { GET => builds::timings, On(WorkspaceBuild, Read, Hidden) }

    // Agents: the agent's own API first, then agents by id.
    "/api/v2/workspaceagents/me/report-lifecycle" { POST => agents::report_lifecycle, Agent }
    "/api/v2/workspaceagents/me/startup" { POST => agents::startup, Agent }
    "/api/v2/workspaceagents/me/app-status" { PATCH => agents::app_status, Agent }
    "/api/v2/workspaceagents/me/gitsshkey" { GET => agents::git_ssh_key, Agent }
    "/api/v2/workspaceagents/{workspaceagent}" { GET => agents::get, On(WorkspaceAgent, Read, Hidden) }
    "/api/v2/workspaceagents/{workspaceagent}/token" {
        POST => agents::issue_token, On(WorkspaceAgent, Update, Forbidden)
    }

    // Groups.
    "/api/v2/organizations/{organization}/groups" {
        GET => groups::list_in_org, On(Organization, Read, Hidden);
        POST => groups::create, On(Group, Create, Forbidden);
    }
    "/api/v2/organizations/{organization}/groups/{groupname}" {
        GET => groups::get_by_name, On(Group, Read, Hidden)
    }
    "/api/v2/groups" { GET => groups::list, SignedIn }
    "/api/v2/groups/{group}" {
        GET => groups::get, On(Group, Read, Hidden);
        PATCH => groups::patch, On(Group, Update, Forbidden);
        DELETE => groups::delete, On(Group, Delete, Forbidden);
    }

    // Permission checks, the user's own settings, agent reports and
    // streams, ports, version archiving and dry runs, deployment facts.
    "/api/v2/authcheck" { POST => authcheck::check, SignedIn }
    "/api/v2/users/{user}/login-type" { GET => user_settings::login_type, On(User, ReadPersonal, Hidden) }
    "/api/v2/users/{user}/appearance" {
        GET => user_settings::appearance, On(User, ReadPersonal, Forbidden);
        PUT => user_settings::set_appearance, On(User, UpdatePersonal, Forbidden);
    }
    "/api/v2/users/{user}/autofill-parameters" {
        GET => user_settings::autofill_parameters, On(User, ReadPersonal, Forbidden)
    }
    "/api/v2/workspaceagents/me/logs" { PATCH => agent_reports::patch_logs, Agent }
    "/api/v2/workspaceagents/me/log-source" { POST => agent_reports::post_log_source, Agent }
    "/api/v2/workspaceagents/me/metadata" { POST => agent_reports::post_metadata, Agent }
    "/api/v2/workspaceagents/me/listening-ports" { POST => agent_reports::post_listening_ports, Agent }
    "/api/v2/workspaceagents/{workspaceagent}/logs" { GET => agent_logs::logs, On(WorkspaceAgent, Read, Hidden) }
    "/api/v2/workspaceagents/{workspaceagent}/watch-metadata" {
        GET => watch::watch_metadata_sse, On(WorkspaceAgent, Read, Hidden)
    }
    "/api/v2/workspaceagents/{workspaceagent}/watch-metadata-ws" {
        GET => watch::watch_metadata_ws, On(WorkspaceAgent, Read, Hidden)
    }
    "/api/v2/workspaceagents/{workspaceagent}/listening-ports" {
        GET => ports::listening_ports, On(WorkspaceAgent, Read, Hidden)
    }
    "/api/v2/workspaces/{workspace}/port-share" {
        GET => ports::list_shares, On(Workspace, Read, Hidden);
        POST => ports::upsert_share, On(Workspace, Update, Hidden);
        DELETE => ports::delete_share, On(Workspace, Update, Hidden);
    }
    "/api/v2/templateversions/{templateversion}/external-auth" {
        GET => version_extras::external_auth, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/templateversions/{templateversion}/archive" {
        POST => version_extras::archive, On(TemplateVersion, Update, Hidden)
    }
    "/api/v2/templateversions/{templateversion}/unarchive" {
        POST => version_extras::unarchive, On(TemplateVersion, Update, Hidden)
    }
    // Dry runs: reading the version, and creating (for oneself) or reading
    // and canceling the initiator's workspaces in its organization.
    "/api/v2/templateversions/{templateversion}/dry-run" {
        POST => version_extras::create_dry_run, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/templateversions/{templateversion}/dry-run/{jobID}" {
        GET => version_extras::dry_run, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/resources" {
        GET => version_extras::dry_run_resources, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/logs" {
        GET => version_extras::dry_run_logs, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/cancel" {
        PATCH => version_extras::cancel_dry_run, On(TemplateVersion, Read, Hidden)
    }
    "/api/v2/deployment/ssh" { GET => deployment::ssh_config, SignedIn }
    "/api/v2/regions" { GET => deployment::regions, SignedIn }
    "/api/v2/updatecheck" { GET => deployment::update_check, Public }
    "/api/v2/experiments" { GET => deployment::experiments, SignedIn }
    "/api/v2/experiments/available" { GET => deployment::available_experiments, SignedIn }
    "/api/v2/appearance" {
        GET => deployment::appearance, Public;
        PUT => deployment::set_appearance, On(Deployment, Update, Forbidden);
    }
    "/api/v2/entitlements" { GET => deployment::entitlements, SignedIn }
}
