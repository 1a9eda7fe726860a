use super::*;
use crate::c2c::command::{CallOptions, IdentityOption, OverrideError};

fn uri(s: &str) -> Uri {
    Uri::parse(s).expect("uri")
}

struct Call {
    initiator: Uri,
    destination: Uri,
    identity: Uri,
}

impl Call {
    fn new() -> Call {
        Call {
            initiator: uri("sip:100@10.0.0.5:5061"),
            destination: uri("sip:200@10.0.0.6:5062"),
            identity: uri("sip:click2call@pbx.example.com"),
        }
    }

    fn parties(&self) -> Parties<'_> {
        Parties {
            initiator: &self.initiator,
            destination: &self.destination,
            identity: &self.identity,
        }
    }

    /// The legacy destination From: the initiator's URI as called.
    fn legacy(&self) -> NameAddr {
        NameAddr::new(self.initiator.clone())
    }
}

fn header<'a>(leg: &'a LegHeaders, name: &str) -> Option<&'a str> {
    leg.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn the_defaults_are_the_originals_from_and_nothing_more() {
    let call = Call::new();
    let cfg = IdentityConfig::default();
    let none = CallerOverride::default();
    let init = cfg.initiator_leg(&call.parties(), &none, None);
    assert_eq!(
        init.from.to_string(),
        "\"Click-To-Call: 200\"<sip:click2call@pbx.example.com>"
    );
    assert!(init.headers.is_empty(), "{:?}", init.headers);
    let dest = cfg.destination_leg(&call.parties(), call.legacy(), &none);
    assert_eq!(dest.from.to_string(), "<sip:100@10.0.0.5:5061>");
    assert!(dest.headers.is_empty(), "{:?}", dest.headers);
}

#[test]
fn the_configured_defaults_read_back_as_the_originals() {
    let config = crate::config::Config::default();
    assert_eq!(
        IdentityConfig::from_config(&config),
        IdentityConfig::default()
    );
}

#[test]
fn templates_fill_in_both_users_and_the_domain() {
    let call = Call::new();
    let cfg = IdentityConfig {
        initiator: LegIdentity {
            display_name: parse_display_name("Call to {destination}").unwrap(),
            from: Some(parse_from("sip:{destination}@{domain}").unwrap()),
            asserted: parse_asserted("from").unwrap(),
            privacy_id: false,
        },
        destination: LegIdentity {
            display_name: parse_display_name("Agent {initiator}").unwrap(),
            from: Some(parse_from("sip:{initiator}@{domain}").unwrap()),
            asserted: parse_asserted("tel:+1555{initiator}").unwrap(),
            privacy_id: true,
        },
        ..IdentityConfig::default()
    };
    let none = CallerOverride::default();
    let init = cfg.initiator_leg(&call.parties(), &none, None);
    assert_eq!(
        init.from.to_string(),
        "\"Call to 200\"<sip:200@pbx.example.com>"
    );
    assert_eq!(
        init.headers,
        [(
            "P-Asserted-Identity".to_owned(),
            "\"Call to 200\"<sip:200@pbx.example.com>".to_owned()
        )]
    );
    let dest = cfg.destination_leg(&call.parties(), call.legacy(), &none);
    assert_eq!(
        dest.from.to_string(),
        "\"Agent 100\"<sip:100@pbx.example.com>"
    );
    assert_eq!(
        dest.headers,
        [
            (
                "P-Asserted-Identity".to_owned(),
                "<tel:+1555100>".to_owned()
            ),
            ("Privacy".to_owned(), "id".to_owned()),
        ]
    );
}

#[test]
fn the_domain_keeps_the_identitys_port() {
    let mut call = Call::new();
    call.identity = uri("sip:c2c@192.0.2.1:5080");
    let t = parse_from("sip:{initiator}@{domain}").unwrap();
    assert_eq!(
        t.uri(&call.parties()).unwrap().to_string(),
        "sip:100@192.0.2.1:5080"
    );
}

#[test]
fn per_call_values_win_over_the_configuration() {
    let call = Call::new();
    let cfg = IdentityConfig {
        destination: LegIdentity {
            from: Some(parse_from("sip:{initiator}@{domain}").unwrap()),
            asserted: Asserted::From,
            ..LegIdentity::default()
        },
        auto_answer: AutoAnswer::CallInfo,
        ..IdentityConfig::default()
    };
    let over = CallerOverride {
        display_name: Some("Sales \"East\" \\ 2".to_owned()),
        caller_id: Some("+15551234".to_owned()),
    };
    let init = cfg.initiator_leg(&call.parties(), &over, Some(AutoAnswer::AnswerMode));
    // RFC 3261 §25.1: `"` and `\` as quoted-pairs.
    assert_eq!(
        init.from.to_string(),
        r#""Sales \"East\" \\ 2"<sip:+15551234@pbx.example.com>"#
    );
    assert_eq!(
        init.headers,
        [("Answer-Mode".to_owned(), "Auto".to_owned())]
    );
    let dest = cfg.destination_leg(&call.parties(), call.legacy(), &over);
    assert_eq!(
        header(&dest, "P-Asserted-Identity"),
        Some(r#""Sales \"East\" \\ 2"<sip:+15551234@pbx.example.com>"#)
    );
    // Without a template the caller id replaces the user of the legacy From.
    let legacy = IdentityConfig::default().destination_leg(&call.parties(), call.legacy(), &over);
    assert_eq!(
        legacy.from.to_string(),
        r#""Sales \"East\" \\ 2"<sip:+15551234@10.0.0.5:5061>"#
    );
}

#[test]
fn each_auto_answer_form_and_the_extra_header() {
    let call = Call::new();
    let none = CallerOverride::default();
    for (mode, want) in [
        (AutoAnswer::None, None),
        (
            AutoAnswer::CallInfo,
            Some(("Call-Info", "<sip:pbx.example.com>;answer-after=0")),
        ),
        (
            AutoAnswer::AlertInfo,
            Some((
                "Alert-Info",
                "<http://pbx.example.com>;info=alert-autoanswer;delay=0",
            )),
        ),
        (AutoAnswer::AnswerMode, Some(("Answer-Mode", "Auto"))),
    ] {
        let cfg = IdentityConfig {
            auto_answer: mode,
            extra_header: Some(ExtraHeader::parse("x-intercom :  yes ").unwrap()),
            ..IdentityConfig::default()
        };
        let leg = cfg.initiator_leg(&call.parties(), &none, None);
        let mut expected: Vec<(String, String)> = want
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .into_iter()
            .collect();
        expected.push(("x-intercom".to_owned(), "yes".to_owned()));
        assert_eq!(leg.headers, expected, "{mode:?}");
        // Never on the destination leg.
        let dest = cfg.destination_leg(&call.parties(), call.legacy(), &none);
        assert!(dest.headers.is_empty(), "{mode:?}");
        // A per-call `none` turns the configured header off.
        let off = cfg.initiator_leg(&call.parties(), &none, Some(AutoAnswer::None));
        assert_eq!(off.headers.len(), 1, "{mode:?}");
    }
}

#[test]
fn a_decoded_user_part_cannot_break_the_display_name_out_of_its_line() {
    let mut call = Call::new();
    call.destination = uri("sip:a%0D%0AX-Evil%3A%201@10.0.0.6");
    let leg =
        IdentityConfig::default().initiator_leg(&call.parties(), &CallerOverride::default(), None);
    let text = leg.from.to_string();
    assert!(!text.contains('\r') && !text.contains('\n'), "{text:?}");
    assert_eq!(
        text,
        "\"Click-To-Call: aX-Evil: 1\"<sip:click2call@pbx.example.com>"
    );
}

#[test]
fn a_template_that_gives_no_uri_for_a_call_falls_back_to_the_default_from() {
    let mut call = Call::new();
    call.initiator = uri("sip:10.0.0.5");
    let cfg = IdentityConfig {
        destination: LegIdentity {
            from: Some(parse_from("sip:{initiator}@{domain}").unwrap()),
            asserted: parse_asserted("sip:{initiator}@{domain}").unwrap(),
            ..LegIdentity::default()
        },
        ..IdentityConfig::default()
    };
    let leg = cfg.destination_leg(&call.parties(), call.legacy(), &CallerOverride::default());
    assert_eq!(leg.from.to_string(), "<sip:10.0.0.5>");
    assert!(leg.headers.is_empty());
}

#[test]
fn templates_refuse_unknown_placeholders_and_lone_braces() {
    for bad in ["Call {destnation}", "Call {destination", "Call }", "a\r\nb"] {
        assert!(Template::parse(bad).is_err(), "{bad:?}");
    }
    assert!(parse_display_name("none").unwrap().is_none());
    assert!(parse_display_name("NONE").unwrap().is_none());
    assert!(parse_display_name(&"x".repeat(101)).is_err());
}

#[test]
fn uri_templates_must_make_uris_of_their_schemes() {
    assert!(parse_from("sip:{initiator}@{domain}").is_ok());
    assert!(parse_from("sips:agent@example.com").is_ok());
    for bad in [
        "tel:+1555{initiator}",
        "http://example.com",
        "sip:{initiator}@",
        "<sip:a@b>",
        "sip:a b@c",
        "sip:{initiator}@{domain}>\r\nX: y",
    ] {
        assert!(parse_from(bad).is_err(), "{bad:?}");
    }
    assert_eq!(parse_asserted("none"), Ok(Asserted::None));
    assert_eq!(parse_asserted("From"), Ok(Asserted::From));
    assert!(matches!(
        parse_asserted("tel:+1555{initiator}"),
        Ok(Asserted::Uri(_))
    ));
    assert!(parse_asserted("mailto:a@b").is_err());
}

#[test]
fn extra_header_validation() {
    assert_eq!(
        ExtraHeader::parse("Require: answermode"),
        Ok(ExtraHeader {
            name: "Require".into(),
            value: "answermode".into()
        })
    );
    assert!(ExtraHeader::parse("X-Intercom: a\tb").is_ok());
    for bad in [
        "no colon",
        ": value",
        "Bad Name: x",
        "X(y): z",
        "X-A:",
        "X-A: a\rb",
        "X-A: a\nb",
        "X-A: a\u{0}b",
        "Via: SIP/2.0/UDP h",
        "v: SIP/2.0/UDP h",
        "from: <sip:a@b>",
        "f: <sip:a@b>",
        "CALL-ID: x",
        "i: x",
        "CSeq: 1 INVITE",
        "Contact: <sip:a@b>",
        "m: <sip:a@b>",
        "Content-Length: 5",
        "l: 5",
        "Max-Forwards: 1",
        "Route: <sip:p;lr>",
        "To: <sip:a@b>",
        "t: <sip:a@b>",
    ] {
        assert!(ExtraHeader::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn per_call_options_are_checked_before_they_reach_a_header() {
    let mut o = CallOptions::default();
    o.set_identity(IdentityOption::InitiatorDisplayName, "Ann \"A\" Lee")
        .unwrap();
    o.set_identity(IdentityOption::DestinationCallerId, "+1-555-0100;ext=2")
        .unwrap();
    o.set_identity(IdentityOption::AutoAnswer, "Call-Info")
        .unwrap();
    assert_eq!(
        o.initiator_caller.display_name.as_deref(),
        Some("Ann \"A\" Lee")
    );
    assert_eq!(
        o.destination_caller.caller_id.as_deref(),
        Some("+1-555-0100;ext=2")
    );
    assert_eq!(o.auto_answer, Some(AutoAnswer::CallInfo));
    for (option, text, want) in [
        (
            IdentityOption::InitiatorDisplayName,
            "a\r\nX: y",
            OverrideError::ControlCharacter,
        ),
        (
            IdentityOption::DestinationDisplayName,
            "a\u{7f}",
            OverrideError::ControlCharacter,
        ),
        (
            IdentityOption::DestinationDisplayName,
            "",
            OverrideError::Empty,
        ),
        (
            IdentityOption::InitiatorDisplayName,
            &"x".repeat(101),
            OverrideError::TooLong(100),
        ),
        (
            IdentityOption::InitiatorCallerId,
            "100@evil",
            OverrideError::NotUserCharacter,
        ),
        (
            IdentityOption::InitiatorCallerId,
            "a b",
            OverrideError::NotUserCharacter,
        ),
        (
            IdentityOption::DestinationCallerId,
            "<x>",
            OverrideError::NotUserCharacter,
        ),
        (
            IdentityOption::DestinationCallerId,
            "50%",
            OverrideError::NotUserCharacter,
        ),
        (
            IdentityOption::DestinationCallerId,
            "a\nb",
            OverrideError::ControlCharacter,
        ),
        (
            IdentityOption::InitiatorCallerId,
            &"1".repeat(65),
            OverrideError::TooLong(64),
        ),
        (
            IdentityOption::AutoAnswer,
            "yes",
            OverrideError::NotAnAutoAnswer,
        ),
    ] {
        let mut o = CallOptions::default();
        assert_eq!(
            o.set_identity(option, text),
            Err(want),
            "{option:?} {text:?}"
        );
        assert_eq!(o, CallOptions::default());
    }
    // A caller id that passes is a valid user part: the From it makes parses.
    let call = Call::new();
    let over = CallerOverride {
        caller_id: Some(CallerOverride::parse_caller_id("%2B1(555)~x*'!&=$,;?/").unwrap()),
        display_name: None,
    };
    let leg = IdentityConfig::default().initiator_leg(&call.parties(), &over, None);
    assert!(NameAddr::parse(&leg.from.to_string()).is_ok());
}
