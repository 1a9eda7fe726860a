//! Offer/answer corner cases (RFC 3262, 3264, 6337) through SIP messages: an offer in a
//! reliable provisional to the offerless INVITE answered in the PRACK, the PRACKs of every
//! early dialog of a forked INVITE, and the ACK of a later fork's 2xx.

use super::*;

const DEST_OFFER: &str = "v=0\r\no=dest 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6010 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";
const INIT_ANSWER: &str = "v=0\r\no=init 5 6 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";

/// An anchored call up to the destination's offerless INVITE: (progress, initiator's
/// INVITE, destination's transaction, destination's INVITE).
fn up_to_destination(
    e: &mut Engine,
    now: Instant,
) -> (Receiver<Progress>, Message, ClientTxId, Message) {
    let rx = place(e, true);
    let (itx, invite) = one_request(e);
    reply(e, now, itx, answer(&invite, 200, "a", Some("v=0\r\n")));
    let Some(SipCommand::SendRequest { tx, request }) = sent(e).into_iter().nth(1) else {
        panic!("no INVITE to the destination")
    };
    assert!(request.body().is_empty());
    (rx, invite, tx, request)
}

/// A reliable provisional (RFC 3262 §3) of the early dialog `tag`.
fn reliable(invite: &Message, code: u16, tag: &str, rseq: u32, sdp: Option<&str>) -> Message {
    let mut r = answer(invite, code, tag, sdp);
    r.push_header("Require", "100rel");
    r.push_header("RSeq", &rseq.to_string());
    r
}

/// The destination's offer (`DEST_OFFER`) in its `code` response of the early or confirmed
/// dialog `tag`: a 2xx, or a reliable provisional with RSeq 1.
fn dest_offer(invite: &Message, code: u16, tag: &str) -> Message {
    if code >= 200 {
        answer(invite, code, tag, Some(DEST_OFFER))
    } else {
        reliable(invite, code, tag, 1, Some(DEST_OFFER))
    }
}

/// The initiator's ACK (CSeq 5) with its answer to our offer in the 2xx to its offerless
/// re-INVITE.
fn ack_with_answer(invite: &Message) -> Message {
    in_dialog(
        invite,
        "ACK",
        5,
        "a",
        "Content-Type: application/sdp\r\n",
        INIT_ANSWER,
    )
}

/// The initiator's offerless re-INVITE (CSeq 5, server transaction 40, `extra` headers)
/// relayed to the destination: (our transaction, the relayed re-INVITE).
fn relayed_offerless(
    e: &mut Engine,
    now: Instant,
    invite: &Message,
    extra: &str,
) -> (ClientTxId, Message) {
    from_initiator(e, now, 40, in_dialog(invite, "INVITE", 5, "a", extra, ""));
    one_request(e)
}

fn origin(sdp: &[u8]) -> sdp::Origin {
    sdp::SessionDescription::parse(sdp).unwrap().origin
}

fn requests(cmds: &[SipCommand]) -> Vec<&Message> {
    cmds.iter()
        .filter_map(|c| match c {
            SipCommand::SendRequest { request, .. } => Some(request),
            _ => None,
        })
        .collect()
}

/// RFC 3262 §5: the offer in a reliable 183 to our offerless INVITE goes to the initiator
/// (under its leg's origin) and the initiator's answer comes back in the PRACK (under the
/// destination leg's origin); the 2xx after it carries no offer and is ACKed at once with
/// no body.
#[test]
fn an_offer_in_a_reliable_183_is_answered_in_the_prack() {
    let mut e = engine();
    let now = Instant::now();
    let (rx, invite, dtx, dinv) = up_to_destination(&mut e, now);
    assert!(dinv.has_token("Supported", "100rel"));
    reply(&mut e, now, dtx, dest_offer(&dinv, 183, "d"));
    // No PRACK yet: it must carry the answer. The offer goes to the initiator.
    let (rtx, reinv) = one_request(&mut e);
    assert_eq!(reinv.method(), Some(&Method::Invite));
    assert_eq!(reinv.call_id().ok(), invite.call_id().ok());
    let relayed = origin(reinv.body());
    assert_eq!(relayed.username, "clicktocall");
    assert_eq!(relayed.session_id, origin(invite.body()).session_id);
    assert!(String::from_utf8_lossy(reinv.body()).contains("m=audio 6010 RTP/AVP 8\r\n"));
    // A retransmission of the 183 meanwhile gets nothing.
    reply(&mut e, now, dtx, dest_offer(&dinv, 183, "d"));
    assert!(sent(&mut e).is_empty());
    reply(
        &mut e,
        now,
        rtx,
        answer(&reinv, 200, "a", Some(INIT_ANSWER)),
    );
    let cmds = sent(&mut e);
    let SipCommand::SendAck { request: iack } = &cmds[0] else {
        panic!("{cmds:?}")
    };
    assert!(iack.body().is_empty());
    let SipCommand::SendRequest { request: prack, .. } = &cmds[1] else {
        panic!("{cmds:?}")
    };
    assert_eq!(prack.method(), Some(&Method::Prack));
    assert_eq!(prack.header("RAck"), Some("1 1 INVITE"));
    assert_eq!(prack.to_tag(), Some("d"));
    assert_eq!(prack.header("Content-Type"), Some("application/sdp"));
    let answered = origin(prack.body());
    assert_eq!(answered.username, "clicktocall");
    assert!(String::from_utf8_lossy(prack.body()).contains("m=audio 6000 RTP/AVP 8\r\n"));
    // The 2xx: no new offer; ACKed at once, without a body.
    reply(&mut e, now, dtx, answer(&dinv, 200, "d", None));
    let cmds = sent(&mut e);
    let [SipCommand::SendAck { request: dack }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(dack.to_tag(), Some("d"));
    assert!(dack.body().is_empty());
    assert_eq!(
        events(&rx),
        vec![
            (200, L::Initiator),
            (180, L::Destination),
            (200, L::Destination)
        ]
    );
}

/// RFC 3262 §4: each early dialog of a forked INVITE numbers its reliable provisionals
/// and is PRACKed in its own dialog (its To tag, its Contact), in order only.
#[test]
fn reliable_provisionals_of_every_early_dialog_are_pracked() {
    let mut e = engine();
    let now = Instant::now();
    let (_rx, _, dtx, dinv) = up_to_destination(&mut e, now);
    reply(&mut e, now, dtx, reliable(&dinv, 180, "fork1", 1, None));
    let (_, p1) = one_request(&mut e);
    let mut second = reliable(&dinv, 180, "fork2", 1, None);
    second.set_header("Contact", "<sip:other@127.0.0.1:5099>");
    reply(&mut e, now, dtx, second.clone());
    let (_, p2) = one_request(&mut e);
    for (p, tag) in [(&p1, "fork1"), (&p2, "fork2")] {
        assert_eq!(p.method(), Some(&Method::Prack));
        assert_eq!(p.to_tag(), Some(tag));
        assert_eq!(p.header("RAck"), Some("1 1 INVITE"));
    }
    assert_eq!(
        p2.request_uri().unwrap().to_string(),
        "sip:other@127.0.0.1:5099"
    );
    assert!(p2.cseq().unwrap().0 > p1.cseq().unwrap().0);
    // Retransmitted or out of order: no PRACK. The next in order: one.
    reply(&mut e, now, dtx, second);
    reply(&mut e, now, dtx, reliable(&dinv, 180, "fork2", 3, None));
    assert!(sent(&mut e).is_empty());
    reply(&mut e, now, dtx, reliable(&dinv, 180, "fork2", 2, None));
    let (_, p3) = one_request(&mut e);
    assert_eq!(
        (p3.to_tag(), p3.header("RAck")),
        (Some("fork2"), Some("2 1 INVITE"))
    );
}

/// RFC 3261 §13.2.2.4, RFC 3264 §5: a later fork's 2xx to the offerless INVITE holds an
/// offer; its ACK carries a valid answer (every stream rejected) before its BYE, also
/// while the first fork's ACK still waits for the initiator's answer.
#[test]
fn a_later_forks_2xx_is_acked_with_an_answer_then_byed() {
    let mut e = engine();
    let now = Instant::now();
    let (_rx, _, dtx, dinv) = up_to_destination(&mut e, now);
    reply(&mut e, now, dtx, dest_offer(&dinv, 200, "fork1"));
    let (_, reinv) = one_request(&mut e);
    assert_eq!(reinv.method(), Some(&Method::Invite));
    reply(&mut e, now, dtx, dest_offer(&dinv, 200, "fork2"));
    let cmds = sent(&mut e);
    let [
        SipCommand::SendAck { request: ack },
        SipCommand::SendRequest { request: bye, .. },
    ] = &cmds[..]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(ack.to_tag(), Some("fork2"));
    let answer = sdp::SessionDescription::parse(ack.body()).expect("an SDP answer");
    assert_eq!(answer.media.len(), 1);
    assert_eq!(
        (answer.media[0].port, answer.media[0].formats.clone()),
        (0, vec!["8".to_string()])
    );
    assert_eq!(
        (bye.method(), bye.to_tag()),
        (Some(&Method::Bye), Some("fork2"))
    );
    assert!(requests(&cmds).len() == 1);
}

/// A second early dialog's offer cannot have the initiator's session (the first has it):
/// its PRACK answers at once, rejecting its streams, and nothing goes to the initiator.
#[test]
fn a_second_early_offer_is_answered_with_its_streams_rejected() {
    let mut e = engine();
    let now = Instant::now();
    let (_rx, _, dtx, dinv) = up_to_destination(&mut e, now);
    reply(&mut e, now, dtx, dest_offer(&dinv, 183, "fork1"));
    let (_, reinv) = one_request(&mut e);
    assert_eq!(reinv.method(), Some(&Method::Invite));
    reply(&mut e, now, dtx, dest_offer(&dinv, 183, "fork2"));
    let (_, prack) = one_request(&mut e);
    assert_eq!(
        (prack.method(), prack.to_tag()),
        (Some(&Method::Prack), Some("fork2"))
    );
    let answer = sdp::SessionDescription::parse(prack.body()).expect("an SDP answer");
    assert_eq!(answer.media[0].port, 0);
}

/// The initiator refuses the early offer: the destination is CANCELled, the call ends.
#[test]
fn an_early_offer_the_initiator_refuses_ends_the_call() {
    let mut e = engine();
    let now = Instant::now();
    let (rx, _, dtx, dinv) = up_to_destination(&mut e, now);
    reply(&mut e, now, dtx, dest_offer(&dinv, 183, "d"));
    let (rtx, reinv) = one_request(&mut e);
    reply(&mut e, now, rtx, answer(&reinv, 488, "a", None));
    let cmds = sent(&mut e);
    assert!(
        cmds.iter()
            .any(|c| matches!(c, SipCommand::Cancel { tx } if *tx == dtx)),
        "{cmds:?}"
    );
    reply(&mut e, now, dtx, answer(&dinv, 487, "d", None));
    assert_eq!(
        events(&rx),
        vec![
            (200, L::Initiator),
            (180, L::Destination),
            (487, L::Destination)
        ]
    );
}

/// REFER mode (no other phone to ask): an offerless re-INVITE from the initiator gets our
/// current description as the offer, byte for byte, so with the same o= version (RFC 3264
/// §8, RFC 6337 §5.1); its answer comes in the ACK and nothing more is sent.
#[test]
fn an_offerless_reinvite_outside_an_anchored_call_gets_the_current_sdp() {
    let mut e = engine();
    let now = Instant::now();
    let (_rx, invite, _, _) = up_to_refer(&mut e, now);
    let reinvite = in_dialog(&invite, "INVITE", 5, "a", "", "");
    from_initiator(&mut e, now, 40, reinvite.clone());
    let cmds = sent(&mut e);
    let [SipCommand::Respond { response, .. }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(response.status(), Some(200));
    assert_eq!(response.header("Content-Type"), Some("application/sdp"));
    assert_eq!(
        response.body(),
        invite.body(),
        "the offer we made, unchanged"
    );
    let ack = ack_with_answer(&invite);
    from_initiator(&mut e, now, 41, ack);
    assert!(sent(&mut e).is_empty());
}

/// Anchored: the initiator's offerless re-INVITE goes to the destination offerless; the
/// destination's offer (its 2xx, whose ACK is held) comes back in our 2xx under the
/// initiator leg's origin; the initiator's answer in its ACK goes in our ACK to the
/// destination under the destination leg's origin (RFC 3725 §5, RFC 3264 §4, §8).
#[test]
fn an_offerless_reinvite_is_relayed_and_its_answer_comes_from_the_ack() {
    let mut e = engine();
    let now = Instant::now();
    let (invite, dinv) = anchored_up(&mut e, now);
    let contact = "Contact: <sip:service@127.0.0.1:5061>\r\n";
    let (relay_tx, relayed) = relayed_offerless(&mut e, now, &invite, contact);
    assert_eq!(relayed.method(), Some(&Method::Invite));
    assert_eq!(relayed.call_id().ok(), dinv.call_id().ok());
    assert!(relayed.body().is_empty(), "relayed without an offer");
    assert_eq!(relayed.header("Content-Type"), None);
    reply(&mut e, now, relay_tx, dest_offer(&relayed, 200, "d"));
    let cmds = sent(&mut e);
    let [SipCommand::Respond { tx, response }] = &cmds[..] else {
        panic!("no ACK to the destination before the initiator's answer: {cmds:?}")
    };
    assert_eq!((tx.0, response.status()), (40, Some(200)));
    let offered = origin(response.body());
    assert_eq!(
        (offered.username.as_str(), offered.session_id),
        ("clicktocall", origin(invite.body()).session_id)
    );
    assert!(String::from_utf8_lossy(response.body()).contains("m=audio 6010 RTP/AVP 8\r\n"));
    let ack = ack_with_answer(&invite);
    from_initiator(&mut e, now, 41, ack.clone());
    let cmds = sent(&mut e);
    let [SipCommand::SendAck { request: dack }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    assert_eq!(dack.call_id().ok(), dinv.call_id().ok());
    assert_eq!(
        dack.cseq().unwrap(),
        relayed.cseq().map(|(n, _)| (n, Method::Ack)).unwrap()
    );
    assert_eq!(origin(dack.body()).username, "clicktocall");
    assert!(String::from_utf8_lossy(dack.body()).contains("m=audio 6000 RTP/AVP 8\r\n"));
    // A retransmitted ACK relays nothing more.
    from_initiator(&mut e, now, 42, ack);
    assert!(sent(&mut e).is_empty());
}

/// The call ends while the destination's 2xx to the relayed offerless re-INVITE waits for
/// the initiator's answer: that 2xx is ACKed, with a valid answer, before the BYE.
#[test]
fn a_held_ack_of_a_relayed_offerless_reinvite_goes_before_the_bye() {
    let mut e = engine();
    let now = Instant::now();
    let (invite, dinv) = anchored_up(&mut e, now);
    let (relay_tx, relayed) = relayed_offerless(&mut e, now, &invite, "");
    reply(&mut e, now, relay_tx, dest_offer(&relayed, 200, "d"));
    sent(&mut e);
    let bye = in_dialog(&invite, "BYE", 6, "a", "", "");
    from_initiator(&mut e, now, 43, bye);
    let cmds = sent(&mut e);
    let dest: Vec<&SipCommand> = cmds
        .iter()
        .filter(|c| match c {
            SipCommand::SendAck { request } | SipCommand::SendRequest { request, .. } => {
                request.call_id().ok() == dinv.call_id().ok()
            }
            _ => false,
        })
        .collect();
    let [
        SipCommand::SendAck { request: ack },
        SipCommand::SendRequest { request: bye, .. },
    ] = &dest[..]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(bye.method(), Some(&Method::Bye));
    let answer = sdp::SessionDescription::parse(ack.body()).expect("an answer in the ACK");
    assert_eq!(answer.media[0].port, 0);
}
