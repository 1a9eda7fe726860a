//! Black-box shutdown of the reactor: on SIGTERM with a call ringing, the calls thread
//! cancels the INVITE and then tells the reactor to stop; the CANCEL reaches the wire
//! (RFC 3261 §9.1) and the reactor thread ends in time, so the server exits cleanly.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::support::{
    WAIT, peer::UdpPeer, server::Server, server::ServerConfig, sip::response, tmp::TempDir,
    xml::XmlClient,
};

fn ringing_call_then_sigterm(opts_of: impl Fn(&UdpPeer) -> ServerConfig) {
    let dir = TempDir::new("shutdown");
    let mut peer = UdpPeer::bind(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut server = Server::start(&dir, &opts_of(&peer));
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let (invite, from, _) = peer.recv_request("INVITE", WAIT).expect("INVITE");
    peer.send(&response(&invite, 180, "Ringing", "r1", "", ""), from);
    xml.expect(180, Some("Initiator"), WAIT);

    let status = server.terminate_and_wait(Duration::from_secs(10));
    let (cancel, _, _) = peer
        .recv_request("CANCEL", WAIT)
        .expect("the ringing INVITE cancelled at shutdown");
    assert_eq!(
        cancel.branch(),
        invite.branch(),
        "CANCEL matches the INVITE (§9.1)"
    );
    let status = status.expect("no exit within 10 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
    let log = server.log();
    assert!(
        !log.contains("did not stop in time"),
        "a component outlived the shutdown grace: {}",
        log.lines()
            .filter(|l| l.contains("did not stop"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        log.contains("reactor stopping"),
        "the reactor never saw its Shutdown command"
    );
}

#[test]
fn sigterm_with_a_ringing_call_cancels_it_and_stops_the_reactor() {
    ringing_call_then_sigterm(|peer| {
        ServerConfig::reactor().translate_all(&format!("sip:$1@{}", peer.addr))
    });
}

/// The stop command races the end of the calls thread (which held the last handle on the
/// reactor's waker in the build this was found on); a few rounds make a lost wake-up show.
#[test]
fn sigterm_with_nothing_going_on_stops_the_reactor() {
    for round in 0..3 {
        let dir = TempDir::new("shutdown-idle");
        let mut server = Server::start(
            &dir,
            &ServerConfig::reactor().translate_all("sip:$1@127.0.0.1:9"),
        );
        let status = server
            .terminate_and_wait(Duration::from_secs(10))
            .expect("exit after SIGTERM");
        assert!(status.success(), "round {round}: exit status {status}");
        let log = server.log();
        assert!(
            !log.contains("did not stop in time"),
            "round {round}: a component outlived the shutdown grace"
        );
        assert!(
            log.contains("reactor stopping"),
            "round {round}: no Shutdown seen"
        );
    }
}

#[test]
fn sigterm_after_a_finished_call_stops_the_reactor() {
    let dir = TempDir::new("shutdown-after");
    let mut peer = UdpPeer::bind(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut server = Server::start(
        &dir,
        &ServerConfig::reactor().translate_all(&format!("sip:$1@{}", peer.addr)),
    );
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let (invite, from, _) = peer.recv_request("INVITE", WAIT).expect("INVITE");
    peer.send(&response(&invite, 486, "Busy Here", "b1", "", ""), from);
    xml.expect(486, Some("Initiator"), WAIT);

    let status = server
        .terminate_and_wait(Duration::from_secs(10))
        .expect("exit after SIGTERM");
    assert!(status.success(), "exit status {status}");
    let log = server.log();
    assert!(
        !log.contains("did not stop in time"),
        "a component outlived the shutdown grace: {}",
        log.lines()
            .filter(|l| l.contains("did not stop"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        log.contains("reactor stopping"),
        "the reactor never saw its Shutdown command"
    );
}
