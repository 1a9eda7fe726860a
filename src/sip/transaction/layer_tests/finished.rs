//! Finished transactions (`super::super::finished`): kept compact for their
//! retransmissions until Timer D, I, J or K, to the millisecond; bounded by bytes, oldest
//! dropped first, live transactions never.

use super::*;
use crate::sip::transaction::finished::{Answer, ENTRY_COST, FinishedStore, Side};

fn in_dialog(method: &str, branch: &str) -> Message {
    let text = their_request(method, method, branch).to_bytes();
    let text = String::from_utf8(text).unwrap().replace(
        "To: <sip:service@192.0.2.1>",
        "To: <sip:service@192.0.2.1>;tag=ours7",
    );
    Message::parse(text.as_bytes()).unwrap()
}

/// Answer the one request just passed up with `code`; returns the bytes sent.
fn answer(l: &mut TransactionLayer, now: Instant, req: &Message, code: u16) -> Vec<u8> {
    let ev = events(l);
    let [TxEvent::Request { tx, .. }] = &ev[..] else {
        panic!("one request expected: {ev:?}");
    };
    l.respond(
        now,
        *tx,
        Message::response_to(req, code, "X", Some("ours7")),
    )
    .unwrap();
    let sent = transmits(l);
    assert_eq!(sent.len(), 1);
    sent[0].bytes.clone()
}

#[test]
fn finished_non_invite_resends_its_final_until_timer_j_exactly() {
    let t0 = Instant::now();
    let mut l = layer();
    let notify = in_dialog("NOTIFY", "z9hG4bKn1");
    l.handle_message(t0, notify.clone(), origin_udp());
    let first = answer(&mut l, t0 + ms(10), &notify, 200);
    let c = l.counts();
    assert_eq!((c.servers, c.servers_finished), (0, 1), "{c:?}");
    // §17.2.2: a retransmission in Completed gets the final again, byte for byte.
    l.handle_message(t0 + ms(500), notify.clone(), origin_udp());
    assert!(events(&mut l).is_empty(), "absorbed, not passed up");
    let again = transmits(&mut l);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].bytes, first);
    assert_eq!(again[0].target, peer_udp());
    // Timer J = 64*T1 = 32 s after the final.
    run_until(&mut l, t0 + ms(10 + 32_000 - 1));
    assert_eq!(l.counts().servers_finished, 1);
    assert_eq!(l.poll_timeout(), Some(t0 + ms(10 + 32_000)));
    run_until(&mut l, t0 + ms(10 + 32_000));
    assert!(l.is_empty());
    l.handle_message(t0 + ms(32_011), notify, origin_udp());
    assert_eq!(events(&mut l).len(), 1, "after Timer J it is a new request");
}

#[test]
fn finished_invite_absorbs_acks_and_invites_until_timer_i_exactly() {
    let t0 = Instant::now();
    let mut l = layer();
    let invite = their_request("INVITE", "INVITE", "z9hG4bKi1");
    l.handle_message(t0, invite.clone(), origin_udp());
    answer(&mut l, t0 + ms(20), &invite, 486);
    let ack = their_request("ACK", "ACK", "z9hG4bKi1");
    l.handle_message(t0 + ms(100), ack.clone(), origin_udp());
    assert_eq!(l.counts().servers_finished, 1, "Confirmed is filed");
    for at in [200, 4_000] {
        l.handle_message(t0 + ms(at), ack.clone(), origin_udp());
        l.handle_message(t0 + ms(at), invite.clone(), origin_udp());
    }
    assert!(
        events(&mut l).is_empty(),
        "ACK and INVITE absorbed (§17.2.1)"
    );
    assert!(transmits(&mut l).is_empty());
    // Timer I = T4 = 5 s after the ACK.
    run_until(&mut l, t0 + ms(100 + 5_000 - 1));
    assert_eq!(l.counts().servers_finished, 1);
    run_until(&mut l, t0 + ms(100 + 5_000));
    assert!(l.is_empty());
}

#[test]
fn finished_clients_end_at_timer_k_and_timer_d_exactly() {
    let t0 = Instant::now();
    let mut l = layer();
    l.send_request(
        t0,
        ClientTxId(1),
        our_request("REFER", "z9hG4bKr1"),
        peer_udp(),
    )
    .unwrap();
    l.send_request(
        t0,
        ClientTxId(2),
        our_request("INVITE", "z9hG4bKv1"),
        peer_udp(),
    )
    .unwrap();
    transmits(&mut l);
    let refer_ok = response_to_ours(202, "Accepted", "z9hG4bKr1", "REFER");
    l.handle_message(t0 + ms(100), refer_ok.clone(), origin_udp());
    let busy = response_to_ours(486, "Busy Here", "z9hG4bKv1", "INVITE");
    l.handle_message(t0 + ms(300), busy.clone(), origin_udp());
    assert_eq!(events(&mut l).len(), 2, "both finals passed up once");
    let ack = transmits(&mut l);
    assert_eq!(ack.len(), 1);
    let c = l.counts();
    assert_eq!((c.clients_live, c.clients_finished), (0, 2), "{c:?}");
    // Retransmitted finals: absorbed; the 486 gets the same ACK (§17.1.1.2).
    l.handle_message(t0 + ms(1_000), refer_ok, origin_udp());
    l.handle_message(t0 + ms(1_000), busy, origin_udp());
    assert!(events(&mut l).is_empty());
    let again = transmits(&mut l);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].bytes, ack[0].bytes);
    // Timer K = T4 = 5 s, Timer D = 32 s, from each final.
    run_until(&mut l, t0 + ms(100 + 5_000 - 1));
    assert_eq!(l.counts().clients_finished, 2);
    run_until(&mut l, t0 + ms(100 + 5_000));
    assert_eq!(l.counts().clients_finished, 1);
    run_until(&mut l, t0 + ms(300 + 32_000 - 1));
    assert_eq!(l.counts().clients_finished, 1);
    run_until(&mut l, t0 + ms(300 + 32_000));
    assert!(l.is_empty());
}

#[test]
fn finished_store_over_budget_drops_the_oldest_and_never_a_live_transaction() {
    let t0 = Instant::now();
    let probe = in_dialog("NOTIFY", "z9hG4bKb0");
    let resp_len = Message::response_to(&probe, 200, "X", Some("ours7"))
        .to_bytes()
        .len();
    let config = LayerConfig {
        finished_budget: 3 * (ENTRY_COST + resp_len),
        ..LayerConfig::default()
    };
    let mut l = TransactionLayer::new(config);
    // A live transaction: a request the TU has not answered yet.
    let live = their_request("OPTIONS", "OPTIONS", "z9hG4bKlive");
    l.handle_message(t0, live.clone(), origin_udp());
    let live_tx = request_id(&events(&mut l));
    let notifies: Vec<Message> = (0..10)
        .map(|n| in_dialog("NOTIFY", &format!("z9hG4bKb{n}")))
        .collect();
    let mut sent = Vec::new();
    for (n, notify) in notifies.iter().enumerate() {
        let at = t0 + ms(n as u64);
        l.handle_message(at, notify.clone(), origin_udp());
        sent.push(answer(&mut l, at, notify, 200));
    }
    let c = l.counts();
    let kept = c.servers_finished;
    assert_eq!(c.servers, 1, "{c:?}");
    assert!((1..10).contains(&kept), "{c:?}");
    assert_eq!(l.stats().finished_evicted, 10 - kept as u64);
    assert!(l.finished_bytes() <= config.finished_budget);
    // The newest still answer with their stored bytes; the oldest are gone, so a late
    // retransmission of one is a new request.
    for n in 10 - kept..10 {
        l.handle_message(t0 + ms(20), notifies[n].clone(), origin_udp());
        assert_eq!(transmits(&mut l)[0].bytes, sent[n], "entry {n} kept");
    }
    assert!(events(&mut l).is_empty());
    l.handle_message(t0 + ms(20), notifies[0].clone(), origin_udp());
    assert_eq!(events(&mut l).len(), 1, "the oldest was dropped");
    // The live one was never touched.
    l.respond(
        t0 + ms(30),
        live_tx,
        Message::response_to(&live, 200, "OK", Some("x")),
    )
    .unwrap();
}

fn request_id(ev: &[TxEvent]) -> ServerTxId {
    match ev {
        [TxEvent::Request { tx, .. }] => *tx,
        _ => panic!("one request expected: {ev:?}"),
    }
}

#[test]
fn in_dialog_requests_are_not_refused_where_new_ones_get_503() {
    let t0 = Instant::now();
    let config = LayerConfig {
        max_server_transactions: 1,
        ..LayerConfig::default()
    };
    let mut l = TransactionLayer::new(config);
    l.handle_message(
        t0,
        their_request("OPTIONS", "OPTIONS", "z9hG4bKa"),
        origin_udp(),
    );
    l.handle_message(
        t0,
        their_request("INVITE", "INVITE", "z9hG4bKb"),
        origin_udp(),
    );
    l.handle_message(t0, in_dialog("NOTIFY", "z9hG4bKc"), origin_udp());
    let ev = events(&mut l);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert!(
        matches!(&ev[1], TxEvent::Request { msg, .. } if msg.method() == Some(&Method::Notify)),
        "the NOTIFY of a dialog is taken"
    );
    let refused: Vec<Message> = transmits(&mut l)
        .iter()
        .map(|t| parse_bytes(&t.bytes))
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].status(), Some(503));
    assert_eq!(refused[0].top_branch(), Some("z9hG4bKb"));
    // Past twice the bound even a request of a dialog is dropped, but never with a 503
    // (it would end the dialog, RFC 5057 §5.1): the peer retransmits.
    l.handle_message(t0, in_dialog("NOTIFY", "z9hG4bKd"), origin_udp());
    assert!(events(&mut l).is_empty());
    assert!(transmits(&mut l).is_empty());
}

/// A 200 to a NOTIFY as SIPp's phones send it in the benchmark, answered the way the
/// calls thread answers it.
fn bench_notify_200(n: u32) -> Vec<u8> {
    // Call-IDs and tags are random in real traffic: no shared digits to code away.
    let noise = |salt: u64| {
        let x = (u64::from(n) ^ salt).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^ (x >> 29)
    };
    let (call_id, tag) = (noise(1) as u128 * noise(2) as u128, noise(3) as u32);
    let notify = parse(&format!(
        "NOTIFY sip:click2call@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:40123;branch=z9hG4bK-2345-{n}-7
From: <sip:100@127.0.0.1:40123>;tag=2345SIPpTag00{n}
To: \"clicktocall\" <sip:click2call@127.0.0.1>;tag={tag:08x}
Call-ID: {call_id:032x}@127.0.0.1
CSeq: 3 NOTIFY
Contact: <sip:100@127.0.0.1:40123>
Max-Forwards: 70
Event: refer
Subscription-State: terminated;reason=noresource
Content-Type: message/sipfrag
Content-Length: 16

SIP/2.0 200 OK\r
"
    ));
    Message::response_to(&notify, 200, "OK", None).to_bytes()
}

/// Issue 13's target: a million finished transactions in at most 300 MB. Measured on
/// 100,000 entries (the heap the store holds, spare capacity included) and printed.
#[test]
fn finished_store_bytes_per_entry() {
    let t0 = Instant::now();
    let mut store = FinishedStore::new(usize::MAX);
    let addr: SocketAddr = "127.0.0.1:40123".parse().unwrap();
    let n = 100_000u32;
    let mut response_bytes = 0;
    for i in 0..n {
        let resp = bench_notify_200(i);
        response_bytes += resp.len();
        let hash = store.hash(Side::Server, &i);
        let at = t0 + ms(u64::from(i) / 100);
        store.insert(
            at,
            at + ms(32_000),
            Side::Server,
            hash,
            addr,
            Transport::Udp,
            Answer::Resend,
            &resp,
        );
    }
    let per_entry = store.heap_bytes() / n as usize;
    let response = response_bytes / n as usize;
    println!(
        "finished store: {per_entry} bytes per entry ({response} of them the response), \
         counted {} per entry",
        store.used() / n as usize
    );
    assert!(store.get(store.hash(Side::Server, &7u32)).is_some());
    assert!(
        per_entry * 1_000_000 <= 300_000_000,
        "{per_entry} bytes per entry for a {response}-byte response: a million need more than 300 MB"
    );
}

#[test]
fn answered_invites_held_for_timer_m_do_not_count_against_the_client_bound() {
    let t0 = Instant::now();
    let config = LayerConfig {
        max_client_transactions: 1,
        ..LayerConfig::default()
    };
    let mut l = TransactionLayer::new(config);
    l.send_request(
        t0,
        ClientTxId(1),
        our_request("INVITE", "z9hG4bKm1"),
        peer_udp(),
    )
    .unwrap();
    assert_eq!(
        l.send_request(
            t0,
            ClientTxId(2),
            our_request("BYE", "z9hG4bKm2"),
            peer_udp()
        ),
        Err(LayerError::Overloaded),
        "one live transaction fills the bound"
    );
    l.handle_message(
        t0 + ms(100),
        response_to_ours(200, "OK", "z9hG4bKm1", "INVITE"),
        origin_udp(),
    );
    assert_eq!(
        l.client_state(TxRef::Client(ClientTxId(1))),
        Some(TxState::Accepted)
    );
    l.send_request(
        t0 + ms(200),
        ClientTxId(2),
        our_request("BYE", "z9hG4bKm2"),
        peer_udp(),
    )
    .expect("an answered INVITE (Accepted, RFC 6026 §7.2) leaves room");
    // Timer M ends it; the count of accepted ones goes back with it.
    run_until(&mut l, t0 + ms(100 + 32_000));
    assert_eq!(l.client_state(TxRef::Client(ClientTxId(1))), None);
}
