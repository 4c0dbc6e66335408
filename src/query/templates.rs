//! The `q` of `GET /templates` and `GET /organizations/{organization}/templates`:
//! Coder's `searchquery.Templates` on the shared lexer and [`Parser`].
//! Words without a key search the display name. `organization` is kept raw
//! for the domain to resolve (a UUID is taken as given, a name looked up,
//! an unknown one reported with
//! [`organization_not_found`](super::organization_not_found)).

use uuid::Uuid;

use super::go::parse_go_uuid;
use super::{lex, Parser, QueryError, TEMPLATE_QUERY_MESSAGE};

/// The parsed template filter; `None`/empty means "do not filter on this".
/// Text values are lowercase (the whole query is lowercased).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateQuery {
    /// `deleted:` — deleted templates instead of live ones.
    pub deleted: bool,
    /// `organization:` — raw organization UUID or name.
    pub organization: Option<String>,
    /// `exact_name:`.
    pub exact_name: Option<String>,
    /// `exact_display_name:`.
    pub exact_display_name: Option<String>,
    /// `name:` — substring of the name.
    pub fuzzy_name: Option<String>,
    /// `display_name:` or free text — substring of the display name.
    pub fuzzy_display_name: Option<String>,
    /// `ids:` — a list key.
    pub ids: Vec<Uuid>,
    /// `deprecated:`.
    pub deprecated: Option<bool>,
    /// `has-ai-task:` (of the active version).
    pub has_ai_task: Option<bool>,
    /// `author_id:`, or `author:me` (the caller).
    pub author_id: Option<Uuid>,
    /// `author:` — a username other than `me`.
    pub author_username: Option<String>,
    /// `has_external_agent:` (of the active version).
    pub has_external_agent: Option<bool>,
}

/// Parses a template `q` for the caller `me` (who `author:me` names).
pub fn parse_template_query(q: &str, me: Uuid) -> Result<TemplateQuery, QueryError> {
    let terms = lex(q, &mut |element, terms| {
        terms.add("display_name", element.to_string());
        Ok(())
    })
    .map_err(|v| QueryError::new(TEMPLATE_QUERY_MESSAGE, vec![v]))?;
    let mut p = Parser::new(&terms);
    let mut f = TemplateQuery {
        deleted: p.boolean("deleted").unwrap_or(false),
        organization: p.single("organization"),
        exact_name: p.single("exact_name"),
        exact_display_name: p.single("exact_display_name"),
        fuzzy_name: p.single("name"),
        fuzzy_display_name: p.single("display_name"),
        ids: p.custom_list("ids", |v| parse_go_uuid(v.trim())),
        deprecated: p.boolean("deprecated"),
        has_ai_task: p.boolean("has-ai-task"),
        author_id: p.uuid("author_id"),
        author_username: p.single("author"),
        has_external_agent: p.boolean("has_external_agent"),
    };
    p.error_excess_params();
    p.finish(TEMPLATE_QUERY_MESSAGE)?;
    if f.author_username.as_deref() == Some("me") {
        f.author_id = Some(me);
        f.author_username = None;
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Uuid = Uuid::from_u128(7);

    fn ok(q: &str) -> TemplateQuery {
        parse_template_query(q, ME).unwrap_or_else(|e| panic!("{q:?} failed: {e}"))
    }

    fn errs(q: &str) -> Vec<(String, String)> {
        let e = parse_template_query(q, ME).expect_err("expected an error");
        assert_eq!(e.message, "Invalid template search query.");
        e.validations
            .into_iter()
            .map(|v| (v.field, v.detail))
            .collect()
    }

    #[test]
    fn keys_and_free_text() {
        assert_eq!(ok(""), TemplateQuery::default());
        let f = ok("Docker Box deprecated:false organization:Acme");
        assert_eq!(f.fuzzy_display_name.as_deref(), Some("docker box"));
        assert_eq!(f.deprecated, Some(false));
        assert_eq!(f.organization.as_deref(), Some("acme"));
        assert_eq!(ok("author:me").author_id, Some(ME));
        assert_eq!(ok("author:me").author_username, None);
        assert_eq!(ok("author:bob").author_username.as_deref(), Some("bob"));
        assert!(ok("deleted:true").deleted);
        assert_eq!(
            ok("ids:00000000-0000-0000-0000-000000000001").ids,
            vec![Uuid::from_u128(1)]
        );
    }

    #[test]
    fn errors_in_coders_order() {
        assert_eq!(
            errs("color:red author_id:x deleted:2 organization:a organization:b"),
            vec![
                (
                    "deleted".into(),
                    "Query param \"deleted\" must be a valid boolean: strconv.ParseBool: parsing \"2\": invalid syntax".into()
                ),
                (
                    "organization".into(),
                    "Query param \"organization\" provided more than once, found 2 times. Only provide 1 instance of this query param.".into()
                ),
                (
                    "author_id".into(),
                    "Query param \"author_id\" must be a valid uuid".into()
                ),
                ("color".into(), "\"color\" is not a valid query param".into()),
            ]
        );
        assert_eq!(
            errs("a:b:c"),
            vec![(
                "q".into(),
                "Query element \"a:b:c\" can only contain 1 ':'".into()
            )]
        );
    }
}
