//! Call engine, REFER (unanswered-by-us, "unanchored") mode, black box: the real binary,
//! a click-to-call over the XML interface, SIPp as the initiator's phone. Expected event
//! sequences are the C++ original's (shared/reference/README.md, traces xml-refer-ok,
//! xml-busy-dest-refer, xml-refer-reject).

use crate::support::{
    lab::Lab, lab::events, lab::phone, ports::unbound_port, raw_phone::RawMode,
    raw_phone::RawPhone, server::ServerConfig,
};

/// In REFER mode the server never contacts the destination itself; its port only has
/// to appear in the Refer-To the initiator checks.
fn unused_destination() -> u16 {
    unbound_port()
}

#[test]
fn refer_success_reports_both_legs_connected_and_byes_the_initiator() {
    let lab = Lab::start("refer-ok", ServerConfig::calls());
    // The scenario ends only after our BYE to the initiator was answered.
    let (got, _) = lab.refer_call("initiator_refer_ok.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
}

#[test]
fn refer_success_with_sipfrag_ringing_reports_ringing_destination() {
    let lab = Lab::start("refer-ringing", ServerConfig::calls());
    let (got, _) = lab.refer_call("initiator_refer_ringing.xml", &[]);
    assert_eq!(got, crate::support::lab::connected_both_legs());
}

#[test]
fn sipfrag_busy_after_refer_is_a_destination_failure_and_byes_the_initiator() {
    let lab = Lab::start("refer-busy", ServerConfig::calls());
    let (got, _) = lab.refer_call("initiator_refer_busy.xml", &[]);
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
fn refer_rejected_with_501_falls_back_to_an_anchored_call() {
    let lab = Lab::start("refer-reject", ServerConfig::calls());
    // The destination checks it sees the initiator calling (the original showed its
    // own identity here) and that the ACK carries the initiator's answer.
    // The destination hangs up; the initiator's scenario ends when that BYE was mirrored.
    let (got, _, _) = lab.call_between(
        "initiator_refer_reject.xml",
        "destination_anchor.xml",
        false,
    );
    assert_eq!(got, crate::support::lab::connected_both_legs());
}

#[test]
fn sipfrag_ending_with_a_bare_lf_is_read_as_success() {
    // Real phones (baresip) end the sipfrag status line with LF only; the C++ original
    // misread that as 400 and hung up a transfer that had in fact succeeded.
    let lab = Lab::start("refer-bare-lf", ServerConfig::calls());
    let transferee = RawPhone::start(RawMode::TransferBareLf);
    let got = lab.click_to_call(
        &transferee.phone("100"),
        &phone(unused_destination(), "200"),
        false,
    );
    // The raw phone answers at once, without a provisional response: no 180 event.
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    // After the transfer we hang up our leg.
    let deadline = std::time::Instant::now() + crate::support::WAIT;
    while !transferee
        .start_lines()
        .iter()
        .any(|l| l.starts_with("BYE "))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no BYE: {:?}",
            transferee.start_lines()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn subscription_ending_without_a_final_status_is_a_destination_408() {
    let lab = Lab::start("refer-sub-timeout", ServerConfig::calls());
    let (got, _) = lab.refer_call("initiator_refer_sub_timeout.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (408, "Destination", "Failed to connect to destination"),
        ])
    );
}

#[test]
fn the_call_goes_on_when_the_xml_client_disconnects() {
    let lab = Lab::start("refer-client-gone", ServerConfig::calls());
    let dest = unused_destination();
    let mut initiator = lab.uas(
        "initiator_refer_slow.xml",
        &[("DEST_PORT", dest.to_string())],
    );
    {
        let mut client = crate::support::xml::XmlClient::connect(lab.server.xml_port);
        client.send_request(&initiator.phone("100"), &phone(dest, "200"), false);
        let got = client.events_until(crate::support::WAIT, |e| e.code == 180);
        assert_eq!(got.last().map(|e| e.code), Some(180), "{got:?}");
        // The client goes away while the initiator rings.
    }
    // The phone still gets the REFER, its NOTIFYs are answered and our BYE comes.
    initiator.expect_pass();
}

#[test]
fn transferee_hanging_up_right_after_its_final_notify_ends_cleanly() {
    // Transferees end their dialog with the transferor themselves once the transfer
    // succeeded (RFC 5589 §6): the final NOTIFY and the phone's BYE arrive back to back,
    // possibly crossing our own BYE. The request still ends with one 200 Destination and
    // the phone's BYE gets 200 (or 481 if ours won the race), never silence.
    let lab = Lab::start("refer-transferee-bye", ServerConfig::calls());
    let transferee = RawPhone::start(RawMode::TransferThenHangUp);
    let got = lab.click_to_call(
        &transferee.phone("100"),
        &phone(unused_destination(), "200"),
        false,
    );
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    let answered = |m: &String| {
        (m.starts_with("SIP/2.0 200 ") || m.starts_with("SIP/2.0 481 "))
            && m.contains("CSeq: 2 BYE")
    };
    let deadline = std::time::Instant::now() + crate::support::WAIT;
    while !transferee.messages().iter().any(answered) {
        assert!(
            std::time::Instant::now() < deadline,
            "the phone's BYE got no final response: {:?}",
            transferee.start_lines()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let notify_ok = transferee
        .messages()
        .iter()
        .any(|m| m.starts_with("SIP/2.0 200 ") && m.contains("CSeq: 1 NOTIFY"));
    assert!(
        notify_ok,
        "the NOTIFY was not answered 200: {:?}",
        transferee.start_lines()
    );
}
