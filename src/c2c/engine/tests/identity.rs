//! The caller identity of each leg's INVITE (`c2c::identity`) as the engine sends it:
//! the configuration and per-call values, kept by a redirected INVITE.

use super::*;
use crate::c2c::command::{AutoAnswer, CallerOverride};
use crate::c2c::identity::{IdentityConfig, parse_asserted, parse_from};

fn configured() -> IdentityConfig {
    let mut id = IdentityConfig::default();
    id.initiator.from = Some(parse_from("sip:{destination}@{domain}").expect("template"));
    id.initiator.asserted = parse_asserted("from").expect("template");
    id.destination.from = Some(parse_from("sip:{initiator}@{domain}").expect("template"));
    id.destination.privacy_id = true;
    id.auto_answer = AutoAnswer::CallInfo;
    id
}

#[test]
fn a_redirected_initiator_invite_keeps_its_identity_and_auto_answer_headers() {
    let mut e = engine();
    e.cfg.caller_identity = configured();
    let _rx = place(&mut e, true);
    let (itx, invite) = one_request(&mut e);
    let from = "\"Click-To-Call: 200\"<sip:200@127.0.0.1>";
    assert!(invite.header("From").is_some_and(|f| f.starts_with(from)));
    assert_eq!(invite.header("P-Asserted-Identity"), Some(from));
    assert_eq!(
        invite.header("Call-Info"),
        Some("<sip:127.0.0.1>;answer-after=0")
    );
    let now = Instant::now();
    let mut moved = answer(&invite, 302, "r", None);
    moved.set_header("Contact", "<sip:100@127.0.0.1:5070>");
    reply(&mut e, now, itx, moved);
    let (_, again) = one_request(&mut e);
    assert_eq!(
        again.request_uri().map(ToString::to_string).as_deref(),
        Some("sip:100@127.0.0.1:5070")
    );
    assert_eq!(again.header("P-Asserted-Identity"), Some(from));
    assert_eq!(
        again.header("Call-Info"),
        Some("<sip:127.0.0.1>;answer-after=0")
    );
}

#[test]
fn per_call_values_reach_each_legs_invite() {
    let mut e = engine();
    e.cfg.caller_identity = configured();
    let _rx = place_with(
        &mut e,
        Instant::now(),
        true,
        CallOptions {
            initiator_caller: CallerOverride {
                display_name: Some("Desk".into()),
                caller_id: None,
            },
            destination_caller: CallerOverride {
                display_name: None,
                caller_id: Some("+1555".into()),
            },
            auto_answer: Some(AutoAnswer::None),
            ..CallOptions::default()
        },
    );
    let (itx, invite) = one_request(&mut e);
    assert!(
        invite
            .header("From")
            .is_some_and(|f| f.starts_with("\"Desk\"<sip:200@127.0.0.1>;tag="))
    );
    assert!(!invite.has_header("Call-Info"));
    reply(
        &mut e,
        Instant::now(),
        itx,
        answer(&invite, 200, "a", Some("v=0\r\n")),
    );
    let dinv = sent(&mut e)
        .into_iter()
        .find_map(|c| match c {
            SipCommand::SendRequest { request, .. }
                if request.method() == Some(&Method::Invite) =>
            {
                Some(request)
            }
            _ => None,
        })
        .expect("the destination's INVITE");
    assert!(
        dinv.header("From")
            .is_some_and(|f| f.starts_with("<sip:+1555@127.0.0.1>;tag=")),
        "{:?}",
        dinv.header("From")
    );
    assert_eq!(dinv.header("Privacy"), Some("id"));
    assert!(!dinv.has_header("Call-Info") && !dinv.has_header("P-Asserted-Identity"));
}

/// Out of dialog (RFC 5359 §2.18) the REFER is all the initiator's phone gets from us: it
/// carries the initiator's From and identity headers, but no auto-answer or extra header
/// (those ask a phone to answer our INVITE, and there is none).
#[test]
fn the_out_of_dialog_refer_carries_the_initiators_identity_but_no_auto_answer() {
    let mut e = engine();
    e.cfg.caller_identity = configured();
    e.cfg.caller_identity.extra_header =
        Some(crate::c2c::identity::ExtraHeader::parse("X-Vendor: 1").expect("header"));
    let options = CallOptions {
        mode: Some(CallMode::ReferOutOfDialog),
        ..CallOptions::default()
    };
    let _rx = place_with(&mut e, Instant::now(), false, options);
    let (_, refer) = one_request(&mut e);
    assert_eq!(refer.method(), Some(&Method::Refer));
    let from = "\"Click-To-Call: 200\"<sip:200@127.0.0.1>";
    assert!(
        refer.header("From").is_some_and(|f| f.starts_with(from)),
        "{:?}",
        refer.header("From")
    );
    assert_eq!(refer.header("P-Asserted-Identity"), Some(from));
    assert!(!refer.has_header("Call-Info") && !refer.has_header("X-Vendor"));
}
