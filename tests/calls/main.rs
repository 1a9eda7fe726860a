//! Call-engine tests: the real binary with SIPp and scripted phones (`tests/calls/`).

// One harness for every binary, beside the area folders (tests/support/). Each binary
// compiles all of it and uses the pieces of its area only (no DNS server for the call
// tests, no SIPp for the DNS ones): what one leaves unused another uses. One shared module
// beats a copy per binary; the allowance is for that alone.
#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod admission;
mod anchor;
mod anchor_failures;
mod auth;
mod cdr;
mod concurrent;
mod demo;
mod failures;
mod identity;
mod inbound;
mod lossy;
mod nat;
mod offer_answer;
mod redirect;
mod refer;
mod refer_ood;
mod refer_outcomes;
mod session_timer;
mod shutdown;
mod tcp;
mod tel;
mod vanishing;
