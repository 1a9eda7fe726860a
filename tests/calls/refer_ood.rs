//! Call engine, out-of-dialog REFER mode (RFC 5359 §2.18 click-to-dial), black box: the
//! real binary, SIPp as the initiator's phone receiving the REFER outside any dialog and
//! sending the NOTIFYs of its subscription. The mode is chosen per call (XML `<Mode>`,
//! HTTP `mode=`, JSON `"mode"`) or by the `CallMode` key. The server never INVITEs nor
//! BYEs in this mode: every scenario starts with the REFER and fails on anything else.

use std::time::Duration;

use serde_json::json;

use crate::support::{
    CALL_WAIT,
    api_client::ApiClient,
    http::http_get,
    lab::{Lab, PhoneRun, events},
    server::ServerConfig,
    sipp::Sipp,
    xml::{Event, XmlClient},
};

/// The initiator's phone playing `scenario` with `vars` (see [`Lab::transferring_phone`]),
/// then [`ood_call`] to it; waits for the phone's scenario to pass.
fn ood(lab: &Lab, scenario: &str, vars: &[(&str, String)]) -> (Vec<Event>, Sipp) {
    let (mut initiator, destination) = lab.transferring_phone(PhoneRun::Udp, scenario, vars);
    let got = ood_call(lab, &initiator.phone("100"), &destination);
    initiator.expect_pass();
    (got, initiator)
}

/// A click-to-call over XML with `<Mode>refer-ood</Mode>`: every event up to the final.
fn ood_call(lab: &Lab, initiator: &str, destination: &str) -> Vec<Event> {
    let mut client = XmlClient::connect(lab.server.xml_port);
    client.send_raw(&format!(
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>{initiator}</Initiator>\r\n    \
         <Destination>{destination}</Destination>\r\n    <Mode>refer-ood</Mode>\r\n  \
         </Request>\r\n</ClickToCall>\r\n"
    ));
    let got = client.events_until(CALL_WAIT, |e| e.is_final());
    assert!(
        client.silent_for(Duration::from_millis(300)),
        "a document after the final event"
    );
    got
}

const ACCEPTED: (u16, &str, &str) = (200, "Initiator", "Initiator accepted the REFER");

/// Once every call is over nothing of it is left: no live call, no leg (the
/// subscription's dialog is gone with it).
fn assert_nothing_left(lab: &Lab, mode_started: f64) {
    let m = ApiClient::new(lab.server.http_addr()).metrics();
    assert_eq!(m.get("clicktocall_calls_live"), Some(&0.0), "{m:?}");
    assert_eq!(m.get("clicktocall_legs_live"), Some(&0.0), "{m:?}");
    assert_eq!(
        m.get("clicktocall_calls_started_total{mode=\"refer-ood\"}"),
        Some(&mode_started),
        "{m:?}"
    );
}

#[test]
fn out_of_dialog_refer_success_reports_acceptance_ringing_and_connected() {
    let lab = Lab::start("ood-ok", ServerConfig::calls());
    let (got, _) = ood(&lab, "initiator_refer_ood_ok.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            ACCEPTED,
            (180, "Destination", "Ringing destination"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    assert_nothing_left(&lab, 1.0);
    let m = ApiClient::new(lab.server.http_addr()).metrics();
    assert_eq!(
        m.get("clicktocall_calls_completed_total{mode=\"refer-ood\"}"),
        Some(&1.0)
    );
}

#[test]
fn out_of_dialog_refer_declined_with_603_ends_the_call_with_603() {
    let lab = Lab::start("ood-603", ServerConfig::calls());
    let (got, _) = ood(&lab, "initiator_refer_ood_decline.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (603, "Initiator", "Failed to connect to initiator"),
        ])
    );
    assert_nothing_left(&lab, 1.0);
}

#[test]
fn out_of_dialog_refer_with_a_busy_sipfrag_is_the_destinations_failure() {
    let lab = Lab::start("ood-busy", ServerConfig::calls());
    let (got, _) = ood(&lab, "initiator_refer_ood_busy.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            ACCEPTED,
            (486, "Destination", "Failed to connect to destination"),
        ])
    );
    assert_nothing_left(&lab, 1.0);
}

/// RFC 6665 §4.1.2.4: the first NOTIFY may overtake the 202; it is answered 200 in the
/// dialog it makes, and the call goes on as usual.
#[test]
fn a_notify_before_the_202_is_answered_and_the_call_completes() {
    let lab = Lab::start("ood-notify-first", ServerConfig::calls());
    let (got, _) = ood(&lab, "initiator_refer_ood_notify_first.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            ACCEPTED,
            (180, "Destination", "Ringing destination"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    assert_nothing_left(&lab, 1.0);
}

/// `clicktocall.html?…&mode=refer-ood`: the page names the mode, and the phone gets the
/// REFER (its scenario fails on an INVITE).
#[test]
fn the_http_page_selects_the_mode_with_its_mode_parameter() {
    let lab = Lab::start("ood-http", ServerConfig::calls());
    let (mut initiator, destination) =
        lab.transferring_phone(PhoneRun::Udp, "initiator_refer_ood_ok.xml", &[]);
    let page = http_get(
        lab.server.http_addr(),
        &format!(
            "/clicktocall.html?initiator={}&destination={}&mode=refer-ood",
            initiator.phone("100"),
            destination
        ),
        "",
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("(out-of-dialog REFER)..."),
        "{}",
        page.body
    );
    initiator.expect_pass();
    let id = page.header("X-Call-Id").expect("X-Call-Id").to_owned();
    let call = ApiClient::new(lab.server.http_addr()).call(&id);
    assert_eq!(call.json["mode"], "refer-ood", "{:?}", call.json);
}

/// `"mode": "refer-ood"` on the JSON API: the call's state shows the mode, its event
/// stream the results.
#[test]
fn the_json_api_selects_the_mode_and_shows_it() {
    let lab = Lab::start("ood-json", ServerConfig::calls());
    let api = ApiClient::new(lab.server.http_addr());
    let (mut initiator, destination) =
        lab.transferring_phone(PhoneRun::Udp, "initiator_refer_ood_busy.xml", &[]);
    let id = api.place_ok(&json!({
        "initiator": initiator.phone("100"),
        "destination": destination,
        "mode": "refer-ood",
    }));
    let all = api.events(&id).until_end();
    let codes: Vec<(u64, String)> = all
        .iter()
        .filter(|e| e.name == "progress")
        .map(|e| {
            (
                e.data["code"].as_u64().unwrap_or(0),
                e.data["leg"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            (200, "Initiator".to_owned()),
            (486, "Destination".to_owned())
        ],
        "{all:?}"
    );
    initiator.expect_pass();
    let call = api.call(&id).json;
    assert_eq!(call["mode"], "refer-ood", "{call:?}");
    assert_eq!(call["anchor"], false);
    assert_eq!(call["result"]["code"], 486);
}

/// `CallMode = refer-ood` makes it the mode of a legacy request (`<AnchorCall>false`),
/// byte for byte the original's document.
#[test]
fn the_call_mode_key_makes_it_the_default_for_legacy_requests() {
    let lab = Lab::start(
        "ood-default",
        ServerConfig::calls().set("CallMode", "refer-ood"),
    );
    let (got, _) = lab.refer_call("initiator_refer_ood_ok.xml", &[]);
    assert_eq!(
        got.last(),
        Some(&Event::new(200, "Destination", "Connected to destination"))
    );
    assert_eq!(got[1], Event::new(ACCEPTED.0, ACCEPTED.1, ACCEPTED.2));
    assert_nothing_left(&lab, 1.0);
}

/// A 401 to the out-of-dialog REFER is answered once with `SipAuthUser`'s credentials
/// (RFC 3261 §22.2), as an INVITE's: SIPp's verifyauth checks the hash.
#[test]
fn a_challenged_out_of_dialog_refer_is_sent_again_with_credentials() {
    let password = "phone secret";
    let lab = Lab::start(
        "ood-auth",
        ServerConfig::calls()
            .set("SipAuthUser", "c2c")
            .set("SipAuthPassword", password),
    );
    let (got, initiator) = ood(
        &lab,
        "initiator_refer_ood_challenges.xml",
        &[("PASSWORD", password.to_string())],
    );
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            ACCEPTED,
            (200, "Destination", "Connected to destination"),
        ])
    );
    assert_eq!(initiator.received("REFER"), 2);
    assert_nothing_left(&lab, 1.0);
}
