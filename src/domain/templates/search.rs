//! Listing templates: the parsed `q` turned into the store's filter, limited
//! to what the subject may read.

use crate::domain::store::Tx;

use super::access::object;
use super::render::render_many;
use crate::authz::{Action, Subject};
use crate::domain::store::templates::{self as store};
use crate::error::ApiResult;
use crate::query::go::parse_go_uuid;
use crate::query::templates::TemplateQuery;
use crate::query::{organization_not_found, QueryError, TEMPLATE_QUERY_MESSAGE};
use crate::sdk::Micros;

/// `GET /templates` and `GET /organizations/{organization}/templates`: the
/// templates matching `q` that the subject may read (at most `max`).
pub fn list(
    conn: &Tx,
    subject: &Subject,
    q: TemplateQuery,
    org: Option<&str>,
    max: usize,
    now: Micros,
) -> ApiResult<Vec<crate::sdk::Template>> {
    let mut f = filter(conn, subject, q)?;
    if let Some(org) = org {
        f.organization = Some(crate::domain::organizations::resolve(conn, subject, org)?.id);
    }
    let visible: Vec<_> = store::list(conn, &f)?
        .into_iter()
        .filter(|t| subject.can(Action::Read, object(t)))
        .take(max)
        .collect();
    render_many(conn, &visible, now)
}

/// The store filter of a parsed template query: Coder takes an
/// organization UUID as given and looks a name up (an unknown or hidden one
/// is a 400 naming `organization`).
fn filter(conn: &Tx, subject: &Subject, q: TemplateQuery) -> ApiResult<store::TemplateFilter> {
    let organization = match q.organization {
        None => None,
        Some(v) => Some(match parse_go_uuid(&v) {
            Ok(id) => id,
            Err(_) => {
                crate::domain::organizations::resolve(conn, subject, &v)
                    .map_err(|_| {
                        QueryError::new(TEMPLATE_QUERY_MESSAGE, vec![organization_not_found(&v)])
                    })?
                    .id
            }
        }),
    };
    Ok(store::TemplateFilter {
        deleted: q.deleted,
        organization,
        exact_name: q.exact_name,
        exact_display_name: q.exact_display_name,
        fuzzy_name: q.fuzzy_name,
        fuzzy_display_name: q.fuzzy_display_name,
        ids: q.ids,
        deprecated: q.deprecated,
        has_ai_task: q.has_ai_task,
        has_external_agent: q.has_external_agent,
        author_id: q.author_id,
        author_username: q.author_username,
    })
}
