//! The call registry: what the API shows of every click-to-call, live or recently ended,
//! and the counters of `/metrics`. It lives in the engine, on the calls thread, so it needs
//! no lock; the front doors ask it through `Command::Query` and wait for the answer.
//!
//! Everything is bounded: a call's history, its watchers, and the ended calls kept (at most
//! `MAX_ENDED`, each for at most `KEPT_FOR`).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};
use serde::Serialize;

use super::command::{CallId, CallMode, Progress, Role};
use crate::sip::reactor::SipSnapshot;

/// Ended calls kept for `GET /api/v1/calls/{id}`, at most this many…
const MAX_ENDED: usize = 1024;
/// …and for at most this long.
const KEPT_FOR: Duration = Duration::from_secs(600);
/// Progress events kept per call; a call makes a handful, a phone sending 18x in a loop
/// must not grow it. The final one is always kept.
const MAX_EVENTS: usize = 32;
/// Event streams per call; a further one ends the oldest.
const MAX_WATCHERS: usize = 16;
/// Upper bounds (seconds) of the request-to-final histogram.
pub(crate) const FINAL_BUCKETS: [f64; 10] =
    [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0];

/// Where a call is, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallState {
    /// No final result yet.
    Progressing,
    /// The destination answered (final 2xx); an anchored call stays here until hung up.
    Connected,
    /// A final failure; legs may still be ending.
    Failed,
    /// Over: every leg has ended.
    Ended,
}

impl CallState {
    /// The name the API documents use.
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Progressing => "progressing",
            CallState::Connected => "connected",
            CallState::Failed => "failed",
            CallState::Ended => "ended",
        }
    }
}

/// One progress result, with when it came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgressView {
    pub code: u16,
    /// `Initiator` or `Destination`, as the XML interface writes it.
    pub leg: &'static str,
    pub text: String,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
}

/// One leg as the API shows it: its address and its latest result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegView {
    pub role: &'static str,
    pub uri: String,
    pub code: Option<u16>,
    pub text: Option<String>,
}

/// A call as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallView {
    pub id: String,
    pub initiator: String,
    pub destination: String,
    pub anchor: bool,
    /// `refer`, `anchored` or `refer-ood` (`CallMode::as_str`).
    pub mode: &'static str,
    pub state: CallState,
    /// The final result, once there is one.
    pub result: Option<ProgressView>,
    pub hung_up_by_api: bool,
    pub created_ms: u64,
    pub ended_ms: Option<u64>,
    pub legs: [LegView; 2],
    pub progress: Vec<ProgressView>,
}

/// What an event stream carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    Progress(ProgressView),
    /// The call is over; nothing follows.
    End(Box<CallView>),
}

/// The counters `/metrics` shows, copied out of the calls thread.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Calls placed, by mode (`CallMode::index`: refer, anchored, refer-ood).
    pub started: [u64; 3],
    /// Calls with a final result, by mode and class (`[mode][class]`, class 2..=6 at
    /// index 0..=4).
    pub finished: [[u64; 5]; 3],
    pub live_calls: u64,
    pub live_legs: u64,
    /// Cumulative counts per `FINAL_BUCKETS` bound, then the count and sum (seconds).
    pub final_buckets: [u64; FINAL_BUCKETS.len()],
    pub final_count: u64,
    pub final_sum: f64,
    /// Call detail records written, failed writes of the file, records dropped.
    pub cdr_written: u64,
    pub cdr_write_errors: u64,
    pub cdr_dropped: u64,
    /// The SIP reactor's counters.
    pub sip: SipSnapshot,
}

#[derive(Debug)]
struct Record {
    view: CallView,
    mode: CallMode,
    placed: Instant,
    /// When it ended, for `KEPT_FOR`.
    ended: Option<Instant>,
    watchers: VecDeque<Sender<CallEvent>>,
}

/// Every call the API can name.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    records: HashMap<CallId, Record>,
    /// Ended calls, oldest first.
    ended: VecDeque<CallId>,
    metrics: MetricsSnapshot,
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Registry {
    /// A call was placed.
    pub(crate) fn open(
        &mut self,
        now: Instant,
        id: &CallId,
        initiator: &str,
        destination: &str,
        mode: CallMode,
    ) {
        self.prune(now);
        let leg = |role: Role, uri: &str| LegView {
            role: role.as_str(),
            uri: uri.to_owned(),
            code: None,
            text: None,
        };
        self.metrics.started[mode.index()] += 1;
        self.records.insert(
            id.clone(),
            Record {
                view: CallView {
                    id: id.to_string(),
                    initiator: initiator.to_owned(),
                    destination: destination.to_owned(),
                    anchor: mode == CallMode::Anchored,
                    mode: mode.as_str(),
                    state: CallState::Progressing,
                    result: None,
                    hung_up_by_api: false,
                    created_ms: unix_ms(SystemTime::now()),
                    ended_ms: None,
                    legs: [
                        leg(Role::Initiator, initiator),
                        leg(Role::Destination, destination),
                    ],
                    progress: Vec::new(),
                },
                mode,
                placed: now,
                ended: None,
                watchers: VecDeque::new(),
            },
        );
    }

    /// A progress result of a live call.
    pub(crate) fn progress(&mut self, now: Instant, id: &CallId, p: &Progress) {
        let Some(rec) = self.records.get_mut(id) else {
            return;
        };
        let event = ProgressView {
            code: p.code,
            leg: p.leg.as_str(),
            text: p.text.clone(),
            time_ms: unix_ms(SystemTime::now()),
        };
        let leg = &mut rec.view.legs[p.leg.index()];
        leg.code = Some(p.code);
        leg.text = Some(p.text.clone());
        if p.is_final() {
            rec.view.state = if p.code < 300 {
                CallState::Connected
            } else {
                CallState::Failed
            };
            rec.view.result = Some(event.clone());
            let m = &mut self.metrics;
            let class = usize::from((p.code / 100).clamp(2, 6) - 2);
            m.finished[rec.mode.index()][class] += 1;
            let secs = now.saturating_duration_since(rec.placed).as_secs_f64();
            for (bucket, bound) in m.final_buckets.iter_mut().zip(FINAL_BUCKETS) {
                if secs <= bound {
                    *bucket += 1;
                }
            }
            m.final_count += 1;
            m.final_sum += secs;
        }
        if rec.view.progress.len() >= MAX_EVENTS {
            if !p.is_final() {
                return;
            }
            rec.view.progress.pop();
        }
        rec.view.progress.push(event.clone());
        rec.watchers
            .retain(|w| w.send(CallEvent::Progress(event.clone())).is_ok());
    }

    /// The call is being hung up by the API.
    pub(crate) fn hung_up(&mut self, id: &CallId) {
        if let Some(rec) = self.records.get_mut(id) {
            rec.view.hung_up_by_api = true;
        }
    }

    /// The call is over: its watchers get its end and their streams close.
    pub(crate) fn close(&mut self, now: Instant, id: &CallId) {
        let Some(rec) = self.records.get_mut(id) else {
            return;
        };
        rec.view.state = CallState::Ended;
        rec.view.ended_ms = Some(unix_ms(SystemTime::now()));
        rec.ended = Some(now);
        for w in rec.watchers.drain(..) {
            let _ = w.send(CallEvent::End(Box::new(rec.view.clone())));
        }
        self.ended.push_back(id.clone());
        self.prune(now);
    }

    /// Drops ended calls beyond `MAX_ENDED` or older than `KEPT_FOR`.
    fn prune(&mut self, now: Instant) {
        while let Some(oldest) = self.ended.front() {
            let expired = self
                .records
                .get(oldest)
                .and_then(|r| r.ended)
                .is_none_or(|t| now.saturating_duration_since(t) >= KEPT_FOR);
            if self.ended.len() <= MAX_ENDED && !expired {
                break;
            }
            if let Some(id) = self.ended.pop_front() {
                self.records.remove(&id);
            }
        }
    }

    /// The live calls, oldest first.
    pub(crate) fn list(&mut self, now: Instant) -> Vec<CallView> {
        self.prune(now);
        let mut live: Vec<&Record> = self
            .records
            .values()
            .filter(|r| r.ended.is_none())
            .collect();
        live.sort_by_key(|r| r.placed);
        live.into_iter().map(|r| r.view.clone()).collect()
    }

    pub(crate) fn get(&mut self, now: Instant, id: &CallId) -> Option<CallView> {
        self.prune(now);
        self.records.get(id).map(|r| r.view.clone())
    }

    /// The call so far and a stream of what follows.
    pub(crate) fn subscribe(
        &mut self,
        now: Instant,
        id: &CallId,
    ) -> Option<(CallView, Receiver<CallEvent>)> {
        self.prune(now);
        let rec = self.records.get_mut(id)?;
        // Unbounded, but a call sends at most MAX_EVENTS progress events and one end.
        let (tx, rx) = crossbeam_channel::unbounded();
        if rec.ended.is_some() {
            let _ = tx.send(CallEvent::End(Box::new(rec.view.clone())));
        } else {
            if rec.watchers.len() >= MAX_WATCHERS {
                rec.watchers.pop_front();
            }
            rec.watchers.push_back(tx);
        }
        Some((rec.view.clone(), rx))
    }

    /// The counters; `live_calls` and `live_legs` are the engine's.
    pub(crate) fn metrics(&self, live_calls: usize, live_legs: usize) -> MetricsSnapshot {
        MetricsSnapshot {
            live_calls: live_calls as u64,
            live_legs: live_legs as u64,
            ..self.metrics.clone()
        }
    }
}

#[cfg(test)]
mod tests;
