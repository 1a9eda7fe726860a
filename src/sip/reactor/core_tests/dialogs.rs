//! Our 2xx resends (RFC 3261 §13.3.1.4), the ACK of a 2xx and the keepalive targets of
//! dialogs, and the 400 for what cannot be parsed.

use super::*;

/// An INVITE from a phone over UDP, as the transport delivers it.
fn peer_invite() -> Message {
    parse(
        "INVITE sip:click2call@127.0.0.1:5072 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKpeer1
Max-Forwards: 70
To: <sip:click2call@127.0.0.1>
From: <sip:alice@192.0.2.1>;tag=peer
Call-ID: peer-call
CSeq: 5 INVITE
Contact: <sip:alice@192.0.2.1:5060>
Content-Length: 0

",
    )
}

/// Receive the peer's INVITE and answer it with a 200; the 200's first send.
fn answer_invite_with_200(c: &mut ReactorCore, now: Instant) -> (ServerTxId, Outbound) {
    let invite = peer_invite();
    received(c, now, &invite, addr(A), Transport::Udp);
    let tx = match events(c).as_slice() {
        [SipEvent::Request { tx, .. }] => *tx,
        other => panic!("expected the INVITE, got {other:?}"),
    };
    let response = Message::response_to(&invite, 200, "OK", Some("ours"));
    c.handle_command(now, SipCommand::Respond { tx, response });
    let (out, msg) = one_transmit(c);
    assert_eq!(msg.status(), Some(200));
    (tx, out)
}

fn peer_ack() -> Message {
    parse(
        "ACK sip:click2call@127.0.0.1:5072 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKpeer2
Max-Forwards: 70
To: <sip:click2call@127.0.0.1>;tag=ours
From: <sip:alice@192.0.2.1>;tag=peer
Call-ID: peer-call
CSeq: 5 ACK
Content-Length: 0

",
    )
}

#[test]
fn a_2xx_is_resent_at_t1_doubling_to_t2_until_its_ack() {
    let mut c = core();
    let t0 = Instant::now();
    let (_, first) = answer_invite_with_200(&mut c, t0);
    let sent = run_until(&mut c, t0, t0 + ms(20_000));
    // RFC 3261 §13.3.1.4: T1, 2·T1, 4·T1, then T2 between sends.
    let at: Vec<u64> = sent.iter().map(|(at, _)| at.as_millis() as u64).collect();
    assert_eq!(at, [500, 1500, 3500, 7500, 11500, 15500, 19500]);
    for (_, o) in &sent {
        assert_eq!(o.kind, OutboundKind::Resent2xx);
        assert_eq!(o.bytes, first.bytes, "the same 2xx");
        assert_eq!(o.target, first.target);
    }
    received(
        &mut c,
        t0 + ms(20_000),
        &peer_ack(),
        addr(A),
        Transport::Udp,
    );
    assert!(
        matches!(events(&mut c).as_slice(), [SipEvent::Request { request, .. }] if request.method() == Some(&Method::Ack)),
        "the ACK goes up to the dialog"
    );
    assert!(
        run_until(&mut c, t0, t0 + ms(40_000)).is_empty(),
        "no resend after the ACK"
    );
}

#[test]
fn a_2xx_without_ack_is_given_up_after_64_t1() {
    let mut c = core();
    let t0 = Instant::now();
    answer_invite_with_200(&mut c, t0);
    let sent = run_until(&mut c, t0, t0 + ms(120_000));
    let at: Vec<u64> = sent.iter().map(|(at, _)| at.as_millis() as u64).collect();
    assert_eq!(
        at,
        [
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ],
        "§13.3.1.4: resends end 64·T1 = 32 s after the first send"
    );
    assert_eq!(c.poll_timeout(), None, "nothing left to wait for");
}

#[test]
fn an_ack_for_a_2xx_follows_the_route_and_keeps_its_target_alive_until_bye() {
    let mut c = core();
    let now = Instant::now();
    let ack = request(
        "ACK",
        "sip:bob@192.0.2.9",
        "Route: <sip:proxy.example.net;lr>\n",
        "",
    );
    c.handle_command(
        now,
        SipCommand::SendAck {
            request: ack.clone(),
        },
    );
    let (id, lookup) = c.poll_resolve().unwrap();
    assert!(
        id.0 >= 1 << 63,
        "ACK ids never collide with the calls thread's"
    );
    assert_eq!(
        lookup.host, "proxy.example.net",
        "RFC 3261 §8.1.2: the first loose Route"
    );
    c.handle_resolved(now, id, Ok(vec![dns_target(A, Transport::Udp)]));
    let (out, msg) = one_transmit(&mut c);
    assert_eq!(out.kind, OutboundKind::Ack, "§13.2.2.4: not a transaction");
    assert_eq!(msg.method(), Some(&Method::Ack));
    assert!(msg.top_via().unwrap().branch().is_some(), "a Via of ours");
    let target = Target::new(addr(A), Transport::Udp);
    assert_eq!(keepalives(&mut c), [Keepalive::Add(target.clone())]);
    // The ACK is not retransmitted and fails nothing up.
    assert!(run_until(&mut c, now, now + ms(64_000)).is_empty());
    assert!(events(&mut c).is_empty());
    // A second ACK in the dialog (for a re-INVITE) adds no second keepalive.
    c.handle_command(now, SipCommand::SendAck { request: ack });
    let (id, _) = c.poll_resolve().unwrap();
    c.handle_resolved(now, id, Ok(vec![dns_target(A, Transport::Udp)]));
    transmits(&mut c);
    assert!(keepalives(&mut c).is_empty());
    // Our BYE ends the dialog: no more keepalives to its target.
    let bye = request("BYE", "sip:bob@192.0.2.9", "", "");
    c.handle_command(
        now,
        SipCommand::SendRequest {
            tx: ClientTxId(7),
            request: bye,
        },
    );
    assert_eq!(keepalives(&mut c), [Keepalive::Remove(target)]);
}

#[test]
fn the_peers_bye_removes_the_keepalive_target() {
    let mut c = core();
    let now = Instant::now();
    let mut ack = request("ACK", "sip:bob@192.0.2.1", "", "");
    ack.set_header("To", "<sip:bob@example.com>;tag=peer");
    c.handle_command(now, SipCommand::SendAck { request: ack });
    let (id, _) = c.poll_resolve().unwrap();
    c.handle_resolved(now, id, Ok(vec![dns_target(A, Transport::Udp)]));
    transmits(&mut c);
    keepalives(&mut c);
    let bye = parse(
        "BYE sip:click2call@127.0.0.1:5072 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbye
Max-Forwards: 70
To: <sip:click2call@127.0.0.1>;tag=ours
From: <sip:bob@example.com>;tag=peer
Call-ID: call-1
CSeq: 9 BYE
Content-Length: 0

",
    );
    received(&mut c, now, &bye, addr(A), Transport::Udp);
    assert_eq!(
        keepalives(&mut c),
        [Keepalive::Remove(Target::new(addr(A), Transport::Udp))]
    );
    assert!(matches!(
        events(&mut c).as_slice(),
        [SipEvent::Request { .. }]
    ));
}

#[test]
fn an_unparsable_request_is_answered_400_on_its_connection() {
    let mut c = core();
    let now = Instant::now();
    let bad = b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKb\r\nTo: <sip:x@127.0.0.1>\r\nFrom: <sip:y@192.0.2.1>;tag=1\r\nCall-ID: c\r\nCSeq: banana\r\nContent-Length: 0\r\n\r\n";
    c.handle_transport_event(
        now,
        TransportEvent::Received {
            bytes: bad.to_vec(),
            source: addr(A),
            transport: Transport::Tcp,
            local: addr(LOCAL),
            conn: Some(crate::sip::transport::ConnId(4)),
        },
    );
    let out = transmits(&mut c);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].kind, OutboundKind::BadRequest);
    assert_eq!(out[0].conn, Some(crate::sip::transport::ConnId(4)));
    assert!(
        out[0].bytes.starts_with(b"SIP/2.0 400 "),
        "RFC 3261 §8.2: a 400"
    );
    assert!(events(&mut c).is_empty());
}
