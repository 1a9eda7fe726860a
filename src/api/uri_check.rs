//! The check that a translated address is something the call engine can dial: the SIP
//! message layer's own URI parser decides, so the front doors accept exactly what the
//! engine can place a call to.

use crate::sip::msg::{Host, Uri};

/// True when `uri` is a `sip:` or `sips:` URI (RFC 3261 §19.1.1) with a host.
pub fn is_valid_sip_uri(uri: &str) -> bool {
    Uri::parse(uri).is_ok_and(|u| u.is_sip() && !matches!(&u.host, Host::Name(n) if n.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_uris_are_valid() {
        for uri in [
            "sip:100@127.0.0.1:5061",
            "sip:scott@sipdomain.com",
            "SIPS:alice@example.com;transport=tcp",
            "sip:example.com",
            "sip:bob@[::1]:5060",
            "sip:9055551234@gateway.com?subject=hi",
        ] {
            assert!(is_valid_sip_uri(uri), "{uri}");
        }
    }

    #[test]
    fn the_originals_unparsable_uris_are_invalid() {
        for uri in [
            "sip:@",
            "sip:<>",
            "sip:",
            "tel:+15551234",
            "abc",
            "sip:a b@host",
            "sip:\"x\"@host",
            "sip:100@host:",
            "sip:100@host:port",
            "sip:100@[::1",
            "sip:@;x=y",
        ] {
            assert!(!is_valid_sip_uri(uri), "{uri}");
        }
    }
}
