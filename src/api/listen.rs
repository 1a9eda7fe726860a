//! Listening sockets and the accept loop shared by the HTTP and XML servers.
//!
//! One listener thread per protocol polls its v4 and v6 sockets with mio (plus a waker for
//! shutdown) and hands each accepted connection to a new thread, within a connection limit
//! and a per-peer limit. A peer outside the access list is closed at once, before any
//! thread starts. Open connections are registered so shutdown can close them.

use std::collections::HashMap;
use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use log::{debug, info, warn};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use super::ApiStartError;
use super::stats::{FrontDoorStats, ListenerStats};
use super::stream::ApiStream;
use crate::access::{AccessList, LogLimiter, unmap};
use crate::sys::socket;

/// Stack of a connection thread: parsing is flat, 512 KiB is plenty and keeps a few
/// hundred connections cheap.
const CONNECTION_STACK: usize = 512 * 1024;
/// After an accept error other than "would block" (e.g. out of descriptors), retry after
/// this long instead of spinning.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
const WAKE: Token = Token(usize::MAX);
/// Refused peers are logged at most once per address per this long.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// Addresses the refusal log remembers (bounded: a flood from many addresses cannot grow it).
const REFUSAL_LOG_PEERS: usize = 1024;

/// Who may connect to one listener, and how many at once.
#[derive(Debug, Clone)]
pub(crate) struct Admittance {
    pub(crate) max_connections: usize,
    pub(crate) max_per_peer: usize,
    pub(crate) allow: AccessList,
}

/// What a protocol server does with its connections.
pub(crate) trait ConnectionHandler: Send + Sync + 'static {
    /// Serves one connection on its own thread. `conn` must be kept alive as long as the
    /// connection is in use (it holds the connection's slot under the limit).
    fn serve(&self, stream: ApiStream, peer: SocketAddr, conn: Arc<ConnectionSlot>);
    /// Answers a connection over the limit. Runs on the listener thread: must not block
    /// (the socket is non-blocking when this is called).
    fn refuse(&self, stream: &mut TcpStream);
}

/// State shared by a listener and its connections.
struct Shared {
    active: AtomicUsize,
    /// Open connections per peer address (IPv4-mapped addresses as IPv4).
    per_peer: Mutex<HashMap<IpAddr, usize>>,
    next_id: AtomicU64,
    /// Clones of the open connections' sockets, so shutdown can close them.
    open: Mutex<HashMap<u64, TcpStream>>,
    /// The counters for `/metrics`, this listener's under `what`.
    stats: Arc<FrontDoorStats>,
    what: &'static str,
}

impl Shared {
    /// Counts one event of this listener (`pick` chooses the counter).
    fn count(&self, pick: impl Fn(&ListenerStats) -> &AtomicU64) {
        if let Some(l) = self.stats.listener(self.what) {
            ListenerStats::bump(pick(l));
        }
    }
}

/// A connection's place under the limit and in the registry; released on drop.
pub(crate) struct ConnectionSlot {
    id: u64,
    peer: IpAddr,
    shared: Arc<Shared>,
    stop: Receiver<()>,
}

impl ConnectionSlot {
    /// Becomes disconnected (ready with an error) when the server shuts down.
    pub(crate) fn stop_signal(&self) -> &Receiver<()> {
        &self.stop
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.shared.open.lock() {
            open.remove(&self.id);
        }
        release_peer(&self.shared, self.peer);
        self.shared.active.fetch_sub(1, Ordering::AcqRel);
        self.shared.count(|l| &l.closed);
    }
}

/// A running listener thread.
pub(crate) struct Listener {
    what: &'static str,
    addrs: Vec<SocketAddr>,
    waker: Arc<Waker>,
    stopping: Arc<AtomicBool>,
    thread: JoinHandle<()>,
    shared: Arc<Shared>,
    stop_tx: Sender<()>,
}

impl Listener {
    /// Starts the accept loop over `sockets`.
    pub(crate) fn spawn(
        what: &'static str,
        sockets: Vec<TcpListener>,
        admittance: Admittance,
        handler: Arc<dyn ConnectionHandler>,
        stats: Arc<FrontDoorStats>,
    ) -> Result<Listener, ApiStartError> {
        let listener_err = |source| ApiStartError::Listener { what, source };
        let addrs = sockets
            .iter()
            .map(TcpListener::local_addr)
            .collect::<io::Result<Vec<_>>>()
            .map_err(listener_err)?;
        let poll = Poll::new().map_err(listener_err)?;
        for (i, s) in sockets.iter().enumerate() {
            s.set_nonblocking(true).map_err(listener_err)?;
            poll.registry()
                .register(&mut SourceFd(&s.as_raw_fd()), Token(i), Interest::READABLE)
                .map_err(listener_err)?;
        }
        let waker = Arc::new(Waker::new(poll.registry(), WAKE).map_err(listener_err)?);
        let stopping = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            active: AtomicUsize::new(0),
            per_peer: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            stats,
            what,
        });
        let (stop_tx, stop_rx) = crossbeam_channel::bounded(0);
        let accept = AcceptLoop {
            what,
            poll,
            sockets,
            admittance,
            refusals: LogLimiter::new(REFUSAL_LOG_INTERVAL, REFUSAL_LOG_PEERS),
            handler,
            stopping: Arc::clone(&stopping),
            shared: Arc::clone(&shared),
            stop_rx,
        };
        let thread = thread::Builder::new()
            .name(format!("{what}-listener"))
            .spawn(move || accept.run())
            .map_err(listener_err)?;
        for a in &addrs {
            debug!(target: "api", "{what} server listening on {a}");
        }
        Ok(Listener {
            what,
            addrs,
            waker,
            stopping,
            thread,
            shared,
            stop_tx,
        })
    }

    pub(crate) fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stops accepting, closes open connections and joins the listener thread.
    pub(crate) fn shutdown(self) {
        self.stopping.store(true, Ordering::Release);
        if let Err(e) = self.waker.wake() {
            warn!(target: "api", "cannot wake the {} listener: {e}", self.what);
        }
        if self.thread.join().is_err() {
            warn!(target: "api", "the {} listener thread panicked", self.what);
        }
        // Connection threads watching the stop signal see it disconnect.
        drop(self.stop_tx);
        let open = match self.shared.open.lock() {
            Ok(mut open) => mem::take(&mut *open),
            Err(poisoned) => mem::take(&mut *poisoned.into_inner()),
        };
        for stream in open.values() {
            // Unblocks the connection threads' reads; they then end on their own.
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        debug!(target: "api", "{} listener stopped, {} connections closed", self.what, open.len());
    }
}

struct AcceptLoop {
    what: &'static str,
    poll: Poll,
    sockets: Vec<TcpListener>,
    admittance: Admittance,
    refusals: LogLimiter,
    handler: Arc<dyn ConnectionHandler>,
    stopping: Arc<AtomicBool>,
    shared: Arc<Shared>,
    stop_rx: Receiver<()>,
}

impl AcceptLoop {
    fn run(mut self) {
        let mut events = Events::with_capacity(16);
        let mut retry = false;
        loop {
            let timeout = retry.then_some(ACCEPT_RETRY);
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                warn!(target: "api", "{} listener poll failed, listener stops: {e}", self.what);
                return;
            }
            if self.stopping.load(Ordering::Acquire) {
                return;
            }
            // mio is edge-triggered: drain every socket that has pending connections (or
            // all of them after an error, since their edges may have been consumed).
            let ready: Vec<usize> = if retry {
                (0..self.sockets.len()).collect()
            } else {
                events
                    .iter()
                    .map(|e| e.token().0)
                    .filter(|&t| t != WAKE.0)
                    .collect()
            };
            retry = false;
            for idx in ready {
                if !self.accept_all(idx) {
                    retry = true;
                }
            }
        }
    }

    /// Accepts until the socket would block. False after an error worth retrying.
    fn accept_all(&mut self, idx: usize) -> bool {
        loop {
            let Some(socket) = self.sockets.get(idx) else {
                return true;
            };
            match socket.accept() {
                Ok((stream, peer)) => self.start_connection(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    warn!(target: "api", "{} accept failed: {e}", self.what);
                    return false;
                }
            }
        }
    }

    /// Logs a refused connection, at most once a minute per peer address.
    fn log_refusal(&mut self, peer: SocketAddr, why: &str) {
        if let Some(held) = self.refusals.allow(Instant::now(), unmap(peer.ip())) {
            let held = if held > 0 {
                format!(" ({held} more refusals not logged)")
            } else {
                String::new()
            };
            info!(target: "api", "{} connection from {peer} refused: {why}{held}", self.what);
        }
    }

    fn start_connection(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        let ip = unmap(peer.ip());
        if !self.admittance.allow.allows(ip) {
            // Closed at once: nothing is read, nothing is answered.
            drop(stream);
            self.shared.count(|l| &l.refused_access);
            self.log_refusal(peer, "not in the access list");
            return;
        }
        let active = self.shared.active.fetch_add(1, Ordering::AcqRel);
        if active >= self.admittance.max_connections {
            self.shared.active.fetch_sub(1, Ordering::AcqRel);
            if stream.set_nonblocking(true).is_ok() {
                self.handler.refuse(&mut stream);
            }
            self.shared.count(|l| &l.refused_limit);
            self.log_refusal(peer, &format!("{active} connections open"));
            return;
        }
        if !take_peer(&self.shared, ip, self.admittance.max_per_peer) {
            self.shared.active.fetch_sub(1, Ordering::AcqRel);
            if stream.set_nonblocking(true).is_ok() {
                self.handler.refuse(&mut stream);
            }
            self.shared.count(|l| &l.refused_limit);
            let max = self.admittance.max_per_peer;
            self.log_refusal(peer, &format!("{max} connections open from this address"));
            return;
        }
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        // Counted before the slot exists, whose drop counts it closed.
        self.shared.count(|l| &l.accepted);
        let slot = Arc::new(ConnectionSlot {
            id,
            peer: ip,
            shared: Arc::clone(&self.shared),
            stop: self.stop_rx.clone(),
        });
        // Accepted sockets do not inherit O_NONBLOCK on Linux, but make it explicit.
        if let Err(e) = stream
            .set_nonblocking(false)
            .and_then(|()| stream.set_nodelay(true))
        {
            debug!(target: "api", "{} connection from {peer} dropped: {e}", self.what);
            return;
        }
        match stream.try_clone() {
            Ok(clone) => {
                if let Ok(mut open) = self.shared.open.lock() {
                    open.insert(id, clone);
                }
            }
            Err(e) => {
                debug!(target: "api", "{} connection from {peer} dropped: {e}", self.what);
                return;
            }
        }
        debug!(target: "api", "{} connection from {peer}", self.what);
        let handler = Arc::clone(&self.handler);
        let spawned = thread::Builder::new()
            .name(format!("{}-conn", self.what))
            .stack_size(CONNECTION_STACK)
            .spawn(move || handler.serve(ApiStream::Tcp(stream), peer, slot));
        if let Err(e) = spawned {
            warn!(target: "api", "{} connection from {peer} dropped: cannot start a thread: {e}", self.what);
        }
    }
}

/// Counts a connection from `ip` if fewer than `max` are open from it.
fn take_peer(shared: &Shared, ip: IpAddr, max: usize) -> bool {
    let mut per_peer = match shared.per_peer.lock() {
        Ok(p) => p,
        Err(poisoned) => poisoned.into_inner(),
    };
    let n = per_peer.entry(ip).or_insert(0);
    if *n >= max {
        return false;
    }
    *n += 1;
    true
}

fn release_peer(shared: &Shared, ip: IpAddr) {
    let mut per_peer = match shared.per_peer.lock() {
        Ok(p) => p,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(n) = per_peer.get_mut(&ip) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            per_peer.remove(&ip);
        }
    }
}

/// Binds the listening sockets of one protocol: `bind` alone, or `0.0.0.0` and `[::]`
/// (v6-only, so both can share the port). A missing IPv6 stack is not an error.
pub(crate) fn bind_all(
    what: &'static str,
    bind: Option<IpAddr>,
    port: u16,
) -> Result<Vec<TcpListener>, ApiStartError> {
    let bind_err = |addr, source| ApiStartError::Bind { what, addr, source };
    if let Some(ip) = bind {
        let addr = SocketAddr::new(ip, port);
        return bind_listener(addr)
            .map(|l| vec![l])
            .map_err(|e| bind_err(addr, e));
    }
    bind_pair(what, Ipv4Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED, port)
}

/// Binds `v4` and `v6` on the same port (the kernel's choice for `v4` when `port` is 0).
fn bind_pair(
    what: &'static str,
    v4: Ipv4Addr,
    v6: Ipv6Addr,
    port: u16,
) -> Result<Vec<TcpListener>, ApiStartError> {
    let bind_err = |addr, source| ApiStartError::Bind { what, addr, source };
    let v4_addr = SocketAddr::new(IpAddr::V4(v4), port);
    let v4 = bind_listener(v4_addr).map_err(|e| bind_err(v4_addr, e))?;
    // With an ephemeral port, put IPv6 on the port the kernel chose for IPv4.
    let v6_port = if port == 0 {
        v4.local_addr().map_err(|e| bind_err(v4_addr, e))?.port()
    } else {
        port
    };
    let v6_addr = SocketAddr::new(IpAddr::V6(v6), v6_port);
    match bind_listener(v6_addr) {
        Ok(v6) => Ok(vec![v4, v6]),
        Err(e) if socket::is_no_ipv6(&e) => {
            warn!(target: "api", "{what}: no IPv6 listener ({e}); IPv4 only");
            Ok(vec![v4])
        }
        Err(e) => Err(bind_err(v6_addr, e)),
    }
}

/// A non-blocking listener with SO_REUSEADDR (and IPV6_V6ONLY for IPv6, so `[::]` does
/// not also take the IPv4 port under Linux's default `bindv6only=0`), the same set-up as
/// the SIP TCP listeners. The listener thread polls it; accepted sockets are made
/// blocking for their connection threads.
fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    socket::listen_tcp(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_and_v6_share_an_ephemeral_port() {
        // Loopback stands in for the wildcard addresses (tests stay on loopback).
        let sockets = bind_pair("test", Ipv4Addr::LOCALHOST, Ipv6Addr::LOCALHOST, 0).expect("bind");
        let ports: Vec<u16> = sockets
            .iter()
            .map(|s| s.local_addr().expect("addr").port())
            .collect();
        assert!(!ports.is_empty());
        assert!(ports.iter().all(|&p| p == ports[0] && p != 0));
    }

    #[test]
    fn a_port_in_use_is_a_bind_error_naming_the_address() {
        let first = bind_listener("127.0.0.1:0".parse().expect("addr")).expect("bind");
        let addr = first.local_addr().expect("addr");
        match bind_all("HTTP", Some(addr.ip()), addr.port()) {
            Err(ApiStartError::Bind {
                what,
                addr: a,
                source,
            }) => {
                assert_eq!(what, "HTTP");
                assert_eq!(a, addr);
                assert_eq!(source.kind(), io::ErrorKind::AddrInUse);
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("second bind on {addr} succeeded"),
        }
    }

    #[test]
    fn v6_listener_is_v6_only() {
        // With IPV6_V6ONLY a `[::]` listener leaves the IPv4 port to the IPv4 listener.
        // Read the option back rather than race another process for a released port.
        let v6 = bind_listener("[::1]:0".parse().expect("addr")).expect("bind [::1]");
        let v6only = socket::int_opt(v6.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)
            .expect("getsockopt");
        assert_eq!(v6only, 1);
    }
}
