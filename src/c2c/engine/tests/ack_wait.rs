//! RFC 3261 §13.3.1.4: our 2xx to a phone's re-INVITE that is never ACKed ends the call
//! with BYE 64·T1 after it was sent, on the engine's own deadline (simulated time).

use super::*;
use crate::cdr::EndedBy;

const DEST_OFFER: &str = "v=0\r\no=dest 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6010 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";

/// The requests (and ACKs) sent in the dialog of `invite`, as (method, message).
fn in_leg<'a>(cmds: &'a [SipCommand], invite: &Message) -> Vec<(Method, &'a Message)> {
    cmds.iter()
        .filter_map(|c| match c {
            SipCommand::SendAck { request } | SipCommand::SendRequest { request, .. }
                if request.call_id().ok() == invite.call_id().ok() =>
            {
                Some((request.method()?.clone(), request))
            }
            _ => None,
        })
        .collect()
}

/// Answer every BYE in `cmds` with 200.
fn answer_byes(e: &mut Engine, now: Instant, cmds: &[SipCommand]) {
    for c in cmds {
        if let SipCommand::SendRequest { tx, request } = c
            && request.method() == Some(&Method::Bye)
        {
            reply(e, now, *tx, answer(request, 200, "x", None));
        }
    }
}

/// Anchored call; the initiator's offerless re-INVITE is relayed and the destination's
/// offer goes back in our 2xx, whose ACK (with the answer) never comes. At 32 s the
/// destination's held 2xx is ACKed with an answer rejecting its streams, then both legs
/// get BYE; the record says an error ended the call.
#[test]
fn an_offerless_reinvite_whose_2xx_is_never_acked_ends_the_call_at_64_t1() {
    let mut e = engine();
    let t0 = Instant::now();
    let (invite, dinv) = anchored_up(&mut e, t0);
    let reinvite = in_dialog(&invite, "INVITE", 5, "a", "", "");
    from_initiator(&mut e, t0, 40, reinvite);
    let (relay_tx, relayed) = one_request(&mut e);
    reply(
        &mut e,
        t0,
        relay_tx,
        answer(&relayed, 200, "d", Some(DEST_OFFER)),
    );
    let (stx, code, _) = one_response(&mut e);
    assert_eq!((stx, code), (40, 200));
    let due = e.poll_timeout().expect("a deadline");
    assert!(due <= t0 + Duration::from_secs(32), "{:?}", due - t0);
    e.handle_timeout(t0 + Duration::from_millis(31_999));
    assert!(sent(&mut e).is_empty(), "nothing before 64·T1");
    let t1 = t0 + Duration::from_secs(32);
    e.handle_timeout(t1);
    let cmds = sent(&mut e);
    let dest = in_leg(&cmds, &dinv);
    let [(Method::Ack, ack), (Method::Bye, _)] = &dest[..] else {
        panic!("the destination's held ACK, then BYE: {cmds:?}")
    };
    let rejecting = sdp::SessionDescription::parse(ack.body()).expect("an answer in the ACK");
    assert_eq!(rejecting.media[0].port, 0, "its streams rejected");
    let ini = in_leg(&cmds, &invite);
    assert!(
        matches!(&ini[..], [(Method::Bye, _)]),
        "BYE to the silent initiator: {cmds:?}"
    );
    answer_byes(&mut e, t1, &cmds);
    assert_eq!(e.active_calls(), 0);
    assert_eq!(e.counts(), EngineCounts::default());
    let records = e.cdr.recent();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].ended_by, EndedBy::Error);
}

/// The ACK coming in time (at 10 s) clears the deadline: nothing happens at 32 s or
/// after, and the call goes on.
#[test]
fn an_ack_in_time_keeps_the_call() {
    let mut e = engine();
    let t0 = Instant::now();
    let (invite, _dinv) = anchored_up(&mut e, t0);
    let reinvite = in_dialog(&invite, "INVITE", 5, "a", "", "");
    from_initiator(&mut e, t0, 40, reinvite);
    let (relay_tx, relayed) = one_request(&mut e);
    reply(
        &mut e,
        t0,
        relay_tx,
        answer(&relayed, 200, "d", Some(DEST_OFFER)),
    );
    sent(&mut e);
    let ack = in_dialog(
        &invite,
        "ACK",
        5,
        "a",
        "Content-Type: application/sdp\r\n",
        DEST_OFFER,
    );
    from_initiator(&mut e, t0 + Duration::from_secs(10), 41, ack);
    assert!(matches!(&sent(&mut e)[..], [SipCommand::SendAck { .. }]));
    e.handle_timeout(t0 + Duration::from_secs(60));
    assert!(sent(&mut e).is_empty());
    assert_eq!(e.active_calls(), 1);
}

/// REFER mode: our own 2xx to the initiator's re-INVITE (a session refresh, nothing to
/// relay) never ACKed ends the call too, with BYE to the initiator.
#[test]
fn our_own_2xx_to_a_reinvite_never_acked_ends_the_call() {
    let mut e = engine();
    let t0 = Instant::now();
    let (_rx, invite, _, _) = up_to_refer(&mut e, t0);
    let reinvite = in_dialog(
        &invite,
        "INVITE",
        5,
        "a",
        "Content-Type: application/sdp\r\n",
        DEST_OFFER,
    );
    from_initiator(&mut e, t0, 40, reinvite);
    let (_, code, _) = one_response(&mut e);
    assert_eq!(code, 200);
    // An ACK of another INVITE (CSeq 4) does not count for this one.
    from_initiator(&mut e, t0, 41, in_dialog(&invite, "ACK", 4, "a", "", ""));
    let t1 = t0 + Duration::from_secs(32);
    e.handle_timeout(t1);
    let cmds = sent(&mut e);
    assert!(
        matches!(&in_leg(&cmds, &invite)[..], [(Method::Bye, _)]),
        "{cmds:?}"
    );
    answer_byes(&mut e, t1, &cmds);
    assert_eq!(e.active_calls(), 0);
    assert_eq!(e.cdr.recent()[0].ended_by, EndedBy::Error);
}
