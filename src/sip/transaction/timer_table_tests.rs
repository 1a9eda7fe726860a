//! One table for every one-shot timer of RFC 3261 §17 and RFC 6026 on both kinds of
//! transport: drive each machine into the state that arms the timer, then check nothing
//! happens a millisecond early and the right thing happens on time.

use std::time::{Duration, Instant};

use super::*;

/// A machine of any of the four kinds, for the table (client/server, INVITE/non-INVITE).
enum Any {
    Ci(ClientInvite),
    Cn(ClientNonInvite),
    Si(ServerInvite),
    Sn(ServerNonInvite),
}

impl Any {
    fn handle_timeout(&mut self, now: Instant) {
        match self {
            Any::Ci(m) => m.handle_timeout(now),
            Any::Cn(m) => m.handle_timeout(now),
            Any::Si(m) => m.handle_timeout(now),
            Any::Sn(m) => m.handle_timeout(now),
        }
    }

    fn drain(&mut self) -> Vec<TxAction> {
        std::iter::from_fn(|| match self {
            Any::Ci(m) => m.poll_action(),
            Any::Cn(m) => m.poll_action(),
            Any::Si(m) => m.poll_action(),
            Any::Sn(m) => m.poll_action(),
        })
        .collect()
    }
}

/// Builds a machine at `t0` and brings it, at `t0`, to the state that arms the timer.
type Setup = fn(Instant, bool) -> Any;

fn timers() -> Timers {
    Timers {
        timer_c: None,
        ..Timers::default()
    }
}

fn client_invite_calling(t0: Instant, reliable: bool) -> Any {
    Any::Ci(ClientInvite::new(t0, timers(), reliable))
}

fn client_invite_completed(t0: Instant, reliable: bool) -> Any {
    let mut m = ClientInvite::new(t0, timers(), reliable);
    m.handle_response(t0, 404);
    Any::Ci(m)
}

fn client_invite_accepted(t0: Instant, reliable: bool) -> Any {
    let mut m = ClientInvite::new(t0, timers(), reliable);
    m.handle_response(t0, 200);
    Any::Ci(m)
}

fn client_non_invite_trying(t0: Instant, reliable: bool) -> Any {
    Any::Cn(ClientNonInvite::new(t0, timers(), reliable))
}

fn client_non_invite_completed(t0: Instant, reliable: bool) -> Any {
    let mut m = ClientNonInvite::new(t0, timers(), reliable);
    m.handle_response(t0, 200);
    Any::Cn(m)
}

fn server_invite_completed(t0: Instant, reliable: bool) -> Any {
    let mut m = ServerInvite::new(t0, timers(), reliable);
    let _ = m.send_response(t0, 486);
    Any::Si(m)
}

fn server_invite_confirmed(t0: Instant, reliable: bool) -> Any {
    let mut m = ServerInvite::new(t0, timers(), reliable);
    let _ = m.send_response(t0, 486);
    m.handle_ack(t0);
    Any::Si(m)
}

fn server_invite_accepted(t0: Instant, reliable: bool) -> Any {
    let mut m = ServerInvite::new(t0, timers(), reliable);
    let _ = m.send_response(t0, 200);
    Any::Si(m)
}

fn server_non_invite_completed(t0: Instant, reliable: bool) -> Any {
    let mut m = ServerNonInvite::new(t0, timers(), reliable);
    let _ = m.send_response(t0, 200);
    Any::Sn(m)
}

/// (timer, setup, reliable, fires after ms — `None`: zero, the machine ended at once,
/// whether a Timeout is reported).
const TABLE: &[(TimerKind, Setup, bool, Option<u64>, bool)] = &[
    (
        TimerKind::B,
        client_invite_calling,
        false,
        Some(32_000),
        true,
    ),
    (
        TimerKind::B,
        client_invite_calling,
        true,
        Some(32_000),
        true,
    ),
    (
        TimerKind::D,
        client_invite_completed,
        false,
        Some(32_000),
        false,
    ),
    (TimerKind::D, client_invite_completed, true, None, false),
    (
        TimerKind::M,
        client_invite_accepted,
        false,
        Some(32_000),
        false,
    ),
    (
        TimerKind::M,
        client_invite_accepted,
        true,
        Some(32_000),
        false,
    ),
    (
        TimerKind::F,
        client_non_invite_trying,
        false,
        Some(32_000),
        true,
    ),
    (
        TimerKind::F,
        client_non_invite_trying,
        true,
        Some(32_000),
        true,
    ),
    (
        TimerKind::K,
        client_non_invite_completed,
        false,
        Some(5_000),
        false,
    ),
    (TimerKind::K, client_non_invite_completed, true, None, false),
    (
        TimerKind::H,
        server_invite_completed,
        false,
        Some(32_000),
        true,
    ),
    (
        TimerKind::H,
        server_invite_completed,
        true,
        Some(32_000),
        true,
    ),
    (
        TimerKind::I,
        server_invite_confirmed,
        false,
        Some(5_000),
        false,
    ),
    (TimerKind::I, server_invite_confirmed, true, None, false),
    (
        TimerKind::L,
        server_invite_accepted,
        false,
        Some(32_000),
        false,
    ),
    (
        TimerKind::L,
        server_invite_accepted,
        true,
        Some(32_000),
        false,
    ),
    (
        TimerKind::J,
        server_non_invite_completed,
        false,
        Some(32_000),
        false,
    ),
    (TimerKind::J, server_non_invite_completed, true, None, false),
];

#[test]
fn every_one_shot_timer_fires_on_time_for_udp_and_reliable_transports() {
    for &(timer, setup, reliable, after, reports) in TABLE {
        let case = format!("{timer}, reliable={reliable}");
        let t0 = Instant::now();
        let mut m = setup(t0, reliable);
        // Retransmissions and the response that armed the timer are not under test here.
        let armed: Vec<TxAction> = m
            .drain()
            .into_iter()
            .filter(|a| {
                !matches!(
                    a,
                    TxAction::PassUp
                        | TxAction::SendAck
                        | TxAction::SendResponse
                        | TxAction::Retransmit
                )
            })
            .collect();
        let Some(after) = after else {
            assert_eq!(
                armed,
                vec![TxAction::Terminated],
                "{case}: zero on reliable"
            );
            continue;
        };
        assert!(armed.is_empty(), "{case}: ended early: {armed:?}");
        m.handle_timeout(t0 + Duration::from_millis(after - 1));
        let early: Vec<TxAction> = m
            .drain()
            .into_iter()
            .filter(|a| !matches!(a, TxAction::Retransmit | TxAction::ResendResponse))
            .collect();
        assert!(early.is_empty(), "{case}: fired early: {early:?}");
        m.handle_timeout(t0 + Duration::from_millis(after));
        let fired: Vec<TxAction> = m
            .drain()
            .into_iter()
            .filter(|a| !matches!(a, TxAction::Retransmit | TxAction::ResendResponse))
            .collect();
        let want = if reports {
            vec![TxAction::Timeout(timer), TxAction::Terminated]
        } else {
            vec![TxAction::Terminated]
        };
        assert_eq!(fired, want, "{case}");
    }
}
