//! Authorization: the one place that answers "may subject S do action A on
//! object O". Handlers ask [`Subject::can`] (or the `require_*` helpers that
//! turn a refusal into Coder's 404 or 403); none of them looks at roles.
//!
//! Decision table (site roles: owner, template-admin, user-admin, auditor and
//! the implicit member; org roles are those the subject holds in the object's
//! organization, org-member being implicit for every member):
//!
//! | object                | action                    | allowed for                                                                 |
//! |-----------------------|---------------------------|-----------------------------------------------------------------------------|
//! | user                  | read                      | self; owner, user-admin, template-admin, auditor; org-admin, org-user-admin, org-auditor, org-template-admin of an org the user is in |
//! | user                  | create, update, delete    | owner, user-admin                                                           |
//! | user                  | read_personal (ssh key)   | self, owner                                                                 |
//! | user                  | update_personal (profile, password) | self, owner, user-admin                                           |
//! | password of user U    | update                    | U itself, owner; others only if U is not an owner                           |
//! | api key of user U     | create, read, delete      | U itself, owner                                                             |
//! | organization          | read                      | its members; owner, template-admin, user-admin, auditor                    |
//! | organization          | create, delete            | owner                                                                       |
//! | organization          | update                    | owner, org-admin                                                            |
//! | organization member   | read                      | members of the org; owner, user-admin, template-admin, auditor              |
//! | organization member   | create, update, delete    | owner, user-admin, org-admin, org-user-admin                                |
//! | group                 | read                      | its members; owner, user-admin, template-admin, auditor; org-admin, org-user-admin, org-auditor, org-template-admin |
//! | group                 | create, update, delete    | owner, user-admin, org-admin, org-user-admin                                |
//! | site role R           | assign                    | owner: any; user-admin: member                                              |
//! | org role R in org O   | assign                    | owner, org-admin of O: any org role, custom ones included; user-admin, org-user-admin: any built-in one but org-admin |
//! | file of user U        | read                      | U, owner, template-admin (and, checked by the domain, whoever may update a template built from it) |
//! | file                  | create                    | everyone                                                                    |
//! | template in org O     | read                      | owner, template-admin, auditor; org-admin, org-template-admin, org-auditor of O; members of O granted use/admin in its ACL (directly or through a group) |
//! | template in org O     | use (create workspaces)   | owner, template-admin; org-admin, org-template-admin of O; members of O granted use/admin in its ACL |
//! | template in org O     | create, update, delete    | owner, template-admin; org-admin, org-template-admin of O; update also ACL admins |
//! | template's ACL        | read, change, candidates  | as template update                                                          |
//! | workspace quota of U  | read                      | as user read                                                                |
//! | workspace of U in O   | read                      | U (member of O); owner, template-admin; org-admin, org-template-admin of O; workspace ACL use/admin |
//! | workspace of U in O   | start, stop               | U; owner; org-admin of O; workspace ACL use/admin — never start while dormant |
//! | workspace of U in O   | update, share             | U; owner; org-admin of O; workspace ACL admin                               |
//! | workspace of U in O   | delete                    | U unless banned in O; owner; org-admin of O (never through the ACL)         |
//! | workspace of U in O   | favorite                  | U only (a favorite orders U's own list)                                     |
//! | new workspace for U in O | create                 | U if a member of O and not banned there; owner; org-admin of O             |
//! | template version state | read                     | as template update                                                          |
//! | unattached version in O | read                    | its creator; template admins of O                                          |
//! | unattached version in O | update                  | template admins of O                                                       |
//! | deployment            | read (diagnostics, backup) | owner                                                                      |
//! | workspace of U in O   | connect (ssh, apps)       | U; owner; workspace ACL use/admin — never while dormant (org admins have no exec) |
//! | template in org O     | view_insights             | template admins of O; auditor, org-auditor of O                            |
//! | site role catalogue   | read                      | everyone                                                                    |
//! | site role catalogue   | assign                    | owner, user-admin (which roles: see site role R)                           |
//! | org role catalogue of O | read                    | members of O; owner, user-admin, template-admin, auditor                  |
//! | org role catalogue of O | assign                  | owner, user-admin; org-admin, org-user-admin of O (which roles: see org role R) |
//! | org role catalogue of O | create, update, delete  | owner; org-admin of O                                                      |
//! | deployment config     | read                      | owner, auditor                                                              |
//! | deployment config     | update (appearance)       | owner                                                                       |
//! | deployment stats      | read                      | owner, auditor                                                              |
//! | audit log of O        | read                      | owner, auditor; org-admin, org-auditor of O                                |
//! | provisioner daemons of O | read, create, update, delete | owner, template-admin; org-admin, org-template-admin of O          |
//! | provisioner jobs of O | read                      | owner; org-admin, org-template-admin of O                                  |
//! | workspace proxies (regions) | read                | everyone                                                                    |
//! | workspace proxies     | create, update, delete    | owner                                                                       |
//!
//! Custom organization roles add Coder's organization-level permissions
//! (`{negate, resource_type, action}`) to the table, for the objects of
//! their organization whoever owns them ([`check::coder_object`] names the
//! table's objects as Coder's resource types): a permission there allows
//! what the table refuses; a negation there refuses what organization roles,
//! ownership and ACLs allow (the workspace creation ban counts as one), but
//! not what site roles allow — Coder's levels, site over organization over
//! user. A dormant workspace never starts or connects whatever they say.
//! Whoever may create a workspace may read it back and queue its first
//! build ([`Subject::created`]).
//!
//! `POST /authcheck` asks this table about sets of objects named by Coder's
//! resource types (see [`check`]): a field the check leaves out matches
//! nobody, so only rights that hold whatever it would be answer yes.
//!
//! System workers hold no roles; their rights are their own rows:
//!
//! | worker                | object      | actions                                                  |
//! |-----------------------|-------------|----------------------------------------------------------|
//! | lifecycle executor    | template    | read, use                                                |
//! | lifecycle executor    | workspace   | read, start (never while dormant), stop, update, delete  |
//! | provisioner           | provisioner job | read, update (acquire, log, complete)                |
//! | provisioner           | file        | read (a job's source archive)                            |
//! | provisioner           | template, unattached version | read, update (an import's result)       |
//! | provisioner           | workspace   | read, update (a build's resources, agents, deadlines)    |

pub mod check;
pub mod guard;

pub use check::Permission;
pub use guard::{act, Act, Allowed, Guarded};

/// A proof that the subject may read the object.
pub type Readable<T> = Allowed<T, act::Read>;

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::error::ApiError;

pub const OWNER: &str = "owner";
pub const MEMBER: &str = "member";
pub const TEMPLATE_ADMIN: &str = "template-admin";
pub const USER_ADMIN: &str = "user-admin";
pub const AUDITOR: &str = "auditor";
pub const ORG_ADMIN: &str = "organization-admin";
pub const ORG_MEMBER: &str = "organization-member";
pub const ORG_TEMPLATE_ADMIN: &str = "organization-template-admin";
pub const ORG_USER_ADMIN: &str = "organization-user-admin";
pub const ORG_AUDITOR: &str = "organization-auditor";
pub const ORG_WORKSPACE_CREATION_BAN: &str = "organization-workspace-creation-ban";

/// Site roles: (name, display name).
pub const SITE_ROLES: &[(&str, &str)] = &[
    (OWNER, "Owner"),
    (MEMBER, "Member"),
    (TEMPLATE_ADMIN, "Template Admin"),
    (USER_ADMIN, "User Admin"),
    (AUDITOR, "Auditor"),
];

/// Organization roles: (name, display name).
pub const ORG_ROLES: &[(&str, &str)] = &[
    (ORG_ADMIN, "Organization Admin"),
    (ORG_MEMBER, ""),
    (ORG_TEMPLATE_ADMIN, "Organization Template Admin"),
    (ORG_USER_ADMIN, "Organization User Admin"),
    (ORG_AUDITOR, "Organization Auditor"),
    (
        ORG_WORKSPACE_CREATION_BAN,
        "Organization Workspace Creation Ban",
    ),
];

/// Whether an account with these site roles is an administrator, for the
/// rules that treat them apart (Coder's `--max-admin-token-lifetime`).
pub fn is_administrator(site_roles: &[String]) -> bool {
    site_roles.iter().any(|r| r == OWNER)
}

pub fn site_role_display(name: &str) -> Option<&'static str> {
    SITE_ROLES.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

pub fn org_role_display(name: &str) -> Option<&'static str> {
    ORG_ROLES.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

/// Background workers that act on their own account, each with exactly the
/// rights its work needs (Coder's `AsAutostart`, `AsProvisionerd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// The lifecycle executor: reads workspaces and templates, and starts,
    /// stops, marks dormant and deletes workspaces.
    Lifecycle,
    /// The built-in provisioner daemon: runs queued jobs, reading their
    /// source files and writing imports' and builds' results.
    Provisioner,
}

/// Who is asking: the authenticated user with every role and group they hold,
/// or a system worker. Cheap to clone (shared parts), since every request gets
/// one from the authentication cache.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The user; nil for a system worker.
    pub user_id: Uuid,
    pub username: Arc<str>,
    /// The API key that authenticated this request.
    pub key_id: Arc<str>,
    /// Explicit site roles (member is implicit).
    pub site_roles: Arc<Vec<String>>,
    /// Organization id → explicit org roles, for every org the user is in.
    pub orgs: Arc<HashMap<Uuid, Vec<String>>>,
    /// Groups the user is in, Everyone groups included.
    pub groups: Arc<Vec<Uuid>>,
    /// Organization id → the permissions the custom roles the user holds
    /// there grant in it (Coder's organization-level permissions); only
    /// organizations where the user holds a custom role have an entry.
    pub org_perms: Arc<HashMap<Uuid, Vec<Permission>>>,
    pub system: Option<System>,
}

/// The read rule for workspaces in a form a query can apply: everything, or
/// own workspaces in member organizations, everything in organizations the
/// subject administers, and workspaces shared with the subject (directly or
/// through a group) in member organizations.
#[derive(Debug, Clone)]
pub struct WorkspaceVisibility {
    pub all: bool,
    pub user: Uuid,
    pub member_of: Vec<Uuid>,
    pub reads_all_in: Vec<Uuid>,
    pub groups: Vec<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
    ReadPersonal,
    UpdatePersonal,
    Assign,
    Use,
    Start,
    Stop,
    Share,
    /// Marking a workspace as a favorite: its owner's own list order.
    Favorite,
    /// Reaching a workspace's processes: SSH, apps, port forwarding.
    Connect,
    /// A template's usage insights.
    ViewInsights,
}

/// An access-control list: (user or group id, role), role `use` or `admin`.
pub type Acl = [(Uuid, String)];

#[derive(Debug, Clone, Copy)]
pub enum Object<'a> {
    /// A user and the organizations they belong to.
    User {
        id: Uuid,
        orgs: &'a [Uuid],
    },
    /// A user's password, beyond update_personal on the user: only owners
    /// change an owner's password (Coder's rule).
    Password {
        user: Uuid,
        of_owner: bool,
    },
    /// A template version not yet attached to a template, by its creator.
    UnattachedVersion {
        org: Uuid,
        created_by: Uuid,
    },
    ApiKey {
        owner: Uuid,
    },
    Organization {
        id: Uuid,
    },
    OrganizationMember {
        org: Uuid,
    },
    Group {
        org: Uuid,
        id: Uuid,
    },
    SiteRole {
        name: &'a str,
    },
    OrgRole {
        org: Uuid,
        name: &'a str,
    },
    File {
        owner: Uuid,
    },
    Template {
        org: Uuid,
        users: &'a Acl,
        groups: &'a Acl,
    },
    Workspace {
        org: Uuid,
        owner: Uuid,
        users: &'a Acl,
        groups: &'a Acl,
        dormant: bool,
    },
    /// A provisioner job (an import or a build) of `org`; only the
    /// provisioner acts on jobs directly, users through their versions and
    /// builds.
    ProvisionerJob {
        org: Uuid,
    },
    /// Creating a workspace owned by `owner` in `org`.
    NewWorkspace {
        org: Uuid,
        owner: Uuid,
    },
    /// The deployment as a whole: its diagnostics and its database (a
    /// backup holds every row, password hashes included).
    Deployment,
    /// The site roles as a whole (listing, assigning some role).
    SiteRoles,
    /// The organization roles of `org` as a whole.
    OrgRoles {
        org: Uuid,
    },
    /// The deployment's configuration, appearance included.
    DeploymentConfig,
    DeploymentStats,
    /// The audit log of `org` (nil: the deployment's).
    AuditLog {
        org: Uuid,
    },
    ProvisionerDaemons {
        org: Uuid,
    },
    /// Workspace proxies: the regions a deployment offers.
    WorkspaceProxies,
}

impl Subject {
    /// The subject a background worker acts as.
    pub fn system(worker: System) -> Subject {
        Subject {
            user_id: Uuid::nil(),
            username: match worker {
                System::Lifecycle => "lifecycle-executor",
                System::Provisioner => "provisionerd",
            }
            .into(),
            key_id: "".into(),
            site_roles: Arc::default(),
            orgs: Arc::default(),
            groups: Arc::default(),
            org_perms: Arc::default(),
            system: Some(worker),
        }
    }

    fn site(&self, role: &str) -> bool {
        self.site_roles.iter().any(|r| r == role)
    }

    fn site_any(&self, roles: &[&str]) -> bool {
        roles.iter().any(|r| self.site(r))
    }

    /// Whether the subject is this user: Coder's rules about acting on one's
    /// own account (no deleting, suspending or re-roling oneself; one's own
    /// password change names the old one) ask this.
    pub fn is(&self, user: Uuid) -> bool {
        self.system.is_none() && self.user_id == user
    }

    /// Whether the subject is a member of `org` (and so holds org-member).
    pub fn in_org(&self, org: Uuid) -> bool {
        self.orgs.contains_key(&org)
    }

    fn org_any(&self, org: Uuid, roles: &[&str]) -> bool {
        self.orgs
            .get(&org)
            .is_some_and(|held| held.iter().any(|r| roles.contains(&r.as_str())))
    }

    pub fn is_owner(&self) -> bool {
        self.site(OWNER)
    }

    /// May the subject do `action` on `object`: the decision table of this
    /// module, and the subject's custom roles at the level of the object's
    /// organization as Coder's policy weighs them: a grant there allows, a
    /// negation there refuses what only organization roles, ownership or an
    /// ACL would allow, and site roles win over both.
    pub fn can(&self, action: Action, object: Object) -> bool {
        match self.custom_level(action, object) {
            check::Level::Abstain => self.table(action, object),
            check::Level::Allow => true,
            check::Level::Deny => self.site_level().table(action, object),
        }
    }

    /// The subject with its site roles alone: no organization, group,
    /// ownership or custom role.
    fn site_level(&self) -> Subject {
        Subject {
            user_id: Uuid::max(),
            orgs: Arc::default(),
            groups: Arc::default(),
            org_perms: Arc::default(),
            ..self.clone()
        }
    }

    /// The decision table of this module (built-in roles, ownership, ACLs).
    fn table(&self, action: Action, object: Object) -> bool {
        use Action::*;
        use Object::*;
        if let Some(worker) = self.system {
            return match (worker, object, action) {
                (System::Lifecycle, Template { .. }, Read | Use) => true,
                (System::Lifecycle, Workspace { dormant, .. }, Start) => !dormant,
                (System::Lifecycle, Workspace { .. }, Read | Stop | Update | Delete) => true,
                (System::Provisioner, ProvisionerJob { .. }, Read | Update) => true,
                (System::Provisioner, File { .. }, Read) => true,
                (
                    System::Provisioner,
                    Template { .. } | UnattachedVersion { .. },
                    Read | Update,
                ) => true,
                (System::Provisioner, Workspace { .. }, Read | Update) => true,
                _ => false,
            };
        }
        const READERS: &[&str] = &[OWNER, USER_ADMIN, TEMPLATE_ADMIN, AUDITOR];
        const ORG_READERS: &[&str] = &[ORG_ADMIN, ORG_USER_ADMIN, ORG_AUDITOR, ORG_TEMPLATE_ADMIN];
        const ORG_MANAGERS: &[&str] = &[ORG_ADMIN, ORG_USER_ADMIN];
        match (object, action) {
            (User { id, orgs }, Read) => {
                id == self.user_id
                    || self.site_any(READERS)
                    || orgs.iter().any(|o| self.org_any(*o, ORG_READERS))
            }
            (User { .. }, Create | Update | Delete) => self.site_any(&[OWNER, USER_ADMIN]),
            (User { id, .. }, ReadPersonal) => id == self.user_id || self.is_owner(),
            (User { id, .. }, UpdatePersonal) => {
                id == self.user_id || self.site_any(&[OWNER, USER_ADMIN])
            }
            (Password { user, of_owner }, Update) => {
                !of_owner || user == self.user_id || self.is_owner()
            }
            (ApiKey { owner }, Create | Read | Delete) => owner == self.user_id || self.is_owner(),
            (Organization { id }, Read) => self.in_org(id) || self.site_any(READERS),
            (Organization { .. }, Create | Delete) => self.is_owner(),
            (Organization { id }, Update) => self.is_owner() || self.org_any(id, &[ORG_ADMIN]),
            (OrganizationMember { org }, Read) => self.in_org(org) || self.site_any(READERS),
            (OrganizationMember { org }, Create | Update | Delete) => {
                self.site_any(&[OWNER, USER_ADMIN]) || self.org_any(org, ORG_MANAGERS)
            }
            (Group { org, id }, Read) => {
                self.groups.contains(&id)
                    || self.site_any(READERS)
                    || self.org_any(org, ORG_READERS)
            }
            (Group { org, .. }, Create | Update | Delete) => {
                self.site_any(&[OWNER, USER_ADMIN]) || self.org_any(org, ORG_MANAGERS)
            }
            (SiteRole { name }, Assign) => {
                self.is_owner() || (self.site(USER_ADMIN) && name == MEMBER)
            }
            (OrgRole { org, name }, Assign) => {
                self.is_owner()
                    || self.org_any(org, &[ORG_ADMIN])
                    || ((self.site(USER_ADMIN) || self.org_any(org, &[ORG_USER_ADMIN]))
                        && name != ORG_ADMIN
                        && org_role_display(name).is_some())
            }
            (File { owner }, Read) => {
                owner == self.user_id || self.site_any(&[OWNER, TEMPLATE_ADMIN])
            }
            (File { .. }, Create) => true,
            (Template { org, users, groups }, Read | Use) => {
                self.template_admin(org)
                    || (action == Read && (self.site(AUDITOR) || self.org_any(org, &[ORG_AUDITOR])))
                    || (self.in_org(org) && self.acl_role(users, groups).is_some())
            }
            (Template { org, .. }, Create | Delete) => self.template_admin(org),
            (Template { org, .. }, ViewInsights) => {
                self.template_admin(org) || self.site(AUDITOR) || self.org_any(org, &[ORG_AUDITOR])
            }
            (UnattachedVersion { org, created_by }, Read) => {
                self.template_admin(org) || created_by == self.user_id
            }
            (UnattachedVersion { org, .. }, Update) => self.template_admin(org),
            (Template { org, users, groups }, Update) => {
                self.template_admin(org)
                    || (self.in_org(org) && self.acl_role(users, groups) == Some("admin"))
            }
            (
                Workspace {
                    org,
                    owner,
                    users,
                    groups,
                    dormant,
                },
                action,
            ) => {
                let own = owner == self.user_id && self.in_org(org);
                let admin = self.is_owner() || self.org_any(org, &[ORG_ADMIN]);
                // Grants only count for members of the workspace's organization.
                let acl = if self.in_org(org) {
                    self.acl_role(users, groups)
                } else {
                    None
                };
                let banned = self.org_any(org, &[ORG_WORKSPACE_CREATION_BAN]);
                match action {
                    Read => {
                        own || admin
                            || self.site(TEMPLATE_ADMIN)
                            || self.org_any(org, &[ORG_TEMPLATE_ADMIN])
                            || acl.is_some()
                    }
                    Start if dormant => false,
                    Start | Stop => own || admin || acl.is_some(),
                    Update | Share => own || admin || acl == Some("admin"),
                    Favorite => owner == self.user_id,
                    // Coder's org admins hold every workspace action but
                    // SSH and app access.
                    Connect => !dormant && (own || self.is_owner() || acl.is_some()),
                    // Neither ACL role may delete (Coder's admin role is
                    // every action but delete).
                    Delete => (own && !banned) || admin,
                    _ => false,
                }
            }
            (Deployment, Read) => self.is_owner(),
            (NewWorkspace { org, owner }, Create) => {
                self.is_owner()
                    || self.org_any(org, &[ORG_ADMIN])
                    || (owner == self.user_id
                        && self.in_org(org)
                        && !self.org_any(org, &[ORG_WORKSPACE_CREATION_BAN]))
            }
            (SiteRoles, Read) => true,
            (SiteRoles, Assign) => self.site_any(&[OWNER, USER_ADMIN]),
            (OrgRoles { org }, Read) => self.in_org(org) || self.site_any(READERS),
            (OrgRoles { org }, Assign) => {
                self.site_any(&[OWNER, USER_ADMIN]) || self.org_any(org, ORG_MANAGERS)
            }
            (OrgRoles { org }, Create | Update | Delete) => {
                self.is_owner() || self.org_any(org, &[ORG_ADMIN])
            }
            (DeploymentConfig | DeploymentStats, Read) => self.site_any(&[OWNER, AUDITOR]),
            (DeploymentConfig, Update) => self.is_owner(),
            (AuditLog { org }, Read) => {
                self.site_any(&[OWNER, AUDITOR]) || self.org_any(org, &[ORG_ADMIN, ORG_AUDITOR])
            }
            (ProvisionerDaemons { org }, Read | Create | Update | Delete) => {
                self.template_admin(org)
            }
            (ProvisionerJob { org }, Read) => {
                self.is_owner() || self.org_any(org, &[ORG_ADMIN, ORG_TEMPLATE_ADMIN])
            }
            (WorkspaceProxies, Read) => true,
            (WorkspaceProxies, Create | Update | Delete) => self.is_owner(),
            _ => false,
        }
    }

    /// Site or organization template administrator of `org`.
    pub fn template_admin(&self, org: Uuid) -> bool {
        self.site_any(&[OWNER, TEMPLATE_ADMIN])
            || self.org_any(org, &[ORG_ADMIN, ORG_TEMPLATE_ADMIN])
    }

    /// The strongest role an ACL grants the subject, directly or through a
    /// group: `admin`, `use`, or none.
    fn acl_role(&self, users: &Acl, groups: &Acl) -> Option<&'static str> {
        let mut best = None;
        let granted = users
            .iter()
            .filter(|(id, _)| *id == self.user_id)
            .chain(groups.iter().filter(|(id, _)| self.groups.contains(id)));
        for (_, role) in granted {
            match role.as_str() {
                "admin" => return Some("admin"),
                "use" => best = Some("use"),
                _ => {}
            }
        }
        best
    }

    /// Refuses with Coder's 404: the object's existence is not revealed.
    pub fn require_visible(&self, action: Action, object: Object) -> Result<(), ApiError> {
        if self.can(action, object) {
            Ok(())
        } else {
            Err(ApiError::not_found())
        }
    }

    /// Refuses with Coder's generic 403 (the caller can see the object).
    pub fn require(&self, action: Action, object: Object) -> Result<(), ApiError> {
        if self.can(action, object) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// Which users a list may show: `None` for all, else the subject itself
    /// plus members of the returned organizations: those whose members the
    /// subject may read, and those where it may create workspaces for any
    /// owner, who need the owner picker (seed 004).
    pub fn visible_users(&self) -> Option<Vec<Uuid>> {
        if self.site_any(&[OWNER, USER_ADMIN, TEMPLATE_ADMIN, AUDITOR]) {
            return None;
        }
        Some(
            self.orgs
                .iter()
                .filter(|(org, roles)| {
                    roles.iter().any(|r| {
                        [ORG_ADMIN, ORG_USER_ADMIN, ORG_AUDITOR, ORG_TEMPLATE_ADMIN]
                            .contains(&r.as_str())
                    }) || self.creates_for_anyone(**org)
                })
                .map(|(o, _)| *o)
                .collect(),
        )
    }

    /// Whether the subject may create workspaces in `org` for any owner
    /// (Coder's `workspace:create` with owner `*`).
    pub fn creates_for_anyone(&self, org: Uuid) -> bool {
        self.can(
            Action::Create,
            Object::NewWorkspace {
                org,
                owner: Uuid::nil(),
            },
        )
    }

    /// Which workspaces the subject may read, as the workspace list applies it
    /// inside its query; it mirrors the `read` row of the table.
    pub fn workspace_visibility(&self) -> WorkspaceVisibility {
        let all = self.site_any(&[OWNER, TEMPLATE_ADMIN]);
        WorkspaceVisibility {
            all,
            user: self.user_id,
            member_of: self.orgs.keys().copied().collect(),
            // Organizations where the subject reads a workspace whoever
            // owns it: by its roles there, custom ones included.
            reads_all_in: self
                .orgs
                .keys()
                .filter(|org| {
                    self.can(
                        Action::Read,
                        Object::Workspace {
                            org: **org,
                            owner: Uuid::nil(),
                            users: &[],
                            groups: &[],
                            dormant: false,
                        },
                    )
                })
                .copied()
                .collect(),
            groups: (*self.groups).clone(),
        }
    }

    /// Organizations a list may show: `None` for all.
    pub fn visible_orgs(&self) -> Option<Vec<Uuid>> {
        if self.site_any(&[OWNER, USER_ADMIN, TEMPLATE_ADMIN, AUDITOR]) {
            None
        } else {
            Some(self.orgs.keys().copied().collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(site: &[&str], orgs: &[(Uuid, &[&str])]) -> Subject {
        Subject {
            user_id: Uuid::new_v4(),
            username: "s".into(),
            key_id: "k".into(),
            site_roles: Arc::new(site.iter().map(|s| s.to_string()).collect()),
            orgs: Arc::new(
                orgs.iter()
                    .map(|(o, r)| (*o, r.iter().map(|s| s.to_string()).collect()))
                    .collect(),
            ),
            groups: Arc::new(orgs.iter().map(|(o, _)| *o).collect()),
            org_perms: Arc::default(),
            system: None,
        }
    }

    #[test]
    fn only_owners_read_the_deployment() {
        let org = Uuid::new_v4();
        assert!(subject(&[OWNER], &[]).can(Action::Read, Object::Deployment));
        for roles in [&[USER_ADMIN][..], &[TEMPLATE_ADMIN], &[AUDITOR], &[]] {
            assert!(!subject(roles, &[(org, &[ORG_ADMIN])]).can(Action::Read, Object::Deployment));
        }
        assert!(!Subject::system(System::Lifecycle).can(Action::Read, Object::Deployment));
    }

    #[test]
    fn decision_table() {
        use Action::*;
        let org = Uuid::new_v4();
        let other_org = Uuid::new_v4();
        let other = Uuid::new_v4();
        let owner = subject(&[OWNER], &[(org, &[])]);
        let member = subject(&[], &[(org, &[])]);
        let user_admin = subject(&[USER_ADMIN], &[(org, &[])]);
        let auditor = subject(&[AUDITOR], &[]);
        let org_admin = subject(&[], &[(org, &[ORG_ADMIN])]);
        let org_user_admin = subject(&[], &[(org, &[ORG_USER_ADMIN])]);
        let in_org = [org];
        let target = Object::User {
            id: other,
            orgs: &in_org,
        };

        // Users.
        assert!(owner.can(Read, target));
        assert!(!member.can(Read, target));
        assert!(member.can(
            Read,
            Object::User {
                id: member.user_id,
                orgs: &[]
            }
        ));
        assert!(auditor.can(Read, target));
        assert!(org_admin.can(Read, target));
        assert!(!org_admin.can(
            Read,
            Object::User {
                id: other,
                orgs: &[other_org]
            }
        ));
        for s in [&owner, &user_admin] {
            assert!(s.can(Create, target) && s.can(Update, target) && s.can(Delete, target));
        }
        for s in [&member, &auditor, &org_admin] {
            assert!(!s.can(Create, target) && !s.can(Delete, target));
        }
        let owners_password = Object::Password {
            user: owner.user_id,
            of_owner: true,
        };
        assert!(!user_admin.can(Update, owners_password));
        assert!(owner.can(Update, owners_password));
        assert!(user_admin.can(
            Update,
            Object::Password {
                user: other,
                of_owner: false
            }
        ));
        assert!(!user_admin.can(ReadPersonal, target));
        assert!(owner.can(ReadPersonal, target));
        assert!(user_admin.can(UpdatePersonal, target));
        assert!(!member.can(UpdatePersonal, target));

        // API keys.
        let own_key = Object::ApiKey {
            owner: member.user_id,
        };
        assert!(member.can(Create, own_key));
        assert!(!member.can(Read, Object::ApiKey { owner: other }));
        assert!(owner.can(Delete, Object::ApiKey { owner: other }));
        assert!(!user_admin.can(Create, Object::ApiKey { owner: other }));

        // Organizations and members.
        assert!(member.can(Read, Object::Organization { id: org }));
        assert!(!member.can(Read, Object::Organization { id: other_org }));
        assert!(auditor.can(Read, Object::Organization { id: other_org }));
        assert!(owner.can(Create, Object::Organization { id: other_org }));
        assert!(!org_admin.can(Create, Object::Organization { id: other_org }));
        assert!(org_admin.can(Update, Object::Organization { id: org }));
        assert!(!member.can(Update, Object::Organization { id: org }));
        assert!(member.can(Read, Object::OrganizationMember { org }));
        assert!(!member.can(Create, Object::OrganizationMember { org }));
        assert!(org_user_admin.can(Delete, Object::OrganizationMember { org }));
        assert!(!org_user_admin.can(Delete, Object::OrganizationMember { org: other_org }));

        // Groups.
        let group = Uuid::new_v4();
        assert!(member.can(Read, Object::Group { org, id: org }));
        assert!(!member.can(Read, Object::Group { org, id: group }));
        assert!(org_admin.can(Create, Object::Group { org, id: group }));
        assert!(!member.can(Update, Object::Group { org, id: group }));

        // Role assignment.
        assert!(owner.can(Assign, Object::SiteRole { name: OWNER }));
        assert!(user_admin.can(Assign, Object::SiteRole { name: MEMBER }));
        assert!(!user_admin.can(Assign, Object::SiteRole { name: OWNER }));
        assert!(!member.can(Assign, Object::SiteRole { name: MEMBER }));
        assert!(org_admin.can(
            Assign,
            Object::OrgRole {
                org,
                name: ORG_ADMIN
            }
        ));
        assert!(!org_admin.can(
            Assign,
            Object::OrgRole {
                org: other_org,
                name: ORG_AUDITOR
            }
        ));
        assert!(org_user_admin.can(
            Assign,
            Object::OrgRole {
                org,
                name: ORG_AUDITOR
            }
        ));
        assert!(!org_user_admin.can(
            Assign,
            Object::OrgRole {
                org,
                name: ORG_ADMIN
            }
        ));

        // Visibility filters agree with the table.
        assert_eq!(owner.visible_users(), None);
        assert_eq!(member.visible_users(), Some(vec![]));
        assert_eq!(org_admin.visible_users(), Some(vec![org]));
        assert_eq!(member.visible_orgs(), Some(vec![org]));
    }

    /// Workspace rows: who reads, starts, updates, shares, favorites and
    /// deletes, through ownership, site and organization roles and ACLs.
    #[test]
    fn workspace_rows() {
        use Action::*;
        let org = Uuid::new_v4();
        let other_org = Uuid::new_v4();
        let owner_user = subject(&[], &[(org, &[])]);
        let user_grantee = subject(&[], &[(org, &[])]);
        let group_grantee = subject(&[], &[(org, &[])]);
        let outsider_grantee = subject(&[], &[(other_org, &[])]);
        let stranger = subject(&[], &[(org, &[])]);
        let site_owner = subject(&[OWNER], &[]);
        let org_admin = subject(&[], &[(org, &[ORG_ADMIN])]);
        let org_template_admin = subject(&[], &[(org, &[ORG_TEMPLATE_ADMIN])]);
        let other_org_admin = subject(&[], &[(other_org, &[ORG_ADMIN])]);
        let auditor = subject(&[AUDITOR], &[]);
        let banned_owner = subject(&[], &[(org, &[ORG_WORKSPACE_CREATION_BAN])]);
        let group = Uuid::new_v4();
        let mut group_member = group_grantee.clone();
        group_member.groups = Arc::new(vec![org, group]);
        let users = vec![
            (user_grantee.user_id, "admin".to_string()),
            (outsider_grantee.user_id, "admin".to_string()),
        ];
        let groups = vec![(group, "use".to_string())];
        let ws = |owner: Uuid, dormant: bool| Object::Workspace {
            org,
            owner,
            users: &users,
            groups: &groups,
            dormant,
        };
        let live = ws(owner_user.user_id, false);
        let asleep = ws(owner_user.user_id, true);

        // (subject, read, start, stop, update, share, favorite, delete)
        let rows: [(&str, &Subject, [bool; 7]); 10] = [
            ("owner of the workspace", &owner_user, [true; 7]),
            (
                "user ACL admin",
                &user_grantee,
                [true, true, true, true, true, false, false],
            ),
            (
                "group ACL use",
                &group_member,
                [true, true, true, false, false, false, false],
            ),
            ("admin grant outside the org", &outsider_grantee, [false; 7]),
            ("member of the org", &stranger, [false; 7]),
            (
                "site owner",
                &site_owner,
                [true, true, true, true, true, false, true],
            ),
            (
                "org admin",
                &org_admin,
                [true, true, true, true, true, false, true],
            ),
            (
                "org template-admin",
                &org_template_admin,
                [true, false, false, false, false, false, false],
            ),
            ("admin of another org", &other_org_admin, [false; 7]),
            ("auditor", &auditor, [false; 7]),
        ];
        let actions = [Read, Start, Stop, Update, Share, Favorite, Delete];
        for (who, s, want) in rows {
            for (action, want) in actions.iter().zip(want) {
                assert_eq!(s.can(*action, live), want, "{who} {action:?}");
            }
        }
        // Dormant workspaces do not start, for anyone.
        assert!(!owner_user.can(Start, asleep) && !site_owner.can(Start, asleep));
        assert!(owner_user.can(Stop, asleep));
        // A member banned from creating workspaces may not delete their own.
        let theirs = ws(banned_owner.user_id, false);
        assert!(banned_owner.can(Read, theirs) && !banned_owner.can(Delete, theirs));
        // Creating for someone else takes an admin of the organization.
        let for_other = Object::NewWorkspace {
            org,
            owner: owner_user.user_id,
        };
        assert!(!stranger.can(Create, for_other));
        assert!(org_admin.can(Create, for_other) && site_owner.can(Create, for_other));
        assert!(!other_org_admin.can(Create, for_other));
        assert!(!banned_owner.can(
            Create,
            Object::NewWorkspace {
                org,
                owner: banned_owner.user_id
            }
        ));
    }

    /// Template rows: read and use through ACLs, update through an admin
    /// grant, create and delete by template administrators only.
    #[test]
    fn template_rows() {
        use Action::*;
        let org = Uuid::new_v4();
        let other_org = Uuid::new_v4();
        let user_admin_grantee = subject(&[], &[(org, &[])]);
        let everyone = subject(&[], &[(org, &[])]);
        let not_granted = subject(&[], &[(org, &[])]);
        let template_admin = subject(&[TEMPLATE_ADMIN], &[]);
        let org_template_admin = subject(&[], &[(org, &[ORG_TEMPLATE_ADMIN])]);
        let other_org_template_admin = subject(&[], &[(other_org, &[ORG_TEMPLATE_ADMIN])]);
        let org_auditor = subject(&[], &[(org, &[ORG_AUDITOR])]);
        // The Everyone group's id is the organization's.
        let users = vec![(user_admin_grantee.user_id, "admin".to_string())];
        let groups = vec![(org, "use".to_string())];
        let t = Object::Template {
            org,
            users: &users,
            groups: &groups,
        };
        let private = Object::Template {
            org,
            users: &[],
            groups: &[],
        };
        // (subject, read, use, update, create, delete)
        let rows: [(&str, &Subject, [bool; 5]); 5] = [
            (
                "ACL admin",
                &user_admin_grantee,
                [true, true, true, false, false],
            ),
            (
                "Everyone group use",
                &everyone,
                [true, true, false, false, false],
            ),
            ("site template-admin", &template_admin, [true; 5]),
            ("org template-admin", &org_template_admin, [true; 5]),
            (
                "template-admin of another org",
                &other_org_template_admin,
                [false; 5],
            ),
        ];
        for (who, s, want) in rows {
            for (action, want) in [Read, Use, Update, Create, Delete].iter().zip(want) {
                assert_eq!(s.can(*action, t), want, "{who} {action:?}");
            }
        }
        assert!(!not_granted.can(Read, private));
        assert!(org_template_admin.can(Read, private));
        // Auditors read what they are not granted, and use nothing by it.
        assert!(org_auditor.can(Read, private) && !org_auditor.can(Use, private));
        // Unattached versions: their creator reads them, template admins
        // change them.
        let v = Object::UnattachedVersion {
            org,
            created_by: not_granted.user_id,
        };
        assert!(not_granted.can(Read, v) && !not_granted.can(Update, v));
        assert!(org_template_admin.can(Update, v) && !other_org_template_admin.can(Read, v));
    }

    /// System workers hold exactly their own rows, nothing a user holds.
    #[test]
    fn system_subjects_hold_only_their_rows() {
        use Action::*;
        let org = Uuid::new_v4();
        let lifecycle = Subject::system(System::Lifecycle);
        let provisioner = Subject::system(System::Provisioner);
        let ws = |dormant| Object::Workspace {
            org,
            owner: Uuid::new_v4(),
            users: &[],
            groups: &[],
            dormant,
        };
        let job = Object::ProvisionerJob { org };
        let file = Object::File {
            owner: Uuid::new_v4(),
        };
        let template = Object::Template {
            org,
            users: &[],
            groups: &[],
        };
        // Lifecycle: starts (not dormant ones), stops and deletes
        // workspaces; never touches jobs or files.
        assert!(lifecycle.can(Start, ws(false)) && !lifecycle.can(Start, ws(true)));
        assert!(lifecycle.can(Stop, ws(true)) && lifecycle.can(Delete, ws(false)));
        assert!(lifecycle.can(Use, template) && !lifecycle.can(Update, template));
        assert!(!lifecycle.can(Update, job) && !lifecycle.can(Read, file));
        // Provisioner: runs jobs, reads their files, writes results; never
        // starts, stops or deletes a workspace on its own.
        assert!(provisioner.can(Read, job) && provisioner.can(Update, job));
        assert!(provisioner.can(Read, file) && !provisioner.can(Create, file));
        assert!(provisioner.can(Update, template) && !provisioner.can(Delete, template));
        assert!(provisioner.can(Update, ws(false)));
        for a in [Start, Stop, Delete, Share, Favorite] {
            assert!(!provisioner.can(a, ws(false)), "{a:?}");
        }
        // Neither is anyone: no user, organization or role.
        for s in [&lifecycle, &provisioner] {
            assert!(!s.is(Uuid::nil()));
            assert!(!s.can(
                Read,
                Object::User {
                    id: Uuid::nil(),
                    orgs: &[]
                }
            ));
            assert!(!s.can(Read, Object::Organization { id: org }));
            assert!(!s.can(
                Create,
                Object::NewWorkspace {
                    org,
                    owner: Uuid::nil()
                }
            ));
            assert!(!s.can(Assign, Object::SiteRole { name: MEMBER }));
        }
    }
}
