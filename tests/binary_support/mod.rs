//! Black-box harness of the HTTP and XML interface tests: the real `clicktocall` binary
//! on loopback ephemeral ports, scripted SIP phones on UDP sockets, and raw HTTP / XML
//! socket clients.
//!
//! Include with `#[path = "binary_support/mod.rs"] mod binary_support;`. When a test
//! panics, the server's configuration, console and log are printed (see [`server`]).

#![allow(dead_code, unused_imports)]

pub mod http;
pub mod peer;
pub mod server;
pub mod wire;

use std::time::Duration;

pub use http::{HttpConn, HttpResponse};
pub use peer::{BusyPhone, Phone, SipMessage};
pub use server::{Binary, Options};

/// Upper bound of any wait that only a broken run reaches (tests fail, never hang).
pub const WAIT: Duration = Duration::from_secs(20);
