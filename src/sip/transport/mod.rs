//! SIP transports (RFC 3261 §18): UDP, TCP and TLS sockets for IPv4 and IPv6, driven
//! by the reactor's mio poller. The layer delivers framed messages and transport errors
//! (including ICMP for UDP) and sends bytes to targets; parsing, routing and
//! transactions live above it.
//!
//! The reactor owns the poller and the clock. It gives the layer a token range, passes
//! it every event whose token it `owns`, and calls `handle_timeout` at `poll_timeout`;
//! after either it drains `poll_event`.
//!
//! ```no_run
//! use std::time::Instant;
//! use clicktocall::sip::Transport;
//! use clicktocall::sip::transport::{Target, TransportConfig, TransportEvent, TransportLayer};
//!
//! let mut poll = mio::Poll::new()?;
//! let mut events = mio::Events::with_capacity(256);
//! let mut layer = TransportLayer::new(poll.registry(), 1000..1_000_000, TransportConfig::default())?;
//! let peer = Target::new("127.0.0.1:5060".parse()?, Transport::Udp);
//! layer.send(Instant::now(), &peer, b"OPTIONS sip:x SIP/2.0\r\n\r\n")?;
//! loop {
//!     let timeout = layer.poll_timeout().map(|t| t.saturating_duration_since(Instant::now()));
//!     poll.poll(&mut events, timeout)?;
//!     let now = Instant::now();
//!     for event in events.iter() {
//!         if layer.owns(event.token()) {
//!             layer.on_event(now, event);
//!         }
//!     }
//!     layer.handle_timeout(now);
//!     while let Some(event) = layer.poll_event() {
//!         match event {
//!             TransportEvent::Received { bytes, source, .. } => { /* parse with sip::msg */ }
//!             TransportEvent::Error { target, kind } => { /* fail over or fail the transaction */ }
//!         }
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bind;
mod config;
mod event;
mod framing;
mod icmp;
mod keepalive;
mod layer;
mod stream;
mod tls;
mod udp;

pub use config::{KeepaliveIntervals, Limits, TransportConfig};
pub use event::{BindError, ConnId, ErrorKind, SendError, Target, TransportEvent};
pub use keepalive::{PING, PONG};
pub use layer::{TransportLayer, TransportStartError, probe_source_ip};
pub use tls::TlsSetupError;
