//! The resolv.conf(5) search list applied to the target domain of the RFC 3263 procedure:
//! which names to try, in which order, for a host written short (`sip:200@pbx`).
//!
//! The rules (resolv.conf(5), `search` and `options ndots:n`, as the C library applies
//! them):
//! - a name with a trailing dot is absolute and never searched;
//! - a name with at least `ndots` dots is tried as it is first, then with each search
//!   domain appended;
//! - a name with fewer dots is tried with each search domain first, then as it is.
//!
//! RFC 1535 explains why the list is not applied more eagerly: searching a name that
//! already looks fully qualified lets a look-alike zone under a search domain (e.g.
//! `pbx.example.com.corp.test`) capture it. Hence absolute names are left alone and
//! dotted names are tried as they are first. IP literals and names the hosts file lists
//! as they are are never searched either: they are local, final answers.

use super::name;
use super::resolution::ip_literal;
use super::system_files::{HostsFile, MAX_SEARCH_DOMAINS};

/// At most the search list plus the name as it is.
pub(super) const MAX_CANDIDATES: usize = MAX_SEARCH_DOMAINS + 1;

/// The names to resolve `host` as, in order, each one tried only when the one before
/// ended in NXDOMAIN / no records. Always at least one: `host` itself (trimmed), which
/// is also the only one for IP literals, absolute names, names the hosts file knows and
/// names that are not valid DNS names (the resolution reports those).
pub(super) fn candidates(
    host: &str,
    search: &[String],
    ndots: u8,
    hosts: &HostsFile,
) -> Vec<String> {
    let host = host.trim();
    let as_is = vec![host.to_string()];
    if search.is_empty() || host.ends_with('.') || ip_literal(host).is_some() {
        return as_is;
    }
    let normal = name::normalize(host);
    let mut scratch = Vec::new();
    if normal.is_empty()
        || name::encode_name(&normal, &mut scratch).is_err()
        || hosts.lookup(&normal).is_some()
    {
        return as_is;
    }
    let dots = normal.bytes().filter(|&b| b == b'.').count();
    let searched = search.iter().take(MAX_SEARCH_DOMAINS).filter_map(|domain| {
        let full = format!("{normal}.{domain}");
        scratch.clear();
        // A name that would be over-long with this domain is skipped, not an error.
        name::encode_name(&full, &mut scratch)
            .is_ok()
            .then_some(full)
    });
    let mut out: Vec<String> = Vec::with_capacity(MAX_CANDIDATES);
    if dots >= usize::from(ndots) {
        out.push(normal.clone());
        out.extend(searched);
    } else {
        out.extend(searched);
        out.push(normal.clone());
    }
    let mut unique: Vec<String> = Vec::with_capacity(out.len());
    for c in out {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    unique.truncate(MAX_CANDIDATES);
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn short_names_get_the_search_list_first() {
        let s = list(&["a.test", "b.test"]);
        let h = HostsFile::default();
        assert_eq!(
            candidates("PBX", &s, 1, &h),
            ["pbx.a.test", "pbx.b.test", "pbx"]
        );
        assert_eq!(
            candidates("pbx.site", &s, 1, &h),
            ["pbx.site", "pbx.site.a.test", "pbx.site.b.test"]
        );
        assert_eq!(
            candidates("pbx.site", &s, 2, &h),
            ["pbx.site.a.test", "pbx.site.b.test", "pbx.site"]
        );
        assert_eq!(
            candidates("pbx", &s, 0, &h),
            ["pbx", "pbx.a.test", "pbx.b.test"]
        );
    }

    #[test]
    fn absolute_literal_hosts_and_invalid_names_are_not_searched() {
        let s = list(&["a.test"]);
        let h = HostsFile::parse("192.0.2.1 pbx\n192.0.2.2 pbx2.a.test\n");
        assert_eq!(candidates("pbx.", &s, 1, &h), ["pbx."]);
        assert_eq!(candidates("192.0.2.9", &s, 1, &h), ["192.0.2.9"]);
        assert_eq!(candidates("[::1]", &s, 1, &h), ["[::1]"]);
        assert_eq!(candidates("pbx", &s, 1, &h), ["pbx"]);
        // Only the name as written is checked up front; candidates are looked up later.
        assert_eq!(candidates("pbx2", &s, 1, &h), ["pbx2.a.test", "pbx2"]);
        assert_eq!(candidates("bad name", &s, 1, &h), ["bad name"]);
        assert_eq!(candidates(" pbx3 ", &[], 1, &h), ["pbx3"]);
    }

    #[test]
    fn over_long_combinations_are_skipped() {
        let long_label = "x".repeat(60);
        let long_domain = format!("{long_label}.{long_label}.{long_label}.{long_label}");
        let s = vec![long_domain, "ok.test".to_string()];
        let host = format!("{long_label}.{long_label}");
        let got = candidates(&host, &s, 1, &HostsFile::default());
        assert_eq!(got, [host.clone(), format!("{host}.ok.test")]);
    }
}
