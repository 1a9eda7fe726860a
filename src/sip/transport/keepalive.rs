//! Which targets get CRLF keepalives (RFC 5626 §4.4.1) and when the next one is due.
//! The dialog layer registers the targets; a registered TCP/TLS target also marks its
//! connection as carrying a dialog, which exempts it from the idle time-out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use super::config::KeepaliveIntervals;
use crate::sip::Transport;

/// The ping a keepalive sends, and the pong that answers one (RFC 5626 §4.4.1).
pub const PING: &[u8] = b"\r\n\r\n";
pub const PONG: &[u8] = b"\r\n";

type Key = (SocketAddr, Transport);

#[derive(Debug)]
struct Entry {
    /// How many dialogs asked for this target; it goes when the last one leaves.
    refs: usize,
    next_due: Instant,
}

/// Registered keepalive targets with their schedule. Time is an input (no clock inside).
#[derive(Debug)]
pub(super) struct KeepaliveTable {
    enabled: bool,
    intervals: KeepaliveIntervals,
    entries: HashMap<Key, Entry>,
}

impl KeepaliveTable {
    pub(super) fn new(enabled: bool, intervals: KeepaliveIntervals) -> Self {
        KeepaliveTable {
            enabled,
            intervals,
            entries: HashMap::new(),
        }
    }

    fn interval(&self, transport: Transport) -> std::time::Duration {
        if transport.is_stream() {
            self.intervals.stream
        } else {
            self.intervals.datagram
        }
    }

    /// Registers one more user of the target; the first ping goes one interval from now.
    pub(super) fn add(&mut self, now: Instant, addr: SocketAddr, transport: Transport) {
        let next_due = now + self.interval(transport);
        self.entries
            .entry((addr, transport))
            .and_modify(|e| e.refs = e.refs.saturating_add(1))
            .or_insert(Entry { refs: 1, next_due });
    }

    /// Drops one user of the target; returns true when none is left.
    pub(super) fn remove(&mut self, addr: SocketAddr, transport: Transport) -> bool {
        let key = (addr, transport);
        let Some(entry) = self.entries.get_mut(&key) else {
            return false;
        };
        entry.refs = entry.refs.saturating_sub(1);
        if entry.refs == 0 {
            self.entries.remove(&key);
            return true;
        }
        false
    }

    /// Whether a dialog uses this target (its connection is exempt from idle close).
    pub(super) fn contains(&self, addr: SocketAddr, transport: Transport) -> bool {
        self.entries.contains_key(&(addr, transport))
    }

    /// The targets whose keepalive is due at `now`, each rescheduled one interval on.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<(SocketAddr, Transport)> {
        if !self.enabled {
            return Vec::new();
        }
        let intervals = self.intervals;
        let mut due = Vec::new();
        for (&(addr, transport), entry) in &mut self.entries {
            if entry.next_due <= now {
                let step = if transport.is_stream() {
                    intervals.stream
                } else {
                    intervals.datagram
                };
                // Skip missed beats instead of sending a burst after a stall.
                entry.next_due = now + step;
                due.push((addr, transport));
            }
        }
        due
    }

    /// When `take_due` next has something, if keepalives are on.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        if !self.enabled {
            return None;
        }
        self.entries.values().map(|e| e.next_due).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn udp_every_30s_and_streams_every_180s_by_default() {
        let t0 = Instant::now();
        let mut table = KeepaliveTable::new(true, KeepaliveIntervals::default());
        table.add(t0, addr(1), Transport::Udp);
        table.add(t0, addr(2), Transport::Tcp);
        assert_eq!(table.next_deadline(), Some(t0 + Duration::from_secs(30)));
        assert!(table.take_due(t0 + Duration::from_secs(29)).is_empty());
        assert_eq!(
            table.take_due(t0 + Duration::from_secs(30)),
            vec![(addr(1), Transport::Udp)]
        );
        assert_eq!(table.next_deadline(), Some(t0 + Duration::from_secs(60)));
        let due = table.take_due(t0 + Duration::from_secs(180));
        assert_eq!(due.len(), 2);
        assert!(due.contains(&(addr(2), Transport::Tcp)));
    }

    #[test]
    fn reference_counted_and_disabled_sends_nothing() {
        let t0 = Instant::now();
        let mut table = KeepaliveTable::new(false, KeepaliveIntervals::default());
        table.add(t0, addr(1), Transport::Tls);
        table.add(t0, addr(1), Transport::Tls);
        assert!(table.contains(addr(1), Transport::Tls));
        assert_eq!(table.next_deadline(), None);
        assert!(table.take_due(t0 + Duration::from_secs(1000)).is_empty());
        assert!(!table.remove(addr(1), Transport::Tls));
        assert!(table.contains(addr(1), Transport::Tls));
        assert!(table.remove(addr(1), Transport::Tls));
        assert!(!table.contains(addr(1), Transport::Tls));
        assert!(!table.remove(addr(1), Transport::Tls));
    }
}
