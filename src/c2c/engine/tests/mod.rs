//! The engine driven through SIP messages by hand, with no sockets: whole calls and their
//! failures in `calls` and `failures`, requests relayed between the phones of an anchored call in
//! `relays`. This module holds the helpers both use.

mod ack_wait;
mod calls;
mod failures;
mod identity;
mod memory;
mod offer_answer;
mod refer_out_of_dialog;
mod relays;
mod session_timer;

use super::*;
use crate::c2c::command::CallOptions;
use crate::c2c::command::Role as L;
use crate::sip::msg::Method;
use crossbeam_channel::{Receiver, unbounded};
use std::time::Duration;

fn engine() -> Engine {
    Engine::new(config())
}

pub(super) fn config() -> EngineConfig {
    EngineConfig {
        identity: Uri::parse("sip:click2call@127.0.0.1").unwrap(),
        local_ip: "127.0.0.1".parse().unwrap(),
        ports: crate::ua::contact::ListenPorts {
            udp: 5072,
            tcp: 5072,
            tls: Some(5073),
        },
        outbound_proxy: None,
        outbound_proxy_all: false,
        fix_nat_contact: false,
        credentials: None,
        max_redirects: 5,
        call_mode: CallMode::Refer,
        offer_codecs: crate::sip::sdp::Codec::DEFAULT.to_vec(),
        timing: Timing::from_ring_timeout(Duration::from_secs(30)),
        caller_identity: Default::default(),
    }
}

fn place(e: &mut Engine, anchor: bool) -> Receiver<Progress> {
    place_with(e, Instant::now(), anchor, CallOptions::default())
}

/// A click-to-call from 100 to 200 at `now` with per-call `options`.
fn place_with(
    e: &mut Engine,
    now: Instant,
    anchor: bool,
    options: CallOptions,
) -> Receiver<Progress> {
    let id = crate::c2c::command::CallId::generate(None).expect("random bits");
    place_as(e, now, anchor, id, options)
}

/// The same under the API's call `id` (to hang it up by).
fn place_as(
    e: &mut Engine,
    now: Instant,
    anchor: bool,
    id: crate::c2c::command::CallId,
    options: CallOptions,
) -> Receiver<Progress> {
    let (tx, rx) = unbounded();
    e.handle_command(
        now,
        Command::ClickToCall {
            initiator_uri: "sip:100@127.0.0.1:5061".into(),
            destination_uri: "sip:200@127.0.0.1:5062".into(),
            anchor,
            id,
            options,
            origin: crate::c2c::command::CallOrigin::for_test("100", "200"),
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
    let source = "127.0.0.1:5061".parse().unwrap();
    e.handle_sip_event(
        now,
        SipEvent::Response {
            tx,
            response,
            source,
        },
    );
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

/// An anchored call with both legs up: (initiator's INVITE, destination's INVITE).
fn anchored_up(e: &mut Engine, now: Instant) -> (Message, Message) {
    let up = anchored_to_reinvite(e, now, &[], "v=0\r\no=d\r\n");
    let ok = answer(&up.reinv, 200, "a", Some("v=0\r\no=i\r\n"));
    reply(e, now, up.rtx, ok);
    sent(e);
    (up.invite, up.dinv)
}

/// Place a REFER-mode call up to its REFER: (progress, initiator INVITE, REFER tx, REFER).
fn up_to_refer(e: &mut Engine, now: Instant) -> (Receiver<Progress>, Message, ClientTxId, Message) {
    let rx = place(e, false);
    let (itx, invite) = one_request(e);
    reply(e, now, itx, answer(&invite, 200, "a", Some("v=0\r\n")));
    let cmds = sent(e);
    let Some(SipCommand::SendRequest { tx, request }) = cmds.into_iter().nth(1) else {
        panic!("no REFER after the initiator's 2xx")
    };
    assert_eq!(request.method(), Some(&Method::Refer));
    (rx, invite, tx, request)
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
