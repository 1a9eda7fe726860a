//! Black-box routing rules of the reactor: responses to the address RFC 3261 §18.2.2 and
//! RFC 3581 name; retransmitted requests absorbed by their server transaction (§17.2.2);
//! a request over 1300 bytes sent over TCP (§18.1.1); and the outbound proxy
//! (`OutboundProxy`, §8.1.2: a pre-loaded Route with `lr`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

use crate::support::{
    WAIT, peer::StreamConn, peer::UdpPeer, server::Server, server::ServerConfig, sip::Msg,
    sip::options, sip::response, tmp::TempDir, xml::XmlClient,
};

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn plain_server(dir: &TempDir) -> Server {
    Server::start(
        dir,
        &ServerConfig::reactor().translate_all("sip:$1@127.0.0.1:9"),
    )
}

fn recv(sock: &UdpSocket, timeout: Duration) -> Option<(Msg, SocketAddr)> {
    sock.set_read_timeout(Some(timeout)).expect("timeout");
    let mut buf = vec![0u8; 65536];
    let (n, from) = sock.recv_from(&mut buf).ok()?;
    Some((Msg::new(&buf[..n]), from))
}

#[test]
fn rport_sends_the_response_to_the_source_port_with_received() {
    let dir = TempDir::new("rport");
    let server = plain_server(&dir);
    let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let other = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    // The Via names `other`'s port, but asks for rport: the answer goes to the source.
    let via_addr = other.local_addr().expect("addr").to_string();
    let request = options("sip:probe@127.0.0.1", &via_addr, "rp1", "rport-1");
    sender
        .send_to(request.as_bytes(), server.sip_addr())
        .expect("send");
    let (answer, _) = recv(&sender, WAIT).expect("the answer at the source port");
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    let via = answer.header("Via").unwrap_or_default();
    let source_port = sender.local_addr().expect("addr").port();
    assert!(via.contains(&format!("rport={source_port}")), "Via {via}");
    assert!(
        via.contains("received=127.0.0.1"),
        "Via {via} (RFC 3581 §4)"
    );
    assert!(
        recv(&other, Duration::from_millis(500)).is_none(),
        "answer also sent to sent-by"
    );
}

#[test]
fn without_rport_the_response_goes_to_the_sent_by_port() {
    let dir = TempDir::new("sent-by");
    let server = plain_server(&dir);
    let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let other = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let via_addr = other.local_addr().expect("addr").to_string();
    let request =
        options("sip:probe@127.0.0.1", &via_addr, "sb1", "sent-by-1").replace(";rport", "");
    sender
        .send_to(request.as_bytes(), server.sip_addr())
        .expect("send");
    let (answer, _) = recv(&other, WAIT).expect("the answer at the Via's sent-by port");
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    assert!(
        recv(&sender, Duration::from_millis(500)).is_none(),
        "answer went to the source"
    );
}

#[test]
fn retransmitted_options_is_answered_again_by_its_transaction() {
    let dir = TempDir::new("absorb");
    let server = plain_server(&dir);
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let addr = sock.local_addr().expect("addr").to_string();
    let request = options("sip:probe@127.0.0.1", &addr, "ab1", "absorb-1");
    sock.send_to(request.as_bytes(), server.sip_addr())
        .expect("send");
    let (first, _) = recv(&sock, WAIT).expect("first answer");
    sock.send_to(request.as_bytes(), server.sip_addr())
        .expect("resend");
    let (second, _) = recv(&sock, WAIT).expect("answer to the retransmission");
    // §17.2.2: the server transaction resends its last response, byte for byte (same To
    // tag: the request was not handled twice).
    assert_eq!(first.text, second.text);
    assert!(
        recv(&sock, Duration::from_millis(500)).is_none(),
        "more answers than requests"
    );
    assert!(
        server.log().contains("absorb") || server.log().contains("retransmi"),
        "the log does not mention the absorbed retransmission"
    );
}

/// A TCP listener and a UDP socket on one loopback port.
fn tcp_and_udp_on_one_port() -> (TcpListener, UdpSocket) {
    for _ in 0..50 {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind TCP");
        let port = tcp.local_addr().expect("addr").port();
        if let Ok(udp) = UdpSocket::bind((Ipv4Addr::LOCALHOST, port)) {
            return (tcp, udp);
        }
    }
    panic!("no port free for TCP and UDP");
}

/// A destination user long enough to make the INVITE to the initiator (whose From display
/// name carries it) larger than 1300 bytes.
fn long_destination() -> String {
    format!("d{}", "x".repeat(700))
}

fn big_invite_options(port: u16) -> ServerConfig {
    ServerConfig::reactor()
        .rule("^init$", &format!("sip:init@127.0.0.1:{port}"))
        .rule("^(d.*)$", "sip:$1@127.0.0.1:9")
}

#[test]
fn request_over_1300_bytes_goes_over_tcp() {
    let dir = TempDir::new("big-tcp");
    let (tcp, udp) = tcp_and_udp_on_one_port();
    let port = tcp.local_addr().expect("addr").port();
    let server = Server::start(&dir, &big_invite_options(port));
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("init", &long_destination(), false);
    tcp.set_nonblocking(false).expect("blocking");
    let (stream, _) = accept_within(&tcp, WAIT).expect("a TCP connection for the large INVITE");
    let mut conn = StreamConn::new(crate::support::peer::Conn::Tcp(stream));
    let invite = conn.recv_msg(WAIT).expect("INVITE over TCP");
    assert!(
        invite.text.len() > 1300,
        "INVITE is only {} bytes",
        invite.text.len()
    );
    assert_eq!(
        invite.via_transport().as_deref(),
        Some("TCP"),
        "{:?}",
        invite.header("Via")
    );
    conn.send(&response(&invite, 486, "Busy Here", "big", "", ""));
    xml.expect(486, Some("Initiator"), WAIT);
    udp.set_nonblocking(true).expect("non-blocking");
    let mut buf = [0u8; 4096];
    assert!(
        udp.recv_from(&mut buf).is_err(),
        "the large INVITE also went over UDP"
    );
}

#[test]
fn request_over_1300_bytes_falls_back_to_udp_when_tcp_is_refused() {
    let dir = TempDir::new("big-udp");
    // Only UDP on the port: the TCP connect is reset, and §18.1.1 says to retry over UDP.
    let mut peer = UdpPeer::bind(V4);
    let server = Server::start(&dir, &big_invite_options(peer.addr.port()));
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("init", &long_destination(), false);
    let Some((invite, from, _)) = peer.recv_request("INVITE", Duration::from_secs(5)) else {
        let results = xml.next(std::time::Instant::now() + Duration::from_secs(1));
        panic!("no INVITE over UDP after the TCP refusal; XML: {results:?}");
    };
    assert_eq!(invite.via_transport().as_deref(), Some("UDP"));
    peer.send(&response(&invite, 486, "Busy Here", "big", "", ""), from);
    xml.expect(486, Some("Initiator"), WAIT);
}

fn accept_within(
    listener: &TcpListener,
    timeout: Duration,
) -> Option<(std::net::TcpStream, SocketAddr)> {
    listener.set_nonblocking(true).ok()?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((s, a)) => {
                s.set_nonblocking(false).ok()?;
                return Some((s, a));
            }
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => return None,
        }
    }
}

#[test]
fn outbound_proxy_gets_the_request_with_a_loose_route() {
    let dir = TempDir::new("proxy");
    let mut proxy = UdpPeer::bind(V4);
    let opts = ServerConfig::reactor()
        .translate_all("sip:$1@127.0.0.1:9")
        .set("OutboundProxy", &format!("sip:{}", proxy.addr));
    let server = Server::start(&dir, &opts);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let (invite, from, _) = proxy
        .recv_request("INVITE", WAIT)
        .expect("INVITE at the proxy");
    assert_eq!(
        invite.request_uri(),
        Some("sip:alice@127.0.0.1:9"),
        "Request-URI unchanged"
    );
    let route = invite.header("Route").unwrap_or_default();
    assert!(
        route.contains(&proxy.addr.to_string()) && route.contains(";lr"),
        "Route: {route:?}"
    );
    proxy.send(&response(&invite, 486, "Busy Here", "px", "", ""), from);
    let (ack, _, _) = proxy.recv_request("ACK", WAIT).expect("ACK at the proxy");
    assert_eq!(ack.branch(), invite.branch());
    xml.expect(486, Some("Initiator"), WAIT);
}
