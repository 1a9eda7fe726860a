//! Real phones for the interop tests: baresip processes and a reader of their SIP trace.
//!
//! Include after `support` (it uses `crate::support::ports`):
//! `#[path = "interop_support/mod.rs"] mod interop_support;`.

pub mod baresip;
pub mod sip_trace;
