//! `message/sipfrag` bodies (RFC 3420), as carried by the NOTIFYs of a REFER
//! subscription (RFC 3515 §2.4.5): a start line, optionally headers and a body.
//!
//! Parsing is liberal because the peers are: the start line may end in CRLF, a bare LF
//! (baresip) or nothing at all, and header lines that do not parse are skipped.

use std::fmt;

use super::msg::Method;

/// The start line of a sipfrag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `SIP/2.0 <code> <reason>` — what REFER progress reports use.
    Status { code: u16, reason: String },
    /// `<METHOD> <uri> SIP/2.0`, kept as text.
    Request { method: Method, uri: String },
}

/// A parsed sipfrag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sipfrag {
    pub start: StartLine,
    /// `(name, value)` pairs as received (folded lines joined by one space).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Sipfrag {
    /// The status code, for a response fragment.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Status { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match &self.start {
            StartLine::Status { reason, .. } => Some(reason),
            StartLine::Request { .. } => None,
        }
    }
}

/// Why a sipfrag was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipfragError {
    Empty,
    /// The first line is neither a Status-Line nor a Request-Line.
    StartLine,
    /// The status code is not three digits in 100..=699.
    StatusCode,
}

impl fmt::Display for SipfragError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SipfragError::Empty => "empty sipfrag",
            SipfragError::StartLine => "sipfrag start line is not a SIP start line",
            SipfragError::StatusCode => "sipfrag status code out of range",
        })
    }
}

impl std::error::Error for SipfragError {}

/// Parse a `message/sipfrag` body.
pub fn parse(body: &[u8]) -> Result<Sipfrag, SipfragError> {
    let skip = body.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let body = body.get(skip..).unwrap_or_default();
    if body.is_empty() {
        return Err(SipfragError::Empty);
    }
    // Split off the header section at the first empty line (CRLF or LF); without one,
    // everything is start line + headers.
    let (head, rest) = split_head(body);
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or("").trim_end();
    let start = parse_start(first)?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((n, v)) = line.split_once(':') {
            let n = n.trim();
            if !n.is_empty() {
                headers.push((n.to_string(), v.trim().to_string()));
            }
        }
    }
    Ok(Sipfrag {
        start,
        headers,
        body: rest.to_vec(),
    })
}

fn split_head(b: &[u8]) -> (&[u8], &[u8]) {
    for i in 0..b.len() {
        if b.get(i) == Some(&b'\n') {
            if b.get(i + 1) == Some(&b'\n') {
                return (&b[..i], &b[i + 2..]);
            }
            if b.get(i + 1..i + 3) == Some(b"\r\n") {
                return (&b[..i], &b[i + 3..]);
            }
        }
    }
    (b, &[])
}

fn parse_start(line: &str) -> Result<StartLine, SipfragError> {
    let mut parts = line.splitn(3, ' ');
    let first = parts.next().unwrap_or("");
    if first
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        let code = parts.next().unwrap_or("");
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SipfragError::StatusCode);
        }
        let code: u16 = code.parse().map_err(|_| SipfragError::StatusCode)?;
        if !(100..=699).contains(&code) {
            return Err(SipfragError::StatusCode);
        }
        let reason = parts.next().unwrap_or("").trim().to_string();
        return Ok(StartLine::Status { code, reason });
    }
    let uri = parts.next().ok_or(SipfragError::StartLine)?;
    let version = parts.next().ok_or(SipfragError::StartLine)?;
    if !version.trim().eq_ignore_ascii_case("SIP/2.0") || uri.is_empty() {
        return Err(SipfragError::StartLine);
    }
    let method = Method::parse(first).map_err(|_| SipfragError::StartLine)?;
    Ok(StartLine::Request {
        method,
        uri: uri.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_with_crlf_lf_or_nothing() {
        for body in [
            &b"SIP/2.0 100 Trying\r\n"[..],
            b"SIP/2.0 100 Trying\n",
            b"SIP/2.0 100 Trying",
            b"SIP/2.0 100 Trying\r\n\r\n",
        ] {
            let f = parse(body).unwrap();
            assert_eq!(
                (f.status(), f.reason()),
                (Some(100), Some("Trying")),
                "{body:?}"
            );
        }
        let f = parse(b"SIP/2.0 200 OK\r\n").unwrap();
        assert_eq!(f.status(), Some(200));
        assert_eq!(parse(b"SIP/2.0 486").unwrap().reason(), Some(""));
    }

    #[test]
    fn headers_and_body() {
        let f =
            parse(b"SIP/2.0 603 Declined\r\nContact: <sip:x@h>\r\n Foo\r\nbad line\r\n\r\nbody")
                .unwrap();
        assert_eq!(f.status(), Some(603));
        assert_eq!(
            f.headers,
            vec![("Contact".to_string(), "<sip:x@h> Foo".to_string())]
        );
        assert_eq!(f.body, b"body");
        let r = parse(b"INVITE sip:b@h SIP/2.0\r\n").unwrap();
        assert_eq!(
            r.start,
            StartLine::Request {
                method: Method::Invite,
                uri: "sip:b@h".into()
            }
        );
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse(b""), Err(SipfragError::Empty));
        assert_eq!(parse(b"\r\n"), Err(SipfragError::Empty));
        assert_eq!(parse(b"SIP/2.0 2000 OK"), Err(SipfragError::StatusCode));
        assert_eq!(parse(b"SIP/2.0 099 x"), Err(SipfragError::StatusCode));
        assert_eq!(parse(b"hello"), Err(SipfragError::StartLine));
        assert_eq!(parse(b"\xff\xfe SIP"), Err(SipfragError::StartLine));
    }
}
