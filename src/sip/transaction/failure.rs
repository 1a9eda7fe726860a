//! How a client transaction can end without a final response, as its user hears it.

use std::fmt;

/// Why a client transaction ended without a final response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TxFailure {
    /// Timer B or F fired, or C (reported to the user as 408).
    Timeout,
    /// Every target refused or errored: connection refused, ICMP unreachable, TLS failure
    /// (reported as 503).
    Transport(String),
    /// The next hop could not be resolved (reported as 503).
    Dns(String),
    /// The request was CANCELled before any of it was sent (its next hop was still being
    /// resolved): it ends as the 487 the CANCEL would have brought (RFC 3261 §9.1).
    Cancelled,
}

impl TxFailure {
    /// The SIP status a failure stands for (RFC 3261 §8.1.3.1: a time-out is treated as
    /// 408, a transport error as 503).
    pub(crate) fn status(&self) -> u16 {
        match self {
            TxFailure::Timeout => 408,
            TxFailure::Transport(_) | TxFailure::Dns(_) => 503,
            TxFailure::Cancelled => 487,
        }
    }
}

impl fmt::Display for TxFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxFailure::Timeout => f.write_str("transaction timed out"),
            TxFailure::Transport(why) => write!(f, "transport error: {why}"),
            TxFailure::Dns(why) => write!(f, "DNS error: {why}"),
            TxFailure::Cancelled => f.write_str("cancelled before it was sent"),
        }
    }
}
