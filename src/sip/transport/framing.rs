//! Cutting a byte stream into SIP messages (RFC 3261 §18.3) and keepalive pings/pongs
//! (RFC 5626 §4.4.1): the message layer's framer, with one transport-side rule added.

pub(super) use crate::sip::msg::{Frame, FrameError};

/// Frames the front of `buf`, accepting messages of at most `max` bytes.
pub(super) fn frame(buf: &[u8], max: usize) -> Result<Frame, FrameError> {
    // A lone CRLF at the end of what has arrived may be the first half of a CRLFCRLF
    // ping split across segments; wait for more rather than take it for a pong (a real
    // pong left waiting costs nothing: it is dropped when the next bytes come).
    if buf == b"\r\n" {
        return Ok(Frame::Partial);
    }
    crate::sip::msg::frame(buf, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_split_after_the_first_crlf_is_still_a_ping() {
        let mut buf = b"\r\n".to_vec();
        assert_eq!(frame(&buf, 1000), Ok(Frame::Partial));
        buf.extend_from_slice(b"\r\n");
        assert_eq!(frame(&buf, 1000), Ok(Frame::Ping(4)));
    }

    #[test]
    fn a_pong_before_a_message_is_consumed_alone() {
        assert_eq!(frame(b"\r\nOPTIONS", 1000), Ok(Frame::Pong(2)));
    }

    #[test]
    fn messages_are_framed_by_content_length() {
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nokNEXT";
        assert_eq!(frame(msg, 1000), Ok(Frame::Complete(msg.len() - 4)));
        assert_eq!(frame(&msg[..20], 1000), Ok(Frame::Partial));
        assert!(frame(msg, 10).is_err(), "larger than the limit");
    }
}
