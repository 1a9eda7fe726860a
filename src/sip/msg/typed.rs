//! Typed accessors on [`Message`] for the headers the stack uses. Each parses on demand
//! from the stored value and reports errors naming the header.

use super::auth::Auth;
use super::error::{ParseError, ParseErrorKind};
use super::headers::{
    Contacts, Event, MediaType, RAck, Reason, Replaces, RetryAfter, SessionExpires,
    SubscriptionState, Warning,
};
use super::message::{Message, parse_content_length, scan_cseq};
use super::method::Method;
use super::name_addr::NameAddr;
use super::scan::{parse_bounded, trim_ws};
use super::via::Via;

impl Message {
    /// The value of a header that must appear exactly once.
    fn single(&self, name: &'static str) -> Result<&str, ParseError> {
        let mut it = self.raw_values(name);
        let v = it.next().ok_or_else(|| ParseError::missing(name))?;
        if it.next().is_some() {
            return Err(ParseError::new(ParseErrorKind::Duplicate, "").in_header(name));
        }
        Ok(v)
    }

    /// The topmost Via value (RFC 3261 §8.2.6.2, §18.2.1).
    pub fn top_via(&self) -> Result<Via, ParseError> {
        let v = self
            .header("Via")
            .ok_or_else(|| ParseError::missing("Via"))?;
        Via::parse(v)
    }

    /// The branch of the top Via, for transaction matching (RFC 3261 §17.2.3).
    pub fn top_branch(&self) -> Option<&str> {
        let v = self.header("Via")?;
        super::via::ViaParts::scan(v).ok()?.branch()
    }

    /// Every Via value, top first.
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        self.header_values("Via").map(Via::parse).collect()
    }

    fn name_addr(&self, name: &'static str) -> Result<NameAddr, ParseError> {
        NameAddr::parse(self.single(name)?).map_err(|e| e.in_header(name))
    }

    pub fn from(&self) -> Result<NameAddr, ParseError> {
        self.name_addr("From")
    }

    pub fn to(&self) -> Result<NameAddr, ParseError> {
        self.name_addr("To")
    }

    /// The From tag without allocating a NameAddr.
    pub fn from_tag(&self) -> Option<&str> {
        super::name_addr::NameAddrParts::scan(self.header("From")?)
            .ok()?
            .param("tag")?
    }

    /// The To tag without allocating a NameAddr.
    pub fn to_tag(&self) -> Option<&str> {
        super::name_addr::NameAddrParts::scan(self.header("To")?)
            .ok()?
            .param("tag")?
    }

    pub fn call_id(&self) -> Result<&str, ParseError> {
        self.single("Call-ID")
    }

    /// CSeq number (below 2^31) and method.
    pub fn cseq(&self) -> Result<(u32, Method), ParseError> {
        let (n, m) = scan_cseq(self.single("CSeq")?)?;
        Ok((n, Method::parse(m).map_err(|e| e.in_header("CSeq"))?))
    }

    /// Max-Forwards (0..=255), `None` when absent.
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        match self.raw_values("Max-Forwards").next() {
            None => Ok(None),
            Some(v) => Ok(Some(
                parse_bounded(v, 255).map_err(|e| e.in_header("Max-Forwards"))? as u8,
            )),
        }
    }

    /// Contact values: `*` or a list of name-addrs (RFC 3261 §20.10).
    pub fn contacts(&self) -> Result<Contacts, ParseError> {
        if self.raw_values("Contact").any(|v| trim_ws(v) == "*") {
            return Ok(Contacts::Star);
        }
        self.name_addrs("Contact").map(Contacts::List)
    }

    /// Every value of a name-addr list header (Route, Record-Route, Contact...).
    pub fn name_addrs(&self, name: &'static str) -> Result<Vec<NameAddr>, ParseError> {
        self.header_values(name)
            .map(|v| NameAddr::parse(v).map_err(|e| e.in_header(name)))
            .collect()
    }

    pub fn record_routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.name_addrs("Record-Route")
    }

    pub fn routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.name_addrs("Route")
    }

    /// Content-Type with its parameters, `None` when absent.
    pub fn content_type(&self) -> Result<Option<MediaType>, ParseError> {
        match self.raw_values("Content-Type").next() {
            None => Ok(None),
            Some(v) => MediaType::parse(v)
                .map(Some)
                .map_err(|e| e.in_header("Content-Type")),
        }
    }

    /// The Content-Length header as received, `None` when absent (serialization always
    /// writes the real body length).
    pub fn content_length(&self) -> Result<Option<usize>, ParseError> {
        self.raw_values("Content-Length")
            .next()
            .map(parse_content_length)
            .transpose()
    }

    /// Expires in seconds (RFC 3261 §20.19), `None` when absent.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.raw_values("Expires")
            .next()
            .map(|v| {
                parse_bounded(v, u32::MAX.into())
                    .map(|n| n as u32)
                    .map_err(|e| e.in_header("Expires"))
            })
            .transpose()
    }

    /// Option tags of a list header such as Require, Supported, Unsupported,
    /// Proxy-Require or Allow (methods), in order.
    pub fn tokens<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.header_values(name)
    }

    /// Whether a list header holds `tag` (case-insensitive), e.g. Supported: timer.
    pub fn has_token(&self, name: &str, tag: &str) -> bool {
        self.header_values(name)
            .any(|t| t.eq_ignore_ascii_case(tag))
    }

    /// Parse the first line of an optional header with `parse`, naming it in errors.
    fn optional<T>(
        &self,
        name: &'static str,
        parse: impl Fn(&str) -> Result<T, ParseError>,
    ) -> Result<Option<T>, ParseError> {
        self.raw_values(name)
            .next()
            .map(|v| parse(v).map_err(|e| e.in_header(name)))
            .transpose()
    }

    /// Every value of a list header parsed with `parse`.
    fn all<T>(
        &self,
        name: &'static str,
        parse: impl Fn(&str) -> Result<T, ParseError>,
    ) -> Result<Vec<T>, ParseError> {
        self.header_values(name)
            .map(|v| parse(v).map_err(|e| e.in_header(name)))
            .collect()
    }

    /// Every line of a header whose values hold commas (the authentication headers).
    fn lines<T>(
        &self,
        name: &'static str,
        parse: impl Fn(&str) -> Result<T, ParseError>,
    ) -> Result<Vec<T>, ParseError> {
        self.raw_values(name)
            .map(|v| parse(v).map_err(|e| e.in_header(name)))
            .collect()
    }

    /// Event (RFC 6665 §8.2.1; compact `o`).
    pub fn event(&self) -> Result<Option<Event>, ParseError> {
        self.optional("Event", Event::parse)
    }

    /// Subscription-State (RFC 6665 §8.2.3).
    pub fn subscription_state(&self) -> Result<Option<SubscriptionState>, ParseError> {
        self.optional("Subscription-State", SubscriptionState::parse)
    }

    /// Refer-To (RFC 3515 §2.1; compact `r`): exactly one, may be a tel: URI and may carry
    /// `?Replaces=` as a URI header.
    pub fn refer_to(&self) -> Result<NameAddr, ParseError> {
        self.name_addr("Refer-To")
    }

    /// Referred-By (RFC 3892; compact `b`).
    pub fn referred_by(&self) -> Result<Option<NameAddr>, ParseError> {
        self.optional("Referred-By", NameAddr::parse)
    }

    /// Replaces (RFC 3891).
    pub fn replaces(&self) -> Result<Option<Replaces>, ParseError> {
        self.optional("Replaces", Replaces::parse)
    }

    /// RSeq (RFC 3262 §7.1), 1..2^31-1.
    pub fn rseq(&self) -> Result<Option<u32>, ParseError> {
        self.optional("RSeq", |v| {
            parse_bounded(trim_ws(v), u32::MAX.into()).map(|n| n as u32)
        })
    }

    /// RAck (RFC 3262 §7.2).
    pub fn rack(&self) -> Result<Option<RAck>, ParseError> {
        self.optional("RAck", RAck::parse)
    }

    /// Session-Expires (RFC 4028 §4; compact `x`).
    pub fn session_expires(&self) -> Result<Option<SessionExpires>, ParseError> {
        self.optional("Session-Expires", SessionExpires::parse)
    }

    /// Min-SE in seconds (RFC 4028 §5), parameters ignored.
    pub fn min_se(&self) -> Result<Option<u32>, ParseError> {
        self.optional("Min-SE", |v| SessionExpires::parse(v).map(|s| s.delta))
    }

    /// Every WWW-Authenticate challenge (one per line).
    pub fn www_authenticate(&self) -> Result<Vec<Auth>, ParseError> {
        self.lines("WWW-Authenticate", Auth::parse)
    }

    /// Every Proxy-Authenticate challenge (one per line).
    pub fn proxy_authenticate(&self) -> Result<Vec<Auth>, ParseError> {
        self.lines("Proxy-Authenticate", Auth::parse)
    }

    /// Every Authorization credentials line.
    pub fn authorization(&self) -> Result<Vec<Auth>, ParseError> {
        self.lines("Authorization", Auth::parse)
    }

    /// Every Proxy-Authorization credentials line.
    pub fn proxy_authorization(&self) -> Result<Vec<Auth>, ParseError> {
        self.lines("Proxy-Authorization", Auth::parse)
    }

    /// Warning values (RFC 3261 §20.43).
    pub fn warnings(&self) -> Result<Vec<Warning>, ParseError> {
        self.all("Warning", Warning::parse)
    }

    /// Retry-After (RFC 3261 §20.33).
    pub fn retry_after(&self) -> Result<Option<RetryAfter>, ParseError> {
        self.optional("Retry-After", RetryAfter::parse)
    }

    /// Reason values (RFC 3326).
    pub fn reasons(&self) -> Result<Vec<Reason>, ParseError> {
        self.all("Reason", Reason::parse)
    }

    /// User-Agent, verbatim.
    pub fn user_agent(&self) -> Option<&str> {
        self.header("User-Agent")
    }

    /// Server, verbatim.
    pub fn server(&self) -> Option<&str> {
        self.header("Server")
    }
}
