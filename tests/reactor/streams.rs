//! Black-box: the INVITE to the initiator goes over TCP and TLS when the translated URI
//! asks for it (RFC 3261 §18.1.1, §26.2.2 for `sips:`), with the server certificate
//! checked against `root_cert_*.pem` of the working directory and the host name; and over
//! IPv6 to `[::1]`, with the server bound to all interfaces or to `::1`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use crate::support::{
    WAIT, peer::StreamConn, peer::StreamPeer, peer::UdpPeer, server::Server, server::ServerConfig,
    sip::response, tls::self_signed_cert, tmp::TempDir, xml::XmlClient,
};

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// Reads the INVITE on `conn`, checks its Via transport, answers 486 on the same
/// connection and expects the ACK there (§18.2.2, §17.1.1.3), then the XML 486.
fn answer_busy_on(conn: &mut StreamConn, want_transport: &str, xml: &mut XmlClient) {
    let invite = conn.recv_msg(WAIT).expect("INVITE over the stream");
    assert_eq!(invite.method(), Some("INVITE"), "{}", invite.text);
    assert_eq!(
        invite.via_transport().as_deref(),
        Some(want_transport),
        "Via: {:?}",
        invite.header("Via")
    );
    conn.send(&response(&invite, 486, "Busy Here", "b1", "", ""));
    let ack = conn.recv_msg(WAIT).expect("ACK on the same connection");
    assert_eq!(ack.method(), Some("ACK"), "{}", ack.text);
    assert_eq!(ack.branch(), invite.branch());
    xml.expect(486, Some("Initiator"), WAIT);
}

#[test]
fn invite_over_tcp() {
    let dir = TempDir::new("tcp");
    let peer = StreamPeer::tcp(V4);
    let uri = format!("sip:$1@127.0.0.1:{};transport=tcp", peer.addr.port());
    let server = Server::start(&dir, &ServerConfig::reactor().translate_all(&uri));
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let mut conn = peer.accept(WAIT).expect("a TCP connection from the server");
    answer_busy_on(&mut conn, "TCP", &mut xml);
}

fn tls_server(dir: &TempDir, uri_of_port: impl Fn(u16) -> String) -> (StreamPeer, Server) {
    let (cert, key) = self_signed_cert(dir.path());
    let peer = StreamPeer::tls(V4, &cert, &key);
    let mut opts = ServerConfig::reactor().translate_all(&uri_of_port(peer.addr.port()));
    // The server trusts what `root_cert_*.pem` in its working directory holds.
    opts.files.push((
        "root_cert_test.pem".into(),
        std::fs::read(&cert).expect("read the certificate"),
    ));
    let server = Server::start(dir, &opts);
    (peer, server)
}

#[test]
fn invite_over_tls_to_a_sips_host_name() {
    let dir = TempDir::new("tls-name");
    let (peer, server) = tls_server(&dir, |port| format!("sips:$1@localhost:{port}"));
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let mut conn = peer.accept(WAIT).expect("a TLS connection from the server");
    answer_busy_on(&mut conn, "TLS", &mut xml);
}

#[test]
fn invite_over_tls_to_an_ip_address() {
    let dir = TempDir::new("tls-ip");
    let (peer, server) = tls_server(&dir, |port| {
        format!("sip:$1@127.0.0.1:{port};transport=tls")
    });
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let mut conn = peer.accept(WAIT).expect("a TLS connection from the server");
    answer_busy_on(&mut conn, "TLS", &mut xml);
}

#[test]
fn untrusted_tls_certificate_fails_the_leg_promptly() {
    let dir = TempDir::new("tls-untrusted");
    let (cert, key) = self_signed_cert(dir.path());
    let peer = StreamPeer::tls(V4, &cert, &key);
    // No root_cert_*.pem: the self-signed certificate is not trusted.
    let uri = format!("sips:$1@localhost:{}", peer.addr.port());
    let server = Server::start(&dir, &ServerConfig::reactor().translate_all(&uri));
    let mut xml = XmlClient::connect(server.xml_port);
    let asked = Instant::now();
    xml.send_request("alice", "bob", false);
    // The handshake fails on the server's side; the peer sees an aborted handshake.
    assert!(peer.accept_any(WAIT), "the server did not even connect");
    let result = xml.expect(503, Some("Initiator"), WAIT);
    assert!(
        result.at - asked < Duration::from_secs(10),
        "503 only after {:?}",
        result.at - asked
    );
    assert!(
        server.log().contains("certificate not accepted"),
        "the log says why the handshake failed"
    );
}

fn udp_over_ipv6(ip_address: &str) {
    let dir = TempDir::new("v6");
    let mut peer = UdpPeer::bind(V6);
    let uri = format!("sip:$1@[::1]:{}", peer.addr.port());
    let opts = ServerConfig {
        ip_address: ip_address.into(),
        ..ServerConfig::reactor().translate_all(&uri)
    };
    let server = Server::start(&dir, &opts);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let (invite, from, _) = peer.recv_request("INVITE", WAIT).expect("INVITE over IPv6");
    assert!(from.is_ipv6(), "from {from}");
    assert_eq!(from.port(), server.sip_port, "sent from the SIP port");
    assert_eq!(
        invite.via_sent_by(),
        Some(format!("[::1]:{}", server.sip_port).as_str()),
        "Via: {:?}",
        invite.header("Via")
    );
    assert_eq!(invite.via_transport().as_deref(), Some("UDP"));
    peer.send(&response(&invite, 486, "Busy Here", "b6", "", ""), from);
    let (ack, _, _) = peer.recv_request("ACK", WAIT).expect("ACK over IPv6");
    assert_eq!(ack.branch(), invite.branch());
    xml.expect(486, Some("Initiator"), WAIT);
}

#[test]
fn invite_over_ipv6_udp_with_blank_ip_address() {
    udp_over_ipv6("");
}

#[test]
fn invite_over_ipv6_udp_bound_to_v6_loopback() {
    udp_over_ipv6("::1");
}

#[test]
fn invite_over_ipv6_tcp_with_blank_ip_address() {
    let dir = TempDir::new("v6-tcp");
    let peer = StreamPeer::tcp(V6);
    let uri = format!("sip:$1@[::1]:{};transport=tcp", peer.addr.port());
    let opts = ServerConfig {
        ip_address: String::new(),
        ..ServerConfig::reactor().translate_all(&uri)
    };
    let server = Server::start(&dir, &opts);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let mut conn = peer.accept(WAIT).expect("a TCP connection over IPv6");
    assert!(conn.peer.is_ipv6());
    answer_busy_on(&mut conn, "TCP", &mut xml);
}

#[test]
fn invite_over_tls_over_ipv6() {
    let dir = TempDir::new("tls-v6");
    let (cert, key) = self_signed_cert(dir.path());
    let peer = StreamPeer::tls(V6, &cert, &key);
    let mut opts = ServerConfig {
        ip_address: String::new(),
        ..ServerConfig::reactor()
            .translate_all(&format!("sip:$1@[::1]:{};transport=tls", peer.addr.port()))
    };
    opts.files.push((
        "root_cert_test.pem".into(),
        std::fs::read(&cert).expect("read the certificate"),
    ));
    let server = Server::start(&dir, &opts);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let mut conn = peer.accept(WAIT).expect("a TLS connection over IPv6");
    assert!(conn.peer.is_ipv6());
    answer_busy_on(&mut conn, "TLS", &mut xml);
}

/// In-dialog requests reuse the connection the dialog was set up on: after the 200 to the
/// INVITE over TCP, the ACK and the REFER of REFER mode come on that same connection and
/// no second connection is opened.
#[test]
fn dialog_requests_reuse_the_tcp_connection() {
    let dir = TempDir::new("tcp-reuse");
    let peer = StreamPeer::tcp(V4);
    let uri = format!("sip:$1@127.0.0.1:{};transport=tcp", peer.addr.port());
    let server = Server::start(&dir, &ServerConfig::reactor().translate_all(&uri));
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("initiator", "destination", false);
    let mut conn = peer.accept(WAIT).expect("a TCP connection from the server");
    let invite = conn.recv_msg(WAIT).expect("INVITE");
    let extra = format!(
        "Contact: <sip:initiator@{};transport=tcp>\r\nContent-Type: application/sdp\r\n",
        peer.addr
    );
    conn.send(&response(
        &invite,
        200,
        "OK",
        "i1",
        &extra,
        crate::support::sip::SDP_ANSWER,
    ));
    let ack = conn.recv_msg(WAIT).expect("ACK on the same connection");
    assert_eq!(ack.method(), Some("ACK"), "{}", ack.text);
    let refer = conn.recv_msg(WAIT).expect("REFER on the same connection");
    assert_eq!(refer.method(), Some("REFER"), "{}", refer.text);
    assert_eq!(refer.via_transport().as_deref(), Some("TCP"));
    assert!(
        peer.accept(Duration::from_secs(1)).is_none(),
        "a second connection was opened for the dialog"
    );
    conn.send(&response(&refer, 202, "Accepted", "", "", ""));
    xml.expect(200, Some("Initiator"), WAIT);
}

/// The server's own TLS listener (TLSPort, with `domain_cert_<TLSDomainName>.pem` and
/// `domain_key_<TLSDomainName>.pem` in its working directory) answers an OPTIONS over TLS,
/// while a client that connected and never starts its handshake holds nothing up.
#[test]
fn tls_listener_answers_while_a_handshake_stalls() {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};

    let dir = TempDir::new("tls-in");
    let (cert, key) = self_signed_cert(dir.path());
    let mut opts = ServerConfig::reactor().translate_all("sip:$1@127.0.0.1:9");
    opts.tls_domain = Some("localhost".into());
    opts.files.push((
        "domain_cert_localhost.pem".into(),
        std::fs::read(&cert).expect("cert"),
    ));
    opts.files.push((
        "domain_key_localhost.pem".into(),
        std::fs::read(&key).expect("key"),
    ));
    let server = Server::start(&dir, &opts);
    let tls_addr = std::net::SocketAddr::from((Ipv4Addr::LOCALHOST, server.tls_port));

    // Connected, silent: a handshake that never begins.
    let _stalled = std::net::TcpStream::connect(tls_addr).expect("connect to the TLS port");

    let mut builder = SslConnector::builder(SslMethod::tls_client()).expect("connector");
    builder
        .set_ca_file(&cert)
        .expect("trust the test certificate");
    builder.set_verify(SslVerifyMode::PEER);
    let connector = builder.build();
    let tcp = std::net::TcpStream::connect(tls_addr).expect("connect to the TLS port");
    tcp.set_read_timeout(Some(WAIT)).expect("timeout");
    let tls = connector
        .connect("localhost", tcp)
        .expect("TLS handshake with the server (certificate for localhost)");
    let mut conn = StreamConn::new(crate::support::peer::Conn::Tls(Box::new(tls)));
    let local = conn.local_addr().to_string();
    conn.send(
        &crate::support::sip::options("sips:probe@localhost", &local, "tls1", "tls-in-1")
            .replace("SIP/2.0/UDP", "SIP/2.0/TLS"),
    );
    let answer = conn.recv_msg(WAIT).expect("OPTIONS answered over TLS");
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    assert!(
        server
            .log()
            .contains(&format!("TLS 127.0.0.1:{}", server.tls_port))
    );
}

/// RFC 3261 §8.1.1.8: the Contact of an INVITE sent over TLS names our TLS listener: a
/// `sips:` URI for a SIPS Request-URI, `;transport=tls` for a `sip:` one, so the phone's
/// BYE and NOTIFY come back where something listens for TLS.
#[test]
fn contact_over_tls_names_the_tls_listener() {
    for (target, want) in [
        (
            "sips:$1@localhost:{port}",
            "<sips:click2call@127.0.0.1:{tls}>",
        ),
        (
            "sip:$1@127.0.0.1:{port};transport=tls",
            "<sip:click2call@127.0.0.1:{tls};transport=tls>",
        ),
    ] {
        let dir = TempDir::new("tls-contact");
        let (cert, key) = self_signed_cert(dir.path());
        let peer = StreamPeer::tls(V4, &cert, &key);
        let uri = target.replace("{port}", &peer.addr.port().to_string());
        let mut opts = ServerConfig::reactor().translate_all(&uri);
        let pem = std::fs::read(&cert).expect("read the certificate");
        opts.tls_domain = Some("localhost".into());
        opts.files.push(("root_cert_test.pem".into(), pem.clone()));
        opts.files.push(("domain_cert_localhost.pem".into(), pem));
        opts.files.push((
            "domain_key_localhost.pem".into(),
            std::fs::read(&key).expect("read the key"),
        ));
        let server = Server::start(&dir, &opts);
        let mut xml = XmlClient::connect(server.xml_port);
        xml.send_request("alice", "bob", false);
        let mut conn = peer.accept(WAIT).expect("a TLS connection from the server");
        let invite = conn.recv_msg(WAIT).expect("INVITE over TLS");
        let want = want.replace("{tls}", &server.tls_port.to_string());
        assert_eq!(invite.header("Contact"), Some(want.as_str()), "{target}");
        assert_ne!(server.tls_port, server.sip_port);
        conn.send(&response(&invite, 486, "Busy Here", "b1", "", ""));
        xml.expect(486, Some("Initiator"), WAIT);
    }
}
