//! Reading a framed XML request: `<ClickToCall><Request><Initiator>…` with xml-rs.

// The fuzz targets in fuzz/ reach this parser through `crate::fuzzing` (built with
// `--cfg fuzzing`): its items stay `pub` for that, unreachable otherwise.
#![cfg_attr(not(fuzzing), allow(unreachable_pub))]

use std::fmt;

use xml::reader::{ParserConfig, XmlEvent};

use crate::c2c::command::{CallMode, CallOptions, IdentityOption, OverrideError};

/// Deepest element nesting looked at; a request needs 3.
const MAX_DEPTH: usize = 32;

/// A click-to-call request as the client wrote it (entities decoded, whitespace trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickToCallRequest {
    pub initiator: String,
    pub destination: String,
    /// `<AnchorCall>` compared case-insensitively to `true`; absent means false.
    pub anchor: bool,
    /// `<ReturnCallId>true</ReturnCallId>` (new, optional): the 100 document carries the
    /// call's id in `<CallId>`. Without it the documents are the original's, byte for byte.
    pub return_call_id: bool,
    /// `<RingTimeout>seconds</RingTimeout>` (new, optional): this call's `RingTimeout`.
    pub ring_timeout: Option<std::time::Duration>,
    /// The ring time-out and the caller identity and auto-answer elements (new, optional:
    /// `<InitiatorDisplayName>`, `<InitiatorCallerId>`, `<DestinationDisplayName>`,
    /// `<DestinationCallerId>`, `<AutoAnswer>`) and `<Mode>refer|anchored|refer-ood</Mode>` (which
    /// wins over `<AnchorCall>`), checked. An empty element counts as absent.
    pub options: CallOptions,
}

/// Why a request is answered with a 400; the texts are the original's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// Not well-formed XML (or a DTD).
    Parse,
    /// The root element is not `ClickToCall`.
    UnknownMethod,
    /// No `Request` element, or its `Initiator` or `Destination` missing or empty.
    MissingTags,
    /// `<RingTimeout>` is not 1 to 86400 seconds.
    InvalidRingTimeout,
    /// `<Mode>` is not a call mode.
    InvalidMode,
    /// An identity or auto-answer element whose value cannot go in a SIP header.
    InvalidOption(IdentityOption, OverrideError),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestError::Parse => "Parse error",
            RequestError::UnknownMethod => "Unknown method",
            RequestError::MissingTags => "Missing initiator and/or destination tags",
            RequestError::InvalidRingTimeout => "Invalid RingTimeout: 1 to 86400 seconds",
            RequestError::InvalidMode => "Invalid Mode: refer, anchored or refer-ood",
            RequestError::InvalidOption(option, e) => {
                return write!(f, "Invalid {}: {e}", option.xml_name());
            }
        })
    }
}

/// Which value an element's text goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Initiator,
    Destination,
    Anchor,
    AuthToken,
    ReturnCallId,
    RingTimeout,
    Mode,
    Identity(IdentityOption),
}

/// Parses one framed request document. Checks in the original's order: well-formed,
/// then the method (root name), then the required tags.
#[cfg(any(test, fuzzing))]
pub fn parse_request(doc: &[u8]) -> Result<ClickToCallRequest, RequestError> {
    parse_request_with_token(doc).map(|(req, _)| req)
}

/// [`parse_request`], plus the text of the request's `<AuthToken>` element (a sibling of
/// `<Initiator>`, checked against `XmlAuthToken`), if it has one. Not trimmed: the token
/// is compared exactly as sent.
pub(crate) fn parse_request_with_token(
    doc: &[u8],
) -> Result<(ClickToCallRequest, Option<String>), RequestError> {
    let config = ParserConfig::new()
        .cdata_to_characters(true)
        .whitespace_to_characters(true)
        .ignore_comments(true)
        .coalesce_characters(true)
        // No DTD is accepted, so no custom entity can expand; keep the limits tight anyway.
        .max_entity_expansion_depth(1)
        .max_entity_expansion_length(1024);
    let reader = config.create_reader(doc);

    let mut stack: Vec<String> = Vec::new();
    let mut root: Option<String> = None;
    let mut requests_seen = 0usize;
    let mut field: Option<Field> = None;
    let mut initiator: Option<String> = None;
    let mut destination: Option<String> = None;
    let mut anchor: Option<String> = None;
    let mut return_call_id: Option<String> = None;
    let mut ring_timeout: Option<String> = None;
    let mut mode: Option<String> = None;
    let mut identity: [Option<String>; IdentityOption::ALL.len()] = Default::default();
    let mut token: Option<String> = None;
    let mut text = String::new();

    for event in reader {
        match event.map_err(|_| RequestError::Parse)? {
            XmlEvent::Doctype { .. } => return Err(RequestError::Parse),
            XmlEvent::StartElement { name, .. } => {
                if stack.len() >= MAX_DEPTH {
                    return Err(RequestError::Parse);
                }
                let local = name.local_name;
                if stack.is_empty() {
                    root = Some(local.clone());
                }
                // Tag names compare case-insensitively, as the original's parser does.
                let parent_is_first_request = stack.len() == 2
                    && requests_seen == 1
                    && stack
                        .get(1)
                        .is_some_and(|p| p.eq_ignore_ascii_case("Request"));
                if stack.len() == 1 && local.eq_ignore_ascii_case("Request") {
                    requests_seen += 1;
                }
                field = None;
                if parent_is_first_request {
                    field = if local.eq_ignore_ascii_case("Initiator") {
                        Some(Field::Initiator)
                    } else if local.eq_ignore_ascii_case("Destination") {
                        Some(Field::Destination)
                    } else if local.eq_ignore_ascii_case("AnchorCall") {
                        Some(Field::Anchor)
                    } else if local.eq_ignore_ascii_case("AuthToken") {
                        Some(Field::AuthToken)
                    } else if local.eq_ignore_ascii_case("ReturnCallId") {
                        Some(Field::ReturnCallId)
                    } else if local.eq_ignore_ascii_case("RingTimeout") {
                        Some(Field::RingTimeout)
                    } else if local.eq_ignore_ascii_case("Mode") {
                        Some(Field::Mode)
                    } else {
                        IdentityOption::ALL
                            .into_iter()
                            .find(|o| local.eq_ignore_ascii_case(o.xml_name()))
                            .map(Field::Identity)
                    };
                    text.clear();
                }
                stack.push(local);
            }
            XmlEvent::Characters(chars) if field.is_some() && stack.len() == 3 => {
                text.push_str(&chars);
            }
            XmlEvent::EndElement { .. } => {
                if stack.len() == 3 {
                    // The first occurrence of each field wins.
                    if field == Some(Field::AuthToken) && token.is_none() {
                        token = Some(std::mem::take(&mut text));
                    }
                    let value = text.trim().to_owned();
                    match field {
                        Some(Field::Initiator) if initiator.is_none() => initiator = Some(value),
                        Some(Field::Destination) if destination.is_none() => {
                            destination = Some(value)
                        }
                        Some(Field::Anchor) if anchor.is_none() => anchor = Some(value),
                        Some(Field::ReturnCallId) if return_call_id.is_none() => {
                            return_call_id = Some(value)
                        }
                        Some(Field::RingTimeout) if ring_timeout.is_none() => {
                            ring_timeout = Some(value)
                        }
                        Some(Field::Mode) if mode.is_none() => mode = Some(value),
                        Some(Field::Identity(option)) => {
                            if let Some(slot) = IdentityOption::ALL
                                .iter()
                                .position(|o| *o == option)
                                .and_then(|i| identity.get_mut(i))
                                && slot.is_none()
                            {
                                *slot = Some(value);
                            }
                        }
                        _ => {}
                    }
                    text.clear();
                }
                field = None;
                stack.pop();
            }
            XmlEvent::EndDocument => break,
            _ => {}
        }
    }

    if !root.is_some_and(|r| r.eq_ignore_ascii_case("ClickToCall")) {
        return Err(RequestError::UnknownMethod);
    }
    match (initiator, destination) {
        (Some(initiator), Some(destination))
            if !initiator.is_empty() && !destination.is_empty() =>
        {
            let ring_timeout = match ring_timeout.as_deref().map(CallOptions::parse_ring_timeout) {
                None => None,
                Some(Some(d)) => Some(d),
                Some(None) => return Err(RequestError::InvalidRingTimeout),
            };
            let mode = match mode.as_deref().map(CallMode::parse) {
                None => None,
                Some(Some(m)) => Some(m),
                Some(None) => return Err(RequestError::InvalidMode),
            };
            let mut options = CallOptions {
                ring_timeout,
                ..CallOptions::default()
            };
            for (option, text) in IdentityOption::ALL.into_iter().zip(&identity) {
                if let Some(text) = text.as_deref().filter(|t| !t.is_empty()) {
                    options
                        .set_identity(option, text)
                        .map_err(|e| RequestError::InvalidOption(option, e))?;
                }
            }
            options.mode = mode;
            Ok((
                ClickToCallRequest {
                    initiator,
                    destination,
                    anchor: anchor.is_some_and(|a| a.eq_ignore_ascii_case("true")),
                    return_call_id: return_call_id.is_some_and(|a| a.eq_ignore_ascii_case("true")),
                    ring_timeout,
                    options,
                },
                token,
            ))
        }
        _ => Err(RequestError::MissingTags),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ClickToCallRequest, RequestError> {
        parse_request(s.as_bytes())
    }

    #[test]
    fn the_specs_example_request() {
        let req = parse(
            "<ClickToCall>\r\n   <Request>\r\n      <Initiator>sip:scott@sipdomain.com</Initiator>\r\n      <Destination>9055551234</Destination>\r\n      <AnchorCall>false</AnchorCall>\r\n   </Request>\r\n</ClickToCall>",
        );
        assert_eq!(
            req,
            Ok(ClickToCallRequest {
                initiator: "sip:scott@sipdomain.com".into(),
                destination: "9055551234".into(),
                anchor: false,
                return_call_id: false,
                ring_timeout: None,
                options: CallOptions::default(),
            })
        );
    }

    #[test]
    fn return_call_id_is_read_inside_the_request() {
        let base = "<ClickToCall><Request><Initiator>a</Initiator><Destination>b</Destination>";
        let req = parse(&format!(
            "{base}<ReturnCallId> True </ReturnCallId></Request></ClickToCall>"
        ))
        .expect("request");
        assert!(req.return_call_id);
        let req = parse(&format!("{base}</Request></ClickToCall>")).expect("request");
        assert!(!req.return_call_id);
        let req = parse(&format!(
            "{base}<RingTimeout> 45 </RingTimeout></Request></ClickToCall>"
        ))
        .expect("request");
        assert_eq!(req.ring_timeout, Some(std::time::Duration::from_secs(45)));
        for bad in ["0", "86401", "x", "-1"] {
            assert_eq!(
                parse(&format!(
                    "{base}<RingTimeout>{bad}</RingTimeout></Request></ClickToCall>"
                )),
                Err(RequestError::InvalidRingTimeout),
                "{bad}"
            );
        }
    }

    #[test]
    fn mode_is_read_inside_the_request_and_checked() {
        let base = "<ClickToCall><Request><Initiator>a</Initiator><Destination>b</Destination>";
        let req = parse(&format!(
            "{base}<AnchorCall>true</AnchorCall><Mode> Refer-OOD </Mode></Request></ClickToCall>"
        ))
        .expect("request");
        assert_eq!(req.options.mode, Some(CallMode::ReferOutOfDialog));
        assert!(
            req.anchor,
            "AnchorCall is read as before; the mode wins later"
        );
        let req = parse(&format!("{base}</Request></ClickToCall>")).expect("request");
        assert_eq!(req.options.mode, None);
        assert_eq!(
            parse(&format!("{base}<Mode>ood</Mode></Request></ClickToCall>")),
            Err(RequestError::InvalidMode)
        );
    }

    #[test]
    fn identity_elements_are_read_checked_and_empty_ones_ignored() {
        use crate::c2c::command::AutoAnswer;
        let base = "<ClickToCall><Request><Initiator>a</Initiator><Destination>b</Destination>";
        let req = parse(&format!(
            "{base}<InitiatorDisplayName> R&amp;D </InitiatorDisplayName>\
             <initiatorcallerid>+100</initiatorcallerid>\
             <DestinationDisplayName></DestinationDisplayName>\
             <DestinationCallerId>555</DestinationCallerId>\
             <AutoAnswer>Answer-Mode</AutoAnswer></Request></ClickToCall>"
        ))
        .expect("request");
        let o = &req.options;
        assert_eq!(o.initiator_caller.display_name.as_deref(), Some("R&D"));
        assert_eq!(o.initiator_caller.caller_id.as_deref(), Some("+100"));
        assert_eq!(o.destination_caller.display_name, None);
        assert_eq!(o.destination_caller.caller_id.as_deref(), Some("555"));
        assert_eq!(o.auto_answer, Some(AutoAnswer::AnswerMode));
        let plain = parse(&format!("{base}</Request></ClickToCall>")).expect("request");
        assert_eq!(plain.options, CallOptions::default());
        for (doc, text) in [
            (
                "<InitiatorDisplayName>a&#13;&#10;b</InitiatorDisplayName>",
                "Invalid InitiatorDisplayName: holds a control character",
            ),
            (
                "<DestinationCallerId>a@b</DestinationCallerId>",
                "Invalid DestinationCallerId: holds a character",
            ),
            (
                "<AutoAnswer>yes</AutoAnswer>",
                "Invalid AutoAnswer: must be none, call-info, alert-info or answer-mode",
            ),
        ] {
            let e = parse(&format!("{base}{doc}</Request></ClickToCall>")).expect_err(doc);
            assert!(e.to_string().starts_with(text), "{doc}: {e}");
        }
    }

    #[test]
    fn the_auth_token_is_read_exactly_and_only_inside_the_request() {
        let base = "<ClickToCall><Request><Initiator>a</Initiator><Destination>b</Destination>";
        let (_, t) = parse_request_with_token(
            format!("{base}<AuthToken> s3&amp;cret</AuthToken></Request></ClickToCall>").as_bytes(),
        )
        .expect("ok");
        assert_eq!(t.as_deref(), Some(" s3&cret"));
        let (_, t) = parse_request_with_token(
            format!("{base}</Request><AuthToken>x</AuthToken></ClickToCall>").as_bytes(),
        )
        .expect("ok");
        assert_eq!(t, None);
        let (_, t) = parse_request_with_token(format!("{base}</Request></ClickToCall>").as_bytes())
            .expect("ok");
        assert_eq!(t, None);
    }

    #[test]
    fn anchor_is_case_insensitive_and_defaults_to_false() {
        let base = "<ClickToCall><Request><Initiator>a</Initiator><Destination>b</Destination>";
        assert!(
            parse(&format!(
                "{base}<AnchorCall> TRUE </AnchorCall></Request></ClickToCall>"
            ))
            .expect("ok")
            .anchor
        );
        assert!(
            !parse(&format!(
                "{base}<AnchorCall>yes</AnchorCall></Request></ClickToCall>"
            ))
            .expect("ok")
            .anchor
        );
        assert!(
            !parse(&format!("{base}</Request></ClickToCall>"))
                .expect("ok")
                .anchor
        );
    }

    #[test]
    fn lower_case_tags_and_root_attributes_are_accepted() {
        let req = parse("<clicktocall id=\"7\"><request><initiator>abc</initiator><destination>def</destination></request></clicktocall>")
            .expect("ok");
        assert_eq!(
            (req.initiator.as_str(), req.destination.as_str()),
            ("abc", "def")
        );
    }

    #[test]
    fn entities_and_cdata_are_decoded() {
        let req = parse("<ClickToCall><Request><Initiator>sip:&lt;&gt;</Initiator><Destination><![CDATA[a&b]]></Destination></Request></ClickToCall>")
            .expect("ok");
        assert_eq!(req.initiator, "sip:<>");
        assert_eq!(req.destination, "a&b");
    }

    #[test]
    fn mismatched_tags_are_a_parse_error() {
        assert_eq!(
            parse(
                "<ClickToCall><Request><Initiator>5061100</Initiator><Destination>5062200</Foo></Request></ClickToCall>"
            ),
            Err(RequestError::Parse)
        );
        assert_eq!(
            parse("<ClickToCall><Request><Initiator>5061100</Request></ClickToCall>"),
            Err(RequestError::Parse)
        );
        assert_eq!(
            parse("<ClickToCall>&bogus;</ClickToCall>"),
            Err(RequestError::Parse)
        );
        assert_eq!(
            parse("<ClickToCall>\u{0}</ClickToCall>"),
            Err(RequestError::Parse)
        );
    }

    #[test]
    fn another_root_is_an_unknown_method() {
        assert_eq!(
            parse(
                "<Foo><Request><Initiator>a</Initiator><Destination>b</Destination></Request></Foo>"
            ),
            Err(RequestError::UnknownMethod)
        );
        assert_eq!(parse("<Foo></Foo>"), Err(RequestError::UnknownMethod));
    }

    #[test]
    fn missing_or_empty_or_misplaced_tags() {
        for doc in [
            "<ClickToCall><Request><Destination>5062200</Destination></Request></ClickToCall>",
            "<ClickToCall><Request><Initiator></Initiator><Destination>5062200</Destination></Request></ClickToCall>",
            "<ClickToCall><Request><Initiator>  </Initiator><Destination>5062200</Destination></Request></ClickToCall>",
            "<ClickToCall><Initiator>5061100</Initiator><Destination>5062200</Destination></ClickToCall>",
            "<ClickToCall><Request><X><Initiator>a</Initiator><Destination>b</Destination></X></Request></ClickToCall>",
            "<ClickToCall/>",
        ] {
            assert_eq!(parse(doc), Err(RequestError::MissingTags), "{doc}");
        }
    }

    #[test]
    fn only_the_first_request_element_counts() {
        let req = parse("<ClickToCall><Request><Initiator>a</Initiator><Destination>b</Destination></Request><Request><Initiator>c</Initiator></Request></ClickToCall>")
            .expect("ok");
        assert_eq!(req.initiator, "a");
    }
}
