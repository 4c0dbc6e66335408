//! Provisioner job logs: a JSON page, or with `follow` a WebSocket that
//! sends each log as one JSON message and closes normally when the job has
//! completed and every log has been sent.

use std::time::Duration;

use actix::{Actor, ActorContext, AsyncContext, StreamHandler, WrapFuture};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;

use crate::domain::jobs::JobLogs;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, Query};
use crate::App;

const PAGE: i64 = 1000;
const POLL: Duration = Duration::from_millis(200);

/// `after` and `follow` of a logs request.
pub fn params(req: &HttpRequest) -> ApiResult<(i64, bool)> {
    let q = Query::from_request(req);
    let after = match q.get("after").filter(|s| !s.is_empty()) {
        None => 0,
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request("Query param \"after\" must be an integer."))?,
    };
    let follow = q.0.iter().any(|(k, v)| k == "follow" && v != "false");
    Ok((after, follow))
}

/// Answers a logs request for the logs the domain handed out.
pub async fn respond(
    app: web::Data<App>,
    req: HttpRequest,
    payload: web::Payload,
    job: JobLogs,
    after: i64,
    follow: bool,
) -> ApiResult<HttpResponse> {
    if !follow {
        let (logs, _) = app
            .db
            .read(move |conn| job.page(conn, after, PAGE * 10))
            .await?;
        return Ok(http::ok(&logs));
    }
    let stream = LogStream {
        app: app.clone(),
        job,
        after,
        busy: false,
    };
    http::websocket(stream, &req, payload)
}

struct LogStream {
    app: web::Data<App>,
    job: JobLogs,
    after: i64,
    busy: bool,
}

impl LogStream {
    fn poll(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        if self.busy {
            return;
        }
        self.busy = true;
        let app = self.app.clone();
        let (job, after) = (self.job, self.after);
        let fut = async move { app.db.read(move |conn| job.page(conn, after, PAGE)).await };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.busy = false;
            match res {
                Ok((logs, done)) => {
                    let more = logs.len() as i64 == PAGE;
                    for l in &logs {
                        act.after = l.id;
                        if let Ok(text) = serde_json::to_string(l) {
                            ctx.text(text);
                        }
                    }
                    if done && !more {
                        ctx.close(Some(ws::CloseReason {
                            code: ws::CloseCode::Normal,
                            description: None,
                        }));
                        ctx.stop();
                    }
                }
                Err(_) => {
                    ctx.close(Some(ws::CloseReason {
                        code: ws::CloseCode::Error,
                        description: Some("internal error reading logs".into()),
                    }));
                    ctx.stop();
                }
            }
        }));
    }
}

use actix::ActorFutureExt;

impl Actor for LogStream {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.poll(ctx);
        ctx.run_interval(POLL, |act, ctx| act.poll(ctx));
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for LogStream {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
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
}
