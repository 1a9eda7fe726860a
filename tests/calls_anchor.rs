//! Call engine, anchored mode (RFC 3725 flow I as the original does it), black box:
//! SDP relayed byte for byte between the legs, BYE mirrored both ways, destination
//! failure ending the initiator leg (reference traces xml-anchor, xml-busy-dest-anchor).

#[path = "support/mod.rs"]
mod support;

use support::{Lab, ServerOptions, events};

fn connected() -> Vec<support::Event> {
    events(&[
        (100, "", "In progress"),
        (180, "Initiator", "Ringing initiator"),
        (200, "Initiator", "Connected to initiator"),
        (180, "Destination", "Ringing destination"),
        (200, "Destination", "Connected to destination"),
    ])
}

#[test]
fn anchored_call_relays_sdp_and_mirrors_the_destinations_bye() {
    let lab = Lab::start("anchor-dest-bye", ServerOptions::default());
    // initiator_anchor.xml checks the re-INVITE body is the destination's offer;
    // destination_anchor.xml checks its From and that the ACK holds the initiator's answer.
    let mut initiator = lab.uas("initiator_anchor.xml", &[]);
    let mut destination = lab.uas(
        "destination_anchor.xml",
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    assert_eq!(got, connected());
    destination.expect_pass();
    initiator.expect_pass();
}

#[test]
fn anchored_call_mirrors_the_initiators_bye() {
    let lab = Lab::start("anchor-init-bye", ServerOptions::default());
    let mut initiator = lab.uas("initiator_anchor_hangup.xml", &[]);
    let mut destination = lab.uas(
        "destination_anchor_wait.xml",
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    assert_eq!(got, connected());
    initiator.expect_pass();
    destination.expect_pass();
}

#[test]
fn busy_destination_in_anchored_mode_fails_the_destination_and_byes_the_initiator() {
    let lab = Lab::start("anchor-dest-busy", ServerOptions::default());
    let mut initiator = lab.uas("initiator_answer_wait_bye.xml", &[]);
    let mut destination = lab.uas(
        "destination_busy.xml",
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (486, "Destination", "Failed to connect to destination"),
        ])
    );
    destination.expect_pass();
    initiator.expect_pass();
}
