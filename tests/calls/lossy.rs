//! Click-to-calls through a lossy network, black box (issue 17, "Lossy networks"): the
//! real binary, SIPp phones behind a [`LossyRelay`] each (it drops a seeded fraction of
//! the datagrams each way), calls placed over XML at about 5 a second, REFER and anchored
//! mode side by side.
//!
//! What must hold: every accepted request (its first event the 100) gets exactly one
//! final result — a success or a failure ≥ 300 — and no document after it; the server
//! stays up (a last call at 0% loss succeeds); at 0% loss every call succeeds. The
//! figures (completed / failed with a final / no final) are printed with `--nocapture`.
//!
//! Wall time: the 0% test a few seconds; the 20% test usually 20–40 s, at most about
//! [`CALL_BOUND`] + the placing time when a REFER call waits out its NOTIFY's
//! `expires=60` (its final NOTIFY and every retransmission lost).

use std::thread;
use std::time::{Duration, Instant};

use crate::support::{
    lab::Lab, lab::connected_both_legs, lab::events, lab::phone, lossy::LossyRelay,
    ports::unbound_port, server::ServerConfig, sipp::Sipp, xml::Event, xml::XmlClient,
};

/// Calls per mode through the lossy path, and at 0% loss.
const LOSSY_CALLS: u32 = 40;
const CLEAN_CALLS: u32 = 20;
const LOSS: f64 = 0.20;
/// Between two calls of one mode: about 5 calls a second.
const INTERVAL: Duration = Duration::from_millis(200);
/// Bound on one call's final: above the longest RFC time-out a call can wait on here (a
/// REFER whose final NOTIFY never arrives ends by the first NOTIFY's `expires=60`).
const CALL_BOUND: Duration = Duration::from_secs(75);
/// SIPp's own time-out for the lossy runs: longer than placing and ending every call.
const SIPP_LASTING: Duration = Duration::from_secs(150);

/// One call's outcome: its events, and the connection kept open to check that nothing
/// follows the final.
struct Outcome {
    events: Vec<Event>,
    client: XmlClient,
}

impl Outcome {
    fn final_event(&self) -> Option<&Event> {
        self.events.iter().find(|e| e.is_final())
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    completed: usize,
    failed_with_final: usize,
    no_final: usize,
}

/// One mode's world: the phones (SIPp) and their relays; the XML addresses of the phones
/// name the relays' front ports.
struct Mode {
    name: &'static str,
    anchor: bool,
    initiator: String,
    destination: String,
    relays: Vec<LossyRelay>,
    phones: Vec<Sipp>,
}

impl Mode {
    /// REFER mode: the initiator phone behind a relay; the destination is never called
    /// (only named in the Refer-To).
    fn refer(lab: &Lab, calls: u32, loss: f64, seed: u64) -> Mode {
        let dest = unbound_port();
        let vars = [("DEST_PORT", dest.to_string())];
        let initiator = uas(lab, "initiator_refer_ok.xml", calls, &vars);
        let relay = LossyRelay::start(initiator.port, loss, seed);
        Mode {
            name: "REFER",
            anchor: false,
            initiator: phone(relay.port(), "100"),
            destination: phone(dest, "200"),
            relays: vec![relay],
            phones: vec![initiator],
        }
    }

    /// Anchored mode: both phones behind relays of their own.
    fn anchored(lab: &Lab, calls: u32, loss: f64, seed: u64) -> Mode {
        let initiator = uas(lab, "initiator_anchor.xml", calls, &[]);
        let init_relay = LossyRelay::start(initiator.port, loss, seed);
        // destination_anchor.xml checks it is called from the initiator as we named it.
        let vars = [("INIT_PORT", init_relay.port().to_string())];
        let destination = uas(lab, "destination_anchor.xml", calls, &vars);
        let dest_relay = LossyRelay::start(destination.port, loss, seed.wrapping_add(1));
        Mode {
            name: "anchored",
            anchor: true,
            initiator: phone(init_relay.port(), "100"),
            destination: phone(dest_relay.port(), "200"),
            relays: vec![init_relay, dest_relay],
            phones: vec![initiator, destination],
        }
    }

    fn set_loss(&self, loss: f64) {
        for relay in &self.relays {
            relay.set_loss(loss);
        }
    }

    fn expected(&self) -> Vec<Event> {
        if self.anchor {
            connected_both_legs()
        } else {
            events(&[
                (100, "", "In progress"),
                (180, "Initiator", "Ringing initiator"),
                (200, "Initiator", "Connected to initiator"),
                (200, "Destination", "Connected to destination"),
            ])
        }
    }

    fn report_relays(&self) {
        for relay in &self.relays {
            let (to_phone, to_server) = relay.stats();
            eprintln!(
                "{} relay for {}: to phone {to_phone:?}, to server {to_server:?}",
                self.name,
                relay.phone()
            );
        }
    }
}

/// A SIPp UAS for `calls` calls that outlasts a lossy run.
fn uas(lab: &Lab, scenario: &str, calls: u32, vars: &[(&str, String)]) -> Sipp {
    lab.uas_calls_lasting(scenario, calls, SIPP_LASTING, vars)
}

/// Places `n` calls of `mode`, one every [`INTERVAL`], each on its own XML connection
/// read until its final or [`CALL_BOUND`].
fn place(xml_port: u16, mode: &Mode, n: u32) -> Vec<Outcome> {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            if i > 0 {
                thread::sleep(INTERVAL);
            }
            let (port, ini, dst, anchor) = (
                xml_port,
                mode.initiator.clone(),
                mode.destination.clone(),
                mode.anchor,
            );
            thread::spawn(move || {
                let mut client = XmlClient::connect(port);
                client.send_request(&ini, &dst, anchor);
                let deadline = Instant::now() + CALL_BOUND;
                let mut events = Vec::new();
                while let Some(event) = client.next(deadline) {
                    let last = event.is_final();
                    events.push(event);
                    if last {
                        break;
                    }
                }
                Outcome { events, client }
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("call thread"))
        .collect()
}

/// Checks every call was accepted and got exactly one final (nothing after it), and
/// counts them.
fn tally(mode: &Mode, outcomes: &mut [Outcome]) -> Tally {
    let mut tally = Tally::default();
    for (i, outcome) in outcomes.iter_mut().enumerate() {
        assert_eq!(
            outcome.events.first(),
            Some(&Event::new(100, "", "In progress")),
            "{} call {i} not accepted: {:?}",
            mode.name,
            outcome.events
        );
        match outcome.final_event() {
            Some(e) if e.code < 300 => tally.completed += 1,
            Some(_) => tally.failed_with_final += 1,
            None => {
                tally.no_final += 1;
                eprintln!("{} call {i}: no final: {:?}", mode.name, outcome.events);
            }
        }
        // Every call of the run is over by now: a second final would be here already.
        assert!(
            outcome.client.silent_for(Duration::from_millis(100)),
            "{} call {i}: a document after its final: {:?}",
            mode.name,
            outcome.client.seen
        );
    }
    tally
}

#[test]
fn every_call_through_a_20_percent_lossy_path_ends_with_exactly_one_final() {
    let lab = Lab::start("lossy-20", ServerConfig::calls());
    // SIPp counts a stray request (a retransmission of a call it gave up) as a call, so
    // the phones are told of far more calls than are placed and stopped on drop.
    let phone_calls = LOSSY_CALLS * 10;
    let modes = [
        Mode::refer(&lab, phone_calls, LOSS, 17),
        Mode::anchored(&lab, phone_calls, LOSS, 1017),
    ];
    let xml_port = lab.server.xml_port;
    let started = Instant::now();
    let mut outcomes: Vec<Vec<Outcome>> = thread::scope(|s| {
        let runs: Vec<_> = modes
            .iter()
            .map(|mode| s.spawn(|| place(xml_port, mode, LOSSY_CALLS)))
            .collect();
        runs.into_iter()
            .map(|r| r.join().expect("mode thread"))
            .collect()
    });
    let mut tallies = Vec::new();
    for (mode, outcomes) in modes.iter().zip(outcomes.iter_mut()) {
        let t = tally(mode, outcomes);
        eprintln!(
            "{} mode, {LOSSY_CALLS} calls at {:.0}% loss each way: {} completed, {} failed with a final, {} no final ({:?})",
            mode.name,
            LOSS * 100.0,
            t.completed,
            t.failed_with_final,
            t.no_final,
            started.elapsed()
        );
        mode.report_relays();
        tallies.push(t);
    }
    // The server is still up and well: one more call per mode, at 0% loss, succeeds.
    for mode in &modes {
        mode.set_loss(0.0);
        let mut last = place(xml_port, mode, 1);
        assert_eq!(
            last[0].events,
            mode.expected(),
            "{} call after the loss",
            mode.name
        );
        assert!(last[0].client.silent_for(Duration::from_millis(100)));
        last.clear();
    }
    for (mode, t) in modes.iter().zip(&tallies) {
        assert_eq!(
            t.no_final, 0,
            "{} mode: calls without a final: {t:?}",
            mode.name
        );
        assert_eq!(
            t.completed + t.failed_with_final,
            LOSSY_CALLS as usize,
            "{} mode: {t:?}",
            mode.name
        );
    }
}

#[test]
fn every_call_through_the_relay_at_0_percent_loss_succeeds() {
    let lab = Lab::start("lossy-0", ServerConfig::calls());
    let modes = [
        Mode::refer(&lab, CLEAN_CALLS, 0.0, 7),
        Mode::anchored(&lab, CLEAN_CALLS, 0.0, 1007),
    ];
    let xml_port = lab.server.xml_port;
    let outcomes: Vec<Vec<Outcome>> = thread::scope(|s| {
        let runs: Vec<_> = modes
            .iter()
            .map(|mode| s.spawn(|| place(xml_port, mode, CLEAN_CALLS)))
            .collect();
        runs.into_iter()
            .map(|r| r.join().expect("mode thread"))
            .collect()
    });
    for (mode, mut outcomes) in modes.into_iter().zip(outcomes) {
        let t = tally(&mode, &mut outcomes);
        eprintln!(
            "{} mode, {CLEAN_CALLS} calls at 0% loss: {} completed, {} failed with a final, {} no final",
            mode.name, t.completed, t.failed_with_final, t.no_final
        );
        mode.report_relays();
        for (i, outcome) in outcomes.iter().enumerate() {
            assert_eq!(outcome.events, mode.expected(), "{} call {i}", mode.name);
        }
        // Every phone call went through to its end (SIPp exits 0 after its calls).
        let Mode { mut phones, .. } = mode;
        for phone in &mut phones {
            phone.expect_pass();
        }
    }
}
