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

/// RFC 3261 §13.2.2.4: a 2xx that arrives after its call was given up is still ACKed, and
/// the dialog it made is ended with BYE, built from the response; nothing is kept.
#[test]
fn a_2xx_after_the_call_is_forgotten_is_acked_and_byed() {
    let mut e = engine();
    let rx = place(&mut e, false);
    let (itx, invite) = one_request(&mut e);
    let start = Instant::now();
    reply(&mut e, start, itx, answer(&invite, 180, "a", None));
    let due = e.poll_timeout().expect("a ring timer");
    e.handle_timeout(due);
    sent(&mut e);
    e.handle_timeout(e.poll_timeout().expect("the guard"));
    assert_eq!(events(&rx), vec![(180, L::Initiator), (408, L::Initiator)]);
    assert_empty(&e);
    let late = answer(&invite, 200, "a", Some("v=0\r\n"));
    reply(&mut e, due, itx, late);
    match &sent(&mut e)[..] {
        [
            SipCommand::SendAck { request: ack },
            SipCommand::SendRequest { request: bye, .. },
        ] => {
            assert_eq!(ack.cseq().unwrap(), (1, Method::Ack));
            assert_eq!(bye.cseq().unwrap(), (2, Method::Bye));
            for req in [ack, bye] {
                assert_eq!(req.call_id().ok(), invite.call_id().ok());
                assert_eq!(req.to_tag(), Some("a"));
                assert_eq!(req.from_tag(), invite.from_tag());
            }
        }
        cmds => panic!("expected ACK and BYE, got {cmds:?}"),
    }
    assert_empty(&e);
    assert!(rx.try_recv().is_err(), "no second report");
}
