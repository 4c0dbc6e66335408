//! The OpenAPI 3.1 document of the API, served at `/api/v2/openapi.json`.
//!
//! Paths, methods, path parameters and who may call each route come from
//! the route table ([`ROUTES`]); what a route takes and answers comes from
//! [`describe`], whose schemas are generated (schemars) from the very types
//! the handlers decode and serialize: Coder's wire types in `sdk`, the
//! request bodies, and the error body. A route of the table that
//! [`describe`] lacks is still listed, and fails `tests/api/openapi.rs`;
//! the same test checks every recorded success body, and every recorded
//! stream event, against its schema (streams: `x-events`,
//! `x-websocket-message`, see [`Op`]).

use actix_web::{web, HttpResponse};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::{Policy, Route, ROUTES};
use crate::api::{agents, organizations as orgs, templates as tpl, users as usr, workspaces as ws};
use crate::domain::{builds, groups, keys, organizations, sharing, templates, users, workspaces};
use crate::error::Response;
use crate::{sdk, App};

type Generate = fn(&mut SchemaGenerator) -> Schema;

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// A body, in a request or a success answer.
#[derive(Clone, Copy)]
pub enum Body {
    None,
    Json(Generate),
    /// Bytes of these content types (an archive, a database, a page).
    Bytes(&'static [&'static str]),
    /// Server-sent events.
    Events,
}

fn json<T: JsonSchema>() -> Body {
    Body::Json(schema::<T>)
}

const TEXT: Body = Body::Bytes(&["text/plain"]);
const MESSAGE: Body = Body::Json(schema::<Response>);

/// What one route takes and answers.
#[derive(Clone, Copy)]
pub struct Op {
    pub summary: &'static str,
    pub request: Body,
    pub status: u16,
    pub response: Body,
    /// Other answers that are not errors (304 Not Modified, 200 for an
    /// upload already stored, 101 for a WebSocket).
    pub also: &'static [u16],
    /// Query parameters: (name, description).
    pub query: &'static [(&'static str, &'static str)],
    /// A watch stream's events: each kind (an SSE `event:` name, or the
    /// `type` of a WebSocket message `{"type","data"}`) and its data's
    /// schema. The document gives them as `x-events`.
    pub events: &'static [(&'static str, Generate)],
    /// The schema of each text message of a followed WebSocket (`follow`
    /// of a logs route), given as `x-websocket-message`.
    pub messages: Option<Generate>,
}

fn op(summary: &'static str, status: u16, response: Body) -> Op {
    Op {
        summary,
        request: Body::None,
        status,
        response,
        also: &[],
        query: &[],
        events: &[],
        messages: None,
    }
}

impl Op {
    fn body<T: JsonSchema>(mut self) -> Op {
        self.request = json::<T>();
        self
    }

    fn also(mut self, also: &'static [u16]) -> Op {
        self.also = also;
        self
    }

    fn query(mut self, query: &'static [(&'static str, &'static str)]) -> Op {
        self.query = query;
        self
    }

    fn events(mut self, events: &'static [(&'static str, Generate)]) -> Op {
        self.events = events;
        self
    }

    /// A logs route that, with `follow`, upgrades to a WebSocket sending
    /// `T`s.
    fn follows<T: JsonSchema>(mut self) -> Op {
        self.messages = Some(schema::<T>);
        self.also(&[101])
    }
}

const PAGE: &[(&str, &str)] = &[
    ("limit", "Page size."),
    ("offset", "Rows to skip."),
    ("after_id", "Start after this id."),
];
const SEARCH_PAGE: &[(&str, &str)] = &[
    ("q", "Search query, Coder's syntax."),
    ("limit", "Page size."),
    ("offset", "Rows to skip."),
    ("after_id", "Start after this id."),
];
/// A provisioner job's logs (builds, imports, dry runs).
const JOB_LOGS: &[(&str, &str)] = &[
    ("after", "Only logs after this log id."),
    (
        "follow",
        "Stream new logs over a WebSocket, one log a message.",
    ),
];
/// An agent's logs.
const AGENT_LOGS: &[(&str, &str)] = &[
    ("after", "Only logs after this log id."),
    ("before", "Only logs before this log id."),
    (
        "follow",
        "Stream new logs over a WebSocket, an array of logs a message.",
    ),
];
/// A JSON `null`: the body of an agent's log upload, as Coder answers.
fn null(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "null"})
}
/// A JSON string: what archiving a version answers, as Coder.
fn string(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "string"})
}
/// Events of a workspace's watch stream.
const WORKSPACE_EVENTS: &[(&str, Generate)] = &[
    ("data", schema::<sdk::Workspace>),
    ("error", schema::<Response>),
    ("ping", null),
];
/// Events of the workspace list's watch stream (warren extension).
const LIST_EVENTS: &[(&str, Generate)] = &[
    ("workspaces", schema::<sdk::WorkspacesResponse>),
    ("workspace", schema::<sdk::WorkspaceListChange>),
    ("error", schema::<Response>),
    ("ping", null),
];
/// Events of an agent's metadata watch stream.
const METADATA_EVENTS: &[(&str, Generate)] = &[
    ("data", schema::<Vec<sdk::WorkspaceAgentMetadata>>),
    ("error", schema::<Response>),
    ("ping", null),
];
const DELETED: &[(&str, &str)] = &[("include_deleted", "Also find a deleted workspace.")];

/// What `method path` of the route table takes and answers.
pub fn describe(method: &str, path: &str) -> Option<Op> {
    use sdk::*;
    Some(match (method, path) {
        ("GET", "/healthz") => op("Liveness: the process answers", 200, TEXT),
        ("GET", "/readyz") => op(
            "Readiness: the database answers and the background workers live",
            200,
            TEXT,
        ),
        ("GET", "/") => op("The dashboard", 200, Body::Bytes(&["text/html"])),
        ("GET", "/static/{path:.*}") => {
            op("A dashboard asset", 200, Body::Bytes(&["*/*"])).also(&[304])
        }
        ("GET", "/api/v2/buildinfo") => op("Build information", 200, json::<BuildInfo>()),
        ("GET", "/api/v2/openapi.json") => {
            op("This document", 200, Body::Json(|_| schemars::json_schema!({"type": "object"})))
        }
        ("GET", "/api/v2/warren/diagnostics") => op(
            "Diagnostics for a bug report (owners; warren extension)",
            200,
            json::<Diagnostics>(),
        ),
        ("POST", "/api/v2/warren/backup") => op(
            "A consistent copy of the database (owners; warren extension)",
            200,
            Body::Bytes(&["application/vnd.sqlite3"]),
        ),
        ("GET", "/api/v2/users/first") => op("Whether setup is done", 200, MESSAGE),
        ("POST", "/api/v2/users/first") => op("Create the first user (the owner)", 201, json::<CreateFirstUserResponse>())
            .body::<users::CreateFirstUserRequest>(),
        ("POST", "/api/v2/users/login") => {
            op("Log in with a password", 201, json::<LoginWithPasswordResponse>())
                .body::<usr::LoginRequest>()
        }
        ("POST", "/api/v2/users/logout") => op("Log out", 200, MESSAGE),
        ("GET", "/api/v2/users/authmethods") => op("Login methods", 200, json::<AuthMethods>()),
        ("GET", "/api/v2/users/roles") => {
            op("Site roles", 200, json::<Vec<AssignableRoles>>())
        }
        ("GET", "/api/v2/users") => {
            op("Users", 200, json::<GetUsersResponse>()).query(SEARCH_PAGE)
        }
        ("POST", "/api/v2/users") => {
            op("Create a user", 201, json::<User>()).body::<users::CreateUserRequest>()
        }
        ("GET", "/api/v2/users/{user}") => op("A user", 200, json::<User>()),
        ("DELETE", "/api/v2/users/{user}") => op("Delete a user", 200, MESSAGE),
        ("PUT", "/api/v2/users/{user}/status/suspend") => {
            op("Suspend a user", 200, json::<User>())
        }
        ("PUT", "/api/v2/users/{user}/status/activate") => {
            op("Activate a user", 200, json::<User>())
        }
        ("GET", "/api/v2/users/{user}/roles") => op("A user's roles", 200, json::<UserRoles>()),
        ("PUT", "/api/v2/users/{user}/roles") => op("Set a user's site roles", 200, json::<User>())
            .body::<orgs::UpdateRolesRequest>(),
        ("PUT", "/api/v2/users/{user}/profile") => {
            op("Update a profile", 200, json::<User>()).body::<users::UpdateProfileRequest>()
        }
        ("PUT", "/api/v2/users/{user}/password") => {
            op("Change a password", 204, Body::None).body::<users::UpdatePasswordRequest>()
        }
        ("GET", "/api/v2/users/{user}/gitsshkey") => {
            op("A user's Git SSH key", 200, json::<GitSshKey>())
        }
        ("PUT", "/api/v2/users/{user}/gitsshkey") => {
            op("Regenerate a user's Git SSH key", 200, json::<GitSshKey>())
        }
        ("GET", "/api/v2/users/{user}/organizations") => {
            op("A user's organizations", 200, json::<Vec<Organization>>())
        }
        ("POST", "/api/v2/users/{user}/workspaces") => {
            op("Create a workspace", 201, json::<Workspace>())
                .body::<workspaces::CreateWorkspaceRequest>()
        }
        ("GET", "/api/v2/users/{user}/workspace/{workspacename}") => {
            op("A workspace by owner and name", 200, json::<Workspace>()).query(DELETED)
        }
        ("GET", "/api/v2/users/{user}/workspace/{workspacename}/builds/{buildnumber}") => {
            op("A build by number", 200, json::<WorkspaceBuild>())
        }
        ("GET", "/api/v2/users/{user}/organizations/{organizationname}") => {
            op("One of a user's organizations by name", 200, json::<Organization>())
        }
        ("POST", "/api/v2/users/{user}/keys") => {
            op("Create a session key", 201, json::<GenerateApiKeyResponse>())
        }
        ("GET", "/api/v2/users/{user}/keys/tokens") => op(
            "A user's tokens",
            200,
            json::<Vec<ApiKeyWithOwner>>(),
        )
        .query(&[("include_all", "Every user's tokens (owners).")]),
        ("POST", "/api/v2/users/{user}/keys/tokens") => {
            op("Create a token", 201, json::<GenerateApiKeyResponse>())
                .body::<keys::CreateTokenRequest>()
        }
        ("GET", "/api/v2/users/{user}/keys/tokens/tokenconfig") => {
            op("Token lifetimes allowed", 200, json::<TokenConfig>())
        }
        ("GET", "/api/v2/users/{user}/keys/tokens/{keyname}") => {
            op("A token by name", 200, json::<ApiKey>())
        }
        ("GET", "/api/v2/users/{user}/keys/{keyid}") => op("An API key", 200, json::<ApiKey>()),
        ("DELETE", "/api/v2/users/{user}/keys/{keyid}") => {
            op("Delete an API key", 204, Body::None)
        }
        ("POST", "/api/v2/files") => Op {
            request: Body::Bytes(&["application/x-tar", "application/zip"]),
            ..op("Upload a template archive", 201, json::<UploadResponse>()).also(&[200])
        },
        ("GET", "/api/v2/files/{fileID}") => op(
            "Download a file",
            200,
            Body::Bytes(&["application/x-tar", "application/zip"]),
        )
        .query(&[("format", "`zip` converts a tar archive.")]),
        ("GET", "/api/v2/organizations") => {
            op("Organizations", 200, json::<Vec<Organization>>())
        }
        ("POST", "/api/v2/organizations") => op("Create an organization", 201, json::<Organization>())
            .body::<organizations::OrganizationRequest>(),
        ("GET", "/api/v2/organizations/{organization}") => {
            op("An organization", 200, json::<Organization>())
        }
        ("PATCH", "/api/v2/organizations/{organization}") => op("Update an organization", 200, json::<Organization>())
            .body::<organizations::OrganizationRequest>(),
        ("DELETE", "/api/v2/organizations/{organization}") => {
            op("Delete an organization", 200, MESSAGE)
        }
        ("GET", "/api/v2/organizations/{organization}/members") => op(
            "Members",
            200,
            json::<Vec<OrganizationMemberWithUserData>>(),
        ),
        ("GET", "/api/v2/organizations/{organization}/paginated-members") => op(
            "Members, a page at a time",
            200,
            json::<PaginatedMembersResponse>(),
        )
        .query(PAGE),
        ("GET", "/api/v2/organizations/{organization}/members/roles") => {
            op("Organization roles", 200, json::<Vec<AssignableRoles>>())
        }
        ("POST", "/api/v2/organizations/{organization}/members/{user}") => {
            op("Add a member", 200, json::<OrganizationMember>())
        }
        ("DELETE", "/api/v2/organizations/{organization}/members/{user}") => {
            op("Remove a member", 204, Body::None)
        }
        ("PUT", "/api/v2/organizations/{organization}/members/{user}/roles") => op(
            "Set a member's roles",
            200,
            json::<OrganizationMember>(),
        )
        .body::<orgs::UpdateRolesRequest>(),
        ("POST", "/api/v2/organizations/{organization}/members/{user}/workspaces") => {
            op("Create a workspace", 201, json::<Workspace>())
                .body::<workspaces::CreateWorkspaceRequest>()
        }
        (
            "GET",
            "/api/v2/organizations/{organization}/members/{user}/workspaces/available-users",
        ) => op(
            "Users a workspace may be created for",
            200,
            json::<Vec<MinimalUser>>(),
        )
        .query(SEARCH_PAGE),
        ("POST", "/api/v2/organizations/{organization}/templateversions") => op(
            "Create a template version",
            201,
            json::<TemplateVersion>(),
        )
        .body::<templates::CreateVersionRequest>(),
        ("GET", "/api/v2/organizations/{organization}/templates/examples") => {
            op("Template examples", 200, json::<Vec<TemplateExample>>())
        }
        ("GET", "/api/v2/organizations/{organization}/templates") => {
            op("An organization's templates", 200, json::<Vec<Template>>())
        }
        ("POST", "/api/v2/organizations/{organization}/templates") => {
            op("Create a template", 201, json::<Template>())
                .body::<templates::CreateTemplateRequest>()
        }
        ("GET", "/api/v2/organizations/{organization}/templates/{templatename}") => {
            op("A template by name", 200, json::<Template>())
        }
        (
            "GET",
            "/api/v2/organizations/{organization}/templates/{templatename}/versions/{templateversionname}",
        ) => op("A template version by name", 200, json::<TemplateVersion>()),
        (
            "GET",
            "/api/v2/organizations/{organization}/templates/{templatename}/versions/{templateversionname}/previous",
        ) => op("The version before one", 200, json::<TemplateVersion>()),
        ("GET", "/api/v2/templates") => op("Templates", 200, json::<Vec<Template>>())
            .query(&[("q", "Search query, Coder's syntax.")]),
        ("GET", "/api/v2/templates/examples") => {
            op("Template examples", 200, json::<Vec<TemplateExample>>())
        }
        ("GET", "/api/v2/templates/{template}") => op("A template", 200, json::<Template>()),
        ("PATCH", "/api/v2/templates/{template}") => {
            op("Update a template's settings", 200, json::<Template>())
                .body::<templates::UpdateTemplateMeta>()
                .also(&[304])
        }
        ("DELETE", "/api/v2/templates/{template}") => op("Delete a template", 200, MESSAGE),
        ("GET", "/api/v2/templates/{template}/versions") => op(
            "A template's versions",
            200,
            json::<Vec<TemplateVersion>>(),
        )
        .query(&[
            ("limit", "Page size."),
            ("offset", "Rows to skip."),
            ("after_id", "Start after this id."),
            ("include_archived", "Also archived versions."),
        ]),
        ("PATCH", "/api/v2/templates/{template}/versions") => {
            op("Set the active version", 200, MESSAGE).body::<tpl::UpdateActiveVersion>()
        }
        ("GET", "/api/v2/templates/{template}/versions/{templateversionname}") => {
            op("A version by name", 200, json::<TemplateVersion>())
        }
        ("GET", "/api/v2/templateversions/{templateversion}") => {
            op("A template version", 200, json::<TemplateVersion>())
        }
        ("PATCH", "/api/v2/templateversions/{templateversion}") => {
            op("Rename a version", 200, json::<TemplateVersion>())
                .body::<tpl::PatchVersionRequest>()
        }
        ("GET", "/api/v2/templateversions/{templateversion}/rich-parameters") => op(
            "A version's parameters",
            200,
            json::<Vec<TemplateVersionParameter>>(),
        ),
        ("GET", "/api/v2/templateversions/{templateversion}/presets") => {
            op("A version's presets", 200, json::<Vec<Preset>>())
        }
        ("GET", "/api/v2/templateversions/{templateversion}/variables") => op(
            "A version's variables",
            200,
            json::<Vec<TemplateVersionVariable>>(),
        ),
        ("GET", "/api/v2/templateversions/{templateversion}/resources") => op(
            "A version's planned resources",
            200,
            json::<Vec<WorkspaceResource>>(),
        ),
        ("GET", "/api/v2/templateversions/{templateversion}/logs") => {
            op("A version's import logs", 200, json::<Vec<ProvisionerJobLog>>())
                .query(JOB_LOGS)
                .follows::<ProvisionerJobLog>()
        }
        ("PATCH", "/api/v2/templateversions/{templateversion}/cancel") => {
            op("Cancel an import", 200, MESSAGE)
        }
        ("GET", "/api/v2/workspaces") => {
            op("Workspaces", 200, json::<WorkspacesResponse>()).query(&[
                ("q", "Search query, Coder's syntax."),
                ("limit", "Page size."),
                ("offset", "Rows to skip."),
            ])
        }
        ("GET", "/api/v2/workspaces/watch") => op(
            "Changes to the workspace list, as server-sent events",
            200,
            Body::Events,
        )
        .query(&[("q", "Search query, Coder's syntax.")])
        .events(LIST_EVENTS),
        ("GET", "/api/v2/workspaces/watch-ws") => op(
            "Changes to the workspace list over a WebSocket",
            101,
            Body::None,
        )
        .query(&[("q", "Search query, Coder's syntax.")])
        .events(LIST_EVENTS),
        ("GET", "/api/v2/workspaces/{workspace}/watch") => {
            op("A workspace's changes, as server-sent events", 200, Body::Events)
                .events(WORKSPACE_EVENTS)
        }
        ("GET", "/api/v2/workspaces/{workspace}/watch-ws") => {
            op("A workspace's changes over a WebSocket", 101, Body::None).events(WORKSPACE_EVENTS)
        }
        ("GET", "/api/v2/workspaces/{workspace}") => {
            op("A workspace", 200, json::<Workspace>()).query(DELETED)
        }
        ("PATCH", "/api/v2/workspaces/{workspace}") => {
            op("Rename a workspace", 204, Body::None).body::<ws::RenameRequest>()
        }
        ("PUT", "/api/v2/workspaces/{workspace}/autostart") => {
            op("Set the autostart schedule", 204, Body::None).body::<ws::AutostartRequest>()
        }
        ("PUT", "/api/v2/workspaces/{workspace}/ttl") => {
            op("Set the TTL", 204, Body::None).body::<ws::TtlRequest>()
        }
        ("PUT", "/api/v2/workspaces/{workspace}/extend") => {
            op("Extend the deadline", 200, MESSAGE).body::<ws::ExtendRequest>()
        }
        ("PUT", "/api/v2/workspaces/{workspace}/autoupdates") => {
            op("Set automatic updates", 204, Body::None).body::<ws::AutoupdatesRequest>()
        }
        ("PUT", "/api/v2/workspaces/{workspace}/dormant") => {
            op("Make dormant or wake", 200, json::<Workspace>())
                .body::<ws::DormantRequest>()
                .also(&[304])
        }
        ("PUT", "/api/v2/workspaces/{workspace}/favorite") => {
            op("Mark as a favorite", 204, Body::None)
        }
        ("DELETE", "/api/v2/workspaces/{workspace}/favorite") => {
            op("Unmark as a favorite", 204, Body::None)
        }
        ("POST", "/api/v2/workspaces/{workspace}/usage") => {
            op("Report use", 204, Body::None).body::<workspaces::UsageRequest>()
        }
        ("GET", "/api/v2/workspaces/{workspace}/resolve-autostart") => op(
            "Whether autostart lacks parameters",
            200,
            json::<ResolveAutostartResponse>(),
        ),
        ("GET", "/api/v2/workspaces/{workspace}/timings") => {
            op("The latest build's timings", 200, json::<WorkspaceBuildTimings>())
        }
        ("GET", "/api/v2/workspaces/{workspace}/schedule") => op(
            "Why the workspace is on or off, and what happens next (warren extension)",
            200,
            json::<WorkspaceSchedule>(),
        ),
        ("GET", "/api/v2/workspaces/{workspace}/acl") => {
            op("Who the workspace is shared with", 200, json::<WorkspaceAcl>())
        }
        ("PATCH", "/api/v2/workspaces/{workspace}/acl") => {
            op("Share the workspace", 204, Body::None).body::<sharing::UpdateAcl>()
        }
        ("DELETE", "/api/v2/workspaces/{workspace}/acl") => {
            op("Stop sharing the workspace", 204, Body::None)
        }
        ("GET", "/api/v2/workspaces/{workspace}/builds") => op(
            "A workspace's builds",
            200,
            json::<Vec<WorkspaceBuild>>(),
        )
        .query(&[
            ("limit", "Page size."),
            ("offset", "Rows to skip."),
            ("after_id", "Start after this id."),
            ("since", "Only builds created since this time."),
        ]),
        ("POST", "/api/v2/workspaces/{workspace}/builds") => {
            op("Start, stop or delete", 201, json::<WorkspaceBuild>())
                .body::<builds::CreateBuildRequest>()
        }
        ("GET", "/api/v2/workspacebuilds/{workspacebuild}") => {
            op("A build", 200, json::<WorkspaceBuild>())
        }
        ("PATCH", "/api/v2/workspacebuilds/{workspacebuild}/cancel") => {
            op("Cancel a build", 200, MESSAGE)
                .query(&[("expect_status", "Cancel only in this status.")])
        }
        ("GET", "/api/v2/workspacebuilds/{workspacebuild}/logs") => {
            op("A build's logs", 200, json::<Vec<ProvisionerJobLog>>())
                .query(JOB_LOGS)
                .follows::<ProvisionerJobLog>()
        }
        ("GET", "/api/v2/workspacebuilds/{workspacebuild}/parameters") => op(
            "A build's parameters",
            200,
            json::<Vec<WorkspaceBuildParameter>>(),
        ),
        ("GET", "/api/v2/workspacebuilds/{workspacebuild}/resources") => {
            op("A build's resources", 200, json::<Vec<WorkspaceResource>>())
        }
        ("GET", "/api/v2/workspacebuilds/{workspacebuild}/state") => op(
            "A build's provisioner state",
            200,
            Body::Json(|_| schemars::json_schema!({"description": "Terraform's state, as stored."})),
        ),
        ("GET", "/api/v2/workspacebuilds/{workspacebuild}/timings") => {
            op("A build's timings", 200, json::<WorkspaceBuildTimings>())
        }
        ("POST", "/api/v2/workspaceagents/me/report-lifecycle") => {
            op("An agent reports its lifecycle", 204, Body::None)
                .body::<agents::LifecycleRequest>()
        }
        ("POST", "/api/v2/workspaceagents/me/startup") => {
            op("An agent reports its start", 200, MESSAGE).body::<agents::StartupRequest>()
        }
        ("PATCH", "/api/v2/workspaceagents/me/app-status") => {
            op("An agent reports an app's status", 200, MESSAGE)
                .body::<agents::AppStatusRequest>()
        }
        ("GET", "/api/v2/workspaceagents/me/gitsshkey") => {
            op("The owner's Git SSH key, for the agent", 200, json::<AgentGitSshKey>())
        }
        ("GET", "/api/v2/workspaceagents/{workspaceagent}") => {
            op("An agent", 200, json::<WorkspaceAgent>())
        }
        ("POST", "/api/v2/workspaceagents/{workspaceagent}/token") => {
            op("Issue an agent token", 201, json::<AgentTokenResponse>())
        }
        ("GET", "/api/v2/organizations/{organization}/groups") => {
            op("An organization's groups", 200, json::<Vec<Group>>())
        }
        ("POST", "/api/v2/organizations/{organization}/groups") => {
            op("Create a group", 201, json::<Group>()).body::<groups::CreateGroupRequest>()
        }
        ("GET", "/api/v2/organizations/{organization}/groups/{groupname}") => {
            op("A group by name", 200, json::<Group>())
        }
        ("GET", "/api/v2/groups") => op("Groups", 200, json::<Vec<Group>>()).query(&[
            ("organization", "Only this organization's groups."),
            ("has_member", "Only groups this user is in."),
            ("group_ids", "Only these groups (comma-separated ids)."),
        ]),
        ("GET", "/api/v2/groups/{group}") => op("A group", 200, json::<Group>()),
        ("PATCH", "/api/v2/groups/{group}") => {
            op("Update a group", 200, json::<Group>()).body::<groups::PatchGroupRequest>()
        }
        ("DELETE", "/api/v2/groups/{group}") => op("Delete a group", 200, MESSAGE),
        ("POST", "/api/v2/users/validate-password") => op(
            "Whether a password is strong enough",
            200,
            json::<ValidateUserPasswordResponse>(),
        )
        .body::<ValidateUserPasswordRequest>(),
        ("GET", "/api/v2/users/{user}/login-type") => {
            op("How a user logs in", 200, json::<UserLoginType>())
        }
        ("GET", "/api/v2/users/{user}/appearance") => {
            op("A user's appearance settings", 200, json::<UserAppearanceSettings>())
        }
        ("PUT", "/api/v2/users/{user}/appearance") => op(
            "Set a user's appearance settings",
            200,
            json::<UserAppearanceSettings>(),
        )
        .body::<UpdateUserAppearanceSettingsRequest>(),
        ("GET", "/api/v2/users/{user}/autofill-parameters") => op(
            "Values a user gave a template's parameters before",
            200,
            json::<Vec<UserParameter>>(),
        )
        .query(&[("template_id", "The template (required).")]),
        ("GET", "/api/v2/workspace-quota/{user}") => op(
            "A user's quota in the default organization",
            200,
            json::<WorkspaceQuota>(),
        ),
        ("GET", "/api/v2/organizations/{organization}/members/{user}/workspace-quota") => {
            op("A member's quota", 200, json::<WorkspaceQuota>())
        }
        ("POST", "/api/v2/organizations/{organization}/members/roles") => {
            op("Create a custom role", 200, json::<Role>()).body::<CustomRoleRequest>()
        }
        ("PUT", "/api/v2/organizations/{organization}/members/roles") => {
            op("Update a custom role", 200, json::<Role>()).body::<CustomRoleRequest>()
        }
        ("DELETE", "/api/v2/organizations/{organization}/members/roles/{roleName}") => {
            op("Delete a custom role", 204, Body::None)
        }
        ("GET", "/api/v2/templates/{template}/acl") => {
            op("Who may use or administer a template", 200, json::<TemplateAcl>())
        }
        ("PATCH", "/api/v2/templates/{template}/acl") => {
            op("Change a template's permissions", 200, MESSAGE).body::<UpdateTemplateAcl>()
        }
        ("GET", "/api/v2/templates/{template}/acl/available") => op(
            "Users and groups a template may be shared with",
            200,
            json::<AclAvailable>(),
        )
        .query(SEARCH_PAGE),
        ("POST", "/api/v2/templates/{template}/versions/archive") => op(
            "Archive unused versions",
            200,
            json::<ArchiveTemplateVersionsResponse>(),
        )
        .body::<ArchiveTemplateVersionsRequest>(),
        ("POST", "/api/v2/authcheck") => op(
            "Check the caller's permissions",
            200,
            json::<AuthorizationResponse>(),
        )
        .body::<AuthorizationRequest>(),
        ("PATCH", "/api/v2/workspaceagents/me/logs") => {
            op("An agent sends logs", 200, Body::Json(null)).body::<PatchLogs>()
        }
        ("POST", "/api/v2/workspaceagents/me/log-source") => op(
            "An agent declares a log source",
            201,
            json::<WorkspaceAgentLogSource>(),
        )
        .body::<PostLogSourceRequest>(),
        ("POST", "/api/v2/workspaceagents/me/metadata") => {
            op("An agent reports metadata results", 204, Body::None)
                .body::<PostMetadataRequest>()
        }
        ("POST", "/api/v2/workspaceagents/me/listening-ports") => op(
            "An agent reports the ports it listens on (warren extension)",
            204,
            Body::None,
        )
        .body::<PostListeningPortsRequest>(),
        ("GET", "/api/v2/workspaceagents/{workspaceagent}/logs") => {
            op("An agent's logs", 200, json::<Vec<WorkspaceAgentLog>>())
                .query(AGENT_LOGS)
                .follows::<Vec<WorkspaceAgentLog>>()
        }
        ("GET", "/api/v2/workspaceagents/{workspaceagent}/watch-metadata") => op(
            "An agent's metadata results, as server-sent events",
            200,
            Body::Events,
        )
        .events(METADATA_EVENTS),
        ("GET", "/api/v2/workspaceagents/{workspaceagent}/watch-metadata-ws") => op(
            "An agent's metadata results over a WebSocket",
            101,
            Body::None,
        )
        .events(METADATA_EVENTS),
        ("GET", "/api/v2/workspaceagents/{workspaceagent}/listening-ports") => op(
            "The ports an agent listens on",
            200,
            json::<WorkspaceAgentListeningPortsResponse>(),
        ),
        ("GET", "/api/v2/workspaces/{workspace}/port-share") => {
            op("A workspace's shared ports", 200, json::<WorkspaceAgentPortShares>())
        }
        ("POST", "/api/v2/workspaces/{workspace}/port-share") => {
            op("Share a port", 200, json::<WorkspaceAgentPortShare>())
                .body::<UpsertWorkspaceAgentPortShareRequest>()
        }
        ("DELETE", "/api/v2/workspaces/{workspace}/port-share") => {
            op("Stop sharing a port", 200, Body::None)
                .body::<DeleteWorkspaceAgentPortShareRequest>()
        }
        ("GET", "/api/v2/templateversions/{templateversion}/external-auth") => op(
            "External auth a version needs",
            200,
            json::<Vec<TemplateVersionExternalAuth>>(),
        ),
        ("POST", "/api/v2/templateversions/{templateversion}/archive") => {
            op("Archive a version", 200, Body::Json(string))
        }
        ("POST", "/api/v2/templateversions/{templateversion}/unarchive") => {
            op("Unarchive a version", 200, Body::Json(string))
        }
        ("POST", "/api/v2/templateversions/{templateversion}/dry-run") => {
            op("Plan a workspace of a version", 201, json::<ProvisionerJob>())
                .body::<CreateTemplateVersionDryRunRequest>()
        }
        ("GET", "/api/v2/templateversions/{templateversion}/dry-run/{jobID}") => {
            op("A dry run's job", 200, json::<ProvisionerJob>())
        }
        ("GET", "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/resources") => op(
            "A dry run's planned resources",
            200,
            json::<Vec<WorkspaceResource>>(),
        ),
        ("GET", "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/logs") => {
            op("A dry run's logs", 200, json::<Vec<ProvisionerJobLog>>())
                .query(JOB_LOGS)
                .follows::<ProvisionerJobLog>()
        }
        ("PATCH", "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/cancel") => {
            op("Cancel a dry run", 200, MESSAGE)
        }
        ("GET", "/api/v2/deployment/ssh") => {
            op("What `coder config-ssh` writes", 200, json::<SshConfigResponse>())
        }
        ("GET", "/api/v2/regions") => op("Regions", 200, json::<RegionsResponse>()),
        ("GET", "/api/v2/updatecheck") => {
            op("Whether this version is current", 200, json::<UpdateCheckResponse>())
        }
        ("GET", "/api/v2/experiments") => {
            op("Experiments turned on", 200, json::<Vec<String>>())
        }
        ("GET", "/api/v2/experiments/available") => {
            op("Experiments there are", 200, json::<AvailableExperiments>())
        }
        ("GET", "/api/v2/appearance") => {
            op("The deployment's appearance", 200, json::<AppearanceConfig>())
        }
        ("PUT", "/api/v2/appearance") => op(
            "Set the deployment's appearance",
            200,
            json::<UpdateAppearanceConfig>(),
        )
        .body::<UpdateAppearanceConfig>(),
        ("GET", "/api/v2/entitlements") => {
            op("Features and licences", 200, json::<Entitlements>())
        }
        _ => return None,
    })
}

/// Path parameters that only take a UUID (others also take names or `me`).
const UUID_PARAMS: &[&str] = &[
    "fileID",
    "template",
    "templateversion",
    "workspace",
    "workspacebuild",
    "workspaceagent",
    "group",
];

/// The route's path in OpenAPI's form (`{name:regex}` becomes `{name}`),
/// and its parameters' names.
fn path_and_params(route: &Route) -> (String, Vec<String>) {
    let mut path = String::new();
    let mut params = Vec::new();
    let mut rest = route.path;
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        let name = inner.split(':').next().unwrap_or(inner);
        path.push_str(&format!("{{{name}}}"));
        params.push(name.to_string());
        rest = &rest[open + close + 1..];
    }
    path.push_str(rest);
    (path, params)
}

fn content(body: Body, g: &mut SchemaGenerator) -> Option<Value> {
    match body {
        Body::None => None,
        Body::Json(f) => Some(json!({"application/json": {"schema": f(g)}})),
        Body::Bytes(types) => Some(Value::Object(
            types
                .iter()
                .map(|t| {
                    (
                        t.to_string(),
                        json!({"schema": {"type": "string", "format": "binary"}}),
                    )
                })
                .collect(),
        )),
        Body::Events => Some(json!({"text/event-stream": {"schema": {"type": "string"}}})),
    }
}

fn reason(status: u16) -> &'static str {
    actix_web::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Success")
}

/// One operation of the document.
fn operation(
    route: &Route,
    params: &[String],
    op: Option<Op>,
    responses: &mut SchemaGenerator,
    requests: &mut SchemaGenerator,
) -> Value {
    let op = op.unwrap_or_else(op_missing);
    let mut parameters: Vec<Value> = params
        .iter()
        .map(|p| {
            let schema = if UUID_PARAMS.contains(&p.as_str()) {
                json!({"type": "string", "format": "uuid"})
            } else {
                json!({"type": "string"})
            };
            json!({"name": p, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    parameters.extend(op.query.iter().map(|(name, description)| {
        json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}})
    }));
    let mut answers = Map::new();
    let mut success = json!({"description": reason(op.status)});
    if let Some(c) = content(op.response, responses) {
        success["content"] = c;
    }
    answers.insert(op.status.to_string(), success);
    for status in op.also {
        let mut also = json!({"description": reason(*status)});
        // Another success carries the same body (an upload already stored);
        // 101 and 304 carry none.
        if (200..300).contains(status) {
            if let Some(c) = content(op.response, responses) {
                also["content"] = c;
            }
        }
        answers.insert(status.to_string(), also);
    }
    let error = json!({
        "description": "Coder's error body",
        "content": {"application/json": {"schema": schema::<Response>(responses)}},
    });
    answers.insert("4XX".into(), error.clone());
    if route.path == "/readyz" {
        answers.insert(
            "503".into(),
            json!({"description": "Not ready", "content": error["content"]}),
        );
    }
    if route.path == "/api/v2/warren/backup" {
        answers.insert(
            "501".into(),
            json!({"description": "The database is PostgreSQL: back it up with pg_dump", "content": error["content"]}),
        );
    }
    let mut out = json!({
        "operationId": operation_id(route),
        "summary": op.summary,
        "parameters": parameters,
        "responses": answers,
    });
    match route.policy {
        Policy::Public => out["security"] = json!([]),
        Policy::Agent => out["security"] = json!([{"CoderAgentToken": []}]),
        _ => {}
    }
    if let Some(c) = content(op.request, requests) {
        out["requestBody"] = json!({"required": true, "content": c});
    }
    // OpenAPI 3.1 has no words for what a stream carries: extensions do.
    if !op.events.is_empty() {
        let events: Map<String, Value> = op
            .events
            .iter()
            .map(|(kind, f)| (kind.to_string(), f(responses).to_value()))
            .collect();
        out["x-events"] = Value::Object(events);
    }
    if let Some(f) = op.messages {
        out["x-websocket-message"] = f(responses).to_value();
    }
    out
}

/// Listed for completeness when [`describe`] lacks the route (the test
/// fails meanwhile).
fn op_missing() -> Op {
    op("Undescribed", 200, Body::None)
}

fn operation_id(route: &Route) -> String {
    let mut id = route.method.to_ascii_lowercase();
    for part in route.path.split('/').filter(|p| !p.is_empty()) {
        let part = part
            .trim_start_matches('{')
            .split([':', '}'])
            .next()
            .unwrap_or("");
        id.push('_');
        id.extend(
            part.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
        );
    }
    id
}

/// The whole document for a server of this version.
pub fn document(version: &str) -> Value {
    let mut responses = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .for_serialize()
        .into_generator();
    let mut requests = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .for_deserialize()
        .into_generator();
    let mut paths = Map::new();
    for route in ROUTES {
        let (path, params) = path_and_params(route);
        let op = operation(
            route,
            &params,
            describe(route.method, route.path),
            &mut responses,
            &mut requests,
        );
        if let Value::Object(item) = paths.entry(path).or_insert_with(|| json!({})) {
            item.insert(route.method.to_ascii_lowercase(), op);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "warren",
            "version": version,
            "description": "Coder's v2 Workspaces REST API, as warren serves it, with warren's own extensions (marked so).",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "servers": [{"url": "/"}],
        "security": [{"CoderSessionToken": []}],
        "paths": paths,
        "components": {
            "schemas": responses.take_definitions(true),
            "securitySchemes": {
                "CoderSessionToken": {"type": "apiKey", "in": "header", "name": "Coder-Session-Token"},
                "CoderAgentToken": {"type": "apiKey", "in": "header", "name": "Coder-Session-Token", "description": "A workspace agent's token."},
            },
        },
    })
}

/// `GET /api/v2/openapi.json`: made once per version and kept (anyone may
/// ask for it, so it must cost nothing to answer).
pub async fn serve(app: web::Data<App>) -> HttpResponse {
    static MADE: std::sync::Mutex<Option<(String, bytes::Bytes)>> = std::sync::Mutex::new(None);
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    let body = match made.as_ref() {
        Some((version, body)) if *version == app.version => body.clone(),
        _ => {
            let body = bytes::Bytes::from(document(&app.version).to_string());
            *made = Some((app.version.clone(), body.clone()));
            body
        }
    };
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}
