//! Timer values of RFC 3261 §17 (Table 4) derived from T1, T2 and T4.

use std::time::{Duration, Instant};

/// The base timer values every transaction timer is derived from, plus Timer C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timers {
    /// RTT estimate; first retransmission interval (RFC 3261 §17.1.1.1: 500 ms default).
    pub t1: Duration,
    /// Cap on non-INVITE and INVITE-response retransmission intervals (4 s).
    pub t2: Duration,
    /// How long a message may stay in the network (5 s).
    pub t4: Duration,
    /// Timer C (RFC 3261 §16.6): how long one of our INVITE client transactions waits for a
    /// final response after a provisional one, since Timer B no longer runs then. Reset by
    /// every provisional response above 100 (§16.7 step 2). `None` disables it (the call
    /// engine then relies on its own ring time-out and CANCEL).
    pub timer_c: Option<Duration>,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_c: Some(Duration::from_secs(180)),
        }
    }
}

impl Timers {
    /// 64*T1: Timers B, F, H, J (unreliable), L and M (RFC 3261 Table 4, RFC 6026 §8.11).
    pub(crate) fn sixty_four_t1(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// Timer D: at least 32 s on unreliable transports, zero on reliable ones
    /// (RFC 3261 §17.1.1.2).
    pub(crate) fn timer_d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            Duration::from_secs(32).max(self.sixty_four_t1())
        }
    }

    /// Timers I and K: T4 on unreliable transports, zero on reliable ones
    /// (RFC 3261 §17.2.1, §17.1.2.2).
    pub(crate) fn t4_or_zero(&self, reliable: bool) -> Duration {
        if reliable { Duration::ZERO } else { self.t4 }
    }

    /// Timer J: 64*T1 on unreliable transports, zero on reliable ones (RFC 3261 §17.2.2).
    pub(crate) fn timer_j(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.sixty_four_t1()
        }
    }
}

/// `now + d`. Durations come from configuration and are minutes at most, so an overflow
/// is not expected; should one happen the timer fires at once rather than panicking.
pub(super) fn deadline(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

/// A retransmission timer (A, E or G): when it fires next and the interval it was set with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Retransmit {
    pub at: Instant,
    pub interval: Duration,
}

impl Retransmit {
    /// The first firing, one T1 after `now` (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1).
    pub(super) fn start(now: Instant, t1: Duration) -> Retransmit {
        Retransmit {
            at: deadline(now, t1),
            interval: t1,
        }
    }

    /// The next firing after one at `now`: the interval doubles, up to `cap` if given.
    /// Counted from `now` rather than from the old deadline, so a late wake-up does not
    /// cause a burst of retransmissions.
    pub(super) fn doubled(self, now: Instant, cap: Option<Duration>) -> Retransmit {
        let mut interval = self.interval.saturating_mul(2);
        if let Some(cap) = cap {
            interval = interval.min(cap);
        }
        Retransmit {
            at: deadline(now, interval),
            interval,
        }
    }

    /// Fire next `interval` after `now` without doubling (Timer E in Proceeding: T2).
    pub(super) fn fixed(now: Instant, interval: Duration) -> Retransmit {
        Retransmit {
            at: deadline(now, interval),
            interval,
        }
    }
}

/// The earliest of a set of optional deadlines.
pub(super) fn earliest(deadlines: &[Option<Instant>]) -> Option<Instant> {
    deadlines.iter().flatten().min().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_rfc3261_table_4() {
        let t = Timers::default();
        assert_eq!(t.t1, Duration::from_millis(500));
        assert_eq!(t.t2, Duration::from_secs(4));
        assert_eq!(t.t4, Duration::from_secs(5));
        assert_eq!(t.timer_c, Some(Duration::from_secs(180)));
        assert_eq!(t.sixty_four_t1(), Duration::from_secs(32));
        assert_eq!(t.timer_d(false), Duration::from_secs(32));
        assert_eq!(t.timer_d(true), Duration::ZERO);
        assert_eq!(t.t4_or_zero(false), Duration::from_secs(5));
        assert_eq!(t.t4_or_zero(true), Duration::ZERO);
        assert_eq!(t.timer_j(false), Duration::from_secs(32));
        assert_eq!(t.timer_j(true), Duration::ZERO);
    }

    #[test]
    fn timer_d_never_below_32s_even_with_small_t1() {
        let t = Timers {
            t1: Duration::from_millis(100),
            ..Timers::default()
        };
        assert_eq!(t.timer_d(false), Duration::from_secs(32));
        assert_eq!(t.sixty_four_t1(), Duration::from_millis(6400));
    }

    #[test]
    fn retransmit_doubles_and_caps() {
        let now = Instant::now();
        let r = Retransmit::start(now, Duration::from_millis(500));
        let r = r.doubled(now, Some(Duration::from_secs(4)));
        assert_eq!(r.interval, Duration::from_secs(1));
        let r = Retransmit {
            interval: Duration::from_secs(3),
            ..r
        }
        .doubled(now, Some(Duration::from_secs(4)));
        assert_eq!(r.interval, Duration::from_secs(4));
        assert_eq!(r.at, now + Duration::from_secs(4));
    }
}
