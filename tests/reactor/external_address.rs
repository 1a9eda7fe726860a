//! Black-box: behind a 1:1 NAT, `ExternalAddress` is the address our INVITE names in Via
//! sent-by (RFC 3261 §18.1.1), Contact (§8.1.1.8) and the SDP's `o=` and `c=` (RFC 4566
//! §5.2, §5.7), while the sockets stay bound to `IPAddress`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::support::{
    peer::UdpPeer, server::Server, server::ServerConfig, tmp::TempDir, xml::XmlClient,
};

#[test]
fn external_address_is_written_in_via_contact_and_sdp() {
    let dir = TempDir::new("external");
    let mut peer = UdpPeer::bind(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let server = Server::start(
        &dir,
        &ServerConfig::reactor()
            .translate_all(&format!("sip:$1@{}", peer.addr))
            .set("ExternalAddress", "203.0.113.7"),
    );
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let (invite, from, _) = peer
        .recv_request("INVITE", Duration::from_secs(10))
        .expect("the INVITE");
    // The datagram still comes from the bound address.
    assert_eq!(from.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    let port = server.sip_port;
    let via = invite.header("Via").expect("Via");
    assert!(
        via.starts_with(&format!("SIP/2.0/UDP 203.0.113.7:{port};")),
        "{via}"
    );
    let contact = invite.header("Contact").expect("Contact");
    assert!(
        contact.contains(&format!("@203.0.113.7:{port}>")),
        "{contact}"
    );
    let sdp = invite.body();
    assert!(sdp.contains(" IN IP4 203.0.113.7\r\n"), "o=: {sdp}");
    assert!(sdp.contains("c=IN IP4 203.0.113.7\r\n"), "c=: {sdp}");
    assert!(!sdp.contains("127.0.0.1"), "{sdp}");
}
