//! The bundled dashboard: static files compiled into the binary.
//!
//! Caching: every asset has a strong ETag (a hash of its bytes) and answers
//! `If-None-Match` with 304. The page itself (`GET /`) is always revalidated
//! and refers to its assets under `/static/~<version>/…`, where the version
//! hashes every bundled file: those URLs never change content, so the
//! browser keeps them for a year without asking, and a new binary with other
//! assets gets new URLs. ES modules import each other by relative path, so
//! the whole tree follows the prefix of the page's entry points.
//!
//! Every answer carries headers that keep other sites from framing the page
//! or injecting into it; with a session cookie the page also carries the
//! session's CSRF token.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use include_dir::{include_dir, Dir, File};
use sha2::{Digest, Sha256};

use crate::authz::Subject;
use crate::http::csrf;
use crate::App;

use crate::error::{ApiError, ApiResult};

static STATIC: Dir = include_dir!("$CARGO_MANIFEST_DIR/static");

/// Only the page's own files: no inline script or style, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// Revalidate every time (a 304 costs one round trip and no body).
const REVALIDATE: &str = "no-cache";
/// For URLs that carry the content version.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

struct Asset {
    body: Vec<u8>,
    etag: String,
}

struct Assets {
    /// Hash of every bundled file, the `~<version>` of asset URLs.
    version: String,
    files: HashMap<String, Asset>,
    /// `index.html` with its asset URLs versioned.
    index: Asset,
}

fn hex(bytes: &[u8], len: usize) -> String {
    bytes
        .iter()
        .flat_map(|b| [b >> 4, b & 15])
        .take(len)
        .map(|n| char::from_digit(n as u32, 16).unwrap_or('0'))
        .collect()
}

fn hashed(body: Vec<u8>) -> Asset {
    let etag = format!("\"{}\"", hex(&Sha256::digest(&body), 32));
    Asset { body, etag }
}

fn walk<'a>(dir: &'a Dir<'a>, out: &mut Vec<&'a File<'a>>) {
    out.extend(dir.files());
    for d in dir.dirs() {
        walk(d, out);
    }
}

/// Every bundled file by its path under `static/`, in path order.
fn bundled_files() -> Vec<(String, &'static [u8])> {
    let mut files = Vec::new();
    walk(&STATIC, &mut files);
    let mut out: Vec<(String, &'static [u8])> = files
        .into_iter()
        .map(|f| (f.path().to_string_lossy().replace('\\', "/"), f.contents()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let bundled = bundled_files();
        let mut all = Sha256::new();
        for (path, body) in &bundled {
            all.update((path.len() as u64).to_le_bytes());
            all.update(path.as_bytes());
            all.update((body.len() as u64).to_le_bytes());
            all.update(body);
        }
        let version = hex(&all.finalize(), 16);
        let html = bundled
            .iter()
            .find(|(p, _)| p == "index.html")
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let prefix = format!("/static/~{version}/");
        let index = html
            .replace("href=\"/static/", &format!("href=\"{prefix}"))
            .replace("src=\"/static/", &format!("src=\"{prefix}"));
        Assets {
            version,
            files: bundled
                .into_iter()
                .map(|(p, b)| (p, hashed(b.to_vec())))
                .collect(),
            index: hashed(index.into_bytes()),
        }
    })
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") | Some("md") => "text/plain; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn matches(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// A response of the dashboard, security headers set.
fn secured(mut res: HttpResponseBuilder) -> HttpResponseBuilder {
    res.insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"));
    res
}

fn respond(req: &HttpRequest, path: &str, a: &Asset, cache: &str) -> HttpResponse {
    if matches(req, &a.etag) {
        return secured(HttpResponse::NotModified())
            .insert_header((ETAG, a.etag.clone()))
            .insert_header((CACHE_CONTROL, cache))
            .finish();
    }
    secured(HttpResponse::Ok())
        .insert_header((CONTENT_TYPE, content_type(path)))
        .insert_header((ETAG, a.etag.clone()))
        .insert_header((CACHE_CONTROL, cache))
        .body(a.body.clone())
}

/// The page. With a valid session cookie it carries the session's CSRF
/// token, in a `csrf_token` cookie and a `<meta property="csrf-token">` tag,
/// and is then never stored by a cache.
pub async fn index(
    app: web::Data<App>,
    req: HttpRequest,
    subject: Option<Subject>,
) -> ApiResult<HttpResponse> {
    let has_cookie = req
        .cookie(crate::http::auth::COOKIE)
        .is_some_and(|c| !c.value().is_empty());
    // The cookie comes first among the token's sources, so the subject is
    // the cookie's session when there is one.
    let token = subject
        .filter(|_| has_cookie)
        .map(|s| app.csrf.token(&s.key_id));
    let page = &assets().index;
    Ok(match token {
        None => respond(&req, "index.html", page, REVALIDATE),
        Some(t) => {
            let html = String::from_utf8_lossy(&page.body);
            let meta = format!("<meta property=\"csrf-token\" content=\"{t}\">\n</head>");
            secured(HttpResponse::Ok())
                .insert_header((CONTENT_TYPE, content_type("index.html")))
                .insert_header((CACHE_CONTROL, "no-store"))
                .cookie(csrf::cookie(&app, Some(&t)))
                .body(html.replacen("</head>", &meta, 1))
        }
    })
}

pub async fn asset(req: HttpRequest, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let path = path.into_inner();
    let all = assets();
    // `~<version>/file`: immutable when the version is the current one; an
    // older page asking for an old version gets today's file, revalidated.
    let (file, cache) = match path.strip_prefix('~').and_then(|p| p.split_once('/')) {
        Some((v, rest)) if v == all.version => (rest.to_string(), IMMUTABLE),
        Some((_, rest)) => (rest.to_string(), REVALIDATE),
        None => (path, REVALIDATE),
    };
    let a = all
        .files
        .get(&file)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Route not found."))?;
    Ok(respond(&req, &file, a, cache))
}

#[cfg(test)]
mod tests {
    use super::bundled_files;
    use regex::Regex;

    /// XML namespace names are identifiers that no browser fetches.
    const NAMESPACES: &[&str] = &["http://www.w3.org/2000/svg"];

    /// Absolute URLs of any scheme that reaches a host, and protocol-relative
    /// `//host` references in attributes, strings and CSS `url(…)`.
    fn outside_refs(text: &str) -> Vec<String> {
        let re = Regex::new(
            r#"(?i)\b(?:https?|wss?|ftp)://[^\s"'`)<>]*|["'`(=]\s*//[a-z0-9\[][^\s"'`)<>]*"#,
        )
        .expect("pattern");
        let mut cleaned = text.to_string();
        for ns in NAMESPACES {
            cleaned = cleaned.replace(ns, "");
        }
        re.find_iter(&cleaned)
            .map(|m| m.as_str().to_string())
            .collect()
    }

    #[test]
    fn the_checker_finds_outside_hosts() {
        assert_eq!(
            outside_refs("<img src=\"https://cdn.example/x.png\">").len(),
            1
        );
        assert_eq!(
            outside_refs("new WebSocket('wss://evil.example/')").len(),
            1
        );
        assert_eq!(outside_refs("<script src=\"//cdn.example/a.js\">").len(), 1);
        assert_eq!(
            outside_refs("a { background: url(//cdn.example/a.png) }").len(),
            1
        );
        assert!(outside_refs("// a comment\nconst u = `${proto}//${location.host}`;").is_empty());
        assert!(outside_refs("<svg xmlns=\"http://www.w3.org/2000/svg\">").is_empty());
    }

    #[test]
    fn no_bundled_asset_refers_to_an_outside_host() {
        let files = bundled_files();
        assert!(
            files.iter().any(|(p, _)| p == "index.html"),
            "index.html is bundled"
        );
        let mut found = Vec::new();
        for (path, body) in files {
            let text = String::from_utf8_lossy(body);
            for (n, line) in text.lines().enumerate() {
                for r in outside_refs(line) {
                    found.push(format!("static/{path}:{}: {r}", n + 1));
                }
            }
        }
        assert!(
            found.is_empty(),
            "outside hosts in bundled assets:\n{}",
            found.join("\n")
        );
    }
}
