//! The SIP reactor thread: one mio loop over the transports, the DNS resolver and the
//! transaction layer, talking to the calls thread through [`SipCommand`]s and
//! [`SipEvent`]s.

mod interface;
pub mod routing;

pub use interface::{ClientTxId, ServerTxId, SipCommand, SipEvent, TxFailure};
