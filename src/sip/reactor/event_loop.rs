//! The reactor thread's loop: one `mio::Poll` over the transports, the DNS driver and the
//! command channel's waker; the transaction layer and the resolver are sans-IO parts it
//! feeds with what the sockets deliver and with the time.
//!
//! A request from the calls thread goes: next hop (RFC 3261 §8.1.2) → RFC 3263 targets →
//! our Via with a fresh branch → a client transaction towards the first target. A transport
//! error, a time-out or a 503 moves it to the next target with a new branch (RFC 3263 §4.3);
//! when none is left the calls thread hears `TxFailed` (or the 503).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use mio::{Events, Poll, Token, Waker};

use super::bad_request;
use super::interface::{ClientTxId, ServerTxId, SipCommand, SipEvent, TxFailure};
use super::routing::{next_hop, push_via, resolve_request, transport_for_size};
use crate::sip::Transport;
use crate::sip::dns::{DnsDriver, ResolveId, ResolveRequest, ResolverConfig};
use crate::sip::msg::{Message, Method, new_branch};
use crate::sip::transaction::{
    LayerConfig, Origin, TimerKind, Timers, TransactionLayer, Transmit, TxEvent, TxRef,
};
use crate::sip::transport::{StartError, Target, TransportConfig, TransportEvent, TransportLayer};

const LOG: &str = "sip::reactor";
const WAKER: Token = Token(0);
const DNS_FIRST: usize = 1;
const TRANSPORT_FIRST: usize = 64;

/// Settings of the reactor.
#[derive(Debug, Clone)]
pub struct ReactorConfig {
    pub transport: TransportConfig,
    pub dns: ResolverConfig,
    pub layer: LayerConfig,
}

/// The running reactor's handle for the other threads.
#[derive(Clone)]
pub struct ReactorHandle {
    pub commands: Sender<SipCommand>,
    pub waker: Arc<Waker>,
    /// What the transports listen on (real ports when 0 was configured).
    pub local_addrs: Vec<(Transport, SocketAddr)>,
}

/// Why the reactor could not start.
#[derive(Debug)]
pub enum ReactorStartError {
    Transport(StartError),
    Io(&'static str, io::Error),
}

impl std::fmt::Display for ReactorStartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReactorStartError::Transport(e) => write!(f, "{e}"),
            ReactorStartError::Io(what, e) => write!(f, "cannot create the {what}: {e}"),
        }
    }
}

impl std::error::Error for ReactorStartError {}

/// What a request waits for, and where it may still go.
struct Outgoing {
    /// The request as the calls thread gave it (no Via of ours yet).
    request: Message,
    /// RFC 3263 targets in order; `next` is the first not yet tried.
    targets: Vec<crate::sip::dns::Target>,
    next: usize,
    /// The URI named the transport: no switch to TCP for size (§18.1.1).
    explicit_transport: bool,
    /// The host name a TLS certificate must carry (RFC 5922 §7).
    tls_name: Option<String>,
    /// An ACK for a 2xx: sent once per target, not as a transaction.
    is_ack: bool,
    /// Why the last target failed, for the report when none is left.
    last_failure: Option<TxFailure>,
    /// The target just tried went over TCP only because of the request's size: if TCP
    /// fails there, UDP is tried on the same target first (RFC 3261 §18.1.1).
    upgraded: Option<crate::sip::dns::Target>,
    /// Send the next attempt to this target over UDP.
    retry_udp: Option<crate::sip::dns::Target>,
}

/// The reactor: owns the sockets and every transaction.
pub struct Reactor {
    poll: Poll,
    /// Kept so the waker's eventfd lives as long as the loop: if the last other holder
    /// dropped it, closing the fd would silently take it out of the poll set and a final
    /// wake-up (the shutdown command) would never arrive.
    _waker: Arc<Waker>,
    transport: TransportLayer,
    dns: DnsDriver,
    layer: TransactionLayer,
    commands: Receiver<SipCommand>,
    events: Sender<SipEvent>,
    /// Client transactions (and ACKs) being routed; ACKs have ids of their own from a
    /// separate counter (high bit set) so they never collide with the calls thread's.
    outgoing: HashMap<ClientTxId, Outgoing>,
    resolving: HashMap<ResolveId, ClientTxId>,
    next_ack_id: u64,
    /// `IPAddress`: what goes into our Via; otherwise the source address towards the target.
    advertised_ip: Option<IpAddr>,
    local_addrs: Vec<(Transport, SocketAddr)>,
    /// Call-ID → where its dialog's ACK went: keepalives run to it while the dialog lives
    /// (the original's keepalives to the endpoints of its calls).
    dialog_targets: HashMap<String, Target>,
    /// Requests dropped because they could not be parsed or answered.
    dropped: u64,
    /// Server INVITE transactions whose 2xx we are sending: (Call-ID, CSeq number).
    answering_invite: HashMap<ServerTxId, (String, u32)>,
    /// Our 2xx responses to INVITEs over UDP, resent until their ACK arrives (RFC 3261
    /// §13.3.1.4; RFC 6026 leaves this to the transaction user, not the transaction).
    unacked_2xx: HashMap<(String, u32), Unacked2xx>,
    timers: Timers,
    /// Reused to measure a request's size before its first send.
    scratch: Vec<u8>,
}

/// A 2xx to an INVITE waiting for its ACK.
struct Unacked2xx {
    target: Target,
    bytes: Vec<u8>,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

impl Reactor {
    /// Bind every socket and prepare the loop; run it with [`Reactor::run`] on its own thread.
    pub fn bind(
        cfg: ReactorConfig,
        events: Sender<SipEvent>,
    ) -> Result<(Reactor, ReactorHandle), ReactorStartError> {
        let poll = Poll::new().map_err(|e| ReactorStartError::Io("SIP poller", e))?;
        let waker = Arc::new(
            Waker::new(poll.registry(), WAKER)
                .map_err(|e| ReactorStartError::Io("SIP waker", e))?,
        );
        let advertised_ip = cfg.transport.bind.filter(|ip| !ip.is_unspecified());
        let transport = TransportLayer::new(
            poll.registry(),
            TRANSPORT_FIRST..usize::MAX / 2,
            cfg.transport,
        )
        .map_err(ReactorStartError::Transport)?;
        let dns = DnsDriver::new(poll.registry(), Token(DNS_FIRST), cfg.dns)
            .map_err(|e| ReactorStartError::Io("DNS sockets", e))?;
        const { assert!(DNS_FIRST + DnsDriver::TOKENS <= TRANSPORT_FIRST) };
        let (tx, rx) = crossbeam_channel::unbounded();
        let local_addrs = transport.local_addrs();
        let handle = ReactorHandle {
            commands: tx,
            waker: Arc::clone(&waker),
            local_addrs: local_addrs.clone(),
        };
        let reactor = Reactor {
            poll,
            _waker: waker,
            transport,
            dns,
            layer: TransactionLayer::new(cfg.layer),
            commands: rx,
            events,
            outgoing: HashMap::new(),
            resolving: HashMap::new(),
            next_ack_id: 1 << 63,
            advertised_ip,
            local_addrs,
            dialog_targets: HashMap::new(),
            dropped: 0,
            answering_invite: HashMap::new(),
            unacked_2xx: HashMap::new(),
            timers: cfg.layer.timers,
            scratch: Vec::with_capacity(4096),
        };
        Ok((reactor, handle))
    }

    /// Run until `SipCommand::Shutdown` (or every command sender is gone).
    pub fn run(mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            let now = Instant::now();
            let timeout = [
                self.transport.poll_timeout(),
                self.dns.poll_timeout(),
                self.layer.poll_timeout(),
                self.unacked_2xx.values().map(|u| u.next).min(),
            ]
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.saturating_duration_since(now));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!(target: LOG, "poll failed: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
            let now = Instant::now();
            for event in events.iter() {
                let token = event.token();
                if token == WAKER {
                    continue;
                } else if self.dns.owns(token) {
                    self.dns.on_event(now, token);
                } else if self.transport.owns(token) {
                    self.transport.on_event(now, event);
                }
            }
            self.transport.handle_timeout(now);
            self.dns.handle_timeout(now);
            self.layer.handle_timeout(now);
            self.resend_2xx(now);
            if !self.take_commands(now) {
                log::debug!(target: LOG, "reactor stopping");
                return;
            }
            self.settle(now);
        }
    }

    /// Work every part's queue until nothing is left to do this turn.
    fn settle(&mut self, now: Instant) {
        loop {
            let mut busy = false;
            while let Some(ev) = self.transport.poll_event() {
                busy = true;
                self.on_transport_event(now, ev);
            }
            while let Some((id, result)) = self.dns.poll_result() {
                busy = true;
                self.on_resolved(now, id, result);
            }
            while let Some(t) = self.layer.poll_transmit() {
                busy = true;
                self.transmit(now, t);
            }
            while let Some(ev) = self.layer.poll_event() {
                busy = true;
                self.on_layer_event(now, ev);
            }
            if !busy {
                return;
            }
        }
    }

    /// Drain the command channel; false when the reactor must stop.
    fn take_commands(&mut self, now: Instant) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(SipCommand::Shutdown) | Err(TryRecvError::Disconnected) => return false,
                Ok(cmd) => self.on_command(now, cmd),
                Err(TryRecvError::Empty) => return true,
            }
            self.settle(now);
        }
    }

    fn on_command(&mut self, now: Instant, cmd: SipCommand) {
        match cmd {
            SipCommand::SendRequest { tx, request } => self.route(now, tx, request, false),
            SipCommand::SendAck { request } => {
                let id = ClientTxId(self.next_ack_id);
                self.next_ack_id = self.next_ack_id.wrapping_add(1) | (1 << 63);
                self.route(now, id, request, true);
            }
            SipCommand::Cancel { tx } => {
                if let Err(e) = self.layer.cancel(now, tx) {
                    log::debug!(target: LOG, "no CANCEL for client tx {}: {e}", tx.0);
                }
            }
            SipCommand::Respond { tx, response } => {
                let is_invite_2xx = response.status().is_some_and(|c| (200..300).contains(&c))
                    && matches!(response.cseq(), Ok((_, Method::Invite)));
                if is_invite_2xx
                    && let (Ok(call_id), Ok((cseq, _))) = (response.call_id(), response.cseq())
                {
                    self.answering_invite
                        .insert(tx, (call_id.to_string(), cseq));
                }
                if let Err(e) = self.layer.respond(now, tx, response) {
                    log::debug!(target: LOG, "response for server tx {} dropped: {e}", tx.0);
                }
            }
            SipCommand::Shutdown => {}
        }
    }

    /// The ACK of a 2xx confirmed a dialog with `target`: keep it alive (KeepAlives).
    fn dialog_started(&mut self, now: Instant, ack: &Message, target: Target) {
        let Ok(call_id) = ack.call_id() else { return };
        if !self.dialog_targets.contains_key(call_id) {
            self.transport.keepalive_add(now, &target);
            self.dialog_targets.insert(call_id.to_string(), target);
        }
    }

    /// A BYE (ours or the peer's) ends the dialog: stop its keepalives.
    fn dialog_ended(&mut self, bye: &Message) {
        if let Some(target) = bye
            .call_id()
            .ok()
            .and_then(|id| self.dialog_targets.remove(id))
        {
            self.transport.keepalive_remove(&target);
        }
    }

    /// Start routing a request: find its next hop and resolve it.
    fn route(&mut self, now: Instant, tx: ClientTxId, request: Message, is_ack: bool) {
        if request.method() == Some(&Method::Bye) {
            self.dialog_ended(&request);
        }
        let Some(req) = next_hop(&request).as_ref().and_then(resolve_request) else {
            self.fail(
                tx,
                is_ack,
                TxFailure::Dns("no SIP next hop in the request".into()),
            );
            return;
        };
        let ResolveRequest {
            ref host,
            transport,
            ..
        } = req;
        let tls_name = host.parse::<IpAddr>().is_err().then(|| host.clone());
        let explicit_transport = transport.is_some();
        self.outgoing.insert(
            tx,
            Outgoing {
                request,
                targets: Vec::new(),
                next: 0,
                explicit_transport,
                tls_name,
                is_ack,
                last_failure: None,
                upgraded: None,
                retry_udp: None,
            },
        );
        let id = self.dns.resolve(now, req);
        self.resolving.insert(id, tx);
    }

    fn on_resolved(
        &mut self,
        now: Instant,
        id: ResolveId,
        result: Result<Vec<crate::sip::dns::Target>, crate::sip::dns::DnsError>,
    ) {
        let Some(tx) = self.resolving.remove(&id) else {
            return;
        };
        match result {
            Ok(targets) if !targets.is_empty() => {
                if let Some(out) = self.outgoing.get_mut(&tx) {
                    out.targets = targets;
                }
                self.try_next(now, tx);
            }
            Ok(_) => self.fail_outgoing(tx, TxFailure::Dns("no address for the next hop".into())),
            Err(e) => self.fail_outgoing(tx, TxFailure::Dns(e.to_string())),
        }
    }

    /// Send the request to its next untried target, or report the failure.
    fn try_next(&mut self, now: Instant, tx: ClientTxId) {
        loop {
            let Some(out) = self.outgoing.get_mut(&tx) else {
                return;
            };
            let (dns_target, transport) = if let Some(t) = out.retry_udp.take() {
                (t, Transport::Udp)
            } else {
                let Some(dns_target) = out.targets.get(out.next).copied() else {
                    let why = out
                        .last_failure
                        .clone()
                        .unwrap_or_else(|| TxFailure::Transport("no usable target".into()));
                    self.fail_outgoing(tx, why);
                    return;
                };
                out.next += 1;
                // Only an unpinned UDP target can move to TCP for size (§18.1.1); measure
                // the request in a reused buffer just then.
                let size = if dns_target.transport == Transport::Udp && !out.explicit_transport {
                    self.scratch.clear();
                    out.request.write_to(&mut self.scratch);
                    self.scratch.len()
                } else {
                    0
                };
                let transport =
                    transport_for_size(dns_target.transport, out.explicit_transport, size);
                out.upgraded = (transport != dns_target.transport).then_some(dns_target);
                (dns_target, transport)
            };
            let mut request = out.request.clone();
            let is_ack = out.is_ack;
            let mut target = Target::new(dns_target.addr, transport);
            if transport == Transport::Tls {
                target.tls_name = out.tls_name.clone();
            }
            if !self.transport.supports(transport) {
                if let Some(out) = self.outgoing.get_mut(&tx) {
                    out.last_failure =
                        Some(TxFailure::Transport(format!("no {transport} transport")));
                }
                continue;
            }
            let sent_by = self.sent_by(transport, dns_target.addr);
            push_via(&mut request, transport, sent_by, &new_branch());
            log::debug!(target: LOG, "{} {} to {target}",
                request.method().map(|m| m.as_str().to_string()).unwrap_or_default(),
                request.request_uri().map(|u| u.to_string()).unwrap_or_default());
            if is_ack {
                // RFC 3261 §13.2.2.4: the ACK for a 2xx goes straight to the transport.
                let bytes = request.to_bytes();
                if let Err(e) = self.transport.send(now, &target, &bytes) {
                    log::info!(target: LOG, "ACK to {target} not sent: {e}");
                }
                self.outgoing.remove(&tx);
                self.dialog_started(now, &request, target);
                return;
            }
            match self.layer.send_request(now, tx, request, target) {
                Ok(()) => return,
                Err(e) => {
                    log::warn!(target: LOG, "client tx {} not started: {e}", tx.0);
                    self.fail_outgoing(tx, TxFailure::Transport(e.to_string()));
                    return;
                }
            }
        }
    }

    /// Our Via's sent-by: the configured address (or the one the kernel would use towards
    /// `dest`) and the port of our listener for that transport.
    fn sent_by(&self, transport: Transport, dest: SocketAddr) -> SocketAddr {
        let ip = self
            .advertised_ip
            .or_else(|| self.transport.source_ip_for(dest))
            .unwrap_or(if dest.is_ipv4() {
                IpAddr::from([127, 0, 0, 1])
            } else {
                IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])
            });
        let port = self
            .local_addrs
            .iter()
            .find(|(t, a)| *t == transport && a.is_ipv4() == ip.is_ipv4())
            .or_else(|| self.local_addrs.iter().find(|(t, _)| *t == transport))
            .or_else(|| self.local_addrs.iter().find(|(t, _)| *t == Transport::Udp))
            .map_or(transport.default_port(), |(_, a)| a.port());
        SocketAddr::new(ip, port)
    }

    fn fail(&mut self, tx: ClientTxId, is_ack: bool, why: TxFailure) {
        if is_ack {
            log::info!(target: LOG, "ACK not sent: {why}");
        } else {
            log::info!(target: LOG, "client tx {} failed: {why}", tx.0);
            let _ = self.events.send(SipEvent::TxFailed { tx, reason: why });
        }
    }

    fn fail_outgoing(&mut self, tx: ClientTxId, why: TxFailure) {
        let is_ack = self.outgoing.remove(&tx).is_some_and(|o| o.is_ack);
        self.fail(tx, is_ack, why);
    }

    /// The current target failed: try the next one if there is one (RFC 3263 §4.3).
    fn failover(&mut self, now: Instant, tx: ClientTxId, why: TxFailure) {
        match self.outgoing.get_mut(&tx) {
            Some(out) => {
                if let (TxFailure::Transport(_), Some(t)) = (&why, out.upgraded.take()) {
                    log::info!(target: LOG, "client tx {}: TCP for a large request failed ({why}); retrying over UDP", tx.0);
                    out.retry_udp = Some(t);
                } else {
                    log::info!(target: LOG, "client tx {}: {why}; trying the next target", tx.0);
                }
                out.last_failure = Some(why);
                self.try_next(now, tx);
            }
            None => self.fail(tx, false, why),
        }
    }

    /// Resend the 2xx responses whose ACK is late: T1 doubling up to T2, for 64*T1
    /// (RFC 3261 §13.3.1.4).
    fn resend_2xx(&mut self, now: Instant) {
        let t2 = self.timers.t2;
        let mut expired = Vec::new();
        for (key, u) in self.unacked_2xx.iter_mut() {
            if now < u.next {
                continue;
            }
            if now >= u.give_up {
                expired.push(key.clone());
                continue;
            }
            if let Err(e) = self.transport.send(now, &u.target, &u.bytes) {
                log::info!(target: LOG, "2xx retransmission to {} failed: {e}", u.target);
            }
            u.interval = (u.interval * 2).min(t2);
            u.next = now + u.interval;
        }
        for key in expired {
            // §13.3.1.4: no ACK within 64*T1: the dialog layer would BYE; the peer never
            // confirmed the change, so we only log it.
            log::info!(target: LOG, "no ACK for the 2xx to INVITE {} {}", key.0, key.1);
            self.unacked_2xx.remove(&key);
        }
    }

    fn transmit(&mut self, now: Instant, t: Transmit) {
        if let TxRef::Server(id) = t.tx
            && let Some(key) = self.answering_invite.remove(&id)
            && t.target.transport == Transport::Udp
        {
            let t1 = self.timers.t1;
            self.unacked_2xx.insert(
                key,
                Unacked2xx {
                    target: t.target.clone(),
                    bytes: t.bytes.clone(),
                    next: now + t1,
                    interval: t1,
                    give_up: now + t1 * 64,
                },
            );
        }
        let result = match t.conn {
            Some(conn) => self
                .transport
                .send_on(now, conn, &t.bytes)
                .or_else(|_| self.transport.send(now, &t.target, &t.bytes)),
            None => self.transport.send(now, &t.target, &t.bytes),
        };
        if let Err(e) = result {
            log::info!(target: LOG, "{} to {}: send failed: {e}", t.tx, t.target);
            self.layer.transport_error(now, t.tx);
        }
    }

    fn on_transport_event(&mut self, now: Instant, ev: TransportEvent) {
        match ev {
            TransportEvent::Received {
                bytes,
                source,
                transport,
                local,
                conn,
            } => match Message::parse(&bytes) {
                Ok(msg) => {
                    log::trace!(target: LOG, "from {transport} {source}:\n{}", String::from_utf8_lossy(&bytes));
                    self.layer.handle_message(
                        now,
                        msg,
                        Origin {
                            source,
                            transport,
                            local,
                            conn,
                        },
                    );
                }
                Err(e) => match bad_request::answer(&bytes, &e) {
                    Some(resp) => {
                        log::info!(target: LOG, "bad request from {transport} {source}: {e}");
                        let sent = match conn {
                            Some(c) => self.transport.send_on(now, c, &resp),
                            None => {
                                self.transport
                                    .send(now, &Target::new(source, transport), &resp)
                            }
                        };
                        if let Err(e) = sent {
                            log::info!(target: LOG, "400 to {source} not sent: {e}");
                        }
                    }
                    None => {
                        self.dropped += 1;
                        log::info!(target: LOG, "unparsable message from {transport} {source} dropped ({} so far): {e}", self.dropped);
                    }
                },
            },
            TransportEvent::Error { target, kind } => {
                log::info!(target: LOG, "{target}: {kind:?}");
                self.layer.target_failed(now, &target);
            }
        }
    }

    fn on_layer_event(&mut self, now: Instant, ev: TxEvent) {
        match ev {
            TxEvent::Request { tx, msg, origin } => {
                if msg.method() == Some(&Method::Ack)
                    && let (Ok(call_id), Ok((cseq, _))) = (msg.call_id(), msg.cseq())
                {
                    self.unacked_2xx.remove(&(call_id.to_string(), cseq));
                }
                if msg.method() == Some(&Method::Bye) {
                    self.dialog_ended(&msg);
                }
                let _ = self.events.send(SipEvent::Request {
                    tx,
                    request: msg,
                    source: origin.source,
                    transport: origin.transport,
                });
            }
            TxEvent::Cancelled { tx, .. } => {
                // We answer every INVITE at once (403), so a CANCEL can only cross it.
                log::debug!(target: LOG, "CANCEL for server tx {} after its answer", tx.0);
            }
            TxEvent::Response { tx, msg } => {
                let code = msg.status().unwrap_or(0);
                if code >= 200 {
                    // RFC 3263 §4.3: a 503 means "try the next server" while one is left.
                    let more = self
                        .outgoing
                        .get(&tx)
                        .is_some_and(|o| o.next < o.targets.len());
                    if code == 503 && more {
                        self.failover(
                            now,
                            tx,
                            TxFailure::Transport("503 Service Unavailable".into()),
                        );
                        return;
                    }
                    self.outgoing.remove(&tx);
                }
                let _ = self.events.send(SipEvent::Response { tx, response: msg });
            }
            TxEvent::Timeout { tx, timer } => {
                if timer == TimerKind::C {
                    // No final answer in time from a target that did answer: not a reason
                    // to call somebody else.
                    self.fail_outgoing(tx, TxFailure::Timeout);
                } else {
                    self.failover(now, tx, TxFailure::Timeout);
                }
            }
            TxEvent::TransportError { tx } => {
                self.failover(
                    now,
                    tx,
                    TxFailure::Transport("connection failed or destination unreachable".into()),
                );
            }
        }
    }
}

/// Our host for Contact when no address is configured: the local address of a host we can
/// reach (no packet is sent: connecting a UDP socket only asks the routing table).
pub fn default_local_ip(towards: SocketAddr) -> IpAddr {
    let any: SocketAddr = if towards.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .unwrap_or(towards);
    std::net::UdpSocket::bind(any)
        .and_then(|s| {
            s.connect(towards)?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}
