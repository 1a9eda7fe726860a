//! The header section's line structure (RFC 3261 §7.3): one pass over the bytes finds each
//! line end, header name and value range, and the empty line that ends the section.

use super::error::{ParseError, ParseErrorKind};
use super::header_name;
use super::message::{Header, Text};
use super::scan::{find_any, is_token_char};

fn err(kind: ParseErrorKind, detail: &'static str) -> ParseError {
    ParseError::new(kind, detail)
}

/// The header section as found by [`scan_lines`].
pub(crate) struct Lines {
    /// End of the start line's text (without its line end).
    pub start_end: usize,
    /// Header lines as ranges of the buffer (values trimmed; folded ones extended).
    pub headers: Vec<Header>,
    /// Indexes of headers whose value spans several lines.
    pub folded: Vec<usize>,
    /// End of the last header line including its line end.
    pub head_end: usize,
    pub body_start: usize,
    /// The first malformed header line, reported after the start line is checked.
    pub error: Option<ParseError>,
}

/// One pass over the header section's bytes: finds each line end (CRLF, or a bare LF
/// tolerated), the colon of each header line and the empty line that ends the section,
/// without reading any body byte.
pub(crate) fn scan_lines(buf: &[u8]) -> Result<Lines, ParseError> {
    if buf.len() > u32::MAX as usize {
        return Err(err(ParseErrorKind::TooLarge, "message"));
    }
    // Typical header lines are 20-60 bytes: reserve once for the usual case.
    let mut headers: Vec<Header> = Vec::with_capacity(buf.len().min(4096) / 28 + 4);
    let mut folded: Vec<usize> = Vec::new();
    let mut error: Option<ParseError> = None;
    let mut start_end: Option<usize> = None;
    let mut i = 0usize;
    loop {
        let rest = buf.get(i..).unwrap_or_default();
        // Jump from CR to LF eight bytes at a time; the colon is looked for only in header
        // lines, from the line start (it ends the name, which is short).
        let mut last_cr = None;
        let mut j = 0usize;
        let nl = loop {
            let Some(p) = rest.get(j..).and_then(|r| find_any(r, [b'\n', b'\r'])) else {
                return Err(err(ParseErrorKind::Unterminated, ""));
            };
            let at = j + p;
            if rest.get(at) == Some(&b'\n') {
                break i + at;
            }
            last_cr = Some(i + at);
            j = at + 1;
        };
        let end = if nl > i && buf.get(nl - 1) == Some(&b'\r') {
            nl - 1
        } else {
            nl
        };
        if last_cr.is_some_and(|c| c < end) && error.is_none() {
            // A bare CR can only be a broken line end. (NUL may appear in a quoted-pair,
            // RFC 4475 §3.1.1.2, so it is left to the value grammars.)
            error = Some(err(ParseErrorKind::HeaderLine, "stray CR"));
        }
        if end == i {
            let Some(start_end) = start_end else {
                return Err(err(ParseErrorKind::Empty, ""));
            };
            return Ok(Lines {
                start_end,
                headers,
                folded,
                head_end: i,
                body_start: nl + 1,
                error,
            });
        }
        if start_end.is_none() {
            start_end = Some(end);
            i = nl + 1;
            continue;
        }
        let line = buf.get(i..end).unwrap_or_default();
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            // RFC 3261 §7.3.1: a line starting with whitespace continues the header.
            let blank = line.iter().all(|&b| b == b' ' || b == b'\t');
            let idx = headers.len().wrapping_sub(1);
            match headers.last_mut() {
                Some(Header {
                    value: Text::Span(_, v_end),
                    ..
                }) if !blank => {
                    *v_end = end as u32;
                    if folded.last() != Some(&idx) {
                        folded.push(idx);
                    }
                }
                Some(_) => {}
                _ if error.is_none() => {
                    error = Some(err(ParseErrorKind::HeaderLine, "continuation line first"));
                }
                _ => {}
            }
            i = nl + 1;
            continue;
        }
        // Fast path: token characters, optional whitespace, ':' — the name as the slow
        // path below would find it. Anything else takes the slow path and its errors.
        let mut t = 0usize;
        while line.get(t).is_some_and(|&b| is_token_char(b)) {
            t += 1;
        }
        let mut k = t;
        while line.get(k).is_some_and(|&b| b == b' ' || b == b'\t') {
            k += 1;
        }
        let colon = if t > 0 && line.get(k) == Some(&b':') {
            Some(i + k)
        } else {
            line.iter().position(|&b| b == b':').map(|p| i + p)
        };
        match colon {
            Some(c) => {
                let name_end = if c == i + k {
                    i + t
                } else {
                    let raw = buf.get(i..c).unwrap_or_default();
                    i + raw
                        .iter()
                        .rposition(|&b| b != b' ' && b != b'\t')
                        .map_or(0, |p| p + 1)
                };
                let name = buf.get(i..name_end).unwrap_or_default();
                if !name.is_empty() && name.iter().all(|&b| is_token_char(b)) {
                    let mut vs = c + 1;
                    while vs < end && matches!(buf.get(vs), Some(b' ' | b'\t')) {
                        vs += 1;
                    }
                    let mut ve = end;
                    while ve > vs && matches!(buf.get(ve - 1), Some(b' ' | b'\t')) {
                        ve -= 1;
                    }
                    headers.push(Header {
                        name: Text::Span(i as u32, name_end as u32),
                        known: header_name::lookup_bytes(name),
                        value: Text::Span(vs as u32, ve as u32),
                    });
                } else if error.is_none() {
                    error = Some(err(ParseErrorKind::HeaderLine, "bad header name"));
                }
            }
            None if error.is_none() => error = Some(err(ParseErrorKind::HeaderLine, "no colon")),
            None => {}
        }
        i = nl + 1;
    }
}
