//! Datagram parser: never panics; whatever parses serializes to bytes that parse again to
//! the same headers and body, and every typed accessor returns without panicking.
#![no_main]

use clicktocall::sip::msg::{Message, canonical_header_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Message::parse(data) else { return };
    let _ = (
        m.top_via(),
        m.vias(),
        m.from(),
        m.to(),
        m.call_id(),
        m.cseq(),
    );
    let _ = (
        m.max_forwards(),
        m.contacts(),
        m.routes(),
        m.record_routes(),
    );
    let _ = (
        m.content_type(),
        m.content_length(),
        m.expires(),
        m.from_tag(),
        m.to_tag(),
    );
    let _ = m.header_values("Supported").count();
    let _ = Message::response_to(&m, 200, "OK", Some("tag")).to_bytes();
    let bytes = m.to_bytes();
    let again = Message::parse(&bytes).expect("serialized message must parse");
    let not_length = |(n, _): &(&str, &str)| canonical_header_name(n) != Some("Content-Length");
    assert!(
        m.headers()
            .filter(not_length)
            .eq(again.headers().filter(not_length))
    );
    assert_eq!(m.body(), again.body());
    assert_eq!(again.to_bytes(), bytes);
});
