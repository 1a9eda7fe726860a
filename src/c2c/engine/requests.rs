//! Requests from the phones: in-dialog requests (BYE, refer NOTIFYs, re-INVITE, the rest)
//! for the legs they belong to, and the answers to requests outside any dialog.

use std::time::Instant;

use super::{Engine, LegEvent, PendingRelay, SessionId, TxKind, session_timer};
use crate::c2c::command::Role;
use crate::sip::msg::{Message, Method};
use crate::sip::reactor::{ServerTxId, SipCommand};
use crate::ua::dialog::ends_dialog;
use crate::ua::{notify, out_of_dialog};

impl Engine {
    /// An offer from `leg`'s phone can go to the other phone: both legs of an anchored call
    /// are up and the other has no INVITE of ours outstanding.
    pub(super) fn can_relay(&self, sid: SessionId, leg: Role) -> bool {
        self.other_leg_up(sid, leg)
            && self.calls.get(&sid).is_some_and(|call| {
                call.legs[leg.other().index()]
                    .as_ref()
                    .is_some_and(|o| !o.sip.reinvite_pending())
            })
    }

    /// An offer from `leg`'s phone (re-INVITE or UPDATE) was relayed and waits for the
    /// other phone's answer.
    fn offer_pending_from(&self, sid: SessionId, leg: Role) -> bool {
        self.calls.get(&sid).is_some_and(|call| {
            call.pending_relays.values().any(|p| {
                p.origin == leg
                    && matches!(p.request.method(), Some(Method::Invite | Method::Update))
            })
        })
    }

    /// A request from `leg`'s phone can be copied into the other leg's dialog: the call is
    /// anchored and the other leg is confirmed. Unlike an offer, an INFO or MESSAGE may
    /// overlap an INVITE transaction of ours: RFC 3261 §14.1 forbids only a second INVITE
    /// transaction at a time.
    fn other_leg_up(&self, sid: SessionId, leg: Role) -> bool {
        self.calls.get(&sid).is_some_and(|call| {
            call.session.is_anchored()
                && call.legs[leg.other().index()]
                    .as_ref()
                    .is_some_and(|o| o.sip.state() == crate::ua::DialogState::Confirmed)
        })
    }

    /// The other leg answered the offer we relayed from `relayed_leg`'s phone: answer that
    /// phone's re-INVITE with the same status and, on success, the other phone's SDP.
    pub(super) fn answer_relay(
        &mut self,
        now: Instant,
        sid: SessionId,
        relayed_leg: Role,
        stx: ServerTxId,
        (code, reason): (u16, &str),
        sdp: Option<Vec<u8>>,
    ) {
        let Some(call) = self.calls.get_mut(&sid) else {
            return;
        };
        let origin = relayed_leg.other();
        let Some(slot) = call.legs[origin.index()].as_mut() else {
            return;
        };
        let Some(PendingRelay { request: req, .. }) = call.pending_relays.remove(&stx) else {
            return;
        };
        let mut resp = slot.sip.response_to(&req, code, reason);
        if let Some(body) = sdp.filter(|_| (200..300).contains(&code)) {
            let body = slot.give(&body);
            resp.set_body(Some("application/sdp"), body);
        }
        if (200..300).contains(&code) {
            self.answer_session_timer(now, sid, origin, &req, &mut resp);
            self.await_ack(now, sid, origin, &req);
        }
        self.respond(stx, resp);
    }

    /// The copy of a phone's request into the other dialog failed on `relayed_leg` with
    /// `code` (a time-out counts as 408). When the code says that dialog is gone (481, 408
    /// and the rest of RFC 5057 §5.1, see `ends_dialog`), passing it on would make the
    /// origin phone end its own dialog silently while we kept both legs anchored to
    /// nothing. The call is over instead: the origin gets 500, which RFC 5057 §5.1 counts
    /// among the codes that fail only the transaction (RFC 3261 §21.5.1: an unexpected
    /// condition on our side), so its dialog is ended by our BYE and not by a guess, and
    /// both legs are BYEd. Returns false when the failure is only the transaction's and
    /// is passed on as it is.
    pub(super) fn relay_ends_call(
        &mut self,
        now: Instant,
        sid: SessionId,
        relayed_leg: Role,
        stx: ServerTxId,
        code: u16,
    ) -> bool {
        if !ends_dialog(code) {
            return false;
        }
        log::info!(target: "c2c", "click-to-call {sid}: the {} answered a relayed request {code}: its dialog is gone, ending the call", relayed_leg.as_str());
        self.answer_pending(sid, stx, 500, "Server Internal Error");
        self.end_dialog(now, sid, relayed_leg, code);
        true
    }

    /// The final outcome of an INFO or MESSAGE relayed to `relayed_leg`: it ends the call
    /// or goes back to the origin as it is.
    pub(super) fn nit_relay_answered(
        &mut self,
        now: Instant,
        sid: SessionId,
        relayed_leg: Role,
        stx: ServerTxId,
        code: u16,
        reason: &str,
    ) {
        if !self.relay_ends_call(now, sid, relayed_leg, stx, code) {
            self.answer_pending(sid, stx, code, reason);
        }
    }

    /// The other phone's final answer to a request we relayed (or our verdict when the
    /// copy failed): this status and reason go back on the origin's transaction. Nothing
    /// else of the call changes: no SDP, ACK or re-INVITE state is touched.
    pub(super) fn answer_pending(
        &mut self,
        sid: SessionId,
        stx: ServerTxId,
        code: u16,
        reason: &str,
    ) {
        let Some(call) = self.calls.get_mut(&sid) else {
            return;
        };
        let Some(PendingRelay { origin, request }) = call.pending_relays.remove(&stx) else {
            return;
        };
        let Some(slot) = call.legs[origin.index()].as_ref() else {
            return;
        };
        let resp = slot.sip.response_to(&request, code, reason);
        self.respond(stx, resp);
    }

    /// Answer every relayed request from `origin`'s phone (every one when `None`) that is
    /// still waiting: its dialog or the whole call is ending. RFC 3261 §15.1.2: once a
    /// dialog is over the UAS still answers its pending requests, and 487 (Request
    /// Terminated) is the recommended answer.
    pub(super) fn end_relays(&mut self, sid: SessionId, origin: Option<Role>) {
        let Some(call) = self.calls.get_mut(&sid) else {
            return;
        };
        let mut ended: Vec<ServerTxId> = call
            .pending_relays
            .iter()
            .filter(|(_, p)| origin.is_none_or(|o| o == p.origin))
            .map(|(stx, _)| *stx)
            .collect();
        ended.sort_by_key(|stx| stx.0);
        for stx in ended {
            let Some(p) = call.pending_relays.remove(&stx) else {
                continue;
            };
            if let Some(slot) = call.legs[p.origin.index()].as_ref() {
                let resp = slot.sip.response_to(&p.request, 487, "Request Terminated");
                self.out.push_back(SipCommand::Respond {
                    tx: stx,
                    response: resp,
                });
            }
        }
    }

    pub(super) fn respond(&mut self, tx: ServerTxId, response: Message) {
        self.out.push_back(SipCommand::Respond { tx, response });
    }

    pub(super) fn on_request(&mut self, now: Instant, tx: ServerTxId, req: Message) {
        let found = match (req.call_id(), req.to_tag()) {
            (Ok(call_id), Some(tag)) => self
                .dialogs
                .get(&(call_id.to_string(), tag.to_string()))
                .copied(),
            _ => None,
        };
        if let Some((sid, leg)) = found
            && self.out_of_dialog(sid)
            && let Some(slot) = self.slot_mut(sid, leg)
            && slot.sip.adopt_notifier(&req)
        {
            log::debug!(target: "c2c", "click-to-call {sid}: a NOTIFY before the REFER's 2xx made its dialog");
        }
        let Some((sid, leg)) = found.filter(|(sid, leg)| {
            self.calls
                .get(sid)
                .and_then(|c| c.legs[leg.index()].as_ref())
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
        // An offerless re-INVITE asks for our offer (RFC 3264 §4, RFC 6337 §5.1): in an
        // anchored call the other phone's, so it travels as a new offer would.
        let offerless = method == Method::Invite && req.body().is_empty();
        let offer = offerless
            || (matches!(method, Method::Invite | Method::Update) && !req.body().is_empty());
        // An offer of an anchored call that cannot go to the other phone now.
        let blocked = if offer && self.other_leg_up(sid, leg) {
            if self.offer_pending_from(sid, leg) {
                Some(Blocked::TheirsPending)
            } else if !self.can_relay(sid, leg) {
                Some(Blocked::OursPending)
            } else {
                None
            }
        } else {
            None
        };
        let relay = match method {
            Method::Invite | Method::Update => {
                offer && blocked.is_none() && self.can_relay(sid, leg)
            }
            Method::Info | Method::Message => self.other_leg_up(sid, leg),
            _ => false,
        };
        let Some(slot) = self.slot_mut(sid, leg) else {
            return;
        };
        if method == Method::Ack {
            // The ACK of a 2xx we gave to a re-INVITE or UPDATE. After an offerless
            // re-INVITE it carries the answer to our offer (RFC 3264 §4).
            self.ack_came(sid, leg, &req);
            let Some(slot) = self.slot_mut(sid, leg) else {
                return;
            };
            if std::mem::take(&mut slot.ack_answer_for_other) {
                self.relay_ack_answer(sid, leg, &req);
            } else if let Some(answer) = crate::ua::dialog::body_sdp(&req) {
                // Our offer was this leg's own SDP (not relayed): nothing to pass on.
                log::debug!(target: "c2c", "click-to-call {sid}: the {} answered our offer in its ACK ({} bytes)", leg.as_str(), answer.len());
            }
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
                // This phone's INFO or re-INVITE still waiting for the other phone's answer.
                self.end_relays(sid, Some(leg));
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
                    let timed_out = notice.timed_out;
                    self.feed(now, sid, leg, LegEvent::TransferEnded { timed_out });
                } else if !notice.terminated
                    && let Some(secs) = notice.expires
                {
                    let expires = std::time::Duration::from_secs(u64::from(secs));
                    self.feed(now, sid, leg, LegEvent::TransferExpires { expires });
                }
            }
            Method::Invite | Method::Update if session_timer::too_small(&req).is_some() => {
                // RFC 4028 §9: an interval below our Min-SE is refused with 422 naming it.
                let mut resp = slot
                    .sip
                    .response_to(&req, 422, "Session Interval Too Small");
                resp.push_header("Min-SE", &crate::ua::dialog::MIN_SE.to_string());
                self.respond(tx, resp);
            }
            Method::Invite | Method::Update
                if slot.sip.reinvite_pending()
                    && (method == Method::Invite || !req.body().is_empty()) =>
            {
                // Our own re-INVITE's offer is outstanding: a crossing re-INVITE (RFC 3261
                // §14.2) or an UPDATE with an offer (RFC 3311 §5.2) gets 491.
                let resp = slot.sip.response_to(&req, 491, "Request Pending");
                self.respond(tx, resp);
            }
            Method::Invite | Method::Update if blocked == Some(Blocked::TheirsPending) => {
                // The phone's previous offer still waits for the other phone's answer: RFC
                // 3261 §14.2 (a second INVITE before the first is answered) and RFC 3311
                // §5.2 (a second UPDATE) prescribe 500 with a random Retry-After of 0–10 s.
                let mut resp = slot.sip.response_to(&req, 500, "Server Internal Error");
                resp.push_header("Retry-After", &retry_after_secs().to_string());
                self.respond(tx, resp);
            }
            Method::Invite | Method::Update if blocked == Some(Blocked::OursPending) => {
                // An INVITE of ours is out on the other leg (a refresh, a retry after glare):
                // the offer cannot be passed on until it is answered, and answering it with
                // the SDP this leg already has would tell the phone its change was taken.
                // It is glare seen through the call: 491, and the phone tries again later
                // (RFC 3261 §14.2, RFC 3311 §5.2).
                let resp = slot.sip.response_to(&req, 491, "Request Pending");
                self.respond(tx, resp);
            }
            Method::Invite | Method::Update if relay => {
                // Anchored call: a new offer from one phone (hold, resume, codec change) goes
                // to the other phone in a re-INVITE; its answer comes back here (RFC 3725
                // §5: the controller relays offers and answers between the two legs). An
                // UPDATE's offer travels the same way: every phone takes a re-INVITE, not
                // every phone an UPDATE, and the answer goes back in the UPDATE's 2xx
                // (RFC 3311 §5.2).
                let offer = req.body().to_vec();
                let other = leg.other();
                if offerless {
                    log::info!(target: "c2c", "click-to-call {sid}: relaying the {}'s offerless re-INVITE", leg.as_str());
                }
                if let Some(call) = self.calls.get_mut(&sid) {
                    call.pending_relays.insert(
                        tx,
                        PendingRelay {
                            origin: leg,
                            request: req,
                        },
                    );
                }
                let Some(slot) = self.slot_mut(sid, other) else {
                    return;
                };
                let offer = if offerless { offer } else { slot.give(&offer) };
                let reinvite = slot.sip.reinvite(offer);
                log::info!(target: "c2c", "click-to-call {sid}: relaying the {}'s new offer", leg.as_str());
                self.send_reinvite(now, sid, other, TxKind::Relay(tx), reinvite);
            }
            Method::Invite | Method::Update => {
                // A session refresh, or an offer outside an anchored call (REFER mode, or
                // before both legs are up): the answer is the SDP this leg last had from us,
                // which keeps the session as it is (RFC 3264 §8).
                let mut resp = slot.sip.response_to(&req, 200, "OK");
                // An offerless re-INVITE gets the same SDP as its offer, with the same o=
                // version, as nothing changed (RFC 3264 §8, RFC 6337 §5.1); its answer
                // comes in the ACK. An UPDATE without a body is a refresh: no SDP.
                if (!req.body().is_empty() || offerless) && !slot.local_sdp.is_empty() {
                    resp.set_body(Some("application/sdp"), slot.local_sdp.clone());
                }
                self.answer_session_timer(now, sid, leg, &req, &mut resp);
                self.await_ack(now, sid, leg, &req);
                self.respond(tx, resp);
            }
            Method::Info | Method::Message if relay => self.relay_nit(sid, leg, tx, req),
            Method::Info | Method::Message | Method::Options | Method::Notify => {
                let resp = slot.sip.response_to(&req, 200, "OK");
                self.respond(tx, resp);
            }
            _ => {
                let mut resp = slot.sip.response_to(&req, 405, "Method Not Allowed");
                resp.push_header("Allow", crate::ua::dialog::ALLOW);
                self.respond(tx, resp);
            }
        }
    }

    /// `leg`'s phone ACKed the 2xx that gave it the other phone's offer (its offerless
    /// re-INVITE, relayed): the answer goes in our ACK of the other phone's 2xx, under that
    /// dialog's origin. Without one (a phone breaking RFC 3264 §4), an answer rejecting
    /// the offer's streams, since that ACK must carry one (RFC 3261 §13.2.2.4).
    fn relay_ack_answer(&mut self, sid: SessionId, leg: Role, ack: &Message) {
        let local_ip = self.cfg.local_ip;
        let Some(other) = self.slot_mut(sid, leg.other()) else {
            return;
        };
        let answer = crate::ua::dialog::body_sdp(ack).or_else(|| {
            other
                .remote_offer
                .as_deref()
                .and_then(|offer| super::rejecting_answer(offer, local_ip))
        });
        let answer = answer.map(|a| other.give(&a));
        let request = other.sip.ack(answer);
        log::info!(target: "c2c", "click-to-call {sid}: relaying the {}'s answer in the ACK to the {}", leg.as_str(), leg.other().as_str());
        self.out.push_back(SipCommand::SendAck { request });
    }

    /// Anchored call: a phone's INFO (RFC 6086) or MESSAGE (RFC 3428) is copied into the
    /// other leg's dialog as a new request of ours, as a B2BUA does (each dialog has its
    /// own CSeq, Via, Route and Contact, so only what describes the body crosses over,
    /// with the Info-Package that names its meaning, RFC 6086 §7). The other phone's
    /// answer comes back on `tx`.
    fn relay_nit(&mut self, sid: SessionId, leg: Role, tx: ServerTxId, req: Message) {
        let Some(method) = req.method().cloned() else {
            return;
        };
        let Some(call) = self.calls.get_mut(&sid) else {
            return;
        };
        if call.pending_relays.len() >= MAX_PENDING_RELAYS {
            // A phone outrunning the other's answers: refuse for now rather than hold an
            // unbounded backlog (RFC 3261 §21.5.4: 503 with Retry-After for a temporary
            // overload; in a dialog it fails only this transaction, RFC 5057).
            if let Some(slot) = call.legs[leg.index()].as_ref() {
                let mut resp = slot.sip.response_to(&req, 503, "Service Unavailable");
                resp.push_header("Retry-After", "1");
                self.respond(tx, resp);
            }
            return;
        }
        let copied: Vec<(&str, String)> = RELAYED_HEADERS
            .iter()
            .filter_map(|name| req.header(name).map(|v| (*name, v.to_string())))
            .collect();
        let headers: Vec<(&str, &str)> = copied.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let body = req.body().to_vec();
        let other = leg.other();
        let Some(call) = self.calls.get_mut(&sid) else {
            return;
        };
        let Some(slot) = call.legs[other.index()].as_mut() else {
            return;
        };
        let copy = slot.sip.request_with_body(method.clone(), &headers, body);
        call.pending_relays.insert(
            tx,
            PendingRelay {
                origin: leg,
                request: req,
            },
        );
        log::info!(target: "c2c", "click-to-call {sid}: relaying the {}'s {} to the {}",
            leg.as_str(), method.as_str(), other.as_str());
        self.send(sid, other, TxKind::NitRelay(tx), copy);
    }
}

/// Why an offer from a phone of an anchored call cannot be relayed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocked {
    /// The same phone's previous offer is still being relayed.
    TheirsPending,
    /// An INVITE of ours is out on the other leg.
    OursPending,
}

/// RFC 3261 §14.2: a random Retry-After between 0 and 10 s.
fn retry_after_secs() -> u8 {
    let mut b = [0u8; 1];
    openssl::rand::rand_bytes(&mut b).map_or(5, |()| b[0] % 11)
}

/// Most requests of one call relayed and still waiting for the other phone's answer.
const MAX_PENDING_RELAYS: usize = 16;

/// The headers of a relayed INFO or MESSAGE that describe its body (RFC 3261 §20.11,
/// §20.15; RFC 6086 §7): everything else belongs to the dialog it came in.
const RELAYED_HEADERS: [&str; 3] = ["Content-Type", "Content-Disposition", "Info-Package"];
