//! Black-box RFC 3263 against a DNS server on loopback (the test server of
//! `tests/common_dns`): `sip:alice@example.test` has no NAPTR, so SRV `_sip._udp` gives two
//! targets, tried in priority order (RFC 2782). When nothing listens on the first, the
//! ICMP port-unreachable is a transport error and the INVITE goes to the second at once
//! (§4.3); when the first is silent, it goes there after the transaction time-out
//! (Timer B, 32 s).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::support::{
    WAIT, peer::StreamPeer, peer::UdpPeer, server::Server, server::ServerConfig, sip::response,
    tmp::TempDir, xml::XmlClient,
};
use crate::support::{
    dns::A, dns::Behaviour, dns::NAPTR, dns::SRV, dns::TestDnsServer, dns::a, dns::naptr, dns::srv,
};

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The zone: `_sip._udp.example.test` → first (priority 10) then second (priority 20).
fn dns_with_two_targets(first: u16, second: u16) -> TestDnsServer {
    TestDnsServer::start(
        V4,
        vec![
            (
                ("_sip._udp.example.test", SRV),
                Behaviour::Answer(vec![
                    srv(20, 10, second, "second.example.test"),
                    srv(10, 10, first, "first.example.test"),
                ]),
            ),
            (
                ("first.example.test", A),
                Behaviour::Answer(vec![a("127.0.0.1")]),
            ),
            (
                ("second.example.test", A),
                Behaviour::Answer(vec![a("127.0.0.1")]),
            ),
        ],
    )
}

fn server_using(dir: &TempDir, dns: &TestDnsServer) -> Server {
    let opts = ServerConfig::reactor()
        .translate_all("sip:$1@example.test")
        .set("DNSServers", &dns.addr.to_string());
    Server::start(dir, &opts)
}

/// Position of the first log line containing `needle`.
fn log_position(log: &str, needle: &str) -> Option<usize> {
    log.lines().position(|l| l.contains(needle))
}

#[test]
fn refused_first_srv_target_fails_over_to_the_second_within_a_second() {
    let dir = TempDir::new("dns-icmp");
    let closed: SocketAddr = {
        let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        s.local_addr().expect("addr")
    };
    let mut second = UdpPeer::bind(V4);
    let dns = dns_with_two_targets(closed.port(), second.addr.port());
    let server = server_using(&dir, &dns);
    let mut xml = XmlClient::connect(server.xml_port);
    let asked = Instant::now();
    xml.send_request("alice", "bob", false);

    let (invite, from, at) = second
        .recv_request("INVITE", Duration::from_secs(10))
        .expect("INVITE at the second SRV target");
    assert!(
        at - asked < Duration::from_millis(1500),
        "INVITE reached the second target only after {:?}",
        at - asked
    );
    assert_eq!(invite.request_uri(), Some("sip:alice@example.test"));
    // The first target was tried first (priority 10 before 20).
    let log = server.log();
    let to_first = log_position(&log, &format!("to UDP {closed}"));
    let to_second = log_position(&log, &format!("to UDP {}", second.addr));
    assert!(
        to_first.is_some() && to_first < to_second,
        "first target not tried before the second"
    );
    let queried: Vec<_> = dns.queries().into_iter().map(|(_, n, t)| (n, t)).collect();
    assert!(
        queried.contains(&("_sip._udp.example.test".to_string(), SRV)),
        "{queried:?}"
    );

    second.send(&response(&invite, 486, "Busy Here", "s2", "", ""), from);
    second.recv_request("ACK", WAIT).expect("ACK of the 486");
    xml.expect(486, Some("Initiator"), WAIT);
}

#[test]
fn silent_first_srv_target_fails_over_after_the_transaction_time_out() {
    let dir = TempDir::new("dns-silent");
    // Bound and never answering: no ICMP, so only Timer B ends the attempt.
    let mut first = UdpPeer::bind(V4);
    let mut second = UdpPeer::bind(V4);
    let dns = dns_with_two_targets(first.addr.port(), second.addr.port());
    let server = server_using(&dir, &dns);
    let mut xml = XmlClient::connect(server.xml_port);
    let asked = Instant::now();
    xml.send_request("alice", "bob", false);

    let (_, _, first_at) = first
        .recv_request("INVITE", WAIT)
        .expect("INVITE at the first SRV target");
    assert!(first_at - asked < Duration::from_secs(5));
    let (invite, from, at) = second
        .recv_request("INVITE", Duration::from_secs(45))
        .expect("INVITE at the second SRV target within 45 s");
    let after = at - asked;
    assert!(
        after >= Duration::from_secs(30),
        "second target tried after {after:?}, before Timer B (32 s) of the first"
    );
    // No 408 reached the client in between: the time-out was a failover, not a failure.
    second.send(&response(&invite, 486, "Busy Here", "s2", "", ""), from);
    second.recv_request("ACK", WAIT).expect("ACK of the 486");
    let result = xml.expect(486, Some("Initiator"), WAIT);
    assert!(
        !xml.seen.iter().any(|p| p.code == 408),
        "408 reported before the failover: {:?}",
        xml.seen
    );
    assert!(result.is_final());
    let copies = std::iter::from_fn(|| first.recv_request("INVITE", Duration::from_millis(50)))
        .take(20)
        .count();
    assert!(
        copies >= 4,
        "the first target got only {} copies",
        copies + 1
    );
}

#[test]
fn naptr_chooses_tcp_and_its_srv() {
    let dir = TempDir::new("dns-naptr");
    let peer = StreamPeer::tcp(V4);
    let dns = TestDnsServer::start(
        V4,
        vec![
            (
                ("example.test", NAPTR),
                Behaviour::Answer(vec![naptr(10, 10, "SIP+D2T", "_sip._tcp.example.test")]),
            ),
            (
                ("_sip._tcp.example.test", SRV),
                Behaviour::Answer(vec![srv(10, 10, peer.addr.port(), "tcp.example.test")]),
            ),
            (
                ("tcp.example.test", A),
                Behaviour::Answer(vec![a("127.0.0.1")]),
            ),
        ],
    );
    let server = server_using(&dir, &dns);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let mut conn = peer.accept(WAIT).expect("a TCP connection chosen by NAPTR");
    let invite = conn.recv_msg(WAIT).expect("INVITE over TCP");
    assert_eq!(invite.via_transport().as_deref(), Some("TCP"));
    conn.send(&response(&invite, 486, "Busy Here", "n1", "", ""));
    xml.expect(486, Some("Initiator"), WAIT);
}

#[test]
fn nxdomain_gives_a_prompt_failure() {
    let dir = TempDir::new("dns-nx");
    let dns = TestDnsServer::start(
        V4,
        vec![
            (("example.test", NAPTR), Behaviour::NxDomain),
            (("_sip._udp.example.test", SRV), Behaviour::NxDomain),
            (("example.test", A), Behaviour::NxDomain),
        ],
    );
    let server = server_using(&dir, &dns);
    let mut xml = XmlClient::connect(server.xml_port);
    let asked = Instant::now();
    xml.send_request("alice", "bob", false);
    let result = xml.expect(503, Some("Initiator"), WAIT);
    assert!(
        result.at - asked < Duration::from_secs(10),
        "after {:?}",
        result.at - asked
    );
}

/// A URI with a port skips NAPTR and SRV (RFC 3263 §4.2): only the address records of the
/// host are asked for.
#[test]
fn explicit_port_asks_only_for_addresses() {
    let dir = TempDir::new("dns-port");
    let mut peer = UdpPeer::bind(V4);
    let dns = TestDnsServer::start(
        V4,
        vec![(
            ("host.example.test", A),
            Behaviour::Answer(vec![a("127.0.0.1")]),
        )],
    );
    let opts = ServerConfig::reactor()
        .translate_all(&format!("sip:$1@host.example.test:{}", peer.addr.port()))
        .set("DNSServers", &dns.addr.to_string());
    let server = Server::start(&dir, &opts);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let (invite, from, _) = peer
        .recv_request("INVITE", WAIT)
        .expect("INVITE via the A record");
    peer.send(&response(&invite, 486, "Busy Here", "p1", "", ""), from);
    xml.expect(486, Some("Initiator"), WAIT);
    let queried = dns.queries();
    assert!(
        queried.iter().all(|(_, _, t)| *t != SRV && *t != NAPTR),
        "NAPTR/SRV asked for a URI with a port: {queried:?}"
    );
    assert!(
        queried
            .iter()
            .any(|(_, n, t)| n == "host.example.test" && *t == A)
    );
}

/// An SRV target with only an AAAA record is reached over IPv6 (the server bound to all
/// interfaces).
#[test]
fn srv_target_with_only_an_aaaa_record_is_reached_over_ipv6() {
    let dir = TempDir::new("dns-aaaa");
    let mut peer = UdpPeer::bind(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST));
    let dns = TestDnsServer::start(
        V4,
        vec![
            (
                ("_sip._udp.example.test", SRV),
                Behaviour::Answer(vec![srv(10, 10, peer.addr.port(), "v6.example.test")]),
            ),
            (
                ("v6.example.test", crate::support::dns::AAAA),
                Behaviour::Answer(vec![crate::support::dns::aaaa("::1")]),
            ),
        ],
    );
    let opts = ServerConfig {
        ip_address: String::new(),
        ..ServerConfig::reactor().translate_all("sip:$1@example.test")
    }
    .set("DNSServers", &dns.addr.to_string());
    let server = Server::start(&dir, &opts);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let (invite, from, _) = peer.recv_request("INVITE", WAIT).expect("INVITE over IPv6");
    assert!(from.is_ipv6());
    peer.send(&response(&invite, 486, "Busy Here", "v6", "", ""), from);
    xml.expect(486, Some("Initiator"), WAIT);
}
