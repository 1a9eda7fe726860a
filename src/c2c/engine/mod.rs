//! The calls thread's state: every click-to-call session and its legs. It is fed commands
//! from the front doors, SIP events from the reactor and the clock, and returns the SIP
//! commands to send. No I/O and no clock of its own, so tests drive it by hand; the thread
//! around it is in `calls_thread`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

use crossbeam_channel::Sender;

use super::command::{Command, Progress, Role};
use super::session::{Action, LegEvent, Session, Timing};
use crate::sip::msg::{Host, Message, NameAddr, Refresher, Uri};
use crate::sip::reactor::{ClientTxId, ServerTxId, SipCommand, SipEvent};
use crate::sip::sdp;
use crate::ua::dialog::{Dialog, DialogSpec, InviteOutcome};

/// What the engine needs to know about us.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `ClickToCallIdentity`: the `From` of the initiator's INVITE.
    pub identity: Uri,
    /// The address we put in Contact and SDP (RFC 3261 §8.1.1.8, RFC 4566 §5.7).
    pub local_ip: IpAddr,
    /// Our SIP port, for Contact.
    pub local_port: u16,
    /// `OutboundProxy`: pre-loaded route of every out-of-dialog request.
    pub outbound_proxy: Option<Uri>,
    pub timing: Timing,
}

type SessionId = u64;

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
    /// The offer of this offerless leg's 2xx: if the call ends before we have the real
    /// answer, the ACK still needs a valid one.
    remote_offer: Option<Vec<u8>>,
    /// When this leg's next session refresh is due (its entry in `reinvites_due`).
    refresh_at: Option<Instant>,
}

#[derive(Debug)]
struct Call {
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
}

/// All calls of the process.
#[derive(Debug)]
pub struct Engine {
    cfg: EngineConfig,
    next_tx: u64,
    next_session: SessionId,
    calls: HashMap<SessionId, Call>,
    txs: HashMap<ClientTxId, (SessionId, Role, TxKind)>,
    /// (Call-ID, our tag) → the leg's call. Our tags are unique, so this finds the dialog
    /// of any in-dialog request (RFC 3261 §12.2.2).
    dialogs: HashMap<(String, String), (SessionId, Role)>,
    timers: BTreeSet<(Instant, SessionId)>,
    /// Re-INVITEs to send later: after a 491 (RFC 3261 §14.1) or to refresh the session
    /// when we are its refresher (RFC 4028 §7.4).
    reinvites_due: BTreeSet<(Instant, SessionId, Role, Redo)>,
    out: VecDeque<SipCommand>,
}

impl Engine {
    pub fn new(cfg: EngineConfig) -> Self {
        Engine {
            cfg,
            next_tx: 1,
            next_session: 1,
            calls: HashMap::new(),
            txs: HashMap::new(),
            dialogs: HashMap::new(),
            timers: BTreeSet::new(),
            reinvites_due: BTreeSet::new(),
            out: VecDeque::new(),
        }
    }

    /// Number of click-to-calls still alive.
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// The next SIP command for the reactor.
    pub fn poll_command(&mut self) -> Option<SipCommand> {
        self.out.pop_front()
    }

    /// The earliest instant at which `handle_timeout` has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let session = self.timers.first().map(|(t, _)| *t);
        let retry = self.reinvites_due.first().map(|(t, ..)| *t);
        session.into_iter().chain(retry).min()
    }

    /// A command from a front door.
    pub fn handle_command(&mut self, now: Instant, cmd: Command) {
        match cmd {
            Command::ClickToCall {
                initiator_uri,
                destination_uri,
                anchor,
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
                log::info!(target: "c2c", "click-to-call {sid}: {initiator} -> {destination} ({})",
                    if anchor { "anchored" } else { "unanchored" });
                let call = Call {
                    session: Session::new(now, anchor, self.cfg.timing),
                    reply,
                    initiator,
                    destination,
                    legs: [None, None],
                    timer: None,
                    pending_relays: HashMap::new(),
                    refer_glares: 0,
                };
                self.calls.insert(sid, call);
                self.run(now, sid);
            }
        }
    }

    /// An event from the reactor.
    pub fn handle_sip_event(&mut self, now: Instant, ev: SipEvent) {
        match ev {
            SipEvent::Request { tx, request, .. } => self.on_request(now, tx, request),
            SipEvent::Response { tx, response } => self.on_response(now, tx, &response),
            // Minimal hook (reactor side of issue 17 item 8), left for the calls-thread
            // owner to refine: the phone's re-INVITE was cancelled and answered 487.
            SipEvent::Cancelled { tx } => self.relay_cancelled(tx),
            SipEvent::TxFailed { tx, reason } => {
                let Some((sid, leg, kind)) = self.txs.remove(&tx) else {
                    return;
                };
                log::info!(target: "c2c", "click-to-call {sid}: {} {kind:?} failed: {reason}", leg.as_str());
                let code = reason.status();
                let event = match kind {
                    TxKind::Invite => Some(LegEvent::Failed { code }),
                    TxKind::Reinvite => Some(LegEvent::ReinviteFailed { code }),
                    TxKind::Relay(stx) => {
                        self.answer_relay(sid, leg, stx, code, &reason.to_string(), None);
                        None
                    }
                    TxKind::NitRelay(stx) => {
                        let reason = if code == 408 {
                            "Request Timeout"
                        } else {
                            "Service Unavailable"
                        };
                        self.answer_nit_relay(sid, stx, code, reason);
                        None
                    }
                    TxKind::Refer => Some(LegEvent::ReferFailed { code }),
                    TxKind::Bye => Some(LegEvent::Ended),
                    TxKind::ForkBye | TxKind::Prack => None,
                    TxKind::Refresh => {
                        self.refresh_failed(now, sid, leg, code);
                        None
                    }
                };
                if let Some(event) = event {
                    self.feed(now, sid, leg, event);
                }
            }
        }
    }

    /// The phone CANCELled its re-INVITE `stx`, which the reactor answered 487 (RFC 3261
    /// §9.2): the relay waits for nothing more, and our copy on the other leg is CANCELled.
    fn relay_cancelled(&mut self, stx: ServerTxId) {
        let copy = self
            .txs
            .iter()
            .find(|(_, (_, _, kind))| *kind == TxKind::Relay(stx))
            .map(|(tx, (sid, ..))| (*tx, *sid));
        let Some((tx, sid)) = copy else {
            return;
        };
        if let Some(call) = self.calls.get_mut(&sid) {
            call.pending_relays.remove(&stx);
        }
        self.out.push_back(SipCommand::Cancel { tx });
    }

    /// Fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
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
            };
            if let Some(slot) = self.slot_mut(sid, leg)
                && slot.sip.state() == crate::ua::DialogState::Confirmed
                && !slot.sip.reinvite_pending()
            {
                let req = slot.sip.reinvite(slot.local_sdp.clone());
                log::info!(target: "c2c", "click-to-call {sid}: re-INVITE to the {} ({redo:?})", leg.as_str());
                self.send(sid, leg, kind, req);
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
    }

    /// Shutting down: every session cancels or hangs up its legs and delivers its final
    /// report now.
    pub fn shutdown(&mut self, now: Instant) {
        let ids: Vec<SessionId> = self.calls.keys().copied().collect();
        for sid in ids {
            // Relayed requests are answered now: the other phones may never answer ours
            // before the process ends (RFC 3261 §15.1.2: 487).
            self.end_relays(sid, None);
            if let Some(call) = self.calls.get_mut(&sid) {
                call.session.shutdown();
            }
            self.run(now, sid);
        }
    }

    fn feed(&mut self, now: Instant, sid: SessionId, leg: Role, event: LegEvent) {
        if let Some(call) = self.calls.get_mut(&sid) {
            call.session.handle(now, leg, event);
            self.run(now, sid);
        }
    }

    fn new_tx(&mut self, sid: SessionId, leg: Role, kind: TxKind) -> ClientTxId {
        let tx = ClientTxId(self.next_tx);
        self.next_tx += 1;
        self.txs.insert(tx, (sid, leg, kind));
        tx
    }

    fn send(&mut self, sid: SessionId, leg: Role, kind: TxKind, request: Message) -> ClientTxId {
        let tx = self.new_tx(sid, leg, kind);
        self.out.push_back(SipCommand::SendRequest { tx, request });
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
            self.forget(sid);
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

    fn forget(&mut self, sid: SessionId) {
        // No phone's request is left unanswered when its call ends (RFC 3261 §15.1.2).
        self.end_relays(sid, None);
        let Some(call) = self.calls.remove(&sid) else {
            return;
        };
        log::debug!(target: "c2c", "click-to-call {sid} is over");
        if let Some(t) = call.timer {
            self.timers.remove(&(t, sid));
        }
        for slot in call.legs.iter().flatten() {
            if let Some(tag) = slot.sip.local_tag() {
                self.dialogs
                    .remove(&(slot.sip.call_id().to_string(), tag.to_string()));
            }
        }
        self.txs.retain(|_, (s, _, _)| *s != sid);
        self.reinvites_due.retain(|(_, s, ..)| *s != sid);
    }

    fn act(&mut self, now: Instant, sid: SessionId, action: Action) {
        let _ = now;
        match action {
            Action::InviteInitiator => self.invite_initiator(sid),
            Action::InviteDestination => self.invite_destination(sid),
            Action::Refer => self.send_refer(sid),
            Action::Reinvite { leg, sdp } => {
                let Some(slot) = self.slot_mut(sid, leg) else {
                    return;
                };
                slot.local_sdp = sdp.clone();
                let req = slot.sip.reinvite(sdp);
                self.send(sid, leg, TxKind::Reinvite, req);
            }
            Action::Ack { leg, sdp } => {
                let local_ip = self.cfg.local_ip;
                let Some(slot) = self.slot_mut(sid, leg) else {
                    return;
                };
                // RFC 3261 §13.2.2.4: an ACK to an offer must carry an answer; without the
                // real one (the call is ending), a valid answer rejecting every stream.
                let sdp = sdp.or_else(|| {
                    slot.remote_offer
                        .as_deref()
                        .and_then(|offer| rejecting_answer(offer, local_ip))
                });
                if let Some(body) = &sdp {
                    slot.local_sdp = body.clone();
                }
                let ack = slot.sip.ack(sdp);
                self.out.push_back(SipCommand::SendAck { request: ack });
            }
            Action::Cancel(leg) => {
                if let Some(slot) = self.slot_mut(sid, leg) {
                    let tx = slot.invite_tx;
                    self.out.push_back(SipCommand::Cancel { tx });
                }
            }
            Action::Bye(leg) => {
                let Some(slot) = self.slot_mut(sid, leg) else {
                    return;
                };
                let bye = slot.sip.bye();
                self.send(sid, leg, TxKind::Bye, bye);
            }
            Action::Report(progress) => {
                if let Some(call) = self.calls.get(&sid) {
                    // The requester may be gone (client disconnected): the call goes on.
                    let _ = call.reply.send(progress);
                }
            }
        }
    }

    /// `"Click-To-Call: <destination user>" <identity>`, as the original's From and
    /// Referred-By.
    fn our_name_addr(&self, destination: &Uri) -> NameAddr {
        let mut na = NameAddr::new(self.cfg.identity.clone());
        let user = destination.user_unescaped().unwrap_or_default();
        na.display_name = Some(format!("Click-To-Call: {user}"));
        na
    }

    fn contact(&self, user: Option<&str>) -> NameAddr {
        NameAddr::new(Uri::sip(
            user,
            Host::from(self.cfg.local_ip),
            Some(self.cfg.local_port),
        ))
    }

    fn invite_initiator(&mut self, sid: SessionId) {
        let Some(call) = self.calls.get(&sid) else {
            return;
        };
        let from = self.our_name_addr(&call.destination);
        let contact = self.contact(self.cfg.identity.user.as_deref());
        let offer = sdp::inactive_offer(self.cfg.local_ip, session_version())
            .to_string()
            .into_bytes();
        let spec = DialogSpec {
            target: call.initiator.clone(),
            from,
            contact,
            outbound_proxy: self.cfg.outbound_proxy.clone(),
            offer: Some(offer.clone()),
        };
        self.start_leg(sid, Role::Initiator, spec, offer);
    }

    fn invite_destination(&mut self, sid: SessionId) {
        let Some(call) = self.calls.get(&sid) else {
            return;
        };
        let Some(init) = call.legs[0].as_ref() else {
            return;
        };
        // The destination sees the initiator calling: From is the initiator leg's To
        // without its tag, Contact carries the initiator's user part (as the original).
        let mut from = init.sip.remote().clone();
        from.params.remove("tag");
        let contact = self.contact(from.uri.user.as_deref());
        let spec = DialogSpec {
            target: call.destination.clone(),
            from,
            contact,
            outbound_proxy: self.cfg.outbound_proxy.clone(),
            offer: None,
        };
        self.start_leg(sid, Role::Destination, spec, Vec::new());
    }

    fn start_leg(&mut self, sid: SessionId, leg: Role, spec: DialogSpec, local_sdp: Vec<u8>) {
        let offerless = spec.offer.is_none();
        let (sip, invite) = Dialog::invite(spec);
        if let Some(tag) = sip.local_tag() {
            self.dialogs
                .insert((sip.call_id().to_string(), tag.to_string()), (sid, leg));
        }
        let invite_tx = self.send(sid, leg, TxKind::Invite, invite);
        if let Some(call) = self.calls.get_mut(&sid) {
            call.legs[leg.index()] = Some(LegSlot {
                sip,
                invite_tx,
                offerless,
                local_sdp,
                remote_offer: None,
                refresh_at: None,
            });
        }
    }

    /// A 2xx to an INVITE of ours sets the session timer (RFC 4028 §7.2): when it makes us
    /// the refresher, refresh at half the interval (§10); otherwise the peer refreshes.
    fn schedule_refresh(&mut self, now: Instant, sid: SessionId, leg: Role, resp: &Message) {
        let Some(slot) = self.slot_mut(sid, leg) else {
            return;
        };
        let old = slot.refresh_at.take();
        let se = resp.session_expires().ok().flatten();
        let interval = slot
            .sip
            .set_session_interval(se.as_ref().map(|se| se.delta));
        let next = match (se, interval) {
            (Some(se), Some(interval)) if se.refresher == Some(Refresher::Uac) => {
                Some(now + std::time::Duration::from_secs(u64::from(interval) / 2))
            }
            _ => None,
        };
        slot.refresh_at = next;
        if let Some(t) = old {
            self.reinvites_due.remove(&(t, sid, leg, Redo::Refresh));
        }
        if let Some(t) = next {
            self.reinvites_due.insert((t, sid, leg, Redo::Refresh));
        }
    }

    /// A session refresh failed: the peer no longer has the session (RFC 4028 §10), so the
    /// leg is ended as if its phone had hung up, and the call with it.
    fn refresh_failed(&mut self, now: Instant, sid: SessionId, leg: Role, code: u16) {
        log::info!(target: "c2c", "click-to-call {sid}: session refresh to the {} failed ({code}): ending the call", leg.as_str());
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

    fn on_response(&mut self, now: Instant, tx: ClientTxId, resp: &Message) {
        let Some(&(sid, leg, kind)) = self.txs.get(&tx) else {
            log::debug!(target: "c2c", "response for a finished transaction dropped");
            return;
        };
        let code = resp.status().unwrap_or(0);
        let invite_kind = matches!(
            kind,
            TxKind::Invite | TxKind::Reinvite | TxKind::Refresh | TxKind::Relay(_)
        );
        if code >= 200 && !invite_kind {
            self.txs.remove(&tx);
        }
        match kind {
            _ if invite_kind => self.on_invite_response(now, sid, leg, kind, resp),
            TxKind::Refer => match code {
                200..=299 => self.feed(now, sid, leg, LegEvent::ReferAccepted),
                491 if self.refer_glare(sid) => {
                    // The initiator has a request of its own pending (RFC 3261 §14.1 by
                    // analogy): the REFER is not refused, so send it again after the same
                    // wait as a re-INVITE's glare, a bounded number of times.
                    log::info!(target: "c2c", "click-to-call {sid}: REFER got 491: trying again");
                    self.reinvites_due
                        .insert((now + glare_wait(), sid, leg, Redo::Refer));
                }
                300.. => self.feed(now, sid, leg, LegEvent::ReferRejected { code }),
                _ => {}
            },
            TxKind::Bye if code >= 200 => self.feed(now, sid, leg, LegEvent::Ended),
            TxKind::NitRelay(stx) if code >= 200 => {
                let reason = resp.reason().unwrap_or_default().to_string();
                self.answer_nit_relay(sid, stx, code, &reason);
            }
            _ => {}
        }
    }

    fn on_invite_response(
        &mut self,
        now: Instant,
        sid: SessionId,
        leg: Role,
        kind: TxKind,
        resp: &Message,
    ) {
        let Some(slot) = self.slot_mut(sid, leg) else {
            return;
        };
        let ack_now = kind != TxKind::Invite || !slot.offerless;
        let outcome = slot.sip.on_invite_response(resp, ack_now);
        let event = match outcome {
            InviteOutcome::Provisional { ringing, prack } => {
                if let Some(prack) = prack {
                    self.send(sid, leg, TxKind::Prack, prack);
                }
                (ringing && kind == TxKind::Invite).then_some(LegEvent::Ringing)
            }
            InviteOutcome::Answered { sdp, ack } => {
                if let Some(ack) = ack {
                    self.out.push_back(SipCommand::SendAck { request: ack });
                } else if let Some(slot) = self.slot_mut(sid, leg) {
                    slot.remote_offer = sdp.clone();
                }
                self.schedule_refresh(now, sid, leg, resp);
                if kind == TxKind::Refresh {
                    return;
                }
                if let TxKind::Relay(stx) = kind {
                    let (code, reason) =
                        (resp.status().unwrap_or(200), resp.reason().unwrap_or("OK"));
                    self.answer_relay(sid, leg, stx, code, reason, sdp);
                    return;
                }
                Some(match kind {
                    TxKind::Invite => LegEvent::Answered { sdp },
                    _ => LegEvent::ReinviteAnswered { sdp },
                })
            }
            InviteOutcome::Retransmission { ack } => {
                if let Some(ack) = ack {
                    self.out.push_back(SipCommand::SendAck { request: ack });
                }
                None
            }
            InviteOutcome::OtherFork { ack, bye } => {
                log::info!(target: "c2c", "click-to-call {sid}: a second fork answered; hanging it up");
                self.out.push_back(SipCommand::SendAck { request: ack });
                self.send(sid, leg, TxKind::ForkBye, bye);
                None
            }
            InviteOutcome::Failed { code: 491 }
                if matches!(kind, TxKind::Reinvite | TxKind::Refresh) =>
            {
                // RFC 3261 §14.1: glare. We own the Call-ID, so wait 2.1–4 s and try again.
                let redo = if kind == TxKind::Refresh {
                    Redo::Refresh
                } else {
                    Redo::Offer
                };
                self.reinvites_due
                    .insert((now + glare_wait(), sid, leg, redo));
                None
            }
            InviteOutcome::Failed { code } if kind == TxKind::Refresh => {
                self.refresh_failed(now, sid, leg, code);
                None
            }
            InviteOutcome::Failed { code } => Some(match kind {
                TxKind::Relay(stx) => {
                    self.answer_relay(sid, leg, stx, code, resp.reason().unwrap_or("Failed"), None);
                    return;
                }
                TxKind::Invite => LegEvent::Failed { code },
                _ => LegEvent::ReinviteFailed { code },
            }),
            InviteOutcome::Ignored => None,
        };
        if let Some(event) = event {
            self.feed(now, sid, leg, event);
        }
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
}

/// How many times a REFER answered 491 is sent again before the 491 counts as a refusal.
const REFER_GLARE_RETRIES: u8 = 2;

/// An SDP answer that rejects every stream of `offer` (RFC 3264 §6: port 0, the offered
/// formats), from our address.
fn rejecting_answer(offer: &[u8], local_ip: IpAddr) -> Option<Vec<u8>> {
    let offer = sdp::SessionDescription::parse(offer).ok()?;
    let mut answer = sdp::inactive_offer(local_ip, session_version());
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

mod requests;
#[cfg(test)]
mod tests;
