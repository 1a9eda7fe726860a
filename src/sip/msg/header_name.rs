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
const fn compact(c: u8) -> Option<&'static str> {
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

/// Names are compared as three little-endian eight-byte words (zero past the name's end),
/// so no known name may be longer.
const MAX_LEN: usize = 24;

/// `WORD_MASKS[n]`: the bits of the three words that hold the first `n` bytes.
static WORD_MASKS: [[u64; 3]; MAX_LEN + 1] = {
    let mut t = [[0u64; 3]; MAX_LEN + 1];
    let mut n = 0;
    while n <= MAX_LEN {
        let mut k = 0;
        while k < n {
            t[n][k / 8] |= 0xff << (8 * (k % 8));
            k += 1;
        }
        n += 1;
    }
    t
};

/// The three words of `b` (zero-padded to [`MAX_LEN`] bytes).
const fn words_of(b: &[u8; MAX_LEN]) -> [u64; 3] {
    let mut w = [0u64; 3];
    let mut k = 0;
    while k < MAX_LEN {
        w[k / 8] |= (b[k] as u64) << (8 * (k % 8));
        k += 1;
    }
    w
}

/// A known name's words in lower case, and in `fold` the 0x20 bit of every letter: a
/// received name matches when `(word | fold) == lower` in all three and the lengths are
/// equal. `| 0x20` turns exactly 'X' into 'x', and the other bytes of a known name ('-')
/// are compared exactly, so this is `eq_ignore_ascii_case`.
struct Key {
    len: usize,
    lower: [u64; 3],
    fold: [u64; 3],
}

const fn key_of(name: &str) -> Key {
    let b = name.as_bytes();
    assert!(
        b.len() >= 2 && b.len() <= MAX_LEN,
        "known header name length"
    );
    let mut lower = [0u8; MAX_LEN];
    let mut fold = [0u8; MAX_LEN];
    let mut i = 0;
    while i < b.len() {
        assert!(
            b[i].is_ascii_alphabetic() || b[i] == b'-',
            "known header name byte"
        );
        lower[i] = b[i].to_ascii_lowercase();
        fold[i] = if b[i].is_ascii_alphabetic() { 0x20 } else { 0 };
        i += 1;
    }
    Key {
        len: b.len(),
        lower: words_of(&lower),
        fold: words_of(&fold),
    }
}

static KEYS: [Key; ALL.len()] = {
    let mut keys = [const {
        Key {
            len: 0,
            lower: [0; 3],
            fold: [0; 3],
        }
    }; ALL.len()];
    let mut i = 0;
    while i < ALL.len() {
        keys[i] = key_of(ALL[i].name);
        i += 1;
    }
    keys
};

/// Slots of the open-addressing table: a power of two well above `ALL.len()`.
const SLOTS: usize = 256;

/// Case-insensitive hash of a name from its first word and its length: `| 0x20` on every
/// byte maps the two cases of a letter to one value, so names that `eq_ignore_ascii_case`
/// calls equal hash the same. The multiplier was picked so that every name in [`ALL`] gets
/// a slot of its own, except the one pair that shares its first eight bytes and its length
/// (Content-Encoding, Content-Language): a lookup of a known name compares once (twice for
/// Content-Language), and a future collision only costs a probe.
const fn slot_of(w: &[u64; 3], len: usize) -> usize {
    const F: u64 = 0x2020_2020_2020_2020;
    let x = (w[0] | F) ^ len as u64;
    (x.wrapping_mul(HASH_MULTIPLIER) >> 56) as usize & (SLOTS - 1)
}

const HASH_MULTIPLIER: u64 = 0xb265_4b9f_fcd3_b61f;

/// Slot → index + 1 into [`ALL`] (0 = empty), filled with linear probing.
static TABLE: [u8; SLOTS] = {
    let mut t = [0u8; SLOTS];
    let mut i = 0;
    while i < ALL.len() {
        let mut s = slot_of(&KEYS[i].lower, KEYS[i].len);
        while t[s] != 0 {
            s = (s + 1) & (SLOTS - 1);
        }
        t[s] = (i + 1) as u8;
        i += 1;
    }
    t
};

/// Compact form letter (`c - b'a'`) → index + 1 into [`ALL`] (0 = none).
static COMPACT: [u8; 26] = {
    let mut t = [0u8; 26];
    let mut c = 0;
    while c < 26 {
        if let Some(long) = compact(b'a' + c as u8) {
            let mut i = 0;
            while i < ALL.len() {
                if ALL[i].name.eq_ignore_ascii_case(long) {
                    t[c] = (i + 1) as u8;
                }
                i += 1;
            }
            assert!(t[c] != 0, "compact form of an unknown header");
        }
        c += 1;
    }
    t
};

/// Look a header name up: long or compact form, any case.
pub(crate) fn lookup(name: &str) -> Option<&'static Known> {
    lookup_bytes(name.as_bytes())
}

/// [`lookup`] on the raw bytes of a header line (no UTF-8 check needed: a name that is not
/// ASCII matches nothing).
pub(crate) fn lookup_bytes(name: &[u8]) -> Option<&'static Known> {
    if let [c] = name {
        return lookup_compact(*c);
    }
    let mut padded = [0u8; MAX_LEN];
    padded.get_mut(..name.len())?.copy_from_slice(name);
    let w = padded
        .chunks_exact(8)
        .map(|c| <[u8; 8]>::try_from(c).map_or(0, u64::from_le_bytes));
    let mut words = [0u64; 3];
    words.iter_mut().zip(w).for_each(|(d, w)| *d = w);
    lookup_words(&words, name.len())
}

/// [`lookup_bytes`] of `buf[start..start + len]`, for a name inside a larger buffer: the
/// name's words are read whole from `buf` and the bytes past the name masked off, which
/// saves copying it out (this runs once per received header line).
#[inline]
pub(crate) fn lookup_in(buf: &[u8], start: usize, len: usize) -> Option<&'static Known> {
    let Some(chunk) = buf.get(start..).and_then(|r| r.first_chunk::<MAX_LEN>()) else {
        return lookup_bytes(buf.get(start..start.checked_add(len)?)?);
    };
    if len == 1 {
        return lookup_compact(chunk[0]);
    }
    let masks = WORD_MASKS.get(len)?;
    let word = |k: usize| {
        let at = 8 * k;
        chunk
            .get(at..at + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_le_bytes)
            & masks[k]
    };
    lookup_words(&[word(0), word(1), word(2)], len)
}

fn lookup_compact(c: u8) -> Option<&'static Known> {
    // Only the letters have `| 0x20` in a..z: other bytes fall outside the table.
    let idx = COMPACT.get(usize::from((c | 0x20).wrapping_sub(b'a')))?;
    ALL.get(usize::from(*idx).checked_sub(1)?)
}

/// The entry whose name has these words (zero past `len` bytes) and this length.
#[inline]
fn lookup_words(w: &[u64; 3], len: usize) -> Option<&'static Known> {
    let mut s = slot_of(w, len);
    // At most SLOTS probes; the table is far from full so a free slot ends the chain.
    for _ in 0..SLOTS {
        let idx = usize::from(*TABLE.get(s)?).checked_sub(1)?;
        let k = KEYS.get(idx)?;
        let diff = ((w[0] | k.fold[0]) ^ k.lower[0])
            | ((w[1] | k.fold[1]) ^ k.lower[1])
            | ((w[2] | k.fold[2]) ^ k.lower[2]);
        if diff == 0 && k.len == len {
            return ALL.get(idx);
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

    /// The lookup as a plain search: compact letter first, then a case-insensitive compare
    /// with every entry.
    fn reference(name: &[u8]) -> Option<&'static Known> {
        let full = match name {
            [c] => compact(*c)?.as_bytes(),
            _ => name,
        };
        ALL.iter()
            .find(|k| k.name.as_bytes().eq_ignore_ascii_case(full))
    }

    fn agrees(name: &[u8]) {
        let got = lookup_bytes(name).map(|k| k.name);
        assert_eq!(
            got,
            reference(name).map(|k| k.name),
            "{:?}",
            name.escape_ascii()
        );
    }

    /// xorshift64: deterministic variety without a dependency.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn lookup_agrees_with_a_plain_case_insensitive_search() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        // Every byte alone: the compact forms in both cases and everything else.
        for c in 0..=255u8 {
            agrees(&[c]);
        }
        for k in ALL {
            let name = k.name.as_bytes();
            agrees(name);
            agrees(&name.to_ascii_lowercase());
            agrees(&name.to_ascii_uppercase());
            for _ in 0..8 {
                let mixed: Vec<u8> = name
                    .iter()
                    .map(|&b| {
                        if next(&mut rng) & 1 == 0 {
                            b.to_ascii_uppercase()
                        } else {
                            b
                        }
                    })
                    .collect();
                assert!(std::ptr::eq(lookup_bytes(&mixed).unwrap(), k));
            }
            // Near misses: one byte replaced (including by the byte that differs from a
            // letter or '-' only in the 0x20 bit), one byte short, one byte long.
            for at in 0..name.len() {
                for sub in [
                    b'-', b'x', b'_', b'\r', b'@', b'[', b'`', b'{', 0xc1, b'0', b' ',
                ] {
                    let mut m = name.to_vec();
                    m[at] = sub;
                    agrees(&m);
                }
                let mut m = name.to_vec();
                m[at] ^= 0x20;
                agrees(&m);
                m[at] ^= 0x60;
                agrees(&m);
            }
            agrees(&name[..name.len() - 1]);
            agrees(&name[1..]);
            agrees(&[name, b"s"].concat());
            agrees(&[b"X-", name].concat());
        }
        // Random names of every length the windows handle and beyond, from an alphabet
        // close to the known names' so some of them hit.
        let alphabet = b"aceinorstuvACEINORSTUV--_.0\r\xe9";
        for _ in 0..20_000 {
            let len = (next(&mut rng) % 28) as usize;
            let name: Vec<u8> = (0..len)
                .map(|_| alphabet[(next(&mut rng) % alphabet.len() as u64) as usize])
                .collect();
            agrees(&name);
        }
    }

    #[test]
    fn lookup_in_a_buffer_agrees_with_lookup_bytes() {
        let mut rng = 7u64;
        let mut names: Vec<Vec<u8>> = ALL
            .iter()
            .map(|k| k.name.to_ascii_uppercase().into())
            .collect();
        names.extend(ALL.iter().map(|k| k.name.as_bytes()[1..].to_vec()));
        names.extend((b'a'..=b'z').map(|c| vec![c]));
        names.extend([
            b"".to_vec(),
            b"X".to_vec(),
            vec![b'a'; MAX_LEN + 1],
            b"Via\0".to_vec(),
        ]);
        for name in &names {
            for before in [0usize, 1, 7] {
                // Followed by ':' and a varying amount of other bytes, down to nothing.
                for after in 0..30 {
                    let mut buf: Vec<u8> = (0..before).map(|_| next(&mut rng) as u8).collect();
                    buf.extend_from_slice(name);
                    buf.extend(
                        (0..after).map(|k| if k == 0 { b':' } else { next(&mut rng) as u8 }),
                    );
                    let got = lookup_in(&buf, before, name.len()).map(|k| k.name);
                    assert_eq!(
                        got,
                        lookup_bytes(name).map(|k| k.name),
                        "{:?}",
                        buf.escape_ascii()
                    );
                }
            }
        }
        assert!(lookup_in(b"Via", 2, 5).is_none() && lookup_in(b"Via", 9, 1).is_none());
    }

    #[test]
    fn every_known_name_has_a_slot_of_its_own() {
        // Not needed for correctness (probing finds it anyway), but the hash multiplier
        // was chosen for this: if a new name breaks it, pick another multiplier.
        for (i, k) in KEYS.iter().enumerate() {
            let s = slot_of(&k.lower, k.len);
            let shares_hash_input = KEYS[..i]
                .iter()
                .any(|e| e.len == k.len && e.lower[0] == k.lower[0]);
            let expect = if shares_hash_input {
                (s + 1) & (SLOTS - 1)
            } else {
                s
            };
            let name = ALL[i].name;
            assert_eq!(
                usize::from(TABLE[expect]),
                i + 1,
                "{name}: pick another HASH_MULTIPLIER"
            );
        }
    }
}
