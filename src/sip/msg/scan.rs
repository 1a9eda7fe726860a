//! Low-level lexing shared by the header and URI parsers: character classes of RFC 3261
//! §25.1, quoted strings, top-level comma splitting and `;name=value` parameter lists.
//! Everything borrows from the input and never allocates, so validation is cheap.

use super::error::{ParseError, ParseErrorKind};

// Character classes of RFC 3261 §25.1 as bit flags in one table, so each test is a load.
pub(crate) const TOKEN: u16 = 1;
pub(crate) const WORD: u16 = 2;
pub(crate) const UNRESERVED: u16 = 4;
/// user = unreserved / escaped / user-unreserved
pub(crate) const USER: u16 = 8;
/// password = unreserved / escaped / & = + $ ,
pub(crate) const PASSWORD: u16 = 16;
/// paramchar = param-unreserved / unreserved / escaped
pub(crate) const PARAM: u16 = 32;
/// hname / hvalue = hnv-unreserved / unreserved / escaped
pub(crate) const HNV: u16 = 64;
/// Host name characters (alphanum, '-', '.', and '_' tolerated).
pub(crate) const HOSTNAME: u16 = 128;
/// A header parameter's unquoted value: token characters and ':' (bare IPv6 addresses).
pub(crate) const TOKEN_COLON: u16 = 256;

const fn in_set(b: u8, set: &[u8]) -> bool {
    let mut i = 0;
    while i < set.len() {
        if set[i] == b {
            return true;
        }
        i += 1;
    }
    false
}

const fn build_classes() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let alnum = b.is_ascii_alphanumeric();
        let unreserved = alnum || in_set(b, b"-_.!~*'()");
        let token = alnum || in_set(b, b"-.!%*_+`'~");
        let mut f = 0;
        if token {
            f |= TOKEN;
        }
        if token || in_set(b, b"()<>:\\\"/[]?{}") {
            f |= WORD;
        }
        if unreserved {
            f |= UNRESERVED;
        }
        if unreserved || in_set(b, b"%&=+$,;?/") {
            f |= USER;
        }
        if unreserved || in_set(b, b"%&=+$,") {
            f |= PASSWORD;
        }
        if unreserved || in_set(b, b"%[]/:&+$") {
            f |= PARAM;
        }
        if unreserved || in_set(b, b"%[]/?:+$") {
            f |= HNV;
        }
        if alnum || in_set(b, b"-._") {
            f |= HOSTNAME;
        }
        if token || b == b':' {
            f |= TOKEN_COLON;
        }

        t[i] = f;
        i += 1;
    }
    t
}

static CLASSES: [u16; 256] = build_classes();

/// Whether byte `b` is in every class of `mask`.
#[inline]
pub(crate) fn is(b: u8, mask: u16) -> bool {
    CLASSES[usize::from(b)] & mask == mask
}

/// `token` characters (RFC 3261 §25.1): alphanum and `-.!%*_+`'~`.
#[inline]
pub(crate) fn is_token_char(b: u8) -> bool {
    is(b, TOKEN)
}

/// True for a non-empty `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// `word` characters (RFC 3261 §25.1), used by Call-ID.
#[inline]
pub(crate) fn is_word_char(b: u8) -> bool {
    is(b, WORD)
}

/// `unreserved` = alphanum / mark (RFC 3261 §25.1).
#[inline]
pub(crate) fn is_unreserved(b: u8) -> bool {
    is(b, UNRESERVED)
}

/// The index of the first byte of `s` that is in `set`. Eight bytes per step: a byte of
/// the word equal to `x` is found as a zero byte of `word ^ x…x`; the lowest flagged byte
/// is always a true match (borrows only run upwards from a real zero byte).
#[inline]
pub(crate) fn find_any<const N: usize>(s: &[u8], set: [u8; N]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0usize;
    while let Some(chunk) = s.get(i..i.wrapping_add(8)) {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let w = u64::from_le_bytes(bytes);
        let mut hit = 0u64;
        for x in set {
            let v = w ^ LO.wrapping_mul(u64::from(x));
            hit |= v.wrapping_sub(LO) & !v & HI;
        }
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s.get(i..)?
        .iter()
        .position(|b| set.contains(b))
        .map(|p| i + p)
}

/// SP or HTAB (folding has been replaced by a single SP before values reach the parsers).
#[inline]
pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The index of the first byte matching `pred`. `pred` must only accept ASCII bytes, so
/// the index is a char boundary. A plain loop: the strings here are short, where memchr's
/// set-up costs more than it saves.
#[inline]
pub(crate) fn find_byte(s: &str, pred: impl Fn(u8) -> bool) -> Option<usize> {
    s.bytes().position(pred)
}

// The trims run on nearly every value, which seldom has whitespace to remove: inlined,
// they cost a compare or two instead of a call.
#[inline]
pub(crate) fn trim_start_ws(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| is_ws(b)).count();
    s.get(n..).unwrap_or("")
}

#[inline]
pub(crate) fn trim_ws(s: &str) -> &str {
    let s = trim_start_ws(s);
    let n = s.bytes().rev().take_while(|&b| is_ws(b)).count();
    s.get(..s.len() - n).unwrap_or("")
}

/// Given `s` starting with `"`, return the byte index just past the closing quote.
/// Quoted-pairs (`\` + any char but CR/LF) are skipped (RFC 3261 §25.1).
pub(crate) fn quoted_end(s: &str) -> Result<usize, ParseError> {
    let b = s.as_bytes();
    let mut i = 1;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => return Ok(i + 1),
            b'\\' => match b.get(i + 1) {
                Some(b'\r' | b'\n') | None => break,
                Some(_) => i += 2,
            },
            b'\r' | b'\n' => break,
            _ => i += 1,
        }
    }
    Err(ParseError::new(ParseErrorKind::Quote, "no closing quote"))
}

/// Remove the quotes and resolve quoted-pairs of a quoted string (input includes quotes).
pub(crate) fn unquote(s: &str) -> String {
    let inner = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Write `s` as a quoted string, escaping `"` and `\`.
pub(crate) fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Split a header value on commas that are not inside a quoted string or `<...>`
/// (RFC 3261 §7.3.1). Elements are trimmed; empty elements are yielded so callers can
/// reject them where the grammar forbids them.
pub(crate) struct CommaSplit<'a> {
    rest: Option<&'a str>,
}

pub(crate) fn comma_split(s: &str) -> CommaSplit<'_> {
    CommaSplit { rest: Some(s) }
}

impl<'a> Iterator for CommaSplit<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        let b = s.as_bytes();
        if find_any(b, [b',']).is_none() {
            // The common case, one element: a one-byte search is cheaper than the walk.
            self.rest = None;
            return Some(trim_ws(s));
        }
        let mut i = 0;
        let mut angle = false;
        while let Some(&c) = b.get(i) {
            // Jump to the next byte that matters, eight bytes at a time.
            if !matches!(c, b'"' | b'<' | b'>' | b',') {
                match b
                    .get(i..)
                    .and_then(|r| find_any(r, [b'"', b'<', b'>', b',']))
                {
                    Some(p) => {
                        i += p;
                        continue;
                    }
                    None => break,
                }
            }
            match c {
                b'"' if !angle => match quoted_end(&s[i..]) {
                    Ok(n) => {
                        i += n;
                        continue;
                    }
                    // An unterminated quote swallows the rest; the element parser reports it.
                    Err(_) => break,
                },
                b'<' => angle = true,
                b'>' => angle = false,
                b',' if !angle => {
                    self.rest = Some(&s[i + 1..]);
                    return Some(trim_ws(&s[..i]));
                }
                _ => {}
            }
            i += 1;
        }
        self.rest = None;
        Some(trim_ws(s))
    }
}

/// A `;name[=value]` list in a header (RFC 3261 §7.3.1 generic-param): whitespace is
/// allowed around `;` and `=`, values are tokens, hosts (incl. `[v6]`) or quoted strings.
/// Yields `(name, value)`; `value` keeps quotes as received.
pub(crate) struct HeaderParams<'a> {
    rest: &'a str,
}

/// `s` is the text after the element's main part: empty or starting with `;` (after ws).
pub(crate) fn header_params(s: &str) -> HeaderParams<'_> {
    HeaderParams { rest: s }
}

impl<'a> Iterator for HeaderParams<'a> {
    type Item = Result<(&'a str, Option<&'a str>), ParseError>;
    fn next(&mut self) -> Option<Self::Item> {
        // Index walks over the bytes: this runs for every parameter of every Via, From,
        // To, Contact and Route, so no iterator adapters or re-trimming.
        let s = self.rest;
        let b = s.as_bytes();
        let skip_ws = |mut i: usize| {
            while b.get(i).is_some_and(|&c| is_ws(c)) {
                i += 1;
            }
            i
        };
        let mut fail = |e: ParseError| {
            self.rest = "";
            Some(Err(e))
        };
        let i = skip_ws(0);
        match b.get(i) {
            None => return None,
            Some(b';') => {}
            Some(_) => return fail(ParseError::syntax("expected ';' before parameter")),
        }
        let ns = skip_ws(i + 1);
        let mut ne = ns;
        while b.get(ne).is_some_and(|&c| is_token_char(c)) {
            ne += 1;
        }
        if ne == ns {
            return fail(ParseError::syntax("empty parameter"));
        }
        let name = s.get(ns..ne).unwrap_or("");
        let eq = skip_ws(ne);
        if b.get(eq) != Some(&b'=') {
            self.rest = s.get(ne..).unwrap_or("");
            return Some(Ok((name, None)));
        }
        let vs = skip_ws(eq + 1);
        let v = s.get(vs..).unwrap_or("");
        let vlen = match b.get(vs) {
            Some(b'"') => match quoted_end(v) {
                Ok(n) => n,
                Err(e) => return fail(e),
            },
            // gen-value may be a host, and an IPv6 reference holds colons (RFC 5118 §4.5).
            Some(b'[') => match find_byte(v, |c| c == b']') {
                Some(n) => n + 1,
                None => return fail(ParseError::syntax("unterminated IPv6 reference")),
            },
            // Tokens, plus ':' so a bare IPv6 address in received= stays one value
            // (RFC 5118 §4.5).
            _ => v
                .bytes()
                .position(|c| !is(c, TOKEN_COLON))
                .unwrap_or(v.len()),
        };
        if vlen == 0 {
            return fail(ParseError::syntax("empty parameter value"));
        }
        let (Some(value), Some(rest)) = (v.get(..vlen), v.get(vlen..)) else {
            return fail(ParseError::syntax("empty parameter value"));
        };
        self.rest = rest;
        Some(Ok((name, Some(value))))
    }
}

/// Decode `%HH` escapes (RFC 3261 §19.1.2). Invalid escapes are kept literally.
pub(crate) fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&x| hex_val(x)),
                b.get(i + 2).and_then(|&x| hex_val(x)),
            )
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// The length of the longest prefix of `b` whose bytes are in class `mask` or are valid
/// `%HH` escapes (RFC 3261 §25.1 `escaped`): the class check and the escape check in one
/// pass, so a URI component is found and validated together.
#[inline]
pub(crate) fn escaped_run(b: &[u8], mask: u16) -> usize {
    let mut i = 0;
    loop {
        // Plain class bytes in one sweep (no index checks); stop at '%' or the end.
        let rest = b.get(i..).unwrap_or_default();
        i += rest
            .iter()
            .position(|&c| !is(c, mask) || c == b'%')
            .unwrap_or(rest.len());
        let escape = b.get(i) == Some(&b'%')
            && b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if !escape {
            return i;
        }
        i += 3;
    }
}

/// True when every byte of `s` is in class `mask` or starts a valid `%HH` escape.
pub(crate) fn all_escaped(s: &str, mask: u16) -> bool {
    escaped_run(s.as_bytes(), mask) == s.len()
}

/// Parse a non-empty run of decimal digits into a u64, refusing overflow.
pub(crate) fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Parse `delta-seconds`-like numbers bounded by `max` (RFC 3261 §25.1).
pub(crate) fn parse_bounded(s: &str, max: u64) -> Result<u64, ParseError> {
    match parse_digits(s) {
        Some(v) if v <= max => Ok(v),
        Some(_) => Err(ParseError::new(ParseErrorKind::Range, "number too large")),
        None => Err(ParseError::syntax("expected a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_split_respects_quotes_and_angles() {
        let v: Vec<_> = comma_split(r#""a,\"b" <sip:x,y@h>;p=1 , <sip:z@h>,, last"#).collect();
        assert_eq!(
            v,
            vec![r#""a,\"b" <sip:x,y@h>;p=1"#, "<sip:z@h>", "", "last"]
        );
    }

    #[test]
    fn header_params_allow_ws_quotes_and_ipv6() {
        let p: Vec<_> = header_params(" ; a = b ;c;d=\"x;y\";received=2001:db8::9:255;e=[::1]")
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            p,
            vec![
                ("a", Some("b")),
                ("c", None),
                ("d", Some("\"x;y\"")),
                ("received", Some("2001:db8::9:255")),
                ("e", Some("[::1]")),
            ]
        );
        assert!(header_params(";;").any(|r| r.is_err()));
        assert!(header_params(";a=").any(|r| r.is_err()));
        assert!(header_params(";a=\"open").any(|r| r.is_err()));
    }

    #[test]
    fn quoted_strings_and_escapes() {
        assert_eq!(quoted_end(r#""a\"b" rest"#), Ok(6));
        assert!(quoted_end(r#""abc"#).is_err());
        assert!(quoted_end("\"a\\").is_err());
        assert_eq!(unquote(r#""a\"b\\""#), "a\"b\\");
        let mut s = String::new();
        write_quoted(&mut s, "a\"b");
        assert_eq!(s, r#""a\"b""#);
        assert_eq!(unescape("%75se%72%4"), b"user%4");
        assert!(all_escaped("a%20b", USER) && all_escaped("", USER));
        assert!(
            !all_escaped("a%2", USER) && !all_escaped("%zz", USER) && !all_escaped("a b", USER)
        );
        // '%' itself is in the USER class, but only as the start of an escape.
        assert!(!all_escaped("%", USER) && !all_escaped("a%%20", USER));
    }

    #[test]
    fn character_classes_match_the_grammar() {
        assert!(is_token_char(b'~') && !is_token_char(b'"') && !is_token_char(0xc3));
        assert!(is_word_char(b'"') && is_word_char(b'{') && !is_word_char(b';'));
        assert!(is(b';', USER) && !is(b';', PASSWORD) && is(b':', PARAM) && !is(b'?', PARAM));
        assert!(is(b'?', HNV) && !is(b'&', HNV) && is(b'_', HOSTNAME) && !is(b':', HOSTNAME));
        assert!(is(b':', TOKEN_COLON) && is(b'~', TOKEN_COLON) && !is(b';', TOKEN_COLON));
        assert_eq!(trim_ws(" \t a b \t"), "a b");
        assert_eq!(trim_ws("   "), "");
        assert_eq!(find_byte("ab;c", |b| b == b';'), Some(2));
    }

    #[test]
    fn find_any_matches_a_plain_search() {
        let text: Vec<u8> = (0..=255u8)
            .chain(b"ab:cd\r\nxx,<\">".iter().copied())
            .collect();
        for start in 0..text.len() {
            for end in start..text.len().min(start + 40) {
                let s = &text[start..end];
                for set in [[b'\n', b'\r', b':', b':'], [b'"', b'<', b'>', b',']] {
                    let want = s.iter().position(|b| set.contains(b));
                    assert_eq!(find_any(s, set), want, "{start}..{end}");
                }
                let want = s.iter().position(|&b| b == 0x80 || b == 0xff);
                assert_eq!(find_any(s, [0x80, 0xff]), want);
            }
        }
    }

    #[test]
    fn digits_refuse_overflow_and_signs() {
        assert_eq!(parse_digits("00068"), Some(68));
        assert_eq!(parse_digits("-1"), None);
        assert_eq!(parse_digits("99999999999999999999999"), None);
        assert!(parse_bounded("4294967296", u64::from(u32::MAX)).is_err());
    }
}
