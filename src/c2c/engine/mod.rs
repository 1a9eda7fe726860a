//! The calls thread's state: every click-to-call session and its legs. It is fed commands
//! from the front doors, SIP events from the reactor and the clock, and returns the SIP
//! commands to send. No I/O and no clock of its own, so tests drive it by hand; the thread
//! around it is in `calls_thread`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;

use super::command::{
    CallId, CallMode, CallOptions, Command, HangupOutcome, Progress, Query, Role,
};
use super::identity::{IdentityConfig, Parties};
use super::registry::Registry;
use super::session::{Action, LegEvent, Session, Timing};
use crate::cdr::{CallFacts, CdrSink};
use crate::sip::msg::{Message, NameAddr, Uri};
use crate::sip::reactor::{ClientTxId, ServerTxId, SipCommand, SipEvent, SipStats, TxFailure};
use crate::sip::sdp;
use crate::ua::contact::{self, ListenPorts};
use crate::ua::dialog::{Dialog, DialogSpec};
use crate::ua::digest::{AuthCache, Credentials};
use crate::ua::redirect::Redirects;
use due::DueSet;
use origin::LegOrigin;

/// What the engine needs to know about us.
#[derive(Debug, Clone)]
pub(crate) struct EngineConfig {
    /// `ClickToCallIdentity`: the `From` of the initiator's INVITE.
    pub identity: Uri,
    /// The address we put in Contact and SDP (RFC 3261 §8.1.1.8, RFC 4566 §5.7).
    pub local_ip: IpAddr,
    /// Our SIP listeners' ports, for Contact.
    pub ports: ListenPorts,
    /// `OutboundProxy`: pre-loaded route of every out-of-dialog request.
    pub outbound_proxy: Option<Uri>,
    /// `OutboundProxyAll`: in-dialog requests go through the outbound proxy too.
    pub outbound_proxy_all: bool,
    /// `FixNatContact`: a private Contact is replaced by the address the answer came from.
    pub fix_nat_contact: bool,
    /// `SipAuthUser`/`SipAuthPassword`/`SipAuthRealm`: the answer to 401/407 challenges.
    pub credentials: Option<Credentials>,
    /// `MaxRedirects`: redirected INVITEs a leg may send after 3xx responses.
    pub max_redirects: u8,
    /// `CallMode`: the mode of a call whose request names none.
    pub call_mode: CallMode,
    /// `OfferCodecs`: the codecs of the initiator's inactive offer.
    pub offer_codecs: Vec<sdp::Codec>,
    pub timing: Timing,
    /// `InitiatorFrom…`, `Destination…`, `InitiatorAutoAnswer`, `InitiatorExtraHeader`:
    /// what each leg's INVITE says about the caller.
    pub caller_identity: IdentityConfig,
}

#[cfg(test)]
impl EngineConfig {
    /// The engine tests' configuration, for the tests of the thread around the engine.
    pub(crate) fn for_test() -> EngineConfig {
        tests::config()
    }
}

type SessionId = u64;

/// The live state of the calls thread, for `/metrics` and the tests (see [`Engine::counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct EngineCounts {
    /// Click-to-calls not yet over.
    pub calls: usize,
    /// Legs (an INVITE of ours and the dialog it made) of those calls.
    pub legs: usize,
    /// Entries finding a leg from an in-dialog request (Call-ID, our tag).
    pub dialogs: usize,
    /// Client transactions whose responses the engine still waits for.
    pub client_transactions: usize,
    /// Phones' requests relayed to the other phone, waiting for its answer.
    pub pending_relays: usize,
    /// Session deadlines and delayed re-INVITEs or REFERs.
    pub timers: usize,
}

/// What a client transaction was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxKind {
    Invite,
    Reinvite,
    Refer,
    Bye,
    /// BYE of a losing fork: nothing waits for its outcome.
    ForkBye,
    /// PRACK of a reliable provisional: nothing waits for its outcome.
    Prack,
    /// A session refresh (RFC 4028 §7.4): a re-INVITE with the leg's current SDP.
    Refresh,
    /// A re-INVITE carrying the other leg's offer (anchored call): its answer goes back
    /// on that leg's server transaction.
    Relay(ServerTxId),
    /// An INFO or MESSAGE carrying the other leg's phone's request (anchored call): its
    /// final response goes back on that phone's server transaction, and nothing else.
    NitRelay(ServerTxId),
}

/// A client transaction the engine follows.
#[derive(Debug, Clone)]
struct Tracked {
    sid: SessionId,
    leg: Role,
    kind: TxKind,
    /// The CSeq number of its request: a response must carry it (RFC 3261 §8.1.3.3).
    cseq: u32,
    /// An INVITE answered 2xx is followed a while longer to ACK the 2xx's retransmissions:
    /// until then (its entry in `Engine::retire`).
    retire_at: Option<Instant>,
    /// An INVITE of ours within a dialog is given up if it has no final answer by then
    /// (its entry in `Engine::answer_due`).
    answer_by: Option<Instant>,
    /// The request as sent, kept when we have credentials: a 401/407 to it is answered by
    /// sending it again with them (RFC 3261 §22.2).
    request: Option<Box<Message>>,
    /// How many times this request was sent again with credentials.
    auth_retries: u8,
}

/// How long an INVITE transaction answered 2xx is followed: its 2xx retransmissions come
/// until Timer M, 64·T1 after the first (RFC 6026 §7.2), and a margin.
const ACCEPTED_FOR: std::time::Duration = std::time::Duration::from_secs(32 + 4);

/// How long an INVITE of ours within a dialog (re-INVITE, refresh, relayed offer) may go
/// without a final answer. Once a provisional came, the transaction layer has no timer of
/// its own (RFC 3261 §17.1.1.2: Timer B runs only until the first provisional) and a phone
/// that answers 100 and then nothing would hold the dialog's offer state, and a relayed
/// offer's origin, forever. 64·T1, as any transaction, and a margin.
const REINVITE_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(32 + 4);

/// A phone's request copied to the other phone, waiting for its answer.
#[derive(Debug)]
struct PendingRelay {
    /// The leg whose phone sent it: the answer is built in that leg's dialog.
    origin: Role,
    request: Message,
}

#[derive(Debug)]
struct LegSlot {
    sip: Dialog,
    invite_tx: ClientTxId,
    /// The 2xx of an offerless INVITE holds the offer: its ACK waits for our answer.
    offerless: bool,
    /// The SDP we last gave this leg, to answer a re-INVITE or UPDATE from its phone.
    local_sdp: Vec<u8>,
    /// Our `o=` in this leg's dialog (RFC 3264 §8).
    origin: LegOrigin,
    /// The offer of this offerless leg's 2xx: if the call ends before we have the real
    /// answer, the ACK still needs a valid one.
    remote_offer: Option<Vec<u8>>,
    /// The PRACK of the reliable provisional that carried the offer to this offerless
    /// INVITE, held back for the answer it must carry (RFC 3262 §5).
    held_prack: Option<Message>,
    /// The To tag of the early dialog whose reliable provisional carried the offer.
    early_offer_tag: Option<String>,
    /// That offer was answered in its PRACK: the 2xx carries no offer and its ACK goes at
    /// once, with no body.
    early_answered: bool,
    /// This leg's phone sent an offerless re-INVITE, relayed to the other phone, and our
    /// 2xx gave it the other phone's offer: the answer in its ACK goes in our ACK of the
    /// other phone's 2xx, held back for it (RFC 3264 §4, RFC 3725 §5).
    ack_answer_for_other: bool,
    /// The INVITE was sent again after a 422 (RFC 4028 §7.4): a second one is a failure.
    min_se_retried: bool,
    /// When this leg's next session refresh is due (its entry in `reinvites_due`).
    refresh_at: Option<Instant>,
    /// When this leg's session expires without a refresh (its entry in `reinvites_due`,
    /// RFC 4028 §10).
    expires_at: Option<Instant>,
    /// The challenges this dialog has met: its later requests go out pre-authorised
    /// (RFC 3261 §22.3).
    auth: AuthCache,
    /// The targets of 3xx responses to the INVITE, tried and to try (RFC 3261 §8.1.3.4).
    redirects: Redirects,
    /// The INVITE was CANCELled: its final response ends the leg, no redirect or
    /// challenge is followed.
    cancelled: bool,
}

impl LegSlot {
    /// The slot of a leg whose first request (`tx`) has just gone out: no SDP given yet,
    /// nothing held back, no timer, no challenge met.
    fn new(sip: Dialog, tx: ClientTxId, redirects: Redirects, origin: LegOrigin) -> LegSlot {
        LegSlot {
            sip,
            invite_tx: tx,
            offerless: false,
            local_sdp: Vec::new(),
            origin,
            remote_offer: None,
            held_prack: None,
            early_offer_tag: None,
            early_answered: false,
            ack_answer_for_other: false,
            min_se_retried: false,
            refresh_at: None,
            expires_at: None,
            auth: AuthCache::default(),
            redirects,
            cancelled: false,
        }
    }

    /// `sdp` as this leg's phone gets it, under our origin (see [`LegOrigin::stamp`]); it is
    /// the leg's SDP from now on.
    fn give(&mut self, sdp: &[u8]) -> Vec<u8> {
        let stamped = self.origin.stamp(sdp);
        self.local_sdp = stamped.clone();
        stamped
    }
}

#[derive(Debug)]
struct Call {
    /// The id the API knows it by.
    id: CallId,
    mode: CallMode,
    session: Session,
    reply: Sender<Progress>,
    initiator: Uri,
    destination: Uri,
    legs: [Option<LegSlot>; 2],
    /// The entry of this call in `Engine::timers`.
    timer: Option<Instant>,
    /// Requests from a phone relayed to the other phone (re-INVITEs with an offer, INFO,
    /// MESSAGE), by their server transaction, waiting for the other phone's answer.
    pending_relays: HashMap<ServerTxId, PendingRelay>,
    /// How many times our REFER was answered 491 and sent again.
    refer_glares: u8,
    /// What its detail record will say.
    facts: CallFacts,
    /// The request's per-call settings (caller identity and auto-answer are read when
    /// each leg's INVITE is built).
    options: CallOptions,
    /// The client transactions started for this call (some may be over): the call's own
    /// entries in `Engine::txs`, taken out when it ends without scanning the others'.
    tx_ids: Vec<ClientTxId>,
}

/// All calls of the process.
#[derive(Debug)]
pub(crate) struct Engine {
    cfg: EngineConfig,
    next_tx: u64,
    next_session: SessionId,
    calls: HashMap<SessionId, Call>,
    txs: HashMap<ClientTxId, Tracked>,
    /// (Call-ID, our tag) → the leg's call. Our tags are unique, so this finds the dialog
    /// of any in-dialog request (RFC 3261 §12.2.2).
    dialogs: HashMap<(String, String), (SessionId, Role)>,
    timers: BTreeSet<(Instant, SessionId)>,
    /// INVITE transactions answered 2xx, dropped from `txs` at that instant.
    retire: BTreeSet<(Instant, ClientTxId)>,
    /// In-dialog INVITEs of ours given up at that instant unless finally answered.
    answer_due: BTreeSet<(Instant, ClientTxId)>,
    /// Re-INVITEs to send later: after a 491 (RFC 3261 §14.1) or to refresh the session
    /// when we are its refresher (RFC 4028 §7.4).
    reinvites_due: DueSet<Redo>,
    /// Our 2xx to a phone's INVITE (leg, its CSeq number) ends the call at that instant
    /// unless ACKed (`ack_wait`).
    acks_due: DueSet<u32>,
    out: VecDeque<SipCommand>,
    /// What the API shows of the calls, live and recently ended.
    registry: Registry,
    /// Where the detail record of each call that ends goes.
    cdr: CdrSink,
    /// The reactor's counters, copied into `/metrics`.
    sip_stats: Arc<SipStats>,
}

impl Engine {
    pub(crate) fn new(cfg: EngineConfig) -> Self {
        Engine {
            cfg,
            next_tx: 1,
            next_session: 1,
            calls: HashMap::new(),
            txs: HashMap::new(),
            dialogs: HashMap::new(),
            timers: BTreeSet::new(),
            retire: BTreeSet::new(),
            answer_due: BTreeSet::new(),
            reinvites_due: DueSet::default(),
            acks_due: DueSet::default(),
            out: VecDeque::new(),
            registry: Registry::default(),
            cdr: CdrSink::default(),
            sip_stats: Arc::default(),
        }
    }

    /// Records of ended calls go to `cdr` (kept in memory only without one).
    pub(crate) fn with_cdr(self, cdr: CdrSink) -> Self {
        Engine { cdr, ..self }
    }

    /// `/metrics` shows the counters of this reactor (`startup` wires them; on their own
    /// they stay zero).
    pub(crate) fn share_sip_stats(&mut self, stats: Arc<SipStats>) {
        self.sip_stats = stats;
    }

    /// Number of click-to-calls still alive.
    pub(crate) fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// How much state the engine holds: every counter is back to zero once every call has
    /// ended, whatever path it took.
    pub(crate) fn counts(&self) -> EngineCounts {
        EngineCounts {
            calls: self.calls.len(),
            legs: self
                .calls
                .values()
                .map(|c| c.legs.iter().flatten().count())
                .sum(),
            dialogs: self.dialogs.len(),
            client_transactions: self.txs.len(),
            pending_relays: self.calls.values().map(|c| c.pending_relays.len()).sum(),
            timers: self.timers.len()
                + self.reinvites_due.len()
                + self.retire.len()
                + self.answer_due.len()
                + self.acks_due.len(),
        }
    }

    /// The next SIP command for the reactor.
    pub(crate) fn poll_command(&mut self) -> Option<SipCommand> {
        self.out.pop_front()
    }

    /// The earliest instant at which `handle_timeout` has work.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let session = self.timers.first().map(|(t, _)| *t);
        let retry = self.reinvites_due.first().map(|(t, ..)| *t);
        let retire = self.retire.first().map(|(t, _)| *t);
        let answer = self.answer_due.first().map(|(t, _)| *t);
        let ack = self.acks_due.first().map(|(t, ..)| *t);
        [session, retry, retire, answer, ack]
            .into_iter()
            .flatten()
            .min()
    }

    /// A command from a front door.
    pub(crate) fn handle_command(&mut self, now: Instant, cmd: Command) {
        match cmd {
            Command::ClickToCall {
                initiator_uri,
                destination_uri,
                anchor,
                id,
                options,
                origin,
                reply,
            } => {
                let (initiator, destination) = match (
                    Uri::parse(&initiator_uri),
                    Uri::parse(&destination_uri),
                ) {
                    (Ok(i), Ok(d)) => (i, d),
                    (Err(e), _) | (_, Err(e)) => {
                        // The front doors check the URIs first; this is a last line of defence.
                        log::warn!(target: "c2c", "refusing click-to-call with an invalid URI: {e}");
                        let _ = reply.send(Progress {
                            code: 400,
                            leg: Role::Initiator,
                            text: "Failed to connect to initiator".to_string(),
                        });
                        return;
                    }
                };
                let sid = self.next_session;
                self.next_session += 1;
                let mode = CallMode::resolve(options.mode, anchor, self.cfg.call_mode);
                log::info!(target: "c2c", "click-to-call {sid} ({id}): {initiator} -> {destination} ({})",
                    mode.as_str());
                let timing = options
                    .ring_timeout
                    .map_or(self.cfg.timing, Timing::from_ring_timeout);
                self.registry
                    .open(now, &id, &initiator_uri, &destination_uri, mode);
                let session = match mode {
                    CallMode::ReferOutOfDialog => Session::refer_out_of_dialog(timing),
                    _ => Session::new(now, mode == CallMode::Anchored, timing),
                };
                let facts = CallFacts::new(origin, &initiator_uri, &destination_uri, mode);
                let call = Call {
                    id,
                    mode,
                    session,
                    reply,
                    initiator,
                    destination,
                    legs: [None, None],
                    timer: None,
                    pending_relays: HashMap::new(),
                    refer_glares: 0,
                    facts,
                    tx_ids: Vec::new(),
                    options,
                };
                self.calls.insert(sid, call);
                self.run(now, sid);
            }
            Command::Hangup { id, reply } => {
                let _ = reply.send(self.hang_up(now, &id));
            }
            Command::Query(q) => self.answer(now, q),
        }
    }

    /// `Command::Hangup`: the session cancels or hangs up its legs.
    fn hang_up(&mut self, now: Instant, id: &CallId) -> HangupOutcome {
        let Some(sid) = self
            .calls
            .iter()
            .find(|(_, c)| c.id == *id)
            .map(|(sid, _)| *sid)
        else {
            return match self.registry.get(now, id) {
                Some(_) => HangupOutcome::AlreadyEnded,
                None => HangupOutcome::Unknown,
            };
        };
        log::info!(target: "c2c", "click-to-call {sid} ({id}): hung up by the API");
        self.registry.hung_up(id);
        if let Some(call) = self.calls.get_mut(&sid) {
            call.session.hang_up(now);
        }
        self.run(now, sid);
        HangupOutcome::HangingUp
    }

    /// A `Command::Query`: the asker may have given up waiting, so a failed send is fine.
    fn answer(&mut self, now: Instant, q: Query) {
        match q {
            Query::List { reply } => {
                let _ = reply.send(self.registry.list(now));
            }
            Query::Get { id, reply } => {
                let _ = reply.send(self.registry.get(now, &id));
            }
            Query::Subscribe { id, reply } => {
                let _ = reply.send(self.registry.subscribe(now, &id));
            }
            Query::Metrics { reply } => {
                let counts = self.counts();
                let mut m = self.registry.metrics(counts.calls, counts.legs);
                (m.cdr_written, m.cdr_write_errors, m.cdr_dropped) = self.cdr.counts();
                m.sip = self.sip_stats.snapshot();
                let _ = reply.send(m);
            }
            Query::Ended { reply } => {
                let _ = reply.send(self.cdr.recent());
            }
            Query::Ping { reply } => self.out.push_back(SipCommand::Ping { reply }),
        }
    }

    /// An event from the reactor.
    pub(crate) fn handle_sip_event(&mut self, now: Instant, ev: SipEvent) {
        match ev {
            SipEvent::Request { tx, request, .. } => self.on_request(now, tx, request),
            SipEvent::Response {
                tx,
                response,
                source,
            } => self.on_response(now, tx, &response, source),
            // The phone's re-INVITE was cancelled and answered 487 by the reactor.
            SipEvent::Cancelled { tx } => self.relay_cancelled(tx),
            SipEvent::StrayInvite2xx { response } => self.stray_response(&response),
            SipEvent::TxFailed { tx, reason } => self.tx_failed(now, tx, &reason),
        }
    }

    /// The phone CANCELled its re-INVITE `stx`, which the reactor answered 487 (RFC 3261
    /// §9.2): the relay waits for nothing more, and our copy on the other leg is CANCELled.
    fn relay_cancelled(&mut self, stx: ServerTxId) {
        let copy = self
            .txs
            .iter()
            .find(|(_, tracked)| tracked.kind == TxKind::Relay(stx))
            .map(|(tx, tracked)| (*tx, tracked.sid));
        let Some((tx, sid)) = copy else {
            return;
        };
        if let Some(call) = self.calls.get_mut(&sid) {
            call.pending_relays.remove(&stx);
        }
        self.out.push_back(SipCommand::Cancel { tx });
    }

    /// Fire every timer due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.acks_overdue(now);
        while let Some(&(t, tx)) = self.answer_due.first()
            && t <= now
        {
            self.answer_due.remove(&(t, tx));
            if let Some(tracked) = self.txs.get_mut(&tx) {
                tracked.answer_by = None;
                log::warn!(target: "c2c", "click-to-call {}: the {} gave no final answer to our {:?}: giving it up",
                    tracked.sid, tracked.leg.as_str(), tracked.kind);
                // RFC 3261 §9.1: CANCEL it, so the phone stops too; for us it timed out.
                self.out.push_back(SipCommand::Cancel { tx });
                self.tx_failed(now, tx, &TxFailure::Timeout);
            }
        }
        while let Some(&(t, tx)) = self.retire.first()
            && t <= now
        {
            self.retire.remove(&(t, tx));
            self.txs.remove(&tx);
        }
        while let Some(&(t, sid, leg, redo)) = self.reinvites_due.first() {
            if t > now {
                break;
            }
            self.reinvites_due.remove(&(t, sid, leg, redo));
            let kind = match redo {
                Redo::Offer => TxKind::Reinvite,
                Redo::Refresh => {
                    if let Some(slot) = self.slot_mut(sid, leg) {
                        slot.refresh_at = None;
                    }
                    TxKind::Refresh
                }
                Redo::Refer => {
                    self.refer_again(now, sid, leg);
                    continue;
                }
                Redo::Expire => {
                    self.session_expired(now, sid, leg);
                    continue;
                }
            };
            if redo == Redo::Refresh
                && self
                    .slot_mut(sid, leg)
                    .is_some_and(|slot| slot.sip.reinvite_pending())
            {
                self.postpone_refresh(now, sid, leg);
                continue;
            }
            if let Some(slot) = self.slot_mut(sid, leg)
                && slot.sip.state() == crate::ua::DialogState::Confirmed
                && !slot.sip.reinvite_pending()
            {
                let req = slot.sip.reinvite(slot.local_sdp.clone());
                log::info!(target: "c2c", "click-to-call {sid}: re-INVITE to the {} ({redo:?})", leg.as_str());
                self.send_reinvite(now, sid, leg, kind, req);
            }
        }
        while let Some(&(t, sid)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.remove(&(t, sid));
            if let Some(call) = self.calls.get_mut(&sid) {
                call.timer = None;
                call.session.handle_timeout(now);
            }
            self.run(now, sid);
        }
        // After a load peak the maps would keep the room of their largest size (issue 13
        // point 4: memory returns); a steady load keeps its room.
        crate::heap::shrink_map(&mut self.calls);
        crate::heap::shrink_map(&mut self.txs);
        crate::heap::shrink_map(&mut self.dialogs);
        if self.out.capacity() > 4 * self.out.len() + 256 {
            self.out.shrink_to(2 * self.out.len());
        }
    }

    /// Shutting down: every session cancels or hangs up its legs and delivers its final
    /// report now.
    pub(crate) fn shutdown(&mut self, now: Instant) {
        let ids: Vec<SessionId> = self.calls.keys().copied().collect();
        for sid in ids {
            // Relayed requests are answered now: the other phones may never answer ours
            // before the process ends (RFC 3261 §15.1.2: 487).
            self.end_relays(sid, None);
            if let Some(call) = self.calls.get_mut(&sid) {
                call.session.shutdown(now);
            }
            self.run(now, sid);
        }
    }

    fn feed(&mut self, now: Instant, sid: SessionId, leg: Role, event: LegEvent) {
        if let Some(call) = self.calls.get_mut(&sid) {
            // RFC 3515 §2.4.4: a NOTIFY before the 2xx implies the REFER was accepted.
            if matches!(
                event,
                LegEvent::ReferAccepted { .. } | LegEvent::TransferProgress { .. }
            ) {
                call.facts.transfer_accepted();
            }
            call.session.handle(now, leg, event);
            self.run(now, sid);
        }
    }

    fn new_tx(&mut self) -> ClientTxId {
        let tx = ClientTxId(self.next_tx);
        self.next_tx += 1;
        tx
    }

    fn send(
        &mut self,
        sid: SessionId,
        leg: Role,
        kind: TxKind,
        mut request: Message,
    ) -> ClientTxId {
        let tx = self.new_tx();
        let cseq = request.cseq().map_or(0, |(n, _)| n);
        if let Some(creds) = self.cfg.credentials.clone()
            && let Some(slot) = self.slot_mut(sid, leg)
        {
            slot.auth.authorize(&mut request, &creds);
            if request.method() == Some(&crate::sip::msg::Method::Invite) {
                slot.sip.set_invite_credentials(&request);
            }
        }
        // Kept to be sent again: with credentials after a challenge, or, for the initial
        // INVITE, to a redirect's target.
        let kept = (self.cfg.credentials.is_some() || kind == TxKind::Invite)
            .then(|| Box::new(request.clone()));

        self.txs.insert(
            tx,
            Tracked {
                sid,
                leg,
                kind,
                cseq,
                retire_at: None,
                answer_by: None,
                request: kept,
                auth_retries: 0,
            },
        );
        if let Some(call) = self.calls.get_mut(&sid) {
            // Pruned as it grows (a long call refreshes its session for hours), so it
            // holds about the transactions still running.
            if call.tx_ids.len() >= 16 {
                let txs = &self.txs;
                call.tx_ids.retain(|t| txs.contains_key(t));
            }
            call.tx_ids.push(tx);
        }
        self.out.push_back(SipCommand::SendRequest { tx, request });
        tx
    }

    /// Send an INVITE of ours within a dialog: it is given up when no final answer comes
    /// in time (`REINVITE_ANSWER_WAIT`).
    fn send_reinvite(
        &mut self,
        now: Instant,
        sid: SessionId,
        leg: Role,
        kind: TxKind,
        req: Message,
    ) -> ClientTxId {
        let tx = self.send(sid, leg, kind, req);
        let at = now + REINVITE_ANSWER_WAIT;
        if let Some(t) = self.txs.get_mut(&tx) {
            t.answer_by = Some(at);
            self.answer_due.insert((at, tx));
        }
        tx
    }

    /// Carry out the session's actions, then file its next timer or drop it when done.
    fn run(&mut self, now: Instant, sid: SessionId) {
        loop {
            let Some(call) = self.calls.get_mut(&sid) else {
                return;
            };
            let Some(action) = call.session.poll_action() else {
                break;
            };
            self.act(now, sid, action);
        }
        let Some(call) = self.calls.get_mut(&sid) else {
            return;
        };
        if call.session.is_done() {
            self.forget(now, sid);
            return;
        }
        let next = call.session.poll_timeout();
        if call.timer != next {
            if let Some(old) = call.timer.take() {
                self.timers.remove(&(old, sid));
            }
            if let Some(t) = next {
                self.timers.insert((t, sid));
            }
            if let Some(call) = self.calls.get_mut(&sid) {
                call.timer = next;
            }
        }
    }

    fn forget(&mut self, now: Instant, sid: SessionId) {
        // No phone's request is left unanswered when its call ends (RFC 3261 §15.1.2).
        self.end_relays(sid, None);
        let Some(call) = self.calls.remove(&sid) else {
            return;
        };
        log::debug!(target: "c2c", "click-to-call {sid} is over");
        self.registry.close(now, &call.id);
        self.write_record(call.id.as_str(), &call.session, &call.legs, call.facts);
        if let Some(t) = call.timer {
            self.timers.remove(&(t, sid));
        }
        for slot in call.legs.iter().flatten() {
            if let Some(tag) = slot.sip.local_tag() {
                self.dialogs
                    .remove(&(slot.sip.call_id().to_string(), tag.to_string()));
            }
        }
        // The reactor keeps its own transactions until their timers end: there is no
        // SipCommand to abandon a client transaction. What they still deliver finds no
        // entry here: a 2xx to an INVITE is ACKed and ended (`stray_response`), the rest
        // dropped.
        for tx in call.tx_ids {
            if let Some(t) = self.txs.remove(&tx) {
                if let Some(at) = t.answer_by {
                    self.answer_due.remove(&(at, tx));
                }
                if let Some(at) = t.retire_at {
                    self.retire.remove(&(at, tx));
                }
            }
        }
        self.reinvites_due.remove_call(sid);
        self.acks_due.remove_call(sid);
    }

    /// The call's detail record, to the sink.
    fn write_record(
        &mut self,
        id: &str,
        session: &Session,
        legs: &[Option<LegSlot>; 2],
        facts: CallFacts,
    ) {
        let sip_call_ids = legs
            .each_ref()
            .map(|slot| slot.as_ref().map(|s| s.sip.call_id().to_string()));
        let record = facts.finish(id, session.ended_by(), sip_call_ids, self.cdr.settings());
        self.cdr.record(record);
    }

    /// The calls thread is stopping with calls that did not end in time (their phones
    /// never answered our CANCEL or BYE): their records are written now, as ended by the
    /// shutdown.
    pub(crate) fn abandon(&mut self, now: Instant) {
        let sids: Vec<SessionId> = self.calls.keys().copied().collect();
        for sid in sids {
            if let Some(call) = self.calls.get_mut(&sid) {
                call.session.note_end(crate::cdr::EndedBy::Shutdown);
            }
            self.forget(now, sid);
        }
    }

    /// The SIP reactor stopped unexpectedly: no call can go on or end properly. Each gets
    /// its final result, unless it had one (`Session::stack_stopped`), and its record, as
    /// ended by an error.
    pub(crate) fn sip_stack_stopped(&mut self, now: Instant) {
        let sids: Vec<SessionId> = self.calls.keys().copied().collect();
        for sid in sids {
            if let Some(call) = self.calls.get_mut(&sid)
                && let Some(progress) = call.session.stack_stopped()
            {
                call.facts.progress(&progress);
                self.registry.progress(now, &call.id, &progress);
                let _ = call.reply.send(progress);
            }
            self.forget(now, sid);
        }
    }

    fn act(&mut self, now: Instant, sid: SessionId, action: Action) {
        match action {
            Action::InviteInitiator => self.invite_initiator(sid),
            Action::InviteDestination => {
                if let Some(call) = self.calls.get_mut(&sid) {
                    call.facts.destination_invited();
                }
                self.invite_destination(sid)
            }
            Action::Refer => self.send_refer(sid),
            Action::ReferOutOfDialog => self.send_out_of_dialog_refer(sid),
            Action::Reinvite { leg, sdp } => {
                let Some(slot) = self.slot_mut(sid, leg) else {
                    return;
                };
                let sdp = slot.give(&sdp);
                let req = slot.sip.reinvite(sdp);
                self.send_reinvite(now, sid, leg, TxKind::Reinvite, req);
            }
            Action::Ack { leg, sdp } => {
                let local_ip = self.cfg.local_ip;
                let Some(slot) = self.slot_mut(sid, leg) else {
                    return;
                };
                if slot.early_answered && slot.sip.state() != crate::ua::DialogState::Early {
                    // The offer was answered in the PRACK and the 2xx ACKed on arrival.
                    return;
                }
                // RFC 3261 §13.2.2.4: an ACK to an offer must carry an answer; without the
                // real one (the call is ending), a valid answer rejecting every stream.
                let sdp = sdp.or_else(|| {
                    slot.remote_offer
                        .as_deref()
                        .and_then(|offer| rejecting_answer(offer, local_ip))
                });
                let sdp = sdp.map(|body| slot.give(&body));
                let ack = slot.sip.ack(sdp);
                self.out.push_back(SipCommand::SendAck { request: ack });
            }
            Action::Prack { leg, sdp } => {
                let Some(slot) = self.slot_mut(sid, leg) else {
                    return;
                };
                let Some(mut prack) = slot.held_prack.take() else {
                    return;
                };
                prack.set_body(Some("application/sdp"), slot.give(&sdp));
                // The offer is answered: the 2xx that follows carries none and is
                // acknowledged at once (RFC 3262 §5, RFC 3261 §13.2.2.4).
                slot.early_answered = true;
                self.send(sid, leg, TxKind::Prack, prack);
            }
            Action::Cancel(leg) => {
                if let Some(slot) = self.slot_mut(sid, leg) {
                    slot.cancelled = true;
                    let tx = slot.invite_tx;
                    self.out.push_back(SipCommand::Cancel { tx });
                }
            }
            Action::Bye(leg) => {
                let local_ip = self.cfg.local_ip;
                let held = self
                    .slot_mut(sid, leg.other())
                    .is_some_and(|other| std::mem::take(&mut other.ack_answer_for_other));
                let Some(slot) = self.slot_mut(sid, leg) else {
                    return;
                };
                if held {
                    // This phone's 2xx to our relayed offerless re-INVITE still waits for
                    // the other phone's answer: it is ACKed, with an answer rejecting its
                    // offer, before the BYE (RFC 3261 §13.2.2.4).
                    let answer = slot
                        .remote_offer
                        .as_deref()
                        .and_then(|offer| rejecting_answer(offer, local_ip));
                    let ack = slot.sip.ack(answer);
                    self.out.push_back(SipCommand::SendAck { request: ack });
                }
                let Some(slot) = self.slot_mut(sid, leg) else {
                    return;
                };
                let bye = slot.sip.bye();
                self.send(sid, leg, TxKind::Bye, bye);
            }
            Action::Report(progress) => {
                if let Some(call) = self.calls.get_mut(&sid) {
                    call.facts.progress(&progress);
                    self.registry.progress(now, &call.id, &progress);
                    // The requester may be gone (client disconnected): the call goes on.
                    let _ = call.reply.send(progress);
                }
            }
        }
    }

    /// `"Click-To-Call: <destination user>" <identity>`, as the original's Referred-By
    /// (and From, which `c2c::identity` builds now).
    fn our_name_addr(&self, destination: &Uri) -> NameAddr {
        let mut na = NameAddr::new(self.cfg.identity.clone());
        let user = destination.user_unescaped().unwrap_or_default();
        na.display_name = Some(format!("Click-To-Call: {user}"));
        na
    }

    /// Our Contact for a request to `target`: it matches the transport of the first hop
    /// (the outbound proxy, else the target; RFC 3261 §8.1.1.8).
    fn contact(&self, user: Option<&str>, target: &Uri) -> NameAddr {
        let hop = self.cfg.outbound_proxy.as_ref().unwrap_or(target);
        contact::for_hop(user, self.cfg.local_ip, self.cfg.ports, hop)
    }

    /// The spec of our first request to `target` in a new dialog: the configuration's
    /// outbound proxy (RFC 3261 §8.1.2), `OutboundProxyAll` and `FixNatContact`.
    fn dialog_spec(
        &self,
        target: &Uri,
        from: NameAddr,
        contact: NameAddr,
        offer: Option<Vec<u8>>,
        extra_headers: Vec<(String, String)>,
    ) -> DialogSpec {
        DialogSpec {
            target: target.clone(),
            from,
            contact,
            outbound_proxy: self.cfg.outbound_proxy.clone(),
            proxy_all: self.cfg.outbound_proxy_all,
            fix_nat: self.cfg.fix_nat_contact,
            offer,
            extra_headers,
        }
    }

    /// Files a dialog of ours under its Call-ID and local tag, so the requests and
    /// responses in it find the call's leg.
    fn file_dialog(&mut self, sip: &Dialog, sid: SessionId, leg: Role) {
        if let Some(tag) = sip.local_tag() {
            self.dialogs
                .insert((sip.call_id().to_string(), tag.to_string()), (sid, leg));
        }
    }

    /// Who the call's identity templates may name (`c2c::identity`).
    fn parties<'a>(&'a self, call: &'a Call) -> Parties<'a> {
        Parties {
            initiator: &call.initiator,
            destination: &call.destination,
            identity: &self.cfg.identity,
        }
    }

    fn invite_initiator(&mut self, sid: SessionId) {
        let Some(call) = self.calls.get(&sid) else {
            return;
        };
        let parties = self.parties(call);
        let caller = self.cfg.caller_identity.initiator_leg(
            &parties,
            &call.options.initiator_caller,
            call.options.auto_answer,
        );
        let contact = self.contact(self.cfg.identity.user.as_deref(), &call.initiator);
        let session_id = session_version();
        let offer = sdp::inactive_offer(self.cfg.local_ip, session_id, &self.cfg.offer_codecs)
            .to_string()
            .into_bytes();
        let origin = LegOrigin::new(self.cfg.local_ip, session_id);
        let spec = self.dialog_spec(
            &call.initiator,
            caller.from,
            contact,
            Some(offer.clone()),
            caller.headers,
        );
        self.start_leg(sid, Role::Initiator, spec, offer, origin);
    }

    fn invite_destination(&mut self, sid: SessionId) {
        let Some(call) = self.calls.get(&sid) else {
            return;
        };
        let Some(init) = call.legs[0].as_ref() else {
            return;
        };
        // The destination sees the initiator calling: by default From is the initiator
        // leg's To without its tag (as the original), `Destination…` keys and the request
        // may change it. Contact carries the initiator's user part (as the original).
        let mut legacy = init.sip.remote().clone();
        legacy.params.remove("tag");
        let contact = self.contact(legacy.uri.user.as_deref(), &call.destination);
        let parties = self.parties(call);
        let caller = self.cfg.caller_identity.destination_leg(
            &parties,
            legacy,
            &call.options.destination_caller,
        );
        let spec = self.dialog_spec(
            &call.destination,
            caller.from,
            contact,
            None,
            caller.headers,
        );
        let origin = LegOrigin::new(self.cfg.local_ip, session_version());
        self.start_leg(sid, Role::Destination, spec, Vec::new(), origin);
    }

    fn start_leg(
        &mut self,
        sid: SessionId,
        leg: Role,
        spec: DialogSpec,
        local_sdp: Vec<u8>,
        mut origin: LegOrigin,
    ) {
        // The offer is the origin's first description: its version is the session id.
        if !local_sdp.is_empty() {
            origin.stamp(&local_sdp);
        }
        let offerless = spec.offer.is_none();
        let redirects = Redirects::new(spec.target.clone());
        let (sip, invite) = Dialog::invite(spec);
        self.file_dialog(&sip, sid, leg);
        let invite_tx = self.send(sid, leg, TxKind::Invite, invite);
        if let Some(call) = self.calls.get_mut(&sid) {
            let mut slot = LegSlot::new(sip, invite_tx, redirects, origin);
            slot.offerless = offerless;
            slot.local_sdp = local_sdp;
            call.legs[leg.index()] = Some(slot);
        }
    }

    /// The leg's dialog cannot go on: a session refresh failed (the peer no longer has the
    /// session, RFC 4028 §10) or the phone answered what we cannot use. The leg is ended
    /// with BYE as if its phone had hung up, and the call with it.
    fn end_dialog(&mut self, now: Instant, sid: SessionId, leg: Role, code: u16) {
        log::info!(target: "c2c", "click-to-call {sid}: the {}'s dialog failed ({code}): ending the call", leg.as_str());
        if let Some(call) = self.calls.get_mut(&sid) {
            call.session.note_end(crate::cdr::EndedBy::Error);
        }
        if let Some(slot) = self.slot_mut(sid, leg) {
            let bye = slot.sip.bye();
            self.send(sid, leg, TxKind::Bye, bye);
        }
        self.feed(now, sid, leg, LegEvent::RemoteBye);
    }

    fn slot_mut(&mut self, sid: SessionId, leg: Role) -> Option<&mut LegSlot> {
        self.calls.get_mut(&sid)?.legs[leg.index()].as_mut()
    }

    /// Send the REFER (Refer-To: the destination) in the initiator's dialog.
    fn send_refer(&mut self, sid: SessionId) {
        let referred_by = {
            let Some(call) = self.calls.get(&sid) else {
                return;
            };
            self.our_name_addr(&call.destination)
        };
        let Some(call) = self.calls.get_mut(&sid) else {
            return;
        };
        let target = call.destination.clone();
        let Some(slot) = call.legs[0].as_mut() else {
            return;
        };
        let refer = slot.sip.refer(&target, &referred_by);
        self.send(sid, Role::Initiator, TxKind::Refer, refer);
    }

    /// Send the REFER (Refer-To: the destination) to the initiator outside any dialog
    /// (RFC 5359 §2.18): From us (the same name as the other modes' INVITE), To the
    /// initiator. Its subscription's dialog is filed as the initiator's leg, so the
    /// NOTIFYs find the call (before the 2xx too, RFC 6665 §4.1.2.4).
    fn send_out_of_dialog_refer(&mut self, sid: SessionId) {
        let Some(call) = self.calls.get(&sid) else {
            return;
        };
        let referred_by = self.our_name_addr(&call.destination);
        let parties = self.parties(call);
        let caller = self
            .cfg
            .caller_identity
            .initiator_caller(&parties, &call.options.initiator_caller);
        let contact = self.contact(self.cfg.identity.user.as_deref(), &call.initiator);
        let spec = self.dialog_spec(&call.initiator, caller.from, contact, None, Vec::new());
        let redirects = Redirects::new(spec.target.clone());
        let (sip, mut refer) = Dialog::refer_out_of_dialog(spec, &call.destination, &referred_by);
        for (name, value) in &caller.headers {
            refer.push_header(name, value);
        }
        self.file_dialog(&sip, sid, Role::Initiator);
        let tx = self.send(sid, Role::Initiator, TxKind::Refer, refer);
        if let Some(call) = self.calls.get_mut(&sid) {
            // No session in this dialog: the origin is never stamped.
            let origin = LegOrigin::new(self.cfg.local_ip, session_version());
            call.legs[Role::Initiator.index()] = Some(LegSlot::new(sip, tx, redirects, origin));
        }
    }

    /// The call is an out-of-dialog REFER click-to-dial.
    fn out_of_dialog(&self, sid: SessionId) -> bool {
        self.calls
            .get(&sid)
            .is_some_and(|c| c.mode == CallMode::ReferOutOfDialog)
    }

    /// The wait after a REFER's 491 is over: send it again while the initiator's dialog
    /// lives; if the initiator hung up meanwhile, the session ends the call.
    fn refer_again(&mut self, now: Instant, sid: SessionId, leg: Role) {
        let confirmed = self
            .slot_mut(sid, leg)
            .is_some_and(|slot| slot.sip.state() == crate::ua::DialogState::Confirmed);
        if confirmed {
            self.send_refer(sid);
        } else {
            self.feed(now, sid, leg, LegEvent::ReferRejected { code: 491 });
        }
    }

    /// Counts a 491 to the call's REFER: true while it may be sent again.
    fn refer_glare(&mut self, sid: SessionId) -> bool {
        let Some(call) = self.calls.get_mut(&sid) else {
            return false;
        };
        call.refer_glares += 1;
        call.refer_glares <= REFER_GLARE_RETRIES
    }
}

/// Why a re-INVITE is sent later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Redo {
    /// Our offer met glare (491): send it again.
    Offer,
    /// Refresh the session (RFC 4028).
    Refresh,
    /// Our REFER met a 491: send it again.
    Refer,
    /// The leg's session expires without a refresh (RFC 4028 §10): BYE.
    Expire,
}

/// How many times a REFER answered 491 is sent again before the 491 counts as a refusal.
const REFER_GLARE_RETRIES: u8 = 2;

/// An SDP answer that rejects every stream of `offer` (RFC 3264 §6: port 0, the offered
/// formats), from our address.
fn rejecting_answer(offer: &[u8], local_ip: IpAddr) -> Option<Vec<u8>> {
    let offer = sdp::SessionDescription::parse(offer).ok()?;
    let mut answer = sdp::inactive_offer(local_ip, session_version(), &[sdp::Codec::Pcmu]);
    let template = answer.media.first()?.clone();
    answer.media = offer
        .media
        .iter()
        .map(|m| sdp::Media {
            media: m.media.clone(),
            port: 0,
            num_ports: None,
            proto: m.proto.clone(),
            formats: m.formats.clone(),
            attributes: Vec::new(),
            ..template.clone()
        })
        .collect();
    Some(answer.to_string().into_bytes())
}

/// RFC 3261 §14.1: the owner of the Call-ID waits a random 2.1 to 4 s, in 10 ms steps.
fn glare_wait() -> std::time::Duration {
    let mut b = [0u8; 2];
    let r = openssl::rand::rand_bytes(&mut b).map_or(0, |()| u16::from_le_bytes(b));
    std::time::Duration::from_millis(2100 + u64::from(r % 191) * 10)
}

/// The SDP origin's session id and version: seconds since the epoch, as the original (any
/// number unique enough works, RFC 4566 §5.2).
fn session_version() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

mod ack_wait;
mod due;
mod origin;
mod requests;
mod responses;
mod session_timer;
#[cfg(test)]
mod tests;
