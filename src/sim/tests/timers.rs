//! RFC 3261 §17 transaction timers between the server and scripted phones, to the
//! millisecond: A and B (client INVITE), E and F (client non-INVITE), J (server
//! non-INVITE). T1 = 500 ms, T2 = 4 s.

use super::*;
use crate::c2c::command::Role;
use crate::sim::{OnInvite, Script, Sim, SimConfig};
use crate::sip::msg::Method;
use crate::sip::reactor::{SipEvent, TxFailure};

/// Timer A (§17.1.1.2): the INVITE is resent after T1, then 2·T1, byte for byte; the
/// non-2xx final is ACKed inside the transaction (§17.1.1.3) and reported; a retransmitted
/// final is ACKed again and absorbed; nothing is resent after the final.
#[test]
fn invite_resent_at_t1_then_2t1_and_the_486_is_acked_and_reported() {
    let mut sim = Sim::new(SimConfig::default());
    let ini = sim.add_phone(
        INITIATOR,
        Script {
            ignore_invites: 2,
            ..Script::with(OnInvite::Reject { code: 486 })
        },
    );
    let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, false);
    sim.run_until(ms(1500));
    let invites = sim.phone(ini).requests(Method::Invite);
    assert_eq!(millis(&invites), [0, 500, 1500]);
    for (_, copy) in &invites {
        assert_eq!(
            copy.to_bytes(),
            invites[0].1.to_bytes(),
            "a resend is byte-identical"
        );
    }
    let invite = invites[2].1.clone();
    let acks = sim.phone(ini).requests(Method::Ack);
    assert_eq!(millis(&acks), [1500], "the ACK goes at once");
    let ack = acks[0].1;
    assert_eq!(
        branch(ack),
        branch(&invite),
        "§17.1.1.3: the INVITE's branch"
    );
    assert_eq!(ack.call_id().ok(), invite.call_id().ok());
    assert_eq!(
        ack.cseq().ok(),
        invite.cseq().ok().map(|(n, _)| (n, Method::Ack))
    );
    assert_eq!(ack.to_tag(), Some(sim.phone(ini).tag()));
    assert_eq!(ack.request_uri(), invite.request_uri());
    let got = progress(&rx);
    assert_eq!(got.last(), Some(&(486, Role::Initiator)), "{got:?}");

    sim.run_until(ms(2000));
    let tag = sim.phone(ini).tag().to_string();
    sim.send_from(
        ini,
        Message::response_to(&invite, 486, "Rejected", Some(&tag)),
    );
    assert_eq!(millis(&sim.phone(ini).requests(Method::Ack)), [1500, 2000]);
    sim.run_until(ms(40_000));
    assert_eq!(
        sim.phone(ini).requests(Method::Invite).len(),
        3,
        "Timer A stopped"
    );
    assert!(progress(&rx).is_empty(), "the resent 486 is absorbed");
}

/// Timer B (§17.1.1.2): a silent phone's INVITE is resent with doubling intervals and the
/// transaction times out at 64·T1 = 32 s, reported as 408 (§8.1.3.1).
#[test]
fn a_silent_phone_times_the_invite_out_at_64_t1() {
    let mut sim = Sim::new(SimConfig {
        ring_timeout: Duration::from_secs(60),
        ..SimConfig::default()
    });
    let ini = sim.add_phone(INITIATOR, Script::with(OnInvite::Silent));
    let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, false);
    sim.run_until(ms(31_999));
    assert!(sim.sip_events.is_empty(), "{:?}", sim.sip_events);
    sim.run_until(ms(40_000));
    let invites = sim.phone(ini).requests(Method::Invite);
    assert_eq!(millis(&invites), [0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert!(
        matches!(
            sim.sip_events.as_slice(),
            [(at, SipEvent::TxFailed { reason: TxFailure::Timeout, .. })] if *at == ms(32_000)
        ),
        "{:?}",
        sim.sip_events
    );
    let got = progress(&rx);
    assert_eq!(got.last(), Some(&(408, Role::Initiator)), "{got:?}");
}

/// Timer E (§17.1.2.2): the REFER of REFER mode (a non-INVITE request) is resent after T1,
/// then at doubling intervals capped at T2; after its final response it is not resent
/// (Timer K only absorbs retransmitted responses) and nothing final is reported.
#[test]
fn refer_resent_with_timer_e_capped_at_t2() {
    let mut sim = Sim::new(SimConfig::default());
    let ini = sim.add_phone(
        INITIATOR,
        Script {
            ignore_refers: 5,
            ..Script::answer()
        },
    );
    let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, false);
    sim.run_until(ms(30_000));
    let refers = sim.phone(ini).requests(Method::Refer);
    assert_eq!(millis(&refers), [0, 500, 1500, 3500, 7500, 11500]);
    let intervals: Vec<u64> = millis(&refers).windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(intervals, [500, 1000, 2000, 4000, 4000]);
    for (_, copy) in &refers {
        assert_eq!(
            copy.to_bytes(),
            refers[0].1.to_bytes(),
            "a resend is byte-identical"
        );
    }
    assert!(
        progress(&rx).iter().all(|(code, _)| *code < 300),
        "no final report while the transfer runs"
    );
}

/// Timer F (§17.1.2.2): a REFER never answered is resent up to T2 and times out at
/// 64·T1 = 32 s after it was first sent.
#[test]
fn an_unanswered_refer_times_out_at_64_t1() {
    let mut sim = Sim::new(SimConfig::default());
    let ini = sim.add_phone(
        INITIATOR,
        Script {
            ignore_refers: usize::MAX,
            ..Script::answer()
        },
    );
    sim.click_to_call(INITIATOR_URI, DESTINATION_URI, false);
    sim.run_until(ms(31_999));
    assert!(
        !sim.sip_events
            .iter()
            .any(|(_, e)| matches!(e, SipEvent::TxFailed { .. })),
        "{:?}",
        sim.sip_events
    );
    sim.run_until(ms(32_000));
    let refers = sim.phone(ini).requests(Method::Refer);
    assert_eq!(
        millis(&refers),
        [
            0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    let failed: Vec<_> = sim
        .sip_events
        .iter()
        .filter(|(_, e)| {
            matches!(
                e,
                SipEvent::TxFailed {
                    reason: TxFailure::Timeout,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(millis(failed), [32_000]);
}

/// Timer J (§17.2.2): the server transaction of a phone's BYE over UDP answers its
/// retransmissions with the same 200 for 64·T1 after that 200; the engine hears the BYE
/// once. From then on a copy is a new request (and the dialog is gone: 481).
#[test]
fn a_bye_retransmission_is_absorbed_until_timer_j() {
    let mut sim = Sim::new(SimConfig::default());
    let ini = sim.add_phone(INITIATOR, Script::answer());
    let dest = sim.add_phone(DESTINATION, Script::answer());
    sim.click_to_call(INITIATOR_URI, DESTINATION_URI, true);
    sim.run_until(ms(10_000));
    let bye = sim.phone_mut(ini).in_dialog("BYE");
    sim.send_from(ini, bye.clone());
    assert_eq!(
        millis(&sim.phone(dest).requests(Method::Bye)),
        [10_000],
        "BYE mirrored"
    );
    for at in [10_500, 41_999] {
        sim.run_until(ms(at));
        sim.send_from(ini, bye.clone());
    }
    sim.run_until(ms(42_000));
    sim.send_from(ini, bye.clone());
    let answers: Vec<(u64, u16)> = sim
        .phone(ini)
        .responses()
        .into_iter()
        .filter(|(_, r)| matches!(r.cseq(), Ok((_, Method::Bye))))
        .map(|(at, r)| (at.as_millis() as u64, r.status().unwrap_or(0)))
        .collect();
    assert_eq!(
        answers,
        [(10_000, 200), (10_500, 200), (41_999, 200), (42_000, 481)]
    );
    let heard: Vec<_> = sim
        .sip_events
        .iter()
        .filter(|(_, e)| {
            matches!(e, SipEvent::Request { request, .. } if request.method() == Some(&Method::Bye))
        })
        .collect();
    assert_eq!(millis(heard), [10_000, 42_000]);
}

/// RFC 3261 §13.3.1.4: our 2xx to an INVITE over UDP is resent by us (not the
/// transaction, RFC 6026) after T1, then at doubling intervals capped at T2, until its ACK.
/// The initiator's re-INVITE in an anchored call is relayed to the destination; the
/// destination's 2xx goes back as ours and the initiator holds its ACK for a while.
#[test]
fn our_2xx_to_a_reinvite_is_resent_until_its_ack() {
    let mut sim = Sim::new(SimConfig::default());
    let ini = sim.add_phone(INITIATOR, Script::answer());
    let dest = sim.add_phone(DESTINATION, Script::answer());
    sim.click_to_call(INITIATOR_URI, DESTINATION_URI, true);
    sim.run_until(ms(10_000));
    let reinvite = sim.phone_mut(ini).reinvite();
    sim.send_from(ini, reinvite.clone());
    assert_eq!(
        millis(&sim.phone(dest).requests(Method::Invite)),
        [0, 10_000],
        "the offer is relayed"
    );
    let oks = |sim: &Sim| -> Vec<u64> {
        let answers = sim.phone(ini).responses();
        let oks = answers.iter().filter(|(_, r)| {
            r.status() == Some(200) && matches!(r.cseq(), Ok((_, Method::Invite)))
        });
        millis(oks)
    };
    sim.run_until(ms(21_600));
    assert_eq!(oks(&sim), [10_000, 10_500, 11_500, 13_500, 17_500, 21_500]);
    let ack = sim.phone(ini).ack_for(&reinvite);
    sim.send_from(ini, ack);
    sim.run_until(ms(60_000));
    assert_eq!(oks(&sim).len(), 6, "no resend after the ACK");
}

/// RFC 3261 §13.3.1.4: the initiator never ACKs our 2xx to its re-INVITE (relayed, the
/// destination's answer in it). The reactor resends the 2xx for 64·T1; the engine's own
/// deadline then ends the call: BYE to both phones 32 s after the 2xx, and nothing is
/// left.
#[test]
fn a_2xx_to_a_reinvite_never_acked_ends_the_call_with_bye_at_64_t1() {
    let mut sim = Sim::new(SimConfig::default());
    let ini = sim.add_phone(INITIATOR, Script::answer());
    let dest = sim.add_phone(DESTINATION, Script::answer());
    let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, true);
    sim.run_until(ms(10_000));
    let reinvite = sim.phone_mut(ini).reinvite();
    sim.send_from(ini, reinvite);
    sim.run_until(ms(41_999));
    assert!(sim.phone(ini).requests(Method::Bye).is_empty());
    assert_eq!(sim.active_calls(), 1);
    sim.run_until(ms(60_000));
    assert_eq!(millis(&sim.phone(ini).requests(Method::Bye)), [42_000]);
    assert_eq!(millis(&sim.phone(dest).requests(Method::Bye)), [42_000]);
    assert_eq!(sim.active_calls(), 0);
    assert_eq!(sim.engine_counts(), Default::default());
    let last = rx.try_iter().last().expect("progress");
    assert_eq!((last.code, last.leg), (200, Role::Destination));
}
