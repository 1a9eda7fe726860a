//! The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6).

use std::collections::VecDeque;
use std::time::Instant;

use super::timers::{Retransmit, Timers, deadline};
use super::{Class, TimerKind, TxAction, TxState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The request is out. Timer E only on unreliable transports.
    Trying {
        timer_e: Option<Retransmit>,
        timer_f: Instant,
    },
    /// A provisional arrived; Timer E continues at T2, Timer F still runs (§17.1.2.2).
    Proceeding {
        timer_e: Option<Retransmit>,
        timer_f: Instant,
    },
    /// A final arrived; retransmissions of it are absorbed until Timer K.
    Completed {
        timer_k: Instant,
    },
    Terminated,
}

/// A non-INVITE client transaction (OPTIONS, BYE, CANCEL, REFER, NOTIFY, ...).
#[derive(Debug)]
pub(crate) struct ClientNonInvite {
    state: State,
    timers: Timers,
    reliable: bool,
    actions: VecDeque<TxAction>,
}

impl ClientNonInvite {
    /// Start the transaction at `now`; the owner sends the request itself right away.
    pub(crate) fn new(now: Instant, timers: Timers, reliable: bool) -> ClientNonInvite {
        // RFC 3261 §17.1.2.2: Timer E = T1 on unreliable transports, Timer F = 64*T1.
        let timer_e = (!reliable).then(|| Retransmit::start(now, timers.t1));
        let timer_f = deadline(now, timers.sixty_four_t1());
        ClientNonInvite {
            state: State::Trying { timer_e, timer_f },
            timers,
            reliable,
            actions: VecDeque::new(),
        }
    }

    pub(crate) fn state(&self) -> TxState {
        match self.state {
            State::Trying { .. } => TxState::Trying,
            State::Proceeding { .. } => TxState::Proceeding,
            State::Completed { .. } => TxState::Completed,
            State::Terminated => TxState::Terminated,
        }
    }

    /// A response matched to this transaction (RFC 3261 §17.1.3) arrived.
    pub(crate) fn handle_response(&mut self, now: Instant, status: u16) {
        let Some(class) = Class::of(status) else {
            return;
        };
        match self.state {
            State::Trying { timer_e, timer_f } | State::Proceeding { timer_e, timer_f } => {
                self.actions.push_back(TxAction::PassUp);
                if class == Class::Provisional {
                    self.state = State::Proceeding { timer_e, timer_f };
                    return;
                }
                // §17.1.2.2: Timer K = T4 on unreliable transports, zero on reliable ones.
                let k = self.timers.t4_or_zero(self.reliable);
                if k.is_zero() {
                    self.terminate();
                } else {
                    self.state = State::Completed {
                        timer_k: deadline(now, k),
                    };
                }
            }
            // Completed: retransmitted finals are absorbed (§17.1.2.2).
            State::Completed { .. } | State::Terminated => {}
        }
    }

    /// Fire every timer due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        while let Some((kind, at)) = self.next_timer() {
            if at > now {
                break;
            }
            self.fire(now, kind);
        }
    }

    fn next_timer(&self) -> Option<(TimerKind, Instant)> {
        match self.state {
            State::Trying { timer_e, timer_f } | State::Proceeding { timer_e, timer_f } => {
                // Timer F wins a tie: the last retransmission would be pointless.
                match timer_e {
                    Some(e) if e.at < timer_f => Some((TimerKind::E, e.at)),
                    _ => Some((TimerKind::F, timer_f)),
                }
            }
            State::Completed { timer_k } => Some((TimerKind::K, timer_k)),
            State::Terminated => None,
        }
    }

    fn fire(&mut self, now: Instant, kind: TimerKind) {
        match (self.state, kind) {
            (
                State::Trying {
                    timer_e: Some(e),
                    timer_f,
                },
                TimerKind::E,
            ) => {
                // §17.1.2.2: in Trying, Timer E doubles up to T2.
                self.actions.push_back(TxAction::Retransmit);
                let timer_e = Some(e.doubled(now, Some(self.timers.t2)));
                self.state = State::Trying { timer_e, timer_f };
            }
            (
                State::Proceeding {
                    timer_e: Some(_),
                    timer_f,
                },
                TimerKind::E,
            ) => {
                // §17.1.2.2: in Proceeding, Timer E is reset to T2 each time.
                self.actions.push_back(TxAction::Retransmit);
                let timer_e = Some(Retransmit::fixed(now, self.timers.t2));
                self.state = State::Proceeding { timer_e, timer_f };
            }
            (State::Trying { .. } | State::Proceeding { .. }, TimerKind::F) => {
                self.actions.push_back(TxAction::Timeout(TimerKind::F));
                self.terminate();
            }
            (State::Completed { .. }, TimerKind::K) => self.terminate(),
            _ => {}
        }
    }

    /// The transport could not send the request (RFC 3261 §17.1.2.2).
    pub(crate) fn transport_error(&mut self) {
        match self.state {
            State::Trying { .. } | State::Proceeding { .. } => {
                self.actions.push_back(TxAction::TransportError);
                self.terminate();
            }
            // Nothing is sent in Completed; the error cannot be this transaction's.
            State::Completed { .. } | State::Terminated => {}
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
        self.next_timer().map(|(_, at)| at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn drain(tx: &mut ClientNonInvite) -> Vec<TxAction> {
        std::iter::from_fn(|| tx.poll_action()).collect()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Drive the machine through each expected retransmission time, checking nothing
    /// fires a millisecond early.
    fn expect_retransmissions_at(tx: &mut ClientNonInvite, t0: Instant, times: &[u64]) {
        for &at in times {
            assert_eq!(
                tx.poll_timeout(),
                Some(t0 + ms(at)),
                "retransmission due at {at} ms"
            );
            tx.handle_timeout(t0 + ms(at - 1));
            assert_eq!(drain(tx), vec![], "nothing before {at} ms");
            tx.handle_timeout(t0 + ms(at));
            assert_eq!(drain(tx), vec![TxAction::Retransmit], "at {at} ms");
        }
    }

    #[test]
    fn non_invite_client_timer_e_doubles_to_t2_cap_then_timer_f() {
        let t0 = Instant::now();
        let mut tx = ClientNonInvite::new(t0, Timers::default(), false);
        assert_eq!(tx.state(), TxState::Trying);
        // §17.1.2.2: intervals 0.5, 1, 2, 4, 4, 4, ... s (capped at T2 = 4 s).
        let mut times = vec![500, 1500, 3500, 7500];
        times.extend((1..=6).map(|n| 7500 + n * 4000)); // 11.5 .. 31.5 s
        expect_retransmissions_at(&mut tx, t0, &times);
        // Next E would be 35.5 s; Timer F (64*T1 = 32 s) comes first.
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(32_000)));
        tx.handle_timeout(t0 + ms(32_000));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::Timeout(TimerKind::F), TxAction::Terminated]
        );
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn non_invite_client_timer_e_is_t2_in_proceeding_and_f_still_runs() {
        let t0 = Instant::now();
        let mut tx = ClientNonInvite::new(t0, Timers::default(), false);
        expect_retransmissions_at(&mut tx, t0, &[500]);
        // A provisional at 1 s: E keeps its pending deadline (1.5 s), then fires every T2.
        tx.handle_response(t0 + ms(1000), 100);
        assert_eq!(drain(&mut tx), vec![TxAction::PassUp]);
        assert_eq!(tx.state(), TxState::Proceeding);
        let times: Vec<u64> = (0..8).map(|n| 1500 + n * 4000).collect(); // 1.5 .. 29.5 s
        expect_retransmissions_at(&mut tx, t0, &times);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(32_000)));
        tx.handle_timeout(t0 + ms(32_000));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::Timeout(TimerKind::F), TxAction::Terminated]
        );
    }

    #[test]
    fn non_invite_client_e_capped_by_smaller_t2() {
        let t0 = Instant::now();
        let timers = Timers {
            t2: ms(1500),
            ..Timers::default()
        };
        let mut tx = ClientNonInvite::new(t0, timers, false);
        expect_retransmissions_at(&mut tx, t0, &[500, 1500, 3000, 4500]);
    }

    #[test]
    fn non_invite_client_reliable_has_only_timer_f() {
        let t0 = Instant::now();
        let mut tx = ClientNonInvite::new(t0, Timers::default(), true);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(32_000)));
        tx.handle_response(t0 + ms(10), 180);
        drain(&mut tx);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(32_000)));
        tx.handle_timeout(t0 + ms(32_000));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::Timeout(TimerKind::F), TxAction::Terminated]
        );
    }

    #[test]
    fn non_invite_client_final_absorbs_retransmissions_until_timer_k() {
        for (reliable, k) in [(false, Some(5000)), (true, None)] {
            let t0 = Instant::now();
            let mut tx = ClientNonInvite::new(t0, Timers::default(), reliable);
            tx.handle_response(t0 + ms(300), 200);
            let mut want = vec![TxAction::PassUp];
            if k.is_none() {
                want.push(TxAction::Terminated);
            }
            assert_eq!(drain(&mut tx), want, "reliable={reliable}");
            let Some(k) = k else { continue };
            assert_eq!(tx.state(), TxState::Completed);
            assert_eq!(tx.poll_timeout(), Some(t0 + ms(300 + k)));
            tx.handle_response(t0 + ms(800), 200);
            tx.handle_response(t0 + ms(900), 404);
            tx.handle_timeout(t0 + ms(300 + k - 1));
            assert_eq!(drain(&mut tx), vec![]);
            tx.handle_timeout(t0 + ms(300 + k));
            assert_eq!(drain(&mut tx), vec![TxAction::Terminated]);
        }
    }

    #[test]
    fn non_invite_client_transport_error_terminates() {
        let t0 = Instant::now();
        let mut tx = ClientNonInvite::new(t0, Timers::default(), false);
        tx.transport_error();
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::TransportError, TxAction::Terminated]
        );
        assert_eq!(tx.poll_timeout(), None);
    }
}
