//! What the transport layer is told at start-up: where to listen, where the TLS files are,
//! and the bounds that keep a misbehaving peer from exhausting the process.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Start-up settings of the transport layer (from `IPAddress`, `UDPTCPPort`, `TLSPort`,
/// `TLSDomainName` and `KeepAlives` of the legacy config).
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// `None`: every interface, IPv4 and also IPv6 when the host has it. An IPv6 address
    /// gives IPv6 transports only, an IPv4 address IPv4 only.
    pub bind: Option<IpAddr>,
    /// UDP and TCP listen on this port; 0 picks a free one (tests).
    pub udp_tcp_port: u16,
    /// TLS listens on this port; 0 picks a free one (tests).
    pub tls_port: u16,
    /// Names the server certificate files `domain_cert_<tls_domain>.pem` and
    /// `domain_key_<tls_domain>.pem`. Empty: no TLS listener (client TLS still works).
    pub tls_domain: String,
    /// Where the certificate files and `root_cert_*.pem` are looked for.
    pub cert_dir: PathBuf,
    /// Send CRLF keepalives (RFC 5626 §4.4.1) to registered targets.
    pub keepalives: bool,
    pub keepalive_intervals: KeepaliveIntervals,
    pub limits: Limits,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            bind: None,
            udp_tcp_port: 5060,
            tls_port: 5061,
            tls_domain: String::new(),
            cert_dir: PathBuf::from("."),
            keepalives: false,
            keepalive_intervals: KeepaliveIntervals::default(),
            limits: Limits::default(),
        }
    }
}

/// How often a keepalive goes out. The defaults are the C++ original's: 30 s for UDP
/// targets, 180 s for TCP/TLS connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepaliveIntervals {
    pub datagram: Duration,
    pub stream: Duration,
}

impl Default for KeepaliveIntervals {
    fn default() -> Self {
        KeepaliveIntervals {
            datagram: Duration::from_secs(30),
            stream: Duration::from_secs(180),
        }
    }
}

/// Bounds on what peers can make the layer hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open TCP/TLS connections (incoming and outgoing together). At the limit the
    /// oldest idle connection is closed to make room; when none is idle the new one is
    /// refused.
    pub max_connections: usize,
    /// A connection with no traffic for this long is closed, unless it carries a dialog
    /// (see `TransportLayer::keepalive_add`).
    pub idle_timeout: Duration,
    /// A TCP connect plus TLS handshake that takes longer than this fails.
    pub handshake_timeout: Duration,
    /// Largest SIP message accepted or sent, in bytes (UDP datagram or framed message).
    pub max_message: usize,
    /// Bytes queued for sending on one connection before `send` refuses more.
    pub max_queued: usize,
    /// Incoming connections accepted at most from one remote IP address.
    pub max_connections_per_ip: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            idle_timeout: Duration::from_secs(120),
            handshake_timeout: Duration::from_secs(10),
            max_message: 64 * 1024,
            max_queued: 1024 * 1024,
            max_connections_per_ip: 256,
        }
    }
}
