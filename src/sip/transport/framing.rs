//! Cutting a byte stream into SIP messages (RFC 3261 §18.3) and keepalive pings/pongs
//! (RFC 5626 §4.4.1). The stream code calls only `frame`, so the message layer's framer
//! can take over behind this one function.

use std::fmt;

/// What the front of a stream buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A whole message of this many bytes.
    Complete(usize),
    /// More bytes are needed.
    Partial,
    /// A keepalive ping (CRLFCRLF) of this many bytes: answer with a pong.
    Ping(usize),
    /// A keepalive pong (a lone CRLF) of this many bytes: drop it.
    Pong(usize),
}

/// The stream cannot be framed; the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The message (or its header section) is larger than the limit.
    TooLarge { max: usize },
    /// The Content-Length header is not a number.
    BadContentLength,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { max } => write!(f, "message larger than {max} bytes"),
            FrameError::BadContentLength => f.write_str("malformed Content-Length"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Frames the front of `buf`, accepting messages of at most `max` bytes.
pub fn frame(buf: &[u8], max: usize) -> Result<Frame, FrameError> {
    // RFC 5626 §4.4.1: a double CRLF is a ping, a single CRLF a pong. A lone CRLF at
    // the end of the buffer may be the first half of a ping, so wait for more.
    if buf.starts_with(b"\r\n\r\n") {
        return Ok(Frame::Ping(4));
    }
    if buf.starts_with(b"\r\n") {
        return Ok(if buf.len() == 2 {
            Frame::Partial
        } else {
            Frame::Pong(2)
        });
    }
    if buf.len() < 2 && buf.first().is_none_or(|&b| b == b'\r') {
        return Ok(Frame::Partial);
    }
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        return if buf.len() >= max {
            Err(FrameError::TooLarge { max })
        } else {
            Ok(Frame::Partial)
        };
    };
    let head_len = head_end + 4;
    let body_len = content_length(buf.get(..head_end).unwrap_or_default())?;
    // RFC 3261 §18.3: on a stream, Content-Length gives the body size; a missing
    // header means an empty body.
    let total = head_len
        .checked_add(body_len)
        .ok_or(FrameError::TooLarge { max })?;
    if total > max {
        return Err(FrameError::TooLarge { max });
    }
    Ok(if buf.len() >= total {
        Frame::Complete(total)
    } else {
        Frame::Partial
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The value of Content-Length (or its compact form `l`, RFC 3261 §7.3.3) in a header
/// section; 0 when absent.
fn content_length(head: &[u8]) -> Result<usize, FrameError> {
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let name = name.trim_ascii();
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let value = value.get(1..).unwrap_or_default().trim_ascii();
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return Err(FrameError::BadContentLength);
        }
        let mut n: usize = 0;
        for &d in value {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(d - b'0')))
                .ok_or(FrameError::BadContentLength)?;
        }
        return Ok(n);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1000;

    #[test]
    fn frames_a_message_by_content_length() {
        let msg = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhelloNEXT";
        assert_eq!(frame(msg, MAX), Ok(Frame::Complete(msg.len() - 4)));
        assert_eq!(frame(&msg[..30], MAX), Ok(Frame::Partial));
        assert_eq!(frame(&msg[..msg.len() - 5], MAX), Ok(Frame::Partial));
    }

    #[test]
    fn compact_form_and_missing_length() {
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\nl:2\r\n\r\nok";
        assert_eq!(frame(msg, MAX), Ok(Frame::Complete(msg.len())));
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n\r\n";
        assert_eq!(frame(msg, MAX), Ok(Frame::Complete(msg.len())));
    }

    #[test]
    fn pings_and_pongs() {
        assert_eq!(frame(b"\r\n\r\nINVITE", MAX), Ok(Frame::Ping(4)));
        assert_eq!(frame(b"\r\nINVITE", MAX), Ok(Frame::Pong(2)));
        assert_eq!(frame(b"\r\n", MAX), Ok(Frame::Partial));
        assert_eq!(frame(b"\r", MAX), Ok(Frame::Partial));
        assert_eq!(frame(b"", MAX), Ok(Frame::Partial));
    }

    #[test]
    fn oversize_and_garbage_are_errors() {
        let big = format!("INVITE x SIP/2.0\r\nContent-Length: {MAX}\r\n\r\n");
        assert_eq!(
            frame(big.as_bytes(), MAX),
            Err(FrameError::TooLarge { max: MAX })
        );
        assert_eq!(
            frame(&[b'x'; MAX], MAX),
            Err(FrameError::TooLarge { max: MAX })
        );
        let bad = b"INVITE x SIP/2.0\r\nContent-Length: -1\r\n\r\n";
        assert_eq!(frame(bad, MAX), Err(FrameError::BadContentLength));
        let huge = b"INVITE x SIP/2.0\r\nContent-Length: 99999999999999999999999\r\n\r\n";
        assert_eq!(frame(huge, MAX), Err(FrameError::BadContentLength));
    }
}
