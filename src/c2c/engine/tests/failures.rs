//! Failure paths (issue 17): vanishing phones, unusable answers, relays that fail on the
//! other phone, transfers that end without a final NOTIFY. Each ends in one final report
//! and leaves no state behind.

use super::*;

/// Nothing is left of any call.
fn assert_empty(e: &Engine) {
    assert_eq!(e.counts(), EngineCounts::default(), "state left behind");
}

/// A phone that rings, then ignores everything, our CANCEL included, and a reactor that
/// never reports the INVITE's end: the session's guard reports 408 and the engine forgets
/// the call, its transactions and its dialog.
#[test]
fn a_phone_that_rings_and_vanishes_is_reported_408_and_forgotten() {
    let mut e = engine();
    let rx = place(&mut e, false);
    let (itx, invite) = one_request(&mut e);
    let start = Instant::now();
    reply(&mut e, start, itx, answer(&invite, 180, "a", None));
    let due = e.poll_timeout().expect("a ring timer");
    e.handle_timeout(due);
    assert!(matches!(&sent(&mut e)[..], [SipCommand::Cancel { tx }] if *tx == itx));
    let guard = e.poll_timeout().expect("a guard after the CANCEL");
    assert_eq!(guard, due + crate::c2c::session::LEG_GUARD);
    e.handle_timeout(guard);
    assert_eq!(events(&rx), vec![(180, L::Initiator), (408, L::Initiator)]);
    assert_empty(&e);
    assert_eq!(e.poll_timeout(), None);
}
