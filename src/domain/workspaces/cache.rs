//! The render cache: one rendered body per workspace shared by every reader
//! and watcher while nothing changed.

use std::collections::HashMap;

use crate::domain::store::Tx;
use uuid::Uuid;

use crate::authz::{Action, Guarded, Subject};
use crate::domain::store::builds as build_store;
use crate::domain::store::templates::TemplateRow;
use crate::domain::store::workspaces::{self as store, WorkspaceRow};
use crate::domain::templates;
use crate::error::{ApiError, ApiResult};
use crate::sdk::{self, Micros};

use crate::domain::workspace_access::RenderCtx;

/// Rendered workspaces for `GET /workspaces/{id}`, the list pages and
/// the watch streams, valid while the database has not been written since
/// (writes of agents' metadata results excepted, see
/// `Db::write_uncached_blocking`) and until the first time-driven change
/// (an agent timing out or going silent). Stored as a non-owner sees them
/// with the owner's variant beside it when it differs (a favorite).
///
/// Bounded by the bytes of the bodies it holds ([`RENDER_CACHE_BYTES`]):
/// past that the oldest entries go first. A miss is rendered once however
/// many readers ask at the same moment (every watcher of a workspace asks
/// at once after a change).
#[derive(Default)]
pub struct RenderCache {
    entries: std::sync::Mutex<Entries>,
    /// Renders in progress: later readers of the same workspace wait for
    /// the first one's result instead of rendering again.
    flights: std::sync::Mutex<HashMap<Uuid, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    /// `GET /users/{user}/workspace/{name}`'s lookups, per caller (who
    /// may name the owner `me`, and whose right to see the owner was
    /// checked), valid while nothing was written. At most
    /// [`NAMES_MAX`]; full, it starts again empty.
    names: std::sync::Mutex<HashMap<NameKey, (u64, Uuid)>>,
    /// The list's counts per filter, under the same validity.
    pub counts: store::CountCache,
}

/// A caller, the owner and workspace as they named them, and whether a
/// deleted workspace would do.
pub type NameKey = (Uuid, String, String, bool);

pub const NAMES_MAX: usize = 10_000;

/// The cache's entries, their total size and the order they came in.
#[derive(Default)]
struct Entries {
    map: HashMap<Uuid, (u64, std::sync::Arc<Cached>)>,
    /// (insertion number, id), oldest first; an id put again is found by
    /// its newer number, so stale pairs are skipped when evicting.
    order: std::collections::VecDeque<(u64, Uuid)>,
    next: u64,
    bytes: usize,
}

/// The most rendered JSON the cache holds: 32 MiB, a few thousand
/// workspaces (a typical one is 3–8 KB), whatever the deployment's size.
pub const RENDER_CACHE_BYTES: usize = 32 << 20;

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

    pub fn id(&self) -> Uuid {
        self.row.id
    }

    fn size(&self) -> usize {
        self.body.len() + self.owner_body.as_ref().map_or(0, |b| b.len())
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
    if let Some(c) = cache.get(id, db.generation(), ctx.now) {
        return Ok(Some(c));
    }
    let flight = cache.flight(id);
    let _turn = flight.lock().await;
    // Whoever rendered while this reader waited has filled the cache.
    let generation = db.generation();
    if let Some(c) = cache.get(id, generation, ctx.now) {
        cache.landed(id, &flight);
        return Ok(Some(c));
    }
    let fill = cache.clone();
    let viewer = viewer.clone();
    let found = db
        .read(move |conn| {
            let Some(w) = store::get(conn, id)? else {
                return Ok(None);
            };
            Ok(fill
                .render_into(conn, &viewer, vec![w], generation, &ctx)?
                .pop())
        })
        .await;
    cache.landed(id, &flight);
    // This reader's own render, read after it arrived: a render that lost
    // a race with a write is still no older than the request (the write's
    // own change note follows), whereas whatever else was cached meanwhile
    // may have been read before it.
    found
}

impl RenderCache {
    pub fn get(&self, id: Uuid, generation: u64, now: Micros) -> Option<std::sync::Arc<Cached>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .map
            .get(&id)
            .map(|(_, c)| c)
            .filter(|c| c.generation == generation && now < c.valid_until)
            .cloned()
    }

    /// Entries among `ids` whose clock-driven validity has run out since
    /// they were rendered; each is reported once (until rendered again).
    pub fn expired(&self, ids: &[Uuid], now: Micros) -> Vec<Uuid> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for id in ids {
            if entries
                .map
                .get(id)
                .is_some_and(|(_, c)| c.valid_until <= now)
            {
                if let Some((_, c)) = entries.map.remove(id) {
                    entries.bytes -= c.size();
                }
                out.push(*id);
            }
        }
        out
    }

    /// How many entries and bytes the cache holds.
    pub fn size(&self) -> (usize, usize) {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        (entries.map.len(), entries.bytes)
    }

    /// The workspace a caller's names led to, if nothing was written since.
    pub fn named(&self, key: &NameKey, generation: u64) -> Option<Uuid> {
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names
            .get(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, id)| *id)
    }

    /// Remembers where a caller's names led, as of `generation` (read
    /// before the lookup's transaction began).
    pub fn name(&self, key: NameKey, generation: u64, id: Uuid) {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if names.len() >= NAMES_MAX {
            names.clear();
        }
        names.insert(key, (generation, id));
    }

    fn flight(&self, id: Uuid) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        flights.entry(id).or_default().clone()
    }

    /// A reader is done with a render slot; the last one removes it.
    fn landed(&self, id: Uuid, flight: &std::sync::Arc<tokio::sync::Mutex<()>>) {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        // The map's reference and the caller's: nobody else waits.
        if std::sync::Arc::strong_count(flight) <= 2 {
            flights.remove(&id);
        }
    }

    /// Renders `rows` in one batch (loading their builds, resources and
    /// owners together) and caches each, tagged with `generation`, which
    /// the caller read before its transaction began.
    pub fn render_into(
        &self,
        conn: &Tx,
        viewer: &Subject,
        rows: Vec<WorkspaceRow>,
        generation: u64,
        ctx: &RenderCtx,
    ) -> ApiResult<Vec<std::sync::Arc<Cached>>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let bodies = super::render::render_many(
            conn,
            viewer,
            &rows,
            ctx.allow_renames,
            ctx.now,
            ctx.inactive_timeout_us,
        )?;
        let templates = super::render::templates_of(conn, &rows)?;
        let mut out = Vec::with_capacity(rows.len());
        for (w, body) in rows.into_iter().zip(bodies) {
            let t = templates
                .get(&w.template_id)
                .cloned()
                .ok_or_else(|| ApiError::internal("workspace without template"))?;
            let until = render_valid_until(conn, &w, ctx.now, ctx.inactive_timeout_us)?;
            out.push(self.put(generation, until, w, t, body));
        }
        Ok(out)
    }

    pub fn put(
        &self,
        generation: u64,
        valid_until: Micros,
        row: WorkspaceRow,
        template: TemplateRow,
        mut body: sdk::Workspace,
    ) -> std::sync::Arc<Cached> {
        // `favorite` is the only field that depends on who looks.
        body.favorite = false;
        let plain = bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let owner_body = row.favorite.then(|| {
            body.favorite = true;
            bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
        });
        let entry = std::sync::Arc::new(Cached {
            generation,
            valid_until,
            row,
            template,
            body: plain,
            owner_body,
        });
        let size = entry.size();
        let id = entry.row.id;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = &mut *entries;
        // A render read at an older generation than the one cached (a list
        // or a watcher that started before a write and finished after a
        // newer render) does not replace it.
        if e.map
            .get(&id)
            .is_some_and(|(_, cached)| cached.generation > generation)
        {
            return entry;
        }
        let n = e.next;
        e.next += 1;
        if let Some((_, old)) = e.map.insert(id, (n, entry.clone())) {
            e.bytes -= old.size();
        }
        e.bytes += size;
        e.order.push_back((n, id));
        while e.bytes > RENDER_CACHE_BYTES {
            let Some((n, id)) = e.order.pop_front() else {
                break;
            };
            if e.map.get(&id).is_some_and(|(m, _)| *m == n) {
                if let Some((_, old)) = e.map.remove(&id) {
                    e.bytes -= old.size();
                }
            }
        }
        // Ids put again leave stale pairs behind: drop them when they
        // outnumber the entries.
        if e.order.len() > 2 * e.map.len() + 64 {
            let map = &e.map;
            e.order
                .retain(|(n, id)| map.get(id).is_some_and(|(m, _)| m == n));
        }
        entry
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::Value;

    use super::*;
    use crate::authz::System;
    use crate::testing::World;

    #[test]
    fn a_render_read_before_a_write_does_not_replace_a_newer_one() {
        let w = World::new();
        let id = World::id(&w.workspace("one"));
        let app = &w.running.app;
        w.call("GET", &format!("/api/v2/workspaces/{id}"), Value::Null);
        let now = w.clock.now_peek();
        let generation = app.db.generation();
        let newer = app
            .workspace_cache
            .get(id, generation, now)
            .expect("cached by the read");
        // A list or a watcher that read the workspace before the last write
        // finishes its render after the read above.
        let older = app
            .db
            .read_blocking(|tx| {
                super::super::render::render_many(
                    tx,
                    &Subject::system(System::Lifecycle),
                    std::slice::from_ref(&newer.row),
                    true,
                    now,
                    i64::MAX,
                )
            })
            .unwrap()
            .pop()
            .unwrap();
        app.workspace_cache.put(
            generation - 1,
            Micros::MAX,
            newer.row.clone(),
            newer.template.clone(),
            older,
        );
        let kept = app.workspace_cache.get(id, generation, now);
        assert_eq!(kept.map(|c| c.generation), Some(generation));
    }
}
