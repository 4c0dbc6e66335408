//! `limit`, `offset` and `after_id`: one parser with Coder's rules and
//! messages (`httpapi.ParsePagination`), the per-endpoint limit rules
//! ([`Paging`]), and the keyset slice of an ordered list ([`page`]).
//!
//! Coder reads `after_id` (a UUID; the nil UUID means none), then `limit`
//! and `offset` (each `PositiveInt32`: 0…2147483647), collects every error
//! and answers 400 `Query parameters have invalid values.`. What a `limit`
//! of 0 means is the endpoint's rule.

use uuid::Uuid;

use super::go::go_quote;
use super::{Parser, QueryError, Terms, PAGINATION_MESSAGE};
use crate::error::ApiError;

/// Most rows a capped list returns in one page, whatever `limit` asks.
pub const MAX_PAGE: i64 = 1000;

/// How one endpoint reads `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// `None`: Coder's rule, an absent or 0 `limit` means every row.
    /// `Some(max)`: an absent, 0 or larger `limit` means `max` rows.
    max: Option<i64>,
}

/// Parsed paging parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Page {
    /// Keyset pagination: only rows after this one.
    pub after_id: Option<Uuid>,
    /// Most rows to return; `None` = every row (only under
    /// [`Paging::workspaces`]).
    pub limit: Option<i64>,
    pub offset: i64,
}

impl Paging {
    /// `GET /workspaces` and the list watch streams, as in Coder (spec
    /// §11.3): `limit` absent or 0 means no limit; there is no maximum.
    /// `after_id` is validated but has no effect there.
    pub const fn workspaces() -> Paging {
        Paging { max: None }
    }

    /// Lists warren bounds (users, organization members, available
    /// workspace owners, workspace builds, template versions): a page is at
    /// most [`MAX_PAGE`] rows; `limit` absent, 0 or larger means that many.
    pub const fn capped() -> Paging {
        Paging {
            max: Some(MAX_PAGE),
        }
    }

    /// Reads `after_id`, `limit` and `offset` from all URL query pairs
    /// (others are ignored); every error is reported, in that order.
    pub fn parse(self, query: &[(String, String)]) -> Result<Page, QueryError> {
        let terms = Terms::from_pairs(query);
        let mut p = Parser::new(&terms);
        let after_id = p.uuid("after_id").filter(|id| !id.is_nil());
        let limit = p.positive_int32("limit").unwrap_or(0);
        let offset = p.positive_int32("offset").unwrap_or(0);
        p.finish(PAGINATION_MESSAGE)?;
        let limit = match self.max {
            None => (limit != 0).then_some(limit),
            Some(max) if limit == 0 || limit > max => Some(max),
            Some(_) => Some(limit),
        };
        Ok(Page {
            after_id,
            limit,
            offset,
        })
    }
}

impl Page {
    /// The limit as a row count for storage (`i64::MAX` for no limit).
    pub fn max_rows(&self) -> i64 {
        self.limit.unwrap_or(i64::MAX)
    }
}

/// `after_id` named a row that is not in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownAfterId(pub Uuid);

impl UnknownAfterId {
    /// Coder's 400 (`GET /workspaces/{workspace}/builds`).
    pub fn error(self) -> ApiError {
        ApiError::bad_request(format!(
            "Record at \"after_id\" ({}) does not exist.",
            go_quote(&self.0.to_string())
        ))
    }

    /// The same 400 as Coder's `GET /templates/{template}/versions` spells
    /// it ("does not exists.").
    pub fn versions_error(self) -> ApiError {
        ApiError::bad_request(format!(
            "Record at \"after_id\" ({}) does not exists.",
            go_quote(&self.0.to_string())
        ))
    }
}

/// One page of an ordered list: the rows after `after_id` (by `id`), then
/// `offset` and `limit`.
pub fn page<T>(
    mut rows: Vec<T>,
    id: impl Fn(&T) -> Uuid,
    p: &Page,
) -> Result<Vec<T>, UnknownAfterId> {
    if let Some(after) = p.after_id {
        let pos = rows
            .iter()
            .position(|r| id(r) == after)
            .ok_or(UnknownAfterId(after))?;
        rows.drain(..=pos);
    }
    let offset = usize::try_from(p.offset).unwrap_or(usize::MAX);
    let limit = usize::try_from(p.max_rows()).unwrap_or(usize::MAX);
    Ok(rows.into_iter().skip(offset).take(limit).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    const U1: &str = "0b8a6a2e-2f7c-4b8e-9a63-0d2b1f0a5c11";

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn e(field: &str, detail: &str) -> (String, String) {
        (field.to_string(), detail.to_string())
    }

    fn dup(key: &str, n: usize) -> String {
        format!(
            "Query param \"{key}\" provided more than once, found {n} times. Only provide 1 instance of this query param."
        )
    }

    fn errs_of<T: fmt::Debug>(r: Result<T, QueryError>) -> Vec<(String, String)> {
        let e = r.expect_err("expected an error");
        e.validations
            .into_iter()
            .map(|v| (v.field, v.detail))
            .collect()
    }

    // --- pagination ------------------------------------------------------

    /// `(limit, offset)` under Coder's own rule.
    fn page(p: &[(&str, &str)]) -> Result<(Option<i64>, i64), QueryError> {
        Paging::workspaces()
            .parse(&pairs(p))
            .map(|p| (p.limit, p.offset))
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

    // --- per-endpoint rules ----------------------------------------------

    fn capped(p: &[(&str, &str)]) -> Result<Page, QueryError> {
        Paging::capped().parse(&pairs(p))
    }

    #[test]
    fn workspaces_rule_has_no_limit_by_default() {
        let p = Paging::workspaces().parse(&[]).unwrap();
        assert_eq!(p, Page::default());
        assert_eq!(p.max_rows(), i64::MAX);
        let p = Paging::workspaces()
            .parse(&pairs(&[("limit", "5000")]))
            .unwrap();
        assert_eq!(p.limit, Some(5000));
    }

    #[test]
    fn capped_rule_never_exceeds_the_cap() {
        assert_eq!(capped(&[]).unwrap().limit, Some(MAX_PAGE));
        assert_eq!(capped(&[("limit", "0")]).unwrap().limit, Some(MAX_PAGE));
        assert_eq!(capped(&[("limit", "")]).unwrap().limit, Some(MAX_PAGE));
        assert_eq!(capped(&[("limit", "1")]).unwrap().limit, Some(1));
        assert_eq!(capped(&[("limit", "1000")]).unwrap().limit, Some(1000));
        assert_eq!(capped(&[("limit", "1001")]).unwrap().limit, Some(1000));
        assert_eq!(
            capped(&[("limit", "2147483647")]).unwrap().limit,
            Some(MAX_PAGE)
        );
        let p = capped(&[("offset", "7"), ("limit", "3")]).unwrap();
        assert_eq!((p.limit, p.offset, p.max_rows()), (Some(3), 7, 3));
    }

    #[test]
    fn capped_rule_has_coders_errors() {
        let r = capped(&[("limit", "-1")]);
        assert_eq!(r.as_ref().unwrap_err().message, PAGINATION_MESSAGE);
        assert_eq!(
            errs_of(r),
            vec![e(
                "limit",
                "Query param \"limit\" must be a valid 32-bit positive integer: value is negative"
            )]
        );
        assert_eq!(
            errs_of(capped(&[("limit", "x"), ("offset", "1"), ("offset", "2")])),
            vec![
                e("limit", "Query param \"limit\" must be a valid 32-bit positive integer: strconv.ParseInt: parsing \"x\": invalid syntax"),
                e("offset", &dup("offset", 2)),
            ]
        );
        // The cap applies to a valid limit; an out-of-range one is refused.
        assert_eq!(
            errs_of(capped(&[("limit", "2147483648")])),
            vec![e("limit", "Query param \"limit\" must be a valid 32-bit positive integer: strconv.ParseInt: parsing \"2147483648\": value out of range")]
        );
    }

    #[test]
    fn after_id_is_read() {
        let u = Uuid::parse_str(U1).unwrap();
        assert_eq!(capped(&[("after_id", U1)]).unwrap().after_id, Some(u));
        // Go's uuid forms, and the nil UUID meaning "none" as in Coder.
        assert_eq!(
            capped(&[("after_id", &format!("urn:uuid:{U1}"))])
                .unwrap()
                .after_id,
            Some(u)
        );
        assert_eq!(
            capped(&[("after_id", "00000000-0000-0000-0000-000000000000")])
                .unwrap()
                .after_id,
            None
        );
    }

    // --- keyset slicing ----------------------------------------------------

    fn ids(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn keyset_page() {
        let rows = ids(6);
        let at = |after: Option<u128>, limit: Option<i64>, offset: i64| {
            let p = Page {
                after_id: after.map(Uuid::from_u128),
                limit,
                offset,
            };
            super::page(rows.clone(), |u| *u, &p)
                .map(|v| v.iter().map(|u| u.as_u128()).collect::<Vec<_>>())
        };
        assert_eq!(at(None, None, 0), Ok(vec![1, 2, 3, 4, 5, 6]));
        assert_eq!(at(None, Some(2), 1), Ok(vec![2, 3]));
        assert_eq!(at(Some(2), None, 0), Ok(vec![3, 4, 5, 6]));
        assert_eq!(at(Some(2), Some(2), 1), Ok(vec![4, 5]));
        assert_eq!(at(Some(6), Some(5), 0), Ok(vec![]));
        assert_eq!(at(None, Some(5), 10), Ok(vec![]));
        assert_eq!(
            at(Some(9), None, 0),
            Err(UnknownAfterId(Uuid::from_u128(9)))
        );
    }

    #[test]
    fn unknown_after_id_messages() {
        let u = Uuid::parse_str(U1).unwrap();
        assert_eq!(
            UnknownAfterId(u).error().body.message,
            format!("Record at \"after_id\" (\"{U1}\") does not exist.")
        );
        assert_eq!(
            UnknownAfterId(u).versions_error().body.message,
            format!("Record at \"after_id\" (\"{U1}\") does not exists.")
        );
    }
}
