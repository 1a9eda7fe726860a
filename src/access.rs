//! Access lists (`HttpAllow`, `XmlAllow`, `SipAllow`): comma-separated CIDR prefixes,
//! IPv4 and IPv6. The front doors check them on the listener thread before a connection
//! gets a thread; the calls thread checks `SipAllow` on out-of-dialog SIP requests. An IPv4-mapped IPv6 peer (`::ffff:192.0.2.1`) is matched as the IPv4 address
//! it carries, so one rule covers both listeners.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// One `address/prefix` rule; a bare address is a host rule (/32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// True when `ip` is inside the prefix. Families never mix, after un-mapping.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, unmap(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

/// Why an access-list item was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    /// Not `address` or `address/prefix`.
    NotAnAddress(String),
    /// A prefix longer than the family allows (32 or 128), or not a number.
    BadPrefix(String),
    /// Bits set after the prefix (`10.0.0.1/8`): almost always a typo for another rule.
    HostBits(String),
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::NotAnAddress(item) => write!(
                f,
                "{item:?} is not an address or address/prefix (e.g. 192.0.2.0/24, 2001:db8::/32)"
            ),
            CidrError::BadPrefix(item) => write!(
                f,
                "{item:?}: the prefix length must be 0-32 for IPv4, 0-128 for IPv6"
            ),
            CidrError::HostBits(item) => write!(
                f,
                "{item:?} has bits set after its prefix length (did you mean the network address?)"
            ),
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(item: &str) -> Result<Cidr, CidrError> {
        let (addr, prefix) = match item.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (item, None),
        };
        let bare = addr
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .unwrap_or(addr);
        let net = IpAddr::from_str(bare).map_err(|_| CidrError::NotAnAddress(item.to_owned()))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| CidrError::BadPrefix(item.to_owned()))?,
            Some(_) => return Err(CidrError::BadPrefix(item.to_owned())),
        };
        let cidr = Cidr { net, prefix };
        if !host_bits_clear(net, prefix) {
            return Err(CidrError::HostBits(item.to_owned()));
        }
        Ok(cidr)
    }
}

fn host_bits_clear(net: IpAddr, prefix: u8) -> bool {
    let bytes: Vec<u8> = match net {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    bytes.iter().enumerate().all(|(i, &b)| {
        let start = i * 8;
        let keep = usize::from(prefix).saturating_sub(start).min(8);
        // `keep` leading bits of this byte are network bits; the rest must be zero.
        let host_mask = if keep >= 8 { 0 } else { 0xffu8 >> keep };
        b & host_mask == 0
    })
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a.get(..full) != b.get(..full) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    match (a.get(full), b.get(full)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}

/// `::ffff:a.b.c.d` → `a.b.c.d`; any other address unchanged.
pub(crate) fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// An access list. Empty means "everyone", as the original (no list at all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessList {
    rules: Vec<Cidr>,
}

impl AccessList {
    /// Everyone allowed.
    pub fn any() -> AccessList {
        AccessList::default()
    }

    /// Parses `a, b/n, …`; blank items are skipped. Every bad item is an error.
    pub fn parse(text: &str) -> Result<AccessList, CidrError> {
        let rules = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AccessList { rules })
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        self.rules.is_empty() || self.rules.iter().any(|r| r.contains(ip))
    }

    pub fn is_any(&self) -> bool {
        self.rules.is_empty()
    }
}

impl fmt::Display for AccessList {
    /// The canonical list (blank for everyone), as `--check-config` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            r.fmt(f)?;
        }
        Ok(())
    }
}

/// Says whether a line about a peer may be logged now: at most one per address per
/// `interval`, in a bounded table, so a flood cannot fill the log or the memory.
#[derive(Debug)]
pub(crate) struct LogLimiter {
    interval: Duration,
    capacity: usize,
    last: HashMap<IpAddr, Instant>,
    /// Lines held back since the table was last cleared, reported with the next line.
    suppressed: u64,
}

impl LogLimiter {
    pub(crate) fn new(interval: Duration, capacity: usize) -> LogLimiter {
        LogLimiter {
            interval,
            capacity: capacity.max(1),
            last: HashMap::new(),
            suppressed: 0,
        }
    }

    /// `Some(n)` to log now (`n` lines were held back since the last one logged), `None`
    /// to stay quiet.
    pub(crate) fn allow(&mut self, now: Instant, ip: IpAddr) -> Option<u64> {
        if let Some(t) = self.last.get(&ip)
            && now.saturating_duration_since(*t) < self.interval
        {
            self.suppressed += 1;
            return None;
        }
        if self.last.len() >= self.capacity {
            let interval = self.interval;
            self.last
                .retain(|_, t| now.saturating_duration_since(*t) < interval);
            if self.last.len() >= self.capacity {
                // Full of recent peers (a spread-out flood): one line per interval for
                // all of them together.
                self.suppressed += 1;
                return None;
            }
        }
        self.last.insert(ip, now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn v4_and_v6_prefixes_match_their_networks() {
        let list = AccessList::parse("10.0.0.0/8, 192.0.2.7, 2001:db8::/32").expect("list");
        assert!(list.allows(ip("10.200.1.1")));
        assert!(list.allows(ip("192.0.2.7")));
        assert!(!list.allows(ip("192.0.2.8")));
        assert!(list.allows(ip("2001:db8:1::5")));
        assert!(!list.allows(ip("2001:db9::1")));
        assert!(!list.allows(ip("11.0.0.1")));
    }

    #[test]
    fn mapped_v6_peers_match_v4_rules() {
        let list = AccessList::parse("127.0.0.1").expect("list");
        assert!(list.allows(ip("::ffff:127.0.0.1")));
        assert!(!list.allows(ip("::ffff:127.0.0.2")));
        assert!(!list.allows(ip("::1")));
    }

    #[test]
    fn odd_prefix_lengths_compare_the_partial_byte() {
        let list = AccessList::parse("192.168.4.0/22").expect("list");
        assert!(list.allows(ip("192.168.7.255")));
        assert!(!list.allows(ip("192.168.8.0")));
        assert!(
            AccessList::parse("0.0.0.0/0")
                .expect("all")
                .allows(ip("8.8.8.8"))
        );
        assert!(
            !AccessList::parse("0.0.0.0/0")
                .expect("all")
                .allows(ip("::2"))
        );
    }

    #[test]
    fn empty_list_allows_everyone() {
        let list = AccessList::parse(" , ").expect("list");
        assert!(list.is_any());
        assert!(list.allows(ip("203.0.113.9")));
    }

    #[test]
    fn bad_items_are_named() {
        for (text, want) in [
            ("10.0.0.0/33", "prefix length"),
            ("::/129", "prefix length"),
            ("10.0.0.0/x", "prefix length"),
            ("10.0.0.1/8", "bits set after"),
            ("example.com", "not an address"),
            ("10.0.0.0/", "prefix length"),
        ] {
            let e = AccessList::parse(&format!("127.0.0.1, {text}")).expect_err(text);
            assert!(e.to_string().contains(want), "{text}: {e}");
            assert!(e.to_string().contains(text), "{text}: {e}");
        }
    }

    #[test]
    fn display_is_canonical() {
        let list = AccessList::parse("127.0.0.1, [::1], 10.0.0.0/8").expect("list");
        assert_eq!(list.to_string(), "127.0.0.1/32,::1/128,10.0.0.0/8");
    }

    #[test]
    fn log_limiter_speaks_once_per_peer_per_interval() {
        let mut l = LogLimiter::new(Duration::from_secs(60), 2);
        let t0 = Instant::now();
        assert_eq!(l.allow(t0, ip("10.0.0.1")), Some(0));
        assert_eq!(l.allow(t0, ip("10.0.0.1")), None);
        assert_eq!(l.allow(t0, ip("10.0.0.2")), Some(1));
        // Table full of recent peers: a third one is held back too.
        assert_eq!(l.allow(t0, ip("10.0.0.3")), None);
        let later = t0 + Duration::from_secs(61);
        assert_eq!(l.allow(later, ip("10.0.0.1")), Some(1));
    }
}
