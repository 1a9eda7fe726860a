//! What the reactor counts for `/metrics`: SIP messages in and out by method (responses
//! by code class) and transport, the transactions held, and the next-hop resolutions of
//! host names and their failures. Fixed arrays of atomics: the reactor thread, the only
//! writer, bumps one counter per message (no lock, no allocation); the calls thread copies
//! them out when `/metrics` asks ([`SipStats::snapshot`]).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::sip::Transport;
use crate::sip::msg::{Message, Method};

/// The label values of a message's kind, in index order: the methods we know, `other`,
/// then the response classes.
pub(crate) const KINDS: [&str; KIND_COUNT] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "REFER",
    "NOTIFY",
    "SUBSCRIBE",
    "UPDATE",
    "PRACK",
    "INFO",
    "MESSAGE",
    "PUBLISH",
    "other",
    "1xx",
    "2xx",
    "3xx",
    "4xx",
    "5xx",
    "6xx",
];
const KIND_COUNT: usize = 21;
/// Index of the first response class in [`KINDS`].
pub(crate) const FIRST_CLASS: usize = 15;
const OTHER: usize = 14;

/// The label values of the transports, in index order.
pub(crate) const TRANSPORTS: [&str; 3] = ["udp", "tcp", "tls"];

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    In = 0,
    Out = 1,
}

/// The label values of the directions, in index order.
pub(crate) const DIRECTIONS: [&str; 2] = ["in", "out"];

/// The reactor's counters (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct SipStats {
    /// `[direction][transport][kind]`.
    messages: [[[AtomicU64; KIND_COUNT]; 3]; 2],
    /// Transactions held now: client live, client finished, server live, server finished.
    transactions: [AtomicU64; 4],
    dns_lookups: AtomicU64,
    dns_failures: AtomicU64,
}

/// A copy of [`SipStats`], for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SipSnapshot {
    /// `[direction][transport][kind]`, indexed like [`DIRECTIONS`], [`TRANSPORTS`], [`KINDS`].
    pub messages: [[[u64; KIND_COUNT]; 3]; 2],
    /// Client live, client finished, server live, server finished.
    pub transactions: [u64; 4],
    pub dns_lookups: u64,
    pub dns_failures: u64,
}

fn transport_index(t: Transport) -> usize {
    match t {
        Transport::Udp => 0,
        Transport::Tcp => 1,
        Transport::Tls => 2,
    }
}

fn method_index(m: &Method) -> usize {
    match m {
        Method::Invite => 0,
        Method::Ack => 1,
        Method::Bye => 2,
        Method::Cancel => 3,
        Method::Options => 4,
        Method::Register => 5,
        Method::Refer => 6,
        Method::Notify => 7,
        Method::Subscribe => 8,
        Method::Update => 9,
        Method::Prack => 10,
        Method::Info => 11,
        Method::Message => 12,
        Method::Publish => 13,
        Method::Other(_) => OTHER,
    }
}

fn class_index(code: u16) -> usize {
    match code {
        100..=699 => FIRST_CLASS + usize::from(code / 100) - 1,
        _ => OTHER,
    }
}

/// The kind of a parsed message.
pub(crate) fn kind_of(msg: &Message) -> usize {
    match (msg.method(), msg.status()) {
        (Some(m), _) => method_index(m),
        (None, Some(code)) => class_index(code),
        (None, None) => OTHER,
    }
}

/// The kind of a message we are about to send, from its start line alone (the bytes
/// are ours, built from a `Message`): `SIP/2.0 NNN` or the method token.
pub(crate) fn kind_of_bytes(bytes: &[u8]) -> usize {
    if let Some(rest) = bytes.strip_prefix(b"SIP/2.0 ") {
        return match rest.first() {
            Some(d @ b'1'..=b'6') => FIRST_CLASS + usize::from(d - b'1'),
            _ => OTHER,
        };
    }
    let token = bytes.split(|b| *b == b' ').next().unwrap_or_default();
    std::str::from_utf8(token)
        .ok()
        .and_then(|t| Method::parse(t).ok())
        .map_or(OTHER, |m| method_index(&m))
}

impl SipStats {
    /// One message of `kind` (see [`kind_of`]) went `dir` over `transport`.
    pub(crate) fn message(&self, dir: Direction, transport: Transport, kind: usize) {
        if let Some(c) = self.messages[dir as usize][transport_index(transport)].get(kind) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The transactions held now: `[client live, client finished, server live, server
    /// finished]`.
    pub(crate) fn set_transactions(&self, held: [usize; 4]) {
        for (c, n) in self.transactions.iter().zip(held) {
            c.store(n as u64, Ordering::Relaxed);
        }
    }

    /// A next hop named by a host name was resolved (RFC 3263).
    pub(crate) fn dns_lookup(&self) {
        self.dns_lookups.fetch_add(1, Ordering::Relaxed);
    }

    /// A resolution of a host name gave no address.
    pub(crate) fn dns_failure(&self) {
        self.dns_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> SipSnapshot {
        let mut s = SipSnapshot::default();
        for (d, dir) in self.messages.iter().enumerate() {
            for (t, transport) in dir.iter().enumerate() {
                for (k, c) in transport.iter().enumerate() {
                    s.messages[d][t][k] = c.load(Ordering::Relaxed);
                }
            }
        }
        for (n, c) in s.transactions.iter_mut().zip(&self.transactions) {
            *n = c.load(Ordering::Relaxed);
        }
        s.dns_lookups = self.dns_lookups.load(Ordering::Relaxed);
        s.dns_failures = self.dns_failures.load(Ordering::Relaxed);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_line_gives_the_kind() {
        let kind = |b: &[u8]| KINDS[kind_of_bytes(b)];
        assert_eq!(kind(b"INVITE sip:a@b SIP/2.0\r\n"), "INVITE");
        assert_eq!(kind(b"NOTIFY sip:a@b SIP/2.0\r\n"), "NOTIFY");
        assert_eq!(kind(b"SIP/2.0 180 Ringing\r\n"), "1xx");
        assert_eq!(kind(b"SIP/2.0 202 Accepted\r\n"), "2xx");
        assert_eq!(kind(b"SIP/2.0 603 Decline\r\n"), "6xx");
        assert_eq!(kind(b"FOO sip:a@b SIP/2.0\r\n"), "other");
        assert_eq!(kind(b""), "other");
        let parsed = Message::parse(b"SIP/2.0 486 Busy\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").unwrap();
        assert_eq!(KINDS[kind_of(&parsed)], "4xx");
    }

    #[test]
    fn counts_go_to_their_direction_transport_and_kind() {
        let s = SipStats::default();
        s.message(Direction::Out, Transport::Tcp, 0);
        s.message(Direction::Out, Transport::Tcp, 0);
        s.message(Direction::In, Transport::Udp, FIRST_CLASS + 1);
        s.set_transactions([1, 2, 3, 4]);
        s.dns_lookup();
        let snap = s.snapshot();
        assert_eq!(snap.messages[1][1][0], 2);
        assert_eq!(snap.messages[0][0][FIRST_CLASS + 1], 1);
        assert_eq!(snap.messages.iter().flatten().flatten().sum::<u64>(), 3);
        assert_eq!(snap.transactions, [1, 2, 3, 4]);
        assert_eq!((snap.dns_lookups, snap.dns_failures), (1, 0));
    }
}
