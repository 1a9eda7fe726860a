//! One XML connection: a reader (the connection thread) that frames and dispatches
//! requests, and a writer thread that writes each request's documents as its progress
//! events arrive. Requests on one connection run concurrently; each document is written
//! whole, and a request's documents keep their order.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select, Sender};
use log::{debug, info};
use openssl::error::ErrorStack;

use super::control::{self, Control, Root};
use super::framing::Framer;
use super::request::{RequestError, parse_request_with_token};
use super::response::EchoTemplate;
use crate::api::ApiConfig;
use crate::api::dispatch::{Dispatcher, ask};
use crate::api::escape::escape_markup;
use crate::api::listen::{ConnectionHandler, ConnectionSlot};
use crate::api::stream::ApiStream;
use crate::c2c::command::{Command, HangupOutcome, Progress, Query};

/// Requests of one connection whose progress is still being written; beyond it the
/// reader stops reading the socket until one ends (back-pressure, bounded memory).
const MAX_IN_FLIGHT: usize = 64;
/// Documents queued from the reader to the writer.
const CONTROL_QUEUE: usize = 16;
/// A client that stops reading for this long is dropped (its calls go on).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
const READ_CHUNK: usize = 8192;
const WRITER_STACK: usize = 256 * 1024;

/// Answer to a connection over `XmlRpcMaxConnections`.
const TOO_MANY: &[u8] =
    b"<Response>\r\n    <Result Code=\"503\">Too many connections</Result>\r\n</Response>";

/// What the reader hands the writer.
enum WriterMsg {
    /// A document that ends its request (an error result).
    Document(Vec<u8>),
    /// An accepted request: write `first` (the 100), then its progress.
    Track {
        first: Vec<u8>,
        template: EchoTemplate,
        progress: Receiver<Progress>,
    },
}

/// The XML server's connection handler.
pub(crate) struct XmlHandler {
    dispatcher: Arc<Dispatcher>,
    document_timeout: Duration,
    /// SHA-256 of `XmlAuthToken`, when requests must carry it.
    token: Option<TokenDigest>,
}

impl XmlHandler {
    pub(crate) fn new(
        cfg: &ApiConfig,
        dispatcher: Arc<Dispatcher>,
    ) -> Result<XmlHandler, ErrorStack> {
        Ok(XmlHandler {
            dispatcher,
            document_timeout: cfg.xml_document_timeout,
            token: cfg
                .xml_auth_token
                .as_deref()
                .map(TokenDigest::of)
                .transpose()?,
        })
    }
}

/// A token's SHA-256. Comparing digests of equal length in constant time says nothing
/// about the token's length or its first differing byte.
pub(crate) struct TokenDigest([u8; 32]);

impl TokenDigest {
    pub(crate) fn of(token: &str) -> Result<TokenDigest, ErrorStack> {
        let d = openssl::hash::hash(openssl::hash::MessageDigest::sha256(), token.as_bytes())?;
        let mut out = [0u8; 32];
        if d.len() != out.len() {
            return Err(ErrorStack::get());
        }
        out.copy_from_slice(&d);
        Ok(TokenDigest(out))
    }

    /// True when `given` is the token.
    pub(crate) fn matches(&self, given: &str) -> bool {
        TokenDigest::of(given).is_ok_and(|g| openssl::memcmp::eq(&g.0, &self.0))
    }
}

impl ConnectionHandler for XmlHandler {
    fn serve(&self, stream: ApiStream, peer: SocketAddr, slot: Arc<ConnectionSlot>) {
        let writer_stream = match stream.try_clone() {
            Ok(s) => s,
            Err(e) => {
                debug!(target: "api::xml", "{peer}: cannot clone the socket: {e}");
                return;
            }
        };
        let (control_tx, control_rx) = crossbeam_channel::bounded(CONTROL_QUEUE);
        let stop = slot.stop_signal().clone();
        let writer_slot = Arc::clone(&slot);
        let spawned = thread::Builder::new()
            .name("XML-writer".into())
            .stack_size(WRITER_STACK)
            .spawn(move || {
                Writer {
                    stream: writer_stream,
                    peer,
                    tracked: Vec::new(),
                    out: Vec::new(),
                }
                .run(&control_rx, &stop);
                drop(writer_slot);
            });
        if let Err(e) = spawned {
            info!(target: "api::xml", "{peer}: connection dropped, cannot start a writer: {e}");
            return;
        }
        let reader = Reader {
            stream,
            peer,
            dispatcher: &self.dispatcher,
            token: self.token.as_ref(),
            document_timeout: self.document_timeout,
            control: control_tx,
        };
        reader.run();
        // The writer keeps the slot until the last in-flight request has ended.
        drop(slot);
    }

    fn refuse(&self, stream: &mut TcpStream) {
        let _ = stream.write(TOO_MANY);
        let _ = stream.shutdown(Shutdown::Both);
    }
}

struct Reader<'a> {
    stream: ApiStream,
    peer: SocketAddr,
    dispatcher: &'a Dispatcher,
    token: Option<&'a TokenDigest>,
    document_timeout: Duration,
    control: Sender<WriterMsg>,
}

impl Reader<'_> {
    fn run(self) {
        let mut framer = Framer::new();
        let mut buf = [0u8; READ_CHUNK];
        let mut partial_since: Option<Instant> = None;
        // The read time-out last set (none yet: the first turn sets it).
        let mut read_timeout: Option<Option<Duration>> = None;
        loop {
            // Idle connections are kept; a started document must complete in time.
            let timeout = match partial_since {
                Some(t) => match self.document_timeout.checked_sub(t.elapsed()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => {
                        self.fail(EchoTemplate::bare().error(408, "Request timeout"));
                        return;
                    }
                },
                None => None,
            };
            // Changed only when it changes: a system call per read otherwise.
            if read_timeout != Some(timeout) {
                if self.stream.set_read_timeout(timeout).is_err() {
                    return;
                }
                read_timeout = Some(timeout);
            }
            let n = match (&self.stream).read(&mut buf) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(e) => {
                    debug!(target: "api::xml", "{}: read failed: {e}", self.peer);
                    return;
                }
            };
            framer.push(buf.get(..n).unwrap_or_default());
            loop {
                match framer.next_request() {
                    Ok(Some(doc)) => {
                        if !self.handle(&doc) {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        info!(target: "api::xml", "{}: {e}; closing the connection", self.peer);
                        self.fail(EchoTemplate::bare().error(400, &e.to_string()));
                        return;
                    }
                }
            }
            partial_since = match (framer.has_partial(), partial_since) {
                (true, Some(t)) => Some(t),
                (true, None) => Some(Instant::now()),
                (false, _) => None,
            };
        }
    }

    /// Answers a `<Hangup>` or `<Status>` request.
    fn control(
        &self,
        root: Root,
        request: Result<(Control, Option<String>), RequestError>,
    ) -> Vec<u8> {
        let answer = |lines: &str, code, text: &str| control::answer(root, lines, code, text);
        let (control, given) = match request {
            Ok(r) => r,
            Err(e) => return answer("", 400, &e.to_string()),
        };
        if self
            .token
            .is_some_and(|t| !given.as_deref().is_some_and(|g| t.matches(g)))
        {
            info!(target: "api::xml", "{}: control request refused: {} AuthToken", self.peer,
                if given.is_some() { "wrong" } else { "missing" });
            return answer("", 401, "Unauthorized");
        }
        let commands = self.dispatcher.commands();
        let unavailable = || answer("", 503, "Service unavailable");
        match control {
            Control::Hangup(id) => {
                let line = format!("    <CallId>{}</CallId>\r\n", escape_markup(id.as_str()));
                match ask(commands, |reply| Command::Hangup { id, reply }) {
                    Some(HangupOutcome::HangingUp) => answer(&line, 202, "Hanging up"),
                    Some(HangupOutcome::AlreadyEnded) => answer(&line, 409, "The call is over"),
                    Some(HangupOutcome::Unknown) => answer(&line, 404, "No such call"),
                    None => unavailable(),
                }
            }
            Control::Status(Some(id)) => {
                match ask(commands, |reply| Command::Query(Query::Get { id, reply })) {
                    Some(Some(call)) => answer(&control::call_lines(&[call]), 200, "OK"),
                    Some(None) => answer("", 404, "No such call"),
                    None => unavailable(),
                }
            }
            Control::Status(None) => {
                match ask(commands, |reply| Command::Query(Query::List { reply })) {
                    Some(calls) => answer(&control::call_lines(&calls), 200, "OK"),
                    None => unavailable(),
                }
            }
        }
    }

    /// Answers one request; false when the writer is gone.
    fn handle(&self, doc: &[u8]) -> bool {
        if let Some(root) = Root::of(doc) {
            let request = control::parse(doc).unwrap_or(Err(RequestError::Parse));
            let answer = self.control(root, request);
            return self.control.send(WriterMsg::Document(answer)).is_ok();
        }
        let template = EchoTemplate::from_request(doc);
        let msg = match parse_request_with_token(doc) {
            Err(e) => {
                debug!(target: "api::xml", "{}: request refused: {e}", self.peer);
                WriterMsg::Document(template.error(400, &e.to_string()))
            }
            Ok((_, given))
                if self
                    .token
                    .is_some_and(|t| !given.as_deref().is_some_and(|g| t.matches(g))) =>
            {
                // The token itself is never logged, right or wrong.
                info!(target: "api::xml", "{}: request refused: {} AuthToken", self.peer,
                    if given.is_some() { "wrong" } else { "missing" });
                WriterMsg::Document(template.error(401, "Unauthorized"))
            }
            Ok((req, _)) => match self.dispatcher.dispatch_with(
                "XML",
                self.peer.ip(),
                &req.initiator,
                &req.destination,
                req.anchor,
                req.options.clone(),
            ) {
                Err(e) => {
                    info!(target: "api::xml", "{}: request refused: {e}", self.peer);
                    WriterMsg::Document(template.error(e.code(), &e.to_string()))
                }
                Ok(placed) => WriterMsg::Track {
                    first: template.in_progress(
                        &placed.initiator_uri,
                        &placed.destination_uri,
                        req.return_call_id.then_some(placed.id.as_str()),
                    ),
                    template,
                    progress: placed.progress,
                },
            },
        };
        self.control.send(msg).is_ok()
    }

    /// Sends a last document and stops reading; requests in flight still get their
    /// progress before the writer closes the connection.
    fn fail(&self, doc: Vec<u8>) {
        let _ = self.control.send(WriterMsg::Document(doc));
        let _ = self.stream.shutdown(Shutdown::Read);
    }
}

struct Tracked {
    template: EchoTemplate,
    progress: Receiver<Progress>,
}

struct Writer {
    stream: ApiStream,
    peer: SocketAddr,
    tracked: Vec<Tracked>,
    /// Documents waiting for one write: everything that is ready when the writer wakes
    /// goes out in one `write`, not one system call (and one wake-up of the client) each.
    out: Vec<u8>,
}

/// Documents collected beyond this are written before more are taken.
const WRITE_BATCH: usize = 64 * 1024;

/// What one wait of the writer produced.
enum Woken {
    Stop,
    Control(Option<WriterMsg>),
    Progress(usize, Option<Progress>),
}

impl Writer {
    fn run(mut self, control: &Receiver<WriterMsg>, stop: &Receiver<()>) {
        if self.stream.set_write_timeout(Some(WRITE_TIMEOUT)).is_err() {
            return;
        }
        let mut control_open = true;
        while control_open || !self.tracked.is_empty() {
            let woken = {
                let mut sel = Select::new();
                let stop_idx = sel.recv(stop);
                let take_more = control_open && self.tracked.len() < MAX_IN_FLIGHT;
                let control_idx = take_more.then(|| sel.recv(control));
                let first = self.tracked.first().map(|t| sel.recv(&t.progress));
                for t in self.tracked.iter().skip(1) {
                    sel.recv(&t.progress);
                }
                // What is ready now joins the batch; once nothing is, the batch is written
                // and the writer blocks. `select` (unlike `ready`) parks at once instead of
                // spinning and yielding first, and the operation it picks is completed here.
                let oper = match sel.try_select() {
                    Ok(oper) => oper,
                    Err(_) => {
                        if let Err(e) = flush(&mut self.stream, &mut self.out) {
                            debug!(target: "api::xml", "{}: write failed: {e}", self.peer);
                            break;
                        }
                        sel.select()
                    }
                };
                let idx = oper.index();
                if idx == stop_idx {
                    let _ = oper.recv(stop);
                    Woken::Stop
                } else if Some(idx) == control_idx {
                    Woken::Control(oper.recv(control).ok())
                } else {
                    let i = idx.saturating_sub(first.unwrap_or(idx));
                    match self.tracked.get(i) {
                        Some(t) => Woken::Progress(i, oper.recv(&t.progress).ok()),
                        // Not reachable: every other index is a tracked request's.
                        None => continue,
                    }
                }
            };
            let written = match woken {
                Woken::Stop => break,
                Woken::Control(None) => {
                    control_open = false;
                    Ok(())
                }
                Woken::Control(Some(WriterMsg::Document(doc))) => self.write(&doc),
                Woken::Control(Some(WriterMsg::Track {
                    first,
                    template,
                    progress,
                })) => {
                    let r = self.write(&first);
                    self.tracked.push(Tracked { template, progress });
                    r
                }
                Woken::Progress(i, Some(p)) => {
                    let doc = self.tracked.get(i).map(|t| t.template.progress(&p));
                    if p.is_final() && i < self.tracked.len() {
                        self.tracked.swap_remove(i);
                    }
                    doc.map_or(Ok(()), |d| self.write(&d))
                }
                Woken::Progress(i, None) => {
                    // The calls thread dropped the request without a final event (it is
                    // shutting down): end the request for the client anyway.
                    if i < self.tracked.len() {
                        let t = self.tracked.swap_remove(i);
                        self.write(&t.template.error(503, "Service unavailable"))
                    } else {
                        Ok(())
                    }
                }
            };
            if let Err(e) = written {
                // The client is gone; its calls go on without it.
                debug!(target: "api::xml", "{}: write failed: {e}", self.peer);
                break;
            }
        }
        // What was collected before the end (the last finals) still goes out.
        let _ = flush(&mut self.stream, &mut self.out);
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Adds a document to the batch; writes the batch once it is large.
    fn write(&mut self, doc: &[u8]) -> io::Result<()> {
        self.out.extend_from_slice(doc);
        if self.out.len() >= WRITE_BATCH {
            flush(&mut self.stream, &mut self.out)
        } else {
            Ok(())
        }
    }
}

fn flush(stream: &mut ApiStream, out: &mut Vec<u8>) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    let r = stream.write_all(out);
    out.clear();
    r
}
