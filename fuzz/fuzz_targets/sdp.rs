//! SDP and sipfrag body parsers: never panic; a parsed SDP serializes to text that parses
//! back to an equal session.
#![no_main]

use clicktocall::sip::{sdp, sipfrag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = sdp::SessionDescription::parse(data) {
        let again = sdp::SessionDescription::parse(&s.to_bytes()).expect("serialized SDP must parse");
        assert_eq!(again, s);
        for (i, m) in s.media.iter().enumerate() {
            let _ = (
                m.direction(),
                m.rtpmap(0),
                m.fmtp("101"),
                s.media_connection(i),
            );
        }
    }
    let _ = sipfrag::parse(data);
});
