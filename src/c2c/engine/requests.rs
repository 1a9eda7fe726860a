//! Requests from the phones: in-dialog requests (BYE, refer NOTIFYs, re-INVITE, the rest)
//! for the legs they belong to, and the answers to requests outside any dialog.

use std::time::Instant;

use super::{Engine, LegEvent, SessionId, TxKind};
use crate::c2c::command::Leg;
use crate::sip::msg::{Message, Method};
use crate::sip::reactor::{ServerTxId, SipCommand};
use crate::ua::{notify, out_of_dialog};

impl Engine {
    /// An offer from `leg`'s phone can go to the other phone: both legs of an anchored call
    /// are up and the other has no INVITE of ours outstanding.
    pub(super) fn can_relay(&self, sid: SessionId, leg: Leg) -> bool {
        let Some(call) = self.calls.get(&sid) else {
            return false;
        };
        call.session.is_anchored()
            && call.legs[leg.other().index()].as_ref().is_some_and(|o| {
                o.sip.state() == crate::ua::DialogState::Confirmed && !o.sip.reinvite_pending()
            })
    }

    /// The other leg answered the offer we relayed from `relayed_leg`'s phone: answer that
    /// phone's re-INVITE with the same status and, on success, the other phone's SDP.
    pub(super) fn answer_relay(
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
        let origin = relayed_leg.other();
        let Some(slot) = call.legs[origin.index()].as_mut() else {
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
                let other = leg.other();
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
