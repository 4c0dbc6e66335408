//! The route × actor authorization matrix. Every route of warren's route
//! table (`warren::api::ROUTES`) is called by every kind of caller, and the
//! answer must be Coder's: 401 without valid credentials, 2xx when the
//! caller's roles allow the action, and otherwise 404 where Coder hides
//! that the object exists or 403 where the caller can already see it.
//!
//! The expected answers are derived from the route's declared policy by
//! [`allowed`], written to read like Coder's role table; the few routes where
//! Coder answers otherwise say so in their row. A route without a row fails
//! the test, so the matrix always covers the whole table.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use warren::api::{openapi, Deny, Policy, Resource, ROUTES};
use warren::authz::Action;

use crate::common::*;
use crate::snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Anonymous,
    /// A member of the default organization who owns the workspace W.
    Alice,
    /// Another member, with no grant on W.
    Bob,
    /// Granted `use` on W through its ACL.
    Carol,
    /// Granted `admin` on W through its ACL.
    Dave,
    /// `organization-admin` of the default organization.
    Erin,
    /// `organization-template-admin` of another organization (and a plain
    /// member of the default one).
    Frank,
    UserAdmin,
    Auditor,
    Owner,
    Suspended,
    /// W's agent, with its agent token.
    AgentToken,
    /// Holds the custom role "operator" of the default organization:
    /// `workspace` `read` and `create` at organization level, so any
    /// member's workspaces, and nothing else beyond a member's rights.
    Grace,
}

use Who::*;

const ACTORS: [Who; 13] = [
    Anonymous, Alice, Bob, Carol, Dave, Erin, Frank, UserAdmin, Auditor, Owner, Suspended,
    AgentToken, Grace,
];

impl Who {
    /// Holds a valid user session.
    fn signed_in(self) -> bool {
        !matches!(self, Anonymous | Suspended | AgentToken)
    }
}

/// Coder's built-in roles applied to the objects of the world below: may
/// `who` do `action` on the `resource` the route names?
fn allowed(resource: Resource, action: Action, who: Who) -> bool {
    use Action::*;
    use Resource::*;
    let site_readers = matches!(who, Owner | UserAdmin | Auditor);
    match (resource, action) {
        // Users (the path names Alice, or a fresh member of the default org).
        (User, Read) => matches!(who, Alice | Erin) || site_readers,
        (User, Create | Update | Delete) => matches!(who, Owner | UserAdmin),
        (User, ReadPersonal) => matches!(who, Alice | Owner),
        (User, UpdatePersonal) => matches!(who, Alice | Owner | UserAdmin),
        // Site roles: the row grants `auditor`, which only owners may assign
        // (user admins may assign `member` alone).
        (User, Assign) => matches!(who, Owner),
        // Alice's API keys: only Alice and owners.
        (ApiKey, _) => matches!(who, Alice | Owner),
        // The default organization: every actor is a member.
        (Organization, Read) => true,
        (Organization, Update) => matches!(who, Owner | Erin),
        (Organization, Create | Delete) => matches!(who, Owner),
        (Member, Read) => true,
        (Member, Create | Update | Delete | Assign) => matches!(who, Owner | UserAdmin | Erin),
        // The default organization's roles: its members list them; its
        // admins and owners manage its custom roles.
        (Role, Read) => true,
        (Role, Create | Update | Delete) => matches!(who, Owner | Erin),
        // The group "devs" of the default organization, with Alice in it.
        (Group, Read) => matches!(who, Alice | Erin) || site_readers,
        (Group, Create | Update | Delete) => matches!(who, Owner | UserAdmin | Erin),
        // A file the owner uploaded for template T: its uploader, site
        // template admins, and whoever may update a template built from it.
        (File, Read) => matches!(who, Owner | Erin),
        // Template T: the Everyone group may use it; admins of its
        // organization and the site manage it.
        (Template | TemplateVersion, Read) => true,
        (Template | TemplateVersion, Create | Update | Delete) => matches!(who, Owner | Erin),
        // Alice's workspace W: Carol may use it, Dave administer it.
        (Workspace | WorkspaceBuild | WorkspaceAgent, Read) => {
            matches!(who, Alice | Carol | Dave | Erin | Owner | Grace)
        }
        (Workspace, Start | Stop) => matches!(who, Alice | Carol | Dave | Erin | Owner),
        (Workspace | WorkspaceBuild | WorkspaceAgent, Update) | (Workspace, Share) => {
            matches!(who, Alice | Dave | Erin | Owner)
        }
        (Workspace, Delete) => matches!(who, Alice | Erin | Owner),
        // Creating one for Alice: herself, and whoever may create
        // workspaces for any owner in the organization.
        (Workspace, Create) => matches!(who, Alice | Erin | Owner | Grace),
        (Workspace, Favorite) => matches!(who, Alice),
        // The deployment's appearance: everyone reads it, owners change it.
        (Deployment, Read) => true,
        (Deployment, Update) => matches!(who, Owner),
        // The deployment's operations (diagnostics, backups): owners only.
        (Operations, Read) => matches!(who, Owner),
        (r, a) => panic!("no rule for {a:?} on {r:?}"),
    }
}

/// Whether a refused caller can see the object the path names (and so gets
/// 403 rather than 404 where the route answers 403).
fn sees(resource: Resource, action: Action, who: Who) -> bool {
    use Resource::*;
    match (resource, action) {
        // Keys hang under their user.
        (ApiKey, _) => allowed(User, Action::Read, who),
        // Creating: the parent (organization, user, template) is what the
        // path names; Coder refuses the creation itself with 403.
        (_, Action::Create) => true,
        (Member, _) => allowed(Organization, Action::Read, who),
        // Every signed-in user knows the deployment exists.
        (Deployment | Operations, _) => true,
        (r, _) => allowed(r, Action::Read, who),
    }
}

/// The concrete request one actor sends for one route.
struct Call {
    path: String,
    body: Option<Value>,
    /// Replaces the actor's own token (a throwaway session for logout).
    token: Option<String>,
}

impl Call {
    fn get(path: String) -> Call {
        Call {
            path,
            body: None,
            token: None,
        }
    }

    fn with(path: String, body: Value) -> Call {
        Call {
            path,
            body: Some(body),
            token: None,
        }
    }
}

/// How a route is exercised, and where Coder's answer departs from the rule.
struct Row {
    method: &'static str,
    route: &'static str,
    call: fn(&World, Who) -> Call,
    /// Statuses that mean "allowed" (default: any 2xx).
    ok: &'static [u16],
    /// Exact answers for some actors, where Coder's differs from the rule.
    except: &'static [(Who, u16)],
    transport: Transport,
    /// With `follow=true` the route streams over a WebSocket instead.
    follow: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Transport {
    Http,
    /// Server-sent events: the status, then the first data event.
    Sse,
    /// The status of the upgrade, then the first data message.
    WebSocket,
}

/// Answers of routes aimed at a fresh member: Alice cannot see other
/// members (404), the organization admin can but may not act (403).
const VICTIM: &[(Who, u16)] = &[(Alice, 404), (Erin, 403)];

fn row(method: &'static str, route: &'static str, call: fn(&World, Who) -> Call) -> Row {
    Row {
        method,
        route,
        call,
        ok: &[],
        except: &[],
        transport: Transport::Http,
        follow: false,
    }
}

impl Row {
    fn ok(mut self, ok: &'static [u16]) -> Row {
        self.ok = ok;
        self
    }

    fn except(mut self, except: &'static [(Who, u16)]) -> Row {
        self.except = except;
        self
    }

    fn sse(mut self) -> Row {
        self.transport = Transport::Sse;
        self
    }

    fn ws(mut self) -> Row {
        self.transport = Transport::WebSocket;
        self
    }

    fn follows(mut self) -> Row {
        self.follow = true;
        self
    }
}

/// The seeded deployment every call runs against.
struct World {
    s: Server,
    owner: crate::common::Owner,
    tokens: HashMap<Who, String>,
    ids: HashMap<Who, String>,
    org: String,
    other_org: String,
    template: String,
    template_name: String,
    version: String,
    version_name: String,
    /// A later version of T (whose previous version is T's first).
    later_version_name: String,
    file: String,
    workspace: String,
    workspace_name: String,
    build: String,
    build_number: i64,
    agent: String,
    group: String,
    alice_key: String,
    counter: std::cell::Cell<u32>,
}

impl World {
    fn build() -> World {
        let s = Server::start_with(|c| c.allow_workspace_renames = true);
        let owner = s.setup();
        let org = owner.org.clone();
        let mut tokens = HashMap::new();
        let mut ids = HashMap::new();
        tokens.insert(Owner, owner.token.clone());
        ids.insert(Owner, owner.id.clone());
        for (who, name, roles) in [
            (Alice, "alice", &[][..]),
            (Bob, "bob", &[]),
            (Carol, "carol", &[]),
            (Dave, "dave", &[]),
            (Erin, "erin", &[]),
            (Frank, "frank", &[]),
            (Grace, "grace", &[]),
            (UserAdmin, "uadmin", &["user-admin"]),
            (Auditor, "auditor", &["auditor"]),
            (Suspended, "sam", &[]),
        ] {
            let u = s.user(&owner, name, roles);
            tokens.insert(who, u.token);
            ids.insert(who, u.id);
        }
        s.put(
            &format!("/api/v2/organizations/{org}/members/{}/roles", ids[&Erin]),
            &owner.token,
            json!({"roles": ["organization-admin"]}),
        )
        .ok(200);
        let other = s.post(
            "/api/v2/organizations",
            &owner.token,
            json!({"name": "other"}),
        );
        let other = other.ok(201)["id"].as_str().unwrap().to_string();
        s.post(
            &format!("/api/v2/organizations/{other}/members/{}", ids[&Frank]),
            &owner.token,
            json!({}),
        )
        .ok(200);
        s.put(
            &format!(
                "/api/v2/organizations/{other}/members/{}/roles",
                ids[&Frank]
            ),
            &owner.token,
            json!({"roles": ["organization-template-admin"]}),
        )
        .ok(200);
        // Grace's custom role.
        s.post(
            &format!("/api/v2/organizations/{org}/members/roles"),
            &owner.token,
            json!({"name": "operator", "display_name": "Operator",
                   "organization_permissions": [
                       {"negate": false, "resource_type": "workspace", "action": "read"},
                       {"negate": false, "resource_type": "workspace", "action": "create"}]}),
        )
        .ok(200);
        s.put(
            &format!("/api/v2/organizations/{org}/members/{}/roles", ids[&Grace]),
            &owner.token,
            json!({"roles": ["operator"]}),
        )
        .ok(200);
        // Template T, its version and file.
        let t = s.template(&owner, "tee");
        let template = t["id"].as_str().unwrap().to_string();
        let version = t["active_version_id"].as_str().unwrap().to_string();
        let v = s.get(&format!("/api/v2/templateversions/{version}"), &owner.token);
        let v = v.ok(200).clone();
        let file = v["job"]["file_id"].as_str().unwrap().to_string();
        let later = s.import(&owner, "docker", Some(&template));
        let later_version_name = later["name"].as_str().unwrap().to_string();
        // Alice's workspace W, shared with Carol (use) and Dave (admin).
        let w = s.workspace(&tokens[&Alice], &template, "wdub");
        let workspace = w["id"].as_str().unwrap().to_string();
        s.patch(
            &format!("/api/v2/workspaces/{workspace}/acl"),
            &tokens[&Alice],
            json!({"user_roles": {ids[&Carol].clone(): "use", ids[&Dave].clone(): "admin"}}),
        )
        .ok(204);
        let build = w["latest_build"]["id"].as_str().unwrap().to_string();
        let build_number = w["latest_build"]["build_number"].as_i64().unwrap();
        let agent = w["latest_build"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["agents"].as_array().cloned().unwrap_or_default())
            .next()
            .expect("W has an agent")["id"]
            .as_str()
            .unwrap()
            .to_string();
        // Its metadata was watched while it was simulated (the dashboard
        // open on W): the simulation reported each item once.
        let mut watch = Sse::open(
            &s,
            &format!("/api/v2/workspaceagents/{agent}/watch-metadata"),
            &tokens[&Alice],
        );
        watch.next_data(Duration::from_secs(5)).unwrap();
        drop(watch);
        let r = s.post(
            &format!("/api/v2/workspaceagents/{agent}/token"),
            &tokens[&Alice],
            json!({}),
        );
        tokens.insert(
            AgentToken,
            r.ok(201)["agent_token"].as_str().unwrap().to_string(),
        );
        // The group "devs" with Alice in it.
        let g = s.post(
            &format!("/api/v2/organizations/{org}/groups"),
            &owner.token,
            json!({"name": "devs"}),
        );
        let group = g.ok(201)["id"].as_str().unwrap().to_string();
        s.patch(
            &format!("/api/v2/groups/{group}"),
            &owner.token,
            json!({"add_users": [ids[&Alice]]}),
        )
        .ok(200);
        // One of Alice's API tokens.
        let k = s.post(
            "/api/v2/users/me/keys/tokens",
            &tokens[&Alice],
            json!({"token_name": "ci"}),
        );
        let alice_key = k.ok(201)["key"].as_str().unwrap()[..10].to_string();
        // Members may cancel their own builds on T.
        s.patch(
            &format!("/api/v2/templates/{template}"),
            &owner.token,
            json!({"allow_user_cancel_workspace_jobs": true}),
        )
        .ok(200);
        // Sam is suspended last, so that his session exists but is refused.
        s.put(
            &format!("/api/v2/users/{}/status/suspend", ids[&Suspended]),
            &owner.token,
            json!({}),
        )
        .ok(200);
        World {
            s,
            owner,
            tokens,
            ids,
            org,
            other_org: other,
            template,
            template_name: "tee".into(),
            version,
            version_name: v["name"].as_str().unwrap().to_string(),
            later_version_name,
            file,
            workspace,
            workspace_name: "wdub".into(),
            build,
            build_number,
            agent,
            group,
            alice_key,
            counter: std::cell::Cell::new(0),
        }
    }

    /// The world's ids by name, for readable and stable snapshots.
    fn known_ids(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .ids
            .iter()
            .map(|(who, id)| (id.clone(), format!("user:{who:?}").to_lowercase()))
            .collect();
        for (id, label) in [
            (&self.org, "organization:coder"),
            (&self.other_org, "organization:other"),
            (&self.template, "template:tee"),
            (&self.version, "version:tee"),
            (&self.file, "file:tee"),
            (&self.workspace, "workspace:wdub"),
            (&self.build, "build:wdub"),
            (&self.agent, "agent:wdub"),
            (&self.group, "group:devs"),
        ] {
            out.push((id.clone(), label.into()));
        }
        out
    }

    fn alice(&self) -> &str {
        &self.ids[&Alice]
    }

    /// A name no other call used.
    fn fresh(&self, prefix: &str) -> String {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        format!("{prefix}{n}")
    }

    /// A new member of the default organization (a victim for changes).
    fn fresh_user(&self) -> String {
        let name = self.fresh("victim");
        self.s.user(&self.owner, &name, &[]).id
    }

    /// A new custom role of the default organization, by name.
    fn fresh_role(&self) -> String {
        let name = self.fresh("role");
        self.s
            .post(
                &format!("/api/v2/organizations/{}/members/roles", self.org),
                &self.owner.token,
                role_body(&name),
            )
            .ok(200);
        name
    }

    /// A new workspace of Alice's shared like W.
    fn fresh_workspace(&self) -> Value {
        let name = self.fresh("ws");
        let w = self
            .s
            .workspace(&self.tokens[&Alice], &self.template, &name);
        let id = w["id"].as_str().unwrap();
        self.s
            .patch(
                &format!("/api/v2/workspaces/{id}/acl"),
                &self.tokens[&Alice],
                json!({"user_roles": {self.ids[&Carol].clone(): "use", self.ids[&Dave].clone(): "admin"}}),
            )
            .ok(204);
        w
    }

    fn ws(&self, suffix: &str) -> String {
        format!("/api/v2/workspaces/{}{suffix}", self.workspace)
    }

    fn token_of(&self, who: Who) -> Option<&str> {
        self.tokens.get(&who).map(String::as_str)
    }

    /// Sends one call and returns the status and, over plain HTTP, the
    /// body with its content type; of an accepted stream, its first data
    /// event as JSON.
    fn send(&self, row: &Row, call: &Call, who: Who) -> (u16, Option<Answer>) {
        let token = call.token.as_deref().or(self.token_of(who));
        match row.transport {
            Transport::Http => {
                let body = call.body.as_ref().map(|b| b.to_string());
                let r = self
                    .s
                    .request(row.method, &call.path, token, &[], body.as_deref());
                let answer = Answer {
                    content_type: r.header("content-type").unwrap_or("").to_string(),
                    text: r.text,
                };
                (r.status, Some(answer))
            }
            Transport::Sse => sse_first(&self.s, &call.path, token),
            Transport::WebSocket => ws_first(&self.s, &call.path, token),
        }
    }
}

/// The first event of a server-sent event stream that is not a ping, as
/// `{"event": kind, "data": body}`; `None` when the stream is refused.
fn sse_first(s: &Server, path: &str, token: Option<&str>) -> (u16, Option<Answer>) {
    let mut sse = Sse::open_as(s, path, token);
    if sse.status != 200 {
        return (sse.status, None);
    }
    let (event, data) = sse
        .next_data(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("{path}: no event"));
    let answer = Answer {
        content_type: "text/event-stream".into(),
        text: json!({"event": event, "data": data}).to_string(),
    };
    (sse.status, Some(answer))
}

/// The status of a WebSocket upgrade (101 when accepted) and the first
/// message that is not a ping.
fn ws_first(s: &Server, path: &str, token: Option<&str>) -> (u16, Option<Answer>) {
    let url = format!("ws://{}{path}", s.url("").trim_start_matches("http://"));
    let mut req =
        tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    if let Some(t) = token {
        req.headers_mut()
            .insert("Coder-Session-Token", t.parse().unwrap());
    }
    match tungstenite::connect(req) {
        Ok((mut socket, resp)) => {
            if let tungstenite::stream::MaybeTlsStream::Plain(t) = socket.get_ref() {
                t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            }
            let first = loop {
                match socket.read() {
                    Ok(tungstenite::Message::Text(t)) => {
                        let v: Value = serde_json::from_str(&t).unwrap();
                        if v["type"] != "ping" {
                            break t.to_string();
                        }
                    }
                    Ok(_) => continue,
                    Err(e) => panic!("{path}: no message ({e})"),
                }
            };
            let _ = socket.close(None);
            let answer = Answer {
                content_type: "websocket".into(),
                text: first,
            };
            (resp.status().as_u16(), Some(answer))
        }
        Err(tungstenite::Error::Http(resp)) => (resp.status().as_u16(), None),
        Err(e) => panic!("{path}: {e}"),
    }
}

/// A custom role granting workspace `read` in its organization.
fn role_body(name: &str) -> Value {
    json!({"name": name, "display_name": "Reader",
           "organization_permissions": [
               {"negate": false, "resource_type": "workspace", "action": "read"}]})
}

/// One row per route of the table.
fn rows() -> Vec<Row> {
    vec![
        row("GET", "/healthz", |_, _| Call::get("/healthz".into())),
        row("GET", "/readyz", |_, _| Call::get("/readyz".into())),
        row("GET", "/api/v2/openapi.json", |_, _| {
            Call::get("/api/v2/openapi.json".into())
        }),
        row("GET", "/api/v2/warren/diagnostics", |_, _| {
            Call::get("/api/v2/warren/diagnostics".into())
        }),
        {
            let backup = row("POST", "/api/v2/warren/backup", |_, _| {
                Call::get("/api/v2/warren/backup".into())
            });
            // A PostgreSQL database is backed up with pg_dump: 501.
            if postgres_admin().is_some() {
                backup.except(&[(Owner, 501)])
            } else {
                backup
            }
        },
        row("GET", "/", |_, _| Call::get("/".into())),
        row("GET", "/static/{path:.*}", |_, _| {
            Call::get("/static/app.js".into())
        }),
        row("GET", "/api/v2/buildinfo", |_, _| {
            Call::get("/api/v2/buildinfo".into())
        }),
        // Setup is over: everyone learns that.
        row("GET", "/api/v2/users/first", |_, _| {
            Call::get("/api/v2/users/first".into())
        }),
        row("POST", "/api/v2/users/first", |_, _| {
            Call::with(
                "/api/v2/users/first".into(),
                json!({"email": "x@example.com", "username": "x", "password": PASSWORD}),
            )
        })
        .ok(&[409]),
        row("POST", "/api/v2/users/login", |_, _| {
            Call::with(
                "/api/v2/users/login".into(),
                json!({"email": "alice@example.com", "password": PASSWORD}),
            )
        }),
        row("POST", "/api/v2/users/logout", |w, who| {
            // A throwaway session, so the actor's own stays usable.
            let mut c = Call::get("/api/v2/users/logout".into());
            let email = match who {
                Alice | Bob | Carol | Dave | Erin | Frank | Grace => {
                    Some(format!("{who:?}@example.com").to_lowercase())
                }
                UserAdmin => Some("uadmin@example.com".into()),
                Auditor => Some("auditor@example.com".into()),
                Owner => Some("admin@example.com".into()),
                _ => None,
            };
            c.token = email.map(|e| w.s.login(&e, PASSWORD));
            c
        }),
        row("GET", "/api/v2/users/authmethods", |_, _| {
            Call::get("/api/v2/users/authmethods".into())
        }),
        row("GET", "/api/v2/users/roles", |_, _| {
            Call::get("/api/v2/users/roles".into())
        }),
        row("GET", "/api/v2/users", |_, _| {
            Call::get("/api/v2/users".into())
        }),
        row("POST", "/api/v2/users", |w, _| {
            let name = w.fresh("new");
            Call::with(
                "/api/v2/users".into(),
                json!({"email": format!("{name}@example.com"), "username": name,
                       "password": PASSWORD, "organization_ids": [w.org]}),
            )
        }),
        row("GET", "/api/v2/users/{user}", |w, _| {
            Call::get(format!("/api/v2/users/{}", w.alice()))
        }),
        row("DELETE", "/api/v2/users/{user}", |w, _| {
            Call::get(format!("/api/v2/users/{}", w.fresh_user()))
        })
        .except(VICTIM),
        row("PUT", "/api/v2/users/{user}/status/suspend", |w, _| {
            Call::with(
                format!("/api/v2/users/{}/status/suspend", w.fresh_user()),
                json!({}),
            )
        })
        .except(VICTIM),
        row("PUT", "/api/v2/users/{user}/status/activate", |w, _| {
            Call::with(
                format!("/api/v2/users/{}/status/activate", w.fresh_user()),
                json!({}),
            )
        })
        .except(VICTIM),
        row("GET", "/api/v2/users/{user}/roles", |w, _| {
            Call::get(format!("/api/v2/users/{}/roles", w.alice()))
        }),
        row("PUT", "/api/v2/users/{user}/roles", |w, _| {
            // Granting `auditor`, which only owners may grant.
            Call::with(
                format!("/api/v2/users/{}/roles", w.fresh_user()),
                json!({"roles": ["auditor"]}),
            )
        })
        .except(VICTIM),
        row("PUT", "/api/v2/users/{user}/profile", |w, _| {
            Call::with(
                format!("/api/v2/users/{}/profile", w.alice()),
                json!({"username": "alice", "name": "Alice"}),
            )
        }),
        row("PUT", "/api/v2/users/{user}/password", |w, who| {
            // A new password signs its user out everywhere, so the target is
            // a fresh member; "Alice" is that member changing their own.
            let name = w.fresh("pw");
            let victim = w.s.user(&w.owner, &name, &[]);
            let mut c = Call::with(
                format!("/api/v2/users/{}/password", victim.id),
                json!({"password": "AnotherSecurePass#42", "old_password": PASSWORD}),
            );
            if who == Alice {
                c.token = Some(victim.token);
            }
            c
        })
        .except(&[(Erin, 403)]),
        row("GET", "/api/v2/users/{user}/gitsshkey", |w, _| {
            Call::get(format!("/api/v2/users/{}/gitsshkey", w.alice()))
        }),
        row("PUT", "/api/v2/users/{user}/gitsshkey", |w, _| {
            Call::with(format!("/api/v2/users/{}/gitsshkey", w.alice()), json!({}))
        }),
        row("GET", "/api/v2/users/{user}/organizations", |w, _| {
            Call::get(format!("/api/v2/users/{}/organizations", w.alice()))
        }),
        row("POST", "/api/v2/users/{user}/workspaces", |w, _| {
            Call::with(
                format!("/api/v2/users/{}/workspaces", w.alice()),
                json!({"template_id": w.template, "name": w.fresh("made")}),
            )
        }),
        row(
            "GET",
            "/api/v2/users/{user}/workspace/{workspacename}",
            |w, _| {
                Call::get(format!(
                    "/api/v2/users/{}/workspace/{}",
                    w.alice(),
                    w.workspace_name
                ))
            },
        ),
        row(
            "GET",
            "/api/v2/users/{user}/workspace/{workspacename}/builds/{buildnumber}",
            |w, _| {
                Call::get(format!(
                    "/api/v2/users/{}/workspace/{}/builds/{}",
                    w.alice(),
                    w.workspace_name,
                    w.build_number
                ))
            },
        ),
        row(
            "GET",
            "/api/v2/users/{user}/organizations/{organizationname}",
            |w, _| Call::get(format!("/api/v2/users/{}/organizations/coder", w.alice())),
        ),
        row("POST", "/api/v2/users/{user}/keys", |w, _| {
            Call::with(format!("/api/v2/users/{}/keys", w.alice()), json!({}))
        }),
        row("GET", "/api/v2/users/{user}/keys/tokens", |w, _| {
            Call::get(format!("/api/v2/users/{}/keys/tokens", w.alice()))
        }),
        row("POST", "/api/v2/users/{user}/keys/tokens", |w, _| {
            Call::with(
                format!("/api/v2/users/{}/keys/tokens", w.alice()),
                json!({"token_name": w.fresh("tok")}),
            )
        }),
        row(
            "GET",
            "/api/v2/users/{user}/keys/tokens/tokenconfig",
            |w, _| {
                Call::get(format!(
                    "/api/v2/users/{}/keys/tokens/tokenconfig",
                    w.alice()
                ))
            },
        ),
        row(
            "GET",
            "/api/v2/users/{user}/keys/tokens/{keyname}",
            |w, _| Call::get(format!("/api/v2/users/{}/keys/tokens/ci", w.alice())),
        ),
        row("GET", "/api/v2/users/{user}/keys/{keyid}", |w, _| {
            Call::get(format!("/api/v2/users/{}/keys/{}", w.alice(), w.alice_key))
        }),
        row("DELETE", "/api/v2/users/{user}/keys/{keyid}", |w, _| {
            let k = w.s.post(
                &format!("/api/v2/users/{}/keys/tokens", w.alice()),
                &w.owner.token,
                json!({"token_name": w.fresh("del")}),
            );
            let id = k.ok(201)["key"].as_str().unwrap()[..10].to_string();
            Call::get(format!("/api/v2/users/{}/keys/{id}", w.alice()))
        }),
        // Bob's quota (he owns no workspace): he reads his own, Alice may
        // not read other members.
        row("GET", "/api/v2/workspace-quota/{user}", |w, _| {
            Call::get(format!("/api/v2/workspace-quota/{}", w.ids[&Bob]))
        })
        .except(&[(Alice, 404), (Bob, 200)]),
        row(
            "GET",
            "/api/v2/organizations/{organization}/members/{user}/workspace-quota",
            |w, _| {
                Call::get(format!(
                    "/api/v2/organizations/{}/members/{}/workspace-quota",
                    w.org, w.ids[&Bob]
                ))
            },
        )
        .except(&[(Alice, 404), (Bob, 200)]),
        row("POST", "/api/v2/files", |_, _| {
            // A body that is not an archive is refused after authentication.
            Call::with("/api/v2/files".into(), json!({}))
        })
        .ok(&[400]),
        row("GET", "/api/v2/files/{fileID}", |w, _| {
            Call::get(format!("/api/v2/files/{}", w.file))
        }),
        row("GET", "/api/v2/organizations", |_, _| {
            Call::get("/api/v2/organizations".into())
        }),
        row("POST", "/api/v2/organizations", |w, _| {
            Call::with(
                "/api/v2/organizations".into(),
                json!({"name": w.fresh("org")}),
            )
        }),
        row("GET", "/api/v2/organizations/{organization}", |w, _| {
            Call::get(format!("/api/v2/organizations/{}", w.org))
        }),
        row("PATCH", "/api/v2/organizations/{organization}", |w, _| {
            Call::with(
                format!("/api/v2/organizations/{}", w.org),
                json!({"display_name": "Coder"}),
            )
        }),
        row("DELETE", "/api/v2/organizations/{organization}", |w, _| {
            let o = w.s.post(
                "/api/v2/organizations",
                &w.owner.token,
                json!({"name": w.fresh("gone")}),
            );
            let id = o.ok(201)["id"].as_str().unwrap().to_string();
            // Every actor is made a member, so that only roles decide.
            for who in [Alice, Bob, Carol, Dave, Erin, Frank, UserAdmin, Auditor, Grace] {
                w.s.post(
                    &format!("/api/v2/organizations/{id}/members/{}", w.ids[&who]),
                    &w.owner.token,
                    json!({}),
                )
                .ok(200);
            }
            Call::get(format!("/api/v2/organizations/{id}"))
        }),
        row(
            "GET",
            "/api/v2/organizations/{organization}/members",
            |w, _| Call::get(format!("/api/v2/organizations/{}/members", w.org)),
        ),
        row(
            "GET",
            "/api/v2/organizations/{organization}/paginated-members",
            |w, _| Call::get(format!("/api/v2/organizations/{}/paginated-members", w.org)),
        ),
        row(
            "GET",
            "/api/v2/organizations/{organization}/members/roles",
            |w, _| Call::get(format!("/api/v2/organizations/{}/members/roles", w.org)),
        ),
        // Custom roles granting what organization admins hold.
        row(
            "POST",
            "/api/v2/organizations/{organization}/members/roles",
            |w, _| {
                Call::with(
                    format!("/api/v2/organizations/{}/members/roles", w.org),
                    role_body(&w.fresh("role")),
                )
            },
        ),
        row(
            "PUT",
            "/api/v2/organizations/{organization}/members/roles",
            |w, _| {
                let name = w.fresh_role();
                let mut body = role_body(&name);
                body["display_name"] = json!("Renamed");
                Call::with(
                    format!("/api/v2/organizations/{}/members/roles", w.org),
                    body,
                )
            },
        ),
        row(
            "DELETE",
            "/api/v2/organizations/{organization}/members/roles/{roleName}",
            |w, _| {
                let name = w.fresh_role();
                Call::get(format!(
                    "/api/v2/organizations/{}/members/roles/{name}",
                    w.org
                ))
            },
        ),
        row(
            "POST",
            "/api/v2/organizations/{organization}/members/{user}",
            |w, _| {
                // A user of the other organization, not yet a member of this one.
                let name = w.fresh("joiner");
                w.s.post(
                    "/api/v2/users",
                    &w.owner.token,
                    json!({"email": format!("{name}@example.com"), "username": name,
                           "password": PASSWORD, "organization_ids": [w.other_org]}),
                )
                .ok(201);
                Call::with(
                    format!("/api/v2/organizations/{}/members/{name}", w.org),
                    json!({}),
                )
            },
        ),
        row(
            "DELETE",
            "/api/v2/organizations/{organization}/members/{user}",
            |w, _| {
                let victim = w.fresh_user();
                Call::get(format!("/api/v2/organizations/{}/members/{victim}", w.org))
            },
        ),
        row(
            "PUT",
            "/api/v2/organizations/{organization}/members/{user}/roles",
            |w, _| {
                let victim = w.fresh_user();
                Call::with(
                    format!("/api/v2/organizations/{}/members/{victim}/roles", w.org),
                    json!({"roles": ["organization-auditor"]}),
                )
            },
        ),
        row(
            "POST",
            "/api/v2/organizations/{organization}/members/{user}/workspaces",
            |w, _| {
                Call::with(
                    format!(
                        "/api/v2/organizations/{}/members/{}/workspaces",
                        w.org,
                        w.alice()
                    ),
                    json!({"template_id": w.template, "name": w.fresh("orgmade")}),
                )
            },
        ),
        row(
            "GET",
            "/api/v2/organizations/{organization}/members/{user}/workspaces/available-users",
            |w, _| {
                Call::get(format!(
                    "/api/v2/organizations/{}/members/me/workspaces/available-users",
                    w.org
                ))
            },
        ),
        row(
            "POST",
            "/api/v2/organizations/{organization}/templateversions",
            |w, _| {
                let v = w.s.get(
                    &format!("/api/v2/templateversions/{}", w.version),
                    &w.owner.token,
                );
                let file = v.ok(200)["job"]["file_id"].as_str().unwrap().to_string();
                Call::with(
                    format!("/api/v2/organizations/{}/templateversions", w.org),
                    json!({"storage_method": "file", "file_id": file, "provisioner": "terraform",
                           "template_id": w.template}),
                )
            },
        ),
        row(
            "GET",
            "/api/v2/organizations/{organization}/templates/examples",
            |w, _| {
                Call::get(format!(
                    "/api/v2/organizations/{}/templates/examples",
                    w.org
                ))
            },
        ),
        row(
            "GET",
            "/api/v2/organizations/{organization}/templates",
            |w, _| Call::get(format!("/api/v2/organizations/{}/templates", w.org)),
        ),
        row(
            "POST",
            "/api/v2/organizations/{organization}/templates",
            |w, _| {
                Call::with(
                    format!("/api/v2/organizations/{}/templates", w.org),
                    json!({"name": w.fresh("tpl"), "template_version_id": w.fresh_version()}),
                )
            },
        ),
        row(
            "GET",
            "/api/v2/organizations/{organization}/templates/{templatename}",
            |w, _| {
                Call::get(format!(
                    "/api/v2/organizations/{}/templates/{}",
                    w.org, w.template_name
                ))
            },
        ),
        row(
            "GET",
            "/api/v2/organizations/{organization}/templates/{templatename}/versions/{templateversionname}",
            |w, _| {
                Call::get(format!(
                    "/api/v2/organizations/{}/templates/{}/versions/{}",
                    w.org, w.template_name, w.version_name
                ))
            },
        ),
        row(
            "GET",
            "/api/v2/organizations/{organization}/templates/{templatename}/versions/{templateversionname}/previous",
            |w, _| {
                Call::get(format!(
                    "/api/v2/organizations/{}/templates/{}/versions/{}/previous",
                    w.org, w.template_name, w.later_version_name
                ))
            },
        ),
        row("GET", "/api/v2/templates", |_, _| {
            Call::get("/api/v2/templates".into())
        }),
        row("GET", "/api/v2/templates/examples", |_, _| {
            Call::get("/api/v2/templates/examples".into())
        }),
        row("GET", "/api/v2/templates/{template}", |w, _| {
            Call::get(format!("/api/v2/templates/{}", w.template))
        }),
        row("PATCH", "/api/v2/templates/{template}", |w, _| {
            Call::with(
                format!("/api/v2/templates/{}", w.template),
                json!({"description": w.fresh("d")}),
            )
        }),
        row("DELETE", "/api/v2/templates/{template}", |w, _| {
            let r = w.s.post(
                &format!("/api/v2/organizations/{}/templates", w.org),
                &w.owner.token,
                json!({"name": w.fresh("doomed"), "template_version_id": w.fresh_version()}),
            );
            Call::get(format!(
                "/api/v2/templates/{}",
                r.ok(201)["id"].as_str().unwrap()
            ))
        }),
        row("GET", "/api/v2/templates/{template}/acl", |w, _| {
            Call::get(format!("/api/v2/templates/{}/acl", w.template))
        }),
        row("PATCH", "/api/v2/templates/{template}/acl", |w, _| {
            Call::with(
                format!("/api/v2/templates/{}/acl", w.template),
                json!({"group_perms": {w.group.clone(): "use"}}),
            )
        }),
        row("GET", "/api/v2/templates/{template}/acl/available", |w, _| {
            Call::get(format!("/api/v2/templates/{}/acl/available", w.template))
        }),
        row("GET", "/api/v2/templates/{template}/versions", |w, _| {
            Call::get(format!("/api/v2/templates/{}/versions", w.template))
        }),
        row("PATCH", "/api/v2/templates/{template}/versions", |w, _| {
            Call::with(
                format!("/api/v2/templates/{}/versions", w.template),
                json!({"id": w.version}),
            )
        }),
        row(
            "GET",
            "/api/v2/templates/{template}/versions/{templateversionname}",
            |w, _| {
                Call::get(format!(
                    "/api/v2/templates/{}/versions/{}",
                    w.template, w.version_name
                ))
            },
        ),
        row(
            "GET",
            "/api/v2/templateversions/{templateversion}",
            |w, _| Call::get(format!("/api/v2/templateversions/{}", w.version)),
        ),
        row(
            "PATCH",
            "/api/v2/templateversions/{templateversion}",
            |w, _| {
                Call::with(
                    format!("/api/v2/templateversions/{}", w.version),
                    json!({"message": w.fresh("m")}),
                )
            },
        ),
        row(
            "GET",
            "/api/v2/templateversions/{templateversion}/rich-parameters",
            |w, _| {
                Call::get(format!(
                    "/api/v2/templateversions/{}/rich-parameters",
                    w.version
                ))
            },
        ),
        row(
            "GET",
            "/api/v2/templateversions/{templateversion}/presets",
            |w, _| Call::get(format!("/api/v2/templateversions/{}/presets", w.version)),
        ),
        row(
            "GET",
            "/api/v2/templateversions/{templateversion}/variables",
            |w, _| Call::get(format!("/api/v2/templateversions/{}/variables", w.version)),
        ),
        row(
            "GET",
            "/api/v2/templateversions/{templateversion}/resources",
            |w, _| Call::get(format!("/api/v2/templateversions/{}/resources", w.version)),
        ),
        row(
            "GET",
            "/api/v2/templateversions/{templateversion}/logs",
            |w, _| Call::get(format!("/api/v2/templateversions/{}/logs", w.version)),
        )
        .follows(),
        row(
            "PATCH",
            "/api/v2/templateversions/{templateversion}/cancel",
            |w, _| {
                Call::with(
                    format!("/api/v2/templateversions/{}/cancel", w.version),
                    json!({}),
                )
            },
        )
        // The import is long finished: allowed callers learn that.
        .ok(&[400]),
        row("GET", "/api/v2/workspaces", |_, _| {
            Call::get("/api/v2/workspaces".into())
        }),
        row("GET", "/api/v2/workspaces/watch", |_, _| {
            Call::get("/api/v2/workspaces/watch".into())
        })
        .sse(),
        row("GET", "/api/v2/workspaces/watch-ws", |_, _| {
            Call::get("/api/v2/workspaces/watch-ws".into())
        })
        .ws(),
        row("GET", "/api/v2/workspaces/{workspace}/watch", |w, _| {
            Call::get(w.ws("/watch"))
        })
        .sse(),
        row("GET", "/api/v2/workspaces/{workspace}/watch-ws", |w, _| {
            Call::get(w.ws("/watch-ws"))
        })
        .ws(),
        row("GET", "/api/v2/workspaces/{workspace}", |w, _| {
            Call::get(w.ws(""))
        }),
        row("PATCH", "/api/v2/workspaces/{workspace}", |w, _| {
            let fresh = w.fresh_workspace();
            Call::with(
                format!("/api/v2/workspaces/{}", fresh["id"].as_str().unwrap()),
                json!({"name": w.fresh("renamed")}),
            )
        }),
        row("PUT", "/api/v2/workspaces/{workspace}/autostart", |w, _| {
            Call::with(
                w.ws("/autostart"),
                json!({"schedule": "CRON_TZ=UTC 30 9 * * 1-5"}),
            )
        }),
        row("PUT", "/api/v2/workspaces/{workspace}/ttl", |w, _| {
            Call::with(w.ws("/ttl"), json!({"ttl_ms": 7_200_000}))
        }),
        row("PUT", "/api/v2/workspaces/{workspace}/extend", |w, _| {
            let deadline = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
            Call::with(w.ws("/extend"), json!({"deadline": deadline}))
        })
        // W runs with a TTL (set above, or not yet): both answers come after
        // authorization.
        .ok(&[200, 409]),
        row(
            "PUT",
            "/api/v2/workspaces/{workspace}/autoupdates",
            |w, _| Call::with(w.ws("/autoupdates"), json!({"automatic_updates": "never"})),
        ),
        row("PUT", "/api/v2/workspaces/{workspace}/dormant", |w, _| {
            let fresh = w.fresh_workspace();
            Call::with(
                format!(
                    "/api/v2/workspaces/{}/dormant",
                    fresh["id"].as_str().unwrap()
                ),
                json!({"dormant": true}),
            )
        }),
        row("PUT", "/api/v2/workspaces/{workspace}/favorite", |w, _| {
            Call::with(w.ws("/favorite"), json!({}))
        }),
        row(
            "DELETE",
            "/api/v2/workspaces/{workspace}/favorite",
            |w, _| Call::get(w.ws("/favorite")),
        ),
        row("POST", "/api/v2/workspaces/{workspace}/usage", |w, _| {
            Call::with(w.ws("/usage"), json!({}))
        }),
        row(
            "GET",
            "/api/v2/workspaces/{workspace}/resolve-autostart",
            |w, _| Call::get(w.ws("/resolve-autostart")),
        ),
        row("GET", "/api/v2/workspaces/{workspace}/timings", |w, _| {
            Call::get(w.ws("/timings"))
        }),
        row("GET", "/api/v2/workspaces/{workspace}/schedule", |w, _| {
            Call::get(w.ws("/schedule"))
        }),
        row("GET", "/api/v2/workspaces/{workspace}/acl", |w, _| {
            Call::get(w.ws("/acl"))
        }),
        row("PATCH", "/api/v2/workspaces/{workspace}/acl", |w, _| {
            let fresh = w.fresh_workspace();
            Call::with(
                format!("/api/v2/workspaces/{}/acl", fresh["id"].as_str().unwrap()),
                json!({"group_roles": {w.group.clone(): "use"}}),
            )
        }),
        row("DELETE", "/api/v2/workspaces/{workspace}/acl", |w, _| {
            let fresh = w.fresh_workspace();
            Call::get(format!(
                "/api/v2/workspaces/{}/acl",
                fresh["id"].as_str().unwrap()
            ))
        }),
        row("GET", "/api/v2/workspaces/{workspace}/builds", |w, _| {
            Call::get(w.ws("/builds"))
        }),
        row("POST", "/api/v2/workspaces/{workspace}/builds", |w, _| {
            let fresh = w.fresh_workspace();
            Call::with(
                format!(
                    "/api/v2/workspaces/{}/builds",
                    fresh["id"].as_str().unwrap()
                ),
                json!({"transition": "stop"}),
            )
        }),
        row("GET", "/api/v2/workspacebuilds/{workspacebuild}", |w, _| {
            Call::get(format!("/api/v2/workspacebuilds/{}", w.build))
        }),
        row(
            "PATCH",
            "/api/v2/workspacebuilds/{workspacebuild}/cancel",
            |w, _| {
                Call::with(
                    format!("/api/v2/workspacebuilds/{}/cancel", w.build),
                    json!({}),
                )
            },
        )
        // The build is long finished: allowed callers learn that.
        .ok(&[400]),
        row(
            "GET",
            "/api/v2/workspacebuilds/{workspacebuild}/logs",
            |w, _| Call::get(format!("/api/v2/workspacebuilds/{}/logs", w.build)),
        )
        .follows(),
        row(
            "GET",
            "/api/v2/workspacebuilds/{workspacebuild}/parameters",
            |w, _| Call::get(format!("/api/v2/workspacebuilds/{}/parameters", w.build)),
        ),
        row(
            "GET",
            "/api/v2/workspacebuilds/{workspacebuild}/resources",
            |w, _| Call::get(format!("/api/v2/workspacebuilds/{}/resources", w.build)),
        ),
        row(
            "GET",
            "/api/v2/workspacebuilds/{workspacebuild}/state",
            |w, _| Call::get(format!("/api/v2/workspacebuilds/{}/state", w.build)),
        ),
        row(
            "GET",
            "/api/v2/workspacebuilds/{workspacebuild}/timings",
            |w, _| Call::get(format!("/api/v2/workspacebuilds/{}/timings", w.build)),
        ),
        row(
            "POST",
            "/api/v2/workspaceagents/me/report-lifecycle",
            |_, _| {
                Call::with(
                    "/api/v2/workspaceagents/me/report-lifecycle".into(),
                    json!({"state": "ready", "changed_at": chrono::Utc::now().to_rfc3339()}),
                )
            },
        ),
        row("POST", "/api/v2/workspaceagents/me/startup", |_, _| {
            Call::with(
                "/api/v2/workspaceagents/me/startup".into(),
                json!({"version": "v2.29.0", "expanded_directory": "/home/coder", "subsystems": []}),
            )
        }),
        row("PATCH", "/api/v2/workspaceagents/me/app-status", |_, _| {
            Call::with(
                "/api/v2/workspaceagents/me/app-status".into(),
                json!({"app_slug": "code-server", "state": "working", "message": "matrix"}),
            )
        }),
        row("GET", "/api/v2/workspaceagents/me/gitsshkey", |_, _| {
            Call::get("/api/v2/workspaceagents/me/gitsshkey".into())
        }),
        row("GET", "/api/v2/workspaceagents/{workspaceagent}", |w, _| {
            Call::get(format!("/api/v2/workspaceagents/{}", w.agent))
        }),
        row(
            "POST",
            "/api/v2/workspaceagents/{workspaceagent}/token",
            |w, _| {
                // A fresh agent: issuing a token hands the agent over, and W's
                // agent must stay with the agent actor.
                let fresh = w.fresh_workspace();
                let agent = fresh["latest_build"]["resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|r| r["agents"].as_array().cloned().unwrap_or_default())
                    .next()
                    .unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                Call::with(format!("/api/v2/workspaceagents/{agent}/token"), json!({}))
            },
        ),
        row(
            "GET",
            "/api/v2/organizations/{organization}/groups",
            |w, _| Call::get(format!("/api/v2/organizations/{}/groups", w.org)),
        ),
        row(
            "POST",
            "/api/v2/organizations/{organization}/groups",
            |w, _| {
                Call::with(
                    format!("/api/v2/organizations/{}/groups", w.org),
                    json!({"name": w.fresh("grp")}),
                )
            },
        ),
        row(
            "GET",
            "/api/v2/organizations/{organization}/groups/{groupname}",
            |w, _| Call::get(format!("/api/v2/organizations/{}/groups/devs", w.org)),
        ),
        row("GET", "/api/v2/groups", |_, _| {
            Call::get("/api/v2/groups".into())
        }),
        row("GET", "/api/v2/groups/{group}", |w, _| {
            Call::get(format!("/api/v2/groups/{}", w.group))
        }),
        row("PATCH", "/api/v2/groups/{group}", |w, _| {
            Call::with(
                format!("/api/v2/groups/{}", w.group),
                json!({"display_name": w.fresh("Devs ")}),
            )
        }),
        row("DELETE", "/api/v2/groups/{group}", |w, _| {
            let g = w.s.post(
                &format!("/api/v2/organizations/{}/groups", w.org),
                &w.owner.token,
                json!({"name": w.fresh("temp")}),
            );
            let id = g.ok(201)["id"].as_str().unwrap().to_string();
            // Alice is a member, so that she can see the group she may not delete.
            w.s.patch(
                &format!("/api/v2/groups/{id}"),
                &w.owner.token,
                json!({"add_users": [w.alice()]}),
            )
            .ok(200);
            Call::get(format!("/api/v2/groups/{id}"))
        }),
    ]
    .into_iter()
    .chain(surface_rows())
    .collect()
}

/// Rows of the routes issue 14 added (authcheck, user settings, agent
/// reports and streams, ports, version archiving and dry runs, deployment).
fn surface_rows() -> Vec<Row> {
    vec![
        row("POST", "/api/v2/authcheck", |w, _| {
            Call::with(
                "/api/v2/authcheck".into(),
                json!({"checks": {
                    "viewAllUsers": {"object": {"resource_type": "user"}, "action": "read"},
                    "createWorkspace": {"object": {"resource_type": "workspace",
                        "organization_id": w.org, "owner_id": "me"}, "action": "create"},
                    "updateW": {"object": {"resource_type": "workspace", "resource_id": w.workspace},
                        "action": "update"},
                    "unknown": {"object": {"resource_type": "license"}, "action": "read"},
                }}),
            )
        }),
        row("POST", "/api/v2/users/validate-password", |_, _| {
            Call::with(
                "/api/v2/users/validate-password".into(),
                json!({"password": PASSWORD}),
            )
        }),
        row("GET", "/api/v2/users/{user}/login-type", |w, _| {
            Call::get(format!("/api/v2/users/{}/login-type", w.alice()))
        }),
        row("GET", "/api/v2/users/{user}/appearance", |w, _| {
            Call::get(format!("/api/v2/users/{}/appearance", w.alice()))
        }),
        row("PUT", "/api/v2/users/{user}/appearance", |w, _| {
            Call::with(
                format!("/api/v2/users/{}/appearance", w.alice()),
                json!({"theme_preference": "dark", "terminal_font": "fira-code"}),
            )
        }),
        row("GET", "/api/v2/users/{user}/autofill-parameters", |w, _| {
            Call::get(format!(
                "/api/v2/users/{}/autofill-parameters?template_id={}",
                w.alice(),
                w.template
            ))
        }),
        row("PATCH", "/api/v2/workspaceagents/me/logs", |_, _| {
            Call::with(
                "/api/v2/workspaceagents/me/logs".into(),
                json!({"logs": [{"created_at": chrono::Utc::now().to_rfc3339(),
                                 "output": "matrix", "level": "info"}]}),
            )
        }),
        row("POST", "/api/v2/workspaceagents/me/log-source", |_, _| {
            Call::with(
                "/api/v2/workspaceagents/me/log-source".into(),
                json!({"id": "5e1c3f0a-8b7d-4c2e-9f61-0a2b3c4d5e6f",
                       "display_name": "Matrix", "icon": "/emojis/1f9ea.png"}),
            )
        }),
        row("POST", "/api/v2/workspaceagents/me/metadata", |_, _| {
            Call::with(
                "/api/v2/workspaceagents/me/metadata".into(),
                json!({"metadata": [{"key": "0_cpu_usage", "value": "1/4 cores (25%)",
                                     "error": "", "age": 0,
                                     "collected_at": chrono::Utc::now().to_rfc3339()}]}),
            )
        }),
        row(
            "POST",
            "/api/v2/workspaceagents/me/listening-ports",
            |_, _| {
                Call::with(
                    "/api/v2/workspaceagents/me/listening-ports".into(),
                    json!({"ports": [{"process_name": "web", "network": "tcp", "port": 8080}]}),
                )
            },
        ),
        row(
            "GET",
            "/api/v2/workspaceagents/{workspaceagent}/logs",
            |w, _| {
                // The simulation's lines only: their ids follow W's build;
                // those the agent sent follow the rows before.
                let all = w.s.get(
                    &format!("/api/v2/workspaceagents/{}/logs", w.agent),
                    &w.owner.token,
                );
                let before = all
                    .ok(200)
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|l| l["output"] == "matrix")
                    .filter_map(|l| l["id"].as_i64())
                    .min()
                    .unwrap_or(0);
                Call::get(format!(
                    "/api/v2/workspaceagents/{}/logs?before={before}",
                    w.agent
                ))
            },
        ),
        row(
            "GET",
            "/api/v2/workspaceagents/{workspaceagent}/watch-metadata",
            |w, _| {
                Call::get(format!(
                    "/api/v2/workspaceagents/{}/watch-metadata",
                    w.agent
                ))
            },
        )
        .sse(),
        row(
            "GET",
            "/api/v2/workspaceagents/{workspaceagent}/watch-metadata-ws",
            |w, _| {
                Call::get(format!(
                    "/api/v2/workspaceagents/{}/watch-metadata-ws",
                    w.agent
                ))
            },
        )
        .ws(),
        row(
            "GET",
            "/api/v2/workspaceagents/{workspaceagent}/listening-ports",
            |w, _| {
                Call::get(format!(
                    "/api/v2/workspaceagents/{}/listening-ports",
                    w.agent
                ))
            },
        ),
        row(
            "GET",
            "/api/v2/workspaces/{workspace}/port-share",
            |w, _| Call::get(w.ws("/port-share")),
        ),
        row(
            "POST",
            "/api/v2/workspaces/{workspace}/port-share",
            |w, _| {
                w.open_ports();
                Call::with(
                    w.ws("/port-share"),
                    json!({"agent_name": "main", "port": 8080, "share_level": "authenticated",
                       "protocol": "http"}),
                )
            },
        ),
        row(
            "DELETE",
            "/api/v2/workspaces/{workspace}/port-share",
            |w, _| {
                w.open_ports();
                w.s.post(
                    &w.ws("/port-share"),
                    &w.owner.token,
                    json!({"agent_name": "main", "port": 8081, "share_level": "public",
                       "protocol": "https"}),
                )
                .ok(200);
                Call::with(
                    w.ws("/port-share"),
                    json!({"agent_name": "main", "port": 8081}),
                )
            },
        ),
        row(
            "GET",
            "/api/v2/templateversions/{templateversion}/external-auth",
            |w, _| {
                Call::get(format!(
                    "/api/v2/templateversions/{}/external-auth",
                    w.version
                ))
            },
        ),
        row(
            "POST",
            "/api/v2/templateversions/{templateversion}/archive",
            |w, _| {
                let v = w.s.import(&w.owner, "docker", Some(&w.template));
                Call::with(
                    format!(
                        "/api/v2/templateversions/{}/archive",
                        v["id"].as_str().unwrap()
                    ),
                    json!({}),
                )
            },
        ),
        row(
            "POST",
            "/api/v2/templateversions/{templateversion}/unarchive",
            |w, _| {
                let v = w.s.import(&w.owner, "docker", Some(&w.template));
                let id = v["id"].as_str().unwrap().to_string();
                w.s.post(
                    &format!("/api/v2/templateversions/{id}/archive"),
                    &w.owner.token,
                    json!({}),
                )
                .ok(200);
                Call::with(
                    format!("/api/v2/templateversions/{id}/unarchive"),
                    json!({}),
                )
            },
        ),
        row(
            "POST",
            "/api/v2/templates/{template}/versions/archive",
            |w, _| {
                Call::with(
                    format!("/api/v2/templates/{}/versions/archive", w.template),
                    json!({"all": false}),
                )
            },
        ),
        row(
            "POST",
            "/api/v2/templateversions/{templateversion}/dry-run",
            |w, _| {
                Call::with(
                    format!("/api/v2/templateversions/{}/dry-run", w.version),
                    json!({"workspace_name": "plan", "rich_parameter_values": []}),
                )
            },
        ),
        row(
            "GET",
            "/api/v2/templateversions/{templateversion}/dry-run/{jobID}",
            |w, who| Call::get(w.dry_run(who, "")),
        ),
        row(
            "GET",
            "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/resources",
            |w, who| Call::get(w.dry_run(who, "/resources")),
        ),
        row(
            "GET",
            "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/logs",
            |w, who| Call::get(w.dry_run(who, "/logs")),
        ),
        row(
            "PATCH",
            "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/cancel",
            |w, who| Call::with(w.dry_run(who, "/cancel"), json!({})),
        )
        // The dry run is long finished: allowed callers learn that.
        .ok(&[400]),
        row("GET", "/api/v2/deployment/ssh", |_, _| {
            Call::get("/api/v2/deployment/ssh".into())
        }),
        row("GET", "/api/v2/regions", |_, _| {
            Call::get("/api/v2/regions".into())
        }),
        row("GET", "/api/v2/updatecheck", |_, _| {
            Call::get("/api/v2/updatecheck".into())
        }),
        row("GET", "/api/v2/experiments", |_, _| {
            Call::get("/api/v2/experiments".into())
        }),
        row("GET", "/api/v2/experiments/available", |_, _| {
            Call::get("/api/v2/experiments/available".into())
        }),
        row("GET", "/api/v2/appearance", |_, _| {
            Call::get("/api/v2/appearance".into())
        }),
        row("PUT", "/api/v2/appearance", |_, _| {
            Call::with(
                "/api/v2/appearance".into(),
                json!({"application_name": "Warren", "logo_url": "",
                       "announcement_banners": [{"enabled": true, "message": "Maintenance at noon",
                                                 "background_color": "#004852"}]}),
            )
        }),
        row("GET", "/api/v2/entitlements", |_, _| {
            Call::get("/api/v2/entitlements".into())
        }),
    ]
}

impl World {
    /// Template T lets its workspaces' ports be shared publicly.
    fn open_ports(&self) {
        let r = self.s.patch(
            &format!("/api/v2/templates/{}", self.template),
            &self.owner.token,
            json!({"max_port_share_level": "public"}),
        );
        // 304 once it is set.
        assert!(matches!(r.status, 200 | 304), "{}", r.text);
    }

    /// A finished dry run of T's version by `who` (by the owner for those
    /// who cannot start one), and the path of its route with `suffix`.
    fn dry_run(&self, who: Who, suffix: &str) -> String {
        let token = if who.signed_in() {
            self.tokens[&who].clone()
        } else {
            self.owner.token.clone()
        };
        let r = self.s.post(
            &format!("/api/v2/templateversions/{}/dry-run", self.version),
            &token,
            json!({"workspace_name": "plan"}),
        );
        let job = r.ok(201)["id"].as_str().unwrap().to_string();
        self.s.settle();
        format!(
            "/api/v2/templateversions/{}/dry-run/{job}{suffix}",
            self.version
        )
    }
}

impl World {
    /// A new version of template T's source, imported.
    fn fresh_version(&self) -> String {
        self.s.import(&self.owner, "docker", None)["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// What one actor should get from one route.
fn expected(policy: Policy, r: &Row, who: Who) -> Expect {
    if let Some((_, status)) = r.except.iter().find(|(w, _)| *w == who) {
        return Expect::Status(*status);
    }
    match policy {
        Policy::Public => Expect::Allowed,
        Policy::SignedIn if who.signed_in() => Expect::Allowed,
        Policy::SignedIn => Expect::Status(401),
        Policy::Agent if who == AgentToken => Expect::Allowed,
        Policy::Agent => Expect::Status(401),
        Policy::On(..) if !who.signed_in() => Expect::Status(401),
        Policy::On(resource, action, deny) => {
            if allowed(resource, action, who) {
                Expect::Allowed
            } else if deny == Deny::Forbidden && sees(resource, action, who) {
                Expect::Status(403)
            } else {
                Expect::Status(404)
            }
        }
    }
}

#[derive(Debug, PartialEq)]
enum Expect {
    Allowed,
    Status(u16),
}

/// What an HTTP call answered.
struct Answer {
    content_type: String,
    text: String,
}

/// Whose success body a route's snapshot records: the first actor in this
/// order whose call succeeds.
const PREFERENCE: [Who; 13] = [
    Owner, Alice, Erin, Dave, Carol, UserAdmin, Auditor, Bob, Frank, Grace, AgentToken, Anonymous,
    Suspended,
];

/// Why a route's success answer has no JSON body to snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NoBody {
    /// 204 No Content.
    NoContent,
    /// A page, a script or plain text.
    NotJson,
    /// Opaque bytes as stored (a file, provisioner state).
    Download,
    /// 200 with an empty body, as Coder answers some deletions.
    EmptyOk,
}

/// Routes without a JSON success body, each with the reason.
const NOT_SNAPSHOTTED: &[(&str, &str, NoBody)] = &[
    ("GET", "/healthz", NoBody::NotJson),
    ("GET", "/readyz", NoBody::NotJson),
    ("POST", "/api/v2/warren/backup", NoBody::Download),
    ("GET", "/", NoBody::NotJson),
    ("GET", "/static/{path:.*}", NoBody::NotJson),
    ("GET", "/api/v2/files/{fileID}", NoBody::Download),
    (
        "GET",
        "/api/v2/workspacebuilds/{workspacebuild}/state",
        NoBody::Download,
    ),
    ("PUT", "/api/v2/users/{user}/password", NoBody::NoContent),
    (
        "DELETE",
        "/api/v2/users/{user}/keys/{keyid}",
        NoBody::NoContent,
    ),
    (
        "DELETE",
        "/api/v2/organizations/{organization}/members/{user}",
        NoBody::NoContent,
    ),
    (
        "DELETE",
        "/api/v2/organizations/{organization}/members/roles/{roleName}",
        NoBody::NoContent,
    ),
    ("PATCH", "/api/v2/workspaces/{workspace}", NoBody::NoContent),
    (
        "PUT",
        "/api/v2/workspaces/{workspace}/autostart",
        NoBody::NoContent,
    ),
    (
        "PUT",
        "/api/v2/workspaces/{workspace}/ttl",
        NoBody::NoContent,
    ),
    (
        "PUT",
        "/api/v2/workspaces/{workspace}/autoupdates",
        NoBody::NoContent,
    ),
    (
        "PUT",
        "/api/v2/workspaces/{workspace}/favorite",
        NoBody::NoContent,
    ),
    (
        "DELETE",
        "/api/v2/workspaces/{workspace}/favorite",
        NoBody::NoContent,
    ),
    (
        "POST",
        "/api/v2/workspaces/{workspace}/usage",
        NoBody::NoContent,
    ),
    (
        "PATCH",
        "/api/v2/workspaces/{workspace}/acl",
        NoBody::NoContent,
    ),
    (
        "DELETE",
        "/api/v2/workspaces/{workspace}/acl",
        NoBody::NoContent,
    ),
    (
        "POST",
        "/api/v2/workspaceagents/me/report-lifecycle",
        NoBody::NoContent,
    ),
    (
        "POST",
        "/api/v2/workspaceagents/me/metadata",
        NoBody::NoContent,
    ),
    (
        "POST",
        "/api/v2/workspaceagents/me/listening-ports",
        NoBody::NoContent,
    ),
    (
        "DELETE",
        "/api/v2/workspaces/{workspace}/port-share",
        NoBody::EmptyOk,
    ),
];

/// Routes whose success the matrix's world cannot reach (setup is over,
/// the probe body is no archive, jobs are long finished): the test named
/// records their success body under the route's snapshot name.
const SNAPSHOTTED_ELSEWHERE: &[(&str, &str, &str)] = &[
    // Thousands of lines: its index (operations, statuses, schemas) is
    // recorded instead.
    (
        "GET",
        "/api/v2/openapi.json",
        "openapi::the_document_is_served_with_coders_field_names",
    ),
    // Sizes and waits vary from run to run: the test masks them.
    (
        "GET",
        "/api/v2/warren/diagnostics",
        "operations::diagnostics_report_counts_and_health_to_owners_only",
    ),
    (
        "POST",
        "/api/v2/users/first",
        "foundation::first_user_setup",
    ),
    (
        "POST",
        "/api/v2/files",
        "templates::files_upload_dedup_download",
    ),
    (
        "PATCH",
        "/api/v2/templateversions/{templateversion}/cancel",
        "templates::version_endpoints_not_found_forbidden_and_pending",
    ),
    (
        "PATCH",
        "/api/v2/workspacebuilds/{workspacebuild}/cancel",
        "builds::cancel_mid_build",
    ),
    // W's build has no deadline: its extension answers 409.
    (
        "PUT",
        "/api/v2/workspaces/{workspace}/extend",
        "workspaces::autostart_ttl_extend_autoupdates",
    ),
    (
        "PATCH",
        "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/cancel",
        "version_extras::dry_run_is_canceled_while_it_runs",
    ),
    // Log ids count every job's logs before: a fresh server's are stable.
    (
        "GET",
        "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/logs",
        "version_extras::dry_run_plans_without_a_workspace",
    ),
];

/// Later events of streams, whose kinds the matrix's single read does not
/// reach: the test named records each under the route's snapshot name with
/// `_event_<kind>` appended.
const EVENTS_ELSEWHERE: &[(&str, &str, &str, &str)] = &[
    ("GET", "/api/v2/workspaces/watch", "added", LIST_CHANGES),
    ("GET", "/api/v2/workspaces/watch", "updated", LIST_CHANGES),
    ("GET", "/api/v2/workspaces/watch", "removed", LIST_CHANGES),
    ("GET", "/api/v2/workspaces/watch-ws", "added", LIST_CHANGES),
    (
        "GET",
        "/api/v2/workspaces/watch-ws",
        "updated",
        LIST_CHANGES,
    ),
    (
        "GET",
        "/api/v2/workspaces/watch-ws",
        "removed",
        LIST_CHANGES,
    ),
];

const LIST_CHANGES: &str = "watch::list_stream_change_events_match_their_snapshots";

#[test]
fn every_route_answers_every_actor_as_coder_does() {
    let world = World::build();
    let rows = rows();
    let mut failures = Vec::new();
    let mut snapshot_failures = Vec::new();
    let known = world.known_ids();
    let mut snapshots = 0;
    // Of which streams, recorded by their first data event.
    let mut stream_snapshots = 0;
    // Snapshots of the `follow=true` streams of routes with a JSON body.
    let mut follow_snapshots = 0;
    let mut cells = 0;
    for route in ROUTES {
        let Some(r) = rows
            .iter()
            .find(|r| r.method == route.method && r.route == route.path)
        else {
            failures.push(format!(
                "{} {}: no row in the matrix",
                route.method, route.path
            ));
            continue;
        };
        let mut successes: HashMap<Who, (u16, Option<Answer>, String)> = HashMap::new();
        for who in ACTORS {
            // Builds queued by earlier calls have run, so that every body
            // shows settled jobs.
            world.s.settle();
            let call = (r.call)(&world, who);
            let (status, answer) = world.send(r, &call, who);
            cells += 1;
            let expect = expected(route.policy, r, who);
            let ok = match expect {
                Expect::Status(want) => status == want,
                Expect::Allowed if r.ok.is_empty() => {
                    (200..300).contains(&status)
                        || (r.transport == Transport::WebSocket && status == 101)
                }
                Expect::Allowed => r.ok.contains(&status),
            };
            if !ok {
                failures.push(format!(
                    "{} {} as {who:?}: got {status}, want {:?} ({:?})",
                    route.method,
                    call.path,
                    expected(route.policy, r, who),
                    route.policy
                ));
            } else if expect == Expect::Allowed
                && ((200..300).contains(&status)
                    || (r.transport == Transport::WebSocket && status == 101))
            {
                successes.insert(who, (status, answer, call.path));
            }
        }
        // The OpenAPI document gives the success statuses it answered.
        if let Some(op) = openapi::describe(route.method, route.path) {
            for (who, (status, _, _)) in &successes {
                if op.status != *status && !op.also.contains(status) {
                    failures.push(format!(
                        "{} {} as {who:?}: answered {status}, the OpenAPI document says {} (src/api/openapi.rs)",
                        route.method, route.path, op.status
                    ));
                }
            }
        }
        let chosen = PREFERENCE.iter().find_map(|w| {
            successes
                .remove(w)
                .map(|(status, a, path)| (*w, path, status, a))
        });
        let label = format!("{} {}", route.method, route.path);
        if let Some((_, _, why)) = NOT_SNAPSHOTTED
            .iter()
            .find(|(m, p, _)| *m == route.method && *p == route.path)
        {
            // The reason must hold for what the route answered.
            let holds = match (why, &chosen) {
                // No actor may succeed on this engine (the backup download
                // on PostgreSQL): there is no answer to hold the reason
                // against.
                (_, None) => !ACTORS
                    .iter()
                    .any(|w| expected(route.policy, r, *w) == Expect::Allowed),
                (NoBody::NoContent, Some((_, _, status, a))) => {
                    *status == 204 && a.as_ref().is_some_and(|a| a.text.is_empty())
                }
                (NoBody::NotJson, Some((_, _, _, a))) => a
                    .as_ref()
                    .is_some_and(|a| !a.content_type.starts_with("application/json")),
                (NoBody::Download, Some(_)) => true,
                (NoBody::EmptyOk, Some((_, _, status, a))) => {
                    *status == 200 && a.as_ref().is_some_and(|a| a.text.is_empty())
                }
            };
            if !holds {
                snapshot_failures.push(format!("{label}: listed as {why:?}, but is not"));
            }
        } else if let Some((_, _, test)) = SNAPSHOTTED_ELSEWHERE
            .iter()
            .find(|(m, p, _)| *m == route.method && *p == route.path)
        {
            if !snapshot::exists(route.method, route.path) {
                snapshot_failures.push(format!("{label}: {test} recorded no snapshot"));
            } else {
                snapshots += 1;
            }
        } else if r.transport != Transport::Http {
            // A stream: its first data event, a JSON body like any other.
            match &chosen {
                Some((_, _, _, Some(a))) => {
                    let event: Value = serde_json::from_str(&a.text).unwrap();
                    let kind = event.get("event").or(event.get("type"));
                    if kind == Some(&json!("error")) {
                        snapshot_failures
                            .push(format!("{label}: the first event is an error: {event}"));
                    } else if check_snapshot(
                        &mut snapshot_failures,
                        &label,
                        snapshot::event_name(route.method, route.path, None),
                        || {
                            snapshot::assert_event_with(
                                route.method,
                                route.path,
                                None,
                                &event,
                                &known,
                            )
                        },
                    ) {
                        snapshots += 1;
                        stream_snapshots += 1;
                    }
                }
                _ => snapshot_failures.push(format!("{label}: no actor succeeded")),
            }
        } else {
            match &chosen {
                Some((_, _, 204, Some(a))) if a.text.is_empty() => {
                    snapshot_failures.push(format!("{label}: answers 204, list it as NoContent"));
                }
                Some((_, _, _, Some(a))) => match serde_json::from_str::<Value>(&a.text) {
                    Ok(body) => {
                        if check_snapshot(
                            &mut snapshot_failures,
                            &label,
                            snapshot::name(route.method, route.path),
                            || snapshot::assert_body_with(route.method, route.path, &body, &known),
                        ) {
                            snapshots += 1;
                        }
                    }
                    Err(e) => snapshot_failures.push(format!(
                        "{label}: success body is not JSON ({e}): {}",
                        a.text
                    )),
                },
                _ => snapshot_failures.push(format!("{label}: no actor succeeded")),
            }
        }
        // The same logs, followed: the first message of the stream.
        if let (true, Some((who, path, _, _))) = (r.follow, &chosen) {
            if snapshot_follow(
                &world,
                route.method,
                route.path,
                path,
                *who,
                &known,
                &mut snapshot_failures,
            ) {
                follow_snapshots += 1;
            }
        }
    }
    for r in &rows {
        assert!(
            ROUTES
                .iter()
                .any(|route| route.method == r.method && route.path == r.route),
            "matrix row {} {} names no route",
            r.method,
            r.route
        );
    }
    let mut names: Vec<String> = ROUTES
        .iter()
        .map(|r| snapshot::name(r.method, r.path))
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), ROUTES.len(), "snapshot names are not unique");
    println!(
        "route × actor matrix: {} routes × {} actors = {cells} cells",
        ROUTES.len(),
        ACTORS.len()
    );
    let mut later_events = 0;
    for (method, path, which, test) in EVENTS_ELSEWHERE {
        assert!(
            ROUTES
                .iter()
                .any(|r| r.method == *method && r.path == *path),
            "{method} {path} names no route"
        );
        if snapshot::exists_named(&snapshot::event_name(method, path, Some(which))) {
            later_events += 1;
        } else {
            snapshot_failures.push(format!(
                "{method} {path}: {test} recorded no {which} event snapshot"
            ));
        }
    }
    let follows = rows.iter().filter(|r| r.follow).count();
    let streams = rows
        .iter()
        .filter(|r| r.transport != Transport::Http)
        .count();
    println!(
        "success-body snapshots: {snapshots} of {} routes ({stream_snapshots} of {streams} streams by their first data event; {} without a JSON body); first-event snapshots of follow streams: {follow_snapshots} of {follows}; later-event snapshots of streams: {later_events}",
        ROUTES.len(),
        NOT_SNAPSHOTTED.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ from Coder's rules:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cells, ROUTES.len() * ACTORS.len());
    assert!(
        snapshot_failures.is_empty(),
        "{} routes fail their snapshot:\n{}",
        snapshot_failures.len(),
        snapshot_failures.join("\n")
    );
    assert_eq!(snapshots + NOT_SNAPSHOTTED.len(), ROUTES.len());
    assert_eq!(stream_snapshots, streams);
    assert_eq!(follow_snapshots, follows);
}

/// Snapshots the first message of a route's `follow=true` WebSocket, as
/// `who` calling `path`.
fn snapshot_follow(
    world: &World,
    method: &str,
    route: &str,
    path: &str,
    who: Who,
    known: &[(String, String)],
    failures: &mut Vec<String>,
) -> bool {
    let streamed = format!("{route}?follow=true");
    let label = format!("{method} {streamed}");
    let (status, first) = ws_first(
        &world.s,
        &format!("{path}?follow=true"),
        world.token_of(who),
    );
    let Some(a) = first.filter(|_| status == 101) else {
        failures.push(format!("{label}: answered {status} to {who:?}"));
        return false;
    };
    let event: Value = serde_json::from_str(&a.text).unwrap();
    check_snapshot(
        failures,
        &label,
        snapshot::event_name(method, &streamed, None),
        || snapshot::assert_event_with(method, &streamed, None, &event, known),
    )
}

/// Runs one snapshot assertion; a difference (or a missing snapshot) is
/// recorded as a failure of the route instead of ending the test.
fn check_snapshot(
    failures: &mut Vec<String>,
    label: &str,
    file: String,
    assert: impl FnOnce(),
) -> bool {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(assert));
    if result.is_err() {
        failures.push(format!(
            "{label}: differs from snapshot {file} (or it is missing)"
        ));
    }
    result.is_ok()
}
