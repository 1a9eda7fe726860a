//! The RFC 3263 §4 procedure for one request, as a state machine fed lookup answers:
//! NAPTR, then SRV, then A/AAAA, each step skipped when the URI already says what it would
//! have found (transport, port, IP literal).

use std::net::{IpAddr, SocketAddr};

use super::message::{RData, RecordType, SrvRecord};
use super::order::{self, SrvService};
use super::random::RandomSource;
use super::resolver::ResolverConfig;
use super::{Answer, DnsError, LookupKey, ResolveRequest, Target, name};
use crate::sip::Transport;

/// A hostile or huge answer set must not produce an unbounded failover list.
const MAX_TARGETS: usize = 64;

/// What the resolution needs next.
#[derive(Debug)]
pub(super) enum Step {
    /// Look these up and feed the answers back.
    Need(Vec<LookupKey>),
    Done(Result<Vec<Target>, DnsError>),
}

/// What the machine reads besides answers.
pub(super) struct Env<'a> {
    pub config: &'a ResolverConfig,
    pub rng: &'a mut dyn RandomSource,
}

#[derive(Debug)]
pub(super) struct Resolution {
    domain: String,
    secure: bool,
    /// The URI's transport, with `sips` + `tcp` already turned into TLS.
    transport: Option<Transport>,
    /// Put IPv6 addresses of a host before its IPv4 ones.
    prefer_ipv6: bool,
    stage: Stage,
    /// Some lookup of this procedure returned records: the domain exists in some form,
    /// so a failure is final and no search-list candidate is tried after it.
    found: bool,
}

#[derive(Debug)]
enum Stage {
    /// Waiting for the NAPTR records of the domain (RFC 3263 §4.1).
    Naptr,
    /// Waiting for the SRV records of these services (RFC 3263 §4.2).
    Srv(Vec<SrvLookup>),
    /// Waiting for the addresses of these hosts, in failover order.
    Addresses(Vec<HostLookup>),
}

#[derive(Debug)]
struct SrvLookup {
    service: SrvService,
    answer: Option<Answer>,
}

#[derive(Debug)]
struct HostLookup {
    name: String,
    port: u16,
    transport: Transport,
    v4: Slot,
    v6: Slot,
}

#[derive(Debug)]
enum Slot {
    Unused,
    Pending,
    Done(Result<Vec<IpAddr>, DnsError>),
}

/// RFC 3263 §4.1: without NAPTR/SRV guidance, UDP for `sip`, TLS (over TCP) for `sips`.
fn default_transport(secure: bool) -> Transport {
    if secure {
        Transport::Tls
    } else {
        Transport::Udp
    }
}

/// An IP literal, with the brackets of an IPv6 reference tolerated.
pub(super) fn ip_literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

impl Resolution {
    /// Starts resolving `req`. Returns the machine (if anything must be looked up) and the
    /// first step.
    pub(super) fn begin(req: &ResolveRequest, env: &mut Env<'_>) -> (Option<Resolution>, Step) {
        let invalid = |reason: String| {
            Step::Done(Err(DnsError::InvalidRequest {
                host: req.host.clone(),
                reason,
            }))
        };
        // RFC 3261 §26.2.2 / RFC 5630: a sips request is never sent over UDP.
        let transport = match (req.transport, req.secure) {
            (Some(Transport::Udp), true) => return (None, invalid("sips over UDP".into())),
            (Some(Transport::Tcp), true) => Some(Transport::Tls),
            (t, _) => t,
        };
        let host = req.host.trim();
        if let Some(ip) = ip_literal(host) {
            // RFC 3263 §4.1/§4.2: a numeric host needs no lookup at all.
            let t = transport.unwrap_or(default_transport(req.secure));
            let port = req.port.unwrap_or(t.default_port());
            let target = Target {
                addr: SocketAddr::new(ip, port),
                transport: t,
            };
            return (None, Step::Done(Ok(vec![target])));
        }
        let domain = name::normalize(host);
        let mut scratch = Vec::new();
        if let Err(e) = name::encode_name(&domain, &mut scratch) {
            return (None, invalid(e.to_string()));
        }
        let mut r = Resolution {
            domain,
            secure: req.secure,
            transport,
            prefer_ipv6: env.config.prefer_ipv6,
            stage: Stage::Naptr,
            found: false,
        };
        let step = if req.port.is_some() || env.config.hosts.lookup(&r.domain).is_some() {
            // RFC 3263 §4.2: with a port, only A/AAAA. A host listed in the hosts file is
            // a local decision that DNS service records must not override, and looking
            // them up for "localhost" would only add a round trip (or a time-out).
            let t = transport.unwrap_or(default_transport(req.secure));
            let port = req.port.unwrap_or(t.default_port());
            let host = host_lookup(&r.domain, port, t, env.config);
            r.enter_addresses(vec![host])
        } else if let Some(t) = transport {
            r.enter_srv(order::srv_services(&r.domain, r.secure, Some(t)))
        } else {
            Step::Need(vec![LookupKey::new(&r.domain, RecordType::Naptr)])
        };
        match step {
            Step::Done(result) => (None, Step::Done(result)),
            need => (Some(r), need),
        }
    }

    /// Feeds the answer for `key`. Answers that this stage is not waiting for (duplicates,
    /// leftovers of an earlier stage) are ignored and yield `Need(vec![])`.
    pub(super) fn feed(&mut self, key: &LookupKey, answer: Answer, env: &mut Env<'_>) -> Step {
        match &mut self.stage {
            Stage::Naptr => {
                if key.rtype != RecordType::Naptr || key.name != self.domain {
                    return Step::Need(vec![]);
                }
                self.found |= has_records(&answer);
                match answer {
                    Ok(records) => {
                        let naptrs: Vec<_> = records
                            .into_iter()
                            .filter_map(|d| match d {
                                RData::Naptr(n) => Some(n),
                                _ => None,
                            })
                            .collect();
                        let mut services =
                            order::select_naptr(&naptrs, self.secure, self.transport);
                        // RFC 3263 §4.1: no (usable) NAPTR: query SRV for each transport.
                        if services.is_empty() {
                            services =
                                order::srv_services(&self.domain, self.secure, self.transport);
                        }
                        self.enter_srv(services)
                    }
                    // Some servers fail NAPTR queries they do not understand while
                    // serving SRV and A fine; the SRV step still finds out whether the
                    // server is really down (and fails fast if so).
                    Err(DnsError::ServerFailure { .. }) => {
                        log::debug!(target: "sip::dns", "NAPTR {} failed; trying SRV", self.domain);
                        self.enter_srv(order::srv_services(
                            &self.domain,
                            self.secure,
                            self.transport,
                        ))
                    }
                    Err(e) => Step::Done(Err(e)),
                }
            }
            Stage::Srv(lookups) => {
                if key.rtype != RecordType::Srv {
                    return Step::Need(vec![]);
                }
                for l in lookups.iter_mut() {
                    if l.service.name == key.name && l.answer.is_none() {
                        self.found |= has_records(&answer);
                        l.answer = Some(answer.clone());
                    }
                }
                if lookups.iter().any(|l| l.answer.is_none()) {
                    return Step::Need(vec![]);
                }
                let lookups = std::mem::take(lookups);
                self.after_srv(lookups, env)
            }
            Stage::Addresses(hosts) => {
                let got_records = has_records(&answer);
                let addrs = answer.map(|records| {
                    records
                        .into_iter()
                        .filter_map(|d| match d {
                            RData::A(a) => Some(IpAddr::V4(a)),
                            RData::Aaaa(a) => Some(IpAddr::V6(a)),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                });
                for h in hosts.iter_mut().filter(|h| h.name == key.name) {
                    let slot = match key.rtype {
                        RecordType::A => &mut h.v4,
                        RecordType::Aaaa => &mut h.v6,
                        _ => continue,
                    };
                    if matches!(slot, Slot::Pending) {
                        self.found |= got_records;
                        *slot = Slot::Done(addrs.clone());
                    }
                }
                if hosts.iter().any(HostLookup::pending) {
                    return Step::Need(vec![]);
                }
                Step::Done(self.targets())
            }
        }
    }

    /// Whether any lookup of this procedure returned records (see `found`).
    pub(super) fn found_records(&self) -> bool {
        self.found
    }

    fn enter_srv(&mut self, services: Vec<SrvService>) -> Step {
        let keys = services
            .iter()
            .map(|s| LookupKey::new(&s.name, RecordType::Srv))
            .fold(Vec::new(), push_unique);
        self.stage = Stage::Srv(
            services
                .into_iter()
                .map(|service| SrvLookup {
                    service,
                    answer: None,
                })
                .collect(),
        );
        Step::Need(keys)
    }

    /// All SRV answers are in: turn them into hosts to resolve, in failover order.
    fn after_srv(&mut self, lookups: Vec<SrvLookup>, env: &mut Env<'_>) -> Step {
        let mut hosts = Vec::new();
        let mut first_error = None;
        let mut declined = false;
        for l in lookups {
            match l.answer {
                Some(Ok(records)) => {
                    let srvs: Vec<SrvRecord> = records
                        .into_iter()
                        .filter_map(|d| match d {
                            RData::Srv(s) => Some(s),
                            _ => None,
                        })
                        .collect();
                    // RFC 2782: a single record with target "." says "not offered here".
                    declined |= !srvs.is_empty() && srvs.iter().all(|s| s.target.is_empty());
                    for s in order::order_srv(&srvs, env.rng) {
                        hosts.push(host_lookup(
                            &s.target,
                            s.port,
                            l.service.transport,
                            env.config,
                        ));
                    }
                }
                Some(Err(DnsError::NotFound { .. })) | None => {}
                Some(Err(e)) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if hosts.is_empty() {
            if let Some(e) = first_error {
                return Step::Done(Err(e));
            }
            if declined {
                return Step::Done(Err(DnsError::NotFound {
                    name: self.domain.clone(),
                }));
            }
            // RFC 3263 §4.2: no SRV records: A/AAAA of the domain on the default port.
            let t = self.transport.unwrap_or(default_transport(self.secure));
            hosts.push(host_lookup(&self.domain, t.default_port(), t, env.config));
        }
        hosts.truncate(MAX_TARGETS);
        self.enter_addresses(hosts)
    }

    fn enter_addresses(&mut self, hosts: Vec<HostLookup>) -> Step {
        let keys = hosts
            .iter()
            .flat_map(|h| {
                let a =
                    matches!(h.v4, Slot::Pending).then(|| LookupKey::new(&h.name, RecordType::A));
                let aaaa = matches!(h.v6, Slot::Pending)
                    .then(|| LookupKey::new(&h.name, RecordType::Aaaa));
                a.into_iter().chain(aaaa)
            })
            .fold(Vec::new(), push_unique);
        self.stage = Stage::Addresses(hosts);
        if keys.is_empty() {
            Step::Done(self.targets())
        } else {
            Step::Need(keys)
        }
    }

    /// The final list once every address lookup is done.
    fn targets(&self) -> Result<Vec<Target>, DnsError> {
        let Stage::Addresses(hosts) = &self.stage else {
            return Err(DnsError::NotFound {
                name: self.domain.clone(),
            });
        };
        let mut out: Vec<Target> = Vec::new();
        let mut first_error = None;
        for h in hosts {
            for slot in [&h.v4, &h.v6] {
                if let Slot::Done(Err(e)) = slot
                    && !matches!(e, DnsError::NotFound { .. })
                {
                    first_error.get_or_insert_with(|| e.clone());
                }
            }
            let ok = |s: &Slot| match s {
                Slot::Done(Ok(v)) => v.clone(),
                _ => Vec::new(),
            };
            let (first, second) = if self.prefer_ipv6 {
                (&h.v6, &h.v4)
            } else {
                (&h.v4, &h.v6)
            };
            for ip in ok(first).into_iter().chain(ok(second)) {
                let t = Target {
                    addr: SocketAddr::new(ip, h.port),
                    transport: h.transport,
                };
                if !out.contains(&t) && out.len() < MAX_TARGETS {
                    out.push(t);
                }
            }
        }
        if out.is_empty() {
            return Err(first_error.unwrap_or_else(|| DnsError::NotFound {
                name: self.domain.clone(),
            }));
        }
        Ok(out)
    }
}

impl HostLookup {
    fn pending(&self) -> bool {
        matches!(self.v4, Slot::Pending) || matches!(self.v6, Slot::Pending)
    }
}

/// A host to resolve: already known when it is an IP literal or in the hosts file,
/// otherwise A and/or AAAA lookups for the families the reactor has sockets for.
fn host_lookup(host: &str, port: u16, transport: Transport, config: &ResolverConfig) -> HostLookup {
    let name = name::normalize(host);
    let known: Option<Vec<IpAddr>> = ip_literal(&name)
        .map(|ip| vec![ip])
        .or_else(|| config.hosts.lookup(&name).map(<[IpAddr]>::to_vec));
    let (v4, v6) = match known {
        Some(ips) => {
            let v4: Vec<IpAddr> = ips.iter().copied().filter(IpAddr::is_ipv4).collect();
            let v6: Vec<IpAddr> = ips.iter().copied().filter(IpAddr::is_ipv6).collect();
            (Slot::Done(Ok(v4)), Slot::Done(Ok(v6)))
        }
        None => (Slot::Pending, Slot::Pending),
    };
    let keep = |wanted: bool, slot: Slot| if wanted { slot } else { Slot::Unused };
    let (v4, v6) = (keep(config.ipv4, v4), keep(config.ipv6, v6));
    HostLookup {
        name,
        port,
        transport,
        v4,
        v6,
    }
}

fn has_records(answer: &Answer) -> bool {
    matches!(answer, Ok(records) if !records.is_empty())
}

fn push_unique(mut v: Vec<LookupKey>, k: LookupKey) -> Vec<LookupKey> {
    if !v.contains(&k) {
        v.push(k);
    }
    v
}
