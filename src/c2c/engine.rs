//! The calls thread's state: every click-to-call session and its legs. It is fed commands
//! from the front doors, SIP events from the reactor and the clock, and returns the SIP
//! commands to send. No I/O and no clock of its own, so tests drive it by hand; the thread
//! around it is in `calls_thread`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

use crossbeam_channel::Sender;

use super::command::{Command, Leg, Progress};
use super::session::{Action, LegEvent, Session, Timing};
use crate::sip::msg::{Host, Message, Method, NameAddr, Uri};
use crate::sip::reactor::{ClientTxId, ServerTxId, SipCommand, SipEvent};
use crate::sip::sdp;
use crate::ua::leg::{InviteOutcome, Leg as SipLeg, LegSpec};
use crate::ua::{notify, out_of_dialog};

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
    /// A re-INVITE carrying the other leg's offer (anchored call): its answer goes back
    /// on that leg's server transaction.
    Relay(ServerTxId),
}

#[derive(Debug)]
struct LegSlot {
    sip: SipLeg,
    invite_tx: ClientTxId,
    /// The 2xx of an offerless INVITE holds the offer: its ACK waits for our answer.
    offerless: bool,
    /// The SDP we last gave this leg, to answer a re-INVITE or UPDATE from its phone.
    local_sdp: Vec<u8>,
    /// The offer of this offerless leg's 2xx: if the call ends before we have the real
    /// answer, the ACK still needs a valid one.
    remote_offer: Option<Vec<u8>>,
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
    /// Re-INVITEs from a phone whose offer was relayed to the other phone, by their server
    /// transaction, waiting for the other phone's answer.
    pending_relays: HashMap<ServerTxId, Message>,
}

/// All calls of the process.
#[derive(Debug)]
pub struct Engine {
    cfg: EngineConfig,
    next_tx: u64,
    next_session: SessionId,
    calls: HashMap<SessionId, Call>,
    txs: HashMap<ClientTxId, (SessionId, Leg, TxKind)>,
    /// (Call-ID, our tag) → the leg's call. Our tags are unique, so this finds the dialog
    /// of any in-dialog request (RFC 3261 §12.2.2).
    dialogs: HashMap<(String, String), (SessionId, Leg)>,
    timers: BTreeSet<(Instant, SessionId)>,
    /// Re-INVITEs refused with 491, to be sent again (RFC 3261 §14.1).
    glare_retries: BTreeSet<(Instant, SessionId, Leg)>,
    out: VecDeque<SipCommand>,
}

fn other_leg(leg: Leg) -> Leg {
    match leg {
        Leg::Initiator => Leg::Destination,
        Leg::Destination => Leg::Initiator,
    }
}

fn idx(leg: Leg) -> usize {
    match leg {
        Leg::Initiator => 0,
        Leg::Destination => 1,
    }
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
            glare_retries: BTreeSet::new(),
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
        let retry = self.glare_retries.first().map(|(t, _, _)| *t);
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
                            leg: Leg::Initiator,
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
                    TxKind::Refer => Some(LegEvent::ReferRejected { code }),
                    TxKind::Bye => Some(LegEvent::Ended),
                    TxKind::ForkBye | TxKind::Prack => None,
                };
                if let Some(event) = event {
                    self.feed(now, sid, leg, event);
                }
            }
        }
    }

    /// Fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(t, sid, leg)) = self.glare_retries.first() {
            if t > now {
                break;
            }
            self.glare_retries.remove(&(t, sid, leg));
            if let Some(slot) = self.slot_mut(sid, leg)
                && slot.sip.state() == crate::ua::DialogState::Confirmed
            {
                let req = slot.sip.reinvite(slot.local_sdp.clone());
                log::info!(target: "c2c", "click-to-call {sid}: re-INVITE to the {} again after 491", leg.as_str());
                self.send(sid, leg, TxKind::Reinvite, req);
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
            if let Some(call) = self.calls.get_mut(&sid) {
                call.session.shutdown();
            }
            self.run(now, sid);
        }
    }

    fn feed(&mut self, now: Instant, sid: SessionId, leg: Leg, event: LegEvent) {
        if let Some(call) = self.calls.get_mut(&sid) {
            call.session.handle(now, leg, event);
            self.run(now, sid);
        }
    }

    fn new_tx(&mut self, sid: SessionId, leg: Leg, kind: TxKind) -> ClientTxId {
        let tx = ClientTxId(self.next_tx);
        self.next_tx += 1;
        self.txs.insert(tx, (sid, leg, kind));
        tx
    }

    fn send(&mut self, sid: SessionId, leg: Leg, kind: TxKind, request: Message) -> ClientTxId {
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
        self.glare_retries.retain(|(_, s, _)| *s != sid);
    }

    fn act(&mut self, now: Instant, sid: SessionId, action: Action) {
        let _ = now;
        match action {
            Action::InviteInitiator => self.invite_initiator(sid),
            Action::InviteDestination => self.invite_destination(sid),
            Action::Refer => {
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
                self.send(sid, Leg::Initiator, TxKind::Refer, refer);
            }
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
        let spec = LegSpec {
            target: call.initiator.clone(),
            from,
            contact,
            outbound_proxy: self.cfg.outbound_proxy.clone(),
            offer: Some(offer.clone()),
        };
        self.start_leg(sid, Leg::Initiator, spec, offer);
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
        let spec = LegSpec {
            target: call.destination.clone(),
            from,
            contact,
            outbound_proxy: self.cfg.outbound_proxy.clone(),
            offer: None,
        };
        self.start_leg(sid, Leg::Destination, spec, Vec::new());
    }

    fn start_leg(&mut self, sid: SessionId, leg: Leg, spec: LegSpec, local_sdp: Vec<u8>) {
        let offerless = spec.offer.is_none();
        let (sip, invite) = SipLeg::invite(spec);
        if let Some(tag) = sip.local_tag() {
            self.dialogs
                .insert((sip.call_id().to_string(), tag.to_string()), (sid, leg));
        }
        let invite_tx = self.send(sid, leg, TxKind::Invite, invite);
        if let Some(call) = self.calls.get_mut(&sid) {
            call.legs[idx(leg)] = Some(LegSlot {
                sip,
                invite_tx,
                offerless,
                local_sdp,
                remote_offer: None,
            });
        }
    }

    /// An offer from `leg`'s phone can go to the other phone: both legs of an anchored call
    /// are up and the other has no INVITE of ours outstanding.
    fn can_relay(&self, sid: SessionId, leg: Leg) -> bool {
        let Some(call) = self.calls.get(&sid) else {
            return false;
        };
        call.session.is_anchored()
            && call.legs[idx(other_leg(leg))].as_ref().is_some_and(|o| {
                o.sip.state() == crate::ua::DialogState::Confirmed && !o.sip.reinvite_pending()
            })
    }

    fn slot_mut(&mut self, sid: SessionId, leg: Leg) -> Option<&mut LegSlot> {
        self.calls.get_mut(&sid)?.legs[idx(leg)].as_mut()
    }

    fn on_response(&mut self, now: Instant, tx: ClientTxId, resp: &Message) {
        let Some(&(sid, leg, kind)) = self.txs.get(&tx) else {
            log::debug!(target: "c2c", "response for a finished transaction dropped");
            return;
        };
        let code = resp.status().unwrap_or(0);
        let invite_kind = matches!(kind, TxKind::Invite | TxKind::Reinvite | TxKind::Relay(_));
        if code >= 200 && !invite_kind {
            self.txs.remove(&tx);
        }
        match kind {
            _ if invite_kind => self.on_invite_response(now, sid, leg, kind, resp),
            TxKind::Refer => match code {
                200..=299 => self.feed(now, sid, leg, LegEvent::ReferAccepted),
                300.. => self.feed(now, sid, leg, LegEvent::ReferRejected { code }),
                _ => {}
            },
            TxKind::Bye if code >= 200 => self.feed(now, sid, leg, LegEvent::Ended),
            _ => {}
        }
    }

    fn on_invite_response(
        &mut self,
        now: Instant,
        sid: SessionId,
        leg: Leg,
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
            InviteOutcome::Failed { code: 491 } if kind == TxKind::Reinvite => {
                // RFC 3261 §14.1: glare. We own the Call-ID, so wait 2.1–4 s and try again.
                self.glare_retries.insert((now + glare_wait(), sid, leg));
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

    /// The other leg answered the offer we relayed from `relayed_leg`'s phone: answer that
    /// phone's re-INVITE with the same status and, on success, the other phone's SDP.
    fn answer_relay(
        &mut self,
        sid: SessionId,
        relayed_leg: Leg,
        stx: ServerTxId,
        code: u16,
        reason: &str,
        sdp: Option<Vec<u8>>,
    ) {
        let Some(call) = self.calls.get_mut(&sid) else {
            return;
        };
        let origin = other_leg(relayed_leg);
        let Some(slot) = call.legs[idx(origin)].as_mut() else {
            return;
        };
        let Some(req) = call.pending_relays.remove(&stx) else {
            return;
        };
        let mut resp = slot.sip.response_to(&req, code, reason);
        if let Some(body) = sdp.filter(|_| (200..300).contains(&code)) {
            slot.local_sdp = body.clone();
            resp.set_body(Some("application/sdp"), body);
        }
        self.respond(stx, resp);
    }

    fn respond(&mut self, tx: ServerTxId, response: Message) {
        self.out.push_back(SipCommand::Respond { tx, response });
    }

    fn on_request(&mut self, now: Instant, tx: ServerTxId, req: Message) {
        let found = match (req.call_id(), req.to_tag()) {
            (Ok(call_id), Some(tag)) => self
                .dialogs
                .get(&(call_id.to_string(), tag.to_string()))
                .copied(),
            _ => None,
        };
        let Some((sid, leg)) = found.filter(|(sid, leg)| {
            self.calls
                .get(sid)
                .and_then(|c| c.legs[idx(*leg)].as_ref())
                .is_some_and(|s| s.sip.matches(&req))
        }) else {
            if let Some(resp) = out_of_dialog::answer(&req) {
                log::debug!(target: "c2c", "{} outside any dialog answered {}",
                    req.method().map(|m| m.as_str().to_string()).unwrap_or_default(), resp.status().unwrap_or(0));
                self.respond(tx, resp);
            }
            return;
        };
        let Some(method) = req.method().cloned() else {
            return;
        };
        let relay = method == Method::Invite && !req.body().is_empty() && self.can_relay(sid, leg);
        let Some(slot) = self.slot_mut(sid, leg) else {
            return;
        };
        if method == Method::Ack {
            // The ACK of a 2xx we gave to a re-INVITE or UPDATE: nothing more to do.
            return;
        }
        if slot.sip.on_request(&req).is_err() {
            // RFC 3261 §12.2.2: a lower CSeq than the last one seen gets 500.
            let resp = slot.sip.response_to(&req, 500, "Server Internal Error");
            self.respond(tx, resp);
            return;
        }
        match method {
            Method::Bye => {
                let resp = slot.sip.response_to(&req, 200, "OK");
                slot.sip.terminate();
                self.respond(tx, resp);
                log::info!(target: "c2c", "click-to-call {sid}: {} hung up", leg.as_str());
                self.feed(now, sid, leg, LegEvent::RemoteBye);
            }
            Method::Notify if notify::is_refer_event(&req) => {
                let resp = slot.sip.response_to(&req, 200, "OK");
                self.respond(tx, resp);
                let notice = notify::read(&req);
                if let Some(code) = notice.code {
                    self.feed(now, sid, leg, LegEvent::TransferProgress { code });
                }
                if notice.terminated && notice.code.is_none_or(|c| c < 200) {
                    self.feed(now, sid, leg, LegEvent::TransferEnded);
                }
            }
            Method::Invite if slot.sip.reinvite_pending() => {
                // RFC 3261 §14.2: our own re-INVITE is outstanding.
                let resp = slot.sip.response_to(&req, 491, "Request Pending");
                self.respond(tx, resp);
            }
            Method::Invite if relay => {
                // Anchored call: a new offer from one phone (hold, resume, codec change) goes
                // to the other phone in a re-INVITE; its answer comes back here (RFC 3725
                // §5: the controller relays offers and answers between the two legs).
                let offer = req.body().to_vec();
                let other = other_leg(leg);
                if let Some(call) = self.calls.get_mut(&sid) {
                    call.pending_relays.insert(tx, req);
                }
                let Some(slot) = self.slot_mut(sid, other) else {
                    return;
                };
                slot.local_sdp = offer.clone();
                let reinvite = slot.sip.reinvite(offer);
                log::info!(target: "c2c", "click-to-call {sid}: relaying the {}'s new offer", leg.as_str());
                self.send(sid, other, TxKind::Relay(tx), reinvite);
            }
            Method::Invite | Method::Update => {
                // A session refresh, or a change we cannot pass on: the answer is the SDP this
                // leg last had from us, which keeps the session as it is (RFC 3264 §8).
                let mut resp = slot.sip.response_to(&req, 200, "OK");
                if !req.body().is_empty() && !slot.local_sdp.is_empty() {
                    resp.set_body(Some("application/sdp"), slot.local_sdp.clone());
                }
                self.respond(tx, resp);
            }
            Method::Info | Method::Message | Method::Options | Method::Notify => {
                let resp = slot.sip.response_to(&req, 200, "OK");
                self.respond(tx, resp);
            }
            _ => {
                let mut resp = slot.sip.response_to(&req, 405, "Method Not Allowed");
                resp.push_header("Allow", crate::ua::leg::ALLOW);
                self.respond(tx, resp);
            }
        }
    }
}

/// An SDP answer that rejects every stream of `offer` (RFC 3264 §6: port 0, the offered
/// formats), from our address.
fn rejecting_answer(offer: &[u8], local_ip: IpAddr) -> Option<Vec<u8>> {
    let offer = sdp::Session::parse(offer).ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c2c::command::Leg as L;
    use crossbeam_channel::{Receiver, unbounded};
    use std::time::Duration;

    fn engine() -> Engine {
        Engine::new(EngineConfig {
            identity: Uri::parse("sip:click2call@127.0.0.1").unwrap(),
            local_ip: "127.0.0.1".parse().unwrap(),
            local_port: 5072,
            outbound_proxy: None,
            timing: Timing::from_ring_timeout(Duration::from_secs(30)),
        })
    }

    fn place(e: &mut Engine, anchor: bool) -> Receiver<Progress> {
        let (tx, rx) = unbounded();
        e.handle_command(
            Instant::now(),
            Command::ClickToCall {
                initiator_uri: "sip:100@127.0.0.1:5061".into(),
                destination_uri: "sip:200@127.0.0.1:5062".into(),
                anchor,
                reply: tx,
            },
        );
        rx
    }

    fn sent(e: &mut Engine) -> Vec<SipCommand> {
        std::iter::from_fn(|| e.poll_command()).collect()
    }

    fn one_request(e: &mut Engine) -> (ClientTxId, Message) {
        let mut cmds = sent(e);
        assert_eq!(cmds.len(), 1, "expected one request, got {cmds:?}");
        match cmds.remove(0) {
            SipCommand::SendRequest { tx, request } => (tx, request),
            other => panic!("expected a request, got {other:?}"),
        }
    }

    /// A response from the phone: its tag, its Contact, an optional SDP body. The request
    /// gets a Via as the reactor would add one.
    fn answer(req: &Message, code: u16, tag: &str, sdp: Option<&str>) -> Message {
        let mut req = req.clone();
        req.insert_header_front("Via", "SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bKtest;rport");
        let mut resp = Message::response_to(&req, code, "X", Some(tag));
        resp.push_header("Contact", "<sip:service@127.0.0.1:5061;transport=UDP>");
        if let Some(body) = sdp {
            resp.set_body(Some("application/sdp"), body.as_bytes().to_vec());
        }
        resp
    }

    fn events(rx: &Receiver<Progress>) -> Vec<(u16, L)> {
        rx.try_iter().map(|p| (p.code, p.leg)).collect()
    }

    /// A request from the phone within the leg's dialog.
    fn in_dialog(
        invite: &Message,
        method: &str,
        cseq: u32,
        tag: &str,
        extra: &str,
        body: &str,
    ) -> Message {
        let from_tag = invite.from_tag().unwrap();
        let text = format!(
            "{method} sip:click2call@127.0.0.1:5072 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-{method}-{cseq}\r\nFrom: <sip:100@127.0.0.1:5061>;tag={tag}\r\nTo: <sip:click2call@127.0.0.1>;tag={from_tag}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            invite.call_id().unwrap(),
            body.len()
        );
        Message::parse(text.as_bytes()).expect("in-dialog request parses")
    }

    #[test]
    fn initiator_invite_is_built_like_the_original() {
        let mut e = engine();
        let _rx = place(&mut e, false);
        let (_, invite) = one_request(&mut e);
        let text = String::from_utf8(invite.to_bytes()).unwrap();
        assert!(
            text.starts_with("INVITE sip:100@127.0.0.1:5061 SIP/2.0\r\n"),
            "{text}"
        );
        for needle in [
            "Contact: <sip:click2call@127.0.0.1:5072>\r\n",
            "To: <sip:100@127.0.0.1:5061>\r\n",
            "From: \"Click-To-Call: 200\"<sip:click2call@127.0.0.1>;tag=",
            "CSeq: 1 INVITE\r\n",
            "Session-Expires: 1800\r\n",
            "Min-SE: 90\r\n",
            "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, SUBSCRIBE, UPDATE, PRACK, INFO, MESSAGE\r\n",
            "Supported: replaces, timer, norefersub, 100rel\r\n",
            "User-Agent: ClickToCall\r\n",
            "Content-Type: application/sdp\r\n",
            "m=audio 8000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=inactive\r\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }

    #[test]
    fn refer_flow_end_to_end_through_sip_messages() {
        let mut e = engine();
        let rx = place(&mut e, false);
        let (itx, invite) = one_request(&mut e);
        let now = Instant::now();
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: itx,
                response: answer(&invite, 180, "a", None),
            },
        );
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: itx,
                response: answer(&invite, 200, "a", Some("v=0\r\n")),
            },
        );
        let cmds = sent(&mut e);
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        let SipCommand::SendAck { request: ack } = &cmds[0] else {
            panic!("{cmds:?}")
        };
        assert_eq!(
            ack.request_uri().unwrap().to_string(),
            "sip:service@127.0.0.1:5061;transport=UDP"
        );
        assert_eq!(ack.cseq().unwrap().0, 1);
        let SipCommand::SendRequest {
            tx: rtx,
            request: refer,
        } = &cmds[1]
        else {
            panic!("{cmds:?}")
        };
        assert_eq!(refer.header("Refer-To"), Some("<sip:200@127.0.0.1:5062>"));
        assert_eq!(
            refer.header("Referred-By"),
            Some("\"Click-To-Call: 200\"<sip:click2call@127.0.0.1>")
        );
        assert_eq!(refer.cseq().unwrap(), (2, Method::Refer));
        // A 2xx retransmission is acknowledged again with the same ACK.
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: itx,
                response: answer(&invite, 200, "a", Some("v=0\r\n")),
            },
        );
        assert!(matches!(&sent(&mut e)[..], [SipCommand::SendAck { .. }]));
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: *rtx,
                response: answer(refer, 202, "a", None),
            },
        );
        let frag = "SIP/2.0 100 Trying\r\n";
        let n1 = in_dialog(
            &invite,
            "NOTIFY",
            1,
            "a",
            "Event: refer\r\nSubscription-State: active;expires=60\r\nContent-Type: message/sipfrag\r\n",
            frag,
        );
        e.handle_sip_event(
            now,
            SipEvent::Request {
                tx: ServerTxId(1),
                request: n1,
                source: "127.0.0.1:5061".parse().unwrap(),
                transport: crate::sip::Transport::Udp,
            },
        );
        let cmds = sent(&mut e);
        assert!(
            matches!(&cmds[..], [SipCommand::Respond { tx: ServerTxId(1), response }] if response.status() == Some(200)),
            "{cmds:?}"
        );
        // baresip ends the sipfrag with a bare LF: still a 200.
        let n2 = in_dialog(
            &invite,
            "NOTIFY",
            2,
            "a",
            "Event: refer\r\nSubscription-State: terminated;reason=noresource\r\nContent-Type: message/sipfrag\r\n",
            "SIP/2.0 200 OK\n",
        );
        e.handle_sip_event(
            now,
            SipEvent::Request {
                tx: ServerTxId(2),
                request: n2,
                source: "127.0.0.1:5061".parse().unwrap(),
                transport: crate::sip::Transport::Udp,
            },
        );
        let cmds = sent(&mut e);
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        let SipCommand::SendRequest {
            tx: btx,
            request: bye,
        } = &cmds[1]
        else {
            panic!("{cmds:?}")
        };
        assert_eq!(bye.method(), Some(&Method::Bye));
        assert_eq!(bye.cseq().unwrap(), (3, Method::Bye));
        assert_eq!(
            events(&rx),
            vec![
                (180, L::Initiator),
                (200, L::Initiator),
                (200, L::Destination)
            ]
        );
        assert_eq!(e.active_calls(), 1);
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: *btx,
                response: answer(bye, 200, "a", None),
            },
        );
        assert_eq!(
            e.active_calls(),
            0,
            "the call is forgotten once every leg ended"
        );
    }

    #[test]
    fn anchored_flow_relays_sdp_and_mirrors_bye() {
        let mut e = engine();
        let rx = place(&mut e, true);
        let (itx, invite) = one_request(&mut e);
        let now = Instant::now();
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: itx,
                response: answer(&invite, 200, "a", Some("v=0\r\no=init\r\n")),
            },
        );
        let cmds = sent(&mut e);
        let SipCommand::SendRequest {
            tx: dtx,
            request: dinv,
        } = &cmds[1]
        else {
            panic!("{cmds:?}")
        };
        assert!(
            dinv.body().is_empty(),
            "the destination's INVITE carries no offer"
        );
        assert_eq!(
            dinv.header("From")
                .map(|f| f.starts_with("<sip:100@127.0.0.1:5061>;tag=")),
            Some(true)
        );
        assert_eq!(dinv.header("Contact"), Some("<sip:100@127.0.0.1:5072>"));
        let offer = "v=0\r\no=dest 1 1 IN IP4 127.0.0.1\r\n";
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: *dtx,
                response: answer(dinv, 200, "d", Some(offer)),
            },
        );
        let cmds = sent(&mut e);
        assert_eq!(
            cmds.len(),
            1,
            "no ACK to the destination before the initiator answers: {cmds:?}"
        );
        let SipCommand::SendRequest {
            tx: rtx,
            request: reinv,
        } = &cmds[0]
        else {
            panic!("{cmds:?}")
        };
        assert_eq!(reinv.body(), offer.as_bytes());
        assert_eq!(reinv.header("Session-Expires"), Some("1800;refresher=uac"));
        let ans = "v=0\r\no=init 2\r\n";
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: *rtx,
                response: answer(reinv, 200, "a", Some(ans)),
            },
        );
        let cmds = sent(&mut e);
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        let SipCommand::SendAck { request: iack } = &cmds[0] else {
            panic!("{cmds:?}")
        };
        assert_eq!(iack.cseq().unwrap().0, 2);
        assert!(iack.body().is_empty());
        let SipCommand::SendAck { request: dack } = &cmds[1] else {
            panic!("{cmds:?}")
        };
        assert_eq!(dack.body(), ans.as_bytes());
        assert_eq!(
            events(&rx),
            vec![(200, L::Initiator), (200, L::Destination)]
        );
        // The destination hangs up: answered, and mirrored to the initiator.
        let dbye = {
            let from_tag = dinv.from_tag().unwrap();
            let text = format!(
                "BYE sip:100@127.0.0.1:5072 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKb\r\nFrom: <sip:200@127.0.0.1:5062>;tag=d\r\nTo: <sip:100@127.0.0.1:5061>;tag={from_tag}\r\nCall-ID: {}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
                dinv.call_id().unwrap()
            );
            Message::parse(text.as_bytes()).unwrap()
        };
        e.handle_sip_event(
            now,
            SipEvent::Request {
                tx: ServerTxId(9),
                request: dbye,
                source: "127.0.0.1:5062".parse().unwrap(),
                transport: crate::sip::Transport::Udp,
            },
        );
        let cmds = sent(&mut e);
        assert!(
            matches!(&cmds[0], SipCommand::Respond { tx: ServerTxId(9), response } if response.status() == Some(200)),
            "{cmds:?}"
        );
        assert!(
            matches!(&cmds[1], SipCommand::SendRequest { request, .. } if request.method() == Some(&Method::Bye) && request.call_id().ok() == invite.call_id().ok()),
            "{cmds:?}"
        );
    }

    #[test]
    fn transaction_time_out_is_a_408_and_transport_error_a_503() {
        for (reason, code) in [
            (crate::sip::reactor::TxFailure::Timeout, 408),
            (
                crate::sip::reactor::TxFailure::Transport("refused".into()),
                503,
            ),
        ] {
            let mut e = engine();
            let rx = place(&mut e, false);
            let (itx, _) = one_request(&mut e);
            e.handle_sip_event(Instant::now(), SipEvent::TxFailed { tx: itx, reason });
            assert_eq!(events(&rx), vec![(code, L::Initiator)]);
            assert_eq!(e.active_calls(), 0);
        }
    }

    #[test]
    fn ring_timeout_sends_cancel_for_the_invite_transaction() {
        let mut e = engine();
        let rx = place(&mut e, false);
        let (itx, invite) = one_request(&mut e);
        let start = Instant::now();
        e.handle_sip_event(
            start,
            SipEvent::Response {
                tx: itx,
                response: answer(&invite, 180, "a", None),
            },
        );
        let due = e.poll_timeout().expect("a ring timer");
        e.handle_timeout(due);
        assert!(matches!(&sent(&mut e)[..], [SipCommand::Cancel { tx }] if *tx == itx));
        e.handle_sip_event(
            due,
            SipEvent::Response {
                tx: itx,
                response: answer(&invite, 487, "a", None),
            },
        );
        assert_eq!(events(&rx), vec![(180, L::Initiator), (408, L::Initiator)]);
        assert_eq!(e.active_calls(), 0);
    }

    #[test]
    fn requests_outside_dialogs_get_403_200_481_405() {
        let mut e = engine();
        let base = |m: &str, to_tag: &str| {
            let text = format!(
                "{m} sip:service@127.0.0.1:5072 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5065;branch=z9hG4bK-{m}\r\nFrom: <sip:sipp@127.0.0.1:5065>;tag=1\r\nTo: <sip:service@127.0.0.1:5072>{to_tag}\r\nCall-ID: c-{m}\r\nCSeq: 1 {m}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            );
            Message::parse(text.as_bytes()).unwrap()
        };
        for (m, tag, code) in [
            ("INVITE", "", 403),
            ("OPTIONS", "", 200),
            ("BYE", ";tag=zz", 481),
            ("SUBSCRIBE", "", 405),
            ("CANCEL", "", 481),
        ] {
            e.handle_sip_event(
                Instant::now(),
                SipEvent::Request {
                    tx: ServerTxId(1),
                    request: base(m, tag),
                    source: "127.0.0.1:5065".parse().unwrap(),
                    transport: crate::sip::Transport::Udp,
                },
            );
            let cmds = sent(&mut e);
            assert!(
                matches!(&cmds[..], [SipCommand::Respond { response, .. }] if response.status() == Some(code)),
                "{m}: {cmds:?}"
            );
        }
        let ack = base("ACK", ";tag=zz");
        e.handle_sip_event(
            Instant::now(),
            SipEvent::Request {
                tx: ServerTxId(2),
                request: ack,
                source: "127.0.0.1:5065".parse().unwrap(),
                transport: crate::sip::Transport::Udp,
            },
        );
        assert!(sent(&mut e).is_empty(), "a stray ACK gets no answer");
    }

    #[test]
    fn reinvite_glare_gets_491_both_ways_and_ours_is_retried() {
        let mut e = engine();
        let rx = place(&mut e, true);
        let (itx, invite) = one_request(&mut e);
        let now = Instant::now();
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: itx,
                response: answer(&invite, 200, "a", Some("v=0\r\n")),
            },
        );
        let cmds = sent(&mut e);
        let SipCommand::SendRequest {
            tx: dtx,
            request: dinv,
        } = &cmds[1]
        else {
            panic!("{cmds:?}")
        };
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: *dtx,
                response: answer(dinv, 200, "d", Some("v=0\r\no=d\r\n")),
            },
        );
        let (rtx, reinv) = one_request(&mut e);
        // The initiator's own re-INVITE crosses ours: it gets 491.
        let theirs = in_dialog(
            &invite,
            "INVITE",
            5,
            "a",
            "Contact: <sip:service@127.0.0.1:5061>\r\nContent-Type: application/sdp\r\n",
            "v=0\r\n",
        );
        e.handle_sip_event(
            now,
            SipEvent::Request {
                tx: ServerTxId(3),
                request: theirs,
                source: "127.0.0.1:5061".parse().unwrap(),
                transport: crate::sip::Transport::Udp,
            },
        );
        let cmds = sent(&mut e);
        assert!(
            matches!(&cmds[..], [SipCommand::Respond { response, .. }] if response.status() == Some(491)),
            "{cmds:?}"
        );
        // Ours is refused with 491 too: no report, and a retry 2.1–4 s later.
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: rtx,
                response: answer(&reinv, 491, "a", None),
            },
        );
        assert!(sent(&mut e).is_empty());
        let due = e.poll_timeout().expect("a retry is scheduled");
        let wait = due - now;
        assert!(
            wait >= Duration::from_millis(2100) && wait <= Duration::from_secs(4),
            "{wait:?}"
        );
        e.handle_timeout(due);
        let (_, again) = one_request(&mut e);
        assert_eq!(
            again.cseq().unwrap(),
            (reinv.cseq().unwrap().0 + 1, Method::Invite)
        );
        assert_eq!(again.body(), reinv.body());
        assert_eq!(
            events(&rx),
            vec![(200, L::Initiator), (200, L::Destination)]
        );
    }

    #[test]
    fn anchored_reinvite_from_a_phone_is_relayed_to_the_other() {
        let mut e = engine();
        let _rx = place(&mut e, true);
        let (itx, invite) = one_request(&mut e);
        let now = Instant::now();
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: itx,
                response: answer(&invite, 200, "a", Some("v=0\r\n")),
            },
        );
        let cmds = sent(&mut e);
        let SipCommand::SendRequest {
            tx: dtx,
            request: dinv,
        } = &cmds[1]
        else {
            panic!("{cmds:?}")
        };
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: *dtx,
                response: answer(dinv, 200, "d", Some("v=0\r\no=d\r\n")),
            },
        );
        let (rtx, reinv) = one_request(&mut e);
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: rtx,
                response: answer(&reinv, 200, "a", Some("v=0\r\no=i\r\n")),
            },
        );
        sent(&mut e);
        // The initiator puts the call on hold: its new offer goes to the destination.
        let hold = "v=0\r\no=i 2\r\na=sendonly\r\n";
        let theirs = in_dialog(
            &invite,
            "INVITE",
            9,
            "a",
            "Contact: <sip:service@127.0.0.1:5061>\r\nContent-Type: application/sdp\r\n",
            hold,
        );
        e.handle_sip_event(
            now,
            SipEvent::Request {
                tx: ServerTxId(4),
                request: theirs,
                source: "127.0.0.1:5061".parse().unwrap(),
                transport: crate::sip::Transport::Udp,
            },
        );
        let (relay_tx, relayed) = one_request(&mut e);
        assert_eq!(
            relayed.call_id().ok(),
            dinv.call_id().ok(),
            "sent on the destination's dialog"
        );
        assert_eq!(relayed.body(), hold.as_bytes());
        let recv = "v=0\r\no=d 2\r\na=recvonly\r\n";
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: relay_tx,
                response: answer(&relayed, 200, "d", Some(recv)),
            },
        );
        let cmds = sent(&mut e);
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        assert!(
            matches!(&cmds[0], SipCommand::SendAck { request } if request.call_id().ok() == dinv.call_id().ok()),
            "{cmds:?}"
        );
        let SipCommand::Respond {
            tx: ServerTxId(4),
            response,
        } = &cmds[1]
        else {
            panic!("{cmds:?}")
        };
        assert_eq!(response.status(), Some(200));
        assert_eq!(response.body(), recv.as_bytes());
    }

    #[test]
    fn an_ack_without_the_real_answer_rejects_every_offered_stream() {
        let mut e = engine();
        let _rx = place(&mut e, true);
        let (itx, invite) = one_request(&mut e);
        let now = Instant::now();
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: itx,
                response: answer(&invite, 200, "a", Some("v=0\r\n")),
            },
        );
        let cmds = sent(&mut e);
        let SipCommand::SendRequest {
            tx: dtx,
            request: dinv,
        } = &cmds[1]
        else {
            panic!("{cmds:?}")
        };
        let offer = "v=0\r\no=d 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 8\r\nm=video 6002 RTP/AVP 96\r\n";
        e.handle_sip_event(
            now,
            SipEvent::Response {
                tx: *dtx,
                response: answer(dinv, 200, "d", Some(offer)),
            },
        );
        sent(&mut e);
        // Shutdown while the initiator has not answered the relayed offer yet.
        e.shutdown(now);
        let cmds = sent(&mut e);
        let SipCommand::SendAck { request: ack } = &cmds[0] else {
            panic!("{cmds:?}")
        };
        let body = String::from_utf8(ack.body().to_vec()).unwrap();
        assert!(body.contains("m=audio 0 RTP/AVP 0 8\r\n"), "{body}");
        assert!(body.contains("m=video 0 RTP/AVP 96\r\n"), "{body}");
        assert!(cmds.iter().filter(|c| matches!(c, SipCommand::SendRequest { request, .. } if request.method() == Some(&Method::Bye))).count() == 2, "{cmds:?}");
    }
}
