//! `GET /workspaces`: every `q` key, its errors, pagination, count and
//! ordering, the old separate parameters, and visibility.

use serde_json::{json, Value};

use crate::common::*;

fn names(v: &Value) -> Vec<String> {
    v["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{}/{}",
                w["owner_name"].as_str().unwrap(),
                w["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

struct Fleet {
    s: Server,
    o: Owner,
    alice: TestUser,
    bob: TestUser,
    ids: std::collections::HashMap<String, String>,
}

/// admin/a-run (running), alice/dev (running, favorite, shared with bob),
/// alice/old (stopped, dormant), bob/web (running, other template).
fn fleet() -> Fleet {
    let s = Server::start();
    let o = s.setup();
    let alice = s.user(&o, "alice", &[]);
    let bob = s.user(&o, "bob", &[]);
    let docker = s.template(&o, "docker");
    let v = s.import(&o, "docker", None);
    let other = s.post(
        &format!("/api/v2/organizations/{}/templates", o.org),
        &o.token,
        json!({"name": "other", "template_version_id": v["id"]}),
    );
    let other = other.ok(201)["id"].as_str().unwrap().to_string();
    let docker = docker["id"].as_str().unwrap().to_string();
    let mut ids = std::collections::HashMap::new();
    for (token, tpl, name) in [
        (&o.token, &docker, "a-run"),
        (&alice.token, &docker, "dev"),
        (&alice.token, &docker, "old"),
        (&bob.token, &other, "web"),
    ] {
        let w = s.workspace(token, tpl, name);
        ids.insert(name.to_string(), w["id"].as_str().unwrap().to_string());
    }
    let old = &ids["old"];
    s.post(
        &format!("/api/v2/workspaces/{old}/builds"),
        &alice.token,
        json!({"transition": "stop"}),
    )
    .ok(201);
    s.wait_build(&alice.token, old);
    s.put(
        &format!("/api/v2/workspaces/{old}/dormant"),
        &alice.token,
        json!({"dormant": true}),
    )
    .ok(200);
    s.put(
        &format!("/api/v2/workspaces/{}/favorite", ids["dev"]),
        &alice.token,
        json!({}),
    );
    s.patch(
        &format!("/api/v2/workspaces/{}/acl", ids["dev"]),
        &alice.token,
        json!({"user_roles": {bob.id.clone(): "use"}}),
    );
    Fleet {
        s,
        o,
        alice,
        bob,
        ids,
    }
}

#[test]
fn keys_filter_as_coder_does() {
    let Fleet {
        s,
        o,
        alice,
        bob,
        ids,
    } = fleet();
    let q = |token: &str, q: &str| -> Vec<String> {
        let r = s.get(&format!("/api/v2/workspaces?q={}", enc(q)), token);
        names(r.ok(200))
    };
    let admin = &o.token;
    // Ordering: caller's favorites, then running, then owner, then name.
    assert_eq!(
        q(admin, ""),
        vec!["admin/a-run", "alice/dev", "bob/web", "alice/old"]
    );
    assert_eq!(q(&alice.token, ""), vec!["alice/dev", "alice/old"]);
    // Shared with bob: he sees it too.
    assert_eq!(q(&bob.token, ""), vec!["alice/dev", "bob/web"]);
    assert_eq!(q(admin, "owner:alice"), vec!["alice/dev", "alice/old"]);
    assert_eq!(q(&alice.token, "owner:me"), vec!["alice/dev", "alice/old"]);
    assert_eq!(q(admin, "owner:nobody"), Vec::<String>::new());
    assert_eq!(q(admin, "name:DE"), vec!["alice/dev"]);
    assert_eq!(q(admin, "de"), vec!["alice/dev"]);
    assert_eq!(q(admin, "alice/o"), vec!["alice/old"]);
    assert_eq!(q(admin, "template:other"), vec!["bob/web"]);
    assert_eq!(q(admin, "status:stopped"), vec!["alice/old"]);
    assert_eq!(q(admin, "status:running").len(), 3);
    assert_eq!(q(admin, "has-agent:connected").len(), 3);
    assert_eq!(
        q(admin, "has-agent:timeout,disconnected"),
        Vec::<String>::new()
    );
    assert_eq!(q(admin, "healthy:true").len(), 3);
    assert_eq!(q(admin, "dormant:true"), vec!["alice/old"]);
    assert_eq!(q(admin, "dormant:false").len(), 4);
    assert_eq!(q(admin, "outdated:true"), Vec::<String>::new());
    assert_eq!(q(admin, "outdated:false").len(), 4);
    assert_eq!(q(admin, "has-ai-task:false").len(), 4);
    assert_eq!(q(admin, "has_external_agent:true"), Vec::<String>::new());
    assert_eq!(
        q(admin, &format!("id:{},{}", ids["dev"], ids["web"])),
        vec!["alice/dev", "bob/web"]
    );
    assert_eq!(q(admin, "organization:coder").len(), 4);
    assert_eq!(q(admin, "param:cpu").len(), 4);
    assert_eq!(q(admin, "param:cpu=2 param:image=ubuntu").len(), 4);
    assert_eq!(q(admin, "param:cpu=7"), Vec::<String>::new());
    assert_eq!(q(admin, "shared:true"), vec!["alice/dev"]);
    assert_eq!(q(admin, "shared:false").len(), 3);
    assert_eq!(q(admin, "shared_with_user:bob"), vec!["alice/dev"]);
    assert_eq!(q(admin, "shared_with_group:Everyone"), Vec::<String>::new());
    let after = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(q(admin, &format!("last_used_after:\"{after}\"")).len(), 4);
    assert_eq!(
        q(admin, &format!("last_used_before:\"{after}\"")),
        Vec::<String>::new()
    );
    assert_eq!(
        q(admin, "owner:alice status:running template:docker"),
        vec!["alice/dev"]
    );
    // The old separate parameters.
    let r = s.get("/api/v2/workspaces?owner=alice&status=stopped", admin);
    assert_eq!(names(r.ok(200)), vec!["alice/old"]);
    let r = s.get(
        "/api/v2/workspaces?has_agent=connected&template=other",
        admin,
    );
    assert_eq!(names(r.ok(200)), vec!["bob/web"]);
    s.get("/api/v2/workspaces?owner=alice&q=owner:bob", admin)
        .assert_error(400, "Invalid workspace search query.")
        .assert_field("owner");
    s.anon("GET", "/api/v2/workspaces", None)
        .assert_error(401, SIGNED_OUT);
}

#[test]
fn query_errors() {
    let s = Server::start();
    let o = s.setup();
    let bad = |q: &str, field: &str| {
        let r = s.get(&format!("/api/v2/workspaces?q={}", enc(q)), &o.token);
        r.assert_error(400, "Invalid workspace search query.")
            .assert_field(field);
        r.body["validations"].clone()
    };
    assert_eq!(
        bad("owner:", "q")[0]["detail"],
        "Query element \"owner:\" cannot start or end with ':'"
    );
    assert_eq!(
        bad("a:b:c", "q")[0]["detail"],
        "Query element \"a:b:c\" can only contain 1 ':'"
    );
    assert_eq!(
        bad("a/b/c", "q")[0]["detail"],
        "Query element \"a/b/c\" can only contain 1 '/'"
    );
    assert_eq!(
        bad("dev name:x", "name")[0]["detail"],
        "Query param \"name\" provided more than once, found 2 times. Only provide 1 instance of this query param."
    );
    assert_eq!(
        bad("foo:bar", "foo")[0]["detail"],
        "\"foo\" is not a valid query param"
    );
    assert_eq!(
        bad("status:sleeping", "status")[0]["detail"],
        "Query param \"status\" has invalid value: \"sleeping\" is not a valid value"
    );
    bad("dormant:maybe", "dormant");
    bad("last_used_after:yesterday", "last_used_after");
    bad("id:abc", "id");
    bad("param:x=", "param");
    bad("organization:nope", "organization");
    bad("shared_with_user:ghost", "shared_with_user");
    bad("shared_with_group:ghosts", "shared_with_group");
    // Several errors are reported together.
    let v = bad("foo:1 dormant:maybe", "foo");
    assert_eq!(v.as_array().unwrap().len(), 2);
    // Pagination errors come first.
    let r = s.get("/api/v2/workspaces?limit=abc&q=foo:1", &o.token);
    r.assert_error(400, "Query parameters have invalid values.")
        .assert_field("limit");
    s.get("/api/v2/workspaces?offset=-1", &o.token)
        .assert_error(400, "Query parameters have invalid values.")
        .assert_field("offset");
    s.get("/api/v2/workspaces?limit=1&limit=2", &o.token)
        .assert_error(400, "Query parameters have invalid values.")
        .assert_field("limit");
}

#[test]
fn paging_keeps_the_count() {
    let Fleet { s, o, .. } = fleet();
    let page = |limit: u32, offset: u32| {
        let r = s.get(
            &format!("/api/v2/workspaces?limit={limit}&offset={offset}"),
            &o.token,
        );
        let b = r.ok(200).clone();
        (names(&b), b["count"].as_i64().unwrap())
    };
    assert_eq!(
        page(2, 0),
        (vec!["admin/a-run".to_string(), "alice/dev".to_string()], 4)
    );
    assert_eq!(
        page(2, 2),
        (vec!["bob/web".to_string(), "alice/old".to_string()], 4)
    );
    assert_eq!(page(2, 10), (vec![], 4));
    assert_eq!(page(0, 0).0.len(), 4);
    // Deleted workspaces never appear.
    let r = s.get("/api/v2/workspaces?q=owner:me", &o.token);
    let id = r.ok(200)["workspaces"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.post(
        &format!("/api/v2/workspaces/{id}/builds"),
        &o.token,
        json!({"transition": "delete"}),
    )
    .ok(201);
    s.wait_build(&o.token, &id);
    assert_eq!(page(10, 0).1, 3);
}
