//! Server transactions through the layer: absorption, automatic 100, CANCEL matching,
//! RFC 6026 Accepted, response routing, limits.

use std::time::Instant;

use super::*;

fn request_event(ev: &[TxEvent]) -> ServerTxId {
    match ev {
        [TxEvent::Request { tx, .. }] => *tx,
        other => panic!("expected one Request event, got {other:?}"),
    }
}

#[test]
fn retransmitted_invite_is_absorbed_and_gets_the_last_response() {
    let t0 = Instant::now();
    let mut l = layer();
    let invite = their_request("INVITE", "INVITE", "z9hG4bKin1");
    l.handle_message(t0, invite.clone(), origin_udp());
    let tx = request_event(&events(&mut l));
    // Before any response: absorbed, nothing sent.
    l.handle_message(t0 + ms(100), invite.clone(), origin_udp());
    assert!(events(&mut l).is_empty());
    assert!(transmits(&mut l).is_empty());
    let ringing = Message::response_to(&invite, 180, "Ringing", Some("srv1"));
    l.respond(t0 + ms(150), tx, ringing.clone()).unwrap();
    let sent = transmits(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].target, peer_udp(), "sent-by of the Via (§18.2.2)");
    l.handle_message(t0 + ms(600), invite.clone(), origin_udp());
    assert!(events(&mut l).is_empty());
    let again = transmits(&mut l);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].bytes, sent[0].bytes, "the 180 again");
    assert_eq!(l.stats().absorbed_retransmissions, 2);
    // A final: retransmitted on Timer G until the ACK, which is absorbed.
    l.respond(
        t0 + ms(1000),
        tx,
        Message::response_to(&invite, 486, "Busy Here", Some("srv1")),
    )
    .unwrap();
    let busy = transmits(&mut l);
    assert_eq!(parse_bytes(&busy[0].bytes).status(), Some(486));
    run_until(&mut l, t0 + ms(1500));
    assert_eq!(transmits(&mut l).len(), 1, "Timer G");
    let mut ack = their_request("ACK", "ACK", "z9hG4bKin1");
    ack.set_header("To", "<sip:service@192.0.2.1>;tag=srv1");
    l.handle_message(t0 + ms(1600), ack, origin_udp());
    assert!(events(&mut l).is_empty(), "ACK for a non-2xx is absorbed");
    // Confirmed: only the finished store absorbs the ACK's retransmissions now.
    assert_eq!(l.server_state(tx), None);
    assert_eq!(l.counts().servers_finished, 1);
    run_until(&mut l, t0 + ms(6599));
    assert!(transmits(&mut l).is_empty(), "no Timer G after the ACK");
    run_until(&mut l, t0 + ms(6600));
    assert!(l.is_empty(), "Timer I = T4");
}

#[test]
fn slow_tu_gets_an_automatic_100_trying() {
    let t0 = Instant::now();
    let mut l = layer();
    let invite = their_request("INVITE", "INVITE", "z9hG4bKin2");
    l.handle_message(t0, invite, origin_udp());
    events(&mut l);
    run_until(&mut l, t0 + ms(200));
    let sent = transmits(&mut l);
    assert_eq!(sent.len(), 1);
    let trying = parse_bytes(&sent[0].bytes);
    assert_eq!(trying.status(), Some(100));
    assert_eq!(trying.to_tag(), None);
    assert_eq!(trying.cseq().unwrap(), (3, Method::Invite));
}

#[test]
fn cancel_is_matched_to_its_invite_and_answered_200_with_the_same_tag() {
    let t0 = Instant::now();
    let mut l = layer();
    let invite = their_request("INVITE", "INVITE", "z9hG4bKin3");
    l.handle_message(t0, invite.clone(), origin_udp());
    let tx = request_event(&events(&mut l));
    l.respond(
        t0,
        tx,
        Message::response_to(&invite, 180, "Ringing", Some("srv3")),
    )
    .unwrap();
    transmits(&mut l);
    let cancel = their_request("CANCEL", "CANCEL", "z9hG4bKin3");
    l.handle_message(t0 + ms(100), cancel.clone(), origin_udp());
    match &events(&mut l)[..] {
        [TxEvent::Cancelled { tx: t }] => assert_eq!(*t, tx),
        other => panic!("expected Cancelled, got {other:?}"),
    }
    let sent = transmits(&mut l);
    assert_eq!(sent.len(), 1);
    let ok = parse_bytes(&sent[0].bytes);
    assert_eq!(ok.status(), Some(200));
    assert_eq!(ok.cseq().unwrap(), (3, Method::Cancel));
    assert_eq!(
        ok.to_tag(),
        Some("srv3"),
        "§9.2: same tag as the INVITE's responses"
    );
    // The CANCEL retransmitted gets the 200 again, and no second event.
    l.handle_message(t0 + ms(600), cancel, origin_udp());
    assert!(events(&mut l).is_empty());
    assert_eq!(transmits(&mut l)[0].bytes, sent[0].bytes);
    // The TU answers the INVITE 487.
    l.respond(
        t0 + ms(700),
        tx,
        Message::response_to(&invite, 487, "Request Terminated", Some("srv3")),
    )
    .unwrap();
    assert_eq!(transmits(&mut l).len(), 1);
}

#[test]
fn cancel_without_invite_or_after_final_gets_no_event() {
    let t0 = Instant::now();
    let mut l = layer();
    l.handle_message(
        t0,
        their_request("CANCEL", "CANCEL", "z9hG4bKnone"),
        origin_udp(),
    );
    assert!(events(&mut l).is_empty());
    let sent = transmits(&mut l);
    assert_eq!(parse_bytes(&sent[0].bytes).status(), Some(481));

    let invite = their_request("INVITE", "INVITE", "z9hG4bKin4");
    l.handle_message(t0, invite.clone(), origin_udp());
    let tx = request_event(&events(&mut l));
    l.respond(
        t0,
        tx,
        Message::response_to(&invite, 200, "OK", Some("srv4")),
    )
    .unwrap();
    transmits(&mut l);
    l.handle_message(
        t0 + ms(10),
        their_request("CANCEL", "CANCEL", "z9hG4bKin4"),
        origin_udp(),
    );
    assert!(events(&mut l).is_empty(), "too late to cancel");
    assert_eq!(parse_bytes(&transmits(&mut l)[0].bytes).status(), Some(200));
}

#[test]
fn accepted_invite_absorbs_retransmissions_and_acks_for_2xx_go_up() {
    let t0 = Instant::now();
    let mut l = layer();
    let invite = their_request("INVITE", "INVITE", "z9hG4bKin5");
    l.handle_message(t0, invite.clone(), origin_udp());
    let tx = request_event(&events(&mut l));
    let ok = Message::response_to(&invite, 200, "OK", Some("srv5"));
    l.respond(t0, tx, ok.clone()).unwrap();
    assert_eq!(transmits(&mut l).len(), 1);
    assert_eq!(l.server_state(tx), Some(TxState::Accepted));
    // RFC 6026: the INVITE retransmission is absorbed, not answered by the transaction.
    l.handle_message(t0 + ms(500), invite.clone(), origin_udp());
    assert!(transmits(&mut l).is_empty());
    assert!(events(&mut l).is_empty());
    // The TU's own 2xx retransmission goes out through Accepted.
    l.respond(t0 + ms(500), tx, ok).unwrap();
    assert_eq!(transmits(&mut l).len(), 1);
    // An ACK with the INVITE's branch, and one with a new branch, both reach the TU.
    for branch in ["z9hG4bKin5", "z9hG4bKack5"] {
        l.handle_message(
            t0 + ms(600),
            their_request("ACK", "ACK", branch),
            origin_udp(),
        );
        let ack_tx = request_event(&events(&mut l));
        assert_ne!(ack_tx, tx);
        let stray = Message::response_to(&invite, 200, "OK", None);
        assert_eq!(
            l.respond(t0, ack_tx, stray),
            Err(LayerError::UnknownTransaction)
        );
    }
    run_until(&mut l, t0 + ms(32_000));
    assert!(l.is_empty(), "Timer L = 64*T1");
}

#[test]
fn responses_follow_rport_and_carry_received() {
    let t0 = Instant::now();
    let mut l = layer();
    let mut options = their_request("OPTIONS", "OPTIONS", "z9hG4bKo1");
    options.set_header(
        "Via",
        "SIP/2.0/UDP phone.example.com:5070;rport;branch=z9hG4bKo1",
    );
    let origin = Origin {
        source: "198.51.100.9:40001".parse().unwrap(),
        ..origin_udp()
    };
    l.handle_message(t0, options, origin);
    let (tx, msg) = match &events(&mut l)[..] {
        [TxEvent::Request { tx, msg, .. }] => (*tx, msg.clone()),
        other => panic!("{other:?}"),
    };
    l.respond(t0, tx, Message::response_to(&msg, 200, "OK", Some("t")))
        .unwrap();
    let sent = transmits(&mut l);
    let want: SocketAddr = "198.51.100.9:40001".parse().unwrap();
    assert_eq!(sent[0].target.addr, want);
    let via = parse_bytes(&sent[0].bytes).top_via().unwrap();
    assert_eq!(via.rport(), Some(Some(40001)));
    assert_eq!(via.received(), Some("198.51.100.9".parse().unwrap()));
}

#[test]
fn non_invite_over_tcp_ends_with_its_response_and_uses_the_connection() {
    let t0 = Instant::now();
    let mut l = layer();
    let mut bye = their_request("BYE", "BYE", "z9hG4bKb1");
    bye.set_header("Via", "SIP/2.0/TCP 192.0.2.5:5070;branch=z9hG4bKb1");
    let origin = Origin {
        transport: Transport::Tcp,
        conn: Some(ConnId(42)),
        source: "192.0.2.5:51000".parse().unwrap(),
        ..origin_udp()
    };
    l.handle_message(t0, bye.clone(), origin);
    let tx = request_event(&events(&mut l));
    l.respond(t0, tx, Message::response_to(&bye, 200, "OK", None))
        .unwrap();
    let sent = transmits(&mut l);
    assert_eq!(sent[0].conn, Some(ConnId(42)));
    assert_eq!(
        sent[0].target,
        Target::new("192.0.2.5:5070".parse().unwrap(), Transport::Tcp)
    );
    assert!(l.is_empty(), "Timer J = 0 on TCP");
    assert_eq!(
        l.respond(t0, tx, Message::response_to(&bye, 200, "OK", None)),
        Err(LayerError::UnknownTransaction)
    );
}

#[test]
fn second_final_response_is_refused() {
    let t0 = Instant::now();
    let mut l = layer();
    let opt = their_request("OPTIONS", "OPTIONS", "z9hG4bKo2");
    l.handle_message(t0, opt.clone(), origin_udp());
    let tx = request_event(&events(&mut l));
    l.respond(t0, tx, Message::response_to(&opt, 200, "OK", Some("a")))
        .unwrap();
    // Completed over UDP: the transaction is finished and only its final is kept.
    assert_eq!(
        l.respond(t0, tx, Message::response_to(&opt, 500, "Oops", Some("a"))),
        Err(LayerError::UnknownTransaction)
    );
    assert_eq!(l.respond(t0, tx, opt), Err(LayerError::NotAResponse));
}

#[test]
fn overload_drops_new_requests_and_counts_them() {
    let t0 = Instant::now();
    let config = LayerConfig {
        max_server_transactions: 2,
        ..LayerConfig::default()
    };
    let mut l = TransactionLayer::new(config);
    for n in 0..3 {
        let branch = format!("z9hG4bKov{n}");
        l.handle_message(
            t0,
            their_request("OPTIONS", "OPTIONS", &branch),
            origin_udp(),
        );
    }
    assert_eq!(events(&mut l).len(), 2);
    assert_eq!(l.stats().overload_drops, 1);
    // The refused one is answered 503 with Retry-After (RFC 3261 §21.5.4), statelessly.
    let refusals: Vec<Message> = std::iter::from_fn(|| l.poll_transmit())
        .filter_map(|t| Message::parse(&t.bytes).ok())
        .filter(|m| m.status() == Some(503))
        .collect();
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].top_branch(), Some("z9hG4bKov2"));
    assert_eq!(refusals[0].header("Retry-After"), Some("5"));
    assert_eq!(
        l.len().1,
        2,
        "no transaction was created for the refused request"
    );
}

#[test]
fn rfc2543_request_without_magic_cookie_is_still_matched() {
    let t0 = Instant::now();
    let mut l = layer();
    let mut invite = their_request("INVITE", "INVITE", "unused");
    invite.set_header("Via", "SIP/2.0/UDP 192.0.2.5:5070");
    l.handle_message(t0, invite.clone(), origin_udp());
    let tx = request_event(&events(&mut l));
    l.respond(
        t0,
        tx,
        Message::response_to(&invite, 404, "Not Found", Some("old1")),
    )
    .unwrap();
    transmits(&mut l);
    l.handle_message(t0 + ms(100), invite, origin_udp());
    assert!(
        events(&mut l).is_empty(),
        "retransmission matched by Call-ID/CSeq/Via"
    );
    assert_eq!(transmits(&mut l).len(), 1);
    let mut ack = their_request("ACK", "ACK", "unused");
    ack.set_header("Via", "SIP/2.0/UDP 192.0.2.5:5070");
    ack.set_header("To", "<sip:service@192.0.2.1>;tag=old1");
    l.handle_message(t0 + ms(200), ack, origin_udp());
    assert!(events(&mut l).is_empty());
    assert_eq!(l.server_state(tx), None, "Confirmed: filed as finished");
    assert_eq!(l.counts().servers_finished, 1);
}

#[test]
fn missing_ack_over_tcp_ends_at_timer_h_without_resending() {
    let t0 = Instant::now();
    let mut l = layer();
    let mut invite = their_request("INVITE", "INVITE", "z9hG4bKh1");
    invite.set_header("Via", "SIP/2.0/TCP 192.0.2.5:5070;branch=z9hG4bKh1");
    let origin = Origin {
        transport: Transport::Tcp,
        conn: Some(ConnId(3)),
        ..origin_udp()
    };
    l.handle_message(t0, invite.clone(), origin);
    let tx = request_event(&events(&mut l));
    l.respond(
        t0 + ms(10),
        tx,
        Message::response_to(&invite, 603, "Decline", Some("h")),
    )
    .unwrap();
    assert_eq!(transmits(&mut l).len(), 1);
    run_until(&mut l, t0 + ms(32_009));
    assert!(transmits(&mut l).is_empty(), "no Timer G on TCP");
    assert_eq!(l.server_state(tx), Some(TxState::Completed));
    run_until(&mut l, t0 + ms(32_010));
    assert!(l.is_empty(), "Timer H");
    assert!(events(&mut l).is_empty());
}

#[test]
fn deadline_heap_stays_bounded_under_churn() {
    let t0 = Instant::now();
    let mut l = layer();
    // Each INVITE schedules its 100 Trying, then an immediate 2xx replaces it by Timer L:
    // one stale entry per transaction.
    for n in 0..3000u32 {
        let invite = their_request("INVITE", "INVITE", &format!("z9hG4bKchurn{n}"));
        l.handle_message(t0, invite.clone(), origin_udp());
        let tx = request_event(&events(&mut l));
        l.respond(t0, tx, Message::response_to(&invite, 200, "OK", Some("c")))
            .unwrap();
    }
    transmits(&mut l);
    assert_eq!(l.len(), (0, 3000));
    run_until(&mut l, t0 + ms(200));
    assert!(transmits(&mut l).is_empty(), "no 100 after the TU answered");
    assert!(l.deadline_entries() <= 3000 + 1024);
    run_until(&mut l, t0 + ms(32_000));
    assert!(l.is_empty());
    assert_eq!(l.deadline_entries(), 0);
}
