//! Call engine, anchored mode (RFC 3725 flow I as the original does it), black box:
//! SDP relayed byte for byte between the legs, BYE mirrored both ways, destination
//! failure ending the initiator leg (reference traces xml-anchor, xml-busy-dest-anchor).

use crate::support::{
    lab::Lab, lab::events, raw_phone::RawMode, raw_phone::RawPhone, server::ServerConfig,
};

#[test]
fn anchored_call_relays_sdp_and_mirrors_the_destinations_bye() {
    let lab = Lab::start("anchor-dest-bye", ServerConfig::calls());
    // initiator_anchor.xml checks the re-INVITE body is the destination's offer;
    // destination_anchor.xml checks its From and that the ACK holds the initiator's answer.
    let (got, _, _) = lab.call_between("initiator_anchor.xml", "destination_anchor.xml", true);
    assert_eq!(got, crate::support::lab::connected_both_legs());
}

#[test]
fn anchored_call_relays_the_initiators_info_and_its_answer() {
    // initiator_anchor_info.xml sends an INFO (application/dtmf-relay) once the call is up
    // and needs a 200 for it; destination_anchor_info.xml needs that INFO in its own dialog
    // with the same body and Content-Type, answers it, then hangs up.
    let lab = Lab::start("anchor-info", ServerConfig::calls());
    let (got, _, destination) = lab.call_between(
        "initiator_anchor_info.xml",
        "destination_anchor_info.xml",
        true,
    );
    assert_eq!(got, crate::support::lab::connected_both_legs());
    destination.wait_received("INFO", 1);
}

#[test]
fn anchored_call_relays_the_initiators_update_offer_and_its_answer() {
    // initiator_anchor_update.xml puts the call on hold with an UPDATE (RFC 3311) once it
    // is up and needs the destination's answer in its 200; destination_anchor_update.xml
    // needs that offer in a re-INVITE in its own dialog, answers it, then hangs up.
    let lab = Lab::start("anchor-update", ServerConfig::calls());
    let (got, _, destination) = lab.call_between(
        "initiator_anchor_update.xml",
        "destination_anchor_update.xml",
        true,
    );
    assert_eq!(got, crate::support::lab::connected_both_legs());
    destination.wait_received("INVITE", 2);
}

#[test]
fn anchored_call_mirrors_the_initiators_bye() {
    let lab = Lab::start("anchor-init-bye", ServerConfig::calls());
    let (got, _, _) = lab.call_between(
        "initiator_anchor_hangup.xml",
        "destination_anchor_wait.xml",
        true,
    );
    assert_eq!(got, crate::support::lab::connected_both_legs());
}

#[test]
fn busy_destination_in_anchored_mode_fails_the_destination_and_byes_the_initiator() {
    let lab = Lab::start("anchor-dest-busy", ServerConfig::calls());
    let (got, _, _) = lab.call_between(
        "initiator_answer_wait_bye.xml",
        "destination_busy.xml",
        true,
    );
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (486, "Destination", "Failed to connect to destination"),
        ])
    );
}

#[test]
fn unanswered_destination_is_cancelled_after_the_ring_timeout_and_the_initiator_byed() {
    let lab = Lab::start(
        "anchor-dest-ring-timeout",
        ServerConfig::calls().ring_timeout(2),
    );
    let mut initiator = lab.uas("initiator_answer_wait_bye.xml", &[]);
    let mut destination = lab.uas("destination_no_answer.xml", &[]);
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (180, "Destination", "Ringing destination"),
            (408, "Destination", "Failed to connect to destination"),
        ])
    );
    destination.expect_pass();
    initiator.expect_pass();
}

#[test]
fn unreachable_destination_fails_the_destination_and_byes_the_initiator() {
    let lab = Lab::start("anchor-dest-unreachable", ServerConfig::calls());
    let mut initiator = lab.uas("initiator_answer_wait_bye.xml", &[]);
    let nobody = crate::support::ports::unbound_port();
    let got = lab.click_to_call(
        &initiator.phone("100"),
        &crate::support::lab::phone(nobody, "200"),
        true,
    );
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[..3], crate::support::lab::connected_both_legs()[..3]);
    assert!([408, 503].contains(&got[3].code), "{got:?}");
    assert_eq!(
        (got[3].leg.as_str(), got[3].text.as_str()),
        ("Destination", "Failed to connect to destination")
    );
    initiator.expect_pass();
}

#[test]
fn initiator_hanging_up_while_the_destination_rings_cancels_the_destination() {
    let lab = Lab::start("anchor-early-hangup", ServerConfig::calls());
    // The initiator answers, then hangs up after half a second; the destination rings
    // and must get a CANCEL.
    let mut initiator = lab.uas("initiator_answer_then_hangup.xml", &[]);
    let mut destination = lab.uas("destination_no_answer.xml", &[]);
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[..4], crate::support::lab::connected_both_legs()[..4]);
    let last = &got[4];
    assert!(last.code >= 300, "{got:?}");
    assert_eq!(
        (last.leg.as_str(), last.text.as_str()),
        ("Destination", "Failed to connect to destination")
    );
    initiator.expect_pass();
    destination.expect_pass();
}

#[test]
fn retransmitted_2xx_of_the_initiator_is_acked_again() {
    // initiator_answer_twice.xml re-sends its 200 after the ACK and needs a second ACK;
    // the destination then rings out (RingTimeout 2 s) and the initiator is hung up.
    let lab = Lab::start("anchor-2xx-again", ServerConfig::calls().ring_timeout(2));
    let mut initiator = lab.uas("initiator_answer_twice.xml", &[]);
    let mut destination = lab.uas("destination_no_answer.xml", &[]);
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (180, "Destination", "Ringing destination"),
            (408, "Destination", "Failed to connect to destination"),
        ])
    );
    initiator.expect_pass();
    destination.expect_pass();
}

#[test]
fn slow_initiator_answer_is_waited_for_and_relayed_in_the_ack() {
    // The initiator takes a second to answer the relay re-INVITE while the destination
    // retransmits its offer-bearing 200; the ACK to the destination must still carry the
    // initiator's answer byte for byte (destination_anchor.xml checks it), then the
    // destination's BYE is mirrored.
    let lab = Lab::start("anchor-slow-answer", ServerConfig::calls());
    let initiator = RawPhone::start(RawMode::SlowReinvite);
    let mut destination = lab.uas(
        "destination_anchor.xml",
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    // The raw phone answers at once without ringing: no 180 Initiator.
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (200, "Initiator", "Connected to initiator"),
            (180, "Destination", "Ringing destination"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    destination.expect_pass();
    let deadline = std::time::Instant::now() + crate::support::WAIT;
    while !initiator
        .start_lines()
        .iter()
        .any(|l| l.starts_with("BYE "))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no BYE mirrored: {:?}",
            initiator.start_lines()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let acks = initiator
        .start_lines()
        .iter()
        .filter(|l| l.starts_with("ACK "))
        .count();
    assert_eq!(acks, 2, "{:?}", initiator.start_lines());
}
