//! The answer to a request that the message layer refused (RFC 3261 §8.2, §16.3: a
//! malformed request gets 400 with a reason saying what is wrong; §8.2.2.x version errors
//! get 505). The request cannot become a `Message`, so the few headers a response needs are
//! copied as text; without all of them nothing can be answered and the caller drops it.

use crate::sip::msg::{ParseError, new_tag};

/// Bound on the header lines looked at, so hostile input costs little.
const MAX_LINES: usize = 200;

/// The bytes of a stateless error response to `bytes`, or `None` when it is not a request
/// (a response, an ACK — never answered, §17.2.1 — or garbage) or lacks a header a response
/// must copy (Via, From, To, Call-ID, CSeq: §8.2.6.2).
pub(super) fn answer(bytes: &[u8], error: &ParseError) -> Option<Vec<u8>> {
    let head_end = find(bytes, b"\r\n\r\n").unwrap_or(bytes.len());
    let head = std::str::from_utf8(bytes.get(..head_end)?).ok()?;
    let mut lines = head.split("\r\n");
    let start = lines.next()?;
    let mut parts = start.split(' ');
    let method = parts.next()?;
    if method.is_empty()
        || method.starts_with("SIP/")
        || method.eq_ignore_ascii_case("ACK")
        || !method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
    {
        return None;
    }
    let mut vias = Vec::new();
    let (mut from, mut to, mut call_id, mut cseq) = (None, None, None, None);
    for line in lines.take(MAX_LINES) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "via" | "v" => vias.push(value),
            "from" | "f" => from = from.or(Some(value)),
            "to" | "t" => to = to.or(Some(value)),
            "call-id" | "i" => call_id = call_id.or(Some(value)),
            "cseq" => cseq = cseq.or(Some(value)),
            _ => {}
        }
    }
    let (from, to, call_id, cseq) = (from?, to?, call_id?, cseq?);
    if vias.is_empty() {
        return None;
    }
    let (code, reason) = if error.is_version() {
        (505, "Version Not Supported".to_string())
    } else {
        (400, printable(&error.reason_phrase()))
    };
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for v in vias {
        out.push_str(&format!("Via: {v}\r\n"));
    }
    out.push_str(&format!("From: {from}\r\n"));
    if to.contains(";tag=") {
        out.push_str(&format!("To: {to}\r\n"));
    } else {
        out.push_str(&format!("To: {to};tag={}\r\n", new_tag()));
    }
    out.push_str(&format!(
        "Call-ID: {call_id}\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n"
    ));
    Some(out.into_bytes())
}

/// A reason phrase is TEXT-UTF8 without CR or LF (RFC 3261 §25.1); keep it short.
fn printable(reason: &str) -> String {
    let clean: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect();
    if clean.trim().is_empty() {
        "Bad Request".to_string()
    } else {
        clean
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::msg::Message;

    fn error_of(bytes: &[u8]) -> ParseError {
        Message::parse(bytes).expect_err("the test message is malformed")
    }

    #[test]
    fn a_bad_request_with_the_needed_headers_gets_400_with_the_reason() {
        let bad = b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: many\r\nContent-Length: 0\r\n\r\n";
        let out = answer(bad, &error_of(bad)).expect("answered");
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("SIP/2.0 400 "), "{text}");
        assert!(text.contains("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"));
        assert!(text.contains("To: <sip:a@b>;tag="));
        assert!(text.contains("CSeq: 1 INVITE\r\n"));
        // What we send must itself be a well-formed response.
        assert_eq!(Message::parse(text.as_bytes()).unwrap().status(), Some(400));
    }

    #[test]
    fn acks_responses_and_headerless_garbage_get_nothing() {
        let ack = b"ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: x ACK\r\n\r\n";
        assert!(answer(ack, &error_of(ack)).is_none());
        let garbage = b"\x01\x02 hello\r\n\r\n";
        assert!(answer(garbage, &error_of(garbage)).is_none());
        let no_cseq = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nMax-Forwards: x\r\n\r\n";
        assert!(answer(no_cseq, &error_of(no_cseq)).is_none());
    }
}
