//! A phone behind NAT (its Contact a private address), black box: with `FixNatContact`
//! the server's in-dialog requests go to the address its INVITE reached.

use std::net::{IpAddr, Ipv4Addr};

use crate::support::{
    WAIT, lab::Lab, lab::events, peer::UdpPeer, server::Server, server::ServerConfig, sip::Msg,
    sip::SDP_ANSWER, sip::response, tmp::TempDir, xml::XmlClient,
};

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[test]
fn fix_nat_contact_reaches_a_phone_whose_contact_is_private() {
    let lab = Lab::start("nat", ServerConfig::calls().set("FixNatContact", "1"));
    let (got, initiator) = lab.refer_call("initiator_refer_nat.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    // The REFER and the BYE reached the phone, not 10.0.0.5.
    let trace = initiator.messages();
    let want = format!(
        "REFER sip:100@127.0.0.1:{};transport=UDP SIP/2.0",
        initiator.port
    );
    assert!(trace.contains(&want), "{want} not in\n{trace}");
}

/// `FixNatContact` follows the source of the phone's answer, not the address its INVITE
/// went to: a NAT that answers from another port (here a second socket sends the 200) is
/// reached there — the ACK, the REFER and the BYE all arrive at that socket.
#[test]
fn fix_nat_contact_sends_the_dialog_to_the_source_of_the_answer() {
    let dir = TempDir::new("nat-source");
    let asked = UdpPeer::bind(V4);
    let mut answering = UdpPeer::bind(V4);
    let uri = format!("sip:$1@127.0.0.1:{}", asked.addr.port());
    let cfg = ServerConfig::reactor()
        .translate_all(&uri)
        .set("FixNatContact", "1");
    let server = Server::start(&dir, &cfg);
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_request("alice", "bob", false);
    let (invite, from, _) = asked
        .recv_raw(WAIT)
        .map(|(b, f, t)| (Msg::new(&b), f, t))
        .expect("INVITE");
    assert_eq!(invite.method(), Some("INVITE"), "{}", invite.text);
    let contact = "Contact: <sip:alice@10.0.0.5:5060>\r\nContent-Type: application/sdp\r\n";
    answering.send(
        &response(&invite, 200, "OK", "a1", contact, SDP_ANSWER),
        from,
    );
    let ack = next(&mut answering, "ACK");
    let want = format!("ACK sip:alice@127.0.0.1:{} SIP/2.0", answering.addr.port());
    assert_eq!(ack.start_line(), want);
    let refer = next(&mut answering, "REFER");
    answering.send(&response(&refer, 202, "Accepted", "", "", ""), from);
    let target = format!("sip:click2call@127.0.0.1:{}", server.sip_port);
    let sipfrag = "SIP/2.0 200 OK\r\n";
    answering.send(
        &format!(
            "NOTIFY {target} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKnat1\r\n\
             Max-Forwards: 70\r\nFrom: {};tag=a1\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 1 NOTIFY\r\n\
             Contact: <sip:alice@10.0.0.5:5060>\r\nEvent: refer\r\n\
             Subscription-State: terminated;reason=noresource\r\n\
             Content-Type: message/sipfrag\r\nContent-Length: {}\r\n\r\n{sipfrag}",
            answering.addr,
            invite.header("To").unwrap(),
            invite.header("From").unwrap(),
            invite.header("Call-ID").unwrap(),
            sipfrag.len()
        ),
        from,
    );
    let bye = next(&mut answering, "BYE");
    answering.send(&response(&bye, 200, "OK", "", "", ""), from);
    xml.expect(200, Some("Destination"), WAIT);
}

fn next(peer: &mut UdpPeer, what: &str) -> Msg {
    let (m, _, _) = peer
        .recv_request(what, WAIT)
        .unwrap_or_else(|| panic!("{what} at the socket the 200 came from"));
    m
}
