//! The resolver's I/O on the reactor thread: one non-blocking UDP socket per address
//! family and a few short-lived TCP streams for truncated answers, registered with the
//! reactor's `mio::Registry` under a block of tokens the reactor hands over. Nothing here
//! blocks; all protocol decisions stay in [`Resolver`].

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use mio::net::{TcpStream, UdpSocket};
use mio::{Interest, Registry, Token};

use super::resolver::{QueryHandle, Resolver, ResolverConfig, Transmit, TransmitProtocol};
use super::{DnsError, ResolveId, ResolveRequest, Target};

/// TCP streams open at once (truncated answers are rare; more wait for a time-out).
const MAX_TCP_STREAMS: usize = 8;
/// Datagrams read per readiness event before yielding to the rest of the reactor; the
/// remainder is read on the next `handle_timeout`, so a flood cannot starve SIP traffic.
const MAX_DATAGRAMS_PER_TURN: usize = 256;
/// RFC 1035 §4.2.2: a TCP message is at most 65535 bytes after its 2-byte length.
const MAX_TCP_MESSAGE: usize = 2 + 65535;

const UDP4: usize = 0;
const UDP6: usize = 1;
const FIRST_TCP: usize = 2;

/// One TCP exchange: connect, write the length-prefixed query, read one answer.
struct TcpExchange {
    stream: TcpStream,
    handle: QueryHandle,
    deadline: Instant,
    connected: bool,
    out: Vec<u8>,
    written: usize,
    input: Vec<u8>,
}

enum TcpProgress {
    Waiting,
    Answer(Vec<u8>),
    Failed(io::Error),
}

/// The DNS part of the reactor. Tokens `first_token .. first_token + DnsDriver::TOKENS`
/// belong to it.
pub struct DnsDriver {
    resolver: Resolver,
    registry: Registry,
    first_token: usize,
    udp4: Option<UdpSocket>,
    udp6: Option<UdpSocket>,
    tcp: Vec<Option<TcpExchange>>,
    /// Set when a socket still had datagrams after a turn: the time to resume at.
    backlog: Option<Instant>,
    buf: Vec<u8>,
}

impl DnsDriver {
    /// How many consecutive tokens the driver uses.
    pub const TOKENS: usize = FIRST_TCP + MAX_TCP_STREAMS;

    /// A driver with OpenSSL randomness. Opens a UDP socket for each address family that
    /// has a configured server.
    pub fn new(
        registry: &Registry,
        first_token: Token,
        config: ResolverConfig,
    ) -> io::Result<Self> {
        Self::with_resolver(registry, first_token, Resolver::new(config))
    }

    /// A driver around a given resolver core (tests pass one with a seeded RNG).
    pub fn with_resolver(
        registry: &Registry,
        first_token: Token,
        resolver: Resolver,
    ) -> io::Result<Self> {
        let registry = registry.try_clone()?;
        let servers = &resolver.config().servers;
        let want4 = servers.iter().any(SocketAddr::is_ipv4);
        let want6 = servers.iter().any(SocketAddr::is_ipv6);
        let first = first_token.0;
        let open = |want: bool, ip: IpAddr, slot: usize| -> io::Result<Option<UdpSocket>> {
            if !want {
                return Ok(None);
            }
            // An ephemeral source port chosen by the kernel: part of the entropy that
            // makes spoofed answers hard to land (RFC 5452 §9.2).
            match UdpSocket::bind(SocketAddr::new(ip, 0)) {
                Ok(mut s) => {
                    registry.register(&mut s, Token(first + slot), Interest::READABLE)?;
                    Ok(Some(s))
                }
                Err(e) => {
                    log::warn!(target: "sip::dns", "no DNS socket for {ip}: {e}; those servers are skipped");
                    Ok(None)
                }
            }
        };
        let udp4 = open(want4, IpAddr::V4(Ipv4Addr::UNSPECIFIED), UDP4)?;
        let udp6 = open(want6, IpAddr::V6(Ipv6Addr::UNSPECIFIED), UDP6)?;
        Ok(DnsDriver {
            resolver,
            registry,
            first_token: first,
            udp4,
            udp6,
            tcp: (0..MAX_TCP_STREAMS).map(|_| None).collect(),
            backlog: None,
            buf: vec![0; 65536],
        })
    }

    /// Whether `token` is one of the driver's.
    pub fn owns(&self, token: Token) -> bool {
        token.0 >= self.first_token && token.0 - self.first_token < Self::TOKENS
    }

    /// Starts a resolution; its result comes from `poll_result`, perhaps at once.
    pub fn resolve(&mut self, now: Instant, request: ResolveRequest) -> ResolveId {
        let id = self.resolver.start(now, request);
        self.flush(now);
        id
    }

    /// Drops interest in a resolution (e.g. its transaction was cancelled).
    pub fn cancel(&mut self, id: ResolveId) {
        self.resolver.cancel(id);
    }

    /// Handles readiness of one of the driver's tokens.
    pub fn on_event(&mut self, now: Instant, token: Token) {
        let Some(slot) = token.0.checked_sub(self.first_token) else {
            return;
        };
        match slot {
            UDP4 | UDP6 => self.read_udp(now, slot),
            s if s < Self::TOKENS => self.progress_tcp(now, s - FIRST_TCP),
            _ => return,
        }
        self.flush(now);
    }

    /// The next instant `handle_timeout` must be called at.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let tcp = self.tcp.iter().flatten().map(|x| x.deadline);
        self.resolver
            .poll_timeout()
            .into_iter()
            .chain(tcp)
            .chain(self.backlog)
            .min()
    }

    /// Retransmissions, query time-outs, TCP deadlines, and leftover datagrams.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.backlog.take().is_some() {
            self.read_udp(now, UDP4);
            self.read_udp(now, UDP6);
        }
        self.resolver.handle_timeout(now);
        for slot in 0..self.tcp.len() {
            if self.tcp[slot].as_ref().is_some_and(|x| x.deadline <= now) {
                self.close_tcp(now, slot, Err(io::ErrorKind::TimedOut.into()));
            }
        }
        self.flush(now);
    }

    pub fn poll_result(&mut self) -> Option<(ResolveId, Result<Vec<Target>, DnsError>)> {
        self.resolver.poll_result()
    }

    /// The sans-IO core, for inspection.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    fn read_udp(&mut self, now: Instant, slot: usize) {
        for _ in 0..MAX_DATAGRAMS_PER_TURN {
            let socket = if slot == UDP4 { &self.udp4 } else { &self.udp6 };
            let Some(socket) = socket else { return };
            match socket.recv_from(&mut self.buf) {
                Ok((n, from)) => {
                    let data = self.buf.get(..n).unwrap_or_default();
                    self.resolver.handle_udp(now, from, data);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    // Per-datagram errors (ICMP reports on some systems) must not stop
                    // the socket; keep draining.
                    log::debug!(target: "sip::dns", "DNS socket receive error: {e}");
                }
            }
        }
        // Edge-triggered readiness will not fire again for what is already queued.
        self.backlog = Some(now);
    }

    /// Sends whatever the resolver wants sent. A failed send is reported back, which may
    /// queue the next attempt: the loop ends because every query fails over a bounded
    /// number of times.
    fn flush(&mut self, now: Instant) {
        while let Some(tx) = self.resolver.poll_transmit() {
            match tx.protocol {
                TransmitProtocol::Udp => self.send_udp(now, &tx),
                TransmitProtocol::Tcp => self.open_tcp(now, tx),
            }
        }
    }

    fn send_udp(&mut self, now: Instant, tx: &Transmit) {
        let socket = if tx.destination.is_ipv4() {
            &self.udp4
        } else {
            &self.udp6
        };
        let Some(socket) = socket else {
            self.resolver.handle_transmit_failure(now, tx.handle);
            return;
        };
        match socket.send_to(&tx.payload, tx.destination) {
            Ok(_) => {}
            // A full send buffer loses this copy; the retransmission timer sends another.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                log::debug!(target: "sip::dns", "DNS send to {} would block", tx.destination);
            }
            Err(e) => {
                log::debug!(target: "sip::dns", "DNS send to {} failed: {e}", tx.destination);
                self.resolver.handle_transmit_failure(now, tx.handle);
            }
        }
    }

    fn open_tcp(&mut self, now: Instant, tx: Transmit) {
        let Some(slot) = self.tcp.iter().position(Option::is_none) else {
            log::debug!(target: "sip::dns", "no free DNS TCP slot");
            self.resolver.handle_transmit_failure(now, tx.handle);
            return;
        };
        let Ok(len) = u16::try_from(tx.payload.len()) else {
            self.resolver.handle_transmit_failure(now, tx.handle);
            return;
        };
        let mut stream = match TcpStream::connect(tx.destination) {
            Ok(s) => s,
            Err(e) => {
                log::debug!(target: "sip::dns", "DNS TCP connect to {} failed: {e}", tx.destination);
                self.resolver.handle_transmit_failure(now, tx.handle);
                return;
            }
        };
        let token = Token(self.first_token + FIRST_TCP + slot);
        if let Err(e) =
            self.registry
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
        {
            log::warn!(target: "sip::dns", "cannot register DNS TCP stream: {e}");
            self.resolver.handle_transmit_failure(now, tx.handle);
            return;
        }
        // RFC 1035 §4.2.2: the message is prefixed with its length as two octets.
        let mut out = Vec::with_capacity(2 + tx.payload.len());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&tx.payload);
        if let Some(entry) = self.tcp.get_mut(slot) {
            *entry = Some(TcpExchange {
                stream,
                handle: tx.handle,
                deadline: tx.deadline,
                connected: false,
                out,
                written: 0,
                input: Vec::new(),
            });
        }
    }

    fn progress_tcp(&mut self, now: Instant, slot: usize) {
        let Some(Some(x)) = self.tcp.get_mut(slot) else {
            return;
        };
        match x.advance() {
            TcpProgress::Waiting => {}
            TcpProgress::Answer(bytes) => self.close_tcp(now, slot, Ok(bytes)),
            TcpProgress::Failed(e) => self.close_tcp(now, slot, Err(e)),
        }
    }

    fn close_tcp(&mut self, now: Instant, slot: usize, outcome: io::Result<Vec<u8>>) {
        let Some(mut x) = self.tcp.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let _ = self.registry.deregister(&mut x.stream);
        match outcome {
            Ok(bytes) => self.resolver.handle_tcp_response(now, x.handle, &bytes),
            Err(e) => {
                log::debug!(target: "sip::dns", "DNS TCP exchange failed: {e}");
                self.resolver.handle_transmit_failure(now, x.handle);
            }
        }
    }
}

impl TcpExchange {
    /// Does whatever the stream allows now: finish connecting, write, read.
    fn advance(&mut self) -> TcpProgress {
        if !self.connected {
            // mio: after a writable event, a pending connect has either failed
            // (take_error) or succeeded (peer_addr works); NotConnected means not yet.
            match self.stream.take_error() {
                Ok(Some(e)) | Err(e) => return TcpProgress::Failed(e),
                Ok(None) => {}
            }
            match self.stream.peer_addr() {
                Ok(_) => self.connected = true,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return TcpProgress::Waiting,
                Err(e) => return TcpProgress::Failed(e),
            }
        }
        while self.written < self.out.len() {
            match self
                .stream
                .write(self.out.get(self.written..).unwrap_or_default())
            {
                Ok(0) => return TcpProgress::Failed(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return TcpProgress::Waiting,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return TcpProgress::Failed(e),
            }
        }
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(answer) = self.complete_answer() {
                return TcpProgress::Answer(answer);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return TcpProgress::Failed(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    let room = MAX_TCP_MESSAGE.saturating_sub(self.input.len());
                    self.input
                        .extend_from_slice(chunk.get(..n.min(room)).unwrap_or_default());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return TcpProgress::Waiting,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return TcpProgress::Failed(e),
            }
        }
    }

    /// The message once its length prefix and that many bytes have arrived.
    fn complete_answer(&self) -> Option<Vec<u8>> {
        let len = usize::from(u16::from_be_bytes([
            *self.input.first()?,
            *self.input.get(1)?,
        ]));
        self.input.get(2..2 + len).map(<[u8]>::to_vec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::dns::HostsFile;

    #[test]
    fn owns_exactly_its_token_block() {
        let poll = mio::Poll::new().unwrap();
        let servers = vec!["127.0.0.1:53".parse().unwrap(), "[::1]:53".parse().unwrap()];
        let d = DnsDriver::new(
            poll.registry(),
            Token(40),
            ResolverConfig::new(servers, HostsFile::default()),
        )
        .unwrap();
        assert!(!d.owns(Token(39)));
        assert!(d.owns(Token(40)));
        assert!(d.owns(Token(40 + DnsDriver::TOKENS - 1)));
        assert!(!d.owns(Token(40 + DnsDriver::TOKENS)));
    }

    #[test]
    fn results_that_need_no_network_are_ready_at_once() {
        let poll = mio::Poll::new().unwrap();
        let cfg = ResolverConfig::new(Vec::new(), HostsFile::parse("192.0.2.1 h.test\n"));
        let mut d = DnsDriver::new(poll.registry(), Token(0), cfg).unwrap();
        let now = Instant::now();
        let req = |host: &str| ResolveRequest {
            host: host.into(),
            port: None,
            transport: None,
            secure: false,
        };
        let a = d.resolve(now, req("h.test"));
        let b = d.resolve(now, req("elsewhere.test"));
        let first = d.poll_result().unwrap();
        assert_eq!(first.0, a);
        assert_eq!(first.1.unwrap()[0].addr, "192.0.2.1:5060".parse().unwrap());
        assert_eq!(
            d.poll_result(),
            Some((
                b,
                Err(DnsError::NoServers {
                    name: "elsewhere.test".into()
                })
            ))
        );
        assert_eq!(
            d.poll_timeout(),
            None,
            "nothing in flight, no wake-up needed"
        );
    }
}
