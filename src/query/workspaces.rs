//! The `q` search language of `GET /api/v2/workspaces` and of the list watch
//! streams (spec `workspaces-core.md` §12 and §20.2): Coder's
//! `searchquery.Workspaces` on the shared lexer and [`Parser`].
//!
//! After the shared lexing (see [`crate::query`]):
//! 1. the free text becomes `name` or `owner/name` (more than one `/` is a
//!    lexical error);
//! 2. legacy top-level parameters (`owner`, `template`, `name`, `status`,
//!    `has_agent`/`has-agent`) are appended as if they were `q` terms;
//! 3. every key is parsed in Coder's order and **all** errors are collected;
//!    keys nobody asked for are reported last as unknown.
//!
//! `organization`, `shared_with_user` and `shared_with_group` are kept raw:
//! the domain resolves them (`domain::workspace_list::resolve`) and reports
//! an unknown one with the helpers below. Their errors therefore come alone,
//! after every other key parsed cleanly, where Coder lists them among the
//! others.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::go::{go_quote, go_to_lower, parse_go_uuid};
use super::paging::{Page, Paging};
use super::{
    check_query_size, invalid_value, lex, split_by_delimiter, Parser, QueryError, Terms,
    WORKSPACE_QUERY_MESSAGE,
};
use crate::error::Validation;

/// Statuses accepted by the `status` key (Coder's `database.WorkspaceStatus`).
pub const WORKSPACE_STATUSES: [&str; 10] = [
    "pending",
    "starting",
    "running",
    "stopping",
    "stopped",
    "failed",
    "canceling",
    "canceled",
    "deleting",
    "deleted",
];

/// The parsed workspace filter. `None`/empty means "do not filter on this".
/// All text values are lowercase (the whole query is lowercased).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkspaceFilter {
    /// `owner:` (or the part before `/` in free text): the owner's username,
    /// lowercased, compared case-insensitively; `"me"` means the caller and
    /// must be substituted by the caller. Never interpreted as a UUID.
    pub owner: Option<String>,
    /// `name:` or free text: case-insensitive substring of the workspace name
    /// (SQL `ILIKE '%v%'`; `%`/`_` are not escaped, as in Coder).
    pub name: Option<String>,
    /// `template:`: template name, case-insensitive exact match, any org.
    pub template: Option<String>,
    /// `status:`: one of [`WORKSPACE_STATUSES`] (already validated).
    pub status: Option<String>,
    /// Agent statuses to match (any agent of the latest start build having
    /// one of them): the `has-agent:` values (not validated, in order, empty
    /// items of a comma list kept as Coder does), then `connected` for
    /// `healthy:true` or `disconnected`,`timeout` for `healthy:false`.
    pub has_agent: Vec<String>,
    /// `Some(true)` only for `dormant:true` (only dormant workspaces);
    /// `dormant:false` means no filtering and yields `None`.
    pub dormant: Option<bool>,
    /// `last_used_after:` — `last_used_at >= value` (UTC).
    pub last_used_after: Option<DateTime<Utc>>,
    /// `last_used_before:` — `last_used_at <= value` (UTC).
    pub last_used_before: Option<DateTime<Utc>>,
    /// `outdated:` — `Some(true)`: latest build's version differs from the
    /// template's active version; `Some(false)`: equal.
    pub outdated: Option<bool>,
    /// `has-ai-task:` — linked to at least one AI task (true) or none (false).
    pub has_ai_task: Option<bool>,
    /// `has_external_agent:` — latest build's `has_external_agent` equals it.
    pub has_external_agent: Option<bool>,
    /// `id:` — workspace IDs (list key; empty = no filtering).
    pub ids: Vec<Uuid>,
    /// `organization:` — raw organization UUID or name. The caller resolves
    /// it (a value accepted by [`parse_go_uuid`] is used as an ID without
    /// existence check) and reports an unknown name with
    /// [`organization_not_found`](super::organization_not_found).
    pub organization: Option<String>,
    /// `param:name` entries: the latest build has a parameter whose name
    /// matches one of these (case-insensitive LIKE); OR-ed among themselves.
    pub param_names: Vec<String>,
    /// `param:name=value` entries: the latest build has one of these
    /// (name, value) pairs (case-insensitive exact); OR-ed among themselves
    /// and AND-ed with `param_names`.
    pub param_values: Vec<(String, String)>,
    /// `shared:` — `true`: user ACL or group ACL non-empty; `false`: both empty.
    pub shared: Option<bool>,
    /// `shared_with_user:` — raw user UUID or username (`me` is NOT special).
    /// The caller resolves it (UUIDs per [`parse_go_uuid`] accepted as-is) and
    /// reports unknown users with [`shared_with_user_not_found`].
    pub shared_with_user: Option<String>,
    /// `shared_with_group:` — raw group UUID, `org/group` or `group` (default
    /// organization). The caller resolves it and reports unknown groups with
    /// [`shared_with_group_not_found`] (or, for an unknown `org`,
    /// [`shared_with_group_organization_not_found`]).
    pub shared_with_group: Option<String>,
}

/// Parses `q` plus the legacy separate filter parameters.
///
/// `legacy` is the whole URL query string as (key, value) pairs; only
/// `owner`, `template`, `name`, `status`, `has_agent` and `has-agent` are
/// used (everything else, e.g. `q`, `limit`, `offset`, is ignored). Each
/// non-empty legacy value is lowercased and added after the `q` terms under
/// its key (`has_agent` → `has-agent`), so a key given both ways, or a legacy
/// parameter repeated, yields the "provided more than once" error.
pub fn parse_workspace_query(
    q: &str,
    legacy: &[(String, String)],
) -> Result<WorkspaceFilter, QueryError> {
    let invalid = |v: Validation| QueryError::new(WORKSPACE_QUERY_MESSAGE, vec![v]);
    let mut terms = lex(q, &mut free_text).map_err(invalid)?;
    for (param, value) in legacy {
        let key = match param.as_str() {
            "owner" | "template" | "name" | "status" => param.as_str(),
            "has_agent" | "has-agent" => "has-agent",
            _ => continue,
        };
        check_query_size(param, value).map_err(invalid)?;
        let value = go_to_lower(value);
        let value = value.trim_matches('"');
        if !value.is_empty() {
            terms.add(key, value.to_string());
        }
    }

    let mut p = Parser::new(&terms);
    let mut filter = WorkspaceFilter {
        ids: p.custom_list("id", |v| parse_go_uuid(v.trim())),
        owner: p.single("owner"),
        template: p.single("template"),
        name: p.single("name"),
        status: p.custom("status", |v| {
            if WORKSPACE_STATUSES.contains(&v) {
                Ok(v.to_string())
            } else {
                Err(format!("{} is not a valid value", go_quote(v)))
            }
        }),
        has_agent: p.strings("has-agent"),
        dormant: p.boolean("dormant").filter(|d| *d),
        last_used_after: p.time("last_used_after"),
        last_used_before: p.time("last_used_before"),
        outdated: p.boolean("outdated"),
        has_ai_task: p.boolean("has-ai-task"),
        has_external_agent: p.boolean("has_external_agent"),
        organization: p.single("organization"),
        shared: p.boolean("shared"),
        shared_with_user: p.single("shared_with_user"),
        shared_with_group: p.single("shared_with_group"),
        ..WorkspaceFilter::default()
    };
    match p.boolean("healthy") {
        Some(true) => filter.has_agent.push("connected".to_string()),
        Some(false) => {
            filter.has_agent.push("disconnected".to_string());
            filter.has_agent.push("timeout".to_string());
        }
        None => {}
    }
    let params = p.custom_list("param", parse_param);
    for (name, value) in params {
        match value {
            None => filter.param_names.push(name),
            Some(value) => filter.param_values.push((name, value)),
        }
    }
    p.error_excess_params();
    p.finish(WORKSPACE_QUERY_MESSAGE)?;
    Ok(filter)
}

/// The free text of a workspace query: a workspace name, maybe with its
/// owner (`owner/name`).
fn free_text(element: &str, terms: &mut Terms) -> Result<(), String> {
    let mut names = split_by_delimiter(element, '/', false);
    match names.len() {
        1 => terms.add("name", names.remove(0)),
        2 => {
            let name = names.pop().unwrap_or_default();
            terms.add("owner", names.remove(0));
            terms.add("name", name);
        }
        _ => {
            return Err(format!(
                "Query element {} can only contain 1 '/'",
                go_quote(element)
            ))
        }
    }
    Ok(())
}

/// The whole request of `GET /workspaces` and of the list watch streams:
/// pagination first (its errors win, §11.3, [`Paging::workspaces`]), then
/// the first `q` value together with the legacy filter parameters.
pub fn parse_list_request(
    query: &[(String, String)],
) -> Result<(WorkspaceFilter, Page), QueryError> {
    let page = Paging::workspaces().parse(query)?;
    let q = query
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let filter = parse_workspace_query(q, query)?;
    Ok((filter, page))
}

/// `shared_with_user:x` named a user that does not exist or is not visible.
pub fn shared_with_user_not_found(value: &str) -> Validation {
    invalid_value(
        "shared_with_user",
        &format!(
            "user {} either does not exist, or you are unauthorized to view them",
            go_quote(value)
        ),
    )
}

/// `shared_with_group:x` named a group that does not exist in `org_name`
/// (the named organization for `org/group`, else the default organization).
/// `value` may be the raw filter value (`org/group`) or just the group name:
/// Coder quotes only the group name, which is what is reported.
pub fn shared_with_group_not_found(value: &str, org_name: &str) -> Validation {
    let group = match value.split('/').collect::<Vec<_>>().as_slice() {
        [_, group] => *group,
        _ => value,
    };
    invalid_value(
        "shared_with_group",
        &format!(
            "group {} either does not exist, does not belong to the organization {}, or you are unauthorized to view it",
            go_quote(group),
            go_quote(org_name)
        ),
    )
}

/// `shared_with_group:org/group` where `org` does not exist or is not visible.
pub fn shared_with_group_organization_not_found(org_name: &str) -> Validation {
    invalid_value(
        "shared_with_group",
        &format!(
            "organization {} either does not exist, or you are unauthorized to view it",
            go_quote(org_name)
        ),
    )
}

/// One `param:` item: `name` → (name, None); `name=value` → (name, Some).
fn parse_param(item: &str) -> Result<(String, Option<String>), String> {
    let item = item.trim();
    let parts: Vec<&str> = item.split('=').collect();
    match parts.as_slice() {
        [name] => Ok((name.to_string(), None)),
        [_, ""] => Err(format!(
            "query element {} has an empty value. omit the '=' to match just on the parameter name",
            go_quote(item)
        )),
        [name, value] => Ok((name.to_string(), Some(value.to_string()))),
        _ => Err(format!(
            "query element {} can only contain 1 '='",
            go_quote(item)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::go::{
        go_parse_rfc3339_nano, go_quote, go_quote_bytes, go_to_lower, go_to_upper,
    };
    use crate::query::{organization_not_found, PAGINATION_MESSAGE};
    use chrono::{TimeDelta, TimeZone};
    use std::fmt;

    fn q(s: &str) -> Result<WorkspaceFilter, QueryError> {
        parse_workspace_query(s, &[])
    }

    fn ok(s: &str) -> WorkspaceFilter {
        match q(s) {
            Ok(f) => f,
            Err(e) => panic!("{s:?} failed: {e}"),
        }
    }

    /// The validations of a failing query as (field, detail) pairs.
    fn errs(s: &str) -> Vec<(String, String)> {
        errs_of(q(s))
    }

    fn errs_of<T: fmt::Debug>(r: Result<T, QueryError>) -> Vec<(String, String)> {
        let e = r.expect_err("expected an error");
        e.validations
            .into_iter()
            .map(|v| (v.field, v.detail))
            .collect()
    }

    fn one_err(s: &str) -> (String, String) {
        let e = q(s).expect_err("expected an error");
        assert_eq!(e.message, "Invalid workspace search query.");
        assert_eq!(e.validations.len(), 1, "{:?}", e.validations);
        let v = e.validations.into_iter().next().unwrap();
        (v.field, v.detail)
    }

    fn e(field: &str, detail: &str) -> (String, String) {
        (field.to_string(), detail.to_string())
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn dup(key: &str, n: usize) -> String {
        format!(
            "Query param \"{key}\" provided more than once, found {n} times. Only provide 1 instance of this query param."
        )
    }

    const U1: &str = "0b8a6a2e-2f7c-4b8e-9a63-0d2b1f0a5c11";
    const U2: &str = "9f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5";

    // --- empty / free text / owner-name split ---------------------------

    #[test]
    fn empty_query_is_no_filter() {
        assert_eq!(ok(""), WorkspaceFilter::default());
        assert_eq!(ok("   "), WorkspaceFilter::default());
    }

    #[test]
    fn free_text_is_name() {
        let f = ok("dev");
        assert_eq!(f.name.as_deref(), Some("dev"));
        assert_eq!(f.owner, None);
        // Free text is lowercased and several words are joined by one space.
        assert_eq!(ok("My  Dev   Box").name.as_deref(), Some("my dev box"));
    }

    #[test]
    fn free_text_owner_slash_name() {
        let f = ok("Alice/Dev");
        assert_eq!(f.owner.as_deref(), Some("alice"));
        assert_eq!(f.name.as_deref(), Some("dev"));
        // Empty fields around '/' are dropped, as Go's FieldsFunc does.
        assert_eq!(ok("alice/").name.as_deref(), Some("alice"));
        assert_eq!(ok("alice/").owner, None);
        let f = ok("a//b");
        assert_eq!(
            (f.owner.as_deref(), f.name.as_deref()),
            (Some("a"), Some("b"))
        );
    }

    #[test]
    fn free_text_too_many_slashes() {
        assert_eq!(
            one_err("a/b/c"),
            e("q", "Query element \"a/b/c\" can only contain 1 '/'")
        );
        // Only slashes: no parts at all, same error.
        assert_eq!(
            one_err("/"),
            e("q", "Query element \"/\" can only contain 1 '/'")
        );
        // Lexical errors stop parsing: the unknown key is not reported.
        assert_eq!(
            errs("foo:bar a/b/c"),
            vec![e("q", "Query element \"a/b/c\" can only contain 1 '/'")]
        );
    }

    #[test]
    fn quoted_free_text_and_slash_inside_quotes() {
        assert_eq!(ok("\"my dev\"").name.as_deref(), Some("my dev"));
        let f = ok("\"a/b/c\"");
        assert_eq!(f.name.as_deref(), Some("a/b/c"));
        assert_eq!(f.owner, None);
        // Quoted parts on either side of the slash.
        let f = ok("\"alice\"/\"my dev\"");
        assert_eq!(f.owner.as_deref(), Some("alice"));
        assert_eq!(f.name.as_deref(), Some("my dev"));
    }

    // --- ':' lexical rules -----------------------------------------------

    #[test]
    fn colon_at_start_or_end() {
        assert_eq!(
            one_err("owner:"),
            e("q", "Query element \"owner:\" cannot start or end with ':'")
        );
        assert_eq!(
            one_err(":me"),
            e("q", "Query element \":me\" cannot start or end with ':'")
        );
        // The element is shown lowercased, with its quotes escaped.
        assert_eq!(
            one_err("\"Owner\":"),
            e(
                "q",
                "Query element \"\\\"owner\\\":\" cannot start or end with ':'"
            )
        );
    }

    #[test]
    fn multiple_colons() {
        assert_eq!(
            one_err("a:b:c"),
            e("q", "Query element \"a:b:c\" can only contain 1 ':'")
        );
        // Unquoted timestamps hit this rule.
        assert_eq!(
            one_err("last_used_after:2024-01-01T00:00:00Z"),
            e(
                "q",
                "Query element \"last_used_after:2024-01-01t00:00:00z\" can only contain 1 ':'"
            )
        );
        // The first lexical error wins, even if an earlier element is fine.
        assert_eq!(
            errs("status:bogus a:b:c x:"),
            vec![e("q", "Query element \"a:b:c\" can only contain 1 ':'")]
        );
        // An empty field between colons is dropped (Go's FieldsFunc).
        assert_eq!(ok("owner::bob").owner.as_deref(), Some("bob"));
    }

    #[test]
    fn quoted_colon_is_not_a_separator() {
        let f = ok("name:\"a:b\"");
        assert_eq!(f.name.as_deref(), Some("a:b"));
        // A token whose only ':' is quoted is free text.
        assert_eq!(ok("\"a:b\"").name.as_deref(), Some("a:b"));
    }

    // --- every key -------------------------------------------------------

    #[test]
    fn simple_string_keys() {
        let f = ok("owner:Me template:Docker name:DEV");
        assert_eq!(f.owner.as_deref(), Some("me"));
        assert_eq!(f.template.as_deref(), Some("docker"));
        assert_eq!(f.name.as_deref(), Some("dev"));
        // A UUID owner is kept as a username.
        assert_eq!(ok(&format!("owner:{U1}")).owner.as_deref(), Some(U1));
        // Quoted values may contain spaces.
        assert_eq!(
            ok("template:\"My Template\"").template.as_deref(),
            Some("my template")
        );
    }

    #[test]
    fn status_key() {
        for s in WORKSPACE_STATUSES {
            assert_eq!(ok(&format!("status:{s}")).status.as_deref(), Some(s));
        }
        assert_eq!(ok("status:RUNNING").status.as_deref(), Some("running"));
        assert_eq!(
            one_err("status:foo"),
            e(
                "status",
                "Query param \"status\" has invalid value: \"foo\" is not a valid value"
            )
        );
    }

    #[test]
    fn has_agent_list_and_healthy() {
        assert_eq!(ok("has-agent:connected").has_agent, vec!["connected"]);
        assert_eq!(
            ok("has-agent:connected,connecting has-agent:timeout").has_agent,
            vec!["connected", "connecting", "timeout"]
        );
        // Values are not validated.
        assert_eq!(ok("has-agent:whatever").has_agent, vec!["whatever"]);
        assert_eq!(ok("healthy:true").has_agent, vec!["connected"]);
        assert_eq!(
            ok("healthy:false").has_agent,
            vec!["disconnected", "timeout"]
        );
        assert_eq!(
            ok("healthy:t has-agent:connecting").has_agent,
            vec!["connecting", "connected"]
        );
        assert_eq!(
            one_err("healthy:yes"),
            e(
                "healthy",
                "Query param \"healthy\" must be a valid boolean: strconv.ParseBool: parsing \"yes\": invalid syntax"
            )
        );
        // The underscore spelling is not a q key.
        assert_eq!(
            one_err("has_agent:connected"),
            e("has_agent", "\"has_agent\" is not a valid query param")
        );
    }

    #[test]
    fn boolean_keys() {
        assert_eq!(ok("dormant:true").dormant, Some(true));
        assert_eq!(ok("dormant:1").dormant, Some(true));
        assert_eq!(ok("dormant:false").dormant, None);
        assert_eq!(ok("outdated:true").outdated, Some(true));
        assert_eq!(ok("outdated:f").outdated, Some(false));
        assert_eq!(ok("has-ai-task:TRUE").has_ai_task, Some(true));
        assert_eq!(ok("has-ai-task:0").has_ai_task, Some(false));
        assert_eq!(ok("has_external_agent:true").has_external_agent, Some(true));
        assert_eq!(
            ok("has_external_agent:false").has_external_agent,
            Some(false)
        );
        assert_eq!(ok("shared:true").shared, Some(true));
        assert_eq!(ok("shared:false").shared, Some(false));
        for key in [
            "dormant",
            "outdated",
            "has-ai-task",
            "has_external_agent",
            "shared",
            "healthy",
        ] {
            assert_eq!(
                one_err(&format!("{key}:maybe")),
                e(
                    key,
                    &format!(
                        "Query param \"{key}\" must be a valid boolean: strconv.ParseBool: parsing \"maybe\": invalid syntax"
                    )
                )
            );
        }
    }

    #[test]
    fn timestamps() {
        let f = ok("last_used_after:\"2024-01-01T00:00:00Z\" last_used_before:\"2024-06-01T12:30:00.5+02:00\"");
        assert_eq!(
            f.last_used_after,
            Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(
            f.last_used_before,
            Some(
                Utc.with_ymd_and_hms(2024, 6, 1, 10, 30, 0).unwrap() + TimeDelta::milliseconds(500)
            )
        );
        // Negative offsets, comma fraction, more than 9 digits, 1-digit hour.
        assert_eq!(
            go_parse_rfc3339_nano("2024-01-01T23:00:00-01:30").unwrap(),
            Utc.with_ymd_and_hms(2024, 1, 2, 0, 30, 0).unwrap()
        );
        assert_eq!(
            go_parse_rfc3339_nano("2024-01-01T00:00:00,1234567891Z").unwrap(),
            Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
                + TimeDelta::nanoseconds(123_456_789)
        );
        assert_eq!(
            go_parse_rfc3339_nano("2024-01-01T5:00:00Z").unwrap(),
            Utc.with_ymd_and_hms(2024, 1, 1, 5, 0, 0).unwrap()
        );
    }

    #[test]
    fn timestamp_errors() {
        let prefix = "Query param \"last_used_after\" must be a valid date format (2006-01-02T15:04:05.999999999Z07:00): ";
        let layout = "\"2006-01-02T15:04:05.999999999Z07:00\"";
        assert_eq!(
            one_err("last_used_after:x"),
            e(
                "last_used_after",
                &format!("{prefix}parsing time \"X\" as {layout}: cannot parse \"X\" as \"2006\"")
            )
        );
        assert_eq!(
            one_err("last_used_after:2024-01-01"),
            e(
                "last_used_after",
                &format!(
                    "{prefix}parsing time \"2024-01-01\" as {layout}: cannot parse \"\" as \"T\""
                )
            )
        );
        let cases = [
            ("2024-13-01T00:00:00Z", "parsing time \"2024-13-01T00:00:00Z\": month out of range".to_string()),
            ("2024-02-30T00:00:00Z", "parsing time \"2024-02-30T00:00:00Z\": day out of range".to_string()),
            ("2024-01-01T24:00:00Z", "parsing time \"2024-01-01T24:00:00Z\": hour out of range".to_string()),
            ("2024-01-01T00:60:00Z", "parsing time \"2024-01-01T00:60:00Z\": minute out of range".to_string()),
            ("2024-01-01T00:00:60Z", "parsing time \"2024-01-01T00:00:60Z\": second out of range".to_string()),
            ("2024-01-01T00:00:00ZZ", "parsing time \"2024-01-01T00:00:00ZZ\": extra text: \"Z\"".to_string()),
            ("2024-1-01T00:00:00Z", format!("parsing time \"2024-1-01T00:00:00Z\" as {layout}: cannot parse \"1-01T00:00:00Z\" as \"01\"")),
            ("2024-01-01T00:00:00", format!("parsing time \"2024-01-01T00:00:00\" as {layout}: cannot parse \"\" as \"Z07:00\"")),
            ("2024-01-01T00:00:00+0100", format!("parsing time \"2024-01-01T00:00:00+0100\" as {layout}: cannot parse \"+0100\" as \"Z07:00\"")),
            ("2024-01-01T00:00:00*01:00", format!("parsing time \"2024-01-01T00:00:00*01:00\" as {layout}: cannot parse \"*01:00\" as \"Z07:00\"")),
            ("2024-01-01T00:00:00+25:00", "parsing time \"2024-01-01T00:00:00+25:00\": time zone offset hour out of range".to_string()),
            ("2024-01-01 00:00:00Z", format!("parsing time \"2024-01-01 00:00:00Z\" as {layout}: cannot parse \" 00:00:00Z\" as \"T\"")),
            ("2024-01-01T00:00:00.Z", format!("parsing time \"2024-01-01T00:00:00.Z\" as {layout}: cannot parse \".Z\" as \"Z07:00\"")),
        ];
        for (input, want) in cases {
            assert_eq!(go_parse_rfc3339_nano(input).unwrap_err(), want, "{input}");
        }
        // Through q: the value is upper-cased before parsing.
        assert_eq!(
            one_err("last_used_before:\"2024-01-01t25:00:00z\""),
            e(
                "last_used_before",
                "Query param \"last_used_before\" must be a valid date format (2006-01-02T15:04:05.999999999Z07:00): parsing time \"2024-01-01T25:00:00Z\": hour out of range"
            )
        );
        // Non-ASCII bytes are shown as \x escapes, as Go's time package does.
        assert_eq!(
            go_parse_rfc3339_nano("é").unwrap_err(),
            format!(
                "parsing time \"\\xc3\\xa9\" as {layout}: cannot parse \"\\xc3\\xa9\" as \"2006\""
            )
        );
    }

    #[test]
    fn id_list() {
        let f = ok(&format!("id:{U1},{U2} id:{}", U1.to_uppercase()));
        let u1 = Uuid::parse_str(U1).unwrap();
        let u2 = Uuid::parse_str(U2).unwrap();
        assert_eq!(f.ids, vec![u1, u2, u1]);
        assert_eq!(
            one_err("id:abc"),
            e(
                "id",
                "Query param \"id\" has invalid values: invalid UUID length: 3"
            )
        );
        // Every bad item is reported, joined by newlines, in one validation.
        assert_eq!(
            one_err(&format!("id:abc,{U1} id:{},x", &U1[..35])),
            e(
                "id",
                "Query param \"id\" has invalid values: invalid UUID length: 3\ninvalid UUID length: 35\ninvalid UUID length: 1"
            )
        );
        // Trailing comma: an empty item.
        assert_eq!(
            one_err(&format!("id:{U1},")),
            e(
                "id",
                "Query param \"id\" has invalid values: invalid UUID length: 0"
            )
        );
        let bad_format = U1.replace('-', "x");
        assert_eq!(
            one_err(&format!("id:{bad_format}")),
            e(
                "id",
                "Query param \"id\" has invalid values: invalid UUID format"
            )
        );
    }

    #[test]
    fn organization_and_sharing_keys_are_raw() {
        let f = ok(&format!(
            "organization:Acme shared_with_user:me shared_with_group:acme/devs id:{U1}"
        ));
        assert_eq!(f.organization.as_deref(), Some("acme"));
        assert_eq!(f.shared_with_user.as_deref(), Some("me"));
        assert_eq!(f.shared_with_group.as_deref(), Some("acme/devs"));
    }

    #[test]
    fn lookup_helpers() {
        assert_eq!(
            shared_with_group_not_found("acme/devs", "acme"),
            Validation {
                field: "shared_with_group".into(),
                detail: "Query param \"shared_with_group\" has invalid value: group \"devs\" either does not exist, does not belong to the organization \"acme\", or you are unauthorized to view it".into(),
            }
        );
        assert_eq!(
            shared_with_group_organization_not_found("acme").detail,
            "Query param \"shared_with_group\" has invalid value: organization \"acme\" either does not exist, or you are unauthorized to view it"
        );
        assert_eq!(organization_not_found("x").field, "organization");
        assert_eq!(shared_with_user_not_found("x").field, "shared_with_user");
    }

    #[test]
    fn param_rules() {
        let f = ok("param:Region=EU param:gpu");
        assert_eq!(
            f.param_values,
            vec![("region".to_string(), "eu".to_string())]
        );
        assert_eq!(f.param_names, vec!["gpu".to_string()]);
        let f = ok("param:a,b=1,c param:d=2");
        assert_eq!(f.param_names, vec!["a", "c"]);
        assert_eq!(
            f.param_values,
            vec![
                ("b".to_string(), "1".to_string()),
                ("d".to_string(), "2".to_string())
            ]
        );
        // Spaces inside a quoted item are trimmed.
        assert_eq!(
            ok("param:\" x = y \"").param_values,
            vec![("x ".to_string(), " y".to_string())]
        );
        assert_eq!(
            one_err("param:x="),
            e(
                "param",
                "Query param \"param\" has invalid values: query element \"x=\" has an empty value. omit the '=' to match just on the parameter name"
            )
        );
        assert_eq!(
            one_err("param:a=b=c"),
            e("param", "Query param \"param\" has invalid values: query element \"a=b=c\" can only contain 1 '='")
        );
        assert_eq!(
            one_err("param:a=b=c,ok,x= param:y="),
            e(
                "param",
                "Query param \"param\" has invalid values: query element \"a=b=c\" can only contain 1 '='\nquery element \"x=\" has an empty value. omit the '=' to match just on the parameter name\nquery element \"y=\" has an empty value. omit the '=' to match just on the parameter name"
            )
        );
    }

    // --- repetition, empty values, unknown keys --------------------------

    #[test]
    fn repeated_single_keys() {
        assert_eq!(one_err("owner:a owner:b"), e("owner", &dup("owner", 2)));
        assert_eq!(
            one_err("status:running status:stopped status:x"),
            e("status", &dup("status", 3))
        );
        assert_eq!(
            one_err("dormant:true dormant:true"),
            e("dormant", &dup("dormant", 2))
        );
        // Free text plus name:.
        assert_eq!(one_err("owner:me dev name:x"), e("name", &dup("name", 2)));
        // owner/name free text plus owner:.
        assert_eq!(
            errs("owner:me alice/dev"),
            vec![e("owner", &dup("owner", 2))]
        );
        // Free text split across the query is still one element.
        assert_eq!(ok("my owner:me box").name.as_deref(), Some("my box"));
    }

    #[test]
    fn empty_values_are_ignored() {
        assert_eq!(ok("name:\"\""), WorkspaceFilter::default());
        assert_eq!(
            ok("status:\"\" dormant:\"\" id:\"\" outdated:\"\""),
            WorkspaceFilter::default()
        );
        // Only the first value matters: an empty first value hides the rest.
        assert_eq!(ok("name:\"\" name:x").name, None);
        assert!(ok(&format!("id:\"\" id:{U1}")).ids.is_empty());
        // ...but a later empty value still counts as a repetition.
        assert_eq!(one_err("name:x name:\"\""), e("name", &dup("name", 2)));
    }

    #[test]
    fn unknown_keys() {
        assert_eq!(
            one_err("foo:bar"),
            e("foo", "\"foo\" is not a valid query param")
        );
        assert_eq!(
            one_err("deleting_by:\"2024-01-01\""),
            e("deleting_by", "\"deleting_by\" is not a valid query param")
        );
        // Even with an empty value, and in order of appearance.
        assert_eq!(
            errs("zed:\"\" owner:me alpha:1"),
            vec![
                e("zed", "\"zed\" is not a valid query param"),
                e("alpha", "\"alpha\" is not a valid query param"),
            ]
        );
        assert_eq!(
            one_err("\"my key\":x"),
            e("my key", "\"my key\" is not a valid query param")
        );
    }

    #[test]
    fn all_errors_collected_in_coder_order() {
        assert_eq!(
            errs("foo:1 healthy:x param:a= status:nope id:abc last_used_after:\"y\" dormant:2 owner:a owner:b outdated:z has-ai-task:q has_external_agent:w"),
            vec![
                e("id", "Query param \"id\" has invalid values: invalid UUID length: 3"),
                e("owner", &dup("owner", 2)),
                e("status", "Query param \"status\" has invalid value: \"nope\" is not a valid value"),
                e("dormant", "Query param \"dormant\" must be a valid boolean: strconv.ParseBool: parsing \"2\": invalid syntax"),
                e("last_used_after", "Query param \"last_used_after\" must be a valid date format (2006-01-02T15:04:05.999999999Z07:00): parsing time \"Y\" as \"2006-01-02T15:04:05.999999999Z07:00\": cannot parse \"Y\" as \"2006\""),
                e("outdated", "Query param \"outdated\" must be a valid boolean: strconv.ParseBool: parsing \"z\": invalid syntax"),
                e("has-ai-task", "Query param \"has-ai-task\" must be a valid boolean: strconv.ParseBool: parsing \"q\": invalid syntax"),
                e("has_external_agent", "Query param \"has_external_agent\" must be a valid boolean: strconv.ParseBool: parsing \"w\": invalid syntax"),
                e("healthy", "Query param \"healthy\" must be a valid boolean: strconv.ParseBool: parsing \"x\": invalid syntax"),
                e("param", "Query param \"param\" has invalid values: query element \"a=\" has an empty value. omit the '=' to match just on the parameter name"),
                e("foo", "\"foo\" is not a valid query param"),
            ]
        );
    }

    #[test]
    fn spec_examples() {
        let f = ok("owner:me status:running template:docker");
        assert_eq!(f.owner.as_deref(), Some("me"));
        assert_eq!(f.status.as_deref(), Some("running"));
        assert_eq!(f.template.as_deref(), Some("docker"));
        assert_eq!(
            ok("has-agent:connected,connecting").has_agent,
            vec!["connected", "connecting"]
        );
        let f = ok("last_used_before:\"2024-06-01T00:00:00Z\" dormant:true");
        assert_eq!(
            f.last_used_before,
            Some(Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(f.dormant, Some(true));
    }

    // --- legacy top-level parameters -------------------------------------

    #[test]
    fn legacy_params_fold_into_filter() {
        let all = pairs(&[
            ("q", "ignored:by_this_function"),
            ("limit", "5"),
            ("owner", "Alice"),
            ("template", "docker"),
            ("name", "my dev"),
            ("status", "running"),
            ("has_agent", "connected,connecting"),
        ]);
        let f = parse_workspace_query("", &all).unwrap();
        assert_eq!(f.owner.as_deref(), Some("alice"));
        assert_eq!(f.template.as_deref(), Some("docker"));
        assert_eq!(f.name.as_deref(), Some("my dev"));
        assert_eq!(f.status.as_deref(), Some("running"));
        assert_eq!(f.has_agent, vec!["connected", "connecting"]);
        // Combined with q.
        let f = parse_workspace_query("dormant:true", &pairs(&[("has-agent", "timeout")])).unwrap();
        assert_eq!(f.dormant, Some(true));
        assert_eq!(f.has_agent, vec!["timeout"]);
        // Legacy values get the same validation.
        assert_eq!(
            errs_of(parse_workspace_query("", &pairs(&[("status", "bogus")]))),
            vec![e(
                "status",
                "Query param \"status\" has invalid value: \"bogus\" is not a valid value"
            )]
        );
        // Empty legacy values are ignored.
        assert_eq!(
            parse_workspace_query("owner:me", &pairs(&[("owner", ""), ("name", "")]))
                .unwrap()
                .owner
                .as_deref(),
            Some("me")
        );
    }

    #[test]
    fn legacy_params_conflict_with_q() {
        assert_eq!(
            errs_of(parse_workspace_query(
                "owner:me",
                &pairs(&[("owner", "alice")])
            )),
            vec![e("owner", &dup("owner", 2))]
        );
        // Free text supplies name; the legacy name repeats it.
        assert_eq!(
            errs_of(parse_workspace_query("dev", &pairs(&[("name", "dev")]))),
            vec![e("name", &dup("name", 2))]
        );
        // A repeated legacy parameter is also a repetition.
        assert_eq!(
            errs_of(parse_workspace_query(
                "",
                &pairs(&[("template", "a"), ("template", "b")])
            )),
            vec![e("template", &dup("template", 2))]
        );
        // has-agent is a list key: q and legacy values are merged.
        let f = parse_workspace_query("has-agent:connected", &pairs(&[("has_agent", "timeout")]))
            .unwrap();
        assert_eq!(f.has_agent, vec!["connected", "timeout"]);
    }

    #[test]
    fn list_request_checks_pagination_first() {
        let r = parse_list_request(&pairs(&[("q", "status:bad"), ("limit", "x")]));
        assert_eq!(r.unwrap_err().message, PAGINATION_MESSAGE);
        let r = parse_list_request(&pairs(&[("q", "status:bad"), ("limit", "1")]));
        assert_eq!(r.unwrap_err().message, WORKSPACE_QUERY_MESSAGE);
        let (f, page) = parse_list_request(&pairs(&[
            ("q", "Owner:me"),
            ("q", "ignored"),
            ("template", "docker"),
            ("offset", "3"),
        ]))
        .unwrap();
        assert_eq!(f.owner.as_deref(), Some("me"));
        assert_eq!(f.template.as_deref(), Some("docker"));
        assert_eq!(f.name, None);
        assert_eq!((page.limit, page.offset), (None, 3));
    }

    // --- Go look-alikes --------------------------------------------------

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("tab\there\n"), r#""tab\there\n""#);
        assert_eq!(go_quote("\u{1}\u{7f}"), r#""\x01\x7f""#);
        assert_eq!(go_quote("héllo"), "\"héllo\"");
        assert_eq!(go_quote("\u{a0}\u{200b}"), r#""\u00a0\u200b""#);
        assert_eq!(go_quote_bytes(b"a\xffb"), r#""a\xffb""#);
        assert_eq!(
            one_err("status:\"b\tx\""),
            e(
                "status",
                "Query param \"status\" has invalid value: \"b\\tx\" is not a valid value"
            )
        );
    }

    #[test]
    fn go_case_mapping() {
        assert_eq!(go_to_lower("ÀB\u{130}Σ"), "àbiσ");
        assert_eq!(go_to_upper("straße"), "STRAßE");
        assert_eq!(ok("ΣΑΣ").name.as_deref(), Some("σασ"));
    }
}
