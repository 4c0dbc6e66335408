//! Coder's names for resources and actions (`rbac.Resource*`,
//! `policy.Action*`), as `POST /authcheck` sends them, mapped onto the
//! decision table. A check names a set of objects of one type; what it
//! leaves out (owner, organization, id) matches nobody, so the answer is
//! yes only for rights that hold whatever it would be. Types and actions
//! warren has no rows for answer no, as Coder's RBAC denies what no role
//! grants.

use uuid::Uuid;

use super::{Action, Object, Subject};

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
    use crate::authz::{AUDITOR, ORG_ADMIN, ORG_TEMPLATE_ADMIN, OWNER, TEMPLATE_ADMIN, USER_ADMIN};

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
