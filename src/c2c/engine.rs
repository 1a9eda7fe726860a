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
}

#[derive(Debug)]
struct LegSlot {
    sip: SipLeg,
    invite_tx: ClientTxId,
    /// The 2xx of an offerless INVITE holds the offer: its ACK waits for our answer.
    offerless: bool,
    /// The SDP we last gave this leg, to answer a re-INVITE or UPDATE from its phone.
    local_sdp: Vec<u8>,
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
    out: VecDeque<SipCommand>,
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
        self.timers.first().map(|(t, _)| *t)
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
                    TxKind::Refer => Some(LegEvent::ReferRejected { code }),
                    TxKind::Bye => Some(LegEvent::Ended),
                    TxKind::ForkBye => None,
                };
                if let Some(event) = event {
                    self.feed(now, sid, leg, event);
                }
            }
        }
    }

    /// Fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
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
                let Some(slot) = self.slot_mut(sid, leg) else {
                    return;
                };
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
            });
        }
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
        if code >= 200 && kind != TxKind::Invite && kind != TxKind::Reinvite {
            self.txs.remove(&tx);
        }
        match kind {
            TxKind::Invite | TxKind::Reinvite => self.on_invite_response(now, sid, leg, kind, resp),
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
        let ack_now = kind == TxKind::Reinvite || !slot.offerless;
        let outcome = slot.sip.on_invite_response(resp, ack_now);
        let event = match outcome {
            InviteOutcome::Provisional { ringing } => {
                (ringing && kind == TxKind::Invite).then_some(LegEvent::Ringing)
            }
            InviteOutcome::Answered { sdp, ack } => {
                if let Some(ack) = ack {
                    self.out.push_back(SipCommand::SendAck { request: ack });
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
            InviteOutcome::Failed { code } => Some(match kind {
                TxKind::Invite => LegEvent::Failed { code },
                _ => LegEvent::ReinviteFailed { code },
            }),
            InviteOutcome::Ignored => None,
        };
        if let Some(event) = event {
            self.feed(now, sid, leg, event);
        }
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
            Method::Invite | Method::Update => {
                // A session refresh or media change from a phone. We relay no media changes
                // (yet): the answer is the SDP this leg last had from us, which keeps the
                // session as it is (RFC 3264 §8: an unchanged answer).
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

/// The SDP origin's session id and version: seconds since the epoch, as the original (any
/// number unique enough works, RFC 4566 §5.2).
fn session_version() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
