//! RFC 5923-style connection reuse: a dialog's requests go on the TCP/TLS connection its
//! far end answered or spoke on, whatever address its Contact names.

use super::*;
use crate::sip::transport::ConnId;

const FLOW: ConnId = ConnId(7);

fn received_on(c: &mut ReactorCore, now: Instant, msg: &Message, from: &str, conn: ConnId) {
    c.handle_transport_event(
        now,
        TransportEvent::Received {
            bytes: msg.to_bytes(),
            source: addr(from),
            transport: Transport::Tcp,
            local: addr(LOCAL),
            conn: Some(conn),
        },
    );
}

/// Our INVITE to `A` over TCP, answered 200 with tag `peer` on connection `FLOW`.
fn answered_over_tcp(c: &mut ReactorCore, now: Instant) {
    let invite = request("INVITE", "sip:bob@192.0.2.1;transport=tcp", "", "");
    send(c, now, 1, invite, &[dns_target(A, Transport::Tcp)]);
    let (_, sent) = one_transmit(c);
    received_on(
        c,
        now,
        &Message::response_to(&sent, 200, "OK", Some("peer")),
        A,
        FLOW,
    );
    assert!(
        matches!(events(c).as_slice(), [SipEvent::Response { source, .. }] if *source == addr(A))
    );
}

fn in_dialog(method: &str, cseq: u32) -> Message {
    // The Contact of the 2xx (port B) is where nothing would answer a new connection.
    let mut m = request(method, "sip:bob@192.0.2.2;transport=tcp", "", "");
    m.set_header("To", "<sip:bob@example.com>;tag=peer");
    m.set_header("CSeq", &format!("{cseq} {method}"));
    m
}

#[test]
fn in_dialog_requests_go_on_the_connection_the_2xx_came_on() {
    let mut c = core();
    let t0 = Instant::now();
    answered_over_tcp(&mut c, t0);
    c.handle_command(
        t0,
        SipCommand::SendAck {
            request: in_dialog("ACK", 1),
        },
    );
    let (id, _) = c.poll_resolve().unwrap();
    c.handle_resolved(t0, id, Ok(vec![dns_target(B, Transport::Tcp)]));
    let (ack, _) = one_transmit(&mut c);
    assert_eq!(
        (ack.conn, ack.kind),
        (Some(FLOW), OutboundKind::Ack),
        "the ACK goes on the flow"
    );
    assert_eq!(
        ack.target,
        Target::new(addr(B), Transport::Tcp),
        "else to B"
    );
    assert_eq!(
        keepalives(&mut c),
        [Keepalive::Add(Target::new(addr(A), Transport::Tcp))],
        "keepalives run on the connection the dialog uses"
    );
    send(
        &mut c,
        t0,
        2,
        in_dialog("BYE", 2),
        &[dns_target(B, Transport::Tcp)],
    );
    let (bye, msg) = one_transmit(&mut c);
    assert_eq!(msg.method(), Some(&Method::Bye));
    assert_eq!(bye.conn, Some(FLOW), "the BYE too");
    assert_eq!(c.counts().flows, 0, "the BYE ends the flow");
}

#[test]
fn a_request_of_the_far_end_on_another_connection_moves_the_flow() {
    let mut c = core();
    let t0 = Instant::now();
    answered_over_tcp(&mut c, t0);
    let mut notify = parse(
        "NOTIFY sip:click2call@127.0.0.1:5072;transport=tcp SIP/2.0
Via: SIP/2.0/TCP 192.0.2.2:5060;branch=z9hG4bKnotify1
Max-Forwards: 70
To: <sip:click2call@127.0.0.1>;tag=ours
From: <sip:bob@example.com>;tag=peer
Call-ID: call-1
CSeq: 1 NOTIFY
Content-Length: 0

",
    );
    received_on(&mut c, t0, &notify, B, ConnId(8));
    assert_eq!(events(&mut c).len(), 1);
    send(
        &mut c,
        t0,
        2,
        in_dialog("INFO", 2),
        &[dns_target(B, Transport::Tcp)],
    );
    assert_eq!(one_transmit(&mut c).0.conn, Some(ConnId(8)));
    // A request on a connection of a dialog nobody filed adds nothing.
    notify.set_header("Call-ID", "other-call");
    received_on(&mut c, t0, &notify, B, ConnId(9));
    assert_eq!(c.counts().flows, 1);
}

#[test]
fn a_flow_is_used_only_over_its_own_transport() {
    let mut c = core();
    let t0 = Instant::now();
    answered_over_tcp(&mut c, t0);
    send(
        &mut c,
        t0,
        2,
        in_dialog("INFO", 2),
        &[dns_target(B, Transport::Udp)],
    );
    let (out, msg) = one_transmit(&mut c);
    assert_eq!(out.conn, None);
    assert!(msg.header("Via").unwrap().starts_with("SIP/2.0/UDP"));
}

#[test]
fn a_dialog_answered_over_udp_has_no_flow() {
    let mut c = core();
    let t0 = Instant::now();
    send(
        &mut c,
        t0,
        1,
        request("INVITE", "sip:bob@192.0.2.1", "", ""),
        &[dns_target(A, Transport::Udp)],
    );
    let (_, sent) = one_transmit(&mut c);
    received(
        &mut c,
        t0,
        &Message::response_to(&sent, 200, "OK", Some("peer")),
        addr(A),
        Transport::Udp,
    );
    assert_eq!(c.counts().flows, 0);
}

#[test]
fn a_request_with_a_route_set_follows_it_not_the_flow() {
    let mut c = core();
    let t0 = Instant::now();
    answered_over_tcp(&mut c, t0);
    let mut bye = in_dialog("BYE", 2);
    bye.insert_header_front("Route", "<sip:192.0.2.2;transport=tcp;lr>");
    send(&mut c, t0, 2, bye, &[dns_target(B, Transport::Tcp)]);
    assert_eq!(one_transmit(&mut c).0.conn, None);
}
