//! The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).

use std::collections::VecDeque;
use std::time::Instant;

use super::timers::{Timers, deadline};
use super::{Class, TxAction, TxError, TxState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The request was passed up; no response yet, retransmissions are absorbed.
    /// `give_up`: see [`ServerNonInvite::new`].
    Trying {
        give_up: Instant,
    },
    /// A provisional was sent; retransmissions get it again.
    Proceeding {
        give_up: Instant,
    },
    /// A final was sent; retransmissions get it again until Timer J.
    Completed {
        timer_j: Instant,
    },
    Terminated,
}

/// A non-INVITE server transaction (OPTIONS, BYE, CANCEL, REFER, NOTIFY, ...).
#[derive(Debug)]
pub(crate) struct ServerNonInvite {
    state: State,
    timers: Timers,
    reliable: bool,
    actions: VecDeque<TxAction>,
}

impl ServerNonInvite {
    /// Start the transaction for a request received at `now` (the owner passes it up).
    ///
    /// Not in RFC 3261: if the TU sends no final response within 64*T1 the transaction
    /// ends silently. The client's Timer F has fired by then (§17.1.2.2), so an answer
    /// would reach nobody, and a TU that never answers cannot pile up transactions.
    pub(crate) fn new(now: Instant, timers: Timers, reliable: bool) -> ServerNonInvite {
        ServerNonInvite {
            state: State::Trying {
                give_up: deadline(now, timers.sixty_four_t1()),
            },
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

    /// The TU sends a response. On success the machine queues `SendResponse` and the
    /// owner must remember this response as the one to resend.
    pub(crate) fn send_response(&mut self, now: Instant, status: u16) -> Result<(), TxError> {
        let class = Class::of(status).ok_or(TxError::InvalidStatus(status))?;
        match self.state {
            State::Trying { give_up } | State::Proceeding { give_up } => {
                if class == Class::Provisional {
                    self.state = State::Proceeding { give_up };
                    self.actions.push_back(TxAction::SendResponse);
                    return Ok(());
                }
                self.actions.push_back(TxAction::SendResponse);
                // §17.2.2: Timer J = 64*T1 on unreliable transports, zero on reliable ones.
                let j = self.timers.timer_j(self.reliable);
                if j.is_zero() {
                    self.terminate();
                } else {
                    self.state = State::Completed {
                        timer_j: deadline(now, j),
                    };
                }
                Ok(())
            }
            State::Completed { .. } => Err(TxError::AlreadyFinal {
                state: TxState::Completed,
                status,
            }),
            State::Terminated => Err(TxError::Terminated),
        }
    }

    /// The request arrived again (matched per RFC 3261 §17.2.3).
    pub(crate) fn handle_request_retransmission(&mut self, _now: Instant) {
        match self.state {
            // §17.2.2: Trying absorbs; Proceeding and Completed resend the last response.
            State::Proceeding { .. } | State::Completed { .. } => {
                self.actions.push_back(TxAction::ResendResponse);
            }
            State::Trying { .. } | State::Terminated => {}
        }
    }

    /// Fire Timer J, or give up on an unanswered request, if due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|at| at <= now) {
            self.terminate();
        }
    }

    /// The transport could not send a response (RFC 3261 §17.2.2).
    pub(crate) fn transport_error(&mut self) {
        match self.state {
            State::Proceeding { .. } | State::Completed { .. } => {
                self.actions.push_back(TxAction::TransportError);
                self.terminate();
            }
            State::Trying { .. } | State::Terminated => {}
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
        match self.state {
            State::Completed { timer_j } => Some(timer_j),
            State::Trying { give_up } | State::Proceeding { give_up } => Some(give_up),
            State::Terminated => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn drain(tx: &mut ServerNonInvite) -> Vec<TxAction> {
        std::iter::from_fn(|| tx.poll_action()).collect()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn non_invite_server_trying_absorbs_then_resends_last_response() {
        let t0 = Instant::now();
        let mut tx = ServerNonInvite::new(t0, Timers::default(), false);
        assert_eq!(tx.state(), TxState::Trying);
        tx.handle_request_retransmission(t0 + ms(500));
        assert_eq!(drain(&mut tx), vec![], "Trying absorbs retransmissions");
        tx.send_response(t0 + ms(600), 100).unwrap();
        tx.handle_request_retransmission(t0 + ms(1500));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::SendResponse, TxAction::ResendResponse]
        );
        assert_eq!(tx.state(), TxState::Proceeding);
        tx.send_response(t0 + ms(2000), 200).unwrap();
        tx.handle_request_retransmission(t0 + ms(3500));
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::SendResponse, TxAction::ResendResponse]
        );
        assert_eq!(tx.state(), TxState::Completed);
    }

    #[test]
    fn non_invite_server_timer_j_is_64_t1_unreliable_zero_reliable() {
        for (reliable, j) in [(false, Some(32_000)), (true, None)] {
            let t0 = Instant::now();
            let mut tx = ServerNonInvite::new(t0, Timers::default(), reliable);
            tx.send_response(t0 + ms(100), 200).unwrap();
            let Some(j) = j else {
                assert_eq!(
                    drain(&mut tx),
                    vec![TxAction::SendResponse, TxAction::Terminated]
                );
                continue;
            };
            assert_eq!(drain(&mut tx), vec![TxAction::SendResponse]);
            assert_eq!(tx.poll_timeout(), Some(t0 + ms(100 + j)));
            tx.handle_timeout(t0 + ms(100 + j - 1));
            assert_eq!(drain(&mut tx), vec![]);
            tx.handle_timeout(t0 + ms(100 + j));
            assert_eq!(drain(&mut tx), vec![TxAction::Terminated]);
            assert_eq!(tx.poll_timeout(), None);
        }
    }

    #[test]
    fn non_invite_server_unanswered_request_ends_after_64_t1() {
        let t0 = Instant::now();
        let mut tx = ServerNonInvite::new(t0, Timers::default(), false);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(32_000)));
        tx.send_response(t0 + ms(100), 100).unwrap();
        assert_eq!(
            tx.poll_timeout(),
            Some(t0 + ms(32_000)),
            "a 1xx does not extend it"
        );
        tx.handle_timeout(t0 + ms(31_999));
        assert_eq!(drain(&mut tx), vec![TxAction::SendResponse]);
        tx.handle_timeout(t0 + ms(32_000));
        assert_eq!(drain(&mut tx), vec![TxAction::Terminated]);
        assert_eq!(
            tx.send_response(t0 + ms(32_001), 200),
            Err(TxError::Terminated)
        );
    }

    #[test]
    fn non_invite_server_rejects_second_final() {
        let t0 = Instant::now();
        let mut tx = ServerNonInvite::new(t0, Timers::default(), false);
        tx.send_response(t0, 200).unwrap();
        assert_eq!(
            tx.send_response(t0, 200),
            Err(TxError::AlreadyFinal {
                state: TxState::Completed,
                status: 200
            })
        );
        assert_eq!(
            tx.send_response(t0, 1000),
            Err(TxError::InvalidStatus(1000))
        );
    }

    #[test]
    fn non_invite_server_transport_error_terminates() {
        let t0 = Instant::now();
        let mut tx = ServerNonInvite::new(t0, Timers::default(), false);
        tx.send_response(t0, 200).unwrap();
        drain(&mut tx);
        tx.transport_error();
        assert_eq!(
            drain(&mut tx),
            vec![TxAction::TransportError, TxAction::Terminated]
        );
    }
}
