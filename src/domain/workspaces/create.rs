//! Creating a workspace: validation, names, the template and version chosen,
//! and its first build.

use crate::domain::store::{StoreError, Tx};
use serde::Deserialize;
use uuid::Uuid;

use crate::authz::{Action, Guarded, Object, Readable, Subject};
use crate::domain::builds::{
    self, BuildContext, CreateBuildRequest, LegacyParameterValue, NameValue,
};
use crate::domain::names;
use crate::domain::schedule;
use crate::domain::store::template_versions as versions;
use crate::domain::store::templates::{self as template_store};
use crate::domain::store::users::UserRow;
use crate::domain::store::workspaces::{self as store, WorkspaceRow};
use crate::domain::{organizations, templates, users};
use crate::error::{ApiError, ApiResult, Validator};
use crate::sdk::{self, Micros};

use super::render::render_one;
use crate::domain::workspace_access::RenderCtx;

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
pub struct CreateWorkspaceRequest {
    pub template_id: Option<Uuid>,
    pub template_version_id: Option<Uuid>,
    pub name: String,
    pub autostart_schedule: Option<String>,
    pub ttl_ms: Option<i64>,
    pub rich_parameter_values: Vec<NameValue>,
    /// Older clients' list; a name also in `rich_parameter_values` takes
    /// the rich value.
    pub parameter_values: Vec<LegacyParameterValue>,
    pub automatic_updates: String,
    pub template_version_preset_id: Option<Uuid>,
}

/// Struct validation of the create body, with Coder's exact entries.
pub fn validate_create(req: &CreateWorkspaceRequest) -> ApiResult<()> {
    let t = req.template_id.unwrap_or_default();
    let v = req.template_version_id.unwrap_or_default();
    let mut check = Validator::new();
    if t.is_nil() && v.is_nil() {
        check
            .check("template_id", "required_without", &t.to_string(), false)
            .check(
                "template_version_id",
                "required_without",
                &v.to_string(),
                false,
            );
    } else if !t.is_nil() && !v.is_nil() {
        check
            .check("template_id", "excluded_with", &t.to_string(), false)
            .check(
                "template_version_id",
                "excluded_with",
                &v.to_string(),
                false,
            );
    }
    check.check(
        "name",
        "workspace_name",
        &req.name,
        names::valid_name(&req.name),
    );
    check.finish()
}

/// TTL rule of create and `PUT …/ttl`: whole minutes, 1 minute to 30 days.
pub fn check_ttl(ttl_ms: i64) -> Result<i64, String> {
    let truncated = ttl_ms / 60_000 * 60_000;
    if truncated < 60_000 {
        return Err("time until shutdown must be at least one minute".into());
    }
    if truncated > 30 * 24 * 3_600_000 {
        return Err("time until shutdown must be less than 30 days".into());
    }
    Ok(truncated)
}

/// `POST /organizations/{organization}/members/{user}/workspaces` and (with
/// no organization) `POST /users/{user}/workspaces`: checks who may own the
/// workspace, creates it with its first build, and renders it.
pub fn create_for(
    conn: &Tx,
    subject: &Subject,
    org_arg: Option<&str>,
    owner_arg: &str,
    req: &CreateWorkspaceRequest,
    ctx: &RenderCtx,
) -> ApiResult<sdk::Workspace> {
    let (owner, org) = match org_arg {
        Some(org_arg) => {
            let org = organizations::resolve(conn, subject, org_arg)?;
            let owner = users::resolve(conn, subject, owner_arg)?;
            organizations::member(conn, subject, &org, &owner)?;
            validate_create(req)?;
            (owner, Some(org.id))
        }
        None => {
            let owner = users::resolve(conn, subject, owner_arg)?;
            validate_create(req)?;
            if !subject.can(Action::Read, owner.object()) {
                // Without read access to the user, the owner must be a member
                // of the template's organization that the caller can see.
                let tid = req.template_id.unwrap_or_default();
                let t = templates::get(conn, subject, tid)?;
                let org = organizations::get(conn, subject, t.organization_id)?;
                organizations::member(conn, subject, &org, &owner)?;
            }
            (owner, None)
        }
    };
    let w = create(conn, subject, &owner, org, req, ctx.now)?;
    render_one(conn, subject, &w, ctx)
}

/// `GET /users/{user}/workspace/{workspacename}`: a workspace of the user
/// by name (a deleted one only when asked), rendered; hidden when the
/// subject may not read it or its template.
pub fn id_by_owner_and_name(
    conn: &Tx,
    subject: &Subject,
    owner_arg: &str,
    name: &str,
    include_deleted: bool,
) -> ApiResult<Uuid> {
    let owner = users::resolve(conn, subject, owner_arg)?;
    let w = match store::get_by_owner_name(conn, owner.id, name, false)? {
        Some(w) => Some(w),
        None if include_deleted => store::get_by_owner_name(conn, owner.id, name, true)?,
        None => None,
    }
    .ok_or_else(ApiError::not_found)?;
    let w: Readable<WorkspaceRow> = subject.visible(w)?;
    let t = template_store::get_any(conn, w.template_id)?.ok_or_else(ApiError::not_found)?;
    subject.require_visible(Action::Read, templates::object(&t))?;
    Ok(w.id)
}

/// Creates a workspace owned by `owner` and queues its first build.
pub fn create(
    conn: &Tx,
    subject: &Subject,
    owner: &UserRow,
    org_route: Option<Uuid>,
    req: &CreateWorkspaceRequest,
    now: Micros,
) -> ApiResult<WorkspaceRow> {
    let not_exist = |field: &str, what: String| {
        ApiError::bad_request(what).validation(field, "template not found")
    };
    let template_id = match req.template_version_id.filter(|v| !v.is_nil()) {
        Some(vid) => {
            let v = versions::get(conn, vid)?.ok_or_else(|| {
                not_exist(
                    "template_version_id",
                    format!("Template version {:?} doesn't exist.", vid.to_string()),
                )
            })?;
            if v.archived {
                return Err(ApiError::new(
                    actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "Archived template versions cannot be used to make a workspace.",
                )
                .validation("template_version_id", "template version archived"));
            }
            v.template_id.ok_or_else(|| {
                not_exist(
                    "template_version_id",
                    format!("Template version {:?} doesn't exist.", vid.to_string()),
                )
            })?
        }
        None => req.template_id.unwrap_or_default(),
    };
    let template = template_store::get_any(conn, template_id)?
        .filter(|t| subject.can(Action::Read, templates::object(t)))
        .ok_or_else(|| {
            not_exist(
                "template_id",
                format!("Template {:?} doesn't exist.", template_id.to_string()),
            )
        })?;
    if template.deleted {
        return Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("Template {:?} has been deleted!", template.name),
        ));
    }
    if let Some(org) = org_route {
        if org != template.organization_id {
            return Err(ApiError::forbidden_msg(format!(
                "Template is not in organization {:?}.",
                org.to_string()
            )));
        }
    }
    if !subject.can(
        Action::Create,
        Object::NewWorkspace {
            org: template.organization_id,
            owner: owner.id,
        },
    ) {
        return Err(ApiError::forbidden_msg("Unauthorized to create workspace.").detail(
            "You are unable to create a workspace in this organization. It is possible to have access to the template, but not be able to create a workspace. Please contact an administrator about your permissions if you feel this is an error.",
        ));
    }
    if !subject.can(Action::Use, templates::object(&template)) {
        return Err(ApiError::forbidden_msg(format!(
            "Unauthorized access to use the template {:?}.",
            template.name
        ))
        .detail("Although you are able to view the template, you are unable to create a workspace using it. Please contact an administrator about your permissions if you feel this is an error."));
    }
    if !template.deprecation_message.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Template {:?} has been deprecated, and cannot be used to create a new workspace.",
            template.name
        ))
        .detail(template.deprecation_message.clone()));
    }
    let autostart = req.autostart_schedule.clone().filter(|s| !s.is_empty());
    let next_start_at = match &autostart {
        Some(s) => {
            let parsed = schedule::parse(s).map_err(|e| {
                ApiError::bad_request("Invalid Autostart Schedule.").validation("schedule", e)
            })?;
            parsed.next_after(now, template.autostart_requirement_days)
        }
        None => None,
    };
    let ttl_ms = match req.ttl_ms.filter(|t| *t != 0) {
        Some(t) => Some(check_ttl(t).map_err(|e| {
            ApiError::bad_request("Invalid Workspace Time to Shutdown.").validation("ttl_ms", e)
        })?),
        None => Some(template.default_ttl_ms).filter(|t| *t > 0),
    };
    let automatic_updates = match req.automatic_updates.as_str() {
        "" => "never",
        "always" => "always",
        "never" => "never",
        _ => {
            return Err(
                ApiError::bad_request("Invalid Workspace Automatic Updates setting.").validation(
                    "automatic_updates",
                    "Automatic updates must be always or never",
                ),
            )
        }
    };
    let conflict = || {
        ApiError::conflict(format!("Workspace {:?} already exists.", req.name))
            .validation("name", "This value is already in use and should be unique.")
    };
    if store::get_by_owner_name(conn, owner.id, &req.name, false)?.is_some() {
        return Err(conflict());
    }
    let w = WorkspaceRow {
        id: crate::domain::new_id(),
        owner_id: owner.id,
        organization_id: template.organization_id,
        template_id: template.id,
        name: req.name.clone(),
        autostart_schedule: autostart,
        ttl_ms,
        next_start_at,
        last_used_at: now,
        automatic_updates: automatic_updates.into(),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    store::insert(conn, &w).map_err(|e| match e {
        // The unique index settles a race between two creates of one name.
        StoreError::Conflict(_) => conflict(),
        e => ApiError::from(e),
    })?;
    let w = store::get(conn, w.id)?.ok_or_else(|| ApiError::internal("workspace vanished"))?;
    let w: Readable<WorkspaceRow> = subject.created(w)?;
    builds::create(
        conn,
        subject,
        &BuildContext {
            workspace: &w,
            template: &template,
            first: true,
            system_reason: None,
            initiator: subject.user_id,
        },
        &CreateBuildRequest {
            transition: "start".into(),
            template_version_id: req.template_version_id,
            rich_parameter_values: req.rich_parameter_values.clone(),
            parameter_values: req.parameter_values.clone(),
            template_version_preset_id: req.template_version_preset_id,
            ..Default::default()
        },
        now,
    )?;
    store::get(conn, w.id)?.ok_or_else(|| ApiError::internal("workspace vanished"))
}
