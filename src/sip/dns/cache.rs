//! Answers kept for their TTL (RFC 1035 §7.4), negative answers for the SOA-derived time
//! (RFC 2308 §5), in a table of bounded size.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::LookupKey;
use super::message::RData;

/// What a lookup found: records of the asked type (possibly none: NODATA), or that the
/// name does not exist (NXDOMAIN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CachedAnswer {
    Records(Vec<RData>),
    NoSuchName,
}

#[derive(Debug)]
struct Entry {
    expires: Instant,
    answer: CachedAnswer,
}

#[derive(Debug)]
pub(super) struct Cache {
    entries: HashMap<LookupKey, Entry>,
    capacity: usize,
    max_ttl: Duration,
}

impl Cache {
    pub(super) fn new(capacity: usize, max_ttl: Duration) -> Self {
        Cache {
            entries: HashMap::new(),
            capacity,
            max_ttl,
        }
    }

    /// The live answer for `key`, dropping it if it has expired.
    pub(super) fn get(&mut self, now: Instant, key: &LookupKey) -> Option<CachedAnswer> {
        match self.entries.get(key) {
            Some(e) if e.expires > now => Some(e.answer.clone()),
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `answer` for `ttl_secs` (capped by the configured maximum, so a bogus
    /// huge TTL cannot pin a stale address forever). TTL 0 means "do not cache"
    /// (RFC 1035 §3.2.1).
    pub(super) fn insert(
        &mut self,
        now: Instant,
        key: LookupKey,
        answer: CachedAnswer,
        ttl_secs: u32,
    ) {
        let ttl = Duration::from_secs(u64::from(ttl_secs)).min(self.max_ttl);
        if ttl.is_zero() || self.capacity == 0 {
            return;
        }
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        self.entries.insert(
            key,
            Entry {
                expires: now + ttl,
                answer,
            },
        );
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops expired entries; if none had expired, the one closest to expiry (it is the
    /// least valuable to keep). Linear, but only run when the table is full.
    fn make_room(&mut self, now: Instant) {
        self.entries.retain(|_, e| e.expires > now);
        if self.entries.len() < self.capacity {
            return;
        }
        let soonest = self
            .entries
            .iter()
            .min_by_key(|(_, e)| e.expires)
            .map(|(k, _)| k.clone());
        if let Some(k) = soonest {
            self.entries.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::dns::message::RecordType;
    use std::net::Ipv4Addr;

    fn key(n: &str) -> LookupKey {
        LookupKey::new(n, RecordType::A)
    }

    fn a(last: u8) -> CachedAnswer {
        CachedAnswer::Records(vec![RData::A(Ipv4Addr::new(192, 0, 2, last))])
    }

    #[test]
    fn entries_live_exactly_their_ttl() {
        let t0 = Instant::now();
        let mut c = Cache::new(8, Duration::from_secs(3600));
        c.insert(t0, key("x"), a(1), 30);
        assert_eq!(c.get(t0 + Duration::from_secs(29), &key("x")), Some(a(1)));
        assert_eq!(c.get(t0 + Duration::from_secs(30), &key("x")), None);
        assert!(c.is_empty(), "expired entry removed on read");
    }

    #[test]
    fn zero_ttl_is_not_cached_and_huge_ttl_is_capped() {
        let t0 = Instant::now();
        let mut c = Cache::new(8, Duration::from_secs(60));
        c.insert(t0, key("zero"), a(1), 0);
        assert_eq!(c.get(t0, &key("zero")), None);
        c.insert(t0, key("big"), CachedAnswer::NoSuchName, u32::MAX);
        assert_eq!(
            c.get(t0 + Duration::from_secs(59), &key("big")),
            Some(CachedAnswer::NoSuchName)
        );
        assert_eq!(c.get(t0 + Duration::from_secs(61), &key("big")), None);
    }

    #[test]
    fn full_table_evicts_expired_then_soonest_to_expire() {
        let t0 = Instant::now();
        let mut c = Cache::new(3, Duration::from_secs(3600));
        c.insert(t0, key("short"), a(1), 10);
        c.insert(t0, key("mid"), a(2), 100);
        c.insert(t0, key("long"), a(3), 1000);
        c.insert(t0, key("new"), a(4), 500);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(t0, &key("short")), None, "closest to expiry evicted");
        // Later, "mid" has expired: it goes first, "long" stays.
        let t1 = t0 + Duration::from_secs(200);
        c.insert(t1, key("newer"), a(5), 500);
        assert_eq!(c.get(t1, &key("mid")), None);
        assert_eq!(c.get(t1, &key("long")), Some(a(3)));
        assert_eq!(c.len(), 3);
    }
}
