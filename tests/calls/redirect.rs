//! 3xx redirects (RFC 3261 §8.1.3.4), black box: the Contacts of a 302 are tried in q
//! order, each reported as a provisional 181; a loop ends the call with the 302.

use crate::support::{
    lab::Lab, lab::events, lab::phone, ports::unbound_port, server::ServerConfig,
};

#[test]
fn a_302_with_two_contacts_is_followed_in_q_order_and_the_call_completes() {
    let lab = Lab::start("redirect", ServerConfig::calls());
    let mut busy = lab.uas("initiator_busy.xml", &[]);
    let mut answers = lab.uas("initiator_anchor.xml", &[]);
    let mut moved = lab.uas(
        "initiator_redirect.xml",
        &[
            ("HIGH_PORT", busy.port.to_string()),
            ("LOW_PORT", answers.port.to_string()),
        ],
    );
    // The destination sees the initiator the click-to-call named (the To of the leg).
    let mut destination = lab.uas(
        "destination_anchor.xml",
        &[("INIT_PORT", moved.port.to_string())],
    );
    let got = lab.click_to_call(&moved.phone("100"), &destination.phone("200"), true);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (181, "Initiator", "Redirected initiator"),
            (181, "Initiator", "Redirected initiator"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (180, "Destination", "Ringing destination"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    moved.expect_pass();
    busy.expect_pass();
    destination.expect_pass();
    answers.expect_pass();
}

#[test]
fn a_redirect_loop_ends_the_call_with_the_302() {
    let lab = Lab::start("redirect-loop", ServerConfig::calls());
    let mut looping = lab.uas("initiator_redirect_loop.xml", &[]);
    let got = lab.click_to_call(&looping.phone("100"), &phone(unbound_port(), "200"), true);
    assert_eq!(got.last().map(|e| e.code), Some(302), "{got:?}");
    assert!(got.iter().all(|e| e.code != 181), "{got:?}");
    looping.expect_pass();
    assert_eq!(looping.received("INVITE"), 1);
}
