//! The ACKs the phones owe us. RFC 3261 §13.3.1.4: a 2xx of ours to a phone's INVITE (a
//! re-INVITE in its dialog, answered by us or with the other phone's answer or offer) that
//! is not ACKed within 64·T1 "SHOULD" end the session with BYE. The reactor stops resending
//! that 2xx then (UDP), and over TCP it never resends it: the deadline is kept here, one
//! per answered INVITE, so it holds on every transport.

use std::time::{Duration, Instant};

use super::{Engine, SessionId};
use crate::c2c::command::Role;
use crate::sip::msg::{Message, Method};

/// 64·T1 with T1 = 500 ms (RFC 3261 §13.3.1.4, §17.1.1.1).
pub(super) const ACK_WAIT: Duration = Duration::from_secs(32);

impl Engine {
    /// We answered `leg`'s INVITE `req` with a 2xx: its ACK (same CSeq number, RFC 3261
    /// §17.1.1.3) is due within [`ACK_WAIT`].
    pub(super) fn await_ack(&mut self, now: Instant, sid: SessionId, leg: Role, req: &Message) {
        if req.method() != Some(&Method::Invite) {
            return;
        }
        if let Ok((cseq, _)) = req.cseq() {
            // One per leg: a later INVITE's 2xx is the one whose ACK matters, and a phone
            // sending INVITE after INVITE without ACKing adds none.
            self.acks_due.remove_matching(sid, |l, _| l == leg);
            self.acks_due.insert((now + ACK_WAIT, sid, leg, cseq));
        }
    }

    /// `leg`'s phone ACKed the 2xx of its INVITE numbered as `ack` is.
    pub(super) fn ack_came(&mut self, sid: SessionId, leg: Role, ack: &Message) {
        let Ok((cseq, _)) = ack.cseq() else {
            return;
        };
        self.acks_due
            .remove_matching(sid, |l, n| (l, n) == (leg, cseq));
    }

    /// The ACKs overdue at `now`: their calls end. A held ACK to the other phone (its 2xx
    /// gave the silent phone an offer, the answer was to come in the missing ACK) goes out
    /// first with an answer rejecting its streams (`Action::Bye`), then BYE on both legs.
    pub(super) fn acks_overdue(&mut self, now: Instant) {
        while let Some(&(t, sid, leg, cseq)) = self.acks_due.first()
            && t <= now
        {
            self.acks_due.remove(&(t, sid, leg, cseq));
            log::warn!(target: "c2c", "click-to-call {sid}: the {} never ACKed our 2xx to its INVITE (CSeq {cseq}) within 64*T1: ending the call (RFC 3261 13.3.1.4)", leg.as_str());
            // 408: the ACK timed out, as a transaction would (RFC 3261 §8.1.3.1).
            self.end_dialog(now, sid, leg, 408);
        }
    }
}
