//! The failure paths of issue 17 on the reactor side: every request ends with exactly one
//! outcome for the calls thread, and every piece of state the core holds for it is freed
//! (`ReactorCore::counts`).

use super::*;

fn invite() -> Message {
    request("INVITE", "sip:bob@example.com", "", "v=0\n")
}

fn cancel(c: &mut ReactorCore, now: Instant, tx: u64) {
    c.handle_command(now, SipCommand::Cancel { tx: ClientTxId(tx) });
}

/// Every timer of the core run out: nothing may be left.
fn assert_all_freed(c: &mut ReactorCore, t0: Instant) {
    run_until(c, t0, t0 + ms(600_000));
    assert!(c.counts().is_zero(), "{:?}", c.counts());
    assert_eq!(c.poll_timeout(), None);
}

/// RFC 3261 §9.1: a CANCEL that brings no final response leaves the INVITE transaction
/// 64·T1 more; then it is over, the calls thread hears a time-out (408) and the core
/// forgets the request. Before: the transaction ended silently and the request stayed.
#[test]
fn a_cancelled_ringing_invite_with_no_final_times_out_64_t1_after_the_cancel() {
    let mut c = core();
    let t0 = Instant::now();
    send(&mut c, t0, 1, invite(), &[dns_target(A, Transport::Udp)]);
    let (_, sent) = one_transmit(&mut c);
    received(
        &mut c,
        t0,
        &Message::response_to(&sent, 180, "Ringing", Some("peer")),
        addr(A),
        Transport::Udp,
    );
    events(&mut c);
    cancel(&mut c, t0 + ms(2_000), 1);
    let (_, msg) = one_transmit(&mut c);
    assert_eq!(msg.method(), Some(&Method::Cancel));
    run_until(&mut c, t0, t0 + ms(33_999));
    assert!(events(&mut c).is_empty(), "the 487 may still come");
    run_until(&mut c, t0, t0 + ms(34_000));
    match events(&mut c).as_slice() {
        [
            SipEvent::TxFailed {
                tx,
                reason: TxFailure::Timeout,
            },
        ] => assert_eq!(*tx, ClientTxId(1)),
        other => panic!("expected the time-out, got {other:?}"),
    }
    assert_all_freed(&mut c, t0);
}

/// Issue 17 item 3: a CANCEL while the next hop is being resolved ends the request as
/// the 487 would, and nothing is sent when the answer comes.
#[test]
fn a_cancel_during_resolution_reports_487_and_sends_nothing() {
    let mut c = core();
    let t0 = Instant::now();
    c.handle_command(
        t0,
        SipCommand::SendRequest {
            tx: ClientTxId(1),
            request: invite(),
        },
    );
    let (id, _) = c.poll_resolve().unwrap();
    cancel(&mut c, t0, 1);
    match events(&mut c).as_slice() {
        [SipEvent::TxFailed { reason, .. }] => assert_eq!(reason.status(), 487),
        other => panic!("expected the 487, got {other:?}"),
    }
    assert_eq!(
        c.counts().resolving,
        1,
        "the resolver still owes its answer"
    );
    c.handle_resolved(t0, id, Ok(vec![dns_target(A, Transport::Udp)]));
    assert!(transmits(&mut c).is_empty(), "no uncancelled INVITE");
    assert!(events(&mut c).is_empty(), "one outcome only");
    assert_all_freed(&mut c, t0);
}

/// Issue 17 item 3: a CANCEL asked for while the first target had not answered is
/// carried across failover: the next target gets no INVITE, and the first target's
/// failure is the outcome.
#[test]
fn a_cancel_is_carried_across_failover() {
    let mut c = core();
    let t0 = Instant::now();
    let targets = [dns_target(A, Transport::Udp), dns_target(B, Transport::Udp)];
    send(&mut c, t0, 1, invite(), &targets);
    let (first, _) = one_transmit(&mut c);
    cancel(&mut c, t0, 1);
    assert!(
        transmits(&mut c).is_empty(),
        "§9.1: the CANCEL waits for a provisional"
    );
    c.handle_transport_event(
        t0,
        TransportEvent::Error {
            target: first.target,
            kind: ErrorKind::Refused,
        },
    );
    assert!(transmits(&mut c).is_empty(), "no INVITE to the next target");
    assert!(matches!(
        events(&mut c).as_slice(),
        [SipEvent::TxFailed {
            reason: TxFailure::Transport(_),
            ..
        }]
    ));
    assert_all_freed(&mut c, t0);
}

/// RFC 3263 §4.3 over UDP: the 503's transaction stays in Completed for Timer D, detached
/// from the request's id, so the next target is tried at once. Before: the new attempt
/// got `DuplicateId` and the calls thread a transport error.
#[test]
fn a_503_over_udp_fails_over_to_the_next_target() {
    let mut c = core();
    let t0 = Instant::now();
    let targets = [dns_target(A, Transport::Udp), dns_target(B, Transport::Udp)];
    send(&mut c, t0, 1, invite(), &targets);
    let (_, to_a) = one_transmit(&mut c);
    received(
        &mut c,
        t0,
        &Message::response_to(&to_a, 503, "Unavailable", Some("a")),
        addr(A),
        Transport::Udp,
    );
    let sent = transmits(&mut c);
    let to_b: Vec<_> = sent.iter().filter(|o| o.target.addr == addr(B)).collect();
    assert_eq!(to_b.len(), 1, "the INVITE goes to B: {sent:?}");
    assert!(events(&mut c).is_empty(), "{:?}", c.counts());
    // A's 503 retransmitted is ACKed by its finished transaction, not passed up.
    received(
        &mut c,
        t0 + ms(100),
        &Message::response_to(&to_a, 503, "Unavailable", Some("a")),
        addr(A),
        Transport::Udp,
    );
    assert!(events(&mut c).is_empty());
    let to_b = Message::parse(&to_b[0].bytes).unwrap();
    received(
        &mut c,
        t0 + ms(200),
        &Message::response_to(&to_b, 486, "Busy", Some("b")),
        addr(B),
        Transport::Udp,
    );
    assert!(
        matches!(events(&mut c).as_slice(), [SipEvent::Response { response, .. }] if response.status() == Some(486))
    );
    assert_all_freed(&mut c, t0);
}

fn in_dialog(method: &str, to_tag: &str) -> Message {
    let mut m = request(method, "sip:bob@192.0.2.1", "", "");
    m.set_header("To", &format!("<sip:bob@example.com>;tag={to_tag}"));
    m
}

/// Issue 17 item 8: a BYE routed while its dialog's ACK is still being resolved ends the
/// dialog first: the ACK, once sent, registers no keepalive target that nothing removes.
#[test]
fn a_bye_routed_before_its_acks_resolution_leaves_no_keepalive() {
    let mut c = core();
    let t0 = Instant::now();
    c.handle_command(
        t0,
        SipCommand::SendAck {
            request: in_dialog("ACK", "peer"),
        },
    );
    let (ack_id, _) = c.poll_resolve().unwrap();
    c.handle_command(
        t0,
        SipCommand::SendRequest {
            tx: ClientTxId(2),
            request: in_dialog("BYE", "peer"),
        },
    );
    let (bye_id, _) = c.poll_resolve().unwrap();
    c.handle_resolved(t0, ack_id, Ok(vec![dns_target(A, Transport::Udp)]));
    c.handle_resolved(t0, bye_id, Ok(vec![dns_target(A, Transport::Udp)]));
    assert!(keepalives(&mut c).is_empty());
    let bye = transmits(&mut c)
        .into_iter()
        .map(|o| Message::parse(&o.bytes).unwrap())
        .find(|m| m.method() == Some(&Method::Bye))
        .unwrap();
    received(
        &mut c,
        t0,
        &Message::response_to(&bye, 200, "OK", None),
        addr(A),
        Transport::Udp,
    );
    assert_all_freed(&mut c, t0);
}

/// Issue 17 item 8: keepalive targets are per dialog (Call-ID and both tags), so the BYE
/// of a losing fork (same Call-ID, another To tag) leaves the answered dialog's target.
#[test]
fn a_forks_bye_keeps_the_answered_dialogs_keepalive() {
    let mut c = core();
    let t0 = Instant::now();
    c.handle_command(
        t0,
        SipCommand::SendAck {
            request: in_dialog("ACK", "main"),
        },
    );
    let (id, _) = c.poll_resolve().unwrap();
    c.handle_resolved(t0, id, Ok(vec![dns_target(A, Transport::Udp)]));
    assert_eq!(keepalives(&mut c).len(), 1);
    c.handle_command(
        t0,
        SipCommand::SendRequest {
            tx: ClientTxId(2),
            request: in_dialog("BYE", "fork"),
        },
    );
    assert!(
        keepalives(&mut c).is_empty(),
        "the fork had no keepalive target"
    );
    c.handle_command(
        t0,
        SipCommand::SendRequest {
            tx: ClientTxId(3),
            request: in_dialog("BYE", "main"),
        },
    );
    assert_eq!(
        keepalives(&mut c),
        [Keepalive::Remove(Target::new(addr(A), Transport::Udp))]
    );
}

/// Issue 17 item 8: a 2xx the layer refuses (its transaction is gone) leaves nothing
/// waiting to be resent.
#[test]
fn a_refused_2xx_leaves_no_answering_entry() {
    let mut c = core();
    let t0 = Instant::now();
    let mut ok = Message::response_to(&invite(), 200, "OK", Some("ours"));
    ok.set_header("CSeq", "1 INVITE");
    c.handle_command(
        t0,
        SipCommand::Respond {
            tx: ServerTxId(42),
            response: ok,
        },
    );
    assert_eq!(c.counts().answering_invite, 0);
}

/// Issue 17 item 8, RFC 3261 §9.2: a phone's CANCEL of its re-INVITE (which we relay and
/// have not answered) is answered 200, the re-INVITE 487, and the calls thread is told.
#[test]
fn a_phones_cancel_of_its_reinvite_is_answered_and_reported() {
    let mut c = core();
    let t0 = Instant::now();
    let reinvite = parse(
        "INVITE sip:click2call@127.0.0.1:5072 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKre1
Max-Forwards: 70
To: <sip:click2call@127.0.0.1>;tag=ours
From: <sip:bob@example.com>;tag=peer
Call-ID: call-1
CSeq: 5 INVITE
Content-Length: 0

",
    );
    received(&mut c, t0, &reinvite, addr(A), Transport::Udp);
    let stx = match events(&mut c).as_slice() {
        [SipEvent::Request { tx, .. }] => *tx,
        other => panic!("expected the re-INVITE, got {other:?}"),
    };
    let cancel = parse(
        "CANCEL sip:click2call@127.0.0.1:5072 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKre1
Max-Forwards: 70
To: <sip:click2call@127.0.0.1>;tag=ours
From: <sip:bob@example.com>;tag=peer
Call-ID: call-1
CSeq: 5 CANCEL
Content-Length: 0

",
    );
    received(&mut c, t0 + ms(50), &cancel, addr(A), Transport::Udp);
    let answers: Vec<_> = transmits(&mut c)
        .iter()
        .map(|o| Message::parse(&o.bytes).unwrap())
        .map(|m| (m.status(), m.cseq().unwrap().1))
        .collect();
    assert_eq!(
        answers,
        [(Some(200), Method::Cancel), (Some(487), Method::Invite)]
    );
    assert!(matches!(events(&mut c).as_slice(), [SipEvent::Cancelled { tx }] if *tx == stx));
}

/// A 2xx to our INVITE after its transaction timed out (the phone ignored our CANCEL,
/// then answered) matches no transaction: it used to be dropped, so the phone kept a
/// call up for nobody. It goes to the calls thread (RFC 3261 §17.1.3), which ACKs and
/// BYEs it; a stray non-2xx, or a 2xx to anything but INVITE, is still dropped.
#[test]
fn a_2xx_after_the_invite_transaction_ended_reaches_the_calls_thread() {
    let mut c = core();
    let t0 = Instant::now();
    send(&mut c, t0, 1, invite(), &[dns_target(A, Transport::Udp)]);
    let (_, sent) = one_transmit(&mut c);
    received(
        &mut c,
        t0,
        &Message::response_to(&sent, 180, "Ringing", Some("peer")),
        addr(A),
        Transport::Udp,
    );
    events(&mut c);
    cancel(&mut c, t0, 1);
    one_transmit(&mut c);
    run_until(&mut c, t0, t0 + ms(40_000));
    events(&mut c);
    let late = Message::response_to(&sent, 200, "OK", Some("peer"));
    received(&mut c, t0 + ms(41_000), &late, addr(A), Transport::Udp);
    match events(&mut c).as_slice() {
        [SipEvent::StrayInvite2xx { response }] => assert_eq!(response.status(), Some(200)),
        other => panic!("expected the stray 2xx, got {other:?}"),
    }
    let late_486 = Message::response_to(&sent, 486, "Busy Here", Some("peer"));
    received(&mut c, t0 + ms(41_000), &late_486, addr(A), Transport::Udp);
    assert!(events(&mut c).is_empty(), "a stray non-2xx is dropped");
    assert_all_freed(&mut c, t0 + ms(41_000));
}
