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

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use super::bad_request;
use super::failover::{Flow, Outgoing};
use super::interface::{SipCommand, SipEvent};
use super::resend_2xx::{InviteKey, Unacked2xx};
use super::routing::{next_hop, push_via, resolve_request};
use super::stats::{Direction, SipStats, kind_of};
use crate::sip::Transport;
use crate::sip::dns::{self, DnsError, ResolveRequest};
use crate::sip::msg::{Message, Method, new_branch};
use crate::sip::transaction::LayerCounts;
use crate::sip::transaction::{
    ClientTxId, LayerConfig, Origin, ServerTxId, TimerKind, TransactionLayer, Transmit, TxEvent,
    TxFailure, TxRef,
};
use crate::sip::transport::{ConnId, Target, TransportEvent};

pub(super) const LOG: &str = "sip::reactor";

/// What the core knows of the sockets it does not own.
#[derive(Debug, Clone)]
pub(crate) struct CoreConfig {
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
pub(crate) struct Outbound {
    pub target: Target,
    /// The connection to write on: a response goes back on its request's connection
    /// while it is open, else to `target` (RFC 3261 §18.2.2); a 400 only there.
    pub conn: Option<ConnId>,
    pub bytes: Vec<u8>,
    pub kind: OutboundKind,
}

/// Whose bytes an [`Outbound`] carries: says what a failed write means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutboundKind {
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
pub(crate) enum Keepalive {
    Add(Target),
    Remove(Target),
}

/// A dialog as both of its requests name it: Call-ID and the two tags, in a fixed order,
/// so our ACK or BYE (our tag in From) and the peer's BYE (ours in To) find the same entry
/// and a BYE of another fork (RFC 3261 §12: another To tag) does not.
type DialogKey = (String, String, String);

fn dialog_key(msg: &Message) -> Option<DialogKey> {
    let call_id = msg.call_id().ok()?;
    let from = msg.from_tag().unwrap_or_default();
    let to = msg.to_tag().unwrap_or_default();
    let (a, b) = if from <= to { (from, to) } else { (to, from) };
    Some((call_id.to_string(), a.to_string(), b.to_string()))
}

#[cfg(test)]
/// How much live state the core holds: every figure returns to zero once the calls are
/// over and every timer has run (issue 17: bounded state, proven).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CoreCounts {
    /// Requests (and ACKs) being resolved or tried.
    pub outgoing: usize,
    /// Next hops asked of the resolver and not answered yet.
    pub resolving: usize,
    pub layer: LayerCounts,
    /// Our 2xx to INVITEs resent until their ACK (RFC 3261 §13.3.1.4).
    pub unacked_2xx: usize,
    /// 2xx responses handed to the layer and not yet written.
    pub answering_invite: usize,
    /// Dialogs whose far end gets keepalives, or whose ACK is being resolved.
    pub dialog_targets: usize,
    /// Dialogs with a connection to reuse.
    pub flows: usize,
}

#[cfg(test)]
impl CoreCounts {
    pub(crate) fn is_zero(&self) -> bool {
        *self == CoreCounts::default()
    }
}

/// The reactor's protocol state. See the module documentation.
pub(crate) struct ReactorCore {
    cfg: CoreConfig,
    layer: TransactionLayer,
    /// Client transactions (and ACKs) being routed; ACKs have ids of their own from a
    /// separate counter (high bit set) so they never collide with the calls thread's.
    outgoing: HashMap<ClientTxId, Outgoing>,
    next_ack_id: u64,
    /// The requests whose next hop the resolver has not answered yet.
    resolving: HashSet<ClientTxId>,
    /// Where each dialog's ACK went (`None` while the ACK is being resolved): keepalives
    /// run to it while the dialog lives.
    dialog_targets: HashMap<DialogKey, Option<Target>>,
    /// The TCP/TLS connection each dialog's far end last spoke on (RFC 5923-style reuse):
    /// filed by a 2xx to our INVITE that came on one, moved by the far end's in-dialog
    /// requests, ended with the dialog's BYE like `dialog_targets`.
    flows: HashMap<DialogKey, Flow>,
    /// Server INVITE transactions whose 2xx we are sending.
    answering_invite: HashMap<ServerTxId, InviteKey>,
    unacked_2xx: Unacked2xx,
    /// Requests dropped because they could not be parsed or answered.
    dropped: u64,
    /// Reused to measure a request's size before its first send.
    scratch: Vec<u8>,
    /// The counters of `/metrics`, shared with the event loop (messages out) and the
    /// calls thread (which reads them).
    stats: Arc<SipStats>,
    transmits: VecDeque<Outbound>,
    events: VecDeque<SipEvent>,
    resolves: VecDeque<(ClientTxId, ResolveRequest)>,
    keepalives: VecDeque<Keepalive>,
}

impl ReactorCore {
    pub(crate) fn new(cfg: CoreConfig) -> ReactorCore {
        let timers = cfg.layer.timers;
        ReactorCore {
            layer: TransactionLayer::new(cfg.layer),
            cfg,
            outgoing: HashMap::new(),
            next_ack_id: 1 << 63,
            resolving: HashSet::new(),
            dialog_targets: HashMap::new(),
            flows: HashMap::new(),
            answering_invite: HashMap::new(),
            unacked_2xx: Unacked2xx::new(timers.t1, timers.t2),
            dropped: 0,
            scratch: Vec::with_capacity(4096),
            stats: Arc::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            resolves: VecDeque::new(),
            keepalives: VecDeque::new(),
        }
    }

    /// A command of the calls thread (`Shutdown` is the event loop's to act on).
    pub(crate) fn handle_command(&mut self, now: Instant, cmd: SipCommand) {
        match cmd {
            SipCommand::SendRequest { tx, request } => self.route(tx, request, false),
            SipCommand::SendAck { request } => {
                let id = ClientTxId(self.next_ack_id);
                self.next_ack_id = self.next_ack_id.wrapping_add(1) | (1 << 63);
                self.route(id, request, true);
            }
            SipCommand::Cancel { tx } => self.cancel(now, tx),
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
                    // Nothing goes out, so nothing will take the entry.
                    self.answering_invite.remove(&tx);
                    log::debug!(target: LOG, "response for server tx {} dropped: {e}", tx.0);
                }
            }
            SipCommand::Ping { reply } => {
                // The asker may have given up waiting.
                let _ = reply.send(());
            }
            SipCommand::Shutdown => {}
        }
        self.settle(now);
    }

    /// What a transport delivered: a message, or a target that cannot be reached.
    pub(crate) fn handle_transport_event(&mut self, now: Instant, ev: TransportEvent) {
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
                    self.stats.message(Direction::In, transport, kind_of(&msg));
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
    pub(crate) fn handle_resolved(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        result: Result<Vec<dns::Target>, DnsError>,
    ) {
        self.resolving.remove(&tx);
        let Some(out) = self.outgoing.get(&tx) else {
            // Cancelled while being resolved: already reported.
            log::debug!(target: LOG, "resolution for client tx {} no longer needed", tx.0);
            return;
        };
        if out.by_name() && !result.as_ref().is_ok_and(|t| !t.is_empty()) {
            self.stats.dns_failure();
        }
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
    pub(crate) fn handle_send_failed(&mut self, now: Instant, tx: TxRef) {
        self.layer.transport_error(now, tx);
        self.settle(now);
    }

    /// The deadline of `poll_timeout` (or any later time) has come.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        crate::heap::shrink_map(&mut self.outgoing);
        crate::heap::shrink_map(&mut self.dialog_targets);
        crate::heap::shrink_map(&mut self.flows);
        crate::heap::shrink_map(&mut self.answering_invite);
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

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        [self.layer.poll_timeout(), self.unacked_2xx.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Outbound> {
        self.transmits.pop_front()
    }

    /// A next hop to resolve; its answer goes to `handle_resolved` with the same id.
    pub(crate) fn poll_resolve(&mut self) -> Option<(ClientTxId, ResolveRequest)> {
        self.resolves.pop_front()
    }

    pub(crate) fn poll_keepalive(&mut self) -> Option<Keepalive> {
        self.keepalives.pop_front()
    }

    /// The next event for the calls thread.
    pub(crate) fn poll_event(&mut self) -> Option<SipEvent> {
        self.events.pop_front()
    }

    /// The counters of `/metrics`.
    pub(crate) fn stats(&self) -> &Arc<SipStats> {
        &self.stats
    }

    /// The transactions held now, for `/metrics`.
    pub(crate) fn transactions(&self) -> LayerCounts {
        self.layer.counts()
    }

    #[cfg(test)]
    /// The state held now (see [`CoreCounts`]).
    pub(crate) fn counts(&self) -> CoreCounts {
        CoreCounts {
            outgoing: self.outgoing.len(),
            resolving: self.resolving.len(),
            layer: self.layer.counts(),
            unacked_2xx: self.unacked_2xx.len(),
            answering_invite: self.answering_invite.len(),
            dialog_targets: self.dialog_targets.len(),
            flows: self.flows.len(),
        }
    }

    /// The calls thread CANCELs the INVITE `tx` (RFC 3261 §9.1). The mark stays on the
    /// request so that no further target is tried for it.
    fn cancel(&mut self, now: Instant, tx: ClientTxId) {
        let Some(out) = self.outgoing.get_mut(&tx) else {
            log::debug!(target: LOG, "no CANCEL for client tx {}: it has its final response", tx.0);
            return;
        };
        out.cancel_requested = true;
        if self.layer.client_state(TxRef::Client(tx)).is_none() {
            // Still being resolved: nothing went out, so nothing is sent now either, and
            // the request ends as the 487 a CANCEL brings (§9.1).
            self.fail_outgoing(tx, TxFailure::Cancelled);
        } else if let Err(e) = self.layer.cancel(now, tx) {
            log::debug!(target: LOG, "no CANCEL for client tx {}: {e}", tx.0);
        }
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
        // Looked up before a BYE ends the dialog: the BYE itself still takes the flow.
        // A request with a route set follows it (RFC 3261 §12.2.1.1): the flow is for a
        // phone reached directly, whose Contact may be unreachable. (No key is built
        // while no dialog has a flow: most run over UDP.)
        let flow = if self.flows.is_empty() || request.header("Route").is_some() {
            None
        } else {
            dialog_key(&request).and_then(|k| self.flows.get(&k).cloned())
        };
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
        if is_ack && let Some(key) = dialog_key(&request) {
            // Filed before the resolution, so a BYE routed meanwhile finds and ends it.
            self.dialog_targets.entry(key).or_insert(None);
        }
        let mut out = Outgoing::new(request, &lookup, is_ack);
        out.flow = flow;
        if out.by_name() {
            self.stats.dns_lookup();
        }
        self.outgoing.insert(tx, out);
        self.resolving.insert(tx);
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
        let flow = out.take_flow(&target);
        let sent_by = self.sent_by(target.transport, target.addr);
        push_via(&mut request, target.transport, sent_by, &new_branch());
        log::debug!(target: LOG, "{} {} to {target}",
            request.method().map(|m| m.as_str().to_string()).unwrap_or_default(),
            request.request_uri().map(|u| u.to_string()).unwrap_or_default());
        if is_ack {
            // RFC 3261 §13.2.2.4: the ACK for a 2xx goes straight to the transport.
            self.transmits.push_back(Outbound {
                target: target.clone(),
                conn: flow.as_ref().map(|f| f.conn),
                bytes: request.to_bytes(),
                kind: OutboundKind::Ack,
            });
            self.outgoing.remove(&tx);
            // Keepalives (and the transport's exemption from its idle time-out) go to the
            // connection the dialog uses.
            self.dialog_started(&request, flow.map_or(target, |f| f.peer));
            return;
        }
        let conn = flow.map(|f| f.conn);
        if let Err(e) = self.layer.send_request_on(now, tx, request, target, conn) {
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

    /// The ACK of a 2xx confirmed a dialog with `target`: keep it alive (KeepAlives),
    /// unless a BYE ended the dialog while the ACK was being resolved.
    fn dialog_started(&mut self, ack: &Message, target: Target) {
        if let Some(slot @ None) = dialog_key(ack).and_then(|k| self.dialog_targets.get_mut(&k)) {
            *slot = Some(target.clone());
            self.keepalives.push_back(Keepalive::Add(target));
        }
    }

    /// A BYE (ours or the peer's) ends the dialog: its target needs no more keepalives,
    /// its connection is no longer its own.
    fn dialog_ended(&mut self, bye: &Message) {
        let Some(key) = dialog_key(bye) else { return };
        self.flows.remove(&key);
        if let Some(Some(target)) = self.dialog_targets.remove(&key) {
            self.keepalives.push_back(Keepalive::Remove(target));
        }
    }

    /// A message of a dialog's far end came in on `origin`: a 2xx to our INVITE over a
    /// connection starts the dialog's flow, a later request of the far end on one moves
    /// it (RFC 5923-style reuse, see [`Flow`]). Only a 2xx files a dialog: the far end's
    /// requests cannot add entries.
    fn learn_flow(&mut self, msg: &Message, origin: &Origin) {
        let Some(conn) = origin.conn else { return };
        let Some(key) = dialog_key(msg) else { return };
        let peer = Target::new(origin.source, origin.transport);
        let invite_2xx = msg.status().is_some_and(|c| (200..300).contains(&c))
            && matches!(msg.cseq(), Ok((_, Method::Invite)));
        if invite_2xx {
            self.flows.insert(key, Flow { conn, peer });
        } else if msg.is_request()
            && let Some(flow) = self.flows.get_mut(&key)
        {
            *flow = Flow { conn, peer };
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

    /// End the request `tx` with `why`; a request already ended is not reported again.
    fn fail_outgoing(&mut self, tx: ClientTxId, why: TxFailure) {
        let Some(out) = self.outgoing.remove(&tx) else {
            log::debug!(target: LOG, "client tx {} already over: {why}", tx.0);
            return;
        };
        if out.is_ack {
            // Its dialog never reached the far end: no keepalives for it.
            if let Some(key) = dialog_key(&out.request)
                && self.dialog_targets.get(&key) == Some(&None)
            {
                self.dialog_targets.remove(&key);
            }
        }
        self.fail(tx, out.is_ack, why);
    }

    /// The current target failed: try the next one if there is one (RFC 3263 §4.3),
    /// unless the request was CANCELled: then its failure is the outcome (§9.1).
    fn failover(&mut self, now: Instant, tx: ClientTxId, why: TxFailure) {
        let Some(out) = self.outgoing.get_mut(&tx) else {
            log::debug!(target: LOG, "client tx {} already over: {why}", tx.0);
            return;
        };
        if out.cancel_requested {
            self.fail_outgoing(tx, why);
            return;
        }
        let shown = why.to_string();
        if out.failed(why) {
            log::info!(target: LOG, "client tx {}: TCP for a large request failed ({shown}); retrying over UDP", tx.0);
        } else {
            log::info!(target: LOG, "client tx {}: {shown}; trying the next target", tx.0);
        }
        self.try_next(now, tx);
    }

    /// A phone CANCELled its INVITE `tx` (in practice a re-INVITE we relay to the other
    /// phone; a new INVITE is refused at once). The layer has answered the CANCEL 200;
    /// RFC 3261 §9.2: the INVITE gets 487, and the calls thread is told so it cancels its
    /// copy of the request on the other leg.
    fn cancelled(&mut self, now: Instant, tx: ServerTxId) {
        match self.layer.terminate_cancelled(now, tx) {
            Ok(()) => self.events.push_back(SipEvent::Cancelled { tx }),
            Err(e) => {
                log::debug!(target: LOG, "CANCEL for server tx {} after its answer: {e}", tx.0)
            }
        }
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
                } else {
                    self.learn_flow(&msg, &origin);
                }
                self.events.push_back(SipEvent::Request {
                    tx,
                    request: msg,
                    source: origin.source,
                    transport: origin.transport,
                });
            }
            TxEvent::Cancelled { tx } => self.cancelled(now, tx),
            TxEvent::Response { tx, msg, origin } => {
                let code = msg.status().unwrap_or(0);
                self.learn_flow(&msg, &origin);
                if code >= 200 {
                    // RFC 3263 §4.3: a 503 means "try the next server" while one is left.
                    // Not after a CANCEL (§9.1): the 503 is then the outcome.
                    let more = self
                        .outgoing
                        .get(&tx)
                        .is_some_and(|o| o.has_untried() && !o.cancel_requested);
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
                self.events.push_back(SipEvent::Response {
                    tx,
                    response: msg,
                    source: origin.source,
                });
            }
            TxEvent::Timeout { tx, timer } => {
                if timer == TimerKind::C {
                    // No final answer in time from a target that did answer (Timer C, or
                    // 64*T1 after our CANCEL, §9.1): not a reason to call somebody else.
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
            TxEvent::StrayInvite2xx { msg } => self
                .events
                .push_back(SipEvent::StrayInvite2xx { response: msg }),
        }
    }
}
