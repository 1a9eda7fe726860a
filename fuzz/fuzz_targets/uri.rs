//! URI, name-addr and Via parsers: never panic; what parses displays to text that parses
//! back to an equal value, and a URI is equivalent to itself.
#![no_main]

use clicktocall::sip::msg::{NameAddr, Uri, Via};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = Uri::parse(s) {
        let again = Uri::parse(&u.to_string()).expect("displayed URI must parse");
        assert_eq!(again, u);
        assert!(u.equivalent(&again));
        let _ = (u.transport(), u.lr(), u.maddr(), u.user_unescaped());
    }
    if let Ok(n) = NameAddr::parse(s) {
        let again = NameAddr::parse(&n.to_string()).expect("displayed name-addr must parse");
        assert_eq!(again, n);
    }
    if let Ok(v) = Via::parse(s) {
        let again = Via::parse(&v.to_string()).expect("displayed Via must parse");
        assert_eq!(again, v);
        let _ = (v.received(), v.rport(), v.ttl(), v.port_or_default());
    }
});
