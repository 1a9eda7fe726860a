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
    HNV, HOSTNAME, PARAM, PASSWORD, USER, all_escaped, find_byte, is, is_unreserved, unescape,
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
    Name(&'a str),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl<'a> HostRef<'a> {
    pub(crate) fn scan(s: &'a str) -> Result<HostRef<'a>, ParseError> {
        let bad = || ParseError::new(ParseErrorKind::Uri, "bad host");
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or_else(bad)?;
            return parse_v6(inner).map(HostRef::V6).ok_or_else(bad);
        }
        // One pass: the class check, and whether it can be a dotted quad at all.
        let mut numeric = true;
        for &b in s.as_bytes() {
            if !is(b, HOSTNAME) {
                return Err(bad());
            }
            numeric &= b.is_ascii_digit() || b == b'.';
        }
        if s.is_empty() {
            return Err(bad());
        }
        if numeric && let Some(a) = parse_v4(s) {
            return Ok(HostRef::V4(a));
        }
        Ok(HostRef::Name(s))
    }

    pub(crate) fn to_owned(self) -> Host {
        match self {
            HostRef::Name(n) => Host::Name(n.to_string()),
            HostRef::V4(a) => Host::V4(a),
            HostRef::V6(a) => Host::V6(a),
        }
    }
}

/// Parse a dotted-quad IPv4 address exactly as `Ipv4Addr::from_str` does (four decimal
/// octets of one to three digits, at most 255, no leading zero), in one pass without the
/// generic parser's set-up: it runs for nearly every host of every message.
pub(crate) fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    let b = s.as_bytes();
    if !(7..=15).contains(&b.len()) {
        return None;
    }
    let mut out = [0u8; 4];
    let mut i = 0usize;
    for (k, o) in out.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v = 0u16;
        // At most three digits per octet: a fourth is left for the '.' check to refuse.
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() || i - start == 3 {
                break;
            }
            v = v * 10 + u16::from(c - b'0');
            i += 1;
        }
        let n = i - start;
        if n == 0 || (n > 1 && b.get(start) == Some(&b'0')) {
            return None;
        }
        *o = u8::try_from(v).ok()?;
    }
    (i == b.len()).then(|| Ipv4Addr::from(out))
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

impl<'a> UriParts<'a> {
    /// Scan and validate a complete URI (no surrounding whitespace or brackets).
    pub(crate) fn scan(s: &'a str) -> Result<UriParts<'a>, ParseError> {
        let colon = find_byte(s, |b| b == b':').ok_or_else(|| uri_err("no scheme"))?;
        let (scheme, rest) = (&s[..colon], &s[colon + 1..]);
        let mut sb = scheme.bytes();
        if !sb.next().is_some_and(|b| b.is_ascii_alphabetic())
            || !sb.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(uri_err("bad scheme"));
        }
        // No URI holds whitespace, controls, raw non-ASCII or the delimiters of name-addr.
        let illegal = |r: &str| {
            r.is_empty()
                || r.bytes()
                    .any(|b| b <= b' ' || b >= 0x7f || matches!(b, b'<' | b'>' | b'"'))
        };
        let sip = scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips");
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

    fn scan_sip(&mut self, rest: &'a str) -> Result<(), ParseError> {
        // userinfo ends at the first '@' (RFC 3261 §19.1.1: '@' must be escaped elsewhere).
        let hostpart = match find_byte(rest, |b| b == b'@') {
            Some(at) => {
                let userinfo = &rest[..at];
                let (user, password) = match find_byte(userinfo, |b| b == b':') {
                    Some(c) => (&userinfo[..c], Some(&userinfo[c + 1..])),
                    None => (userinfo, None),
                };
                if user.is_empty() || !all_escaped(user, USER) {
                    return Err(uri_err("bad user part"));
                }
                if let Some(p) = password
                    && !all_escaped(p, PASSWORD)
                {
                    return Err(uri_err("bad password"));
                }
                self.user = Some(user);
                self.password = password;
                &rest[at + 1..]
            }
            None => rest,
        };
        let (hostport, after) = if hostpart.starts_with('[') {
            let close = hostpart
                .bytes()
                .position(|b| b == b']')
                .ok_or_else(|| uri_err("unterminated IPv6 reference"))?;
            hostpart.split_at(close + 1)
        } else {
            let end =
                find_byte(hostpart, |b| matches!(b, b':' | b';' | b'?')).unwrap_or(hostpart.len());
            hostpart.split_at(end)
        };
        self.host = HostRef::scan(hostport)?;
        let after = if let Some(p) = after.strip_prefix(':') {
            let end = find_byte(p, |b| b == b';' || b == b'?').unwrap_or(p.len());
            let port = p[..end]
                .parse::<u16>()
                .ok()
                .filter(|_| p[..end].bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| uri_err("bad port"))?;
            self.port = Some(port);
            &p[end..]
        } else {
            after
        };
        let (params, headers) = match find_byte(after, |b| b == b'?') {
            Some(q) => (&after[..q], &after[q + 1..]),
            None => (after, ""),
        };
        if !params.is_empty() && !params.starts_with(';') {
            return Err(uri_err("junk after host"));
        }
        uri_params(params).try_for_each(|r| r.map(drop))?;
        if after.len() > params.len() && headers.is_empty() {
            return Err(uri_err("empty URI headers"));
        }
        uri_headers(headers).try_for_each(|r| r.map(drop))?;
        self.params = params;
        self.headers = headers;
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
