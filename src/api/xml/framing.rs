//! Splits the XML socket's byte stream into request documents.
//!
//! As the original does, a request is the text from its first start tag to the matching
//! end tag; whitespace between requests is skipped. Unlike the original, an XML
//! declaration (or other processing instruction) and comments before the root are
//! skipped too, and attributes on the root are allowed. A DOCTYPE is refused: DTDs can
//! declare entities, and this interface has no use for them.
//!
//! The scanner is a byte-at-a-time state machine that never looks at a byte twice, so
//! a request arriving in one-byte writes costs no more than one arriving whole.

// The fuzz targets in fuzz/ reach this parser through `crate::fuzzing` (built with
// `--cfg fuzzing`): its items stay `pub` for that, unreachable otherwise.
#![cfg_attr(not(fuzzing), allow(unreachable_pub))]

use std::fmt;

/// Largest request document, counted from the end of the previous request.
pub const MAX_DOCUMENT: usize = 64 * 1024;
/// Longest root element name (the real ones are 11 bytes).
const MAX_ROOT_NAME: usize = 64;

/// Why the stream cannot be framed; the connection cannot be resynchronised after any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentError {
    /// More than [`MAX_DOCUMENT`] bytes without a complete request.
    TooLarge,
    /// A `<!DOCTYPE …>` before the root element.
    Doctype,
    /// Text that cannot start a request (not whitespace, `<?`, `<!--` or a start tag).
    Garbage,
}

impl fmt::Display for DocumentError {
    /// The result text of the 400 document sent before the connection is closed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DocumentError::TooLarge => "Request too large",
            DocumentError::Doctype => "Parse error: DTD not allowed",
            DocumentError::Garbage => "Parse error",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Character data (or, before the root, the whitespace between requests).
    Text,
    /// Just after `<`.
    Open,
    /// After `<!`, matching `--` (comment) or `[CDATA[`: `matched` bytes of `what` so far.
    Bang { matched: usize, cdata: bool },
    /// Inside `<!-- … -->`; `dashes` = trailing `-` seen.
    Comment { dashes: u8 },
    /// Inside `<![CDATA[ … ]]>`; `brackets` = trailing `]` seen.
    Cdata { brackets: u8 },
    /// Inside `<? … ?>`; `question` = the previous byte was `?`.
    Pi { question: bool },
    /// Inside some other `<! … >` within the root (left for the XML parser to reject).
    Declaration,
    /// Reading a start tag's name.
    StartName,
    /// Inside a start tag after its name; `quote` = open attribute quote, `slash` = the
    /// previous byte was `/`.
    StartTag { quote: Option<u8>, slash: bool },
    /// Reading an end tag's name.
    EndName,
    /// After an end tag's name, up to `>`.
    EndTag,
}

/// Accumulates bytes and yields complete request documents.
pub struct Framer {
    buf: Vec<u8>,
    /// Next byte to scan.
    pos: usize,
    state: State,
    /// Where the current request's root start tag begins.
    doc_start: Option<usize>,
    root: Vec<u8>,
    /// Name of the tag being read (bounded; longer names never match the root).
    name: Vec<u8>,
    name_overflow: bool,
    depth: usize,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new()
    }
}

impl Framer {
    pub fn new() -> Framer {
        Framer {
            buf: Vec::with_capacity(4096),
            pos: 0,
            state: State::Text,
            doc_start: None,
            root: Vec::new(),
            name: Vec::new(),
            name_overflow: false,
            depth: 0,
        }
    }

    /// Appends received bytes. Call [`Framer::next_request`] until it returns `Ok(None)`
    /// before pushing more, so the buffer stays bounded.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// True when part of a request (anything but whitespace) is buffered.
    pub fn has_partial(&self) -> bool {
        self.doc_start.is_some() || self.state != State::Text
    }

    /// The next complete request, `Ok(None)` when more bytes are needed.
    pub fn next_request(&mut self) -> Result<Option<Vec<u8>>, DocumentError> {
        while let Some(&b) = self.buf.get(self.pos) {
            if self.pos >= MAX_DOCUMENT {
                return Err(DocumentError::TooLarge);
            }
            let at = self.pos;
            self.pos += 1;
            if let Some(end) = self.step(b, at)? {
                let start = self.doc_start.unwrap_or(0);
                let doc = self
                    .buf
                    .get(start..end)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
                self.buf.drain(..end);
                self.reset();
                return Ok(Some(doc));
            }
        }
        // Whitespace before any request is dropped, so an idle client sending keepalive
        // newlines does not creep towards the limit.
        if self.doc_start.is_none() && self.state == State::Text {
            self.buf.clear();
            self.pos = 0;
        }
        Ok(None)
    }

    fn reset(&mut self) {
        self.pos = 0;
        self.state = State::Text;
        self.doc_start = None;
        self.root.clear();
        self.name.clear();
        self.name_overflow = false;
        self.depth = 0;
    }

    fn in_root(&self) -> bool {
        self.doc_start.is_some()
    }

    /// Consumes byte `b` at `at`; `Some(end)` when the request ends just after it.
    fn step(&mut self, b: u8, at: usize) -> Result<Option<usize>, DocumentError> {
        self.state = match self.state {
            State::Text => {
                if b == b'<' {
                    State::Open
                } else if self.in_root() || b.is_ascii_whitespace() {
                    State::Text
                } else {
                    return Err(DocumentError::Garbage);
                }
            }
            State::Open => match b {
                b'!' => State::Bang {
                    matched: 0,
                    cdata: false,
                },
                b'?' => State::Pi { question: false },
                b'/' if self.in_root() => {
                    self.start_name();
                    State::EndName
                }
                _ if is_name_start(b) => {
                    if !self.in_root() {
                        // `<` was the byte before this one.
                        self.doc_start = Some(at.saturating_sub(1));
                    }
                    self.start_name();
                    self.push_name(b);
                    State::StartName
                }
                _ => return Err(DocumentError::Garbage),
            },
            State::Bang { matched, cdata } => self.bang(b, matched, cdata)?,
            State::Comment { dashes } => match (b, dashes) {
                (b'>', d) if d >= 2 => State::Text,
                (b'-', d) => State::Comment {
                    dashes: d.saturating_add(1),
                },
                _ => State::Comment { dashes: 0 },
            },
            State::Cdata { brackets } => match (b, brackets) {
                (b'>', n) if n >= 2 => State::Text,
                (b']', n) => State::Cdata {
                    brackets: n.saturating_add(1),
                },
                _ => State::Cdata { brackets: 0 },
            },
            State::Pi { question } => match b {
                b'>' if question => State::Text,
                _ => State::Pi {
                    question: b == b'?',
                },
            },
            State::Declaration => {
                if b == b'>' {
                    State::Text
                } else {
                    State::Declaration
                }
            }
            State::StartName => {
                if is_name_char(b) {
                    self.push_name(b);
                    State::StartName
                } else {
                    self.begin_element()?;
                    return self.start_tag(b, None, false, at);
                }
            }
            State::StartTag { quote, slash } => return self.start_tag(b, quote, slash, at),
            State::EndName => {
                if is_name_char(b) {
                    self.push_name(b);
                    State::EndName
                } else {
                    return self.end_tag(b, at);
                }
            }
            State::EndTag => return self.end_tag(b, at),
        };
        Ok(None)
    }

    fn bang(&mut self, b: u8, matched: usize, cdata: bool) -> Result<State, DocumentError> {
        const COMMENT: &[u8] = b"--";
        const CDATA: &[u8] = b"[CDATA[";
        if matched == 0 {
            return Ok(match b {
                b'-' => State::Bang {
                    matched: 1,
                    cdata: false,
                },
                b'[' if self.in_root() => State::Bang {
                    matched: 1,
                    cdata: true,
                },
                _ if self.in_root() => State::Declaration,
                b'D' | b'd' => return Err(DocumentError::Doctype),
                _ => return Err(DocumentError::Garbage),
            });
        }
        let want = if cdata { CDATA } else { COMMENT };
        if want.get(matched) != Some(&b) {
            return if self.in_root() {
                Ok(State::Declaration)
            } else {
                Err(DocumentError::Garbage)
            };
        }
        Ok(if matched + 1 == want.len() {
            if cdata {
                State::Cdata { brackets: 0 }
            } else {
                State::Comment { dashes: 0 }
            }
        } else {
            State::Bang {
                matched: matched + 1,
                cdata,
            }
        })
    }

    fn start_name(&mut self) {
        self.name.clear();
        self.name_overflow = false;
    }

    fn push_name(&mut self, b: u8) {
        if self.name.len() < MAX_ROOT_NAME {
            self.name.push(b);
        } else {
            self.name_overflow = true;
        }
    }

    fn name_is_root(&self) -> bool {
        !self.name_overflow && self.name.eq_ignore_ascii_case(&self.root)
    }

    /// A start tag's name is complete: the first one names the root.
    fn begin_element(&mut self) -> Result<(), DocumentError> {
        if self.root.is_empty() {
            if self.name_overflow {
                return Err(DocumentError::Garbage);
            }
            self.root = self.name.clone();
            self.depth = 1;
        } else if self.name_is_root() {
            // Tag names compare case-insensitively, as the original's parser does.
            self.depth = self.depth.saturating_add(1);
        }
        Ok(())
    }

    fn start_tag(
        &mut self,
        b: u8,
        quote: Option<u8>,
        slash: bool,
        at: usize,
    ) -> Result<Option<usize>, DocumentError> {
        self.state = match (quote, b) {
            (Some(q), _) if b == q => State::StartTag {
                quote: None,
                slash: false,
            },
            (Some(q), _) => State::StartTag {
                quote: Some(q),
                slash: false,
            },
            (None, b'"' | b'\'') => State::StartTag {
                quote: Some(b),
                slash: false,
            },
            (None, b'>') => {
                if slash && self.name_is_root() {
                    // `<Name/>`: an element that opened and closed at once.
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Ok(Some(at + 1));
                    }
                }
                State::Text
            }
            (None, _) => State::StartTag {
                quote: None,
                slash: b == b'/',
            },
        };
        Ok(None)
    }

    fn end_tag(&mut self, b: u8, at: usize) -> Result<Option<usize>, DocumentError> {
        if b != b'>' {
            self.state = State::EndTag;
            return Ok(None);
        }
        self.state = State::Text;
        if self.name_is_root() {
            self.depth = self.depth.saturating_sub(1);
            if self.depth == 0 {
                return Ok(Some(at + 1));
            }
        }
        Ok(None)
    }
}

/// XML 1.0 §2.3 NameStartChar, ASCII part; any non-ASCII byte is accepted as part of a
/// multi-byte name character (the XML parser judges the document afterwards).
fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}

fn is_name_char(b: u8) -> bool {
    is_name_start(b) || b.is_ascii_digit() || b == b'-' || b == b'.'
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &str = "<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n</ClickToCall>";

    fn frames(input: &[u8]) -> (Vec<String>, Option<DocumentError>, Framer) {
        let mut f = Framer::new();
        f.push(input);
        let mut out = Vec::new();
        loop {
            match f.next_request() {
                Ok(Some(doc)) => out.push(String::from_utf8(doc).expect("utf8")),
                Ok(None) => return (out, None, f),
                Err(e) => return (out, Some(e), f),
            }
        }
    }

    #[test]
    fn a_request_ends_at_its_root_end_tag_and_trailing_whitespace_is_skipped() {
        let (docs, err, f) = frames(format!("{REQ}\r\n").as_bytes());
        assert_eq!(docs, vec![REQ.to_owned()]);
        assert_eq!(err, None);
        assert!(!f.has_partial());
    }

    #[test]
    fn one_byte_writes_give_the_same_request() {
        let mut f = Framer::new();
        let mut docs = Vec::new();
        for b in format!("  \r\n{REQ}\r\n").bytes() {
            f.push(&[b]);
            while let Some(doc) = f.next_request().expect("frame") {
                docs.push(doc);
            }
        }
        assert_eq!(docs, vec![REQ.as_bytes().to_vec()]);
    }

    #[test]
    fn pipelined_requests_come_out_in_order() {
        let (docs, err, _) = frames(format!("{REQ}\r\n<Foo></Foo>{REQ}").as_bytes());
        assert_eq!(
            docs,
            vec![REQ.to_owned(), "<Foo></Foo>".to_owned(), REQ.to_owned()]
        );
        assert_eq!(err, None);
    }

    #[test]
    fn xml_declaration_and_comments_before_the_root_are_skipped() {
        let input = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<!-- hi -->{REQ}");
        let (docs, err, _) = frames(input.as_bytes());
        assert_eq!(docs, vec![REQ.to_owned()]);
        assert_eq!(err, None);
    }

    #[test]
    fn attributes_on_the_root_with_quoted_markup_are_allowed() {
        let doc = "<ClickToCall id=\"1\" x='</ClickToCall>'><Request/></ClickToCall>";
        let (docs, _, _) = frames(doc.as_bytes());
        assert_eq!(docs, vec![doc.to_owned()]);
    }

    #[test]
    fn nested_same_name_elements_comments_and_cdata_do_not_end_the_request() {
        let doc = "<a><A>x</A><!-- </a> --><![CDATA[</a>]]><a/></a>";
        let (docs, _, _) = frames(format!("{doc}<b/>").as_bytes());
        assert_eq!(docs, vec![doc.to_owned(), "<b/>".to_owned()]);
    }

    #[test]
    fn end_tag_matches_case_insensitively_with_trailing_space() {
        let (docs, _, _) = frames(b"<clicktocall><x/></ClickToCall >");
        assert_eq!(docs, vec!["<clicktocall><x/></ClickToCall >".to_owned()]);
    }

    #[test]
    fn an_unfinished_request_is_partial() {
        let (docs, err, f) = frames(b"<ClickToCall><Request>");
        assert!(docs.is_empty());
        assert_eq!(err, None);
        assert!(f.has_partial());
    }

    #[test]
    fn a_doctype_is_refused() {
        let (_, err, _) = frames(b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x/>");
        assert_eq!(err, Some(DocumentError::Doctype));
    }

    #[test]
    fn text_outside_a_request_is_garbage() {
        assert_eq!(frames(b"hello").1, Some(DocumentError::Garbage));
        assert_eq!(frames(b"</x>").1, Some(DocumentError::Garbage));
        assert_eq!(frames(b"< x>").1, Some(DocumentError::Garbage));
    }

    #[test]
    fn more_than_64_kib_without_an_end_is_too_large() {
        let mut f = Framer::new();
        f.push(b"<ClickToCall>");
        let chunk = vec![b'a'; 8192];
        let mut err = None;
        for _ in 0..9 {
            f.push(&chunk);
            if let Err(e) = f.next_request() {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(DocumentError::TooLarge));
    }

    #[test]
    fn whitespace_between_requests_does_not_accumulate() {
        let mut f = Framer::new();
        for _ in 0..100 {
            f.push(&[b'\n'; 1024]);
            assert_eq!(f.next_request(), Ok(None));
        }
        f.push(REQ.as_bytes());
        assert_eq!(f.next_request(), Ok(Some(REQ.as_bytes().to_vec())));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded() {
        // Deterministic pseudo-random input biased towards markup characters.
        let alphabet = b"<>/!?-[]\"' =aAbCDTYPE\r\n\x00\xff";
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..300 {
            let mut f = Framer::new();
            for _ in 0..64 {
                let mut chunk = Vec::new();
                for _ in 0..32 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    chunk.push(alphabet[(seed % alphabet.len() as u64) as usize]);
                }
                f.push(&chunk);
                let mut failed = false;
                loop {
                    match f.next_request() {
                        Ok(Some(doc)) => {
                            assert!(doc.len() <= MAX_DOCUMENT);
                            let _ = super::super::request::parse_request(&doc);
                            let _ = super::super::response::EchoTemplate::from_request(&doc);
                        }
                        Ok(None) => break,
                        Err(_) => {
                            failed = true;
                            break;
                        }
                    }
                }
                if failed {
                    break;
                }
                assert!(f.buf.len() <= MAX_DOCUMENT + 32);
            }
        }
    }
}
