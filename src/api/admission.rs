//! Call admission at the front doors, against toll fraud and floods: `MaxConcurrentCalls`
//! (places in a [`CallCount`] the calls thread gives back as calls end),
//! `MaxCallsPerSecond` (one token bucket) and `MaxCallsPerSecondPerClient` (a bucket per
//! source address, in a bounded table).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::access::unmap;
use crate::c2c::command::CallCount;

/// Source addresses whose buckets are remembered; beyond it the least recently seen is
/// forgotten (it then starts again with a full bucket, never with more).
const CLIENT_TABLE: usize = 4096;

/// The admission settings. A rate of 0 is "no limit", as is a `max_concurrent` of 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_concurrent: usize,
    pub per_second: u32,
    pub per_client_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_concurrent: 10_000,
            per_second: 0,
            per_client_per_second: 0,
        }
    }
}

/// Why a call was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `MaxConcurrentCalls` calls are alive.
    Concurrent,
    /// The global rate is used up; a token is due after this long.
    Rate(Duration),
    /// This client's rate is used up.
    ClientRate(Duration),
}

impl Refusal {
    /// Whole seconds for `Retry-After` (at least 1).
    pub(crate) fn retry_after_secs(self) -> u64 {
        match self {
            Refusal::Concurrent => 1,
            Refusal::Rate(d) | Refusal::ClientRate(d) => {
                (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
            }
        }
    }
}

/// A token bucket holding up to `rate` tokens (one second of burst), refilled at `rate`
/// tokens a second.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: u32, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(rate),
            at: now,
        }
    }

    /// Takes a token, or says how long until one is there.
    fn take(&mut self, rate: u32, now: Instant) -> Result<(), Duration> {
        let rate_f = f64::from(rate);
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate_f).min(rate_f);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate_f))
        }
    }
}

/// The admission state shared by both front doors.
pub(crate) struct Admission {
    limits: Limits,
    calls: Arc<CallCount>,
    global: Mutex<Bucket>,
    clients: Mutex<HashMap<IpAddr, Bucket>>,
}

/// A place under `MaxConcurrentCalls`, given back on drop unless [`Admitted::keep`] hands
/// it to the calls thread (which gives it back when the call ends).
#[must_use]
pub(crate) struct Admitted<'a> {
    calls: Option<&'a CallCount>,
}

impl Admitted<'_> {
    /// The command carrying this call was sent: the calls thread now owns the place.
    pub(crate) fn keep(mut self) {
        self.calls = None;
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.calls.take() {
            c.release(1);
        }
    }
}

impl Admission {
    pub(crate) fn new(limits: Limits, calls: Arc<CallCount>) -> Admission {
        let now = Instant::now();
        Admission {
            limits,
            calls,
            global: Mutex::new(Bucket::full(limits.per_second, now)),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one call from `client` now, or says why not. The concurrency place is
    /// taken first (it can be given back); rate tokens are only spent when every limit
    /// passes the checks before them.
    pub(crate) fn admit(&self, now: Instant, client: IpAddr) -> Result<Admitted<'_>, Refusal> {
        if !self.calls.try_take(self.limits.max_concurrent) {
            return Err(Refusal::Concurrent);
        }
        let admitted = Admitted {
            calls: Some(&self.calls),
        };
        let rate = self.limits.per_client_per_second;
        if rate > 0 {
            let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
            let key = unmap(client);
            if !clients.contains_key(&key) && clients.len() >= CLIENT_TABLE {
                forget_oldest(&mut clients);
            }
            let bucket = clients
                .entry(key)
                .or_insert_with(|| Bucket::full(rate, now));
            bucket.take(rate, now).map_err(Refusal::ClientRate)?;
        }
        let rate = self.limits.per_second;
        if rate > 0 {
            let mut global = self.global.lock().unwrap_or_else(PoisonError::into_inner);
            global.take(rate, now).map_err(Refusal::Rate)?;
        }
        Ok(admitted)
    }
}

fn forget_oldest(clients: &mut HashMap<IpAddr, Bucket>) {
    if let Some(oldest) = clients.iter().min_by_key(|(_, b)| b.at).map(|(ip, _)| *ip) {
        clients.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn admission(max_concurrent: usize, per_second: u32, per_client: u32) -> Admission {
        Admission::new(
            Limits {
                max_concurrent,
                per_second,
                per_client_per_second: per_client,
            },
            Arc::new(CallCount::default()),
        )
    }

    #[test]
    fn concurrency_place_is_given_back_unless_kept() {
        let a = admission(1, 0, 0);
        let now = Instant::now();
        let first = a.admit(now, ip("10.0.0.1")).map_err(|_| ()).expect("first");
        assert_eq!(
            a.admit(now, ip("10.0.0.1")).err(),
            Some(Refusal::Concurrent)
        );
        drop(first);
        a.admit(now, ip("10.0.0.1"))
            .map_err(|_| ())
            .expect("again")
            .keep();
        assert_eq!(
            a.admit(now, ip("10.0.0.1")).err(),
            Some(Refusal::Concurrent)
        );
        // The calls thread gives the kept place back when the call ends.
        a.calls.release(1);
        assert!(a.admit(now, ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn the_global_bucket_refills_at_its_rate() {
        let a = admission(0, 2, 0);
        let t0 = Instant::now();
        assert!(a.admit(t0, ip("10.0.0.1")).is_ok());
        assert!(a.admit(t0, ip("10.0.0.2")).is_ok());
        match a.admit(t0, ip("10.0.0.3")).err() {
            Some(Refusal::Rate(d)) => {
                assert_eq!(d, Duration::from_millis(500));
                assert_eq!(Refusal::Rate(d).retry_after_secs(), 1);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            a.admit(t0 + Duration::from_millis(500), ip("10.0.0.3"))
                .is_ok()
        );
        // Never more than one second of burst, however long it was idle.
        let later = t0 + Duration::from_secs(3600);
        assert!(a.admit(later, ip("10.0.0.1")).is_ok());
        assert!(a.admit(later, ip("10.0.0.1")).is_ok());
        assert!(a.admit(later, ip("10.0.0.1")).is_err());
    }

    #[test]
    fn each_client_has_its_own_bucket_and_mapped_v4_is_the_same_client() {
        let a = admission(0, 0, 1);
        let t0 = Instant::now();
        assert!(a.admit(t0, ip("10.0.0.1")).is_ok());
        assert!(matches!(
            a.admit(t0, ip("::ffff:10.0.0.1")).err(),
            Some(Refusal::ClientRate(_))
        ));
        assert!(a.admit(t0, ip("10.0.0.2")).is_ok());
        // A refused call gives its concurrency place back.
        assert_eq!(a.calls.get(), 0);
    }

    #[test]
    fn the_client_table_stays_bounded() {
        let a = admission(0, 0, 1);
        let t0 = Instant::now();
        for i in 0..(CLIENT_TABLE as u32 + 10) {
            let addr = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert!(a.admit(t0, addr).is_ok());
        }
        assert_eq!(a.clients.lock().expect("table").len(), CLIENT_TABLE);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(
            Refusal::Rate(Duration::from_millis(1)).retry_after_secs(),
            1
        );
        assert_eq!(
            Refusal::Rate(Duration::from_millis(1500)).retry_after_secs(),
            2
        );
        assert_eq!(
            Refusal::ClientRate(Duration::from_secs(3)).retry_after_secs(),
            3
        );
        assert_eq!(Refusal::Concurrent.retry_after_secs(), 1);
    }
}
