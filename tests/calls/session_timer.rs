//! Session timers (RFC 4028), black box: when a phone's 2xx makes the server the refresher,
//! the server keeps the session alive with a re-INVITE at half the interval (§10) that
//! changes nothing (the leg's current SDP), and the call goes on afterwards.

use std::thread;
use std::time::{Duration, Instant};

use crate::support::{lab::Lab, server::ServerConfig};

/// The shortest interval a phone may ask for is the server's Min-SE, 90 s (RFC 4028 §4);
/// the refresh is due at half of it.
const REFRESH_DUE: Duration = Duration::from_secs(45);

#[test]
fn server_refreshes_an_anchored_session_at_half_the_interval() {
    let lab = Lab::start("session-timer", ServerConfig::calls());
    let lasting = REFRESH_DUE + Duration::from_secs(40);
    // initiator_anchor.xml plays the initiator up to the BYE the server mirrors to it;
    // destination_session_timer.xml asks for the timer, checks the refresh, then hangs up.
    let mut initiator = lab.uas_lasting("initiator_anchor.xml", lasting, &[]);
    let mut destination = lab.uas_lasting(
        "destination_session_timer.xml",
        lasting,
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    let connected_at = Instant::now();
    assert_eq!(
        got,
        crate::support::lab::connected_both_legs(),
        "{}",
        lab.dump()
    );
    // The destination's first INVITE is the call itself; the second is the refresh.
    let deadline = connected_at + lasting;
    while destination.received("INVITE") < 2 {
        assert!(
            Instant::now() < deadline,
            "no session refresh within {lasting:?}:\n{}",
            lab.dump()
        );
        thread::sleep(Duration::from_millis(50));
    }
    let after = connected_at.elapsed();
    // The 200 that set the timer reached the server just before "Connected to destination"
    // was written; allow for the polling and a loaded machine, but not for an early or a
    // missing-by-a-whole-interval refresh.
    assert!(
        after >= REFRESH_DUE - Duration::from_secs(2)
            && after <= REFRESH_DUE + Duration::from_secs(10),
        "refresh came {after:?} after the call was connected, expected about {REFRESH_DUE:?}"
    );
    destination.expect_pass();
    initiator.expect_pass();
}
