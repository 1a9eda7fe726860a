//! The session's flows driven by hand with a manual clock.

use super::*;
use Action::*;
use Role::{Destination as D, Initiator as I};

const T: Timing = Timing {
    ring_timeout: Duration::from_secs(30),
    transfer_timeout: Duration::from_secs(60),
};

fn drain(s: &mut Session) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

fn rep(code: u16, leg: Role, text: &str) -> Action {
    Report(Progress {
        code,
        leg,
        text: text.to_string(),
    })
}

/// A session whose INVITE to the initiator has gone out, its actions drained.
fn calling_initiator(anchor: bool) -> (Session, Instant) {
    let now = Instant::now();
    let mut s = Session::new(now, anchor, T);
    drain(&mut s);
    (s, now)
}

/// An out-of-dialog REFER session whose REFER has gone out, its actions drained.
fn referring() -> Session {
    let mut s = Session::refer_out_of_dialog(T);
    drain(&mut s);
    s
}

fn answered_initiator(anchor: bool) -> (Session, Instant) {
    let now = Instant::now();
    let mut s = Session::new(now, anchor, T);
    assert_eq!(drain(&mut s), vec![InviteInitiator]);
    s.handle(now, I, LegEvent::Ringing);
    s.handle(now, I, LegEvent::Ringing);
    s.handle(
        now,
        I,
        LegEvent::Answered {
            sdp: Some(b"answer".to_vec()),
        },
    );
    (s, now)
}

#[test]
fn refer_success_reports_ringing_connected_and_byes_initiator() {
    let (mut s, now) = answered_initiator(false);
    assert_eq!(
        drain(&mut s),
        vec![
            rep(180, I, "Ringing initiator"),
            rep(200, I, "Connected to initiator"),
            Refer
        ]
    );
    s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
    s.handle(now, I, LegEvent::TransferProgress { code: 100 });
    s.handle(now, I, LegEvent::TransferProgress { code: 180 });
    s.handle(now, I, LegEvent::TransferProgress { code: 183 });
    s.handle(now, I, LegEvent::TransferProgress { code: 200 });
    assert_eq!(
        drain(&mut s),
        vec![
            rep(180, D, "Ringing destination"),
            rep(200, D, "Connected to destination"),
            Bye(I)
        ]
    );
    assert!(!s.is_done(), "the initiator leg is still closing");
    s.handle(now, I, LegEvent::Ended);
    assert!(s.is_done());
}

#[test]
fn refer_rejected_falls_back_to_anchored_without_a_report() {
    let (mut s, now) = answered_initiator(false);
    drain(&mut s);
    s.handle(now, I, LegEvent::ReferRejected { code: 501 });
    assert_eq!(drain(&mut s), vec![InviteDestination]);
}

/// Only a refusal falls back: the REFER's answer or silence saying the initiator's dialog
/// is gone (RFC 3261 §12.2.1.2, RFC 5057 §5.1) ends the call with that code instead of
/// ringing the destination for nobody and reporting a false success.
#[test]
fn refer_refusals_fall_back_and_dialog_ending_failures_end_the_call() {
    for code in [403, 405, 420, 488, 500, 501, 503, 603] {
        let (mut s, now) = answered_initiator(false);
        drain(&mut s);
        s.handle(now, I, LegEvent::ReferRejected { code });
        assert_eq!(drain(&mut s), vec![InviteDestination], "REFER {code}");
    }
    let failures = [404, 408, 410, 481, 482, 483, 484, 485, 502, 604]
        .map(|code| LegEvent::ReferRejected { code })
        .into_iter()
        .chain([408, 503].map(|code| LegEvent::ReferFailed { code }));
    for event in failures {
        let (mut s, now) = answered_initiator(false);
        drain(&mut s);
        let code = match event {
            LegEvent::ReferRejected { code } | LegEvent::ReferFailed { code } => code,
            _ => unreachable!(),
        };
        s.handle(now, I, event);
        assert_eq!(
            drain(&mut s),
            vec![rep(code, D, "Failed to connect to destination"), Bye(I)],
            "REFER {code}"
        );
        s.handle(now, I, LegEvent::Ended);
        assert!(s.is_done(), "REFER {code}: nothing is left");
    }
}

#[test]
fn anchored_relays_offer_and_answer_then_mirrors_bye() {
    let (mut s, now) = answered_initiator(true);
    assert_eq!(drain(&mut s).last(), Some(&InviteDestination));
    s.handle(now, D, LegEvent::Ringing);
    s.handle(
        now,
        D,
        LegEvent::Answered {
            sdp: Some(b"offer".to_vec()),
        },
    );
    assert_eq!(
        drain(&mut s),
        vec![
            rep(180, D, "Ringing destination"),
            rep(200, D, "Connected to destination"),
            Reinvite {
                leg: I,
                sdp: b"offer".to_vec()
            }
        ]
    );
    s.handle(
        now,
        I,
        LegEvent::ReinviteAnswered {
            sdp: Some(b"answer2".to_vec()),
        },
    );
    assert_eq!(
        drain(&mut s),
        vec![Ack {
            leg: D,
            sdp: Some(b"answer2".to_vec())
        }]
    );
    assert_eq!(
        s.poll_timeout(),
        None,
        "an established anchored call has no timer"
    );
    s.handle(now, D, LegEvent::RemoteBye);
    assert_eq!(drain(&mut s), vec![Bye(I)]);
    s.handle(now, I, LegEvent::Ended);
    s.handle(now, D, LegEvent::Ended);
    assert!(s.is_done());
}

#[test]
fn initiator_bye_in_anchored_call_is_mirrored_to_destination() {
    let (mut s, now) = answered_initiator(true);
    s.handle(
        now,
        D,
        LegEvent::Answered {
            sdp: Some(b"offer".to_vec()),
        },
    );
    s.handle(
        now,
        I,
        LegEvent::ReinviteAnswered {
            sdp: Some(b"a".to_vec()),
        },
    );
    drain(&mut s);
    s.handle(now, I, LegEvent::RemoteBye);
    assert_eq!(drain(&mut s), vec![Bye(D)]);
}

#[test]
fn initiator_busy_is_the_one_final_report() {
    let (mut s, now) = calling_initiator(false);
    s.handle(now, I, LegEvent::Failed { code: 486 });
    assert_eq!(
        drain(&mut s),
        vec![rep(486, I, "Failed to connect to initiator")]
    );
    assert!(s.is_done());
}

#[test]
fn destination_busy_in_anchored_mode_byes_the_initiator() {
    let (mut s, now) = answered_initiator(true);
    drain(&mut s);
    s.handle(now, D, LegEvent::Failed { code: 486 });
    assert_eq!(
        drain(&mut s),
        vec![rep(486, D, "Failed to connect to destination"), Bye(I)]
    );
}

#[test]
fn sipfrag_failure_is_the_destination_failure() {
    let (mut s, now) = answered_initiator(false);
    drain(&mut s);
    s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
    s.handle(now, I, LegEvent::TransferProgress { code: 486 });
    assert_eq!(
        drain(&mut s),
        vec![rep(486, D, "Failed to connect to destination"), Bye(I)]
    );
    // A late NOTIFY changes nothing.
    s.handle(now, I, LegEvent::TransferProgress { code: 200 });
    assert_eq!(drain(&mut s), vec![]);
}

#[test]
fn ring_timeout_cancels_and_reports_408() {
    let (mut s, now) = calling_initiator(false);
    assert_eq!(s.poll_timeout(), Some(now + T.ring_timeout));
    s.handle_timeout(now + Duration::from_secs(29));
    assert_eq!(drain(&mut s), vec![]);
    s.handle_timeout(now + T.ring_timeout);
    assert_eq!(drain(&mut s), vec![Cancel(I)]);
    assert_eq!(s.poll_timeout(), Some(now + T.ring_timeout + LEG_GUARD));
    s.handle(now, I, LegEvent::Failed { code: 487 });
    assert_eq!(
        drain(&mut s),
        vec![rep(408, I, "Failed to connect to initiator")]
    );
    assert!(s.is_done());
}

#[test]
fn answer_crossing_the_cancel_is_byed_and_reported_408() {
    let (mut s, now) = calling_initiator(true);
    s.handle_timeout(now + T.ring_timeout);
    drain(&mut s);
    s.handle(now, I, LegEvent::Answered { sdp: None });
    assert_eq!(
        drain(&mut s),
        vec![rep(408, I, "Failed to connect to initiator"), Bye(I)]
    );
}

#[test]
fn silent_transfer_subscription_times_out_as_408() {
    let (mut s, now) = answered_initiator(false);
    drain(&mut s);
    s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
    assert_eq!(s.poll_timeout(), Some(now + T.transfer_timeout));
    s.handle_timeout(now + T.transfer_timeout);
    assert_eq!(
        drain(&mut s),
        vec![rep(408, D, "Failed to connect to destination"), Bye(I)]
    );
}

/// A subscription terminated without a final sipfrag is reported at once: a transfer
/// given up (487), or, when it expired, a time-out (408).
#[test]
fn terminated_subscription_without_final_status_is_487_at_once() {
    let (mut s, now) = answered_initiator(false);
    drain(&mut s);
    s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
    s.handle(now, I, LegEvent::TransferProgress { code: 100 });
    s.handle(now, I, LegEvent::TransferEnded { timed_out: false });
    assert_eq!(
        drain(&mut s),
        vec![rep(487, D, "Failed to connect to destination"), Bye(I)]
    );
    // Ended by its expiry (`reason=timeout`): a time-out, as our own deadline would be.
    let (mut s, now) = answered_initiator(false);
    drain(&mut s);
    s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
    s.handle(now, I, LegEvent::TransferEnded { timed_out: true });
    assert_eq!(
        drain(&mut s),
        vec![rep(408, D, "Failed to connect to destination"), Bye(I)]
    );
}

/// A transferee that hangs up before the final NOTIFY: reported at once (487) instead of
/// after the transfer time-out; a NOTIFY after that changes nothing.
#[test]
fn transferee_hanging_up_before_final_notify_is_reported_at_once() {
    let (mut s, now) = answered_initiator(false);
    drain(&mut s);
    s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
    s.handle(now, I, LegEvent::TransferProgress { code: 180 });
    s.handle(now, I, LegEvent::RemoteBye);
    assert_eq!(
        drain(&mut s),
        vec![
            rep(180, D, "Ringing destination"),
            rep(487, D, "Failed to connect to destination")
        ]
    );
    assert!(s.is_done());
    s.handle(now, I, LegEvent::TransferProgress { code: 200 });
    assert_eq!(drain(&mut s), vec![]);
}

/// RFC 4488: a 202 with `Refer-Sub: false` is the outcome; nothing more will come.
#[test]
fn refer_accepted_without_subscription_is_reported_at_once() {
    let (mut s, now) = answered_initiator(false);
    drain(&mut s);
    s.handle(
        now,
        I,
        LegEvent::ReferAccepted {
            subscription: false,
        },
    );
    assert_eq!(
        drain(&mut s),
        vec![rep(200, D, "Transferred to destination"), Bye(I)]
    );
    s.handle(now, I, LegEvent::Ended);
    assert!(s.is_done());
}

/// A NOTIFY's `Subscription-State: active;expires=N` sets the transfer's deadline to now
/// + N, shorter or longer than our default, at most an hour.
#[test]
fn notify_expires_sets_the_transfer_deadline() {
    let (mut s, now) = answered_initiator(false);
    drain(&mut s);
    s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
    assert_eq!(s.poll_timeout(), Some(now + T.transfer_timeout));
    let t = now + Duration::from_secs(5);
    let expires = Duration::from_secs(10);
    s.handle(t, I, LegEvent::TransferExpires { expires });
    assert_eq!(s.poll_timeout(), Some(t + expires));
    s.handle(
        t,
        I,
        LegEvent::TransferExpires {
            expires: Duration::from_secs(300),
        },
    );
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(300)));
    s.handle(
        t,
        I,
        LegEvent::TransferExpires {
            expires: Duration::from_secs(86400),
        },
    );
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(3600)));
    s.handle(t, I, LegEvent::TransferExpires { expires });
    s.handle_timeout(t + expires);
    assert_eq!(
        drain(&mut s),
        vec![rep(408, D, "Failed to connect to destination"), Bye(I)]
    );
}

#[test]
fn initiator_hanging_up_while_destination_rings_cancels_it() {
    let (mut s, now) = answered_initiator(true);
    drain(&mut s);
    s.handle(now, I, LegEvent::RemoteBye);
    assert_eq!(drain(&mut s), vec![Cancel(D)]);
    s.handle(now, D, LegEvent::Failed { code: 487 });
    assert_eq!(
        drain(&mut s),
        vec![rep(487, D, "Failed to connect to destination")]
    );
    assert!(s.is_done());
}

#[test]
fn initiator_refusing_the_reinvite_acks_then_ends_both_legs() {
    let (mut s, now) = answered_initiator(true);
    s.handle(
        now,
        D,
        LegEvent::Answered {
            sdp: Some(b"offer".to_vec()),
        },
    );
    drain(&mut s);
    s.handle(now, I, LegEvent::ReinviteFailed { code: 488 });
    assert_eq!(
        drain(&mut s),
        vec![Ack { leg: D, sdp: None }, Bye(I), Bye(D)]
    );
}

#[test]
fn shutdown_while_ringing_cancels_and_reports_once() {
    let (mut s, now) = calling_initiator(false);
    s.handle(now, I, LegEvent::Ringing);
    s.shutdown(now);
    assert_eq!(
        drain(&mut s),
        vec![
            rep(180, I, "Ringing initiator"),
            rep(503, I, "Failed to connect to initiator"),
            Cancel(I)
        ]
    );
    s.handle(now, I, LegEvent::Failed { code: 487 });
    assert_eq!(drain(&mut s), vec![]);
    assert!(s.is_done());
}

#[test]
fn shutdown_of_established_anchored_call_byes_both_legs_without_report() {
    let (mut s, now) = answered_initiator(true);
    s.handle(
        now,
        D,
        LegEvent::Answered {
            sdp: Some(b"offer".to_vec()),
        },
    );
    s.handle(
        now,
        I,
        LegEvent::ReinviteAnswered {
            sdp: Some(b"a".to_vec()),
        },
    );
    drain(&mut s);
    s.shutdown(now);
    assert_eq!(drain(&mut s), vec![Bye(I), Bye(D)]);
}

/// A phone that rings and then ignores everything, our CANCEL included: the session gives
/// the leg up 64·T1 and a margin after the CANCEL (RFC 3261 §9.1), reports 408 and is
/// done, even when the transaction layer never says a word.
#[test]
fn cancelled_leg_without_a_final_is_given_up_after_the_guard() {
    let (mut s, now) = calling_initiator(false);
    s.handle(now, I, LegEvent::Ringing);
    let cancel_at = now + T.ring_timeout;
    s.handle_timeout(cancel_at);
    assert_eq!(
        drain(&mut s),
        vec![rep(180, I, "Ringing initiator"), Cancel(I)]
    );
    assert_eq!(s.poll_timeout(), Some(cancel_at + LEG_GUARD));
    s.handle_timeout(cancel_at + LEG_GUARD - Duration::from_millis(1));
    assert_eq!(drain(&mut s), vec![]);
    s.handle_timeout(cancel_at + LEG_GUARD);
    assert_eq!(
        drain(&mut s),
        vec![rep(408, I, "Failed to connect to initiator")]
    );
    assert!(s.is_done());
    assert_eq!(s.poll_timeout(), None);
}

/// The same guard holds a destination cancelled because the initiator hung up (the final
/// 487 was already due) and a BYE whose outcome never comes.
#[test]
fn cancelled_destination_and_unanswered_bye_are_given_up_after_the_guard() {
    let (mut s, now) = answered_initiator(true);
    drain(&mut s);
    let t = now + Duration::from_secs(1);
    s.handle(t, I, LegEvent::RemoteBye);
    assert_eq!(drain(&mut s), vec![Cancel(D)]);
    s.handle_timeout(t + LEG_GUARD);
    assert_eq!(
        drain(&mut s),
        vec![rep(408, D, "Failed to connect to destination")]
    );
    assert!(s.is_done());

    let (mut s, now) = answered_initiator(false);
    drain(&mut s);
    s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
    s.handle(now, I, LegEvent::TransferProgress { code: 200 });
    assert_eq!(
        drain(&mut s),
        vec![rep(200, D, "Connected to destination"), Bye(I)]
    );
    assert_eq!(s.poll_timeout(), Some(now + LEG_GUARD));
    s.handle_timeout(now + LEG_GUARD);
    assert_eq!(drain(&mut s), vec![]);
    assert!(s.is_done());
}

#[test]
fn hang_up_while_ringing_cancels_and_reports_hung_up_by_api_once() {
    let (mut s, now) = calling_initiator(false);
    s.handle(now, I, LegEvent::Ringing);
    s.hang_up(now);
    assert_eq!(
        drain(&mut s),
        vec![
            rep(180, I, "Ringing initiator"),
            rep(487, I, HUNG_UP_TEXT),
            Cancel(I)
        ]
    );
    s.handle(now, I, LegEvent::Failed { code: 487 });
    assert_eq!(drain(&mut s), vec![]);
    assert!(s.is_done());
}

#[test]
fn hang_up_of_a_connected_anchored_call_byes_both_legs_without_a_second_final() {
    let (mut s, now) = answered_initiator(true);
    s.handle(
        now,
        D,
        LegEvent::Answered {
            sdp: Some(b"offer".to_vec()),
        },
    );
    s.handle(
        now,
        I,
        LegEvent::ReinviteAnswered {
            sdp: Some(b"a".to_vec()),
        },
    );
    drain(&mut s);
    s.hang_up(now);
    assert_eq!(drain(&mut s), vec![Bye(I), Bye(D)]);
}

/// A hang-up while our re-INVITE to the initiator is pending waits for its answer: a BYE
/// would cross the initiator's 2xx (RFC 3261 §14.1). Once it is answered, both legs get
/// their BYE; the destination's ACK goes first.
#[test]
fn hang_up_while_the_initiator_is_reinvited_waits_for_its_answer() {
    let (mut s, now) = answered_initiator(true);
    s.handle(
        now,
        D,
        LegEvent::Answered {
            sdp: Some(b"offer".to_vec()),
        },
    );
    drain(&mut s);
    s.hang_up(now);
    assert_eq!(drain(&mut s), vec![], "nothing while the re-INVITE is out");
    s.handle(
        now,
        I,
        LegEvent::ReinviteAnswered {
            sdp: Some(b"a".to_vec()),
        },
    );
    assert_eq!(
        drain(&mut s),
        vec![
            Ack {
                leg: D,
                sdp: Some(b"a".to_vec())
            },
            Bye(I),
            Bye(D)
        ]
    );
}

/// Out-of-dialog REFER (RFC 5359 §2.18): the REFER first, its acceptance reported once
/// (by the 2xx or a NOTIFY before it), the sipfrags as in the REFER flow, and no leg of
/// ours to end: the session is done at its final result.
#[test]
fn out_of_dialog_refer_reports_acceptance_then_the_sipfrags_and_ends_without_bye() {
    let now = Instant::now();
    for notify_first in [false, true] {
        let mut s = Session::refer_out_of_dialog(T);
        assert_eq!(drain(&mut s), vec![ReferOutOfDialog]);
        if notify_first {
            s.handle(now, I, LegEvent::TransferProgress { code: 100 });
        }
        s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
        s.handle(now, I, LegEvent::TransferProgress { code: 180 });
        s.handle(now, I, LegEvent::TransferProgress { code: 200 });
        assert_eq!(
            drain(&mut s),
            vec![
                rep(200, I, "Initiator accepted the REFER"),
                rep(180, D, "Ringing destination"),
                rep(200, D, "Connected to destination"),
            ],
            "notify first: {notify_first}"
        );
        assert!(s.is_done());
    }
}

#[test]
fn out_of_dialog_refer_refused_or_unanswered_fails_the_initiator_without_fallback() {
    let now = Instant::now();
    for event in [
        LegEvent::ReferRejected { code: 603 },
        LegEvent::ReferRejected { code: 501 },
        LegEvent::ReferFailed { code: 408 },
    ] {
        let mut s = referring();
        let code = match event {
            LegEvent::ReferRejected { code } | LegEvent::ReferFailed { code } => code,
            _ => unreachable!(),
        };
        s.handle(now, I, event);
        assert_eq!(
            drain(&mut s),
            vec![rep(code, I, "Failed to connect to initiator")]
        );
        assert!(s.is_done());
    }
}

#[test]
fn out_of_dialog_transfer_times_out_or_ends_without_a_final_sipfrag() {
    let now = Instant::now();
    let mut s = referring();
    assert_eq!(s.poll_timeout(), None, "the REFER's transaction bounds it");
    s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
    assert_eq!(s.poll_timeout(), Some(now + T.transfer_timeout));
    s.handle_timeout(now + T.transfer_timeout);
    assert_eq!(
        drain(&mut s),
        vec![
            rep(200, I, "Initiator accepted the REFER"),
            rep(408, D, "Failed to connect to destination"),
        ]
    );
    assert!(s.is_done());

    let mut s = referring();
    s.handle(now, I, LegEvent::TransferEnded { timed_out: false });
    assert_eq!(
        drain(&mut s),
        vec![
            rep(200, I, "Initiator accepted the REFER"),
            rep(487, D, "Failed to connect to destination"),
        ]
    );
    assert!(s.is_done());
}

#[test]
fn out_of_dialog_hang_up_before_acceptance_is_the_initiators_result() {
    let now = Instant::now();
    let mut s = referring();
    s.hang_up(now);
    assert_eq!(drain(&mut s), vec![rep(487, I, HUNG_UP_TEXT)]);
    assert!(s.is_done());
}

/// The record names the first cause of the end: what follows it (the CANCEL's 487, the
/// other side's BYE) does not change it.
#[test]
fn ended_by_is_the_first_cause_of_the_end() {
    use crate::cdr::EndedBy;
    // A ring time-out: the CANCEL's 487 that follows is not the initiator's refusal.
    let (mut s, now) = calling_initiator(false);
    s.handle_timeout(now + T.ring_timeout);
    s.handle(now, I, LegEvent::Failed { code: 487 });
    assert_eq!(s.ended_by(), EndedBy::Timeout);
    // The API hangs up an anchored call; the BYEs' answers follow.
    let (mut s, now) = answered_initiator(true);
    s.hang_up(now);
    s.handle(now, I, LegEvent::RemoteBye);
    assert_eq!(s.ended_by(), EndedBy::Api);
    // A busy destination in an anchored call.
    let (mut s, now) = answered_initiator(true);
    s.handle(now, D, LegEvent::Failed { code: 486 });
    assert_eq!(s.ended_by(), EndedBy::Destination);
    // The transfer's outcome ends a REFER call: the destination's answer.
    let (mut s, now) = answered_initiator(false);
    s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
    s.handle(now, I, LegEvent::TransferProgress { code: 200 });
    s.handle(now, I, LegEvent::Ended);
    assert_eq!(s.ended_by(), EndedBy::Destination);
    // A transfer whose NOTIFYs stop: its deadline.
    let (mut s, now) = answered_initiator(false);
    s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
    s.handle_timeout(now + T.transfer_timeout);
    assert_eq!(s.ended_by(), EndedBy::Timeout);
    // Shutdown, then the initiator's BYE.
    let (mut s, now) = answered_initiator(false);
    s.shutdown(now);
    s.handle(now, I, LegEvent::RemoteBye);
    assert_eq!(s.ended_by(), EndedBy::Shutdown);
    // A REFER nobody answers: neither phone chose it.
    let (mut s, now) = answered_initiator(false);
    s.handle(now, I, LegEvent::ReferFailed { code: 408 });
    assert_eq!(s.ended_by(), EndedBy::Error);
    // The initiator hangs up during the fallback's ringing.
    let (mut s, now) = answered_initiator(false);
    s.handle(now, I, LegEvent::ReferRejected { code: 501 });
    s.handle(now, I, LegEvent::RemoteBye);
    s.handle(now, D, LegEvent::Failed { code: 487 });
    assert_eq!(s.ended_by(), EndedBy::Initiator);
}

/// Out of dialog, a refused REFER is the initiator's phone's choice; one nobody answers is
/// neither phone's; a transfer's outcome is the destination's.
#[test]
fn out_of_dialog_refer_records_who_ended_it() {
    use crate::cdr::EndedBy;
    let now = Instant::now();
    let mut s = referring();
    s.handle(now, I, LegEvent::ReferRejected { code: 603 });
    assert_eq!(s.ended_by(), EndedBy::Initiator);
    let mut s = referring();
    s.handle(now, I, LegEvent::ReferFailed { code: 408 });
    assert_eq!(s.ended_by(), EndedBy::Error);
    let mut s = referring();
    s.handle(now, I, LegEvent::ReferAccepted { subscription: true });
    s.handle(now, I, LegEvent::TransferProgress { code: 486 });
    assert_eq!(s.ended_by(), EndedBy::Destination);
}

/// An anchored call up to the destination's INVITE, its actions drained.
fn calling_destination() -> (Session, Instant) {
    let (mut s, now) = answered_initiator(true);
    drain(&mut s);
    (s, now)
}

/// RFC 3262 §5: the destination's early offer goes to the initiator at once; its answer
/// goes in the PRACK; the 2xx then completes the call with no ACK action (the engine
/// acknowledged it on arrival: the offer was answered already).
#[test]
fn an_early_offer_goes_to_the_initiator_and_its_answer_into_the_prack() {
    let (mut s, now) = calling_destination();
    s.handle(now, D, LegEvent::Ringing);
    s.handle(
        now,
        D,
        LegEvent::EarlyOffer {
            sdp: b"offer".to_vec(),
        },
    );
    assert_eq!(
        drain(&mut s),
        vec![
            rep(180, D, "Ringing destination"),
            Reinvite {
                leg: I,
                sdp: b"offer".to_vec()
            }
        ]
    );
    // A second early offer (another fork) is not the session's: nothing more.
    s.handle(
        now,
        D,
        LegEvent::EarlyOffer {
            sdp: b"other".to_vec(),
        },
    );
    assert!(drain(&mut s).is_empty());
    s.handle(
        now,
        I,
        LegEvent::ReinviteAnswered {
            sdp: Some(b"answer".to_vec()),
        },
    );
    assert_eq!(
        drain(&mut s),
        vec![Prack {
            leg: D,
            sdp: b"answer".to_vec()
        }]
    );
    s.handle(now, D, LegEvent::Answered { sdp: None });
    assert_eq!(drain(&mut s), vec![rep(200, D, "Connected to destination")]);
    assert!(s.is_anchored());
}

/// A hang-up while the early offer's re-INVITE is out waits for its answer (no BYE across
/// the initiator's 2xx, RFC 3261 §14.1), then cancels the ringing destination.
#[test]
fn a_hang_up_during_the_early_offer_waits_for_the_initiators_answer() {
    let (mut s, now) = calling_destination();
    s.handle(
        now,
        D,
        LegEvent::EarlyOffer {
            sdp: b"offer".to_vec(),
        },
    );
    drain(&mut s);
    s.hang_up(now);
    assert_eq!(drain(&mut s), vec![rep(487, D, HUNG_UP_TEXT)]);
    s.handle(
        now,
        I,
        LegEvent::ReinviteAnswered {
            sdp: Some(b"answer".to_vec()),
        },
    );
    let actions = drain(&mut s);
    assert!(actions.contains(&Cancel(D)), "{actions:?}");
    assert!(actions.contains(&Bye(I)), "{actions:?}");
}

/// A 2xx before the PRACK (the early offer still with the initiator): the call goes on as
/// without early media, the initiator's answer in the ACK.
#[test]
fn a_2xx_before_the_early_offer_is_answered_takes_the_answer_in_the_ack() {
    let (mut s, now) = calling_destination();
    s.handle(
        now,
        D,
        LegEvent::EarlyOffer {
            sdp: b"offer".to_vec(),
        },
    );
    drain(&mut s);
    s.handle(now, D, LegEvent::Answered { sdp: None });
    assert_eq!(drain(&mut s), vec![rep(200, D, "Connected to destination")]);
    s.handle(
        now,
        I,
        LegEvent::ReinviteAnswered {
            sdp: Some(b"answer".to_vec()),
        },
    );
    assert_eq!(
        drain(&mut s),
        vec![Ack {
            leg: D,
            sdp: Some(b"answer".to_vec())
        }]
    );
    assert!(s.is_anchored());
}
