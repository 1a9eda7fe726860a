//! What is left of a transaction once it has nothing to decide any more: a server
//! transaction that sent its final response (non-INVITE Completed, Timer J, RFC 3261
//! §17.2.2; INVITE Confirmed, Timer I, §17.2.1) and a client transaction that received its
//! non-2xx final (INVITE Completed, Timer D, §17.1.1.2; non-INVITE Completed, Timer K,
//! §17.1.2.2). Until its timer fires it only answers retransmissions: a retransmitted
//! request gets the final response again, a retransmitted final gets the ACK again, and
//! everything else matching it is absorbed.
//!
//! A full machine, its messages and its map entries cost kilobytes; an entry here costs its
//! key's hash, the peer's address, its deadline and the bytes it may have to send again
//! (none for an ACK absorber or a client non-INVITE), delta-coded against a recent one
//! (`delta`: finals differ in a few tokens). Entries live in lanes, one per hold
//! time (64*T1, T4, Timer D): in a lane, entries arrive in time order and all wait the same
//! time, so a lane is a FIFO in deadline order and the bytes a ring behind it. The store is
//! bounded by a byte budget; when full the oldest entry goes first. It never holds a live
//! transaction: a dropped entry only means that one late retransmission is treated as a
//! new request (or a stray response), as after the timer.
//!
//! Only UDP transactions come here: on reliable transports Timers D, I, J and K are zero
//! (§17), so those transactions end at once.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::delta;
use crate::sip::Transport;

/// How an entry answers what matches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// Send the stored bytes again: the final response of a server non-INVITE
    /// transaction to a retransmitted request (§17.2.2), the ACK of a client INVITE
    /// transaction to a retransmitted 300–699 (§17.1.1.2).
    Resend,
    /// Absorb silently: ACKs and INVITEs in Confirmed (§17.2.1), finals in a client
    /// non-INVITE's Completed (§17.1.2.2).
    Absorb,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hit {
    pub answer: Answer,
    pub addr: SocketAddr,
    pub transport: Transport,
    pub bytes: Vec<u8>,
}

/// Which side a key comes from; hashed with the key so a client and a server key never
/// meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Side {
    Client,
    Server,
}

struct Entry {
    /// The key's hash (`FinishedStore::hash`), also the index key.
    hash: u64,
    until: Instant,
    addr: SocketAddr,
    /// Where its bytes start, counted from the first byte ever put in the lane's ring.
    start: u64,
    len: u32,
    /// The lane reference its bytes are coded against (64 bits: never wraps).
    reference: u64,
    answer: Answer,
    transport: Transport,
    side: Side,
}

struct Lane {
    hold: Duration,
    entries: VecDeque<Entry>,
    /// Sequence number of `entries[0]`.
    first_seq: u64,
    bytes: VecDeque<u8>,
    /// Ring position of `bytes[0]`.
    first_byte: u64,
    /// Messages the entries' bytes are delta-coded against, oldest first; the last one
    /// codes new entries until one codes badly against it.
    references: VecDeque<Vec<u8>>,
    /// Number of `references[0]`.
    first_reference: u64,
}

/// A new reference is taken when a message codes to more than this part of its size.
const POOR_CODING: usize = 3;

/// An index entry costs a (hash, slot) pair and a control byte in the hash table, which
/// keeps at least 1/8 of its slots free.
const INDEX_COST: usize = (std::mem::size_of::<(u64, u64)>() + 1) * 8 / 7;
/// The budget counts each entry as this plus its bytes.
pub(super) const ENTRY_COST: usize = std::mem::size_of::<Entry>() + INDEX_COST;
/// At most 256 lanes: the lane number sits in the top byte of an index slot.
const LANE_SHIFT: u32 = 56;

/// The store of finished transactions. See the module documentation.
pub(super) struct FinishedStore {
    budget: usize,
    used: usize,
    lanes: Vec<Lane>,
    /// Key hash → lane number (top byte) and sequence number in the lane.
    index: HashMap<u64, u64>,
    /// Keyed per process, so a peer cannot aim its keys at a stored one.
    hasher: RandomState,
    clients: usize,
    servers: usize,
    evicted: u64,
}

impl FinishedStore {
    pub(super) fn new(budget: usize) -> FinishedStore {
        FinishedStore {
            budget,
            used: 0,
            lanes: Vec::new(),
            index: HashMap::new(),
            hasher: RandomState::new(),
            clients: 0,
            servers: 0,
            evicted: 0,
        }
    }

    /// The hash a key is filed under. 64 bits: for a new request to match a stored entry
    /// by accident takes about 2^64 / entries tries, and a peer cannot aim (`hasher`).
    pub(super) fn hash<K: Hash>(&self, side: Side, key: &K) -> u64 {
        self.hasher.hash_one((side, key))
    }

    /// File a finished transaction until `until` (its timer, from its machine) at `now`.
    /// Over budget, the oldest entries are dropped first, so this always succeeds;
    /// returns how many were dropped.
    #[allow(clippy::too_many_arguments)] // one call site per side, each field named there
    pub(super) fn insert(
        &mut self,
        now: Instant,
        until: Instant,
        side: Side,
        hash: u64,
        addr: SocketAddr,
        transport: Transport,
        answer: Answer,
        bytes: &[u8],
    ) -> usize {
        let mut dropped = 0;
        // Room for the bytes uncoded, and a reference of them: at most what it takes.
        let room = ENTRY_COST + 2 * bytes.len();
        while self.used + room > self.budget && self.drop_oldest() {
            dropped += 1;
        }
        self.evicted += dropped as u64;
        let hold = until.saturating_duration_since(now);
        let lane_no = match self.lanes.iter().position(|l| l.hold == hold) {
            Some(n) => n,
            None if self.lanes.len() < 1 << (64 - LANE_SHIFT) => {
                self.lanes.push(Lane {
                    hold,
                    entries: VecDeque::new(),
                    first_seq: 0,
                    bytes: VecDeque::new(),
                    first_byte: 0,
                    references: VecDeque::new(),
                    first_reference: 0,
                });
                self.lanes.len() - 1
            }
            // Hold times come from T1, T4 and Timer D: a handful. Should there be more,
            // the entry is not kept, as if its timer were zero.
            None => return dropped,
        };
        let lane = &mut self.lanes[lane_no];
        let mut code = Vec::with_capacity(bytes.len() / 2);
        if !bytes.is_empty() {
            if let Some(reference) = lane.references.back() {
                delta::encode(bytes, reference, &mut code);
            }
            if lane.references.is_empty() || code.len() * POOR_CODING > bytes.len() {
                code.clear();
                delta::encode(bytes, bytes, &mut code);
                lane.references.push_back(bytes.to_vec());
                self.used += bytes.len();
            }
        }
        let reference = lane.first_reference + lane.references.len().saturating_sub(1) as u64;
        let Ok(len) = u32::try_from(code.len()) else {
            return dropped; // a SIP message over 4 GiB cannot have been sent
        };
        let cost = ENTRY_COST + code.len();
        let seq = lane.first_seq + lane.entries.len() as u64;
        let start = lane.first_byte + lane.bytes.len() as u64;
        lane.bytes.extend(&code);
        lane.entries.push_back(Entry {
            hash,
            until,
            addr,
            start,
            len,
            reference,
            answer,
            transport,
            side,
        });
        self.index
            .insert(hash, ((lane_no as u64) << LANE_SHIFT) | seq);
        self.used += cost;
        match side {
            Side::Client => self.clients += 1,
            Side::Server => self.servers += 1,
        }
        dropped
    }

    /// The entry filed under `hash`, if its timer has not fired.
    pub(super) fn get(&self, hash: u64) -> Option<Hit> {
        let slot = *self.index.get(&hash)?;
        let lane = self.lanes.get((slot >> LANE_SHIFT) as usize)?;
        let seq = slot & ((1 << LANE_SHIFT) - 1);
        let entry = lane
            .entries
            .get(usize::try_from(seq - lane.first_seq).ok()?)?;
        let from = usize::try_from(entry.start - lane.first_byte).ok()?;
        let code: Vec<u8> = lane
            .bytes
            .range(from..from + entry.len as usize)
            .copied()
            .collect();
        let bytes = if code.is_empty() {
            code
        } else {
            let reference = lane
                .references
                .get(usize::try_from(entry.reference.checked_sub(lane.first_reference)?).ok()?)?;
            delta::decode(&code, reference)?
        };
        Some(Hit {
            answer: entry.answer,
            addr: entry.addr,
            transport: entry.transport,
            bytes,
        })
    }

    /// Drop every entry whose timer is due at `now` (Timer D, I, J or K fired).
    pub(super) fn expire(&mut self, now: Instant) {
        for n in 0..self.lanes.len() {
            while self.lanes[n]
                .entries
                .front()
                .is_some_and(|e| e.until <= now)
            {
                self.pop_front(n);
            }
            shrink(&mut self.lanes[n]);
        }
        if self.index.capacity() > 4 * self.index.len() + 1024 {
            self.index.shrink_to(2 * self.index.len());
        }
    }

    /// The next deadline of an entry.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .filter_map(|l| l.entries.front().map(|e| e.until))
            .min()
    }

    /// Entries held: (client, server).
    pub(super) fn len(&self) -> (usize, usize) {
        (self.clients, self.servers)
    }

    /// Bytes counted against the budget.
    #[cfg(test)]
    pub(super) fn used(&self) -> usize {
        self.used
    }

    /// Entries dropped to stay within the budget, since the start.
    pub(super) fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The heap the store holds now, spare capacity included (for the tests and benches
    /// that measure bytes per entry).
    #[cfg(test)]
    pub(super) fn heap_bytes(&self) -> usize {
        let lanes: usize = self
            .lanes
            .iter()
            .map(|l| {
                let references: usize = l.references.iter().map(Vec::capacity).sum();
                l.entries.capacity() * std::mem::size_of::<Entry>()
                    + l.bytes.capacity()
                    + references
            })
            .sum();
        lanes + self.index.capacity() * INDEX_COST
    }

    /// Drop the entry that has been here longest (whatever its lane); false if empty.
    fn drop_oldest(&mut self) -> bool {
        let oldest = self
            .lanes
            .iter()
            .enumerate()
            .filter_map(|(n, l)| {
                l.entries
                    .front()
                    .map(|e| (e.until.checked_sub(l.hold).unwrap_or(e.until), n))
            })
            .min();
        match oldest {
            Some((_, n)) => {
                self.pop_front(n);
                true
            }
            None => false,
        }
    }

    fn pop_front(&mut self, n: usize) {
        let lane = &mut self.lanes[n];
        let Some(entry) = lane.entries.pop_front() else {
            return;
        };
        let slot = ((n as u64) << LANE_SHIFT) | lane.first_seq;
        lane.first_seq += 1;
        lane.bytes.drain(..entry.len as usize);
        lane.first_byte += u64::from(entry.len);
        // A later entry with the same hash (the same key filed again) keeps its slot.
        if self.index.get(&entry.hash) == Some(&slot) {
            self.index.remove(&entry.hash);
        }
        self.used -= ENTRY_COST + entry.len as usize;
        // References older than the oldest entry's are of no more use.
        let keep_from = lane
            .entries
            .front()
            .map_or(lane.first_reference + lane.references.len() as u64, |e| {
                e.reference
            });
        while lane.first_reference < keep_from
            && lane.references.len() > 1
            && let Some(old) = lane.references.pop_front()
        {
            lane.first_reference += 1;
            self.used -= old.len();
        }
        match entry.side {
            Side::Client => self.clients -= 1,
            Side::Server => self.servers -= 1,
        }
    }
}

/// Give memory back after a burst: a lane's buffers keep at most twice what they hold
/// once they are four times too big (plus a floor, so a steady load does not reallocate).
fn shrink(lane: &mut Lane) {
    let n = lane.entries.len();
    if lane.entries.capacity() > 4 * n + 1024 {
        lane.entries.shrink_to(2 * n);
    }
    let b = lane.bytes.len();
    if lane.bytes.capacity() > 4 * b + 65_536 {
        lane.bytes.shrink_to(2 * b);
    }
}
