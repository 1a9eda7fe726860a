//! Client transactions through the layer: retransmission, ACK for non-2xx, 2xx pass-up,
//! CANCEL, Timer C, stray responses, failures.

use std::time::{Duration, Instant};

use super::*;

#[test]
fn options_retransmitted_answered_then_stray_after_timer_k() {
    let t0 = Instant::now();
    let mut l = layer();
    let tx = ClientTxId(1);
    l.send_request(t0, tx, our_request("OPTIONS", "z9hG4bKopt1"), peer_udp())
        .unwrap();
    let sent = transmits(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].tx, TxRef::Client(tx));
    assert_eq!(sent[0].target, peer_udp());
    assert_eq!(l.poll_timeout(), Some(t0 + ms(500)));
    l.handle_timeout(t0 + ms(500));
    let again = transmits(&mut l);
    assert_eq!(again.len(), 1, "Timer E retransmission");
    assert_eq!(again[0].bytes, sent[0].bytes);

    l.handle_message(
        t0 + ms(600),
        response_to_ours(200, "OK", "z9hG4bKopt1", "OPTIONS"),
        origin_udp(),
    );
    let ev = events(&mut l);
    assert!(
        matches!(&ev[..], [TxEvent::Response { tx: t, msg, .. }] if *t == tx && msg.status() == Some(200))
    );
    // A retransmitted 200 is absorbed in Completed.
    l.handle_message(
        t0 + ms(700),
        response_to_ours(200, "OK", "z9hG4bKopt1", "OPTIONS"),
        origin_udp(),
    );
    assert!(events(&mut l).is_empty());
    assert!(transmits(&mut l).is_empty());
    // Timer K = T4 later the transaction is gone and the same response is stray.
    run_until(&mut l, t0 + ms(5600));
    assert!(l.is_empty());
    l.handle_message(
        t0 + ms(5700),
        response_to_ours(200, "OK", "z9hG4bKopt1", "OPTIONS"),
        origin_udp(),
    );
    assert!(events(&mut l).is_empty());
    assert_eq!(l.stats().stray_responses, 1);
}

#[test]
fn dead_target_gives_timer_f_timeout_after_ten_retransmissions() {
    let t0 = Instant::now();
    let mut l = layer();
    l.send_request(
        t0,
        ClientTxId(2),
        our_request("OPTIONS", "z9hG4bKdead"),
        peer_udp(),
    )
    .unwrap();
    run_until(&mut l, t0 + ms(32_000));
    // Initial send plus E at 0.5, 1.5, 3.5, 7.5, 11.5 ... 31.5 s.
    assert_eq!(transmits(&mut l).len(), 11);
    let ev = events(&mut l);
    assert!(matches!(
        &ev[..],
        [TxEvent::Timeout {
            tx: ClientTxId(2),
            timer: TimerKind::F
        }]
    ));
    assert!(l.is_empty());
}

#[test]
fn reliable_target_is_never_retransmitted() {
    let t0 = Instant::now();
    let mut l = layer();
    let tcp = Target::new(PEER.parse().unwrap(), Transport::Tcp);
    l.send_request(t0, ClientTxId(3), our_request("INVITE", "z9hG4bKtcp"), tcp)
        .unwrap();
    run_until(&mut l, t0 + ms(32_000));
    assert_eq!(transmits(&mut l).len(), 1);
    assert!(matches!(
        &events(&mut l)[..],
        [TxEvent::Timeout {
            tx: ClientTxId(3),
            timer: TimerKind::B
        }]
    ));
}

#[test]
fn ack_for_non_2xx_is_built_and_resent_on_retransmitted_final() {
    let t0 = Instant::now();
    let mut l = layer();
    let tx = ClientTxId(4);
    l.send_request(t0, tx, our_request("INVITE", "z9hG4bKinv4"), peer_udp())
        .unwrap();
    transmits(&mut l);
    l.handle_message(
        t0 + ms(100),
        response_to_ours(486, "Busy Here", "z9hG4bKinv4", "INVITE"),
        origin_udp(),
    );
    assert!(
        matches!(&events(&mut l)[..], [TxEvent::Response { msg, .. }] if msg.status() == Some(486))
    );
    let acks = transmits(&mut l);
    assert_eq!(acks.len(), 1);
    let ack = parse_bytes(&acks[0].bytes);
    // RFC 3261 §17.1.1.3.
    assert_eq!(ack.method(), Some(&Method::Ack));
    assert_eq!(
        ack.request_uri().map(ToString::to_string).as_deref(),
        Some("sip:bob@192.0.2.5:5070")
    );
    assert_eq!(ack.cseq().unwrap(), (7, Method::Ack));
    assert_eq!(ack.call_id().unwrap(), "call-1@192.0.2.1");
    assert_eq!(ack.from_tag(), Some("ours1"));
    assert_eq!(ack.to_tag(), Some("theirs9"), "To of the response");
    assert_eq!(ack.header_values("Via").count(), 1);
    assert_eq!(
        ack.top_branch(),
        Some("z9hG4bKinv4"),
        "same branch as the INVITE"
    );
    assert_eq!(ack.header("Route"), Some("<sip:192.0.2.5:5070;lr>"));
    assert!(!ack.has_header("Contact"));
    assert_eq!(acks[0].target, peer_udp());
    // No retransmission of the INVITE any more; the retransmitted 486 gets the same ACK.
    l.handle_timeout(t0 + ms(500));
    assert!(transmits(&mut l).is_empty());
    l.handle_message(
        t0 + ms(1100),
        response_to_ours(486, "Busy Here", "z9hG4bKinv4", "INVITE"),
        origin_udp(),
    );
    assert!(events(&mut l).is_empty(), "not passed up twice");
    let again = transmits(&mut l);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].bytes, acks[0].bytes);
    // Timer D = 32 s.
    // The user's id is free at once (RFC 3263 §4.3 may need it for the next target); the
    // finished transaction absorbs retransmissions on its own until Timer D = 32 s.
    assert_eq!(l.client_state(TxRef::Client(tx)), None);
    run_until(&mut l, t0 + ms(32_099));
    assert_eq!(l.counts().clients_finished, 1);
    run_until(&mut l, t0 + ms(32_100));
    assert!(l.is_empty());
}

#[test]
fn invite_2xx_and_its_retransmissions_are_passed_up_until_timer_m() {
    let t0 = Instant::now();
    let mut l = layer();
    let tx = ClientTxId(5);
    l.send_request(t0, tx, our_request("INVITE", "z9hG4bKinv5"), peer_udp())
        .unwrap();
    transmits(&mut l);
    for (i, at) in [100u64, 600, 1600].into_iter().enumerate() {
        l.handle_message(
            t0 + ms(at),
            response_to_ours(200, "OK", "z9hG4bKinv5", "INVITE"),
            origin_udp(),
        );
        assert!(
            matches!(&events(&mut l)[..], [TxEvent::Response { tx: t, msg, .. }] if *t == tx && msg.status() == Some(200)),
            "2xx number {i} passed up"
        );
        assert!(
            transmits(&mut l).is_empty(),
            "the TU, not the layer, ACKs a 2xx"
        );
    }
    assert_eq!(l.client_state(TxRef::Client(tx)), Some(TxState::Accepted));
    run_until(&mut l, t0 + ms(32_100));
    assert!(l.is_empty(), "Timer M = 64*T1 after the first 2xx");
    l.handle_message(
        t0 + ms(33_000),
        response_to_ours(200, "OK", "z9hG4bKinv5", "INVITE"),
        origin_udp(),
    );
    // No transaction is left: the 2xx goes up as a stray for the TU to ACK (§17.1.3).
    assert!(
        matches!(&events(&mut l)[..], [TxEvent::StrayInvite2xx { msg }] if msg.status() == Some(200)),
        "a 2xx after Timer M is passed up as a stray"
    );
    assert!(transmits(&mut l).is_empty(), "the layer does not ACK it");
    assert_eq!(l.stats().stray_responses, 1);
}

#[test]
fn stray_and_unkeyable_responses_are_dropped() {
    let t0 = Instant::now();
    let mut l = layer();
    l.send_request(
        t0,
        ClientTxId(6),
        our_request("INVITE", "z9hG4bKinv6"),
        peer_udp(),
    )
    .unwrap();
    // Unknown branch, and the right branch with the wrong CSeq method.
    l.handle_message(
        t0,
        response_to_ours(180, "Ringing", "z9hG4bKnobody", "INVITE"),
        origin_udp(),
    );
    l.handle_message(
        t0,
        response_to_ours(200, "OK", "z9hG4bKinv6", "BYE"),
        origin_udp(),
    );
    assert!(events(&mut l).is_empty());
    assert_eq!(l.stats().stray_responses, 2);
    assert_eq!(
        l.client_state(TxRef::Client(ClientTxId(6))),
        Some(TxState::Calling)
    );
}

#[test]
fn cancel_waits_for_a_provisional_then_487_is_acked() {
    let t0 = Instant::now();
    let mut l = layer();
    let tx = ClientTxId(7);
    l.send_request(t0, tx, our_request("INVITE", "z9hG4bKinv7"), peer_udp())
        .unwrap();
    transmits(&mut l);
    l.cancel(t0 + ms(100), tx).unwrap();
    assert!(
        transmits(&mut l).is_empty(),
        "§9.1: no CANCEL before a provisional"
    );
    l.handle_message(
        t0 + ms(200),
        response_to_ours(180, "Ringing", "z9hG4bKinv7", "INVITE"),
        origin_udp(),
    );
    assert_eq!(events(&mut l).len(), 1);
    let sent = transmits(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].tx, TxRef::Cancel(tx));
    let cancel = parse_bytes(&sent[0].bytes);
    assert_eq!(cancel.method(), Some(&Method::Cancel));
    assert_eq!(cancel.cseq().unwrap(), (7, Method::Cancel));
    assert_eq!(cancel.top_branch(), Some("z9hG4bKinv7"));
    assert_eq!(cancel.to_tag(), None);
    // The 200 to the CANCEL is absorbed; the 487 reaches the TU and is ACKed.
    l.handle_message(
        t0 + ms(300),
        response_to_ours(200, "OK", "z9hG4bKinv7", "CANCEL"),
        origin_udp(),
    );
    assert!(events(&mut l).is_empty());
    l.handle_message(
        t0 + ms(400),
        response_to_ours(487, "Request Terminated", "z9hG4bKinv7", "INVITE"),
        origin_udp(),
    );
    assert!(
        matches!(&events(&mut l)[..], [TxEvent::Response { msg, .. }] if msg.status() == Some(487))
    );
    let ack = transmits(&mut l);
    assert_eq!(ack.len(), 1);
    assert_eq!(parse_bytes(&ack[0].bytes).method(), Some(&Method::Ack));
    // After the final the transaction is no longer the user's: nothing to cancel.
    assert_eq!(
        l.cancel(t0 + ms(500), tx),
        Err(LayerError::UnknownTransaction)
    );
    assert!(transmits(&mut l).is_empty());
    assert_eq!(
        l.cancel(t0, ClientTxId(99)),
        Err(LayerError::UnknownTransaction)
    );
}

#[test]
fn pending_cancel_is_dropped_when_a_final_comes_first() {
    let t0 = Instant::now();
    let mut l = layer();
    let tx = ClientTxId(8);
    l.send_request(t0, tx, our_request("INVITE", "z9hG4bKinv8"), peer_udp())
        .unwrap();
    transmits(&mut l);
    l.cancel(t0, tx).unwrap();
    l.handle_message(
        t0 + ms(100),
        response_to_ours(200, "OK", "z9hG4bKinv8", "INVITE"),
        origin_udp(),
    );
    assert!(transmits(&mut l).is_empty());
    assert_eq!(l.len(), (1, 0));
}

#[test]
fn timer_c_after_provisional_cancels_the_invite_itself() {
    let t0 = Instant::now();
    let config = LayerConfig {
        timers: Timers {
            timer_c: Some(Duration::from_secs(60)),
            ..Timers::default()
        },
        ..LayerConfig::default()
    };
    let mut l = TransactionLayer::new(config);
    let tx = ClientTxId(9);
    l.send_request(t0, tx, our_request("INVITE", "z9hG4bKinv9"), peer_udp())
        .unwrap();
    l.handle_message(
        t0 + ms(100),
        response_to_ours(180, "Ringing", "z9hG4bKinv9", "INVITE"),
        origin_udp(),
    );
    events(&mut l);
    transmits(&mut l);
    run_until(&mut l, t0 + ms(60_099));
    assert!(transmits(&mut l).is_empty());
    run_until(&mut l, t0 + ms(60_100));
    let sent = transmits(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].tx, TxRef::Cancel(tx));
    assert!(events(&mut l).is_empty(), "the 487 will be the TU's answer");
}

#[test]
fn send_request_refuses_ack_cancel_duplicates_and_missing_branch() {
    let t0 = Instant::now();
    let mut l = layer();
    let ack = our_request("ACK", "z9hG4bKa");
    assert_eq!(
        l.send_request(t0, ClientTxId(1), ack, peer_udp()),
        Err(LayerError::AckIsNotATransaction)
    );
    let cancel = our_request("CANCEL", "z9hG4bKa");
    assert_eq!(
        l.send_request(t0, ClientTxId(1), cancel, peer_udp()),
        Err(LayerError::UseCancel)
    );
    l.send_request(
        t0,
        ClientTxId(1),
        our_request("BYE", "z9hG4bKb"),
        peer_udp(),
    )
    .unwrap();
    assert_eq!(
        l.send_request(
            t0,
            ClientTxId(1),
            our_request("BYE", "z9hG4bKc"),
            peer_udp()
        ),
        Err(LayerError::DuplicateId(ClientTxId(1)))
    );
    assert_eq!(
        l.send_request(
            t0,
            ClientTxId(2),
            our_request("BYE", "z9hG4bKb"),
            peer_udp()
        ),
        Err(LayerError::DuplicateBranch)
    );
    let no_branch = parse(
        "BYE sip:bob@192.0.2.5 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060
Max-Forwards: 70
To: <sip:bob@example.com>;tag=x
From: <sip:c@192.0.2.1>;tag=y
Call-ID: c
CSeq: 8 BYE
Content-Length: 0

",
    );
    assert_eq!(
        l.send_request(t0, ClientTxId(3), no_branch, peer_udp()),
        Err(LayerError::Key(KeyError::NoBranch))
    );
}

#[test]
fn target_failure_fails_its_transactions_only() {
    let t0 = Instant::now();
    let mut l = layer();
    let other = Target::new("192.0.2.99:5060".parse().unwrap(), Transport::Udp);
    l.send_request(
        t0,
        ClientTxId(1),
        our_request("INVITE", "z9hG4bKt1"),
        peer_udp(),
    )
    .unwrap();
    l.send_request(
        t0,
        ClientTxId(2),
        our_request("OPTIONS", "z9hG4bKt2"),
        other,
    )
    .unwrap();
    l.target_failed(t0 + ms(5), &peer_udp());
    assert!(matches!(
        &events(&mut l)[..],
        [TxEvent::TransportError { tx: ClientTxId(1) }]
    ));
    assert_eq!(l.len(), (1, 0));
    l.transport_error(t0 + ms(6), TxRef::Client(ClientTxId(2)));
    assert!(matches!(
        &events(&mut l)[..],
        [TxEvent::TransportError { tx: ClientTxId(2) }]
    ));
    assert!(l.is_empty());
}

#[test]
fn failover_reusing_the_id_replaces_an_old_cancel_cleanly() {
    let t0 = Instant::now();
    let mut l = layer();
    let tx = ClientTxId(11);
    l.send_request(t0, tx, our_request("INVITE", "z9hG4bKfo1"), peer_udp())
        .unwrap();
    l.handle_message(
        t0,
        response_to_ours(180, "Ringing", "z9hG4bKfo1", "INVITE"),
        origin_udp(),
    );
    l.cancel(t0, tx).unwrap();
    // The INVITE dies (transport error) while its CANCEL still runs.
    l.transport_error(t0, TxRef::Client(tx));
    assert_eq!(l.client_state(TxRef::Cancel(tx)), Some(TxState::Trying));
    // The same id on the next target, new branch, cancelled in turn.
    l.send_request(t0, tx, our_request("INVITE", "z9hG4bKfo2"), peer_udp())
        .unwrap();
    l.handle_message(
        t0,
        response_to_ours(180, "Ringing", "z9hG4bKfo2", "INVITE"),
        origin_udp(),
    );
    transmits(&mut l);
    l.cancel(t0, tx).unwrap();
    let sent = transmits(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!(parse_bytes(&sent[0].bytes).top_branch(), Some("z9hG4bKfo2"));
    // The old CANCEL's response is now stray, not fed to the new one.
    l.handle_message(
        t0,
        response_to_ours(200, "OK", "z9hG4bKfo1", "CANCEL"),
        origin_udp(),
    );
    assert_eq!(l.stats().stray_responses, 1);
    assert_eq!(l.client_state(TxRef::Cancel(tx)), Some(TxState::Trying));
    assert_eq!(l.len(), (2, 0));
}

#[test]
fn cancel_after_a_provisional_goes_out_at_once_to_the_same_target() {
    let t0 = Instant::now();
    let mut l = layer();
    let tcp = Target::new(PEER.parse().unwrap(), Transport::Tcp);
    let tx = ClientTxId(12);
    l.send_request(t0, tx, our_request("INVITE", "z9hG4bKc12"), tcp.clone())
        .unwrap();
    l.handle_message(
        t0,
        response_to_ours(183, "Session Progress", "z9hG4bKc12", "INVITE"),
        origin_udp(),
    );
    transmits(&mut l);
    l.cancel(t0 + ms(1), tx).unwrap();
    l.cancel(t0 + ms(2), tx).unwrap();
    let sent = transmits(&mut l);
    assert_eq!(sent.len(), 1, "one CANCEL however often asked");
    assert_eq!(sent[0].target, tcp);
    assert_eq!(
        l.cancel(t0, ClientTxId(13)),
        Err(LayerError::UnknownTransaction)
    );
    l.send_request(
        t0,
        ClientTxId(13),
        our_request("OPTIONS", "z9hG4bKc13"),
        tcp,
    )
    .unwrap();
    assert_eq!(l.cancel(t0, ClientTxId(13)), Err(LayerError::NotInvite));
}

#[test]
fn forked_2xx_with_different_tags_all_reach_the_tu() {
    let t0 = Instant::now();
    let mut l = layer();
    let tx = ClientTxId(14);
    l.send_request(t0, tx, our_request("INVITE", "z9hG4bKf14"), peer_udp())
        .unwrap();
    let first = response_to_ours(200, "OK", "z9hG4bKf14", "INVITE");
    let mut second = first.clone();
    second.set_header("To", "<sip:bob@example.com>;tag=otherfork");
    l.handle_message(t0, first, origin_udp());
    l.handle_message(t0, second, origin_udp());
    let tags: Vec<Option<String>> = events(&mut l)
        .iter()
        .map(|e| match e {
            TxEvent::Response { msg, .. } => msg.to_tag().map(str::to_string),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(tags, vec![Some("theirs9".into()), Some("otherfork".into())]);
}
