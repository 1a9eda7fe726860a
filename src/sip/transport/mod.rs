//! SIP transports (RFC 3261 §18): UDP, TCP and TLS sockets for IPv4 and IPv6, driven
//! by the reactor's mio poller. The layer delivers framed messages and transport errors
//! (including ICMP for UDP) and sends bytes to targets; parsing, routing and
//! transactions live above it.
//!
//! The reactor owns the poller and the clock. It gives the layer a token range, passes
//! it every event whose token it `owns`, and calls `handle_timeout` at `poll_timeout`;
//! after either it drains `poll_event`.

mod bind;
mod config;
mod event;
mod framing;
mod icmp;
mod keepalive;
mod layer;
mod socket;
mod stream;
mod tls;
mod udp;

pub use config::{KeepaliveIntervals, Limits, TransportConfig};
pub use event::{BindError, ConnId, ErrorKind, SendError, Target, TransportEvent};
pub use keepalive::{PING, PONG};
pub use layer::{StartError, TransportLayer};
pub use tls::TlsSetupError;
