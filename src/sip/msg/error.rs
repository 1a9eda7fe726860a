//! Parse errors: what went wrong and in which header, so the transaction layer can answer
//! `400` with a reason phrase that tells the peer what to fix (RFC 3261 §21.4.1).

use std::fmt;

/// What was wrong with the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The input was empty or held only line ends.
    Empty,
    /// The start line is not a Request-Line or Status-Line (RFC 3261 §7.1, §7.2).
    StartLine,
    /// The SIP-Version is not `SIP/2.0`: answer `505` (RFC 3261 §8.2.2... §21.5.6).
    Version,
    /// A method token was malformed.
    Method,
    /// A status code was not three digits in 100..=699.
    StatusCode,
    /// A URI did not follow RFC 3261 §19.1 / §25.1.
    Uri,
    /// A header line had no name or no colon.
    HeaderLine,
    /// The header section did not end with an empty line.
    Unterminated,
    /// The header section is not UTF-8 (RFC 3261 §7.3.1 allows only UTF-8 text).
    Utf8,
    /// A header value did not follow its grammar.
    Syntax,
    /// A quoted string had no closing quote.
    Quote,
    /// A number did not fit its allowed range.
    Range,
    /// A mandatory header is missing (RFC 3261 §8.1.1).
    Missing,
    /// A single-valued header appeared more than once (RFC 3261 §7.3.1).
    Duplicate,
    /// The CSeq method differs from the request method (RFC 3261 §8.1.1.5).
    CSeqMethod,
    /// The Content-Length is larger than the bytes that follow the header section.
    Truncated,
    /// Content-Length values disagree.
    ContentLength,
    /// The input is bigger than the caller's limit.
    TooLarge,
}

impl ParseErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ParseErrorKind::Empty => "empty message",
            ParseErrorKind::StartLine => "malformed start line",
            ParseErrorKind::Version => "unsupported SIP version",
            ParseErrorKind::Method => "malformed method",
            ParseErrorKind::StatusCode => "malformed status code",
            ParseErrorKind::Uri => "malformed URI",
            ParseErrorKind::HeaderLine => "malformed header line",
            ParseErrorKind::Unterminated => "header section not terminated by an empty line",
            ParseErrorKind::Utf8 => "header text is not UTF-8",
            ParseErrorKind::Syntax => "malformed value",
            ParseErrorKind::Quote => "unterminated quoted string",
            ParseErrorKind::Range => "number out of range",
            ParseErrorKind::Missing => "missing header",
            ParseErrorKind::Duplicate => "header must appear once",
            ParseErrorKind::CSeqMethod => "CSeq method does not match the request method",
            ParseErrorKind::Truncated => "body shorter than Content-Length",
            ParseErrorKind::ContentLength => "conflicting Content-Length values",
            ParseErrorKind::TooLarge => "message too large",
        }
    }
}

/// A parse failure: the kind, the header it concerns (if any) and a short detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    /// Canonical name of the header at fault (`None` for the start line or framing).
    pub header: Option<&'static str>,
    /// A fixed phrase naming the exact rule that failed (e.g. "empty parameter").
    pub detail: &'static str,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, detail: &'static str) -> Self {
        ParseError {
            kind,
            header: None,
            detail,
        }
    }

    pub(crate) fn syntax(detail: &'static str) -> Self {
        ParseError::new(ParseErrorKind::Syntax, detail)
    }

    pub(crate) fn missing(header: &'static str) -> Self {
        ParseError {
            kind: ParseErrorKind::Missing,
            header: Some(header),
            detail: "",
        }
    }

    /// Attach the header name unless an inner parser already named one.
    pub(crate) fn in_header(mut self, header: &'static str) -> Self {
        if self.header.is_none() {
            self.header = Some(header);
        }
        self
    }

    /// True when the right answer is `505 Version Not Supported` rather than `400`.
    pub fn is_version(&self) -> bool {
        self.kind == ParseErrorKind::Version
    }

    /// A reason phrase for a `400` response, e.g. `Bad Request (Via: empty parameter)`.
    /// Only fixed texts and header names appear in it, never input bytes.
    pub fn reason_phrase(&self) -> String {
        format!("Bad Request ({self})")
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(h) = self.header {
            write!(f, "{h}: ")?;
        }
        f.write_str(self.kind.describe())?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_header_kind_and_detail() {
        let e = ParseError::syntax("empty parameter").in_header("Via");
        assert_eq!(e.to_string(), "Via: malformed value: empty parameter");
        assert_eq!(
            e.reason_phrase(),
            "Bad Request (Via: malformed value: empty parameter)"
        );
        // The innermost header name wins.
        assert_eq!(e.in_header("Contact").header, Some("Via"));
    }
}
