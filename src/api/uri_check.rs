//! The check that a translated address is something the call engine can dial.
//!
//! Kept in one place so it can be replaced by the SIP layer's full URI parser.

/// True when `uri` looks like a dialable SIP URI: scheme `sip` or `sips` (any case,
/// RFC 3261 §19.1.1), a non-empty host, and none of the characters that cannot appear
/// unescaped in a URI (space, `<`, `>`, `"`, controls) (RFC 3986 §2, RFC 3261 §25.1).
pub fn is_valid_sip_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
        return false;
    }
    if rest
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
    {
        return false;
    }
    // hostport ends at the first ';' (uri-parameters) or '?' (headers), RFC 3261 §19.1.1;
    // userinfo ends at the last '@' before that.
    let end = rest.find([';', '?']).unwrap_or(rest.len());
    let before_params = rest.get(..end).unwrap_or("");
    let hostport = match before_params.rfind('@') {
        Some(at) => before_params.get(at + 1..).unwrap_or(""),
        None => before_params,
    };
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        // IPv6reference: "[" IPv6address "]" then an optional port.
        match v6.split_once(']') {
            Some((addr, port)) => {
                if addr.is_empty() || !(port.is_empty() || valid_port(port.strip_prefix(':'))) {
                    return false;
                }
                addr
            }
            None => return false,
        }
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => {
                if !valid_port(Some(port)) {
                    return false;
                }
                host
            }
            None => hostport,
        }
    };
    !host.is_empty() && !host.contains(['[', ']', '@'])
}

fn valid_port(port: Option<&str>) -> bool {
    matches!(port, Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
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
