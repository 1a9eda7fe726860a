//! Transaction layer tests: hand-built messages, a manual clock, assertions on what the
//! layer transmits and reports.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;

mod client;
mod finished;
mod server;
use crate::sip::Transport;
use crate::sip::msg::{Message, Method};
use crate::sip::transaction::{ClientTxId, ServerTxId};
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
