//! Transaction layer tests: hand-built messages, a manual clock, assertions on what the
//! layer transmits and reports.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::sip::Transport;
use crate::sip::msg::{Message, Method};
use crate::sip::reactor::{ClientTxId, ServerTxId};
use crate::sip::transport::{ConnId, Target};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn parse(text: &str) -> Message {
    Message::parse(text.replace('\n', "\r\n").as_bytes()).expect("test message parses")
}

fn parse_bytes(bytes: &[u8]) -> Message {
    Message::parse(bytes).expect("layer output parses")
}

const PEER: &str = "192.0.2.5:5070";

fn peer_udp() -> Target {
    Target::new(PEER.parse().unwrap(), Transport::Udp)
}

fn origin_udp() -> Origin {
    Origin {
        source: PEER.parse().unwrap(),
        transport: Transport::Udp,
        local: "192.0.2.1:5060".parse().unwrap(),
        conn: None,
    }
}

fn transmits(layer: &mut TransactionLayer) -> Vec<Transmit> {
    std::iter::from_fn(|| layer.poll_transmit()).collect()
}

fn events(layer: &mut TransactionLayer) -> Vec<TxEvent> {
    std::iter::from_fn(|| layer.poll_event()).collect()
}

/// Advance the clock to `to` the way the reactor does: wake at each `poll_timeout`.
fn run_until(layer: &mut TransactionLayer, to: Instant) {
    for _ in 0..10_000 {
        match layer.poll_timeout() {
            Some(at) if at <= to => layer.handle_timeout(at),
            _ => break,
        }
    }
    layer.handle_timeout(to);
}

fn our_request(method: &str, branch: &str) -> Message {
    parse(&format!(
        "{method} sip:bob@192.0.2.5:5070 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch};rport
Max-Forwards: 70
Route: <sip:192.0.2.5:5070;lr>
To: <sip:bob@example.com>
From: <sip:click2call@192.0.2.1>;tag=ours1
Call-ID: call-1@192.0.2.1
CSeq: 7 {method}
Contact: <sip:click2call@192.0.2.1:5060>
Content-Length: 0

"
    ))
}

fn response_to_ours(code: u16, reason: &str, branch: &str, method: &str) -> Message {
    parse(&format!(
        "SIP/2.0 {code} {reason}
Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch};rport=5060;received=192.0.2.1
To: <sip:bob@example.com>;tag=theirs9
From: <sip:click2call@192.0.2.1>;tag=ours1
Call-ID: call-1@192.0.2.1
CSeq: 7 {method}
Content-Length: 0

"
    ))
}

fn their_request(method: &str, cseq_method: &str, branch: &str) -> Message {
    parse(&format!(
        "{method} sip:service@192.0.2.1:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.5:5070;branch={branch}
Max-Forwards: 70
To: <sip:service@192.0.2.1>
From: <sip:phone@192.0.2.5>;tag=phone1
Call-ID: call-9@192.0.2.5
CSeq: 3 {cseq_method}
Content-Length: 0

"
    ))
}

fn layer() -> TransactionLayer {
    TransactionLayer::new(LayerConfig::default())
}

// ----- client transactions -----

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
        matches!(&ev[..], [TxEvent::Response { tx: t, msg }] if *t == tx && msg.status() == Some(200))
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
    run_until(&mut l, t0 + ms(32_099));
    assert_eq!(l.client_state(TxRef::Client(tx)), Some(TxState::Completed));
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
            matches!(&events(&mut l)[..], [TxEvent::Response { tx: t, msg }] if *t == tx && msg.status() == Some(200)),
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
    assert!(events(&mut l).is_empty());
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
    // Cancelling again after the final does nothing.
    l.cancel(t0 + ms(500), tx).unwrap();
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

// ----- server transactions -----

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
    assert_eq!(l.server_state(tx), Some(TxState::Confirmed));
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
        [TxEvent::Cancelled { tx: t, cancel }] => {
            assert_eq!(*t, tx);
            assert_eq!(cancel.method(), Some(&Method::Cancel));
        }
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
    assert!(matches!(
        l.respond(t0, tx, Message::response_to(&opt, 500, "Oops", Some("a"))),
        Err(LayerError::Tx(TxError::AlreadyFinal { .. }))
    ));
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
