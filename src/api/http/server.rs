//! One HTTP connection: requests read with a per-request deadline, answered in order,
//! kept alive as HTTP/1.1 (or HTTP/1.0 with `Connection: keep-alive`) allows.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};

use std::sync::Arc;
use std::time::{Duration, Instant};

use log::debug;
use openssl::error::ErrorStack;

use super::auth::{AuthOutcome, Authenticator};
use super::calls_api::{self, ApiReply};
use super::metrics;
use super::pages;
use super::request::{self, HeadError, RequestHead, Version};
use super::response::Response;
use crate::api::ApiConfig;
use crate::api::dispatch::{Dispatcher, ask};
use crate::api::listen::{ConnectionHandler, ConnectionSlot};
use crate::api::stats::FrontDoorStats;
use crate::api::stream::ApiStream;
use crate::c2c::command::{Command, Query};
use crate::c2c::registry::CallEvent;

const READ_CHUNK: usize = 4096;
/// After answering and before closing, read what the client still sends for at most this
/// long, so the close does not reset the connection under the response (RFC 9112 §9.6).
const LINGER: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 64 * 1024;
/// An event stream with nothing to say sends a comment this often, so a client that went
/// away is noticed (the write fails) and its thread freed.
const SSE_KEEPALIVE: Duration = Duration::from_secs(15);

/// The HTTP server's connection handler.
pub(crate) struct HttpHandler {
    dispatcher: Arc<Dispatcher>,
    stats: Arc<FrontDoorStats>,
    /// `MetricsAuth`: `/metrics` behind the HTTP authentication too.
    metrics_auth: bool,
    auth: Option<Authenticator>,
    request_timeout: Duration,
}

impl HttpHandler {
    pub(crate) fn new(
        cfg: &ApiConfig,
        dispatcher: Arc<Dispatcher>,
        stats: Arc<FrontDoorStats>,
    ) -> Result<HttpHandler, ErrorStack> {
        let auth = if cfg.http_auth {
            Some(Authenticator::new(
                &cfg.http_auth_realm,
                &cfg.http_auth_password,
                cfg.digest_nonce_lifetime,
            )?)
        } else {
            None
        };
        Ok(HttpHandler {
            dispatcher,
            stats,
            metrics_auth: cfg.metrics_auth,
            auth,
            request_timeout: cfg.http_request_timeout,
        })
    }

    /// The HTTP authentication of the page and the API: `Ok(Authentication-Info)` or the
    /// 401 to send.
    fn authorize(&self, head: &RequestHead, peer: SocketAddr) -> Result<Option<String>, Response> {
        let Some(auth) = &self.auth else {
            return Ok(None);
        };
        match auth.check(
            head.authorization.as_deref(),
            &head.method,
            &head.target,
            peer,
        ) {
            AuthOutcome::Granted { info } => Ok(info),
            AuthOutcome::Denied { stale } => Err(auth
                .challenges(stale)
                .into_iter()
                .fold(pages::unauthorized(), |r, c| {
                    r.with_header("WWW-Authenticate", c)
                })),
        }
    }

    /// The reply to one parsed request and its body.
    fn reply(&self, head: &RequestHead, body: &[u8], peer: SocketAddr) -> ApiReply {
        let path = head.path.as_str();
        if path == calls_api::PREFIX || path.starts_with(&format!("{}/", calls_api::PREFIX)) {
            let info = match self.authorize(head, peer) {
                Ok(info) => info,
                Err(r) => return ApiReply::Document(r),
            };
            return match calls_api::respond(
                &head.method,
                path,
                head.query.as_deref(),
                body,
                &self.dispatcher,
                peer.ip(),
            ) {
                ApiReply::Document(r) => ApiReply::Document(match info {
                    Some(i) => r.with_header("Authentication-Info", i),
                    None => r,
                }),
                events => events,
            };
        }
        ApiReply::Document(self.respond(head, peer))
    }

    /// `/healthz`: 200 once the calls thread and the SIP reactor both answered a ping
    /// (the calls thread passes it on), each within a bounded wait; 503 otherwise.
    fn health(&self) -> Response {
        let ok = ask(self.dispatcher.commands(), |reply| {
            Command::Query(Query::Ping { reply })
        })
        .is_some();
        if ok {
            Response::text(200, "text/plain; charset=utf-8", "ok\n".to_owned())
        } else {
            Response::text(
                503,
                "text/plain; charset=utf-8",
                "calls thread or SIP reactor not answering\n".to_owned(),
            )
        }
    }

    fn metrics(&self) -> Response {
        match ask(self.dispatcher.commands(), |reply| {
            Command::Query(Query::Metrics { reply })
        }) {
            Some(m) => Response::text(200, metrics::CONTENT_TYPE, metrics::render(&m, &self.stats)),
            None => Response::text(
                503,
                "text/plain; charset=utf-8",
                "calls thread not answering\n".to_owned(),
            ),
        }
    }

    /// The response to one parsed request for a page.
    fn respond(&self, head: &RequestHead, peer: SocketAddr) -> Response {
        let is_head = head.method == "HEAD";
        if head.method != "GET" && !is_head {
            return pages::method_not_allowed(&head.method);
        }
        match head.path.as_str() {
            "/" | "/index.html" => pages::index(self.auth.is_some()),
            // Never behind authentication: a load balancer or a supervisor asks it.
            "/healthz" => self.health(),
            "/metrics" => {
                let info = if self.metrics_auth {
                    match self.authorize(head, peer) {
                        Ok(info) => info,
                        Err(r) => return r,
                    }
                } else {
                    None
                };
                let r = self.metrics();
                match info {
                    Some(i) => r.with_header("Authentication-Info", i),
                    None => r,
                }
            }
            "/clicktocall.html" => {
                let info = match self.authorize(head, peer) {
                    Ok(info) => info,
                    Err(r) => return r,
                };
                // HEAD answers like GET but never places a call (HEAD must be safe,
                // RFC 9110 §9.2.1; link checkers send it).
                let r = pages::click_to_call(
                    head.query.as_deref(),
                    &self.dispatcher,
                    peer.ip(),
                    !is_head,
                );
                match info {
                    Some(i) => r.with_header("Authentication-Info", i),
                    None => r,
                }
            }
            other => pages::not_found(other),
        }
    }
}

impl ConnectionHandler for HttpHandler {
    fn serve(&self, stream: ApiStream, peer: SocketAddr, slot: Arc<ConnectionSlot>) {
        let mut conn = Connection {
            stream,
            peer,
            buf: Vec::with_capacity(READ_CHUNK),
            handler: self,
        };
        conn.run();
        drop(slot);
    }

    fn refuse(&self, stream: &mut TcpStream) {
        // Whatever the client already sent is read first, so closing does not reset the
        // connection under the answer.
        let mut sink = [0u8; READ_CHUNK];
        let _ = stream.read(&mut sink);
        let r = pages::status_page(503, "Too many connections; try again later.")
            .with_header("Retry-After", "1".to_owned());
        let _ = stream.write(&r.to_bytes(false, true, false));
        let _ = stream.shutdown(Shutdown::Write);
    }
}

/// Outcome of waiting for bytes.
enum Wait {
    Data,
    Eof,
    TimedOut,
    Failed,
}

struct Connection<'a> {
    stream: ApiStream,
    peer: SocketAddr,
    /// Received bytes not yet consumed (bounded by the head and body limits plus a chunk).
    buf: Vec<u8>,
    handler: &'a HttpHandler,
}

impl Connection<'_> {
    fn run(&mut self) {
        if self
            .stream
            .set_write_timeout(Some(self.handler.request_timeout))
            .is_err()
        {
            return;
        }
        loop {
            // The deadline covers the whole request, so a client trickling bytes cannot
            // hold the thread longer than an idle one (also the keep-alive idle time).
            let now = Instant::now();
            let deadline = now.checked_add(self.handler.request_timeout).unwrap_or(now);
            let mut scanned = 0;
            let head_end = loop {
                let skip = request::leading_empty_lines(&self.buf);
                if skip > 0 {
                    self.buf.drain(..skip);
                    scanned = 0;
                }
                match request::find_head_end(&self.buf, &mut scanned) {
                    Ok(Some(end)) => break end,
                    Ok(None) => {}
                    Err(e) => return self.fail(e),
                }
                match self.read_more(deadline) {
                    Wait::Data => {}
                    Wait::TimedOut if !self.buf.is_empty() => {
                        return self
                            .close_with(pages::status_page(408, "Request not received in time."));
                    }
                    Wait::Eof | Wait::TimedOut | Wait::Failed => return,
                }
            };
            let head = match self.buf.get(..head_end).map(request::parse_head) {
                Some(Ok(h)) => h,
                Some(Err(e)) => return self.fail(e),
                None => return,
            };
            debug!(target: "api::http", "{}: {} {}", self.peer, head.method, head.target);
            // The body, if any, is read and discarded to keep the connection in step.
            let Some(need) = head_end.checked_add(head.content_length) else {
                return self.fail(HeadError::BodyTooLarge);
            };
            while self.buf.len() < need {
                match self.read_more(deadline) {
                    Wait::Data => {}
                    Wait::TimedOut => {
                        return self.close_with(pages::status_page(
                            408,
                            "Request body not received in time.",
                        ));
                    }
                    Wait::Eof | Wait::Failed => return,
                }
            }
            let body = self.buf.get(head_end..need).unwrap_or_default().to_vec();
            self.buf.drain(..need);

            let response = match self.handler.reply(&head, &body, self.peer) {
                ApiReply::Document(r) => r,
                ApiReply::Events {
                    head,
                    so_far,
                    events,
                } => return self.stream_events(&head, &so_far, &events),
            };
            let keep_alive_1_0 = head.keep_alive && head.version == Version::Http10;
            let bytes = response.to_bytes(head.method == "HEAD", !head.keep_alive, keep_alive_1_0);
            if let Err(e) = self.stream.write_all(&bytes) {
                debug!(target: "api::http", "{}: write failed: {e}", self.peer);
                return;
            }
            if !head.keep_alive {
                return self.linger();
            }
        }
    }

    /// Writes a call's event stream: its progress so far, then each event as it comes,
    /// until its end; then the connection closes.
    fn stream_events(
        &mut self,
        head: &Response,
        so_far: &crate::c2c::registry::CallView,
        events: &crossbeam_channel::Receiver<CallEvent>,
    ) {
        let mut out = head.event_stream_head();
        for p in &so_far.progress {
            out.extend(calls_api::sse_event("progress", p));
        }
        if self.stream.write_all(&out).is_err() {
            return;
        }
        loop {
            let chunk = match events.recv_timeout(SSE_KEEPALIVE) {
                Ok(CallEvent::Progress(p)) => calls_api::sse_event("progress", &p),
                Ok(CallEvent::End(view)) => {
                    let _ = self.stream.write_all(&calls_api::sse_event("end", &*view));
                    return self.linger();
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => b": keepalive\n\n".to_vec(),
                // The registry dropped this watcher (a newer one took its place).
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return self.linger(),
            };
            if self.stream.write_all(&chunk).is_err() {
                return;
            }
        }
    }

    /// Reads more bytes before `deadline`.
    fn read_more(&mut self, deadline: Instant) -> Wait {
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            let Some(left) = deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
            else {
                return Wait::TimedOut;
            };
            if self.stream.set_read_timeout(Some(left)).is_err() {
                return Wait::Failed;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Wait::Eof,
                Ok(n) => {
                    self.buf
                        .extend_from_slice(chunk.get(..n).unwrap_or_default());
                    return Wait::Data;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Wait::TimedOut;
                }
                Err(e) => {
                    debug!(target: "api::http", "{}: read failed: {e}", self.peer);
                    return Wait::Failed;
                }
            }
        }
    }

    fn fail(&mut self, e: HeadError) {
        debug!(target: "api::http", "{}: {e}", self.peer);
        self.close_with(pages::status_page(e.status(), &e.to_string()));
    }

    fn close_with(&mut self, response: Response) {
        if self
            .stream
            .write_all(&response.to_bytes(false, true, false))
            .is_ok()
        {
            self.linger();
        }
    }

    /// Half-closes and drains briefly so the peer reads the response before the close.
    fn linger(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let deadline = Instant::now() + LINGER;
        let mut drained = 0usize;
        let mut sink = [0u8; READ_CHUNK];
        while drained < LINGER_BYTES {
            let Some(left) = deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
            else {
                return;
            };
            if self.stream.set_read_timeout(Some(left)).is_err() {
                return;
            }
            match self.stream.read(&mut sink) {
                Ok(0) | Err(_) => return,
                Ok(n) => drained += n,
            }
        }
    }
}
