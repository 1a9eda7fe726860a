//! The values that cross the transport layer's boundary: send targets, events for the
//! reactor, and the errors of binding and sending.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use crate::sip::Transport;

/// Where a message goes: the address and transport chosen by RFC 3263 resolution or by
/// §18.2.2 response routing, and for TLS the name the server certificate must carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub addr: SocketAddr,
    pub transport: Transport,
    /// The host name to verify in the server certificate (and send as SNI). `None`
    /// verifies the IP address itself.
    pub tls_name: Option<String>,
}

impl Target {
    pub fn new(addr: SocketAddr, transport: Transport) -> Self {
        Target {
            addr,
            transport,
            tls_name: None,
        }
    }

    pub fn tls(addr: SocketAddr, name: impl Into<String>) -> Self {
        Target {
            addr,
            transport: Transport::Tls,
            tls_name: Some(name.into()),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.transport, self.addr)?;
        if let Some(name) = &self.tls_name {
            write!(f, " ({name})")?;
        }
        Ok(())
    }
}

/// Identifies one TCP or TLS connection for as long as it is open; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// What the reactor learns from the transport layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportEvent {
    /// One SIP message: a whole UDP datagram, or one message framed out of a stream.
    /// Keepalive pings and pongs are answered or dropped here and never reported.
    Received {
        bytes: Vec<u8>,
        source: SocketAddr,
        transport: Transport,
        /// The local address the message arrived on: the address it was sent to, also
        /// on sockets bound to all interfaces (IP_PKTINFO, or the connection's address).
        local: SocketAddr,
        /// The connection it came on (TCP/TLS), to send the response on (§18.2.2).
        conn: Option<ConnId>,
    },
    /// Messages to `target` cannot be delivered: the transaction using it should fail
    /// over to the next address (RFC 3263 §4.3) or report a transport error.
    Error { target: Target, kind: ErrorKind },
}

/// Why delivery to a target failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// TCP RST on connect, or ICMP port unreachable for UDP.
    Refused,
    /// ICMP host or network unreachable (or the local route says so).
    Unreachable,
    /// The connection was reset or closed with messages still queued.
    Reset,
    /// TCP connect plus TLS handshake did not finish within the handshake time-out.
    TimedOut,
    /// The TLS handshake failed (certificate or host name not accepted, protocol error).
    Tls(String),
    /// Any other socket error, with the system's text.
    Io(String),
}

impl ErrorKind {
    pub(crate) fn from_io(err: &io::Error) -> Self {
        match err.raw_os_error() {
            Some(libc::ECONNREFUSED) => ErrorKind::Refused,
            Some(libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EHOSTDOWN) => {
                ErrorKind::Unreachable
            }
            Some(libc::ECONNRESET | libc::EPIPE | libc::ECONNABORTED) => ErrorKind::Reset,
            Some(libc::ETIMEDOUT) => ErrorKind::TimedOut,
            _ => ErrorKind::Io(err.to_string()),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Refused => f.write_str("connection refused"),
            ErrorKind::Unreachable => f.write_str("destination unreachable"),
            ErrorKind::Reset => f.write_str("connection reset"),
            ErrorKind::TimedOut => f.write_str("connection timed out"),
            ErrorKind::Tls(why) => write!(f, "TLS handshake failed: {why}"),
            ErrorKind::Io(why) => write!(f, "socket error: {why}"),
        }
    }
}

/// A listener could not be opened.
#[derive(Debug)]
pub struct BindError {
    pub transport: Transport,
    pub addr: SocketAddr,
    pub source: io::Error,
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot listen on {} {} (port {}): {}",
            self.transport,
            self.addr,
            self.addr.port(),
            self.source
        )
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A message could not be queued for sending. Failures found later (connect refused,
/// TLS rejected, ICMP) come as `TransportEvent::Error` instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// No socket of that transport and address family (for example TLS without
    /// certificates is still available as a client, but IPv6 may not be).
    NoTransport {
        transport: Transport,
        addr: SocketAddr,
    },
    /// The message is larger than the configured maximum.
    TooLarge { len: usize, max: usize },
    /// The connection's send queue is full.
    QueueFull,
    /// The connection limit is reached and no idle connection could be closed.
    TooManyConnections,
    /// The connection named by `send_on` is closed.
    NoConnection(super::ConnId),
    /// The socket refused the message at once.
    Io(ErrorKind),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoTransport { transport, addr } => {
                write!(f, "no {transport} transport for {addr}")
            }
            SendError::TooLarge { len, max } => {
                write!(f, "message of {len} bytes exceeds the limit of {max}")
            }
            SendError::QueueFull => f.write_str("send queue of the connection is full"),
            SendError::TooManyConnections => f.write_str("too many open connections"),
            SendError::NoConnection(id) => write!(f, "{id} is closed"),
            SendError::Io(kind) => write!(f, "{kind}"),
        }
    }
}

impl std::error::Error for SendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_errors_map_to_transport_errors() {
        let kind = |errno| ErrorKind::from_io(&io::Error::from_raw_os_error(errno));
        assert_eq!(kind(libc::ECONNREFUSED), ErrorKind::Refused);
        assert_eq!(kind(libc::EHOSTUNREACH), ErrorKind::Unreachable);
        assert_eq!(kind(libc::ENETUNREACH), ErrorKind::Unreachable);
        assert_eq!(kind(libc::ECONNRESET), ErrorKind::Reset);
        assert_eq!(kind(libc::EPIPE), ErrorKind::Reset);
        assert_eq!(kind(libc::ETIMEDOUT), ErrorKind::TimedOut);
        assert!(matches!(kind(libc::EACCES), ErrorKind::Io(_)));
    }

    #[test]
    fn messages_name_what_failed() {
        let bind = BindError {
            transport: Transport::Tcp,
            addr: "[::1]:5060".parse().unwrap(),
            source: io::Error::from_raw_os_error(libc::EADDRINUSE),
        };
        let text = bind.to_string();
        assert!(
            text.contains("TCP [::1]:5060") && text.contains("port 5060"),
            "{text}"
        );
        let target = Target::tls("127.0.0.1:5061".parse().unwrap(), "sip.example.com");
        assert_eq!(target.to_string(), "TLS 127.0.0.1:5061 (sip.example.com)");
        assert_eq!(
            SendError::TooLarge {
                len: 70000,
                max: 65536
            }
            .to_string(),
            "message of 70000 bytes exceeds the limit of 65536"
        );
    }
}
