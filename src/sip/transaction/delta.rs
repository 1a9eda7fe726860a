//! Line-wise delta coding of a message against a reference message, for the finished
//! store: the finals it keeps differ from one another in a few tokens per header line
//! (branch, tags, Call-ID) and share the rest, so a 280-byte 200 to a NOTIFY codes in
//! about 80 bytes against the previous one.
//!
//! Line `i` of the message (lines end at LF, which stays part of the line; the body is
//! cut the same way) is coded against line `i` of the reference as: the length of the
//! prefix they share (one byte), the length of the suffix they share after it (one
//! byte), the length of what lies between (a LEB128 varint) and those bytes. Any byte
//! sequence codes and decodes back exactly.

/// Lines of `text`, each with its LF; a last line without one too.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split_inclusive(|&b| b == b'\n')
}

/// Appends the coding of `msg` against `reference` to `out`.
pub(super) fn encode(msg: &[u8], reference: &[u8], out: &mut Vec<u8>) {
    let mut refs = lines(reference);
    for line in lines(msg) {
        let base = refs.next().unwrap_or_default();
        let prefix = common(line.iter(), base.iter()).min(255);
        let (rest, base_rest) = (&line[prefix..], &base[prefix..]);
        let suffix = common(rest.iter().rev(), base_rest.iter().rev()).min(255);
        let mid = &rest[..rest.len() - suffix];
        out.push(prefix as u8);
        out.push(suffix as u8);
        let mut n = mid.len();
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend_from_slice(mid);
    }
}

/// The message `code` was made from with `reference`; `None` if `code` is not such a
/// coding (it only ever comes from `encode`, so that means a bug, never input).
pub(super) fn decode(code: &[u8], reference: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(reference.len() + code.len());
    let mut refs = lines(reference);
    let mut at = 0;
    while at < code.len() {
        let base = refs.next().unwrap_or_default();
        let prefix = usize::from(*code.get(at)?);
        let suffix = usize::from(*code.get(at + 1)?);
        at += 2;
        let (mut n, mut shift) = (0usize, 0);
        loop {
            let b = *code.get(at)?;
            at += 1;
            n |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b < 0x80 {
                break;
            }
        }
        out.extend_from_slice(base.get(..prefix)?);
        out.extend_from_slice(code.get(at..at + n)?);
        at += n;
        out.extend_from_slice(base.get(base.len().checked_sub(suffix)?..)?);
    }
    Some(out)
}

/// How many leading items two sequences share.
fn common<'a>(a: impl Iterator<Item = &'a u8>, b: impl Iterator<Item = &'a u8>) -> usize {
    a.zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &[u8] = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-7\r\n\
        From: <sip:100@127.0.0.1>;tag=11\r\nCall-ID: aaaa@x\r\nCSeq: 3 NOTIFY\r\n\
        Content-Length: 0\r\n\r\n";
    const B: &[u8] = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-22-7\r\n\
        From: <sip:100@127.0.0.1>;tag=12\r\nCall-ID: bbbbbb@x\r\nCSeq: 3 NOTIFY\r\n\
        Content-Length: 0\r\n\r\n";

    fn round_trip(msg: &[u8], reference: &[u8]) -> usize {
        let mut code = Vec::new();
        encode(msg, reference, &mut code);
        assert_eq!(decode(&code, reference).as_deref(), Some(msg));
        code.len()
    }

    #[test]
    fn delta_of_similar_responses_is_small_and_exact() {
        let n = round_trip(B, A);
        assert!(n < B.len() / 3, "{n} of {}", B.len());
        assert_eq!(round_trip(A, A), 3 * 7);
    }

    #[test]
    fn delta_codes_any_bytes_exactly() {
        let long_line = [b'x'; 700];
        let cases: [(&[u8], &[u8]); 6] = [
            (b"", A),
            (A, b""),
            (b"no newline at all", A),
            (&[0xff, 0x00, b'\n', 0x80, b'\n', b'\n'], B),
            (&long_line, &long_line[..300]),
            (b"SIP/2.0 200 OK\r\nExtra: 1\r\nVia: x\r\n\r\nbody", A),
        ];
        for (msg, reference) in cases {
            round_trip(msg, reference);
        }
    }
}
