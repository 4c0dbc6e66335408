//! `GET /workspaces/{workspace}/schedule` (warren extension): why a
//! workspace is on or off, and what happens to it next.

use actix_web::{web, HttpResponse};

use crate::authz::Subject;
use crate::domain::workspaces;
use crate::error::ApiResult;
use crate::http::{self, parse_uuid};
use crate::App;

pub async fn explain(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let now = app.now();
    let out = app
        .db
        .read(move |tx| workspaces::explain(tx, &subject, id, now))
        .await?;
    Ok(http::ok(&out))
}
