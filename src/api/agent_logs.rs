//! `GET /workspaceagents/{workspaceagent}/logs`: a JSON page, or with
//! `follow` a WebSocket sending arrays of logs as they arrive (the first
//! at once, possibly empty), pushed by the watch hub; it closes normally
//! once the agent has left its workspace's latest build and every log has
//! been sent.

use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, ActorFutureExt, AsyncContext, StreamHandler, WrapFuture};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use uuid::Uuid;

use super::watch::{next_notes, subscribe, unsubscribe};
use crate::authz::Subject;
use crate::domain::agent_logs::{self, AgentLogs, PAGE};
use crate::domain::agent_metadata::METADATA_CHANGED;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, parse_uuid, Query};
use crate::sdk::WorkspaceAgentLog;
use crate::watch::Scope;
use crate::App;

/// A log id bound of the query, checked as Coder checks `after`.
fn log_id(q: &Query, key: &str) -> ApiResult<i64> {
    match q.get(key).filter(|s| !s.is_empty()) {
        None => Ok(0),
        Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Query param {key:?} must be an integer greater than or equal to zero."
            ))
            .validation(key, "Must be an integer greater than or equal to zero")
        }),
    }
}

pub async fn logs(
    app: web::Data<App>,
    subject: Subject,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let id = parse_uuid(&path.into_inner())?;
    let q = Query::from_request(&req);
    let after = log_id(&q, "after")?;
    let before = log_id(&q, "before")?;
    // Coder follows when the parameter is present, whatever its value.
    let follow = q.get("follow").is_some();
    let logs = app
        .db
        .read(move |conn| agent_logs::readable(conn, &subject, id))
        .await?;
    if !follow {
        let page = app
            .db
            .read(move |conn| logs.page(conn, after, before))
            .await?;
        return Ok(http::ok(&page));
    }
    let stream = LogStream {
        ping_every: app.config.watch_ping_interval,
        app: app.clone(),
        logs,
        after,
        sub: None,
        busy: false,
        again: false,
        last_pong: Instant::now(),
    };
    http::websocket(stream, &req, payload)
}

struct LogStream {
    app: web::Data<App>,
    logs: AgentLogs,
    /// The last log id sent.
    after: i64,
    sub: Option<u64>,
    /// A read is under way; `again` asks for another after it.
    busy: bool,
    again: bool,
    last_pong: Instant,
    ping_every: Duration,
}

impl LogStream {
    fn send(&mut self, logs: &[WorkspaceAgentLog], ctx: &mut ws::WebsocketContext<Self>) {
        if let Some(last) = logs.last() {
            self.after = last.id;
        }
        if let Ok(text) = serde_json::to_string(logs) {
            ctx.text(text);
        }
    }

    /// Sends what arrived since the last send; ends the stream when the
    /// agent can write no more. `first` sends even an empty array.
    fn check(&mut self, first: bool, ctx: &mut ws::WebsocketContext<Self>) {
        if self.busy {
            self.again = true;
            return;
        }
        self.busy = true;
        let (app, logs, after) = (self.app.clone(), self.logs, self.after);
        let read = async move {
            app.db
                .read(move |conn| Ok((logs.page(conn, after, 0)?, logs.live(conn)?)))
                .await
        };
        ctx.spawn(read.into_actor(self).map(move |res, act, ctx| {
            act.busy = false;
            match res {
                Ok((logs, live)) => {
                    let full = logs.len() as i64 == PAGE;
                    if first || !logs.is_empty() {
                        act.send(&logs, ctx);
                    }
                    if full || std::mem::take(&mut act.again) {
                        act.check(false, ctx);
                    } else if !live && !first {
                        ctx.close(Some(ws::CloseReason {
                            code: ws::CloseCode::Normal,
                            description: None,
                        }));
                        ctx.stop();
                    } else if !live {
                        // The agent left before the stream began: one
                        // more look, as Coder takes, then the end.
                        act.check(false, ctx);
                    }
                }
                Err(_) => {
                    ctx.close(Some(ws::CloseReason {
                        code: ws::CloseCode::Error,
                        description: Some("Internal error reading agent logs.".into()),
                    }));
                    ctx.stop();
                }
            }
        }));
    }
}

impl Actor for LogStream {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let app = self.app.clone();
        let scope = Scope::Workspace(self.logs.workspace_id());
        // Subscribed before the first read, so nothing falls between.
        ctx.wait(
            async move { subscribe(&app, scope).await }
                .into_actor(self)
                .map(|res, act, ctx| match res {
                    Ok((id, rx)) => {
                        act.sub = Some(id);
                        let notes = futures_util::stream::unfold(rx, |mut rx| async move {
                            next_notes(&mut rx, |kind| kind != METADATA_CHANGED)
                                .await
                                .map(|n| (n, rx))
                        });
                        ctx.add_stream(notes);
                        act.check(true, ctx);
                    }
                    Err(_) => {
                        ctx.close(Some(ws::CloseReason {
                            code: ws::CloseCode::Error,
                            description: Some("Failed to subscribe to agent logs.".into()),
                        }));
                        ctx.stop();
                    }
                }),
        );
        ctx.run_interval(self.ping_every, |act, ctx| {
            if act.last_pong.elapsed() > act.ping_every * 3 {
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

impl StreamHandler<Vec<Option<Uuid>>> for LogStream {
    fn handle(&mut self, _: Vec<Option<Uuid>>, ctx: &mut Self::Context) {
        self.check(false, ctx);
    }

    // The hub let go (the server is stopping): the stream ends.
    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.close(Some(ws::CloseReason {
            code: ws::CloseCode::Away,
            description: None,
        }));
        ctx.stop();
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for LogStream {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Pong(_)) => self.last_pong = Instant::now(),
            Ok(ws::Message::Ping(p)) => ctx.pong(&p),
            // RFC 6455 §5.5.1: answer a Close with a Close echoing its code.
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason.map(|r| ws::CloseReason::from(r.code)));
                ctx.stop();
            }
            Err(_) => ctx.stop(),
            _ => {}
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
