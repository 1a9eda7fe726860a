//! The order in which to try servers: NAPTR filtering and sorting for SIP (RFC 3263 §4.1,
//! RFC 3403 §4.1) and SRV priority plus weighted random selection (RFC 2782 "Usage rules").

use super::message::{NaptrRecord, SrvRecord};
use super::random::RandomSource;
use crate::sip::Transport;

/// How many SRV records of one answer are kept (the best priorities).
const MAX_SRV_RECORDS: usize = 64;

/// An SRV owner name to look up and the transport its targets speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SrvService {
    pub name: String,
    pub transport: Transport,
}

/// The SIP NAPTR services we can use (RFC 3263 §4.1): `SIP+D2U`, `SIP+D2T`, `SIPS+D2T`.
/// For a SIPS URI only `SIPS+D2T` is acceptable (a sips request must go over TLS).
fn naptr_transport(services: &str, secure: bool) -> Option<Transport> {
    match services {
        "sips+d2t" => Some(Transport::Tls),
        "sip+d2t" if !secure => Some(Transport::Tcp),
        "sip+d2u" if !secure => Some(Transport::Udp),
        _ => None,
    }
}

/// Keeps the NAPTR records a SIP client can follow, in the order to try them: ascending
/// ORDER, then ascending PREFERENCE (RFC 3403 §4.1), answer order for ties.
///
/// RFC 3263 §4.1: SIP NAPTRs are terminal with flag "S" and an empty regexp, the
/// replacement being the SRV name; anything else is discarded. When `wanted` is set (the
/// URI named a transport) only that transport's records are kept.
pub(super) fn select_naptr(
    records: &[NaptrRecord],
    secure: bool,
    wanted: Option<Transport>,
) -> Vec<SrvService> {
    let mut usable: Vec<(&NaptrRecord, Transport)> = records
        .iter()
        .filter(|r| r.flags == "s" && r.regexp.is_empty() && !r.replacement.is_empty())
        .filter_map(|r| naptr_transport(&r.services, secure).map(|t| (r, t)))
        .filter(|(_, t)| wanted.is_none_or(|w| w == *t))
        .collect();
    usable.sort_by_key(|(r, _)| (r.order, r.preference));
    let mut out: Vec<SrvService> = Vec::with_capacity(usable.len());
    for (r, transport) in usable {
        let svc = SrvService {
            name: r.replacement.clone(),
            transport,
        };
        if !out.contains(&svc) {
            out.push(svc);
        }
    }
    out
}

/// The SRV owner names to query for `domain` when there is no NAPTR (RFC 3263 §4.1, last
/// paragraphs) or when the URI gave a transport but no port (§4.2). For a plain SIP URI we
/// prefer UDP, then TCP, then TLS (the client's choice, §4.1), for SIPS only TLS.
pub(super) fn srv_services(
    domain: &str,
    secure: bool,
    transport: Option<Transport>,
) -> Vec<SrvService> {
    let svc = |t: Transport| SrvService {
        name: match t {
            Transport::Udp => format!("_sip._udp.{domain}"),
            Transport::Tcp => format!("_sip._tcp.{domain}"),
            // RFC 3263 §4.2: SIP over TLS uses the service `_sips` over `_tcp`.
            Transport::Tls => format!("_sips._tcp.{domain}"),
        },
        transport: t,
    };
    match (transport, secure) {
        (Some(t), _) => vec![svc(t)],
        (None, true) => vec![svc(Transport::Tls)],
        (None, false) => vec![
            svc(Transport::Udp),
            svc(Transport::Tcp),
            svc(Transport::Tls),
        ],
    }
}

/// Orders SRV records for trying (RFC 2782): by ascending priority; within one priority,
/// repeatedly pick a record at random with probability proportional to its weight
/// (weight 0 records placed first so that they have a small chance when others have
/// weight). A lone "." target means the service is not offered there and yields nothing.
pub(super) fn order_srv(records: &[SrvRecord], rng: &mut dyn RandomSource) -> Vec<SrvRecord> {
    let mut sorted: Vec<&SrvRecord> = records.iter().filter(|r| !r.target.is_empty()).collect();
    sorted.sort_by_key(|r| r.priority);
    // Selection is quadratic in the group size; nobody needs more than a few dozen
    // servers, and a hostile answer could hold thousands.
    sorted.truncate(MAX_SRV_RECORDS);
    let mut out = Vec::with_capacity(sorted.len());
    let mut rest = sorted.as_slice();
    while let Some(first) = rest.first() {
        let same = rest
            .iter()
            .take_while(|r| r.priority == first.priority)
            .count();
        let (group, tail) = rest.split_at(same);
        // RFC 2782: "arrange all SRV RRs (that have not been ordered yet) in any order,
        // except that all those with weight 0 are placed at the beginning of the list".
        let mut pool: Vec<&SrvRecord> = group.iter().filter(|r| r.weight == 0).copied().collect();
        pool.extend(group.iter().filter(|r| r.weight != 0).copied());
        while !pool.is_empty() {
            let total: u32 = pool.iter().map(|r| u32::from(r.weight)).sum();
            // "choose a uniform random number between 0 and the sum computed (inclusive),
            // and select the RR whose running sum value is the first in the selected
            // order which is greater than or equal to the random number selected."
            let pick = if total == 0 {
                0
            } else {
                rng.next_u32() % (total + 1)
            };
            let mut running = 0u32;
            let index = pool
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            out.push(pool.remove(index).clone());
        }
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::dns::random::SeededRandom;

    fn srv(priority: u16, weight: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port: 5060,
            target: target.into(),
        }
    }

    fn naptr(order: u16, preference: u16, flags: &str, services: &str, repl: &str) -> NaptrRecord {
        NaptrRecord {
            order,
            preference,
            flags: flags.into(),
            services: services.into(),
            regexp: vec![],
            replacement: repl.into(),
        }
    }

    /// A fixed sequence of "random" values, to pin exactly which record is drawn.
    struct Fixed(Vec<u32>);
    impl RandomSource for Fixed {
        fn next_u32(&mut self) -> u32 {
            if self.0.is_empty() {
                0
            } else {
                self.0.remove(0)
            }
        }
    }

    #[test]
    fn srv_lower_priority_always_first() {
        let recs = [
            srv(20, 100, "c"),
            srv(10, 0, "a"),
            srv(10, 0, "b"),
            srv(30, 1, "d"),
        ];
        for seed in 0..50 {
            let order = order_srv(&recs, &mut SeededRandom::new(seed));
            let names: Vec<&str> = order.iter().map(|r| r.target.as_str()).collect();
            assert_eq!(names.len(), 4);
            assert!(names[..2].contains(&"a") && names[..2].contains(&"b"));
            assert_eq!(&names[2..], &["c", "d"]);
        }
    }

    #[test]
    fn srv_running_sum_selection_follows_rfc2782() {
        // Pool order: w0 first, then x(10), y(30). Total 40.
        let recs = [srv(1, 10, "x"), srv(1, 0, "w0"), srv(1, 30, "y")];
        // pick 0 -> first record whose running sum >= 0: w0.
        let o = order_srv(&recs, &mut Fixed(vec![0, 0, 0]));
        assert_eq!(o[0].target, "w0");
        // pick 11 of [0,40] -> running sums 0,10,40: y; then x (sum 10, pick 5), then w0.
        let o = order_srv(&recs, &mut Fixed(vec![11, 5, 0]));
        let names: Vec<&str> = o.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(names, ["y", "x", "w0"]);
    }

    #[test]
    fn srv_weights_bias_the_first_choice() {
        let recs = [srv(1, 90, "heavy"), srv(1, 10, "light")];
        let mut rng = SeededRandom::new(7);
        let heavy_first = (0..1000)
            .filter(|_| order_srv(&recs, &mut rng)[0].target == "heavy")
            .count();
        // Expected ~900; a generous band keeps this a property, not a flaky statistic.
        assert!(
            (800..=980).contains(&heavy_first),
            "heavy first {heavy_first} times"
        );
    }

    #[test]
    fn srv_dot_target_means_no_service() {
        assert!(order_srv(&[srv(0, 0, "")], &mut SeededRandom::new(1)).is_empty());
    }

    #[test]
    fn naptr_filtered_and_sorted_by_order_then_preference() {
        let recs = [
            naptr(20, 10, "s", "sip+d2u", "_sip._udp.ex"),
            naptr(10, 50, "s", "sip+d2t", "_sip._tcp.ex"),
            naptr(10, 10, "s", "sips+d2t", "_sips._tcp.ex"),
            naptr(5, 0, "s", "sip+d2s", "_sip._sctp.ex"),
            naptr(5, 0, "a", "sip+d2u", "host.ex"),
            naptr(5, 0, "u", "e2u+sip", "!x!y!"),
        ];
        let got = select_naptr(&recs, false, None);
        let names: Vec<(&str, Transport)> =
            got.iter().map(|s| (s.name.as_str(), s.transport)).collect();
        assert_eq!(
            names,
            [
                ("_sips._tcp.ex", Transport::Tls),
                ("_sip._tcp.ex", Transport::Tcp),
                ("_sip._udp.ex", Transport::Udp)
            ]
        );
        let secure = select_naptr(&recs, true, None);
        assert_eq!(secure.len(), 1);
        assert_eq!(secure[0].transport, Transport::Tls);
        let udp_only = select_naptr(&recs, false, Some(Transport::Udp));
        assert_eq!(udp_only.len(), 1);
        assert_eq!(udp_only[0].name, "_sip._udp.ex");
    }

    #[test]
    fn srv_names_without_naptr() {
        let names = |s, t| {
            srv_services("ex.com", s, t)
                .into_iter()
                .map(|x| x.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(false, None),
            ["_sip._udp.ex.com", "_sip._tcp.ex.com", "_sips._tcp.ex.com"]
        );
        assert_eq!(names(true, None), ["_sips._tcp.ex.com"]);
        assert_eq!(names(false, Some(Transport::Tcp)), ["_sip._tcp.ex.com"]);
        assert_eq!(names(true, Some(Transport::Tls)), ["_sips._tcp.ex.com"]);
    }
}
