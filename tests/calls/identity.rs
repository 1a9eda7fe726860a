//! Caller identity per leg and auto-answer for the initiator (`c2c::identity`), black box:
//! SIPp phones check the From, P-Asserted-Identity, Privacy, auto-answer and extra
//! headers of the INVITE each leg receives (a wrong or missing header fails the
//! scenario), with the defaults (the original's From, nothing more), with the keys set
//! (both legs anchored; the initiator in REFER mode), and with per-call values over the
//! JSON API, the `clicktocall.html` query and XML.

use serde_json::json;

use crate::support::api_client::ApiClient;
use crate::support::http::http_get;
use crate::support::lab::{Lab, connected_both_legs, events, phone};
use crate::support::server::ServerConfig;
use crate::support::sipp::Sipp;
use crate::support::xml::XmlClient;
use crate::support::{CALL_WAIT, WAIT};

/// An extended regular expression matching `value` exactly, then `tail`.
fn regexp(value: &str, tail: &str) -> String {
    let mut re = String::from("^ *");
    for c in value.chars() {
        if c == '\\' {
            // SIPp reads `\\` in an attribute as one backslash: four make the regular
            // expression's escaped backslash.
            re.push_str("\\\\\\\\");
            continue;
        }
        if ".[]()*+?{}|^$".contains(c) {
            re.push('\\');
        }
        re.push(c);
    }
    re.push_str(tail);
    re.push('$');
    re
}

/// The attributes of a SIPp `ereg` that fails the scenario unless the header's value is
/// exactly `value`.
fn exactly(value: &str) -> String {
    format!("regexp=\"{}\" check_it=\"true\"", attr(&regexp(value, "")))
}

/// The same for a From: `value`, then our tag.
fn from(value: &str) -> String {
    format!(
        "regexp=\"{}\" check_it=\"true\"",
        attr(&regexp(value, ";tag=[^;]+"))
    )
}

fn attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The `ereg` attributes that fail the scenario when the header is there.
const ABSENT: &str = "regexp=\".+\" check_it_inverse=\"true\"";

/// What the initiator's INVITE must carry (`None`: the header must be absent).
#[derive(Default)]
struct Initiator<'a> {
    from: &'a str,
    pai: Option<&'a str>,
    privacy: Option<&'a str>,
    call_info: Option<&'a str>,
    alert_info: Option<&'a str>,
    answer_mode: Option<&'a str>,
    extra: Option<(&'a str, &'a str)>,
}

fn value(v: Option<&str>) -> String {
    v.map_or_else(|| ABSENT.to_owned(), exactly)
}

impl Initiator<'_> {
    fn vars(&self) -> Vec<(&'static str, String)> {
        let (extra_name, extra) = match self.extra {
            Some((name, v)) => (name.to_owned(), exactly(v)),
            None => ("X-Intercom".to_owned(), ABSENT.to_owned()),
        };
        vec![
            ("FROM", from(self.from)),
            ("PAI", value(self.pai)),
            ("PRIVACY", value(self.privacy)),
            ("CALL_INFO", value(self.call_info)),
            ("ALERT_INFO", value(self.alert_info)),
            ("ANSWER_MODE", value(self.answer_mode)),
            ("EXTRA_NAME", extra_name),
            ("EXTRA", extra),
        ]
    }
}

/// The destination phone of an anchored call, checking its INVITE's From, PAI and
/// Privacy (and that none of the initiator's auto-answer headers came).
fn destination(lab: &Lab, from_value: &str, pai: Option<&str>, privacy: Option<&str>) -> Sipp {
    lab.uas(
        "destination_identity_anchor.xml",
        &[
            ("FROM", from(from_value)),
            ("PAI", value(pai)),
            ("PRIVACY", value(privacy)),
        ],
    )
}

/// The original's initiator From for destination user 200 and the calls' identity.
const LEGACY_INITIATOR_FROM: &str = "\"Click-To-Call: 200\"<sip:click2call@127.0.0.1>";

/// Keys that set every identity header of both legs.
const IDENTITY_KEYS: &str = "
InitiatorFromDisplayName = Call for {destination}
InitiatorFrom = sip:{destination}@{domain}
InitiatorPAssertedIdentity = from
InitiatorPrivacyId = 1
DestinationFromDisplayName = Agent {initiator}
DestinationFrom = sip:{initiator}@{domain}
DestinationPAssertedIdentity = tel:+1555{initiator}
DestinationPrivacyId = 1
";

#[test]
fn by_default_each_leg_gets_the_originals_from_and_no_identity_headers() {
    let lab = Lab::start("identity-defaults", ServerConfig::calls());
    let initiator = lab.uas(
        "initiator_identity_anchor.xml",
        &Initiator {
            from: LEGACY_INITIATOR_FROM,
            ..Initiator::default()
        }
        .vars(),
    );
    // The destination sees the initiator's URI as called, host and port included.
    let legacy = format!("<sip:100@127.0.0.1:{}>", initiator.port);
    let destination = destination(&lab, &legacy, None, None);
    let (got, _, _) = lab.call_phones(initiator, destination, true);
    assert_eq!(got, connected_both_legs());
}

#[test]
fn configured_identities_reach_both_legs_of_an_anchored_call() {
    let lab = Lab::start(
        "identity-anchored",
        ServerConfig::calls()
            .lines(IDENTITY_KEYS)
            .set("InitiatorAutoAnswer", "call-info")
            .set("InitiatorExtraHeader", "X-Intercom: yes"),
    );
    let initiator = lab.uas(
        "initiator_identity_anchor.xml",
        &Initiator {
            from: "\"Call for 200\"<sip:200@127.0.0.1>",
            pai: Some("\"Call for 200\"<sip:200@127.0.0.1>"),
            privacy: Some("id"),
            call_info: Some("<sip:127.0.0.1>;answer-after=0"),
            extra: Some(("X-Intercom", "yes")),
            ..Initiator::default()
        }
        .vars(),
    );
    // destination_identity_anchor.xml also fails on any auto-answer or X-Intercom header.
    let destination = destination(
        &lab,
        "\"Agent 100\"<sip:100@127.0.0.1>",
        Some("<tel:+1555100>"),
        Some("id"),
    );
    let (got, _, _) = lab.call_phones(initiator, destination, true);
    assert_eq!(got, connected_both_legs());
}

/// A REFER-mode call with `config`, whose initiator checks `expect`; the transfer's
/// NOTIFY says 200, so the call ends connected.
fn refer_call(tag: &str, config: ServerConfig, expect: Initiator<'_>) {
    let lab = Lab::start(tag, config);
    let (got, _) = lab.refer_call("initiator_identity_refer.xml", &expect.vars());
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
}

#[test]
fn in_refer_mode_the_initiators_identity_applies_and_the_refer_is_the_originals() {
    // The destination keys are set too: in REFER mode the phone places that call.
    refer_call(
        "identity-refer",
        ServerConfig::calls().lines(IDENTITY_KEYS),
        Initiator {
            from: "\"Call for 200\"<sip:200@127.0.0.1>",
            pai: Some("\"Call for 200\"<sip:200@127.0.0.1>"),
            privacy: Some("id"),
            ..Initiator::default()
        },
    );
}

#[test]
fn auto_answer_call_info_asks_the_initiator_to_answer_at_once() {
    refer_call(
        "identity-call-info",
        ServerConfig::calls().set("InitiatorAutoAnswer", "call-info"),
        Initiator {
            from: LEGACY_INITIATOR_FROM,
            call_info: Some("<sip:127.0.0.1>;answer-after=0"),
            ..Initiator::default()
        },
    );
}

#[test]
fn auto_answer_alert_info_asks_the_initiator_to_answer_at_once() {
    refer_call(
        "identity-alert-info",
        ServerConfig::calls().set("InitiatorAutoAnswer", "alert-info"),
        Initiator {
            from: LEGACY_INITIATOR_FROM,
            alert_info: Some("<http://127.0.0.1>;info=alert-autoanswer;delay=0"),
            ..Initiator::default()
        },
    );
}

#[test]
fn auto_answer_answer_mode_asks_the_initiator_to_answer_at_once() {
    // RFC 5373: `Answer-Mode: Auto`, and no `Require: answermode` (the scenario checks).
    refer_call(
        "identity-answer-mode",
        ServerConfig::calls().set("InitiatorAutoAnswer", "answer-mode"),
        Initiator {
            from: LEGACY_INITIATOR_FROM,
            answer_mode: Some("Auto"),
            ..Initiator::default()
        },
    );
}

#[test]
fn the_extra_header_reaches_the_initiator() {
    refer_call(
        "identity-extra",
        ServerConfig::calls().set("InitiatorExtraHeader", "X-Intercom: yes; delay=0"),
        Initiator {
            from: LEGACY_INITIATOR_FROM,
            extra: Some(("X-Intercom", "yes; delay=0")),
            ..Initiator::default()
        },
    );
}

#[test]
fn per_call_identities_over_the_json_api_win_over_the_configuration() {
    let lab = Lab::start(
        "identity-json",
        ServerConfig::calls()
            .set("DestinationFrom", "sip:{initiator}@{domain}")
            .set("InitiatorAutoAnswer", "call-info"),
    );
    let mut initiator = lab.uas(
        "initiator_identity_anchor.xml",
        &Initiator {
            // RFC 3261 §25.1: the quotes of the name as quoted-pairs.
            from: r#""Sales \"East\""<sip:+15550100@127.0.0.1>"#,
            answer_mode: Some("Auto"),
            ..Initiator::default()
        }
        .vars(),
    );
    let mut destination = destination(&lab, "\"Ann\"<sip:4711@127.0.0.1>", None, None);
    let api = ApiClient::new(lab.server.http_addr());
    let id = api.place_ok(&json!({
        "initiator": initiator.phone("100"),
        "destination": destination.phone("200"),
        "anchor": true,
        "initiator_display_name": "Sales \"East\"",
        "initiator_caller_id": "+15550100",
        "destination_display_name": "Ann",
        "destination_caller_id": "4711",
        "auto_answer": "answer-mode",
    }));
    let all = api.events(&id).until_end();
    let end = all.last().expect("an end event");
    assert_eq!(end.data["result"]["code"], 200, "{all:?}");
    destination.expect_pass();
    initiator.expect_pass();
}

#[test]
fn per_call_identity_over_the_html_query_reaches_the_initiator() {
    let lab = Lab::start("identity-html", ServerConfig::calls());
    let mut initiator = lab.uas(
        "initiator_identity_refer.xml",
        &Initiator {
            from: "\"Front Desk\"<sip:+4930123@127.0.0.1>",
            alert_info: Some("<http://127.0.0.1>;info=alert-autoanswer;delay=0"),
            ..Initiator::default()
        }
        .vars(),
    );
    let target = format!(
        "/clicktocall.html?initiator={}&destination={}&initiatordisplayname=Front+Desk\
         &initiatorcallerid=%2B4930123&autoanswer=alert-info",
        initiator.phone("100"),
        phone(9, "200")
    );
    let page = http_get(lab.server.http_addr(), &target, "");
    assert_eq!(page.status, 200, "{}", page.body);
    initiator.expect_pass();
}

#[test]
fn per_call_identities_over_xml_reach_both_legs() {
    let lab = Lab::start("identity-xml", ServerConfig::calls());
    let mut initiator = lab.uas(
        "initiator_identity_anchor.xml",
        &Initiator {
            from: "\"R&D\"<sip:click2call@127.0.0.1>",
            call_info: Some("<sip:127.0.0.1>;answer-after=0"),
            ..Initiator::default()
        }
        .vars(),
    );
    let legacy_host = format!("\"Ops\"<sip:555@127.0.0.1:{}>", initiator.port);
    let mut destination = destination(&lab, &legacy_host, None, None);
    let mut client = XmlClient::connect(lab.server.xml_port);
    client.send_raw(&format!(
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>{}</Initiator>\r\n    \
         <Destination>{}</Destination>\r\n    <AnchorCall>true</AnchorCall>\r\n    \
         <InitiatorDisplayName>R&amp;D</InitiatorDisplayName>\r\n    \
         <DestinationDisplayName>Ops</DestinationDisplayName>\r\n    \
         <DestinationCallerId>555</DestinationCallerId>\r\n    \
         <AutoAnswer>call-info</AutoAnswer>\r\n  </Request>\r\n</ClickToCall>\r\n",
        initiator.phone("100"),
        destination.phone("200")
    ));
    let got = client.events_until(CALL_WAIT, |e| e.is_final());
    assert_eq!(got, connected_both_legs());
    destination.expect_pass();
    initiator.expect_pass();
}

#[test]
fn per_call_values_that_cannot_go_in_a_header_are_refused_on_every_interface() {
    let lab = Lab::start("identity-refused", ServerConfig::calls());
    // JSON: a CR LF in a display name, a caller id that is not a user part, an unknown
    // auto-answer form.
    let api = ApiClient::new(lab.server.http_addr());
    for (field, bad, why) in [
        (
            "initiator_display_name",
            "a\r\nX-Evil: 1",
            "initiator_display_name holds a control character",
        ),
        (
            "destination_caller_id",
            "1@evil",
            "destination_caller_id holds a character",
        ),
        (
            "auto_answer",
            "always",
            "auto_answer must be none, call-info",
        ),
    ] {
        let mut body = json!({"initiator": phone(9, "100"), "destination": phone(9, "200")});
        body[field] = json!(bad);
        let r = api.place(&body);
        assert_eq!(r.status, 400, "{field}: {:?}", r.http);
        let error = r.json["error"].as_str().unwrap_or("");
        assert!(error.starts_with(why), "{field}: {error}");
    }
    // The page.
    let target = format!(
        "/clicktocall.html?initiator={}&destination={}&destinationdisplayname=a%0Ab",
        phone(9, "100"),
        phone(9, "200")
    );
    let page = http_get(lab.server.http_addr(), &target, "");
    assert_eq!(page.status, 400);
    assert!(
        page.body
            .contains("<p>Invalid destinationdisplayname: holds a control character.</p>"),
        "{}",
        page.body
    );
    // XML: the 400 document.
    let mut client = XmlClient::connect(lab.server.xml_port);
    client.send_raw(&format!(
        "<ClickToCall><Request><Initiator>{}</Initiator><Destination>{}</Destination>\
         <InitiatorCallerId>a b</InitiatorCallerId></Request></ClickToCall>\r\n",
        phone(9, "100"),
        phone(9, "200")
    ));
    let refused = client.expect(400, None, WAIT);
    assert!(
        refused
            .text
            .starts_with("Invalid InitiatorCallerId: holds a character"),
        "{refused:?}"
    );
    // Nothing was placed.
    let calls = api.get("/api/v1/calls");
    assert_eq!(calls.json["calls"], json!([]), "{:?}", calls.http);
}
