//! SDP session descriptions (RFC 4566) for offer/answer (RFC 3264): parse, serialize and
//! the click-to-call's own inactive offer.
//!
//! Parsing is strict about the structure (`v=` first, then `o=` and `s=`; one `<type>=`
//! per line) and liberal about line ends (CRLF or bare LF). Serialization always writes
//! CRLF and the lines in the order of RFC 4566 §5.

use std::fmt;
use std::net::IpAddr;

/// Why an SDP body was refused, with the 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpError {
    pub line: usize,
    pub what: &'static str,
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SDP line {}: {}", self.line, self.what)
    }
}

impl std::error::Error for SdpError {}

/// `o=` (RFC 4566 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: u64,
    pub session_version: u64,
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// `c=` (RFC 4566 §5.7). `address` may carry `/ttl[/n]` for multicast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

impl Connection {
    /// A unicast `IN IP4`/`IN IP6` connection for `addr`.
    pub fn new(addr: IpAddr) -> Connection {
        Connection {
            net_type: "IN".into(),
            addr_type: if addr.is_ipv4() { "IP4" } else { "IP6" }.into(),
            address: addr.to_string(),
        }
    }

    /// The address without a multicast `/ttl` suffix, when it is an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.split('/').next()?.parse().ok()
    }

    /// RFC 3264 §8.4: `0.0.0.0` puts a stream on hold (old style).
    pub fn is_hold(&self) -> bool {
        self.ip().is_some_and(|a| a.is_unspecified())
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 4566 §5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    pub bwtype: String,
    pub bandwidth: u64,
}

/// `t=` with its `r=` lines (RFC 4566 §5.9, §5.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub start: u64,
    pub stop: u64,
    pub repeats: Vec<String>,
}

/// `a=name[:value]` (RFC 4566 §5.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

/// The media direction attributes (RFC 3264 §5.1, RFC 4566 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn from_attr(name: &str) -> Option<Direction> {
        Some(match name {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    /// The direction an answerer uses for an offer with this direction (RFC 3264 §6.1).
    pub fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

/// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]` (RFC 4566 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate: u32,
    pub channels: Option<u32>,
}

/// An `m=` section (RFC 4566 §5.14) with its own lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub media: String,
    pub port: u16,
    pub num_ports: Option<u32>,
    pub proto: String,
    pub formats: Vec<String>,
    pub info: Option<String>,
    pub connections: Vec<Connection>,
    pub bandwidths: Vec<Bandwidth>,
    pub key: Option<String>,
    pub attributes: Vec<Attribute>,
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub version: u32,
    pub origin: Origin,
    pub name: String,
    pub info: Option<String>,
    pub uri: Option<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub connection: Option<Connection>,
    pub bandwidths: Vec<Bandwidth>,
    pub times: Vec<Timing>,
    pub zone: Option<String>,
    pub key: Option<String>,
    pub attributes: Vec<Attribute>,
    pub media: Vec<Media>,
}

fn attr_value<'a>(attrs: &'a [Attribute], name: &str) -> impl Iterator<Item = Option<&'a str>> {
    attrs
        .iter()
        .filter(move |a| a.name == name)
        .map(|a| a.value.as_deref())
}

fn direction_of(attrs: &[Attribute]) -> Option<Direction> {
    attrs.iter().find_map(|a| Direction::from_attr(&a.name))
}

impl Media {
    /// The direction attribute of this media section, if any.
    pub fn direction(&self) -> Option<Direction> {
        direction_of(&self.attributes)
    }

    /// Replace any direction attribute by `d`.
    pub fn set_direction(&mut self, d: Direction) {
        self.attributes
            .retain(|a| Direction::from_attr(&a.name).is_none());
        self.attributes.push(Attribute {
            name: d.as_str().into(),
            value: None,
        });
    }

    /// The rtpmap of payload type `pt`, if one is given and well-formed.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        attr_value(&self.attributes, "rtpmap")
            .flatten()
            .find_map(|v| {
                let (p, rest) = v.split_once(' ')?;
                if p.parse::<u8>().ok()? != pt {
                    return None;
                }
                let mut it = rest.trim().split('/');
                let encoding = it.next()?.to_string();
                let clock_rate = it.next()?.parse().ok()?;
                let channels = it.next().and_then(|c| c.parse().ok());
                Some(RtpMap {
                    payload_type: pt,
                    encoding,
                    clock_rate,
                    channels,
                })
            })
    }

    /// The fmtp parameters of payload type `pt`.
    pub fn fmtp(&self, pt: &str) -> Option<&str> {
        attr_value(&self.attributes, "fmtp")
            .flatten()
            .find_map(|v| v.split_once(' ').filter(|(p, _)| *p == pt).map(|(_, f)| f))
    }
}

impl SessionDescription {
    /// The session-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        direction_of(&self.attributes)
    }

    /// The connection address that applies to media section `i` (its own `c=` first).
    pub fn media_connection(&self, i: usize) -> Option<&Connection> {
        self.media
            .get(i)?
            .connections
            .first()
            .or(self.connection.as_ref())
    }

    /// Parse an SDP body.
    pub fn parse(body: &[u8]) -> Result<SessionDescription, SdpError> {
        let text = std::str::from_utf8(body).map_err(|_| SdpError {
            line: 0,
            what: "not UTF-8",
        })?;
        let mut session: Option<SessionDescription> = None;
        let mut saw_v = false;
        let mut version = 0;
        for (idx, raw) in text.split('\n').enumerate() {
            let n = idx + 1;
            let err = |what| SdpError { line: n, what };
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.is_empty() {
                continue;
            }
            let (ty, value) = match line.as_bytes() {
                [t, b'=', ..] => (*t, &line[2..]),
                _ => return Err(err("expected <type>=<value>")),
            };
            if !saw_v {
                if ty != b'v' {
                    return Err(err("first line must be v="));
                }
                version = value.parse().map_err(|_| err("bad v="))?;
                saw_v = true;
                continue;
            }
            let Some(s) = session.as_mut() else {
                if ty != b'o' {
                    return Err(err("o= must follow v="));
                }
                session = Some(SessionDescription {
                    version,
                    origin: parse_origin(value).ok_or_else(|| err("bad o="))?,
                    name: String::new(),
                    info: None,
                    uri: None,
                    emails: Vec::new(),
                    phones: Vec::new(),
                    connection: None,
                    bandwidths: Vec::new(),
                    times: Vec::new(),
                    zone: None,
                    key: None,
                    attributes: Vec::new(),
                    media: Vec::new(),
                });
                continue;
            };
            if let Some(m) = s.media.last_mut() {
                match ty {
                    b'i' => m.info = Some(value.into()),
                    b'c' => m
                        .connections
                        .push(parse_connection(value).ok_or_else(|| err("bad c="))?),
                    b'b' => m
                        .bandwidths
                        .push(parse_bandwidth(value).ok_or_else(|| err("bad b="))?),
                    b'k' => m.key = Some(value.into()),
                    b'a' => m
                        .attributes
                        .push(parse_attribute(value).ok_or_else(|| err("bad a="))?),
                    b'm' => s
                        .media
                        .push(parse_media(value).ok_or_else(|| err("bad m="))?),
                    _ => return Err(err("line type not allowed in a media section")),
                }
                continue;
            }
            match ty {
                b's' => s.name = value.into(),
                b'i' => s.info = Some(value.into()),
                b'u' => s.uri = Some(value.into()),
                b'e' => s.emails.push(value.into()),
                b'p' => s.phones.push(value.into()),
                b'c' => s.connection = Some(parse_connection(value).ok_or_else(|| err("bad c="))?),
                b'b' => s
                    .bandwidths
                    .push(parse_bandwidth(value).ok_or_else(|| err("bad b="))?),
                b't' => {
                    let (a, b) = value.split_once(' ').ok_or_else(|| err("bad t="))?;
                    let (start, stop) = (a.parse(), b.trim().parse());
                    match (start, stop) {
                        (Ok(start), Ok(stop)) => s.times.push(Timing {
                            start,
                            stop,
                            repeats: Vec::new(),
                        }),
                        _ => return Err(err("bad t=")),
                    }
                }
                b'r' => s
                    .times
                    .last_mut()
                    .ok_or_else(|| err("r= before t="))?
                    .repeats
                    .push(value.into()),
                b'z' => s.zone = Some(value.into()),
                b'k' => s.key = Some(value.into()),
                b'a' => s
                    .attributes
                    .push(parse_attribute(value).ok_or_else(|| err("bad a="))?),
                b'm' => s
                    .media
                    .push(parse_media(value).ok_or_else(|| err("bad m="))?),
                _ => return Err(err("unknown line type")),
            }
        }
        let s = session.ok_or(SdpError {
            line: 0,
            what: "missing v= or o=",
        })?;
        Ok(s)
    }

    /// The wire form (CRLF line ends).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

fn parse_origin(v: &str) -> Option<Origin> {
    let f: Vec<&str> = v.split(' ').collect();
    let [user, id, ver, nt, at, addr] = f.as_slice() else {
        return None;
    };
    if user.is_empty() || addr.is_empty() {
        return None;
    }
    Some(Origin {
        username: (*user).into(),
        session_id: id.parse().ok()?,
        session_version: ver.parse().ok()?,
        net_type: (*nt).into(),
        addr_type: (*at).into(),
        address: (*addr).into(),
    })
}

fn parse_connection(v: &str) -> Option<Connection> {
    let f: Vec<&str> = v.split(' ').collect();
    let [nt, at, addr] = f.as_slice() else {
        return None;
    };
    if nt.is_empty() || at.is_empty() || addr.is_empty() {
        return None;
    }
    Some(Connection {
        net_type: (*nt).into(),
        addr_type: (*at).into(),
        address: (*addr).into(),
    })
}

fn parse_bandwidth(v: &str) -> Option<Bandwidth> {
    let (t, b) = v.split_once(':')?;
    (!t.is_empty()).then_some(())?;
    Some(Bandwidth {
        bwtype: t.into(),
        bandwidth: b.parse().ok()?,
    })
}

fn parse_attribute(v: &str) -> Option<Attribute> {
    let (name, value) = match v.split_once(':') {
        Some((n, val)) => (n, Some(val.to_string())),
        None => (v, None),
    };
    (!name.is_empty() && !name.contains(' ')).then(|| Attribute {
        name: name.into(),
        value,
    })
}

fn parse_media(v: &str) -> Option<Media> {
    let mut f = v.split(' ');
    let media = f.next().filter(|m| !m.is_empty())?.to_string();
    let ports = f.next()?;
    let (port, num_ports) = match ports.split_once('/') {
        Some((p, n)) => (p.parse().ok()?, Some(n.parse().ok()?)),
        None => (ports.parse().ok()?, None),
    };
    let proto = f.next().filter(|p| !p.is_empty())?.to_string();
    let formats: Vec<String> = f.filter(|x| !x.is_empty()).map(str::to_string).collect();
    Some(Media {
        media,
        port,
        num_ports,
        proto,
        formats,
        info: None,
        connections: Vec::new(),
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
    })
}

struct Lines<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl Lines<'_, '_> {
    fn line(&mut self, ty: char, v: impl fmt::Display) -> fmt::Result {
        write!(self.0, "{ty}={v}\r\n")
    }
    fn conn(&mut self, c: &Connection) -> fmt::Result {
        self.line(
            'c',
            format_args!("{} {} {}", c.net_type, c.addr_type, c.address),
        )
    }
    fn bw(&mut self, b: &Bandwidth) -> fmt::Result {
        self.line('b', format_args!("{}:{}", b.bwtype, b.bandwidth))
    }
    fn attr(&mut self, a: &Attribute) -> fmt::Result {
        match &a.value {
            Some(v) => self.line('a', format_args!("{}:{v}", a.name)),
            None => self.line('a', &a.name),
        }
    }
}

impl fmt::Display for SessionDescription {
    /// RFC 4566 §5 order: v o s i u e p c b t r z k a, then each m with i c b k a.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut w = Lines(f);
        w.line('v', self.version)?;
        let o = &self.origin;
        w.line(
            'o',
            format_args!(
                "{} {} {} {} {} {}",
                o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
            ),
        )?;
        w.line('s', &self.name)?;
        if let Some(i) = &self.info {
            w.line('i', i)?;
        }
        if let Some(u) = &self.uri {
            w.line('u', u)?;
        }
        for e in &self.emails {
            w.line('e', e)?;
        }
        for p in &self.phones {
            w.line('p', p)?;
        }
        if let Some(c) = &self.connection {
            w.conn(c)?;
        }
        for b in &self.bandwidths {
            w.bw(b)?;
        }
        for t in &self.times {
            w.line('t', format_args!("{} {}", t.start, t.stop))?;
            for r in &t.repeats {
                w.line('r', r)?;
            }
        }
        if let Some(z) = &self.zone {
            w.line('z', z)?;
        }
        if let Some(k) = &self.key {
            w.line('k', k)?;
        }
        for a in &self.attributes {
            w.attr(a)?;
        }
        for m in &self.media {
            let ports = match m.num_ports {
                Some(n) => format!("{}/{n}", m.port),
                None => m.port.to_string(),
            };
            let mut line = format!("{} {ports} {}", m.media, m.proto);
            for fmt_ in &m.formats {
                line.push(' ');
                line.push_str(fmt_);
            }
            w.line('m', line)?;
            if let Some(i) = &m.info {
                w.line('i', i)?;
            }
            for c in &m.connections {
                w.conn(c)?;
            }
            for b in &m.bandwidths {
                w.bw(b)?;
            }
            if let Some(k) = &m.key {
                w.line('k', k)?;
            }
            for a in &m.attributes {
                w.attr(a)?;
            }
        }
        Ok(())
    }
}

/// An audio codec the initiator's inactive offer may list (`OfferCodecs`): the static
/// payload types of RFC 3551 §6, and telephone-event (RFC 4733) on dynamic type 101.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Pcmu,
    Gsm,
    G723,
    Pcma,
    G722,
    G729,
    TelephoneEvent,
}

impl Codec {
    /// Every codec, in the order the names are looked up.
    pub const ALL: [Codec; 7] = [
        Codec::Pcmu,
        Codec::Gsm,
        Codec::G723,
        Codec::Pcma,
        Codec::G722,
        Codec::G729,
        Codec::TelephoneEvent,
    ];

    /// `OfferCodecs`' default: what nearly every phone and carrier takes.
    pub const DEFAULT: [Codec; 4] = [Codec::Pcmu, Codec::Pcma, Codec::G722, Codec::TelephoneEvent];

    /// The encoding name of its rtpmap (RFC 3551 §6, RFC 4733 §7).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Gsm => "GSM",
            Codec::G723 => "G723",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
            Codec::G729 => "G729",
            Codec::TelephoneEvent => "telephone-event",
        }
    }

    /// The codec of an encoding name, ignoring case.
    pub fn from_name(name: &str) -> Option<Codec> {
        Codec::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// Its RTP payload type: static ones from RFC 3551 §6, 101 for telephone-event.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Gsm => 3,
            Codec::G723 => 4,
            Codec::Pcma => 8,
            Codec::G722 => 9,
            Codec::G729 => 18,
            Codec::TelephoneEvent => 101,
        }
    }

    /// Its `a=rtpmap` value (G.722's RTP clock is 8000 though it samples at 16 kHz, RFC
    /// 3551 §4.5.2).
    fn rtpmap(self) -> String {
        format!("{} {}/8000", self.payload_type(), self.name())
    }
}

/// The offer the click-to-call server sends to the initiator: origin user `clicktocall`
/// with the session id as id and version, our address in o= and c=, one inactive audio
/// stream on 8000 listing `codecs` (RFC 3264 §5.1: an inactive offer still lists the
/// formats the answerer may pick, so a phone without PCMU does not answer 488). With PCMU
/// alone it is byte for byte the C++ original's (reference trace xml-refer-ok).
pub fn inactive_offer(addr: IpAddr, session_id: u64, codecs: &[Codec]) -> SessionDescription {
    let conn = Connection::new(addr);
    let mut attributes: Vec<Attribute> = codecs
        .iter()
        .map(|c| Attribute {
            name: "rtpmap".into(),
            value: Some(c.rtpmap()),
        })
        .collect();
    if codecs.contains(&Codec::TelephoneEvent) {
        // RFC 4733 §7.1.1: the DTMF events 0-15 (digits, *, #, A-D).
        attributes.push(Attribute {
            name: "fmtp".into(),
            value: Some("101 0-15".into()),
        });
    }
    attributes.push(Attribute {
        name: "inactive".into(),
        value: None,
    });
    SessionDescription {
        version: 0,
        origin: Origin {
            username: "clicktocall".into(),
            session_id,
            session_version: session_id,
            net_type: conn.net_type.clone(),
            addr_type: conn.addr_type.clone(),
            address: conn.address.clone(),
        },
        name: "-".into(),
        info: None,
        uri: None,
        emails: Vec::new(),
        phones: Vec::new(),
        connection: Some(conn),
        bandwidths: Vec::new(),
        times: vec![Timing {
            start: 0,
            stop: 0,
            repeats: Vec::new(),
        }],
        zone: None,
        key: None,
        attributes: Vec::new(),
        media: vec![Media {
            media: "audio".into(),
            port: 8000,
            num_ports: None,
            proto: "RTP/AVP".into(),
            formats: codecs
                .iter()
                .map(|c| c.payload_type().to_string())
                .collect(),
            info: None,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            key: None,
            attributes,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: &str = "v=0\r\no=clicktocall 1004902325 1004902325 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 8000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=inactive\r\n";

    #[test]
    fn inactive_offer_matches_the_reference_trace_byte_for_byte() {
        let s = inactive_offer("127.0.0.1".parse().unwrap(), 1004902325, &[Codec::Pcmu]);
        assert_eq!(s.to_string(), REFERENCE);
        assert_eq!(s.to_bytes().len(), 149);
        let v6 = inactive_offer("::1".parse().unwrap(), 7, &[Codec::Pcmu]).to_string();
        assert!(v6.contains("o=clicktocall 7 7 IN IP6 ::1\r\n") && v6.contains("c=IN IP6 ::1\r\n"));
    }

    /// `OfferCodecs`' default: every codec listed in order, with its rtpmap, and the
    /// telephone-event fmtp (RFC 4733 §7.1.1).
    #[test]
    fn inactive_offer_lists_the_offer_codecs() {
        let s = inactive_offer("127.0.0.1".parse().unwrap(), 5, &Codec::DEFAULT).to_string();
        assert!(
            s.ends_with(
                "m=audio 8000 RTP/AVP 0 8 9 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=inactive\r\n"
            ),
            "{s}"
        );
        let pcma = inactive_offer("127.0.0.1".parse().unwrap(), 5, &[Codec::Pcma]).to_string();
        assert!(pcma.ends_with("m=audio 8000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=inactive\r\n"));
        assert_eq!(Codec::from_name("pcma"), Some(Codec::Pcma));
        assert_eq!(
            Codec::from_name("Telephone-Event"),
            Some(Codec::TelephoneEvent)
        );
        assert_eq!(Codec::from_name("opus"), None);
    }

    #[test]
    fn parses_and_round_trips() {
        let s = SessionDescription::parse(REFERENCE.as_bytes()).unwrap();
        assert_eq!(s.origin.session_id, 1004902325);
        assert_eq!(s.media[0].direction(), Some(Direction::Inactive));
        assert_eq!(s.media[0].rtpmap(0).unwrap().encoding, "PCMU");
        assert_eq!(
            s.media_connection(0).unwrap().ip(),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(s.to_string(), REFERENCE);
        // Bare LF accepted, CRLF written.
        let lf = REFERENCE.replace("\r\n", "\n");
        assert_eq!(
            SessionDescription::parse(lf.as_bytes())
                .unwrap()
                .to_string(),
            REFERENCE
        );
    }

    #[test]
    fn a_richer_description() {
        let text = "v=0\r\no=- 2890844526 2890842807 IN IP6 2001:db8::1\r\ns=Call\r\ni=info\r\nc=IN IP6 2001:db8::2\r\nb=AS:64\r\nt=0 0\r\nr=7d 1h 0 25h\r\na=sendrecv\r\nm=audio 49170/2 RTP/AVP 0 8 101\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000/1\r\na=fmtp:101 0-15\r\na=recvonly\r\nm=video 0 RTP/AVP 31\r\n";
        let s = SessionDescription::parse(text.as_bytes()).unwrap();
        assert_eq!(s.direction(), Some(Direction::SendRecv));
        let m = &s.media[0];
        assert_eq!((m.port, m.num_ports), (49170, Some(2)));
        assert_eq!(m.formats, ["0", "8", "101"]);
        assert!(s.media_connection(0).unwrap().is_hold());
        assert_eq!(s.media_connection(1).unwrap().address, "2001:db8::2");
        assert_eq!(m.rtpmap(101).unwrap().channels, Some(1));
        assert_eq!(m.fmtp("101"), Some("0-15"));
        assert_eq!(
            m.direction().map(Direction::reversed),
            Some(Direction::SendOnly)
        );
        assert_eq!(s.to_string(), text);
        let mut m2 = m.clone();
        m2.set_direction(Direction::Inactive);
        assert_eq!(m2.direction(), Some(Direction::Inactive));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "o=x 1 1 IN IP4 h\r\n",
            "v=0\r\ns=-\r\n",
            "v=0\r\no=x 1 IN IP4 h\r\n",
            "v=0\r\no=x 1 1 IN IP4 h\r\nc=IN IP4\r\n",
            "v=0\r\no=x 1 1 IN IP4 h\r\nm=audio x RTP/AVP 0\r\n",
            "v=0\r\no=x 1 1 IN IP4 h\r\nq=1\r\n",
            "v=0\r\no=x 1 1 IN IP4 h\r\nnonsense\r\n",
            "v=0\r\no=x 1 1 IN IP4 h\r\nt=0\r\n",
            "v=0\r\no=x 99999999999999999999 1 IN IP4 h\r\n",
        ] {
            assert!(
                SessionDescription::parse(bad.as_bytes()).is_err(),
                "{bad:?}"
            );
        }
        assert!(SessionDescription::parse(b"v=0\r\no=x 1 1 IN IP4 h\xff\r\n").is_err());
    }
}
