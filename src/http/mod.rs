//! HTTP plumbing shared by every route: the JSON body extractor with Coder's
//! decode errors, query helpers, and the middleware that gives each request
//! an id, a log line, the build-version header and a Coder-shaped error body.

pub mod auth;
pub mod csrf;
pub mod head_guard;
pub mod upgrade;

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN,
};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, Response, REQUEST_ID};
use crate::App;

/// A JSON request body decoded the way Coder's handlers decode: unknown
/// fields ignored, only the first JSON value read, size-limited (413 above
/// the limit), and every failure a Coder 400.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Body<T>, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<App>>()
            .map(|a| a.config.max_body_bytes)
            .unwrap_or(1 << 20);
        let declared = content_length(req);
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit as u64) {
                return Err(ApiError::too_large(limit));
            }
            let mut buf = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::bad_request("Request body must be valid JSON.").detail(e.to_string())
                })?;
                if buf.len() + chunk.len() > limit {
                    return Err(ApiError::too_large(limit));
                }
                buf.extend_from_slice(&chunk);
            }
            decode(&buf).map(Body)
        })
    }
}

/// The request's declared body size, if it declares one.
pub fn content_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Decodes the first JSON value of `bytes`, which must be an object (every
/// body warren reads is one), into `T`. serde would otherwise fill a struct
/// from an array (`[7200000]` as `{"ttl_ms": 7200000}`); Coder refuses
/// anything but the object.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let bad =
        |detail: String| ApiError::bad_request("Request body must be valid JSON.").detail(detail);
    let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Err(bad("EOF".into()));
    };
    let kind = match first {
        b'{' => None,
        b'[' => Some("array"),
        b'"' => Some("string"),
        b't' | b'f' => Some("boolean"),
        b'n' => Some("null"),
        b'-' | b'0'..=b'9' => Some("number"),
        // Not JSON at all: serde names the syntax error below.
        _ => None,
    };
    if let Some(kind) = kind {
        return Err(bad(format!("invalid type: {kind}, expected a JSON object")));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." || path == "?" {
            bad(inner.to_string())
        } else {
            bad(format!("{path}: {inner}"))
        }
    })
}

/// Parsed query string, keeping repeated keys.
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn from_request(req: &HttpRequest) -> Query {
        Query(
            form_urlencoded::parse(req.query_string().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("true")
    }
}

/// A path UUID, or Coder's 400 naming the bad value.
pub fn parse_uuid(s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| ApiError::invalid_uuid(s, e))
}

pub fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

pub fn ok<T: serde::Serialize>(body: &T) -> HttpResponse {
    json(StatusCode::OK, body)
}

pub fn created<T: serde::Serialize>(body: &T) -> HttpResponse {
    json(StatusCode::CREATED, body)
}

pub fn message(status: StatusCode, m: &str) -> HttpResponse {
    json(status, &Response::message(m))
}

/// Accepts a WebSocket upgrade, the one way every stream does. Like Coder's
/// WebSocket library, an `Origin`, when the client sends one, must be this
/// server: the Host the request was sent to, or the configured access URL.
/// Otherwise a page on another site could open a socket with the visitor's
/// session cookie (browsers do not apply CORS to WebSockets).
pub fn websocket<A>(actor: A, req: &HttpRequest, payload: web::Payload) -> ApiResult<HttpResponse>
where
    A: actix::Actor<Context = actix_web_actors::ws::WebsocketContext<A>>
        + actix::StreamHandler<
            Result<actix_web_actors::ws::Message, actix_web_actors::ws::ProtocolError>,
        >,
{
    let refuse = |detail: String| {
        ApiError::new(StatusCode::FORBIDDEN, "Failed to accept websocket.").detail(detail)
    };
    if let Some(origin) = req.headers().get(ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        let host = req
            .headers()
            .get(HOST)
            .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
            .or_else(|| req.uri().authority().map(|a| a.to_string()))
            .unwrap_or_default();
        let access_url = req
            .app_data::<web::Data<App>>()
            .map(|a| a.access_url.clone())
            .unwrap_or_default();
        let parsed = url::Url::parse(&origin)
            .map_err(|e| refuse(format!("failed to parse Origin header {origin:?}: {e}")))?;
        if !same_origin(&parsed, &host, &access_url) {
            return Err(refuse(format!(
                "request Origin {origin:?} is not authorized for Host {host:?}"
            )));
        }
    }
    actix_web_actors::ws::start(actor, req, payload)
        .map_err(|e| ApiError::bad_request("Failed to accept websocket.").detail(e.to_string()))
}

/// Whether `origin` is the server reached at `host` (the Host header, read
/// with the origin's scheme) or the one at `access_url`.
fn same_origin(origin: &url::Url, host: &str, access_url: &str) -> bool {
    if !matches!(origin.scheme(), "http" | "https") {
        return false;
    }
    let as_host = url::Url::parse(&format!("{}://{host}", origin.scheme())).ok();
    let matches_host = as_host.is_some_and(|h| {
        h.host_str() == origin.host_str()
            && h.port_or_known_default() == origin.port_or_known_default()
            && h.path() == "/"
            && h.username().is_empty()
    });
    matches_host || url::Url::parse(access_url).is_ok_and(|a| a.origin() == origin.origin())
}

/// Fallback for unknown routes.
pub async fn route_not_found() -> HttpResponse {
    message(StatusCode::NOT_FOUND, "Route not found.")
}

/// Request ids: a random prefix per process and a counter, unique across
/// restarts in practice and cheap to make.
fn next_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| Uuid::new_v4().as_u128() as u32);
    format!(
        "{prefix:08x}{:06x}",
        COUNTER.fetch_add(1, Ordering::Relaxed) & 0xff_ffff
    )
}

/// Coder's router answers `/api/v2/…/` like the path without the trailing
/// slash (clients such as a published Python one append it); the request is
/// routed as if it had none, query string kept.
fn strip_trailing_slash(req: &mut ServiceRequest) {
    let path = req.path();
    if !path.starts_with("/api/v2/") || !path.ends_with('/') {
        return;
    }
    let trimmed = path.trim_end_matches('/');
    let new = match req.query_string() {
        "" => trimmed.to_string(),
        q => format!("{trimmed}?{q}"),
    };
    let Ok(path_and_query) = actix_web::http::uri::PathAndQuery::try_from(new) else {
        return;
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(path_and_query);
    if let Ok(uri) = actix_web::http::Uri::from_parts(parts) {
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
}

/// Request middleware: trailing-slash routing, request id, one log line,
/// `X-Coder-Build-Version`, and a Coder error body on any error response
/// that lacks one (wrong method, actix's own extractor failures).
pub async fn middleware(
    mut req: ServiceRequest,
    next: actix_web::middleware::Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    strip_trailing_slash(&mut req);
    let id = next_request_id();
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.path().to_string();
    let app = req.app_data::<web::Data<App>>().cloned();
    let version = app
        .as_ref()
        .and_then(|a| HeaderValue::from_str(&a.version).ok());
    let _in_flight = app
        .as_ref()
        .map(|a| crate::metrics::InFlight::new(&a.metrics.in_flight));
    let res = REQUEST_ID.scope(id.clone(), next.call(req)).await;
    let mut res = match res {
        Ok(r) => r,
        Err(e) => {
            // Errors that escaped a handler become responses here.
            return Err(e);
        }
    };
    let status = res.status();
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() >= 400 && !is_json {
        let msg = match status {
            StatusCode::NOT_FOUND => "Route not found.".to_string(),
            StatusCode::METHOD_NOT_ALLOWED => "Method not allowed.".to_string(),
            StatusCode::PAYLOAD_TOO_LARGE => "Request body is too large.".to_string(),
            s => {
                s.canonical_reason()
                    .unwrap_or("Request failed.")
                    .to_string()
                    + "."
            }
        };
        let (req, old) = res.into_parts();
        let detail = if status == StatusCode::METHOD_NOT_ALLOWED {
            format!("{method} is not allowed on {path}.")
        } else {
            match old.into_body().try_into_bytes() {
                Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
                _ => String::new(),
            }
        };
        let body = Response {
            message: msg,
            detail,
            validations: Vec::new(),
        };
        res = ServiceResponse::new(req, HttpResponse::build(status).json(body));
    }
    if let Some(v) = version {
        res.headers_mut()
            .insert(HeaderName::from_static("x-coder-build-version"), v);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v);
    }
    if let Some(a) = &app {
        // The route table's pattern, never the raw path: one series per route.
        let pattern = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        a.metrics.request(
            &method,
            &pattern,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    log::info!(
        "{method} {path} {} {:.1}ms request_id={id}",
        res.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(res)
}
