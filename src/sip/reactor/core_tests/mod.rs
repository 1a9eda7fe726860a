//! The reactor core driven by hand: commands in, resolver answers and received bytes fed
//! back, a manual clock; assertions on what it writes, asks and reports. Routing and
//! failover in `failover`; answers, ACKs and dialogs in `dialogs`. This module holds the
//! helpers both use.

mod dialogs;
mod failover;
mod flows;
mod issue17;

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
