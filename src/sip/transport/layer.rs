//! The transport layer the reactor drives: it owns every SIP socket, turns readiness
//! into framed messages and transport errors, sends to targets over UDP, TCP or TLS
//! (reusing connections, §18.2.2 / RFC 5923-style reuse by remote address), and keeps
//! time-outs and keepalives. No thread, no clock: time comes in as `now`.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::time::Instant;

use log::{debug, info, warn};
use mio::{Interest, Registry, Token};

use super::bind::bind_all;
use super::config::TransportConfig;
use super::event::{BindError, ConnId, ErrorKind, SendError, Target, TransportEvent};
use super::keepalive::{KeepaliveTable, PING};
use super::stream::{CloseReason, Connection};
use super::tls::{self, TlsContexts, TlsSetupError};
use super::udp::{Drained, UdpEndpoint};
use crate::sip::Transport;
use crate::sys::socket::connect_tcp;

/// Connections accepted per readiness event before yielding to the rest of the reactor.
const ACCEPT_BUDGET: usize = 64;
/// Pause before accepting again after accept itself failed (out of descriptors).
const ACCEPT_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// The layer could not start.
#[derive(Debug)]
pub enum TransportStartError {
    Bind(BindError),
    Tls(TlsSetupError),
    /// Registering a socket with the poller failed.
    Register(io::Error),
    /// The token range given is too small for the listeners.
    Tokens,
}

impl fmt::Display for TransportStartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportStartError::Bind(e) => write!(f, "{e}"),
            TransportStartError::Tls(e) => write!(f, "{e}"),
            TransportStartError::Register(e) => {
                write!(f, "cannot register a SIP socket with the poller: {e}")
            }
            TransportStartError::Tokens => {
                f.write_str("token range too small for the SIP listeners")
            }
        }
    }
}

impl std::error::Error for TransportStartError {}

impl From<BindError> for TransportStartError {
    fn from(e: BindError) -> Self {
        TransportStartError::Bind(e)
    }
}

struct Listener {
    listener: mio::net::TcpListener,
    transport: Transport,
    local: SocketAddr,
}

enum Source {
    Udp(usize),
    Listener(usize),
    Conn,
}

/// UDP sockets, TCP/TLS listeners and connections, for one mio poller.
pub struct TransportLayer {
    registry: Registry,
    cfg: TransportConfig,
    tokens: Range<usize>,
    next_token: usize,
    next_conn: u64,
    udp: Vec<(Token, UdpEndpoint)>,
    listeners: Vec<(Token, Listener)>,
    tls: TlsContexts,
    conns: HashMap<Token, Connection>,
    by_id: HashMap<ConnId, Token>,
    by_target: HashMap<(SocketAddr, Transport), Token>,
    keepalive: KeepaliveTable,
    events: VecDeque<TransportEvent>,
    /// UDP receive buffer, one byte over the message limit to detect oversize datagrams.
    scratch: Vec<u8>,
    /// Sockets whose read budget ran out, continued by `handle_timeout`.
    resume: Vec<(Token, Instant)>,
    /// No deadline falls before this (it may be early; never late).
    next_deadline: Option<Instant>,
    limit_warned: bool,
}

/// The local address the routing table picks for messages to `dest` (a UDP route lookup:
/// connecting a UDP socket sends no packet). For Via sent-by and Contact when `IPAddress`
/// is blank and the layer listens on all interfaces.
pub fn probe_source_ip(dest: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = if dest.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let probe = std::net::UdpSocket::bind(any).ok()?;
    probe.connect(dest).ok()?;
    probe.local_addr().ok().map(|a| a.ip())
}

impl TransportLayer {
    /// Binds the listeners and registers them with `registry`, using tokens from
    /// `tokens` only (for listeners and for every connection later).
    pub fn new(
        registry: &Registry,
        tokens: Range<usize>,
        cfg: TransportConfig,
    ) -> Result<Self, TransportStartError> {
        let tls = tls::load(&cfg).map_err(TransportStartError::Tls)?;
        let bound = bind_all(
            cfg.bind,
            cfg.udp_tcp_port,
            cfg.tls_port,
            tls.server.is_some(),
        )?;
        let registry = registry
            .try_clone()
            .map_err(TransportStartError::Register)?;
        let mut layer = TransportLayer {
            registry,
            keepalive: KeepaliveTable::new(cfg.keepalives, cfg.keepalive_intervals),
            scratch: vec![0; cfg.limits.max_message.saturating_add(1)],
            next_token: tokens.start,
            tokens,
            cfg,
            next_conn: 1,
            udp: Vec::new(),
            listeners: Vec::new(),
            tls,
            conns: HashMap::new(),
            by_id: HashMap::new(),
            by_target: HashMap::new(),
            events: VecDeque::new(),
            resume: Vec::new(),
            next_deadline: None,
            limit_warned: false,
        };
        for socket in bound.udp {
            let mut endpoint = UdpEndpoint::new(socket).map_err(TransportStartError::Register)?;
            let token = layer.alloc_token().ok_or(TransportStartError::Tokens)?;
            layer
                .registry
                .register(&mut endpoint.socket, token, Interest::READABLE)
                .map_err(TransportStartError::Register)?;
            layer.udp.push((token, endpoint));
        }
        let stream_listeners = bound
            .tcp
            .into_iter()
            .map(|l| (l, Transport::Tcp))
            .chain(bound.tls.into_iter().map(|l| (l, Transport::Tls)));
        for (listener, transport) in stream_listeners {
            let local = listener
                .local_addr()
                .map_err(TransportStartError::Register)?;
            let mut listener = mio::net::TcpListener::from_std(listener);
            let token = layer.alloc_token().ok_or(TransportStartError::Tokens)?;
            layer
                .registry
                .register(&mut listener, token, Interest::READABLE)
                .map_err(TransportStartError::Register)?;
            layer.listeners.push((
                token,
                Listener {
                    listener,
                    transport,
                    local,
                },
            ));
        }
        Ok(layer)
    }

    /// The addresses listened on, per transport (with the real port when 0 was asked).
    pub fn local_addrs(&self) -> Vec<(Transport, SocketAddr)> {
        let udp = self.udp.iter().map(|(_, u)| (Transport::Udp, u.local));
        let streams = self.listeners.iter().map(|(_, l)| (l.transport, l.local));
        udp.chain(streams).collect()
    }

    /// The local address messages to `dest` leave from: the configured address, or on
    /// an all-interfaces layer the one the routing table picks. For Via sent-by and Contact
    /// when `IPAddress` is blank.
    pub fn source_ip_for(&self, dest: SocketAddr) -> Option<IpAddr> {
        self.cfg
            .bind
            .filter(|ip| !ip.is_unspecified())
            .or_else(|| probe_source_ip(dest))
    }

    /// Whether messages can be sent over `transport` (UDP needs a socket; TCP and TLS
    /// can always connect out).
    pub fn supports(&self, transport: Transport) -> bool {
        match transport {
            Transport::Udp => !self.udp.is_empty(),
            Transport::Tcp | Transport::Tls => true,
        }
    }

    /// Whether a listener for `transport` runs (what a Contact or Via may advertise).
    pub fn listening(&self, transport: Transport) -> bool {
        match transport {
            Transport::Udp => !self.udp.is_empty(),
            _ => self.listeners.iter().any(|(_, l)| l.transport == transport),
        }
    }

    /// Whether `token` is one of this layer's sockets.
    pub fn owns(&self, token: Token) -> bool {
        self.tokens.contains(&token.0)
    }

    /// Open TCP/TLS connections, incoming and outgoing.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// The next event for the reactor.
    pub fn poll_event(&mut self) -> Option<TransportEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let resume = self.resume.iter().map(|&(_, at)| at);
        resume.chain(self.next_deadline).min()
    }

    /// Handles a readiness event for one of this layer's tokens.
    pub fn on_event(&mut self, now: Instant, event: &mio::event::Event) {
        self.ready(now, event.token());
    }

    fn ready(&mut self, now: Instant, token: Token) {
        let source = if let Some(i) = self.udp.iter().position(|(t, _)| *t == token) {
            Source::Udp(i)
        } else if let Some(i) = self.listeners.iter().position(|(t, _)| *t == token) {
            Source::Listener(i)
        } else {
            Source::Conn
        };
        match source {
            Source::Udp(i) => {
                let max = self.cfg.limits.max_message;
                if let Some((_, endpoint)) = self.udp.get_mut(i)
                    && endpoint.read(&mut self.scratch, max, &mut self.events) == Drained::MoreLeft
                {
                    self.defer(now, token);
                }
            }
            Source::Listener(i) => self.accept(now, i, token),
            Source::Conn => {
                let limits = self.cfg.limits;
                let Some(conn) = self.conns.get_mut(&token) else {
                    // A stale event for a connection closed earlier in this batch.
                    return;
                };
                if let Err(reason) = conn.on_ready(now, &limits, &mut self.events) {
                    self.close(token, reason);
                }
            }
        }
    }

    /// Continues work on `token` from `handle_timeout` at `at`.
    fn defer(&mut self, at: Instant, token: Token) {
        match self.resume.iter_mut().find(|(t, _)| *t == token) {
            Some(entry) => entry.1 = entry.1.min(at),
            None => self.resume.push((token, at)),
        }
    }

    /// Runs what is due at `now`: deferred reads, keepalives, handshake and idle
    /// time-outs.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.resume.iter().any(|&(_, at)| at <= now) {
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.resume)
                .into_iter()
                .partition(|&(_, at)| at <= now);
            self.resume = later;
            for (token, _) in due {
                self.ready(now, token);
            }
        }
        if self.next_deadline.is_none_or(|t| t > now) {
            return;
        }
        for (addr, transport) in self.keepalive.take_due(now) {
            self.send_keepalive(now, addr, transport);
        }
        let limits = self.cfg.limits;
        let expired: Vec<(Token, CloseReason)> = self
            .conns
            .iter()
            .filter_map(|(&token, c)| {
                let dialog = self.keepalive.contains(c.target.addr, c.target.transport);
                c.expired(now, &limits, dialog).map(|r| (token, r))
            })
            .collect();
        for (token, reason) in expired {
            self.close(token, reason);
        }
        self.recompute_deadline();
    }

    fn recompute_deadline(&mut self) {
        let limits = self.cfg.limits;
        let conns = self.conns.values().filter_map(|c| {
            c.deadline(
                &limits,
                self.keepalive.contains(c.target.addr, c.target.transport),
            )
        });
        self.next_deadline = conns.chain(self.keepalive.next_deadline()).min();
    }

    fn lower_deadline(&mut self, at: Option<Instant>) {
        if let Some(at) = at {
            self.next_deadline = Some(self.next_deadline.map_or(at, |t| t.min(at)));
        }
    }

    fn send_keepalive(&mut self, now: Instant, addr: SocketAddr, transport: Transport) {
        if transport == Transport::Udp {
            if let Some((_, endpoint)) = self
                .udp
                .iter()
                .find(|(_, u)| u.local.is_ipv4() == addr.is_ipv4())
                && let Err(e) = endpoint.send(PING, addr, &mut self.events)
            {
                debug!(target: "sip::transport", "keepalive to UDP {addr} failed: {e}");
            }
            return;
        }
        // A stream keepalive only refreshes a connection that exists; it never opens one.
        let Some(&token) = self.by_target.get(&(addr, transport)) else {
            return;
        };
        let limits = self.cfg.limits;
        if let Some(conn) = self.conns.get_mut(&token)
            && conn.is_open()
            && let Ok(Err(reason)) = conn.send(now, PING, &limits)
        {
            self.close(token, reason);
        }
    }

    /// Registers one dialog's use of `target`: UDP targets get a ping every datagram
    /// interval, TCP/TLS connections to it one every stream interval (when keepalives
    /// are on), and those connections are exempt from the idle time-out.
    pub fn keepalive_add(&mut self, now: Instant, target: &Target) {
        self.keepalive.add(now, target.addr, target.transport);
        self.lower_deadline(self.keepalive.next_deadline());
    }

    /// Drops one dialog's use of `target` (see `keepalive_add`).
    pub fn keepalive_remove(&mut self, target: &Target) {
        if self.keepalive.remove(target.addr, target.transport)
            && let Some(token) = self.by_target.get(&(target.addr, target.transport))
            && let Some(conn) = self.conns.get(token)
        {
            let at = conn.deadline(&self.cfg.limits, false);
            self.lower_deadline(at);
        }
    }

    /// Sends one message to `target`: a datagram, or on the connection to that address
    /// (opened if there is none; the message waits for connect and handshake).
    pub fn send(&mut self, now: Instant, target: &Target, bytes: &[u8]) -> Result<(), SendError> {
        let max = self.cfg.limits.max_message;
        if bytes.len() > max {
            return Err(SendError::TooLarge {
                len: bytes.len(),
                max,
            });
        }
        if target.transport == Transport::Udp {
            let Some((_, endpoint)) = self
                .udp
                .iter()
                .find(|(_, u)| u.local.is_ipv4() == target.addr.is_ipv4())
            else {
                return Err(SendError::NoTransport {
                    transport: Transport::Udp,
                    addr: target.addr,
                });
            };
            return endpoint.send(bytes, target.addr, &mut self.events);
        }
        let token = match self.by_target.get(&(target.addr, target.transport)) {
            Some(&token) => token,
            None => self.connect(now, target)?,
        };
        self.send_on_token(now, token, bytes)
    }

    /// Sends one message on a given connection (the one a request came on, §18.2.2).
    pub fn send_on(&mut self, now: Instant, conn: ConnId, bytes: &[u8]) -> Result<(), SendError> {
        let max = self.cfg.limits.max_message;
        if bytes.len() > max {
            return Err(SendError::TooLarge {
                len: bytes.len(),
                max,
            });
        }
        let Some(&token) = self.by_id.get(&conn) else {
            return Err(SendError::NoConnection(conn));
        };
        self.send_on_token(now, token, bytes)
    }

    fn send_on_token(&mut self, now: Instant, token: Token, bytes: &[u8]) -> Result<(), SendError> {
        let limits = self.cfg.limits;
        let Some(conn) = self.conns.get_mut(&token) else {
            // Callers look the token up first; a vanished connection is a reset one.
            return Err(SendError::Io(ErrorKind::Reset));
        };
        match conn.send(now, bytes, &limits)? {
            Ok(()) => Ok(()),
            Err(reason) => {
                let kind = reason.error_kind();
                self.close(token, reason);
                Err(SendError::Io(kind))
            }
        }
    }

    /// Closes a connection at the reactor's request (for example after answering an
    /// unparseable message with 400) once what is queued on it is written. No error
    /// is reported for it.
    pub fn close_connection(&mut self, conn: ConnId) {
        let Some(&token) = self.by_id.get(&conn) else {
            return;
        };
        if let Some(c) = self.conns.get_mut(&token)
            && c.close_when_flushed()
        {
            self.close(token, CloseReason::Requested);
        }
    }

    /// Opens a connection to `target` and returns its token.
    fn connect(&mut self, now: Instant, target: &Target) -> Result<Token, SendError> {
        if let Some(ip) = self.cfg.bind
            && ip.is_ipv4() != target.addr.is_ipv4()
        {
            return Err(SendError::NoTransport {
                transport: target.transport,
                addr: target.addr,
            });
        }
        if !self.make_room(now) {
            return Err(SendError::TooManyConnections);
        }
        let token = self.alloc_token().ok_or(SendError::TooManyConnections)?;
        let ssl = match target.transport {
            Transport::Tls => {
                let name = target
                    .tls_name
                    .clone()
                    .unwrap_or_else(|| target.addr.ip().to_string());
                Some(
                    tls::client_session(&self.tls.client, &name)
                        .map_err(|e| SendError::Io(ErrorKind::Tls(e.to_string())))?,
                )
            }
            _ => None,
        };
        let mut stream = connect_tcp(target.addr, self.cfg.bind)
            .map_err(|e| SendError::Io(ErrorKind::from_io(&e)))?;
        self.registry
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| SendError::Io(ErrorKind::from_io(&e)))?;
        let id = self.alloc_conn_id();
        debug!(target: "sip::transport", "{id} connecting to {target}");
        let conn = Connection::outgoing(id, target.clone(), stream, ssl, now);
        self.insert(token, conn);
        Ok(token)
    }

    fn insert(&mut self, token: Token, conn: Connection) {
        let deadline = conn.deadline(&self.cfg.limits, false);
        self.by_id.insert(conn.id, token);
        self.by_target
            .entry((conn.target.addr, conn.target.transport))
            .or_insert(token);
        self.conns.insert(token, conn);
        self.lower_deadline(deadline);
    }

    /// Accepts waiting connections on listener `index`, within the budget and limits.
    fn accept(&mut self, now: Instant, index: usize, token: Token) {
        for _ in 0..ACCEPT_BUDGET {
            let Some((_, listener)) = self.listeners.get(index) else {
                return;
            };
            let transport = listener.transport;
            let (stream, remote) = match listener.listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: leave the rest in the backlog and try again
                    // a little later rather than spin.
                    warn!(target: "sip::transport", "accept on {transport} failed: {e}");
                    self.defer(now + ACCEPT_RETRY, token);
                    return;
                }
            };
            self.admit(now, stream, remote, transport);
        }
        self.defer(now, token);
    }

    fn admit(
        &mut self,
        now: Instant,
        stream: mio::net::TcpStream,
        remote: SocketAddr,
        transport: Transport,
    ) {
        let per_ip = self
            .conns
            .values()
            .filter(|c| !c.outgoing && c.target.addr.ip() == remote.ip())
            .count();
        if per_ip >= self.cfg.limits.max_connections_per_ip {
            debug!(target: "sip::transport", "refused {transport} connection from {remote}: per-address limit");
            return;
        }
        if !self.make_room(now) {
            if !self.limit_warned {
                warn!(target: "sip::transport",
                    "connection limit of {} reached: refusing new connections", self.cfg.limits.max_connections);
                self.limit_warned = true;
            }
            return;
        }
        let Some(token) = self.alloc_token() else {
            return;
        };
        let ssl = match (transport, &self.tls.server) {
            (Transport::Tls, Some(acceptor)) => match tls::server_session(acceptor) {
                Ok(ssl) => Some(ssl),
                Err(e) => {
                    warn!(target: "sip::transport", "TLS session for {remote} not created: {e}");
                    return;
                }
            },
            _ => None,
        };
        let id = self.alloc_conn_id();
        let mut conn = match Connection::incoming(id, stream, remote, transport, ssl, now) {
            Ok(conn) => conn,
            Err(e) => {
                warn!(target: "sip::transport", "TLS session for {remote} not created: {e}");
                return;
            }
        };
        let Some(tcp) = conn.tcp() else { return };
        if let Err(e) = self
            .registry
            .register(tcp, token, Interest::READABLE | Interest::WRITABLE)
        {
            warn!(target: "sip::transport", "cannot register connection from {remote}: {e}");
            return;
        }
        debug!(target: "sip::transport", "{id} accepted {transport} from {remote}");
        self.insert(token, conn);
    }

    /// Makes sure one more connection fits: at the limit, closes the least recently used
    /// connection that is open, has nothing queued and carries no dialog.
    fn make_room(&mut self, _now: Instant) -> bool {
        if self.conns.len() < self.cfg.limits.max_connections {
            self.limit_warned = false;
            return true;
        }
        let victim = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.is_open()
                    && c.queued() == 0
                    && !self.keepalive.contains(c.target.addr, c.target.transport)
            })
            .min_by_key(|(_, c)| c.last_activity)
            .map(|(&t, _)| t);
        match victim {
            Some(token) => {
                self.close(token, CloseReason::Evicted);
                true
            }
            None => false,
        }
    }

    /// Closes a connection, reporting a transport error for its target when messages
    /// were waiting on it or an outgoing connection failed.
    fn close(&mut self, token: Token, reason: CloseReason) {
        let Some(mut conn) = self.conns.remove(&token) else {
            return;
        };
        self.by_id.remove(&conn.id);
        let key = (conn.target.addr, conn.target.transport);
        if self.by_target.get(&key) == Some(&token) {
            self.by_target.remove(&key);
        }
        conn.shutdown();
        if let Some(tcp) = conn.tcp() {
            let _ = self.registry.deregister(tcp);
        }
        match &reason {
            CloseReason::Framing(_) | CloseReason::Failed(ErrorKind::Tls(_)) => {
                info!(target: "sip::transport", "{} from {} closed: {reason}", conn.id, conn.target)
            }
            _ => {
                debug!(target: "sip::transport", "{} with {} closed: {reason}", conn.id, conn.target)
            }
        }
        let failed = matches!(
            reason,
            CloseReason::Failed(_) | CloseReason::HandshakeTimeout
        );
        let report = reason != CloseReason::Requested
            && (conn.queued() > 0 || (conn.outgoing && (failed || !conn.is_open())));
        if report {
            self.events.push_back(TransportEvent::Error {
                target: conn.target.clone(),
                kind: reason.error_kind(),
            });
        }
    }

    fn alloc_conn_id(&mut self) -> ConnId {
        let id = ConnId(self.next_conn);
        self.next_conn = self.next_conn.wrapping_add(1);
        id
    }

    /// A token of the range that no socket uses.
    fn alloc_token(&mut self) -> Option<Token> {
        let span = self.tokens.end.saturating_sub(self.tokens.start);
        for _ in 0..span {
            let candidate = Token(self.next_token);
            self.next_token = if self.next_token + 1 >= self.tokens.end {
                self.tokens.start
            } else {
                self.next_token + 1
            };
            let used = self.conns.contains_key(&candidate)
                || self.udp.iter().any(|(t, _)| *t == candidate)
                || self.listeners.iter().any(|(t, _)| *t == candidate);
            if !used {
                return Some(candidate);
            }
        }
        None
    }
}
