//! What the calls thread and the SIP reactor thread say to each other. Commands go in over a
//! crossbeam channel (the sender then wakes the reactor through its `mio::Waker`); events come
//! out over another. The transaction ids and failures they name are `sip::transaction`'s.

use std::net::SocketAddr;

use crate::sip::Transport;
use crate::sip::msg::Message;
use crate::sip::transaction::{ClientTxId, ServerTxId, TxFailure};

/// From the calls thread to the reactor.
#[derive(Debug)]
pub(crate) enum SipCommand {
    /// Send a request as a new client transaction. The reactor adds the top Via (its own
    /// sent-by, a fresh RFC 3261 branch, `rport`), picks the next hop per RFC 3261 §8.1.2
    /// (first Route if it has `lr`, else the Request-URI), resolves it per RFC 3263 and fails
    /// over between the targets. The outcome comes back as `SipEvent::Response`s and at most
    /// one `SipEvent::TxFailed`.
    SendRequest { tx: ClientTxId, request: Message },
    /// Send an ACK for a 2xx (RFC 3261 §13.2.2.4): not a transaction; the reactor adds a Via
    /// with a new branch and sends it to the next hop like a request, without retransmission.
    SendAck { request: Message },
    /// CANCEL the INVITE client transaction `tx` (RFC 3261 §9.1): the reactor builds the
    /// CANCEL from the INVITE it sent (same Request-URI, Call-ID, From, To, CSeq number, top
    /// Via and Route set) and sends it once a provisional response has arrived.
    Cancel { tx: ClientTxId },
    /// Send a response on a server transaction.
    Respond { tx: ServerTxId, response: Message },
    /// `/healthz`: answer on `reply` at once, showing the reactor takes its commands.
    Ping {
        reply: crossbeam_channel::Sender<()>,
    },
    /// Stop: close sockets and exit the reactor thread.
    Shutdown,
}

/// From the reactor to the calls thread.
#[derive(Debug, Clone)]
pub(crate) enum SipEvent {
    /// A new request (retransmissions are absorbed by its server transaction). ACKs are
    /// delivered here too, with a `tx` that takes no response: an ACK for a non-2xx is
    /// absorbed by the transaction layer, so what arrives is an ACK for a 2xx.
    Request {
        tx: ServerTxId,
        request: Message,
        source: SocketAddr,
        transport: Transport,
    },
    /// A response on a client transaction, including every retransmission of a 2xx to an
    /// INVITE (RFC 6026: the calls thread answers each with the same ACK). `source`: the
    /// address it came from (`FixNatContact` sends the dialog there).
    Response {
        tx: ClientTxId,
        response: Message,
        source: SocketAddr,
    },
    /// The client transaction ended without a final response.
    TxFailed { tx: ClientTxId, reason: TxFailure },
    /// The phone CANCELled its INVITE `tx` before our answer (RFC 3261 §9.2): the reactor
    /// has answered the CANCEL 200 and the INVITE 487. A re-INVITE we relayed to the other
    /// phone should be cancelled there too; `tx` takes no further response.
    Cancelled { tx: ServerTxId },
    /// A 2xx to one of our INVITEs whose transaction is gone (RFC 3261 §17.1.3): the calls
    /// thread ACKs it, and BYEs the dialog unless it is one it keeps.
    StrayInvite2xx { response: Message },
}
