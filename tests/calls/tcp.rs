//! Click-to-calls to phones reached over TCP (translated URIs with `;transport=tcp`),
//! black box: the same sequences as over UDP, in-dialog requests both ways on the
//! connections (SIPp `-t t1`: one connection per phone).

use std::net::{IpAddr, Ipv4Addr};

use crate::support::{
    WAIT, lab::Lab, lab::PhoneRun, lab::events, peer::StreamConn, peer::StreamPeer,
    ports::unbound_port, server::Server, server::ServerConfig, sip::Msg, sip::SDP_ANSWER,
    sip::response, tmp::TempDir, xml::XmlClient,
};

#[test]
fn refer_success_over_tcp() {
    let lab = Lab::start("tcp-refer", ServerConfig::calls());
    let (got, _) =
        lab.transfer(lab.transferring_phone(PhoneRun::Tcp, "initiator_refer_ok.xml", &[]));
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
}

#[test]
fn anchored_call_over_tcp_relays_sdp_and_mirrors_bye() {
    let lab = Lab::start("tcp-anchor", ServerConfig::calls());
    let (initiator, destination) = lab.phones(
        PhoneRun::Tcp,
        "initiator_anchor.xml",
        "destination_anchor.xml",
    );
    let (got, initiator, destination) = lab.call_phones(initiator, destination, true);
    assert_eq!(got, crate::support::lab::connected_both_legs());
    // RFC 3261 §8.1.1.8: our Contact names the transport the phone reached us over, so
    // its in-dialog requests come back on TCP (not to the UDP port as before).
    let ours = format!(
        "Contact: <sip:click2call@127.0.0.1:{};transport=tcp>",
        lab.server.sip_port
    );
    let init = initiator.messages();
    assert!(init.contains(&ours), "{init}");
    let dest = destination.messages();
    let ours_dest = ours.replace("click2call", "100");
    assert!(dest.contains(&ours_dest), "{dest}");
    let udp_form = format!("@127.0.0.1:{}>", lab.server.sip_port);
    assert!(
        !init.contains(&udp_form) && !dest.contains(&udp_form),
        "no Contact of ours without the transport"
    );
}

/// The initiator of a REFER-mode call over TCP, scripted on the connection the server
/// opened to it; its Contact names a port where nobody listens, and after the first
/// connection its listening socket is closed: no new connection reaches it.
struct StreamInitiator {
    _dir: TempDir,
    server: Server,
    xml: XmlClient,
    conn: StreamConn,
    invite: Msg,
    nobody: u16,
}

impl StreamInitiator {
    /// The call placed, answered 200 on the INVITE's connection, ACKed there.
    fn answered(tag: &str) -> StreamInitiator {
        let dir = TempDir::new(tag);
        let peer = StreamPeer::tcp(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let uri = format!("sip:$1@127.0.0.1:{};transport=tcp", peer.addr.port());
        let server = Server::start(&dir, &ServerConfig::reactor().translate_all(&uri));
        let mut xml = XmlClient::connect(server.xml_port);
        xml.send_request("alice", "bob", false);
        let mut conn = peer.accept(WAIT).expect("the INVITE's connection");
        drop(peer);
        let invite = conn.recv_msg(WAIT).expect("INVITE");
        assert_eq!(invite.method(), Some("INVITE"), "{}", invite.text);
        let nobody = unbound_port();
        let contact = format!(
            "Contact: <sip:alice@127.0.0.1:{nobody};transport=tcp>\r\nContent-Type: application/sdp\r\n"
        );
        conn.send(&response(&invite, 200, "OK", "a1", &contact, SDP_ANSWER));
        let mut phone = StreamInitiator {
            _dir: dir,
            server,
            xml,
            conn,
            invite,
            nobody,
        };
        phone.next("ACK");
        phone
    }

    /// The next request on the INVITE's connection.
    fn next(&mut self, what: &str) -> Msg {
        next_on(&mut self.conn, what)
    }

    /// The final NOTIFY of the transfer (200 OK), sent on `conn` (else the INVITE's
    /// connection), and its 200 read there (RFC 3261 §18.2.2: the response goes back on
    /// the request's connection).
    fn final_notify(&mut self, refer: &Msg, conn: Option<&mut StreamConn>) {
        let conn = match conn {
            Some(c) => c,
            None => &mut self.conn,
        };
        let ours = refer.header("Contact").expect("our Contact");
        let target = ours.trim_start_matches('<').split('>').next().unwrap();
        let local = conn.local_addr();
        let sipfrag = "SIP/2.0 200 OK\r\n";
        conn.send(&format!(
            "NOTIFY {target} SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bKreuse1\r\n\
             Max-Forwards: 70\r\nFrom: {};tag=a1\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 1 NOTIFY\r\n\
             Contact: <sip:alice@127.0.0.1:{};transport=tcp>\r\nEvent: refer\r\n\
             Subscription-State: terminated;reason=noresource\r\n\
             Content-Type: message/sipfrag\r\nContent-Length: {}\r\n\r\n{sipfrag}",
            self.invite.header("To").unwrap(),
            self.invite.header("From").unwrap(),
            self.invite.header("Call-ID").unwrap(),
            self.nobody,
            sipfrag.len()
        ));
        let ok = conn
            .recv_msg(WAIT)
            .expect("the NOTIFY's answer on its connection");
        assert_eq!(ok.status(), Some(200), "{}", ok.text);
    }
}

fn next_on(conn: &mut StreamConn, what: &str) -> Msg {
    let m = conn
        .recv_msg(WAIT)
        .unwrap_or_else(|| panic!("{what} on the connection"));
    assert_eq!(m.method(), Some(what), "{}", m.text);
    m
}

/// RFC 5923-style reuse: a phone that answered on the connection we opened gets the
/// dialog's requests on it (ACK, REFER, BYE), though its Contact names a port where
/// nobody listens and it accepts no connection any more.
#[test]
fn in_dialog_requests_go_on_the_connection_the_initiator_answered_on() {
    let mut phone = StreamInitiator::answered("tcp-reuse");
    let refer = phone.next("REFER");
    phone
        .conn
        .send(&response(&refer, 202, "Accepted", "", "", ""));
    phone.final_notify(&refer, None);
    let bye = phone.next("BYE");
    phone.conn.send(&response(&bye, 200, "OK", "", "", ""));
    phone.xml.expect(200, Some("Destination"), WAIT);
}

/// A phone that sends a request of the dialog on a connection of its own (here its final
/// NOTIFY) and closes the one it answered on gets the dialog's next requests (the BYE)
/// on that connection: the one it last spoke on.
#[test]
fn in_dialog_requests_follow_the_connection_the_phone_last_sent_on() {
    let mut phone = StreamInitiator::answered("tcp-reuse-moved");
    let refer = phone.next("REFER");
    phone
        .conn
        .send(&response(&refer, 202, "Accepted", "", "", ""));
    let mut own = StreamConn::connect(phone.server.sip_addr());
    phone.final_notify(&refer, Some(&mut own));
    // The connection it answered on is closed.
    phone.conn.shutdown();
    let bye = next_on(&mut own, "BYE");
    own.send(&response(&bye, 200, "OK", "", "", ""));
    phone.xml.expect(200, Some("Destination"), WAIT);
}
