//! Call engine, initiator phones that break the INVITE's rules, black box (issue 17 items
//! 1, 2 and 8): a phone that rings and then ignores everything, the CANCEL included; one
//! that answers long after the call is over; one whose 2xx has no To tag. Each call still
//! ends with exactly one final event.
//!
//! No configuration key lowers T1, so the two ring-and-vanish tests take Timer C's
//! 64·T1 = 32 s after the ring time-out's CANCEL (about 35 s and 47 s of wall time).

use std::time::Duration;

use crate::support::{
    lab::Lab, lab::events, lab::phone, ports::unbound_port, server::ServerConfig, xml::XmlClient,
};

/// Bound on the final of a call whose INVITE times out 64·T1 after the CANCEL (the
/// reactor's §9.1 time-out, or the session's guard 4 s later): generous, not a timing claim.
const VANISH_WAIT: Duration = Duration::from_secs(60);

fn ringing_then_408() -> Vec<crate::support::xml::Event> {
    events(&[
        (100, "", "In progress"),
        (180, "Initiator", "Ringing initiator"),
        (408, "Initiator", "Failed to connect to initiator"),
    ])
}

#[test]
fn initiator_that_rings_and_ignores_the_cancel_gets_a_final_408() {
    let lab = Lab::start("ring-vanish", ServerConfig::calls().ring_timeout(2));
    // Rings, takes the CANCEL and answers nothing for 45 s.
    let mut initiator = lab.uas_lasting("initiator_ring_vanish.xml", Duration::from_secs(70), &[]);
    let mut client = XmlClient::connect(lab.server.xml_port);
    let got = client.call(
        &initiator.phone("100"),
        &phone(unbound_port(), "200"),
        false,
        VANISH_WAIT,
    );
    assert_eq!(got, ringing_then_408());
    assert!(
        initiator.received("CANCEL") >= 1,
        "no CANCEL reached the phone"
    );
    assert!(
        client.silent_for(Duration::from_millis(300)),
        "a document after the final event"
    );
    // Nothing else (no BYE, no second INVITE) reaches the phone while it is silent.
    initiator.expect_pass();
}

// The late 200 matches no transaction once the INVITE timed out 64·T1 after the CANCEL;
// the transaction layer passes such a 2xx up (RFC 3261 §17.1.3) and the calls thread ACKs
// and BYEs it (§13.2.2.4). It used to be dropped as a stray response.
#[test]
fn initiator_answering_after_the_call_is_over_is_acked_and_byed() {
    let lab = Lab::start(
        "ring-vanish-late-200",
        ServerConfig::calls().ring_timeout(2),
    );
    // Rings, ignores the CANCEL, answers 200 43 s later; needs ACK and BYE for it.
    let mut initiator = lab.uas_lasting(
        "initiator_ring_vanish_late_200.xml",
        Duration::from_secs(80),
        &[],
    );
    let mut client = XmlClient::connect(lab.server.xml_port);
    let got = client.call(
        &initiator.phone("100"),
        &phone(unbound_port(), "200"),
        false,
        VANISH_WAIT,
    );
    assert_eq!(got, ringing_then_408());
    initiator.expect_pass();
    // The late 2xx is a matter of SIP only: the XML client hears nothing more.
    assert!(
        client.silent_for(Duration::from_millis(300)),
        "a document after the final event: {:?}",
        client.seen
    );
}

#[test]
fn initiator_2xx_without_to_tag_is_acked_byed_and_reported_502() {
    let lab = Lab::start("2xx-no-to-tag", ServerConfig::calls());
    // Needs the ACK and the BYE (answered 481) of its tagless 200.
    let (got, _) = lab.refer_call("initiator_2xx_no_to_tag.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (502, "Initiator", "Failed to connect to initiator"),
        ])
    );
}
