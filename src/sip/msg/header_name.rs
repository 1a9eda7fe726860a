//! Header names: canonical spellings, the compact forms registered with IANA
//! (RFC 3261 §7.3.3 and its extensions) and which headers are comma-separated lists.

/// The headers the parser validates, for fast dispatch without string compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hid {
    Via,
    From,
    To,
    CallId,
    CSeq,
    MaxForwards,
    Contact,
    Route,
    RecordRoute,
    ContentLength,
    Other,
}

/// A header this stack knows by name.
#[derive(Debug)]
pub(crate) struct Known {
    pub name: &'static str,
    /// Whether several values may share one line, separated by commas (RFC 3261 §7.3.1).
    pub list: bool,
    pub id: Hid,
}

const fn k(name: &'static str, list: bool) -> Known {
    Known {
        name,
        list,
        id: Hid::Other,
    }
}

const fn kid(name: &'static str, list: bool, id: Hid) -> Known {
    Known { name, list, id }
}

// Grouped by lower-cased first letter so a lookup compares against a handful of names.
static A: &[Known] = &[
    k("Accept", true),
    k("Accept-Contact", true),
    k("Accept-Encoding", true),
    k("Accept-Language", true),
    k("Alert-Info", true),
    k("Allow", true),
    k("Allow-Events", true),
    k("Authentication-Info", false),
    k("Authorization", false),
];
static C: &[Known] = &[
    kid("Call-ID", false, Hid::CallId),
    k("Call-Info", true),
    kid("Contact", true, Hid::Contact),
    k("Content-Disposition", false),
    k("Content-Encoding", true),
    k("Content-Language", true),
    kid("Content-Length", false, Hid::ContentLength),
    k("Content-Type", false),
    kid("CSeq", false, Hid::CSeq),
];
static D: &[Known] = &[k("Date", false)];
static E: &[Known] = &[
    k("Error-Info", true),
    k("Event", false),
    k("Expires", false),
];
static F: &[Known] = &[kid("From", false, Hid::From)];
static I: &[Known] = &[
    k("Identity", false),
    k("Identity-Info", false),
    k("In-Reply-To", true),
];
static M: &[Known] = &[
    kid("Max-Forwards", false, Hid::MaxForwards),
    k("MIME-Version", false),
    k("Min-Expires", false),
    k("Min-SE", false),
];
static O: &[Known] = &[k("Organization", false)];
static P: &[Known] = &[
    k("P-Asserted-Identity", true),
    k("P-Preferred-Identity", true),
    k("Path", true),
    k("Priority", false),
    k("Privacy", true),
    k("Proxy-Authenticate", false),
    k("Proxy-Authorization", false),
    k("Proxy-Require", true),
];
static R: &[Known] = &[
    k("RAck", false),
    k("Reason", true),
    kid("Record-Route", true, Hid::RecordRoute),
    k("Refer-To", false),
    k("Referred-By", false),
    k("Reject-Contact", true),
    k("Replaces", false),
    k("Reply-To", false),
    k("Request-Disposition", true),
    k("Require", true),
    k("Retry-After", false),
    kid("Route", true, Hid::Route),
    k("RSeq", false),
];
static S: &[Known] = &[
    k("Server", false),
    k("Service-Route", true),
    k("Session-Expires", false),
    k("Subject", false),
    k("Subscription-State", false),
    k("Supported", true),
];
static T: &[Known] = &[k("Timestamp", false), kid("To", false, Hid::To)];
static U: &[Known] = &[k("Unsupported", true), k("User-Agent", false)];
static V: &[Known] = &[kid("Via", true, Hid::Via)];
static W: &[Known] = &[k("Warning", true), k("WWW-Authenticate", false)];

/// Compact forms (IANA "Header Fields" registry, RFC 3261 §7.3.3 and extensions).
fn compact(c: u8) -> Option<&'static str> {
    Some(match c.to_ascii_lowercase() {
        b'a' => "Accept-Contact",
        b'b' => "Referred-By",
        b'c' => "Content-Type",
        b'd' => "Request-Disposition",
        b'e' => "Content-Encoding",
        b'f' => "From",
        b'i' => "Call-ID",
        b'j' => "Reject-Contact",
        b'k' => "Supported",
        b'l' => "Content-Length",
        b'm' => "Contact",
        b'n' => "Identity-Info",
        b'o' => "Event",
        b'r' => "Refer-To",
        b's' => "Subject",
        b't' => "To",
        b'u' => "Allow-Events",
        b'v' => "Via",
        b'x' => "Session-Expires",
        b'y' => "Identity",
        _ => return None,
    })
}

/// Look a header name up: long or compact form, any case.
pub(crate) fn lookup(name: &str) -> Option<&'static Known> {
    let b = name.as_bytes();
    let first = *b.first()?;
    let full = if b.len() == 1 { compact(first)? } else { name };
    let group: &[Known] = match full.as_bytes().first()?.to_ascii_lowercase() {
        b'a' => A,
        b'c' => C,
        b'd' => D,
        b'e' => E,
        b'f' => F,
        b'i' => I,
        b'm' => M,
        b'o' => O,
        b'p' => P,
        b'r' => R,
        b's' => S,
        b't' => T,
        b'u' => U,
        b'v' => V,
        b'w' => W,
        _ => return None,
    };
    group.iter().find(|k| k.name.eq_ignore_ascii_case(full))
}

/// The canonical spelling of a known header name (e.g. `"v"` → `"Via"`).
pub fn canonical(name: &str) -> Option<&'static str> {
    lookup(name).map(|k| k.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compact_form_maps_to_a_known_long_name() {
        for c in b'a'..=b'z' {
            if let Some(long) = compact(c) {
                assert_eq!(canonical(std::str::from_utf8(&[c]).unwrap()), Some(long));
                assert_eq!(canonical(&long.to_ascii_uppercase()), Some(long));
            }
        }
        assert_eq!(canonical("V"), Some("Via"));
        assert_eq!(canonical("cseq"), Some("CSeq"));
        assert_eq!(canonical("C%6Fntact"), None);
        assert_eq!(canonical("q"), None);
        assert_eq!(canonical(""), None);
        assert!(lookup("contact").unwrap().list && !lookup("to").unwrap().list);
    }
}
