//! WebSocket requests (and CONNECT) served off actix-http's per-connection
//! buffers.
//!
//! actix-http's HTTP/1 dispatcher keeps an 8 KiB read and an 8 KiB write
//! buffer for a connection's whole life, and a WebSocket watcher lives for
//! hours: at 10,000 watchers those buffers were most of the server's memory.
//! Requests that switch protocols (`Upgrade: websocket`; CONNECT) are
//! instead handed here with the connection. They still go through the whole
//! application (routes, middleware, authentication, authorization, Origin
//! check, `actix-web-actors`' handshake and framing); only moving bytes
//! between the socket and the request's payload and the response's body is
//! done here: reads land in a buffer on the stack and are passed on at
//! once, a frame of the body is written straight from the `Bytes` the
//! stream produced (the same bytes for every watcher of a change).
//!
//! Such a request's body is everything the client sends after the head (that
//! is what `Upgrade` means to actix-http), so a connection whose upgrade was
//! refused cannot carry another request: the answer says `connection:
//! close` and the connection ends after it, as it did before.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_codec::{AsyncRead, AsyncWrite, Encoder, Framed, ReadBuf};
use actix_http::body::{BoxBody, MessageBody};
use actix_http::error::PayloadError;
use actix_http::h1::{self, Codec, Message};
use actix_http::{ConnectionType, Payload, Request, Response, StatusCode};
use actix_service::Service;
use bytes::{Bytes, BytesMut};

/// Bytes read from the client in one turn before the others get theirs.
const READ_TURN: usize = 16 * 1024;

/// Bytes passed on while the application has not answered yet (a handler
/// that reads a body reads it then); past this the client waits.
const BEFORE_ANSWER: usize = 1 << 20;

/// Serves one upgrading request on `framed`'s connection with `app`.
pub async fn serve<T, S>(app: Rc<S>, req: Request, framed: Framed<T, Codec>)
where
    T: AsyncRead + AsyncWrite + Unpin,
    S: Service<Request>,
    S::Response: Into<Response<BoxBody>>,
    S::Error: Into<Response<BoxBody>>,
{
    let parts = framed.into_parts();
    let (mut io, mut codec, read_buf) = (parts.io, parts.codec, parts.read_buf);
    // The dispatcher's buffers end here (dropped now, not with this
    // connection); what the client sent after the head, copied out, is the
    // start of the body.
    drop(parts.write_buf);
    let (mut sender, payload) = h1::Payload::create(false);
    let mut fed = read_buf.len();
    if !read_buf.is_empty() {
        sender.feed_data(Bytes::copy_from_slice(&read_buf));
    }
    drop(read_buf);
    let (req, _) = req.replace_payload(Payload::from(payload));
    let mut call = Box::pin(app.call(req));
    let mut sender = Some(sender);
    let mut writer: Option<Writer> = None;
    // One closure: the payload sender's type is not named by actix-http.
    let pumped = std::future::poll_fn(move |cx: &mut Context<'_>| {
        if writer.is_none() {
            match call.as_mut().poll(cx) {
                Poll::Ready(res) => {
                    let res: Response<BoxBody> = match res {
                        Ok(res) => res.into(),
                        Err(res) => res.into(),
                    };
                    let w = match Writer::new(res, &mut codec) {
                        Ok(w) => w,
                        Err(e) => return Poll::Ready(Err(e)),
                    };
                    // A refused upgrade reads nothing more: its answer is
                    // all there is.
                    if !w.raw {
                        sender = None;
                    }
                    writer = Some(w);
                }
                Poll::Pending if fed >= BEFORE_ANSWER => return Poll::Pending,
                Poll::Pending => {}
            }
        }
        if let Some(w) = writer.as_mut() {
            match w.turn(&mut io, &mut codec, cx) {
                Turn::Finished(r) => return Poll::Ready(r),
                // A client that does not read is not read either.
                Turn::Blocked => return Poll::Pending,
                Turn::Waiting => {}
            }
        }
        if let Some(s) = sender.as_mut() {
            if s.is_dropped()
                || !read(&mut io, cx, &mut fed, |chunk| match chunk {
                    Ok(Some(b)) => s.feed_data(b),
                    Ok(None) => s.feed_eof(),
                    Err(e) => s.set_error(PayloadError::Io(e)),
                })
            {
                sender = None;
            }
        }
        Poll::Pending
    });
    if let Err(e) = pumped.await {
        log::debug!("upgraded connection ended: {e}");
    }
}

/// Reads what the client sent, up to `READ_TURN` bytes, into a buffer on
/// the stack, and passes each read on (`Ok(None)`: the client is done).
/// False once nothing more will be read.
fn read<T: AsyncRead + Unpin>(
    io: &mut T,
    cx: &mut Context<'_>,
    fed: &mut usize,
    mut pass: impl FnMut(std::io::Result<Option<Bytes>>),
) -> bool {
    let mut turn = 0;
    while turn < READ_TURN {
        let mut buf = [0u8; 2048];
        let mut rb = ReadBuf::new(&mut buf);
        match Pin::new(&mut *io).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                pass(Ok(None));
                return false;
            }
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                turn += n;
                *fed = fed.saturating_add(n);
                pass(Ok(Some(Bytes::copy_from_slice(rb.filled()))));
            }
            Poll::Ready(Err(e)) => {
                pass(Err(e));
                return false;
            }
            Poll::Pending => return true,
        }
    }
    // Others' turn; come back for the rest.
    cx.waker().wake_by_ref();
    true
}

/// The answer's side of an upgraded connection, holding only what is being
/// written. A switched protocol's frames go out as they come, as they are
/// (`raw`: the codec would copy them unchanged); an ordinary answer is
/// framed by the codec and written with its head in as few writes as its
/// body allows (a refused WebSocket client reads the body only from what
/// arrived with the head).
struct Writer {
    body: BoxBody,
    raw: bool,
    /// The head, until it goes out with the first of the body.
    head: Option<BytesMut>,
    out: Option<Bytes>,
    /// The body has ended; `out` holds the last of it.
    done: bool,
}

enum Turn {
    /// The answer is written (or the connection failed).
    Finished(std::io::Result<()>),
    /// The socket takes no more for now.
    Blocked,
    /// Everything so far is written; the body has no more yet.
    Waiting,
}

impl Writer {
    fn new(res: Response<BoxBody>, codec: &mut Codec) -> std::io::Result<Writer> {
        let (mut head, body) = res.into_parts();
        let raw = head.status() == StatusCode::SWITCHING_PROTOCOLS;
        if !raw {
            head.head_mut().set_connection_type(ConnectionType::Close);
        }
        let mut first = BytesMut::new();
        codec.encode(Message::Item((head, body.size())), &mut first)?;
        Ok(Writer {
            body,
            raw,
            out: raw.then(|| first.split().freeze()),
            head: (!raw).then_some(first),
            done: false,
        })
    }

    fn turn<T: AsyncWrite + Unpin>(
        &mut self,
        io: &mut T,
        codec: &mut Codec,
        cx: &mut Context<'_>,
    ) -> Turn {
        match self.write(io, codec, cx) {
            Ok(Some(turn)) => turn,
            Ok(None) => Turn::Waiting,
            Err(e) => Turn::Finished(Err(e)),
        }
    }

    fn write<T: AsyncWrite + Unpin>(
        &mut self,
        io: &mut T,
        codec: &mut Codec,
        cx: &mut Context<'_>,
    ) -> std::io::Result<Option<Turn>> {
        loop {
            if let Some(o) = self.out.as_mut() {
                match Pin::new(&mut *io).poll_write(cx, o)? {
                    Poll::Ready(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                    Poll::Ready(n) if n < o.len() => {
                        let _ = o.split_to(n);
                        continue;
                    }
                    Poll::Ready(_) => self.out = None,
                    Poll::Pending => return Ok(Some(Turn::Blocked)),
                }
            }
            if self.done {
                return Ok(Some(match Pin::new(&mut *io).poll_flush(cx)? {
                    Poll::Ready(()) => match Pin::new(&mut *io).poll_shutdown(cx) {
                        Poll::Ready(r) => Turn::Finished(r),
                        Poll::Pending => Turn::Blocked,
                    },
                    Poll::Pending => Turn::Blocked,
                }));
            }
            if self.raw {
                match Pin::new(&mut self.body).poll_next(cx) {
                    Poll::Ready(Some(Ok(chunk))) => self.out = Some(chunk),
                    Poll::Ready(Some(Err(e))) => return Err(std::io::Error::other(e.to_string())),
                    Poll::Ready(None) => self.done = true,
                    Poll::Pending => {
                        let _ = Pin::new(&mut *io).poll_flush(cx)?;
                        return Ok(None);
                    }
                }
                continue;
            }
            // Everything the body has ready, framed, in one write.
            let mut buf = self.head.take().unwrap_or_default();
            loop {
                match Pin::new(&mut self.body).poll_next(cx) {
                    Poll::Ready(Some(Ok(chunk))) => {
                        codec.encode(Message::Chunk(Some(chunk)), &mut buf)?
                    }
                    Poll::Ready(Some(Err(e))) => return Err(std::io::Error::other(e.to_string())),
                    Poll::Ready(None) => {
                        codec.encode(Message::Chunk(None), &mut buf)?;
                        self.done = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            if buf.is_empty() && !self.done {
                let _ = Pin::new(&mut *io).poll_flush(cx)?;
                return Ok(None);
            }
            self.out = (!buf.is_empty()).then(|| buf.freeze());
        }
    }
}
