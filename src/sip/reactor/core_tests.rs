//! The reactor core driven by hand: commands in, resolver answers and received bytes fed
//! back, a manual clock; assertions on what it writes, asks and reports.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::core::{CoreConfig, Keepalive, Outbound, OutboundKind, ReactorCore};
use super::interface::{SipCommand, SipEvent};
use crate::sip::Transport;
use crate::sip::dns::{self, DnsError, ResolveRequest};
use crate::sip::msg::{Message, Method, Uri};
use crate::sip::transaction::{ClientTxId, LayerConfig, ServerTxId, TxFailure, TxRef};
use crate::sip::transport::{ErrorKind, Target, TransportEvent};

const LOCAL: &str = "127.0.0.1:5072";
const A: &str = "192.0.2.1:5060";
const B: &str = "192.0.2.2:5060";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn dns_target(a: &str, transport: Transport) -> dns::Target {
    dns::Target {
        addr: addr(a),
        transport,
    }
}

fn core_config() -> CoreConfig {
    CoreConfig {
        layer: LayerConfig::default(),
        advertised_ip: Some("127.0.0.1".parse().unwrap()),
        local_addrs: vec![(Transport::Udp, addr(LOCAL)), (Transport::Tcp, addr(LOCAL))],
        udp_bound: true,
        source_ip: |_| None,
    }
}

fn core() -> ReactorCore {
    ReactorCore::new(core_config())
}

fn parse(text: &str) -> Message {
    Message::parse(text.replace('\n', "\r\n").as_bytes()).expect("test message parses")
}

/// A request of the calls thread (no Via yet: the core adds it), with `extra` headers
/// (`Name: value` lines) and `body`.
fn request(method: &str, uri: &str, extra: &str, body: &str) -> Message {
    let mut m = Message::new_request(Method::parse(method).unwrap(), Uri::parse(uri).unwrap());
    let headers = format!(
        "Max-Forwards: 70\n{extra}To: <sip:bob@example.com>\nFrom: <sip:click2call@127.0.0.1>;tag=ours\nCall-ID: call-1\nCSeq: 1 {method}\nContact: <sip:click2call@127.0.0.1:5072>"
    );
    for line in headers.lines() {
        let (name, value) = line.split_once(": ").unwrap();
        m.push_header(name, value);
    }
    if !body.is_empty() {
        m.set_body(Some("application/sdp"), body.as_bytes().to_vec());
    }
    m
}

fn transmits(c: &mut ReactorCore) -> Vec<Outbound> {
    std::iter::from_fn(|| c.poll_transmit()).collect()
}

fn events(c: &mut ReactorCore) -> Vec<SipEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn keepalives(c: &mut ReactorCore) -> Vec<Keepalive> {
    std::iter::from_fn(|| c.poll_keepalive()).collect()
}

fn one_transmit(c: &mut ReactorCore) -> (Outbound, Message) {
    let mut out = transmits(c);
    assert_eq!(out.len(), 1, "expected one transmission, got {out:?}");
    let out = out.remove(0);
    let msg = Message::parse(&out.bytes).expect("core output parses");
    (out, msg)
}

/// Send `req` as client transaction `tx` and answer its resolution with `targets`.
fn send(c: &mut ReactorCore, now: Instant, tx: u64, req: Message, targets: &[dns::Target]) {
    c.handle_command(
        now,
        SipCommand::SendRequest {
            tx: ClientTxId(tx),
            request: req,
        },
    );
    let (id, _) = c.poll_resolve().expect("the next hop is resolved");
    assert_eq!(id, ClientTxId(tx));
    c.handle_resolved(now, id, Ok(targets.to_vec()));
}

fn received(c: &mut ReactorCore, now: Instant, msg: &Message, from: SocketAddr, t: Transport) {
    c.handle_transport_event(
        now,
        TransportEvent::Received {
            bytes: msg.to_bytes(),
            source: from,
            transport: t,
            local: addr(LOCAL),
            conn: None,
        },
    );
}

fn branch(m: &Message) -> String {
    m.top_via().unwrap().branch().unwrap().to_string()
}

/// Advance to `to`, waking at each deadline the core gives; every transmission on the way
/// with the instant it was made.
fn run_until(c: &mut ReactorCore, t0: Instant, to: Instant) -> Vec<(Duration, Outbound)> {
    let mut sent = Vec::new();
    while let Some(at) = c.poll_timeout().filter(|at| *at <= to) {
        c.handle_timeout(at);
        sent.extend(transmits(c).into_iter().map(|o| (at - t0, o)));
    }
    sent
}

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
        [SipEvent::Response { tx, response }] => {
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
    let ack = request("ACK", "sip:bob@192.0.2.1", "", "");
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
