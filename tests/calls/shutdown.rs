//! SIGTERM with calls in progress, black box: ringing legs are cancelled, connected legs
//! hung up, every request still gets its final event, and the process exits 0 within
//! 5 s — also when the peers never answer the CANCEL or BYE.

use std::time::Duration;

use crate::support::{
    WAIT, lab::Lab, lab::PhoneRun, lab::events, lab::phone, ports::unbound_port,
    raw_phone::RawMode, raw_phone::RawPhone, server::ServerConfig, xml::XmlClient,
};

/// The bound on shutdown.
const EXIT_WITHIN: Duration = Duration::from_secs(5);

fn is(code: u16, leg: &'static str) -> impl Fn(&crate::support::xml::Event) -> bool {
    move |e| e.code == code && e.leg == leg
}

/// Sends SIGTERM, then expects the request's final event and a clean exit in time.
fn terminate_and_expect_final(lab: &mut Lab, client: &mut XmlClient) -> crate::support::xml::Event {
    lab.server.terminate();
    let rest = client.events_until(WAIT, |e| e.is_final());
    let last = rest.last().cloned().expect("at least the final event");
    assert!(last.is_final(), "{rest:?}");
    let status = lab.server.wait_exit(EXIT_WITHIN);
    assert!(
        status.is_some(),
        "still running {EXIT_WITHIN:?} after SIGTERM"
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "exit status {status:?}"
    );
    last
}

#[test]
fn sigterm_while_ringing_cancels_the_initiator_and_delivers_the_final() {
    let mut lab = Lab::start("term-ringing", ServerConfig::calls());
    let mut initiator = lab.uas("initiator_no_answer.xml", &[]);
    let mut client = XmlClient::connect(lab.server.xml_port);
    client.send_request(
        &initiator.phone("100"),
        &phone(unbound_port(), "200"),
        false,
    );
    let got = client.events_until(WAIT, is(180, "Initiator"));
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator")
        ])
    );
    let last = terminate_and_expect_final(&mut lab, &mut client);
    assert!(last.code >= 300, "{last:?}");
    assert_eq!(
        (last.leg.as_str(), last.text.as_str()),
        ("Initiator", "Failed to connect to initiator")
    );
    // The phone saw the CANCEL (same Via as the INVITE) and the ACK of its 487.
    initiator.expect_pass();
}

#[test]
fn sigterm_during_an_established_anchored_call_byes_both_legs() {
    let mut lab = Lab::start("term-anchored", ServerConfig::calls());
    let (mut initiator, mut destination) = lab.phones(
        PhoneRun::Udp,
        "initiator_anchor.xml",
        "destination_anchor_wait.xml",
    );
    let mut client = XmlClient::connect(lab.server.xml_port);
    client.send_request(&initiator.phone("100"), &destination.phone("200"), true);
    let got = client.events_until(WAIT, |e| e.is_final());
    assert_eq!(
        got.last(),
        events(&[(200, "Destination", "Connected to destination")]).last()
    );
    // The destination's 200 is reported before the initiator's re-INVITE completes:
    // wait for the call to be fully set up (the initiator got the ACK of its re-INVITE's
    // 2xx) so the SIGTERM meets an established call.
    initiator.wait_received("ACK", 2);
    // The request is over; the call is not: SIGTERM must hang up both legs.
    lab.server.terminate();
    let status = lab.server.wait_exit(EXIT_WITHIN);
    assert!(
        status.is_some_and(|s| s.success()),
        "exit status within {EXIT_WITHIN:?}: {status:?}"
    );
    initiator.expect_pass();
    destination.expect_pass();
}

#[test]
fn sigterm_with_a_ringing_peer_that_ignores_cancel_still_exits_in_time() {
    let mut lab = Lab::start("term-deaf-ringing", ServerConfig::calls());
    let phone_ = RawPhone::start(RawMode::Ringing);
    let mut client = XmlClient::connect(lab.server.xml_port);
    client.send_request(&phone_.phone("100"), &phone(unbound_port(), "200"), false);
    client.events_until(WAIT, is(180, "Initiator"));
    let last = terminate_and_expect_final(&mut lab, &mut client);
    assert_eq!(last.leg, "Initiator", "{last:?}");
    let seen = phone_.start_lines();
    assert!(
        seen.iter().any(|l| l.starts_with("CANCEL ")),
        "no CANCEL on the wire: {seen:?}"
    );
}

#[test]
fn sigterm_with_a_connected_peer_that_ignores_everything_still_exits_in_time() {
    let mut lab = Lab::start("term-deaf-connected", ServerConfig::calls());
    // Answers the INVITE, then ignores the ACK, the REFER and the BYE.
    let phone_ = RawPhone::start(RawMode::Answer);
    let mut client = XmlClient::connect(lab.server.xml_port);
    client.send_request(&phone_.phone("100"), &phone(unbound_port(), "200"), false);
    client.events_until(WAIT, is(200, "Initiator"));
    let last = terminate_and_expect_final(&mut lab, &mut client);
    assert_eq!(last.leg, "Destination", "{last:?}");
    let seen = phone_.start_lines();
    assert!(
        seen.iter().any(|l| l.starts_with("BYE ")),
        "no BYE on the wire: {seen:?}"
    );
}

#[test]
fn sigterm_during_the_initiators_re_invite_still_acks_its_2xx_and_byes_both_legs() {
    let mut lab = Lab::start("term-reinvite", ServerConfig::calls());
    // The initiator answers the relay re-INVITE only after a second and never
    // retransmits that 200 (as over TCP): the server must ACK it whenever it comes
    // (RFC 3261 §13.2.2.4), even when SIGTERM arrived in between.
    let initiator = RawPhone::start(RawMode::SlowReinvite);
    let mut destination = lab.uas(
        "destination_anchor_wait_any_answer.xml",
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let mut client = XmlClient::connect(lab.server.xml_port);
    client.send_request(&initiator.phone("100"), &destination.phone("200"), true);
    let got = client.events_until(WAIT, |e| e.is_final());
    assert_eq!(
        got.last(),
        events(&[(200, "Destination", "Connected to destination")]).last()
    );
    lab.server.terminate();
    let status = lab.server.wait_exit(EXIT_WITHIN);
    assert!(
        status.is_some_and(|s| s.success()),
        "exit status within {EXIT_WITHIN:?}: {status:?}"
    );
    destination.expect_pass();
    let seen = initiator.start_lines();
    let acks = seen.iter().filter(|l| l.starts_with("ACK ")).count();
    assert_eq!(
        acks, 2,
        "one ACK for the INVITE's 2xx, one for the re-INVITE's: {seen:?}"
    );
    assert!(
        seen.iter().any(|l| l.starts_with("BYE ")),
        "no BYE to the initiator: {seen:?}"
    );
}
