//! The `q` search language of `GET /api/v2/workspaces` and that endpoint's
//! pagination parameters (spec `workspaces-core.md` §11.3, §12 and §20.2).
//! Its lexer ([`search_terms_with`]) and key parser ([`Parser`]) are Coder's
//! shared ones and also serve the template search (`templates::parse_filter`).
//!
//! This is a faithful re-implementation of Coder's hand-rolled splitter
//! (`coderd/searchquery`) and query-parameter parser (`coderd/httpapi`),
//! including the exact Go error texts (`strconv`, `time.Parse`,
//! `google/uuid`) that end up in the 400 bodies.
//!
//! Processing of `q`:
//! 1. the whole query is lowercased;
//! 2. it is split on spaces outside double quotes (quotes kept);
//! 3. tokens containing `:` are key/value elements, the others are joined
//!    with single spaces into one free-text element placed last;
//! 4. lexical errors (`:` at an edge, several `:`, several `/` in free text)
//!    stop parsing with a single `field: "q"` validation;
//! 5. the free text becomes `name` or `owner/name`;
//! 6. legacy top-level parameters (`owner`, `template`, `name`, `status`,
//!    `has_agent`/`has-agent`) are appended as if they were `q` terms;
//! 7. every key is then parsed in Coder's order and **all** errors are
//!    collected; keys nobody asked for are reported last as unknown.

use std::fmt;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use crate::error::Validation;

/// `message` of a 400 caused by an invalid `q` (or legacy filter parameter).
pub const QUERY_ERROR_MESSAGE: &str = "Invalid workspace search query.";
/// `message` of a 400 caused by invalid `limit`/`offset`/`after_id`.
pub const PAGINATION_ERROR_MESSAGE: &str = "Query parameters have invalid values.";

/// Longest `q` (and legacy filter value) accepted, in bytes. Terms become
/// SQL `LIKE` patterns, which SQLite caps at 50,000 bytes; lowercasing can
/// grow UTF-8 by half, so this leaves room.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// Refuses a search value longer than [`MAX_QUERY_BYTES`].
pub fn check_query_size(field: &str, value: &str) -> Result<(), Validation> {
    if value.len() <= MAX_QUERY_BYTES {
        return Ok(());
    }
    Err(validation(
        field,
        format!(
            "Query param {} must be at most {MAX_QUERY_BYTES} bytes, got {}.",
            go_quote(field),
            value.len()
        ),
    ))
}

/// Go's `time.RFC3339Nano` layout, quoted in timestamp error details.
const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

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

/// Where a validation failure leaves the request: the caller answers 400
/// with this message and these validations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// [`QUERY_ERROR_MESSAGE`] for `q` errors, [`PAGINATION_ERROR_MESSAGE`]
    /// for pagination errors.
    pub message: String,
    /// Every failing field, in the order Coder reports them (never empty).
    pub validations: Vec<Validation>,
}

impl QueryError {
    /// A 400 `Invalid workspace search query.` with these validations.
    pub fn query(validations: Vec<Validation>) -> QueryError {
        QueryError {
            message: QUERY_ERROR_MESSAGE.to_string(),
            validations,
        }
    }

    /// A 400 `Query parameters have invalid values.` with these validations.
    pub fn pagination(validations: Vec<Validation>) -> QueryError {
        QueryError {
            message: PAGINATION_ERROR_MESSAGE.to_string(),
            validations,
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for v in &self.validations {
            write!(f, " [{}: {}]", v.field, v.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for QueryError {}

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
    /// [`organization_not_found`].
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
    /// [`shared_with_group_not_found`].
    pub shared_with_group: Option<String>,
}

/// A value only the caller can check, handed to the lookup callback of
/// [`parse_workspace_query_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// `organization:` (UUID or name).
    Organization,
    /// `shared_with_user:` (UUID or username).
    SharedWithUser,
    /// `shared_with_group:` (UUID, `org/group` or `group`).
    SharedWithGroup,
}

impl Lookup {
    /// The query key of this lookup (also the `field` of its validation).
    pub fn key(self) -> &'static str {
        match self {
            Lookup::Organization => "organization",
            Lookup::SharedWithUser => "shared_with_user",
            Lookup::SharedWithGroup => "shared_with_group",
        }
    }
}

/// Parses `q` plus the legacy separate filter parameters.
///
/// `legacy` is the whole URL query string as (key, value) pairs; only
/// `owner`, `template`, `name`, `status`, `has_agent` and `has-agent` are
/// used (everything else, e.g. `q`, `limit`, `offset`, is ignored). Each
/// non-empty legacy value is lowercased and added after the `q` terms under
/// its key (`has_agent` → `has-agent`), so a key given both ways, or a legacy
/// parameter repeated, yields the "provided more than once" error.
///
/// Lookups (`organization`, `shared_with_user`, `shared_with_group`) are not
/// checked; see [`parse_workspace_query_with`] to have their errors reported
/// together with the others, exactly as Coder does.
pub fn parse_workspace_query(
    q: &str,
    legacy: &[(String, String)],
) -> Result<WorkspaceFilter, QueryError> {
    parse_workspace_query_with(q, legacy, &mut |_, _| Ok(()))
}

/// Like [`parse_workspace_query`], but calls `lookup` for each non-empty,
/// non-repeated `organization`/`shared_with_user`/`shared_with_group` value
/// at the point Coder resolves it, so that a returned [`Validation`] (build it
/// with [`organization_not_found`], [`shared_with_user_not_found`],
/// [`shared_with_group_not_found`] or [`invalid_value`]) lands in the same
/// position of the error list as in Coder. The callback receives every such
/// value, including UUIDs (which Coder accepts without an existence check).
pub fn parse_workspace_query_with(
    q: &str,
    legacy: &[(String, String)],
    lookup: &mut dyn FnMut(Lookup, &str) -> Result<(), Validation>,
) -> Result<WorkspaceFilter, QueryError> {
    check_query_size("q", q).map_err(|v| QueryError::query(vec![v]))?;
    let mut terms = search_terms(&go_to_lower(q)).map_err(|v| QueryError::query(vec![v]))?;
    for (param, value) in legacy {
        let key = match param.as_str() {
            "owner" | "template" | "name" | "status" => param.as_str(),
            "has_agent" | "has-agent" => "has-agent",
            _ => continue,
        };
        check_query_size(param, value).map_err(|v| QueryError::query(vec![v]))?;
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
        has_agent: p.custom_list("has-agent", |v| Ok(v.to_string())),
        dormant: p.boolean("dormant").filter(|d| *d),
        last_used_after: p.time("last_used_after"),
        last_used_before: p.time("last_used_before"),
        outdated: p.boolean("outdated"),
        has_ai_task: p.boolean("has-ai-task"),
        has_external_agent: p.boolean("has_external_agent"),
        organization: p.looked_up(Lookup::Organization, lookup),
        shared: p.boolean("shared"),
        shared_with_user: p.looked_up(Lookup::SharedWithUser, lookup),
        shared_with_group: p.looked_up(Lookup::SharedWithGroup, lookup),
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

    if p.errors.is_empty() {
        Ok(filter)
    } else {
        Err(QueryError::query(p.errors))
    }
}

/// Pagination of `GET /workspaces` (§11.3) from all URL query pairs.
///
/// Returns `(limit, offset)`; `limit` is `None` when absent, empty or `0`
/// (no limit). `after_id` is validated but has no effect. Errors of
/// `after_id`, `limit` and `offset` are collected together, in that order.
pub fn parse_pagination(query: &[(String, String)]) -> Result<(Option<i64>, i64), QueryError> {
    let mut terms = Terms::default();
    for (k, v) in query {
        terms.add(k, v.clone());
    }
    let mut p = Parser::new(&terms);
    if let Some(v) = p.single("after_id") {
        if parse_go_uuid(&v).is_err() {
            p.errors.push(validation(
                "after_id",
                r#"Query param "after_id" must be a valid uuid"#.to_string(),
            ));
        }
    }
    let limit = p.positive_int32("limit").unwrap_or(0);
    let offset = p.positive_int32("offset").unwrap_or(0);
    if !p.errors.is_empty() {
        return Err(QueryError::pagination(p.errors));
    }
    Ok(((limit != 0).then_some(limit), offset))
}

/// Whole-request convenience for `GET /workspaces`: pagination first (its
/// errors win), then the first `q` value together with the legacy filter
/// parameters. Returns `(filter, limit, offset)`.
pub fn parse_list_request(
    query: &[(String, String)],
) -> Result<(WorkspaceFilter, Option<i64>, i64), QueryError> {
    let (limit, offset) = parse_pagination(query)?;
    let q = query
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let filter = parse_workspace_query(q, query)?;
    Ok((filter, limit, offset))
}

/// `organization:x` named an organization that does not exist or that the
/// caller cannot see.
pub fn organization_not_found(value: &str) -> Validation {
    invalid_value(
        "organization",
        &format!(
            "organization {} either does not exist, or you are unauthorized to view it",
            go_quote(value)
        ),
    )
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

/// `{"field": key, "detail": "Query param \"<key>\" has invalid value: <reason>"}`,
/// the shape of every error of a custom-parsed single-value key.
pub fn invalid_value(key: &str, reason: &str) -> Validation {
    validation(
        key,
        format!("Query param {} has invalid value: {reason}", go_quote(key)),
    )
}

/// Parses a UUID exactly as Go's `github.com/google/uuid.Parse` does (36
/// chars hyphenated, 38 with any surrounding pair, 45 with `urn:uuid:`, 32
/// bare hex), returning its error text on failure (e.g.
/// `invalid UUID length: 3`, `invalid UUID format`).
pub fn parse_go_uuid(s: &str) -> Result<Uuid, String> {
    let b = s.as_bytes();
    let body: &[u8] = match b.len() {
        36 => b,
        45 => {
            if !b[..9].eq_ignore_ascii_case(b"urn:uuid:") {
                return Err(format!("invalid urn prefix: {}", go_quote_bytes(&b[..9])));
            }
            &b[9..]
        }
        38 => &b[1..],
        32 => {
            let mut out = [0u8; 16];
            for (i, o) in out.iter_mut().enumerate() {
                *o = xtob(b[i * 2], b[i * 2 + 1]).ok_or("invalid UUID format")?;
            }
            return Ok(Uuid::from_bytes(out));
        }
        n => return Err(format!("invalid UUID length: {n}")),
    };
    if body[8] != b'-' || body[13] != b'-' || body[18] != b'-' || body[23] != b'-' {
        return Err("invalid UUID format".to_string());
    }
    const OFFSETS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let mut out = [0u8; 16];
    for (o, x) in out.iter_mut().zip(OFFSETS) {
        *o = xtob(body[x], body[x + 1]).ok_or("invalid UUID format")?;
    }
    Ok(Uuid::from_bytes(out))
}

fn xtob(a: u8, b: u8) -> Option<u8> {
    let h = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    Some((h(a)? << 4) | h(b)?)
}

fn validation(field: &str, detail: String) -> Validation {
    Validation {
        field: field.to_string(),
        detail,
    }
}

// ---------------------------------------------------------------------------
// Lexing (Coder's searchTerms / splitQueryParameterByDelimiter)
// ---------------------------------------------------------------------------

/// An insertion-ordered multimap, Go's `url.Values` with a stable key order.
#[derive(Debug, Default)]
pub(crate) struct Terms {
    entries: Vec<(String, Vec<String>)>,
}

impl Terms {
    pub(crate) fn add(&mut self, key: &str, value: String) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, values)) => values.push(value),
            None => self.entries.push((key.to_string(), vec![value])),
        }
    }

    fn get(&self, key: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }
}

/// Splits on `delimiter` outside double quotes, dropping empty fields (Go's
/// `strings.FieldsFunc`); unless `maintain_quotes`, every `"` at either end
/// of each part is stripped (Go's `strings.Trim(part, "\"")`).
fn split_by_delimiter(s: &str, delimiter: char, maintain_quotes: bool) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in s.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if !quoted && c == delimiter {
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    if !maintain_quotes {
        for part in &mut parts {
            *part = part.trim_matches('"').to_string();
        }
    }
    parts
}

/// Coder's `searchTerms` with the workspace default-key rule; `query` is
/// already lowercased. A lexical error stops everything.
fn search_terms(query: &str) -> Result<Terms, Validation> {
    search_terms_with(query, &mut |element, terms| {
        // No key:value pair: a workspace name, maybe with its owner.
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
    })
}

/// Coder's `searchTerms`, shared by every `q` language: splits `query` on
/// spaces outside quotes, joins the words without a key into one element,
/// and files each `key:value` under its key. `default_key` files the
/// key-less element (its error becomes a `q` validation). A lexical error
/// stops everything.
pub(crate) fn search_terms_with(
    query: &str,
    default_key: &mut dyn FnMut(&str, &mut Terms) -> Result<(), String>,
) -> Result<Terms, Validation> {
    let tokens = split_by_delimiter(query, ' ', true);
    let (mut elements, free): (Vec<String>, Vec<String>) =
        tokens.into_iter().partition(|t| t.contains(':'));
    if !free.is_empty() {
        elements.push(free.join(" "));
    }
    let mut terms = Terms::default();
    for element in elements {
        if element.starts_with(':') || element.ends_with(':') {
            return Err(validation(
                "q",
                format!(
                    "Query element {} cannot start or end with ':'",
                    go_quote(&element)
                ),
            ));
        }
        let mut parts = split_by_delimiter(&element, ':', false);
        match parts.len() {
            1 => default_key(&element, &mut terms).map_err(|e| validation("q", e))?,
            2 => {
                let value = parts.pop().unwrap_or_default();
                let key = go_to_lower(&parts[0]);
                terms.add(&key, value);
            }
            _ => {
                return Err(validation(
                    "q",
                    format!(
                        "Query element {} can only contain 1 ':'",
                        go_quote(&element)
                    ),
                ))
            }
        }
    }
    Ok(terms)
}

// ---------------------------------------------------------------------------
// Key parsing (Coder's httpapi.QueryParamParser)
// ---------------------------------------------------------------------------

pub(crate) struct Parser<'a> {
    terms: &'a Terms,
    parsed: Vec<&'static str>,
    errors: Vec<Validation>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(terms: &'a Terms) -> Parser<'a> {
        Parser {
            terms,
            parsed: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// All values of `key`, or `None` when absent or its first value is empty.
    fn values(&mut self, key: &'static str) -> Option<&'a [String]> {
        self.parsed.push(key);
        let values = self.terms.get(key)?;
        if values.first().is_none_or(|v| v.is_empty()) {
            return None;
        }
        Some(values)
    }

    /// The single value of `key`; a repeated key is an error (and `None`).
    pub(crate) fn single(&mut self, key: &'static str) -> Option<String> {
        let values = self.values(key)?;
        if values.len() > 1 {
            self.errors.push(validation(
                key,
                format!(
                    "Query param {} provided more than once, found {} times. Only provide 1 instance of this query param.",
                    go_quote(key),
                    values.len()
                ),
            ));
            return None;
        }
        Some(values[0].clone())
    }

    pub(crate) fn boolean(&mut self, key: &'static str) -> Option<bool> {
        let v = self.single(key)?;
        match go_parse_bool(&v) {
            Ok(b) => Some(b),
            Err(e) => {
                self.errors.push(validation(
                    key,
                    format!("Query param {} must be a valid boolean: {e}", go_quote(key)),
                ));
                None
            }
        }
    }

    fn time(&mut self, key: &'static str) -> Option<DateTime<Utc>> {
        let v = self.single(key)?;
        // Everything was lowercased, but RFC 3339 wants upper-case T and Z.
        match go_parse_rfc3339_nano(&go_to_upper(&v)) {
            Ok(t) => Some(t),
            Err(e) => {
                self.errors.push(validation(
                    key,
                    format!(
                        "Query param {} must be a valid date format ({RFC3339_NANO}): {e}",
                        go_quote(key)
                    ),
                ));
                None
            }
        }
    }

    pub(crate) fn custom<T>(
        &mut self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let v = self.single(key)?;
        match parse(&v) {
            Ok(t) => Some(t),
            Err(e) => {
                self.errors.push(invalid_value(key, &e));
                None
            }
        }
    }

    /// A list key: every value (repetition allowed) split on commas; all
    /// item errors are joined with newlines into one validation.
    pub(crate) fn custom_list<T>(
        &mut self,
        key: &'static str,
        mut parse: impl FnMut(&str) -> Result<T, String>,
    ) -> Vec<T> {
        let Some(values) = self.values(key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for item in values.iter().flat_map(|v| v.split(',')) {
            match parse(item) {
                Ok(t) => out.push(t),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            return out;
        }
        self.errors.push(validation(
            key,
            format!(
                "Query param {} has invalid values: {}",
                go_quote(key),
                errors.join("\n")
            ),
        ));
        Vec::new()
    }

    pub(crate) fn looked_up(
        &mut self,
        which: Lookup,
        lookup: &mut dyn FnMut(Lookup, &str) -> Result<(), Validation>,
    ) -> Option<String> {
        let v = self.single(which.key())?;
        match lookup(which, &v) {
            Ok(()) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    /// Go's `QueryParamParser.UUID`.
    pub(crate) fn uuid(&mut self, key: &'static str) -> Option<Uuid> {
        let v = self.single(key)?;
        match parse_go_uuid(&v) {
            Ok(id) => Some(id),
            Err(_) => {
                self.errors.push(validation(
                    key,
                    format!("Query param {} must be a valid uuid", go_quote(key)),
                ));
                None
            }
        }
    }

    /// The validations collected so far (unknown keys last, once
    /// [`Parser::error_excess_params`] ran).
    pub(crate) fn into_errors(self) -> Vec<Validation> {
        self.errors
    }

    /// Go's `PositiveInt32`: 0 ≤ n ≤ 2147483647.
    fn positive_int32(&mut self, key: &'static str) -> Option<i64> {
        let v = self.single(key)?;
        let parsed = go_parse_int32(&v).and_then(|n| {
            if n < 0 {
                Err("value is negative".to_string())
            } else {
                Ok(n)
            }
        });
        match parsed {
            Ok(n) => Some(n),
            Err(e) => {
                self.errors.push(validation(
                    key,
                    format!(
                        "Query param {} must be a valid 32-bit positive integer: {e}",
                        go_quote(key)
                    ),
                ));
                None
            }
        }
    }

    /// Unknown keys, in order of first appearance.
    pub(crate) fn error_excess_params(&mut self) {
        for (key, _) in &self.terms.entries {
            if !self.parsed.contains(&key.as_str()) {
                self.errors.push(validation(
                    key,
                    format!("{} is not a valid query param", go_quote(key)),
                ));
            }
        }
    }
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

// ---------------------------------------------------------------------------
// Go standard-library look-alikes
// ---------------------------------------------------------------------------

/// Go's `strings.ToLower`: per-rune simple case mapping.
pub(crate) fn go_to_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut m = c.to_lowercase();
            match (m.next(), m.next()) {
                (Some(l), None) => l,
                _ if c == '\u{130}' => 'i',
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.ToUpper`: per-rune simple case mapping.
fn go_to_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut m = c.to_uppercase();
            match (m.next(), m.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// Go's `strconv.ParseBool`.
fn go_parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {}: invalid syntax",
            go_quote(s)
        )),
    }
}

/// Go's `strconv.ParseInt(s, 10, 32)`.
fn go_parse_int32(s: &str) -> Result<i64, String> {
    let syntax = || format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(s));
    let range = || {
        format!(
            "strconv.ParseInt: parsing {}: value out of range",
            go_quote(s)
        )
    };
    let (neg, digits) = match s.as_bytes() {
        [b'+', rest @ ..] => (false, rest),
        [b'-', rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    if digits.is_empty() {
        return Err(syntax());
    }
    let mut n: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(syntax());
        }
        n = n * 10 + u64::from(c - b'0');
        if n > u64::from(u32::MAX) {
            // ParseUint(s, 10, 32) stops at the first overflow.
            return Err(range());
        }
    }
    const CUTOFF: u64 = 1 << 31;
    if (!neg && n >= CUTOFF) || (neg && n > CUTOFF) {
        return Err(range());
    }
    let n = n as i64;
    Ok(if neg { -n } else { n })
}

/// Go's `strconv.Quote` (what `%q` prints for a string).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_quoted_char(&mut out, c);
    }
    out.push('"');
    out
}

/// `strconv.Quote` of bytes that may not be valid UTF-8 (invalid bytes → `\xNN`).
fn go_quote_bytes(b: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_quoted_char(&mut out, c);
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('"');
    out
}

fn push_quoted_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        c if go_is_print(c) => out.push(c),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c == '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// Approximation of Go's `strconv.IsPrint`: letters, marks, numbers,
/// punctuation, symbols and the ASCII space.
fn go_is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    let u = c as u32;
    !(c.is_control()
        || c.is_whitespace()
        || matches!(u, 0xa0 | 0xad | 0x061c | 0x06dd | 0x070f | 0x180e | 0xfeff)
        || (0x0600..=0x0605).contains(&u)
        || (0x200b..=0x200f).contains(&u)
        || (0x202a..=0x202f).contains(&u)
        || (0x2060..=0x206f).contains(&u)
        || (0xe000..=0xf8ff).contains(&u)
        || (0xfff9..=0xfffb).contains(&u)
        || u >= 0xf0000)
}

/// The quoting of Go's `time` package error messages: every byte outside
/// printable ASCII becomes `\xNN`.
fn time_quote(b: &[u8]) -> String {
    let mut out = String::from("\"");
    for &byte in b {
        if !(b' '..0x80).contains(&byte) {
            let _ = write!(out, "\\x{byte:02x}");
        } else {
            if byte == b'"' || byte == b'\\' {
                out.push('\\');
            }
            out.push(byte as char);
        }
    }
    out.push('"');
    out
}

/// Two-digit (or, unless `fixed`, one-digit) number at the start of `s`.
fn getnum(s: &[u8], fixed: bool) -> Option<(u32, &[u8])> {
    let digit = |i: usize| {
        s.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u32::from(c - b'0'))
    };
    let first = digit(0)?;
    match digit(1) {
        Some(second) => Some((first * 10 + second, &s[2..])),
        None if fixed => None,
        None => Some((first, &s[1..])),
    }
}

/// Go's `time.Parse(time.RFC3339Nano, value)` followed by `.UTC()`, with Go's
/// error texts (`parsing time "x" as "<layout>": cannot parse "x" as "2006"`,
/// `parsing time "x": month out of range`, `...: extra text: "y"`).
fn go_parse_rfc3339_nano(value: &str) -> Result<DateTime<Utc>, String> {
    let full = value.as_bytes();
    let cannot = |rest: &[u8], elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            time_quote(full),
            time_quote(RFC3339_NANO.as_bytes()),
            time_quote(rest),
            time_quote(elem.as_bytes())
        )
    };
    let out_of_range =
        |what: &str| format!("parsing time {}: {what} out of range", time_quote(full));
    let skip = |v: &'_ [u8], c: u8| -> Result<usize, String> {
        if v.first() == Some(&c) {
            Ok(1)
        } else {
            Err(cannot(v, &(c as char).to_string()))
        }
    };

    let mut v = full;
    // 2006
    if v.len() < 4 || !v[..4].iter().all(u8::is_ascii_digit) {
        return Err(cannot(v, "2006"));
    }
    let year = v[..4]
        .iter()
        .fold(0i32, |a, d| a * 10 + i32::from(d - b'0'));
    v = &v[4..];
    v = &v[skip(v, b'-')?..];
    // 01
    let (month, rest) = getnum(v, true).ok_or_else(|| cannot(v, "01"))?;
    if !(1..=12).contains(&month) {
        return Err(out_of_range("month"));
    }
    v = rest;
    v = &v[skip(v, b'-')?..];
    // 02 (validated against the month at the end)
    let (day, rest) = getnum(v, true).ok_or_else(|| cannot(v, "02"))?;
    v = rest;
    v = &v[skip(v, b'T')?..];
    // 15 (one digit allowed)
    let (hour, rest) = getnum(v, false).ok_or_else(|| cannot(v, "15"))?;
    if hour >= 24 {
        return Err(out_of_range("hour"));
    }
    v = rest;
    v = &v[skip(v, b':')?..];
    // 04
    let (minute, rest) = getnum(v, true).ok_or_else(|| cannot(v, "04"))?;
    if minute >= 60 {
        return Err(out_of_range("minute"));
    }
    v = rest;
    v = &v[skip(v, b':')?..];
    // 05
    let (second, rest) = getnum(v, true).ok_or_else(|| cannot(v, "05"))?;
    if second >= 60 {
        return Err(out_of_range("second"));
    }
    v = rest;
    // .999999999 (optional; any number of digits, beyond 9 ignored)
    let mut nanos = 0u32;
    if v.len() >= 2 && (v[0] == b'.' || v[0] == b',') && v[1].is_ascii_digit() {
        let digits = v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        for i in 0..9 {
            let d = if i < digits {
                u32::from(v[1 + i] - b'0')
            } else {
                0
            };
            nanos = nanos * 10 + d;
        }
        v = &v[1 + digits..];
    }
    // Z07:00
    let offset_seconds: i64 = if v.first() == Some(&b'Z') {
        v = &v[1..];
        0
    } else {
        let hold = v;
        if v.len() < 6 || v[3] != b':' {
            return Err(cannot(hold, "Z07:00"));
        }
        let (sign, hh, mm) = (v[0], &v[1..3], &v[4..6]);
        v = &v[6..];
        let (hr, _) = getnum(hh, true).ok_or_else(|| cannot(hold, "Z07:00"))?;
        let (min, _) = getnum(mm, true).ok_or_else(|| cannot(hold, "Z07:00"))?;
        if min > 60 {
            return Err(out_of_range("time zone offset minute"));
        }
        if hr > 24 {
            return Err(out_of_range("time zone offset hour"));
        }
        let off = i64::from(hr * 60 + min) * 60;
        match sign {
            b'+' => off,
            b'-' => -off,
            _ => return Err(cannot(hold, "Z07:00")),
        }
    };
    if !v.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            time_quote(full),
            time_quote(v)
        ));
    }
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| out_of_range("day"))?;
    let local = date
        .and_hms_nano_opt(hour, minute, second, nanos)
        .ok_or_else(|| out_of_range("second"))?;
    Ok(local.and_utc() - TimeDelta::seconds(offset_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
    fn go_uuid_forms() {
        let u = Uuid::parse_str(U1).unwrap();
        assert_eq!(parse_go_uuid(U1), Ok(u));
        assert_eq!(parse_go_uuid(&U1.to_uppercase()), Ok(u));
        assert_eq!(parse_go_uuid(&format!("{{{U1}}}")), Ok(u));
        assert_eq!(parse_go_uuid(&format!("urn:uuid:{U1}")), Ok(u));
        assert_eq!(parse_go_uuid(&U1.replace('-', "")), Ok(u));
        assert_eq!(
            parse_go_uuid(&format!("urx:uuid:{U1}")),
            Err("invalid urn prefix: \"urx:uuid:\"".to_string())
        );
        assert_eq!(parse_go_uuid(""), Err("invalid UUID length: 0".to_string()));
        assert_eq!(
            parse_go_uuid(&"g".repeat(32)),
            Err("invalid UUID format".to_string())
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
    fn lookup_errors_land_in_coder_order() {
        let mut seen = Vec::new();
        let r = parse_workspace_query_with(
            "shared_with_group:devs organization:nope status:bad shared_with_user:bob shared:x",
            &[],
            &mut |which, value| {
                seen.push((which, value.to_string()));
                match which {
                    Lookup::Organization => Err(organization_not_found(value)),
                    Lookup::SharedWithUser => Err(shared_with_user_not_found(value)),
                    Lookup::SharedWithGroup => Err(shared_with_group_not_found(value, "coder")),
                }
            },
        );
        assert_eq!(
            seen,
            vec![
                (Lookup::Organization, "nope".to_string()),
                (Lookup::SharedWithUser, "bob".to_string()),
                (Lookup::SharedWithGroup, "devs".to_string()),
            ]
        );
        assert_eq!(
            errs_of(r),
            vec![
                e("status", "Query param \"status\" has invalid value: \"bad\" is not a valid value"),
                e("organization", "Query param \"organization\" has invalid value: organization \"nope\" either does not exist, or you are unauthorized to view it"),
                e("shared", "Query param \"shared\" must be a valid boolean: strconv.ParseBool: parsing \"x\": invalid syntax"),
                e("shared_with_user", "Query param \"shared_with_user\" has invalid value: user \"bob\" either does not exist, or you are unauthorized to view them"),
                e("shared_with_group", "Query param \"shared_with_group\" has invalid value: group \"devs\" either does not exist, does not belong to the organization \"coder\", or you are unauthorized to view it"),
            ]
        );
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
        // A successful lookup keeps the value.
        let f = parse_workspace_query_with("organization:acme", &[], &mut |_, _| Ok(())).unwrap();
        assert_eq!(f.organization.as_deref(), Some("acme"));
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

    // --- pagination ------------------------------------------------------

    fn page(p: &[(&str, &str)]) -> Result<(Option<i64>, i64), QueryError> {
        parse_pagination(&pairs(p))
    }

    #[test]
    fn pagination_values() {
        assert_eq!(page(&[]), Ok((None, 0)));
        assert_eq!(page(&[("limit", "0"), ("offset", "0")]), Ok((None, 0)));
        assert_eq!(page(&[("limit", ""), ("offset", "")]), Ok((None, 0)));
        assert_eq!(
            page(&[("limit", "25"), ("offset", "50")]),
            Ok((Some(25), 50))
        );
        assert_eq!(page(&[("limit", "+7"), ("offset", "-0")]), Ok((Some(7), 0)));
        assert_eq!(page(&[("limit", "2147483647")]), Ok((Some(2147483647), 0)));
        assert_eq!(
            page(&[("after_id", U1), ("q", "x"), ("other", "y")]),
            Ok((None, 0))
        );
        // An empty first value hides a repetition, as in Coder.
        assert_eq!(page(&[("limit", ""), ("limit", "5")]), Ok((None, 0)));
    }

    #[test]
    fn pagination_errors() {
        let r = page(&[("limit", "abc")]);
        assert_eq!(
            r.as_ref().unwrap_err().message,
            "Query parameters have invalid values."
        );
        assert_eq!(
            errs_of(r),
            vec![e("limit", "Query param \"limit\" must be a valid 32-bit positive integer: strconv.ParseInt: parsing \"abc\": invalid syntax")]
        );
        assert_eq!(
            errs_of(page(&[("offset", "-1")])),
            vec![e(
                "offset",
                "Query param \"offset\" must be a valid 32-bit positive integer: value is negative"
            )]
        );
        assert_eq!(
            errs_of(page(&[("limit", "2147483648")])),
            vec![e("limit", "Query param \"limit\" must be a valid 32-bit positive integer: strconv.ParseInt: parsing \"2147483648\": value out of range")]
        );
        assert_eq!(
            errs_of(page(&[("limit", "-2147483649")])),
            vec![e("limit", "Query param \"limit\" must be a valid 32-bit positive integer: strconv.ParseInt: parsing \"-2147483649\": value out of range")]
        );
        assert_eq!(
            errs_of(page(&[("limit", "-2147483648")])),
            vec![e(
                "limit",
                "Query param \"limit\" must be a valid 32-bit positive integer: value is negative"
            )]
        );
        // Overflow is detected before a later bad character.
        assert_eq!(
            errs_of(page(&[("limit", "99999999999x")])),
            vec![e("limit", "Query param \"limit\" must be a valid 32-bit positive integer: strconv.ParseInt: parsing \"99999999999x\": value out of range")]
        );
        assert_eq!(
            errs_of(page(&[("limit", "-")])),
            vec![e("limit", "Query param \"limit\" must be a valid 32-bit positive integer: strconv.ParseInt: parsing \"-\": invalid syntax")]
        );
        assert_eq!(
            errs_of(page(&[("limit", "1"), ("limit", "2")])),
            vec![e("limit", &dup("limit", 2))]
        );
        assert_eq!(
            errs_of(page(&[("after_id", "nope")])),
            vec![e(
                "after_id",
                "Query param \"after_id\" must be a valid uuid"
            )]
        );
        // All collected, in Coder's order: after_id, limit, offset.
        assert_eq!(
            errs_of(page(&[("offset", "x"), ("limit", "-5"), ("after_id", "1")])),
            vec![
                e("after_id", "Query param \"after_id\" must be a valid uuid"),
                e("limit", "Query param \"limit\" must be a valid 32-bit positive integer: value is negative"),
                e("offset", "Query param \"offset\" must be a valid 32-bit positive integer: strconv.ParseInt: parsing \"x\": invalid syntax"),
            ]
        );
    }

    #[test]
    fn list_request_checks_pagination_first() {
        let r = parse_list_request(&pairs(&[("q", "status:bad"), ("limit", "x")]));
        assert_eq!(r.unwrap_err().message, PAGINATION_ERROR_MESSAGE);
        let r = parse_list_request(&pairs(&[("q", "status:bad"), ("limit", "1")]));
        assert_eq!(r.unwrap_err().message, QUERY_ERROR_MESSAGE);
        let (f, limit, offset) = parse_list_request(&pairs(&[
            ("q", "Owner:me"),
            ("q", "ignored"),
            ("template", "docker"),
            ("offset", "3"),
        ]))
        .unwrap();
        assert_eq!(f.owner.as_deref(), Some("me"));
        assert_eq!(f.template.as_deref(), Some("docker"));
        assert_eq!(f.name, None);
        assert_eq!((limit, offset), (None, 3));
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
