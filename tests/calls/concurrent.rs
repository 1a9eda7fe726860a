//! Many click-to-calls at once through one server, black box: each XML request gets
//! exactly its own event sequence and every phone call completes (sessions do not
//! cross). SIPp plays all initiators (and destinations) of a mode on one port, telling
//! calls apart by Call-ID.

use std::thread;

use crate::support::{
    CALL_WAIT, lab::Lab, lab::events, lab::phone, ports::unbound_port, server::ServerConfig,
    xml::Event, xml::XmlClient,
};

const CALLS: u32 = 20;

/// Places `CALLS` click-to-calls at once, each on its own XML connection, and returns
/// each one's events.
fn place_all(lab: &Lab, initiator: &str, destination: &str, anchor: bool) -> Vec<Vec<Event>> {
    let handles: Vec<_> = (0..CALLS)
        .map(|_| {
            let (port, ini, dst) = (
                lab.server.xml_port,
                initiator.to_owned(),
                destination.to_owned(),
            );
            thread::spawn(move || XmlClient::connect(port).call(&ini, &dst, anchor, CALL_WAIT))
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect()
}

#[test]
fn concurrent_refer_calls_each_get_their_own_sequence() {
    let lab = Lab::start("concurrent-refer", ServerConfig::calls());
    let dest = unbound_port();
    let mut initiator = lab.uas_calls(
        "initiator_refer_ok.xml",
        CALLS,
        &[("DEST_PORT", dest.to_string())],
    );
    let expected = events(&[
        (100, "", "In progress"),
        (180, "Initiator", "Ringing initiator"),
        (200, "Initiator", "Connected to initiator"),
        (200, "Destination", "Connected to destination"),
    ]);
    for got in place_all(&lab, &initiator.phone("100"), &phone(dest, "200"), false) {
        assert_eq!(got, expected);
    }
    initiator.expect_pass();
}

#[test]
fn concurrent_anchored_calls_each_get_their_own_sequence() {
    let lab = Lab::start("concurrent-anchor", ServerConfig::calls());
    let mut initiator = lab.uas_calls("initiator_anchor.xml", CALLS, &[]);
    let mut destination = lab.uas_calls(
        "destination_anchor.xml",
        CALLS,
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let expected = crate::support::lab::connected_both_legs();
    for got in place_all(
        &lab,
        &initiator.phone("100"),
        &destination.phone("200"),
        true,
    ) {
        assert_eq!(got, expected);
    }
    // Every destination hangs up; every BYE must reach the right initiator dialog.
    destination.expect_pass();
    initiator.expect_pass();
}
