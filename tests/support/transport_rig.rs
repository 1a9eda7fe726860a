//! A small mio loop that drives one or more `TransportLayer`s on loopback for the
//! transport tests, with bounded waits everywhere.

use std::io::{ErrorKind as IoKind, Read};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clicktocall::sip::Transport;
use clicktocall::sip::transport::{TransportConfig, TransportEvent, TransportLayer};
use mio::{Events, Poll};

/// Upper bound on any wait in these tests; reaching it is a failure, not a timing claim.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct Rig {
    pub poll: Poll,
    pub layers: Vec<TransportLayer>,
    events: Events,
    /// Events seen per layer and not yet taken by a test.
    pub seen: Vec<Vec<TransportEvent>>,
}

pub fn config(bind: &str) -> TransportConfig {
    TransportConfig {
        bind: Some(bind.parse::<IpAddr>().expect("test address")),
        udp_tcp_port: 0,
        tls_port: 0,
        cert_dir: PathBuf::from("/nonexistent-cert-dir"),
        ..TransportConfig::default()
    }
}

impl Rig {
    pub fn new(configs: Vec<TransportConfig>) -> Rig {
        let poll = Poll::new().expect("poll");
        let mut layers = Vec::new();
        for (i, cfg) in configs.into_iter().enumerate() {
            let base = 1000 + i * 100_000;
            let layer = TransportLayer::new(poll.registry(), base..base + 100_000, cfg)
                .unwrap_or_else(|e| panic!("layer {i} did not start: {e}"));
            layers.push(layer);
        }
        let seen = layers.iter().map(|_| Vec::new()).collect();
        Rig {
            poll,
            layers,
            events: Events::with_capacity(256),
            seen,
        }
    }

    pub fn addr(&self, layer: usize, transport: Transport) -> SocketAddr {
        self.layers[layer]
            .local_addrs()
            .into_iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, a)| a)
            .unwrap_or_else(|| panic!("layer {layer} has no {transport} listener"))
    }

    /// One loop turn: wait at most 20 ms (or until a layer's deadline), dispatch, run
    /// time-outs, collect events.
    pub fn turn(&mut self) {
        let now = Instant::now();
        let mut wait = Duration::from_millis(20);
        for layer in &self.layers {
            if let Some(at) = layer.poll_timeout() {
                wait = wait.min(at.saturating_duration_since(now));
            }
        }
        self.poll.poll(&mut self.events, Some(wait)).expect("poll");
        let now = Instant::now();
        for event in self.events.iter() {
            for layer in &mut self.layers {
                if layer.owns(event.token()) {
                    layer.on_event(now, event);
                }
            }
        }
        for (i, layer) in self.layers.iter_mut().enumerate() {
            if layer.poll_timeout().is_some_and(|t| t <= now) {
                layer.handle_timeout(now);
            }
            while let Some(ev) = layer.poll_event() {
                self.seen[i].push(ev);
            }
        }
    }

    /// Turns until `done` holds; panics after `PATIENCE`.
    pub fn until(&mut self, what: &str, mut done: impl FnMut(&mut Rig) -> bool) {
        let end = Instant::now() + PATIENCE;
        while !done(self) {
            assert!(Instant::now() < end, "gave up waiting for {what}");
            self.turn();
        }
    }

    /// Turns for `d` (to show something does NOT happen in that time).
    pub fn run_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.turn();
        }
    }

    /// Waits for the first event of `layer` that `pick` accepts, and removes it.
    pub fn expect_event<T>(
        &mut self,
        layer: usize,
        what: &str,
        mut pick: impl FnMut(&TransportEvent) -> Option<T>,
    ) -> T {
        let mut found = None;
        self.until(what, |rig| {
            if let Some(i) = rig.seen[layer].iter().position(|e| pick(e).is_some()) {
                let ev = rig.seen[layer].remove(i);
                found = pick(&ev);
            }
            found.is_some()
        });
        found.expect("found")
    }

    /// Waits for a message on `layer` and returns (bytes, source, transport, conn).
    pub fn expect_message(&mut self, layer: usize) -> Received {
        self.expect_event(layer, "a message", |e| match e {
            TransportEvent::Received {
                bytes,
                source,
                transport,
                local,
                conn,
            } => Some(Received {
                bytes: bytes.clone(),
                source: *source,
                transport: *transport,
                local: *local,
                conn: *conn,
            }),
            _ => None,
        })
    }

    /// Reads from a non-blocking peer stream while turning the loop, until `want` bytes
    /// came or the peer closed. Returns what was read and whether EOF was seen.
    pub fn read_peer(&mut self, peer: &mut impl Read, want: usize) -> (Vec<u8>, bool) {
        let mut got = Vec::new();
        let mut eof = false;
        self.until("peer data", |_| {
            let mut buf = [0u8; 4096];
            loop {
                match peer.read(&mut buf) {
                    Ok(0) => {
                        eof = true;
                        return true;
                    }
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == IoKind::WouldBlock => break,
                    Err(e) if e.kind() == IoKind::ConnectionReset => {
                        eof = true;
                        return true;
                    }
                    Err(e) => panic!("peer read: {e}"),
                }
            }
            got.len() >= want
        });
        (got, eof)
    }
}

#[derive(Debug, Clone)]
pub struct Received {
    pub bytes: Vec<u8>,
    pub source: SocketAddr,
    pub transport: Transport,
    pub local: SocketAddr,
    pub conn: Option<clicktocall::sip::transport::ConnId>,
}

/// A SIP request with a body, so framing has Content-Length to work with.
pub fn request(tag: &str) -> Vec<u8> {
    let body = format!("body-{tag}");
    format!(
        "MESSAGE sip:t2@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK{tag}\r\n\
         Call-ID: {tag}\r\nCSeq: 1 MESSAGE\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
