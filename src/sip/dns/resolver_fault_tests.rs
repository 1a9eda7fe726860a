//! The resolver core under faults: silence, error answers, truncation, spoofing and
//! corrupted bytes, all on a manual clock.

use super::*;

#[test]
fn retransmits_to_each_server_in_turn_then_times_out() {
    let mut r = resolver_with(&[S1, S2], "", |_| {});
    let t0 = Instant::now();
    r.start(t0, req("ex.com", Some(5060), None, false));
    let first = only_transmit(&mut r);
    assert_eq!(first.destination, sa(S1));
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    r.handle_timeout(t0 + Duration::from_millis(999));
    assert!(
        r.poll_transmit().is_none(),
        "nothing before the attempt time-out"
    );
    let mut dests = Vec::new();
    for s in 1..5 {
        let now = t0 + Duration::from_secs(s);
        r.handle_timeout(now);
        let tx = only_transmit(&mut r);
        assert_eq!(
            tx.payload, first.payload,
            "same ID and question on retransmission"
        );
        dests.push(tx.destination);
        assert!(r.poll_result().is_none());
    }
    assert_eq!(dests, [sa(S2), sa(S1), sa(S2), sa(S1)]);
    r.handle_timeout(t0 + Duration::from_secs(5));
    assert!(r.poll_transmit().is_none());
    assert_eq!(
        result(&mut r),
        Err(DnsError::Timeout {
            name: "ex.com".into()
        })
    );
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.pending(), 0);
}

#[test]
fn late_answer_from_an_earlier_server_is_accepted() {
    let mut r = resolver_with(&[S1, S2], "", |_| {});
    let t0 = Instant::now();
    r.start(t0, req("ex.com", Some(5060), None, false));
    let tx = only_transmit(&mut r);
    r.handle_timeout(t0 + Duration::from_secs(1));
    only_transmit(&mut r);
    r.handle_udp(
        t0,
        sa(S1),
        &answer(&tx, 0, &[rr("ex.com", 1, 60, a("192.0.2.1"))], &[]),
    );
    assert_eq!(
        result(&mut r),
        Ok(vec![target("192.0.2.1:5060", Transport::Udp)])
    );
}

#[test]
fn nxdomain_is_not_found_and_cached_for_the_soa_time() {
    let mut r = resolver();
    let t0 = Instant::now();
    r.start(t0, req("nx.ex.com", None, None, false));
    let tx = only_transmit(&mut r);
    r.handle_udp(
        t0,
        sa(S1),
        &answer(&tx, 3, &[], &[rr("ex.com", 6, 600, soa(30))]),
    );
    let nf = Err(DnsError::NotFound {
        name: "nx.ex.com".into(),
    });
    assert_eq!(result(&mut r), nf);
    r.start(
        t0 + Duration::from_secs(29),
        req("nx.ex.com", None, None, false),
    );
    assert!(r.poll_transmit().is_none(), "negative answer cached");
    assert_eq!(result(&mut r), nf);
    r.start(
        t0 + Duration::from_secs(30),
        req("nx.ex.com", None, None, false),
    );
    assert_eq!(question(&only_transmit(&mut r)), ("nx.ex.com".into(), 35));
}

#[test]
fn servfail_moves_to_the_next_server_then_fails() {
    let mut r = resolver_with(&[S1, S2], "", |_| {});
    let t0 = Instant::now();
    r.start(t0, req("ex.com", Some(5060), None, false));
    let tx = only_transmit(&mut r);
    r.handle_udp(t0, sa(S1), &answer(&tx, 2, &[], &[]));
    let tx2 = only_transmit(&mut r);
    assert_eq!(tx2.destination, sa(S2), "SERVFAIL: next server at once");
    assert!(r.poll_result().is_none());
    r.handle_udp(t0, sa(S2), &answer(&tx2, 5, &[], &[])); // REFUSED
    assert_eq!(
        result(&mut r),
        Err(DnsError::ServerFailure {
            name: "ex.com".into()
        })
    );
}

#[test]
fn spoofed_or_stray_answers_are_ignored() {
    let mut r = resolver();
    let t0 = Instant::now();
    r.start(t0, req("ex.com", Some(5060), None, false));
    let tx = only_transmit(&mut r);
    let good = answer(&tx, 0, &[rr("ex.com", 1, 60, a("192.0.2.1"))], &[]);
    let mut wrong_id = good.clone();
    wrong_id[0] ^= 0xFF;
    r.handle_udp(t0, sa(S1), &wrong_id);
    r.handle_udp(t0, sa("192.0.2.66:53"), &good);
    let mut wrong_q = good.clone();
    wrong_q[13] = b'x'; // "ex" -> "xx"
    r.handle_udp(t0, sa(S1), &wrong_q);
    r.handle_udp(t0, sa(S1), &good[..good.len() - 3]);
    r.handle_udp(t0, sa(S1), b"\x00");
    r.handle_udp(t0, sa(S1), &tx.payload); // our own query echoed back: not a response
    assert!(r.poll_result().is_none(), "nothing accepted yet");
    r.handle_udp(t0, sa(S1), &good);
    assert_eq!(
        result(&mut r),
        Ok(vec![target("192.0.2.1:5060", Transport::Udp)])
    );
    r.handle_udp(t0, sa(S1), &good);
    assert!(r.poll_result().is_none(), "a duplicate answer is ignored");
}

#[test]
fn truncated_answer_is_retried_over_tcp_to_the_same_server() {
    let mut r = resolver_with(&[S1, S2], "", |_| {});
    let t0 = Instant::now();
    r.start(t0, req("ex.com", Some(5060), None, false));
    let tx = only_transmit(&mut r);
    r.handle_udp(t0, sa(S1), &answer(&tx, 0x0200, &[], &[]));
    let tcp = only_transmit(&mut r);
    assert_eq!(tcp.protocol, TransmitProtocol::Tcp);
    assert_eq!(tcp.destination, sa(S1));
    assert_eq!(tcp.deadline, t0 + Duration::from_secs(5));
    // A stale report about the UDP attempt changes nothing.
    r.handle_transmit_failure(t0, tx.handle);
    assert!(r.poll_transmit().is_none());
    let full = answer(
        &tcp,
        0,
        &[
            rr("ex.com", 1, 60, a("192.0.2.1")),
            rr("ex.com", 1, 60, a("192.0.2.2")),
        ],
        &[],
    );
    r.handle_tcp_response(t0, tcp.handle, &full);
    assert_eq!(
        result(&mut r),
        Ok(vec![
            target("192.0.2.1:5060", Transport::Udp),
            target("192.0.2.2:5060", Transport::Udp)
        ])
    );
}

#[test]
fn tcp_failure_moves_on_and_tcp_deadline_times_out() {
    let mut r = resolver_with(&[S1, S2], "", |_| {});
    let t0 = Instant::now();
    r.start(t0, req("ex.com", Some(5060), None, false));
    let tx = only_transmit(&mut r);
    r.handle_udp(t0, sa(S1), &answer(&tx, 0x0200, &[], &[]));
    let tcp = only_transmit(&mut r);
    r.handle_transmit_failure(t0, tcp.handle);
    let next = only_transmit(&mut r);
    assert_eq!(
        (next.destination, next.protocol),
        (sa(S2), TransmitProtocol::Udp)
    );
    r.handle_udp(t0, sa(S2), &answer(&next, 0x0200, &[], &[]));
    let tcp2 = only_transmit(&mut r);
    // Garbage on the TCP stream from the last server: server failure for all.
    r.handle_tcp_response(t0, tcp2.handle, b"garbage");
    assert_eq!(
        result(&mut r),
        Err(DnsError::ServerFailure {
            name: "ex.com".into()
        })
    );

    let mut r = resolver();
    r.start(t0, req("ex.com", Some(5060), None, false));
    let tx = only_transmit(&mut r);
    r.handle_udp(t0, sa(S1), &answer(&tx, 0x0200, &[], &[]));
    only_transmit(&mut r);
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    r.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(
        result(&mut r),
        Err(DnsError::Timeout {
            name: "ex.com".into()
        })
    );
}

#[test]
fn send_failure_moves_to_the_next_server_immediately() {
    let mut r = resolver_with(&[S1, S2], "", |_| {});
    let t0 = Instant::now();
    r.start(t0, req("ex.com", Some(5060), None, false));
    let tx = only_transmit(&mut r);
    r.handle_transmit_failure(t0, tx.handle);
    let tx2 = only_transmit(&mut r);
    assert_eq!(tx2.destination, sa(S2));
    r.handle_transmit_failure(t0, tx2.handle);
    assert_eq!(
        result(&mut r),
        Err(DnsError::ServerFailure {
            name: "ex.com".into()
        })
    );
}

#[test]
fn naptr_servfail_still_tries_srv_but_naptr_timeout_ends_it() {
    let mut r = resolver();
    let t0 = Instant::now();
    r.start(t0, req("ex.com", None, None, false));
    let tx = only_transmit(&mut r);
    r.handle_udp(t0, sa(S1), &answer(&tx, 2, &[], &[]));
    let txs = transmits(&mut r);
    assert_eq!(txs.len(), 3, "SRV for UDP, TCP and TLS");
    for tx in &txs {
        r.handle_udp(t0, sa(S1), &answer(tx, 2, &[], &[]));
    }
    assert_eq!(
        result(&mut r),
        Err(DnsError::ServerFailure {
            name: "_sip._udp.ex.com".into()
        })
    );

    let mut r = resolver();
    r.start(t0, req("ex.com", None, None, false));
    only_transmit(&mut r);
    for s in 1..=5 {
        r.handle_timeout(t0 + Duration::from_secs(s));
    }
    assert_eq!(
        result(&mut r),
        Err(DnsError::Timeout {
            name: "ex.com".into()
        })
    );
    assert!(
        transmits(&mut r).iter().all(|t| question(t).1 == 35),
        "no SRV after a NAPTR time-out"
    );
}

#[test]
fn mutated_answers_never_panic_and_every_resolution_still_ends() {
    // Deterministic byte flips of real NAPTR, SRV and A answers, fed as if from the
    // server; whatever is (mis)accepted, the resolution must end by the query bound.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..300 {
        let mut r = resolver_with(&[S1], "", |c| c.ipv6 = true);
        let t0 = Instant::now();
        r.start(t0, req("ex.com", None, None, false));
        let mut now = t0;
        for _ in 0..50 {
            let txs = transmits(&mut r);
            if txs.is_empty() && r.poll_result().is_some() {
                break;
            }
            for tx in txs {
                let (name, qtype) = question(&tx);
                let records = match qtype {
                    35 => vec![rr(
                        &name,
                        35,
                        60,
                        naptr(1, 1, "SIP+D2U", "_sip._udp.ex.com"),
                    )],
                    33 => vec![rr(&name, 33, 60, srv(1, 1, 5060, "a.ex.com"))],
                    1 => vec![rr(&name, 1, 60, a("192.0.2.1"))],
                    _ => vec![rr(&name, 28, 60, a("2001:db8::1"))],
                };
                let mut m = answer(&tx, 0, &records, &[rr("ex.com", 6, 60, soa(60))]);
                for _ in 0..(round % 4) {
                    let v = next();
                    let at = (v as usize) % m.len();
                    m[at] = (v >> 40) as u8;
                }
                if round % 5 == 0 {
                    m.truncate((next() as usize) % m.len());
                }
                if tx.protocol == TransmitProtocol::Tcp {
                    r.handle_tcp_response(now, tx.handle, &m);
                } else {
                    r.handle_udp(now, sa(S1), &m);
                }
            }
            now += Duration::from_millis(500);
            r.handle_timeout(now);
        }
        assert_eq!(
            r.pending(),
            0,
            "round {round}: a resolution was left hanging"
        );
    }
}
