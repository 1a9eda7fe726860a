//! The transaction layer: owns every client and server transaction of the reactor, keyed
//! per RFC 3261 §17.1.3 and §17.2.3, and turns their machines' actions into messages to
//! write and events for the transaction user. Sans-IO like the machines: the reactor feeds
//! it received messages, commands and the time, and drains `poll_transmit`, `poll_event`
//! and `poll_timeout`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

use log::{debug, info, warn};

use crate::sip::msg::{Message, Method, new_tag};
use crate::sip::transport::{ConnId, Target};

use super::ack_cancel::{build_ack, build_cancel};
use super::finished::{Answer, FinishedStore, Side};
use super::ids::{ClientTxId, ServerTxId};
use super::key::{ClientKey, KeyError, ServerKey};
use super::layer_io::LayerCounts;
use super::layer_io::{LayerConfig, LayerError, LayerStats, Transmit, TxEvent, TxRef};
use super::machines::{ClientMachine, ServerMachine};
use super::reply::{Origin, ReplyRoute, reply_route, stamp_via};
use super::{TimerKind, TxAction, TxState};

const LOG: &str = "sip::transaction";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CancelState {
    None,
    /// Asked for while the INVITE was in Calling; sent at the first provisional (§9.1).
    Pending,
    Sent,
}

struct ClientTx {
    machine: ClientMachine,
    key: ClientKey,
    /// The request and its bytes, for retransmissions, the ACK of a non-2xx and the
    /// CANCEL; dropped in Accepted, where the transaction only passes 2xx up (RFC 6026
    /// §7.2) and an answered INVITE would otherwise keep kilobytes for Timer M.
    request: Option<Message>,
    bytes: Vec<u8>,
    target: Target,
    /// The connection of the dialog's flow to write on while it is open (RFC 5923-style
    /// reuse, chosen by the reactor's core); `None`: the transport's choice for `target`.
    conn: Option<ConnId>,
    /// The ACK for the non-2xx final, kept to answer its retransmissions.
    ack: Option<Vec<u8>>,
    cancel: CancelState,
    scheduled: Option<Instant>,
}

struct LastResponse {
    bytes: Vec<u8>,
    to_tag: Option<String>,
}

struct ServerTx {
    machine: ServerMachine,
    key: ServerKey,
    /// INVITE only: the request its automatic 100 Trying is built from.
    invite: Option<Message>,
    route: ReplyRoute,
    last: Option<LastResponse>,
    scheduled: Option<Instant>,
}

/// Every transaction of the reactor. See the module documentation.
pub(crate) struct TransactionLayer {
    config: LayerConfig,
    clients: HashMap<TxRef, ClientTx>,
    client_index: HashMap<ClientKey, TxRef>,
    servers: HashMap<ServerTxId, ServerTx>,
    server_index: HashMap<ServerKey, ServerTxId>,
    next_server_id: u64,
    /// Numbers the `TxRef::Finished` of detached client transactions.
    next_finished: u64,
    /// Client INVITEs in Accepted (Timer M): held for their 2xx retransmissions, small
    /// (the request is dropped), and as many as the calls answered in 64*T1, so not
    /// counted against `max_client_transactions`.
    accepted: usize,
    /// Deadlines, possibly stale (a transaction's current one is its `scheduled`).
    deadlines: BinaryHeap<Reverse<(Instant, TxRef)>>,
    /// Transactions past their final, kept compact for their retransmissions.
    finished: FinishedStore,
    events: VecDeque<TxEvent>,
    transmits: VecDeque<Transmit>,
    stats: LayerStats,
}

impl TransactionLayer {
    pub(crate) fn new(config: LayerConfig) -> TransactionLayer {
        TransactionLayer {
            config,
            clients: HashMap::new(),
            client_index: HashMap::new(),
            servers: HashMap::new(),
            server_index: HashMap::new(),
            next_server_id: 1,
            next_finished: 1,
            accepted: 0,
            deadlines: BinaryHeap::new(),
            finished: FinishedStore::new(config.finished_budget),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            stats: LayerStats::default(),
        }
    }

    // ----- client side -----

    /// Start a client transaction for `request` (which already carries its top Via with a
    /// fresh branch) towards `target`; the first transmission is queued at once.
    /// Retransmissions happen only when `target` is UDP (RFC 3261 §17.1.1.2, §17.1.2.2).
    #[cfg(test)]
    pub(crate) fn send_request(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        request: Message,
        target: Target,
    ) -> Result<(), LayerError> {
        self.send_request_on(now, tx, request, target, None)
    }

    /// [`send_request`](Self::send_request) written on the connection `conn` (the dialog's
    /// flow, RFC 5923-style reuse): every transmission of the transaction, its CANCEL
    /// included, goes on it; a closed one fails the transaction with a transport error.
    pub(crate) fn send_request_on(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        request: Message,
        target: Target,
        conn: Option<ConnId>,
    ) -> Result<(), LayerError> {
        let invite = match request.method() {
            None => return Err(LayerError::NotARequest),
            Some(Method::Ack) => return Err(LayerError::AckIsNotATransaction),
            Some(Method::Cancel) => return Err(LayerError::UseCancel),
            Some(m) => *m == Method::Invite,
        };
        let r = TxRef::Client(tx);
        if self.clients.contains_key(&r) {
            return Err(LayerError::DuplicateId(tx));
        }
        let key = ClientKey::of_request(&request).map_err(LayerError::Key)?;
        self.start_client(now, r, key, request, (target, conn), invite)
    }

    fn start_client(
        &mut self,
        now: Instant,
        r: TxRef,
        key: ClientKey,
        request: Message,
        (target, conn): (Target, Option<ConnId>),
        invite: bool,
    ) -> Result<(), LayerError> {
        if let (true, TxRef::Client(id) | TxRef::Cancel(id)) = (self.clients.contains_key(&r), r) {
            return Err(LayerError::DuplicateId(id));
        }
        if self.client_index.contains_key(&key) {
            return Err(LayerError::DuplicateBranch);
        }
        if self.clients.len() - self.accepted >= self.config.max_client_transactions {
            return Err(LayerError::Overloaded);
        }
        let reliable = target.transport.is_reliable();
        let machine = ClientMachine::new(now, self.config.timers, reliable, invite);
        let bytes = request.to_bytes();
        debug!(target: LOG, "{r}: {} {} to {target}", key.method, key.branch);
        self.transmits.push_back(Transmit {
            tx: r,
            target: target.clone(),
            conn,
            bytes: bytes.clone(),
        });
        self.client_index.insert(key.clone(), r);
        self.clients.insert(
            r,
            ClientTx {
                machine,
                key,
                request: Some(request),
                bytes,
                target,
                conn,
                ack: None,
                cancel: CancelState::None,
                scheduled: None,
            },
        );
        self.reschedule(r);
        Ok(())
    }

    /// CANCEL the INVITE client transaction `tx` (RFC 3261 §9.1). The CANCEL is built from
    /// the INVITE and sent to the same target once a provisional response has arrived
    /// (at once if one has). Once a final response has arrived it has nothing to cancel:
    /// this does nothing after a 2xx, and after a non-2xx the transaction is no longer the
    /// user's (`UnknownTransaction`). Its responses are not reported.
    pub(crate) fn cancel(&mut self, now: Instant, tx: ClientTxId) -> Result<(), LayerError> {
        let client = self
            .clients
            .get_mut(&TxRef::Client(tx))
            .ok_or(LayerError::UnknownTransaction)?;
        if !client.machine.is_invite() {
            return Err(LayerError::NotInvite);
        }
        match (client.machine.state(), client.cancel) {
            (_, CancelState::Pending | CancelState::Sent) => {}
            (TxState::Calling, CancelState::None) => {
                debug!(target: LOG, "client tx {}: CANCEL waits for a provisional", tx.0);
                client.cancel = CancelState::Pending;
            }
            (TxState::Proceeding, CancelState::None) => self.send_cancel(now, tx),
            (state, CancelState::None) => {
                debug!(target: LOG, "client tx {}: nothing to CANCEL in {state}", tx.0);
            }
        }
        Ok(())
    }

    fn send_cancel(&mut self, now: Instant, tx: ClientTxId) {
        let Some(client) = self.clients.get_mut(&TxRef::Client(tx)) else {
            return;
        };
        client.cancel = CancelState::Sent;
        // §9.1: from now on the INVITE waits 64*T1 at most for its final response.
        client.machine.cancel_sent(now);
        self.reschedule(TxRef::Client(tx));
        let Some(client) = self.clients.get(&TxRef::Client(tx)) else {
            return;
        };
        let target = (client.target.clone(), client.conn);
        let old = TxRef::Cancel(tx);
        let Some(request) = &client.request else {
            return; // Accepted: a 2xx came, nothing to cancel (§9.1)
        };
        let built = build_cancel(request);
        let key = ClientKey {
            branch: client.key.branch.clone(),
            method: Method::Cancel,
        };
        // A CANCEL still running for an earlier INVITE under the same id (the reactor
        // reuses an id when it fails over to the next target) is of no more use.
        if let Some(stale) = self.clients.remove(&old) {
            self.client_index.remove(&stale.key);
        }
        let started = built.map_err(LayerError::from).and_then(|cancel| {
            self.start_client(now, TxRef::Cancel(tx), key, cancel, target, false)
        });
        if let Err(e) = started {
            info!(target: LOG, "client tx {}: CANCEL not sent: {e}", tx.0);
        }
    }

    // ----- server side -----

    /// Send `response` on the server transaction `tx`.
    pub(crate) fn respond(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        response: Message,
    ) -> Result<(), LayerError> {
        let status = response.status().ok_or(LayerError::NotAResponse)?;
        let server = self
            .servers
            .get_mut(&tx)
            .ok_or(LayerError::UnknownTransaction)?;
        server
            .machine
            .send_response(now, status)
            .map_err(LayerError::Tx)?;
        server.last = Some(LastResponse {
            bytes: response.to_bytes(),
            to_tag: response.to_tag().map(str::to_string),
        });
        self.drive_server(now, tx, None);
        Ok(())
    }

    /// Answer the INVITE server transaction `tx`, which a CANCEL matched (`TxEvent::
    /// Cancelled`), with 487 built from the INVITE itself (RFC 3261 §9.2), with the To tag
    /// its earlier responses and the CANCEL's 200 carried.
    pub(crate) fn terminate_cancelled(
        &mut self,
        now: Instant,
        tx: ServerTxId,
    ) -> Result<(), LayerError> {
        let server = self
            .servers
            .get(&tx)
            .ok_or(LayerError::UnknownTransaction)?;
        let invite = server.invite.as_ref().ok_or(LayerError::NotInvite)?;
        // A re-INVITE's To has its tag already; `response_to` adds ours only when not.
        let tag = server.last.as_ref().and_then(|l| l.to_tag.clone());
        let tag = tag.unwrap_or_else(new_tag);
        let response = Message::response_to(invite, 487, "Request Terminated", Some(&tag));
        self.respond(now, tx, response)
    }

    // ----- input from the network -----

    /// A message the transport layer received and the message layer parsed.
    pub(crate) fn handle_message(&mut self, now: Instant, msg: Message, origin: Origin) {
        if msg.is_response() {
            self.handle_response(now, msg, origin);
        } else {
            self.handle_request(now, msg, origin);
        }
    }

    fn handle_response(&mut self, now: Instant, msg: Message, origin: Origin) {
        let status = msg.status().unwrap_or(0);
        let key = match ClientKey::of_response(&msg) {
            Ok(key) => key,
            Err(e) => {
                self.stats.unmatchable += 1;
                debug!(target: LOG, "response {status} dropped: {e}");
                return;
            }
        };
        let Some(&r) = self.client_index.get(&key) else {
            if self.answer_finished_client(&key, status) {
                return;
            }
            // §17.1.3: no transaction; a 2xx retransmission after Timer M ends here too.
            self.stats.stray_responses += 1;
            if key.method == Method::Invite && (200..300).contains(&status) {
                debug!(target: LOG, "stray 2xx to INVITE ({}) passed up", key.branch);
                self.events.push_back(TxEvent::StrayInvite2xx { msg });
            } else {
                debug!(target: LOG, "stray response {status} ({} {}) dropped", key.method, key.branch);
            }
            return;
        };
        if let Some(client) = self.clients.get_mut(&r) {
            client.machine.handle_response(now, status);
        }
        self.drive_client(now, r, Some((msg, origin)));
    }

    fn handle_request(&mut self, now: Instant, mut msg: Message, origin: Origin) {
        let keyed = stamp_via(&mut msg, origin.source)
            .map_err(KeyError::from)
            .and_then(|via| Ok((ServerKey::of_request_via(&msg, &via)?, via)));
        let (key, via) = match keyed {
            Ok(k) => k,
            Err(e) => {
                self.stats.unmatchable += 1;
                debug!(target: LOG, "request from {} dropped: {e}", origin.source);
                return;
            }
        };
        let found = self.server_index.get(&key).copied();
        let is_ack = msg.method() == Some(&Method::Ack);
        if found.is_none() && self.answer_finished_server(&key, is_ack) {
            return;
        }
        match found {
            Some(id) if is_ack => {
                if let Some(server) = self.servers.get_mut(&id) {
                    server.machine.handle_ack(now);
                }
                self.drive_server(now, id, Some((msg, origin)));
            }
            None if is_ack => {
                // Not ours: an ACK for a 2xx (new branch, §13.2.2.4) or a stray one; the
                // dialog layer decides.
                debug!(target: LOG, "ACK from {} matches no transaction: passed up", origin.source);
                let tx = self.new_server_id();
                self.events.push_back(TxEvent::Request { tx, msg, origin });
            }
            Some(id) => {
                self.stats.absorbed_retransmissions += 1;
                if let Some(server) = self.servers.get_mut(&id) {
                    server.machine.handle_request_retransmission(now);
                }
                self.drive_server(now, id, None);
            }
            None => self.new_server(now, msg, origin, &via, key),
        }
    }

    fn new_server(
        &mut self,
        now: Instant,
        msg: Message,
        origin: Origin,
        via: &crate::sip::msg::Via,
        key: ServerKey,
    ) {
        let cap = self.config.max_server_transactions;
        let in_dialog = msg.to_tag().is_some();
        let full = if in_dialog {
            self.servers.len() >= cap.saturating_mul(2)
        } else {
            self.servers.len() >= cap
        };
        if full {
            self.stats.overload_drops += 1;
            let drops = self.stats.overload_drops;
            // Rate-limited: the 1st, 2nd, 4th, 8th… refusal is logged.
            if drops.is_power_of_two() {
                warn!(target: LOG, "too many transactions: refusing requests ({drops} so far)");
            }
            // A request of a dialog is dropped unanswered: a 503 would end the dialog
            // (RFC 5057 §5.1), a retransmission (Timer E) may find room.
            if *key.method() != Method::Ack && !in_dialog {
                // RFC 3261 §21.5.4: 503 with Retry-After tells the client to come back
                // later instead of retransmitting into a full table. Stateless: no
                // transaction is created for it.
                let mut resp =
                    Message::response_to(&msg, 503, "Service Unavailable", Some(&new_tag()));
                resp.push_header("Retry-After", "5");
                let route = reply_route(via, &origin);
                let tx = TxRef::Server(self.new_server_id());
                self.transmits.push_back(Transmit {
                    tx,
                    target: route.target,
                    conn: route.conn,
                    bytes: resp.to_bytes(),
                });
            }
            return;
        }
        let id = self.new_server_id();
        let invite = *key.method() == Method::Invite;
        let reliable = origin.transport.is_reliable();
        let machine = ServerMachine::new(now, self.config.timers, reliable, invite);
        let route = reply_route(via, &origin);
        debug!(target: LOG, "server tx {}: {} from {}", id.0, key.method(), origin.source);
        self.server_index.insert(key.clone(), id);
        let cancel_of = (*key.method() == Method::Cancel).then(|| key.with_method(Method::Invite));
        self.servers.insert(
            id,
            ServerTx {
                machine,
                key,
                invite: invite.then(|| msg.clone()),
                route,
                last: None,
                scheduled: None,
            },
        );
        match cancel_of {
            Some(invite_key) => self.answer_cancel(now, id, &invite_key, msg),
            None => self.events.push_back(TxEvent::Request {
                tx: id,
                msg,
                origin,
            }),
        }
        self.reschedule(TxRef::Server(id));
    }

    /// RFC 3261 §9.2: a CANCEL that matches an INVITE transaction is answered 200 by the
    /// layer — with the To tag the INVITE's responses carry, so both agree — and the TU is
    /// told if the INVITE still awaits its final response; otherwise 481.
    fn answer_cancel(
        &mut self,
        now: Instant,
        cancel_id: ServerTxId,
        invite_key: &ServerKey,
        cancel: Message,
    ) {
        let invite = self
            .server_index
            .get(invite_key)
            .and_then(|id| self.servers.get(id).map(|s| (*id, s)));
        let (code, reason, tag, pending) = match invite {
            Some((invite_id, server)) => {
                let tag = server.last.as_ref().and_then(|l| l.to_tag.clone());
                let pending = server.machine.state() == TxState::Proceeding;
                (
                    200,
                    "OK",
                    tag.unwrap_or_else(new_tag),
                    pending.then_some(invite_id),
                )
            }
            // §9.2: a CANCEL of an INVITE whose transaction is finished (Confirmed) still
            // matches it: 200, nothing to cancel. Its To tag is not kept, so a fresh one.
            None if self
                .finished
                .get(self.finished.hash(Side::Server, invite_key))
                .is_some() =>
            {
                (200, "OK", new_tag(), None)
            }
            None => (481, "Call/Transaction Does Not Exist", new_tag(), None),
        };
        let response = Message::response_to(&cancel, code, reason, Some(&tag));
        if let Err(e) = self.respond(now, cancel_id, response) {
            debug!(target: LOG, "server tx {}: CANCEL answer not sent: {e}", cancel_id.0);
        }
        match pending {
            Some(tx) => self.events.push_back(TxEvent::Cancelled { tx }),
            None => debug!(target: LOG, "CANCEL answered {code}: nothing to cancel"),
        }
    }

    fn new_server_id(&mut self) -> ServerTxId {
        let id = ServerTxId(self.next_server_id);
        self.next_server_id = self.next_server_id.wrapping_add(1);
        id
    }

    // ----- transport failures and time -----

    /// The transport could not send for `tx` (connection refused, TLS failure, ...).
    pub(crate) fn transport_error(&mut self, now: Instant, tx: TxRef) {
        match tx {
            TxRef::Client(_) | TxRef::Cancel(_) | TxRef::Finished(_) => {
                if let Some(client) = self.clients.get_mut(&tx) {
                    client.machine.transport_error();
                    self.drive_client(now, tx, None);
                }
            }
            TxRef::Server(id) => {
                if let Some(server) = self.servers.get_mut(&id) {
                    server.machine.transport_error();
                    self.drive_server(now, id, None);
                }
            }
        }
    }

    /// Messages to `target` cannot be delivered (e.g. ICMP unreachable on UDP): every
    /// transaction sending there fails, so the reactor can fail over (RFC 3263 §4.3).
    pub(crate) fn target_failed(&mut self, now: Instant, target: &Target) {
        let mut hit: Vec<TxRef> = self
            .clients
            .iter()
            .filter(|(_, c)| c.target == *target)
            .map(|(r, _)| *r)
            .collect();
        hit.extend(
            self.servers
                .iter()
                .filter(|(_, s)| s.route.conn.is_none() && s.route.target == *target)
                .map(|(id, _)| TxRef::Server(*id)),
        );
        hit.sort();
        for r in hit {
            self.transport_error(now, r);
        }
    }

    /// Fire every timer due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        // Take the due entries first so a deadline re-armed at `now` waits for the next
        // call instead of looping here.
        let mut due = Vec::new();
        while let Some(&Reverse((at, r))) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            due.push((at, r));
        }
        for (at, r) in due {
            match r {
                TxRef::Client(_) | TxRef::Cancel(_) | TxRef::Finished(_) => {
                    let Some(client) = self.clients.get_mut(&r) else {
                        continue;
                    };
                    if client.scheduled != Some(at) {
                        continue; // stale entry
                    }
                    client.scheduled = None;
                    client.machine.handle_timeout(now);
                    self.drive_client(now, r, None);
                }
                TxRef::Server(id) => {
                    let Some(server) = self.servers.get_mut(&id) else {
                        continue;
                    };
                    if server.scheduled != Some(at) {
                        continue;
                    }
                    server.scheduled = None;
                    server.machine.handle_timeout(now);
                    self.drive_server(now, id, None);
                }
            }
        }
        self.finished.expire(now);
        self.compact_deadlines();
        crate::heap::shrink_map(&mut self.clients);
        crate::heap::shrink_map(&mut self.client_index);
        crate::heap::shrink_map(&mut self.servers);
        crate::heap::shrink_map(&mut self.server_index);
    }

    // ----- output -----

    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub(crate) fn poll_event(&mut self) -> Option<TxEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` must next be called (possibly early: stale deadlines are
    /// skipped there).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let live = self.deadlines.peek().map(|Reverse((at, _))| *at);
        [live, self.finished.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    #[cfg(test)]
    pub(crate) fn stats(&self) -> LayerStats {
        LayerStats {
            finished_evicted: self.finished.evicted(),
            ..self.stats
        }
    }

    /// Bytes the finished transactions hold, as counted against `finished_budget`.
    #[cfg(test)]
    pub(crate) fn finished_bytes(&self) -> usize {
        self.finished.used()
    }

    pub(crate) fn client_state(&self, tx: TxRef) -> Option<TxState> {
        self.clients.get(&tx).map(|c| c.machine.state())
    }

    #[cfg(test)]
    pub(crate) fn server_state(&self, tx: ServerTxId) -> Option<TxState> {
        self.servers.get(&tx).map(|s| s.machine.state())
    }

    /// The transactions held now, live and finished.
    pub(crate) fn counts(&self) -> LayerCounts {
        let (clients_finished, servers_finished) = self.finished.len();
        LayerCounts {
            clients_live: self.clients.len(),
            clients_finished,
            servers: self.servers.len(),
            servers_finished,
        }
    }

    #[cfg(test)]
    /// Transactions held, live and finished: (client, server).
    pub(crate) fn len(&self) -> (usize, usize) {
        let (c, s) = self.finished.len();
        (self.clients.len() + c, self.servers.len() + s)
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }

    /// Entries in the deadline heap, stale ones included (tests check it stays bounded).
    #[cfg(test)]
    pub(super) fn deadline_entries(&self) -> usize {
        self.deadlines.len()
    }

    // ----- turning machine actions into output -----

    fn drive_client(&mut self, now: Instant, r: TxRef, mut incoming: Option<(Message, Origin)>) {
        let Some(client) = self.clients.get_mut(&r) else {
            return;
        };
        let actions: Vec<TxAction> = std::iter::from_fn(|| client.machine.poll_action()).collect();
        if actions.contains(&TxAction::SendAck) && client.ack.is_none() {
            // Built before PassUp hands the response over.
            match incoming
                .as_ref()
                .zip(client.request.as_ref())
                .map(|((resp, _), request)| build_ack(request, resp))
            {
                Some(Ok(ack)) => client.ack = Some(ack.to_bytes()),
                Some(Err(e)) => info!(target: LOG, "{r}: cannot build ACK: {e}"),
                None => {}
            }
        }
        let terminated = actions.contains(&TxAction::Terminated);
        for action in actions {
            match action {
                TxAction::Retransmit => self.client_send(r, false),
                TxAction::SendAck => self.client_send(r, true),
                TxAction::PassUp => match (r, incoming.take()) {
                    (TxRef::Client(tx), Some((msg, origin))) => {
                        self.events.push_back(TxEvent::Response { tx, msg, origin })
                    }
                    (_, msg) => debug!(
                        target: LOG,
                        "{r}: response {} absorbed",
                        msg.and_then(|(m, _)| m.status()).unwrap_or(0)
                    ),
                },
                TxAction::Timeout(TimerKind::C) if !terminated => {
                    // §16.8: the INVITE got a provisional but no final in time: CANCEL it;
                    // the 487 reaches the TU as its final response.
                    if let TxRef::Client(tx) = r {
                        info!(target: LOG, "{r}: Timer C fired, cancelling");
                        self.send_cancel(now, tx);
                    }
                }
                TxAction::Timeout(timer) => match r {
                    TxRef::Client(tx) => self.events.push_back(TxEvent::Timeout { tx, timer }),
                    _ => debug!(target: LOG, "{r}: {timer} fired"),
                },
                TxAction::TransportError => match r {
                    TxRef::Client(tx) => self.events.push_back(TxEvent::TransportError { tx }),
                    _ => debug!(target: LOG, "{r}: transport error"),
                },
                TxAction::Terminated => {
                    if let Some(client) = self.clients.remove(&r) {
                        if client.request.is_none() {
                            self.accepted -= 1;
                        }
                        self.client_index.remove(&client.key);
                        debug!(target: LOG, "{r}: terminated");
                    }
                }
                TxAction::SendResponse | TxAction::ResendResponse | TxAction::SendTrying => {}
            }
        }
        self.settle_cancel(now, r);
        if let Some(client) = self.clients.get_mut(&r)
            && client.machine.state() == TxState::Accepted
            && client.request.is_some()
        {
            client.request = None;
            client.bytes = Vec::new();
            self.accepted += 1;
        }
        self.detach_finished(now, r);
        self.reschedule(r);
    }

    /// A client transaction of the user's that reached Completed has given the user its
    /// final response; what is left (absorbing and ACKing retransmissions of it until Timer
    /// D or K, §17.1.1.2, §17.1.2.2) is the layer's alone and goes to the finished store,
    /// so the user's id is free for the next attempt at once (RFC 3263 §4.3). Only UDP
    /// transactions get here: on reliable transports D and K are zero.
    fn detach_finished(&mut self, now: Instant, r: TxRef) {
        let TxRef::Client(_) = r else { return };
        let Some(client) = self.clients.get(&r) else {
            return;
        };
        if client.machine.state() != TxState::Completed {
            return;
        }
        let until = client.machine.poll_timeout().unwrap_or(now);
        let Some(client) = self.clients.remove(&r) else {
            return;
        };
        self.client_index.remove(&client.key);
        debug!(target: LOG, "{r}: completed, kept as finished until its timer");
        let (answer, bytes) = match &client.ack {
            Some(ack) => (Answer::Resend, ack.as_slice()),
            None => (Answer::Absorb, &[][..]),
        };
        let hash = self.finished.hash(Side::Client, &client.key);
        let dropped = self.finished.insert(
            now,
            until,
            Side::Client,
            hash,
            client.target.addr,
            client.target.transport,
            answer,
            bytes,
        );
        self.log_evictions(dropped);
    }

    /// A server transaction that sent its final response and has only retransmissions to
    /// answer (non-INVITE Completed, §17.2.2; INVITE Confirmed, §17.2.1) goes to the
    /// finished store. A route over a connection stays live: those states last zero time
    /// on reliable transports, so none is expected.
    fn file_finished_server(&mut self, now: Instant, id: ServerTxId) {
        let Some(server) = self.servers.get(&id) else {
            return;
        };
        let answer = match (server.invite.is_some(), server.machine.state()) {
            (false, TxState::Completed) => Answer::Resend,
            (true, TxState::Confirmed) => Answer::Absorb,
            _ => return,
        };
        if server.route.conn.is_some() {
            return;
        }
        let until = server.machine.poll_timeout().unwrap_or(now);
        let Some(server) = self.servers.remove(&id) else {
            return;
        };
        self.server_index.remove(&server.key);
        let bytes = match (answer, &server.last) {
            (Answer::Resend, Some(last)) => last.bytes.as_slice(),
            _ => &[][..],
        };
        let hash = self.finished.hash(Side::Server, &server.key);
        let dropped = self.finished.insert(
            now,
            until,
            Side::Server,
            hash,
            server.route.target.addr,
            server.route.target.transport,
            answer,
            bytes,
        );
        self.log_evictions(dropped);
    }

    fn log_evictions(&mut self, dropped: usize) {
        if dropped == 0 {
            return;
        }
        let total = self.finished.evicted();
        // Rate-limited like the overload refusals: once per doubling.
        if (total - dropped as u64).leading_zeros() != total.leading_zeros() {
            warn!(
                target: LOG,
                "finished transactions over their budget ({} bytes): oldest dropped ({total} so far)",
                self.config.finished_budget
            );
        }
    }

    /// A response matching no running client transaction may be a retransmitted final of
    /// a finished one: absorbed, and a 300–699 to an INVITE gets the ACK again
    /// (§17.1.1.2). True if it was one.
    fn answer_finished_client(&mut self, key: &ClientKey, status: u16) -> bool {
        let Some(hit) = self.finished.get(self.finished.hash(Side::Client, key)) else {
            return false;
        };
        self.stats.absorbed_retransmissions += 1;
        if hit.answer == Answer::Resend && status >= 300 {
            let tx = TxRef::Finished(self.next_finished);
            self.next_finished = self.next_finished.wrapping_add(1);
            self.transmits.push_back(Transmit {
                tx,
                target: Target::new(hit.addr, hit.transport),
                conn: None,
                bytes: hit.bytes,
            });
        }
        debug!(target: LOG, "response {status} ({} {}) absorbed by a finished transaction", key.method, key.branch);
        true
    }

    /// A request matching no running server transaction may be a retransmission for a
    /// finished one: a non-INVITE gets its final again (§17.2.2), an ACK or INVITE in
    /// Confirmed is absorbed (§17.2.1). True if it was one.
    fn answer_finished_server(&mut self, key: &ServerKey, is_ack: bool) -> bool {
        let Some(hit) = self.finished.get(self.finished.hash(Side::Server, key)) else {
            return false;
        };
        self.stats.absorbed_retransmissions += 1;
        if hit.answer == Answer::Resend && !is_ack {
            let tx = TxRef::Server(self.new_server_id());
            self.transmits.push_back(Transmit {
                tx,
                target: Target::new(hit.addr, hit.transport),
                conn: None,
                bytes: hit.bytes,
            });
        }
        true
    }

    /// A CANCEL asked for in Calling goes out at the first provisional, and is forgotten
    /// once a final response makes it pointless (§9.1).
    fn settle_cancel(&mut self, now: Instant, r: TxRef) {
        let TxRef::Client(tx) = r else { return };
        let Some(client) = self.clients.get_mut(&r) else {
            return;
        };
        if client.cancel != CancelState::Pending {
            return;
        }
        match client.machine.state() {
            TxState::Calling => {}
            TxState::Proceeding => self.send_cancel(now, tx),
            _ => client.cancel = CancelState::None,
        }
    }

    fn client_send(&mut self, r: TxRef, ack: bool) {
        let Some(client) = self.clients.get(&r) else {
            return;
        };
        let bytes = if ack {
            client.ack.clone()
        } else {
            Some(client.bytes.clone())
        };
        if let Some(bytes) = bytes {
            self.transmits.push_back(Transmit {
                tx: r,
                target: client.target.clone(),
                conn: client.conn,
                bytes,
            });
        }
    }

    fn drive_server(
        &mut self,
        now: Instant,
        id: ServerTxId,
        mut incoming: Option<(Message, Origin)>,
    ) {
        let r = TxRef::Server(id);
        let Some(server) = self.servers.get_mut(&id) else {
            return;
        };
        let actions: Vec<TxAction> = std::iter::from_fn(|| server.machine.poll_action()).collect();
        for action in actions {
            match action {
                TxAction::SendResponse | TxAction::ResendResponse => self.server_send(id),
                TxAction::SendTrying => {
                    if let Some(server) = self.servers.get_mut(&id)
                        && let Some(invite) = &server.invite
                    {
                        // RFC 3261 §8.2.6.1: a 100 carries no To tag of ours.
                        let trying = Message::response_to(invite, 100, "Trying", None);
                        server.last = Some(LastResponse {
                            bytes: trying.to_bytes(),
                            to_tag: None,
                        });
                    }
                    self.server_send(id);
                }
                TxAction::PassUp => {
                    if let Some((msg, origin)) = incoming.take() {
                        let tx = self.new_server_id();
                        self.events.push_back(TxEvent::Request { tx, msg, origin });
                    }
                }
                TxAction::Timeout(timer) => debug!(target: LOG, "{r}: {timer} fired (no ACK)"),
                TxAction::TransportError => debug!(target: LOG, "{r}: transport error"),
                TxAction::Terminated => {
                    if let Some(server) = self.servers.remove(&id) {
                        self.server_index.remove(&server.key);
                        debug!(target: LOG, "{r}: terminated");
                    }
                }
                TxAction::Retransmit | TxAction::SendAck => {}
            }
        }
        self.file_finished_server(now, id);
        self.reschedule(r);
    }

    fn server_send(&mut self, id: ServerTxId) {
        let Some(server) = self.servers.get(&id) else {
            return;
        };
        if let Some(last) = &server.last {
            self.transmits.push_back(Transmit {
                tx: TxRef::Server(id),
                target: server.route.target.clone(),
                conn: server.route.conn,
                bytes: last.bytes.clone(),
            });
        }
    }

    // ----- deadlines -----

    fn reschedule(&mut self, r: TxRef) {
        let slot = match r {
            TxRef::Client(_) | TxRef::Cancel(_) | TxRef::Finished(_) => self
                .clients
                .get_mut(&r)
                .map(|c| (c.machine.poll_timeout(), &mut c.scheduled)),
            TxRef::Server(id) => self
                .servers
                .get_mut(&id)
                .map(|s| (s.machine.poll_timeout(), &mut s.scheduled)),
        };
        let Some((next, scheduled)) = slot else {
            return;
        };
        if next != *scheduled {
            *scheduled = next;
            if let Some(at) = next {
                self.deadlines.push(Reverse((at, r)));
            }
        }
    }

    /// Drop stale deadlines when they outnumber the live ones, so the heap stays
    /// proportional to the running transactions.
    fn compact_deadlines(&mut self) {
        let live = self.clients.len() + self.servers.len();
        if self.deadlines.len() <= 2 * live + 1024 {
            return;
        }
        let mut heap = BinaryHeap::with_capacity(live);
        for (r, c) in &self.clients {
            if let Some(at) = c.scheduled {
                heap.push(Reverse((at, *r)));
            }
        }
        for (id, s) in &self.servers {
            if let Some(at) = s.scheduled {
                heap.push(Reverse((at, TxRef::Server(*id))));
            }
        }
        self.deadlines = heap;
    }
}
