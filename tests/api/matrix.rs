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
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};
use warren::api::{Deny, Policy, Resource, ROUTES};
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
}

use Who::*;

const ACTORS: [Who; 12] = [
    Anonymous, Alice, Bob, Carol, Dave, Erin, Frank, UserAdmin, Auditor, Owner, Suspended,
    AgentToken,
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
            matches!(who, Alice | Carol | Dave | Erin | Owner)
        }
        (Workspace, Start | Stop) => matches!(who, Alice | Carol | Dave | Erin | Owner),
        (Workspace | WorkspaceBuild | WorkspaceAgent, Update) | (Workspace, Share) => {
            matches!(who, Alice | Dave | Erin | Owner)
        }
        (Workspace, Delete | Create) => matches!(who, Alice | Erin | Owner),
        (Workspace, Favorite) => matches!(who, Alice),
        // The deployment (diagnostics, backups): owners only.
        (Deployment, Read) => matches!(who, Owner),
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
        (Deployment, _) => true,
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
}

#[derive(Clone, Copy, PartialEq)]
enum Transport {
    Http,
    /// Server-sent events: only the status line is read.
    Sse,
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
    /// body with its content type.
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
            Transport::Sse => (raw_status(&self.s, &call.path, token), None),
            Transport::WebSocket => (ws_status(&self.s, &call.path, token), None),
        }
    }
}

/// The status line of a streaming GET, without reading the stream.
fn raw_status(s: &Server, path: &str, token: Option<&str>) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let addr = s.url("").trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = token
        .map(|t| format!("Coder-Session-Token: {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Accept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The status of a WebSocket upgrade (101 when accepted).
fn ws_status(s: &Server, path: &str, token: Option<&str>) -> u16 {
    let url = format!("ws://{}{path}", s.url("").trim_start_matches("http://"));
    let mut req =
        tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    if let Some(t) = token {
        req.headers_mut()
            .insert("Coder-Session-Token", t.parse().unwrap());
    }
    match tungstenite::connect(req) {
        Ok((mut socket, resp)) => {
            let _ = socket.close(None);
            resp.status().as_u16()
        }
        Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{path}: {e}"),
    }
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
        row("POST", "/api/v2/warren/backup", |_, _| {
            Call::get("/api/v2/warren/backup".into())
        }),
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
                Alice | Bob | Carol | Dave | Erin | Frank => {
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
            for who in [Alice, Bob, Carol, Dave, Erin, Frank, UserAdmin, Auditor] {
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
        ),
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
        ),
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
const PREFERENCE: [Who; 12] = [
    Owner, Alice, Erin, Dave, Carol, UserAdmin, Auditor, Bob, Frank, AgentToken, Anonymous,
    Suspended,
];

/// Why a route's success answer has no JSON body to snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NoBody {
    /// 204 No Content.
    NoContent,
    /// A page, a script or plain text.
    NotJson,
    /// Server-sent events or a WebSocket.
    Stream,
    /// Opaque bytes as stored (a file, provisioner state).
    Download,
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
    ("GET", "/api/v2/workspaces/watch", NoBody::Stream),
    ("GET", "/api/v2/workspaces/watch-ws", NoBody::Stream),
    (
        "GET",
        "/api/v2/workspaces/{workspace}/watch",
        NoBody::Stream,
    ),
    (
        "GET",
        "/api/v2/workspaces/{workspace}/watch-ws",
        NoBody::Stream,
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
];

#[test]
fn every_route_answers_every_actor_as_coder_does() {
    let world = World::build();
    let rows = rows();
    let mut failures = Vec::new();
    let mut snapshot_failures = Vec::new();
    let known = world.known_ids();
    let mut snapshots = 0;
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
        let mut successes: HashMap<Who, (u16, Option<Answer>)> = HashMap::new();
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
            } else if expect == Expect::Allowed && (200..300).contains(&status) {
                successes.insert(who, (status, answer));
            }
        }
        let chosen = PREFERENCE.iter().find_map(|w| successes.remove(w));
        let label = format!("{} {}", route.method, route.path);
        if let Some((_, _, why)) = NOT_SNAPSHOTTED
            .iter()
            .find(|(m, p, _)| *m == route.method && *p == route.path)
        {
            // The reason must hold for what the route answered.
            let holds = match (why, &chosen) {
                (NoBody::Stream, _) => r.transport != Transport::Http,
                (_, None) => false,
                (NoBody::NoContent, Some((status, a))) => {
                    *status == 204 && a.as_ref().is_some_and(|a| a.text.is_empty())
                }
                (NoBody::NotJson, Some((_, a))) => a
                    .as_ref()
                    .is_some_and(|a| !a.content_type.starts_with("application/json")),
                (NoBody::Download, Some(_)) => true,
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
        } else {
            match chosen {
                Some((204, Some(a))) if a.text.is_empty() => {
                    snapshot_failures.push(format!("{label}: answers 204, list it as NoContent"));
                }
                Some((_, Some(a))) => match serde_json::from_str::<Value>(&a.text) {
                    Ok(body) => {
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            snapshot::assert_body_with(route.method, route.path, &body, &known)
                        }));
                        match result {
                            Ok(()) => snapshots += 1,
                            Err(_) => snapshot_failures.push(format!(
                                "{label}: body differs from snapshot {} (or it is missing)",
                                snapshot::name(route.method, route.path)
                            )),
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
    println!(
        "success-body snapshots: {snapshots} of {} routes ({} without a JSON body)",
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
}
