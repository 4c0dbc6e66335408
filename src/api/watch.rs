//! Live watch streams: `GET /workspaces/{workspace}/watch` (SSE) and
//! `…/watch-ws` (WebSocket), and warren's list-level twins
//! `GET /workspaces/watch?q=` and `GET /workspaces/watch-ws?q=`.
//!
//! A stream subscribes to the hub, sends the current state at once, then a
//! fresh state after every change notification; it ends with an `error`
//! event when the workspace is deleted or the viewer loses access.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, ActorFutureExt, AsyncContext, StreamHandler, WrapFuture};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, Mutex};
use uuid::Uuid;

use crate::authz::Subject;
use crate::domain::agent_metadata::METADATA_CHANGED;
use crate::domain::workspace_list::{self, ListFilter};
use crate::domain::workspaces;
use crate::error::{ApiError, ApiResult, Response, NOT_FOUND};
use crate::http::{parse_uuid, Query};
use crate::query::workspaces::parse_list_request;
use crate::watch::{Note, Scope, Subscribe, Unsubscribe, BUFFER};
use crate::App;

/// How often an SSE stream checks that its client is still there.
const PROBE: Duration = Duration::from_secs(1);

/// One message of a stream: `ping`, `data`, `error`, or for lists
/// `workspaces` (a full page) and `workspace` (one change).
struct Event {
    kind: &'static str,
    /// The JSON of the event, serialized once for every watcher.
    data: Bytes,
    /// The stream ends after this event.
    last: bool,
}

impl Event {
    /// An event's JSON, serialized straight from its wire type.
    fn new<T: serde::Serialize>(kind: &'static str, data: &T, last: bool) -> Event {
        Event {
            kind,
            data: to_bytes(data),
            last,
        }
    }

    /// An `error` event: Coder's response body.
    fn error(message: &str, detail: String, last: bool) -> Event {
        let mut body = Response::message(message);
        body.detail = detail;
        Event::new("error", &body, last)
    }

    /// The `message` of an error event.
    fn message(&self) -> String {
        serde_json::from_slice::<Value>(&self.data)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| "Stream ended".into())
    }
}

enum Target {
    Workspace(Uuid),
    /// An agent's metadata results (`…/watch-metadata`); a simulated agent
    /// reports while the stream holds its `Watching`.
    Metadata(
        crate::domain::agent_metadata::AgentMetadataView,
        #[allow(dead_code)] crate::domain::agent_metadata::Watching,
    ),
    List {
        filter: Box<ListFilter>,
        limit: Option<i64>,
        offset: i64,
        known: HashSet<Uuid>,
    },
}

/// What a stream knows between notifications.
struct WatchState {
    app: web::Data<App>,
    subject: Subject,
    target: Target,
}

impl WatchState {
    fn scope(&self) -> Scope {
        match &self.target {
            Target::Workspace(id) => Scope::Workspace(*id),
            Target::Metadata(m, _) => Scope::Workspace(m.workspace_id()),
            Target::List { .. } => Scope::All,
        }
    }

    /// Which kinds of change the stream refreshes on: metadata streams on
    /// new results only, workspace streams on everything else.
    fn notes(&self) -> NoteFilter {
        match self.target {
            Target::Metadata(..) => |kind| kind == METADATA_CHANGED,
            _ => |kind| kind != METADATA_CHANGED,
        }
    }

    /// Events for a notification (`None` = initial state or resync).
    async fn refresh(&mut self, changed: Option<Uuid>) -> Vec<Event> {
        let app = self.app.clone();
        let subject = self.subject.clone();
        let _allow = app.config.allow_workspace_renames;
        let _timeout = app.inactive_timeout_us();
        match &mut self.target {
            Target::Metadata(m, _) => {
                let (m, now) = (*m, app.now());
                match app.db.read(move |conn| m.current(conn, now)).await {
                    Ok(items) => vec![Event::new("data", &items, false)],
                    Err(e) => vec![Event::error(
                        "Failed to get metadata.",
                        e.body.message,
                        false,
                    )],
                }
            }
            Target::Workspace(id) => {
                let id = *id;
                // Every watcher of a workspace shares one render per change:
                // the cache of `GET /workspaces/{id}` serves them all.
                let cached = workspaces::cached(
                    &app.db,
                    &app.workspace_cache,
                    &subject,
                    id,
                    app.render_ctx(),
                )
                .await;
                let cached = match cached {
                    Ok(Some(c)) => c,
                    Ok(None) => return vec![Event::error(NOT_FOUND, String::new(), true)],
                    Err(e) => {
                        return vec![Event::error(
                            "Internal error fetching workspace.",
                            e.body.message,
                            false,
                        )]
                    }
                };
                let seen = match cached.view(&subject) {
                    Ok(seen) => seen,
                    Err(workspaces::Unseen::Hidden) => {
                        return vec![Event::error(NOT_FOUND, String::new(), true)]
                    }
                    Err(workspaces::Unseen::TemplateForbidden) => {
                        return vec![Event::error(
                            "Forbidden reading template of selected workspace.",
                            String::new(),
                            true,
                        )]
                    }
                };
                let data = Event {
                    kind: "data",
                    data: seen.body,
                    last: false,
                };
                if seen.deleted {
                    vec![
                        data,
                        Event::error("Workspace has been deleted.", String::new(), true),
                    ]
                } else {
                    vec![data]
                }
            }
            Target::List {
                filter,
                limit,
                offset,
                known,
            } => {
                let mut f = (**filter).clone();
                let (limit, offset) = (*limit, *offset);
                if let Some(id) = changed {
                    f.ids = vec![id];
                }
                let ctx = app.render_ctx();
                let (limit, offset) = if changed.is_some() {
                    (None, 0)
                } else {
                    (limit, offset)
                };
                let cache = app.workspace_cache.clone();
                let generation = app.db.generation();
                let res = app
                    .db
                    .read(move |conn| {
                        workspace_list::page(
                            conn, &subject, &f, limit, offset, &ctx, &cache, generation,
                        )
                    })
                    .await;
                match (res, changed) {
                    (Ok(page), None) => {
                        *known = page.ids.into_iter().collect();
                        vec![Event {
                            kind: "workspaces",
                            data: crate::sdk::workspaces_response_json(&page.bodies, page.count),
                            last: false,
                        }]
                    }
                    (Ok(mut page), Some(id)) => match page.bodies.pop() {
                        Some(w) => {
                            let change = if known.insert(id) { "added" } else { "updated" };
                            vec![Event {
                                kind: "workspace",
                                data: crate::sdk::workspace_list_change_json(id, change, Some(&w)),
                                last: false,
                            }]
                        }
                        None if known.remove(&id) => vec![Event {
                            kind: "workspace",
                            data: crate::sdk::workspace_list_change_json(id, "removed", None),
                            last: false,
                        }],
                        None => Vec::new(),
                    },
                    (Err(e), _) => vec![Event::error(
                        "Internal error fetching workspaces.",
                        e.body.message,
                        false,
                    )],
                }
            }
        }
    }
}

fn to_bytes<T: serde::Serialize>(data: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(data).unwrap_or_default())
}

/// Which kinds of change a stream wants.
pub(crate) type NoteFilter = fn(&str) -> bool;

pub(crate) async fn subscribe(app: &App, scope: Scope) -> ApiResult<(u64, mpsc::Receiver<Note>)> {
    let hub = app
        .hub
        .get()
        .ok_or_else(|| ApiError::internal("watch hub not running"))?;
    let (tx, rx) = mpsc::channel(BUFFER);
    let id = hub
        .send(Subscribe { scope, tx })
        .await
        .map_err(ApiError::internal)?;
    Ok((id, rx))
}

pub(crate) fn unsubscribe(app: &App, id: u64) {
    if let Some(hub) = app.hub.get() {
        hub.do_send(Unsubscribe(id));
    }
}

/// Waits for the next note `wants` and takes every other one already
/// queued, so a burst of changes costs one refresh per workspace.
pub(crate) async fn next_notes(
    rx: &mut mpsc::Receiver<Note>,
    wants: NoteFilter,
) -> Option<Vec<Option<Uuid>>> {
    let wanted = |n: &Note| match n {
        Note::Changed(_, kind) => wants(kind),
        Note::Resync => true,
    };
    let mut notes = Vec::new();
    while notes.is_empty() {
        let first = rx.recv().await?;
        notes.extend(Some(first).filter(wanted));
        while let Ok(n) = rx.try_recv() {
            notes.extend(Some(n).filter(wanted));
        }
    }
    if notes.contains(&Note::Resync) {
        return Some(vec![None]);
    }
    let mut ids = Vec::new();
    for n in notes {
        if let Note::Changed(id, _) = n {
            if !ids.contains(&Some(id)) {
                ids.push(Some(id));
            }
        }
    }
    Some(ids)
}

fn sse_frame(e: &Event) -> Bytes {
    if e.kind == "ping" {
        return Bytes::from_static(b"event: ping\n\n");
    }
    let mut out = Vec::with_capacity(e.data.len() + 32);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(e.kind.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(&e.data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// Runs an SSE stream until the client leaves or the stream ends.
async fn sse(app: web::Data<App>, mut state: WatchState) -> ApiResult<HttpResponse> {
    let (sub, mut notes) = subscribe(&app, state.scope()).await?;
    let wants = state.notes();
    let (out, body) = mpsc::channel::<Bytes>(16);
    let ping_every = app.config.watch_ping_interval;
    let a = app.clone();
    actix_web::rt::spawn(async move {
        let send = |e: &Event| out.try_send(sse_frame(e)).is_ok() || !out.is_closed();
        let mut alive = send(&Event {
            kind: "ping",
            data: Bytes::from_static(b"null"),
            last: false,
        });
        for e in state.refresh(None).await {
            alive &= send(&e);
            alive &= !e.last;
        }
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
        // The server only learns that a client left when a write fails, so
        // a blank line (which SSE readers skip) probes the connection.
        let mut probe = tokio::time::interval_at(tokio::time::Instant::now() + PROBE, PROBE);
        while alive {
            tokio::select! {
                _ = out.closed() => break,
                _ = probe.tick() => {
                    if out.send(Bytes::from_static(b"\n")).await.is_err() {
                        break;
                    }
                }
                _ = ticker.tick() => {
                    if out.send(sse_frame(&Event { kind: "ping", data: Bytes::from_static(b"null"), last: false })).await.is_err() {
                        break;
                    }
                }
                n = next_notes(&mut notes, wants) => {
                    let Some(ids) = n else { break };
                    for id in ids {
                        for e in state.refresh(id).await {
                            if out.send(sse_frame(&e)).await.is_err() || e.last {
                                alive = false;
                            }
                        }
                    }
                }
            }
        }
        unsubscribe(&a, sub);
    });
    let stream = futures_util::stream::unfold(body, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

/// A one-way WebSocket carrying the same events as `ServerSentEvent`s.
struct Socket {
    app: web::Data<App>,
    state: Arc<Mutex<WatchState>>,
    sub: Option<u64>,
    scope: Scope,
    wants: NoteFilter,
    last_pong: Instant,
    ping_every: Duration,
}

impl Socket {
    fn emit(&mut self, events: Vec<Event>, ctx: &mut ws::WebsocketContext<Self>) {
        for e in events {
            let mut text = Vec::with_capacity(e.data.len() + 32);
            text.extend_from_slice(b"{\"type\":\"");
            text.extend_from_slice(e.kind.as_bytes());
            text.extend_from_slice(b"\",\"data\":");
            text.extend_from_slice(&e.data);
            text.push(b'}');
            // Built from UTF-8 JSON pieces, so the conversion cannot fail.
            ctx.text(String::from_utf8(text).unwrap_or_default());
            if e.last {
                let reason = e.message();
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Normal,
                    description: Some(reason),
                }));
                ctx.stop();
                return;
            }
        }
    }

    fn refresh(&mut self, ids: Vec<Option<Uuid>>, ctx: &mut ws::WebsocketContext<Self>) {
        let state = self.state.clone();
        let fut = async move {
            let mut st = state.lock().await;
            let mut out = Vec::new();
            for id in ids {
                out.extend(st.refresh(id).await);
            }
            out
        };
        ctx.wait(
            fut.into_actor(self)
                .map(|events, act, ctx| act.emit(events, ctx)),
        );
    }
}

impl Actor for Socket {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let app = self.app.clone();
        let (scope, wants) = (self.scope, self.wants);
        ctx.wait(
            async move { subscribe(&app, scope).await }
                .into_actor(self)
                .map(move |res, act, ctx| match res {
                    Ok((id, rx)) => {
                        act.sub = Some(id);
                        let notes = futures_util::stream::unfold(rx, move |mut rx| async move {
                            next_notes(&mut rx, wants).await.map(|n| (n, rx))
                        });
                        ctx.add_stream(notes);
                    }
                    Err(_) => {
                        ctx.close(Some(ws::CloseReason {
                            code: ws::CloseCode::Error,
                            description: Some(
                                "Internal error subscribing to workspace events.".into(),
                            ),
                        }));
                        ctx.stop();
                    }
                }),
        );
        ctx.text(r#"{"type":"ping","data":null}"#);
        self.refresh(vec![None], ctx);
        ctx.run_interval(self.ping_every, |act, ctx| {
            if act.last_pong.elapsed() > act.ping_every * 3 {
                // The client stopped answering pings: it is gone.
                ctx.stop();
                return;
            }
            ctx.ping(b"");
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(id) = self.sub.take() {
            unsubscribe(&self.app, id);
        }
    }
}

impl StreamHandler<Vec<Option<Uuid>>> for Socket {
    fn handle(&mut self, ids: Vec<Option<Uuid>>, ctx: &mut Self::Context) {
        self.refresh(ids, ctx);
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for Socket {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Pong(_)) => self.last_pong = Instant::now(),
            Ok(ws::Message::Ping(p)) => ctx.pong(&p),
            Ok(ws::Message::Text(_)) | Ok(ws::Message::Binary(_)) => {
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Protocol,
                    description: Some("Clients cannot send messages for one-way WebSockets".into()),
                }));
                ctx.stop();
            }
            // RFC 6455 §5.5.1: answer a Close with a Close echoing its code.
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason.map(|r| ws::CloseReason::from(r.code)));
                ctx.stop();
            }
            Err(_) => {
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Error,
                    description: Some("Unable to process invalid message from client".into()),
                }));
                ctx.stop();
            }
            _ => {}
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

fn socket(
    app: web::Data<App>,
    state: WatchState,
    req: &HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (scope, wants) = (state.scope(), state.notes());
    let s = Socket {
        ping_every: app.config.watch_ping_interval,
        app,
        state: Arc::new(Mutex::new(state)),
        sub: None,
        scope,
        wants,
        last_pong: Instant::now(),
    };
    crate::http::websocket(s, req, payload)
}

/// Checks run before streaming: the workspace exists and is readable.
async fn workspace_state(
    app: &web::Data<App>,
    subject: Subject,
    id: &str,
) -> ApiResult<WatchState> {
    let id = parse_uuid(id)?;
    let s = subject.clone();
    app.db
        .read(move |conn| workspaces::get(conn, &s, id).map(|_| ()))
        .await?;
    Ok(WatchState {
        app: app.clone(),
        subject,
        target: Target::Workspace(id),
    })
}

pub async fn watch_sse(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let state = workspace_state(&app, subject, &path.into_inner()).await?;
    sse(app, state).await
}

pub async fn watch_ws(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let state = workspace_state(&app, subject, &path.into_inner()).await?;
    socket(app, state, &req, payload)
}

/// Checks run before streaming an agent's metadata: its workspace is
/// readable.
async fn metadata_state(app: &web::Data<App>, subject: Subject, id: &str) -> ApiResult<WatchState> {
    let id = parse_uuid(id)?;
    let s = subject.clone();
    let view = app
        .db
        .read(move |conn| crate::domain::agent_metadata::readable(conn, &s, id))
        .await?;
    let a = app.clone();
    let watching = web::block(move || a.provisioner.watch_metadata(view.agent_id()))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(WatchState {
        app: app.clone(),
        subject,
        target: Target::Metadata(view, watching),
    })
}

/// `GET /workspaceagents/{workspaceagent}/watch-metadata` (SSE): the
/// agent's metadata at once and after each new result.
pub async fn watch_metadata_sse(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let state = metadata_state(&app, subject, &path.into_inner()).await?;
    sse(app, state).await
}

/// `GET /workspaceagents/{workspaceagent}/watch-metadata-ws`: the same
/// events over a one-way WebSocket.
pub async fn watch_metadata_ws(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let state = metadata_state(&app, subject, &path.into_inner()).await?;
    socket(app, state, &req, payload)
}

/// The list-level streams take `q`, `limit` and `offset` like `GET /workspaces`.
async fn list_state(
    app: &web::Data<App>,
    subject: Subject,
    req: &HttpRequest,
) -> ApiResult<WatchState> {
    let (parsed, page) = parse_list_request(&Query::from_request(req).0)?;
    let s = subject.clone();
    let filter = app
        .db
        .read(move |conn| workspace_list::resolve(conn, &s, parsed))
        .await?;
    Ok(WatchState {
        app: app.clone(),
        subject,
        target: Target::List {
            filter: Box::new(filter),
            limit: page.limit,
            offset: page.offset,
            known: HashSet::new(),
        },
    })
}

pub async fn watch_list_sse(
    app: web::Data<App>,
    subject: Subject,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let state = list_state(&app, subject, &req).await?;
    sse(app, state).await
}

pub async fn watch_list_ws(
    app: web::Data<App>,
    subject: Subject,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let state = list_state(&app, subject, &req).await?;
    socket(app, state, &req, payload)
}
