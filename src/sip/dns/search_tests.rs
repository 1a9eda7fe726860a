//! The resolv.conf(5) search list on a manual clock: candidate order, `ndots`, absolute
//! names, which answers move on to the next candidate and which end the search, the
//! hosts file per candidate, and the bounds (time budget, `Overloaded`, cancel).

use super::*;

const NXDOMAIN: u16 = 3;
const SERVFAIL: u16 = 2;

/// A resolver on S1 (IPv4 only) with `search` and `ndots` set.
fn searching(search: &[&str], ndots: u8, hosts: &str) -> Resolver {
    resolver_with(&[S1], hosts, |c| {
        c.search = search.iter().map(|s| s.to_string()).collect();
        c.ndots = ndots;
    })
}

/// Answers `tx` with no records and the given RCODE.
fn empty(r: &mut Resolver, now: Instant, tx: &Transmit, rcode: u16) {
    r.handle_udp(now, sa(S1), &answer(tx, rcode, &[], &[]));
}

/// Answers the single outstanding A query, which must be for `name`.
fn expect_a(r: &mut Resolver, name: &str) -> Transmit {
    let tx = only_transmit(r);
    assert_eq!(question(&tx), (name.to_string(), 1));
    tx
}

fn a_answer(r: &mut Resolver, now: Instant, tx: &Transmit, ip: &str) {
    let (name, _) = question(tx);
    r.handle_udp(now, sa(S1), &answer(tx, 0, &[rr(&name, 1, 60, a(ip))], &[]));
}

#[test]
fn short_name_is_tried_with_each_search_domain_in_order_then_as_is() {
    let mut r = searching(&["a.test", "b.test"], 1, "");
    let now = Instant::now();
    r.start(now, req("pbx", Some(5060), None, false));
    for name in ["pbx.a.test", "pbx.b.test"] {
        let tx = expect_a(&mut r, name);
        assert!(r.poll_result().is_none());
        empty(&mut r, now, &tx, NXDOMAIN);
    }
    let tx = expect_a(&mut r, "pbx");
    a_answer(&mut r, now, &tx, "192.0.2.5");
    assert_eq!(
        result(&mut r),
        Ok(vec![target("192.0.2.5:5060", Transport::Udp)])
    );
    assert_eq!(r.pending(), 0);
}

#[test]
fn nxdomain_on_the_first_candidate_then_success_on_the_second() {
    let mut r = searching(&["a.test", "b.test"], 1, "");
    let now = Instant::now();
    r.start(now, req("PBX", Some(5070), Some(Transport::Tcp), false));
    let tx = expect_a(&mut r, "pbx.a.test");
    empty(&mut r, now, &tx, NXDOMAIN);
    let tx = expect_a(&mut r, "pbx.b.test");
    a_answer(&mut r, now, &tx, "192.0.2.6");
    assert_eq!(
        result(&mut r),
        Ok(vec![target("192.0.2.6:5070", Transport::Tcp)])
    );
    assert!(r.poll_transmit().is_none(), "the name as-is is never asked");
}

#[test]
fn whole_rfc3263_procedure_runs_per_candidate_and_nodata_moves_on() {
    let mut r = searching(&["a.test", "b.test"], 1, "");
    let now = Instant::now();
    r.start(now, req("pbx", None, None, false));
    // pbx.a.test exists (NODATA everywhere): NAPTR, the three SRVs, then A.
    let tx = only_transmit(&mut r);
    assert_eq!(question(&tx), ("pbx.a.test".into(), 35));
    empty(&mut r, now, &tx, 0);
    let txs = transmits(&mut r);
    assert_eq!(txs.len(), 3);
    for tx in &txs {
        assert!(
            question(tx).0.ends_with(".pbx.a.test"),
            "{:?}",
            question(tx)
        );
        empty(&mut r, now, tx, 0);
    }
    let tx = expect_a(&mut r, "pbx.a.test");
    empty(&mut r, now, &tx, 0);
    // Then pbx.b.test from its NAPTR on, with an SRV record this time.
    let tx = only_transmit(&mut r);
    assert_eq!(question(&tx), ("pbx.b.test".into(), 35));
    empty(&mut r, now, &tx, 0);
    let txs = transmits(&mut r);
    let tcp = find(&txs, "_sip._tcp.pbx.b.test", 33);
    let srvs = [rr(
        "_sip._tcp.pbx.b.test",
        33,
        60,
        srv(1, 0, 5090, "host.b.test"),
    )];
    r.handle_udp(now, sa(S1), &answer(&tcp, 0, &srvs, &[]));
    for tx in txs
        .iter()
        .filter(|t| question(t).0 != "_sip._tcp.pbx.b.test")
    {
        empty(&mut r, now, tx, NXDOMAIN);
    }
    let tx = expect_a(&mut r, "host.b.test");
    a_answer(&mut r, now, &tx, "192.0.2.8");
    assert_eq!(
        result(&mut r),
        Ok(vec![target("192.0.2.8:5090", Transport::Tcp)])
    );
}

#[test]
fn a_candidate_with_records_is_final_even_if_it_leads_nowhere() {
    let mut r = searching(&["a.test", "b.test"], 1, "");
    let now = Instant::now();
    r.start(now, req("pbx", None, Some(Transport::Tcp), false));
    // The SRV of pbx.a.test names a host without addresses: the domain exists, so the
    // search does not go on to pbx.b.test.
    let tx = only_transmit(&mut r);
    assert_eq!(question(&tx), ("_sip._tcp.pbx.a.test".into(), 33));
    let srvs = [rr(
        "_sip._tcp.pbx.a.test",
        33,
        60,
        srv(1, 0, 5060, "gone.a.test"),
    )];
    r.handle_udp(now, sa(S1), &answer(&tx, 0, &srvs, &[]));
    let tx = expect_a(&mut r, "gone.a.test");
    empty(&mut r, now, &tx, NXDOMAIN);
    assert_eq!(
        result(&mut r),
        Err(DnsError::NotFound {
            name: "pbx.a.test".into()
        })
    );
    assert!(r.poll_transmit().is_none());
}

#[test]
fn absolute_names_are_never_searched() {
    let mut r = searching(&["a.test"], 1, "");
    let now = Instant::now();
    r.start(now, req("pbx.", Some(5060), None, false));
    let tx = expect_a(&mut r, "pbx");
    empty(&mut r, now, &tx, NXDOMAIN);
    assert_eq!(
        result(&mut r),
        Err(DnsError::NotFound { name: "pbx".into() })
    );
    assert!(r.poll_transmit().is_none());
    // IP literals neither.
    r.start(now, req("192.0.2.1", None, None, false));
    assert!(r.poll_transmit().is_none());
    assert!(result(&mut r).is_ok());
}

#[test]
fn ndots_decides_whether_the_name_as_is_goes_first() {
    let now = Instant::now();
    let mut r = searching(&["a.test"], 1, "");
    r.start(now, req("pbx.site", Some(5060), None, false));
    let tx = expect_a(&mut r, "pbx.site");
    empty(&mut r, now, &tx, NXDOMAIN);
    let tx = expect_a(&mut r, "pbx.site.a.test");
    empty(&mut r, now, &tx, NXDOMAIN);
    assert_eq!(
        result(&mut r),
        Err(DnsError::NotFound {
            name: "pbx.site".into()
        })
    );

    let mut r = searching(&["a.test"], 2, "");
    r.start(now, req("pbx.site", Some(5060), None, false));
    let tx = expect_a(&mut r, "pbx.site.a.test");
    empty(&mut r, now, &tx, NXDOMAIN);
    let tx = expect_a(&mut r, "pbx.site");
    a_answer(&mut r, now, &tx, "192.0.2.12");
    assert!(result(&mut r).is_ok());
}

#[test]
fn servfail_ends_the_search() {
    let mut r = searching(&["a.test", "b.test"], 1, "");
    let now = Instant::now();
    r.start(now, req("pbx", Some(5060), None, false));
    let tx = expect_a(&mut r, "pbx.a.test");
    empty(&mut r, now, &tx, SERVFAIL);
    assert_eq!(
        result(&mut r),
        Err(DnsError::ServerFailure {
            name: "pbx.a.test".into()
        })
    );
    assert!(r.poll_transmit().is_none(), "no other candidate is asked");
    assert_eq!(r.pending(), 0);
}

#[test]
fn timeout_ends_the_search() {
    let mut r = searching(&["a.test", "b.test"], 1, "");
    let t0 = Instant::now();
    r.start(t0, req("pbx", Some(5060), None, false));
    expect_a(&mut r, "pbx.a.test");
    for s in 1..=5 {
        r.handle_timeout(t0 + Duration::from_secs(s));
    }
    transmits(&mut r);
    assert_eq!(
        result(&mut r),
        Err(DnsError::Timeout {
            name: "pbx.a.test".into()
        })
    );
    assert!(r.poll_transmit().is_none());
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn hosts_file_is_consulted_for_each_candidate() {
    let mut r = searching(
        &["a.test", "b.test"],
        1,
        "192.0.2.20 pbx.b.test\n192.0.2.21 local\n",
    );
    let now = Instant::now();
    r.start(now, req("pbx", None, None, false));
    let tx = only_transmit(&mut r);
    assert_eq!(question(&tx), ("pbx.a.test".into(), 35));
    empty(&mut r, now, &tx, NXDOMAIN);
    assert!(
        r.poll_transmit().is_none(),
        "pbx.b.test is in the hosts file"
    );
    assert_eq!(
        result(&mut r),
        Ok(vec![target("192.0.2.20:5060", Transport::Udp)])
    );
    // A name the hosts file lists as written is never searched nor asked.
    r.start(now, req("local", None, None, false));
    assert!(r.poll_transmit().is_none());
    assert_eq!(
        result(&mut r),
        Ok(vec![target("192.0.2.21:5060", Transport::Udp)])
    );
}

#[test]
fn search_stops_when_its_time_budget_is_spent() {
    let mut r = resolver_with(&[S1], "", |c| {
        c.search = vec!["a.test".into(), "b.test".into()];
        c.attempt_timeout = Duration::from_secs(1);
        c.query_timeout = Duration::from_secs(1);
    });
    let t0 = Instant::now();
    // Budget: 3 query time-outs = 3 s. The first candidate ends at 2.7 s, so the
    // second starts; it ends at 3.5 s, past the budget: the name as-is is not tried.
    r.start(t0, req("pbx", None, None, false));
    let tx = only_transmit(&mut r);
    empty(&mut r, t0 + Duration::from_millis(900), &tx, 0);
    for tx in transmits(&mut r) {
        empty(&mut r, t0 + Duration::from_millis(1800), &tx, 0);
    }
    let tx = expect_a(&mut r, "pbx.a.test");
    empty(&mut r, t0 + Duration::from_millis(2700), &tx, 0);
    let tx = only_transmit(&mut r);
    assert_eq!(question(&tx), ("pbx.b.test".into(), 35));
    empty(&mut r, t0 + Duration::from_millis(3500), &tx, NXDOMAIN);
    assert!(r.poll_transmit().is_none());
    assert_eq!(
        result(&mut r),
        Err(DnsError::Timeout { name: "pbx".into() })
    );
    assert_eq!(r.pending(), 0);
}

#[test]
fn a_search_counts_as_one_resolution_and_can_be_cancelled() {
    let mut r = resolver_with(&[S1], "", |c| {
        c.search = vec!["a.test".into(), "b.test".into()];
        c.max_resolutions = 1;
    });
    let now = Instant::now();
    let id = r.start(now, req("pbx", Some(5060), None, false));
    let tx = expect_a(&mut r, "pbx.a.test");
    empty(&mut r, now, &tx, NXDOMAIN);
    let tx = expect_a(&mut r, "pbx.b.test");
    assert_eq!(r.pending(), 1);
    r.start(now, req("other", Some(5060), None, false));
    assert_eq!(result(&mut r), Err(DnsError::Overloaded));
    r.cancel(id);
    empty(&mut r, now, &tx, NXDOMAIN);
    assert!(
        r.poll_transmit().is_none(),
        "a cancelled search goes no further"
    );
    assert!(r.poll_result().is_none());
    assert_eq!(r.pending(), 0);
}

#[test]
fn failed_candidates_come_from_the_negative_cache_next_time() {
    let mut r = searching(&["a.test"], 1, "");
    let now = Instant::now();
    r.start(now, req("pbx", Some(5060), None, false));
    let tx = expect_a(&mut r, "pbx.a.test");
    let soa_rr = [rr("a.test", 6, 60, soa(60))];
    r.handle_udp(now, sa(S1), &answer(&tx, NXDOMAIN, &[], &soa_rr));
    let tx = expect_a(&mut r, "pbx");
    a_answer(&mut r, now, &tx, "192.0.2.30");
    assert!(result(&mut r).is_ok());
    // Both answers are cached: no query at all the second time.
    r.start(now, req("pbx", Some(5060), None, false));
    assert!(r.poll_transmit().is_none());
    assert_eq!(
        result(&mut r),
        Ok(vec![target("192.0.2.30:5060", Transport::Udp)])
    );
}
