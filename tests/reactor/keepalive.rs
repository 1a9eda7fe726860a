//! Black-box keepalives (RFC 5626 §4.4.1): a CRLFCRLF ping to the server's SIP port, over
//! UDP and over TCP, gets a CRLF pong; and with `KeepAlives = 1` the server sends CRLFCRLF
//! every 30 s to the UDP target of a dialog it has set up (the original's interval).

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use crate::support::{
    WAIT, peer::StreamConn, peer::UdpPeer, server::Server, server::ServerConfig, sip::Msg,
    sip::SDP_ANSWER, sip::options, sip::response, tmp::TempDir, xml::XmlClient,
};

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn plain_server(dir: &TempDir) -> Server {
    Server::start(
        dir,
        &ServerConfig::reactor().translate_all("sip:$1@127.0.0.1:9"),
    )
}

#[test]
fn udp_ping_gets_a_pong() {
    let dir = TempDir::new("udp-ping");
    let server = plain_server(&dir);
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    sock.set_read_timeout(Some(WAIT)).expect("timeout");
    sock.send_to(b"\r\n\r\n", server.sip_addr())
        .expect("send ping");
    let mut buf = [0u8; 64];
    let (n, from) = sock.recv_from(&mut buf).expect("a pong");
    assert_eq!(&buf[..n], b"\r\n", "pong is one CRLF");
    assert_eq!(from, server.sip_addr());

    // The socket still serves SIP afterwards.
    let addr = sock.local_addr().expect("addr").to_string();
    let probe = options("sip:probe@127.0.0.1", &addr, "ka1", "udp-ping-1");
    sock.send_to(probe.as_bytes(), server.sip_addr())
        .expect("send OPTIONS");
    let mut big = vec![0u8; 65536];
    let (n, _) = sock.recv_from(&mut big).expect("OPTIONS answer");
    let answer = Msg::new(&big[..n]);
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
}

#[test]
fn tcp_ping_gets_a_pong_and_the_connection_keeps_serving() {
    let dir = TempDir::new("tcp-ping");
    let server = plain_server(&dir);
    let mut conn = StreamConn::connect(server.sip_addr());
    conn.send("\r\n\r\n");
    let pong = conn.recv_bytes(WAIT).expect("a pong on the connection");
    assert_eq!(pong, b"\r\n", "pong is one CRLF");

    let local = conn.local_addr();
    let probe = options(
        "sip:probe@127.0.0.1",
        &local.to_string(),
        "ka2",
        "tcp-ping-1",
    )
    .replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    conn.send(&probe);
    let answer = conn
        .recv_msg(WAIT)
        .expect("OPTIONS answer on the same connection");
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
}

/// Answers what the server sends in an anchored call: 200 (with SDP) to the initiator's
/// INVITE, 180 to the destination's; everything else is ignored.
fn play_phones(peer: &mut UdpPeer, until: Instant) -> Vec<Msg> {
    let mut seen = Vec::new();
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        let Some((msg, from, _)) = peer.recv_msg(left) else {
            break;
        };
        if msg.method() == Some("INVITE") {
            let uri = msg.request_uri().unwrap_or_default().to_string();
            let contact = format!("Contact: <{uri}>\r\n");
            let reply = if uri.contains("initiator") {
                let extra = format!("{contact}Content-Type: application/sdp\r\n");
                response(&msg, 200, "OK", "i1", &extra, SDP_ANSWER)
            } else {
                response(&msg, 180, "Ringing", "d1", &contact, "")
            };
            peer.send(&reply, from);
        }
        seen.push(msg);
    }
    seen
}

#[test]
fn keepalive_crlfs_reach_the_udp_target_of_a_dialog() {
    let dir = TempDir::new("keepalive");
    let mut peer = UdpPeer::bind(V4);
    let opts = ServerConfig::reactor()
        .translate_all(&format!("sip:$1@{}", peer.addr))
        .set("KeepAlives", "1");
    let server = Server::start(&dir, &opts);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("initiator", "destination", true);

    // The initiator answers and is ACKed; the destination rings and keeps ringing.
    let set_up = play_phones(&mut peer, Instant::now() + Duration::from_secs(3));
    let acked = set_up.iter().any(|m| {
        m.method() == Some("ACK") && m.request_uri().is_some_and(|u| u.contains("initiator"))
    });
    assert!(acked, "the initiator's 200 was not ACKed: {set_up:#?}");
    xml.expect(200, Some("Initiator"), WAIT);
    let dialog_up = Instant::now();

    // The first keepalive is due 30 s after the dialog started.
    let deadline = dialog_up + Duration::from_secs(40);
    while peer.keepalives.is_empty() && Instant::now() < deadline {
        play_phones(
            &mut peer,
            (Instant::now() + Duration::from_secs(1)).min(deadline),
        );
    }
    let (from, at, bytes) = peer
        .keepalives
        .first()
        .cloned()
        .expect("no CRLFCRLF keepalive within 40 s of the dialog's start");
    assert_eq!(bytes, b"\r\n\r\n", "a keepalive ping is CRLFCRLF");
    assert_eq!(from, server.sip_addr(), "keepalive from the SIP port");
    let after = at - dialog_up;
    assert!(
        after >= Duration::from_secs(20),
        "first keepalive after only {after:?} (the interval is 30 s)"
    );
    assert!(
        !xml.seen.iter().any(|p| p.is_final()),
        "call ended: {:?}",
        xml.seen
    );
}

/// A BYE from the peer ends the dialog, and with it the keepalives: none arrives in the
/// 40 s after it (the interval is 30 s), while the positive test above sees one.
#[test]
fn keepalives_stop_when_the_dialog_ends() {
    let dir = TempDir::new("keepalive-bye");
    let mut peer = UdpPeer::bind(V4);
    let opts = ServerConfig::reactor()
        .translate_all(&format!("sip:$1@{}", peer.addr))
        .set("KeepAlives", "1");
    let server = Server::start(&dir, &opts);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("initiator", "destination", true);
    let set_up = play_phones(&mut peer, Instant::now() + Duration::from_secs(3));
    let invite = set_up
        .iter()
        .find(|m| {
            m.method() == Some("INVITE") && m.request_uri().is_some_and(|u| u.contains("initiator"))
        })
        .expect("INVITE to the initiator");
    xml.expect(200, Some("Initiator"), WAIT);

    // The initiator hangs up (RFC 3261 §15.1.1): its To is the INVITE's From, and so on.
    let contact = invite.header("Contact").unwrap_or_default();
    let target = contact
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or_default();
    let bye = format!(
        "BYE {target} SIP/2.0\r\nVia: SIP/2.0/UDP {addr};branch=z9hG4bKbye1;rport\r\n\
         Max-Forwards: 70\r\nFrom: {to};tag=i1\r\nTo: {from}\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
        addr = peer.addr,
        to = invite.header("To").unwrap_or_default(),
        from = invite.header("From").unwrap_or_default(),
        call_id = invite.header("Call-ID").unwrap_or_default(),
    );
    peer.send(&bye, server.sip_addr());
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut bye_answered = false;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Some((msg, from, _)) = peer.recv_msg(left) else {
            break;
        };
        if msg.status().is_some() && msg.cseq_method() == Some("BYE") {
            assert_eq!(msg.status(), Some(200), "{}", msg.text);
            bye_answered = true;
        } else if matches!(msg.method(), Some("BYE" | "CANCEL")) {
            // The destination leg is torn down too.
            peer.send(&response(&msg, 200, "OK", "", "", ""), from);
        } else if msg.method() == Some("INVITE") {
            peer.send(
                &response(&msg, 487, "Request Terminated", "d1", "", ""),
                from,
            );
        }
    }
    assert!(bye_answered, "the BYE was not answered 200");
    assert!(
        peer.keepalives.is_empty(),
        "keepalives after the dialog ended: {:?}",
        peer.keepalives
            .iter()
            .map(|(_, at, _)| *at)
            .collect::<Vec<_>>()
    );
}

/// `KeepAlives = 0`: the same dialog gets no keepalive in 40 s (pongs are still sent,
/// see the ping tests, which run with the default).
#[test]
fn no_keepalives_when_disabled() {
    let dir = TempDir::new("keepalive-off");
    let mut peer = UdpPeer::bind(V4);
    let opts = ServerConfig::reactor()
        .translate_all(&format!("sip:$1@{}", peer.addr))
        .set("KeepAlives", "0");
    let server = Server::start(&dir, &opts);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("initiator", "destination", true);
    play_phones(&mut peer, Instant::now() + Duration::from_secs(3));
    xml.expect(200, Some("Initiator"), WAIT);
    play_phones(&mut peer, Instant::now() + Duration::from_secs(40));
    assert!(
        peer.keepalives.is_empty(),
        "keepalives sent with KeepAlives = 0: {}",
        peer.keepalives.len()
    );
    assert!(
        !xml.seen.iter().any(|p| p.is_final()),
        "call ended: {:?}",
        xml.seen
    );
}
