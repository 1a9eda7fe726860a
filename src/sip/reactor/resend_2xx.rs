//! Our 2xx responses to INVITEs over UDP, resent until their ACK arrives (RFC 3261
//! §13.3.1.4; RFC 6026 leaves this to the transaction user, not the transaction): first
//! after T1, then at intervals doubling up to T2, given up 64·T1 after the first send.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::sip::transport::Target;

/// The dialog's INVITE a 2xx answers: (Call-ID, CSeq number), what its ACK carries.
pub(super) type InviteKey = (String, u32);

/// A 2xx to an INVITE waiting for its ACK.
struct Unacked {
    target: Target,
    bytes: Vec<u8>,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

/// Every 2xx waiting for its ACK.
pub(super) struct Unacked2xx {
    t1: Duration,
    t2: Duration,
    waiting: HashMap<InviteKey, Unacked>,
}

impl Unacked2xx {
    pub(super) fn new(t1: Duration, t2: Duration) -> Unacked2xx {
        Unacked2xx {
            t1,
            t2,
            waiting: HashMap::new(),
        }
    }

    /// The 2xx `bytes` for `key` was just sent to `target` for the first time.
    pub(super) fn sent(&mut self, now: Instant, key: InviteKey, target: Target, bytes: Vec<u8>) {
        self.waiting.insert(
            key,
            Unacked {
                target,
                bytes,
                next: now + self.t1,
                interval: self.t1,
                give_up: now + self.t1 * 64,
            },
        );
    }

    /// The ACK for `key` arrived: no more resends (§13.3.1.4).
    pub(super) fn acked(&mut self, key: &InviteKey) {
        self.waiting.remove(key);
    }

    #[cfg(test)]
    /// How many 2xx wait for their ACK.
    pub(super) fn len(&self) -> usize {
        self.waiting.len()
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.waiting.values().map(|u| u.next).min()
    }

    /// The resends due at `now`, as (target, bytes); a 2xx whose 64·T1 are over is
    /// dropped instead.
    pub(super) fn due(&mut self, now: Instant) -> Vec<(Target, Vec<u8>)> {
        let t2 = self.t2;
        let mut resend = Vec::new();
        self.waiting.retain(|key, u| {
            if now < u.next {
                return true;
            }
            if now >= u.give_up {
                // §13.3.1.4: no ACK within 64·T1: the dialog layer would BYE; the peer
                // never confirmed the change, so we only log it.
                log::info!(target: super::core::LOG, "no ACK for the 2xx to INVITE {} {}", key.0, key.1);
                return false;
            }
            resend.push((u.target.clone(), u.bytes.clone()));
            u.interval = (u.interval * 2).min(t2);
            u.next = now + u.interval;
            true
        });
        resend
    }
}
