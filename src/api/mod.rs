//! The route table. Handlers are thin: parse the request, resolve and
//! authorize through the domain modules, serialize the answer.

pub mod admin;
pub mod agents;
pub mod builds;
pub mod files;
pub mod groups;
pub mod keys;
pub mod logs;
pub mod meta;
pub mod organizations;
pub mod templates;
pub mod users;
pub mod watch;
pub mod workspace_list;
pub mod workspaces;

use actix_web::web::{self, delete, get, patch, post, put, resource};

use crate::http;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(get().to(meta::healthz)));
    cfg.service(resource("/").route(get().to(admin::index)));
    cfg.service(resource("/static/{path:.*}").route(get().to(admin::asset)));
    cfg.service(
        web::scope("/api/v2")
            .service(resource("/buildinfo").route(get().to(meta::buildinfo)))
            // Users: fixed paths before `{user}`.
            .service(
                resource("/users/first")
                    .route(get().to(users::first_user_status))
                    .route(post().to(users::create_first_user)),
            )
            .service(resource("/users/login").route(post().to(users::login)))
            .service(resource("/users/logout").route(post().to(users::logout)))
            .service(resource("/users/authmethods").route(get().to(meta::auth_methods)))
            .service(resource("/users/roles").route(get().to(meta::site_roles)))
            .service(
                resource("/users")
                    .route(get().to(users::list))
                    .route(post().to(users::create)),
            )
            .service(
                resource("/users/{user}")
                    .route(get().to(users::get))
                    .route(delete().to(users::delete)),
            )
            .service(resource("/users/{user}/status/suspend").route(put().to(users::suspend)))
            .service(resource("/users/{user}/status/activate").route(put().to(users::activate)))
            .service(
                resource("/users/{user}/roles")
                    .route(get().to(users::roles))
                    .route(put().to(users::set_roles)),
            )
            .service(resource("/users/{user}/profile").route(put().to(users::update_profile)))
            .service(resource("/users/{user}/password").route(put().to(users::update_password)))
            .service(
                resource("/users/{user}/gitsshkey")
                    .route(get().to(users::git_ssh_key))
                    .route(put().to(users::regenerate_git_ssh_key)),
            )
            .service(resource("/users/{user}/organizations").route(get().to(users::organizations)))
            .service(
                resource("/users/{user}/workspaces").route(post().to(workspaces::create_for_user)),
            )
            .service(
                resource("/users/{user}/workspace/{workspacename}")
                    .route(get().to(workspaces::get_by_owner_and_name)),
            )
            .service(
                resource("/users/{user}/workspace/{workspacename}/builds/{buildnumber}")
                    .route(get().to(builds::by_number)),
            )
            .service(
                resource("/users/{user}/organizations/{organizationname}")
                    .route(get().to(users::organization_by_name)),
            )
            // API keys and tokens.
            .service(resource("/users/{user}/keys").route(post().to(keys::create_session_key)))
            .service(
                resource("/users/{user}/keys/tokens")
                    .route(get().to(keys::list_tokens))
                    .route(post().to(keys::create_token)),
            )
            .service(
                resource("/users/{user}/keys/tokens/tokenconfig")
                    .route(get().to(keys::token_config)),
            )
            .service(
                resource("/users/{user}/keys/tokens/{keyname}")
                    .route(get().to(keys::token_by_name)),
            )
            .service(
                resource("/users/{user}/keys/{keyid}")
                    .route(get().to(keys::get))
                    .route(delete().to(keys::delete)),
            )
            // Files.
            .service(resource("/files").route(post().to(files::upload)))
            .service(resource("/files/{fileID}").route(get().to(files::download)))
            // Organizations and members.
            .service(
                resource("/organizations")
                    .route(get().to(organizations::list))
                    .route(post().to(organizations::create)),
            )
            .service(
                resource("/organizations/{organization}")
                    .route(get().to(organizations::get))
                    .route(patch().to(organizations::update))
                    .route(delete().to(organizations::delete)),
            )
            .service(
                resource("/organizations/{organization}/members")
                    .route(get().to(organizations::members)),
            )
            .service(
                resource("/organizations/{organization}/paginated-members")
                    .route(get().to(organizations::paginated_members)),
            )
            .service(
                resource("/organizations/{organization}/members/roles")
                    .route(get().to(meta::org_roles)),
            )
            .service(
                resource("/organizations/{organization}/members/{user}")
                    .route(post().to(organizations::add_member))
                    .route(delete().to(organizations::remove_member)),
            )
            .service(
                resource("/organizations/{organization}/members/{user}/roles")
                    .route(put().to(organizations::set_member_roles)),
            )
            .service(
                resource("/organizations/{organization}/members/{user}/workspaces")
                    .route(post().to(workspaces::create_in_org)),
            )
            .service(
                resource("/organizations/{organization}/members/{user}/workspaces/available-users")
                    .route(get().to(workspaces::available_users)),
            )
            // Templates and versions.
            .service(
                resource("/organizations/{organization}/templateversions")
                    .route(post().to(templates::create_version)),
            )
            .service(
                resource("/organizations/{organization}/templates/examples")
                    .route(get().to(templates::examples_in_org)),
            )
            .service(
                resource("/organizations/{organization}/templates")
                    .route(get().to(templates::list_in_org))
                    .route(post().to(templates::create)),
            )
            .service(
                resource("/organizations/{organization}/templates/{templatename}")
                    .route(get().to(templates::get_by_name)),
            )
            .service(resource("/templates").route(get().to(templates::list)))
            .service(resource("/templates/examples").route(get().to(templates::examples)))
            .service(
                resource("/templates/{template}")
                    .route(get().to(templates::get))
                    .route(patch().to(templates::update))
                    .route(delete().to(templates::delete)),
            )
            .service(
                resource("/templates/{template}/versions")
                    .route(get().to(templates::versions))
                    .route(patch().to(templates::set_active_version)),
            )
            .service(
                resource("/templates/{template}/versions/{templateversionname}")
                    .route(get().to(templates::version_by_name)),
            )
            .service(
                resource("/templateversions/{templateversion}")
                    .route(get().to(templates::get_version))
                    .route(patch().to(templates::patch_version)),
            )
            .service(
                resource("/templateversions/{templateversion}/rich-parameters")
                    .route(get().to(templates::rich_parameters)),
            )
            .service(
                resource("/templateversions/{templateversion}/presets")
                    .route(get().to(templates::presets)),
            )
            .service(
                resource("/templateversions/{templateversion}/variables")
                    .route(get().to(templates::variables)),
            )
            .service(
                resource("/templateversions/{templateversion}/resources")
                    .route(get().to(templates::version_resources)),
            )
            .service(
                resource("/templateversions/{templateversion}/logs")
                    .route(get().to(templates::version_logs)),
            )
            .service(
                resource("/templateversions/{templateversion}/cancel")
                    .route(patch().to(templates::cancel_version)),
            )
            // Workspaces and builds.
            .service(resource("/workspaces").route(get().to(workspace_list::list)))
            .service(resource("/workspaces/watch").route(get().to(watch::watch_list_sse)))
            .service(resource("/workspaces/watch-ws").route(get().to(watch::watch_list_ws)))
            .service(resource("/workspaces/{workspace}/watch").route(get().to(watch::watch_sse)))
            .service(resource("/workspaces/{workspace}/watch-ws").route(get().to(watch::watch_ws)))
            .service(
                resource("/workspaces/{workspace}")
                    .route(get().to(workspaces::get))
                    .route(patch().to(workspaces::rename)),
            )
            .service(
                resource("/workspaces/{workspace}/autostart")
                    .route(put().to(workspaces::autostart)),
            )
            .service(resource("/workspaces/{workspace}/ttl").route(put().to(workspaces::ttl)))
            .service(resource("/workspaces/{workspace}/extend").route(put().to(workspaces::extend)))
            .service(
                resource("/workspaces/{workspace}/autoupdates")
                    .route(put().to(workspaces::autoupdates)),
            )
            .service(
                resource("/workspaces/{workspace}/dormant").route(put().to(workspaces::dormant)),
            )
            .service(
                resource("/workspaces/{workspace}/favorite")
                    .route(put().to(workspaces::put_favorite))
                    .route(delete().to(workspaces::delete_favorite)),
            )
            .service(resource("/workspaces/{workspace}/usage").route(post().to(workspaces::usage)))
            .service(
                resource("/workspaces/{workspace}/resolve-autostart")
                    .route(get().to(workspaces::resolve_autostart)),
            )
            .service(
                resource("/workspaces/{workspace}/timings").route(get().to(workspaces::timings)),
            )
            .service(
                resource("/workspaces/{workspace}/acl")
                    .route(get().to(workspaces::get_acl))
                    .route(patch().to(workspaces::patch_acl))
                    .route(delete().to(workspaces::delete_acl)),
            )
            .service(
                resource("/workspaces/{workspace}/builds")
                    .route(get().to(builds::list))
                    .route(post().to(builds::create)),
            )
            .service(resource("/workspacebuilds/{workspacebuild}").route(get().to(builds::get)))
            .service(
                resource("/workspacebuilds/{workspacebuild}/cancel")
                    .route(patch().to(builds::cancel)),
            )
            .service(
                resource("/workspacebuilds/{workspacebuild}/logs").route(get().to(builds::logs)),
            )
            .service(
                resource("/workspacebuilds/{workspacebuild}/parameters")
                    .route(get().to(builds::parameters)),
            )
            .service(
                resource("/workspacebuilds/{workspacebuild}/resources")
                    .route(get().to(builds::resources)),
            )
            .service(
                resource("/workspacebuilds/{workspacebuild}/state").route(get().to(builds::state)),
            )
            // Agents: the agent's own API first, then agents by id.
            .service(
                resource("/workspaceagents/me/report-lifecycle")
                    .route(post().to(agents::report_lifecycle)),
            )
            .service(resource("/workspaceagents/me/startup").route(post().to(agents::startup)))
            .service(
                resource("/workspaceagents/me/app-status").route(patch().to(agents::app_status)),
            )
            .service(resource("/workspaceagents/me/gitsshkey").route(get().to(agents::git_ssh_key)))
            .service(resource("/workspaceagents/{workspaceagent}").route(get().to(agents::get)))
            .service(
                resource("/workspaceagents/{workspaceagent}/token")
                    .route(post().to(agents::issue_token)),
            )
            // Groups.
            .service(
                resource("/organizations/{organization}/groups")
                    .route(get().to(groups::list_in_org))
                    .route(post().to(groups::create)),
            )
            .service(
                resource("/organizations/{organization}/groups/{groupname}")
                    .route(get().to(groups::get_by_name)),
            )
            .service(resource("/groups").route(get().to(groups::list)))
            .service(
                resource("/groups/{group}")
                    .route(get().to(groups::get))
                    .route(patch().to(groups::patch))
                    .route(delete().to(groups::delete)),
            )
            .default_service(web::to(http::route_not_found)),
    );
}
