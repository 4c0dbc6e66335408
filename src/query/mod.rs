//! Coder's query languages and paging parameters, parsed without touching
//! the database: the `q` of workspaces ([`workspaces`]), templates
//! ([`templates`]) and users ([`users`]), and `limit`/`offset`/`after_id`
//! ([`paging`]). Names a query mentions (organizations, users, groups) are
//! resolved by the domain afterwards.
//!
//! All three `q` languages share one lexer ([`lex`], Coder's
//! `searchquery.searchTerms`) and one key parser ([`Parser`], Coder's
//! `httpapi.QueryParamParser`); [`go`] holds the Go standard-library
//! look-alikes whose error texts end up in the 400 bodies.
//!
//! Lexing `q`:
//! 1. the whole query is lowercased;
//! 2. it is split on spaces outside double quotes (quotes kept);
//! 3. tokens containing `:` are key/value elements, the others are joined
//!    with single spaces into one free-text element placed last, which each
//!    language files under its own key;
//! 4. lexical errors (`:` at an edge, several `:`, or the language's own
//!    free-text rule) stop parsing with a single `field: "q"` validation.
//!
//! Each language then reads its keys in Coder's order and collects **all**
//! errors; keys nobody asked for are reported last as unknown.

pub mod go;
pub mod paging;
pub mod templates;
pub mod users;
pub mod workspaces;

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{ApiError, Validation};
use go::{
    go_parse_bool, go_parse_int, go_parse_rfc3339_nano, go_quote, go_to_lower, go_to_upper,
    parse_go_uuid, RFC3339_NANO,
};

/// `message` of a 400 caused by an invalid workspace `q` (or legacy filter
/// parameter).
pub const WORKSPACE_QUERY_MESSAGE: &str = "Invalid workspace search query.";
/// `message` of a 400 caused by an invalid template `q`.
pub const TEMPLATE_QUERY_MESSAGE: &str = "Invalid template search query.";
/// `message` of a 400 caused by an invalid user `q`.
pub const USER_QUERY_MESSAGE: &str = "Invalid user search query.";
/// `message` of a 400 caused by invalid `limit`/`offset`/`after_id`.
pub const PAGINATION_MESSAGE: &str = "Query parameters have invalid values.";

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

/// Where a validation failure leaves the request: the caller answers 400
/// with this message and these validations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// One of the `*_MESSAGE` constants of this module.
    pub message: String,
    /// Every failing field, in the order Coder reports them (never empty).
    pub validations: Vec<Validation>,
}

impl QueryError {
    pub fn new(message: &str, validations: Vec<Validation>) -> QueryError {
        QueryError {
            message: message.to_string(),
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

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> ApiError {
        ApiError::bad_request(e.message).with_validations(e.validations)
    }
}

/// `organization:x` named an organization that does not exist or that the
/// caller cannot see (workspace and template queries).
pub fn organization_not_found(value: &str) -> Validation {
    invalid_value(
        "organization",
        &format!(
            "organization {} either does not exist, or you are unauthorized to view it",
            go_quote(value)
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
    /// URL query pairs as terms (for parameters outside `q`).
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Terms {
        let mut terms = Terms::default();
        for (k, v) in pairs {
            terms.add(k, v.clone());
        }
        terms
    }

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
pub(crate) fn split_by_delimiter(s: &str, delimiter: char, maintain_quotes: bool) -> Vec<String> {
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

/// The one lexer of every `q`: refuses an oversized query, lowercases it
/// and runs [`search_terms`]. `default_key` files the key-less element.
pub(crate) fn lex(
    q: &str,
    default_key: &mut dyn FnMut(&str, &mut Terms) -> Result<(), String>,
) -> Result<Terms, Validation> {
    check_query_size("q", q)?;
    search_terms(&go_to_lower(q), default_key)
}

/// Coder's `searchTerms`: splits `query` on spaces outside quotes, joins the
/// words without a key into one element (quotes kept), and files each
/// `key:value` under its key. `default_key` files the key-less element (its
/// error becomes a `q` validation). A lexical error stops everything.
fn search_terms(
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

/// Reads keys out of [`Terms`] one by one, in the caller's order, collecting
/// Coder's validation for each bad one. A key absent, or whose first value
/// is empty, yields `None` (or an empty list) and no error.
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

    /// Go's `Boolean`/`NullableBoolean` (`strconv.ParseBool`).
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

    /// Go's `Time3339Nano`: RFC 3339 with optional fraction, as UTC.
    pub(crate) fn time(&mut self, key: &'static str) -> Option<DateTime<Utc>> {
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

    /// Go's `ParseCustom`: a single value through `parse`, whose error text
    /// follows "has invalid value: ".
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

    /// Go's `ParseCustomList`: every value (repetition allowed) split on
    /// commas; all item errors are joined with newlines into one validation.
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

    /// Go's `Strings`: a list key whose items are taken as they are.
    pub(crate) fn strings(&mut self, key: &'static str) -> Vec<String> {
        self.custom_list(key, |v| Ok(v.to_string()))
    }

    /// Go's `ParseCustomList` with `ParseEnum`: every item one of `valid`.
    pub(crate) fn enum_list(&mut self, key: &'static str, valid: &[&str]) -> Vec<String> {
        self.custom_list(key, |v| {
            if valid.contains(&v) {
                Ok(v.to_string())
            } else {
                Err(format!("{} is not a valid value", go_quote(v)))
            }
        })
    }

    /// Go's `UUID`.
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

    /// Go's `Int64`.
    pub(crate) fn int64(&mut self, key: &'static str) -> Option<i64> {
        let v = self.single(key)?;
        match go_parse_int(&v, 64) {
            Ok(n) => Some(n),
            Err(e) => {
                self.errors.push(validation(
                    key,
                    format!(
                        "Query param {} must be a valid 64-bit integer: {e}",
                        go_quote(key)
                    ),
                ));
                None
            }
        }
    }

    /// Go's `PositiveInt32`: 0 ≤ n ≤ 2147483647.
    pub(crate) fn positive_int32(&mut self, key: &'static str) -> Option<i64> {
        let v = self.single(key)?;
        let parsed = go_parse_int(&v, 32).and_then(|n| {
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

    /// Go's `ErrorExcessParams`: unknown keys, in order of first appearance.
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

    /// Every validation collected (in order), as a [`QueryError`] with
    /// `message`; `Ok` when there is none.
    pub(crate) fn finish(self, message: &str) -> Result<(), QueryError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(QueryError::new(message, self.errors))
        }
    }
}
