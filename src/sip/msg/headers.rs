//! Typed header values that are more than a name-addr or a number: Contact lists, media
//! types, events and subscriptions, Replaces, RAck, session timers, Warning, Retry-After
//! and Reason.

use std::fmt;

use super::error::{ParseError, ParseErrorKind};
use super::method::Method;
use super::name_addr::NameAddr;
use super::params::Params;
use super::scan::{
    header_params, is_token, is_token_char, is_word_char, parse_bounded, quoted_end, trim_ws,
    unquote,
};

/// Split `value;params` into the main part (trimmed) and owned parameters.
fn main_and_params(s: &str) -> Result<(&str, Params), ParseError> {
    let s = trim_ws(s);
    let end = s.find(';').unwrap_or(s.len());
    let (main, rest) = s.split_at(end);
    let params = header_params(rest)
        .map(|r| r.map(|(n, v)| (n.to_string(), v.map(str::to_string))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((trim_ws(main), Params(params)))
}

fn delta_seconds(s: &str) -> Result<u32, ParseError> {
    parse_bounded(trim_ws(s), u32::MAX.into()).map(|n| n as u32)
}

/// Event (RFC 6665 §8.2.1): package name and parameters such as `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub package: String,
    pub params: Params,
}

impl Event {
    pub fn parse(s: &str) -> Result<Event, ParseError> {
        let (package, params) = main_and_params(s)?;
        if !is_token(package) {
            return Err(ParseError::syntax("bad event type"));
        }
        Ok(Event {
            package: package.to_string(),
            params,
        })
    }

    pub fn id(&self) -> Option<&str> {
        self.params.value("id")
    }

    /// Event packages compare case-insensitively, ids exactly (RFC 6665 §8.2.1).
    pub fn matches(&self, other: &Event) -> bool {
        self.package.eq_ignore_ascii_case(&other.package) && self.id() == other.id()
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.package, self.params)
    }
}

/// Subscription-State (RFC 6665 §8.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    /// `active`, `pending`, `terminated` or an extension, lower-cased.
    pub state: String,
    pub reason: Option<String>,
    pub expires: Option<u32>,
    pub retry_after: Option<u32>,
    pub params: Params,
}

impl SubscriptionState {
    pub fn parse(s: &str) -> Result<SubscriptionState, ParseError> {
        let (state, params) = main_and_params(s)?;
        if !is_token(state) {
            return Err(ParseError::syntax("bad substate-value"));
        }
        let num = |n: &str| params.value(n).map(delta_seconds).transpose();
        Ok(SubscriptionState {
            state: state.to_ascii_lowercase(),
            reason: params.value("reason").map(str::to_ascii_lowercase),
            expires: num("expires")?,
            retry_after: num("retry-after")?,
            params,
        })
    }

    pub fn is_terminated(&self) -> bool {
        self.state == "terminated"
    }
}

/// Replaces (RFC 3891 §6.1): the dialog to replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    pub call_id: String,
    pub to_tag: String,
    pub from_tag: String,
    pub early_only: bool,
    pub params: Params,
}

impl Replaces {
    pub fn parse(s: &str) -> Result<Replaces, ParseError> {
        let (call_id, params) = main_and_params(s)?;
        if call_id.is_empty() || !call_id.bytes().all(|b| is_word_char(b) || b == b'@') {
            return Err(ParseError::syntax("bad Call-ID"));
        }
        let tag = |n: &str| {
            params
                .value(n)
                .map(str::to_string)
                .ok_or(ParseError::syntax("missing to-tag or from-tag"))
        };
        Ok(Replaces {
            call_id: call_id.to_string(),
            to_tag: tag("to-tag")?,
            from_tag: tag("from-tag")?,
            early_only: params.has("early-only"),
            params,
        })
    }
}

/// RAck (RFC 3262 §7.2): RSeq, CSeq number and method of the acknowledged response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RAck {
    pub rseq: u32,
    pub cseq: u32,
    pub method: Method,
}

impl RAck {
    pub fn parse(s: &str) -> Result<RAck, ParseError> {
        let mut it = s.split([' ', '\t']).filter(|x| !x.is_empty());
        let (Some(r), Some(c), Some(m), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(ParseError::syntax("expected RSeq CSeq Method"));
        };
        Ok(RAck {
            rseq: delta_seconds(r)?,
            cseq: delta_seconds(c)?,
            method: Method::parse(m)?,
        })
    }
}

impl fmt::Display for RAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.rseq, self.cseq, self.method)
    }
}

/// Who refreshes a session timer (RFC 4028 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    Uac,
    Uas,
}

/// Session-Expires (RFC 4028 §4): interval and optional refresher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionExpires {
    pub delta: u32,
    pub refresher: Option<Refresher>,
    pub params: Params,
}

impl SessionExpires {
    pub fn parse(s: &str) -> Result<SessionExpires, ParseError> {
        let (delta, params) = main_and_params(s)?;
        let refresher = match params.value("refresher") {
            None => None,
            Some(r) if r.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
            Some(r) if r.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
            Some(_) => return Err(ParseError::syntax("refresher must be uac or uas")),
        };
        Ok(SessionExpires {
            delta: delta_seconds(delta)?,
            refresher,
            params,
        })
    }
}

impl fmt::Display for SessionExpires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.delta)?;
        let mut params = self.params.clone();
        match self.refresher {
            Some(Refresher::Uac) => params.set("refresher", Some("uac")),
            Some(Refresher::Uas) => params.set("refresher", Some("uas")),
            None => params.remove("refresher"),
        }
        write!(f, "{params}")
    }
}

/// One Warning value (RFC 3261 §20.43).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub code: u16,
    pub agent: String,
    /// The text without quotes.
    pub text: String,
}

impl Warning {
    pub fn parse(s: &str) -> Result<Warning, ParseError> {
        let s = trim_ws(s);
        let bad = || ParseError::syntax("expected code agent \"text\"");
        let (code, rest) = s.split_once(' ').ok_or_else(bad)?;
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new(
                ParseErrorKind::Range,
                "warn-code is three digits",
            ));
        }
        let (agent, text) = trim_ws(rest).split_once(' ').ok_or_else(bad)?;
        let text = trim_ws(text);
        if agent.is_empty() || !text.starts_with('"') || quoted_end(text)? != text.len() {
            return Err(bad());
        }
        Ok(Warning {
            code: code.parse().map_err(|_| bad())?,
            agent: agent.to_string(),
            text: unquote(text),
        })
    }
}

/// Retry-After (RFC 3261 §20.33): seconds, optional comment and duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryAfter {
    pub seconds: u32,
    pub comment: Option<String>,
    pub duration: Option<u32>,
}

impl RetryAfter {
    pub fn parse(s: &str) -> Result<RetryAfter, ParseError> {
        let s = trim_ws(s);
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        let (digits, rest) = s.split_at(n);
        let seconds = delta_seconds(digits)?;
        let rest = trim_ws(rest);
        let (comment, rest) = if let Some(c) = rest.strip_prefix('(') {
            // Comments nest (RFC 3261 §25.1); find the matching ')'.
            let mut depth = 1usize;
            let mut end = None;
            let mut chars = c.char_indices();
            while let Some((i, ch)) = chars.next() {
                match ch {
                    '\\' => {
                        chars.next();
                    }
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let end = end.ok_or(ParseError::syntax("unterminated comment"))?;
            (Some(c[..end].to_string()), &c[end + 1..])
        } else {
            (None, rest)
        };
        let (_, params) = main_and_params(rest)?;
        Ok(RetryAfter {
            seconds,
            comment,
            duration: params.value("duration").map(delta_seconds).transpose()?,
        })
    }
}

/// One Reason value (RFC 3326): protocol, cause and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub protocol: String,
    pub cause: Option<u16>,
    pub text: Option<String>,
    pub params: Params,
}

impl Reason {
    pub fn parse(s: &str) -> Result<Reason, ParseError> {
        let (protocol, params) = main_and_params(s)?;
        if !is_token(protocol) {
            return Err(ParseError::syntax("bad protocol"));
        }
        let cause = match params.value("cause") {
            None => None,
            Some(c) => Some(
                u16::try_from(parse_bounded(c, u16::MAX.into())?)
                    .map_err(|_| ParseError::syntax("bad cause"))?,
            ),
        };
        let text = params.value("text").map(|t| {
            if t.starts_with('"') {
                unquote(t)
            } else {
                t.to_string()
            }
        });
        Ok(Reason {
            protocol: protocol.to_string(),
            cause,
            text,
            params,
        })
    }
}

/// A header value that is a plain option-tag or method token (Require, Supported, Allow...).
pub fn is_option_tag(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// The Contact header of a message (RFC 3261 §20.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contacts {
    /// `Contact: *` (REGISTER removing all bindings).
    Star,
    List(Vec<NameAddr>),
}

impl Contacts {
    /// The first contact, if any (the remote target of a dialog, RFC 3261 §12.1).
    pub fn first(&self) -> Option<&NameAddr> {
        match self {
            Contacts::Star => None,
            Contacts::List(v) => v.first(),
        }
    }
}

/// A media type with parameters, e.g. `application/sdp` or
/// `multipart/mixed;boundary=x` (RFC 3261 §20.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    pub mtype: String,
    pub subtype: String,
    pub params: Params,
}

impl MediaType {
    pub fn parse(s: &str) -> Result<MediaType, ParseError> {
        let s = trim_ws(s);
        let end = s.find(';').unwrap_or(s.len());
        let (ty, params) = s.split_at(end);
        let (t, st) = ty
            .split_once('/')
            .ok_or_else(|| ParseError::syntax("expected type/subtype"))?;
        let (t, st) = (trim_ws(t), trim_ws(st));
        if !is_token(t) || !is_token(st) {
            return Err(ParseError::syntax("expected type/subtype"));
        }
        let params = header_params(params)
            .map(|r| r.map(|(n, v)| (n.to_string(), v.map(str::to_string))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MediaType {
            mtype: t.to_string(),
            subtype: st.to_string(),
            params: Params(params),
        })
    }

    /// Case-insensitive comparison of type and subtype, e.g. `is("application", "sdp")`.
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.mtype.eq_ignore_ascii_case(mtype) && self.subtype.eq_ignore_ascii_case(subtype)
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.mtype, self.subtype, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_and_subscription_state() {
        let e = Event::parse("refer;id=93809824").unwrap();
        assert_eq!((e.package.as_str(), e.id()), ("refer", Some("93809824")));
        assert!(e.matches(&Event::parse("REFER ; id=93809824").unwrap()));
        assert!(!e.matches(&Event::parse("refer").unwrap()));
        assert_eq!(e.to_string(), "refer;id=93809824");
        let s = SubscriptionState::parse("active;expires=60").unwrap();
        assert_eq!((s.state.as_str(), s.expires), ("active", Some(60)));
        let t = SubscriptionState::parse("Terminated;reason=noresource;retry-after=5").unwrap();
        assert!(t.is_terminated());
        assert_eq!(
            (t.reason.as_deref(), t.retry_after),
            (Some("noresource"), Some(5))
        );
        assert!(SubscriptionState::parse("active;expires=x").is_err());
        assert!(Event::parse("").is_err());
    }

    #[test]
    fn replaces_rack_and_session_timers() {
        let r =
            Replaces::parse("98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff;early-only")
                .unwrap();
        assert_eq!(
            (r.call_id.as_str(), r.to_tag.as_str(), r.from_tag.as_str()),
            ("98732@sip.example.com", "ff87ff", "r33th4x0r")
        );
        assert!(r.early_only);
        assert!(Replaces::parse("abc;to-tag=1").is_err());
        let a = RAck::parse("776656 1 INVITE").unwrap();
        assert_eq!((a.rseq, a.cseq, &a.method), (776656, 1, &Method::Invite));
        assert_eq!(a.to_string(), "776656 1 INVITE");
        assert!(RAck::parse("1 INVITE").is_err());
        let se = SessionExpires::parse("1800;refresher=uac").unwrap();
        assert_eq!((se.delta, se.refresher), (1800, Some(Refresher::Uac)));
        assert_eq!(se.to_string(), "1800;refresher=uac");
        assert_eq!(SessionExpires::parse("90").unwrap().refresher, None);
        assert!(SessionExpires::parse("90;refresher=x").is_err());
    }

    #[test]
    fn warning_retry_after_reason() {
        let w = Warning::parse(r#"307 isi.edu "Session parameter 'foo' not understood""#).unwrap();
        assert_eq!((w.code, w.agent.as_str()), (307, "isi.edu"));
        assert_eq!(w.text, "Session parameter 'foo' not understood");
        assert!(Warning::parse(r#"1812 overture.example.com "Some warning""#).is_err());
        let r = RetryAfter::parse("18000;duration=3600").unwrap();
        assert_eq!((r.seconds, r.duration), (18000, Some(3600)));
        let r = RetryAfter::parse("120 (I'm in a (meeting))").unwrap();
        assert_eq!(r.comment.as_deref(), Some("I'm in a (meeting)"));
        assert!(RetryAfter::parse("120 (open").is_err());
        assert!(RetryAfter::parse("4294967296").is_err());
        let x = Reason::parse(r#"SIP ;cause=200 ;text="Call completed elsewhere""#).unwrap();
        assert_eq!(
            (x.protocol.as_str(), x.cause, x.text.as_deref()),
            ("SIP", Some(200), Some("Call completed elsewhere"))
        );
        assert!(is_option_tag("100rel") && !is_option_tag("a b"));
    }

    #[test]
    fn media_type_with_params() {
        let m = MediaType::parse(
            "multipart/signed ; protocol=\"application/pkcs7-signature\";boundary=x",
        )
        .unwrap();
        assert!(m.is("Multipart", "SIGNED"));
        assert_eq!(m.params.value("boundary"), Some("x"));
        assert_eq!(
            MediaType::parse("application/sdp").unwrap().to_string(),
            "application/sdp"
        );
        assert!(MediaType::parse("application").is_err());
        assert!(MediaType::parse("a/b;").is_err());
    }
}
