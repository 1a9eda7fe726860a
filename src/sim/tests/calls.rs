//! Call-level timers on the virtual clock: the session refresh of RFC 4028, the ring
//! time-out of the click-to-call and Timer C (RFC 3261 §16.6).

use super::*;
use crate::c2c::command::Role;
use crate::sim::{OnInvite, Script, Sim, SimConfig};
use crate::sip::msg::Method;
use crate::sip::transaction::Timers;

/// RFC 4028 §10: a 2xx with `Session-Expires: 90;refresher=uac` makes us the refresher;
/// the refresh is an in-dialog re-INVITE exactly half the interval later, carrying the SDP
/// the leg already has (§7.4: nothing changes), and each refresh's 2xx starts the next.
/// The call goes on afterwards, and the destination's BYE is mirrored.
#[test]
fn the_server_refreshes_an_anchored_session_at_half_the_interval() {
    let mut sim = Sim::new(SimConfig::default());
    let ini = sim.add_phone(INITIATOR, Script::answer());
    let dest = sim.add_phone(
        DESTINATION,
        Script {
            session_expires: Some("90;refresher=uac"),
            ..Script::answer()
        },
    );
    let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, true);
    assert_eq!(
        progress(&rx),
        [
            (180, Role::Initiator),
            (200, Role::Initiator),
            (180, Role::Destination),
            (200, Role::Destination)
        ]
    );
    sim.run_until(ms(44_999));
    assert_eq!(
        sim.phone(dest).requests(Method::Invite).len(),
        1,
        "no early refresh"
    );
    sim.run_until(ms(95_000));
    let invites = sim.phone(dest).requests(Method::Invite);
    assert_eq!(millis(&invites), [0, 45_000, 90_000]);
    let acks = sim.phone(dest).requests(Method::Ack);
    let sdp_given = acks[0].1.body().to_vec();
    assert!(
        !sdp_given.is_empty(),
        "the offerless INVITE's answer is in the ACK"
    );
    for (_, refresh) in &invites[1..] {
        assert_eq!(refresh.call_id().ok(), invites[0].1.call_id().ok());
        assert!(refresh.to_tag().is_some(), "in the dialog");
        assert_eq!(refresh.body(), sdp_given, "§7.4: the session is unchanged");
        assert_eq!(refresh.header("Session-Expires"), Some("90;refresher=uac"));
    }
    assert_eq!(
        millis(&acks),
        [0, 45_000, 90_000],
        "each refresh's 2xx is ACKed"
    );
    // The initiator asked for no timer: only the relayed offer reached it again.
    assert_eq!(millis(&sim.phone(ini).requests(Method::Invite)), [0, 0]);

    let bye = sim.phone_mut(dest).in_dialog("BYE");
    sim.send_from(dest, bye);
    assert_eq!(millis(&sim.phone(ini).requests(Method::Bye)), [95_000]);
    assert_eq!(sim.active_calls(), 0);
}

/// The ring time-out: a leg still without a final response after RingTimeout is
/// cancelled (RFC 3261 §9.1) at that instant and reported 408.
#[test]
fn a_ringing_initiator_is_cancelled_at_the_ring_timeout() {
    let mut sim = Sim::new(SimConfig {
        ring_timeout: Duration::from_secs(20),
        ..SimConfig::default()
    });
    let ini = sim.add_phone(INITIATOR, Script::with(OnInvite::Ring));
    let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, false);
    sim.run_until(ms(19_999));
    assert!(sim.phone(ini).requests(Method::Cancel).is_empty());
    sim.run_until(ms(60_000));
    let cancels = sim.phone(ini).requests(Method::Cancel);
    assert_eq!(millis(&cancels), [20_000]);
    assert_eq!(
        branch(cancels[0].1),
        branch(sim.phone(ini).requests(Method::Invite)[0].1),
        "§9.1: the INVITE's branch"
    );
    assert_eq!(
        millis(&sim.phone(ini).requests(Method::Ack)),
        [20_000],
        "the 487 is ACKed"
    );
    let got = progress(&rx);
    assert_eq!(got.last(), Some(&(408, Role::Initiator)), "{got:?}");
    assert_eq!(sim.active_calls(), 0);
}

/// Timer C (RFC 3261 §16.6): an INVITE that got a provisional but no final response is
/// cancelled by the transaction layer when Timer C (180 s) runs out, and each provisional
/// above 100 restarts it (§16.7 step 2).
#[test]
fn timer_c_cancels_a_ringing_invite_180_s_after_its_last_provisional() {
    // The default Timer C is 180 s; the ring time-out is set beyond it.
    assert_eq!(Timers::default().timer_c, Some(Duration::from_secs(180)));
    let mut sim = Sim::new(SimConfig {
        ring_timeout: Duration::from_secs(600),
        ..SimConfig::default()
    });
    let ini = sim.add_phone(INITIATOR, Script::with(OnInvite::Ring));
    let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, false);
    sim.run_until(ms(100_000));
    let invite = sim.phone(ini).requests(Method::Invite)[0].1.clone();
    let tag = sim.phone(ini).tag().to_string();
    let mut ringing = Message::response_to(&invite, 180, "Ringing", Some(&tag));
    ringing.push_header("Contact", &format!("<sip:phone@{INITIATOR}>"));
    sim.send_from(ini, ringing);
    sim.run_until(ms(279_999));
    assert!(
        sim.phone(ini).requests(Method::Cancel).is_empty(),
        "Timer C was restarted"
    );
    sim.run_until(ms(300_000));
    assert_eq!(millis(&sim.phone(ini).requests(Method::Cancel)), [280_000]);
    assert_eq!(
        millis(&sim.phone(ini).requests(Method::Ack)),
        [280_000],
        "the 487 is ACKed"
    );
    // The second 180 is not reported again; the 487 the CANCEL brought is the outcome.
    assert_eq!(
        progress(&rx),
        [(180, Role::Initiator), (487, Role::Initiator)]
    );
}

/// Issue 17 item 1: a phone that rings and then vanishes (not even the CANCEL is answered)
/// is cancelled at the ring time-out; 64·T1 = 32 s later the INVITE transaction gives up
/// (RFC 3261 §9.1) and the call ends with its final report, nothing left in the reactor.
/// Before: the transaction ended silently and the call waited forever.
#[test]
fn a_phone_that_rings_and_vanishes_ends_the_call_64_t1_after_the_cancel() {
    let mut sim = Sim::new(SimConfig {
        ring_timeout: Duration::from_secs(2),
        ..SimConfig::default()
    });
    let ini = sim.add_phone(INITIATOR, Script::with(OnInvite::RingAndVanish));
    let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, false);
    sim.run_until(ms(33_999));
    assert_eq!(millis(&sim.phone(ini).requests(Method::Cancel))[0], 2_000);
    assert_eq!(progress(&rx), [(180, Role::Initiator)], "no final yet");
    sim.run_until(ms(34_000));
    let got = progress(&rx);
    assert!(
        matches!(got.as_slice(), [(code, Role::Initiator)] if *code >= 300),
        "{got:?}"
    );
    sim.run_until(ms(200_000));
    assert_eq!(sim.active_calls(), 0);
    assert!(sim.core_counts().is_zero(), "{:?}", sim.core_counts());
}
