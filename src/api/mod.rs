//! The route table. Handlers are thin: parse the request, resolve and
//! authorize through the domain modules, serialize the answer.

pub mod admin;
pub mod files;
pub mod groups;
pub mod keys;
pub mod meta;
pub mod organizations;
pub mod users;

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
