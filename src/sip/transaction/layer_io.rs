//! What the transaction layer takes and gives: transaction handles, transmissions,
//! events for the transaction user, errors, settings and counters.

use std::fmt;

use crate::sip::msg::{Message, ParseError};
use crate::sip::transport::{ConnId, Target};

use super::ids::{ClientTxId, ServerTxId};
use super::key::KeyError;
use super::reply::Origin;
use super::{TimerKind, Timers, TxError};

/// One transaction of the layer, as named in `Transmit` and `transport_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum TxRef {
    Client(ClientTxId),
    /// The CANCEL the layer sent for the INVITE client transaction with this id.
    Cancel(ClientTxId),
    Server(ServerTxId),
    /// A client transaction whose user has had its final response and needs nothing more
    /// from it (Completed: Timer D or K absorbs retransmissions of that final, RFC 3261
    /// §17.1.1.2, §17.1.2.2). It is detached from the user's id so that id can start the
    /// next attempt at once (a 503 over UDP fails over, RFC 3263 §4.3).
    Finished(u64),
}

impl fmt::Display for TxRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxRef::Client(id) => write!(f, "client tx {}", id.0),
            TxRef::Cancel(id) => write!(f, "CANCEL of client tx {}", id.0),
            TxRef::Server(id) => write!(f, "server tx {}", id.0),
            TxRef::Finished(n) => write!(f, "finished client tx #{n}"),
        }
    }
}

/// Bytes to write to the network for a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transmit {
    pub tx: TxRef,
    /// A request's next hop, or a response's §18.2.2 destination.
    pub target: Target,
    /// Responses: the connection the request came on; use it while it is open, else
    /// `target` (§18.2.2).
    pub conn: Option<ConnId>,
    pub bytes: Vec<u8>,
}

/// What the layer tells the transaction user.
#[derive(Debug, Clone)]
pub(crate) enum TxEvent {
    /// A new request. Retransmissions are absorbed. An ACK that is not part of an INVITE
    /// server transaction in Completed — an ACK for a 2xx, which the dialog layer needs —
    /// comes here too, with a fresh `tx` that takes no response.
    Request {
        tx: ServerTxId,
        msg: Message,
        origin: Origin,
    },
    /// A CANCEL matched the INVITE server transaction `tx` before its final response
    /// (RFC 3261 §9.2). The layer has answered the CANCEL with 200; the TU should answer
    /// the INVITE with 487.
    Cancelled { tx: ServerTxId },
    /// A response on a client transaction: provisionals, the final, and every further 2xx
    /// to an INVITE (RFC 6026: the TU ACKs each). ACKs for 300–699 are sent by the layer.
    /// `origin`: where it came from (its source address, and connection on TCP/TLS).
    Response {
        tx: ClientTxId,
        msg: Message,
        origin: Origin,
    },
    /// The client transaction ended without a final response: Timer B or F, or C (before
    /// any provisional, or 64*T1 after a CANCEL that brought no final, RFC 3261 §9.1).
    Timeout { tx: ClientTxId, timer: TimerKind },
    /// The client transaction ended because the transport failed.
    TransportError { tx: ClientTxId },
    /// A 2xx to an INVITE that matches no transaction: its transaction is gone (it timed
    /// out after our CANCEL, or Timer M ran out). RFC 3261 §17.1.3 passes a response that
    /// matches nothing to the core; a UAC must still ACK every 2xx to its INVITE and ends
    /// a dialog it does not want with BYE (§13.2.2.4, RFC 6026 §8.4).
    StrayInvite2xx { msg: Message },
}

/// A command the layer cannot carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LayerError {
    /// `send_request` was given a response.
    NotARequest,
    /// ACK is not a transaction: an ACK for a 2xx is sent directly (RFC 3261 §17.1.1.3).
    AckIsNotATransaction,
    /// CANCEL goes through `cancel`, which builds it from the INVITE (§9.1).
    UseCancel,
    /// `respond` was given a request.
    NotAResponse,
    /// A client transaction with this id is still running.
    DuplicateId(ClientTxId),
    /// A client transaction with this branch and method is still running.
    DuplicateBranch,
    /// No such transaction (never existed, or terminated).
    UnknownTransaction,
    /// `cancel` was called on a non-INVITE transaction.
    NotInvite,
    /// The request cannot be keyed (no branch, malformed Via or CSeq).
    Key(KeyError),
    /// The transaction refused the response.
    Tx(TxError),
    /// Too many transactions are running.
    Overloaded,
}

impl fmt::Display for LayerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerError::NotARequest => f.write_str("not a request"),
            LayerError::AckIsNotATransaction => f.write_str("an ACK does not start a transaction"),
            LayerError::UseCancel => f.write_str("CANCEL is sent with cancel()"),
            LayerError::NotAResponse => f.write_str("not a response"),
            LayerError::DuplicateId(id) => write!(f, "client transaction {} already exists", id.0),
            LayerError::DuplicateBranch => f.write_str("a transaction with this branch exists"),
            LayerError::UnknownTransaction => f.write_str("no such transaction"),
            LayerError::NotInvite => f.write_str("only an INVITE can be cancelled"),
            LayerError::Key(e) => write!(f, "cannot key the request: {e}"),
            LayerError::Tx(e) => write!(f, "{e}"),
            LayerError::Overloaded => f.write_str("too many transactions"),
        }
    }
}

impl std::error::Error for LayerError {}

/// Settings of the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerConfig {
    pub timers: Timers,
    /// Bound on running client transactions (including our CANCELs).
    pub max_client_transactions: usize,
    /// Bound on running server transactions for new out-of-dialog requests: beyond it they
    /// get a stateless 503. A request within a dialog (To tag) is not refused for that: it
    /// may belong to a live call; only past twice the bound it is dropped unanswered, so
    /// the peer retransmits (RFC 3261 §17.1.2.2) rather than ending its dialog.
    pub max_server_transactions: usize,
    /// Byte budget of the finished transactions kept for their retransmissions (Timers
    /// D, I, J, K); the oldest go first when it is full.
    pub finished_budget: usize,
}

impl Default for LayerConfig {
    fn default() -> Self {
        LayerConfig {
            timers: Timers::default(),
            max_client_transactions: 20_000,
            max_server_transactions: 50_000,
            finished_budget: 256 << 20,
        }
    }
}

/// How many transactions the layer holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LayerCounts {
    /// Client transactions (our CANCELs included) their users still hear from.
    pub clients_live: usize,
    /// Client transactions in Completed, only absorbing retransmissions (Timers D, K).
    pub clients_finished: usize,
    /// Server transactions still running.
    pub servers: usize,
    /// Server transactions that sent their final, kept for retransmissions (Timers I, J).
    pub servers_finished: usize,
}

/// Counters of what the layer dropped or absorbed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LayerStats {
    /// Responses that matched no client transaction (§17.1.3).
    pub stray_responses: u64,
    /// Messages that could not be keyed at all (no usable Via/CSeq).
    pub unmatchable: u64,
    /// Requests refused (503) or dropped because `max_server_transactions` was reached.
    pub overload_drops: u64,
    /// Finished transactions dropped before their timer to stay within `finished_budget`.
    pub finished_evicted: u64,
    /// Request retransmissions absorbed by their server transaction.
    pub absorbed_retransmissions: u64,
}
impl From<ParseError> for LayerError {
    fn from(e: ParseError) -> LayerError {
        LayerError::Key(KeyError::Header(e))
    }
}
