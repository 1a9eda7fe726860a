//! Whole calls through SIP messages: REFER, anchored, failures and time-outs, glare,
//! session refresh and the answers to requests outside any dialog.

use super::*;

#[test]
fn initiator_invite_is_built_like_the_original() {
    let mut e = engine();
    let _rx = place(&mut e, false);
    let (_, invite) = one_request(&mut e);
    let text = String::from_utf8(invite.to_bytes()).unwrap();
    assert!(
        text.starts_with("INVITE sip:100@127.0.0.1:5061 SIP/2.0\r\n"),
        "{text}"
    );
    for needle in [
        "Contact: <sip:click2call@127.0.0.1:5072>\r\n",
        "To: <sip:100@127.0.0.1:5061>\r\n",
        "From: \"Click-To-Call: 200\"<sip:click2call@127.0.0.1>;tag=",
        "CSeq: 1 INVITE\r\n",
        "Session-Expires: 1800\r\n",
        "Min-SE: 90\r\n",
        // Deliberately not the original's list (README: differences): only what we serve.
        "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, NOTIFY, UPDATE, INFO, MESSAGE\r\n",
        "Supported: timer, 100rel\r\n",
        "User-Agent: ClickToCall\r\n",
        "Content-Type: application/sdp\r\n",
        // OfferCodecs' default (RFC 3264 §5.1: an inactive offer still lists the codecs).
        "m=audio 8000 RTP/AVP 0 8 9 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=inactive\r\n",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn refer_flow_end_to_end_through_sip_messages() {
    let mut e = engine();
    let rx = place(&mut e, false);
    let (itx, invite) = one_request(&mut e);
    let now = Instant::now();
    reply(&mut e, now, itx, answer(&invite, 180, "a", None));
    reply(&mut e, now, itx, answer(&invite, 200, "a", Some("v=0\r\n")));
    let cmds = sent(&mut e);
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    let SipCommand::SendAck { request: ack } = &cmds[0] else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        ack.request_uri().unwrap().to_string(),
        "sip:service@127.0.0.1:5061;transport=UDP"
    );
    assert_eq!(ack.cseq().unwrap().0, 1);
    let SipCommand::SendRequest {
        tx: rtx,
        request: refer,
    } = &cmds[1]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(refer.header("Refer-To"), Some("<sip:200@127.0.0.1:5062>"));
    assert_eq!(
        refer.header("Referred-By"),
        Some("\"Click-To-Call: 200\"<sip:click2call@127.0.0.1>")
    );
    assert_eq!(refer.cseq().unwrap(), (2, Method::Refer));
    // A 2xx retransmission is acknowledged again with the same ACK.
    reply(&mut e, now, itx, answer(&invite, 200, "a", Some("v=0\r\n")));
    assert!(matches!(&sent(&mut e)[..], [SipCommand::SendAck { .. }]));
    reply(&mut e, now, *rtx, answer(refer, 202, "a", None));
    let frag = "SIP/2.0 100 Trying\r\n";
    let n1 = in_dialog(
        &invite,
        "NOTIFY",
        1,
        "a",
        "Event: refer\r\nSubscription-State: active;expires=60\r\nContent-Type: message/sipfrag\r\n",
        frag,
    );
    from_initiator(&mut e, now, 1, n1);
    let cmds = sent(&mut e);
    assert!(
        matches!(&cmds[..], [SipCommand::Respond { tx: ServerTxId(1), response }] if response.status() == Some(200)),
        "{cmds:?}"
    );
    // baresip ends the sipfrag with a bare LF: still a 200.
    let n2 = in_dialog(
        &invite,
        "NOTIFY",
        2,
        "a",
        "Event: refer\r\nSubscription-State: terminated;reason=noresource\r\nContent-Type: message/sipfrag\r\n",
        "SIP/2.0 200 OK\n",
    );
    from_initiator(&mut e, now, 2, n2);
    let cmds = sent(&mut e);
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    let SipCommand::SendRequest {
        tx: btx,
        request: bye,
    } = &cmds[1]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(bye.method(), Some(&Method::Bye));
    assert_eq!(bye.cseq().unwrap(), (3, Method::Bye));
    assert_eq!(
        events(&rx),
        vec![
            (180, L::Initiator),
            (200, L::Initiator),
            (200, L::Destination)
        ]
    );
    assert_eq!(e.active_calls(), 1);
    reply(&mut e, now, *btx, answer(bye, 200, "a", None));
    assert_eq!(
        e.active_calls(),
        0,
        "the call is forgotten once every leg ended"
    );
}

#[test]
fn anchored_flow_relays_sdp_and_mirrors_bye() {
    let mut e = engine();
    let rx = place(&mut e, true);
    let (itx, invite) = one_request(&mut e);
    let now = Instant::now();
    reply(
        &mut e,
        now,
        itx,
        answer(&invite, 200, "a", Some("v=0\r\no=init\r\n")),
    );
    let cmds = sent(&mut e);
    let SipCommand::SendRequest {
        tx: dtx,
        request: dinv,
    } = &cmds[1]
    else {
        panic!("{cmds:?}")
    };
    assert!(
        dinv.body().is_empty(),
        "the destination's INVITE carries no offer"
    );
    assert_eq!(
        dinv.header("From")
            .map(|f| f.starts_with("<sip:100@127.0.0.1:5061>;tag=")),
        Some(true)
    );
    assert_eq!(dinv.header("Contact"), Some("<sip:100@127.0.0.1:5072>"));
    let offer = "v=0\r\no=dest 1 1 IN IP4 127.0.0.1\r\n";
    reply(&mut e, now, *dtx, answer(dinv, 200, "d", Some(offer)));
    let cmds = sent(&mut e);
    assert_eq!(
        cmds.len(),
        1,
        "no ACK to the destination before the initiator answers: {cmds:?}"
    );
    let SipCommand::SendRequest {
        tx: rtx,
        request: reinv,
    } = &cmds[0]
    else {
        panic!("{cmds:?}")
    };
    // The destination's offer under the initiator leg's origin, one version on from our
    // first offer (RFC 3264 §8): never the destination's o= in the initiator's dialog.
    let first = sdp::SessionDescription::parse(invite.body())
        .unwrap()
        .origin;
    let relayed = sdp::SessionDescription::parse(reinv.body()).unwrap();
    assert_eq!(
        (relayed.origin.username.as_str(), relayed.origin.session_id),
        ("clicktocall", first.session_id)
    );
    assert_eq!(relayed.origin.session_version, first.session_version + 1);
    assert_eq!(
        String::from_utf8(reinv.body().to_vec()).unwrap(),
        format!(
            "v=0\r\no=clicktocall {} {} IN IP4 127.0.0.1\r\ns=\r\n",
            first.session_id,
            first.session_id + 1
        )
    );
    assert_eq!(reinv.header("Session-Expires"), Some("1800;refresher=uac"));
    let ans = "v=0\r\no=init 2\r\n";
    reply(&mut e, now, *rtx, answer(reinv, 200, "a", Some(ans)));
    let cmds = sent(&mut e);
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    let SipCommand::SendAck { request: iack } = &cmds[0] else {
        panic!("{cmds:?}")
    };
    assert_eq!(iack.cseq().unwrap().0, 2);
    assert!(iack.body().is_empty());
    let SipCommand::SendAck { request: dack } = &cmds[1] else {
        panic!("{cmds:?}")
    };
    assert_eq!(dack.body(), ans.as_bytes());
    assert_eq!(
        events(&rx),
        vec![(200, L::Initiator), (200, L::Destination)]
    );
    // The destination hangs up: answered, and mirrored to the initiator.
    let dbye = {
        let from_tag = dinv.from_tag().unwrap();
        let text = format!(
            "BYE sip:100@127.0.0.1:5072 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKb\r\nFrom: <sip:200@127.0.0.1:5062>;tag=d\r\nTo: <sip:100@127.0.0.1:5061>;tag={from_tag}\r\nCall-ID: {}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
            dinv.call_id().unwrap()
        );
        Message::parse(text.as_bytes()).unwrap()
    };
    e.handle_sip_event(
        now,
        SipEvent::Request {
            tx: ServerTxId(9),
            request: dbye,
            source: "127.0.0.1:5062".parse().unwrap(),
            transport: crate::sip::Transport::Udp,
        },
    );
    let cmds = sent(&mut e);
    assert!(
        matches!(&cmds[0], SipCommand::Respond { tx: ServerTxId(9), response } if response.status() == Some(200)),
        "{cmds:?}"
    );
    assert!(
        matches!(&cmds[1], SipCommand::SendRequest { request, .. } if request.method() == Some(&Method::Bye) && request.call_id().ok() == invite.call_id().ok()),
        "{cmds:?}"
    );
}

#[test]
fn transaction_time_out_is_a_408_and_transport_error_a_503() {
    for (reason, code) in [
        (crate::sip::reactor::TxFailure::Timeout, 408),
        (
            crate::sip::reactor::TxFailure::Transport("refused".into()),
            503,
        ),
    ] {
        let mut e = engine();
        let rx = place(&mut e, false);
        let (itx, _) = one_request(&mut e);
        e.handle_sip_event(Instant::now(), SipEvent::TxFailed { tx: itx, reason });
        assert_eq!(events(&rx), vec![(code, L::Initiator)]);
        assert_eq!(e.active_calls(), 0);
    }
}

#[test]
fn ring_timeout_sends_cancel_for_the_invite_transaction() {
    let mut e = engine();
    let rx = place(&mut e, false);
    let (itx, invite) = one_request(&mut e);
    let start = Instant::now();
    e.handle_sip_event(
        start,
        SipEvent::Response {
            tx: itx,
            response: answer(&invite, 180, "a", None),
            source: "127.0.0.1:5061".parse().unwrap(),
        },
    );
    let due = e.poll_timeout().expect("a ring timer");
    e.handle_timeout(due);
    assert!(matches!(&sent(&mut e)[..], [SipCommand::Cancel { tx }] if *tx == itx));
    e.handle_sip_event(
        due,
        SipEvent::Response {
            tx: itx,
            response: answer(&invite, 487, "a", None),
            source: "127.0.0.1:5061".parse().unwrap(),
        },
    );
    assert_eq!(events(&rx), vec![(180, L::Initiator), (408, L::Initiator)]);
    assert_eq!(e.active_calls(), 0);
}

#[test]
fn requests_outside_dialogs_get_403_200_481_405() {
    let mut e = engine();
    let base = |m: &str, to_tag: &str| {
        let text = format!(
            "{m} sip:service@127.0.0.1:5072 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5065;branch=z9hG4bK-{m}\r\nFrom: <sip:sipp@127.0.0.1:5065>;tag=1\r\nTo: <sip:service@127.0.0.1:5072>{to_tag}\r\nCall-ID: c-{m}\r\nCSeq: 1 {m}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        Message::parse(text.as_bytes()).unwrap()
    };
    for (m, tag, code) in [
        ("INVITE", "", 403),
        ("OPTIONS", "", 200),
        ("BYE", ";tag=zz", 481),
        ("SUBSCRIBE", "", 405),
        ("CANCEL", "", 481),
    ] {
        e.handle_sip_event(
            Instant::now(),
            SipEvent::Request {
                tx: ServerTxId(1),
                request: base(m, tag),
                source: "127.0.0.1:5065".parse().unwrap(),
                transport: crate::sip::Transport::Udp,
            },
        );
        let cmds = sent(&mut e);
        assert!(
            matches!(&cmds[..], [SipCommand::Respond { response, .. }] if response.status() == Some(code)),
            "{m}: {cmds:?}"
        );
    }
    let ack = base("ACK", ";tag=zz");
    e.handle_sip_event(
        Instant::now(),
        SipEvent::Request {
            tx: ServerTxId(2),
            request: ack,
            source: "127.0.0.1:5065".parse().unwrap(),
            transport: crate::sip::Transport::Udp,
        },
    );
    assert!(sent(&mut e).is_empty(), "a stray ACK gets no answer");
}

#[test]
fn reinvite_glare_gets_491_both_ways_and_ours_is_retried() {
    let mut e = engine();
    let now = Instant::now();
    let UpToReinvite {
        rx,
        invite,
        rtx,
        reinv,
        ..
    } = anchored_to_reinvite(&mut e, now, &[], "v=0\r\no=d\r\n");
    // The initiator's own re-INVITE crosses ours: it gets 491.
    let theirs = in_dialog(
        &invite,
        "INVITE",
        5,
        "a",
        "Contact: <sip:service@127.0.0.1:5061>\r\nContent-Type: application/sdp\r\n",
        "v=0\r\n",
    );
    from_initiator(&mut e, now, 3, theirs);
    let cmds = sent(&mut e);
    assert!(
        matches!(&cmds[..], [SipCommand::Respond { response, .. }] if response.status() == Some(491)),
        "{cmds:?}"
    );
    // Ours is refused with 491 too: no report, and a retry 2.1–4 s later.
    reply(&mut e, now, rtx, answer(&reinv, 491, "a", None));
    assert!(sent(&mut e).is_empty());
    let due = e.poll_timeout().expect("a retry is scheduled");
    let wait = due - now;
    assert!(
        wait >= Duration::from_millis(2100) && wait <= Duration::from_secs(4),
        "{wait:?}"
    );
    e.handle_timeout(due);
    let (_, again) = one_request(&mut e);
    assert_eq!(
        again.cseq().unwrap(),
        (reinv.cseq().unwrap().0 + 1, Method::Invite)
    );
    assert_eq!(again.body(), reinv.body());
    assert_eq!(
        events(&rx),
        vec![(200, L::Initiator), (200, L::Destination)]
    );
}

#[test]
fn anchored_reinvite_from_a_phone_is_relayed_to_the_other() {
    let mut e = engine();
    let now = Instant::now();
    let UpToReinvite {
        invite,
        dinv,
        rtx,
        reinv,
        ..
    } = anchored_to_reinvite(&mut e, now, &[], "v=0\r\no=d\r\n");
    reply(
        &mut e,
        now,
        rtx,
        answer(&reinv, 200, "a", Some("v=0\r\no=i\r\n")),
    );
    sent(&mut e);
    // The initiator puts the call on hold: its new offer goes to the destination.
    let theirs = in_dialog(
        &invite,
        "INVITE",
        9,
        "a",
        "Contact: <sip:service@127.0.0.1:5061>\r\nContent-Type: application/sdp\r\n",
        HOLD,
    );
    let response = offer_relayed_to_the_destination(&mut e, now, 4, theirs, &dinv);
    assert_eq!(response.cseq().unwrap(), (9, Method::Invite));
}

const HOLD: &str = "v=0\r\no=i 2\r\na=sendonly\r\n";
const HELD: &str = "v=0\r\no=d 2\r\na=recvonly\r\n";

/// The initiator's `request` carrying the offer [`HOLD`], on server transaction `tx`, goes
/// to the destination (whose INVITE was `dinv`) in a re-INVITE; the destination answers
/// [`HELD`], which is ACKed and comes back in the 200 returned here.
fn offer_relayed_to_the_destination(
    e: &mut Engine,
    now: Instant,
    tx: u64,
    request: Message,
    dinv: &Message,
) -> Message {
    from_initiator(e, now, tx, request);
    let (relay_tx, relayed) = one_request(e);
    assert_eq!(relayed.method(), Some(&Method::Invite));
    assert_eq!(
        relayed.call_id().ok(),
        dinv.call_id().ok(),
        "sent on the destination's dialog"
    );
    assert_eq!(relayed.body(), HOLD.as_bytes());
    reply(e, now, relay_tx, answer(&relayed, 200, "d", Some(HELD)));
    let cmds = sent(e);
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    assert!(
        matches!(&cmds[0], SipCommand::SendAck { request } if request.call_id().ok() == dinv.call_id().ok()),
        "{cmds:?}"
    );
    let SipCommand::Respond { tx: got, response } = &cmds[1] else {
        panic!("{cmds:?}")
    };
    assert_eq!(got.0, tx);
    assert_eq!(response.status(), Some(200));
    assert_eq!(response.body(), HELD.as_bytes());
    response.clone()
}

#[test]
fn anchored_update_with_an_offer_is_relayed_as_a_reinvite() {
    let mut e = engine();
    let now = Instant::now();
    let UpToReinvite {
        invite,
        dinv,
        rtx,
        reinv,
        ..
    } = anchored_to_reinvite(&mut e, now, &[], "v=0\r\no=d\r\n");
    // While our re-INVITE's offer is outstanding, an UPDATE with an offer crosses it
    // (RFC 3311 §5.2: 491); one without a body is only a refresh, answered here.
    let sdp = "Content-Type: application/sdp\r\n";
    let early = in_dialog(&invite, "UPDATE", 8, "a", sdp, "v=0\r\no=i 9\r\n");
    from_initiator(&mut e, now, 3, early);
    assert_eq!(
        one_response(&mut e),
        (3, 491, "Request Pending".to_string())
    );
    let refresh = in_dialog(&invite, "UPDATE", 9, "a", "", "");
    from_initiator(&mut e, now, 5, refresh);
    assert_eq!(one_response(&mut e), (5, 200, "OK".to_string()));
    reply(
        &mut e,
        now,
        rtx,
        answer(&reinv, 200, "a", Some("v=0\r\no=i\r\n")),
    );
    sent(&mut e);
    // Now the initiator's UPDATE with a new offer goes to the destination in a re-INVITE,
    // and the destination's answer comes back in the UPDATE's 200.
    let update = in_dialog(&invite, "UPDATE", 10, "a", sdp, HOLD);
    let response = offer_relayed_to_the_destination(&mut e, now, 6, update, &dinv);
    assert_eq!(response.cseq().unwrap(), (10, Method::Update));
}

#[test]
fn an_ack_without_the_real_answer_rejects_every_offered_stream() {
    let mut e = engine();
    let now = Instant::now();
    let offer = "v=0\r\no=d 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 8\r\nm=video 6002 RTP/AVP 96\r\n";
    anchored_to_reinvite(&mut e, now, &[], offer);
    // Shutdown while the initiator has not answered the relayed offer yet.
    e.shutdown(now);
    let cmds = sent(&mut e);
    let SipCommand::SendAck { request: ack } = &cmds[0] else {
        panic!("{cmds:?}")
    };
    let body = String::from_utf8(ack.body().to_vec()).unwrap();
    assert!(body.contains("m=audio 0 RTP/AVP 0 8\r\n"), "{body}");
    assert!(body.contains("m=video 0 RTP/AVP 96\r\n"), "{body}");
    assert!(cmds.iter().filter(|c| matches!(c, SipCommand::SendRequest { request, .. } if request.method() == Some(&Method::Bye))).count() == 2, "{cmds:?}");
}

#[test]
fn session_refresh_when_the_phone_makes_us_the_refresher() {
    let mut e = engine();
    let now = Instant::now();
    let UpToReinvite {
        invite,
        dinv,
        rtx,
        reinv,
        ..
    } = anchored_to_reinvite(
        &mut e,
        now,
        &[("Session-Expires", "90;refresher=uac")],
        "v=0\r\no=d\r\n",
    );
    reply(
        &mut e,
        now,
        rtx,
        answer(&reinv, 200, "a", Some("v=0\r\no=i\r\n")),
    );
    sent(&mut e);
    // RFC 4028 §10: refresh at half the interval. The relayed re-INVITE's 2xx carried no
    // Session-Expires, so the refresh scheduled by the first 2xx was replaced by none.
    assert_eq!(refresh_due(&e), None, "the last 2xx set no session timer");
    // A new 2xx with the timer, as the answer to a refresh would bring, schedules it again.
    let mut refreshed = answer(&reinv, 200, "a", Some("v=0\r\no=i\r\n"));
    refreshed.push_header("Session-Expires", "90;refresher=uac");
    e.schedule_refresh(now, 1, L::Initiator, &refreshed);
    assert_eq!(refresh_due(&e), Some(now + Duration::from_secs(45)));
    e.handle_timeout(now + Duration::from_secs(45));
    let (ftx, refresh) = one_request(&mut e);
    assert_eq!(refresh.method(), Some(&Method::Invite));
    assert_eq!(refresh.call_id().ok(), invite.call_id().ok());
    assert_eq!(
        refresh.body(),
        b"v=0\r\no=d\r\n",
        "the initiator gets its current SDP again"
    );
    // RFC 4028 §7.4: the refresh asks to keep the interval in force, not our first 1800 s.
    assert_eq!(refresh.header("Session-Expires"), Some("90;refresher=uac"));
    // The phone has lost the session: the call ends on both legs.
    reply(&mut e, now, ftx, answer(&refresh, 481, "a", None));
    let cmds = sent(&mut e);
    let byes: Vec<_> = cmds
        .iter()
        .filter_map(|c| match c {
            SipCommand::SendRequest { request, .. } if request.method() == Some(&Method::Bye) => {
                request.call_id().ok()
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        byes,
        vec![invite.call_id().unwrap(), dinv.call_id().unwrap()],
        "{cmds:?}"
    );
}

/// A phone answering `Session-Expires: 1` used to make us refresh at once, and again at
/// each answer: tens of thousands of re-INVITEs a second. The interval in force is never
/// below our Min-SE of 90 s (RFC 4028 §9, §10), so the refresh waits 45 s each time.
#[test]
fn session_expires_below_min_se_does_not_make_a_refresh_loop() {
    let mut e = engine();
    let now = Instant::now();
    let UpToReinvite { rtx, reinv, .. } = anchored_to_reinvite(
        &mut e,
        now,
        &[("Session-Expires", "1;refresher=uac")],
        "v=0\r\no=d\r\n",
    );
    let mut ok = answer(&reinv, 200, "a", Some("v=0\r\no=i\r\n"));
    ok.push_header("Session-Expires", "1;refresher=uac");
    reply(&mut e, now, rtx, ok);
    sent(&mut e);
    let due = now + Duration::from_secs(45);
    assert_eq!(refresh_due(&e), Some(due), "refresh at half of Min-SE");
    e.handle_timeout(now + Duration::from_secs(44));
    assert!(sent(&mut e).is_empty(), "nothing is due before 45 s");
    e.handle_timeout(due);
    let (ftx, refresh) = one_request(&mut e);
    assert_eq!(refresh.method(), Some(&Method::Invite));
    assert_eq!(refresh.header("Session-Expires"), Some("90;refresher=uac"));
    // The phone answers the refresh with 1 s again: the next one is 45 s later, not now.
    let mut again = answer(&refresh, 200, "a", Some("v=0\r\no=i\r\n"));
    again.push_header("Session-Expires", "1;refresher=uac");
    reply(&mut e, due, ftx, again);
    let cmds = sent(&mut e);
    assert!(
        cmds.iter()
            .all(|c| !matches!(c, SipCommand::SendRequest { .. })),
        "no new request right after the refresh's answer: {cmds:?}"
    );
    assert_eq!(refresh_due(&e), Some(due + Duration::from_secs(45)));
}

/// A REFER answered 481 used to fall back to an anchored call and report `200
/// Destination`, a false success: the initiator's dialog is gone (RFC 3261 §12.2.1.2).
#[test]
fn refer_answered_481_ends_the_call_with_481() {
    let mut e = engine();
    let now = Instant::now();
    let (rx, invite, rtx, refer) = up_to_refer(&mut e, now);
    reply(&mut e, now, rtx, answer(&refer, 481, "a", None));
    let cmds = sent(&mut e);
    let requests: Vec<_> = cmds
        .iter()
        .filter_map(|c| match c {
            SipCommand::SendRequest { request, .. } => {
                Some((request.method().cloned(), request.call_id().ok()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        requests,
        vec![(Some(Method::Bye), invite.call_id().ok())],
        "only the initiator's dialog is hung up; the destination is not called: {cmds:?}"
    );
    assert_eq!(
        events(&rx),
        vec![(200, L::Initiator), (481, L::Destination)]
    );
}

/// A REFER that times out (no answer at all) ends the call too, reported 408.
#[test]
fn refer_without_an_answer_ends_the_call_with_408() {
    let mut e = engine();
    let now = Instant::now();
    let (rx, _, rtx, _) = up_to_refer(&mut e, now);
    e.handle_sip_event(
        now,
        SipEvent::TxFailed {
            tx: rtx,
            reason: crate::sip::reactor::TxFailure::Timeout,
        },
    );
    let cmds = sent(&mut e);
    assert!(
        !cmds.iter().any(|c| matches!(c, SipCommand::SendRequest { request, .. } if request.method() == Some(&Method::Invite))),
        "no INVITE to the destination: {cmds:?}"
    );
    assert_eq!(
        events(&rx),
        vec![(200, L::Initiator), (408, L::Destination)]
    );
}

/// A 491 to the REFER is glare, not a refusal: the REFER goes again after 2.1–4 s
/// (a new CSeq), twice at most; a third 491 counts as a refusal and falls back.
#[test]
fn refer_answered_491_is_sent_again_then_falls_back() {
    let mut e = engine();
    let now = Instant::now();
    let (rx, _, mut rtx, mut refer) = up_to_refer(&mut e, now);
    let mut t = now;
    for retry in 1..=2 {
        reply(&mut e, t, rtx, answer(&refer, 491, "a", None));
        assert!(
            sent(&mut e).is_empty(),
            "retry {retry}: nothing sent at once"
        );
        let due = e.poll_timeout().expect("a retry is scheduled");
        let wait = due - t;
        assert!(
            (Duration::from_millis(2100)..=Duration::from_secs(4)).contains(&wait),
            "retry {retry}: waited {wait:?}"
        );
        t = due;
        e.handle_timeout(t);
        let (tx, again) = one_request(&mut e);
        assert_eq!(again.method(), Some(&Method::Refer));
        assert_eq!(again.cseq().unwrap().0, refer.cseq().unwrap().0 + 1);
        (rtx, refer) = (tx, again);
    }
    reply(&mut e, t, rtx, answer(&refer, 491, "a", None));
    let (_, dinv) = one_request(&mut e);
    assert_eq!(
        dinv.method(),
        Some(&Method::Invite),
        "falls back to anchored"
    );
    assert_eq!(events(&rx), vec![(200, L::Initiator)]);
}

/// When the next session refresh is due (the other timers of the engine aside).
fn refresh_due(e: &Engine) -> Option<Instant> {
    e.reinvites_due
        .iter()
        .find(|(_, _, _, redo)| *redo == Redo::Refresh)
        .map(|(t, ..)| *t)
}
