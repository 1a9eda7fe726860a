//! Where a request goes and what happens when a target fails (RFC 3263 §4.3, RFC 3261
//! §18.1.1), and the transaction timers that make it fail (§17.1).

use super::*;

#[test]
fn resolution_asks_for_the_next_hop_and_the_request_gets_our_via() {
    let mut c = core();
    let now = Instant::now();
    let req = request("OPTIONS", "sip:bob@example.com;transport=udp", "", "");
    c.handle_command(
        now,
        SipCommand::SendRequest {
            tx: ClientTxId(1),
            request: req,
        },
    );
    let (id, lookup) = c.poll_resolve().unwrap();
    assert_eq!(id, ClientTxId(1));
    assert_eq!(
        lookup,
        ResolveRequest {
            host: "example.com".into(),
            port: None,
            transport: Some(Transport::Udp),
            secure: false
        }
    );
    assert!(
        transmits(&mut c).is_empty(),
        "nothing is sent before the answer"
    );
    c.handle_resolved(now, id, Ok(vec![dns_target(A, Transport::Udp)]));
    let (out, msg) = one_transmit(&mut c);
    assert_eq!(out.target, Target::new(addr(A), Transport::Udp));
    assert_eq!(
        out.kind,
        OutboundKind::Transaction(TxRef::Client(ClientTxId(1)))
    );
    let via = msg.top_via().unwrap();
    assert_eq!(
        via.to_string().split(';').next(),
        Some("SIP/2.0/UDP 127.0.0.1:5072")
    );
    assert_eq!(via.rport(), Some(None), "RFC 3581 §3: rport asked for");
}

#[test]
fn a_transport_error_fails_over_to_the_next_target_with_a_new_branch() {
    let mut c = core();
    let now = Instant::now();
    let targets = [dns_target(A, Transport::Udp), dns_target(B, Transport::Udp)];
    send(
        &mut c,
        now,
        1,
        request("OPTIONS", "sip:bob@example.com", "", ""),
        &targets,
    );
    let (first, first_msg) = one_transmit(&mut c);
    c.handle_transport_event(
        now,
        TransportEvent::Error {
            target: first.target,
            kind: ErrorKind::Refused,
        },
    );
    let (second, second_msg) = one_transmit(&mut c);
    assert_eq!(second.target.addr, addr(B));
    assert_ne!(
        branch(&first_msg),
        branch(&second_msg),
        "RFC 3263 §4.3: a new transaction"
    );
    assert!(
        events(&mut c).is_empty(),
        "the calls thread hears nothing yet"
    );
    // The last target failing too is reported, with the transport's reason.
    c.handle_send_failed(now, TxRef::Client(ClientTxId(1)));
    match events(&mut c).as_slice() {
        [SipEvent::TxFailed { tx, reason }] => {
            assert_eq!(*tx, ClientTxId(1));
            assert!(matches!(reason, TxFailure::Transport(_)), "{reason:?}");
        }
        other => panic!("expected TxFailed, got {other:?}"),
    }
}

#[test]
fn timer_f_moves_to_the_next_target_after_64_t1_then_reports_the_time_out() {
    let mut c = core();
    let t0 = Instant::now();
    let targets = [dns_target(A, Transport::Udp), dns_target(B, Transport::Udp)];
    send(
        &mut c,
        t0,
        1,
        request("OPTIONS", "sip:bob@example.com", "", ""),
        &targets,
    );
    let (_, first) = one_transmit(&mut c);
    let sent = run_until(&mut c, t0, t0 + ms(64_000));
    // Timer E towards A (RFC 3261 §17.1.2.2: T1 doubling, capped at T2), then at 64·T1
    // (Timer F, 32 s) the request goes to B, and 32 s later the failure is reported.
    let to_a: Vec<u64> = sent
        .iter()
        .filter(|(_, o)| o.target.addr == addr(A))
        .map(|(at, _)| at.as_millis() as u64)
        .collect();
    assert_eq!(
        to_a,
        [
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    let to_b: Vec<(u64, String)> = sent
        .iter()
        .filter(|(_, o)| o.target.addr == addr(B))
        .map(|(at, o)| {
            (
                at.as_millis() as u64,
                branch(&Message::parse(&o.bytes).unwrap()),
            )
        })
        .collect();
    assert_eq!(to_b[0].0, 32_000, "Timer F fires at 64·T1");
    assert_ne!(to_b[0].1, branch(&first));
    let evs = events(&mut c);
    assert!(
        matches!(
            evs.as_slice(),
            [SipEvent::TxFailed {
                reason: TxFailure::Timeout,
                ..
            }]
        ),
        "{evs:?}"
    );
    assert!(to_b.iter().all(|(at, _)| *at < 64_000));
}

#[test]
fn timer_b_on_an_invite_moves_to_the_next_target() {
    let mut c = core();
    let t0 = Instant::now();
    let targets = [dns_target(A, Transport::Udp), dns_target(B, Transport::Udp)];
    send(
        &mut c,
        t0,
        1,
        request("INVITE", "sip:bob@example.com", "", ""),
        &targets,
    );
    transmits(&mut c);
    let sent = run_until(&mut c, t0, t0 + ms(32_000));
    // RFC 3261 §17.1.1.2: Timer A doubles without cap; Timer B = 64·T1.
    let to_a: Vec<u64> = sent
        .iter()
        .filter(|(_, o)| o.target.addr == addr(A))
        .map(|(at, _)| at.as_millis() as u64)
        .collect();
    assert_eq!(to_a, [500, 1500, 3500, 7500, 15500, 31500]);
    let to_b: Vec<u64> = sent
        .iter()
        .filter(|(_, o)| o.target.addr == addr(B))
        .map(|(at, _)| at.as_millis() as u64)
        .collect();
    assert_eq!(to_b, [32_000]);
    assert!(events(&mut c).is_empty());
}

#[test]
fn a_503_moves_to_the_next_target_while_one_is_left_then_is_passed_up() {
    let mut c = core();
    let now = Instant::now();
    // Over TCP the answered transaction ends at once (Timer K = 0, RFC 3261 §17.1.2.2),
    // so the next target's transaction can take the same id.
    let targets = [dns_target(A, Transport::Tcp), dns_target(B, Transport::Tcp)];
    send(
        &mut c,
        now,
        1,
        request("OPTIONS", "sip:bob@example.com", "", ""),
        &targets,
    );
    let (_, to_a) = one_transmit(&mut c);
    received(
        &mut c,
        now,
        &Message::response_to(&to_a, 503, "Busy", Some("a")),
        addr(A),
        Transport::Udp,
    );
    let (out, to_b) = one_transmit(&mut c);
    assert_eq!(
        out.target.addr,
        addr(B),
        "RFC 3263 §4.3: 503 = try the next server"
    );
    assert!(events(&mut c).is_empty());
    received(
        &mut c,
        now,
        &Message::response_to(&to_b, 503, "Busy", Some("b")),
        addr(B),
        Transport::Udp,
    );
    match events(&mut c).as_slice() {
        [SipEvent::Response { tx, response, .. }] => {
            assert_eq!(*tx, ClientTxId(1));
            assert_eq!(
                response.status(),
                Some(503),
                "no target left: the 503 itself"
            );
        }
        other => panic!("expected the 503, got {other:?}"),
    }
}

#[test]
fn timer_c_before_any_answer_fails_without_trying_the_next_target() {
    // Timer C (RFC 3261 §16.6) made shorter than Timer B, so that it ends the INVITE;
    // over TCP nothing is retransmitted meanwhile.
    let mut layer = LayerConfig::default();
    layer.timers.timer_c = Some(Duration::from_secs(10));
    let mut c = ReactorCore::new(CoreConfig {
        layer,
        ..core_config()
    });
    let t0 = Instant::now();
    let targets = [dns_target(A, Transport::Tcp), dns_target(B, Transport::Tcp)];
    send(
        &mut c,
        t0,
        1,
        request("INVITE", "sip:bob@example.com", "", ""),
        &targets,
    );
    transmits(&mut c);
    let sent = run_until(&mut c, t0, t0 + Duration::from_secs(60));
    assert!(
        sent.iter().all(|(_, o)| o.target.addr != addr(B)),
        "{sent:?}"
    );
    assert!(matches!(
        events(&mut c).as_slice(),
        [SipEvent::TxFailed {
            reason: TxFailure::Timeout,
            ..
        }]
    ));
}

#[test]
fn a_large_request_goes_over_tcp_and_back_to_udp_when_tcp_fails() {
    let mut c = core();
    let now = Instant::now();
    let big = "v=0\r\n".repeat(300);
    let targets = [dns_target(A, Transport::Udp), dns_target(B, Transport::Udp)];
    send(
        &mut c,
        now,
        1,
        request("INVITE", "sip:bob@example.com", "", &big),
        &targets,
    );
    let (tcp, msg) = one_transmit(&mut c);
    // RFC 3261 §18.1.1: over 1300 bytes and no transport asked for: TCP.
    assert_eq!(tcp.target, Target::new(addr(A), Transport::Tcp));
    assert!(
        msg.top_via()
            .unwrap()
            .to_string()
            .starts_with("SIP/2.0/TCP")
    );
    c.handle_transport_event(
        now,
        TransportEvent::Error {
            target: tcp.target,
            kind: ErrorKind::Refused,
        },
    );
    // §18.1.1: TCP failed where only the size chose it: the same target over UDP.
    let (udp, msg) = one_transmit(&mut c);
    assert_eq!(udp.target, Target::new(addr(A), Transport::Udp));
    assert!(
        msg.top_via()
            .unwrap()
            .to_string()
            .starts_with("SIP/2.0/UDP")
    );
    c.handle_send_failed(now, TxRef::Client(ClientTxId(1)));
    // UDP failing too moves on, and B gets TCP first again.
    let (next, _) = one_transmit(&mut c);
    assert_eq!(next.target, Target::new(addr(B), Transport::Tcp));
}

#[test]
fn a_large_request_timing_out_over_tcp_is_not_retried_over_udp() {
    let mut c = core();
    let t0 = Instant::now();
    let big = "v=0\r\n".repeat(300);
    let targets = [dns_target(A, Transport::Udp), dns_target(B, Transport::Udp)];
    send(
        &mut c,
        t0,
        1,
        request("OPTIONS", "sip:bob@example.com", "", &big),
        &targets,
    );
    transmits(&mut c);
    let sent = run_until(&mut c, t0, t0 + ms(32_000));
    let targets: Vec<Target> = sent.into_iter().map(|(_, o)| o.target).collect();
    assert_eq!(targets, [Target::new(addr(B), Transport::Tcp)]);
}

#[test]
fn a_transport_named_in_the_uri_is_kept_for_a_large_request() {
    let mut c = core();
    let now = Instant::now();
    let big = "v=0\r\n".repeat(300);
    let req = request("INVITE", "sip:bob@example.com;transport=udp", "", &big);
    send(&mut c, now, 1, req, &[dns_target(A, Transport::Udp)]);
    let (out, _) = one_transmit(&mut c);
    assert_eq!(
        out.target.transport,
        Transport::Udp,
        "§18.1.1 does not override the URI"
    );
}

#[test]
fn without_a_udp_socket_udp_targets_are_skipped() {
    let mut c = ReactorCore::new(CoreConfig {
        udp_bound: false,
        ..core_config()
    });
    let now = Instant::now();
    let targets = [dns_target(A, Transport::Udp), dns_target(B, Transport::Tcp)];
    send(
        &mut c,
        now,
        1,
        request("OPTIONS", "sip:bob@example.com", "", ""),
        &targets,
    );
    let (out, _) = one_transmit(&mut c);
    assert_eq!(out.target, Target::new(addr(B), Transport::Tcp));
    c.handle_send_failed(now, TxRef::Client(ClientTxId(1)));
    assert!(matches!(
        events(&mut c).as_slice(),
        [SipEvent::TxFailed {
            reason: TxFailure::Transport(_),
            ..
        }]
    ));
}

#[test]
fn resolution_failures_and_a_missing_next_hop_are_dns_failures() {
    let mut c = core();
    let now = Instant::now();
    c.handle_command(
        now,
        SipCommand::SendRequest {
            tx: ClientTxId(1),
            request: request("OPTIONS", "tel:+15551234", "", ""),
        },
    );
    assert!(c.poll_resolve().is_none());
    c.handle_command(
        now,
        SipCommand::SendRequest {
            tx: ClientTxId(2),
            request: request("OPTIONS", "sip:bob@example.com", "", ""),
        },
    );
    let (id, _) = c.poll_resolve().unwrap();
    c.handle_resolved(
        now,
        id,
        Err(DnsError::NotFound {
            name: "example.com".into(),
        }),
    );
    c.handle_command(
        now,
        SipCommand::SendRequest {
            tx: ClientTxId(3),
            request: request("OPTIONS", "sip:bob@example.com", "", ""),
        },
    );
    let (id, _) = c.poll_resolve().unwrap();
    c.handle_resolved(now, id, Ok(Vec::new()));
    let failed: Vec<(u64, u16)> = events(&mut c)
        .into_iter()
        .map(|e| match e {
            SipEvent::TxFailed { tx, reason } => {
                assert!(matches!(reason, TxFailure::Dns(_)), "{reason:?}");
                (tx.0, reason.status())
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(failed, [(1, 503), (2, 503), (3, 503)]);
}
