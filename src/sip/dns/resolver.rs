//! The sans-IO resolver: it owns the cache, the queries in flight and the resolutions
//! waiting on them, and never touches a socket or a clock (the quinn-proto pattern). The
//! I/O layer feeds it `now`, datagrams and TCP answers, and sends what `poll_transmit`
//! returns.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use super::cache::{Cache, CachedAnswer};
use super::message::{self, RData, Rcode, RecordType, Response};
use super::random::{OsRandom, RandomSource};
use super::resolution::{Env, Resolution, Step};
use super::search;
use super::system_files::{self, DEFAULT_NDOTS, HostsFile, ResolvConf};
use super::{Answer, DnsError, LookupKey, ResolveId, ResolveRequest, Target};

/// RFC 1034 §3.6.2 chains are short in practice; a longer one is a loop or an attack.
const MAX_CNAME_HOPS: usize = 8;
/// RFC 2308 §5: negative answers are cached at most for a bounded time.
const MAX_NEGATIVE_TTL: u32 = 300;
/// One resolution goes through at most three sequential stages (NAPTR, SRV, A/AAAA), each
/// bounded by `query_timeout`; a search-list candidate is only started while the search
/// is younger than that many query time-outs.
const SEARCH_BUDGET_QUERIES: u32 = 3;

/// Resolver settings. `new` gives the defaults; fields can be changed before use.
#[derive(Debug, Clone)]
pub struct ResolverConfig {
    /// Servers in the order to try them (DNSServers, else resolv.conf).
    pub servers: Vec<SocketAddr>,
    pub hosts: HostsFile,
    /// How long to wait for one UDP answer before retransmitting to the next server.
    pub attempt_timeout: Duration,
    /// How long one query may take in total, retransmissions and TCP included.
    pub query_timeout: Duration,
    /// Look up A records (the reactor has IPv4 transports).
    pub ipv4: bool,
    /// Look up AAAA records (the reactor has IPv6 transports).
    pub ipv6: bool,
    /// Try a host's IPv6 addresses before its IPv4 ones.
    pub prefer_ipv6: bool,
    pub cache_capacity: usize,
    /// Upper bound on how long any answer is cached, whatever its TTL.
    pub max_ttl: Duration,
    /// Resolutions in progress beyond this fail at once with `Overloaded`.
    pub max_resolutions: usize,
    /// resolv.conf `search` / `domain`: domains appended to a request host in turn
    /// (normalised, at most six). Empty: hosts are only looked up as written.
    pub search: Vec<String>,
    /// resolv.conf `options ndots:N` (default 1, at most 15): a host with at least this
    /// many dots is tried as written before the search list, otherwise after it.
    pub ndots: u8,
}

impl ResolverConfig {
    /// Defaults: 1 s per attempt, 5 s per query (RFC 1035 §4.2.1 leaves the values to the
    /// implementation; these are resolv.conf-like), both families, IPv4 first.
    pub fn new(servers: Vec<SocketAddr>, hosts: HostsFile) -> Self {
        ResolverConfig {
            servers,
            hosts,
            attempt_timeout: Duration::from_secs(1),
            query_timeout: Duration::from_secs(5),
            ipv4: true,
            ipv6: true,
            prefer_ipv6: false,
            cache_capacity: 1024,
            max_ttl: Duration::from_secs(24 * 3600),
            max_resolutions: 1024,
            search: Vec::new(),
            ndots: DEFAULT_NDOTS,
        }
    }

    /// From the DNSServers setting (as parsed by `config`; empty: the host's
    /// `/etc/resolv.conf`), the search list and `ndots` of `/etc/resolv.conf`, and
    /// `/etc/hosts`, all read once, here.
    pub fn from_system(dns_servers: &[SocketAddr]) -> Self {
        Self::from_files(
            dns_servers,
            Path::new("/etc/hosts"),
            Path::new("/etc/resolv.conf"),
        )
    }

    /// As `from_system`, with the two files' paths given (tests). DNSServers replaces only
    /// the `nameserver` lines: the search list and `ndots` still come from resolv.conf, so
    /// short names resolve as they do for every other program on the host.
    pub fn from_files(dns_servers: &[SocketAddr], hosts: &Path, resolv_conf: &Path) -> Self {
        let conf = ResolvConf::load(resolv_conf);
        let servers = if dns_servers.is_empty() {
            system_files::servers_or_local(conf.servers)
        } else {
            dns_servers.to_vec()
        };
        let mut config = Self::new(servers, HostsFile::load(hosts));
        config.search = conf.search;
        config.ndots = conf.ndots;
        config
    }
}

/// How a [`Transmit`] goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransmitProtocol {
    /// One datagram; answers come back through [`Resolver::handle_udp`].
    Udp,
    /// Connect, write the 2-byte length and the payload (RFC 1035 §4.2.2), read one
    /// length-prefixed answer and give it to [`Resolver::handle_tcp_response`]; on any
    /// failure or at `deadline`, call [`Resolver::handle_transmit_failure`].
    Tcp,
}

/// Names one attempt of one query, so late reports about an earlier attempt are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryHandle {
    query: u64,
    attempt: u32,
}

/// A packet the I/O layer must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub destination: SocketAddr,
    pub protocol: TransmitProtocol,
    /// The DNS message, without the TCP length prefix.
    pub payload: Vec<u8>,
    pub handle: QueryHandle,
    /// When the resolver gives up on this attempt (for TCP: close the stream then).
    pub deadline: Instant,
}

/// One question in flight, shared by every resolution that needs it.
#[derive(Debug)]
struct Query {
    key: LookupKey,
    dns_id: u16,
    packet: Vec<u8>,
    attempt: u32,
    /// Index in `servers` of the current attempt's server.
    server: usize,
    /// Servers this query went to over UDP: a late answer from any of them is accepted.
    sent_to: Vec<SocketAddr>,
    over_tcp: bool,
    attempt_deadline: Instant,
    deadline: Instant,
    /// Error answers and unreachable servers so far.
    failures: usize,
    waiters: Vec<ResolveId>,
}

/// The search-list candidates still to try for one resolution (see `search`).
#[derive(Debug)]
struct Search {
    request: ResolveRequest,
    remaining: VecDeque<String>,
    /// No further candidate is started at or after this instant.
    deadline: Instant,
}

/// What `next_candidate` did.
enum NextCandidate {
    Started,
    /// No candidate left (or no search list).
    None,
    /// Candidates left, but the search's time budget is spent.
    OutOfTime,
}

pub struct Resolver {
    config: ResolverConfig,
    rng: Box<dyn RandomSource>,
    cache: Cache,
    next_resolve: u64,
    resolutions: HashMap<ResolveId, Resolution>,
    /// Resolutions with search-list candidates left; never more entries than
    /// `resolutions` has (an entry lives only while its resolution does).
    searches: HashMap<ResolveId, Search>,
    next_query: u64,
    queries: HashMap<u64, Query>,
    query_by_key: HashMap<LookupKey, u64>,
    /// Answers to hand to resolutions (from the cache or just received).
    ready: VecDeque<(ResolveId, LookupKey, Answer)>,
    transmits: VecDeque<Transmit>,
    results: VecDeque<(ResolveId, Result<Vec<Target>, DnsError>)>,
}

impl Resolver {
    /// A resolver with unpredictable query IDs and SRV choices (OpenSSL randomness).
    pub fn new(config: ResolverConfig) -> Self {
        Self::with_rng(config, Box::new(OsRandom::default()))
    }

    /// A resolver with the given randomness (tests pin SRV weighted selection with it).
    pub fn with_rng(config: ResolverConfig, rng: Box<dyn RandomSource>) -> Self {
        let cache = Cache::new(config.cache_capacity, config.max_ttl);
        Resolver {
            config,
            rng,
            cache,
            next_resolve: 0,
            resolutions: HashMap::new(),
            searches: HashMap::new(),
            next_query: 0,
            queries: HashMap::new(),
            query_by_key: HashMap::new(),
            ready: VecDeque::new(),
            transmits: VecDeque::new(),
            results: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &ResolverConfig {
        &self.config
    }

    /// Starts locating `request`. The result comes out of `poll_result`, possibly at
    /// once (IP literal, hosts file, cache, invalid name).
    ///
    /// A host written short goes through the resolv.conf search list (`search`): each
    /// candidate name runs the whole RFC 3263 procedure, and the next one is tried only
    /// when a candidate's every lookup ended in NXDOMAIN or no records. The search counts
    /// as one resolution for `max_resolutions`, and no candidate is started once
    /// 3 × `query_timeout` have passed since `start`, so the whole search ends within
    /// 6 × `query_timeout` (30 s with the defaults; 15 s for one name).
    pub fn start(&mut self, now: Instant, request: ResolveRequest) -> ResolveId {
        let id = ResolveId(self.next_resolve);
        self.next_resolve += 1;
        if self.resolutions.len() >= self.config.max_resolutions {
            self.results.push_back((id, Err(DnsError::Overloaded)));
            return id;
        }
        log::debug!(target: "sip::dns", "{id}: resolving {:?}", request.host);
        let mut names: VecDeque<String> = search::candidates(
            &request.host,
            &self.config.search,
            self.config.ndots,
            &self.config.hosts,
        )
        .into();
        let first = names.pop_front().unwrap_or_else(|| request.host.clone());
        if !names.is_empty() {
            let budget = self.config.query_timeout * SEARCH_BUDGET_QUERIES;
            self.searches.insert(
                id,
                Search {
                    request: request.clone(),
                    remaining: names,
                    deadline: now + budget,
                },
            );
        }
        self.begin_candidate(now, id, &request, first);
        self.pump(now);
        id
    }

    /// Forgets a resolution the caller no longer needs; its queries still complete and
    /// fill the cache.
    pub fn cancel(&mut self, id: ResolveId) {
        self.resolutions.remove(&id);
        self.searches.remove(&id);
    }

    /// A datagram from `from`. Accepted only if it answers an outstanding query: same
    /// ID, same question, from a server the query was sent to (RFC 5452 §9.1); anything
    /// else is logged and dropped.
    pub fn handle_udp(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        // Cheapest check first: a flood from elsewhere is not even decoded.
        if !self.config.servers.contains(&from) {
            log::debug!(target: "sip::dns", "dropping datagram from {from}: not a configured server");
            return;
        }
        let resp = match message::decode_response(bytes) {
            Ok(r) => r,
            Err(e) => {
                log::debug!(target: "sip::dns", "dropping malformed answer from {from}: {e}");
                return;
            }
        };
        let Some(qid) = self.match_query(&resp) else {
            log::debug!(target: "sip::dns", "dropping unexpected answer {} from {from}", resp.id);
            return;
        };
        let Some(q) = self.queries.get(&qid) else {
            return;
        };
        if !q.sent_to.contains(&from) || (resp.truncated && q.over_tcp) {
            log::debug!(target: "sip::dns", "dropping answer {} from {from}: not asked there", resp.id);
            return;
        }
        self.on_response(now, qid, from, resp);
        self.pump(now);
    }

    /// The answer read from a TCP stream opened for `handle`. Anything wrong with it
    /// counts as a failure of that server.
    pub fn handle_tcp_response(&mut self, now: Instant, handle: QueryHandle, bytes: &[u8]) {
        let Some(q) = self.current(handle) else {
            return;
        };
        if !q.over_tcp {
            return;
        }
        let server = self.config.servers.get(q.server).copied();
        match message::decode_response(bytes) {
            Ok(resp) if !resp.truncated && self.match_query(&resp) == Some(handle.query) => {
                if let Some(server) = server {
                    self.on_response(now, handle.query, server, resp);
                }
            }
            Ok(_) => self.fail_attempt(now, handle.query, "mismatched TCP answer"),
            Err(e) => {
                log::debug!(target: "sip::dns", "malformed TCP answer: {e}");
                self.fail_attempt(now, handle.query, "malformed TCP answer");
            }
        }
        self.pump(now);
    }

    /// The attempt named by `handle` could not be sent or its TCP stream failed: move on
    /// to the next server without waiting for the time-out.
    pub fn handle_transmit_failure(&mut self, now: Instant, handle: QueryHandle) {
        if self.current(handle).is_some() {
            self.fail_attempt(now, handle.query, "transmit failed");
            self.pump(now);
        }
    }

    /// Retransmits or fails every query whose attempt deadline has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<u64> = self
            .queries
            .iter()
            .filter(|(_, q)| q.attempt_deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for qid in due {
            let Some(q) = self.queries.get(&qid) else {
                continue;
            };
            if now >= q.deadline || q.over_tcp {
                let name = q.key.name.clone();
                log::debug!(target: "sip::dns", "query {} {} timed out", q.key.rtype, name);
                self.complete(now, qid, Err(DnsError::Timeout { name }), None);
            } else {
                self.next_attempt(now, qid);
            }
        }
        self.pump(now);
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_result(&mut self) -> Option<(ResolveId, Result<Vec<Target>, DnsError>)> {
        self.results.pop_front()
    }

    /// The earliest attempt deadline, if any query is in flight.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queries.values().map(|q| q.attempt_deadline).min()
    }

    /// Resolutions still waiting for answers.
    pub fn pending(&self) -> usize {
        self.resolutions.len()
    }

    fn current(&self, handle: QueryHandle) -> Option<&Query> {
        self.queries
            .get(&handle.query)
            .filter(|q| q.attempt == handle.attempt)
    }

    /// The query a response answers: same question (RFC 5452 §9.1) and same ID.
    fn match_query(&self, resp: &Response) -> Option<u64> {
        if resp.question.qclass != 1 {
            return None;
        }
        let rtype = RecordType::from_code(resp.question.qtype)?;
        let key = LookupKey::new(&resp.question.name, rtype);
        let qid = *self.query_by_key.get(&key)?;
        let q = self.queries.get(&qid)?;
        (q.dns_id == resp.id).then_some(qid)
    }

    fn apply(&mut self, now: Instant, id: ResolveId, step: Step) {
        match step {
            Step::Need(keys) => {
                for key in keys {
                    self.lookup(now, id, key);
                }
            }
            Step::Done(result) => {
                let found = self
                    .resolutions
                    .remove(&id)
                    .is_some_and(|m| m.found_records());
                let mut out_of_time = false;
                if let Err(DnsError::NotFound { .. }) = &result
                    && !found
                {
                    // As the C library's res_search, the search list goes on after
                    // NXDOMAIN and NODATA, and stops on a time-out. Unlike it (it also
                    // goes on after SERVFAIL), any server failure ends the search here
                    // too: a broken server must not silently send the request to a
                    // namesake under another search domain (the RFC 1535 hazard).
                    match self.next_candidate(now, id) {
                        NextCandidate::Started => return,
                        NextCandidate::OutOfTime => out_of_time = true,
                        NextCandidate::None => {}
                    }
                }
                let result = match (self.searches.remove(&id), result) {
                    (Some(s), Err(DnsError::NotFound { .. })) if !found => {
                        let name = super::name::normalize(s.request.host.trim());
                        if out_of_time {
                            // Candidates left but no time for them (see `start`).
                            Err(DnsError::Timeout { name })
                        } else {
                            // Every candidate is gone: the name the request gave.
                            Err(DnsError::NotFound { name })
                        }
                    }
                    (_, r) => r,
                };
                if let Err(e) = &result {
                    log::debug!(target: "sip::dns", "{id}: {e}");
                }
                self.results.push_back((id, result));
            }
        }
    }

    /// Runs the RFC 3263 procedure of `request` with `host` as the target domain.
    fn begin_candidate(
        &mut self,
        now: Instant,
        id: ResolveId,
        request: &ResolveRequest,
        host: String,
    ) {
        let candidate = ResolveRequest {
            host,
            ..request.clone()
        };
        let mut env = Env {
            config: &self.config,
            rng: self.rng.as_mut(),
        };
        let (machine, step) = Resolution::begin(&candidate, &mut env);
        if let Some(m) = machine {
            self.resolutions.insert(id, m);
        }
        self.apply(now, id, step);
    }

    /// Starts the next search-list candidate of `id`, if one is left and the search is
    /// within its time budget. Recursion through `apply` is bounded by the candidate
    /// count (`search::MAX_CANDIDATES`).
    fn next_candidate(&mut self, now: Instant, id: ResolveId) -> NextCandidate {
        let Some(search) = self.searches.get_mut(&id) else {
            return NextCandidate::None;
        };
        if search.remaining.is_empty() {
            return NextCandidate::None;
        }
        if now >= search.deadline {
            log::debug!(target: "sip::dns", "{id}: search list time budget spent");
            return NextCandidate::OutOfTime;
        }
        let Some(host) = search.remaining.pop_front() else {
            return NextCandidate::None;
        };
        let request = search.request.clone();
        log::debug!(target: "sip::dns", "{id}: trying {host:?} from the search list");
        self.begin_candidate(now, id, &request, host);
        NextCandidate::Started
    }

    /// Feeds queued answers to their resolutions until none is left. Answers from the
    /// cache go through the same queue, so a resolution never re-enters itself.
    fn pump(&mut self, now: Instant) {
        while let Some((id, key, answer)) = self.ready.pop_front() {
            let Some(machine) = self.resolutions.get_mut(&id) else {
                continue;
            };
            let mut env = Env {
                config: &self.config,
                rng: self.rng.as_mut(),
            };
            let step = machine.feed(&key, answer, &mut env);
            self.apply(now, id, step);
        }
    }

    /// Answers `key` for resolution `id` from the cache, or joins or starts a query.
    fn lookup(&mut self, now: Instant, id: ResolveId, key: LookupKey) {
        if let Some(cached) = self.cache.get(now, &key) {
            let answer = match cached {
                CachedAnswer::Records(r) => Ok(r),
                CachedAnswer::NoSuchName => Err(DnsError::NotFound {
                    name: key.name.clone(),
                }),
            };
            self.ready.push_back((id, key, answer));
            return;
        }
        if let Some(q) = self
            .query_by_key
            .get(&key)
            .and_then(|qid| self.queries.get_mut(qid))
        {
            q.waiters.push(id);
            return;
        }
        let Some(&server) = self.config.servers.first() else {
            let name = key.name.clone();
            self.ready
                .push_back((id, key, Err(DnsError::NoServers { name })));
            return;
        };
        // RFC 5452 §9.2: the ID must be unpredictable.
        let dns_id = self.rng.next_u32() as u16;
        let packet = match message::encode_query(dns_id, &key.name, key.rtype) {
            Ok(p) => p,
            Err(e) => {
                // Only a name from an answer (SRV target, NAPTR replacement) can get here:
                // request host names are checked up front.
                let err = DnsError::InvalidRequest {
                    host: key.name.clone(),
                    reason: e.to_string(),
                };
                self.ready.push_back((id, key, Err(err)));
                return;
            }
        };
        let qid = self.next_query;
        self.next_query += 1;
        let deadline = now + self.config.query_timeout;
        let q = Query {
            key: key.clone(),
            dns_id,
            packet,
            attempt: 0,
            server: 0,
            sent_to: vec![server],
            over_tcp: false,
            attempt_deadline: (now + self.config.attempt_timeout).min(deadline),
            deadline,
            failures: 0,
            waiters: vec![id],
        };
        log::debug!(target: "sip::dns", "query {} {} to {server}", key.rtype, key.name);
        self.transmits.push_back(Transmit {
            destination: server,
            protocol: TransmitProtocol::Udp,
            payload: q.packet.clone(),
            handle: QueryHandle {
                query: qid,
                attempt: 0,
            },
            deadline: q.attempt_deadline,
        });
        self.query_by_key.insert(key, qid);
        self.queries.insert(qid, q);
    }

    /// Retransmits over UDP to the next server (RFC 1035 §4.2.1: try the servers in
    /// turn), keeping the same ID so a late answer to an earlier attempt still counts.
    fn next_attempt(&mut self, now: Instant, qid: u64) {
        let n = self.config.servers.len();
        let Some(q) = self.queries.get_mut(&qid) else {
            return;
        };
        // `n` is at least 1: a query is only created when there is a server.
        let index = (q.server + 1).checked_rem(n).unwrap_or(0);
        let Some(server) = self.config.servers.get(index).copied() else {
            return;
        };
        q.server = index;
        q.attempt += 1;
        q.over_tcp = false;
        q.attempt_deadline = (now + self.config.attempt_timeout).min(q.deadline);
        if !q.sent_to.contains(&server) {
            q.sent_to.push(server);
        }
        self.transmits.push_back(Transmit {
            destination: server,
            protocol: TransmitProtocol::Udp,
            payload: q.packet.clone(),
            handle: QueryHandle {
                query: qid,
                attempt: q.attempt,
            },
            deadline: q.attempt_deadline,
        });
    }

    /// The current server failed this query; once every server has, it is a server
    /// failure, otherwise the next server is asked at once.
    fn fail_attempt(&mut self, now: Instant, qid: u64, why: &str) {
        let Some(q) = self.queries.get_mut(&qid) else {
            return;
        };
        q.failures += 1;
        log::debug!(target: "sip::dns", "query {} {}: {why}", q.key.rtype, q.key.name);
        if q.failures >= self.config.servers.len() || now >= q.deadline {
            let name = q.key.name.clone();
            self.complete(now, qid, Err(DnsError::ServerFailure { name }), None);
        } else {
            self.next_attempt(now, qid);
        }
    }

    fn on_response(&mut self, now: Instant, qid: u64, server: SocketAddr, resp: Response) {
        let Some(q) = self.queries.get_mut(&qid) else {
            return;
        };
        if resp.truncated {
            // RFC 1035 §4.2.1 / RFC 7766 §5: a truncated UDP answer is retried over TCP
            // to the same server.
            q.attempt += 1;
            q.over_tcp = true;
            q.attempt_deadline = q.deadline;
            log::debug!(target: "sip::dns", "query {} {} truncated: retrying over TCP", q.key.rtype, q.key.name);
            self.transmits.push_back(Transmit {
                destination: server,
                protocol: TransmitProtocol::Tcp,
                payload: q.packet.clone(),
                handle: QueryHandle {
                    query: qid,
                    attempt: q.attempt,
                },
                deadline: q.deadline,
            });
            return;
        }
        let key = q.key.clone();
        match resp.rcode {
            Rcode::NoError => {
                let (records, ttl) = extract_answer(&key, &resp);
                self.complete(
                    now,
                    qid,
                    Ok(records.clone()),
                    Some((CachedAnswer::Records(records), ttl)),
                );
            }
            Rcode::NameError => {
                let ttl = negative_ttl(&resp);
                let err = DnsError::NotFound { name: key.name };
                self.complete(now, qid, Err(err), Some((CachedAnswer::NoSuchName, ttl)));
            }
            other => self.fail_attempt(now, qid, &format!("server {server} answered {other:?}")),
        }
    }

    /// Ends a query: caches the answer and queues it for every waiting resolution.
    fn complete(
        &mut self,
        now: Instant,
        qid: u64,
        answer: Answer,
        cache: Option<(CachedAnswer, u32)>,
    ) {
        let Some(q) = self.queries.remove(&qid) else {
            return;
        };
        self.query_by_key.remove(&q.key);
        if let Some((entry, ttl)) = cache {
            self.cache.insert(now, q.key.clone(), entry, ttl);
        }
        for id in q.waiters {
            self.ready.push_back((id, q.key.clone(), answer.clone()));
        }
    }
}

/// The records of the asked type for the asked name, following CNAMEs inside the answer
/// section (RFC 1034 §3.6.2), and the TTL to cache them for (the smallest on the path,
/// RFC 2181 §5.2). An empty list is NODATA, cached per RFC 2308 §5.
fn extract_answer(key: &LookupKey, resp: &Response) -> (Vec<RData>, u32) {
    let mut name = key.name.clone();
    let mut ttl = u32::MAX;
    for _ in 0..MAX_CNAME_HOPS {
        let alias = resp.answers.iter().find_map(|r| match &r.data {
            RData::Cname(target) if r.name == name => Some((target.clone(), r.ttl)),
            _ => None,
        });
        match alias {
            Some((target, t)) => {
                ttl = ttl.min(t);
                name = target;
            }
            None => break,
        }
    }
    let records: Vec<RData> = resp
        .answers
        .iter()
        .filter(|r| r.name == name && r.rtype == key.rtype.code() && r.data != RData::Other)
        .map(|r| {
            ttl = ttl.min(r.ttl);
            r.data.clone()
        })
        .collect();
    if records.is_empty() {
        return (records, negative_ttl(resp));
    }
    (records, ttl)
}

/// RFC 2308 §5: a negative answer lives for min(SOA TTL, SOA MINIMUM); without an SOA it
/// is not cached.
fn negative_ttl(resp: &Response) -> u32 {
    resp.authority
        .iter()
        .find_map(|r| match r.data {
            RData::Soa { minimum } => Some(r.ttl.min(minimum).min(MAX_NEGATIVE_TTL)),
            _ => None,
        })
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "resolver_tests.rs"]
mod tests;
