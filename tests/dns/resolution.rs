//! RFC 3263 resolution through the real `DnsDriver` and a real `mio::Poll` loop against a
//! DNS server on loopback (tests/common_dns): NAPTR → SRV → A/AAAA order, SRV priority,
//! TCP fallback on truncation, failover between servers, and NXDOMAIN / SERVFAIL /
//! silence turned into errors within the configured bounds.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::support::{
    dns::AAAA, dns::Behaviour, dns::NAPTR, dns::SRV, dns::TestDnsServer, dns::a, dns::aaaa,
    dns::naptr, dns::srv,
};
use clicktocall::sip::Transport;
use clicktocall::sip::dns::{
    DnsDriver, DnsError, HostsFile, ResolveRequest, Resolver, ResolverConfig, SeededRandom, Target,
};
use mio::{Events, Poll, Token};

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
/// Tokens below this belong to "the rest of the reactor" in these tests.
const DNS_FIRST_TOKEN: Token = Token(100);
/// Wall-clock guard for every resolution: far above any configured DNS bound, so hitting
/// it means a hang, not slowness.
const GUARD: Duration = Duration::from_secs(20);

fn config(servers: &[SocketAddr]) -> ResolverConfig {
    let mut c = ResolverConfig::new(servers.to_vec(), HostsFile::default());
    // Short bounds keep the suite quick; the logic is the same as with 1 s / 5 s.
    c.attempt_timeout = Duration::from_millis(200);
    c.query_timeout = Duration::from_millis(1000);
    c
}

struct Harness {
    poll: Poll,
    driver: DnsDriver,
}

impl Harness {
    fn new(config: ResolverConfig) -> Harness {
        let poll = Poll::new().unwrap();
        let resolver = Resolver::with_rng(config, Box::new(SeededRandom::new(2024)));
        let driver = DnsDriver::with_resolver(poll.registry(), DNS_FIRST_TOKEN, resolver).unwrap();
        Harness { poll, driver }
    }

    /// Runs the reactor loop the way the SIP reactor does until `req` resolves.
    fn resolve(&mut self, req: ResolveRequest) -> Result<Vec<Target>, DnsError> {
        let started = Instant::now();
        let id = self.driver.resolve(started, req);
        let mut events = Events::with_capacity(64);
        loop {
            while let Some((got, result)) = self.driver.poll_result() {
                if got == id {
                    return result;
                }
            }
            assert!(
                started.elapsed() < GUARD,
                "resolution did not finish: a hang"
            );
            let timeout = self
                .driver
                .poll_timeout()
                .map(|t| t.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_millis(100))
                .min(Duration::from_millis(100));
            self.poll.poll(&mut events, Some(timeout)).unwrap();
            let now = Instant::now();
            for ev in events.iter() {
                assert!(
                    self.driver.owns(ev.token()),
                    "event for a token the driver never got"
                );
                self.driver.on_event(now, ev.token());
            }
            if self.driver.poll_timeout().is_some_and(|t| t <= now) {
                self.driver.handle_timeout(now);
            }
        }
    }
}

fn req(host: &str, port: Option<u16>, transport: Option<Transport>) -> ResolveRequest {
    ResolveRequest {
        host: host.into(),
        port,
        transport,
        secure: false,
    }
}

fn target(addr: &str, transport: Transport) -> Target {
    Target {
        addr: addr.parse().unwrap(),
        transport,
    }
}

#[test]
fn naptr_srv_and_addresses_come_back_in_rfc3263_order() {
    let server = TestDnsServer::start(
        V4,
        vec![
            (
                ("example.test", NAPTR),
                Behaviour::Answer(vec![
                    naptr(20, 10, "SIP+D2U", "_sip._udp.example.test"),
                    naptr(10, 10, "SIP+D2T", "_sip._tcp.example.test"),
                ]),
            ),
            (
                ("_sip._tcp.example.test", SRV),
                Behaviour::Answer(vec![
                    srv(20, 5, 5072, "b.example.test"),
                    srv(10, 5, 5071, "a.example.test"),
                ]),
            ),
            (
                ("_sip._udp.example.test", SRV),
                Behaviour::Answer(vec![srv(1, 1, 5073, "c.example.test")]),
            ),
            (
                ("a.example.test", 1),
                Behaviour::Answer(vec![a("192.0.2.1")]),
            ),
            (
                ("a.example.test", AAAA),
                Behaviour::Answer(vec![aaaa("2001:db8::1")]),
            ),
            (
                ("b.example.test", 1),
                Behaviour::Answer(vec![a("192.0.2.2"), a("192.0.2.3")]),
            ),
            (
                ("c.example.test", 1),
                Behaviour::Answer(vec![a("192.0.2.4")]),
            ),
        ],
    );
    let mut h = Harness::new(config(&[server.addr]));
    let got = h.resolve(req("Example.Test", None, None)).unwrap();
    assert_eq!(
        got,
        vec![
            target("192.0.2.1:5071", Transport::Tcp),
            target("[2001:db8::1]:5071", Transport::Tcp),
            target("192.0.2.2:5072", Transport::Tcp),
            target("192.0.2.3:5072", Transport::Tcp),
            target("192.0.2.4:5073", Transport::Udp),
        ]
    );
    let asked = server.queries();
    assert_eq!(
        asked[0],
        ("udp", "example.test".to_string(), NAPTR),
        "NAPTR first"
    );
    // A second resolution is answered from the cache: no new query.
    let before = server.queries().len();
    assert_eq!(h.resolve(req("example.test", None, None)).unwrap().len(), 5);
    assert_eq!(server.queries().len(), before);
}

#[test]
fn srv_priority_beats_weight_for_a_given_transport() {
    let server = TestDnsServer::start(
        V4,
        vec![
            (
                ("_sip._udp.prio.test", SRV),
                Behaviour::Answer(vec![
                    srv(30, 1000, 5063, "third.prio.test"),
                    srv(10, 1, 5061, "first.prio.test"),
                    srv(20, 65535, 5062, "second.prio.test"),
                ]),
            ),
            (
                ("first.prio.test", 1),
                Behaviour::Answer(vec![a("192.0.2.11")]),
            ),
            (
                ("second.prio.test", 1),
                Behaviour::Answer(vec![a("192.0.2.12")]),
            ),
            (
                ("third.prio.test", 1),
                Behaviour::Answer(vec![a("192.0.2.13")]),
            ),
        ],
    );
    let mut c = config(&[server.addr]);
    c.ipv6 = false;
    let mut h = Harness::new(c);
    let got = h
        .resolve(req("prio.test", None, Some(Transport::Udp)))
        .unwrap();
    assert_eq!(
        got,
        vec![
            target("192.0.2.11:5061", Transport::Udp),
            target("192.0.2.12:5062", Transport::Udp),
            target("192.0.2.13:5063", Transport::Udp),
        ]
    );
    assert!(
        server
            .queries()
            .iter()
            .all(|q| q.1 != "prio.test" || q.2 != NAPTR),
        "no NAPTR when a transport is given"
    );
}

#[test]
fn truncated_udp_answer_is_fetched_over_tcp() {
    let server = TestDnsServer::start(
        V4,
        vec![(
            ("big.test", 1),
            Behaviour::TruncateUdp(vec![a("192.0.2.21"), a("192.0.2.22")]),
        )],
    );
    let mut c = config(&[server.addr]);
    c.ipv6 = false;
    let mut h = Harness::new(c);
    let got = h.resolve(req("big.test", Some(5060), None)).unwrap();
    assert_eq!(
        got,
        vec![
            target("192.0.2.21:5060", Transport::Udp),
            target("192.0.2.22:5060", Transport::Udp)
        ]
    );
    let asked = server.queries();
    assert!(asked.contains(&("udp", "big.test".into(), 1)));
    assert!(
        asked.contains(&("tcp", "big.test".into(), 1)),
        "TCP retry after TC: {asked:?}"
    );
}

#[test]
fn nxdomain_servfail_and_silence_become_errors() {
    let server = TestDnsServer::start(
        V4,
        vec![
            (("gone.test", 1), Behaviour::NxDomain),
            (("broken.test", 1), Behaviour::ServFail),
            (("mute.test", 1), Behaviour::Silent),
        ],
    );
    let mut c = config(&[server.addr]);
    c.ipv6 = false;
    let mut h = Harness::new(c);
    assert_eq!(
        h.resolve(req("gone.test", Some(5060), None)),
        Err(DnsError::NotFound {
            name: "gone.test".into()
        })
    );
    assert_eq!(
        h.resolve(req("broken.test", Some(5060), None)),
        Err(DnsError::ServerFailure {
            name: "broken.test".into()
        })
    );
    assert_eq!(
        h.resolve(req("mute.test", Some(5060), None)),
        Err(DnsError::Timeout {
            name: "mute.test".into()
        })
    );
    // 1000 ms budget / 200 ms per attempt: five copies of the query, no more.
    let copies = server
        .queries()
        .iter()
        .filter(|q| q.1 == "mute.test")
        .count();
    assert_eq!(copies, 5, "{:?}", server.queries());
}

#[test]
fn silent_first_server_fails_over_to_the_second() {
    let mute = TestDnsServer::start(V4, vec![(("fo.test", 1), Behaviour::Silent)]);
    let good = TestDnsServer::start(
        V6,
        vec![(("fo.test", 1), Behaviour::Answer(vec![a("192.0.2.31")]))],
    );
    let mut c = config(&[mute.addr, good.addr]);
    c.ipv6 = false;
    let mut h = Harness::new(c);
    let got = h
        .resolve(req("fo.test", Some(5070), Some(Transport::Tcp)))
        .unwrap();
    assert_eq!(got, vec![target("192.0.2.31:5070", Transport::Tcp)]);
    assert_eq!(mute.queries().len(), 1);
    assert_eq!(good.queries().len(), 1, "asked over IPv6 to [::1]");
}

#[test]
fn a_server_that_is_not_there_is_a_bounded_error() {
    // Nothing listens on this port: the query is never answered.
    let closed = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap()
    };
    let mut h = Harness::new(config(&[closed]));
    let err = h.resolve(req("nobody.test", None, None)).unwrap_err();
    assert!(
        matches!(
            err,
            DnsError::Timeout { .. } | DnsError::ServerFailure { .. }
        ),
        "{err}"
    );
}

#[test]
fn hosts_and_resolv_conf_files_are_honoured() {
    let server = TestDnsServer::start(
        V4,
        vec![(("dns.test", 1), Behaviour::Answer(vec![a("192.0.2.41")]))],
    );
    let dir = std::env::temp_dir().join(format!("c2c-dns-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let hosts = dir.join("hosts");
    let resolv = dir.join("resolv.conf");
    std::fs::write(&hosts, "192.0.2.40 local.test\n").unwrap();
    // resolv.conf cannot name a port: point it at nothing and override with DNSServers.
    std::fs::write(&resolv, "nameserver 192.0.2.254\n").unwrap();
    let from_files = ResolverConfig::from_files(&[], &hosts, &resolv);
    assert_eq!(from_files.servers, vec!["192.0.2.254:53".parse().unwrap()]);
    let mut c = ResolverConfig::from_files(&[server.addr], &hosts, &resolv);
    c.ipv6 = false;
    std::fs::remove_dir_all(&dir).unwrap();
    let mut h = Harness::new(c);
    assert_eq!(
        h.resolve(req("local.test", None, None)).unwrap(),
        vec![target("192.0.2.40:5060", Transport::Udp)]
    );
    assert!(
        server.queries().is_empty(),
        "hosts file answered without DNS"
    );
    assert_eq!(
        h.resolve(req("dns.test", Some(5080), None)).unwrap(),
        vec![target("192.0.2.41:5080", Transport::Udp)]
    );
}

#[test]
fn garbage_spoofed_and_looping_answers_are_ignored_until_the_real_one() {
    let server = TestDnsServer::start(
        V4,
        vec![
            (
                ("hostile.test", 1),
                Behaviour::Hostile(vec![a("192.0.2.51")]),
            ),
            (
                ("spoofed.test", 1),
                Behaviour::SpoofOnly(vec![a("203.0.113.66")]),
            ),
            (("tcpjunk.test", 1), Behaviour::TcpGarbage),
        ],
    );
    let mut c = config(&[server.addr]);
    c.ipv6 = false;
    let mut h = Harness::new(c);
    assert_eq!(
        h.resolve(req("hostile.test", Some(5060), None)).unwrap(),
        vec![target("192.0.2.51:5060", Transport::Udp)]
    );
    assert_eq!(
        h.resolve(req("spoofed.test", Some(5060), None)),
        Err(DnsError::Timeout {
            name: "spoofed.test".into()
        }),
        "answers with the wrong ID are never believed"
    );
    assert_eq!(
        h.resolve(req("tcpjunk.test", Some(5060), None)),
        Err(DnsError::ServerFailure {
            name: "tcpjunk.test".into()
        })
    );
}

#[test]
fn resolv_conf_search_list_completes_a_short_host_name() {
    // Unknown names get NODATA from the test server, so the name as-is would fail.
    let server = TestDnsServer::start(
        V4,
        vec![(
            ("pbx.example.test", 1),
            Behaviour::Answer(vec![a("127.0.0.1")]),
        )],
    );
    let dir = std::env::temp_dir().join(format!("c2c-dns-search-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let hosts = dir.join("hosts");
    let resolv = dir.join("resolv.conf");
    std::fs::write(&hosts, "").unwrap();
    std::fs::write(
        &resolv,
        "nameserver 192.0.2.254\nsearch example.test\noptions ndots:1\n",
    )
    .unwrap();
    // DNSServers replaces the nameserver lines only: the search list still applies.
    let mut c = ResolverConfig::from_files(&[server.addr], &hosts, &resolv);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(c.search, vec!["example.test".to_string()]);
    assert_eq!(c.ndots, 1);
    c.ipv6 = false;
    c.attempt_timeout = Duration::from_millis(200);
    c.query_timeout = Duration::from_millis(1000);
    let mut h = Harness::new(c);
    assert_eq!(
        h.resolve(req("pbx", None, None)).unwrap(),
        vec![target("127.0.0.1:5060", Transport::Udp)]
    );
    let asked: Vec<String> = server.queries().iter().map(|q| q.1.clone()).collect();
    assert!(
        asked.iter().all(|n| n.ends_with("pbx.example.test")),
        "only the search-list candidate was needed: {asked:?}"
    );
    // An absolute name is not searched: NODATA for "pbx." is the end of it.
    let err = h.resolve(req("pbx.", Some(5060), None)).unwrap_err();
    assert_eq!(err, DnsError::NotFound { name: "pbx".into() });
}
