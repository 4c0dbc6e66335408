//! Coder's names for resources and actions (`rbac.Resource*`,
//! `policy.Action*`), as `POST /authcheck` sends them and custom roles hold
//! them, mapped onto the decision table. A check names a set of objects of
//! one type; what it leaves out (owner, organization, id) matches nobody, so
//! the answer is yes only for rights that hold whatever it would be. Types
//! and actions warren has no rows for answer no, as Coder's RBAC denies what
//! no role grants.
//!
//! Custom roles' permissions are read the other way round: the table's
//! object is seen as Coder's resource type in its organization
//! ([`coder_object`]), and a permission at organization level grants the
//! table's action its Coder action stands for, for any owner, as Coder's
//! policy does (`policy.rego`: negation wins at its level, site over
//! organization over user).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Action, Object, Subject, ORG_WORKSPACE_CREATION_BAN};

const WORKSPACE_ACTIONS: &[&str] = &[
    "create",
    "read",
    "update",
    "delete",
    "start",
    "stop",
    "ssh",
    "application_connect",
    "create_agent",
    "delete_agent",
    "update_agent",
    "share",
];

/// Coder v2.29's RBAC resource types and the actions each takes
/// (`policy.RBACPermissions`), besides the wildcard `*`.
pub const RESOURCES: &[(&str, &[&str])] = &[
    ("aibridge_interception", &["create", "read", "update"]),
    ("api_key", &["create", "read", "update", "delete"]),
    (
        "assign_org_role",
        &["assign", "unassign", "create", "read", "update", "delete"],
    ),
    ("assign_role", &["assign", "unassign", "read"]),
    ("audit_log", &["read", "create"]),
    ("connection_log", &["read", "update"]),
    ("crypto_key", &["read", "update", "delete", "create"]),
    ("debug_info", &["read"]),
    ("deployment_config", &["read", "update"]),
    ("deployment_stats", &["read"]),
    ("file", &["create", "read"]),
    ("group", &["create", "read", "delete", "update"]),
    ("group_member", &["read"]),
    ("idpsync_settings", &["read", "update"]),
    ("inbox_notification", &["create", "read", "update"]),
    ("license", &["create", "read", "delete"]),
    (
        "notification_message",
        &["create", "read", "update", "delete"],
    ),
    ("notification_preference", &["read", "update"]),
    ("notification_template", &["read", "update"]),
    ("oauth2_app", &["create", "read", "update", "delete"]),
    ("oauth2_app_code_token", &["create", "read", "delete"]),
    ("oauth2_app_secret", &["create", "read", "update", "delete"]),
    ("organization", &["create", "read", "update", "delete"]),
    (
        "organization_member",
        &["create", "read", "update", "delete"],
    ),
    ("prebuilt_workspace", &["update", "delete"]),
    (
        "provisioner_daemon",
        &["create", "read", "update", "delete"],
    ),
    ("provisioner_jobs", &["read", "update", "create"]),
    ("replicas", &["read"]),
    ("system", &["create", "read", "update", "delete"]),
    (
        "tailnet_coordinator",
        &["create", "read", "update", "delete"],
    ),
    (
        "template",
        &["create", "use", "read", "update", "delete", "view_insights"],
    ),
    ("usage_event", &["create", "read", "update"]),
    (
        "user",
        &[
            "read",
            "create",
            "update",
            "delete",
            "read_personal",
            "update_personal",
        ],
    ),
    ("user_secret", &["create", "read", "update", "delete"]),
    ("webpush_subscription", &["create", "read", "delete"]),
    ("workspace", WORKSPACE_ACTIONS),
    ("workspace_agent_devcontainers", &["create"]),
    (
        "workspace_agent_resource_monitor",
        &["read", "create", "update"],
    ),
    ("workspace_dormant", WORKSPACE_ACTIONS),
    ("workspace_proxy", &["create", "delete", "update", "read"]),
];

pub const WILDCARD: &str = "*";

/// One of Coder's permissions (`rbac.Permission`, `codersdk.Permission`):
/// an action on a resource type, or its negation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(from = "PermissionFields")]
pub struct Permission {
    pub negate: bool,
    pub resource_type: String,
    pub action: String,
}

/// A permission as Go decodes it: `null` and absent fields are zero values.
#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(default)]
struct PermissionFields {
    negate: Option<bool>,
    resource_type: Option<String>,
    action: Option<String>,
}

impl From<PermissionFields> for Permission {
    fn from(f: PermissionFields) -> Permission {
        Permission {
            negate: f.negate.unwrap_or_default(),
            resource_type: f.resource_type.unwrap_or_default(),
            action: f.action.unwrap_or_default(),
        }
    }
}

impl Permission {
    /// Coder's `Permission.Valid`: a known resource type (or `*`) and one
    /// of its actions (or `*`); the complaint as Coder words it.
    pub fn problem(&self) -> Option<String> {
        if self.resource_type == WILDCARD {
            return None;
        }
        let Some((_, actions)) = RESOURCES.iter().find(|(t, _)| *t == self.resource_type) else {
            return Some(format!("invalid resource type {:?}", self.resource_type));
        };
        if self.action == WILDCARD || actions.contains(&self.action.as_str()) {
            return None;
        }
        Some(format!(
            "invalid action {:?} for resource {:?}",
            self.action, self.resource_type
        ))
    }
}

/// A set of objects of one of Coder's resource types.
#[derive(Debug, Clone, Copy)]
pub struct Set<'a> {
    pub resource_type: &'a str,
    /// The owning user; nil when the check names none.
    pub owner: Uuid,
    /// The organization; nil when the check names none.
    pub org: Uuid,
    /// Any organization the subject belongs to will do.
    pub any_org: bool,
}

/// Coder's resource types `POST /authcheck` may name with a `resource_id`.
pub const BY_ID: &[&str] = &["workspace", "template", "user", "group"];

/// The decision table's action for one of Coder's, on a resource type.
pub fn action(resource_type: &str, action: &str) -> Option<Action> {
    use Action::*;
    Some(match action {
        "read" => Read,
        "create" => Create,
        "update" => Update,
        "delete" => Delete,
        "read_personal" => ReadPersonal,
        "update_personal" => UpdatePersonal,
        "assign" | "unassign" => Assign,
        "use" => Use,
        "start" => Start,
        "stop" => Stop,
        "share" => Share,
        "ssh" | "application_connect" => Connect,
        "view_insights" => ViewInsights,
        // Agents come and go with builds, which whoever may change the
        // workspace runs.
        "create_agent" | "update_agent" | "delete_agent"
            if matches!(resource_type, "workspace" | "workspace_dormant") =>
        {
            Update
        }
        _ => return None,
    })
}

/// The table's action a permission for Coder's `action` on `resource_type`
/// grants: the action a check asks, except the agent actions, which a check
/// answers as the workspace update they come with but which grant no more
/// than themselves.
fn granted(resource_type: &str, action_name: &str) -> Option<Action> {
    match action_name {
        "create_agent" | "update_agent" | "delete_agent" => None,
        _ => action(resource_type, action_name),
    }
}

/// The table's object as Coder's RBAC sees it: its resource type and, for
/// objects that belong to an organization, that organization. Objects
/// Coder keeps outside organizations (users, keys, files, site roles, a
/// single role to assign, the deployment) take no organization-level
/// permission.
pub fn coder_object(object: Object) -> Option<(&'static str, Uuid)> {
    let (resource_type, org) = match object {
        Object::Organization { id } => ("organization", id),
        Object::OrganizationMember { org } => ("organization_member", org),
        Object::Group { org, .. } => ("group", org),
        Object::OrgRoles { org } => ("assign_org_role", org),
        Object::Template { org, .. } | Object::UnattachedVersion { org, .. } => ("template", org),
        Object::Workspace { org, dormant, .. } => {
            if dormant {
                ("workspace_dormant", org)
            } else {
                ("workspace", org)
            }
        }
        Object::NewWorkspace { org, .. } => ("workspace", org),
        Object::ProvisionerJob { org } => ("provisioner_jobs", org),
        Object::ProvisionerDaemons { org } => ("provisioner_daemon", org),
        Object::AuditLog { org } => ("audit_log", org),
        _ => return None,
    };
    (!org.is_nil()).then_some((resource_type, org))
}

/// What the organization level of Coder's policy says about an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    Abstain,
    Allow,
    Deny,
}

impl Subject {
    /// The organization level of Coder's policy for the subject's custom
    /// roles: `Abstain` unless the subject holds custom roles in the
    /// object's organization. A matching negation wins (as does the
    /// workspace creation ban there, which Coder writes as one); a dormant
    /// workspace never starts or connects, whatever a role grants.
    pub(super) fn custom_level(&self, action: Action, object: Object) -> Level {
        let Some((resource_type, org)) = coder_object(object) else {
            return Level::Abstain;
        };
        let Some(perms) = self.org_perms.get(&org) else {
            return Level::Abstain;
        };
        let banned = matches!(resource_type, "workspace" | "workspace_dormant")
            && matches!(action, Action::Create | Action::Delete)
            && self
                .orgs
                .get(&org)
                .is_some_and(|r| r.iter().any(|r| r == ORG_WORKSPACE_CREATION_BAN));
        if banned {
            return Level::Deny;
        }
        let mut level = Level::Abstain;
        for p in perms.iter() {
            let on_type = p.resource_type == WILDCARD || p.resource_type == resource_type;
            let does = p.action == WILDCARD || granted(resource_type, &p.action) == Some(action);
            if on_type && does {
                if p.negate {
                    return Level::Deny;
                }
                level = Level::Allow;
            }
        }
        let dormant = matches!(object, Object::Workspace { dormant: true, .. });
        if dormant && matches!(action, Action::Start | Action::Connect) && level == Level::Allow {
            return Level::Abstain;
        }
        level
    }

    /// May the subject grant `perm` at the level of `org` (Coder's
    /// escalation rule for custom roles): only what it holds itself on
    /// every object of that type in the organization, whoever owns it.
    pub fn holds_in_org(&self, perm: &Permission, org: Uuid) -> bool {
        !perm.negate
            && self.can_on_set(
                &perm.action,
                &Set {
                    resource_type: &perm.resource_type,
                    owner: Uuid::nil(),
                    org,
                    any_org: false,
                },
            )
    }
}

/// The object of the table that stands for one member of `set` in `org`;
/// `None` for types warren has no rows for.
fn object<'a>(set: &Set, org: Uuid, action: Action, orgs: &'a [Uuid]) -> Option<Object<'a>> {
    let owner = set.owner;
    Some(match set.resource_type {
        "user" => Object::User { id: owner, orgs },
        "api_key" => Object::ApiKey { owner },
        "organization" => Object::Organization { id: org },
        "organization_member" => Object::OrganizationMember { org },
        "group" | "group_member" => Object::Group {
            org,
            id: Uuid::nil(),
        },
        "assign_role" => Object::SiteRoles,
        "assign_org_role" => Object::OrgRoles { org },
        "file" => Object::File { owner },
        "template" => Object::Template {
            org,
            users: &[],
            groups: &[],
        },
        "workspace" if action == Action::Create => Object::NewWorkspace { org, owner },
        "workspace" | "workspace_dormant" => Object::Workspace {
            org,
            owner,
            users: &[],
            groups: &[],
            dormant: set.resource_type == "workspace_dormant",
        },
        "provisioner_daemon" => Object::ProvisionerDaemons { org },
        "provisioner_jobs" => Object::ProvisionerJob { org },
        "deployment_config" => Object::DeploymentConfig,
        "deployment_stats" => Object::DeploymentStats,
        "audit_log" => Object::AuditLog { org },
        "workspace_proxy" => Object::WorkspaceProxies,
        _ => return None,
    })
}

impl Subject {
    /// May the subject do Coder's `action` on the objects of `set`?
    pub fn can_on_set(&self, action_name: &str, set: &Set) -> bool {
        let Some(action) = action(set.resource_type, action_name) else {
            return false;
        };
        // Coder refuses an object that names an organization and any.
        if set.any_org && !set.org.is_nil() {
            return false;
        }
        let orgs: Vec<Uuid> = if set.any_org {
            std::iter::once(Uuid::nil())
                .chain(self.orgs.keys().copied())
                .collect()
        } else {
            vec![set.org]
        };
        orgs.iter().any(|org| {
            let in_org: &[Uuid] = if org.is_nil() {
                &[]
            } else {
                std::slice::from_ref(org)
            };
            object(set, *org, action, in_org).is_some_and(|o| self.can(action, o))
        })
    }

    /// May the subject do Coder's `action` on one object it can read (a
    /// check with a `resource_id`)?
    pub fn can_on(&self, resource_type: &str, action_name: &str, object: Object) -> bool {
        action(resource_type, action_name).is_some_and(|a| self.can(a, object))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::authz::{
        AUDITOR, ORG_ADMIN, ORG_TEMPLATE_ADMIN, ORG_WORKSPACE_CREATION_BAN, OWNER, TEMPLATE_ADMIN,
        USER_ADMIN,
    };

    fn subject(site: &[&str], orgs: &[(Uuid, &[&str])]) -> Subject {
        Subject {
            user_id: Uuid::new_v4(),
            username: "s".into(),
            key_id: "k".into(),
            site_roles: Arc::new(site.iter().map(|s| s.to_string()).collect()),
            orgs: Arc::new(
                orgs.iter()
                    .map(|(o, r)| (*o, r.iter().map(|s| s.to_string()).collect()))
                    .collect::<HashMap<_, _>>(),
            ),
            groups: Arc::new(orgs.iter().map(|(o, _)| *o).collect()),
            org_perms: Arc::default(),
            system: None,
        }
    }

    fn set(resource_type: &str) -> Set<'_> {
        Set {
            resource_type,
            owner: Uuid::nil(),
            org: Uuid::nil(),
            any_org: false,
        }
    }

    /// The dashboard's site-wide checks (Coder's `permissions.ts`), each
    /// as Coder's built-in roles answer it.
    #[test]
    fn the_dashboards_site_checks() {
        let org = Uuid::new_v4();
        let owner = subject(&[OWNER], &[(org, &[])]);
        let member = subject(&[], &[(org, &[])]);
        let template_admin = subject(&[TEMPLATE_ADMIN], &[(org, &[])]);
        let user_admin = subject(&[USER_ADMIN], &[(org, &[])]);
        let auditor = subject(&[AUDITOR], &[(org, &[])]);
        let org_admin = subject(&[], &[(org, &[ORG_ADMIN])]);
        let any = |t| Set {
            any_org: true,
            ..set(t)
        };
        // (check, action, [owner, member, template-admin, user-admin, auditor, org-admin])
        let rows: Vec<(Set, &str, [bool; 6])> = vec![
            (set("user"), "read", [true, false, true, true, true, false]),
            (
                set("user"),
                "update",
                [true, false, false, true, false, false],
            ),
            (
                set("user"),
                "create",
                [true, false, false, true, false, false],
            ),
            (
                any("template"),
                "create",
                [true, false, true, false, false, true],
            ),
            (
                set("template"),
                "update",
                [true, false, true, false, false, false],
            ),
            (
                set("deployment_config"),
                "read",
                [true, false, false, false, true, false],
            ),
            (
                set("deployment_config"),
                "update",
                [true, false, false, false, false, false],
            ),
            (
                set("organization"),
                "create",
                [true, false, false, false, false, false],
            ),
            (set("group"), "read", [true, false, true, true, true, false]),
            (
                set("group"),
                "create",
                [true, false, false, true, false, false],
            ),
            (any("organization_member"), "read", [true; 6]),
            (
                any("group"),
                "update",
                [true, false, false, true, false, true],
            ),
            (
                any("assign_org_role"),
                "assign",
                [true, false, false, true, false, true],
            ),
            (
                any("organization"),
                "update",
                [true, false, false, false, false, true],
            ),
            (
                any("audit_log"),
                "read",
                [true, false, false, false, true, true],
            ),
            (set("workspace_proxy"), "read", [true; 6]),
            // Types warren has no rows for: nobody.
            (set("license"), "read", [false; 6]),
            (set("debug_info"), "read", [false; 6]),
            (set("no_such_type"), "read", [false; 6]),
        ];
        let who = [
            &owner,
            &member,
            &template_admin,
            &user_admin,
            &auditor,
            &org_admin,
        ];
        for (s, action, want) in rows {
            for (subject, want) in who.iter().zip(want) {
                assert_eq!(
                    subject.can_on_set(action, &s),
                    want,
                    "{} {action} as {:?}/{:?}",
                    s.resource_type,
                    subject.site_roles,
                    subject.orgs.values().collect::<Vec<_>>()
                );
            }
        }
    }

    /// Checks naming an owner ("me" resolved by the caller) and an
    /// organization: one's own workspaces, keys and files.
    #[test]
    fn owned_and_organization_sets() {
        let org = Uuid::new_v4();
        let other_org = Uuid::new_v4();
        let member = subject(&[], &[(org, &[])]);
        let org_admin = subject(&[], &[(org, &[ORG_ADMIN])]);
        let org_template_admin = subject(&[], &[(org, &[ORG_TEMPLATE_ADMIN])]);
        let mine = |t, org| Set {
            resource_type: t,
            owner: member.user_id,
            org,
            any_org: false,
        };
        // The dashboard's createWorkspace: in the org, owned by me.
        assert!(member.can_on_set("create", &mine("workspace", org)));
        assert!(!member.can_on_set("create", &mine("workspace", other_org)));
        // Without an organization no membership applies.
        assert!(!member.can_on_set("read", &mine("workspace", Uuid::nil())));
        assert!(member.can_on_set("ssh", &mine("workspace", org)));
        assert!(member.can_on_set("start", &mine("workspace", org)));
        // Dormant workspaces neither start nor connect.
        assert!(!member.can_on_set("start", &mine("workspace_dormant", org)));
        assert!(!member.can_on_set("application_connect", &mine("workspace_dormant", org)));
        assert!(member.can_on_set("delete", &mine("workspace_dormant", org)));
        // Org admins hold every workspace action but exec.
        let someones = Set {
            resource_type: "workspace",
            owner: Uuid::new_v4(),
            org,
            any_org: false,
        };
        assert!(org_admin.can_on_set("update", &someones));
        assert!(org_admin.can_on_set("create_agent", &someones));
        assert!(!org_admin.can_on_set("ssh", &someones));
        assert!(org_template_admin.can_on_set("read", &someones));
        assert!(!org_template_admin.can_on_set("stop", &someones));
        // Keys, files and the user itself.
        assert!(member.can_on_set("create", &mine("api_key", Uuid::nil())));
        assert!(!member.can_on_set("read", &set("api_key")));
        assert!(member.can_on_set("read", &mine("file", Uuid::nil())));
        assert!(member.can_on_set("create", &set("file")));
        assert!(member.can_on_set("update_personal", &mine("user", Uuid::nil())));
        assert!(member.can_on_set("read", &mine("user", Uuid::nil())));
        assert!(!member.can_on_set("delete", &mine("user", Uuid::nil())));
        // Organization sets.
        let in_org = |t| Set { org, ..set(t) };
        assert!(member.can_on_set("read", &in_org("organization_member")));
        assert!(!member.can_on_set("update", &in_org("organization_member")));
        assert!(org_admin.can_on_set("update", &in_org("organization_member")));
        assert!(org_template_admin.can_on_set("update", &in_org("template")));
        assert!(org_template_admin.can_on_set("read", &in_org("provisioner_daemon")));
        assert!(org_template_admin.can_on_set("read", &in_org("provisioner_jobs")));
        assert!(!member.can_on_set("read", &in_org("provisioner_jobs")));
        assert!(member.can_on_set("read", &in_org("assign_org_role")));
        assert!(!member.can_on_set("assign", &in_org("assign_org_role")));
        assert!(org_admin.can_on_set("create", &in_org("assign_org_role")));
        // An organization and any_org at once is refused, as Coder does.
        let both = Set {
            any_org: true,
            ..in_org("organization_member")
        };
        assert!(!member.can_on_set("read", &both));
        // Unknown actions and actions a type has no use for.
        assert!(!member.can_on_set("fly", &in_org("organization_member")));
        assert!(!org_admin.can_on_set("create_agent", &in_org("template")));
    }

    fn perm(negate: bool, resource_type: &str, action: &str) -> Permission {
        Permission {
            negate,
            resource_type: resource_type.into(),
            action: action.into(),
        }
    }

    fn with_custom(mut s: Subject, org: Uuid, perms: Vec<Permission>) -> Subject {
        s.org_perms = Arc::new(HashMap::from([(org, perms)]));
        s
    }

    fn workspace(org: Uuid, owner: Uuid, dormant: bool) -> Object<'static> {
        Object::Workspace {
            org,
            owner,
            users: &[],
            groups: &[],
            dormant,
        }
    }

    /// Custom roles' organization permissions, weighed as Coder's policy
    /// weighs them.
    #[test]
    fn custom_role_permissions() {
        use Action::*;
        let org = Uuid::new_v4();
        let other_org = Uuid::new_v4();
        let someone = Uuid::new_v4();
        let creator = with_custom(
            subject(&[], &[(org, &["creator"]), (other_org, &[])]),
            org,
            vec![perm(false, "workspace", "create")],
        );
        // workspace:create at organization level: for any owner, only there.
        for owner in [someone, Uuid::nil(), creator.user_id] {
            assert!(creator.can(Create, Object::NewWorkspace { org, owner }));
        }
        assert!(!creator.can(
            Create,
            Object::NewWorkspace {
                org: other_org,
                owner: someone
            }
        ));
        assert!(creator.creates_for_anyone(org) && !creator.creates_for_anyone(other_org));
        // Nothing else: not reading others' workspaces or the users.
        assert!(!creator.can(Read, workspace(org, someone, false)));
        assert!(!creator.can(Read, workspace(org, someone, true)));
        // Its own workspaces stay its own (user level).
        assert!(creator.can(Read, workspace(org, creator.user_id, false)));
        // Seed 004: it lists the members of that organization.
        assert_eq!(creator.visible_users(), Some(vec![org]));
        let member = subject(&[], &[(org, &[])]);
        assert_eq!(member.visible_users(), Some(vec![]));

        // Reading: the workspace list reads everything in the organization.
        let reader = with_custom(
            subject(&[], &[(org, &["reader"])]),
            org,
            vec![perm(false, "workspace", "read")],
        );
        assert!(reader.can(Read, workspace(org, someone, false)));
        assert!(!reader.can(Read, workspace(org, someone, true)));
        assert!(!reader.can(Update, workspace(org, someone, false)));
        assert_eq!(reader.workspace_visibility().reads_all_in, vec![org]);

        // Agent actions grant no workspace update; wildcards do.
        let agent_only = with_custom(
            subject(&[], &[(org, &["a"])]),
            org,
            vec![perm(false, "workspace", "create_agent")],
        );
        assert!(!agent_only.can(Update, workspace(org, someone, false)));
        let all = with_custom(
            subject(&[], &[(org, &["a"])]),
            org,
            vec![perm(false, "*", "*")],
        );
        assert!(all.can(Update, workspace(org, someone, false)));
        assert!(all.can(Update, Object::Organization { id: org }));
        // A dormant workspace never starts or connects, whatever the role.
        assert!(all.can(Stop, workspace(org, someone, true)));
        assert!(!all.can(Start, workspace(org, someone, true)));
        assert!(!all.can(Connect, workspace(org, someone, true)));
        // Objects outside organizations take no organization permission.
        assert!(!all.can(
            Read,
            Object::User {
                id: someone,
                orgs: &[org]
            }
        ));
        assert!(!all.can(Read, Object::ApiKey { owner: someone }));
        // Nor does assigning a role, which goes by role names.
        assert!(!all.can(Assign, Object::OrgRole { org, name: "a" }));
    }

    /// Negation wins at the organization level: over organization roles,
    /// ownership and other grants there, never over site roles.
    #[test]
    fn custom_role_negation() {
        use Action::*;
        let org = Uuid::new_v4();
        let someone = Uuid::new_v4();
        let no_read = vec![perm(true, "workspace", "read")];
        let org_admin = with_custom(
            subject(&[], &[(org, &[ORG_ADMIN, "r"])]),
            org,
            no_read.clone(),
        );
        assert!(!org_admin.can(Read, workspace(org, someone, false)));
        assert!(org_admin.can(Update, workspace(org, someone, false)));
        let member = with_custom(subject(&[], &[(org, &["r"])]), org, no_read.clone());
        assert!(!member.can(Read, workspace(org, member.user_id, false)));
        let owner = with_custom(subject(&[OWNER], &[(org, &["r"])]), org, no_read);
        assert!(owner.can(Read, workspace(org, someone, false)));
        // The creation ban is an organization-level negation too.
        let banned = with_custom(
            subject(&[], &[(org, &[ORG_WORKSPACE_CREATION_BAN, "c"])]),
            org,
            vec![perm(false, "workspace", "create")],
        );
        assert!(!banned.can(
            Create,
            Object::NewWorkspace {
                org,
                owner: someone
            }
        ));
    }

    /// Coder's escalation rule: a permission can be put in a role only by
    /// whoever holds it on every object of its type in the organization.
    #[test]
    fn holding_a_permission_in_an_organization() {
        let org = Uuid::new_v4();
        let org_admin = subject(&[], &[(org, &[ORG_ADMIN])]);
        let member = subject(&[], &[(org, &[])]);
        let owner = subject(&[OWNER], &[]);
        let create = perm(false, "workspace", "create");
        assert!(org_admin.holds_in_org(&create, org));
        assert!(!org_admin.holds_in_org(&create, Uuid::new_v4()));
        assert!(owner.holds_in_org(&create, org));
        // A member creates its own workspaces, not anyone's.
        assert!(!member.holds_in_org(&create, org));
        // Organization admins have no exec; nobody grants a negation.
        assert!(!org_admin.holds_in_org(&perm(false, "workspace", "ssh"), org));
        assert!(!owner.holds_in_org(&perm(true, "workspace", "read"), org));
        assert!(org_admin.holds_in_org(&perm(false, "assign_org_role", "create"), org));
    }

    #[test]
    fn permissions_are_validated_as_coder_does() {
        assert_eq!(perm(false, "workspace", "ssh").problem(), None);
        assert_eq!(perm(false, "*", "fly").problem(), None);
        assert_eq!(perm(false, "template", "*").problem(), None);
        assert_eq!(
            perm(false, "spaceship", "read").problem().as_deref(),
            Some("invalid resource type \"spaceship\"")
        );
        assert_eq!(
            perm(false, "template", "ssh").problem().as_deref(),
            Some("invalid action \"ssh\" for resource \"template\"")
        );
        let decoded: Permission =
            serde_json::from_str(r#"{"negate":null,"resource_type":"user"}"#).unwrap();
        assert_eq!(decoded, perm(false, "user", ""));
    }

    /// A check on one object answers from that object's own row.
    #[test]
    fn single_objects() {
        let org = Uuid::new_v4();
        let member = subject(&[], &[(org, &[])]);
        let shared = vec![(member.user_id, "use".to_string())];
        let w = Object::Workspace {
            org,
            owner: Uuid::new_v4(),
            users: &shared,
            groups: &[],
            dormant: false,
        };
        assert!(member.can_on("workspace", "read", w));
        assert!(member.can_on("workspace", "ssh", w));
        assert!(!member.can_on("workspace", "update", w));
        assert!(!member.can_on("workspace", "teleport", w));
        let everyone = vec![(org, "use".to_string())];
        let t = Object::Template {
            org,
            users: &[],
            groups: &everyone,
        };
        assert!(member.can_on("template", "use", t));
        assert!(!member.can_on("template", "update", t));
        assert!(!member.can_on("template", "view_insights", t));
    }
}
