//! The SIP reactor thread: one mio loop over the transports, the DNS resolver and the
//! transaction layer, talking to the calls thread through [`SipCommand`]s and
//! [`SipEvent`]s.

mod bad_request;
mod core;
#[cfg(test)]
mod core_tests;
mod event_loop;
mod failover;
mod interface;
mod resend_2xx;
pub mod routing;

pub use crate::sip::transaction::{ClientTxId, ServerTxId, TxFailure};
pub use core::{CoreConfig, Keepalive, Outbound, OutboundKind, ReactorCore};
pub use event_loop::{Reactor, ReactorConfig, ReactorHandle, ReactorStartError, default_local_ip};
pub use interface::{SipCommand, SipEvent};
