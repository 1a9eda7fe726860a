//! Responses to our requests and transactions that end without one: what each means for
//! its leg and call, and what a response no call follows any more still needs (an ACK and
//! a BYE for a 2xx to an INVITE).

use std::net::SocketAddr;
use std::time::Instant;

use super::{
    ACCEPTED_FOR, Engine, LegEvent, Redo, SessionId, Tracked, TxKind, glare_wait, rejecting_answer,
};
use crate::c2c::command::{Progress, Role};
use crate::sip::msg::Message;
use crate::sip::reactor::{ClientTxId, SipCommand, TxFailure};
use crate::ua::dialog::InviteOutcome;

impl Engine {
    /// A client transaction ended without a final response.
    pub(super) fn tx_failed(&mut self, now: Instant, tx: ClientTxId, reason: &TxFailure) {
        // A redirected target that does not answer: the next target of the 3xx.
        if let Some(&Tracked {
            sid,
            leg,
            kind: TxKind::Invite,
            ..
        }) = self.txs.get(&tx)
            && self.follow_redirect(sid, leg, tx, None)
        {
            return;
        }
        let Some(Tracked {
            sid,
            leg,
            kind,
            answer_by,
            ..
        }) = self.txs.remove(&tx)
        else {
            return;
        };
        if let Some(t) = answer_by {
            self.answer_due.remove(&(t, tx));
        }
        log::info!(target: "c2c", "click-to-call {sid}: {} {kind:?} failed: {reason}", leg.as_str());
        let code = reason.status();
        let event = match kind {
            TxKind::Invite => Some(LegEvent::Failed { code }),
            TxKind::Reinvite => Some(LegEvent::ReinviteFailed { code }),
            TxKind::Relay(stx) => {
                if !self.relay_ends_call(now, sid, leg, stx, code) {
                    self.answer_relay(now, sid, leg, stx, (code, &reason.to_string()), None);
                }
                None
            }
            TxKind::NitRelay(stx) => {
                // A time-out (408) ends the call; what is left is a transport error.
                self.nit_relay_answered(now, sid, leg, stx, code, "Service Unavailable");
                None
            }
            TxKind::Refer => Some(LegEvent::ReferFailed { code }),
            TxKind::Bye => Some(LegEvent::Ended),
            TxKind::ForkBye | TxKind::Prack => None,
            TxKind::Refresh => {
                self.end_dialog(now, sid, leg, code);
                None
            }
        };
        if let Some(event) = event {
            self.feed(now, sid, leg, event);
        }
    }

    pub(super) fn on_response(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        resp: &Message,
        source: SocketAddr,
    ) {
        let Some(&Tracked {
            sid,
            leg,
            kind,
            cseq,
            ..
        }) = self.txs.get(&tx)
        else {
            self.stray_response(resp);
            return;
        };
        let code = resp.status().unwrap_or(0);
        if matches!(code, 401 | 407) && self.answer_challenge(now, tx, resp) {
            return;
        }
        if kind == TxKind::Invite && code >= 300 && self.follow_redirect(sid, leg, tx, Some(resp)) {
            return;
        }
        if kind == TxKind::Invite && code == 422 && self.retry_with_min_se(sid, leg, tx, resp) {
            return;
        }
        let invite_kind = matches!(
            kind,
            TxKind::Invite | TxKind::Reinvite | TxKind::Refresh | TxKind::Relay(_)
        );
        if code >= 200
            && let Some(t) = self.txs.get_mut(&tx).and_then(|t| t.answer_by.take())
        {
            self.answer_due.remove(&(t, tx));
        }
        if code >= 300 || (code >= 200 && !invite_kind) {
            // The transaction is over: a failure's retransmissions are absorbed by the
            // transaction layer (RFC 3261 §17.1.1.2), and nothing else follows.
            self.txs.remove(&tx);
        } else if code >= 200
            && let Some(t) = self.txs.get_mut(&tx)
            && t.retire_at.is_none()
        {
            t.retire_at = Some(now + ACCEPTED_FOR);
            self.retire.insert((now + ACCEPTED_FOR, tx));
        }
        match kind {
            _ if invite_kind => {
                self.on_invite_response(now, sid, leg, (kind, cseq), (resp, source))
            }
            TxKind::Refer => match code {
                200..=299 => {
                    if self.out_of_dialog(sid)
                        && let Some(slot) = self.slot_mut(sid, leg)
                    {
                        slot.sip.on_refer_2xx(resp);
                    }
                    let subscription = !refer_sub_false(resp);
                    self.feed(now, sid, leg, LegEvent::ReferAccepted { subscription });
                }
                // Out of dialog there is no request of the phone's in our dialog to cross:
                // a 491 is a refusal like any other.
                491 if !self.out_of_dialog(sid) && self.refer_glare(sid) => {
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
                self.nit_relay_answered(now, sid, leg, stx, code, &reason);
            }
            _ => {}
        }
    }

    /// A 401/407 to a request of ours (RFC 3261 §22.2): when the credentials answer every
    /// challenge in it, the request goes again with them as a new transaction and the
    /// challenge is not reported; the transaction layer ACKs an INVITE's 401/407
    /// (§17.1.1.3). False when it is the request's failure: no credentials, a realm not
    /// ours, credentials refused (a second challenge for the realm, not `stale`), or
    /// retries used up.
    fn answer_challenge(&mut self, now: Instant, tx: ClientTxId, resp: &Message) -> bool {
        let Some(creds) = self.cfg.credentials.clone() else {
            return false;
        };
        let Some(tracked) = self.txs.get(&tx) else {
            return false;
        };
        let (sid, leg, kind, retries) =
            (tracked.sid, tracked.leg, tracked.kind, tracked.auth_retries);
        // One retry with credentials, and one more when only the nonce was stale (RFC 7616
        // §3.3): a peer that keeps challenging cannot keep us sending.
        if retries >= MAX_AUTH_RETRIES {
            return false;
        }
        let Some(mut request) = tracked.request.as_deref().cloned() else {
            return false;
        };
        let code = resp.status().unwrap_or(0);
        let Some(slot) = self.slot_mut(sid, leg) else {
            return false;
        };
        if kind == TxKind::Invite && slot.cancelled {
            // The leg was given up (ring time-out, hang-up): its INVITE is not sent again.
            return false;
        }
        if !slot.auth.learn(resp, &request, &creds) {
            log::info!(target: "c2c", "click-to-call {sid}: {} {kind:?} challenged ({code}): no credentials accepted for it", leg.as_str());
            return false;
        }
        slot.sip.renumber(&mut request);
        if let Some(old) = self.txs.remove(&tx)
            && let Some(t) = old.answer_by
        {
            self.answer_due.remove(&(t, tx));
        }
        log::info!(target: "c2c", "click-to-call {sid}: {} {kind:?} challenged ({code}): sending it again with credentials", leg.as_str());
        let new_tx = match kind {
            TxKind::Reinvite | TxKind::Refresh | TxKind::Relay(_) => {
                self.send_reinvite(now, sid, leg, kind, request)
            }
            _ => self.send(sid, leg, kind, request),
        };
        if let Some(t) = self.txs.get_mut(&new_tx) {
            t.auth_retries = retries + 1;
        }
        if kind == TxKind::Invite
            && let Some(slot) = self.slot_mut(sid, leg)
        {
            // A CANCEL (ring time-out, hang-up) now cancels the INVITE that is out.
            slot.invite_tx = new_tx;
        }
        true
    }

    /// The leg's INVITE `tx` ended with `resp` (≥ 300) or without a response (`None`):
    /// when a 3xx's targets remain, the INVITE goes to the next one (RFC 3261 §8.1.3.4),
    /// reported as a provisional `181 Redirected <leg>`; the leg's ring time-out runs on.
    /// False when the failure is the leg's: no target left (an empty Contact list, loops
    /// only, `MaxRedirects` reached; then a 3xx is the failure), or the INVITE was
    /// CANCELled.
    pub(super) fn follow_redirect(
        &mut self,
        sid: SessionId,
        leg: Role,
        tx: ClientTxId,
        resp: Option<&Message>,
    ) -> bool {
        let max = self.cfg.max_redirects;
        let Some(request) = self.txs.get(&tx).and_then(|t| t.request.as_deref()) else {
            return false;
        };
        let mut request = request.clone();
        let Some(slot) = self.slot_mut(sid, leg) else {
            return false;
        };
        if slot.cancelled || slot.invite_tx != tx {
            return false;
        }
        if let Some(resp) = resp.filter(|r| r.status().is_some_and(|c| (300..400).contains(&c))) {
            slot.redirects.learn(resp);
        }
        let Some(target) = slot.redirects.next(max) else {
            return false;
        };
        slot.sip.redirect(&mut request, target.clone());
        self.txs.remove(&tx);
        log::info!(target: "c2c", "click-to-call {sid}: redirecting the {} to {target}", leg.as_str());
        let new_tx = self.send(sid, leg, TxKind::Invite, request);
        if let Some(slot) = self.slot_mut(sid, leg) {
            slot.invite_tx = new_tx;
        }
        if let Some(call) = self.calls.get(&sid) {
            // RFC 3261 §21.1.3 (181 Call Is Being Forwarded): progress, not an end.
            let _ = call.reply.send(Progress {
                code: 181,
                leg,
                text: REDIRECTED_TEXT[leg.index()].to_string(),
            });
        }
        true
    }

    /// A 422 to the leg's INVITE `tx` (RFC 4028 §6): the phone wants a session interval of
    /// at least its Min-SE. RFC 4028 §7.4: the INVITE goes again as a new transaction (next
    /// CSeq, RFC 3261 §8.1.3.5) asking for that interval, with a Min-SE of it. Once: a
    /// second 422, one without a usable Min-SE, or one for a CANCELled INVITE is the
    /// leg's failure.
    fn retry_with_min_se(
        &mut self,
        sid: SessionId,
        leg: Role,
        tx: ClientTxId,
        resp: &Message,
    ) -> bool {
        let Ok(Some(min_se)) = resp.min_se() else {
            return false;
        };
        let Some(mut request) = self
            .txs
            .get(&tx)
            .and_then(|t| t.request.as_deref())
            .cloned()
        else {
            return false;
        };
        let Some(slot) = self.slot_mut(sid, leg) else {
            return false;
        };
        let asked = request
            .session_expires()
            .ok()
            .flatten()
            .map_or(0, |se| se.delta);
        if slot.cancelled || slot.invite_tx != tx || slot.min_se_retried || min_se <= asked {
            return false;
        }
        slot.min_se_retried = true;
        let interval = slot.sip.raise_min_se(min_se);
        request.set_header("Session-Expires", &interval.to_string());
        request.set_header("Min-SE", &interval.to_string());
        slot.sip.renumber(&mut request);
        self.txs.remove(&tx);
        log::info!(target: "c2c", "click-to-call {sid}: the {} wants a session interval of at least {min_se} s: inviting again", leg.as_str());
        let new_tx = self.send(sid, leg, TxKind::Invite, request);
        if let Some(slot) = self.slot_mut(sid, leg) {
            slot.invite_tx = new_tx;
        }
        true
    }

    /// A response whose transaction the engine no longer follows (its call is over). A 2xx
    /// to an INVITE among them is a dialog nobody wants: ACK it and end it with BYE (RFC
    /// 3261 §13.2.2.4); the BYE's outcome is not followed either.
    pub(super) fn stray_response(&mut self, resp: &Message) {
        let live = match (resp.call_id(), resp.from_tag()) {
            (Ok(call_id), Some(tag)) => self
                .dialogs
                .contains_key(&(call_id.to_string(), tag.to_string())),
            _ => false,
        };
        if live {
            // A dialog of a call that goes on: the 2xx of one of its earlier INVITEs, past
            // the time its retransmissions are followed (ACCEPTED_FOR). Not ours to end.
            log::debug!(target: "c2c", "late 2xx of a live dialog dropped");
            return;
        }
        // The dialog is ended at once: its Contact is never used for requests to us.
        let contact = self.contact(self.cfg.identity.user.as_deref(), &self.cfg.identity);
        let Some((ack, bye)) = crate::ua::dialog::end_unwanted_2xx(resp, contact) else {
            log::debug!(target: "c2c", "response for a finished transaction dropped");
            return;
        };
        log::info!(target: "c2c", "a 2xx to an INVITE of a call that is over: ACK and BYE");
        self.out.push_back(SipCommand::SendAck { request: ack });
        let tx = self.new_tx();
        self.out
            .push_back(SipCommand::SendRequest { tx, request: bye });
    }

    pub(super) fn on_invite_response(
        &mut self,
        now: Instant,
        sid: SessionId,
        leg: Role,
        (kind, sent_cseq): (TxKind, u32),
        (resp, source): (&Message, SocketAddr),
    ) {
        let Some(slot) = self.slot_mut(sid, leg) else {
            return;
        };
        let ack_now = kind != TxKind::Invite || !slot.offerless || slot.early_answered;
        // A relayed offerless re-INVITE: the 2xx holds the other phone's offer, and its ACK
        // waits for the answer that phone's ACK brings.
        let offerless_relay = match kind {
            TxKind::Relay(stx) => self.calls.get(&sid).is_some_and(|c| {
                c.pending_relays
                    .get(&stx)
                    .is_some_and(|p| p.request.body().is_empty())
            }),
            _ => false,
        };
        let Some(slot) = self.slot_mut(sid, leg) else {
            return;
        };
        slot.sip.response_came_from(source);
        let ack_now = ack_now && !(offerless_relay && crate::ua::dialog::body_sdp(resp).is_some());
        let outcome = slot.sip.on_invite_response(resp, sent_cseq, ack_now);
        let event = match outcome {
            InviteOutcome::Provisional {
                ringing,
                prack,
                sdp,
                tag,
            } => {
                let ring = (ringing && kind == TxKind::Invite).then_some(LegEvent::Ringing);
                let Some(mut prack) = prack else {
                    return self.feed_opt(now, sid, leg, ring);
                };
                let offer = sdp.filter(|_| kind == TxKind::Invite && !ack_now);
                let Some(offer) = offer else {
                    // An early answer to our offer, or no SDP: a plain PRACK (RFC 3262 §4).
                    self.send(sid, leg, TxKind::Prack, prack);
                    return self.feed_opt(now, sid, leg, ring);
                };
                let Some(slot) = self.slot_mut(sid, leg) else {
                    return;
                };
                match &slot.early_offer_tag {
                    None => {
                        // The offer to our offerless INVITE (RFC 3262 §5): its PRACK waits
                        // for the initiator's answer.
                        slot.early_offer_tag = tag;
                        slot.remote_offer = Some(offer.clone());
                        slot.held_prack = Some(prack);
                        self.feed_opt(now, sid, leg, ring);
                        self.feed(now, sid, leg, LegEvent::EarlyOffer { sdp: offer });
                    }
                    // The same early dialog repeating its offer (RFC 6337 §3.1.1): already
                    // being answered, or answered.
                    Some(t) if Some(t) == tag.as_ref() => {
                        self.send(sid, leg, TxKind::Prack, prack);
                        self.feed_opt(now, sid, leg, ring);
                    }
                    Some(_) => {
                        // Another fork's offer: the initiator has one session, given to the
                        // first early dialog. This one gets a valid answer that rejects its
                        // streams (RFC 3264 §6), so its PRACK is not refused.
                        log::info!(target: "c2c", "click-to-call {sid}: a second early dialog made an offer: rejecting its streams");
                        if let Some(answer) = rejecting_answer(&offer, self.cfg.local_ip) {
                            prack.set_body(Some("application/sdp"), answer);
                        }
                        self.send(sid, leg, TxKind::Prack, prack);
                        self.feed_opt(now, sid, leg, ring);
                    }
                }
                return;
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
                    if offerless_relay && sdp.is_some() {
                        // The origin's ACK will carry the answer to this offer.
                        if let Some(slot) = self.slot_mut(sid, leg.other()) {
                            slot.ack_answer_for_other = true;
                        }
                    }
                    self.answer_relay(now, sid, leg, stx, (code, reason), sdp);
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
            InviteOutcome::OtherFork { mut ack, bye } => {
                log::info!(target: "c2c", "click-to-call {sid}: a second fork answered; hanging it up");
                // To an offerless INVITE the fork's 2xx carries an offer, and its ACK must
                // carry an answer before the BYE (RFC 3261 §13.2.2.4, RFC 3264 §5): one
                // rejecting every stream, from us. Unless that fork made its offer in a
                // reliable provisional, answered in its PRACK already.
                let early_answered = self
                    .slot_mut(sid, leg)
                    .is_some_and(|slot| slot.early_offer_tag.as_deref() == resp.to_tag());
                if kind == TxKind::Invite
                    && !early_answered
                    && let Some(answer) = crate::ua::dialog::body_sdp(resp)
                        .filter(|_| self.invite_was_offerless(sid, leg))
                        .and_then(|offer| rejecting_answer(&offer, self.cfg.local_ip))
                {
                    ack.set_body(Some("application/sdp"), answer);
                }
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
                self.refresh_failed(now, sid, leg, code, resp);
                None
            }
            InviteOutcome::Failed { code } => Some(match kind {
                TxKind::Relay(stx) => {
                    if !self.relay_ends_call(now, sid, leg, stx, code) {
                        let reason = resp.reason().unwrap_or("Failed");
                        self.answer_relay(now, sid, leg, stx, (code, reason), None);
                    }
                    return;
                }
                TxKind::Invite => LegEvent::Failed { code },
                _ => LegEvent::ReinviteFailed { code },
            }),
            InviteOutcome::Unusable { ack, bye } => {
                log::warn!(target: "c2c", "click-to-call {sid}: the {} answered {kind:?} with a 2xx we cannot use (no To tag, or another CSeq): ending the leg", leg.as_str());
                self.out.push_back(SipCommand::SendAck { request: ack });
                if let Some(bye) = bye {
                    self.send(sid, leg, TxKind::ForkBye, bye);
                }
                match kind {
                    // RFC 3261 §21.5.3: 502, an invalid response from the next hop.
                    TxKind::Invite => Some(LegEvent::Failed { code: 502 }),
                    _ => {
                        if let TxKind::Relay(stx) = kind {
                            self.answer_pending(sid, stx, 500, "Server Internal Error");
                        }
                        self.end_dialog(now, sid, leg, 502);
                        None
                    }
                }
            }
            InviteOutcome::Ignored => None,
        };
        if let Some(event) = event {
            self.feed(now, sid, leg, event);
        }
    }
}

impl Engine {
    fn feed_opt(&mut self, now: Instant, sid: SessionId, leg: Role, event: Option<LegEvent>) {
        if let Some(event) = event {
            self.feed(now, sid, leg, event);
        }
    }

    /// The leg's initial INVITE carried no offer (the destination's, anchored flow).
    fn invite_was_offerless(&self, sid: SessionId, leg: Role) -> bool {
        self.calls
            .get(&sid)
            .and_then(|c| c.legs[leg.index()].as_ref())
            .is_some_and(|slot| slot.offerless)
    }
}

/// The progress text of a redirected INVITE, by leg.
const REDIRECTED_TEXT: [&str; 2] = ["Redirected initiator", "Redirected destination"];

/// How many times one request is sent again with credentials: once for its challenge,
/// once more for a stale nonce.
const MAX_AUTH_RETRIES: u8 = 2;

/// RFC 4488 §4: a 2xx to REFER with `Refer-Sub: false` creates no subscription.
fn refer_sub_false(resp: &Message) -> bool {
    resp.header("Refer-Sub").is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|token| token.trim().eq_ignore_ascii_case("false"))
    })
}
