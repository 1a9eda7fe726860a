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

// Every known header, in one table: a lookup hashes the name and compares one or two
// candidates, instead of walking a list with case-insensitive compares (it runs once per
// received header line).
static ALL: &[Known] = &[
    k("Accept", true),
    k("Accept-Contact", true),
    k("Accept-Encoding", true),
    k("Accept-Language", true),
    k("Alert-Info", true),
    k("Allow", true),
    k("Allow-Events", true),
    k("Authentication-Info", false),
    k("Authorization", false),
    kid("Call-ID", false, Hid::CallId),
    k("Call-Info", true),
    kid("Contact", true, Hid::Contact),
    k("Content-Disposition", false),
    k("Content-Encoding", true),
    k("Content-Language", true),
    kid("Content-Length", false, Hid::ContentLength),
    k("Content-Type", false),
    kid("CSeq", false, Hid::CSeq),
    k("Date", false),
    k("Error-Info", true),
    k("Event", false),
    k("Expires", false),
    kid("From", false, Hid::From),
    k("Identity", false),
    k("Identity-Info", false),
    k("In-Reply-To", true),
    kid("Max-Forwards", false, Hid::MaxForwards),
    k("MIME-Version", false),
    k("Min-Expires", false),
    k("Min-SE", false),
    k("Organization", false),
    k("P-Asserted-Identity", true),
    k("P-Preferred-Identity", true),
    k("Path", true),
    k("Priority", false),
    k("Privacy", true),
    k("Proxy-Authenticate", false),
    k("Proxy-Authorization", false),
    k("Proxy-Require", true),
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
    k("Server", false),
    k("Service-Route", true),
    k("Session-Expires", false),
    k("Subject", false),
    k("Subscription-State", false),
    k("Supported", true),
    k("Timestamp", false),
    kid("To", false, Hid::To),
    k("Unsupported", true),
    k("User-Agent", false),
    kid("Via", true, Hid::Via),
    k("Warning", true),
    k("WWW-Authenticate", false),
];

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

/// Slots of the open-addressing table: a power of two well above `ALL.len()`, so probe
/// chains stay short.
const SLOTS: usize = 256;

/// Case-insensitive hash of a name from its length and first and last bytes. `| 0x20`
/// folds ASCII letters to lower case and maps every other byte to a fixed value, so two
/// names that `eq_ignore_ascii_case` calls equal hash the same.
const fn slot_of(name: &[u8]) -> usize {
    let len = name.len();
    if len == 0 {
        return 0;
    }
    let first = (name[0] | 0x20) as usize;
    let last = (name[len - 1] | 0x20) as usize;
    (first.wrapping_mul(7) ^ last.wrapping_mul(3) ^ len.wrapping_mul(29)) & (SLOTS - 1)
}

/// Slot → index + 1 into [`ALL`] (0 = empty), filled with linear probing.
static TABLE: [u8; SLOTS] = build_table();

const fn build_table() -> [u8; SLOTS] {
    let mut t = [0u8; SLOTS];
    let mut i = 0;
    while i < ALL.len() {
        let mut s = slot_of(ALL[i].name.as_bytes());
        while t[s] != 0 {
            s = (s + 1) & (SLOTS - 1);
        }
        t[s] = (i + 1) as u8;
        i += 1;
    }
    t
}

/// Look a header name up: long or compact form, any case.
pub(crate) fn lookup(name: &str) -> Option<&'static Known> {
    lookup_bytes(name.as_bytes())
}

/// [`lookup`] on the raw bytes of a header line (no UTF-8 check needed: a name that is not
/// ASCII matches nothing).
pub(crate) fn lookup_bytes(name: &[u8]) -> Option<&'static Known> {
    let full = match name {
        [] => return None,
        [c] => compact(*c)?.as_bytes(),
        _ => name,
    };
    let mut s = slot_of(full);
    // At most SLOTS probes; the table is far from full so a free slot ends the chain.
    for _ in 0..SLOTS {
        let idx = usize::from(*TABLE.get(s)?);
        let k = ALL.get(idx.checked_sub(1)?)?;
        let kn = k.name.as_bytes();
        // Most senders use the canonical spelling: try the exact compare first.
        if kn.len() == full.len() && (kn == full || kn.eq_ignore_ascii_case(full)) {
            return Some(k);
        }
        s = (s + 1) & (SLOTS - 1);
    }
    None
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
        // Every entry is found under its own name, in any case, and nothing else is.
        for k in ALL {
            assert!(std::ptr::eq(lookup(k.name).unwrap(), k));
            assert!(std::ptr::eq(
                lookup(&k.name.to_ascii_lowercase()).unwrap(),
                k
            ));
            assert!(lookup(&format!("{}x", k.name)).is_none());
        }
        assert!(lookup_bytes(b"Via\xff").is_none() && lookup_bytes(b"V\xe9a").is_none());
    }
}
