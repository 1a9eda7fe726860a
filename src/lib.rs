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
// The public surface: what the binary (config, logging, server), the benchmarks and
// fuzz targets (sip::msg, sip::sdp, sip::sipfrag), and the tests of the library's parts
// (sip::transport, sip::dns, the front doors in api with c2c::command) use. The rest is
// private; `unreachable_pub` keeps items inside private modules at `pub(crate)`.
#![warn(unreachable_pub)]

mod access;
pub mod api;
pub mod c2c;
mod cdr;
pub mod config;
#[cfg(fuzzing)]
pub mod fuzzing;
mod heap;
pub mod logging;
pub mod server;
#[cfg(test)]
mod sim;
pub mod sip;
mod startup;
#[allow(unsafe_code)]
mod sys;
mod translate;
mod ua;
