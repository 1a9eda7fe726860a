//! The reactor thread's loop: one `mio::Poll` over the transports, the DNS driver and the
//! command channel's waker. Every protocol decision is the [`ReactorCore`]'s; this loop
//! feeds it what the channel, the sockets and the resolver deliver, with the time, and
//! carries out what it asks for.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use mio::{Events, Poll, Token, Waker};

use super::wake::ReactorWaker;

use super::core::{CoreConfig, Keepalive, LOG, Outbound, OutboundKind, ReactorCore};
use super::interface::{SipCommand, SipEvent};
use super::stats::{Direction, SipStats, kind_of_bytes};
use crate::sip::Transport;
use crate::sip::dns::{DnsDriver, ResolveId, ResolverConfig};
use crate::sip::transaction::{ClientTxId, LayerConfig};
use crate::sip::transport::{
    SendError, TransportConfig, TransportLayer, TransportStartError, probe_source_ip,
};

const WAKER: Token = Token(0);
const DNS_FIRST: usize = 1;
const TRANSPORT_FIRST: usize = 64;
/// With no SIP traffic for this long the reactor trims the heap (`heap::trim`), then again
/// every such period while idle: finished transactions and calls keep expiring for about
/// a minute after the last message, and each trim returns what they freed.
const IDLE_TRIM: Duration = Duration::from_secs(5);
/// Trims stop this long after the last traffic; nothing is left to free by then.
const IDLE_TRIM_FOR: Duration = Duration::from_secs(120);

/// Settings of the reactor.
#[derive(Debug, Clone)]
pub(crate) struct ReactorConfig {
    pub transport: TransportConfig,
    /// `ExternalAddress`: our Via's sent-by behind a 1:1 NAT, instead of the bound address.
    pub external_address: Option<IpAddr>,
    pub dns: ResolverConfig,
    pub layer: LayerConfig,
}

/// The running reactor's handle for the other threads.
#[derive(Clone)]
pub(crate) struct ReactorHandle {
    pub commands: Sender<SipCommand>,
    pub waker: Arc<ReactorWaker>,
    /// What the transports listen on (real ports when 0 was configured).
    pub local_addrs: Vec<(Transport, SocketAddr)>,
    /// The reactor's counters, for `/metrics`.
    pub stats: Arc<SipStats>,
}

/// Why the reactor could not start.
#[derive(Debug)]
pub(crate) enum ReactorStartError {
    Transport(TransportStartError),
    Io(&'static str, io::Error),
}

impl std::fmt::Display for ReactorStartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReactorStartError::Transport(e) => write!(f, "{e}"),
            ReactorStartError::Io(what, e) => write!(f, "cannot create the {what}: {e}"),
        }
    }
}

impl std::error::Error for ReactorStartError {}

/// The reactor: owns the sockets and feeds its core.
pub(crate) struct Reactor {
    poll: Poll,
    /// Its flag says when the loop blocks. Kept also so the eventfd lives as long as the
    /// loop: if the last other holder dropped it, closing the fd would silently take it out
    /// of the poll set and a final wake-up (the shutdown command) would never arrive.
    waker: Arc<ReactorWaker>,
    transport: TransportLayer,
    dns: DnsDriver,
    core: ReactorCore,
    commands: Receiver<SipCommand>,
    events: Sender<SipEvent>,
    /// The driver's name for each resolution the core asked for.
    lookups: HashMap<ResolveId, ClientTxId>,
    /// The core's counters: messages out are counted here, once written.
    stats: Arc<SipStats>,
}

impl Reactor {
    /// Bind every socket and prepare the loop; run it with [`Reactor::run`] on its own thread.
    pub(crate) fn bind(
        cfg: ReactorConfig,
        events: Sender<SipEvent>,
    ) -> Result<(Reactor, ReactorHandle), ReactorStartError> {
        let poll = Poll::new().map_err(|e| ReactorStartError::Io("SIP poller", e))?;
        let waker = Arc::new(ReactorWaker::new(
            Waker::new(poll.registry(), WAKER)
                .map_err(|e| ReactorStartError::Io("SIP waker", e))?,
        ));
        let advertised_ip = cfg
            .external_address
            .or(cfg.transport.bind.filter(|ip| !ip.is_unspecified()));
        let transport = TransportLayer::new(
            poll.registry(),
            TRANSPORT_FIRST..usize::MAX / 2,
            cfg.transport,
        )
        .map_err(ReactorStartError::Transport)?;
        let dns = DnsDriver::new(poll.registry(), Token(DNS_FIRST), cfg.dns)
            .map_err(|e| ReactorStartError::Io("DNS sockets", e))?;
        const { assert!(DNS_FIRST + DnsDriver::TOKENS <= TRANSPORT_FIRST) };
        let (tx, rx) = crossbeam_channel::unbounded();
        let local_addrs = transport.local_addrs();
        let core = ReactorCore::new(CoreConfig {
            layer: cfg.layer,
            advertised_ip,
            local_addrs: local_addrs.clone(),
            udp_bound: transport.supports(Transport::Udp),
            source_ip: probe_source_ip,
        });
        let stats = Arc::clone(core.stats());
        let handle = ReactorHandle {
            commands: tx,
            waker: Arc::clone(&waker),
            local_addrs,
            stats: Arc::clone(&stats),
        };
        let reactor = Reactor {
            poll,
            waker,
            transport,
            dns,
            core,
            commands: rx,
            events,
            lookups: HashMap::new(),
            stats,
        };
        Ok((reactor, handle))
    }

    /// Run until `SipCommand::Shutdown` (or every command sender is gone).
    pub(crate) fn run(mut self) {
        let mut events = Events::with_capacity(256);
        let mut last_traffic = Instant::now();
        let mut next_trim = None;
        loop {
            let now = Instant::now();
            let timeout = [
                self.transport.poll_timeout(),
                self.dns.poll_timeout(),
                self.core.poll_timeout(),
                next_trim,
            ]
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.saturating_duration_since(now));
            // Senders wake the reactor only while the flag is up; a command queued
            // before it went up is seen here, and the poll does not block.
            let blocks = timeout != Some(Duration::ZERO);
            if blocks {
                self.waker.going_to_sleep();
            }
            let timeout = if blocks && !self.commands.is_empty() {
                Some(Duration::ZERO)
            } else {
                timeout
            };
            let polled = self.poll.poll(&mut events, timeout);
            if blocks {
                self.waker.awake();
            }
            if let Err(e) = polled {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::error!(target: LOG, "poll failed: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
            let now = Instant::now();
            if !events.is_empty() {
                last_traffic = now;
                next_trim = Some(now + IDLE_TRIM);
            } else if next_trim.is_some_and(|at| at <= now) {
                crate::heap::trim();
                let idle = now.saturating_duration_since(last_traffic);
                next_trim = (idle < IDLE_TRIM_FOR).then(|| now + IDLE_TRIM);
            }
            for event in events.iter() {
                let token = event.token();
                if token == WAKER {
                    continue;
                } else if self.dns.owns(token) {
                    self.dns.on_event(now, token);
                } else if self.transport.owns(token) {
                    self.transport.on_event(now, event);
                }
            }
            self.transport.handle_timeout(now);
            self.dns.handle_timeout(now);
            self.core.handle_timeout(now);
            if !self.take_commands(now) {
                log::debug!(target: LOG, "reactor stopping");
                return;
            }
            self.settle(now);
            let held = self.core.transactions();
            self.stats.set_transactions([
                held.clients_live,
                held.clients_finished,
                held.servers,
                held.servers_finished,
            ]);
            // Everything this turn produced goes to the calls thread together, after
            // every socket and command was taken: it then wakes once for the batch.
            while let Some(ev) = self.core.poll_event() {
                let _ = self.events.send(ev);
            }
        }
    }

    /// Carry what every part delivered to the core, and what the core asks for to the
    /// parts, until nothing is left to do this turn.
    fn settle(&mut self, now: Instant) {
        loop {
            let mut busy = false;
            while let Some(ev) = self.transport.poll_event() {
                busy = true;
                self.core.handle_transport_event(now, ev);
            }
            while let Some((id, result)) = self.dns.poll_result() {
                busy = true;
                if let Some(tx) = self.lookups.remove(&id) {
                    self.core.handle_resolved(now, tx, result);
                }
            }
            while let Some((tx, request)) = self.core.poll_resolve() {
                busy = true;
                let id = self.dns.resolve(now, request);
                self.lookups.insert(id, tx);
            }
            while let Some(out) = self.core.poll_transmit() {
                busy = true;
                self.write(now, out);
            }
            while let Some(change) = self.core.poll_keepalive() {
                match change {
                    Keepalive::Add(target) => self.transport.keepalive_add(now, &target),
                    Keepalive::Remove(target) => self.transport.keepalive_remove(&target),
                }
            }
            if !busy {
                return;
            }
        }
    }

    /// Drain the command channel; false when the reactor must stop.
    fn take_commands(&mut self, now: Instant) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(SipCommand::Shutdown) | Err(TryRecvError::Disconnected) => return false,
                Ok(cmd) => self.core.handle_command(now, cmd),
                Err(TryRecvError::Empty) => return true,
            }
            self.settle(now);
            // Everything this turn produced goes to the calls thread together, after
            // every socket and command was taken: it then wakes once for the batch.
            while let Some(ev) = self.core.poll_event() {
                let _ = self.events.send(ev);
            }
        }
    }

    fn write(&mut self, now: Instant, out: Outbound) {
        let Outbound {
            target,
            conn,
            bytes,
            kind,
        } = out;
        let result: Result<(), SendError> = match (conn, kind) {
            (Some(c), OutboundKind::BadRequest) => self.transport.send_on(now, c, &bytes),
            (Some(c), _) => self
                .transport
                .send_on(now, c, &bytes)
                .or_else(|_| self.transport.send(now, &target, &bytes)),
            (None, _) => self.transport.send(now, &target, &bytes),
        };
        let Err(e) = result else {
            self.stats
                .message(Direction::Out, target.transport, kind_of_bytes(&bytes));
            return;
        };
        match kind {
            OutboundKind::Transaction(tx) => {
                log::info!(target: LOG, "{tx} to {target}: send failed: {e}");
                self.core.handle_send_failed(now, tx);
            }
            OutboundKind::Ack => log::info!(target: LOG, "ACK to {target} not sent: {e}"),
            OutboundKind::Resent2xx => {
                log::info!(target: LOG, "2xx retransmission to {target} failed: {e}")
            }
            OutboundKind::BadRequest => {
                log::info!(target: LOG, "400 to {} not sent: {e}", target.addr)
            }
        }
    }
}

/// Our host for Contact when no address is configured: the local address of a host we can
/// reach (no packet is sent: connecting a UDP socket only asks the routing table).
pub(crate) fn default_local_ip(towards: SocketAddr) -> IpAddr {
    probe_source_ip(towards).unwrap_or(IpAddr::from([127, 0, 0, 1]))
}
