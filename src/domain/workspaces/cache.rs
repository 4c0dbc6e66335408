//! The render cache: one rendered body per workspace shared by every reader
//! and watcher while nothing changed.

use std::collections::HashMap;

use crate::domain::store::Tx;
use uuid::Uuid;

use crate::authz::{Action, Guarded, Subject};
use crate::domain::store::builds as build_store;
use crate::domain::store::templates::{self as template_store, TemplateRow};
use crate::domain::store::workspaces::{self as store, WorkspaceRow};
use crate::domain::templates;
use crate::error::{ApiError, ApiResult};
use crate::sdk::{self, Micros};

use super::render::render_one;
use crate::domain::workspace_access::RenderCtx;

/// Rendered workspaces for `GET /workspaces/{id}`, valid while the database
/// has not been written since and until the first time-driven change (an
/// agent timing out or going silent). Stored as a non-owner sees them; the
/// owner's `favorite` is patched in per request.
#[derive(Default)]
pub struct RenderCache {
    entries: std::sync::Mutex<HashMap<Uuid, std::sync::Arc<Cached>>>,
}

pub struct Cached {
    generation: u64,
    valid_until: Micros,
    row: WorkspaceRow,
    template: TemplateRow,
    /// The JSON as any viewer but the owner sees it.
    body: bytes::Bytes,
    /// The JSON as the owner sees it, when it differs (a favorite).
    owner_body: Option<bytes::Bytes>,
}

/// Why a viewer may not see a cached workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unseen {
    /// They may not read the workspace: it is not found.
    Hidden,
    /// They may read it but not its template.
    TemplateForbidden,
}

/// A workspace as one viewer sees it.
pub struct Seen {
    pub body: bytes::Bytes,
    pub deleted: bool,
}

impl Cached {
    /// The body `viewer` sees, after the same checks as an uncached read.
    pub fn view(&self, viewer: &Subject) -> Result<Seen, Unseen> {
        if !viewer.can(Action::Read, self.row.object()) {
            return Err(Unseen::Hidden);
        }
        if !viewer.can(Action::Read, templates::object(&self.template)) {
            return Err(Unseen::TemplateForbidden);
        }
        let body = match &self.owner_body {
            Some(b) if viewer.can(Action::Favorite, self.row.object()) => b.clone(),
            _ => self.body.clone(),
        };
        Ok(Seen {
            body,
            deleted: self.row.deleted,
        })
    }

    /// Whether the workspace is deleted, for viewers who may read it.
    pub fn deleted_for(&self, viewer: &Subject) -> Option<bool> {
        viewer
            .can(Action::Read, self.row.object())
            .then_some(self.row.deleted)
    }
}

/// The one way to read a rendered workspace: from the cache while nothing
/// was written since, else rendered now and cached for every viewer (the
/// `GET /workspaces/{id}` route and every watcher of the workspace share it).
/// `None` when there is no such workspace; viewers are checked by
/// [`Cached::view`].
pub async fn cached(
    db: &crate::domain::Db,
    cache: &std::sync::Arc<RenderCache>,
    viewer: &Subject,
    id: Uuid,
    ctx: RenderCtx,
) -> ApiResult<Option<std::sync::Arc<Cached>>> {
    let generation = db.generation();
    if let Some(c) = cache.get(id, generation, ctx.now) {
        return Ok(Some(c));
    }
    let fill = cache.clone();
    let viewer = viewer.clone();
    let found = db
        .read(move |conn| {
            let Some(w) = store::get(conn, id)? else {
                return Ok(false);
            };
            let t = template_store::get_any(conn, w.template_id)?
                .ok_or_else(|| ApiError::internal("workspace without template"))?;
            let body = render_one(conn, &viewer, &w, &ctx)?;
            let until = render_valid_until(conn, &w, ctx.now, ctx.inactive_timeout_us)?;
            fill.put(generation, until, w, t, body);
            Ok(true)
        })
        .await?;
    // A render that lost a race with a write is still the freshest state;
    // the write's own change note follows.
    Ok(found.then(|| cache.latest(id)).flatten())
}

const RENDER_CACHE_MAX: usize = 10_000;

impl RenderCache {
    pub fn get(&self, id: Uuid, generation: u64, now: Micros) -> Option<std::sync::Arc<Cached>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&id)
            .filter(|c| c.generation == generation && now < c.valid_until)
            .cloned()
    }

    /// Entries among `ids` whose clock-driven validity has run out since
    /// they were rendered; each is reported once (until rendered again).
    pub fn expired(&self, ids: &[Uuid], now: Micros) -> Vec<Uuid> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for id in ids {
            if entries.get(id).is_some_and(|c| c.valid_until <= now) {
                entries.remove(id);
                out.push(*id);
            }
        }
        out
    }

    /// The newest entry whatever its generation.
    pub fn latest(&self, id: Uuid) -> Option<std::sync::Arc<Cached>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&id).cloned()
    }

    pub fn put(
        &self,
        generation: u64,
        valid_until: Micros,
        row: WorkspaceRow,
        template: TemplateRow,
        mut body: sdk::Workspace,
    ) {
        // `favorite` is the only field that depends on who looks.
        body.favorite = false;
        let plain = bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let owner_body = row.favorite.then(|| {
            body.favorite = true;
            bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
        });
        let body = plain;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= RENDER_CACHE_MAX {
            entries.clear();
        }
        entries.insert(
            row.id,
            std::sync::Arc::new(Cached {
                generation,
                valid_until,
                row,
                template,
                body,
                owner_body,
            }),
        );
    }
}

/// The first moment an agent of the latest build changes status by the
/// clock alone: a never-connected agent reaching its connection timeout, or
/// an externally driven agent going silent.
pub fn render_valid_until(
    conn: &Tx,
    w: &WorkspaceRow,
    now: Micros,
    inactive_timeout_us: i64,
) -> ApiResult<Micros> {
    let far = now + 3_600_000_000;
    let Some(b) = w
        .latest_build_id
        .map(|id| build_store::get(conn, id))
        .transpose()?
        .flatten()
    else {
        return Ok(far);
    };
    Ok(
        crate::domain::store::resources::agent_facts(conn, b.job_id)?
            .iter()
            .filter_map(|f| f.changes_at(now, inactive_timeout_us))
            .filter(|at| *at > now)
            .fold(far, Micros::min),
    )
}
