//! Randomness for query IDs and SRV weighted selection, behind a trait so tests can use a
//! seeded sequence and pin the RFC 2782 ordering.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// A source of uniformly distributed 32-bit values.
pub trait RandomSource: Send {
    fn next_u32(&mut self) -> u32;
}

/// Cryptographic randomness from OpenSSL: query IDs must not be guessable, or an off-path
/// attacker could answer for the server (RFC 5452 §4.3).
#[derive(Debug, Default)]
pub struct OsRandom {
    fallback_counter: u64,
}

impl RandomSource for OsRandom {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        if openssl::rand::rand_bytes(&mut b).is_ok() {
            return u32::from_le_bytes(b);
        }
        // OpenSSL's generator only fails when it cannot seed itself; rather than stop
        // resolving, fall back to std's per-process random SipHash keys over a counter.
        log::warn!(target: "sip::dns", "OpenSSL RAND_bytes failed; using the fallback generator");
        self.fallback_counter = self.fallback_counter.wrapping_add(1);
        let mut h = RandomState::new().build_hasher();
        h.write_u64(self.fallback_counter);
        h.finish() as u32
    }
}

/// A deterministic xorshift64* sequence for tests (never for query IDs in production).
#[derive(Debug, Clone)]
pub struct SeededRandom(u64);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        // xorshift has a fixed point at zero.
        SeededRandom(seed | 1)
    }
}

impl RandomSource for SeededRandom {
    fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_sequences_repeat_and_os_values_vary() {
        let a: Vec<u32> = {
            let mut r = SeededRandom::new(42);
            (0..4).map(|_| r.next_u32()).collect()
        };
        let mut r = SeededRandom::new(42);
        let b: Vec<u32> = (0..4).map(|_| r.next_u32()).collect();
        assert_eq!(a, b);
        let mut os = OsRandom::default();
        let values: Vec<u32> = (0..8).map(|_| os.next_u32()).collect();
        assert!(values.windows(2).any(|w| w[0] != w[1]));
    }
}
