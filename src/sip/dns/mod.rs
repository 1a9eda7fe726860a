//! RFC 3263 server location for SIP: which addresses, ports and transports to try, in
//! which order, for a request to a host.
//!
//! Three layers:
//! - [`message`] and `name`: the DNS wire format (RFC 1035, RFC 2782, RFC 3403, RFC 3596).
//! - [`Resolver`]: the sans-IO core. It is fed the current time, received datagrams and
//!   TCP answers; it hands back packets to send ([`Transmit`]), its next deadline and
//!   finished resolutions. Tests drive it with a manual clock.
//! - [`DnsDriver`]: the thin non-blocking mio layer the reactor thread owns (one UDP
//!   socket per address family, short-lived TCP streams for truncated answers).
//!
//! A host written short (`pbx`) goes through the resolv.conf search list first
//! (`search`, see the `search` module); SRV targets and NAPTR replacements are absolute
//! names and never do.
//!
//! Results are `Vec<Target>` in the order to try them: on a transport error, a 503 or a
//! transaction time-out the caller moves to the next element (RFC 3263 §4.3).

mod cache;
mod driver;
pub mod message;
mod name;
mod order;
mod random;
mod resolution;
mod resolver;
mod search;
mod system_files;

use std::fmt;
use std::net::SocketAddr;

use crate::sip::Transport;

pub use driver::DnsDriver;
pub use message::RecordType;
pub use name::NameError;
pub use random::{OsRandom, RandomSource, SeededRandom};
pub use resolver::{QueryHandle, Resolver, ResolverConfig, Transmit, TransmitProtocol};
pub use system_files::{HostsFile, ResolvConf, load_resolv_conf, parse_resolv_conf};

/// What to locate: the host part of a SIP URI and what the URI says about port, transport
/// and scheme (RFC 3263 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRequest {
    /// A domain name or an IP literal (IPv6 without brackets; brackets are tolerated).
    pub host: String,
    pub port: Option<u16>,
    /// The URI's `transport=` parameter.
    pub transport: Option<Transport>,
    /// A `sips:` URI: only TLS targets are acceptable.
    pub secure: bool,
}

/// One place to send the request to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    pub addr: SocketAddr,
    pub transport: Transport,
}

/// Identifies one resolution started with [`Resolver::start`] / [`DnsDriver::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResolveId(pub u64);

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.transport, self.addr)
    }
}

impl fmt::Display for ResolveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dns#{}", self.0)
    }
}

/// Why a resolution produced no target. Every failure ends in one of these, never in a
/// resolution that does not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsError {
    /// NXDOMAIN, or the name has no usable record (RFC 2782: SRV target ".").
    NotFound { name: String },
    /// Every server answered SERVFAIL/REFUSED/NOTIMP/FORMERR or could not be reached.
    ServerFailure { name: String },
    /// No answer within the query time-out, retransmissions included.
    Timeout { name: String },
    /// The host cannot be looked up (bad characters, over-long label, sips over UDP).
    InvalidRequest { host: String, reason: String },
    /// No DNS server is configured and the name is not in the hosts file.
    NoServers { name: String },
    /// Too many resolutions in progress; the caller should fail the request (503-like).
    Overloaded,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::NotFound { name } => write!(f, "DNS: {name} not found"),
            DnsError::ServerFailure { name } => write!(f, "DNS: server failure resolving {name}"),
            DnsError::Timeout { name } => write!(f, "DNS: time-out resolving {name}"),
            DnsError::InvalidRequest { host, reason } => {
                write!(f, "DNS: cannot resolve {host:?}: {reason}")
            }
            DnsError::NoServers { name } => {
                write!(f, "DNS: no server configured to resolve {name}")
            }
            DnsError::Overloaded => f.write_str("DNS: too many resolutions in progress"),
        }
    }
}

impl std::error::Error for DnsError {}

/// One question: a normalised (lower-case, no trailing dot) name and a record type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LookupKey {
    pub name: String,
    pub rtype: RecordType,
}

impl LookupKey {
    pub(crate) fn new(name: &str, rtype: RecordType) -> Self {
        LookupKey {
            name: name::normalize(name),
            rtype,
        }
    }
}

/// The outcome of one lookup: records of the asked type (empty for NODATA) or an error.
pub(crate) type Answer = Result<Vec<message::RData>, DnsError>;
