//! Who each leg's initial INVITE says is calling, and the headers that go with it: the
//! From (display name and URI), `P-Asserted-Identity` (RFC 3325 §9.1), `Privacy: id`
//! (RFC 3323 §4.2, RFC 3325 §9.3), and for the initiator the auto-answer header and the
//! operator's extra header. One place builds them from the configuration
//! (`InitiatorFrom…`, `Destination…`, `InitiatorAutoAnswer`, `InitiatorExtraHeader`) and a
//! request's per-call overrides; the engine puts the result in the INVITEs it sends.
//!
//! With no key set every leg gets what the original sent: the initiator
//! `"Click-To-Call: <destination user>" <ClickToCallIdentity>`, the destination the
//! initiator's URI as called, and nothing more.
//!
//! Values are templates: `{initiator}` and `{destination}` are the user parts of the two
//! translated addresses, `{domain}` the host (and port) of `ClickToCallIdentity`.

use std::fmt;

use super::command::{AutoAnswer, CallerOverride};
use crate::sip::msg::{Host, NameAddr, Scheme, Uri, canonical_header_name};

/// The display name the original gives the initiator leg's From.
pub(crate) const LEGACY_INITIATOR_DISPLAY_NAME: &str = "Click-To-Call: {destination}";

/// A value with `{initiator}`, `{destination}` and `{domain}` in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Initiator,
    Destination,
    Domain,
}

/// Why a configured value cannot be used; the configuration names key and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadValue(pub(crate) String);

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad(text: impl Into<String>) -> BadValue {
    BadValue(text.into())
}

impl Template {
    /// Reads `{initiator}`, `{destination}` and `{domain}`; any other `{…}` or a lone
    /// brace is refused, so a typo is an error rather than text a phone shows.
    pub(crate) fn parse(text: &str) -> Result<Template, BadValue> {
        if let Some(c) = text.chars().find(|c| c.is_control()) {
            return Err(bad(format!("must not contain {c:?}")));
        }
        let mut pieces = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(i) if rest[i..].starts_with('{') => {
                    if i > 0 {
                        pieces.push(Piece::Text(rest[..i].to_owned()));
                    }
                    let Some(end) = rest[i..].find('}') else {
                        return Err(bad("a '{' without its '}'"));
                    };
                    pieces.push(match &rest[i + 1..i + end] {
                        "initiator" => Piece::Initiator,
                        "destination" => Piece::Destination,
                        "domain" => Piece::Domain,
                        other => {
                            return Err(bad(format!(
                                "unknown placeholder {{{other}}} (use {{initiator}}, {{destination}} or {{domain}})"
                            )));
                        }
                    });
                    rest = &rest[i + end + 1..];
                }
                Some(_) => return Err(bad("a '}' without its '{'")),
                None => {
                    pieces.push(Piece::Text(rest.to_owned()));
                    rest = "";
                }
            }
        }
        Ok(Template(pieces))
    }

    /// The text for one call. User parts go in as the URIs hold them (escaped) when the
    /// result is a URI, decoded when it is a display name.
    fn render(&self, parties: &Parties<'_>, decoded: bool) -> String {
        let user = |u: &Uri| {
            if decoded {
                u.user_unescaped().unwrap_or_default()
            } else {
                u.user.clone().unwrap_or_default()
            }
        };
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Initiator => out.push_str(&user(parties.initiator)),
                Piece::Destination => out.push_str(&user(parties.destination)),
                Piece::Domain => out.push_str(&domain(parties.identity)),
            }
        }
        out
    }

    /// A display name: the text, without the control characters a decoded user part may
    /// carry (`%0D%0A` would end the header line: RFC 3261 §25.1 quoted-strings cannot
    /// hold CR or LF).
    fn display_name(&self, parties: &Parties<'_>) -> String {
        self.render(parties, true)
            .chars()
            .filter(|c| !c.is_control())
            .collect()
    }

    /// A URI, `None` when this call's values do not make one (a user part that cannot
    /// stand where the template puts it).
    fn uri(&self, parties: &Parties<'_>) -> Option<Uri> {
        Uri::parse(&self.render(parties, false)).ok()
    }

    /// Checks a URI template with sample values: the configuration refuses one that can
    /// never make a URI of an accepted scheme.
    fn check_uri(text: &str, tel: bool) -> Result<Template, BadValue> {
        let t = Template::parse(text)?;
        let sample = |user: &str| Uri::sip(Some(user), Host::Name("example.com".into()), None);
        let (i, d, id) = (sample("100"), sample("200"), sample("click2call"));
        let parties = Parties {
            initiator: &i,
            destination: &d,
            identity: &id,
        };
        let accepted = match t.uri(&parties) {
            Some(u) if u.is_sip() => true,
            Some(u) => tel && u.scheme == Scheme::Tel,
            None => false,
        };
        if !accepted {
            return Err(bad(if tel {
                "not a sip:, sips: or tel: URI (e.g. sip:{initiator}@{domain})"
            } else {
                "not a sip: or sips: URI (e.g. sip:{initiator}@{domain})"
            }));
        }
        Ok(t)
    }
}

/// `{domain}`: the identity's host, and its port when it has one.
fn domain(identity: &Uri) -> String {
    match identity.port {
        Some(p) => format!("{}:{p}", identity.host),
        None => identity.host.to_string(),
    }
}

/// The addresses of one call, for the templates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parties<'a> {
    /// The initiator as translated (the Request-URI of its INVITE).
    pub initiator: &'a Uri,
    /// The destination as translated.
    pub destination: &'a Uri,
    /// `ClickToCallIdentity`.
    pub identity: &'a Uri,
}

/// What `P-Asserted-Identity` a leg carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Asserted {
    /// None (the original).
    #[default]
    None,
    /// The leg's From, display name included, without its tag.
    From,
    /// This URI.
    Uri(Template),
}

/// What one leg is told about who calls. `Default` is the original's destination leg.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LegIdentity {
    /// The From's display name; `None`: no display name.
    pub display_name: Option<Template>,
    /// The From's URI; `None`: the leg's legacy one (the identity for the initiator, the
    /// initiator's URI as called for the destination).
    pub from: Option<Template>,
    pub asserted: Asserted,
    /// `Privacy: id`.
    pub privacy_id: bool,
}

/// A header line the operator adds to the initiator's INVITE (`InitiatorExtraHeader`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExtraHeader {
    pub name: String,
    pub value: String,
}

/// Headers our stack writes itself (or the transaction layer does): a second copy from
/// the configuration would make the request ambiguous or break its routing.
const OWNED_HEADERS: [&str; 16] = [
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Content-Length",
    "Content-Type",
    "Max-Forwards",
    "Route",
    "Record-Route",
    "Authorization",
    "Proxy-Authorization",
    "Session-Expires",
    "Min-SE",
    "User-Agent",
];

impl ExtraHeader {
    /// `Name: value`: the name a token (RFC 3261 §25.1), not one the stack owns (compact
    /// forms included); the value without control characters (no CR or LF that would
    /// start another header).
    pub(crate) fn parse(text: &str) -> Result<ExtraHeader, BadValue> {
        let Some((name, value)) = text.split_once(':') else {
            return Err(bad("not Name: value"));
        };
        let name = name.trim();
        let value = value.trim();
        let token = |b: u8| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b);
        if name.is_empty() || !name.bytes().all(token) {
            return Err(bad(format!(
                "{name:?} is not a header name (RFC 3261 token)"
            )));
        }
        let canonical = canonical_header_name(name).unwrap_or(name);
        if let Some(owned) = OWNED_HEADERS
            .iter()
            .find(|h| h.eq_ignore_ascii_case(canonical))
        {
            return Err(bad(format!("{owned} is written by the server itself")));
        }
        if let Some(c) = value.chars().find(|c| c.is_control() && *c != '\t') {
            return Err(bad(format!("the value must not contain {c:?}")));
        }
        if value.is_empty() {
            return Err(bad("the value is empty"));
        }
        Ok(ExtraHeader {
            name: canonical.to_owned(),
            value: value.to_owned(),
        })
    }
}

/// The configured caller identities; `Default` is the original's behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdentityConfig {
    pub initiator: LegIdentity,
    pub destination: LegIdentity,
    pub auto_answer: AutoAnswer,
    pub extra_header: Option<ExtraHeader>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            initiator: LegIdentity {
                display_name: Template::parse(LEGACY_INITIATOR_DISPLAY_NAME).ok(),
                ..LegIdentity::default()
            },
            destination: LegIdentity::default(),
            auto_answer: AutoAnswer::None,
            extra_header: None,
        }
    }
}

impl IdentityConfig {
    /// From the configuration's keys, which `config` has checked with the same parsers
    /// (a value they refuse cannot get this far; it would fall back to the default).
    pub(crate) fn from_config(config: &crate::config::Config) -> IdentityConfig {
        let defaults = IdentityConfig::default();
        let uri = |text: &str| (!text.is_empty()).then(|| parse_from(text).ok()).flatten();
        let leg =
            |display: &str, from: &str, asserted: &str, privacy_id: bool, base: LegIdentity| {
                LegIdentity {
                    display_name: parse_display_name(display).unwrap_or(base.display_name),
                    from: uri(from),
                    asserted: parse_asserted(asserted).unwrap_or_default(),
                    privacy_id,
                }
            };
        IdentityConfig {
            initiator: leg(
                &config.initiator_from_display_name,
                &config.initiator_from,
                &config.initiator_p_asserted_identity,
                config.initiator_privacy_id,
                defaults.initiator,
            ),
            destination: leg(
                &config.destination_from_display_name,
                &config.destination_from,
                &config.destination_p_asserted_identity,
                config.destination_privacy_id,
                defaults.destination,
            ),
            auto_answer: AutoAnswer::parse(&config.initiator_auto_answer).unwrap_or_default(),
            extra_header: (!config.initiator_extra_header.is_empty())
                .then(|| ExtraHeader::parse(&config.initiator_extra_header).ok())
                .flatten(),
        }
    }
}

/// `…FromDisplayName`: `none` (any case) for no display name, else a template.
pub(crate) fn parse_display_name(text: &str) -> Result<Option<Template>, BadValue> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    if text.chars().count() > CallerOverride::MAX_DISPLAY_NAME {
        return Err(bad(format!(
            "longer than {} characters",
            CallerOverride::MAX_DISPLAY_NAME
        )));
    }
    Template::parse(text).map(Some)
}

/// `InitiatorFrom` / `DestinationFrom`: a SIP URI template.
pub(crate) fn parse_from(text: &str) -> Result<Template, BadValue> {
    Template::check_uri(text, false)
}

/// `…PAssertedIdentity`: `none`, `from`, or a SIP or tel URI template (RFC 3325 §9.1).
pub(crate) fn parse_asserted(text: &str) -> Result<Asserted, BadValue> {
    if text.eq_ignore_ascii_case("none") {
        Ok(Asserted::None)
    } else if text.eq_ignore_ascii_case("from") {
        Ok(Asserted::From)
    } else {
        Template::check_uri(text, true).map(Asserted::Uri)
    }
}

/// What a leg's INVITE says about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LegHeaders {
    /// The From, without tag.
    pub from: NameAddr,
    /// Further headers, in order, for the INVITE.
    pub headers: Vec<(String, String)>,
}

impl IdentityConfig {
    /// The initiator leg: From (legacy URI: the identity), its identity headers, the
    /// auto-answer header (`auto_answer` per call, else the configured one) and the extra
    /// header.
    pub(crate) fn initiator_leg(
        &self,
        parties: &Parties<'_>,
        over: &CallerOverride,
        auto_answer: Option<AutoAnswer>,
    ) -> LegHeaders {
        let mut leg = self.initiator_caller(parties, over);
        let host = parties.identity.host.to_string();
        match auto_answer.unwrap_or(self.auto_answer) {
            AutoAnswer::None => {}
            // The de facto form of Yealink, Snom and Cisco (and Grandstream): the URI is
            // ours, the parameter asks for an answer after 0 s.
            AutoAnswer::CallInfo => leg.headers.push((
                "Call-Info".to_owned(),
                format!("<sip:{host}>;answer-after=0"),
            )),
            // Polycom and Aastra match `info=alert-autoanswer`; the URI is not fetched.
            AutoAnswer::AlertInfo => leg.headers.push((
                "Alert-Info".to_owned(),
                format!("<http://{host}>;info=alert-autoanswer;delay=0"),
            )),
            // RFC 5373 §6. No `Require: answermode` (§7.1 lets the UAC add it): a phone
            // without the extension would refuse the call with 420 instead of ringing.
            AutoAnswer::AnswerMode => leg
                .headers
                .push(("Answer-Mode".to_owned(), "Auto".to_owned())),
        }
        if let Some(extra) = &self.extra_header {
            leg.headers.push((extra.name.clone(), extra.value.clone()));
        }
        leg
    }

    /// Who calls, as the initiator is told: its From and identity headers, without the
    /// auto-answer and extra headers. The out-of-dialog REFER (RFC 5359 §2.18) carries
    /// just this: the phone places the call itself, so there is no INVITE of ours for the
    /// INVITE headers to go in.
    pub(crate) fn initiator_caller(
        &self,
        parties: &Parties<'_>,
        over: &CallerOverride,
    ) -> LegHeaders {
        let legacy = NameAddr::new(parties.identity.clone());
        build(&self.initiator, parties, legacy, over, "initiator")
    }

    /// The destination leg (anchored calls): `legacy` is the From the original sends, the
    /// initiator leg's To without its tag.
    pub(crate) fn destination_leg(
        &self,
        parties: &Parties<'_>,
        legacy: NameAddr,
        over: &CallerOverride,
    ) -> LegHeaders {
        build(&self.destination, parties, legacy, over, "destination")
    }
}

fn build(
    cfg: &LegIdentity,
    parties: &Parties<'_>,
    legacy: NameAddr,
    over: &CallerOverride,
    leg: &str,
) -> LegHeaders {
    let mut from = legacy;
    if let Some(t) = &cfg.from {
        match t.uri(parties) {
            Some(uri) => from.uri = uri,
            None => {
                log::warn!(target: "c2c", "the {leg}'s From template gives no URI for this call: the default From is used");
            }
        }
    }
    if let Some(user) = &over.caller_id {
        from.uri.user = Some(user.clone());
    }
    from.display_name = match &over.display_name {
        Some(name) => Some(name.clone()),
        None => cfg.display_name.as_ref().map(|t| t.display_name(parties)),
    };
    let mut headers = Vec::new();
    match &cfg.asserted {
        Asserted::None => {}
        Asserted::From => headers.push(("P-Asserted-Identity".to_owned(), from.to_string())),
        Asserted::Uri(t) => match t.uri(parties) {
            Some(uri) => headers.push((
                "P-Asserted-Identity".to_owned(),
                NameAddr::new(uri).to_string(),
            )),
            None => {
                log::warn!(target: "c2c", "the {leg}'s P-Asserted-Identity template gives no URI for this call: none is sent");
            }
        },
    }
    if cfg.privacy_id {
        // RFC 3323 §4.2, RFC 3325 §9.3: a trusted proxy removes the asserted identity
        // before the request leaves its trust domain.
        headers.push(("Privacy".to_owned(), "id".to_owned()));
    }
    LegHeaders { from, headers }
}

#[cfg(test)]
mod tests;
