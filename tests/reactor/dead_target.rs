//! Black-box: an initiator that never answers ends the INVITE transaction at Timer B
//! (64·T1 = 32 s, RFC 3261 §17.1.1.2) and the XML client hears 408; one where nothing
//! listens answers with an ICMP port-unreachable, read from the socket's error queue, and
//! the XML client hears 503 at once instead of after 32 s.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::support::{
    peer::UdpPeer, server::Server, server::ServerConfig, tmp::TempDir, xml::XmlClient,
};

#[test]
fn silent_initiator_gives_408_after_timer_b() {
    let dir = TempDir::new("silent");
    let mut peer = UdpPeer::bind(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let server = Server::start(
        &dir,
        &ServerConfig::reactor().translate_all(&format!("sip:$1@{}", peer.addr)),
    );
    let mut xml = XmlClient::connect(server.xml_port);
    let asked = Instant::now();
    xml.send_request("alice", "bob", false);

    // Read (never answer) every copy while waiting, so the socket stays drained.
    let mut copies = 0;
    while asked.elapsed() < Duration::from_secs(29) {
        if peer
            .recv_request("INVITE", Duration::from_millis(200))
            .is_some()
        {
            copies += 1;
        }
    }
    let result = xml.expect(
        408,
        Some("Initiator"),
        Duration::from_secs(40) - asked.elapsed(),
    );
    let after = result.at - asked;
    assert!(
        after >= Duration::from_secs(30) && after <= Duration::from_secs(40),
        "408 after {after:?}, want Timer B ≈ 32 s"
    );
    // Timer A fires at 0.5, 1.5, 3.5, 7.5 and 15.5 s (the next one, at 31.5 s, may or may
    // not beat the 29 s read window above): the original plus five copies at least.
    assert!(copies >= 6, "only {copies} INVITE copies before Timer B");
}

#[test]
fn closed_port_gives_503_within_two_seconds() {
    let dir = TempDir::new("refused");
    // A port nobody listens on: bound once to learn a free one, then closed.
    let closed: SocketAddr = {
        let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        s.local_addr().expect("addr")
    };
    let server = Server::start(
        &dir,
        &ServerConfig::reactor().translate_all(&format!("sip:$1@{closed}")),
    );
    let mut xml = XmlClient::connect(server.xml_port);
    let asked = Instant::now();
    xml.send_request("alice", "bob", false);
    let result = xml.expect(503, Some("Initiator"), Duration::from_secs(10));
    let after = result.at - asked;
    assert!(
        after <= Duration::from_secs(2),
        "503 after {after:?}, want < 2 s (ICMP)"
    );
    assert!(
        server.log().contains("Refused") || server.log().to_lowercase().contains("refused"),
        "the log names the refusal"
    );
}
