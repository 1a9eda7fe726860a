//! Call detail records (CDRs): one record per accepted click-to-call, made on the calls
//! thread when the call is over ([`record`]), kept in memory for
//! `GET /api/v1/calls?state=ended` ([`CdrSink`]) and, with `CdrFilename` set, appended to
//! that file as JSON lines or RFC 4180 CSV ([`format`]) by a thread of its own
//! ([`writer`]), fed through a bounded channel: a slow or full disk never holds up a call.
//! A record the channel has no room for is counted and logged, not waited for.

mod format;
mod mask;
mod record;
mod time;
mod writer;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};

use crate::access::LogLimiter;
pub(crate) use record::{CallFacts, CdrRecord, EndedBy, RecordSettings};
pub(crate) use writer::{CdrWriter, Control, FileSettings};

/// Ended calls' records kept for `GET /api/v1/calls?state=ended`, newest last.
const RECENT_KEPT: usize = 1024;
/// Records waiting for the writer before new ones are dropped (and counted): at 1000
/// calls a second, eight seconds of a stalled disk.
const QUEUE: usize = 8192;
/// A dropped record is logged at most this often.
const DROP_LOG_EVERY: Duration = Duration::from_secs(60);

/// The writer's counters, for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct CdrStats {
    /// Records written to the file.
    pub written: AtomicU64,
    /// Failed writes, `fsync`s and reopens of the file.
    pub write_errors: AtomicU64,
    /// Records the writer's queue had no room for.
    pub dropped: AtomicU64,
}

/// The calls thread's end of the records: the recent ones, and the writer's queue.
#[derive(Debug)]
pub(crate) struct CdrSink {
    settings: RecordSettings,
    /// `None`: no `CdrFilename`, records are only kept in memory.
    queue: Option<Sender<Arc<CdrRecord>>>,
    stats: Arc<CdrStats>,
    recent: VecDeque<Arc<CdrRecord>>,
    drops_logged: LogLimiter,
}

impl Default for CdrSink {
    /// No file, no masking, no instance name.
    fn default() -> CdrSink {
        CdrSink::new(RecordSettings::default(), None, Arc::default())
    }
}

impl CdrSink {
    pub(crate) fn new(
        settings: RecordSettings,
        queue: Option<Sender<Arc<CdrRecord>>>,
        stats: Arc<CdrStats>,
    ) -> CdrSink {
        CdrSink {
            settings,
            queue,
            stats,
            recent: VecDeque::new(),
            drops_logged: LogLimiter::new(DROP_LOG_EVERY, 1),
        }
    }

    /// The channel for records to the writer thread, and the sink that feeds it.
    pub(crate) fn with_writer(
        settings: RecordSettings,
        stats: Arc<CdrStats>,
    ) -> (CdrSink, crossbeam_channel::Receiver<Arc<CdrRecord>>) {
        let (tx, rx) = crossbeam_channel::bounded(QUEUE);
        (CdrSink::new(settings, Some(tx), stats), rx)
    }

    pub(crate) fn settings(&self) -> &RecordSettings {
        &self.settings
    }

    /// A call is over: keep its record and hand it to the writer, never waiting.
    pub(crate) fn record(&mut self, record: CdrRecord) {
        let record = Arc::new(record);
        if self.recent.len() >= RECENT_KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back(Arc::clone(&record));
        let Some(queue) = &self.queue else {
            return;
        };
        match queue.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(r)) | Err(TrySendError::Disconnected(r)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                let key = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
                if let Some(held) = self.drops_logged.allow(Instant::now(), key) {
                    log::error!(target: "cdr", "call detail record of {} dropped: the writer is {} records behind{}",
                        r.call_id, QUEUE,
                        if held > 0 { format!(" ({held} more dropped since the last one logged)") } else { String::new() });
                }
            }
        }
    }

    /// The recent records, oldest first.
    pub(crate) fn recent(&self) -> Vec<CdrRecord> {
        self.recent.iter().map(|r| CdrRecord::clone(r)).collect()
    }

    /// `(written, write errors, dropped)`.
    pub(crate) fn counts(&self) -> (u64, u64, u64) {
        (
            self.stats.written.load(Ordering::Relaxed),
            self.stats.write_errors.load(Ordering::Relaxed),
            self.stats.dropped.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c2c::command::{CallMode, CallOrigin};

    fn record(n: usize) -> CdrRecord {
        CallFacts::new(
            CallOrigin::for_test("1", "2"),
            "sip:1@h",
            "sip:2@h",
            CallMode::Anchored,
        )
        .finish(
            &n.to_string(),
            EndedBy::Destination,
            [None, None],
            &RecordSettings::default(),
        )
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_memory_keeps_the_last_records() {
        let (tx, rx) = crossbeam_channel::bounded(2);
        let mut sink = CdrSink::new(RecordSettings::default(), Some(tx), Arc::default());
        for n in 0..(RECENT_KEPT + 5) {
            sink.record(record(n));
        }
        assert_eq!(rx.len(), 2, "the writer's queue is never waited for");
        assert_eq!(sink.counts(), (0, 0, (RECENT_KEPT + 5 - 2) as u64));
        let recent = sink.recent();
        assert_eq!(recent.len(), RECENT_KEPT);
        assert_eq!(recent.first().map(|r| r.call_id.as_str()), Some("5"));
        assert_eq!(
            recent.last().map(|r| r.call_id.clone()),
            Some((RECENT_KEPT + 4).to_string())
        );
    }
}
