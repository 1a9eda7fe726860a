//! Call engine, anchored calls whose relayed requests fail on the other phone, black box
//! (issue 17 items 4 and 7, and the session-timer loop): the origin gets a code that
//! fails only its transaction, and the call ends with a BYE to both phones when the other
//! dialog is gone; a second offer while one is relayed gets 500; a re-INVITE with a
//! provisional and no final is CANCELled; a tiny Session-Expires is no refresh storm.
//!
//! No configuration key lowers T1: the no-final test waits the engine's 64·T1 + 4 s
//! (about 40 s of wall time).

use std::time::Duration;

use crate::support::{lab::Lab, lab::connected_both_legs, server::ServerConfig};

#[test]
fn relayed_reinvite_answered_481_gets_500_and_byes_both_phones() {
    let lab = Lab::start("anchor-relay-481", ServerConfig::calls());
    // The initiator's re-INVITE must be answered 500 (not the 481), then a BYE; the
    // destination answers the relayed copy 481 and needs a BYE too.
    let mut initiator = lab.uas("initiator_anchor_reinvite_481.xml", &[]);
    let mut destination = lab.uas("destination_anchor_relay_481.xml", &[]);
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    assert_eq!(got, connected_both_legs());
    initiator.expect_pass();
    destination.expect_pass();
}

#[test]
fn second_offer_while_the_first_is_relayed_gets_500_and_the_first_its_answer() {
    let lab = Lab::start("anchor-second-offer", ServerConfig::calls());
    // The initiator checks its second re-INVITE gets 500 with Retry-After and its first
    // the destination's answer; the destination answers after 2 s, then hangs up.
    let mut initiator = lab.uas("initiator_anchor_second_offer.xml", &[]);
    let mut destination = lab.uas("destination_anchor_slow_reinvite.xml", &[]);
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    assert_eq!(got, connected_both_legs());
    destination.expect_pass();
    initiator.expect_pass();
}

#[test]
fn reinvite_answered_only_100_is_cancelled_and_the_call_ended() {
    let lab = Lab::start("anchor-reinvite-no-final", ServerConfig::calls());
    // The initiator answers our re-INVITE 100 only and needs its CANCEL (within 45 s) and a
    // BYE; the destination's single 200 waits up to 60 s for the ACK, then a BYE.
    let mut initiator = lab.uas_lasting(
        "initiator_anchor_reinvite_no_final.xml",
        Duration::from_secs(75),
        &[],
    );
    let mut destination = lab.uas_lasting(
        "destination_anchor_patient.xml",
        Duration::from_secs(75),
        &[],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    assert_eq!(got, connected_both_legs());
    initiator.expect_pass();
    destination.expect_pass();
}

#[test]
fn session_expires_of_one_second_sends_no_refresh_storm() {
    let lab = Lab::start("anchor-se-1", ServerConfig::calls());
    // Answers with "Session-Expires: 1;refresher=uac", fails on any request in the 3 s
    // after its ACK, then hangs up.
    let (got, initiator, destination) = lab.call_between(
        "initiator_anchor.xml",
        "destination_anchor_session_expires_1.xml",
        true,
    );
    assert_eq!(got, connected_both_legs());
    // The window is over: one INVITE (the call's own), no refresh at all.
    assert_eq!(destination.received("INVITE"), 1, "refresh re-INVITEs sent");
    assert_eq!(
        initiator.received("INVITE"),
        2,
        "the initiator got more than its INVITE and the relayed offer"
    );
}
