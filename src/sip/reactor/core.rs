//! The reactor's protocol core, sans-IO like quinn-proto's `Connection`: it owns the
//! transaction layer and decides where each request goes, and the event loop feeds it what
//! the calls thread, the sockets and the resolver deliver, with the time, and carries out
//! what it asks for (`poll_transmit`, `poll_resolve`, `poll_keepalive`, `poll_event`,
//! `poll_timeout`).
//!
//! A request from the calls thread goes: next hop (RFC 3261 §8.1.2) → RFC 3263 targets →
//! our Via with a fresh branch → a client transaction towards the first target. A transport
//! error, a time-out or a 503 moves it to the next target with a new branch (RFC 3263 §4.3);
//! when none is left the calls thread hears `TxFailed` (or the 503).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use super::bad_request;
use super::failover::Outgoing;
use super::interface::{SipCommand, SipEvent};
use super::resend_2xx::{InviteKey, Unacked2xx};
use super::routing::{next_hop, push_via, resolve_request};
use crate::sip::Transport;
use crate::sip::dns::{self, DnsError, ResolveRequest};
use crate::sip::msg::{Message, Method, new_branch};
use crate::sip::transaction::{
    ClientTxId, LayerConfig, Origin, ServerTxId, TimerKind, TransactionLayer, Transmit, TxEvent,
    TxFailure, TxRef,
};
use crate::sip::transport::{ConnId, Target, TransportEvent};

pub(super) const LOG: &str = "sip::reactor";

/// What the core knows of the sockets it does not own.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub layer: LayerConfig,
    /// `IPAddress`: what goes into our Via; otherwise `source_ip` towards the target.
    pub advertised_ip: Option<IpAddr>,
    /// What the transports listen on (real ports), for our Via's port.
    pub local_addrs: Vec<(Transport, SocketAddr)>,
    /// Whether a UDP socket is bound (TCP and TLS can always connect out).
    pub udp_bound: bool,
    /// The local address the routing table picks towards a destination.
    pub source_ip: fn(SocketAddr) -> Option<IpAddr>,
}

/// Bytes the event loop must write to a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub target: Target,
    /// The connection to write on: a response goes back on its request's connection
    /// while it is open, else to `target` (RFC 3261 §18.2.2); a 400 only there.
    pub conn: Option<ConnId>,
    pub bytes: Vec<u8>,
    pub kind: OutboundKind,
}

/// Whose bytes an [`Outbound`] carries: says what a failed write means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundKind {
    /// A transaction's message: report a failed write with `handle_send_failed`.
    Transaction(TxRef),
    /// The ACK of a 2xx (RFC 3261 §13.2.2.4): not retransmitted, a failure is only logged.
    Ack,
    /// A resent 2xx to an INVITE (§13.3.1.4): the next resend is the retry.
    Resent2xx,
    /// The 400 for a request that could not be parsed: on its connection only.
    BadRequest,
}

/// A change to the set of keepalive targets (the original's keepalives to the endpoints of
/// its calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keepalive {
    Add(Target),
    Remove(Target),
}

/// The reactor's protocol state. See the module documentation.
pub struct ReactorCore {
    cfg: CoreConfig,
    layer: TransactionLayer,
    /// Client transactions (and ACKs) being routed; ACKs have ids of their own from a
    /// separate counter (high bit set) so they never collide with the calls thread's.
    outgoing: HashMap<ClientTxId, Outgoing>,
    next_ack_id: u64,
    /// Call-ID → where its dialog's ACK went: keepalives run to it while the dialog lives.
    dialog_targets: HashMap<String, Target>,
    /// Server INVITE transactions whose 2xx we are sending.
    answering_invite: HashMap<ServerTxId, InviteKey>,
    unacked_2xx: Unacked2xx,
    /// Requests dropped because they could not be parsed or answered.
    dropped: u64,
    /// Reused to measure a request's size before its first send.
    scratch: Vec<u8>,
    transmits: VecDeque<Outbound>,
    events: VecDeque<SipEvent>,
    resolves: VecDeque<(ClientTxId, ResolveRequest)>,
    keepalives: VecDeque<Keepalive>,
}

impl ReactorCore {
    pub fn new(cfg: CoreConfig) -> ReactorCore {
        let timers = cfg.layer.timers;
        ReactorCore {
            layer: TransactionLayer::new(cfg.layer),
            cfg,
            outgoing: HashMap::new(),
            next_ack_id: 1 << 63,
            dialog_targets: HashMap::new(),
            answering_invite: HashMap::new(),
            unacked_2xx: Unacked2xx::new(timers.t1, timers.t2),
            dropped: 0,
            scratch: Vec::with_capacity(4096),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            resolves: VecDeque::new(),
            keepalives: VecDeque::new(),
        }
    }

    /// A command of the calls thread (`Shutdown` is the event loop's to act on).
    pub fn handle_command(&mut self, now: Instant, cmd: SipCommand) {
        match cmd {
            SipCommand::SendRequest { tx, request } => self.route(tx, request, false),
            SipCommand::SendAck { request } => {
                let id = ClientTxId(self.next_ack_id);
                self.next_ack_id = self.next_ack_id.wrapping_add(1) | (1 << 63);
                self.route(id, request, true);
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
        self.settle(now);
    }

    /// What a transport delivered: a message, or a target that cannot be reached.
    pub fn handle_transport_event(&mut self, now: Instant, ev: TransportEvent) {
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
                    let origin = Origin {
                        source,
                        transport,
                        local,
                        conn,
                    };
                    self.layer.handle_message(now, msg, origin);
                }
                Err(e) => match bad_request::answer(&bytes, &e) {
                    Some(resp) => {
                        log::info!(target: LOG, "bad request from {transport} {source}: {e}");
                        self.transmits.push_back(Outbound {
                            target: Target::new(source, transport),
                            conn,
                            bytes: resp,
                            kind: OutboundKind::BadRequest,
                        });
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
        self.settle(now);
    }

    /// The resolver's answer for the next hop of `tx` (asked for by `poll_resolve`).
    pub fn handle_resolved(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        result: Result<Vec<dns::Target>, DnsError>,
    ) {
        match result {
            Ok(targets) if !targets.is_empty() => {
                if let Some(out) = self.outgoing.get_mut(&tx) {
                    out.set_targets(targets);
                    self.try_next(now, tx);
                }
            }
            Ok(_) => self.fail_outgoing(tx, TxFailure::Dns("no address for the next hop".into())),
            Err(e) => self.fail_outgoing(tx, TxFailure::Dns(e.to_string())),
        }
        self.settle(now);
    }

    /// Writing an [`OutboundKind::Transaction`] failed.
    pub fn handle_send_failed(&mut self, now: Instant, tx: TxRef) {
        self.layer.transport_error(now, tx);
        self.settle(now);
    }

    /// The deadline of `poll_timeout` (or any later time) has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        for (target, bytes) in self.unacked_2xx.due(now) {
            self.transmits.push_back(Outbound {
                target,
                conn: None,
                bytes,
                kind: OutboundKind::Resent2xx,
            });
        }
        self.settle(now);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.layer.poll_timeout(), self.unacked_2xx.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn poll_transmit(&mut self) -> Option<Outbound> {
        self.transmits.pop_front()
    }

    /// A next hop to resolve; its answer goes to `handle_resolved` with the same id.
    pub fn poll_resolve(&mut self) -> Option<(ClientTxId, ResolveRequest)> {
        self.resolves.pop_front()
    }

    pub fn poll_keepalive(&mut self) -> Option<Keepalive> {
        self.keepalives.pop_front()
    }

    /// The next event for the calls thread.
    pub fn poll_event(&mut self) -> Option<SipEvent> {
        self.events.pop_front()
    }

    /// Work the transaction layer's queues until it has nothing more to say.
    fn settle(&mut self, now: Instant) {
        loop {
            let mut busy = false;
            while let Some(t) = self.layer.poll_transmit() {
                busy = true;
                self.on_layer_transmit(now, t);
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

    /// Start routing a request: find its next hop and have it resolved.
    fn route(&mut self, tx: ClientTxId, request: Message, is_ack: bool) {
        if request.method() == Some(&Method::Bye) {
            self.dialog_ended(&request);
        }
        let Some(lookup) = next_hop(&request).as_ref().and_then(resolve_request) else {
            self.fail(
                tx,
                is_ack,
                TxFailure::Dns("no SIP next hop in the request".into()),
            );
            return;
        };
        self.outgoing
            .insert(tx, Outgoing::new(request, &lookup, is_ack));
        self.resolves.push_back((tx, lookup));
    }

    /// Send the request to its next untried target, or report the failure.
    fn try_next(&mut self, now: Instant, tx: ClientTxId) {
        let Some(out) = self.outgoing.get_mut(&tx) else {
            return;
        };
        let target = match out.next_target(self.cfg.udp_bound, &mut self.scratch) {
            Ok(target) => target,
            Err(why) => {
                self.fail_outgoing(tx, why);
                return;
            }
        };
        let mut request = out.request.clone();
        let is_ack = out.is_ack;
        let sent_by = self.sent_by(target.transport, target.addr);
        push_via(&mut request, target.transport, sent_by, &new_branch());
        log::debug!(target: LOG, "{} {} to {target}",
            request.method().map(|m| m.as_str().to_string()).unwrap_or_default(),
            request.request_uri().map(|u| u.to_string()).unwrap_or_default());
        if is_ack {
            // RFC 3261 §13.2.2.4: the ACK for a 2xx goes straight to the transport.
            self.transmits.push_back(Outbound {
                target: target.clone(),
                conn: None,
                bytes: request.to_bytes(),
                kind: OutboundKind::Ack,
            });
            self.outgoing.remove(&tx);
            self.dialog_started(&request, target);
            return;
        }
        if let Err(e) = self.layer.send_request(now, tx, request, target) {
            log::warn!(target: LOG, "client tx {} not started: {e}", tx.0);
            self.fail_outgoing(tx, TxFailure::Transport(e.to_string()));
        }
    }

    /// Our Via's sent-by: the configured address (or the one the kernel would use towards
    /// `dest`) and the port of our listener for that transport.
    fn sent_by(&self, transport: Transport, dest: SocketAddr) -> SocketAddr {
        let ip = self
            .cfg
            .advertised_ip
            .or_else(|| (self.cfg.source_ip)(dest))
            .unwrap_or(if dest.is_ipv4() {
                IpAddr::from([127, 0, 0, 1])
            } else {
                IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])
            });
        let local = &self.cfg.local_addrs;
        let port = local
            .iter()
            .find(|(t, a)| *t == transport && a.is_ipv4() == ip.is_ipv4())
            .or_else(|| local.iter().find(|(t, _)| *t == transport))
            .or_else(|| local.iter().find(|(t, _)| *t == Transport::Udp))
            .map_or(transport.default_port(), |(_, a)| a.port());
        SocketAddr::new(ip, port)
    }

    /// The ACK of a 2xx confirmed a dialog with `target`: keep it alive (KeepAlives).
    fn dialog_started(&mut self, ack: &Message, target: Target) {
        let Ok(call_id) = ack.call_id() else {
            return;
        };
        if !self.dialog_targets.contains_key(call_id) {
            self.dialog_targets
                .insert(call_id.to_string(), target.clone());
            self.keepalives.push_back(Keepalive::Add(target));
        }
    }

    /// A BYE (ours or the peer's) ends the dialog: its target needs no more keepalives.
    fn dialog_ended(&mut self, bye: &Message) {
        if let Some(target) = bye
            .call_id()
            .ok()
            .and_then(|id| self.dialog_targets.remove(id))
        {
            self.keepalives.push_back(Keepalive::Remove(target));
        }
    }

    fn fail(&mut self, tx: ClientTxId, is_ack: bool, why: TxFailure) {
        if is_ack {
            log::info!(target: LOG, "ACK not sent: {why}");
        } else {
            log::info!(target: LOG, "client tx {} failed: {why}", tx.0);
            self.events
                .push_back(SipEvent::TxFailed { tx, reason: why });
        }
    }

    fn fail_outgoing(&mut self, tx: ClientTxId, why: TxFailure) {
        let is_ack = self.outgoing.remove(&tx).is_some_and(|o| o.is_ack);
        self.fail(tx, is_ack, why);
    }

    /// The current target failed: try the next one if there is one (RFC 3263 §4.3).
    fn failover(&mut self, now: Instant, tx: ClientTxId, why: TxFailure) {
        let Some(out) = self.outgoing.get_mut(&tx) else {
            self.fail(tx, false, why);
            return;
        };
        let shown = why.to_string();
        if out.failed(why) {
            log::info!(target: LOG, "client tx {}: TCP for a large request failed ({shown}); retrying over UDP", tx.0);
        } else {
            log::info!(target: LOG, "client tx {}: {shown}; trying the next target", tx.0);
        }
        self.try_next(now, tx);
    }

    fn on_layer_transmit(&mut self, now: Instant, t: Transmit) {
        if let TxRef::Server(id) = t.tx
            && let Some(key) = self.answering_invite.remove(&id)
            && t.target.transport == Transport::Udp
        {
            self.unacked_2xx
                .sent(now, key, t.target.clone(), t.bytes.clone());
        }
        self.transmits.push_back(Outbound {
            target: t.target,
            conn: t.conn,
            bytes: t.bytes,
            kind: OutboundKind::Transaction(t.tx),
        });
    }

    fn on_layer_event(&mut self, now: Instant, ev: TxEvent) {
        match ev {
            TxEvent::Request { tx, msg, origin } => {
                if msg.method() == Some(&Method::Ack)
                    && let (Ok(call_id), Ok((cseq, _))) = (msg.call_id(), msg.cseq())
                {
                    self.unacked_2xx.acked(&(call_id.to_string(), cseq));
                }
                if msg.method() == Some(&Method::Bye) {
                    self.dialog_ended(&msg);
                }
                self.events.push_back(SipEvent::Request {
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
                    let more = self.outgoing.get(&tx).is_some_and(Outgoing::has_untried);
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
                self.events
                    .push_back(SipEvent::Response { tx, response: msg });
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
