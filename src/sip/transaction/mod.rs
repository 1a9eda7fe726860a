//! SIP transactions (RFC 3261 §17, amended by RFC 6026).
//!
//! The four state machines — client INVITE, client non-INVITE, server INVITE and server
//! non-INVITE — are sans-IO: they never touch a socket or read the clock. The caller feeds
//! them inputs with the current time (`handle_response`, `handle_timeout`, ...) and drains
//! what they decided with [`poll_action`](ClientInvite::poll_action) and the next deadline
//! with [`poll_timeout`](ClientInvite::poll_timeout). The messages themselves stay with the
//! caller (the transaction layer): a machine only says "retransmit the request", "send the
//! ACK", "resend the last response".
//!
//! [`TransactionLayer`] owns the machines of the reactor, keyed per RFC 3261 §17.1.3 and
//! §17.2.3, holds the messages, builds the ACK for a non-2xx final (§17.1.1.3), the CANCEL
//! of an INVITE (§9.1) and the answer to a received CANCEL (§9.2), and reports
//! [`TxEvent`]s; the reactor's core hands its [`Transmit`]s to the transports.
//!
//! # Layer API at a glance
//!
//! - `TransactionLayer::new(LayerConfig { timers: Timers { t1, t2, t4, timer_c }, .. })`
//! - `send_request_on(now, ClientTxId, request, Target, Option<ConnId>) -> Result<(),
//!   LayerError>`: the request carries its top Via with a fresh branch; UDP targets get
//!   retransmissions; a connection given is written on (the dialog's, RFC 5923-style).
//! - `cancel(now, ClientTxId)`: CANCEL an INVITE (held until a provisional, §9.1).
//! - `respond(now, ServerTxId, response) -> Result<(), LayerError>`.
//! - `handle_message(now, Message, Origin)`: everything parsed from the network.
//! - `transport_error(now, TxRef)`, `target_failed(now, &Target)`: sending failed.
//! - `handle_timeout(now)` at `poll_timeout()`; then drain `poll_transmit()` (bytes, a
//!   target, for responses the connection to try first) and `poll_event()`.
//!
//! Timer C: before any provisional it ends the INVITE like Timer B (`TxEvent::Timeout`
//! with `TimerKind::C`); after one, the layer CANCELs the INVITE itself and the 487 comes
//! up as the final response. After any CANCEL the INVITE waits 64*T1 for its final
//! response, then ends as a Timer C time-out (RFC 3261 §9.1). Transactions
//! with nothing left to decide — a client one that had its non-2xx final (Completed,
//! Timers D/K), a server one that sent its final (non-INVITE Completed, Timer J; INVITE
//! Confirmed, Timer I) — leave their maps for a compact store (`finished`: key hash,
//! address, deadline, the bytes to resend) bounded by `LayerConfig::finished_budget`,
//! oldest dropped first; the user's id can start the next attempt at once. A received INVITE gets an automatic 100 Trying only if the
//! TU has not answered within 200 ms.

mod ack_cancel;
mod client_invite;
mod client_non_invite;
mod delta;
mod failure;
mod finished;
mod ids;
mod key;
mod layer;
mod layer_io;
mod machines;
mod reply;
mod server_invite;
mod server_non_invite;
mod timers;

#[cfg(test)]
mod layer_tests;
#[cfg(test)]
mod timer_table_tests;

use std::fmt;

pub(crate) use client_invite::ClientInvite;
pub(crate) use client_non_invite::ClientNonInvite;
pub(crate) use failure::TxFailure;
pub(crate) use ids::{ClientTxId, ServerTxId};
#[cfg(test)]
pub(crate) use key::KeyError;
pub(crate) use layer::TransactionLayer;
pub(crate) use layer_io::LayerCounts;
#[cfg(test)]
pub(crate) use layer_io::LayerError;
pub(crate) use layer_io::{LayerConfig, Transmit, TxEvent, TxRef};
pub(crate) use reply::Origin;
pub(crate) use server_invite::ServerInvite;
pub(crate) use server_non_invite::ServerNonInvite;
pub(crate) use timers::Timers;

/// What a transaction machine asks its owner to do, in the order it must happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxAction {
    /// Client: send the original request again (Timer A or E fired).
    Retransmit,
    /// Client INVITE: send the ACK for the non-2xx final response just received — built
    /// from the request and that response (RFC 3261 §17.1.1.3) — or send it again when the
    /// final response was retransmitted.
    SendAck,
    /// Client: hand the response just fed in up to the transaction user.
    /// Server INVITE: hand the ACK just fed in up (an ACK for a 2xx, RFC 6026 §8.7).
    PassUp,
    /// Server: send the response just given to `send_response`.
    SendResponse,
    /// Server: send the most recent response again (request retransmission or Timer G).
    ResendResponse,
    /// A timer that means failure fired; report it up. B, F, H, and C before any
    /// provisional, end the transaction (`Terminated` follows). C after a provisional
    /// does not: the owner must CANCEL the INVITE (RFC 3261 §16.8) and the transaction
    /// waits up to 64*T1 more for the final response, to ACK it; C then fires again, with
    /// `Terminated`, if none came (§9.1).
    Timeout(TimerKind),
    /// Server INVITE: the TU has not responded within 200 ms, so send a 100 Trying built
    /// from the request (RFC 3261 §17.2.1, §8.2.6.1); it becomes the last response.
    SendTrying,
    /// The transport failed to send for this transaction; report it up.
    TransportError,
    /// The transaction is over: its owner drops it. Always the last action.
    Terminated,
}

/// The timers of RFC 3261 §17 (Table 4) and RFC 6026, plus Timer C (§16.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TimerKind {
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
    I,
    /// Named by the timer table test only: the non-INVITE server transaction has one
    /// deadline (Timer J) and needs no kind to tell it from another.
    #[cfg(test)]
    J,
    K,
    L,
    M,
}

impl fmt::Display for TimerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timer {self:?}")
    }
}

/// The states of all four machines, for logs and tests. Which ones a machine can be in is
/// given by its figure: RFC 3261 Figures 5–8 as redrawn by RFC 6026 §7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TxState {
    Calling,
    Trying,
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
    Terminated,
}

impl fmt::Display for TxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A server transaction cannot send the response it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxError {
    /// The status code is outside 100–699 (RFC 3261 §21).
    InvalidStatus(u16),
    /// A final response was already sent; only an INVITE's 2xx may be repeated
    /// (RFC 6026 §8.5: the TU retransmits its 2xx through the Accepted state).
    AlreadyFinal { state: TxState, status: u16 },
    /// The transaction has terminated.
    Terminated,
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxError::InvalidStatus(code) => write!(f, "invalid status code {code}"),
            TxError::AlreadyFinal { state, status } => {
                write!(
                    f,
                    "cannot send {status}: final response already sent (state {state})"
                )
            }
            TxError::Terminated => f.write_str("transaction terminated"),
        }
    }
}

impl std::error::Error for TxError {}

/// The class of a status code, the only thing a machine needs from a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Provisional,
    Success,
    /// 300–699.
    Failure,
}

impl Class {
    /// `None` for codes outside 100–699 (RFC 3261 §21), which the parser should have
    /// rejected; machines ignore such input.
    fn of(status: u16) -> Option<Class> {
        match status {
            100..=199 => Some(Class::Provisional),
            200..=299 => Some(Class::Success),
            300..=699 => Some(Class::Failure),
            _ => None,
        }
    }
}
