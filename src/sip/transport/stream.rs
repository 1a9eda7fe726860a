//! One TCP or TLS connection: non-blocking connect, TLS handshake driven by readiness,
//! a bounded receive buffer cut into messages by the framer (RFC 3261 §18.3), a bounded
//! send queue, and pongs for keepalive pings (RFC 5626 §4.4.1).

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

use log::{debug, trace};
use mio::net::TcpStream;
use openssl::ssl::{ErrorCode, Ssl, SslStream};

use super::config::Limits;
use super::event::{ConnId, ErrorKind, SendError, Target, TransportEvent};
use super::framing::{Frame, FrameError, frame};
use super::keepalive::PONG;
use crate::sip::Transport;

/// Bytes read from the socket in one system call.
const READ_CHUNK: usize = 16 * 1024;

enum Io {
    Tcp(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
    /// Only while switching from `Tcp` to `Tls`.
    Gone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Outgoing TCP connect in progress.
    Connecting,
    /// TLS handshake in progress (either side).
    Handshaking,
    Open,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CloseReason {
    /// The peer closed it cleanly.
    PeerClosed,
    /// Socket or TLS failure.
    Failed(ErrorKind),
    /// The byte stream is not SIP (or a message is too large).
    Framing(FrameError),
    /// No traffic for the idle time-out.
    Idle,
    /// Connect plus handshake took too long.
    HandshakeTimeout,
    /// Closed to make room under the connection limit.
    Evicted,
    /// Closed by the layer's user.
    Requested,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("closed by peer"),
            CloseReason::Failed(kind) => write!(f, "{kind}"),
            CloseReason::Framing(e) => write!(f, "unframeable input: {e}"),
            CloseReason::Idle => f.write_str("idle time-out"),
            CloseReason::HandshakeTimeout => f.write_str("connect/handshake time-out"),
            CloseReason::Evicted => f.write_str("closed for a new connection (limit reached)"),
            CloseReason::Requested => f.write_str("closed on request"),
        }
    }
}

impl CloseReason {
    /// The transport error to report for the target, if this close is one.
    pub(super) fn error_kind(&self) -> ErrorKind {
        match self {
            CloseReason::Failed(kind) => kind.clone(),
            CloseReason::HandshakeTimeout => ErrorKind::TimedOut,
            CloseReason::Framing(e) => ErrorKind::Io(e.to_string()),
            _ => ErrorKind::Reset,
        }
    }
}

pub(super) struct Connection {
    pub id: ConnId,
    /// Remote address, transport, and (outgoing TLS) the name verified.
    pub target: Target,
    pub local: SocketAddr,
    pub outgoing: bool,
    pub started: Instant,
    pub last_activity: Instant,
    io: Io,
    phase: Phase,
    /// Session to start once an outgoing TLS connection's TCP connect completes.
    pending_tls: Option<Ssl>,
    inbuf: Vec<u8>,
    /// Bytes at the front of `inbuf` already framed out.
    in_start: usize,
    outbuf: Vec<u8>,
    /// Bytes at the front of `outbuf` already written.
    out_start: usize,
    /// End the connection once `outbuf` is written (`close_when_flushed`).
    closing: bool,
}

impl Connection {
    /// An outgoing connection whose connect has been started; `tls` is the client session
    /// for a TLS target.
    pub(super) fn outgoing(
        id: ConnId,
        target: Target,
        stream: TcpStream,
        tls: Option<Ssl>,
        now: Instant,
    ) -> Self {
        let local = stream
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::new(target.addr.ip(), 0));
        Connection {
            id,
            target,
            local,
            outgoing: true,
            started: now,
            last_activity: now,
            io: Io::Tcp(stream),
            phase: Phase::Connecting,
            pending_tls: tls,
            inbuf: Vec::new(),
            in_start: 0,
            outbuf: Vec::new(),
            out_start: 0,
            closing: false,
        }
    }

    /// An accepted connection; `tls` is the server session for the TLS listener.
    pub(super) fn incoming(
        id: ConnId,
        stream: TcpStream,
        remote: SocketAddr,
        transport: Transport,
        tls: Option<Ssl>,
        now: Instant,
    ) -> Result<Self, openssl::error::ErrorStack> {
        let local = stream
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::new(remote.ip(), 0));
        let _ = stream.set_nodelay(true);
        let (io, phase) = match tls {
            Some(ssl) => (
                Io::Tls(Box::new(SslStream::new(ssl, stream)?)),
                Phase::Handshaking,
            ),
            None => (Io::Tcp(stream), Phase::Open),
        };
        Ok(Connection {
            id,
            target: Target::new(remote, transport),
            local,
            outgoing: false,
            started: now,
            last_activity: now,
            io,
            phase,
            pending_tls: None,
            inbuf: Vec::new(),
            in_start: 0,
            outbuf: Vec::new(),
            out_start: 0,
            closing: false,
        })
    }

    pub(super) fn tcp(&mut self) -> Option<&mut TcpStream> {
        match &mut self.io {
            Io::Tcp(s) => Some(s),
            Io::Tls(s) => Some(s.get_mut()),
            Io::Gone => None,
        }
    }

    pub(super) fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// Asks for the connection to end once its queue is written; true when that is
    /// already the case (the caller closes it now).
    pub(super) fn close_when_flushed(&mut self) -> bool {
        self.closing = true;
        self.queued() == 0
    }

    /// Bytes queued and not yet written.
    pub(super) fn queued(&self) -> usize {
        self.outbuf.len().saturating_sub(self.out_start)
    }

    /// When this connection must be looked at by `handle_timeout`: the handshake
    /// deadline while connecting, else the idle deadline unless it carries a dialog.
    pub(super) fn deadline(&self, limits: &Limits, carries_dialog: bool) -> Option<Instant> {
        match self.phase {
            Phase::Connecting | Phase::Handshaking => Some(self.started + limits.handshake_timeout),
            Phase::Open if carries_dialog => None,
            Phase::Open => Some(self.last_activity + limits.idle_timeout),
        }
    }

    /// What the deadline means when it has passed.
    pub(super) fn expired(
        &self,
        now: Instant,
        limits: &Limits,
        carries_dialog: bool,
    ) -> Option<CloseReason> {
        let deadline = self.deadline(limits, carries_dialog)?;
        if now < deadline {
            return None;
        }
        Some(if self.is_open() {
            CloseReason::Idle
        } else {
            CloseReason::HandshakeTimeout
        })
    }

    /// Appends a message to the send queue (bounded by `limits.max_queued`) and writes
    /// what the socket takes now.
    pub(super) fn send(
        &mut self,
        now: Instant,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<Result<(), CloseReason>, SendError> {
        if self.queued().saturating_add(bytes.len()) > limits.max_queued {
            return Err(SendError::QueueFull);
        }
        self.compact();
        self.outbuf.extend_from_slice(bytes);
        self.last_activity = now;
        Ok(if self.is_open() { self.flush() } else { Ok(()) })
    }

    /// Advances the connection after a readiness event (or a deferred read): finishes
    /// the connect, drives the handshake, reads and frames, writes the queue.
    pub(super) fn on_ready(
        &mut self,
        now: Instant,
        limits: &Limits,
        events: &mut VecDeque<TransportEvent>,
    ) -> Result<(), CloseReason> {
        if self.phase == Phase::Connecting && !self.finish_connect()? {
            return Ok(());
        }
        if self.phase == Phase::Handshaking && !self.handshake()? {
            return Ok(());
        }
        self.flush()?;
        let got = self.read(limits, events)?;
        if got {
            self.last_activity = now;
        }
        // Pongs queued while reading.
        self.flush()?;
        self.compact();
        if self.closing && self.queued() == 0 {
            return Err(CloseReason::Requested);
        }
        Ok(())
    }

    /// Drops written bytes from the send buffer so a slow reader cannot make it grow
    /// past the queue bound. A TLS record being retried may move: the contexts allow it
    /// (ACCEPT_MOVING_WRITE_BUFFER) and its bytes stay at the front.
    fn compact(&mut self) {
        if self.out_start > 0 {
            self.outbuf.drain(..self.out_start);
            self.out_start = 0;
        }
    }

    /// Checks whether the non-blocking connect finished; starts TLS if needed.
    fn finish_connect(&mut self) -> Result<bool, CloseReason> {
        let Io::Tcp(stream) = &mut self.io else {
            return Ok(false);
        };
        if let Ok(Some(e)) | Err(e) = stream.take_error() {
            return Err(CloseReason::Failed(ErrorKind::from_io(&e)));
        }
        match stream.peer_addr() {
            Ok(_) => {}
            Err(e)
                if e.raw_os_error() == Some(libc::ENOTCONN)
                    || e.kind() == io::ErrorKind::WouldBlock =>
            {
                return Ok(false);
            }
            Err(e) => return Err(CloseReason::Failed(ErrorKind::from_io(&e))),
        }
        if let Ok(local) = stream.local_addr() {
            self.local = local;
        }
        trace!(target: "sip::transport", "{} connected to {}", self.id, self.target);
        match self.pending_tls.take() {
            None => self.phase = Phase::Open,
            Some(ssl) => {
                let Io::Tcp(stream) = std::mem::replace(&mut self.io, Io::Gone) else {
                    return Ok(false);
                };
                let tls = SslStream::new(ssl, stream)
                    .map_err(|e| CloseReason::Failed(ErrorKind::Tls(e.to_string())))?;
                self.io = Io::Tls(Box::new(tls));
                self.phase = Phase::Handshaking;
            }
        }
        Ok(true)
    }

    /// Drives the TLS handshake; true once it is done.
    fn handshake(&mut self) -> Result<bool, CloseReason> {
        let Io::Tls(tls) = &mut self.io else {
            return Ok(true);
        };
        let result = if self.outgoing {
            tls.connect()
        } else {
            tls.accept()
        };
        match result {
            Ok(()) => {
                debug!(target: "sip::transport", "{} TLS established with {} ({})",
                    self.id, self.target, tls.ssl().version_str());
                self.phase = Phase::Open;
                Ok(true)
            }
            Err(e) if matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) => Ok(false),
            Err(e) => {
                let verify = tls.ssl().verify_result();
                let why = if verify.as_raw() != 0 {
                    format!("certificate not accepted: {}", verify.error_string())
                } else if let Some(io) = e.io_error() {
                    return Err(CloseReason::Failed(ErrorKind::from_io(io)));
                } else {
                    e.to_string()
                };
                Err(CloseReason::Failed(ErrorKind::Tls(why)))
            }
        }
    }

    /// Writes queued bytes until the socket would block.
    fn flush(&mut self) -> Result<(), CloseReason> {
        while self.out_start < self.outbuf.len() {
            let pending = self.outbuf.get(self.out_start..).unwrap_or_default();
            let written = match &mut self.io {
                Io::Tcp(s) => match s.write(pending) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(CloseReason::Failed(ErrorKind::from_io(&e))),
                },
                Io::Tls(s) => match s.ssl_write(pending) {
                    Ok(n) => n,
                    Err(e) if matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) => {
                        return Ok(());
                    }
                    Err(e) => return Err(tls_io_failure(&e)),
                },
                Io::Gone => return Ok(()),
            };
            if written == 0 {
                return Err(CloseReason::Failed(ErrorKind::Reset));
            }
            self.out_start = self
                .out_start
                .saturating_add(written)
                .min(self.outbuf.len());
        }
        self.outbuf.clear();
        self.out_start = 0;
        Ok(())
    }

    /// Reads until the socket would block, framing as it goes. Returns whether any bytes
    /// arrived.
    fn read(
        &mut self,
        limits: &Limits,
        events: &mut VecDeque<TransportEvent>,
    ) -> Result<bool, CloseReason> {
        let mut got = false;
        loop {
            // Move unframed bytes to the front so the buffer never exceeds the limit.
            if self.in_start > 0 {
                self.inbuf.copy_within(self.in_start.., 0);
                self.inbuf.truncate(self.inbuf.len() - self.in_start);
                self.in_start = 0;
            }
            let room = limits
                .max_message
                .saturating_sub(self.inbuf.len())
                .min(READ_CHUNK);
            if room == 0 {
                // A full buffer still holding no whole message: either the header
                // section has not ended within the limit (the framer itself only gives
                // up at its own 16 KiB header bound) or the message is too large.
                return Err(CloseReason::Framing(FrameError::TooLarge));
            }
            let filled = self.inbuf.len();
            self.inbuf.resize(filled + room, 0);
            let spare = self.inbuf.get_mut(filled..).unwrap_or_default();
            let result = match &mut self.io {
                Io::Tcp(s) => match s.read(spare) {
                    Ok(0) => ReadOutcome::Eof,
                    Ok(n) => ReadOutcome::Data(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => ReadOutcome::WouldBlock,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadOutcome::Data(0),
                    Err(e) => ReadOutcome::Failed(ErrorKind::from_io(&e)),
                },
                Io::Tls(s) => match s.ssl_read(spare) {
                    Ok(0) => ReadOutcome::Eof,
                    Ok(n) => ReadOutcome::Data(n),
                    Err(e) if matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) => {
                        ReadOutcome::WouldBlock
                    }
                    Err(e) if e.code() == ErrorCode::ZERO_RETURN => ReadOutcome::Eof,
                    Err(e) if e.code() == ErrorCode::SYSCALL && e.io_error().is_none() => {
                        ReadOutcome::Eof
                    }
                    Err(e) => match tls_io_failure(&e) {
                        CloseReason::Failed(kind) => ReadOutcome::Failed(kind),
                        _ => ReadOutcome::Failed(ErrorKind::Reset),
                    },
                },
                Io::Gone => ReadOutcome::WouldBlock,
            };
            let n = match result {
                ReadOutcome::Data(n) => n,
                _ => 0,
            };
            self.inbuf.truncate(filled + n);
            match result {
                ReadOutcome::Data(n) => {
                    got |= n > 0;
                    self.frame_messages(limits, events)?;
                }
                ReadOutcome::WouldBlock => return Ok(got),
                ReadOutcome::Eof => {
                    if self.inbuf.len() > self.in_start {
                        debug!(target: "sip::transport", "{} from {}: {} bytes of an incomplete message dropped at close",
                            self.id, self.target, self.inbuf.len() - self.in_start);
                    }
                    return Err(CloseReason::PeerClosed);
                }
                ReadOutcome::Failed(kind) => return Err(CloseReason::Failed(kind)),
            }
        }
    }

    /// Takes every whole message and keepalive off the front of the receive buffer.
    fn frame_messages(
        &mut self,
        limits: &Limits,
        events: &mut VecDeque<TransportEvent>,
    ) -> Result<(), CloseReason> {
        loop {
            let pending = self.inbuf.get(self.in_start..).unwrap_or_default();
            if pending.is_empty() {
                return Ok(());
            }
            let (len, message) = match frame(pending, limits.max_message)
                .map_err(CloseReason::Framing)?
            {
                Frame::Partial => return Ok(()),
                Frame::Complete(len) => (len, true),
                Frame::Ping(len) => {
                    // RFC 5626 §4.4.1: answer a CRLFCRLF ping with a CRLF pong.
                    trace!(target: "sip::transport", "{} keepalive ping from {}", self.id, self.target);
                    // A peer that pings without reading gets no more than the queue bound.
                    if self.queued() < limits.max_queued {
                        self.outbuf.extend_from_slice(PONG);
                    }
                    (len, false)
                }
                Frame::Pong(len) => (len, false),
            };
            let len = len.clamp(1, pending.len());
            if message {
                let bytes = pending.get(..len).unwrap_or_default().to_vec();
                trace!(target: "sip::transport", "{} {} bytes from {}", self.id, bytes.len(), self.target);
                events.push_back(TransportEvent::Received {
                    bytes,
                    source: self.target.addr,
                    transport: self.target.transport,
                    local: self.local,
                    conn: Some(self.id),
                });
            }
            self.in_start += len;
        }
    }

    /// Best-effort TLS close_notify before the socket is dropped.
    pub(super) fn shutdown(&mut self) {
        if let Io::Tls(tls) = &mut self.io
            && self.phase == Phase::Open
        {
            let _ = tls.shutdown();
        }
    }
}

enum ReadOutcome {
    Data(usize),
    WouldBlock,
    Eof,
    Failed(ErrorKind),
}

fn tls_io_failure(e: &openssl::ssl::Error) -> CloseReason {
    match e.io_error() {
        Some(io) => CloseReason::Failed(ErrorKind::from_io(io)),
        None => CloseReason::Failed(ErrorKind::Tls(e.to_string())),
    }
}
