//! Anchored calls: a phone's in-dialog INFO and MESSAGE relayed to the other phone, and
//! what its sender hears when the copy fails or the call ends first.

use super::*;

const DTMF: &str = "Signal=5\r\nDuration=160\r\n";
const DTMF_HEADERS: &str = "Content-Type: application/dtmf-relay\r\nInfo-Package: dtmf\r\n";

#[test]
fn anchored_info_is_relayed_with_its_body_and_the_answer_comes_back() {
    let mut e = engine();
    let now = Instant::now();
    let (invite, dinv) = anchored_up(&mut e, now);
    let info = in_dialog(&invite, "INFO", 7, "a", DTMF_HEADERS, DTMF);
    from_initiator(&mut e, now, 20, info);
    let (rtx, copy) = one_request(&mut e);
    assert_eq!(copy.method(), Some(&Method::Info));
    assert_eq!(
        copy.call_id().ok(),
        dinv.call_id().ok(),
        "the destination's dialog"
    );
    assert_eq!(copy.to_tag(), Some("d"));
    assert_eq!(copy.from_tag(), dinv.from_tag());
    assert_eq!(
        copy.cseq().unwrap(),
        (2, Method::Info),
        "the leg's own next CSeq"
    );
    assert_eq!(copy.body(), DTMF.as_bytes());
    assert_eq!(copy.header("Content-Type"), Some("application/dtmf-relay"));
    assert_eq!(copy.header("Info-Package"), Some("dtmf"));
    assert_eq!(copy.header("Via"), None, "the reactor adds our own Via");
    reply(&mut e, now, rtx, answer(&copy, 200, "d", None));
    assert_eq!(one_response(&mut e), (20, 200, "X".into()));
    // A late retransmission of that answer changes nothing.
    reply(&mut e, now, rtx, answer(&copy, 200, "d", None));
    assert!(sent(&mut e).is_empty());
    // The other way: the destination's INFO reaches the initiator; its 415 comes back.
    let info = in_dialog(&dinv, "INFO", 3, "d", DTMF_HEADERS, DTMF);
    from_initiator(&mut e, now, 21, info);
    let (rtx, copy) = one_request(&mut e);
    assert_eq!(copy.call_id().ok(), invite.call_id().ok());
    assert_eq!(copy.body(), DTMF.as_bytes());
    reply(&mut e, now, rtx, answer(&copy, 415, "a", None));
    assert_eq!(one_response(&mut e), (21, 415, "X".into()));
    assert_eq!(e.active_calls(), 1, "a refused INFO does not end the call");
}

#[test]
fn anchored_message_is_relayed_and_a_transport_failure_becomes_503() {
    let mut e = engine();
    let now = Instant::now();
    let (invite, dinv) = anchored_up(&mut e, now);
    let text = "hello";
    let msg = in_dialog(
        &invite,
        "MESSAGE",
        7,
        "a",
        "Content-Type: text/plain\r\n",
        text,
    );
    from_initiator(&mut e, now, 30, msg);
    let (rtx, copy) = one_request(&mut e);
    assert_eq!(copy.method(), Some(&Method::Message));
    assert_eq!(copy.call_id().ok(), dinv.call_id().ok());
    assert_eq!(copy.body(), text.as_bytes());
    assert_eq!(copy.header("Content-Type"), Some("text/plain"));
    assert_eq!(
        copy.header("Contact"),
        None,
        "RFC 3428: no Contact in MESSAGE"
    );
    reply(&mut e, now, rtx, answer(&copy, 488, "d", None));
    assert_eq!(one_response(&mut e), (30, 488, "X".into()));
    // A time-out ends the call (see the failure tests); a transport error fails only
    // the transaction.
    let info = in_dialog(&invite, "INFO", 9, "a", DTMF_HEADERS, DTMF);
    from_initiator(&mut e, now, 9, info);
    let (rtx, _) = one_request(&mut e);
    let reason = crate::sip::reactor::TxFailure::Transport("refused".into());
    e.handle_sip_event(now, SipEvent::TxFailed { tx: rtx, reason });
    let (stx, got, _) = one_response(&mut e);
    assert_eq!((stx, got), (9, 503));
    // A backlog of unanswered relays is bounded: the 17th waiting one gets 503.
    for cseq in 10..=25 {
        let info = in_dialog(&invite, "INFO", cseq, "a", DTMF_HEADERS, DTMF);
        from_initiator(&mut e, now, u64::from(cseq), info);
        one_request(&mut e);
    }
    let info = in_dialog(&invite, "INFO", 26, "a", DTMF_HEADERS, DTMF);
    from_initiator(&mut e, now, 26, info);
    assert_eq!(
        one_response(&mut e),
        (26, 503, "Service Unavailable".into())
    );
    assert_eq!(e.active_calls(), 1);
}

#[test]
fn info_is_answered_locally_unless_the_other_anchored_leg_is_up() {
    // REFER mode: nothing to relay to. Anchored, but the destination has not answered yet:
    // nowhere to relay to yet.
    for (anchor, tx) in [(false, 40), (true, 41)] {
        let mut e = engine();
        let now = Instant::now();
        let _rx = place(&mut e, anchor);
        let (itx, invite) = one_request(&mut e);
        reply(&mut e, now, itx, answer(&invite, 200, "a", Some("v=0\r\n")));
        sent(&mut e);
        from_initiator(
            &mut e,
            now,
            tx,
            in_dialog(&invite, "INFO", 5, "a", DTMF_HEADERS, DTMF),
        );
        assert_eq!(
            one_response(&mut e),
            (tx, 200, "OK".into()),
            "anchor={anchor}"
        );
    }
}

#[test]
fn a_pending_relay_is_answered_487_when_the_call_ends() {
    // The initiator hangs up while its INFO waits for the destination: 487 at once
    // (RFC 3261 §15.1.2), and the destination's late answer goes nowhere.
    let mut e = engine();
    let now = Instant::now();
    let (invite, _) = anchored_up(&mut e, now);
    from_initiator(
        &mut e,
        now,
        50,
        in_dialog(&invite, "INFO", 7, "a", DTMF_HEADERS, DTMF),
    );
    let (rtx, copy) = one_request(&mut e);
    from_initiator(&mut e, now, 51, in_dialog(&invite, "BYE", 8, "a", "", ""));
    let cmds = sent(&mut e);
    let answered: Vec<(u64, u16)> = cmds
        .iter()
        .filter_map(|c| match c {
            SipCommand::Respond { tx, response } => Some((tx.0, response.status()?)),
            _ => None,
        })
        .collect();
    assert_eq!(answered, vec![(51, 200), (50, 487)], "{cmds:?}");
    reply(&mut e, now, rtx, answer(&copy, 200, "d", None));
    assert!(
        !sent(&mut e)
            .iter()
            .any(|c| matches!(c, SipCommand::Respond { .. })),
        "the INFO was answered once"
    );
    // Shutdown with an INFO from the destination pending on the initiator's side.
    let mut e = engine();
    let (_, dinv) = anchored_up(&mut e, now);
    from_initiator(
        &mut e,
        now,
        60,
        in_dialog(&dinv, "MESSAGE", 3, "d", "", "hi"),
    );
    one_request(&mut e);
    e.shutdown(now);
    let cmds = sent(&mut e);
    assert!(
        matches!(&cmds[0], SipCommand::Respond { tx: ServerTxId(60), response } if response.status() == Some(487)),
        "{cmds:?}"
    );
    // The call is forgotten after both BYEs are answered, with nothing left to answer.
    let byes: Vec<(ClientTxId, Message)> = cmds
        .into_iter()
        .filter_map(|c| match c {
            SipCommand::SendRequest { tx, request } => Some((tx, request)),
            _ => None,
        })
        .collect();
    assert_eq!(byes.len(), 2);
    for (tx, bye) in byes {
        let tag = if bye.call_id().ok() == dinv.call_id().ok() {
            "d"
        } else {
            "a"
        };
        reply(&mut e, now, tx, answer(&bye, 200, tag, None));
    }
    assert_eq!(e.active_calls(), 0);
    assert!(
        !sent(&mut e)
            .iter()
            .any(|c| matches!(c, SipCommand::Respond { .. }))
    );
}
