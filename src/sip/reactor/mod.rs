//! The SIP reactor thread, talking to the calls thread through [`SipCommand`]s and
//! [`SipEvent`]s: a sans-IO [`ReactorCore`] (routing, failover, 2xx resends, keepalive
//! targets, and the transaction layer it owns) inside one mio loop over the transports and
//! the DNS driver (`event_loop`).

mod bad_request;
mod core;
#[cfg(test)]
mod core_tests;
mod event_loop;
mod failover;
mod interface;
mod resend_2xx;
pub(crate) mod routing;
mod stats;
mod wake;

#[cfg(test)]
pub(crate) use self::core::{CoreConfig, CoreCounts, ReactorCore};
pub(crate) use crate::sip::transaction::{ClientTxId, ServerTxId, TxFailure};
pub(crate) use event_loop::{Reactor, ReactorConfig, ReactorStartError, default_local_ip};
pub(crate) use interface::{SipCommand, SipEvent};
pub(crate) use stats::{DIRECTIONS, FIRST_CLASS, KINDS, SipSnapshot, SipStats, TRANSPORTS};
pub(crate) use wake::ReactorWaker;
