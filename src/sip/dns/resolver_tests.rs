//! The resolver core driven by hand: a manual clock, answers built byte by byte, and the
//! transmits and results asserted exactly.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::*;
use crate::sip::Transport;
use crate::sip::dns::name::{decode_name, encode_name};
use crate::sip::dns::random::SeededRandom;

const S1: &str = "192.0.2.53:53";
const S2: &str = "[2001:db8::53]:53";

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn resolver_with(
    servers: &[&str],
    hosts: &str,
    tweak: impl FnOnce(&mut ResolverConfig),
) -> Resolver {
    let mut cfg = ResolverConfig::new(
        servers.iter().map(|s| sa(s)).collect(),
        HostsFile::parse(hosts),
    );
    cfg.ipv6 = false;
    tweak(&mut cfg);
    Resolver::with_rng(cfg, Box::new(SeededRandom::new(99)))
}

fn resolver() -> Resolver {
    resolver_with(&[S1], "", |_| {})
}

fn req(
    host: &str,
    port: Option<u16>,
    transport: Option<Transport>,
    secure: bool,
) -> ResolveRequest {
    ResolveRequest {
        host: host.into(),
        port,
        transport,
        secure,
    }
}

fn target(addr: &str, transport: Transport) -> Target {
    Target {
        addr: sa(addr),
        transport,
    }
}

/// A resource record for the answers we build.
struct Rr {
    name: String,
    rtype: u16,
    ttl: u32,
    rdata: Vec<u8>,
}

fn rr(name: &str, rtype: u16, ttl: u32, rdata: Vec<u8>) -> Rr {
    Rr {
        name: name.to_string(),
        rtype,
        ttl,
        rdata,
    }
}

fn a(ip: &str) -> Vec<u8> {
    match ip.parse::<IpAddr>().unwrap() {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn wire_name(n: &str) -> Vec<u8> {
    let mut v = Vec::new();
    encode_name(n, &mut v).unwrap();
    v
}

fn srv(priority: u16, weight: u16, port: u16, target: &str) -> Vec<u8> {
    let mut v = [priority, weight, port]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect::<Vec<_>>();
    if target == "." {
        v.push(0);
    } else {
        v.extend(wire_name(target));
    }
    v
}

fn naptr(order: u16, pref: u16, services: &str, replacement: &str) -> Vec<u8> {
    let mut v = [order, pref]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect::<Vec<_>>();
    v.extend([1, b'S', services.len() as u8]);
    v.extend(services.bytes());
    v.push(0);
    v.extend(wire_name(replacement));
    v
}

fn soa(minimum: u32) -> Vec<u8> {
    let mut v = wire_name("ns.ex.com");
    v.extend(wire_name("admin.ex.com"));
    v.extend([0u8; 16]);
    v.extend(minimum.to_be_bytes());
    v
}

/// A response to `tx` echoing its ID and question.
fn answer(tx: &Transmit, flags: u16, answers: &[Rr], authority: &[Rr]) -> Vec<u8> {
    let mut m = tx.payload[..2].to_vec();
    m.extend((0x8180u16 | flags).to_be_bytes());
    m.extend(1u16.to_be_bytes());
    m.extend((answers.len() as u16).to_be_bytes());
    m.extend((authority.len() as u16).to_be_bytes());
    m.extend(0u16.to_be_bytes());
    m.extend(&tx.payload[12..]);
    for r in answers.iter().chain(authority) {
        m.extend(wire_name(&r.name));
        m.extend(r.rtype.to_be_bytes());
        m.extend(1u16.to_be_bytes());
        m.extend(r.ttl.to_be_bytes());
        m.extend((r.rdata.len() as u16).to_be_bytes());
        m.extend(&r.rdata);
    }
    m
}

/// (name, type) asked by a transmit.
fn question(tx: &Transmit) -> (String, u16) {
    let (name, end) = decode_name(&tx.payload, 12).unwrap();
    (
        name,
        u16::from_be_bytes([tx.payload[end], tx.payload[end + 1]]),
    )
}

fn transmits(r: &mut Resolver) -> Vec<Transmit> {
    std::iter::from_fn(|| r.poll_transmit()).collect()
}

fn only_transmit(r: &mut Resolver) -> Transmit {
    let mut t = transmits(r);
    assert_eq!(t.len(), 1, "expected exactly one transmit: {t:?}");
    t.remove(0)
}

fn find(txs: &[Transmit], name: &str, qtype: u16) -> Transmit {
    txs.iter()
        .find(|t| question(t) == (name.to_string(), qtype))
        .unwrap_or_else(|| {
            panic!(
                "no query for {name}/{qtype} in {:?}",
                txs.iter().map(question).collect::<Vec<_>>()
            )
        })
        .clone()
}

fn result(r: &mut Resolver) -> Result<Vec<Target>, DnsError> {
    let (_, res) = r.poll_result().expect("a result");
    assert!(r.poll_result().is_none());
    res
}

#[test]
fn ip_literals_need_no_query_and_get_rfc3263_defaults() {
    let mut r = resolver();
    let now = Instant::now();
    r.start(now, req("192.0.2.1", None, None, false));
    assert_eq!(
        result(&mut r),
        Ok(vec![target("192.0.2.1:5060", Transport::Udp)])
    );
    r.start(now, req("2001:db8::1", None, None, true));
    assert_eq!(
        result(&mut r),
        Ok(vec![target("[2001:db8::1]:5061", Transport::Tls)])
    );
    r.start(now, req("[::1]", Some(5070), Some(Transport::Tcp), false));
    assert_eq!(
        result(&mut r),
        Ok(vec![target("[::1]:5070", Transport::Tcp)])
    );
    r.start(now, req("::1", None, Some(Transport::Tcp), true));
    assert_eq!(
        result(&mut r),
        Ok(vec![target("[::1]:5061", Transport::Tls)])
    );
    assert!(r.poll_transmit().is_none());
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn naptr_then_srv_then_a_in_rfc3263_order() {
    let mut r = resolver();
    let now = Instant::now();
    let id = r.start(now, req("Ex.COM", None, None, false));
    let tx = only_transmit(&mut r);
    assert_eq!(question(&tx), ("ex.com".into(), 35));
    assert_eq!(tx.destination, sa(S1));
    assert_eq!(tx.protocol, TransmitProtocol::Udp);
    let naptrs = [
        rr(
            "ex.com",
            35,
            60,
            naptr(20, 10, "SIP+D2U", "_sip._udp.ex.com"),
        ),
        rr(
            "ex.com",
            35,
            60,
            naptr(10, 10, "SIP+D2T", "_sip._tcp.ex.com"),
        ),
    ];
    r.handle_udp(now, sa(S1), &answer(&tx, 0, &naptrs, &[]));
    let txs = transmits(&mut r);
    assert_eq!(txs.len(), 2);
    let tcp = find(&txs, "_sip._tcp.ex.com", 33);
    let udp = find(&txs, "_sip._udp.ex.com", 33);
    let tcp_srv = [
        rr("_sip._tcp.ex.com", 33, 60, srv(20, 0, 5070, "b.ex.com")),
        rr("_sip._tcp.ex.com", 33, 60, srv(10, 0, 5060, "a.ex.com")),
    ];
    r.handle_udp(now, sa(S1), &answer(&tcp, 0, &tcp_srv, &[]));
    assert!(
        transmits(&mut r).is_empty(),
        "waits for every SRV answer first"
    );
    let udp_srv = [rr("_sip._udp.ex.com", 33, 60, srv(1, 0, 5080, "c.ex.com"))];
    r.handle_udp(now, sa(S1), &answer(&udp, 0, &udp_srv, &[]));
    let txs = transmits(&mut r);
    assert_eq!(txs.len(), 3, "one A query per SRV target (IPv6 off)");
    for (host, ip) in [
        ("a.ex.com", "192.0.2.1"),
        ("b.ex.com", "192.0.2.2"),
        ("c.ex.com", "192.0.2.3"),
    ] {
        let tx = find(&txs, host, 1);
        assert!(r.poll_result().is_none());
        r.handle_udp(now, sa(S1), &answer(&tx, 0, &[rr(host, 1, 60, a(ip))], &[]));
    }
    let (got_id, res) = r.poll_result().unwrap();
    assert_eq!(got_id, id);
    assert_eq!(
        res,
        Ok(vec![
            target("192.0.2.1:5060", Transport::Tcp),
            target("192.0.2.2:5070", Transport::Tcp),
            target("192.0.2.3:5080", Transport::Udp),
        ])
    );
    assert_eq!(r.poll_timeout(), None, "nothing left in flight");
}

#[test]
fn no_naptr_and_no_srv_falls_back_to_a_on_default_port() {
    let mut r = resolver();
    let now = Instant::now();
    r.start(now, req("ex.com", None, None, false));
    let tx = only_transmit(&mut r);
    r.handle_udp(now, sa(S1), &answer(&tx, 0, &[], &[]));
    let txs = transmits(&mut r);
    let names: Vec<String> = txs.iter().map(|t| question(t).0).collect();
    assert_eq!(
        names,
        ["_sip._udp.ex.com", "_sip._tcp.ex.com", "_sips._tcp.ex.com"]
    );
    // One NXDOMAIN, two NODATA: no SRV at all.
    r.handle_udp(now, sa(S1), &answer(&txs[0], 3, &[], &[]));
    r.handle_udp(now, sa(S1), &answer(&txs[1], 0, &[], &[]));
    r.handle_udp(now, sa(S1), &answer(&txs[2], 0, &[], &[]));
    let tx = only_transmit(&mut r);
    assert_eq!(question(&tx), ("ex.com".into(), 1));
    r.handle_udp(
        now,
        sa(S1),
        &answer(&tx, 0, &[rr("ex.com", 1, 60, a("192.0.2.9"))], &[]),
    );
    assert_eq!(
        result(&mut r),
        Ok(vec![target("192.0.2.9:5060", Transport::Udp)])
    );
}

#[test]
fn sips_without_naptr_uses_sips_tcp_and_tls_default() {
    let mut r = resolver();
    let now = Instant::now();
    r.start(now, req("ex.com", None, None, true));
    let tx = only_transmit(&mut r);
    // A NAPTR for UDP only is unusable for sips.
    let naptrs = [rr(
        "ex.com",
        35,
        60,
        naptr(1, 1, "SIP+D2U", "_sip._udp.ex.com"),
    )];
    r.handle_udp(now, sa(S1), &answer(&tx, 0, &naptrs, &[]));
    let tx = only_transmit(&mut r);
    assert_eq!(question(&tx), ("_sips._tcp.ex.com".into(), 33));
    r.handle_udp(now, sa(S1), &answer(&tx, 0, &[], &[]));
    let tx = only_transmit(&mut r);
    r.handle_udp(
        now,
        sa(S1),
        &answer(&tx, 0, &[rr("ex.com", 1, 60, a("192.0.2.9"))], &[]),
    );
    assert_eq!(
        result(&mut r),
        Ok(vec![target("192.0.2.9:5061", Transport::Tls)])
    );
}

#[test]
fn transport_without_port_queries_only_that_srv() {
    let mut r = resolver();
    let now = Instant::now();
    r.start(now, req("ex.com", None, Some(Transport::Tcp), false));
    let tx = only_transmit(&mut r);
    assert_eq!(question(&tx), ("_sip._tcp.ex.com".into(), 33));
    let mut r = resolver();
    r.start(now, req("ex.com", None, Some(Transport::Tcp), true));
    assert_eq!(
        question(&only_transmit(&mut r)),
        ("_sips._tcp.ex.com".into(), 33)
    );
}

#[test]
fn port_given_queries_a_and_aaaa_with_v4_first() {
    let mut r = resolver_with(&[S1], "", |c| c.ipv6 = true);
    let now = Instant::now();
    r.start(now, req("ex.com", Some(5090), None, false));
    let txs = transmits(&mut r);
    assert_eq!(txs.len(), 2);
    let aaaa = find(&txs, "ex.com", 28);
    let a4 = find(&txs, "ex.com", 1);
    r.handle_udp(
        now,
        sa(S1),
        &answer(&aaaa, 0, &[rr("ex.com", 28, 60, a("2001:db8::7"))], &[]),
    );
    assert!(r.poll_result().is_none());
    r.handle_udp(
        now,
        sa(S1),
        &answer(&a4, 0, &[rr("ex.com", 1, 60, a("192.0.2.7"))], &[]),
    );
    assert_eq!(
        result(&mut r),
        Ok(vec![
            target("192.0.2.7:5090", Transport::Udp),
            target("[2001:db8::7]:5090", Transport::Udp)
        ])
    );
    // prefer_ipv6 flips the order (served from the cache this time).
    let mut r2 = resolver_with(&[S1], "", |c| {
        c.ipv6 = true;
        c.prefer_ipv6 = true;
    });
    r2.start(now, req("ex.com", Some(5090), None, false));
    let txs = transmits(&mut r2);
    for (t, ip, ty) in [(1, "192.0.2.7", 1u16), (28, "2001:db8::7", 28)] {
        let tx = find(&txs, "ex.com", t);
        r2.handle_udp(
            now,
            sa(S1),
            &answer(&tx, 0, &[rr("ex.com", ty, 60, a(ip))], &[]),
        );
    }
    assert_eq!(
        result(&mut r2).unwrap()[0],
        target("[2001:db8::7]:5090", Transport::Udp)
    );
}

#[test]
fn answers_are_cached_for_their_ttl() {
    let mut r = resolver();
    let t0 = Instant::now();
    r.start(t0, req("ex.com", Some(5060), None, false));
    let tx = only_transmit(&mut r);
    r.handle_udp(
        t0,
        sa(S1),
        &answer(&tx, 0, &[rr("ex.com", 1, 60, a("192.0.2.1"))], &[]),
    );
    let first = result(&mut r);
    r.start(
        t0 + Duration::from_secs(59),
        req("ex.com", Some(5060), None, false),
    );
    assert!(r.poll_transmit().is_none());
    assert_eq!(result(&mut r), first);
    r.start(
        t0 + Duration::from_secs(60),
        req("ex.com", Some(5060), None, false),
    );
    assert_eq!(question(&only_transmit(&mut r)), ("ex.com".into(), 1));
}

#[test]
fn hosts_file_answers_without_any_query() {
    let mut r = resolver_with(
        &[S1],
        "192.0.2.10 sip.local\n2001:db8::10 sip.local\n",
        |c| c.ipv6 = true,
    );
    let now = Instant::now();
    r.start(now, req("SIP.local", None, None, false));
    assert!(r.poll_transmit().is_none());
    assert_eq!(
        result(&mut r),
        Ok(vec![
            target("192.0.2.10:5060", Transport::Udp),
            target("[2001:db8::10]:5060", Transport::Udp)
        ])
    );
    // An SRV target listed in the hosts file is not looked up either.
    r.start(now, req("ex.com", None, Some(Transport::Tcp), false));
    let tx = only_transmit(&mut r);
    let srvs = [rr("_sip._tcp.ex.com", 33, 60, srv(1, 0, 5062, "sip.local"))];
    r.handle_udp(now, sa(S1), &answer(&tx, 0, &srvs, &[]));
    assert!(r.poll_transmit().is_none());
    assert_eq!(
        result(&mut r).unwrap()[0],
        target("192.0.2.10:5062", Transport::Tcp)
    );
}

#[test]
fn concurrent_resolutions_share_one_query() {
    let mut r = resolver();
    let now = Instant::now();
    let a1 = r.start(now, req("ex.com", Some(5060), None, false));
    let a2 = r.start(now, req("ex.com", Some(5070), None, false));
    let tx = only_transmit(&mut r);
    r.handle_udp(
        now,
        sa(S1),
        &answer(&tx, 0, &[rr("ex.com", 1, 60, a("192.0.2.1"))], &[]),
    );
    let mut got: Vec<_> = std::iter::from_fn(|| r.poll_result()).collect();
    got.sort_by_key(|(id, _)| *id);
    assert_eq!(
        got[0],
        (a1, Ok(vec![target("192.0.2.1:5060", Transport::Udp)]))
    );
    assert_eq!(
        got[1],
        (a2, Ok(vec![target("192.0.2.1:5070", Transport::Udp)]))
    );
}

#[test]
fn cname_chain_is_followed_within_the_answer() {
    let mut r = resolver();
    let now = Instant::now();
    r.start(now, req("www.ex.com", Some(5060), None, false));
    let tx = only_transmit(&mut r);
    let answers = [
        rr("www.ex.com", 5, 60, wire_name("real.ex.com")),
        rr("real.ex.com", 1, 60, a("192.0.2.4")),
        rr("other.ex.com", 1, 60, a("192.0.2.99")),
    ];
    r.handle_udp(now, sa(S1), &answer(&tx, 0, &answers, &[]));
    assert_eq!(
        result(&mut r),
        Ok(vec![target("192.0.2.4:5060", Transport::Udp)])
    );
}

#[test]
fn srv_dot_target_means_not_found() {
    let mut r = resolver();
    let now = Instant::now();
    r.start(now, req("ex.com", None, Some(Transport::Udp), false));
    let tx = only_transmit(&mut r);
    r.handle_udp(
        now,
        sa(S1),
        &answer(
            &tx,
            0,
            &[rr("_sip._udp.ex.com", 33, 60, srv(0, 0, 0, "."))],
            &[],
        ),
    );
    assert_eq!(
        result(&mut r),
        Err(DnsError::NotFound {
            name: "ex.com".into()
        })
    );
}

#[test]
fn bad_requests_and_missing_servers_fail_at_once() {
    let mut r = resolver();
    let now = Instant::now();
    r.start(now, req("bad host", None, None, false));
    assert!(matches!(
        result(&mut r),
        Err(DnsError::InvalidRequest { .. })
    ));
    r.start(now, req("ex.com", None, Some(Transport::Udp), true));
    assert!(matches!(
        result(&mut r),
        Err(DnsError::InvalidRequest { .. })
    ));
    let mut none = resolver_with(&[], "", |_| {});
    none.start(now, req("ex.com", None, None, false));
    assert_eq!(
        result(&mut none),
        Err(DnsError::NoServers {
            name: "ex.com".into()
        })
    );
    let mut small = resolver_with(&[S1], "", |c| c.max_resolutions = 1);
    small.start(now, req("ex.com", None, None, false));
    small.start(now, req("ex.org", None, None, false));
    assert_eq!(result(&mut small), Err(DnsError::Overloaded));
}

#[test]
fn cancelled_resolution_reports_nothing_but_fills_the_cache() {
    let mut r = resolver();
    let t0 = Instant::now();
    let id = r.start(t0, req("ex.com", Some(5060), None, false));
    let tx = only_transmit(&mut r);
    r.cancel(id);
    r.handle_udp(
        t0,
        sa(S1),
        &answer(&tx, 0, &[rr("ex.com", 1, 60, a("192.0.2.1"))], &[]),
    );
    assert!(r.poll_result().is_none());
    r.start(t0, req("ex.com", Some(5060), None, false));
    assert!(r.poll_transmit().is_none());
    assert!(result(&mut r).is_ok());
}

/// Time-outs, server failures, TCP fallback and hostile input.
#[path = "resolver_fault_tests.rs"]
mod faults;

/// The resolv.conf search list (`search`, `domain`, `ndots`).
#[path = "search_tests.rs"]
mod search_list;
