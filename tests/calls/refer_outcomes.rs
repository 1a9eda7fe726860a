//! Call engine, REFER-mode transfers whose outcome is not a final NOTIFY, black box
//! (issue 17 items 5 and 6): `Refer-Sub: false`, a transferee hanging up or ending the
//! subscription without a final, a NOTIFY's expiry, and a REFER answered 481 (the
//! initiator's dialog is gone: no anchored fallback, the destination never rung).

use crate::support::{lab::Lab, lab::events, server::ServerConfig, xml::Event};

/// The initiator's leg up, then `code` for the destination with `text`.
fn connected_then(code: u16, text: &str) -> Vec<Event> {
    events(&[
        (100, "", "In progress"),
        (180, "Initiator", "Ringing initiator"),
        (200, "Initiator", "Connected to initiator"),
        (code, "Destination", text),
    ])
}

#[test]
fn refer_accepted_without_subscription_is_reported_transferred() {
    let lab = Lab::start("refer-sub-false", ServerConfig::calls());
    // 202 with Refer-Sub: false, no NOTIFY; needs our BYE.
    let (got, _) = lab.refer_call("initiator_refer_sub_false.xml", &[]);
    assert_eq!(got, connected_then(200, "Transferred to destination"));
}

#[test]
fn transferee_hanging_up_before_a_final_notify_is_487_at_once() {
    let lab = Lab::start("refer-bye-before-notify", ServerConfig::calls());
    // 202, NOTIFY 100 Trying, then its own BYE.
    let (got, _) = lab.refer_call("initiator_refer_bye_before_notify.xml", &[]);
    assert_eq!(got, connected_then(487, "Failed to connect to destination"));
}

#[test]
fn subscription_terminated_without_a_final_sipfrag_is_487_at_once() {
    let lab = Lab::start("refer-terminated-no-final", ServerConfig::calls());
    // 202, NOTIFY "100 Trying" with Subscription-State: terminated; needs our BYE.
    let (got, _) = lab.refer_call("initiator_refer_terminated_no_final.xml", &[]);
    assert_eq!(got, connected_then(487, "Failed to connect to destination"));
}

#[test]
fn transfer_ends_408_when_the_notifys_expires_passes() {
    let lab = Lab::start("refer-notify-expires", ServerConfig::calls());
    // 202, NOTIFY 180 Ringing with expires=3, then silence; needs our BYE.
    let (got, _) = lab.refer_call("initiator_refer_notify_expires.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (180, "Destination", "Ringing destination"),
            (408, "Destination", "Failed to connect to destination"),
        ])
    );
    // The NOTIFY's 3 s, not RingTimeout + 32 s: bounded well below the latter.
    let (ringing, last) = (&got[3], &got[4]);
    let waited = last.at.duration_since(ringing.at);
    assert!(
        waited < std::time::Duration::from_secs(20),
        "408 came {waited:?} after the ringing NOTIFY"
    );
}

#[test]
fn refer_answered_481_ends_the_call_without_fallback_or_destination() {
    let lab = Lab::start("refer-481", ServerConfig::calls());
    let mut initiator = lab.uas("initiator_refer_481.xml", &[]);
    // A destination phone that fails its scenario on an INVITE: it must never be called.
    let destination = lab.uas(
        "destination_busy.xml",
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), false);
    assert_eq!(got, connected_then(481, "Failed to connect to destination"));
    // Only a BYE follows the 481 (a fallback re-INVITE fails the scenario).
    initiator.expect_pass();
    assert_eq!(
        initiator.received("INVITE"),
        1,
        "a fallback INVITE reached the initiator"
    );
    assert_eq!(initiator.received("BYE"), 1);
    assert!(
        !destination.messages().contains("INVITE"),
        "the destination was called"
    );
}
