//! Stream framing for TCP and TLS (RFC 3261 §18.3): find where one message ends in a
//! growing buffer, using Content-Length, and recognise CRLF keep-alives (RFC 5626 §4.4.1).

use std::fmt;

use super::scan::parse_digits;

/// The largest header section the framer waits for (16 KiB), so a peer that never sends
/// the empty line cannot make us buffer without bound.
pub const MAX_HEADER_SECTION: usize = 16 * 1024;

/// The default maximum message size (header section + body) callers pass to [`frame`].
pub const DEFAULT_MAX_MESSAGE: usize = 64 * 1024;

/// What the front of the buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A whole message of this many bytes (give `&buf[..len]` to `Message::parse`).
    Complete(usize),
    /// Not enough bytes yet.
    Partial,
    /// A keep-alive ping `\r\n\r\n` of this length: answer with a pong (`\r\n`).
    Ping(usize),
    /// A keep-alive pong: a lone `\r\n`. Also what a stray CRLF before a message is
    /// (RFC 3261 §7.5 lets a receiver skip it): consume and carry on. A ping whose two
    /// CRLFs arrive in separate reads is seen as two pongs; peers write the four bytes at
    /// once, and waiting instead would delay every genuine pong until more data came.
    Pong(usize),
}

/// The stream cannot be framed: the connection should be closed (after a 400 where the
/// start line allows one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// No empty line within [`MAX_HEADER_SECTION`] bytes.
    HeaderTooLarge,
    /// No Content-Length: mandatory on streams (RFC 3261 §18.3, §20.14).
    NoContentLength,
    /// Content-Length is not a decimal number (e.g. negative).
    BadContentLength,
    /// Two Content-Length headers disagree (RFC 4475 §3.3.9).
    ConflictingContentLength,
    /// Header section + body would exceed the caller's maximum.
    TooLarge,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FrameError::HeaderTooLarge => "header section too large",
            FrameError::NoContentLength => "no Content-Length on a stream",
            FrameError::BadContentLength => "malformed Content-Length",
            FrameError::ConflictingContentLength => "conflicting Content-Length values",
            FrameError::TooLarge => "message too large",
        })
    }
}

impl std::error::Error for FrameError {}

/// Frame the next item at the front of `buf`. Pure and bounded: it looks at no more than
/// `MAX_HEADER_SECTION` bytes to find the header end, never blocks and never panics.
pub fn frame(buf: &[u8], max_size: usize) -> Result<Frame, FrameError> {
    if buf.starts_with(b"\r\n") {
        return Ok(match buf.get(2..4) {
            Some(b"\r\n") => Frame::Ping(4),
            // "\r\n\r" may be the start of a ping.
            None if buf.len() == 3 && buf.get(2) == Some(&b'\r') => Frame::Partial,
            _ => Frame::Pong(2),
        });
    }
    if buf.first() == Some(&b'\n') {
        // A bare LF between messages: skip it like a CRLF (RFC 3261 §7.5, liberally).
        return Ok(Frame::Pong(1));
    }
    let window = buf.get(..buf.len().min(MAX_HEADER_SECTION)).unwrap_or(buf);
    // One pass over the header lines: note Content-Length, stop at the empty line.
    let mut length: Option<usize> = None;
    let mut i = 0usize;
    let body_start = loop {
        let rest = window.get(i..).unwrap_or_default();
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return if buf.len() >= MAX_HEADER_SECTION {
                Err(FrameError::HeaderTooLarge)
            } else {
                Ok(Frame::Partial)
            };
        };
        let line = rest.get(..nl).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break i + nl + 1;
        }
        i += nl + 1;
        if !matches!(line.first(), Some(b'c' | b'C' | b'l' | b'L')) {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = trim(line.get(..colon).unwrap_or_default());
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let value = trim(line.get(colon + 1..).unwrap_or_default());
        let n = std::str::from_utf8(value)
            .ok()
            .and_then(parse_digits)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(FrameError::BadContentLength)?;
        if length.is_some_and(|l| l != n) {
            return Err(FrameError::ConflictingContentLength);
        }
        length = Some(n);
    };
    let length = length.ok_or(FrameError::NoContentLength)?;
    let total = body_start.checked_add(length).ok_or(FrameError::TooLarge)?;
    if total > max_size {
        return Err(FrameError::TooLarge);
    }
    Ok(if buf.len() >= total {
        Frame::Complete(total)
    } else {
        Frame::Partial
    })
}

fn trim(b: &[u8]) -> &[u8] {
    let is_ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r');
    let start = b.iter().position(|c| !is_ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !is_ws(c)).map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] =
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nl: 5\r\n\r\nhello";

    #[test]
    fn complete_partial_and_pipelined() {
        assert_eq!(
            frame(MSG, DEFAULT_MAX_MESSAGE),
            Ok(Frame::Complete(MSG.len()))
        );
        let mut two = MSG.to_vec();
        two.extend_from_slice(MSG);
        assert_eq!(
            frame(&two, DEFAULT_MAX_MESSAGE),
            Ok(Frame::Complete(MSG.len()))
        );
        for k in 0..MSG.len() {
            assert_eq!(
                frame(&MSG[..k], DEFAULT_MAX_MESSAGE),
                Ok(Frame::Partial),
                "at {k}"
            );
        }
    }

    #[test]
    fn keepalives() {
        assert_eq!(frame(b"\r\n\r\n", 100), Ok(Frame::Ping(4)));
        assert_eq!(frame(b"\r\n\r\nOPTIONS", 100), Ok(Frame::Ping(4)));
        assert_eq!(frame(b"\r\n", 100), Ok(Frame::Pong(2)));
        assert_eq!(frame(b"\r\n\r", 100), Ok(Frame::Partial));
        assert_eq!(frame(b"\r\nOPTIONS", 100), Ok(Frame::Pong(2)));
        assert_eq!(frame(b"\nOPTIONS", 100), Ok(Frame::Pong(1)));
    }

    #[test]
    fn errors() {
        let no_cl = b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n";
        assert_eq!(frame(no_cl, 1000), Err(FrameError::NoContentLength));
        let neg = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -999\r\n\r\n";
        assert_eq!(frame(neg, 1000), Err(FrameError::BadContentLength));
        let two = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 3\r\nl: 4\r\n\r\nabcd";
        assert_eq!(frame(two, 1000), Err(FrameError::ConflictingContentLength));
        let huge = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999999999999999999999\r\n\r\n";
        assert_eq!(frame(huge, 1000), Err(FrameError::BadContentLength));
        let big = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n";
        assert_eq!(frame(big, 1000), Err(FrameError::TooLarge));
        let endless = vec![b'a'; MAX_HEADER_SECTION];
        assert_eq!(frame(&endless, usize::MAX), Err(FrameError::HeaderTooLarge));
        assert_eq!(frame(&endless[..100], usize::MAX), Ok(Frame::Partial));
    }
}
