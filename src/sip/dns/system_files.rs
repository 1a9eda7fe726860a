//! The host's own name configuration: `/etc/hosts` (hosts(5)) and the `nameserver`,
//! `search`, `domain` and `options ndots:N` lines of `/etc/resolv.conf` (resolv.conf(5)).

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

/// resolv.conf(5): at most six search domains (the traditional limit; a longer list is cut).
pub(super) const MAX_SEARCH_DOMAINS: usize = 6;
/// resolv.conf(5): `ndots` is capped at 15.
pub(super) const MAX_NDOTS: u8 = 15;
/// resolv.conf(5): without `options ndots:N`, 1.
pub(super) const DEFAULT_NDOTS: u8 = 1;

/// What the resolver takes from a resolv.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvConf {
    /// `nameserver` lines in file order, port 53.
    pub servers: Vec<SocketAddr>,
    /// The search list: normalised (lower-case, no trailing dot), valid names only.
    pub search: Vec<String>,
    /// Names with at least this many dots are tried as they are before the search list.
    pub ndots: u8,
}

impl Default for ResolvConf {
    fn default() -> Self {
        ResolvConf {
            servers: Vec::new(),
            search: Vec::new(),
            ndots: DEFAULT_NDOTS,
        }
    }
}

impl ResolvConf {
    /// Reads `path`; a missing or unreadable file counts as empty (with a warning).
    pub fn load(path: &Path) -> ResolvConf {
        match read_capped(path) {
            Ok(text) => ResolvConf::parse(&text),
            Err(e) => {
                log::warn!(target: "sip::dns", "cannot read {}: {e}", path.display());
                ResolvConf::default()
            }
        }
    }

    /// resolv.conf(5): keyword-first lines; `#` or `;` in the first column starts a
    /// comment; unknown keywords and malformed values are ignored, never an error.
    /// - `nameserver IP`: a scoped v6 address (`fe80::1%eth0`) cannot be a `SocketAddr`
    ///   without an interface index lookup and is skipped.
    /// - `search d1 d2 ...` / `domain d`: "mutually exclusive: if more than one instance
    ///   of these keywords is present, the last instance wins"; `domain` is a one-entry
    ///   search list. Up to [`MAX_SEARCH_DOMAINS`]; entries that are not valid names (or
    ///   the root, ".") are dropped.
    /// - `options ndots:N`: N capped at [`MAX_NDOTS`]; a non-number leaves it as it was.
    pub fn parse(text: &str) -> ResolvConf {
        let mut conf = ResolvConf::default();
        for line in text.lines() {
            let mut f = line.split_whitespace();
            match f.next() {
                Some("nameserver") => {
                    if let Some(Ok(ip)) = f.next().map(str::parse::<IpAddr>) {
                        conf.servers.push(SocketAddr::new(ip, DNS_PORT));
                    }
                }
                Some("search") => conf.search = search_list(f),
                Some("domain") => conf.search = search_list(f.take(1)),
                Some("options") => {
                    for opt in f {
                        if let Some(n) = opt.strip_prefix("ndots:").and_then(parse_ndots) {
                            conf.ndots = n;
                        }
                    }
                }
                _ => {}
            }
        }
        conf
    }
}

/// A valid, de-duplicated, bounded search list from the words of a `search` line.
fn search_list<'a>(words: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut list: Vec<String> = Vec::new();
    let mut scratch = Vec::new();
    for word in words {
        if list.len() >= MAX_SEARCH_DOMAINS {
            break;
        }
        let domain = super::name::normalize(word);
        scratch.clear();
        if domain.is_empty()
            || super::name::encode_name(&domain, &mut scratch).is_err()
            || list.contains(&domain)
        {
            continue;
        }
        list.push(domain);
    }
    list
}

/// `ndots:N` with N a decimal number; anything larger than the cap is the cap.
fn parse_ndots(value: &str) -> Option<u8> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: a parse failure can only be an overflow, i.e. above the cap.
    Some(value.parse::<u32>().map_or(MAX_NDOTS, |n| {
        u8::try_from(n.min(u32::from(MAX_NDOTS))).unwrap_or(MAX_NDOTS)
    }))
}

/// The name servers of a resolv.conf, port 53. resolv.conf(5): with no `nameserver`
/// line the local machine's server is used, hence 127.0.0.1 then.
pub fn load_resolv_conf(path: &Path) -> Vec<SocketAddr> {
    servers_or_local(ResolvConf::load(path).servers)
}

/// 127.0.0.1:53 when a resolv.conf names no server (resolv.conf(5)).
pub(crate) fn servers_or_local(servers: Vec<SocketAddr>) -> Vec<SocketAddr> {
    if servers.is_empty() {
        vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DNS_PORT)]
    } else {
        servers
    }
}

/// The `nameserver` lines of a resolv.conf text (see [`ResolvConf::parse`]).
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    ResolvConf::parse(text).servers
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

    fn search(text: &str) -> Vec<String> {
        ResolvConf::parse(text).search
    }

    #[test]
    fn search_and_domain_last_one_wins() {
        assert_eq!(
            search("search Example.COM. b.test\nnameserver 10.0.0.1\n"),
            ["example.com", "b.test"]
        );
        assert_eq!(
            search("search a.test b.test\ndomain corp.test\n"),
            ["corp.test"]
        );
        assert_eq!(
            search("domain corp.test extra.test\nsearch a.test\n"),
            ["a.test"]
        );
        // An empty `search` line clears the list, as the last instance.
        assert!(search("search a.test\nsearch\n").is_empty());
        assert!(search("nameserver 10.0.0.1\n").is_empty());
        assert!(search("# search a.test\n; domain b.test\n").is_empty());
    }

    #[test]
    fn search_list_is_bounded_and_skips_junk() {
        let s = search("search a.t b.t a.t bad_dom\u{e9}n . c.t d.t e.t f.t g.t h.t\n");
        assert_eq!(s, ["a.t", "b.t", "c.t", "d.t", "e.t", "f.t"]);
        let long = format!("search {}.test ok.test\n", "x".repeat(64));
        assert_eq!(search(&long), ["ok.test"]);
        let huge = format!("search {}\n", "d.test ".repeat(100_000));
        assert_eq!(search(&huge), ["d.test"]);
    }

    #[test]
    fn ndots_defaults_to_one_is_capped_and_ignores_junk() {
        let ndots = |t: &str| ResolvConf::parse(t).ndots;
        assert_eq!(ndots(""), 1);
        assert_eq!(ndots("options ndots:3\n"), 3);
        assert_eq!(ndots("options rotate ndots:0 timeout:2\n"), 0);
        assert_eq!(ndots("options ndots:99\n"), 15);
        assert_eq!(ndots("options ndots:99999999999999999999999\n"), 15);
        assert_eq!(
            ndots("options ndots:2\noptions ndots:-1 ndots: ndots:x\n"),
            2
        );
        assert_eq!(ndots("options ndots:4\noptions ndots:5\n"), 5);
        assert_eq!(ndots("ndots:4\n"), 1);
    }

    #[test]
    fn binary_junk_parses_to_defaults_without_panicking() {
        let junk: String = (0u32..2000)
            .filter_map(|i| char::from_u32((i * 7919) % 0x2FFF))
            .collect();
        let c = ResolvConf::parse(&junk);
        assert!(c.search.len() <= MAX_SEARCH_DOMAINS);
        assert!(c.ndots <= MAX_NDOTS);
    }

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
