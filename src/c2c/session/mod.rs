//! One click-to-call as a sans-IO state machine: the policy of the product, free of SIP
//! mechanics. The dialog layer (`ua`) turns SIP messages into [`LegEvent`]s for it and
//! carries out the [`Action`]s it asks for; a test drives it by hand with a manual clock.
//!
//! The flows follow the C++ original as recorded in shared/reference:
//! - call the initiator; on answer either REFER it to the destination (default) or call the
//!   destination ourselves (anchored, RFC 3725 flow I: offerless INVITE to the destination,
//!   its offer to the initiator in a re-INVITE, the initiator's answer back in the ACK);
//! - a REFER refused by the initiator falls back to the anchored flow without a report; one
//!   whose answer (481, 408, …) or silence says the initiator's dialog is gone ends the call;
//! - every accepted request gets exactly one final report on every path.
//!
//! A third flow needs no call of ours at all: the out-of-dialog REFER ("click-to-dial",
//! RFC 5359 §2.18). The initiator's phone is REFERred to the destination outside any
//! dialog and calls it itself; the NOTIFYs of the REFER's subscription (RFC 3515 §2.4.4,
//! RFC 6665) tell how that goes. Its acceptance (the 2xx, or a NOTIFY before it) is
//! reported `200 Initiator`, the sipfrags as in the REFER flow. There is no dialog to
//! anchor, so a refusal ends the call with its code; and no INVITE dialog, so no BYE.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::command::{Progress, Role};
use crate::cdr::EndedBy;
use crate::ua::dialog::ends_dialog;

/// What the dialog layer tells the session about one leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LegEvent {
    /// A 18x to the leg's initial INVITE.
    Ringing,
    /// A 2xx to the leg's initial INVITE, with its body if it carried SDP.
    Answered { sdp: Option<Vec<u8>> },
    /// A reliable provisional to the destination's offerless INVITE carried the offer
    /// (RFC 3262 §5): its PRACK waits for the answer.
    EarlyOffer { sdp: Vec<u8> },
    /// The initial INVITE failed: a final response ≥ 300, 408 for a transaction time-out,
    /// 503 for a transport or DNS error.
    Failed { code: u16 },
    /// The REFER sent to the initiator got a 2xx; `subscription` is false when the 2xx
    /// carried `Refer-Sub: false` (RFC 4488 §4): no NOTIFY will follow.
    ReferAccepted { subscription: bool },
    /// The REFER got a final response ≥ 300.
    ReferRejected { code: u16 },
    /// The REFER got no response: a time-out (408) or a transport error (503).
    ReferFailed { code: u16 },
    /// A NOTIFY of the REFER's implicit subscription carried this sipfrag status code.
    TransferProgress { code: u16 },
    /// The implicit subscription ended (`Subscription-State: terminated`) without a final
    /// sipfrag status; `timed_out` when its reason was `timeout` (it expired).
    TransferEnded { timed_out: bool },
    /// A NOTIFY said the implicit subscription is active (or pending) for `expires` more
    /// (RFC 6665 §4.1.3: `Subscription-State: active;expires=N`).
    TransferExpires { expires: Duration },
    /// The answer to our re-INVITE on this leg (2xx), with its SDP.
    ReinviteAnswered { sdp: Option<Vec<u8>> },
    /// Our re-INVITE on this leg failed.
    ReinviteFailed { code: u16 },
    /// The peer sent BYE on this leg (already answered by the dialog layer).
    RemoteBye,
    /// The leg is over: its dialog and usages are gone. No more events come for it.
    Ended,
}

/// What the session asks the dialog layer to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Send the initial INVITE to the initiator, with the inactive SDP offer.
    InviteInitiator,
    /// Send the offerless INVITE to the destination, `From:` the initiator leg's `To`.
    InviteDestination,
    /// Send REFER (Refer-To: destination) in the initiator's dialog.
    Refer,
    /// Send REFER (Refer-To: destination) to the initiator outside any dialog.
    ReferOutOfDialog,
    /// Send a re-INVITE on the leg with this SDP offer.
    Reinvite { leg: Role, sdp: Vec<u8> },
    /// Acknowledge the leg's 2xx, whose ACK was held back for the answer (anchored flow).
    Ack { leg: Role, sdp: Option<Vec<u8>> },
    /// Send the PRACK held back for the answer to the leg's early offer, with this answer
    /// (RFC 3262 §5).
    Prack { leg: Role, sdp: Vec<u8> },
    /// CANCEL the leg's ringing INVITE.
    Cancel(Role),
    /// Send BYE on the leg's dialog.
    Bye(Role),
    /// Tell the requester.
    Report(Progress),
}

/// Where the session stands. Data only a state needs lives in its variant.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for the initiator to answer.
    CallingInitiator,
    /// REFER sent, waiting for its final response.
    Referring,
    /// REFER accepted, following the NOTIFYs until a final sipfrag status.
    Transferring { deadline: Instant },
    /// Offerless INVITE sent to the destination.
    CallingDestination,
    /// The destination's offer went to the initiator in a re-INVITE.
    Reinviting,
    /// The destination rings; the offer of its reliable provisional went to the initiator
    /// in a re-INVITE, and the PRACK waits for the initiator's answer (RFC 3262 §5).
    EarlyOffer,
    /// The destination rings with the early offer answered: its 2xx completes the call
    /// (and carries no new offer, RFC 3261 §13.2.1, RFC 6337 §3.1).
    EarlyMedia,
    /// Both legs are up; we only mirror BYEs now.
    Anchored,
    /// Tearing down: waiting for the remaining legs to end.
    Ending,
}

/// Timing settings for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    /// A leg that has no final response after this long is cancelled and reported 408.
    pub ring_timeout: Duration,
    /// How long a REFER's implicit subscription may stay silent before the transfer counts
    /// as timed out (408), unless a NOTIFY's `expires` says otherwise.
    pub transfer_timeout: Duration,
}

impl Timing {
    /// RFC 3515 leaves the subscription's length to the notifier; the destination may ring
    /// for as long as our own ring time-out, so give the transfer that plus Timer B.
    pub(crate) fn from_ring_timeout(ring_timeout: Duration) -> Self {
        Timing {
            ring_timeout,
            transfer_timeout: ring_timeout + Duration::from_secs(32),
        }
    }
}

/// The life of one leg as the session sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LegState {
    /// Not started.
    Idle,
    /// INVITE sent, no final response yet; `deadline` is the ring time-out.
    Ringing { deadline: Instant },
    /// INVITE cancelled, its final response still due; past `deadline` the leg is given up.
    Cancelling { deadline: Instant },
    /// Answered (a dialog exists) and not yet ended.
    Up,
    /// BYE sent, waiting for its outcome; past `deadline` the leg is given up.
    Closing { deadline: Instant },
    /// Gone.
    Ended,
}

/// How long a leg may wait for the transaction layer's verdict once we have asked it to go
/// (CANCEL or BYE sent). RFC 3261 §9.1: an INVITE whose CANCEL draws no final response is
/// given up 64·T1 (32 s) after the CANCEL; a BYE times out after Timer F, also 64·T1
/// (§17.1.2.2). The reactor reports both; this is the second guard for when it cannot (a
/// lost report, a phone that ignores the CANCEL), with a margin so the reactor's own
/// verdict normally comes first.
pub(crate) const LEG_GUARD: Duration = Duration::from_secs(32 + 4);

/// One click-to-call.
#[derive(Debug)]
pub(crate) struct Session {
    anchor: bool,
    /// The out-of-dialog REFER flow: no INVITE leg of ours at all.
    out_of_dialog: bool,
    timing: Timing,
    state: State,
    initiator: LegState,
    destination: LegState,
    /// A ring time-out cancelled this leg: its failure is reported as 408.
    timed_out: Option<Role>,
    rang: [bool; 2],
    final_sent: bool,
    /// The API hung up while our re-INVITE to the initiator was pending: the call ends
    /// once that re-INVITE has its answer.
    hang_up_pending: bool,
    /// What ended the call, for its detail record: the first cause.
    ended_by: Option<EndedBy>,
    actions: VecDeque<Action>,
}

/// The report of a REFER accepted without a subscription (RFC 4488): the transfer is
/// under way and no more is known.
const TRANSFERRED_TEXT: &str = "Transferred to destination";
/// The code reported when a transfer ends without a final result: the subscription was
/// terminated without one (for a reason other than its expiry), or the transferee hung up
/// first. RFC 3261 §21.4.22: 487, the
/// request was terminated before it completed.
const TRANSFER_GIVEN_UP: u16 = 487;
/// The longest a NOTIFY's `expires` may hold a transfer's state (RFC 3515 leaves the
/// subscription's length to the notifier; this keeps a phone from holding a call for days).
const MAX_TRANSFER_EXPIRES: Duration = Duration::from_secs(3600);

/// The final result of a call hung up by the API before it had one.
pub(crate) const HUNG_UP_TEXT: &str = "Hung up by API";
/// The final result of a call still in progress when the SIP reactor stopped.
pub(crate) const STACK_STOPPED_TEXT: &str = "SIP stack stopped";
/// The report of an out-of-dialog REFER the initiator's phone accepted: it calls the
/// destination now.
const REFER_ACCEPTED_TEXT: &str = "Initiator accepted the REFER";
const RING_TEXT: [&str; 2] = ["Ringing initiator", "Ringing destination"];
const CONNECTED_TEXT: [&str; 2] = ["Connected to initiator", "Connected to destination"];
const FAILED_TEXT: [&str; 2] = [
    "Failed to connect to initiator",
    "Failed to connect to destination",
];

impl Session {
    /// Start a click-to-call: the first action is the INVITE to the initiator.
    pub(crate) fn new(now: Instant, anchor: bool, timing: Timing) -> Self {
        let ringing = LegState::Ringing {
            deadline: now + timing.ring_timeout,
        };
        let mut s = Session::starting(timing, State::CallingInitiator, Action::InviteInitiator);
        s.anchor = anchor;
        s.initiator = ringing;
        s
    }

    /// Start an out-of-dialog REFER click-to-call (RFC 5359 §2.18): the first action is
    /// the REFER. The REFER's own transaction bounds the wait for its answer (Timer F,
    /// RFC 3261 §17.1.2.2), then the transfer deadline the wait for the final NOTIFY.
    pub(crate) fn refer_out_of_dialog(timing: Timing) -> Self {
        let mut s = Session::starting(timing, State::Referring, Action::ReferOutOfDialog);
        s.out_of_dialog = true;
        s
    }

    /// A REFER-mode session in `state` whose first action is `first`: both legs idle,
    /// nothing reported yet.
    fn starting(timing: Timing, state: State, first: Action) -> Self {
        Session {
            anchor: false,
            out_of_dialog: false,
            timing,
            state,
            initiator: LegState::Idle,
            destination: LegState::Idle,
            timed_out: None,
            rang: [false; 2],
            final_sent: false,
            hang_up_pending: false,
            ended_by: None,
            actions: VecDeque::from([first]),
        }
    }

    /// The leg whose outcome a call still waits for: the initiator's until it answered
    /// (or, out of dialog, accepted the REFER), then the destination's.
    fn pending_leg(&self) -> Role {
        match self.state {
            State::CallingInitiator => Role::Initiator,
            State::Referring if self.out_of_dialog => Role::Initiator,
            _ => Role::Destination,
        }
    }

    /// Both legs of an anchored call are up: offers from one phone may be relayed to the
    /// other.
    pub(crate) fn is_anchored(&self) -> bool {
        self.state == State::Anchored
    }

    /// True once the requester has had its final report and every leg has ended: the
    /// session can be dropped.
    pub(crate) fn is_done(&self) -> bool {
        self.final_sent
            && matches!(self.initiator, LegState::Idle | LegState::Ended)
            && matches!(self.destination, LegState::Idle | LegState::Ended)
    }

    /// What ended the call (for its record); `Error` when nothing said.
    pub(crate) fn ended_by(&self) -> EndedBy {
        self.ended_by.unwrap_or(EndedBy::Error)
    }

    /// Notes what is ending the call, unless something already is.
    pub(crate) fn note_end(&mut self, by: EndedBy) {
        self.ended_by.get_or_insert(by);
    }

    /// The next thing to do, in order.
    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest instant at which [`Session::handle_timeout`] has work.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for leg in [self.initiator, self.destination] {
            if let LegState::Ringing { deadline }
            | LegState::Cancelling { deadline }
            | LegState::Closing { deadline } = leg
            {
                consider(deadline);
            }
        }
        if let State::Transferring { deadline } = self.state {
            consider(deadline);
        }
        next
    }

    /// Fire the timers that are due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        for leg in [Role::Initiator, Role::Destination] {
            match *self.leg(leg) {
                LegState::Ringing { deadline } if now >= deadline => {
                    log::info!(target: "c2c", "{} did not answer in time: cancelling", leg.as_str());
                    self.timed_out = Some(leg);
                    self.note_end(EndedBy::Timeout);
                    self.cancel_or_bye(now, leg);
                }
                LegState::Cancelling { deadline } | LegState::Closing { deadline }
                    if now >= deadline =>
                {
                    // RFC 3261 §9.1, §17.1.2.2: the transaction is over by now whatever
                    // the phone does; nothing more will come for this leg.
                    log::warn!(target: "c2c", "{} gave no final answer in time: giving it up", leg.as_str());
                    *self.leg_mut(leg) = LegState::Ended;
                    self.note_end(EndedBy::Error);
                    self.fail(now, leg, 408);
                }
                _ => {}
            }
        }
        if let State::Transferring { deadline } = self.state
            && now >= deadline
        {
            // RFC 3515 §2.4.6: no final NOTIFY within the subscription's life.
            self.note_end(EndedBy::Timeout);
            self.fail(now, Role::Destination, 408);
        }
    }

    /// The server is shutting down: end every leg and deliver the final report now.
    pub(crate) fn shutdown(&mut self, now: Instant) {
        let pending = self.pending_leg();
        self.note_end(EndedBy::Shutdown);
        self.fail(now, pending, 503);
    }

    /// The SIP reactor is gone: nothing can be sent or heard any more. A call without its
    /// final result gets one now, 500 (RFC 3261 §21.5.1: we failed), returned rather than
    /// queued since no leg can be ended.
    pub(crate) fn stack_stopped(&mut self) -> Option<Progress> {
        self.note_end(EndedBy::Error);
        if self.final_sent {
            return None;
        }
        self.final_sent = true;
        let leg = self.pending_leg();
        log::info!(target: "c2c", "500 {} {STACK_STOPPED_TEXT}", leg.as_str());
        Some(Progress {
            code: 500,
            leg,
            text: STACK_STOPPED_TEXT.to_string(),
        })
    }

    /// The API hangs the call up: CANCEL what rings, BYE what is up. A call without its
    /// final result yet gets one now, 487 (RFC 3261 §21.4.22: terminated before it
    /// completed), saying who ended it.
    pub(crate) fn hang_up(&mut self, now: Instant) {
        // Out of dialog, the phone's own call to the destination is not ours to end: the
        // call is over for us, and its later NOTIFYs get 481 (RFC 6665 §4.1.3: the
        // notifier then ends the subscription).
        let pending = self.pending_leg();
        self.note_end(EndedBy::Api);
        self.report(487, pending, HUNG_UP_TEXT);
        if matches!(self.state, State::Reinviting | State::EarlyOffer) {
            // Our re-INVITE to the initiator is out: a BYE now would cross its 2xx, which
            // must still be ACKed (RFC 3261 §13.2.2.4, §14.1). End the call on its answer;
            // the engine's deadline for an in-dialog INVITE bounds the wait.
            self.hang_up_pending = true;
            return;
        }
        self.end_all(now);
    }

    /// Feed one event about one leg.
    pub(crate) fn handle(&mut self, now: Instant, leg: Role, event: LegEvent) {
        match event {
            LegEvent::Ringing => {
                if matches!(self.leg(leg), LegState::Ringing { .. }) {
                    self.report_ringing(leg);
                }
            }
            LegEvent::Answered { sdp } => self.on_answered(now, leg, sdp),
            LegEvent::EarlyOffer { sdp } => {
                if self.state == State::CallingDestination
                    && leg == Role::Destination
                    && matches!(self.destination, LegState::Ringing { .. })
                {
                    // RFC 3725 flow I, early: the offer goes to the initiator now, so the
                    // destination's early media (ringback, announcements) reaches it.
                    self.state = State::EarlyOffer;
                    self.actions.push_back(Action::Reinvite {
                        leg: Role::Initiator,
                        sdp,
                    });
                }
            }
            LegEvent::Failed { code } => {
                let code = if self.timed_out == Some(leg) {
                    408
                } else {
                    code
                };
                // The phone refused (or its path did); a ring time-out was noted already.
                self.note_end(EndedBy::leg(leg));
                *self.leg_mut(leg) = LegState::Ended;
                self.fail(now, leg, code);
            }
            LegEvent::ReferAccepted { subscription } => {
                if self.state != State::Referring {
                    return;
                }
                if self.out_of_dialog {
                    self.report(200, Role::Initiator, REFER_ACCEPTED_TEXT);
                }
                if subscription {
                    self.state = State::Transferring {
                        deadline: now + self.timing.transfer_timeout,
                    };
                } else {
                    // RFC 4488 §4: no subscription, so no NOTIFY will tell more; the 2xx is
                    // the outcome, reported and followed up as a transfer that succeeded.
                    self.note_end(EndedBy::Destination);
                    self.report(200, Role::Destination, TRANSFERRED_TEXT);
                    self.end_all(now);
                }
            }
            LegEvent::ReferRejected { code } => self.on_refer_failed(now, code, true),
            LegEvent::ReferFailed { code } => self.on_refer_failed(now, code, false),
            LegEvent::TransferProgress { code } => self.on_transfer_progress(now, code),
            LegEvent::TransferEnded { timed_out } => {
                if matches!(self.state, State::Transferring { .. } | State::Referring) {
                    self.notified(now);
                    // RFC 3515 §2.4.7, RFC 6665 §4.1.3: the notifier ended the subscription
                    // before the transfer had a final result; nothing more will come. A
                    // final sipfrag would have been reported already (it ends the call), so
                    // what is known is how it ended: it expired (408, as our own transfer
                    // deadline), or the transfer was given up (487).
                    let code = if timed_out { 408 } else { TRANSFER_GIVEN_UP };
                    self.note_end(if timed_out {
                        EndedBy::Timeout
                    } else {
                        EndedBy::Initiator
                    });
                    self.fail(now, Role::Destination, code);
                }
            }
            LegEvent::TransferExpires { expires } => {
                if matches!(self.state, State::Transferring { .. } | State::Referring) {
                    self.notified(now);
                    // The subscription's own life bounds the wait for its final NOTIFY
                    // (RFC 3515 §2.4.6), within our bound on any call's state.
                    self.state = State::Transferring {
                        deadline: now + expires.min(MAX_TRANSFER_EXPIRES),
                    };
                }
            }
            LegEvent::ReinviteAnswered { sdp } => {
                if self.state == State::EarlyOffer && leg == Role::Initiator {
                    self.state = State::EarlyMedia;
                    let Some(sdp) = sdp else {
                        // RFC 3264 §5: a 2xx to an offer carries the answer; without one
                        // the PRACK cannot (RFC 3262 §5), nothing can be connected.
                        log::warn!(target: "c2c", "initiator answered the early offer without SDP: ending the call");
                        self.end_all(now);
                        return;
                    };
                    self.actions.push_back(Action::Prack {
                        leg: Role::Destination,
                        sdp,
                    });
                    if self.hang_up_pending {
                        self.end_all(now);
                    }
                    return;
                }
                if self.state == State::Reinviting && leg == Role::Initiator {
                    self.actions.push_back(Action::Ack {
                        leg: Role::Destination,
                        sdp,
                    });
                    self.state = State::Anchored;
                    if self.hang_up_pending {
                        self.end_all(now);
                    }
                }
            }
            LegEvent::ReinviteFailed { code } => {
                if matches!(self.state, State::Reinviting | State::EarlyOffer)
                    && leg == Role::Initiator
                {
                    log::info!(target: "c2c", "initiator refused the destination's offer ({code}): ending the call");
                    self.note_end(EndedBy::Error);
                    self.end_all(now);
                }
            }
            LegEvent::RemoteBye => self.on_remote_bye(now, leg),
            LegEvent::Ended => *self.leg_mut(leg) = LegState::Ended,
        }
    }

    fn on_answered(&mut self, now: Instant, leg: Role, sdp: Option<Vec<u8>>) {
        let cancelled = matches!(self.leg(leg), LegState::Cancelling { .. });
        *self.leg_mut(leg) = LegState::Up;
        if cancelled || self.state == State::Ending {
            // The 2xx crossed our CANCEL, or the call is already being torn down.
            if leg == Role::Destination {
                // The dialog layer holds back the ACK of an offerless INVITE's 2xx for the
                // answer; there is none, but the 2xx must still be acknowledged before the
                // BYE (RFC 3261 §13.2.2.4).
                self.actions.push_back(Action::Ack { leg, sdp: None });
            }
            if self.timed_out == Some(leg) {
                // Reported as the time-out it is; `fail` ends every live leg, this one too.
                self.fail(now, leg, 408);
            } else {
                self.bye(now, leg);
            }
            return;
        }
        match (leg, &self.state) {
            (Role::Initiator, State::CallingInitiator) => {
                self.report(200, leg, CONNECTED_TEXT[0]);
                if self.anchor {
                    self.call_destination(now);
                } else {
                    self.state = State::Referring;
                    self.actions.push_back(Action::Refer);
                }
            }
            (Role::Destination, State::EarlyMedia) => {
                // The offer and answer went in the reliable provisional and its PRACK: the
                // engine acknowledged this 2xx already (RFC 3262 §5).
                self.report(200, leg, CONNECTED_TEXT[1]);
                self.state = State::Anchored;
            }
            (Role::Destination, State::EarlyOffer) => {
                // A 2xx before the PRACK (RFC 3262 §3 forbids it while the offer is
                // unanswered): the re-INVITE to the initiator is out with the offer; its
                // answer goes in the ACK, as in the flow without early media.
                self.report(200, leg, CONNECTED_TEXT[1]);
                self.state = State::Reinviting;
            }
            (Role::Destination, State::CallingDestination) => {
                self.report(200, leg, CONNECTED_TEXT[1]);
                match sdp {
                    Some(offer) => {
                        self.state = State::Reinviting;
                        self.actions.push_back(Action::Reinvite {
                            leg: Role::Initiator,
                            sdp: offer,
                        });
                    }
                    None => {
                        // RFC 3264 §4 / RFC 3261 §13.2.1: a 2xx to an offerless INVITE must
                        // carry the offer; without it there is nothing to connect.
                        log::warn!(target: "c2c", "destination answered without SDP: ending the call");
                        self.note_end(EndedBy::Error);
                        self.actions.push_back(Action::Ack { leg, sdp: None });
                        self.end_all(now);
                    }
                }
            }
            _ => {}
        }
    }

    /// The REFER failed. Only a refusal by a phone whose dialog lives on (it does not do
    /// transfers, or not this one) falls back to an anchored call; when the answer says the
    /// initiator's dialog is gone, or nothing answered, the destination would be rung for
    /// nobody, so the call ends with that code.
    fn on_refer_failed(&mut self, now: Instant, code: u16, answered: bool) {
        if self.state != State::Referring {
            return;
        }
        if self.out_of_dialog {
            // No dialog to fall back to (an anchored call would need the initiator's
            // INVITE first): the initiator's phone refused, or never answered.
            log::info!(target: "c2c", "out-of-dialog REFER failed with {code}: ending the call");
            self.note_end(if answered {
                EndedBy::Initiator
            } else {
                EndedBy::Error
            });
            self.fail(now, Role::Initiator, code);
        } else if self.initiator != LegState::Up {
            // The initiator hung up meanwhile: nobody is left to connect.
            self.fail(now, Role::Destination, code);
        } else if !answered || ends_dialog(code) {
            log::info!(target: "c2c", "REFER failed with {code}: the initiator's dialog is gone, ending the call");
            self.note_end(EndedBy::Error);
            self.fail(now, Role::Destination, code);
        } else {
            log::info!(target: "c2c", "REFER rejected with {code}: falling back to an anchored call");
            self.call_destination(now);
        }
    }

    fn on_transfer_progress(&mut self, now: Instant, code: u16) {
        if !matches!(self.state, State::Transferring { .. } | State::Referring) {
            return;
        }
        self.notified(now);
        match code {
            180..=199 => self.report_ringing(Role::Destination),
            200..=299 => {
                // The transfer's outcome ends our part of the call.
                self.note_end(EndedBy::Destination);
                self.report(code, Role::Destination, CONNECTED_TEXT[1]);
                self.end_all(now);
            }
            300.. => {
                self.note_end(EndedBy::Destination);
                self.fail(now, Role::Destination, code);
            }
            _ => {}
        }
    }

    /// A NOTIFY came. One before the REFER's 2xx is legal (RFC 3515 §2.4.4, RFC 6665
    /// §4.1.2.4): it implies the REFER was accepted.
    fn notified(&mut self, now: Instant) {
        if self.state == State::Referring {
            if self.out_of_dialog {
                self.report(200, Role::Initiator, REFER_ACCEPTED_TEXT);
            }
            self.state = State::Transferring {
                deadline: now + self.timing.transfer_timeout,
            };
        }
    }

    fn on_remote_bye(&mut self, now: Instant, leg: Role) {
        *self.leg_mut(leg) = LegState::Ended;
        self.note_end(EndedBy::leg(leg));
        match self.state {
            State::Transferring { .. } | State::Referring if leg == Role::Initiator => {
                // The transferee hung up before a final NOTIFY. Its subscription could
                // outlive the BYE (RFC 5057 §5.2), but the requester is owed an answer now
                // rather than after the transfer time-out: the transfer ended without a
                // result, as when the subscription ends without one.
                log::info!(target: "c2c", "the initiator hung up before the transfer's final NOTIFY");
                self.fail(now, Role::Destination, TRANSFER_GIVEN_UP);
            }
            State::CallingDestination | State::EarlyOffer | State::EarlyMedia
                if leg == Role::Initiator =>
            {
                // Our CANCEL makes the destination's INVITE fail, which is reported then.
                self.cancel_or_bye(now, Role::Destination);
            }
            _ => {
                if !self.final_sent {
                    self.fail(now, leg.other(), 487);
                } else {
                    self.end_all(now);
                }
            }
        }
    }

    fn call_destination(&mut self, now: Instant) {
        self.state = State::CallingDestination;
        self.destination = LegState::Ringing {
            deadline: now + self.timing.ring_timeout,
        };
        self.actions.push_back(Action::InviteDestination);
    }

    fn report_ringing(&mut self, leg: Role) {
        if !self.rang[leg.index()] {
            self.rang[leg.index()] = true;
            self.report(180, leg, RING_TEXT[leg.index()]);
        }
    }

    /// Report a failure of `leg` (if no final report went out yet) and end the call.
    fn fail(&mut self, now: Instant, leg: Role, code: u16) {
        self.report(code, leg, FAILED_TEXT[leg.index()]);
        self.end_all(now);
    }

    fn report(&mut self, code: u16, leg: Role, text: &str) {
        if self.final_sent {
            return;
        }
        let progress = Progress {
            code,
            leg,
            text: text.to_string(),
        };
        self.final_sent = progress.is_final();
        log::info!(target: "c2c", "{code} {} {text}", leg.as_str());
        self.actions.push_back(Action::Report(progress));
    }

    /// Tear down every live leg: CANCEL what rings, BYE what is up.
    fn end_all(&mut self, now: Instant) {
        if self.state == State::Reinviting {
            // The destination's 2xx is still waiting for its ACK (held back for the
            // initiator's answer); it must be acknowledged before the BYE (RFC 3261 §13.2.2.4).
            self.actions.push_back(Action::Ack {
                leg: Role::Destination,
                sdp: None,
            });
        }
        self.state = State::Ending;
        self.cancel_or_bye(now, Role::Initiator);
        self.cancel_or_bye(now, Role::Destination);
    }

    fn cancel_or_bye(&mut self, now: Instant, leg: Role) {
        match *self.leg(leg) {
            LegState::Ringing { .. } => {
                *self.leg_mut(leg) = LegState::Cancelling {
                    deadline: now + LEG_GUARD,
                };
                self.actions.push_back(Action::Cancel(leg));
            }
            LegState::Up => self.bye(now, leg),
            _ => {}
        }
    }

    fn bye(&mut self, now: Instant, leg: Role) {
        *self.leg_mut(leg) = LegState::Closing {
            deadline: now + LEG_GUARD,
        };
        self.actions.push_back(Action::Bye(leg));
    }

    fn leg(&self, leg: Role) -> &LegState {
        match leg {
            Role::Initiator => &self.initiator,
            Role::Destination => &self.destination,
        }
    }

    fn leg_mut(&mut self, leg: Role) -> &mut LegState {
        match leg {
            Role::Initiator => &mut self.initiator,
            Role::Destination => &mut self.destination,
        }
    }
}

#[cfg(test)]
mod tests;
