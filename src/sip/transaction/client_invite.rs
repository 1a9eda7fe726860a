//! The INVITE client transaction (RFC 3261 §17.1.1, Figure 5 as amended by RFC 6026 §7.2).

use std::collections::VecDeque;
use std::time::Instant;

use super::timers::{Retransmit, Timers, deadline, earliest};
use super::{Class, TimerKind, TxAction, TxState};

/// Timer C in Proceeding (RFC 3261 §16.6 item 11, §16.7 step 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TimerC {
    at: Instant,
    /// Set once the INVITE is being cancelled (Timer C fired, or the owner sent a CANCEL):
    /// `at` is then 64*T1 after the CANCEL, the wait for the 487 it provokes (which still
    /// needs its ACK). With no final by then the transaction times out (RFC 3261 §9.1).
    cancelling: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The INVITE is out, nothing heard yet. Timer A only on unreliable transports.
    /// Timer C can only matter here when configured below Timer B.
    Calling {
        timer_a: Option<Retransmit>,
        timer_b: Instant,
        timer_c: Option<Instant>,
    },
    /// A provisional response arrived: retransmissions stop and so does Timer B
    /// (RFC 3261 §17.1.1.2), which is why Timer C guards this state.
    Proceeding {
        timer_c: Option<TimerC>,
    },
    /// A 300–699 arrived and was ACKed; retransmissions of it are ACKed again until D.
    Completed {
        timer_d: Instant,
    },
    /// A 2xx arrived (RFC 6026 §7.2): further 2xx — retransmissions or other forks — are
    /// passed up until Timer M, so the TU can ACK each.
    Accepted {
        timer_m: Instant,
    },
    Terminated,
}

/// An INVITE client transaction. The INVITE itself and the ACK stay with the owner;
/// this machine only says when to send them.
#[derive(Debug)]
pub(crate) struct ClientInvite {
    state: State,
    timers: Timers,
    reliable: bool,
    actions: VecDeque<TxAction>,
}

impl ClientInvite {
    /// Start the transaction at `now`; the owner sends the INVITE itself right away.
    /// `reliable` (TCP, TLS) suppresses retransmissions and zeroes Timer D.
    pub(crate) fn new(now: Instant, timers: Timers, reliable: bool) -> ClientInvite {
        // RFC 3261 §17.1.1.2: Timer A = T1 on unreliable transports, Timer B = 64*T1.
        let timer_a = (!reliable).then(|| Retransmit::start(now, timers.t1));
        let timer_b = deadline(now, timers.sixty_four_t1());
        let timer_c = timers.timer_c.map(|c| deadline(now, c));
        ClientInvite {
            state: State::Calling {
                timer_a,
                timer_b,
                timer_c,
            },
            timers,
            reliable,
            actions: VecDeque::new(),
        }
    }

    pub(crate) fn state(&self) -> TxState {
        match self.state {
            State::Calling { .. } => TxState::Calling,
            State::Proceeding { .. } => TxState::Proceeding,
            State::Completed { .. } => TxState::Completed,
            State::Accepted { .. } => TxState::Accepted,
            State::Terminated => TxState::Terminated,
        }
    }

    /// A response matched to this transaction (RFC 3261 §17.1.3) arrived.
    pub(crate) fn handle_response(&mut self, now: Instant, status: u16) {
        let Some(class) = Class::of(status) else {
            return;
        };
        match (self.state, class) {
            (State::Calling { timer_c, .. }, Class::Provisional) => {
                // §16.7 step 2: a provisional above 100 resets Timer C.
                let timer_c = match (status > 100, self.timers.timer_c) {
                    (true, Some(d)) => Some(deadline(now, d)),
                    _ => timer_c,
                };
                let timer_c = timer_c.map(|at| TimerC {
                    at,
                    cancelling: false,
                });
                self.state = State::Proceeding { timer_c };
                self.actions.push_back(TxAction::PassUp);
            }
            (State::Proceeding { timer_c }, Class::Provisional) => {
                let timer_c = match (timer_c, self.timers.timer_c) {
                    (Some(c), Some(d)) if status > 100 && !c.cancelling => Some(TimerC {
                        at: deadline(now, d),
                        cancelling: false,
                    }),
                    (other, _) => other,
                };
                self.state = State::Proceeding { timer_c };
                self.actions.push_back(TxAction::PassUp);
            }
            (State::Calling { .. } | State::Proceeding { .. }, Class::Success) => {
                // RFC 6026 §7.2: 2xx moves to Accepted, Timer M = 64*T1; the TU sends the ACK.
                self.state = State::Accepted {
                    timer_m: deadline(now, self.timers.sixty_four_t1()),
                };
                self.actions.push_back(TxAction::PassUp);
            }
            (State::Calling { .. } | State::Proceeding { .. }, Class::Failure) => {
                // §17.1.1.2: pass the final up, ACK it, wait Timer D for retransmissions.
                self.actions.push_back(TxAction::PassUp);
                self.actions.push_back(TxAction::SendAck);
                let d = self.timers.timer_d(self.reliable);
                if d.is_zero() {
                    self.terminate();
                } else {
                    self.state = State::Completed {
                        timer_d: deadline(now, d),
                    };
                }
            }
            (State::Completed { .. }, Class::Failure) => {
                // §17.1.1.2: a retransmitted final is ACKed again but not passed up.
                self.actions.push_back(TxAction::SendAck);
            }
            (State::Accepted { .. }, Class::Success) => {
                // RFC 6026 §7.2: each 2xx goes up; the TU ACKs every one.
                self.actions.push_back(TxAction::PassUp);
            }
            // Everything else (1xx after a final, 2xx in Completed, 300–699 in Accepted)
            // has no transition: absorbed.
            _ => {}
        }
    }

    /// Fire every timer due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        // Fire at most one timer per pass, earliest first, until none is due; each pass
        // either changes state or pushes a deadline past `now`, so this ends.
        while let Some((kind, at)) = self.next_timer() {
            if at > now {
                break;
            }
            self.fire(now, kind);
        }
    }

    fn next_timer(&self) -> Option<(TimerKind, Instant)> {
        let candidates = match self.state {
            State::Calling {
                timer_a,
                timer_b,
                timer_c,
            } => [
                // On a tie B and C come first: no retransmission just before giving up.
                Some((TimerKind::B, timer_b)),
                timer_c.map(|at| (TimerKind::C, at)),
                timer_a.map(|a| (TimerKind::A, a.at)),
            ],
            State::Proceeding { timer_c } => [timer_c.map(|c| (TimerKind::C, c.at)), None, None],
            State::Completed { timer_d } => [Some((TimerKind::D, timer_d)), None, None],
            State::Accepted { timer_m } => [Some((TimerKind::M, timer_m)), None, None],
            State::Terminated => [None, None, None],
        };
        candidates.into_iter().flatten().min_by_key(|&(_, at)| at)
    }

    fn fire(&mut self, now: Instant, kind: TimerKind) {
        match (self.state, kind) {
            (
                State::Calling {
                    timer_a: Some(a),
                    timer_b,
                    timer_c,
                },
                TimerKind::A,
            ) => {
                // §17.1.1.2: retransmit, Timer A doubles (no cap for INVITE) until B.
                self.actions.push_back(TxAction::Retransmit);
                self.state = State::Calling {
                    timer_a: Some(a.doubled(now, None)),
                    timer_b,
                    timer_c,
                };
            }
            (State::Calling { .. }, TimerKind::B | TimerKind::C) => {
                // §17.1.1.2: Timer B in Calling: time-out reported to the TU. Timer C with
                // no provisional heard is the same failure (§16.8: treated as a 408).
                self.actions.push_back(TxAction::Timeout(kind));
                self.terminate();
            }
            (State::Proceeding { timer_c: Some(c) }, TimerKind::C) => {
                // §16.8: a provisional was heard, so the INVITE is CANCELled (by the
                // owner, told by this Timeout); keep waiting for the 487 to ACK it.
                // §9.1: once cancelling, no final within 64*T1 of the CANCEL means the
                // transaction is over: reported as a time-out (408, §8.1.3.1).
                self.actions.push_back(TxAction::Timeout(TimerKind::C));
                if c.cancelling {
                    self.terminate();
                    return;
                }
                self.cancel_sent(now);
            }
            (State::Completed { .. }, TimerKind::D) | (State::Accepted { .. }, TimerKind::M) => {
                self.terminate();
            }
            _ => {}
        }
    }

    /// The owner sent a CANCEL for this INVITE (RFC 3261 §9.1): from now on a final
    /// response is awaited for 64*T1 at most, on Timer C's slot, which no provisional
    /// re-arms any more. Only a transaction in Proceeding can be cancelled.
    pub(crate) fn cancel_sent(&mut self, now: Instant) {
        if let State::Proceeding { timer_c } = self.state
            && !timer_c.is_some_and(|c| c.cancelling)
        {
            self.state = State::Proceeding {
                timer_c: Some(TimerC {
                    at: deadline(now, self.timers.sixty_four_t1()),
                    cancelling: true,
                }),
            };
        }
    }

    /// The transport could not send the INVITE or the ACK (RFC 3261 §17.1.1.2).
    pub(crate) fn transport_error(&mut self) {
        match self.state {
            State::Terminated => {}
            // Nothing is sent by the transaction in Accepted (the TU sends the ACK for a
            // 2xx), so an error there is not this transaction's.
            State::Accepted { .. } => {}
            _ => {
                self.actions.push_back(TxAction::TransportError);
                self.terminate();
            }
        }
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.actions.push_back(TxAction::Terminated);
    }

    /// The next thing to do, oldest first.
    pub(crate) fn poll_action(&mut self) -> Option<TxAction> {
        self.actions.pop_front()
    }

    /// When `handle_timeout` must next be called; `None` once terminated.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[self.next_timer().map(|(_, at)| at)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn drain(tx: &mut ClientInvite) -> Vec<TxAction> {
        std::iter::from_fn(|| tx.poll_action()).collect()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn no_c() -> Timers {
        Timers {
            timer_c: None,
            ..Timers::default()
        }
    }

    #[test]
    fn invite_client_timer_a_doubles_from_t1_until_timer_b() {
        let t0 = Instant::now();
        let mut tx = ClientInvite::new(t0, no_c(), false);
        assert_eq!(tx.state(), TxState::Calling);
        // §17.1.1.2: retransmissions at T1, 3T1, 7T1, 15T1, 31T1, 63T1 (0.5 s .. 31.5 s),
        // intervals 0.5, 1, 2, 4, 8, 16 s — no T2 cap for INVITE; then Timer B at 32 s.
        let expected_at = [500, 1500, 3500, 7500, 15500, 31500];
        for at in expected_at {
            assert_eq!(
                tx.poll_timeout(),
                Some(t0 + ms(at)),
                "retransmission due at {at} ms"
            );
            tx.handle_timeout(t0 + ms(at - 1));
            assert_eq!(drain(&mut tx), vec![], "nothing before {at} ms");
            tx.handle_timeout(t0 + ms(at));
            assert_eq!(drain(&mut tx), vec![TxAction::Retransmit], "at {at} ms");
        }
        // The next A would be at 63.5 s; Timer B at 32 s comes first.
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(32_000)));
        tx.handle_timeout(t0 + ms(32_000));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::Timeout(TimerKind::B), TxAction::Terminated]
        );
        assert_eq!(tx.state(), TxState::Terminated);
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn invite_client_reliable_has_no_timer_a_but_timer_b() {
        let t0 = Instant::now();
        let mut tx = ClientInvite::new(t0, no_c(), true);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(32_000)));
        tx.handle_timeout(t0 + ms(31_999));
        assert_eq!(drain(&mut tx), vec![]);
        tx.handle_timeout(t0 + ms(32_000));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::Timeout(TimerKind::B), TxAction::Terminated]
        );
    }

    #[test]
    fn invite_client_late_wakeup_fires_one_retransmission_then_b() {
        let t0 = Instant::now();
        let mut tx = ClientInvite::new(t0, no_c(), false);
        tx.handle_timeout(t0 + ms(40_000));
        // A (due first) fires once and is rescheduled from now; B is due too and ends it.
        assert_eq!(
            drain(&mut tx),
            vec![
                TxAction::Retransmit,
                TxAction::Timeout(TimerKind::B),
                TxAction::Terminated
            ]
        );
    }

    #[test]
    fn invite_client_provisional_stops_retransmissions_and_timer_b() {
        let t0 = Instant::now();
        let mut tx = ClientInvite::new(t0, no_c(), false);
        tx.handle_response(t0 + ms(100), 100);
        assert_eq!(drain(&mut tx), vec![TxAction::PassUp]);
        assert_eq!(tx.state(), TxState::Proceeding);
        // No timers left without Timer C: the TU's own ring time-out governs.
        assert_eq!(tx.poll_timeout(), None);
        tx.handle_timeout(t0 + ms(100_000));
        assert_eq!(drain(&mut tx), vec![]);
        tx.handle_response(t0 + ms(100_001), 180);
        assert_eq!(drain(&mut tx), vec![TxAction::PassUp]);
    }

    #[test]
    fn invite_client_non_2xx_is_acked_and_absorbed_until_timer_d() {
        for (reliable, d) in [(false, Some(32_000)), (true, None)] {
            let t0 = Instant::now();
            let mut tx = ClientInvite::new(t0, no_c(), reliable);
            tx.handle_response(t0, 180);
            tx.handle_response(t0 + ms(1000), 486);
            assert_eq!(
                drain(&mut tx),
                [
                    vec![TxAction::PassUp, TxAction::PassUp, TxAction::SendAck],
                    if d.is_none() {
                        vec![TxAction::Terminated]
                    } else {
                        vec![]
                    }
                ]
                .concat(),
                "reliable={reliable}"
            );
            let Some(d) = d else {
                // Timer D = 0 on reliable transports: terminated at once.
                assert_eq!(tx.state(), TxState::Terminated);
                continue;
            };
            assert_eq!(tx.state(), TxState::Completed);
            assert_eq!(tx.poll_timeout(), Some(t0 + ms(1000 + d)));
            // A retransmitted final is ACKed again, not passed up; other responses absorbed.
            tx.handle_response(t0 + ms(2000), 486);
            tx.handle_response(t0 + ms(2001), 200);
            tx.handle_response(t0 + ms(2002), 180);
            assert_eq!(drain(&mut tx), vec![TxAction::SendAck]);
            tx.handle_timeout(t0 + ms(1000 + d));
            assert_eq!(drain(&mut tx), vec![TxAction::Terminated]);
        }
    }

    #[test]
    fn invite_client_2xx_enters_accepted_and_passes_up_retransmissions_until_m() {
        let t0 = Instant::now();
        let mut tx = ClientInvite::new(t0, no_c(), false);
        tx.handle_response(t0 + ms(200), 200);
        assert_eq!(drain(&mut tx), vec![TxAction::PassUp]);
        assert_eq!(tx.state(), TxState::Accepted);
        // Retransmissions stopped; only Timer M = 64*T1 remains (RFC 6026 §7.2).
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(32_200)));
        tx.handle_response(t0 + ms(700), 200);
        tx.handle_response(t0 + ms(800), 183);
        tx.handle_response(t0 + ms(900), 486);
        tx.handle_response(t0 + ms(1700), 200);
        assert_eq!(drain(&mut tx), vec![TxAction::PassUp, TxAction::PassUp]);
        tx.handle_timeout(t0 + ms(32_199));
        assert_eq!(drain(&mut tx), vec![]);
        tx.handle_timeout(t0 + ms(32_200));
        assert_eq!(drain(&mut tx), vec![TxAction::Terminated]);
    }

    #[test]
    fn invite_client_timer_c_reset_by_provisional_then_reported_once() {
        let t0 = Instant::now();
        let timers = Timers {
            timer_c: Some(Duration::from_secs(180)),
            ..Timers::default()
        };
        let mut tx = ClientInvite::new(t0, timers, false);
        tx.handle_response(t0 + ms(100), 100);
        // 100 Trying does not reset Timer C (§16.7 step 2); 180 does.
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(180_000)));
        tx.handle_response(t0 + ms(10_000), 180);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(190_000)));
        drain(&mut tx);
        tx.handle_timeout(t0 + ms(190_000));
        assert_eq!(drain(&mut tx), vec![TxAction::Timeout(TimerKind::C)]);
        assert_eq!(tx.state(), TxState::Proceeding);
        // The TU CANCELs; the 487 that follows is still ACKed.
        tx.handle_response(t0 + ms(191_000), 487);
        assert_eq!(drain(&mut tx), vec![TxAction::PassUp, TxAction::SendAck]);
        assert_eq!(tx.state(), TxState::Completed);
    }

    #[test]
    fn invite_client_timer_c_without_provisional_is_a_timeout() {
        let t0 = Instant::now();
        let timers = Timers {
            timer_c: Some(Duration::from_secs(10)),
            ..Timers::default()
        };
        let mut tx = ClientInvite::new(t0, timers, true);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(10_000)));
        tx.handle_timeout(t0 + ms(10_000));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::Timeout(TimerKind::C), TxAction::Terminated]
        );
    }

    #[test]
    fn invite_client_timer_c_gives_up_after_64_t1_more_without_final() {
        let t0 = Instant::now();
        let timers = Timers {
            timer_c: Some(Duration::from_secs(60)),
            ..Timers::default()
        };
        let mut tx = ClientInvite::new(t0, timers, true);
        tx.handle_response(t0, 180);
        drain(&mut tx);
        tx.handle_timeout(t0 + ms(60_000));
        assert_eq!(drain(&mut tx), vec![TxAction::Timeout(TimerKind::C)]);
        // A provisional after C fired does not re-arm it.
        tx.handle_response(t0 + ms(61_000), 180);
        assert_eq!(drain(&mut tx), vec![TxAction::PassUp]);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(92_000)));
        tx.handle_timeout(t0 + ms(92_000));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::Timeout(TimerKind::C), TxAction::Terminated],
            "RFC 3261 §9.1: no final 64*T1 after the CANCEL: a time-out for the owner"
        );
    }

    #[test]
    fn invite_client_cancelled_without_timer_c_times_out_64_t1_after_the_cancel() {
        let t0 = Instant::now();
        let mut tx = ClientInvite::new(t0, no_c(), false);
        tx.handle_response(t0, 180);
        drain(&mut tx);
        assert_eq!(
            tx.poll_timeout(),
            None,
            "only the owner's ring time-out runs"
        );
        tx.cancel_sent(t0 + ms(20_000));
        // A provisional after the CANCEL does not extend the wait.
        tx.handle_response(t0 + ms(21_000), 180);
        assert_eq!(drain(&mut tx), vec![TxAction::PassUp]);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(52_000)));
        tx.handle_timeout(t0 + ms(52_000));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::Timeout(TimerKind::C), TxAction::Terminated]
        );
    }

    #[test]
    fn invite_client_transport_error_terminates_except_in_accepted() {
        let t0 = Instant::now();
        let mut tx = ClientInvite::new(t0, no_c(), false);
        tx.transport_error();
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::TransportError, TxAction::Terminated]
        );
        tx.transport_error();
        tx.handle_response(t0, 200);
        assert_eq!(
            drain(&mut tx),
            vec![],
            "a terminated transaction does nothing"
        );

        let mut tx = ClientInvite::new(t0, no_c(), false);
        tx.handle_response(t0, 200);
        drain(&mut tx);
        tx.transport_error();
        assert_eq!(drain(&mut tx), vec![]);
        assert_eq!(tx.state(), TxState::Accepted);
    }

    #[test]
    fn invite_client_ignores_out_of_range_status() {
        let t0 = Instant::now();
        let mut tx = ClientInvite::new(t0, no_c(), false);
        tx.handle_response(t0, 99);
        tx.handle_response(t0, 700);
        assert_eq!(drain(&mut tx), vec![]);
        assert_eq!(tx.state(), TxState::Calling);
    }
}
