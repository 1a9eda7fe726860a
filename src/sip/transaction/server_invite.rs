//! The INVITE server transaction (RFC 3261 §17.2.1, Figure 7 as amended by RFC 6026 §7.1).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::timers::{Retransmit, Timers, deadline};
use super::{Class, TimerKind, TxAction, TxError, TxState};

/// RFC 3261 §17.2.1: a 100 Trying goes out if the TU has not responded within 200 ms.
/// (Not sooner: the C++ original answers an unwanted INVITE with a bare 403, no 100.)
const TRYING_DELAY: Duration = Duration::from_millis(200);

/// Not in RFC 3261: how long, beyond 64*T1, an INVITE may wait for the TU's final
/// response before the transaction ends silently — Timer C's 3 minutes, after which a
/// proxy upstream has CANCELled (§16.8). Bounds what a TU that never answers can pile up.
const UNANSWERED: Duration = Duration::from_secs(180);

/// What `next_timer` found due: one of the RFC's timers, the 100 Trying delay, or the
/// unanswered-INVITE guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Timer(TimerKind),
    Trying,
    GiveUp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The INVITE was passed up; the TU may send provisionals. `responded` says whether
    /// there is a provisional to resend on a retransmitted INVITE; `trying` is when the
    /// automatic 100 is due while nothing has been sent.
    Proceeding {
        responded: bool,
        trying: Option<Instant>,
        give_up: Instant,
    },
    /// A 300–699 was sent; it is retransmitted on Timer G (unreliable only) until the ACK
    /// arrives or Timer H fires.
    Completed {
        timer_g: Option<Retransmit>,
        timer_h: Instant,
    },
    /// The ACK arrived; later ACKs are absorbed until Timer I.
    Confirmed {
        timer_i: Instant,
    },
    /// A 2xx was sent (RFC 6026 §7.1): the TU retransmits it itself; INVITE retransmissions
    /// are absorbed and ACKs passed up until Timer L.
    Accepted {
        timer_l: Instant,
    },
    Terminated,
}

/// An INVITE server transaction. The responses stay with the owner; this machine says
/// when to send them and when to resend the last one.
#[derive(Debug)]
pub(crate) struct ServerInvite {
    state: State,
    timers: Timers,
    reliable: bool,
    actions: VecDeque<TxAction>,
}

impl ServerInvite {
    /// Start the transaction for an INVITE received at `now` (the owner passes it up).
    pub(crate) fn new(now: Instant, timers: Timers, reliable: bool) -> ServerInvite {
        ServerInvite {
            state: State::Proceeding {
                responded: false,
                trying: Some(deadline(now, TRYING_DELAY)),
                give_up: deadline(now, UNANSWERED.saturating_add(timers.sixty_four_t1())),
            },
            timers,
            reliable,
            actions: VecDeque::new(),
        }
    }

    pub(crate) fn state(&self) -> TxState {
        match self.state {
            State::Proceeding { .. } => TxState::Proceeding,
            State::Completed { .. } => TxState::Completed,
            State::Confirmed { .. } => TxState::Confirmed,
            State::Accepted { .. } => TxState::Accepted,
            State::Terminated => TxState::Terminated,
        }
    }

    /// The TU sends a response. On success the machine queues `SendResponse` and the
    /// owner must remember this response as the one to resend.
    pub(crate) fn send_response(&mut self, now: Instant, status: u16) -> Result<(), TxError> {
        let class = Class::of(status).ok_or(TxError::InvalidStatus(status))?;
        match (self.state, class) {
            (State::Proceeding { give_up, .. }, Class::Provisional) => {
                self.state = State::Proceeding {
                    responded: true,
                    trying: None,
                    give_up,
                };
            }
            (State::Proceeding { .. }, Class::Success) => {
                // RFC 6026 §7.1: 2xx → Accepted, Timer L = 64*T1.
                let timer_l = deadline(now, self.timers.sixty_four_t1());
                self.state = State::Accepted { timer_l };
            }
            (State::Proceeding { .. }, Class::Failure) => {
                // §17.2.1: Timer G = T1 on unreliable transports, Timer H = 64*T1.
                let timer_g = (!self.reliable).then(|| Retransmit::start(now, self.timers.t1));
                let timer_h = deadline(now, self.timers.sixty_four_t1());
                self.state = State::Completed { timer_g, timer_h };
            }
            // RFC 6026 §7.1: 2xx retransmissions from the TU go out through Accepted.
            (State::Accepted { .. }, Class::Success) => {}
            (State::Terminated, _) => return Err(TxError::Terminated),
            (_, _) => {
                return Err(TxError::AlreadyFinal {
                    state: self.state(),
                    status,
                });
            }
        }
        self.actions.push_back(TxAction::SendResponse);
        Ok(())
    }

    /// The INVITE arrived again (matched per RFC 3261 §17.2.3).
    pub(crate) fn handle_request_retransmission(&mut self, _now: Instant) {
        match self.state {
            // §17.2.1: resend the most recent provisional, if any; a retransmitted
            // INVITE in Completed gets the final again.
            State::Proceeding {
                responded: true, ..
            }
            | State::Completed { .. } => {
                self.actions.push_back(TxAction::ResendResponse);
            }
            // RFC 6026 §7.1: absorbed in Accepted; also absorbed before any response and in
            // Confirmed.
            _ => {}
        }
    }

    /// An ACK matching this transaction arrived.
    pub(crate) fn handle_ack(&mut self, now: Instant) {
        match self.state {
            State::Completed { .. } => {
                // §17.2.1: Confirmed; Timer I = T4 on unreliable transports, else zero.
                let i = self.timers.t4_or_zero(self.reliable);
                if i.is_zero() {
                    self.terminate();
                } else {
                    self.state = State::Confirmed {
                        timer_i: deadline(now, i),
                    };
                }
            }
            // RFC 6026 §7.1: an ACK for the 2xx that matches the transaction goes to the TU.
            State::Accepted { .. } => self.actions.push_back(TxAction::PassUp),
            // Confirmed absorbs ACK retransmissions; an ACK in Proceeding matches nothing.
            _ => {}
        }
    }

    /// Fire every timer due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        while let Some((due, at)) = self.next_timer() {
            if at > now {
                break;
            }
            match (due, self.state) {
                (Due::Trying, State::Proceeding { give_up, .. }) => {
                    self.actions.push_back(TxAction::SendTrying);
                    self.state = State::Proceeding {
                        responded: true,
                        trying: None,
                        give_up,
                    };
                }
                (Due::GiveUp, _) => self.terminate(),
                (Due::Timer(kind), _) => self.fire(now, kind),
                (Due::Trying, _) => {}
            }
        }
    }

    fn next_timer(&self) -> Option<(Due, Instant)> {
        let timer = |kind, at| Some((Due::Timer(kind), at));
        match self.state {
            State::Proceeding {
                trying, give_up, ..
            } => match trying {
                Some(at) if at < give_up => Some((Due::Trying, at)),
                _ => Some((Due::GiveUp, give_up)),
            },
            State::Completed { timer_g, timer_h } => match timer_g {
                Some(g) if g.at < timer_h => timer(TimerKind::G, g.at),
                _ => timer(TimerKind::H, timer_h),
            },
            State::Confirmed { timer_i } => timer(TimerKind::I, timer_i),
            State::Accepted { timer_l } => timer(TimerKind::L, timer_l),
            State::Terminated => None,
        }
    }

    fn fire(&mut self, now: Instant, kind: TimerKind) {
        match (self.state, kind) {
            (
                State::Completed {
                    timer_g: Some(g),
                    timer_h,
                },
                TimerKind::G,
            ) => {
                // §17.2.1: resend the final; Timer G doubles up to T2.
                self.actions.push_back(TxAction::ResendResponse);
                let timer_g = Some(g.doubled(now, Some(self.timers.t2)));
                self.state = State::Completed { timer_g, timer_h };
            }
            (State::Completed { .. }, TimerKind::H) => {
                // §17.2.1: no ACK came; the TU is told of the failure.
                self.actions.push_back(TxAction::Timeout(TimerKind::H));
                self.terminate();
            }
            (State::Confirmed { .. }, TimerKind::I) | (State::Accepted { .. }, TimerKind::L) => {
                self.terminate();
            }
            _ => {}
        }
    }

    /// The transport could not send a response (RFC 3261 §17.2.1, RFC 6026 §7.1).
    pub(crate) fn transport_error(&mut self) {
        match self.state {
            State::Proceeding { .. } | State::Completed { .. } => {
                self.actions.push_back(TxAction::TransportError);
                self.terminate();
            }
            // RFC 6026 §7.1 draws no transport-error transition out of Accepted: the TU is
            // told, and the transaction stays to absorb INVITE retransmissions until L.
            State::Accepted { .. } => self.actions.push_back(TxAction::TransportError),
            State::Confirmed { .. } | State::Terminated => {}
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

    /// When `handle_timeout` must next be called; `None` when no timer runs.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.next_timer().map(|(_, at)| at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn drain(tx: &mut ServerInvite) -> Vec<TxAction> {
        std::iter::from_fn(|| tx.poll_action()).collect()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn invite_server_timer_g_doubles_to_t2_until_timer_h() {
        let t0 = Instant::now();
        let mut tx = ServerInvite::new(t0, Timers::default(), false);
        assert_eq!(tx.send_response(t0, 486), Ok(()));
        assert_eq!(drain(&mut tx), vec![TxAction::SendResponse]);
        assert_eq!(tx.state(), TxState::Completed);
        // §17.2.1: resends at 0.5, 1.5, 3.5, 7.5 s, then every T2 = 4 s up to 31.5 s.
        let mut times = vec![500, 1500, 3500, 7500];
        times.extend((1..=6).map(|n| 7500 + n * 4000));
        for at in times {
            assert_eq!(
                tx.poll_timeout(),
                Some(t0 + ms(at)),
                "resend due at {at} ms"
            );
            tx.handle_timeout(t0 + ms(at - 1));
            assert_eq!(drain(&mut tx), vec![], "nothing before {at} ms");
            tx.handle_timeout(t0 + ms(at));
            assert_eq!(drain(&mut tx), vec![TxAction::ResendResponse], "at {at} ms");
        }
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(32_000)));
        tx.handle_timeout(t0 + ms(32_000));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::Timeout(TimerKind::H), TxAction::Terminated]
        );
    }

    #[test]
    fn invite_server_sends_100_trying_after_200ms_only_if_tu_is_silent() {
        let t0 = Instant::now();
        let mut tx = ServerInvite::new(t0, Timers::default(), false);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(200)));
        tx.handle_timeout(t0 + ms(199));
        assert_eq!(drain(&mut tx), vec![]);
        tx.handle_timeout(t0 + ms(200));
        assert_eq!(drain(&mut tx), vec![TxAction::SendTrying]);
        assert_eq!(
            tx.poll_timeout(),
            Some(t0 + ms(212_000)),
            "only the guard is left"
        );
        // The 100 is now the response a retransmitted INVITE gets.
        tx.handle_request_retransmission(t0 + ms(500));
        assert_eq!(drain(&mut tx), vec![TxAction::ResendResponse]);

        // A TU that answers at once (the original's bare 403) gets no 100 first.
        let mut tx = ServerInvite::new(t0, Timers::default(), false);
        tx.send_response(t0 + ms(2), 403).unwrap();
        tx.handle_timeout(t0 + ms(200));
        assert_eq!(drain(&mut tx), vec![TxAction::SendResponse]);
        assert_eq!(
            tx.poll_timeout(),
            Some(t0 + ms(502)),
            "Timer G next, no Trying"
        );
    }

    #[test]
    fn invite_server_unanswered_ends_after_3_min_plus_64_t1() {
        let t0 = Instant::now();
        let mut tx = ServerInvite::new(t0, Timers::default(), true);
        tx.handle_timeout(t0 + ms(200));
        tx.send_response(t0 + ms(1000), 180).unwrap();
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::SendTrying, TxAction::SendResponse]
        );
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(212_000)));
        tx.handle_timeout(t0 + ms(211_999));
        assert_eq!(drain(&mut tx), vec![]);
        tx.handle_timeout(t0 + ms(212_000));
        assert_eq!(drain(&mut tx), vec![TxAction::Terminated]);
    }

    #[test]
    fn invite_server_reliable_has_no_timer_g_but_timer_h() {
        let t0 = Instant::now();
        let mut tx = ServerInvite::new(t0, Timers::default(), true);
        tx.send_response(t0, 603).unwrap();
        drain(&mut tx);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(32_000)));
        tx.handle_timeout(t0 + ms(32_000));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::Timeout(TimerKind::H), TxAction::Terminated]
        );
    }

    #[test]
    fn invite_server_absorbs_retransmissions_resending_last_response() {
        let t0 = Instant::now();
        let mut tx = ServerInvite::new(t0, Timers::default(), false);
        // Before any response: absorbed silently.
        tx.handle_request_retransmission(t0 + ms(500));
        assert_eq!(drain(&mut tx), vec![]);
        tx.send_response(t0 + ms(600), 180).unwrap();
        tx.handle_request_retransmission(t0 + ms(1500));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::SendResponse, TxAction::ResendResponse]
        );
        assert_eq!(tx.state(), TxState::Proceeding);
        tx.send_response(t0 + ms(2000), 486).unwrap();
        tx.handle_request_retransmission(t0 + ms(2100));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::SendResponse, TxAction::ResendResponse]
        );
    }

    #[test]
    fn invite_server_ack_confirms_and_timer_i_ends() {
        for (reliable, i) in [(false, Some(5000)), (true, None)] {
            let t0 = Instant::now();
            let mut tx = ServerInvite::new(t0, Timers::default(), reliable);
            tx.send_response(t0, 404).unwrap();
            drain(&mut tx);
            tx.handle_ack(t0 + ms(100));
            let Some(i) = i else {
                assert_eq!(
                    drain(&mut tx),
                    vec![TxAction::Terminated],
                    "Timer I = 0 on reliable"
                );
                continue;
            };
            assert_eq!(tx.state(), TxState::Confirmed);
            assert_eq!(tx.poll_timeout(), Some(t0 + ms(100 + i)));
            // Retransmitted ACKs and INVITEs are absorbed; Timer G no longer runs.
            tx.handle_ack(t0 + ms(200));
            tx.handle_request_retransmission(t0 + ms(300));
            tx.handle_timeout(t0 + ms(100 + i - 1));
            assert_eq!(drain(&mut tx), vec![]);
            tx.handle_timeout(t0 + ms(100 + i));
            assert_eq!(drain(&mut tx), vec![TxAction::Terminated]);
        }
    }

    #[test]
    fn invite_server_accepted_absorbs_invites_passes_acks_until_timer_l() {
        let t0 = Instant::now();
        let mut tx = ServerInvite::new(t0, Timers::default(), false);
        tx.send_response(t0, 180).unwrap();
        tx.send_response(t0 + ms(1000), 200).unwrap();
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::SendResponse, TxAction::SendResponse]
        );
        assert_eq!(tx.state(), TxState::Accepted);
        // Timer L = 64*T1; no Timer G for a 2xx (the TU retransmits it, RFC 6026 §7.1).
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(33_000)));
        tx.handle_request_retransmission(t0 + ms(1200));
        assert_eq!(
            drain(&mut tx),
            vec![],
            "INVITE retransmission absorbed in Accepted"
        );
        assert_eq!(
            tx.send_response(t0 + ms(1500), 200),
            Ok(()),
            "TU's 2xx retransmission"
        );
        assert_eq!(drain(&mut tx), vec![TxAction::SendResponse]);
        tx.handle_ack(t0 + ms(1600));
        assert_eq!(drain(&mut tx), vec![TxAction::PassUp]);
        assert_eq!(
            tx.send_response(t0 + ms(1700), 500),
            Err(TxError::AlreadyFinal {
                state: TxState::Accepted,
                status: 500
            })
        );
        tx.handle_timeout(t0 + ms(33_000));
        assert_eq!(drain(&mut tx), vec![TxAction::Terminated]);
        assert_eq!(
            tx.send_response(t0 + ms(33_001), 200),
            Err(TxError::Terminated)
        );
    }

    #[test]
    fn invite_server_rejects_second_final_and_bad_status() {
        let t0 = Instant::now();
        let mut tx = ServerInvite::new(t0, Timers::default(), false);
        assert_eq!(tx.send_response(t0, 99), Err(TxError::InvalidStatus(99)));
        tx.send_response(t0, 486).unwrap();
        assert_eq!(
            tx.send_response(t0, 200),
            Err(TxError::AlreadyFinal {
                state: TxState::Completed,
                status: 200
            })
        );
        assert_eq!(drain(&mut tx), vec![TxAction::SendResponse]);
    }

    #[test]
    fn invite_server_transport_error() {
        let t0 = Instant::now();
        let mut tx = ServerInvite::new(t0, Timers::default(), false);
        tx.send_response(t0, 486).unwrap();
        drain(&mut tx);
        tx.transport_error();
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::TransportError, TxAction::Terminated]
        );

        let mut tx = ServerInvite::new(t0, Timers::default(), false);
        tx.send_response(t0, 200).unwrap();
        drain(&mut tx);
        tx.transport_error();
        assert_eq!(drain(&mut tx), vec![TxAction::TransportError]);
        assert_eq!(
            tx.state(),
            TxState::Accepted,
            "stays to absorb INVITE retransmissions"
        );
    }
}
