//! Counters of the front doors for `/metrics`: connections per listener, and calls the
//! admission limits refused. Atomics, bumped by the listener and connection threads; read
//! (relaxed: each is a count on its own) when `/metrics` is asked.

use std::sync::atomic::{AtomicU64, Ordering};

use super::admission::Refusal;

/// The listeners, in the order `/metrics` shows them, and their label values.
pub(crate) const LISTENERS: [&str; 4] = ["HTTP", "XML", "HTTPS", "XML-TLS"];

/// One listener's connections.
#[derive(Debug, Default)]
pub(crate) struct ListenerStats {
    /// Connections given a thread.
    pub(crate) accepted: AtomicU64,
    /// Of those, the ones that have ended.
    pub(crate) closed: AtomicU64,
    /// Closed at once: the peer is not in the access list.
    pub(crate) refused_access: AtomicU64,
    /// Answered 503: over the connection cap, global or per peer.
    pub(crate) refused_limit: AtomicU64,
}

impl ListenerStats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Everything the front doors count.
#[derive(Debug, Default)]
pub(crate) struct FrontDoorStats {
    pub(crate) listeners: [ListenerStats; 4],
    /// Calls refused by `MaxConcurrentCalls`, `MaxCallsPerSecond`,
    /// `MaxCallsPerSecondPerClient`.
    refused_calls: [AtomicU64; 3],
}

impl FrontDoorStats {
    /// The counters of the listener named `what` (one of [`LISTENERS`]).
    pub(crate) fn listener(&self, what: &str) -> Option<&ListenerStats> {
        let i = LISTENERS.iter().position(|l| *l == what)?;
        self.listeners.get(i)
    }

    pub(crate) fn refused(&self, why: Refusal) {
        let i = match why {
            Refusal::Concurrent => 0,
            Refusal::Rate(_) => 1,
            Refusal::ClientRate(_) => 2,
        };
        if let Some(c) = self.refused_calls.get(i) {
            ListenerStats::bump(c);
        }
    }

    /// `(limit key, count)` of the refused calls.
    pub(crate) fn refused_calls(&self) -> [(&'static str, u64); 3] {
        let get = |i: usize| {
            self.refused_calls
                .get(i)
                .map_or(0, |c| c.load(Ordering::Relaxed))
        };
        [
            ("MaxConcurrentCalls", get(0)),
            ("MaxCallsPerSecond", get(1)),
            ("MaxCallsPerSecondPerClient", get(2)),
        ]
    }
}
