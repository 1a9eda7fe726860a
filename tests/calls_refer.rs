//! Call engine, REFER (unanswered-by-us, "unanchored") mode, black box: the real binary,
//! a click-to-call over the XML interface, SIPp as the initiator's phone. Expected event
//! sequences are the C++ original's (shared/reference/README.md, traces xml-refer-ok,
//! xml-busy-dest-refer, xml-refer-reject).

#[path = "support/mod.rs"]
mod support;

use support::{Lab, ServerOptions, events, phone, ports::free_port};

/// In REFER mode the server never contacts the destination itself; its port only has
/// to appear in the Refer-To the initiator checks.
fn unused_destination() -> u16 {
    free_port()
}

#[test]
fn refer_success_reports_both_legs_connected_and_byes_the_initiator() {
    let lab = Lab::start("refer-ok", ServerOptions::default());
    let dest = unused_destination();
    let mut initiator = lab.uas("initiator_refer_ok.xml", &[("DEST_PORT", dest.to_string())]);
    let got = lab.click_to_call(&initiator.phone("100"), &phone(dest, "200"), false);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    // The scenario ends only after our BYE to the initiator was answered.
    initiator.expect_pass();
}

#[test]
fn refer_success_with_sipfrag_ringing_reports_ringing_destination() {
    let lab = Lab::start("refer-ringing", ServerOptions::default());
    let dest = unused_destination();
    let mut initiator = lab.uas(
        "initiator_refer_ringing.xml",
        &[("DEST_PORT", dest.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &phone(dest, "200"), false);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (180, "Destination", "Ringing destination"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    initiator.expect_pass();
}

#[test]
fn sipfrag_busy_after_refer_is_a_destination_failure_and_byes_the_initiator() {
    let lab = Lab::start("refer-busy", ServerOptions::default());
    let dest = unused_destination();
    let mut initiator = lab.uas(
        "initiator_refer_busy.xml",
        &[("DEST_PORT", dest.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &phone(dest, "200"), false);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (486, "Destination", "Failed to connect to destination"),
        ])
    );
    initiator.expect_pass();
}

#[test]
fn refer_rejected_with_501_falls_back_to_an_anchored_call() {
    let lab = Lab::start("refer-reject", ServerOptions::default());
    let mut initiator = lab.uas("initiator_refer_reject.xml", &[]);
    // The destination checks it sees the initiator calling (the original showed its
    // own identity here) and that the ACK carries the initiator's answer.
    let mut destination = lab.uas(
        "destination_anchor.xml",
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), false);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (180, "Destination", "Ringing destination"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    // The destination hangs up; the initiator's scenario ends when that BYE was mirrored.
    destination.expect_pass();
    initiator.expect_pass();
}
