//! The host's own name configuration: `/etc/hosts` (hosts(5)), the `nameserver` lines of
//! `/etc/resolv.conf` (resolv.conf(5)).

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

/// Neither file is ever legitimately this big; reading is capped so a wrong path (a device,
/// a huge log) cannot stall start-up or eat memory.
const MAX_FILE_BYTES: u64 = 1 << 20;
const DNS_PORT: u16 = 53;

/// Name-to-address entries from a hosts file, names lower-cased, addresses in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostsFile {
    entries: HashMap<String, Vec<IpAddr>>,
}

impl HostsFile {
    /// Reads `path`; a missing or unreadable file gives an empty table (and a warning),
    /// as the C library behaves.
    pub fn load(path: &Path) -> HostsFile {
        match read_capped(path) {
            Ok(text) => HostsFile::parse(&text),
            Err(e) => {
                log::warn!(target: "sip::dns", "cannot read {}: {e}", path.display());
                HostsFile::default()
            }
        }
    }

    /// hosts(5): `address canonical_name [aliases...]`, `#` starts a comment. Lines whose
    /// address does not parse (e.g. with a `%zone`) are skipped.
    pub fn parse(text: &str) -> HostsFile {
        let mut entries: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_whitespace();
            let Some(Ok(addr)) = fields.next().map(str::parse::<IpAddr>) else {
                continue;
            };
            for name in fields {
                let list = entries.entry(super::name::normalize(name)).or_default();
                if !list.contains(&addr) {
                    list.push(addr);
                }
            }
        }
        HostsFile { entries }
    }

    /// The addresses for `name` (already normalised), if the file lists it.
    pub fn lookup(&self, name: &str) -> Option<&[IpAddr]> {
        self.entries.get(name).map(Vec::as_slice)
    }
}

/// The name servers of a resolv.conf, port 53. resolv.conf(5): with no `nameserver`
/// line the local machine's server is used, hence 127.0.0.1 then.
pub fn load_resolv_conf(path: &Path) -> Vec<SocketAddr> {
    let text = match read_capped(path) {
        Ok(text) => text,
        Err(e) => {
            log::warn!(target: "sip::dns", "cannot read {}: {e}; using 127.0.0.1", path.display());
            String::new()
        }
    };
    let servers = parse_resolv_conf(&text);
    if servers.is_empty() {
        vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DNS_PORT)]
    } else {
        servers
    }
}

/// The `nameserver` lines of a resolv.conf text. A scoped v6 address (`fe80::1%eth0`)
/// cannot be expressed as a `SocketAddr` without an interface index lookup and is skipped.
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            if f.next() != Some("nameserver") {
                return None;
            }
            let ip: IpAddr = f.next()?.parse().ok()?;
            Some(SocketAddr::new(ip, DNS_PORT))
        })
        .collect()
}

fn read_capped(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES)
        .read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_maps_every_alias_and_skips_junk() {
        let h = HostsFile::parse(
            "127.0.0.1 localhost\n# comment\n::1 localhost ip6-localhost # tail\n\
             192.0.2.7  Proxy.Example.  proxy\nnot-an-ip foo\nfe80::1%eth0 scoped\n",
        );
        assert_eq!(
            h.lookup("localhost"),
            Some(&["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()][..])
        );
        assert_eq!(
            h.lookup("proxy.example"),
            Some(&["192.0.2.7".parse().unwrap()][..])
        );
        assert_eq!(h.lookup("proxy"), Some(&["192.0.2.7".parse().unwrap()][..]));
        assert_eq!(h.lookup("foo"), None);
        assert_eq!(h.lookup("scoped"), None);
    }

    #[test]
    fn resolv_conf_nameservers_in_order_v4_and_v6() {
        let s = parse_resolv_conf(
            "search example.com\nnameserver 10.0.0.1\n#nameserver 1.1.1.1\nnameserver ::1\n\
             nameserver fe80::1%eth0\noptions ndots:1\n",
        );
        assert_eq!(
            s,
            vec!["10.0.0.1:53".parse().unwrap(), "[::1]:53".parse().unwrap()]
        );
    }

    #[test]
    fn missing_resolv_conf_means_local_server() {
        let s = load_resolv_conf(Path::new("/nonexistent/resolv.conf"));
        assert_eq!(s, vec!["127.0.0.1:53".parse().unwrap()]);
        assert_eq!(
            HostsFile::load(Path::new("/nonexistent/hosts")),
            HostsFile::default()
        );
    }
}
