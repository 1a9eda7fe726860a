//! The registry's bounds and its event streams, by hand.

use super::*;

fn p(code: u16, leg: Role, text: &str) -> Progress {
    Progress {
        code,
        leg,
        text: text.to_owned(),
    }
}

fn id(n: u32) -> CallId {
    CallId::from_client(&format!("call{n}"))
}

#[test]
fn a_late_watcher_gets_the_progress_so_far_then_the_rest_then_the_end() {
    let mut r = Registry::default();
    let now = Instant::now();
    r.open(now, &id(1), "sip:a@h", "sip:b@h", CallMode::Anchored);
    r.progress(now, &id(1), &p(180, Role::Initiator, "Ringing initiator"));
    let (so_far, events) = r.subscribe(now, &id(1)).expect("known");
    assert_eq!(so_far.progress.len(), 1);
    r.progress(
        now,
        &id(1),
        &p(200, Role::Destination, "Connected to destination"),
    );
    assert_eq!(
        r.get(now, &id(1)).expect("call").state,
        CallState::Connected
    );
    r.close(now, &id(1));
    match events.try_recv() {
        Ok(CallEvent::Progress(e)) => assert_eq!(e.code, 200),
        other => panic!("{other:?}"),
    }
    match events.try_recv() {
        Ok(CallEvent::End(v)) => assert_eq!(v.state, CallState::Ended),
        other => panic!("{other:?}"),
    }
    assert!(events.try_recv().is_err(), "the stream ends after the end");
    assert!(r.list(now).is_empty());
    assert!(r.get(now, &id(1)).is_some(), "kept a while after it ended");
    let m = r.metrics(0, 0);
    assert_eq!(m.started, [0, 1, 0]);
    assert_eq!(m.finished[1][0], 1);
    assert_eq!(m.final_count, 1);
}

#[test]
fn ended_calls_are_kept_at_most_max_ended_and_at_most_kept_for() {
    let mut r = Registry::default();
    let now = Instant::now();
    for n in 0..(MAX_ENDED as u32 + 10) {
        r.open(now, &id(n), "sip:a@h", "sip:b@h", CallMode::Refer);
        r.close(now, &id(n));
    }
    assert_eq!(r.records.len(), MAX_ENDED);
    assert!(r.get(now, &id(0)).is_none());
    assert!(r.get(now + KEPT_FOR, &id(MAX_ENDED as u32 + 9)).is_none());
    assert!(r.records.is_empty());
}

#[test]
fn a_call_keeps_at_most_max_events_and_always_its_final() {
    let mut r = Registry::default();
    let now = Instant::now();
    r.open(now, &id(1), "sip:a@h", "sip:b@h", CallMode::Refer);
    for _ in 0..100 {
        r.progress(
            now,
            &id(1),
            &p(180, Role::Destination, "Ringing destination"),
        );
    }
    r.progress(now, &id(1), &p(486, Role::Destination, "Failed"));
    let v = r.get(now, &id(1)).expect("call");
    assert_eq!(v.progress.len(), MAX_EVENTS);
    assert_eq!(v.progress.last().map(|e| e.code), Some(486));
    for _ in 0..(MAX_WATCHERS + 5) {
        let _kept = r.subscribe(now, &id(1));
    }
    assert_eq!(
        r.records.get(&id(1)).map(|r| r.watchers.len()),
        Some(MAX_WATCHERS)
    );
}
