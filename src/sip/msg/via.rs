//! The Via header (RFC 3261 §20.42, §18.2.1 received, RFC 3581 rport, RFC 5118 §4.5).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::error::ParseError;
use super::error::ParseErrorKind;
use super::params::Params;
use super::scan::{
    find_any, find_byte, header_params, is_token_char, parse_bounded, trim_start_ws, trim_ws,
};
use super::uri::{Host, HostRef, host_name_run, parse_v4, parse_v6};
use crate::sip::Transport;

/// The transport token of a Via. Unknown tokens (SCTP, ...) are kept: a Via is valid with
/// any transport token (RFC 4475 §3.1.1.10) even though we only speak the three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViaTransport {
    Known(Transport),
    Other(String),
}

impl ViaTransport {
    fn parse(s: &str) -> ViaTransport {
        match s.parse::<Transport>() {
            Ok(t) => ViaTransport::Known(t),
            Err(_) => ViaTransport::Other(s.to_string()),
        }
    }

    pub fn known(&self) -> Option<Transport> {
        match self {
            ViaTransport::Known(t) => Some(*t),
            ViaTransport::Other(_) => None,
        }
    }
}

impl fmt::Display for ViaTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViaTransport::Known(t) => f.write_str(t.as_str()),
            ViaTransport::Other(s) => f.write_str(s),
        }
    }
}

/// One Via value: `SIP/2.0/<transport> <host>[:<port>]` and its parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub transport: ViaTransport,
    /// sent-by host.
    pub host: Host,
    /// sent-by port, if given.
    pub port: Option<u16>,
    pub params: Params,
}

/// Borrowed, validated pieces of a Via value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViaParts<'a> {
    pub transport: &'a str,
    pub host: HostRef<'a>,
    pub port: Option<u16>,
    pub params: &'a str,
}

fn via_err(detail: &'static str) -> ParseError {
    ParseError::syntax(detail).in_header("Via")
}

/// `received` is an IPv4 or IPv6 address, the latter with or without brackets
/// (RFC 3261 §25.1 vs. common practice, RFC 5118 §4.5).
fn parse_received(v: &str) -> Option<IpAddr> {
    if let Some(inner) = v.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        return parse_v6(inner).map(IpAddr::V6);
    }
    parse_v4(v)
        .map(IpAddr::V4)
        .or_else(|| parse_v6(v).map(IpAddr::V6))
}

/// Check `SIP/2.0/` and return what follows. Whitespace may surround each `/` (SLASH is
/// SWS-wrapped in RFC 3261 §25.1); the usual form without any is checked in one compare.
fn sent_protocol_rest(s: &str) -> Result<&str, ParseError> {
    if let (Some(p), Some(rest)) = (s.get(..8), s.get(8..))
        && p.get(..3).is_some_and(|n| n.eq_ignore_ascii_case("SIP"))
        && p.get(3..) == Some("/2.0/")
    {
        return Ok(trim_start_ws(rest));
    }
    fn split_slash(x: &str) -> Result<(&str, &str), ParseError> {
        let i = find_byte(x, |b| b == b'/').ok_or_else(|| via_err("no protocol"))?;
        Ok((x.get(..i).unwrap_or(""), x.get(i + 1..).unwrap_or("")))
    }
    let (name, rest) = split_slash(s)?;
    let (version, rest) = split_slash(rest)?;
    if !trim_ws(name).eq_ignore_ascii_case("SIP") || trim_ws(version) != "2.0" {
        return Err(via_err("protocol is not SIP/2.0"));
    }
    Ok(trim_start_ws(rest))
}

impl<'a> ViaParts<'a> {
    /// Scan one comma-split Via value. Whitespace is allowed around `/` and `:`
    /// (SLASH and COLON are SWS-wrapped in RFC 3261 §25.1).
    pub(crate) fn scan(s: &'a str) -> Result<ViaParts<'a>, ParseError> {
        let s = trim_ws(s);
        if s.is_empty() {
            return Err(via_err("empty value"));
        }
        let rest = sent_protocol_rest(s)?;
        let tlen = rest.bytes().take_while(|&b| is_token_char(b)).count();
        let (transport, rest) = rest.split_at(tlen);
        if transport.is_empty() || !rest.starts_with([' ', '\t']) {
            return Err(via_err("bad transport"));
        }
        // sent-by: the host is the run of its class, ended by the port, a parameter or
        // whitespace.
        let rest = trim_start_ws(rest);
        let b = rest.as_bytes();
        let (host, hlen) = if b.first() == Some(&b'[') {
            let hlen = find_byte(rest, |b| b == b']')
                .map(|i| i + 1)
                .ok_or_else(|| via_err("unterminated IPv6 reference"))?;
            let host = HostRef::scan(rest.get(..hlen).unwrap_or_default());
            (host.map_err(|e| e.in_header("Via"))?, hlen)
        } else {
            let hlen = host_name_run(b);
            if hlen == 0 || !matches!(b.get(hlen), None | Some(b':' | b';' | b' ' | b'\t')) {
                return Err(ParseError::new(ParseErrorKind::Uri, "bad host").in_header("Via"));
            }
            (HostRef::Name(rest.get(..hlen).unwrap_or_default()), hlen)
        };
        let rest = trim_start_ws(rest.get(hlen..).unwrap_or_default());
        let (port, params) = match rest.strip_prefix(':') {
            Some(p) => {
                let p = trim_start_ws(p);
                let n = p.bytes().take_while(u8::is_ascii_digit).count();
                let port = parse_bounded(p.get(..n).unwrap_or_default(), u16::MAX.into())
                    .map_err(|_| via_err("bad port"))?;
                (Some(port as u16), p.get(n..).unwrap_or_default())
            }
            None => (None, rest),
        };
        for r in header_params(params) {
            let (n, v) = r.map_err(|e| e.in_header("Via"))?;
            // Dispatch on the length first: most parameters are compared with one name.
            let is = |x: &str| n.len() == x.len() && n.eq_ignore_ascii_case(x);
            let ok = if is("branch") {
                // An unquoted value is already a run of token characters and ':', so only
                // the ':' is left to refuse (no second class check over the whole branch).
                v.is_some_and(|v| {
                    v.as_bytes().first().is_some_and(|&b| is_token_char(b))
                        && find_any(v.as_bytes(), [b':']).is_none()
                })
            } else if is("received") {
                v.and_then(parse_received).is_some()
            } else if is("rport") {
                v.is_none_or(|p| p.parse::<u16>().is_ok())
            } else if is("ttl") {
                v.is_some_and(|t| parse_bounded(t, 255).is_ok())
            } else if is("maddr") {
                v.is_some_and(|h| HostRef::scan(h).is_ok())
            } else {
                true
            };
            if !ok {
                return Err(via_err("bad parameter"));
            }
        }
        Ok(ViaParts {
            transport,
            host,
            port,
            params,
        })
    }

    pub(crate) fn branch(&self) -> Option<&'a str> {
        header_params(self.params)
            .filter_map(Result::ok)
            .find(|(n, _)| n.eq_ignore_ascii_case("branch"))
            .and_then(|(_, v)| v)
    }

    pub(crate) fn to_owned(self) -> Via {
        Via {
            transport: ViaTransport::parse(self.transport),
            host: self.host.to_owned(),
            port: self.port,
            params: Params(
                header_params(self.params)
                    .filter_map(Result::ok)
                    .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
                    .collect(),
            ),
        }
    }
}

impl Via {
    /// Parse one Via value (not a comma-separated list).
    pub fn parse(s: &str) -> Result<Via, ParseError> {
        Ok(ViaParts::scan(s)?.to_owned())
    }

    /// A Via for a request we send: `SIP/2.0/<t> host[:port];branch=<branch>`.
    pub fn new(transport: Transport, host: Host, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::new();
        params.set("branch", Some(branch));
        Via {
            transport: ViaTransport::Known(transport),
            host,
            port,
            params,
        }
    }

    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// True when the branch carries the RFC 3261 magic cookie (§8.1.1.7).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with("z9hG4bK"))
    }

    /// The `received` address (RFC 3261 §18.2.1), brackets optional.
    pub fn received(&self) -> Option<IpAddr> {
        self.params.value("received").and_then(parse_received)
    }

    /// RFC 3581: `None` when absent, `Some(None)` for a bare `;rport`, else the port.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }

    pub fn maddr(&self) -> Option<&str> {
        self.params.value("maddr")
    }

    pub fn ttl(&self) -> Option<u8> {
        self.params.value("ttl").and_then(|v| v.parse().ok())
    }

    /// Set `received` (a server adds it when the source address differs, §18.2.1).
    pub fn set_received(&mut self, addr: IpAddr) {
        self.params.set("received", Some(&addr.to_string()));
    }

    /// Set `rport`, with a value (server side) or bare (client side request).
    pub fn set_rport(&mut self, port: Option<u16>) {
        self.params
            .set("rport", port.map(|p| p.to_string()).as_deref());
    }

    /// The sent-by port, defaulting by transport (RFC 3261 §18.2.2).
    pub fn port_or_default(&self) -> u16 {
        self.port
            .unwrap_or_else(|| self.transport.known().map_or(5060, Transport::default_port))
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

impl FromStr for Via {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Via::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_and_round_trips() {
        let s = "SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bK-524287-1---83f02aac;rport";
        let v = Via::parse(s).unwrap();
        assert_eq!(v.transport.known(), Some(Transport::Udp));
        assert_eq!(v.host, Host::V4([127, 0, 0, 1].into()));
        assert_eq!(v.port, Some(5072));
        assert_eq!(v.branch(), Some("z9hG4bK-524287-1---83f02aac"));
        assert!(v.has_rfc3261_branch());
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.to_string(), s);
    }

    #[test]
    fn whitespace_around_separators_and_unknown_transport() {
        let v = Via::parse("SIP / 2.0 / SCTP  host.example.com : 5070 ; branch = z9hG4bKx ; ttl=3")
            .unwrap();
        assert_eq!(v.transport, ViaTransport::Other("SCTP".into()));
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.branch(), Some("z9hG4bKx"));
        assert_eq!(v.ttl(), Some(3));
        assert_eq!(v.port_or_default(), 5070);
    }

    #[test]
    fn received_with_and_without_brackets_and_rport_value() {
        let ip: IpAddr = "2001:db8::9:255".parse().unwrap();
        let a =
            Via::parse("SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3;received=[2001:db8::9:255]")
                .unwrap();
        let b =
            Via::parse("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3")
                .unwrap();
        assert_eq!((a.received(), b.received()), (Some(ip), Some(ip)));
        assert_eq!(b.branch(), Some("z9hG4bKas3"));
        let mut c = Via::new(Transport::Tls, Host::Name("h".into()), None, "z9hG4bK1");
        c.set_received("192.0.2.1".parse().unwrap());
        c.set_rport(Some(4000));
        assert_eq!(c.rport(), Some(Some(4000)));
        assert_eq!(c.port_or_default(), 5061);
        assert_eq!(
            c.to_string(),
            "SIP/2.0/TLS h;branch=z9hG4bK1;received=192.0.2.1;rport=4000"
        );
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/3.0/UDP h",
            "SIP/2.0/UDP h:99999",
            "SIP/2.0/UDP h;received=host.name",
            "SIP/2.0/UDP h;branch",
            "SIP/2.0/UDP h;branch=z9hG4bK:1",
            "SIP/2.0/UDP h;branch=\"z9hG4bK1\"",
            "SIP/2.0/UDP h;branch=[::1]",
            "SIP/2.0/UDP h;ttl=300",
            "SIP/2.0/UDP h;rport=x",
            "SIP/2.0/UDP [::1",
            "SIP/2.0/ h",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad:?} should fail");
        }
    }
}
