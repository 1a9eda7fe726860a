//! Failure paths (issue 17): vanishing phones, unusable answers, relays that fail on the
//! other phone, transfers that end without a final NOTIFY. Each ends in one final report
//! and leaves no state behind.

use super::*;

/// Nothing is left of any call.
fn assert_empty(e: &Engine) {
    assert_eq!(e.counts(), EngineCounts::default(), "state left behind");
}

/// A phone that rings, then ignores everything, our CANCEL included, and a reactor that
/// never reports the INVITE's end: the session's guard reports 408 and the engine forgets
/// the call, its transactions and its dialog.
#[test]
fn a_phone_that_rings_and_vanishes_is_reported_408_and_forgotten() {
    let mut e = engine();
    let rx = place(&mut e, false);
    let (itx, invite) = one_request(&mut e);
    let start = Instant::now();
    reply(&mut e, start, itx, answer(&invite, 180, "a", None));
    let due = e.poll_timeout().expect("a ring timer");
    e.handle_timeout(due);
    assert!(matches!(&sent(&mut e)[..], [SipCommand::Cancel { tx }] if *tx == itx));
    let guard = e.poll_timeout().expect("a guard after the CANCEL");
    assert_eq!(guard, due + crate::c2c::session::LEG_GUARD);
    e.handle_timeout(guard);
    assert_eq!(events(&rx), vec![(180, L::Initiator), (408, L::Initiator)]);
    assert_empty(&e);
    assert_eq!(e.poll_timeout(), None);
}

/// RFC 3261 §13.2.2.4: a 2xx that arrives after its call was given up is still ACKed, and
/// the dialog it made is ended with BYE, built from the response; nothing is kept.
#[test]
fn a_2xx_after_the_call_is_forgotten_is_acked_and_byed() {
    let mut e = engine();
    let rx = place(&mut e, false);
    let (itx, invite) = one_request(&mut e);
    let start = Instant::now();
    reply(&mut e, start, itx, answer(&invite, 180, "a", None));
    let due = e.poll_timeout().expect("a ring timer");
    e.handle_timeout(due);
    sent(&mut e);
    e.handle_timeout(e.poll_timeout().expect("the guard"));
    assert_eq!(events(&rx), vec![(180, L::Initiator), (408, L::Initiator)]);
    assert_empty(&e);
    let late = answer(&invite, 200, "a", Some("v=0\r\n"));
    reply(&mut e, due, itx, late);
    match &sent(&mut e)[..] {
        [
            SipCommand::SendAck { request: ack },
            SipCommand::SendRequest { request: bye, .. },
        ] => {
            assert_eq!(ack.cseq().unwrap(), (1, Method::Ack));
            assert_eq!(bye.cseq().unwrap(), (2, Method::Bye));
            for req in [ack, bye] {
                assert_eq!(req.call_id().ok(), invite.call_id().ok());
                assert_eq!(req.to_tag(), Some("a"));
                assert_eq!(req.from_tag(), invite.from_tag());
            }
        }
        cmds => panic!("expected ACK and BYE, got {cmds:?}"),
    }
    assert_empty(&e);
    assert!(rx.try_recv().is_err(), "no second report");
}

/// A 2xx the leg cannot use fails it at once: the initiator's without a To tag, the
/// destination's with another CSeq. Each is ACKed as it came and BYEd, the call reports
/// 502 for that leg (RFC 3261 §21.5.3: an invalid response), and nothing is left.
#[test]
fn a_2xx_without_to_tag_or_with_another_cseq_fails_the_leg_with_502() {
    let mut e = engine();
    let now = Instant::now();
    let rx = place(&mut e, false);
    let (itx, invite) = one_request(&mut e);
    let mut ok = answer(&invite, 200, "a", Some("v=0\r\n"));
    ok.set_header("To", invite.header("To").unwrap());
    reply(&mut e, now, itx, ok);
    let cmds = sent(&mut e);
    assert!(
        matches!(&cmds[..], [SipCommand::SendAck { request: ack }, SipCommand::SendRequest { request: bye, .. }]
            if ack.to_tag().is_none() && bye.method() == Some(&Method::Bye)),
        "{cmds:?}"
    );
    assert_eq!(events(&rx), vec![(502, L::Initiator)]);
    assert_empty(&e);

    // Anchored: the destination's 2xx carries a CSeq that is not its INVITE's.
    let rx = place(&mut e, true);
    let (itx, invite) = one_request(&mut e);
    reply(&mut e, now, itx, answer(&invite, 200, "a", Some("v=0\r\n")));
    let Some(SipCommand::SendRequest {
        tx: dtx,
        request: dinv,
    }) = sent(&mut e).into_iter().nth(1)
    else {
        panic!("the destination's INVITE was not sent")
    };
    let mut ok = answer(&dinv, 200, "d", Some("v=0\r\n"));
    ok.set_header("CSeq", "9 INVITE");
    reply(&mut e, now, dtx, ok);
    let cmds = sent(&mut e);
    let acks: Vec<_> = cmds
        .iter()
        .filter_map(|c| match c {
            SipCommand::SendAck { request } => Some(request.cseq().unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(acks, vec![(9, Method::Ack)], "{cmds:?}");
    let byes: Vec<(String, u32)> = cmds
        .iter()
        .filter_map(|c| match c {
            SipCommand::SendRequest { request, .. } if request.method() == Some(&Method::Bye) => {
                Some((
                    request.call_id().unwrap().to_string(),
                    request.cseq().unwrap().0,
                ))
            }
            _ => None,
        })
        .collect();
    assert_eq!(byes.len(), 2, "both legs are ended: {cmds:?}");
    assert!(byes.iter().any(|(c, _)| c == dinv.call_id().unwrap()));
    assert!(byes.iter().any(|(c, _)| c == invite.call_id().unwrap()));
    assert_eq!(
        events(&rx),
        vec![(200, L::Initiator), (502, L::Destination)]
    );
    // The initiator's BYE is answered; then nothing is left.
    let bye_tx = cmds.iter().find_map(|c| match c {
        SipCommand::SendRequest { tx, request }
            if request.call_id().ok() == invite.call_id().ok() =>
        {
            Some((*tx, request.clone()))
        }
        _ => None,
    });
    let (btx, bye) = bye_tx.expect("the initiator's BYE");
    reply(&mut e, now, btx, answer(&bye, 200, "a", None));
    assert_empty(&e);
}

/// The requests of both legs' BYEs in `cmds`, answered 200 by their phones.
fn answer_byes(e: &mut Engine, now: Instant, cmds: &[SipCommand], dinv: &Message) -> usize {
    let byes: Vec<(ClientTxId, Message)> = cmds
        .iter()
        .filter_map(|c| match c {
            SipCommand::SendRequest { tx, request } if request.method() == Some(&Method::Bye) => {
                Some((*tx, request.clone()))
            }
            _ => None,
        })
        .collect();
    for (tx, bye) in &byes {
        let tag = if bye.call_id().ok() == dinv.call_id().ok() {
            "d"
        } else {
            "a"
        };
        reply(e, now, *tx, answer(bye, 200, tag, None));
    }
    byes.len()
}

/// The statuses of the responses in `cmds`, by server transaction.
fn responses(cmds: &[SipCommand]) -> Vec<(u64, u16)> {
    cmds.iter()
        .filter_map(|c| match c {
            SipCommand::Respond { tx, response } => Some((tx.0, response.status()?)),
            _ => None,
        })
        .collect()
}

/// Anchored call: the destination answers a relayed re-INVITE 481 (its dialog is gone,
/// RFC 5057 §5.1), or a relayed INFO times out. Passing that on would make the initiator
/// drop its dialog silently; instead it gets 500 (transaction only), both legs are BYEd
/// and the call is over. A code that fails only the transaction is still passed on.
#[test]
fn a_relayed_request_that_ends_the_other_dialog_ends_the_call() {
    let mut e = engine();
    let now = Instant::now();
    let (invite, dinv) = anchored_up(&mut e, now);
    // 488 fails only that offer: passed on, the call goes on.
    let reinv = in_dialog(
        &invite,
        "INVITE",
        7,
        "a",
        "Content-Type: application/sdp\r\n",
        "v=0\r\no=i2\r\n",
    );
    from_initiator(&mut e, now, 70, reinv);
    let (rtx, copy) = one_request(&mut e);
    reply(&mut e, now, rtx, answer(&copy, 488, "d", None));
    assert_eq!(responses(&sent(&mut e)), vec![(70, 488)]);
    assert_eq!(e.active_calls(), 1);
    // 481 ends it.
    let reinv = in_dialog(
        &invite,
        "INVITE",
        8,
        "a",
        "Content-Type: application/sdp\r\n",
        "v=0\r\no=i3\r\n",
    );
    from_initiator(&mut e, now, 71, reinv);
    let (rtx, copy) = one_request(&mut e);
    reply(&mut e, now, rtx, answer(&copy, 481, "d", None));
    let cmds = sent(&mut e);
    assert_eq!(responses(&cmds), vec![(71, 500)], "{cmds:?}");
    assert_eq!(answer_byes(&mut e, now, &cmds, &dinv), 2, "{cmds:?}");
    assert_eq!(e.counts(), EngineCounts::default());

    // A relayed INFO that times out: the same.
    let mut e = engine();
    let (invite, dinv) = anchored_up(&mut e, now);
    let info = in_dialog(
        &invite,
        "INFO",
        7,
        "a",
        "Content-Type: application/dtmf-relay\r\n",
        "Signal=1\r\n",
    );
    from_initiator(&mut e, now, 80, info);
    let (rtx, _) = one_request(&mut e);
    let reason = crate::sip::reactor::TxFailure::Timeout;
    e.handle_sip_event(now, SipEvent::TxFailed { tx: rtx, reason });
    let cmds = sent(&mut e);
    assert_eq!(responses(&cmds), vec![(80, 500)], "{cmds:?}");
    assert_eq!(answer_byes(&mut e, now, &cmds, &dinv), 2, "{cmds:?}");
    assert_empty(&e);
}

/// An offer that cannot be relayed now is refused, not answered with the SDP the phone
/// already has: 491 while a refresh of ours is out on the other leg (glare through the
/// call), 500 with Retry-After 0–10 s for a second offer while the phone's first is still
/// relayed (RFC 3261 §14.2, RFC 3311 §5.2).
#[test]
fn an_offer_that_cannot_be_relayed_gets_491_or_500_with_retry_after() {
    let mut e = engine();
    let now = Instant::now();
    let (invite, dinv) = anchored_up(&mut e, now);
    let sdp_headers = "Content-Type: application/sdp\r\n";
    // Our refresh of the initiator is out.
    let mut refreshed = answer(&invite, 200, "a", None);
    refreshed.push_header("Session-Expires", "90;refresher=uac");
    e.schedule_refresh(now, 1, L::Initiator, &refreshed);
    let t = now + Duration::from_secs(45);
    e.handle_timeout(t);
    let (ftx, refresh) = one_request(&mut e);
    let offer = in_dialog(&dinv, "INVITE", 5, "d", sdp_headers, "v=0\r\no=d2\r\n");
    from_initiator(&mut e, t, 90, offer);
    assert_eq!(one_response(&mut e), (90, 491, "Request Pending".into()));
    reply(
        &mut e,
        t,
        ftx,
        answer(&refresh, 200, "a", Some("v=0\r\no=i\r\n")),
    );
    sent(&mut e);
    // The initiator's offer is relayed; its second offer (re-INVITE, then UPDATE) waits.
    let offer = in_dialog(&invite, "INVITE", 7, "a", sdp_headers, "v=0\r\no=i2\r\n");
    from_initiator(&mut e, t, 91, offer);
    let (rtx, copy) = one_request(&mut e);
    assert_eq!(copy.call_id().ok(), dinv.call_id().ok());
    for (cseq, method, stx) in [(8, "INVITE", 92), (9, "UPDATE", 93)] {
        let second = in_dialog(&invite, method, cseq, "a", sdp_headers, "v=0\r\no=i3\r\n");
        from_initiator(&mut e, t, stx, second);
        match &sent(&mut e)[..] {
            [SipCommand::Respond { tx, response }] => {
                assert_eq!((tx.0, response.status()), (stx, Some(500)));
                let secs: u8 = response
                    .header("Retry-After")
                    .and_then(|v| v.parse().ok())
                    .expect("a Retry-After");
                assert!(secs <= 10, "{secs}");
            }
            cmds => panic!("expected one 500, got {cmds:?}"),
        }
    }
    // The first offer's answer still comes back.
    reply(
        &mut e,
        t,
        rtx,
        answer(&copy, 200, "d", Some("v=0\r\no=d3\r\n")),
    );
    assert_eq!(responses(&sent(&mut e)), vec![(91, 200)]);
    assert_eq!(e.active_calls(), 1);
}

/// A refer NOTIFY from the initiator's phone with this state and sipfrag status line.
fn refer_notify(invite: &Message, cseq: u32, state: &str, frag: &str) -> Message {
    let headers =
        format!("Event: refer\r\nSubscription-State: {state}\r\nContent-Type: message/sipfrag\r\n");
    in_dialog(invite, "NOTIFY", cseq, "a", &headers, frag)
}

/// The transfer's outcome is reported as soon as it is known: a 202 with `Refer-Sub:
/// false` is the outcome (RFC 4488), a transferee's BYE before the final NOTIFY is a
/// transfer given up (487), and a NOTIFY's `expires` is the deadline of the wait.
#[test]
fn transfer_outcomes_are_reported_when_known() {
    let mut e = engine();
    let now = Instant::now();
    let (rx, invite, rtx, refer) = up_to_refer(&mut e, now);
    let mut accepted = answer(&refer, 202, "a", None);
    accepted.push_header("Refer-Sub", "false");
    reply(&mut e, now, rtx, accepted);
    let cmds = sent(&mut e);
    assert_eq!(
        events(&rx),
        vec![(200, L::Initiator), (200, L::Destination)]
    );
    assert_eq!(answer_byes(&mut e, now, &cmds, &invite), 1, "{cmds:?}");
    assert_empty(&e);

    // The transferee hangs up after the first NOTIFY.
    let (rx, invite, rtx, refer) = up_to_refer(&mut e, now);
    reply(&mut e, now, rtx, answer(&refer, 202, "a", None));
    let n = refer_notify(&invite, 1, "active;expires=60", "SIP/2.0 100 Trying\r\n");
    from_initiator(&mut e, now, 1, n);
    sent(&mut e);
    from_initiator(&mut e, now, 2, in_dialog(&invite, "BYE", 2, "a", "", ""));
    assert_eq!(responses(&sent(&mut e)), vec![(2, 200)]);
    assert_eq!(
        events(&rx),
        vec![(200, L::Initiator), (487, L::Destination)]
    );
    assert_empty(&e);

    // A NOTIFY's expires of 10 s: no final NOTIFY by then is a 408 at +10 s.
    let (rx, invite, rtx, refer) = up_to_refer(&mut e, now);
    reply(&mut e, now, rtx, answer(&refer, 202, "a", None));
    let n = refer_notify(&invite, 1, "active;expires=10", "SIP/2.0 180 Ringing\r\n");
    from_initiator(&mut e, now, 1, n);
    sent(&mut e);
    assert_eq!(e.poll_timeout(), Some(now + Duration::from_secs(10)));
    e.handle_timeout(now + Duration::from_secs(10));
    let cmds = sent(&mut e);
    assert_eq!(
        events(&rx),
        vec![
            (200, L::Initiator),
            (180, L::Destination),
            (408, L::Destination)
        ]
    );
    assert_eq!(answer_byes(&mut e, now, &cmds, &invite), 1, "{cmds:?}");
    assert_empty(&e);
}

/// An INVITE transaction answered 2xx is followed for 64·T1 and a margin (its 2xx
/// retransmissions are ACKed meanwhile), then dropped; one that failed is dropped at once.
/// A long call's refreshes no longer pile up, and a 2xx of its dialog after that time is
/// not taken for a dialog nobody wants.
#[test]
fn answered_invite_transactions_are_dropped_after_timer_m() {
    let mut e = engine();
    let now = Instant::now();
    let (invite, _) = anchored_up(&mut e, now);
    assert_eq!(e.counts().client_transactions, 3, "{:?}", e.counts());
    let later = now + ACCEPTED_FOR;
    e.handle_timeout(later);
    assert_eq!(e.counts().client_transactions, 0, "{:?}", e.counts());
    assert_eq!(e.counts().timers, 0, "{:?}", e.counts());
    // A very late 2xx of the initiator's INVITE: its dialog lives on, nothing is sent.
    let itx = ClientTxId(1);
    reply(
        &mut e,
        later,
        itx,
        answer(&invite, 200, "a", Some("v=0\r\n")),
    );
    assert!(sent(&mut e).is_empty());
    // A refused offer of ours leaves nothing behind either.
    let mut refreshed = answer(&invite, 200, "a", None);
    refreshed.push_header("Session-Expires", "90;refresher=uac");
    e.schedule_refresh(later, 1, L::Initiator, &refreshed);
    let t = later + Duration::from_secs(45);
    e.handle_timeout(t);
    let (ftx, refresh) = one_request(&mut e);
    reply(&mut e, t, ftx, answer(&refresh, 200, "a", Some("v=0\r\n")));
    sent(&mut e);
    assert_eq!(e.counts().client_transactions, 1);
    e.handle_timeout(t + ACCEPTED_FOR);
    assert_eq!(e.counts().client_transactions, 0);
    assert_eq!(e.active_calls(), 1);
}

/// The requests among `cmds`.
fn requests(cmds: Vec<SipCommand>) -> Vec<(ClientTxId, Message)> {
    cmds.into_iter()
        .filter_map(|c| match c {
            SipCommand::SendRequest { tx, request } => Some((tx, request)),
            _ => None,
        })
        .collect()
}

/// Issue 17, bounded state: a mix of failing calls through one engine, several alive at
/// once (a vanishing phone past its deadlines, a destination that ignores our CANCEL, a
/// relay answered 481, a REFER answered 481, a 2xx without To tag, a BYE nobody answers,
/// a late 2xx after the call is forgotten). Each gets exactly one final report, and every
/// counter is back to zero at the end.
#[test]
fn a_mix_of_failing_calls_leaves_no_state() {
    let mut e = engine();
    let t0 = Instant::now();
    let mut finals = Vec::new();
    let mut take = |rx: &Receiver<Progress>| {
        let evs = events(rx);
        let n = rx_finals(&evs);
        assert_eq!(n, 1, "exactly one final: {evs:?}");
        finals.push(evs.last().copied());
    };

    // 1. The initiator rings and vanishes (kept alive while the others run).
    let rx1 = place(&mut e, false);
    let (itx1, invite1) = one_request(&mut e);
    reply(&mut e, t0, itx1, answer(&invite1, 180, "a", None));

    // 2. Anchored: the destination rings, the initiator hangs up, the destination ignores
    // the CANCEL.
    let rx2 = place(&mut e, true);
    let (itx2, invite2) = one_request(&mut e);
    reply(
        &mut e,
        t0,
        itx2,
        answer(&invite2, 200, "a", Some("v=0\r\n")),
    );
    let (dtx2, dinv2) = requests(sent(&mut e))
        .pop()
        .expect("the destination's INVITE");
    reply(&mut e, t0, dtx2, answer(&dinv2, 180, "d", None));
    from_initiator(&mut e, t0, 200, in_dialog(&invite2, "BYE", 2, "a", "", ""));
    sent(&mut e);

    // 3. Anchored, up: a relayed re-INVITE answered 481 by the destination.
    let (invite3, dinv3) = anchored_up(&mut e, t0);
    let sdp = "Content-Type: application/sdp\r\n";
    from_initiator(
        &mut e,
        t0,
        300,
        in_dialog(&invite3, "INVITE", 7, "a", sdp, "v=0\r\n"),
    );
    let (rtx3, copy3) = one_request(&mut e);
    reply(&mut e, t0, rtx3, answer(&copy3, 481, "d", None));
    let cmds = sent(&mut e);
    assert_eq!(answer_byes(&mut e, t0, &cmds, &dinv3), 2);

    // 4. REFER answered 481; the initiator never answers our BYE either.
    let (rx4, _, rtx4, refer4) = up_to_refer(&mut e, t0);
    reply(&mut e, t0, rtx4, answer(&refer4, 481, "a", None));
    assert_eq!(requests(sent(&mut e)).len(), 1, "the BYE");

    // 5. A 2xx without To tag.
    let rx5 = place(&mut e, false);
    let (itx5, invite5) = one_request(&mut e);
    let mut ok = answer(&invite5, 200, "a", None);
    ok.set_header("To", invite5.header("To").unwrap());
    reply(&mut e, t0, itx5, ok);
    sent(&mut e);

    assert!(e.active_calls() >= 3, "{:?}", e.counts());
    take(&rx5);
    // Past the ring time-out, then past every guard.
    let mut now = t0;
    for _ in 0..4 {
        now += Duration::from_secs(40);
        e.handle_timeout(now);
        sent(&mut e);
    }
    take(&rx1);
    take(&rx2);
    take(&rx4);
    // The vanishing phone answers at last: ACKed and BYEd, nothing kept.
    reply(
        &mut e,
        now,
        itx1,
        answer(&invite1, 200, "a", Some("v=0\r\n")),
    );
    assert_eq!(requests(sent(&mut e)).len(), 1, "the BYE of the late 2xx");
    now += Duration::from_secs(40);
    e.handle_timeout(now);
    assert_empty(&e);
    assert_eq!(e.poll_timeout(), None);
    assert_eq!(
        finals,
        vec![
            Some((502, L::Initiator)),
            Some((408, L::Initiator)),
            // Cancelled after the initiator hung up, never answered: a time-out.
            Some((408, L::Destination)),
            Some((481, L::Destination)),
        ]
    );
}

/// How many final results are among `evs` (`Progress::is_final`).
fn rx_finals(evs: &[(u16, L)]) -> usize {
    evs.iter()
        .filter(|(code, leg)| *code >= 300 || ((200..300).contains(code) && *leg == L::Destination))
        .count()
}

/// An INVITE of ours within a dialog that gets a provisional and never a final (the
/// transaction layer has no timer once a provisional came) is given up after 64·T1 and a
/// margin: CANCELled, and taken as a time-out. The anchored call's re-INVITE of the
/// initiator ends the call; a relayed offer's origin gets 500 and the call ends.
#[test]
fn an_in_dialog_invite_without_a_final_is_given_up() {
    let mut e = engine();
    let now = Instant::now();
    let up = anchored_to_reinvite(&mut e, now, &[], "v=0\r\no=d\r\n");
    reply(&mut e, now, up.rtx, answer(&up.reinv, 100, "a", None));
    assert!(sent(&mut e).is_empty());
    let due = now + REINVITE_ANSWER_WAIT;
    assert_eq!(e.poll_timeout(), Some(due));
    e.handle_timeout(due);
    let cmds = sent(&mut e);
    assert!(
        matches!(&cmds[0], SipCommand::Cancel { tx } if *tx == up.rtx),
        "{cmds:?}"
    );
    assert!(
        cmds.iter().any(|c| matches!(c, SipCommand::SendAck { .. })),
        "the destination's 2xx is still ACKed: {cmds:?}"
    );
    assert_eq!(answer_byes(&mut e, due, &cmds, &up.dinv), 2, "{cmds:?}");
    assert_eq!(
        events(&up.rx),
        vec![(200, L::Initiator), (200, L::Destination)]
    );
    e.handle_timeout(due + ACCEPTED_FOR);
    assert_empty(&e);

    // A relayed offer the destination leaves at 180.
    let (invite, dinv) = anchored_up(&mut e, now);
    let sdp = "Content-Type: application/sdp\r\n";
    from_initiator(
        &mut e,
        now,
        95,
        in_dialog(&invite, "INVITE", 7, "a", sdp, "v=0\r\n"),
    );
    let (rtx, copy) = one_request(&mut e);
    reply(&mut e, now, rtx, answer(&copy, 180, "d", None));
    e.handle_timeout(now + REINVITE_ANSWER_WAIT);
    let cmds = sent(&mut e);
    assert!(
        matches!(&cmds[0], SipCommand::Cancel { tx } if *tx == rtx),
        "{cmds:?}"
    );
    assert_eq!(responses(&cmds), vec![(95, 500)], "{cmds:?}");
    assert_eq!(answer_byes(&mut e, now, &cmds, &dinv), 2, "{cmds:?}");
    e.handle_timeout(now + REINVITE_ANSWER_WAIT + ACCEPTED_FOR);
    assert_empty(&e);
}
