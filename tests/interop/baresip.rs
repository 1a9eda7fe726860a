//! Interop with a real phone: two baresip 1.0 processes (Debian `baresip-core`) on
//! loopback, one the initiator, one the destination, both auto-answering; the real
//! `clicktocall` binary places the call over its XML interface.
//!
//! What a real phone does that the SIPp scenarios do not: baresip ends the sipfrag of its
//! NOTIFYs with a bare LF (RFC 3420 wants CRLF; the C++ original misread it as 400 and
//! hung up a transfer that worked), adds `;id=` to `Event: refer` (RFC 3515 §2.4.6),
//! ends the subscription with `terminated;reason=noresource`, sends no sipfrag 180, and
//! answers a re-INVITE with its own SDP. The checks read baresip's own SIP trace, so
//! they see the wire as the phones saw it.
//!
//! The tests fail (never skip) when baresip is missing; `.ci/run` installs it.

use std::time::Duration;

use crate::support::{baresip::Baresip, sip_trace::Traced};
use crate::support::{lab::Lab, lab::events, server::ServerConfig, xml::Event, xml::XmlClient};

/// Bound on a whole click-to-call between two phones that answer at once.
const CALL_BOUND: Duration = Duration::from_secs(20);

/// Places a click-to-call from `initiator` to `destination` (addresses the server's
/// test rule translates) and returns its events up to the final one.
fn click_to_call(lab: &Lab, initiator: &str, destination: &str, anchor: bool) -> Vec<Event> {
    let mut client = XmlClient::connect(lab.server.xml_port);
    let got = client.call(initiator, destination, anchor, CALL_BOUND);
    assert!(
        client.silent_for(Duration::from_millis(300)),
        "a document after the final event"
    );
    got
}

/// The port of the first `m=audio` line of an SDP body.
/// An SDP body without its `o=` line, which the server replaces by its own in each dialog.
fn without_origin(sdp: &str) -> String {
    sdp.split_inclusive('\n')
        .filter(|l| !l.starts_with("o="))
        .collect()
}

fn audio_port(sdp: &str) -> Option<u16> {
    sdp.lines()
        .find_map(|line| line.strip_prefix("m=audio "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|port| port.parse().ok())
}

/// The server's log holds no ERROR line (a real phone's messages must all be understood).
fn assert_no_server_errors(lab: &Lab) {
    let log = lab.server.log();
    let errors: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("[ERROR]"))
        .collect();
    assert!(errors.is_empty(), "server logged errors: {errors:#?}");
}

#[test]
fn refer_mode_transfers_the_initiator_baresip_to_the_destination_baresip() {
    let lab = Lab::start("baresip-refer", ServerConfig::calls());
    let mut initiator = Baresip::start(lab.dir(), "100");
    let mut destination = Baresip::start(lab.dir(), "200");
    let (server, p1, p2) = (lab.server.sip_port, initiator.port, destination.port);

    let got = click_to_call(&lab, &initiator.address(), &destination.address(), false);
    let mut expected = events(&[
        (100, "", "In progress"),
        (180, "Initiator", "Ringing initiator"),
        (200, "Initiator", "Connected to initiator"),
        (200, "Destination", "Connected to destination"),
    ]);
    // baresip 1.0 sends sipfrags 100 and 200 only; a build that also reports the
    // destination's 180 adds "Ringing destination", and nothing else may differ.
    if got.len() == expected.len() + 1 {
        expected.insert(3, Event::new(180, "Destination", "Ringing destination"));
    }
    assert_eq!(got, expected);

    // The destination phone was called by the initiator phone itself (it followed the
    // REFER), showing the initiator as the caller, and took the call.
    let caller = initiator.uri();
    destination.wait_for("called by the initiator", |_, trace| {
        trace.iter().any(|m| {
            m.is_request("INVITE", p1, p2) && m.header("From").is_some_and(|f| f.contains(&caller))
        })
    });
    destination.wait_for("in a call with the initiator", |out, _| {
        out.contains(&format!("Call established: {caller}"))
    });
    // In REFER mode the server never contacts the destination.
    let touched: Vec<Traced> = destination
        .trace()
        .into_iter()
        .filter(|m| m.src_port == server || m.dst_port == server)
        .collect();
    assert!(
        touched.is_empty(),
        "server exchanged messages with the destination: {touched:#?}"
    );

    // After the 200 sipfrag the server hangs up its own leg; the initiator answers.
    initiator.wait_for("hung up by the server", |_, trace| {
        trace.iter().any(|m| m.is_response(200, "BYE", p1, server))
    });
    let trace = initiator.trace();
    let refer = trace
        .iter()
        .find(|m| m.is_request("REFER", server, p1))
        .expect("no REFER reached the initiator");
    assert_eq!(
        refer.header("Refer-To"),
        Some(format!("<{}>", destination.uri()).as_str())
    );
    assert!(
        trace
            .iter()
            .any(|m| m.is_response(202, "REFER", p1, server)),
        "REFER not accepted"
    );
    // Every NOTIFY of the implicit subscription (RFC 3515 §2.4.4) was answered 200, the
    // last one carrying the transferred call's 200 — with baresip's bare-LF sipfrag.
    let notifies: Vec<&Traced> = trace
        .iter()
        .filter(|m| m.is_request("NOTIFY", p1, server))
        .collect();
    let last = notifies.last().expect("no NOTIFY from the initiator");
    assert!(
        last.body.starts_with("SIP/2.0 200"),
        "last sipfrag: {:?}",
        last.body
    );
    for notify in &notifies {
        assert_eq!(
            notify.call_id(),
            refer.call_id(),
            "NOTIFY outside the REFER's dialog"
        );
        assert!(
            trace
                .iter()
                .any(|r| r.is_response(200, "NOTIFY", server, p1)
                    && r.header("CSeq") == notify.header("CSeq")),
            "NOTIFY {:?} not answered 200",
            notify.header("CSeq")
        );
    }
    let bye = trace
        .iter()
        .find(|m| m.is_request("BYE", server, p1))
        .expect("no BYE from the server");
    assert_eq!(
        bye.call_id(),
        refer.call_id(),
        "BYE outside the REFER's dialog"
    );
    // The transferred call is up between the phones and outlives the server's leg.
    let callee = destination.uri();
    initiator.wait_for("in a call with the destination", |out, _| {
        out.contains(&format!("Call established: {callee}"))
    });
    assert!(
        !initiator
            .output()
            .contains(&format!("Call with {callee} terminated")),
        "transferred call ended"
    );
    assert_no_server_errors(&lab);
}

#[test]
fn anchored_call_relays_sdp_between_two_baresips_and_mirrors_the_hang_up() {
    let lab = Lab::start("baresip-anchor", ServerConfig::calls());
    let mut initiator = Baresip::start(lab.dir(), "100");
    let mut destination = Baresip::start(lab.dir(), "200");
    let (server, p1, p2) = (lab.server.sip_port, initiator.port, destination.port);

    let got = click_to_call(&lab, &initiator.address(), &destination.address(), true);
    assert_eq!(got, crate::support::lab::connected_both_legs());

    // The destination sees the initiator calling, in an INVITE without an offer
    // (RFC 3725 §4.1 flow I).
    let caller = initiator.uri();
    destination.wait_for("acknowledged with an answer", |_, trace| {
        trace.iter().any(|m| m.is_request("ACK", server, p2))
    });
    let dest_trace = destination.trace();
    let invite = dest_trace
        .iter()
        .find(|m| m.is_request("INVITE", server, p2))
        .expect("no INVITE to the destination");
    assert!(
        invite.header("From").is_some_and(|f| f.contains(&caller)),
        "destination INVITE From: {:?}",
        invite.header("From")
    );
    assert_eq!(invite.body, "", "destination INVITE carries SDP");
    let offer = &dest_trace
        .iter()
        .find(|m| m.is_response(200, "INVITE", p2, server))
        .expect("destination's 200")
        .body;

    // The destination's offer reaches the initiator in a re-INVITE of the first dialog, the
    // initiator's answer the destination in the ACK: unchanged but for our o=.
    initiator.wait_for("re-INVITEd and acknowledged", |_, trace| {
        trace
            .iter()
            .filter(|m| m.is_request("ACK", server, p1))
            .count()
            >= 2
    });
    let init_trace = initiator.trace();
    let invites: Vec<&Traced> = init_trace
        .iter()
        .filter(|m| m.is_request("INVITE", server, p1))
        .collect();
    let [first, reinvite] = invites.as_slice() else {
        panic!(
            "expected the first INVITE and one re-INVITE to the initiator, got {}",
            invites.len()
        );
    };
    assert_eq!(
        reinvite.call_id(),
        first.call_id(),
        "re-INVITE outside the first dialog"
    );
    // Byte for byte but for the o= line: each dialog has our origin (RFC 3264 §8).
    assert_eq!(
        without_origin(&reinvite.body),
        without_origin(offer),
        "re-INVITE body differs from the destination's offer"
    );
    assert!(
        reinvite.body.contains("\no=clicktocall "),
        "the destination's o= in the initiator's dialog:\n{}",
        reinvite.body
    );
    let answer = &init_trace
        .iter()
        .find(|m| {
            m.is_response(200, "INVITE", p1, server) && m.header("CSeq") == reinvite.header("CSeq")
        })
        .expect("initiator's 200 to the re-INVITE")
        .body;
    let ack = dest_trace
        .iter()
        .find(|m| m.is_request("ACK", server, p2))
        .expect("no ACK to the destination");
    assert_eq!(
        without_origin(&ack.body),
        without_origin(answer),
        "ACK body differs from the initiator's answer"
    );
    assert!(
        ack.body.contains("\no=clicktocall "),
        "the initiator's o= in the destination's dialog:\n{}",
        ack.body
    );

    // Media flows phone to phone: each receives RTP from the port the other announced.
    let offer_port = audio_port(offer).expect("offer has audio");
    let answer_port = audio_port(answer).expect("answer has audio");
    initiator.wait_for("receiving the destination's RTP", |out, _| {
        out.contains(&format!(
            "incoming rtp for 'audio' established, receiving from 127.0.0.1:{offer_port}"
        ))
    });
    destination.wait_for("receiving the initiator's RTP", |out, _| {
        out.contains(&format!(
            "incoming rtp for 'audio' established, receiving from 127.0.0.1:{answer_port}"
        ))
    });

    // The destination hangs up (baresip sends BYE when terminated); the server answers
    // it and hangs up the initiator.
    destination.terminate();
    destination.wait_for("hang-up answered", |_, trace| {
        trace.iter().any(|m| m.is_response(200, "BYE", server, p2))
    });
    initiator.wait_for("hung up by the server", |_, trace| {
        trace
            .iter()
            .any(|m| m.is_request("BYE", server, p1) && m.call_id() == first.call_id())
    });
    initiator.wait_for("answering the BYE", |_, trace| {
        trace.iter().any(|m| m.is_response(200, "BYE", p1, server))
    });
    assert_no_server_errors(&lab);
}

/// A number the phone does not have: baresip answers an INVITE for an unknown user with
/// 404 Not Found.
fn unknown_number(phone: &Baresip) -> String {
    format!("p{}-999", phone.port)
}

#[test]
fn refer_to_a_number_the_destination_baresip_rejects_is_a_destination_failure() {
    let lab = Lab::start("baresip-refer-404", ServerConfig::calls());
    let mut initiator = Baresip::start(lab.dir(), "100");
    let destination = Baresip::start(lab.dir(), "200");
    let (server, p1) = (lab.server.sip_port, initiator.port);

    let got = click_to_call(
        &lab,
        &initiator.address(),
        &unknown_number(&destination),
        false,
    );
    // The 404 reaches the server only inside the initiator's sipfrag NOTIFY (RFC 3515
    // §2.4.5), which baresip ends with a bare LF.
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (404, "Destination", "Failed to connect to destination"),
        ])
    );
    initiator.wait_for("hung up by the server", |_, trace| {
        trace.iter().any(|m| m.is_response(200, "BYE", p1, server))
    });
    let trace = initiator.trace();
    let last = trace
        .iter()
        .rfind(|m| m.is_request("NOTIFY", p1, server))
        .expect("no NOTIFY from the initiator");
    assert!(
        last.body.starts_with("SIP/2.0 404"),
        "last sipfrag: {:?}",
        last.body
    );
    assert_no_server_errors(&lab);
}

#[test]
fn anchored_call_to_a_number_the_destination_baresip_rejects_byes_the_initiator() {
    let lab = Lab::start("baresip-anchor-404", ServerConfig::calls());
    let mut initiator = Baresip::start(lab.dir(), "100");
    let mut destination = Baresip::start(lab.dir(), "200");
    let (server, p1, p2) = (lab.server.sip_port, initiator.port, destination.port);

    let got = click_to_call(
        &lab,
        &initiator.address(),
        &unknown_number(&destination),
        true,
    );
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (404, "Destination", "Failed to connect to destination"),
        ])
    );
    // The 404 was acknowledged (RFC 3261 §17.1.1.3) and the initiator hung up.
    destination.wait_for("404 acknowledged", |_, trace| {
        trace.iter().any(|m| m.is_request("ACK", server, p2))
    });
    initiator.wait_for("hung up by the server", |_, trace| {
        trace.iter().any(|m| m.is_request("BYE", server, p1))
    });
    initiator.wait_for("answering the BYE", |_, trace| {
        trace.iter().any(|m| m.is_response(200, "BYE", p1, server))
    });
    assert_no_server_errors(&lab);
}

#[test]
fn a_number_the_initiator_baresip_rejects_is_one_initiator_failure() {
    let lab = Lab::start("baresip-initiator-404", ServerConfig::calls());
    let initiator = Baresip::start(lab.dir(), "100");
    let destination = Baresip::start(lab.dir(), "200");

    let got = click_to_call(
        &lab,
        &unknown_number(&initiator),
        &destination.address(),
        false,
    );
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (404, "Initiator", "Failed to connect to initiator")
        ])
    );
    // Nothing was ever sent to the destination.
    assert!(
        destination.trace().is_empty(),
        "destination saw SIP: {:#?}",
        destination.trace()
    );
    assert_no_server_errors(&lab);
}

/// Places an anchored call and waits until both phones are in it (the initiator has
/// acknowledged the re-INVITE carrying the destination's offer).
fn establish_anchored(lab: &Lab, initiator: &mut Baresip, destination: &mut Baresip) {
    let got = click_to_call(lab, &initiator.address(), &destination.address(), true);
    assert_eq!(
        got.last().map(|e| (e.code, e.leg.as_str())),
        Some((200, "Destination")),
        "{got:?}"
    );
    let (server, p1, p2) = (lab.server.sip_port, initiator.port, destination.port);
    destination.wait_for("acknowledged", |_, trace| {
        trace.iter().any(|m| m.is_request("ACK", server, p2))
    });
    initiator.wait_for("re-INVITEd and acknowledged", |_, trace| {
        trace
            .iter()
            .filter(|m| m.is_request("ACK", server, p1))
            .count()
            >= 2
    });
}

#[test]
fn anchored_call_hung_up_by_the_initiator_baresip_is_hung_up_at_the_destination() {
    let lab = Lab::start("baresip-anchor-init-bye", ServerConfig::calls());
    let mut initiator = Baresip::start(lab.dir(), "100");
    let mut destination = Baresip::start(lab.dir(), "200");
    let (server, p1, p2) = (lab.server.sip_port, initiator.port, destination.port);
    establish_anchored(&lab, &mut initiator, &mut destination);

    initiator.terminate();
    initiator.wait_for("hang-up answered", |_, trace| {
        trace.iter().any(|m| m.is_response(200, "BYE", server, p1))
    });
    destination.wait_for("hung up by the server", |_, trace| {
        trace.iter().any(|m| m.is_request("BYE", server, p2))
    });
    destination.wait_for("answering the BYE", |_, trace| {
        trace.iter().any(|m| m.is_response(200, "BYE", p2, server))
    });
    assert_no_server_errors(&lab);
}

#[test]
fn server_shutdown_during_an_anchored_call_hangs_up_both_baresips() {
    let mut lab = Lab::start("baresip-anchor-shutdown", ServerConfig::calls());
    let mut initiator = Baresip::start(lab.dir(), "100");
    let mut destination = Baresip::start(lab.dir(), "200");
    let (server, p1, p2) = (lab.server.sip_port, initiator.port, destination.port);
    establish_anchored(&lab, &mut initiator, &mut destination);

    lab.server.terminate();
    let status = lab.server.wait_exit(crate::support::WAIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "server exit: {status:?}"
    );
    // Both BYEs left before the server exited; the phones print them as received.
    initiator.wait_for("hung up by the server", |_, trace| {
        trace.iter().any(|m| m.is_request("BYE", server, p1))
    });
    destination.wait_for("hung up by the server", |_, trace| {
        trace.iter().any(|m| m.is_request("BYE", server, p2))
    });
}

/// baresip 1.0 does not take a REFER outside a dialog: it answers 501 Not Implemented
/// (and prints "unhandeled request … REFER" on stderr). In the out-of-dialog REFER mode
/// that refusal is the call's result, `501 Initiator`, with no fallback: the server
/// never INVITEs either phone, and once the result is out nothing of the call is left.
#[test]
fn an_out_of_dialog_refer_that_baresip_refuses_ends_the_call_with_its_501() {
    let lab = Lab::start("baresip-refer-ood", ServerConfig::calls());
    let initiator = Baresip::start(lab.dir(), "100");
    let destination = Baresip::start(lab.dir(), "200");
    let (server, p1) = (lab.server.sip_port, initiator.port);
    let mut client = XmlClient::connect(lab.server.xml_port);
    client.send_raw(&format!(
        "<ClickToCall><Request><Initiator>{}</Initiator><Destination>{}</Destination>\
         <Mode>refer-ood</Mode></Request></ClickToCall>",
        initiator.address(),
        destination.address()
    ));
    let got = client.events_until(CALL_BOUND, |e| e.is_final());
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (501, "Initiator", "Failed to connect to initiator"),
        ])
    );
    // The call is over for the server: nothing more can be sent for it.
    let m = crate::support::api_client::ApiClient::new(lab.server.http_addr()).metrics();
    assert_eq!(m.get("clicktocall_calls_live"), Some(&0.0), "{m:?}");
    assert_eq!(m.get("clicktocall_legs_live"), Some(&0.0), "{m:?}");
    let trace = initiator.trace();
    let from_server: Vec<&Traced> = trace.iter().filter(|m| m.src_port == server).collect();
    assert_eq!(from_server.len(), 1, "only the REFER: {from_server:#?}");
    let refer = from_server[0];
    assert!(refer.is_request("REFER", server, p1), "{refer:#?}");
    assert_eq!(
        refer.header("To"),
        Some(format!("<{}>", initiator.uri()).as_str())
    );
    assert_eq!(
        refer.header("Refer-To"),
        Some(format!("<{}>", destination.uri()).as_str())
    );
    assert!(
        trace
            .iter()
            .any(|m| m.is_response(501, "REFER", p1, server)),
        "baresip answered otherwise: {trace:#?}"
    );
    assert!(
        destination
            .trace()
            .iter()
            .all(|m| m.src_port != server && m.dst_port != server),
        "the server contacted the destination"
    );
    assert_no_server_errors(&lab);
}
