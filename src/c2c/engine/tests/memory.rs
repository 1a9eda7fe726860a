//! What the engine keeps after a load peak (issue 13 point 4: memory returns).

use super::*;

#[test]
fn maps_give_back_their_room_after_a_peak() {
    let mut e = engine();
    let now = Instant::now();
    let mut replies = Vec::new();
    let mut invites = Vec::new();
    for _ in 0..4000 {
        replies.push(place(&mut e, false));
        invites.push(one_request(&mut e));
    }
    assert_eq!(e.active_calls(), 4000);
    let peak = e.calls.capacity();
    assert!(peak >= 4000);
    // Every initiator is busy: each call ends with its first answer.
    for (tx, invite) in invites {
        reply(&mut e, now, tx, answer(&invite, 486, "busy", None));
    }
    assert_eq!(e.active_calls(), 0);
    e.handle_timeout(now + Duration::from_secs(1));
    assert!(
        e.calls.capacity() < peak / 4 && e.txs.capacity() < peak / 4,
        "maps kept their peak room: calls {} txs {} (peak {peak})",
        e.calls.capacity(),
        e.txs.capacity()
    );
    for rx in replies {
        assert!(
            rx.try_iter().any(|p| p.is_final()),
            "a call without a final result"
        );
    }
}
