//! The out-of-dialog REFER mode (RFC 5359 §2.18) through SIP messages: the REFER, its
//! subscription's NOTIFYs (before the 2xx too), refusals, silence and challenges; every
//! path ends in one final result with nothing left behind and no BYE.

use super::*;
use crate::c2c::command::{CallMode, CallOptions};

fn place_ood(e: &mut Engine, now: Instant) -> Receiver<Progress> {
    place_with(e, now, false, ood_options())
}

fn ood_options() -> CallOptions {
    CallOptions {
        mode: Some(CallMode::ReferOutOfDialog),
        ..CallOptions::default()
    }
}

/// An out-of-dialog REFER its phone accepted (202): (progress, REFER).
fn accepted(e: &mut Engine, now: Instant) -> (Receiver<Progress>, Message) {
    let rx = place_ood(e, now);
    let (rtx, refer) = one_request(e);
    reply(e, now, rtx, answer(&refer, 202, "p", None));
    (rx, refer)
}

/// A NOTIFY of the REFER's subscription from the initiator's phone (tag `p`).
fn notify(refer: &Message, cseq: u32, state: &str, frag: &str) -> Message {
    let headers = format!(
        "Event: refer\r\nSubscription-State: {state}\r\nContact: <sip:100@127.0.0.1:5061>\r\nContent-Type: message/sipfrag\r\n"
    );
    in_dialog(refer, "NOTIFY", cseq, "p", &headers, frag)
}

fn assert_nothing_left(e: &Engine) {
    assert_eq!(e.counts(), EngineCounts::default());
}

/// The NOTIFY that ends the subscription with the transfer's final status line `frag`.
fn final_notify(refer: &Message, cseq: u32, frag: &str) -> Message {
    notify(refer, cseq, "terminated;reason=noresource", frag)
}

/// Sends the NOTIFY and checks it alone was answered, 200.
fn notified(e: &mut Engine, now: Instant, stx: u64, n: Message) {
    from_initiator(e, now, stx, n);
    let (tx, code, _) = one_response(e);
    assert_eq!((tx, code), (stx, 200));
}

#[test]
fn the_refer_goes_outside_any_dialog_and_the_final_sipfrag_ends_the_call_without_bye() {
    let mut e = engine();
    let now = Instant::now();
    let rx = place_ood(&mut e, now);
    let (rtx, refer) = one_request(&mut e);
    assert_eq!(refer.method(), Some(&Method::Refer));
    assert_eq!(
        refer.request_uri().unwrap().to_string(),
        "sip:100@127.0.0.1:5061"
    );
    assert_eq!(refer.to_tag(), None, "no dialog yet");
    assert!(refer.from_tag().is_some());
    assert_eq!(refer.cseq().unwrap(), (1, Method::Refer));
    assert_eq!(refer.header("Refer-To"), Some("<sip:200@127.0.0.1:5062>"));
    assert_eq!(
        refer.header("Referred-By"),
        Some("\"Click-To-Call: 200\"<sip:click2call@127.0.0.1>")
    );
    assert_eq!(
        refer
            .header("From")
            .map(|f| f.starts_with("\"Click-To-Call: 200\"<sip:click2call@127.0.0.1>;tag=")),
        Some(true)
    );
    assert_eq!(
        refer.header("Contact"),
        Some("<sip:click2call@127.0.0.1:5072>")
    );
    reply(&mut e, now, rtx, answer(&refer, 202, "p", None));
    assert!(sent(&mut e).is_empty());
    notified(
        &mut e,
        now,
        1,
        notify(&refer, 1, "active;expires=60", "SIP/2.0 100 Trying\r\n"),
    );
    notified(
        &mut e,
        now,
        2,
        notify(&refer, 2, "active;expires=60", "SIP/2.0 180 Ringing\r\n"),
    );
    notified(
        &mut e,
        now,
        3,
        final_notify(&refer, 3, "SIP/2.0 200 OK\r\n"),
    );
    let got: Vec<(u16, L, String)> = rx.try_iter().map(|p| (p.code, p.leg, p.text)).collect();
    assert_eq!(
        got,
        vec![
            (
                200,
                L::Initiator,
                "Initiator accepted the REFER".to_string()
            ),
            (180, L::Destination, "Ringing destination".to_string()),
            (200, L::Destination, "Connected to destination".to_string()),
        ]
    );
    assert_nothing_left(&e);
    // A NOTIFY after the call is over finds no dialog: 481 (RFC 6665 §4.1.3 makes the
    // notifier end its subscription).
    from_initiator(
        &mut e,
        now,
        4,
        notify(&refer, 4, "terminated", "SIP/2.0 200 OK\r\n"),
    );
    assert_eq!(one_response(&mut e).1, 481);
}

/// RFC 6665 §4.1.2.4: the NOTIFY may come before the 202; it makes the dialog and says
/// the REFER was accepted; the 202 after it changes nothing.
#[test]
fn a_notify_before_the_202_is_answered_and_taken_as_acceptance() {
    let mut e = engine();
    let now = Instant::now();
    let rx = place_ood(&mut e, now);
    let (rtx, refer) = one_request(&mut e);
    notified(
        &mut e,
        now,
        1,
        notify(&refer, 1, "active;expires=60", "SIP/2.0 100 Trying\r\n"),
    );
    assert_eq!(events(&rx), vec![(200, L::Initiator)]);
    reply(&mut e, now, rtx, answer(&refer, 202, "p", None));
    assert!(sent(&mut e).is_empty());
    assert!(rx.try_recv().is_err(), "the acceptance is reported once");
    notified(
        &mut e,
        now,
        2,
        final_notify(&refer, 2, "SIP/2.0 200 OK\r\n"),
    );
    assert_eq!(events(&rx), vec![(200, L::Destination)]);
    assert_nothing_left(&e);
}

/// There is no dialog to anchor: every refusal, 491 included, ends the call with its
/// code on the initiator's leg, and nothing is sent after it.
#[test]
fn a_refused_refer_ends_the_call_with_its_code() {
    for code in [603, 403, 405, 501, 491, 481] {
        let mut e = engine();
        let now = Instant::now();
        let rx = place_ood(&mut e, now);
        let (rtx, refer) = one_request(&mut e);
        reply(&mut e, now, rtx, answer(&refer, code, "p", None));
        assert!(sent(&mut e).is_empty(), "{code}: nothing after the refusal");
        assert_eq!(events(&rx), vec![(code, L::Initiator)], "{code}");
        assert_nothing_left(&e);
    }
}

#[test]
fn a_failing_sipfrag_is_the_destinations_failure() {
    let mut e = engine();
    let now = Instant::now();
    let (rx, refer) = accepted(&mut e, now);
    notified(
        &mut e,
        now,
        1,
        final_notify(&refer, 1, "SIP/2.0 486 Busy Here\r\n"),
    );
    assert_eq!(
        events(&rx),
        vec![(200, L::Initiator), (486, L::Destination)]
    );
    assert_nothing_left(&e);
}

/// An accepted REFER whose phone never NOTIFYs: the transfer deadline (`RingTimeout` +
/// 32 s) ends it with 408; a REFER nobody answers ends with the transaction's 408.
#[test]
fn silence_ends_the_call_with_408() {
    let mut e = engine();
    let now = Instant::now();
    let (rx, _) = accepted(&mut e, now);
    let due = e.poll_timeout().expect("the transfer deadline");
    assert_eq!(due, now + Duration::from_secs(30 + 32));
    e.handle_timeout(due - Duration::from_millis(1));
    assert_eq!(events(&rx), vec![(200, L::Initiator)]);
    e.handle_timeout(due);
    assert_eq!(events(&rx), vec![(408, L::Destination)]);
    assert!(sent(&mut e).is_empty(), "no BYE, no CANCEL");
    assert_nothing_left(&e);

    let rx = place_ood(&mut e, now);
    let (rtx, _) = one_request(&mut e);
    e.handle_sip_event(
        now,
        SipEvent::TxFailed {
            tx: rtx,
            reason: TxFailure::Timeout,
        },
    );
    assert_eq!(events(&rx), vec![(408, L::Initiator)]);
    assert_nothing_left(&e);
}

/// A NOTIFY's `expires` bounds the wait for the final one (RFC 3515 §2.4.6).
#[test]
fn the_last_notifys_expiry_bounds_the_transfer() {
    let mut e = engine();
    let now = Instant::now();
    let (rx, refer) = accepted(&mut e, now);
    notified(
        &mut e,
        now,
        1,
        notify(&refer, 1, "active;expires=5", "SIP/2.0 100 Trying\r\n"),
    );
    assert_eq!(e.poll_timeout(), Some(now + Duration::from_secs(5)));
    e.handle_timeout(now + Duration::from_secs(5));
    assert_eq!(
        events(&rx),
        vec![(200, L::Initiator), (408, L::Destination)]
    );
    assert_nothing_left(&e);
}

/// A 401 to the REFER is answered with credentials (RFC 3261 §22.2): the same REFER,
/// next CSeq, the same Call-ID and From tag, with Authorization.
#[test]
fn a_challenged_refer_is_sent_again_with_credentials() {
    let mut e = Engine::new(EngineConfig {
        credentials: Some(crate::ua::digest::Credentials {
            user: "c2c".into(),
            password: "secret".into(),
            realm: None,
        }),
        ..config()
    });
    let now = Instant::now();
    let rx = place_ood(&mut e, now);
    let (rtx, refer) = one_request(&mut e);
    let mut challenge = answer(&refer, 401, "p", None);
    challenge.push_header(
        "WWW-Authenticate",
        "Digest realm=\"phones\", nonce=\"n1\", qop=\"auth\", algorithm=MD5",
    );
    reply(&mut e, now, rtx, challenge);
    let (rtx2, again) = one_request(&mut e);
    assert_ne!(rtx2, rtx);
    assert_eq!(again.cseq().unwrap(), (2, Method::Refer));
    assert_eq!(again.call_id().ok(), refer.call_id().ok());
    assert_eq!(again.from_tag(), refer.from_tag());
    assert_eq!(again.to_tag(), None);
    let auth = again.header("Authorization").expect("credentials");
    assert!(
        auth.contains("username=\"c2c\"") && auth.contains("realm=\"phones\""),
        "{auth}"
    );
    assert_eq!(again.header("Refer-To"), refer.header("Refer-To"));
    assert!(rx.try_recv().is_err(), "a challenge is not a result");
    reply(&mut e, now, rtx2, answer(&again, 202, "p", None));
    notified(
        &mut e,
        now,
        1,
        final_notify(&again, 1, "SIP/2.0 200 OK\r\n"),
    );
    assert_eq!(
        events(&rx),
        vec![(200, L::Initiator), (200, L::Destination)]
    );
    assert_nothing_left(&e);
}

/// The API's hang-up ends the call for us at once, with nothing to send: the phone's own
/// call is not ours; its later NOTIFYs get 481.
#[test]
fn a_hang_up_ends_the_call_at_once_without_sip() {
    let mut e = engine();
    let now = Instant::now();
    let id = crate::c2c::command::CallId::generate(None).expect("random bits");
    let rx = place_as(&mut e, now, true, id.clone(), ood_options());
    let (rtx, refer) = one_request(&mut e);
    assert_eq!(
        refer.method(),
        Some(&Method::Refer),
        "the mode wins over anchor"
    );
    reply(&mut e, now, rtx, answer(&refer, 202, "p", None));
    let (htx, hrx) = unbounded();
    e.handle_command(now, Command::Hangup { id, reply: htx });
    assert_eq!(hrx.try_recv(), Ok(HangupOutcome::HangingUp));
    assert!(sent(&mut e).is_empty());
    assert_eq!(
        events(&rx),
        vec![(200, L::Initiator), (487, L::Destination)]
    );
    assert_nothing_left(&e);
    from_initiator(
        &mut e,
        now,
        1,
        notify(&refer, 1, "active", "SIP/2.0 180 Ringing\r\n"),
    );
    assert_eq!(one_response(&mut e).1, 481);
}

/// `CallMode = refer-ood` makes it the mode of a call whose request names none;
/// `AnchorCall` still makes one anchored.
#[test]
fn the_call_mode_key_is_the_default_and_anchor_still_anchors() {
    let mut e = Engine::new(EngineConfig {
        call_mode: CallMode::ReferOutOfDialog,
        ..config()
    });
    let _rx = place(&mut e, false);
    let (_, req) = one_request(&mut e);
    assert_eq!(req.method(), Some(&Method::Refer));
    let _rx = place(&mut e, true);
    let (_, req) = one_request(&mut e);
    assert_eq!(req.method(), Some(&Method::Invite));
}
