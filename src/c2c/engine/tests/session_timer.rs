//! Session timers (RFC 4028) on a manual clock: the phone as refresher, its refreshes and
//! their answers, our refreshes that fail without ending the session, and a refresh that
//! falls due while another INVITE of ours is out.

use super::*;

/// An anchored call whose initiator leg's last 2xx set `Session-Expires: <se>`: returns the
/// initiator's INVITE and the destination's INVITE.
fn anchored_with_timer(e: &mut Engine, now: Instant, se: &str) -> (Message, Message) {
    let up = anchored_to_reinvite(e, now, &[], "v=0\r\no=d\r\n");
    let mut ok = answer(&up.reinv, 200, "a", Some("v=0\r\no=i\r\n"));
    ok.push_header("Session-Expires", se);
    reply(e, now, up.rtx, ok);
    sent(e);
    (up.invite, up.dinv)
}

fn byes(cmds: &[SipCommand]) -> Vec<String> {
    cmds.iter()
        .filter_map(|c| match c {
            SipCommand::SendRequest { request, .. } if request.method() == Some(&Method::Bye) => {
                request.call_id().ok().map(str::to_owned)
            }
            _ => None,
        })
        .collect()
}

/// RFC 4028 §10: the phone refreshes; when it stops, we send BYE before the session
/// expires, min(32 s, interval/3) ahead: 90 s − 30 s = 60 s. The call ends on both legs.
#[test]
fn a_phone_refresher_that_stops_refreshing_is_hung_up_before_expiry() {
    let mut e = engine();
    let now = Instant::now();
    let (invite, dinv) = anchored_with_timer(&mut e, now, "90;refresher=uas");
    e.handle_timeout(now + Duration::from_secs(59));
    assert!(byes(&sent(&mut e)).is_empty(), "nothing before 60 s");
    e.handle_timeout(now + Duration::from_secs(60));
    assert_eq!(
        byes(&sent(&mut e)),
        vec![
            invite.call_id().unwrap().to_owned(),
            dinv.call_id().unwrap().to_owned()
        ]
    );
}

/// The phone's refresh (an UPDATE without a body) gets a 2xx naming the interval and the
/// refresher, with `Require: timer` (RFC 4028 §9), and moves our expiry on.
#[test]
fn a_phone_refresh_is_answered_with_the_timer_and_moves_the_expiry() {
    let mut e = engine();
    let now = Instant::now();
    let (invite, _) = anchored_with_timer(&mut e, now, "90;refresher=uas");
    let t = now + Duration::from_secs(45);
    let update = in_dialog(
        &invite,
        "UPDATE",
        2,
        "a",
        "Session-Expires: 120;refresher=uac\r\nSupported: timer\r\n",
        "",
    );
    from_initiator(&mut e, t, 7, update);
    let cmds = sent(&mut e);
    let [SipCommand::Respond { response, .. }] = &cmds[..] else {
        panic!("one response expected: {cmds:?}")
    };
    assert_eq!(response.status(), Some(200));
    assert_eq!(
        response.header("Session-Expires"),
        Some("120;refresher=uac")
    );
    assert_eq!(response.header("Require"), Some("timer"));
    // 120 s from the refresh, less min(32, 40) = 32 s: not at 60 s as before the refresh.
    e.handle_timeout(t + Duration::from_secs(87));
    assert!(
        byes(&sent(&mut e)).is_empty(),
        "the refresh moved the expiry"
    );
    e.handle_timeout(t + Duration::from_secs(88));
    assert!(byes(&sent(&mut e)).contains(&invite.call_id().unwrap().to_owned()));
}

/// A phone asking for an interval below our Min-SE gets 422 with our Min-SE (RFC 4028 §9).
#[test]
fn a_phone_refresh_below_min_se_gets_422() {
    let mut e = engine();
    let now = Instant::now();
    let (invite, _) = anchored_up(&mut e, now);
    let update = in_dialog(&invite, "UPDATE", 2, "a", "Session-Expires: 30\r\n", "");
    from_initiator(&mut e, now, 7, update);
    let cmds = sent(&mut e);
    let [SipCommand::Respond { response, .. }] = &cmds[..] else {
        panic!("one response expected: {cmds:?}")
    };
    assert_eq!(response.status(), Some(422));
    assert_eq!(response.header("Min-SE"), Some("90"));
}

/// Our refresh answered 488 or 500 fails only its transaction (RFC 4028 §10 ends the
/// session on 408 and 481 only): the call goes on and the refresh is tried again halfway
/// to the session's end; when time runs out the session expires with a BYE.
#[test]
fn a_refused_refresh_is_tried_again_and_the_session_expires_at_its_end() {
    let mut e = engine();
    let now = Instant::now();
    let (invite, _) = anchored_with_timer(&mut e, now, "90;refresher=uac");
    let t45 = now + Duration::from_secs(45);
    e.handle_timeout(t45);
    let (ftx, refresh) = one_request(&mut e);
    assert_eq!(refresh.method(), Some(&Method::Invite));
    reply(&mut e, t45, ftx, answer(&refresh, 488, "a", None));
    let cmds = sent(&mut e);
    assert!(
        byes(&cmds).is_empty(),
        "488 does not end the call: {cmds:?}"
    );
    // Half of the 45 s left.
    let retry = t45 + Duration::from_millis(22_500);
    assert_eq!(e.poll_timeout(), Some(retry));
    e.handle_timeout(retry);
    let (ftx, again) = one_request(&mut e);
    assert_eq!(again.method(), Some(&Method::Invite));
    reply(&mut e, retry, ftx, answer(&again, 500, "a", None));
    sent(&mut e);
    // Retries go on halving while a second or more is left; then the session expires.
    let mut guard = 0;
    while let Some(t) = e.poll_timeout() {
        guard += 1;
        assert!(guard < 20, "bounded retries");
        e.handle_timeout(t);
        let cmds = sent(&mut e);
        if !byes(&cmds).is_empty() {
            assert_eq!(t, now + Duration::from_secs(90), "BYE at the session's end");
            assert!(byes(&cmds).contains(&invite.call_id().unwrap().to_owned()));
            return;
        }
        for c in cmds {
            if let SipCommand::SendRequest { tx, request } = c {
                reply(&mut e, t, tx, answer(&request, 500, "a", None));
                sent(&mut e);
            }
        }
    }
    panic!("the session never expired");
}

/// 422 to our refresh: sent again at once with the phone's Min-SE as the interval and as
/// the Min-SE it carries (RFC 4028 §7.4: the largest Min-SE received).
#[test]
fn a_422_to_our_refresh_retries_with_the_phones_min_se() {
    let mut e = engine();
    let now = Instant::now();
    anchored_with_timer(&mut e, now, "90;refresher=uac");
    let t45 = now + Duration::from_secs(45);
    e.handle_timeout(t45);
    let (ftx, refresh) = one_request(&mut e);
    let mut too_small = answer(&refresh, 422, "a", None);
    too_small.push_header("Min-SE", "300");
    reply(&mut e, t45, ftx, too_small);
    e.handle_timeout(t45);
    let (_, again) = one_request(&mut e);
    assert_eq!(again.header("Session-Expires"), Some("300;refresher=uac"));
    assert_eq!(again.header("Min-SE"), Some("300"));
}

/// A refresh due while another INVITE of ours is out in the dialog waits and is tried
/// again 2 s later (RFC 3261 §14.1: one INVITE at a time), instead of being dropped.
#[test]
fn a_refresh_due_during_another_invite_is_postponed_not_dropped() {
    let mut e = engine();
    let now = Instant::now();
    let (_, dinv) = anchored_with_timer(&mut e, now, "90;refresher=uac");
    // At 40 s the destination changes its offer: relayed to the initiator, unanswered.
    let t40 = now + Duration::from_secs(40);
    let offer = "v=0\r\no=d 2\r\n";
    let reinvite = in_dialog(
        &dinv,
        "INVITE",
        3,
        "d",
        "Content-Type: application/sdp\r\n",
        offer,
    );
    from_initiator(&mut e, t40, 30, reinvite);
    let (_, copy) = one_request(&mut e);
    assert_eq!(copy.method(), Some(&Method::Invite));
    let due = |e: &Engine, t: Instant| {
        e.reinvites_due
            .contains(&(t, 1, L::Initiator, Redo::Refresh))
    };
    let t45 = now + Duration::from_secs(45);
    assert!(due(&e, t45), "the refresh is due at 45 s");
    for t in [t45, t45 + Duration::from_secs(2)] {
        e.handle_timeout(t);
        assert!(
            sent(&mut e)
                .iter()
                .all(|c| !matches!(c, SipCommand::SendRequest { .. })),
            "no second INVITE while one is pending"
        );
        assert!(due(&e, t + Duration::from_secs(2)), "tried again 2 s later");
    }
}

/// RFC 4028 §7.4: a 422 to the initial INVITE makes it go again (next CSeq, same dialog
/// identifiers) asking for the phone's Min-SE; a second 422 is the leg's failure.
#[test]
fn a_422_to_the_initial_invite_is_retried_once_with_the_phones_min_se() {
    let mut e = engine();
    let rx = place(&mut e, false);
    let now = Instant::now();
    let (itx, invite) = one_request(&mut e);
    assert_eq!(invite.header("Session-Expires"), Some("1800"));
    let mut too_small = answer(&invite, 422, "a", None);
    too_small.push_header("Min-SE", "3600");
    reply(&mut e, now, itx, too_small);
    let (again_tx, again) = one_request(&mut e);
    assert_eq!(again.cseq().unwrap(), (2, Method::Invite));
    assert_eq!(again.call_id().ok(), invite.call_id().ok());
    assert_eq!(again.from_tag(), invite.from_tag());
    assert_eq!(again.header("Session-Expires"), Some("3600"));
    assert_eq!(again.header("Min-SE"), Some("3600"));
    assert_eq!(again.body(), invite.body());
    let mut twice = answer(&again, 422, "a", None);
    twice.push_header("Min-SE", "7200");
    reply(&mut e, now, again_tx, twice);
    assert!(sent(&mut e).is_empty(), "no third INVITE");
    assert_eq!(events(&rx), vec![(422, L::Initiator)]);
}
