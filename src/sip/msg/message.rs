//! The owned SIP message: parsed from one buffer (RFC 3261 §7), header values kept as
//! ranges into the received header text and parsed into typed values only on demand.

use std::fmt;
use std::sync::OnceLock;

use super::error::{ParseError, ParseErrorKind};
use super::header_name::{self, Hid, Known};
use super::lines::scan_lines;
use super::method::Method;
use super::name_addr::NameAddrParts;
use super::scan::{
    comma_split, is_token, is_word_char, is_ws, parse_bounded, trim_start_ws, trim_ws,
};
use super::uri::{Host, Uri, UriParts};
use super::via::ViaParts;

/// Text that is either a range of the received header section or owned.
#[derive(Debug, Clone)]
pub(crate) enum Text {
    Span(u32, u32),
    Own(Box<str>),
}

impl Text {
    pub(crate) fn get<'a>(&'a self, head: &'a str) -> &'a str {
        match self {
            Text::Span(a, b) => head.get(*a as usize..*b as usize).unwrap_or(""),
            Text::Own(s) => s,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub name: Text,
    pub known: Option<&'static Known>,
    pub value: Text,
}

impl Header {
    pub(crate) fn owned(name: &str, value: &str) -> Header {
        // Header injection guard: a value must stay on its line.
        let clean = |s: &str| -> Box<str> {
            if s.contains(['\r', '\n']) {
                s.replace(['\r', '\n'], " ").into()
            } else {
                s.into()
            }
        };
        Header {
            known: header_name::lookup(name),
            name: Text::Own(clean(name)),
            value: Text::Own(clean(trim_ws(value))),
        }
    }
}

// One per message and never in a collection: boxing the URI would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum StartLine {
    Request {
        method: Method,
        /// The typed Request-URI. A parsed message fills it from `uri_text` on first use:
        /// the text was validated by the parse, and most received requests (responses'
        /// ACKs, in-dialog BYEs and NOTIFYs) never need the owned form, whose strings
        /// would be most of a parse's allocations.
        uri: OnceLock<Uri>,
        /// The Request-URI as received, written back verbatim until the URI is replaced.
        uri_text: Option<Text>,
    },
    Response {
        code: u16,
        reason: Text,
    },
}

/// A SIP request or response. See the module documentation of [`crate::sip::msg`].
#[derive(Debug, Clone)]
pub struct Message {
    /// The received start line and header section (empty for built messages).
    pub(crate) head: String,
    pub(crate) start: StartLine,
    pub(crate) headers: Vec<Header>,
    pub(crate) body: Vec<u8>,
}

/// Matches a header against a looked-up query name.
pub(crate) struct NameQuery<'q> {
    known: Option<&'static Known>,
    name: &'q str,
}

impl<'q> NameQuery<'q> {
    pub(crate) fn new(name: &'q str) -> Self {
        NameQuery {
            known: header_name::lookup(name),
            name,
        }
    }

    fn matches(&self, h: &Header, head: &str) -> bool {
        match (self.known, h.known) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => h.name.get(head).eq_ignore_ascii_case(self.name),
            _ => false,
        }
    }

    fn is_list(&self) -> bool {
        self.known.is_some_and(|k| k.list)
    }
}

fn err(kind: ParseErrorKind, detail: &'static str) -> ParseError {
    ParseError::new(kind, detail)
}

/// Parse a Content-Length value: digits only, so `-999` is an error, not a huge number.
pub(crate) fn parse_content_length(v: &str) -> Result<usize, ParseError> {
    parse_bounded(trim_ws(v), u32::MAX.into())
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .map_err(|e| e.in_header("Content-Length"))
}

impl Message {
    /// Parse one message received as a datagram (RFC 3261 §18.3): the body is
    /// Content-Length bytes (an error if fewer follow; extra bytes are ignored), or the
    /// rest of the datagram when Content-Length is missing. Leading CRLFs are skipped
    /// (§7.5). Besides the syntax, the headers the stack depends on are validated
    /// (Via, From, To, Call-ID, CSeq, Max-Forwards, Contact, Route, Record-Route), so a
    /// message that parses can be routed and matched.
    pub fn parse(datagram: &[u8]) -> Result<Message, ParseError> {
        let skip = datagram
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        let buf = datagram.get(skip..).unwrap_or_default();
        if buf.is_empty() {
            return Err(err(ParseErrorKind::Empty, ""));
        }
        let lines = scan_lines(buf)?;
        let head = std::str::from_utf8(buf.get(..lines.head_end).unwrap_or_default())
            .map_err(|_| err(ParseErrorKind::Utf8, ""))?;
        let start = parse_start_line(head.get(..lines.start_end).unwrap_or_default(), 0)?;
        if let Some(e) = lines.error {
            return Err(e);
        }
        let mut headers = lines.headers;
        // Folded values become one line with single spaces, as RFC 3261 §7.3.1 makes
        // them equivalent; unfolded values stay ranges of the received text.
        for i in lines.folded {
            if let Some(h) = headers.get_mut(i) {
                let joined: Vec<&str> = h
                    .value
                    .get(head)
                    .split('\n')
                    .map(|l| trim_ws(l.strip_suffix('\r').unwrap_or(l)))
                    .filter(|l| !l.is_empty())
                    .collect();
                h.value = Text::Own(joined.join(" ").into());
            }
        }
        let mut msg = Message {
            head: head.to_string(),
            start,
            headers,
            body: Vec::new(),
        };
        let rest = buf.get(lines.body_start..).unwrap_or_default();
        let body = match msg.content_length_checked()? {
            Some(n) => rest
                .get(..n)
                .ok_or_else(|| err(ParseErrorKind::Truncated, "").in_header("Content-Length"))?,
            None => rest,
        };
        msg.body = body.to_vec();
        msg.validate()?;
        Ok(msg)
    }

    /// All Content-Length values must agree (RFC 4475 §3.3.9); `None` when absent.
    pub(crate) fn content_length_checked(&self) -> Result<Option<usize>, ParseError> {
        let mut found: Option<usize> = None;
        for v in self.raw_values("Content-Length") {
            let n = parse_content_length(v)?;
            if found.is_some_and(|f| f != n) {
                return Err(err(ParseErrorKind::ContentLength, "").in_header("Content-Length"));
            }
            found = Some(n);
        }
        Ok(found)
    }

    /// Check the headers the stack relies on, without allocating.
    fn validate(&self) -> Result<(), ParseError> {
        // One pass to count, so that missing and repeated headers are reported first
        // (RFC 3261 §8.1.1 mandatory headers; §7.3.1 single-valued ones).
        // `Other` is the last variant of `Hid`.
        let mut count = [0u8; Hid::Other as usize + 1];
        for h in &self.headers {
            if let Some(k) = h.known
                && let Some(c) = count.get_mut(k.id as usize)
            {
                *c = c.saturating_add(1);
            }
        }
        let seen = |id: Hid| count.get(id as usize).copied().unwrap_or(0);
        const MANDATORY: [(Hid, &str); 5] = [
            (Hid::Via, "Via"),
            (Hid::From, "From"),
            (Hid::To, "To"),
            (Hid::CallId, "Call-ID"),
            (Hid::CSeq, "CSeq"),
        ];
        for (id, name) in MANDATORY {
            if seen(id) == 0 {
                return Err(ParseError::missing(name));
            }
        }
        const SINGLE: [(Hid, &str); 5] = [
            (Hid::From, "From"),
            (Hid::To, "To"),
            (Hid::CallId, "Call-ID"),
            (Hid::CSeq, "CSeq"),
            (Hid::MaxForwards, "Max-Forwards"),
        ];
        for (id, name) in SINGLE {
            if seen(id) > 1 {
                return Err(err(ParseErrorKind::Duplicate, "").in_header(name));
            }
        }
        // Then each header's grammar, in message order.
        for h in &self.headers {
            let Some(k) = h.known else { continue };
            let v = h.value.get(&self.head);
            match k.id {
                Hid::Via => {
                    for e in comma_split(v) {
                        ViaParts::scan(e)?;
                    }
                }
                Hid::From | Hid::To => {
                    NameAddrParts::scan(v).map_err(|e| e.in_header(k.name))?;
                }
                Hid::Route | Hid::RecordRoute | Hid::Contact => {
                    if k.id == Hid::Contact && trim_ws(v) == "*" {
                        continue;
                    }
                    for e in comma_split(v) {
                        NameAddrParts::scan(e).map_err(|e| e.in_header(k.name))?;
                    }
                }
                Hid::CallId => check_call_id(v)?,
                Hid::CSeq => {
                    let (_, m) = scan_cseq(v)?;
                    if let StartLine::Request { method, .. } = &self.start
                        && !method.matches(m)
                    {
                        return Err(err(ParseErrorKind::CSeqMethod, "").in_header("CSeq"));
                    }
                }
                Hid::MaxForwards => {
                    parse_bounded(v, 255).map_err(|e| e.in_header("Max-Forwards"))?;
                }
                Hid::ContentLength | Hid::Other => {}
            }
        }
        Ok(())
    }

    /// Every raw header value (whole lines, not comma-split) with this name.
    pub(crate) fn raw_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let q = NameQuery::new(name);
        self.headers
            .iter()
            .filter(move |h| q.matches(h, &self.head))
            .map(|h| h.value.get(&self.head))
    }

    // ----- start line -----

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    pub fn is_response(&self) -> bool {
        !self.is_request()
    }

    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    pub fn request_uri(&self) -> Option<&Uri> {
        match &self.start {
            StartLine::Request { uri, uri_text, .. } => Some(uri.get_or_init(|| {
                let text = uri_text.as_ref().map_or("", |t| t.get(&self.head));
                // The parse validated this text, so the fallback is never taken; it only
                // keeps a broken invariant from becoming a panic.
                Uri::parse(text).unwrap_or_else(|_| Uri::sip(None, Host::Name(String::new()), None))
            })),
            StartLine::Response { .. } => None,
        }
    }

    /// Replace the Request-URI (no-op on a response).
    pub fn set_request_uri(&mut self, new: Uri) {
        if let StartLine::Request { uri, uri_text, .. } = &mut self.start {
            *uri = OnceLock::from(new);
            *uri_text = None;
        }
    }

    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Request { .. } => None,
            StartLine::Response { code, .. } => Some(*code),
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { .. } => None,
            StartLine::Response { reason, .. } => Some(reason.get(&self.head)),
        }
    }

    // ----- generic headers -----

    /// The first value of a header: case-insensitive, compact forms equivalent. For list
    /// headers (Via, Contact, Route, Supported, ...) this is the first comma-separated
    /// element; for other headers the whole (unfolded, trimmed) value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let q = NameQuery::new(name);
        let list = q.is_list();
        self.headers
            .iter()
            .filter(|h| q.matches(h, &self.head))
            .map(|h| h.value.get(&self.head))
            .find_map(|v| {
                if list {
                    comma_split(v).find(|e| !e.is_empty())
                } else {
                    Some(v)
                }
            })
    }

    /// All values of a header, in order. List headers are split on top-level commas
    /// (RFC 3261 §7.3.1; not inside quotes or `<>`; empty elements dropped). Headers whose
    /// grammar holds commas (WWW-Authenticate, Authorization, Date, unknown headers...)
    /// give one value per line.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let q = NameQuery::new(name);
        let list = q.is_list();
        self.headers
            .iter()
            .filter(move |h| q.matches(h, &self.head))
            .flat_map(move |h| {
                let v = h.value.get(&self.head);
                let mut split = comma_split(v);
                let mut whole = Some(v);
                std::iter::from_fn(move || if list { split.next() } else { whole.take() })
            })
            .filter(move |v| !list || !v.is_empty())
    }

    /// Every header line as (name as received, value), in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|h| (h.name.get(&self.head), h.value.get(&self.head)))
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.raw_values(name).next().is_some()
    }

    /// Append a header line. CR/LF in `name` or `value` are replaced by spaces.
    pub fn push_header(&mut self, name: &str, value: &str) {
        self.headers.push(Header::owned(name, value));
    }

    /// Replace every line of this header by one line, kept where the first one was
    /// (appended when there was none).
    pub fn set_header(&mut self, name: &str, value: &str) {
        let q = NameQuery::new(name);
        let head = &self.head;
        match self.headers.iter().position(|h| q.matches(h, head)) {
            Some(i) => {
                let mut idx = 0;
                self.headers.retain(|h| {
                    let keep = idx <= i || !q.matches(h, head);
                    idx += 1;
                    keep
                });
                if let Some(h) = self.headers.get_mut(i) {
                    *h = Header::owned(name, value);
                }
            }
            None => self.push_header(name, value),
        }
    }

    /// Remove every line of this header.
    pub fn remove_header(&mut self, name: &str) {
        let q = NameQuery::new(name);
        let head = &self.head;
        self.headers.retain(|h| !q.matches(h, head));
    }

    /// Insert a header line before the first line of the same header, or at the top when
    /// there is none (Via and Route prepending, RFC 3261 §16.6, §8.1.2).
    pub fn insert_header_front(&mut self, name: &str, value: &str) {
        let q = NameQuery::new(name);
        let i = self
            .headers
            .iter()
            .position(|h| q.matches(h, &self.head))
            .unwrap_or(0);
        self.headers.insert(i, Header::owned(name, value));
    }

    /// The body (exactly Content-Length bytes for a parsed message).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Replace the body and its Content-Type (removed when `None`). Content-Length is
    /// computed on serialization.
    pub fn set_body(&mut self, content_type: Option<&str>, body: Vec<u8>) {
        match content_type {
            Some(ct) => self.set_header("Content-Type", ct),
            None => self.remove_header("Content-Type"),
        }
        self.body = body;
    }
}

/// Start line (RFC 3261 §7.1, §7.2): exactly one SP between elements.
fn parse_start_line(line: &str, offset: usize) -> Result<StartLine, ParseError> {
    let is_sip_version = |v: &str| v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
    let check_version = |v: &str| -> Result<(), ParseError> {
        if v.eq_ignore_ascii_case("SIP/2.0") {
            Ok(())
        } else if is_sip_version(v)
            && v[4..].split_once('.').is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && (a.bytes().chain(b.bytes())).all(|c| c.is_ascii_digit())
            })
        {
            Err(err(ParseErrorKind::Version, ""))
        } else {
            Err(err(ParseErrorKind::StartLine, "bad SIP-Version"))
        }
    };
    let (first, rest) = line
        .split_once(' ')
        .ok_or_else(|| err(ParseErrorKind::StartLine, "no SP"))?;
    if is_sip_version(first) {
        check_version(first)?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let n = match code.as_bytes() {
            [a, b, c] if code.bytes().all(|d| d.is_ascii_digit()) => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
            }
            _ => return Err(err(ParseErrorKind::StatusCode, "not three digits")),
        };
        if !(100..=699).contains(&n) {
            return Err(err(ParseErrorKind::StatusCode, "outside 100-699"));
        }
        let r_off = offset + (reason.as_ptr() as usize - line.as_ptr() as usize);
        return Ok(StartLine::Response {
            code: n,
            reason: Text::Span(r_off as u32, (r_off + reason.len()) as u32),
        });
    }
    if !is_token(first) {
        return Err(err(ParseErrorKind::Method, "method is not a token"));
    }
    let (uri_text, version) = rest
        .rsplit_once(' ')
        .ok_or_else(|| err(ParseErrorKind::StartLine, "no SIP-Version"))?;
    check_version(version)?;
    let parts = UriParts::scan(uri_text)?;
    // RFC 3261 §19.1.1 table: headers are not allowed in a Request-URI.
    if !parts.headers.is_empty() {
        return Err(err(ParseErrorKind::Uri, "headers in Request-URI"));
    }
    let u_off = offset + (uri_text.as_ptr() as usize - line.as_ptr() as usize);
    Ok(StartLine::Request {
        method: Method::parse(first)?,
        uri: OnceLock::new(),
        uri_text: Some(Text::Span(u_off as u32, (u_off + uri_text.len()) as u32)),
    })
}

/// Call-ID = word [ "@" word ] (RFC 3261 §25.1); UTF-8 letters are tolerated.
fn check_call_id(v: &str) -> Result<(), ParseError> {
    let word = |b: &[u8]| {
        b.iter()
            .position(|&c| !(is_word_char(c) || c >= 0x80))
            .unwrap_or(b.len())
    };
    let b = v.as_bytes();
    let a = word(b);
    // '@' is not a word character, so the first word ends at the first '@'.
    let ok = a > 0
        && match b.get(a) {
            None => true,
            Some(b'@') => {
                let host = b.get(a + 1..).unwrap_or_default();
                let n = word(host);
                n > 0 && n == host.len()
            }
            Some(_) => false,
        };
    if ok {
        Ok(())
    } else {
        Err(ParseError::syntax("not word[@word]").in_header("Call-ID"))
    }
}

/// CSeq = 1*DIGIT LWS Method, the number below 2^31 (RFC 3261 §8.1.1.5).
pub(crate) fn scan_cseq(v: &str) -> Result<(u32, &str), ParseError> {
    let v = trim_ws(v);
    let bad = || ParseError::syntax("expected number and method").in_header("CSeq");
    let sp = v.bytes().position(is_ws).ok_or_else(bad)?;
    let (n, m) = (v.get(..sp).unwrap_or(""), v.get(sp..).unwrap_or(""));
    // `v` is trimmed, so the method only has whitespace before it.
    let m = trim_start_ws(m);
    if !is_token(m) {
        return Err(bad());
    }
    let n = parse_bounded(n, (1u64 << 31) - 1).map_err(|e| e.in_header("CSeq"))?;
    Ok((n as u32, m))
}

impl fmt::Display for Message {
    /// The serialized message, lossily decoded (for logs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}
