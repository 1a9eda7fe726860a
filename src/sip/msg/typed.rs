//! Typed accessors on [`Message`] for the headers the stack uses. Each parses on demand
//! from the stored value and reports errors naming the header.

use super::error::{ParseError, ParseErrorKind};
use super::headers::{Contacts, MediaType};
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
}
