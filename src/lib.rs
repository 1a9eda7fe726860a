//! clicktocall: a click-to-call SIP server, a drop-in replacement for reSIProcate's
//! `clicktocall`. See docs/ARCHITECTURE.md for the threads and layers.
//!
//! Layers, bottom up: `config`/`logging`/`translate` (start-up), `sip` (messages,
//! transports, DNS, transactions: the reactor thread), `ua` (dialogs and INVITE sessions)
//! and `c2c` (click-to-call sessions) on the calls thread, `api` (HTTP and XML front doors).

pub mod access;
pub mod api;
pub mod c2c;
pub mod config;
pub mod heap;
pub mod logging;
pub mod server;
#[cfg(test)]
mod sim;
pub mod sip;
pub mod startup;
pub mod translate;
pub mod ua;
