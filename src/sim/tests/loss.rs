//! Lossy networks (issue 17): many click-to-calls through a path that loses a fraction of
//! the datagrams each way. Every call must end with exactly one final result (a 2xx for
//! the destination, or a failure >= 300) within the RFC time-outs, and once every deadline
//! has passed nothing may be left: no call in the engine, no state in the reactor core.

use super::*;
use crate::c2c::command::Role;
use crate::c2c::engine::EngineCounts;
use crate::sim::{Loss, OnInvite, Script, Sim, SimConfig};

const CALLS: usize = 120;

/// What became of the calls: (completed, failed with a final, without a final).
#[derive(Debug, PartialEq, Eq)]
struct Figures {
    completed: usize,
    failed: usize,
    no_final: usize,
}

fn is_final(code: u16, leg: Role) -> bool {
    code >= 300 || ((200..300).contains(&code) && leg == Role::Destination)
}

/// `CALLS` calls 200 ms apart, each between two phones of its own, at `loss` each way.
fn run(anchor: bool, loss: f64) -> Figures {
    let mut sim = Sim::new(SimConfig {
        loss: Some(Loss {
            fraction: loss,
            seed: 17,
        }),
        ..SimConfig::default()
    });
    let mut calls = Vec::new();
    for i in 0..CALLS {
        let port = 20_000 + 2 * i as u16;
        let initiator = format!("127.0.0.1:{port}");
        let destination = format!("127.0.0.1:{}", port + 1);
        let answer = OnInvite::Answer { after: ms(300) };
        sim.add_phone(
            &initiator,
            Script {
                transfer: true,
                // Anchored: the initiator hangs up after a while; REFER mode: the transfer
                // ends our part (the phone's NOTIFY, then its BYE).
                hang_up_after: anchor.then(|| ms(5_000)),
                ..Script::with(answer)
            },
        );
        sim.add_phone(&destination, Script::with(answer));
        sim.run_until(ms(200 * i as u64));
        let rx = sim.click_to_call(
            &format!("sip:a{i}@{initiator}"),
            &format!("sip:b{i}@{destination}"),
            anchor,
        );
        calls.push((i, rx, Vec::new()));
    }
    // The last call's ring time-out (30 s), Timer C after a CANCEL (64*T1) and the
    // transactions' own 64*T1 are long over by then.
    let end = ms(200 * CALLS as u64 + 600_000);
    sim.run_until(end);
    let mut figures = Figures {
        completed: 0,
        failed: 0,
        no_final: 0,
    };
    for (i, rx, got) in &mut calls {
        got.extend(progress(rx));
        let finals: Vec<_> = got.iter().filter(|(c, l)| is_final(*c, *l)).collect();
        assert!(finals.len() <= 1, "call {i}: more than one final: {got:?}");
        match finals.first() {
            Some((code, _)) if *code < 300 => figures.completed += 1,
            Some(_) => figures.failed += 1,
            None => {
                eprintln!("call {i}: no final result: {got:?}");
                figures.no_final += 1;
            }
        }
    }
    eprintln!(
        "{} mode, {CALLS} calls at {:.0}% loss each way: {} completed, {} failed with a final, {} without a final",
        if anchor { "anchored" } else { "REFER" },
        loss * 100.0,
        figures.completed,
        figures.failed,
        figures.no_final
    );
    assert_eq!(
        sim.engine_counts(),
        EngineCounts::default(),
        "calls-thread state left"
    );
    let counts = sim.core_counts();
    assert!(counts.is_zero(), "reactor core state left: {counts:?}");
    figures
}

#[test]
fn every_refer_call_succeeds_without_loss() {
    let f = run(false, 0.0);
    assert_eq!(f.completed, CALLS, "{f:?}");
}

#[test]
fn every_anchored_call_succeeds_without_loss() {
    let f = run(true, 0.0);
    assert_eq!(f.completed, CALLS, "{f:?}");
}

#[test]
fn every_refer_call_ends_with_one_final_at_20_percent_loss() {
    let f = run(false, 0.2);
    assert_eq!(f.no_final, 0, "{f:?}");
}

#[test]
fn every_anchored_call_ends_with_one_final_at_20_percent_loss() {
    let f = run(true, 0.2);
    assert_eq!(f.no_final, 0, "{f:?}");
}
