//! The header section's line structure (RFC 3261 §7.3): one pass over the bytes finds each
//! line end, header name and value range, and the empty line that ends the section.

use super::error::{ParseError, ParseErrorKind};
use super::header_name;
use super::message::{Header, Text};
use super::scan::is_token_char;

fn err(kind: ParseErrorKind, detail: &'static str) -> ParseError {
    ParseError::new(kind, detail)
}

/// Keeps the first malformed line's error (later ones are consequences or noise).
#[cold]
#[inline(never)]
fn note(error: &mut Option<ParseError>, detail: &'static str) {
    if error.is_none() {
        *error = Some(err(ParseErrorKind::HeaderLine, detail));
    }
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
/// tolerated), the colon of each header line and the empty line that ends the section.
/// No body byte decides anything (a block read may cover up to a block's worth of bytes
/// past the empty line; whatever they hold is ignored). Out of line: it runs once per
/// message, and profiles then show its cost on its own.
#[inline(never)]
pub(crate) fn scan_lines(buf: &[u8]) -> Result<Lines, ParseError> {
    scan_lines_with::<Fast>(buf)
}

/// The block search used on this target: 16 bytes per step with SSE2 (part of every
/// x86_64 CPU), 8 bytes per step in plain integer arithmetic elsewhere. On the benchmark
/// INVITE the whole scan costs about 3.8k instructions with SSE2 against 6.0k with the
/// portable search, which is what the one `unsafe` call below buys.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
type Fast = Sse2;
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
type Fast = Swar;

/// Turns a block of bytes into flag masks for LF, CR and ':'. In each mask the lowest set
/// bit marks the first such byte of the block exactly ([`Blocks::index`] gives its
/// offset); bits above it may be spurious, so callers only ever use the lowest one.
trait Blocks {
    /// Bytes per block.
    const WIDTH: usize;
    /// `[LF, CR, ':']` flags of `block` (`WIDTH` bytes; the ':' mask only if `colon`).
    fn masks(block: &[u8], colon: bool) -> [u64; 3];
    /// [`Blocks::masks`] of the first `WIDTH` bytes of `rest`; `None` if it is shorter.
    fn masks_first(rest: &[u8], colon: bool) -> Option<[u64; 3]>;
    /// Offset in the block of the byte a mask's lowest set bit marks.
    fn index(mask: u64) -> usize;
}

/// Eight bytes per step: a byte equal to `x` is a zero byte of `word ^ x…x`, flagged in its
/// top bit by `(v - 0x01…) & !v & 0x80…`. A borrow only runs upwards from a real zero byte,
/// so the lowest flag is always exact.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
struct Swar;

impl Blocks for Swar {
    const WIDTH: usize = 8;

    #[inline(always)]
    fn masks(block: &[u8], colon: bool) -> [u64; 3] {
        const LO: u64 = 0x0101_0101_0101_0101;
        const HI: u64 = 0x8080_8080_8080_8080;
        let w = <[u8; 8]>::try_from(block).map_or(0, u64::from_le_bytes);
        let eq = |x: u8| {
            let v = w ^ LO.wrapping_mul(u64::from(x));
            v.wrapping_sub(LO) & !v & HI
        };
        [eq(b'\n'), eq(b'\r'), if colon { eq(b':') } else { 0 }]
    }

    #[inline(always)]
    fn masks_first(rest: &[u8], colon: bool) -> Option<[u64; 3]> {
        Some(Self::masks(rest.first_chunk::<8>()?, colon))
    }

    #[inline(always)]
    fn index(mask: u64) -> usize {
        (mask.trailing_zeros() / 8) as usize
    }
}

/// Sixteen bytes per step with SSE2 byte compares; one mask bit per byte, all exact. The
/// block is built from two `u64` reads of the slice, so no pointer is involved; the
/// compiler turns that into one unaligned vector load.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
struct Sse2;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
impl Blocks for Sse2 {
    const WIDTH: usize = 16;

    #[inline(always)]
    #[allow(unsafe_code)]
    fn masks(block: &[u8], colon: bool) -> [u64; 3] {
        let x = <[u8; 16]>::try_from(block).map_or(0, u128::from_le_bytes);
        // SAFETY: `sse2_masks` only needs SSE2, which this impl's cfg proves is enabled for
        // the whole build (it is part of the x86_64 baseline).
        unsafe { sse2_masks(x as i64, (x >> 64) as i64, colon) }
    }

    #[inline(always)]
    fn masks_first(rest: &[u8], colon: bool) -> Option<[u64; 3]> {
        Some(Self::masks(rest.first_chunk::<16>()?, colon))
    }

    #[inline(always)]
    fn index(mask: u64) -> usize {
        mask.trailing_zeros() as usize
    }
}

/// [`Sse2::masks`] of the block whose bytes are `lo` (first 8, little-endian) and `hi`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
fn sse2_masks(lo: i64, hi: i64, colon: bool) -> [u64; 3] {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8};
    let v = _mm_set_epi64x(hi, lo);
    // A 16-byte compare's mask has 16 bits: `as u16` keeps exactly those.
    let eq = |x: u8| u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(x as i8))) as u16);
    [eq(b'\n'), eq(b'\r'), if colon { eq(b':') } else { 0 }]
}

/// Where the line starting at `start` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LineEnd {
    /// Index of its LF.
    nl: usize,
    /// Index of the first CR before `nl`, or `usize::MAX` when there is none.
    first_cr: usize,
    /// Index of the first ':' if it lies in the line's first block; `None` says only that
    /// the first block holds none (a long line may have one further on).
    colon: Option<usize>,
}

/// The masks of a last, partial block: its bytes padded with zero bytes (which match
/// nothing); `None` when it is empty.
#[cold]
fn tail_masks<B: Blocks>(rest: &[u8], colon: bool) -> Option<[u64; 3]> {
    let rest = Some(rest).filter(|r| !r.is_empty() && r.len() < B::WIDTH)?;
    let mut pad = [0u8; 16];
    pad.get_mut(..rest.len())?.copy_from_slice(rest);
    Some(B::masks(pad.get(..B::WIDTH)?, colon))
}

/// Finds the LF ending the line that starts at `start`, noting the first CR and the colon
/// on the way; `None` when no LF follows. Reads at most one block past the LF.
#[inline(always)]
fn line_end<B: Blocks>(buf: &[u8], start: usize) -> Option<LineEnd> {
    // The bytes not yet looked at; a block is taken off its front per step.
    let mut rest = buf.get(start..)?;
    let mut next = |colon: bool| match B::masks_first(rest, colon) {
        Some(m) => {
            rest = rest.get(B::WIDTH..).unwrap_or_default();
            Some(m)
        }
        None => {
            let m = tail_masks::<B>(rest, colon);
            rest = &[];
            m
        }
    };
    let mut at = start;
    let [mut lf, mut cr, col] = next(true)?;
    // Bits below the first LF (all bits when the block has none).
    let before = |lf: u64| (lf & lf.wrapping_neg()).wrapping_sub(1);
    let colon = match col & before(lf) {
        0 => None,
        c => Some(at + B::index(c)),
    };
    let mut first_cr = usize::MAX;
    if lf == 0 {
        // A line longer than a block. A CR before the last block is rare (a stray one,
        // or the CR of a CRLF split across blocks): kept off the loop's fast path.
        loop {
            if cr != 0 {
                std::hint::cold_path();
                if first_cr == usize::MAX {
                    first_cr = at + B::index(cr);
                }
            }
            at += B::WIDTH;
            [lf, cr, _] = next(false)?;
            if lf != 0 {
                break;
            }
        }
    }
    let cr = cr & before(lf);
    if cr != 0 && first_cr == usize::MAX {
        first_cr = at + B::index(cr);
    }
    Some(LineEnd {
        nl: at + B::index(lf),
        first_cr,
        colon,
    })
}

impl LineEnd {
    /// End of the line's text: before the CR of a CRLF, else at the LF. Read off the first
    /// CR in the usual cases (a CRLF, a bare LF); only a line with a stray CR needs a look
    /// at the byte before the LF.
    #[inline(always)]
    fn text_end(&self, buf: &[u8]) -> usize {
        let nl = self.nl;
        // Past the first test, a CR lies before the LF: `nl >= 1`.
        if self.first_cr == usize::MAX {
            nl
        } else if self.first_cr + 1 == nl || buf.get(nl - 1) == Some(&b'\r') {
            nl - 1
        } else {
            nl
        }
    }
}

fn scan_lines_with<B: Blocks>(buf: &[u8]) -> Result<Lines, ParseError> {
    if buf.len() > u32::MAX as usize {
        return Err(err(ParseErrorKind::TooLarge, "message"));
    }
    let unterminated = || err(ParseErrorKind::Unterminated, "");
    // A bare CR can only be a broken line end (RFC 3261 §7.3.1: a header line ends with
    // CRLF and holds no other CR). NUL may appear in a quoted-pair (RFC 4475 §3.1.1.2), so
    // it is left to the value grammars.
    const STRAY_CR: &str = "stray CR";
    let mut error: Option<ParseError> = None;
    let first = line_end::<B>(buf, 0).ok_or_else(unterminated)?;
    let start_end = first.text_end(buf);
    if first.first_cr < start_end {
        note(&mut error, STRAY_CR);
    }
    if start_end == 0 {
        return Err(err(ParseErrorKind::Empty, ""));
    }
    // Typical header lines are 20-60 bytes: reserve once for the usual case, but no more
    // than about 1 KiB, the largest block glibc's allocator serves from its per-thread
    // cache (a larger one costs several times as much to get and to free). A message with
    // more header lines than that grows the vector once.
    const CACHED: usize = 1000 / std::mem::size_of::<Header>();
    let mut headers: Vec<Header> = Vec::with_capacity((buf.len().min(4096) / 28 + 4).min(CACHED));
    let mut folded: Vec<usize> = Vec::new();
    let mut i = first.nl + 1;
    loop {
        let line = line_end::<B>(buf, i).ok_or_else(unterminated)?;
        let nl = line.nl;
        let end = line.text_end(buf);
        if line.first_cr < end {
            note(&mut error, STRAY_CR);
        }
        if end == i {
            return Ok(Lines {
                start_end,
                headers,
                folded,
                head_end: i,
                body_start: nl + 1,
                error,
            });
        }
        let next = nl + 1;
        if matches!(buf.get(i), Some(b' ' | b'\t')) {
            // RFC 3261 §7.3.1: a line starting with whitespace continues the header.
            let blank = buf
                .get(i..end)
                .unwrap_or_default()
                .iter()
                .all(|&b| b == b' ' || b == b'\t');
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
                None => note(&mut error, "continuation line first"),
            }
            i = next;
            continue;
        }
        let colon = line.colon.or_else(|| {
            let text = buf.get(i..end)?;
            text.iter().position(|&b| b == b':').map(|p| i + p)
        });
        let Some(c) = colon else {
            note(&mut error, "no colon");
            i = next;
            continue;
        };
        // Fast path: the bytes before the colon are a known name exactly, and so token
        // characters with no whitespace. Otherwise the name is checked byte by byte.
        let (name_end, known) = match header_name::lookup_in(buf, i, c - i) {
            Some(k) => (c, Some(k)),
            None => match header_name_end(buf, i, c) {
                Some(n) if n == c => (n, None),
                Some(n) => (
                    n,
                    header_name::lookup_bytes(buf.get(i..n).unwrap_or_default()),
                ),
                None => {
                    note(&mut error, "bad header name");
                    i = next;
                    continue;
                }
            },
        };
        // The value without the whitespace around it (LWS, RFC 3261 §7.3.1). The byte at
        // `end` (CR or LF) and the colon stop both walks.
        let mut vs = c + 1;
        // Most senders write "Name: value": one SP, tested without the loop.
        if buf.get(vs) == Some(&b' ') {
            vs += 1;
        }
        while matches!(buf.get(vs), Some(b' ' | b'\t')) {
            vs += 1;
        }
        let mut ve = end;
        while matches!(buf.get(ve.wrapping_sub(1)), Some(b' ' | b'\t')) {
            ve -= 1;
        }
        // An all-blank value: both walks crossed it.
        let ve = ve.max(vs);
        headers.push(Header {
            name: Text::Span(i as u32, name_end as u32),
            known,
            value: Text::Span(vs as u32, ve as u32),
        });
        i = next;
    }
}

/// The end of the header name in `buf[start..colon]` (RFC 3261 §7.3.1: a token, then
/// optional whitespace before the colon), or `None` when that is not a name.
fn header_name_end(buf: &[u8], start: usize, colon: usize) -> Option<usize> {
    let raw = buf.get(start..colon)?;
    let len = raw.iter().rposition(|&b| b != b' ' && b != b'\t')? + 1;
    let name = raw.get(..len)?;
    name.iter()
        .all(|&b| is_token_char(b))
        .then_some(start + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Summary = (
        usize,
        Vec<((u32, u32), Option<&'static str>, (u32, u32))>,
        Vec<usize>,
        usize,
        usize,
        Option<&'static str>,
    );

    fn span(t: &Text) -> (u32, u32) {
        match t {
            Text::Span(a, b) => (*a, *b),
            Text::Own(_) => panic!("scan_lines makes only spans"),
        }
    }

    fn summary(r: Result<Lines, ParseError>) -> Result<Summary, ParseError> {
        r.map(|l| {
            let headers = l
                .headers
                .iter()
                .map(|h| (span(&h.name), h.known.map(|k| k.name), span(&h.value)))
                .collect();
            let error = l.error.map(|e| {
                assert_eq!(e.kind, ParseErrorKind::HeaderLine);
                e.detail
            });
            (
                l.start_end,
                headers,
                l.folded,
                l.head_end,
                l.body_start,
                error,
            )
        })
    }

    /// The rules of the header section written as plainly as possible, byte by byte (the
    /// model the block scanners must agree with).
    fn model(buf: &[u8]) -> Result<Summary, ParseError> {
        let ws = |b: &u8| *b == b' ' || *b == b'\t';
        let mut error = None;
        let mut note = |d: &'static str| {
            error.get_or_insert(d);
        };
        let (mut i, mut start_end, mut headers, mut folded) = (0, None, Vec::new(), Vec::new());
        loop {
            let Some(nl) = buf[i..].iter().position(|&b| b == b'\n').map(|p| i + p) else {
                return Err(err(ParseErrorKind::Unterminated, ""));
            };
            let end = if nl > i && buf[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            let line = &buf[i..end];
            if line.contains(&b'\r') {
                note("stray CR");
            }
            if line.is_empty() {
                let Some(start_end) = start_end else {
                    return Err(err(ParseErrorKind::Empty, ""));
                };
                return Ok((start_end, headers, folded, i, nl + 1, error));
            }
            if start_end.is_none() {
                start_end = Some(end);
            } else if ws(&line[0]) {
                if headers.is_empty() {
                    note("continuation line first");
                } else if !line.iter().all(ws) {
                    let last: &mut ((u32, u32), _, (u32, u32)) = headers.last_mut().unwrap();
                    last.2.1 = end as u32;
                    if folded.last() != Some(&(headers.len() - 1)) {
                        folded.push(headers.len() - 1);
                    }
                }
            } else if let Some(c) = line.iter().position(|&b| b == b':') {
                let mut n = c;
                while n > 0 && ws(&line[n - 1]) {
                    n -= 1;
                }
                let name = &line[..n];
                if name.is_empty() || !name.iter().all(|&b| is_token_char(b)) {
                    note("bad header name");
                } else {
                    let value = &line[c + 1..];
                    let lead = value.iter().take_while(|b| ws(b)).count();
                    let trail = value[lead..].iter().rev().take_while(|b| ws(b)).count();
                    let vs = i + c + 1 + lead;
                    headers.push((
                        (i as u32, (i + n) as u32),
                        header_name::lookup_bytes(name).map(|k| k.name),
                        (vs as u32, (end - trail) as u32),
                    ));
                }
            } else {
                note("no colon");
            }
            i = nl + 1;
        }
    }

    /// Both block scanners, checked against each other and the model.
    fn scan(buf: &[u8]) -> Result<Summary, ParseError> {
        let swar = summary(scan_lines_with::<Swar>(buf));
        let fast = summary(scan_lines(buf));
        let model = model(buf);
        assert_eq!(swar, model, "SWAR on {:?}", buf.escape_ascii().to_string());
        assert_eq!(fast, model, "fast on {:?}", buf.escape_ascii().to_string());
        model
    }

    fn error_of(buf: &[u8]) -> Option<&'static str> {
        scan(buf).unwrap().5
    }

    fn text(buf: &[u8], s: (u32, u32)) -> &str {
        std::str::from_utf8(&buf[s.0 as usize..s.1 as usize]).unwrap()
    }

    #[test]
    fn crlf_and_bare_lf_line_ends() {
        let m = b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\nTo:  <sip:b>  \r\n\nbody\r\n";
        let (start_end, headers, folded, head_end, body_start, error) = scan(m).unwrap();
        assert_eq!(start_end, 22);
        assert_eq!(headers.len(), 2);
        assert_eq!((text(m, headers[0].0), headers[0].1), ("Via", Some("Via")));
        assert_eq!(text(m, headers[0].2), "SIP/2.0/UDP h");
        assert_eq!(
            (text(m, headers[1].0), text(m, headers[1].2)),
            ("To", "<sip:b>")
        );
        assert_eq!((folded, error), (vec![], None));
        assert_eq!(&m[body_start..], b"body\r\n");
        assert_eq!(&m[head_end..body_start], b"\n");
    }

    #[test]
    fn a_stray_cr_anywhere_in_a_line_is_an_error() {
        // The CR lands at every offset relative to the 8- and 16-byte blocks, in short and
        // long lines, and in the start line.
        let line = b"Subject: a fairly long subject line that spans several blocks";
        for pad in 0..17 {
            let mut base = b"OPTIONS sip:x SIP/2.0\r\nX-Pad: ".to_vec();
            base.extend(std::iter::repeat_n(b'p', pad));
            base.extend_from_slice(b"\r\n");
            let at = base.len();
            base.extend_from_slice(line);
            base.extend_from_slice(b"\r\nTo: <sip:b>\r\n\r\n");
            assert_eq!(error_of(&base), None);
            for k in 0..=line.len() {
                let mut m = base.clone();
                m.insert(at + k, b'\r');
                // A CR right before the CRLF is a stray one too ("...\r\r\n").
                assert_eq!(error_of(&m), Some("stray CR"), "pad {pad} at {k}");
                let mut m = base.clone();
                m[at + line.len()] = b'\r';
                m.insert(at + k, b'\n');
                // CR then a line end of LF only: "…\r" + "\n" is a CRLF, anything else
                // puts a bare CR into a line.
                let _ = scan(&m);
            }
        }
        for k in 0..21 {
            let mut m = b"OPTIONS sip:x SIP/2.0\r\nTo: <sip:b>\r\n\r\n".to_vec();
            m.insert(k, b'\r');
            let r = scan(&m);
            assert!(
                r.is_err() || r.unwrap().5 == Some("stray CR"),
                "start line at {k}"
            );
        }
    }

    #[test]
    fn a_crlf_split_across_blocks_is_a_line_end() {
        // Lines of every length put the CR of the CRLF at the last byte of a block and the
        // LF at the first byte of the next.
        for len in 0..40 {
            let mut m = b"OPTIONS sip:x SIP/2.0\r\nX-A: ".to_vec();
            m.extend(std::iter::repeat_n(b'v', len));
            m.extend_from_slice(b"\r\nTo: <sip:b>\r\n\r\n");
            let (_, headers, _, _, _, error) = scan(&m).unwrap();
            assert_eq!((headers.len(), error), (2, None));
            assert_eq!(text(&m, headers[0].2).len(), len);
        }
    }

    #[test]
    fn folded_lines_extend_the_previous_value() {
        let m = b"MESSAGE sip:a SIP/2.0\r\nSubject: one\r\n two\r\n\t \r\n\tthree \r\nTo: b\r\n  \r\nFrom: c\r\n d\r\n\r\n";
        let (_, headers, folded, _, _, error) = scan(m).unwrap();
        assert_eq!(error, None);
        // The span runs to the end of the last continuation line; the message joins the
        // pieces with single spaces.
        assert_eq!(text(m, headers[0].2), "one\r\n two\r\n\t \r\n\tthree ");
        assert_eq!(text(m, headers[1].2), "b");
        assert_eq!(text(m, headers[2].2), "c\r\n d");
        // Listed once each, blank continuation lines ignored.
        assert_eq!(folded, vec![0, 2]);
        assert_eq!(
            error_of(b"OPTIONS sip:a SIP/2.0\r\n folded: x\r\nTo: b\r\n\r\n"),
            Some("continuation line first")
        );
    }

    #[test]
    fn header_names() {
        let m = b"OPTIONS sip:a SIP/2.0\r\nVia :x\r\nX-Own\t : y\r\nv: z\r\nCONTENT-length:0\r\nP-Preferred-Identity: <sip:p>\r\nX-A-Name-Longer-Than-Twenty-Four-Bytes: w\r\n\r\n";
        let (_, h, _, _, _, error) = scan(m).unwrap();
        assert_eq!(error, None);
        let names: Vec<_> = h
            .iter()
            .map(|h| (text(m, h.0), h.1, text(m, h.2)))
            .collect();
        assert_eq!(
            names,
            [
                ("Via", Some("Via"), "x"),
                ("X-Own", None, "y"),
                ("v", Some("Via"), "z"),
                ("CONTENT-length", Some("Content-Length"), "0"),
                (
                    "P-Preferred-Identity",
                    Some("P-Preferred-Identity"),
                    "<sip:p>"
                ),
                ("X-A-Name-Longer-Than-Twenty-Four-Bytes", None, "w"),
            ]
        );
        for bad in [
            "Vi a: x",
            ": x",
            "@: x",
            "T\x01: x",
            "Via\u{e9}: x",
            "Via\t\ta : x",
            "Via\r : x",
        ] {
            let m = format!("OPTIONS sip:a SIP/2.0\r\nTo: b\r\n{bad}\r\n\r\n");
            let expect = if bad.contains('\r') {
                "stray CR"
            } else {
                "bad header name"
            };
            assert_eq!(error_of(m.as_bytes()), Some(expect), "{bad:?}");
        }
        let long = format!("OPTIONS sip:a SIP/2.0\r\n{}\r\n\r\n", "x".repeat(70));
        assert_eq!(error_of(long.as_bytes()), Some("no colon"));
        assert_eq!(
            error_of(b"OPTIONS sip:a SIP/2.0\r\nTo b\r\n\r\n"),
            Some("no colon")
        );
    }

    #[test]
    fn the_first_error_wins_and_scanning_goes_on() {
        let m = b"OPTIONS sip:a SIP/2.0\r\nA\rB: x\r\nno colon\r\nTo: b\r\n\r\n";
        let (_, headers, _, _, _, error) = scan(m).unwrap();
        assert_eq!(error, Some("stray CR"));
        assert_eq!(headers.len(), 1);
        let m = b"OPTIONS sip:a SIP/2.0\r\nno colon\r\nA\rB: x\r\n\r\n";
        assert_eq!(error_of(m), Some("no colon"));
    }

    #[test]
    fn values_are_trimmed() {
        for (line, value) in [
            ("To:b", "b"),
            ("To: \t b \t", "b"),
            ("To:", ""),
            ("To:  \t ", ""),
            ("To: a b", "a b"),
        ] {
            let m = format!("OPTIONS sip:a SIP/2.0\r\n{line}\r\n\r\n");
            let (_, h, _, _, _, _) = scan(m.as_bytes()).unwrap();
            assert_eq!(text(m.as_bytes(), h[0].2), value, "{line:?}");
        }
    }

    #[test]
    fn empty_and_unterminated_sections() {
        assert_eq!(scan(b"\r\n\r\n").unwrap_err().kind, ParseErrorKind::Empty);
        assert_eq!(scan(b"\nx").unwrap_err().kind, ParseErrorKind::Empty);
        for m in [
            &b""[..],
            b"OPTIONS",
            b"OPTIONS sip:a SIP/2.0\r\n",
            b"OPTIONS sip:a SIP/2.0\r\nTo: b\r\n",
            b"A\r\nB: c\r\n\r",
        ] {
            assert_eq!(
                scan(m).unwrap_err().kind,
                ParseErrorKind::Unterminated,
                "{m:?}"
            );
        }
        // Every length of header section, ending exactly at the end of the buffer (no body),
        // exercises the partial last block.
        for len in 0..40 {
            let m = format!("OPTIONS sip:a SIP/2.0\r\nTo: {}\r\n\r\n", "b".repeat(len));
            let (_, _, _, head_end, body_start, _) = scan(m.as_bytes()).unwrap();
            assert_eq!((head_end + 2, body_start), (m.len(), m.len()));
            assert_eq!(
                scan(&m.as_bytes()[..m.len() - 1]).unwrap_err().kind,
                ParseErrorKind::Unterminated
            );
        }
    }

    #[test]
    fn the_body_is_not_read() {
        // Stray CRs, colonless and blank-led lines in the body change nothing.
        let head = b"OPTIONS sip:a SIP/2.0\r\nTo: b\r\n\r\n";
        let mut m = head.to_vec();
        m.extend_from_slice(b" x\r\rno colon\n\r\n\x00\xff:");
        let (_, headers, folded, head_end, body_start, error) = scan(&m).unwrap();
        assert_eq!((headers.len(), folded, error), (1, vec![], None));
        assert_eq!((head_end, body_start), (head.len() - 2, head.len()));
    }

    /// xorshift64: deterministic variety without a dependency.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn scanners_agree_with_the_model_on_mutated_messages() {
        let seeds: Vec<Vec<u8>> = vec![
            b"INVITE sip:100@192.0.2.10 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-1\r\nMax-Forwards: 70\r\nTo: <sip:100@192.0.2.10>\r\nFrom: \"A\" <sip:a@b>;tag=1\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\nSubject: long\r\n folded\r\nContent-Length: 0\r\n\r\n".to_vec(),
            b"SIP/2.0 200 OK\nv: SIP/2.0/TCP h\nt: b\nf: a\ni: c\n\n".to_vec(),
        ];
        // Bytes the scanners treat specially, and some they do not.
        let special = b"\r\n: \t\r\n:aZ-_.\x00\xff";
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..30_000 {
            let mut m = seeds[(next(&mut rng) % 2) as usize].clone();
            for _ in 0..1 + next(&mut rng) % 4 {
                let at = (next(&mut rng) % (m.len() as u64 + 1)) as usize;
                let b = special[(next(&mut rng) % special.len() as u64) as usize];
                match next(&mut rng) % 3 {
                    0 => m.insert(at, b),
                    1 if at < m.len() => {
                        m.remove(at);
                    }
                    _ if at < m.len() => m[at] = b,
                    _ => m.push(b),
                }
            }
            let cut = (next(&mut rng) % (m.len() as u64 + 1)) as usize;
            let _ = scan(&m);
            let _ = scan(&m[..cut]);
        }
    }
}
