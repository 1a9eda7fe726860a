//! The SIP reactor thread: one mio loop over the transports, the DNS resolver and the
//! transaction layer, talking to the calls thread through [`SipCommand`]s and
//! [`SipEvent`]s.

mod bad_request;
mod event_loop;
mod interface;
pub mod routing;

pub use event_loop::{Reactor, ReactorConfig, ReactorHandle, ReactorStartError, default_local_ip};
pub use interface::{ClientTxId, ServerTxId, SipCommand, SipEvent, TxFailure};
