//! Black-box smoke tests of retransmission over UDP on the real binary: the INVITE and the
//! REFER are retransmitted until the peer answers, the non-2xx final is ACKed inside the
//! transaction (RFC 3261 §17.1.1.3) and reaches the XML client. Their timing (Timers A and
//! E, the T2 cap, Timer K) is checked to the millisecond on the virtual clock of
//! `src/sim/tests/timers.rs`.

use std::net::{IpAddr, Ipv4Addr};

use crate::support::{
    WAIT, peer::UdpPeer, server::Server, server::ServerConfig, sip::response, tmp::TempDir,
    xml::XmlClient,
};

#[test]
fn invite_retransmitted_until_answered_and_the_486_is_acked_and_reported() {
    let dir = TempDir::new("retransmit");
    let mut peer = UdpPeer::bind(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let opts = ServerConfig::reactor().translate_all(&format!("sip:$1@{}", peer.addr));
    let server = Server::start(&dir, &opts);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);

    // Three copies of one INVITE; the first two are ignored.
    let mut copies = Vec::new();
    for n in 0..3 {
        let (msg, from, _) = peer
            .recv_request("INVITE", WAIT)
            .unwrap_or_else(|| panic!("INVITE copy {} not received", n + 1));
        copies.push((msg, from));
    }
    let branch = copies[0].0.branch().expect("INVITE has a branch");
    for (msg, _) in &copies {
        assert_eq!(
            msg.branch(),
            Some(branch),
            "a retransmission keeps the branch"
        );
        assert_eq!(
            msg.text, copies[0].0.text,
            "a retransmission is byte-identical"
        );
    }

    let (invite, from) = &copies[2];
    peer.send(&response(invite, 486, "Busy Here", "busy1", "", ""), *from);

    // The ACK: same branch and Call-ID, CSeq method ACK, our To tag (§17.1.1.3).
    let (ack, _, _) = peer.recv_request("ACK", WAIT).expect("ACK for the 486");
    assert_eq!(
        ack.branch(),
        Some(branch),
        "the ACK of a non-2xx keeps the INVITE's branch"
    );
    assert_eq!(ack.header("Call-ID"), invite.header("Call-ID"));
    assert_eq!(ack.cseq_method(), Some("ACK"));
    assert!(
        ack.header("To").is_some_and(|t| t.contains("tag=busy1")),
        "ACK To: {:?}",
        ack.header("To")
    );
    assert_eq!(
        ack.request_uri(),
        invite.request_uri(),
        "ACK Request-URI = INVITE's"
    );

    let result = xml.expect(486, Some("Initiator"), WAIT);
    assert!(result.is_final());

    // A retransmitted 486 is absorbed: ACKed again by the transaction, nothing more reported.
    peer.send(&response(invite, 486, "Busy Here", "busy1", "", ""), *from);
    let (again, _, _) = peer
        .recv_request("ACK", WAIT)
        .expect("ACK for the retransmitted 486");
    assert_eq!(again.branch(), Some(branch));
}

/// A non-INVITE request over UDP is resent while unanswered (Timer E, §17.1.2.2). The
/// REFER of REFER mode is the server's non-INVITE request: the initiator answers the
/// INVITE, then ignores the first REFER copy and accepts the second.
#[test]
fn refer_retransmitted_until_accepted() {
    let dir = TempDir::new("timer-e");
    let mut peer = UdpPeer::bind(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let opts = ServerConfig::reactor().translate_all(&format!("sip:$1@{}", peer.addr));
    let server = Server::start(&dir, &opts);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("initiator", "destination", false);

    let (invite, from, _) = peer.recv_request("INVITE", WAIT).expect("INVITE");
    let contact = format!(
        "Contact: <sip:initiator@{}>\r\nContent-Type: application/sdp\r\n",
        peer.addr
    );
    peer.send(
        &response(
            &invite,
            200,
            "OK",
            "i1",
            &contact,
            crate::support::sip::SDP_ANSWER,
        ),
        from,
    );
    peer.recv_request("ACK", WAIT).expect("ACK of the 200");

    let mut copies = Vec::new();
    for n in 0..2 {
        let (msg, from, _) = peer
            .recv_request("REFER", WAIT)
            .unwrap_or_else(|| panic!("REFER copy {} not received", n + 1));
        copies.push((msg, from));
    }
    let (refer, from) = &copies[1];
    assert_eq!(
        refer.branch(),
        copies[0].0.branch(),
        "retransmissions keep the branch"
    );
    assert_eq!(
        refer.text, copies[0].0.text,
        "a retransmission is byte-identical"
    );
    peer.send(&response(refer, 202, "Accepted", "", "", ""), *from);
    assert!(!xml.seen.iter().any(|p| p.is_final()), "{:?}", xml.seen);
}
