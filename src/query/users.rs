//! The `q` of `GET /users` (and of the available-users list): Coder's
//! `searchquery.Users` on the shared lexer and [`Parser`]. Words without a
//! key search username and email (`search`).

use chrono::{DateTime, Utc};

use super::{lex, Parser, QueryError, USER_QUERY_MESSAGE};

/// Values of `status:` (Coder's `database.UserStatus`).
pub const USER_STATUSES: [&str; 3] = ["active", "suspended", "dormant"];

/// Values of `login_type:` (Coder's `database.LoginType`).
pub const LOGIN_TYPES: [&str; 6] = [
    "password",
    "github",
    "oidc",
    "token",
    "none",
    "oauth2_provider_app",
];

/// The parsed user filter; `None`/empty means "do not filter on this".
/// Text values are lowercase (the whole query is lowercased).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// `search:` or free text: substring of username or email. Coder keeps
    /// the quotes of quoted free text, and so does this.
    pub search: Option<String>,
    /// `name:` — substring of the full name.
    pub name: Option<String>,
    /// `status:` — any of these ([`USER_STATUSES`]).
    pub status: Vec<String>,
    /// `service_account:`.
    pub service_account: Option<bool>,
    /// `role:` — holds any of these site roles.
    pub roles: Vec<String>,
    /// `last_seen_after:` (RFC 3339, UTC).
    pub last_seen_after: Option<DateTime<Utc>>,
    /// `last_seen_before:`.
    pub last_seen_before: Option<DateTime<Utc>>,
    /// `created_after:`.
    pub created_after: Option<DateTime<Utc>>,
    /// `created_before:`.
    pub created_before: Option<DateTime<Utc>>,
    /// `github_com_user_id:` — a GitHub user id (0 means no filter).
    pub github_com_user_id: Option<i64>,
    /// `login_type:` — any of these ([`LOGIN_TYPES`]).
    pub login_types: Vec<String>,
}

/// Parses a user `q`, reading the keys in Coder's order.
pub fn parse_user_query(q: &str) -> Result<UserQuery, QueryError> {
    let terms = lex(q, &mut |element, terms| {
        terms.add("search", element.to_string());
        Ok(())
    })
    .map_err(|v| QueryError::new(USER_QUERY_MESSAGE, vec![v]))?;
    let mut p = Parser::new(&terms);
    let f = UserQuery {
        search: p.single("search"),
        name: p.single("name"),
        status: p.enum_list("status", &USER_STATUSES),
        service_account: p.boolean("service_account"),
        roles: p.strings("role"),
        last_seen_after: p.time("last_seen_after"),
        last_seen_before: p.time("last_seen_before"),
        created_after: p.time("created_after"),
        created_before: p.time("created_before"),
        github_com_user_id: p.int64("github_com_user_id").filter(|id| *id != 0),
        login_types: p.enum_list("login_type", &LOGIN_TYPES),
    };
    p.error_excess_params();
    p.finish(USER_QUERY_MESSAGE)?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ok(q: &str) -> UserQuery {
        parse_user_query(q).unwrap_or_else(|e| panic!("{q:?} failed: {e}"))
    }

    fn errs(q: &str) -> Vec<(String, String)> {
        let e = parse_user_query(q).expect_err("expected an error");
        assert_eq!(e.message, "Invalid user search query.");
        e.validations
            .into_iter()
            .map(|v| (v.field, v.detail))
            .collect()
    }

    fn e(field: &str, detail: &str) -> (String, String) {
        (field.to_string(), detail.to_string())
    }

    #[test]
    fn empty_query_is_no_filter() {
        assert_eq!(ok(""), UserQuery::default());
        assert_eq!(ok("  "), UserQuery::default());
    }

    #[test]
    fn free_text_is_one_lowercased_search() {
        assert_eq!(ok("Ali").search.as_deref(), Some("ali"));
        // Words around keys are joined into one element, as Coder's lexer does.
        let f = ok("example.com role:template-admin Org");
        assert_eq!(f.search.as_deref(), Some("example.com org"));
        assert_eq!(f.roles, vec!["template-admin"]);
        // Quoted free text keeps its quotes (Coder's `search` term is the
        // element as lexed).
        assert_eq!(ok("\"a b\"").search.as_deref(), Some("\"a b\""));
        // `search:` is the same key; giving both is a repetition.
        assert_eq!(ok("search:Bob").search.as_deref(), Some("bob"));
        assert_eq!(
            errs("bob search:alice"),
            vec![e(
                "search",
                "Query param \"search\" provided more than once, found 2 times. Only provide 1 instance of this query param."
            )]
        );
    }

    #[test]
    fn list_keys() {
        let f = ok(
            "status:Active,dormant status:suspended role:owner,auditor login_type:password,oidc",
        );
        assert_eq!(f.status, vec!["active", "dormant", "suspended"]);
        assert_eq!(f.roles, vec!["owner", "auditor"]);
        assert_eq!(f.login_types, vec!["password", "oidc"]);
        for t in LOGIN_TYPES {
            assert_eq!(ok(&format!("login_type:{t}")).login_types, vec![t]);
        }
        assert_eq!(
            errs("status:sleepy,active,gone"),
            vec![e(
                "status",
                "Query param \"status\" has invalid values: \"sleepy\" is not a valid value\n\"gone\" is not a valid value"
            )]
        );
        assert_eq!(
            errs("login_type:saml"),
            vec![e(
                "login_type",
                "Query param \"login_type\" has invalid values: \"saml\" is not a valid value"
            )]
        );
    }

    #[test]
    fn scalar_keys() {
        let f = ok("name:\"Jane Doe\" service_account:true github_com_user_id:42");
        assert_eq!(f.name.as_deref(), Some("jane doe"));
        assert_eq!(f.service_account, Some(true));
        assert_eq!(f.github_com_user_id, Some(42));
        assert_eq!(ok("service_account:f").service_account, Some(false));
        assert_eq!(ok("github_com_user_id:0").github_com_user_id, None);
        assert_eq!(
            errs("service_account:maybe github_com_user_id:x"),
            vec![
                e("service_account", "Query param \"service_account\" must be a valid boolean: strconv.ParseBool: parsing \"maybe\": invalid syntax"),
                e("github_com_user_id", "Query param \"github_com_user_id\" must be a valid 64-bit integer: strconv.ParseInt: parsing \"x\": invalid syntax"),
            ]
        );
    }

    #[test]
    fn timestamps() {
        let f = ok(
            "created_after:\"2024-01-01T00:00:00Z\" last_seen_before:\"2024-06-01T12:00:00+02:00\"",
        );
        assert_eq!(
            f.created_after,
            Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(
            f.last_seen_before,
            Some(Utc.with_ymd_and_hms(2024, 6, 1, 10, 0, 0).unwrap())
        );
        // A date alone is not RFC 3339.
        assert_eq!(
            errs("created_before:2024-01-01"),
            vec![e(
                "created_before",
                "Query param \"created_before\" must be a valid date format (2006-01-02T15:04:05.999999999Z07:00): parsing time \"2024-01-01\" as \"2006-01-02T15:04:05.999999999Z07:00\": cannot parse \"\" as \"T\""
            )]
        );
        // Unquoted, a time's colons are the lexer's.
        assert_eq!(
            errs("last_seen_after:2024-01-01T00:00:00Z"),
            vec![e(
                "q",
                "Query element \"last_seen_after:2024-01-01t00:00:00z\" can only contain 1 ':'"
            )]
        );
    }

    #[test]
    fn errors_collected_in_coders_order_unknown_last() {
        assert_eq!(
            errs("color:blue login_type:x status:y name:a name:b"),
            vec![
                e("name", "Query param \"name\" provided more than once, found 2 times. Only provide 1 instance of this query param."),
                e("status", "Query param \"status\" has invalid values: \"y\" is not a valid value"),
                e("login_type", "Query param \"login_type\" has invalid values: \"x\" is not a valid value"),
                e("color", "\"color\" is not a valid query param"),
            ]
        );
        assert_eq!(
            errs("status:"),
            vec![e(
                "q",
                "Query element \"status:\" cannot start or end with ':'"
            )]
        );
        assert_eq!(
            errs(&"a".repeat(16 * 1024 + 1)),
            vec![e(
                "q",
                "Query param \"q\" must be at most 16384 bytes, got 16385."
            )]
        );
    }
}
