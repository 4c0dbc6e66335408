//! Request heads checked before actix's HTTP/1 codec reads them.
//!
//! actix answers a request head it cannot take (too long, too many headers,
//! malformed, too slow) from inside its codec, before any middleware runs,
//! with an empty body. Coder's clients expect `{"message", "detail"}` on
//! every error, so each connection's bytes pass through [`HeadGuard`]: it
//! parses every request head with `httparse` (actix's own parser) under the
//! same rules actix applies, hands a head to actix only once it is complete
//! and acceptable, and otherwise ends the input there and answers with
//! Coder's JSON when actix closes the connection, after any earlier
//! (pipelined) responses. Bodies are followed by their framing only so that
//! the next head is found; they pass through untouched, and an upgraded
//! connection (WebSocket) is not looked at any more.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use actix_web::http::{Method, StatusCode, Uri};
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::error::Response;

/// Longest request head (request line and headers) accepted, in bytes;
/// below actix's own limits (128 KiB heads, 64 KiB request targets).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header fields in one head (actix's limit).
pub const MAX_HEADERS: usize = 96;
/// Time a new connection has to send its first complete head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// After a refusal, how long and how much of what the client still sends is
/// read and dropped, so that closing does not reset the connection before
/// the client has read the answer.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1 << 20;

/// Where the next bytes of the connection belong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Head,
    /// A body of this many more bytes.
    Body(u64),
    /// A chunk-size line of a chunked body.
    ChunkSize,
    /// Chunk data of this many more bytes, then its CRLF.
    ChunkData(u64),
    /// The CRLF (this many bytes of it) closing a chunk.
    ChunkEnd(u8),
    /// Trailer fields after the last chunk, up to an empty line.
    Trailers,
    /// Not HTTP/1 any more (an upgrade): everything passes.
    Tunnel,
}

/// Coder's answer to a head that is refused, written when actix closes.
struct Refusal {
    bytes: Vec<u8>,
    written: usize,
    shut: bool,
    linger: Option<Pin<Box<Sleep>>>,
    drained: usize,
}

/// A connection whose request heads are checked before they are read.
pub struct HeadGuard<T> {
    io: T,
    /// Bytes read from `io` and not yet handed on; the first `released` of
    /// them have been checked and are handed on as they are read.
    buf: BytesMut,
    released: usize,
    frame: Frame,
    /// Running until the first head is complete.
    first_head: Option<Pin<Box<Sleep>>>,
    eof: bool,
    refusal: Option<Refusal>,
    /// `X-Coder-Build-Version` of refusals, as on every other answer.
    version: String,
}

impl<T> HeadGuard<T> {
    pub fn new(io: T, version: String) -> HeadGuard<T> {
        HeadGuard {
            io,
            // Grown only while a head or body is being read, and given back
            // once handed on: a connection waiting for its next request, or
            // an upgraded one (a watcher among thousands), holds none.
            buf: BytesMut::new(),
            released: 0,
            frame: Frame::Head,
            first_head: Some(Box::pin(tokio::time::sleep(HEAD_TIMEOUT))),
            eof: false,
            refusal: None,
            version,
        }
    }

    /// Stops the input here; the answer is written when actix shuts the
    /// connection down.
    fn refuse(&mut self, status: StatusCode, message: &str, detail: String) {
        let body = serde_json::to_vec(&Response {
            message: message.to_string(),
            detail,
            validations: Vec::new(),
        })
        .unwrap_or_default();
        let mut bytes = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            body.len()
        )
        .into_bytes();
        if !self.version.is_empty() {
            bytes.extend_from_slice(b"x-coder-build-version: ");
            bytes.extend_from_slice(self.version.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&body);
        log::info!("refused request head: {} {message}", status.as_u16());
        self.buf.truncate(self.released);
        self.refusal = Some(Refusal {
            bytes,
            written: 0,
            shut: false,
            linger: None,
            drained: 0,
        });
    }

    fn too_large(&mut self, detail: String) {
        self.refuse(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request header fields too large.",
            detail,
        );
    }

    fn malformed(&mut self, detail: String) {
        self.refuse(StatusCode::BAD_REQUEST, "Malformed HTTP request.", detail);
    }

    /// Moves up to `n` unchecked bytes into the released part; returns how
    /// many.
    fn release(&mut self, n: u64) -> u64 {
        let available = (self.buf.len() - self.released) as u64;
        let n = n.min(available);
        self.released += n as usize;
        n
    }

    /// Checks what is buffered as far as it can; returns whether anything
    /// changed (bytes released, a frame finished, or a refusal).
    fn inspect(&mut self) -> bool {
        let unchecked = self.buf.len() - self.released;
        match self.frame {
            Frame::Tunnel => self.release(u64::MAX) > 0,
            Frame::Body(n) => {
                let moved = self.release(n);
                self.frame = if moved == n {
                    Frame::Head
                } else {
                    Frame::Body(n - moved)
                };
                moved > 0 || n == 0
            }
            Frame::ChunkData(n) => {
                let moved = self.release(n);
                self.frame = if moved == n {
                    Frame::ChunkEnd(2)
                } else {
                    Frame::ChunkData(n - moved)
                };
                moved > 0
            }
            Frame::ChunkEnd(n) => {
                let moved = self.release(u64::from(n)) as u8;
                self.frame = if moved == n {
                    Frame::ChunkSize
                } else {
                    Frame::ChunkEnd(n - moved)
                };
                moved > 0
            }
            Frame::ChunkSize => {
                let data = &self.buf[self.released..];
                match httparse::parse_chunk_size(data) {
                    Ok(httparse::Status::Complete((len, size))) => {
                        self.released += len;
                        self.frame = if size == 0 {
                            Frame::Trailers
                        } else {
                            Frame::ChunkData(size)
                        };
                        true
                    }
                    Ok(httparse::Status::Partial) if unchecked <= MAX_HEAD_BYTES => false,
                    // Malformed chunking fails actix's payload decoding, which
                    // the handler answers; nothing more is looked at.
                    _ => {
                        self.frame = Frame::Tunnel;
                        true
                    }
                }
            }
            Frame::Trailers => {
                let data = &self.buf[self.released..];
                if data.starts_with(b"\r\n") {
                    self.released += 2;
                    self.frame = Frame::Head;
                    return true;
                }
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                match httparse::parse_headers(data, &mut headers) {
                    Ok(httparse::Status::Complete((len, _))) => {
                        self.released += len;
                        self.frame = Frame::Head;
                        true
                    }
                    Ok(httparse::Status::Partial) if unchecked <= MAX_HEAD_BYTES => false,
                    _ => {
                        self.frame = Frame::Tunnel;
                        true
                    }
                }
            }
            Frame::Head => {
                if unchecked == 0 {
                    return false;
                }
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut req = httparse::Request::new(&mut headers);
                let parsed = req.parse(&self.buf[self.released..]);
                match parsed {
                    Ok(httparse::Status::Complete(len)) if len > MAX_HEAD_BYTES => {
                        self.too_large(head_limit());
                    }
                    Ok(httparse::Status::Complete(len)) => match next_frame(&req) {
                        Ok(frame) => {
                            self.released += len;
                            self.frame = frame;
                            self.first_head = None;
                        }
                        Err(detail) => self.malformed(detail),
                    },
                    Ok(httparse::Status::Partial) if unchecked > MAX_HEAD_BYTES => {
                        self.too_large(head_limit());
                    }
                    Ok(httparse::Status::Partial) => return false,
                    Err(httparse::Error::TooManyHeaders) => self.too_large(format!(
                        "A request may carry at most {MAX_HEADERS} header fields."
                    )),
                    Err(e) => self.malformed(format!("Invalid request head: {e}.")),
                }
                true
            }
        }
    }
}

fn head_limit() -> String {
    format!("The request line and headers must be at most {MAX_HEAD_BYTES} bytes.")
}

/// The framing of what follows a complete head, under actix's rules for
/// heads (`h1::decoder`); `Err` names what actix would refuse.
fn next_frame(req: &httparse::Request) -> Result<Frame, String> {
    let method = req.method.unwrap_or_default();
    let method =
        Method::from_bytes(method.as_bytes()).map_err(|_| format!("Invalid method {method:?}."))?;
    let path = req.path.unwrap_or_default();
    Uri::try_from(path).map_err(|e| format!("Invalid request target: {e}."))?;
    let http11 = req.version == Some(1);
    let mut content_length: Option<u64> = None;
    let (mut transfer_encoding, mut host, mut websocket) = (None::<String>, false, false);
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).map(str::trim);
        match h.name.to_ascii_lowercase().as_str() {
            "content-length" => {
                if content_length.is_some() {
                    return Err("Content-Length is given more than once.".into());
                }
                content_length = Some(
                    value
                        .ok()
                        .filter(|v| !v.starts_with('+'))
                        .and_then(|v| v.parse().ok())
                        .ok_or("Content-Length is not a number.")?,
                );
            }
            "transfer-encoding" => {
                if transfer_encoding.is_some() {
                    return Err("Transfer-Encoding is given more than once.".into());
                }
                transfer_encoding = Some(value.unwrap_or_default().to_ascii_lowercase());
            }
            "host" => {
                if host {
                    return Err("Host is given more than once.".into());
                }
                host = true;
            }
            "upgrade" => {
                websocket |= value.is_ok_and(|v| v.eq_ignore_ascii_case("websocket"));
            }
            _ => {}
        }
    }
    if http11 && !host {
        return Err("An HTTP/1.1 request must carry a Host header.".into());
    }
    let chunked = match transfer_encoding.as_deref() {
        None => false,
        Some(_) if !http11 => {
            return Err("Transfer-Encoding is not allowed in HTTP/1.0 requests.".into())
        }
        Some("chunked") if content_length.is_none() => true,
        Some("chunked") => {
            return Err("Content-Length and Transfer-Encoding are both given.".into())
        }
        Some(other) => return Err(format!("Unsupported Transfer-Encoding {other:?}.")),
    };
    if !http11 && method == Method::POST && content_length.is_none() {
        return Err("An HTTP/1.0 POST must carry a Content-Length.".into());
    }
    Ok(if chunked {
        Frame::ChunkSize
    } else if websocket || (method == Method::CONNECT && content_length.unwrap_or(0) == 0) {
        Frame::Tunnel
    } else {
        match content_length {
            Some(n) if n > 0 => Frame::Body(n),
            _ => Frame::Head,
        }
    })
}

impl<T: AsyncRead + Unpin> AsyncRead for HeadGuard<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.released > 0 {
                let n = this.released.min(dst.remaining());
                dst.put_slice(&this.buf[..n]);
                this.buf.advance(n);
                this.released -= n;
                if this.buf.is_empty() {
                    this.buf = BytesMut::new();
                }
                return Poll::Ready(Ok(()));
            }
            if this.refusal.is_some() || this.eof {
                return Poll::Ready(Ok(()));
            }
            // An upgraded connection is not HTTP any more: straight through.
            if this.frame == Frame::Tunnel && this.buf.is_empty() {
                return Pin::new(&mut this.io).poll_read(cx, dst);
            }
            if this.inspect() {
                continue;
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.io).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) if read.filled().is_empty() => {
                    // A partial head at the end is dropped, as actix would.
                    if this.frame == Frame::Head {
                        this.buf.truncate(this.released);
                    } else {
                        this.released = this.buf.len();
                    }
                    this.eof = true;
                }
                Poll::Ready(Ok(())) => this.buf.extend_from_slice(read.filled()),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    let expired = this
                        .first_head
                        .as_mut()
                        .is_some_and(|t| t.as_mut().poll(cx).is_ready());
                    if !expired {
                        return Poll::Pending;
                    }
                    this.first_head = None;
                    this.refuse(
                        StatusCode::REQUEST_TIMEOUT,
                        "Request timeout.",
                        format!(
                            "The request head must arrive within {} seconds.",
                            HEAD_TIMEOUT.as_secs()
                        ),
                    );
                }
            }
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for HeadGuard<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(r) = this.refusal.as_mut() else {
            return Pin::new(&mut this.io).poll_shutdown(cx);
        };
        while r.written < r.bytes.len() {
            let n = ready!(Pin::new(&mut this.io).poll_write(cx, &r.bytes[r.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            r.written += n;
        }
        if !r.shut {
            ready!(Pin::new(&mut this.io).poll_flush(cx))?;
            ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
            r.shut = true;
        }
        let linger = r
            .linger
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(LINGER)));
        loop {
            if linger.as_mut().poll(cx).is_ready() || r.drained > LINGER_BYTES {
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.io).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) if !read.filled().is_empty() => {
                    r.drained += read.filled().len();
                }
                // The client has closed (or failed): done.
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What actix would read from a connection that received `input`, and
    /// what the guard answers when the connection is shut down.
    async fn through(input: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        client.write_all(input).await.unwrap();
        client.shutdown().await.unwrap();
        let mut guard = HeadGuard::new(server, "v".into());
        let mut read = Vec::new();
        guard.read_to_end(&mut read).await.unwrap();
        guard.shutdown().await.unwrap();
        drop(guard);
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        (read, answer)
    }

    #[tokio::test]
    async fn pipelined_requests_pass_whole_and_a_bad_head_stops_them() {
        let good = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
GET /b HTTP/1.1\r\nHost: h\r\n\r\n\
POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n";
        let (read, answer) = through(good).await;
        assert_eq!(read, good.to_vec());
        assert!(answer.is_empty());
        let mut bad = good.to_vec();
        bad.extend_from_slice(b"GET /d HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n");
        let (read, answer) = through(&bad).await;
        assert_eq!(read, good.to_vec());
        let answer = String::from_utf8(answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(answer.contains("x-coder-build-version: v\r\n"), "{answer}");
        assert!(answer.ends_with(
            r#"{"message":"Malformed HTTP request.","detail":"Host is given more than once."}"#
        ));
    }

    #[tokio::test]
    async fn heads_are_refused_under_actix_rules() {
        for (head, status) in [
            (&b"GET / HTTP/1.1\r\n\r\n"[..], "400"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", "400"),
            (
                b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                "400",
            ),
            (b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", "400"),
            (b"POST / HTTP/1.0\r\n\r\n", "400"),
            (b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "400"),
            (b"G@T / HTTP/1.1\r\nHost: h\r\n\r\n", "400"),
        ] {
            let (read, answer) = through(head).await;
            assert!(read.is_empty(), "{head:?}");
            let answer = String::from_utf8(answer).unwrap();
            assert!(answer.starts_with(&format!("HTTP/1.1 {status} ")), "{head:?}: {answer}");
        }
        let long = format!(
            "GET /{} HTTP/1.1\r\nHost: h\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        let (read, answer) = through(long.as_bytes()).await;
        assert!(read.is_empty());
        assert!(answer.starts_with(b"HTTP/1.1 431 "));
    }

    #[tokio::test]
    async fn an_upgraded_connection_is_not_looked_at() {
        let mut input =
            b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                .to_vec();
        // WebSocket frames, which are no HTTP head.
        input.extend_from_slice(&[0x81, 0x85, 1, 2, 3, 4, 0x69, 0x67, 0x6f, 0x68, 0x6e]);
        input.extend_from_slice(b"NOT A HEAD\r\n\r\n");
        let (read, answer) = through(&input).await;
        assert_eq!(read, input);
        assert!(answer.is_empty());
    }
}
