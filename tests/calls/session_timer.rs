//! Session timers (RFC 4028) against SIPp phones, black box (issue 12 item 2): our INVITE
//! or refresh answered 422 goes again with the phone's Min-SE, and a phone that names itself the
//! refresher and never refreshes is hung up before its session expires. The `Session-Expires:
//! 1` peer is in `anchor_failures`.
//!
//! RFC 4028 §4 puts the smallest session interval at 90 s and no configuration key shortens
//! ours, so these wait out part of one: the refresh comes 45 s after the 200, the BYE 60 s
//! after it. Both wait on SIPp's events, not on sleeps; the exact timing of each rule is
//! checked on a manual clock in `c2c::engine::tests::session_timer`.

use std::time::{Duration, Instant};

use crate::support::{
    lab::Lab, lab::PhoneRun, lab::connected_both_legs, lab::events, server::ServerConfig,
};

/// How long these SIPp phones may run: the interval's wait and a margin for a loaded machine.
const LASTING: Duration = Duration::from_secs(100);

#[test]
fn a_refresh_answered_422_is_sent_again_with_the_phones_min_se() {
    let lab = Lab::start("st-422", ServerConfig::calls());
    // 200 with "Session-Expires: 90;refresher=uac"; the refresh 45 s later gets 422 with
    // "Min-SE: 150" and must come again with "Session-Expires: 150" and "Min-SE: 150".
    let (initiator, destination) = lab.phones(
        PhoneRun::Lasting(LASTING),
        "initiator_anchor.xml",
        "destination_session_timer_422.xml",
    );
    let (got, _, destination) = lab.call_phones(initiator, destination, true);
    assert_eq!(got, connected_both_legs());
    assert_eq!(
        destination.received("INVITE"),
        3,
        "the call's, the refresh, its retry"
    );
}

#[test]
fn a_phone_refresher_that_never_refreshes_gets_a_bye_before_expiry() {
    let lab = Lab::start("st-expiry", ServerConfig::calls());
    let mut initiator = lab.uas_lasting("initiator_anchor.xml", LASTING, &[]);
    // 200 with "Session-Expires: 90;refresher=uas", then silence: the BYE must come.
    let mut destination = lab.uas_lasting(
        "destination_refresher_stops.xml",
        LASTING,
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    let connected = Instant::now();
    assert_eq!(got, connected_both_legs());
    destination.expect_pass();
    let waited = connected.elapsed();
    initiator.expect_pass();
    // RFC 4028 §10: the BYE goes min(32 s, 90/3) = 30 s before the 90 s expire: 60 s after
    // the 200 (which came before the connected event). Not before: it is the expiry's BYE.
    assert!(
        waited >= Duration::from_secs(50),
        "BYE {waited:?} after the destination answered: before the session's expiry"
    );
}

/// RFC 4028 §7.4: the initial INVITE answered 422 goes again at once, in the same dialog,
/// asking for the phone's Min-SE (the phone then is busy, which ends the call).
#[test]
fn an_invite_answered_422_is_sent_again_with_the_phones_min_se() {
    let lab = Lab::start("st-invite-422", ServerConfig::calls());
    let (got, initiator) = lab.refer_call("initiator_422_min_se.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (486, "Initiator", "Failed to connect to initiator")
        ])
    );
    assert_eq!(initiator.received("INVITE"), 2);
}
