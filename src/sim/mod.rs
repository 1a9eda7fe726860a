//! Simulated time for protocol timing, after quinn-proto's `tests/util.rs` `Pair`: the
//! calls-thread engine (`c2c::engine::Engine`) and the reactor's protocol core
//! (`sip::reactor::ReactorCore`) wired in memory to scripted phones, on a virtual clock the
//! test advances. Every timer (RFC 3261 Timers A–K, RFC 4028 refreshes, ring time-outs,
//! Timer C) is then checked to the millisecond, in milliseconds of real time.
//!
//! The wiring is the one of the real threads, without the channels: the engine's
//! `SipCommand`s go to the core, the core's `SipEvent`s to the engine; the core's writes
//! reach the phone bound to the target address at once (no latency, no loss), and what a
//! phone sends comes back as `TransportEvent::Received`. A write to an address no phone has
//! comes back as a refused target, as ICMP port unreachable would. The phones' loopback IP
//! literals resolve to themselves at the `poll_resolve` / `handle_resolved` seam.
//!
//! A lossy network (`SimConfig::loss`) drops each datagram, in either direction, with a
//! given probability drawn from a seeded generator: a run is the same every time.

mod phone;
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};

use crate::c2c::command::{Command, Progress};
use crate::c2c::engine::{Engine, EngineConfig, EngineCounts};
use crate::c2c::session::Timing;
use crate::sip::Transport;
use crate::sip::dns::{self, DnsError, ResolveRequest};
use crate::sip::msg::{Message, Uri};
use crate::sip::reactor::{CoreConfig, CoreCounts, ReactorCore, SipCommand, SipEvent};
use crate::sip::transaction::LayerConfig;
use crate::sip::transport::{ErrorKind, TransportEvent};
use crate::ua::contact::ListenPorts;
use crate::ua::digest::Credentials;

pub(crate) use phone::{Demand, OnInvite, Phone, Script};

/// Where our SIP stack listens in the simulation.
const SERVER: &str = "127.0.0.1:5072";

/// Settings of one simulation.
pub(crate) struct SimConfig {
    pub(crate) ring_timeout: Duration,
    pub(crate) layer: LayerConfig,
    /// Datagrams lost between the server and the phones; none when `None`.
    pub(crate) loss: Option<Loss>,
    /// The server's `SipAuthUser`/`SipAuthPassword`/`SipAuthRealm`.
    pub(crate) credentials: Option<Credentials>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            ring_timeout: Duration::from_secs(30),
            layer: LayerConfig::default(),
            loss: None,
            credentials: None,
        }
    }
}

/// Each datagram, either way, is lost with probability `fraction`, drawn from a
/// generator seeded with `seed` (the same run every time).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loss {
    pub(crate) fraction: f64,
    pub(crate) seed: u64,
}

/// splitmix64 (Steele, Lea, Flood 2014): small, seeded, good enough to pick losses.
struct Dice {
    fraction: f64,
    state: u64,
}

impl Dice {
    fn lost(&mut self) -> bool {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // The top 53 bits as a uniform value in [0, 1).
        ((z >> 11) as f64 / (1u64 << 53) as f64) < self.fraction
    }
}

/// The server (engine + reactor core), its phones and the virtual clock.
pub(crate) struct Sim {
    /// Where our stack listens.
    server: SocketAddr,
    t0: Instant,
    now: Instant,
    engine: Engine,
    core: ReactorCore,
    /// In address order, so a lossy run draws its losses in the same order every time.
    phones: BTreeMap<SocketAddr, Phone>,
    loss: Option<Dice>,
    /// Every event the core gave the engine, with its time since the start.
    pub(crate) sip_events: Vec<(Duration, SipEvent)>,
}

impl Sim {
    pub(crate) fn new(cfg: SimConfig) -> Sim {
        let server: SocketAddr = SERVER.parse().expect("SERVER is an address");
        let t0 = Instant::now();
        Sim {
            server,
            t0,
            now: t0,
            engine: Engine::new(EngineConfig {
                identity: Uri::parse("sip:click2call@127.0.0.1").expect("identity parses"),
                local_ip: server.ip(),
                ports: ListenPorts {
                    udp: server.port(),
                    tcp: server.port(),
                    tls: None,
                },
                outbound_proxy: None,
                outbound_proxy_all: false,
                fix_nat_contact: false,
                credentials: cfg.credentials.clone(),
                max_redirects: 5,
                call_mode: crate::c2c::command::CallMode::Refer,
                offer_codecs: crate::sip::sdp::Codec::DEFAULT.to_vec(),
                timing: Timing::from_ring_timeout(cfg.ring_timeout),
                caller_identity: Default::default(),
            }),
            core: ReactorCore::new(CoreConfig {
                layer: cfg.layer,
                advertised_ip: Some(server.ip()),
                local_addrs: vec![(Transport::Udp, server), (Transport::Tcp, server)],
                udp_bound: true,
                source_ip: |_| None,
            }),
            phones: BTreeMap::new(),
            loss: cfg.loss.map(|l| Dice {
                fraction: l.fraction,
                state: l.seed,
            }),
            sip_events: Vec::new(),
        }
    }

    /// Time since the start of the simulation.
    pub(crate) fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// A phone at `addr` running `script`.
    pub(crate) fn add_phone(&mut self, addr: &str, script: Script) -> SocketAddr {
        let addr: SocketAddr = addr.parse().expect("phone address");
        self.phones.insert(addr, Phone::new(addr, script, self.t0));
        addr
    }

    pub(crate) fn phone(&self, addr: SocketAddr) -> &Phone {
        &self.phones[&addr]
    }

    pub(crate) fn phone_mut(&mut self, addr: SocketAddr) -> &mut Phone {
        self.phones
            .get_mut(&addr)
            .expect("a phone of the simulation")
    }

    pub(crate) fn active_calls(&self) -> usize {
        self.engine.active_calls()
    }

    /// The calls thread's live state.
    pub(crate) fn engine_counts(&self) -> EngineCounts {
        self.engine.counts()
    }

    /// The reactor core's live state.
    pub(crate) fn core_counts(&self) -> CoreCounts {
        self.core.counts()
    }

    /// Whether the network loses the next datagram.
    fn lost(&mut self) -> bool {
        self.loss.as_mut().is_some_and(Dice::lost)
    }

    /// A click-to-call as the front doors would place it; its progress reports.
    pub(crate) fn click_to_call(
        &mut self,
        initiator: &str,
        destination: &str,
        anchor: bool,
    ) -> Receiver<Progress> {
        let (reply, rx) = unbounded();
        self.engine.handle_command(
            self.now,
            Command::ClickToCall {
                initiator_uri: initiator.into(),
                destination_uri: destination.into(),
                anchor,
                id: crate::c2c::command::CallId::generate(None).expect("random bits"),
                options: Default::default(),
                origin: crate::c2c::command::CallOrigin::for_test(initiator, destination),
                reply,
            },
        );
        self.drive();
        rx
    }

    /// `msg` from the phone at `from`, now (a retransmission the script would not send).
    pub(crate) fn send_from(&mut self, from: SocketAddr, msg: Message) {
        self.phones
            .get_mut(&from)
            .expect("a phone sends")
            .send_at(self.now, msg);
        self.drive();
    }

    /// Advance the clock to `t0 + at`, firing every timer on the way at its instant.
    pub(crate) fn run_until(&mut self, at: Duration) {
        let end = self.t0 + at;
        self.drive();
        let mut fired = 0;
        while let Some(next) = self.next_deadline().filter(|d| *d <= end) {
            fired += 1;
            assert!(
                fired < 100_000,
                "timers keep firing at {:?}",
                self.elapsed()
            );
            self.now = self.now.max(next);
            self.fire_timers();
            self.drive();
        }
        self.now = self.now.max(end);
        self.fire_timers();
        self.drive();
    }

    fn next_deadline(&self) -> Option<Instant> {
        let phones = self.phones.values().filter_map(Phone::poll_timeout);
        [self.engine.poll_timeout(), self.core.poll_timeout()]
            .into_iter()
            .flatten()
            .chain(phones)
            .min()
    }

    fn fire_timers(&mut self) {
        let now = self.now;
        if self.engine.poll_timeout().is_some_and(|t| t <= now) {
            self.engine.handle_timeout(now);
        }
        if self.core.poll_timeout().is_some_and(|t| t <= now) {
            self.core.handle_timeout(now);
        }
    }

    /// Carry every message and command between the parts until all are quiet.
    fn drive(&mut self) {
        let now = self.now;
        loop {
            let mut busy = false;
            while let Some(cmd) = self.engine.poll_command() {
                busy = true;
                if !matches!(cmd, SipCommand::Shutdown) {
                    self.core.handle_command(now, cmd);
                }
            }
            while let Some((tx, request)) = self.core.poll_resolve() {
                busy = true;
                let answer = Sim::resolve(&request);
                self.core.handle_resolved(now, tx, answer);
            }
            while let Some(out) = self.core.poll_transmit() {
                busy = true;
                if self.phones.contains_key(&out.target.addr) && self.lost() {
                    continue;
                }
                match self.phones.get_mut(&out.target.addr) {
                    Some(phone) => phone.receive(now, &out.bytes),
                    None => self.core.handle_transport_event(
                        now,
                        TransportEvent::Error {
                            target: out.target,
                            kind: ErrorKind::Refused,
                        },
                    ),
                }
            }
            // Keepalive targets are the transport's business; nothing to deliver here.
            while self.core.poll_keepalive().is_some() {}
            while let Some(ev) = self.core.poll_event() {
                busy = true;
                self.sip_events.push((now - self.t0, ev.clone()));
                self.engine.handle_sip_event(now, ev);
            }
            for phone in self.phones.values_mut() {
                while let Some(bytes) = phone.poll_send(now) {
                    busy = true;
                    if self.loss.as_mut().is_some_and(Dice::lost) {
                        continue;
                    }
                    self.core.handle_transport_event(
                        now,
                        TransportEvent::Received {
                            bytes,
                            source: phone.addr,
                            transport: Transport::Udp,
                            local: self.server,
                            conn: None,
                        },
                    );
                }
            }
            if !busy {
                return;
            }
        }
    }

    /// The fake resolver: the phones are on loopback IP literals, which resolve to
    /// themselves (port 5060 by default, UDP unless the URI asked otherwise); a name is
    /// not found.
    fn resolve(req: &ResolveRequest) -> Result<Vec<dns::Target>, DnsError> {
        let ip = req
            .host
            .parse::<std::net::IpAddr>()
            .map_err(|_| DnsError::NotFound {
                name: req.host.clone(),
            })?;
        Ok(vec![dns::Target {
            addr: SocketAddr::new(ip, req.port.unwrap_or(5060)),
            transport: req.transport.unwrap_or(Transport::Udp),
        }])
    }
}
