//! URIs (RFC 3261 §19.1, §25.1): `sip:`/`sips:` fully parsed, `tel:` (RFC 3966) to the
//! number and parameters, any other absoluteURI (RFC 3986) kept verbatim.
//!
//! Parsing goes through a borrowed [`UriParts`] first so that a message can be validated
//! without allocating; [`Uri`] is the owned form the rest of the stack keeps.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::error::{ParseError, ParseErrorKind};
use super::params::Params;
use super::scan::{
    HNV, HOSTNAME, PARAM, PASSWORD, USER, all_escaped, escaped_run, find_byte, is, is_unreserved,
    unescape,
};
use crate::sip::Transport;

/// A host: a domain name, an IPv4 address or an IPv6 reference (RFC 3261 §25.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, kept as received (compare with `eq_ignore_ascii_case`).
    Name(String),
    V4(Ipv4Addr),
    /// Written as `[addr]` in URIs and Via (RFC 3261 §19.1.1, RFC 5118).
    V6(Ipv6Addr),
}

impl Host {
    /// Parse a host as it appears in a URI or Via: `name`, `1.2.3.4` or `[v6]`.
    pub fn parse(s: &str) -> Result<Host, ParseError> {
        Ok(HostRef::scan(s)?.to_owned())
    }

    /// The address, when the host is an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Name(_) => None,
            Host::V4(a) => Some(IpAddr::V4(*a)),
            Host::V6(a) => Some(IpAddr::V6(*a)),
        }
    }

    /// Host equality of RFC 3261 §19.1.4: names case-insensitive, a name never equals an IP.
    pub fn equivalent(&self, other: &Host) -> bool {
        match (self, other) {
            (Host::Name(a), Host::Name(b)) => a.eq_ignore_ascii_case(b),
            _ => self == other,
        }
    }
}

impl From<IpAddr> for Host {
    fn from(a: IpAddr) -> Host {
        match a {
            IpAddr::V4(a) => Host::V4(a),
            IpAddr::V6(a) => Host::V6(a),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a) => write!(f, "[{a}]"),
        }
    }
}

/// A borrowed host, produced while validating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostRef<'a> {
    /// A run of host-name characters. A dotted quad is one too, so telling an IPv4
    /// address from a name never decides validity; it is left to [`HostRef::to_owned`],
    /// which only typed access pays for.
    Name(&'a str),
    V6(Ipv6Addr),
}

impl<'a> HostRef<'a> {
    pub(crate) fn scan(s: &'a str) -> Result<HostRef<'a>, ParseError> {
        let bad = || ParseError::new(ParseErrorKind::Uri, "bad host");
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or_else(bad)?;
            return parse_v6(inner).map(HostRef::V6).ok_or_else(bad);
        }
        let len = host_name_run(s.as_bytes());
        if len == 0 || len != s.len() {
            return Err(bad());
        }
        Ok(HostRef::Name(s))
    }

    pub(crate) fn to_owned(self) -> Host {
        match self {
            // A dotted quad starts with a digit; parse_v4 stops at the first letter.
            HostRef::Name(n) => match n.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                true => parse_v4(n).map_or_else(|| Host::Name(n.to_string()), Host::V4),
                false => Host::Name(n.to_string()),
            },
            HostRef::V6(a) => Host::V6(a),
        }
    }
}

/// The length of the run of host-name characters at the start of `b`.
#[inline]
pub(crate) fn host_name_run(b: &[u8]) -> usize {
    b.iter().position(|&c| !is(c, HOSTNAME)).unwrap_or(b.len())
}

/// Parse a dotted-quad IPv4 address exactly as `Ipv4Addr::from_str` does (four decimal
/// octets of one to three digits, at most 255, no leading zero), in one pass without the
/// generic parser's set-up: it runs for nearly every host of every message.
pub(crate) fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    let mut rest = s.as_bytes();
    if !(7..=15).contains(&rest.len()) {
        return None;
    }
    let mut out = [0u8; 4];
    for (k, o) in out.iter_mut().enumerate() {
        if k > 0 {
            rest = rest.strip_prefix(b".")?;
        }
        let d = |c: &u8| u16::from(c - b'0');
        // One to three digits; only a lone digit may be '0'.
        let (v, n) = match rest {
            [a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9', ..] => {
                (d(a) * 100 + d(b) * 10 + d(c), 3)
            }
            [a @ b'1'..=b'9', b @ b'0'..=b'9', ..] => (d(a) * 10 + d(b), 2),
            [a @ b'0'..=b'9', ..] => (d(a), 1),
            _ => return None,
        };
        *o = u8::try_from(v).ok()?;
        rest = rest.get(n..)?;
    }
    // A fourth digit or anything after the last octet is not an address.
    rest.is_empty().then(|| Ipv4Addr::from(out))
}

/// Parse an IPv6 address, tolerating the `:::` that RFC 3261's ABNF lets through before an
/// embedded IPv4 address (RFC 5118 §4.10 asks implementations to accept it).
pub(crate) fn parse_v6(s: &str) -> Option<Ipv6Addr> {
    if let Ok(a) = s.parse::<Ipv6Addr>() {
        return Some(a);
    }
    if s.len() <= 64 && s.contains(":::") && !s.contains("::::") {
        return s.replacen(":::", "::", 1).parse().ok();
    }
    None
}

/// The URI scheme. `sip`, `sips` and `tel` compare case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scheme {
    Sip,
    Sips,
    Tel,
    /// Another absoluteURI scheme, lower-cased.
    Other(String),
}

impl Scheme {
    pub fn as_str(&self) -> &str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Other(s) => s,
        }
    }
}

/// A parsed URI.
///
/// For `sip`/`sips` every field is used. For `tel` the number is in `user`, `host` is an
/// empty name and `params` holds the tel parameters. For other schemes everything after
/// `scheme:` is in `opaque`. `user`, `password`, parameter values and headers are kept
/// escaped as received, so `Display` gives back the same text; comparisons unescape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    pub scheme: Scheme,
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
    /// `?name=value&...` headers (RFC 3261 §19.1.1), escaped.
    pub headers: Vec<(String, String)>,
    /// The scheme-specific part of a non-SIP, non-tel URI.
    pub opaque: String,
}

/// Borrowed pieces of a URI, validated but not copied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UriParts<'a> {
    pub scheme: &'a str,
    pub user: Option<&'a str>,
    pub password: Option<&'a str>,
    pub host: HostRef<'a>,
    pub port: Option<u16>,
    /// Starts with `;` or is empty.
    pub params: &'a str,
    /// After `?`, or empty.
    pub headers: &'a str,
    pub opaque: &'a str,
}

fn uri_err(detail: &'static str) -> ParseError {
    ParseError::new(ParseErrorKind::Uri, detail)
}

/// Iterate `;name[=value]` URI parameters (no whitespace allowed), validating each.
/// `s` starts with `;` or is empty.
pub(crate) fn uri_params(
    s: &str,
) -> impl Iterator<Item = Result<(&str, Option<&str>), ParseError>> {
    let mut rest = s.strip_prefix(';');
    std::iter::from_fn(move || {
        let r = rest?;
        let (p, next) = match find_byte(r, |b| b == b';') {
            Some(i) => (&r[..i], Some(&r[i + 1..])),
            None => (r, None),
        };
        rest = next;
        let (n, v) = match find_byte(p, |b| b == b'=') {
            Some(i) => (&p[..i], Some(&p[i + 1..])),
            None => (p, None),
        };
        let ok = |x: &str| !x.is_empty() && all_escaped(x, PARAM);
        if !ok(n) || v.is_some_and(|v| !ok(v)) {
            return Some(Err(uri_err("bad URI parameter")));
        }
        Some(Ok((n, v)))
    })
}

/// Iterate `name=value` URI headers separated by `&`.
pub(crate) fn uri_headers(s: &str) -> impl Iterator<Item = Result<(&str, &str), ParseError>> {
    s.split('&').filter(|_| !s.is_empty()).map(|h| {
        let (n, v) = h
            .split_once('=')
            .ok_or_else(|| uri_err("URI header without '='"))?;
        let ok = |x: &str| all_escaped(x, HNV);
        if n.is_empty() || !ok(n) || !ok(v) {
            return Err(uri_err("bad URI header"));
        }
        Ok((n, v))
    })
}

/// Split `scheme:rest` (RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )).
#[inline]
fn split_scheme(s: &str) -> Result<(&str, &str), ParseError> {
    let b = s.as_bytes();
    let mut i = 0;
    while b
        .get(i)
        .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    {
        i += 1;
    }
    match b.get(i) {
        Some(b':') if b.first().is_some_and(u8::is_ascii_alphabetic) => {
            Ok((s.get(..i).unwrap_or(""), s.get(i + 1..).unwrap_or("")))
        }
        _ if find_byte(s, |c| c == b':').is_none() => Err(uri_err("no scheme")),
        _ => Err(uri_err("bad scheme")),
    }
}

impl<'a> UriParts<'a> {
    /// Scan and validate a complete URI (no surrounding whitespace or brackets).
    pub(crate) fn scan(s: &'a str) -> Result<UriParts<'a>, ParseError> {
        let (scheme, rest) = split_scheme(s)?;
        // No URI holds whitespace, controls, raw non-ASCII or the delimiters of name-addr.
        let illegal = |r: &str| {
            r.is_empty()
                || r.bytes()
                    .any(|b| b <= b' ' || b >= 0x7f || matches!(b, b'<' | b'>' | b'"'))
        };
        let sip = matches!(scheme.len(), 3 | 4)
            && scheme
                .get(..3)
                .is_some_and(|p| p.eq_ignore_ascii_case("sip"))
            && scheme
                .get(3..)
                .is_none_or(|x| x.is_empty() || x.eq_ignore_ascii_case("s"));
        // Every character class of a sip URI excludes those bytes, so there the check only
        // chooses the error's detail when the component scan fails (one pass less).
        if !sip && illegal(rest) {
            return Err(uri_err("illegal character"));
        }
        let mut parts = UriParts {
            scheme,
            user: None,
            password: None,
            host: HostRef::Name(""),
            port: None,
            params: "",
            headers: "",
            opaque: "",
        };
        if sip {
            parts.scan_sip(rest).map_err(|e| {
                if illegal(rest) {
                    uri_err("illegal character")
                } else if parts.user.is_none() && find_byte(rest, |c| c == b'@').is_some() {
                    // No valid userinfo was found before the '@' that ends one (an '@'
                    // anywhere else fails the scan too): name the userinfo as the fault.
                    let u = escaped_run(rest.as_bytes(), USER);
                    uri_err(if u > 0 && rest.as_bytes().get(u) == Some(&b':') {
                        "bad password"
                    } else {
                        "bad user part"
                    })
                } else {
                    e
                }
            })?;
        } else if scheme.eq_ignore_ascii_case("tel") {
            // RFC 3966: the number runs to the first ';'; its parameters follow.
            let end = find_byte(rest, |b| b == b';').unwrap_or(rest.len());
            let (num, params) = rest.split_at(end);
            if num.is_empty() || !num.bytes().all(|b| is_unreserved(b) || b"%#+".contains(&b)) {
                return Err(uri_err("bad telephone number"));
            }
            uri_params(params).try_for_each(|r| r.map(drop))?;
            parts.user = Some(num);
            parts.params = params;
        } else {
            parts.opaque = rest;
        }
        Ok(parts)
    }

    /// The part after `sip:`/`sips:` in one forward pass (RFC 3261 §25.1 SIP-URI): each
    /// component is the run of its character class (with `%HH` escapes), and the byte that
    /// stops the run must be the delimiter the grammar puts next.
    fn scan_sip(&mut self, rest: &'a str) -> Result<(), ParseError> {
        let b = rest.as_bytes();
        let at = |i: usize| b.get(i).copied();
        let from = |i: usize| b.get(i..).unwrap_or_default();
        let text = |i: usize, j: usize| rest.get(i..j).unwrap_or_default();
        // userinfo ends at the first '@' (§19.1.1: '@' must be escaped everywhere else),
        // and neither class holds '@' or ':', so the runs stop exactly there when there
        // is a valid userinfo.
        let u = escaped_run(b, USER);
        let mut i = match at(u) {
            Some(b'@') => {
                self.user = Some(text(0, u));
                u + 1
            }
            Some(b':') => {
                let p = u + 1 + escaped_run(from(u + 1), PASSWORD);
                if at(p) == Some(b'@') {
                    self.user = Some(text(0, u));
                    self.password = Some(text(u + 1, p));
                    p + 1
                } else {
                    0
                }
            }
            _ => 0,
        };
        if self.user == Some("") {
            return Err(uri_err("bad user part"));
        }
        let h = i;
        if at(h) == Some(b'[') {
            let close = find_byte(text(h, b.len()), |c| c == b']')
                .ok_or_else(|| uri_err("unterminated IPv6 reference"))?;
            i = h + close + 1;
            self.host = HostRef::scan(text(h, i))?;
        } else {
            let len = host_name_run(from(h));
            i = h + len;
            if len == 0 || !matches!(at(i), None | Some(b':' | b';' | b'?')) {
                return Err(uri_err("bad host"));
            }
            self.host = HostRef::Name(text(h, i));
        }
        if at(i) == Some(b':') {
            let mut port = 0u32;
            let start = i + 1;
            i = start;
            while let Some(d) = at(i).filter(u8::is_ascii_digit) {
                // Saturate: any number of leading zeros is a valid port, a huge one is not.
                port = (port * 10 + u32::from(d - b'0')).min(1 << 17);
                i += 1;
            }
            if i == start || !matches!(at(i), None | Some(b';' | b'?')) {
                return Err(uri_err("bad port"));
            }
            self.port = Some(u16::try_from(port).map_err(|_| uri_err("bad port"))?);
        }
        let params_start = i;
        while at(i) == Some(b';') {
            let n = escaped_run(from(i + 1), PARAM);
            if n == 0 {
                return Err(uri_err("bad URI parameter"));
            }
            i += 1 + n;
            if at(i) == Some(b'=') {
                let v = escaped_run(from(i + 1), PARAM);
                if v == 0 {
                    return Err(uri_err("bad URI parameter"));
                }
                i += 1 + v;
            }
        }
        self.params = text(params_start, i);
        match at(i) {
            None => return Ok(()),
            Some(b'?') => {}
            // Only the IPv6 reference can be followed by anything else.
            Some(_) if i == params_start => return Err(uri_err("junk after host")),
            Some(_) => return Err(uri_err("bad URI parameter")),
        }
        let headers_start = i + 1;
        if headers_start == b.len() {
            return Err(uri_err("empty URI headers"));
        }
        i = headers_start;
        loop {
            let n = escaped_run(from(i), HNV);
            i += n;
            match at(i) {
                Some(b'=') if n > 0 => {}
                _ => {
                    // The missing '=' is the first fault to name when this header has none.
                    let rest_of_header = from(i).split(|&c| c == b'&').next().unwrap_or_default();
                    return Err(uri_err(if rest_of_header.contains(&b'=') {
                        "bad URI header"
                    } else {
                        "URI header without '='"
                    }));
                }
            }
            i += 1 + escaped_run(from(i + 1), HNV);
            match at(i) {
                None => break,
                Some(b'&') => i += 1,
                _ => return Err(uri_err("bad URI header")),
            }
        }
        self.headers = text(headers_start, b.len());
        Ok(())
    }

    pub(crate) fn to_owned(self) -> Uri {
        let scheme = if self.scheme.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if self.scheme.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else if self.scheme.eq_ignore_ascii_case("tel") {
            Scheme::Tel
        } else {
            Scheme::Other(self.scheme.to_ascii_lowercase())
        };
        let params = Params(
            uri_params(self.params)
                .filter_map(Result::ok)
                .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
                .collect(),
        );
        Uri {
            scheme,
            user: self.user.map(str::to_string),
            password: self.password.map(str::to_string),
            host: self.host.to_owned(),
            port: self.port,
            params,
            headers: uri_headers(self.headers)
                .filter_map(Result::ok)
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            opaque: self.opaque.to_string(),
        }
    }
}

impl Uri {
    /// Parse a URI (RFC 3261 §19.1, §25.1). Surrounding whitespace is not allowed.
    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        Ok(UriParts::scan(s)?.to_owned())
    }

    /// A `sip:` URI with the given user, host and port and no parameters.
    pub fn sip(user: Option<&str>, host: Host, port: Option<u16>) -> Uri {
        Uri {
            scheme: Scheme::Sip,
            user: user.map(str::to_string),
            password: None,
            host,
            port,
            params: Params::new(),
            headers: Vec::new(),
            opaque: String::new(),
        }
    }

    pub fn is_sip(&self) -> bool {
        matches!(self.scheme, Scheme::Sip | Scheme::Sips)
    }

    /// The `transport=` parameter, if present and one of ours (RFC 3261 §19.1.1).
    pub fn transport(&self) -> Option<Transport> {
        self.params.value("transport").and_then(|t| t.parse().ok())
    }

    /// Whether the `lr` parameter is present (loose routing, RFC 3261 §16.12.1.1).
    pub fn lr(&self) -> bool {
        self.params.has("lr")
    }

    pub fn maddr(&self) -> Option<&str> {
        self.params.value("maddr")
    }

    /// The `user=` parameter (`phone`, `ip`).
    pub fn user_param(&self) -> Option<&str> {
        self.params.value("user")
    }

    /// The user part with %-escapes decoded (lossy for non-UTF-8 octets).
    pub fn user_unescaped(&self) -> Option<String> {
        self.user
            .as_deref()
            .map(|u| String::from_utf8_lossy(&unescape(u)).into_owned())
    }

    /// URI comparison of RFC 3261 §19.1.4 (sip/sips); tel numbers compare without visual
    /// separators (RFC 3966 §4); other schemes compare their text exactly.
    pub fn equivalent(&self, other: &Uri) -> bool {
        if self.scheme != other.scheme {
            return false;
        }
        match self.scheme {
            Scheme::Sip | Scheme::Sips => self.sip_equivalent(other),
            Scheme::Tel => {
                let digits = |u: &Uri| -> Vec<u8> {
                    u.user
                        .as_deref()
                        .map(unescape)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|b| !b"-.()".contains(b))
                        .map(|b| b.to_ascii_lowercase())
                        .collect()
                };
                digits(self) == digits(other) && params_match(&self.params, &other.params, &[])
            }
            Scheme::Other(_) => self.opaque == other.opaque,
        }
    }

    fn sip_equivalent(&self, other: &Uri) -> bool {
        // Userinfo is case-sensitive, compared after unescaping.
        let esc = |s: &Option<String>| s.as_deref().map(unescape);
        if esc(&self.user) != esc(&other.user) || esc(&self.password) != esc(&other.password) {
            return false;
        }
        if !self.host.equivalent(&other.host) || self.port != other.port {
            return false;
        }
        // These parameters must match when present in either URI.
        const MUST: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];
        if !params_match(&self.params, &other.params, &MUST) {
            return false;
        }
        // Header components are never ignored: same set, same values.
        let norm = |hs: &[(String, String)]| {
            let mut v: Vec<(Vec<u8>, Vec<u8>)> = hs
                .iter()
                .map(|(n, val)| (unescape(n).to_ascii_lowercase(), unescape(val)))
                .collect();
            v.sort();
            v
        };
        norm(&self.headers) == norm(&other.headers)
    }
}

/// Parameters present in both must match (case-insensitively after unescaping); those in
/// `must` must also be present in both or in neither.
fn params_match(a: &Params, b: &Params, must: &[&str]) -> bool {
    let norm = |v: Option<&str>| v.map(|v| unescape(v).to_ascii_lowercase());
    for (i, (name, va)) in a.iter().enumerate() {
        // A repeated name is judged by its first occurrence, as `Params::get` sees it.
        if a.iter().take(i).any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            continue;
        }
        match b.get(name) {
            Some(vb) if norm(va) != norm(vb) => return false,
            None if must.iter().any(|m| m.eq_ignore_ascii_case(name)) => return false,
            _ => {}
        }
    }
    must.iter().all(|m| a.has(m) || !b.has(m))
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme.as_str())?;
        f.write_str(":")?;
        match self.scheme {
            Scheme::Other(_) => return f.write_str(&self.opaque),
            Scheme::Tel => {
                f.write_str(self.user.as_deref().unwrap_or(""))?;
                return write!(f, "{}", self.params);
            }
            Scheme::Sip | Scheme::Sips => {}
        }
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)?;
        for (i, (n, v)) in self.headers.iter().enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            write!(f, "{n}={v}")?;
        }
        Ok(())
    }
}

impl FromStr for Uri {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uri::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Uri {
        Uri::parse(s).unwrap()
    }

    #[test]
    fn sip_uri_fields_and_round_trip() {
        let s =
            "sip:alice:secret@Example.COM:5070;transport=tcp;lr;maddr=239.1.1.1?subject=hi&x=%20";
        let x = u(s);
        assert_eq!(x.scheme, Scheme::Sip);
        assert_eq!(x.user.as_deref(), Some("alice"));
        assert_eq!(x.password.as_deref(), Some("secret"));
        assert_eq!(x.host, Host::Name("Example.COM".into()));
        assert_eq!(x.port, Some(5070));
        assert_eq!(x.transport(), Some(Transport::Tcp));
        assert!(x.lr());
        assert_eq!(x.maddr(), Some("239.1.1.1"));
        assert_eq!(x.headers.len(), 2);
        assert_eq!(x.to_string(), s);
    }

    #[test]
    fn hosts_v4_v6_and_tolerated_triple_colon() {
        assert_eq!(u("sip:1.2.3.4").host, Host::V4(Ipv4Addr::new(1, 2, 3, 4)));
        let x = u("sip:[2001:db8::10]:5070");
        assert_eq!(x.host, Host::V6("2001:db8::10".parse().unwrap()));
        assert_eq!(x.port, Some(5070));
        assert_eq!(x.to_string(), "sip:[2001:db8::10]:5070");
        // RFC 5118 §4.3: the last group is part of the address, not a port.
        assert_eq!(u("sip:[2001:db8::10:5070]").port, None);
        assert_eq!(
            u("sip:user@[2001:db8:::192.0.2.1]").host,
            u("sip:user@[2001:db8::192.0.2.1]").host
        );
        // RFC 5118 §4.2: an unbracketed IPv6 address is not a host.
        assert!(Uri::parse("sip:2001:db8::10").is_err());
    }

    #[test]
    fn v4_parser_agrees_with_std() {
        for s in [
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            "1.2.3.4.5",
            ".1.2.3",
            "1..2.3",
            "1.2.3.04",
            "1.2.3.0",
            "1234.1.1.1",
            "1.2.3.+4",
            "",
            "a.b.c.d",
            "127.0.0.1",
            "192.0.2.10",
            "1.2.3.4 ",
            "00.1.1.1",
            "999.9.9.9",
        ] {
            assert_eq!(parse_v4(s), s.parse::<Ipv4Addr>().ok(), "{s:?}");
        }
        // Every short string over the alphabet that matters.
        let alphabet = b"0129.5";
        let mut buf = Vec::new();
        for len in 0..=7u32 {
            for mut code in 0..6usize.pow(len) {
                buf.clear();
                for _ in 0..len {
                    buf.push(alphabet[code % 6]);
                    code /= 6;
                }
                let s = std::str::from_utf8(&buf).unwrap();
                assert_eq!(parse_v4(s), s.parse::<Ipv4Addr>().ok(), "{s:?}");
            }
        }
    }

    #[test]
    fn user_with_semicolon_and_escapes() {
        // RFC 4475 §3.1.1.9: the user part may hold ';'.
        let x = u("sip:user;par=u%40example.net@example.com");
        assert_eq!(x.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(
            x.user_unescaped().as_deref(),
            Some("user;par=u@example.net")
        );
        assert!(x.params.is_empty());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "sip:",
            "sip:@host",
            "<sip:a@b>",
            "sip:a b@c",
            "sip:a@b:99999",
            "sip:a@b:",
            "sip:a@b;;x",
            "sip:a@b;=x",
            "sip:a@[::1",
            "1sip:x",
            "sip:a@b?",
            "sip:a@b?x",
            "sip:a@b%zz",
            "sip:a@ho st",
            "sip:a@b:5060x",
            "tel:",
            "sip:user@host\u{e9}",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn errors_name_the_faulty_component() {
        for (bad, detail) in [
            ("sip:@h", "bad user part"),
            ("sip::pw@h", "bad user part"),
            ("sip:a b@h", "illegal character"),
            ("sip:a{@h", "bad user part"),
            ("sip:a:p{@h", "bad password"),
            ("sip:a@h{", "bad host"),
            ("sip:a@h:", "bad port"),
            ("sip:a@h:65536", "bad port"),
            ("sip:a@h:5060x", "bad port"),
            ("sip:a@[::1]x", "junk after host"),
            ("sip:a@[::1", "unterminated IPv6 reference"),
            ("sip:a@h;", "bad URI parameter"),
            ("sip:a@h;x=", "bad URI parameter"),
            ("sip:a@h;x=a=b", "bad URI parameter"),
            ("sip:a@h?", "empty URI headers"),
            ("sip:a@h?x", "URI header without '='"),
            ("sip:a@h?x=1&y", "URI header without '='"),
            ("sip:a@h?x=1&=2", "bad URI header"),
            ("sip:a@h?x{=1", "bad URI header"),
        ] {
            assert_eq!(
                Uri::parse(bad).map_err(|e| e.detail),
                Err(detail),
                "{bad:?}"
            );
        }
        // Leading zeros make a long but valid port.
        assert_eq!(u("sip:h:0000005060").port, Some(5060));
    }

    #[test]
    fn tel_and_other_schemes() {
        let t = u("tel:+1-201-555-0123;phone-context=example.com");
        assert_eq!(t.scheme, Scheme::Tel);
        assert_eq!(t.user.as_deref(), Some("+1-201-555-0123"));
        assert_eq!(t.params.value("phone-context"), Some("example.com"));
        assert_eq!(
            t.to_string(),
            "tel:+1-201-555-0123;phone-context=example.com"
        );
        assert!(t.equivalent(&u("tel:+12015550123;phone-context=example.com")));
        let m = u("mailto:someone@example.com");
        assert_eq!(m.scheme, Scheme::Other("mailto".into()));
        assert_eq!(m.to_string(), "mailto:someone@example.com");
    }

    #[test]
    fn repeated_parameters_compare_by_first_occurrence() {
        // Found by fuzzing (fuzz/artifacts uri crash-12eb875f): a URI was not equivalent
        // to itself when a parameter name repeated with another value.
        let t = u(
            "tel:+1-2201-555-01A3;ph/one-context=example.com01-555-01A3;ph/one-context=example.com",
        );
        assert!(t.equivalent(&t.clone()));
        let s = u("sip:a@h;x=1;X=2");
        assert!(s.equivalent(&u("sip:a@h;x=1")));
        assert!(!s.equivalent(&u("sip:a@h;x=2")));
    }

    #[test]
    fn equivalence_follows_rfc3261_19_1_4() {
        // The RFC's own examples of equivalent URIs.
        assert!(
            u("sip:%61lice@atlanta.com;transport=TCP")
                .equivalent(&u("sip:alice@AtLanTa.CoM;Transport=tcp"))
        );
        assert!(u("sip:carol@chicago.com").equivalent(&u("sip:carol@chicago.com;newparam=5")));
        assert!(
            u("sip:carol@chicago.com;security=on")
                .equivalent(&u("sip:carol@chicago.com;newparam=5"))
        );
        assert!(
            u("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com").equivalent(
                &u("sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com")
            )
        );
        // And the non-equivalent ones.
        assert!(
            !u("SIP:ALICE@AtLanTa.CoM;Transport=udp")
                .equivalent(&u("sip:alice@AtLanTa.CoM;Transport=UDP"))
        );
        assert!(!u("sip:bob@biloxi.com").equivalent(&u("sip:bob@biloxi.com:5060")));
        assert!(!u("sip:bob@biloxi.com").equivalent(&u("sip:bob@biloxi.com;transport=udp")));
        assert!(
            !u("sip:carol@chicago.com")
                .equivalent(&u("sip:carol@chicago.com?Subject=next%20meeting"))
        );
        assert!(!u("sip:bob@phone21.boxesbybob.com").equivalent(&u("sip:bob@192.0.2.4")));
        assert!(!u("sip:a@h").equivalent(&u("sips:a@h")));
    }
}
