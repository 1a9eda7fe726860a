//! clicktocall: a click-to-call SIP server, a drop-in replacement for reSIProcate's
//! `clicktocall`. See docs/ARCHITECTURE.md for the threads and layers.
//!
//! Layers, bottom up: `config`/`logging`/`translate` (start-up), `sip` (messages,
//! transports, DNS, transactions: the reactor thread), `ua` (dialogs and INVITE sessions)
//! and `c2c` (click-to-call sessions) on the calls thread, `api` (HTTP and XML front doors).

// Every `unsafe` block lives in `sys` (libc calls) or is the one SSE2 call of
// `sip::msg::lines`, each allowed where it stands and documented with a SAFETY comment.
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod access;
pub mod api;
pub mod c2c;
pub mod config;
pub mod logging;
pub mod server;
#[cfg(test)]
mod sim;
pub mod sip;
pub mod startup;
#[allow(unsafe_code)]
mod sys;
pub mod translate;
pub mod ua;
