//! Domain names on the wire (RFC 1035 §3.1, §4.1.4): encoding a query name, decoding a
//! possibly compressed name from a received message without ever reading out of bounds or
//! looping.
//!
//! Names are kept as lower-case ASCII text without the trailing dot ("" is the root).
//! DNS names compare case-insensitively (RFC 4343), so lowering once on decode and on
//! encode lets the rest of the resolver compare with `==`.

use std::fmt;

/// RFC 1035 §2.3.4: a label is at most 63 octets, a whole name at most 255 octets on the
/// wire (length bytes included).
const MAX_LABEL: usize = 63;
const MAX_WIRE_NAME: usize = 255;

/// A name that cannot go into a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    EmptyLabel,
    LabelTooLong,
    NameTooLong,
    /// A byte that has no business in a host name or SRV owner name.
    BadCharacter(char),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("empty domain name"),
            NameError::EmptyLabel => f.write_str("empty label in domain name"),
            NameError::LabelTooLong => write!(f, "label longer than {MAX_LABEL} octets"),
            NameError::NameTooLong => write!(f, "name longer than {MAX_WIRE_NAME} octets"),
            NameError::BadCharacter(c) => write!(f, "character {c:?} not allowed in a domain name"),
        }
    }
}

impl std::error::Error for NameError {}

/// Lower-cases `name` and strips one trailing dot: the form every lookup key uses.
pub(super) fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// Appends `name` in wire form (length-prefixed labels, then the root byte).
///
/// Accepts letters, digits, `-` and `_` (the latter for `_sip._udp` SRV owners, RFC 2782)
/// so that nothing a SIP URI smuggles in (spaces, NULs, dots inside labels) reaches the wire.
pub(super) fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), NameError> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let start = out.len();
    for label in name.split('.') {
        if label.is_empty() {
            out.truncate(start);
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL {
            out.truncate(start);
            return Err(NameError::LabelTooLong);
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            out.truncate(start);
            return Err(NameError::BadCharacter(bad));
        }
        // The length fits in a byte: checked against MAX_LABEL just above.
        out.push(label.len() as u8);
        out.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
    }
    out.push(0);
    if out.len() - start > MAX_WIRE_NAME {
        out.truncate(start);
        return Err(NameError::NameTooLong);
    }
    Ok(())
}

/// Why a received name could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameDecodeError {
    /// The message ended inside the name (byte offset where more was needed).
    Truncated(usize),
    /// A compression pointer that does not point strictly before every part of the name
    /// read so far: a loop or a forward reference (offset of the pointer).
    BadPointer(usize),
    /// Label type 01 or 10 (RFC 1035 §4.1.4 reserves them; RFC 6891 deprecated the
    /// extended labels).
    BadLabelType(usize),
    /// More than 255 octets once decompressed.
    TooLong(usize),
}

/// Reads the name that starts at `start` in `msg`; returns it and the offset just after
/// its encoding at `start` (after the first pointer when the name is compressed).
pub(super) fn decode_name(msg: &[u8], start: usize) -> Result<(String, usize), NameDecodeError> {
    let mut out = String::new();
    let mut pos = start;
    // Offset after the name in the original position, fixed by the first pointer.
    let mut end: Option<usize> = None;
    // RFC 1035 §4.1.4: a pointer refers to a *prior* occurrence of a name. Requiring each
    // pointer to go strictly below the lowest offset read so far makes every jump move
    // backwards, so decoding always ends, whatever the sender wrote.
    let mut lowest = start;
    let mut wire_len = 0usize;
    loop {
        let len_byte = *msg.get(pos).ok_or(NameDecodeError::Truncated(pos))?;
        match len_byte & 0xC0 {
            0x00 => {
                let len = usize::from(len_byte);
                if len == 0 {
                    wire_len += 1;
                    if wire_len > MAX_WIRE_NAME {
                        return Err(NameDecodeError::TooLong(pos));
                    }
                    let after = end.unwrap_or(pos + 1);
                    return Ok((out, after));
                }
                wire_len += len + 1;
                if wire_len > MAX_WIRE_NAME {
                    return Err(NameDecodeError::TooLong(pos));
                }
                let label = msg
                    .get(pos + 1..pos + 1 + len)
                    .ok_or(NameDecodeError::Truncated(pos + 1))?;
                if !out.is_empty() {
                    out.push('.');
                }
                push_label(&mut out, label);
                pos += 1 + len;
            }
            0xC0 => {
                let low = *msg
                    .get(pos + 1)
                    .ok_or(NameDecodeError::Truncated(pos + 1))?;
                let target = (usize::from(len_byte & 0x3F) << 8) | usize::from(low);
                if target >= lowest {
                    return Err(NameDecodeError::BadPointer(pos));
                }
                if end.is_none() {
                    end = Some(pos + 2);
                }
                lowest = target;
                pos = target;
            }
            _ => return Err(NameDecodeError::BadLabelType(pos)),
        }
    }
}

/// Appends one label as lower-case text; bytes that would be ambiguous in dotted text
/// (the dot itself, non-printables, non-ASCII) are written as RFC 1035 §5.1 `\DDD`
/// escapes, so a hostile label can never make two different names compare equal.
fn push_label(out: &mut String, label: &[u8]) {
    for &b in label {
        if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
            out.push(char::from(b.to_ascii_lowercase()));
        } else {
            out.push_str(&format!("\\{b:03}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(name: &str) -> Vec<u8> {
        let mut v = Vec::new();
        encode_name(name, &mut v).unwrap();
        v
    }

    #[test]
    fn encodes_labels_lowercase_with_root() {
        assert_eq!(wire("Ex.COM."), b"\x02ex\x03com\x00".to_vec());
        assert_eq!(wire("_sip._udp.a"), b"\x04_sip\x04_udp\x01a\x00".to_vec());
    }

    #[test]
    fn rejects_unencodable_names() {
        let mut v = Vec::new();
        assert_eq!(encode_name("", &mut v), Err(NameError::Empty));
        assert_eq!(encode_name("a..b", &mut v), Err(NameError::EmptyLabel));
        assert_eq!(
            encode_name("a b", &mut v),
            Err(NameError::BadCharacter(' '))
        );
        assert_eq!(
            encode_name(&"x".repeat(64), &mut v),
            Err(NameError::LabelTooLong)
        );
        let long = vec!["abcdefghi"; 26].join(".");
        assert_eq!(encode_name(&long, &mut v), Err(NameError::NameTooLong));
        assert!(v.is_empty(), "a rejected name leaves nothing behind");
    }

    #[test]
    fn decodes_plain_and_compressed_names() {
        // "ex.com" at 0, then "www" + pointer to 0 at 8.
        let msg = b"\x02ex\x03com\x00\x03www\xC0\x00";
        assert_eq!(decode_name(msg, 0), Ok(("ex.com".to_string(), 8)));
        assert_eq!(decode_name(msg, 8), Ok(("www.ex.com".to_string(), 14)));
    }

    #[test]
    fn rejects_pointer_loops_and_forward_pointers() {
        // A pointer to itself.
        assert_eq!(
            decode_name(b"\xC0\x00", 0),
            Err(NameDecodeError::BadPointer(0))
        );
        // Label at 0, pointer at 2 back to 0: would loop forever.
        assert_eq!(
            decode_name(b"\x01a\xC0\x00", 0),
            Err(NameDecodeError::BadPointer(2))
        );
        // Two pointers pointing at each other.
        let msg = b"\x00\x00\xC0\x04\xC0\x02";
        assert_eq!(decode_name(msg, 4), Err(NameDecodeError::BadPointer(2)));
        // Forward pointer.
        assert_eq!(
            decode_name(b"\xC0\x02\x00", 0),
            Err(NameDecodeError::BadPointer(0))
        );
    }

    #[test]
    fn rejects_truncation_reserved_labels_and_overlong_names() {
        assert_eq!(
            decode_name(b"\x05ab", 0),
            Err(NameDecodeError::Truncated(1))
        );
        assert_eq!(
            decode_name(b"\x02ab", 0),
            Err(NameDecodeError::Truncated(3))
        );
        assert_eq!(decode_name(b"\xC0", 0), Err(NameDecodeError::Truncated(1)));
        assert_eq!(decode_name(b"", 0), Err(NameDecodeError::Truncated(0)));
        assert_eq!(
            decode_name(b"\x40", 0),
            Err(NameDecodeError::BadLabelType(0))
        );
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(63);
            long.extend([b'a'; 63]);
        }
        long.push(0);
        assert!(matches!(
            decode_name(&long, 0),
            Err(NameDecodeError::TooLong(_))
        ));
    }

    #[test]
    fn escapes_dots_and_binary_inside_labels() {
        let (name, _) = decode_name(b"\x03a.\xff\x00", 0).unwrap();
        assert_eq!(name, "a\\046\\255");
    }
}
