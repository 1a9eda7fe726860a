//! HTTP and XML interface tests: the real binary, and the front doors in-process with a calls-thread double (`tests/api/`).

// One harness for every binary, beside the area folders (tests/support/). Each binary
// compiles all of it and uses the pieces of its area only (no DNS server for the call
// tests, no SIPp for the DNS ones): what one leaves unused another uses. One shared module
// beats a copy per binary; the allowance is for that alone.
#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

mod binary_http;
mod binary_xml;
mod calls_api;
mod front_door;
mod http_auth;
mod http_limits;
mod http_pages;
mod metrics;
mod scale_out;
mod web_page;
mod xml_echo;
mod xml_framing;
