//! Call engine, failing initiator legs, black box: busy, never answering (ring time-out
//! → CANCEL → 408), nothing listening (a final 408 or 503, never silence).

use crate::support::{
    lab::Lab, lab::events, lab::phone, ports::unbound_port, server::ServerConfig,
};

#[test]
fn busy_initiator_is_one_final_486_for_the_initiator() {
    let lab = Lab::start("init-busy", ServerConfig::calls());
    let (got, _) = lab.refer_call("initiator_busy.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (486, "Initiator", "Failed to connect to initiator")
        ])
    );
}

#[test]
fn busy_initiator_in_anchored_mode_never_calls_the_destination() {
    let lab = Lab::start("init-busy-anchor", ServerConfig::calls());
    let mut initiator = lab.uas("initiator_busy.xml", &[]);
    // A destination phone that would fail its scenario if it got anything but is never
    // called: it must still be waiting (no INVITE) when the call is over.
    let destination = lab.uas(
        "destination_busy.xml",
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (486, "Initiator", "Failed to connect to initiator")
        ])
    );
    initiator.expect_pass();
    assert!(
        !destination.messages().contains("INVITE"),
        "the destination was called"
    );
}

#[test]
fn unanswered_initiator_is_cancelled_after_the_ring_timeout_and_reported_408() {
    let lab = Lab::start("ring-timeout", ServerConfig::calls().ring_timeout(2));
    // initiator_no_answer.xml rings, then requires a CANCEL with the INVITE's Via.
    let (got, _) = lab.refer_call("initiator_no_answer.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (408, "Initiator", "Failed to connect to initiator"),
        ])
    );
}

#[test]
fn unreachable_initiator_ends_with_a_final_408_or_503() {
    let lab = Lab::start("unreachable", ServerConfig::calls());
    // Nothing listens on this port: the INVITE meets an ICMP port-unreachable (503) or
    // Timer B (408); either way the request gets its final event.
    let nobody = unbound_port();
    let got = lab.click_to_call(&phone(nobody, "100"), &phone(unbound_port(), "200"), false);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0], events(&[(100, "", "In progress")])[0]);
    assert!([408, 503].contains(&got[1].code), "{got:?}");
    assert_eq!(got[1].leg, "Initiator");
    assert_eq!(got[1].text, "Failed to connect to initiator");
}

#[test]
fn reliable_ringing_is_pracked_and_a_later_busy_reported() {
    // The INVITE says `Supported: 100rel`, so a phone may send its 180 reliably and
    // wait for a PRACK (RFC 3262 §4); without one it retransmits the 180 and gives up.
    let lab = Lab::start("init-100rel", ServerConfig::calls());
    let (got, _) = lab.refer_call("initiator_100rel.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (486, "Initiator", "Failed to connect to initiator"),
        ])
    );
}
