//! Black-box: the INVITE to the initiator is retransmitted over UDP per Timer A (RFC 3261
//! §17.1.1.2: T1 = 500 ms, doubling) until the peer answers; the non-2xx final is ACKed
//! inside the transaction (§17.1.1.3) and reaches the XML client.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::support::{
    WAIT, peer::UdpPeer, server::Server, server::ServerConfig, sip::response, tmp::TempDir,
    xml::XmlClient,
};

/// Jitter allowed on each interval: a behaviour check (the doubling), not a speed test.
const SLACK: Duration = Duration::from_millis(250);

fn near(actual: Duration, expected: Duration) -> bool {
    actual + SLACK >= expected && actual <= expected + SLACK
}

#[test]
fn invite_retransmitted_at_t1_then_2t1_and_the_486_is_acked_and_reported() {
    let dir = TempDir::new("retransmit");
    let mut peer = UdpPeer::bind(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let opts = ServerConfig::reactor().translate_all(&format!("sip:$1@{}", peer.addr));
    let server = Server::start(&dir, &opts);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);

    // Three copies of one INVITE; the first two are ignored.
    let mut copies = Vec::new();
    for n in 0..3 {
        let (msg, from, at) = peer
            .recv_request("INVITE", WAIT)
            .unwrap_or_else(|| panic!("INVITE copy {} not received", n + 1));
        copies.push((msg, from, at));
    }
    let branch = copies[0].0.branch().expect("INVITE has a branch");
    for (msg, _, _) in &copies {
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
    let first = copies[1].2 - copies[0].2;
    let second = copies[2].2 - copies[1].2;
    assert!(
        near(first, Duration::from_millis(500)),
        "first interval {first:?}, want ≈ T1 = 500 ms"
    );
    assert!(
        near(second, Duration::from_millis(1000)),
        "second interval {second:?}, want ≈ 2·T1 = 1 s"
    );

    let (invite, from, _) = &copies[2];
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
    // No further INVITE copy after the final response (Timer A stopped).
    assert!(
        peer.recv_request("INVITE", Duration::from_secs(2))
            .is_none(),
        "INVITE retransmitted after its final response"
    );
}

/// Timer E (§17.1.2.2): a non-INVITE request over UDP is resent after T1, then at doubling
/// intervals capped at T2 = 4 s. The REFER of REFER mode is the server's non-INVITE
/// request: the initiator answers the INVITE, then ignores the REFER five times.
#[test]
fn refer_retransmitted_with_timer_e_capped_at_t2() {
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
    for n in 0..6 {
        let (msg, from, at) = peer
            .recv_request("REFER", Duration::from_secs(10))
            .unwrap_or_else(|| panic!("REFER copy {} not received", n + 1));
        copies.push((msg, from, at));
    }
    let intervals: Vec<Duration> = copies.windows(2).map(|w| w[1].2 - w[0].2).collect();
    let want = [500, 1000, 2000, 4000, 4000].map(Duration::from_millis);
    for (got, want) in intervals.iter().zip(want) {
        assert!(
            near(*got, want),
            "REFER intervals {intervals:?}, want {want:?} at this step"
        );
    }
    let (refer, from, _) = &copies[5];
    assert_eq!(
        refer.branch(),
        copies[0].0.branch(),
        "retransmissions keep the branch"
    );
    peer.send(&response(refer, 202, "Accepted", "", "", ""), *from);
    // After the final response the REFER is not sent again (Timer K on UDP, T4 = 5 s,
    // only absorbs retransmitted responses).
    assert!(
        peer.recv_request("REFER", Duration::from_secs(5)).is_none(),
        "REFER retransmitted after its final response"
    );
    assert!(!xml.seen.iter().any(|p| p.is_final()), "{:?}", xml.seen);
}
