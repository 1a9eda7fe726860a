//! The engine driven through SIP messages by hand: REFER, anchored, failures, glare,
//! relays and out-of-dialog answers, with no sockets.

use super::*;
use crate::c2c::command::Leg as L;
use crate::sip::msg::Method;
use crossbeam_channel::{Receiver, unbounded};
use std::time::Duration;

fn engine() -> Engine {
    Engine::new(EngineConfig {
        identity: Uri::parse("sip:click2call@127.0.0.1").unwrap(),
        local_ip: "127.0.0.1".parse().unwrap(),
        local_port: 5072,
        outbound_proxy: None,
        timing: Timing::from_ring_timeout(Duration::from_secs(30)),
    })
}

fn place(e: &mut Engine, anchor: bool) -> Receiver<Progress> {
    let (tx, rx) = unbounded();
    e.handle_command(
        Instant::now(),
        Command::ClickToCall {
            initiator_uri: "sip:100@127.0.0.1:5061".into(),
            destination_uri: "sip:200@127.0.0.1:5062".into(),
            anchor,
            reply: tx,
        },
    );
    rx
}

fn sent(e: &mut Engine) -> Vec<SipCommand> {
    std::iter::from_fn(|| e.poll_command()).collect()
}

fn one_request(e: &mut Engine) -> (ClientTxId, Message) {
    let mut cmds = sent(e);
    assert_eq!(cmds.len(), 1, "expected one request, got {cmds:?}");
    match cmds.remove(0) {
        SipCommand::SendRequest { tx, request } => (tx, request),
        other => panic!("expected a request, got {other:?}"),
    }
}

/// A response from the phone: its tag, its Contact, an optional SDP body. The request
/// gets a Via as the reactor would add one.
fn answer(req: &Message, code: u16, tag: &str, sdp: Option<&str>) -> Message {
    let mut req = req.clone();
    req.insert_header_front("Via", "SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bKtest;rport");
    let mut resp = Message::response_to(&req, code, "X", Some(tag));
    resp.push_header("Contact", "<sip:service@127.0.0.1:5061;transport=UDP>");
    if let Some(body) = sdp {
        resp.set_body(Some("application/sdp"), body.as_bytes().to_vec());
    }
    resp
}

/// Feed the response to our request `tx`.
fn reply(e: &mut Engine, now: Instant, tx: ClientTxId, response: Message) {
    e.handle_sip_event(now, SipEvent::Response { tx, response });
}

/// Feed a request from the initiator's phone on server transaction `tx`.
fn from_initiator(e: &mut Engine, now: Instant, tx: u64, request: Message) {
    e.handle_sip_event(
        now,
        SipEvent::Request {
            tx: ServerTxId(tx),
            request,
            source: "127.0.0.1:5061".parse().unwrap(),
            transport: crate::sip::Transport::Udp,
        },
    );
}

/// An anchored call taken to our re-INVITE of the initiator: the initiator answered (with
/// `extra` headers on its 2xx) and the destination answered with `dest_offer`.
struct UpToReinvite {
    rx: Receiver<Progress>,
    invite: Message,
    dinv: Message,
    rtx: ClientTxId,
    reinv: Message,
}

fn anchored_to_reinvite(
    e: &mut Engine,
    now: Instant,
    extra: &[(&str, &str)],
    dest_offer: &str,
) -> UpToReinvite {
    let rx = place(e, true);
    let (itx, invite) = one_request(e);
    let mut ok = answer(&invite, 200, "a", Some("v=0\r\n"));
    for (name, value) in extra {
        ok.push_header(name, value);
    }
    reply(e, now, itx, ok);
    let cmds = sent(e);
    let Some(SipCommand::SendRequest {
        tx: dtx,
        request: dinv,
    }) = cmds.into_iter().nth(1)
    else {
        panic!("the destination's INVITE was not sent")
    };
    reply(e, now, dtx, answer(&dinv, 200, "d", Some(dest_offer)));
    let (rtx, reinv) = one_request(e);
    UpToReinvite {
        rx,
        invite,
        dinv,
        rtx,
        reinv,
    }
}

fn events(rx: &Receiver<Progress>) -> Vec<(u16, L)> {
    rx.try_iter().map(|p| (p.code, p.leg)).collect()
}

/// A request from the phone within the leg's dialog.
fn in_dialog(
    invite: &Message,
    method: &str,
    cseq: u32,
    tag: &str,
    extra: &str,
    body: &str,
) -> Message {
    let from_tag = invite.from_tag().unwrap();
    let text = format!(
        "{method} sip:click2call@127.0.0.1:5072 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-{method}-{cseq}\r\nFrom: <sip:100@127.0.0.1:5061>;tag={tag}\r\nTo: <sip:click2call@127.0.0.1>;tag={from_tag}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        invite.call_id().unwrap(),
        body.len()
    );
    Message::parse(text.as_bytes()).expect("in-dialog request parses")
}

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
        "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, SUBSCRIBE, UPDATE, PRACK, INFO, MESSAGE\r\n",
        "Supported: replaces, timer, norefersub, 100rel\r\n",
        "User-Agent: ClickToCall\r\n",
        "Content-Type: application/sdp\r\n",
        "m=audio 8000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=inactive\r\n",
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
    assert_eq!(reinv.body(), offer.as_bytes());
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
    let hold = "v=0\r\no=i 2\r\na=sendonly\r\n";
    let theirs = in_dialog(
        &invite,
        "INVITE",
        9,
        "a",
        "Contact: <sip:service@127.0.0.1:5061>\r\nContent-Type: application/sdp\r\n",
        hold,
    );
    from_initiator(&mut e, now, 4, theirs);
    let (relay_tx, relayed) = one_request(&mut e);
    assert_eq!(
        relayed.call_id().ok(),
        dinv.call_id().ok(),
        "sent on the destination's dialog"
    );
    assert_eq!(relayed.body(), hold.as_bytes());
    let recv = "v=0\r\no=d 2\r\na=recvonly\r\n";
    reply(
        &mut e,
        now,
        relay_tx,
        answer(&relayed, 200, "d", Some(recv)),
    );
    let cmds = sent(&mut e);
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    assert!(
        matches!(&cmds[0], SipCommand::SendAck { request } if request.call_id().ok() == dinv.call_id().ok()),
        "{cmds:?}"
    );
    let SipCommand::Respond {
        tx: ServerTxId(4),
        response,
    } = &cmds[1]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(response.status(), Some(200));
    assert_eq!(response.body(), recv.as_bytes());
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
    assert!(
        e.poll_timeout().is_none(),
        "the last 2xx set no session timer"
    );
    // A new 2xx with the timer, as the answer to a refresh would bring, schedules it again.
    let mut refreshed = answer(&reinv, 200, "a", Some("v=0\r\no=i\r\n"));
    refreshed.push_header("Session-Expires", "90;refresher=uac");
    e.schedule_refresh(now, 1, L::Initiator, &refreshed);
    assert_eq!(e.poll_timeout(), Some(now + Duration::from_secs(45)));
    e.handle_timeout(now + Duration::from_secs(45));
    let (ftx, refresh) = one_request(&mut e);
    assert_eq!(refresh.method(), Some(&Method::Invite));
    assert_eq!(refresh.call_id().ok(), invite.call_id().ok());
    assert_eq!(
        refresh.body(),
        b"v=0\r\no=d\r\n",
        "the initiator gets its current SDP again"
    );
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

/// An anchored call with both legs up: (initiator's INVITE, destination's INVITE).
fn anchored_up(e: &mut Engine, now: Instant) -> (Message, Message) {
    let up = anchored_to_reinvite(e, now, &[], "v=0\r\no=d\r\n");
    let ok = answer(&up.reinv, 200, "a", Some("v=0\r\no=i\r\n"));
    reply(e, now, up.rtx, ok);
    sent(e);
    (up.invite, up.dinv)
}

const DTMF: &str = "Signal=5\r\nDuration=160\r\n";
const DTMF_HEADERS: &str = "Content-Type: application/dtmf-relay\r\nInfo-Package: dtmf\r\n";

/// The one response the engine sent: (server transaction, status, reason).
fn one_response(e: &mut Engine) -> (u64, u16, String) {
    match &sent(e)[..] {
        [SipCommand::Respond { tx, response }] => (
            tx.0,
            response.status().unwrap_or(0),
            response.reason().unwrap_or_default().to_string(),
        ),
        cmds => panic!("expected one response, got {cmds:?}"),
    }
}

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
fn anchored_message_is_relayed_and_failures_become_408_and_503() {
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
    for (cseq, reason, code) in [
        (8, crate::sip::reactor::TxFailure::Timeout, 408),
        (
            9,
            crate::sip::reactor::TxFailure::Transport("refused".into()),
            503,
        ),
    ] {
        let info = in_dialog(&invite, "INFO", cseq, "a", DTMF_HEADERS, DTMF);
        from_initiator(&mut e, now, u64::from(cseq), info);
        let (rtx, _) = one_request(&mut e);
        e.handle_sip_event(now, SipEvent::TxFailed { tx: rtx, reason });
        let (stx, got, _) = one_response(&mut e);
        assert_eq!((stx, got), (u64::from(cseq), code));
    }
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
    // REFER mode: nothing to relay to.
    let mut e = engine();
    let now = Instant::now();
    let _rx = place(&mut e, false);
    let (itx, invite) = one_request(&mut e);
    reply(&mut e, now, itx, answer(&invite, 200, "a", Some("v=0\r\n")));
    sent(&mut e);
    from_initiator(
        &mut e,
        now,
        40,
        in_dialog(&invite, "INFO", 5, "a", DTMF_HEADERS, DTMF),
    );
    assert_eq!(one_response(&mut e), (40, 200, "OK".into()));
    // Anchored, but the destination has not answered yet.
    let mut e = engine();
    let _rx = place(&mut e, true);
    let (itx, invite) = one_request(&mut e);
    reply(&mut e, now, itx, answer(&invite, 200, "a", Some("v=0\r\n")));
    sent(&mut e);
    from_initiator(
        &mut e,
        now,
        41,
        in_dialog(&invite, "INFO", 5, "a", DTMF_HEADERS, DTMF),
    );
    assert_eq!(one_response(&mut e), (41, 200, "OK".into()));
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
