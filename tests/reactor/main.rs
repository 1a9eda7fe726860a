//! Reactor tests: the real binary against raw SIP peers on loopback (`tests/reactor/`).

// One harness for every binary, beside the area folders (tests/support/). Each binary
// compiles all of it and uses the pieces of its area only (no DNS server for the call
// tests, no SIPp for the DNS ones): what one leaves unused another uses. One shared module
// beats a copy per binary; the allowance is for that alone.
#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod bad_request;
mod dead_target;
mod dns_failover;
mod external_address;
mod keepalive;
mod retransmit;
mod routing;
mod shutdown;
mod streams;
