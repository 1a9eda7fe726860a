//! A lossy UDP path between the server and one SIPp phone: [`LossyRelay`].
//!
//! ```text
//!   server  <-->  front (127.0.0.1:F)  ~~lossy~~  back (127.0.0.1:B)  <-->  phone (127.0.0.1:P)
//! ```
//!
//! - The test names the phone by the relay's **front** port (`p<F>-100`), so the server's
//!   translation rule sends its INVITE to `front`. What arrives on `front` is sent on from
//!   `back` to the phone; the sender is remembered as the server side.
//! - SIPp (a UAS) sends everything of a call — responses and its own requests (NOTIFY, BYE,
//!   re-INVITE) — to the address the call's first request came from, that is to `back`;
//!   what arrives on `back` is sent on from `front` to the server side, so the server sees
//!   the phone at `front`, where it sent.
//! - SIPp writes its own address (`[local_ip]:[local_port]` = `127.0.0.1:P`) into its Via
//!   and Contact. Left alone, the server would send its responses and in-dialog requests
//!   (ACK, BYE, re-INVITE) straight to the phone, around the loss. So in datagrams from
//!   the phone the relay replaces the text `127.0.0.1:P` with `127.0.0.1:F` (header
//!   section only: a body with that text would change its length); nothing else is
//!   touched. Requests the server sends the other way keep `F` in their Request-URI and To,
//!   which the scenarios do not check.
//!
//! Each direction drops a fraction of datagrams chosen by a seeded generator (the same
//! seed drops the same datagrams of the same sequence), and queues the rest in a bounded
//! channel (a full queue drops too, counted apart). The relay stops on [`LossyRelay::stop`]
//! or on drop: its threads poll a stop flag every 20 ms and are joined.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Datagrams waiting to be sent on, per direction.
const QUEUE: usize = 1024;
const POLL: Duration = Duration::from_millis(20);

/// What one direction did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionStats {
    pub forwarded: u64,
    pub dropped: u64,
    /// Dropped because the queue was full (not part of the loss rate).
    pub overflowed: u64,
}

#[derive(Default)]
struct Counters {
    forwarded: AtomicU64,
    dropped: AtomicU64,
    overflowed: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> DirectionStats {
        DirectionStats {
            forwarded: self.forwarded.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            overflowed: self.overflowed.load(Ordering::Relaxed),
        }
    }
}

struct Shared {
    stop: AtomicBool,
    /// Loss as parts per million, changeable while running ([`LossyRelay::set_loss`]).
    loss_ppm: AtomicU32,
    /// The server side: the last sender seen on `front`.
    server: Mutex<Option<SocketAddr>>,
    to_phone: Counters,
    to_server: Counters,
}

/// splitmix64: small, seeded, good enough to pick datagrams to drop.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `ppm` / 1 000 000.
    fn hit(&mut self, ppm: u32) -> bool {
        self.next() % 1_000_000 < u64::from(ppm)
    }
}

/// A running relay in front of one phone (see the module notes).
pub struct LossyRelay {
    front: SocketAddr,
    phone: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl LossyRelay {
    /// Binds `front` and `back` on loopback (port 0) and relays to the phone on
    /// 127.0.0.1:`phone_port`, dropping `loss` (0.0–1.0) of the datagrams each way.
    pub fn start(phone_port: u16, loss: f64, seed: u64) -> LossyRelay {
        let bind = || UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind relay socket");
        let (front, back) = (bind(), bind());
        let phone = SocketAddr::from((Ipv4Addr::LOCALHOST, phone_port));
        let front_addr = front.local_addr().expect("relay front address");
        for socket in [&front, &back] {
            socket
                .set_read_timeout(Some(POLL))
                .expect("relay read time-out");
        }
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            loss_ppm: AtomicU32::new(ppm(loss)),
            server: Mutex::new(None),
            to_phone: Counters::default(),
            to_server: Counters::default(),
        });
        let (front, back) = (Arc::new(front), Arc::new(back));
        let mut threads = Vec::new();
        // server -> front ~~> back -> phone
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
        threads.push(spawn_reader(
            Arc::clone(&front),
            Arc::clone(&shared),
            tx,
            Rng(seed),
            Side::FromServer,
        ));
        threads.push(spawn_writer(
            Arc::clone(&back),
            Arc::clone(&shared),
            rx,
            Target::Phone(phone),
        ));
        // phone -> back ~~> front -> server, the phone's address rewritten to front's
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
        threads.push(spawn_reader(
            Arc::clone(&back),
            Arc::clone(&shared),
            tx,
            Rng(seed ^ 0x5555_5555_5555_5555),
            Side::FromPhone {
                phone,
                rewrite: (
                    format!("127.0.0.1:{phone_port}").into_bytes(),
                    format!("127.0.0.1:{}", front_addr.port()).into_bytes(),
                ),
            },
        ));
        threads.push(spawn_writer(front, Arc::clone(&shared), rx, Target::Server));
        LossyRelay {
            front: front_addr,
            phone,
            shared,
            threads,
        }
    }

    /// The port the server must send to: the phone's address as the test names it.
    pub fn port(&self) -> u16 {
        self.front.port()
    }

    pub fn phone(&self) -> SocketAddr {
        self.phone
    }

    /// Changes the loss rate of both directions from now on.
    pub fn set_loss(&self, loss: f64) {
        self.shared.loss_ppm.store(ppm(loss), Ordering::Relaxed);
    }

    /// (server → phone, phone → server).
    pub fn stats(&self) -> (DirectionStats, DirectionStats) {
        (
            self.shared.to_phone.snapshot(),
            self.shared.to_server.snapshot(),
        )
    }

    /// Stops and joins the threads (also done on drop).
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ppm(loss: f64) -> u32 {
    assert!((0.0..=1.0).contains(&loss), "loss {loss} not in 0..=1");
    // In range by the assertion: at most 1 000 000.
    (loss * 1_000_000.0).round() as u32
}

enum Side {
    FromServer,
    FromPhone {
        phone: SocketAddr,
        rewrite: (Vec<u8>, Vec<u8>),
    },
}

enum Target {
    Phone(SocketAddr),
    Server,
}

fn spawn_reader(
    socket: Arc<UdpSocket>,
    shared: Arc<Shared>,
    queue: SyncSender<Vec<u8>>,
    mut rng: Rng,
    side: Side,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let counters = match side {
            Side::FromServer => &shared.to_phone,
            Side::FromPhone { .. } => &shared.to_server,
        };
        let mut buf = vec![0u8; 65_536];
        while !shared.stop.load(Ordering::Relaxed) {
            let Ok((len, from)) = socket.recv_from(&mut buf) else {
                continue; // time-out: look at the stop flag again
            };
            let datagram = buf.get(..len).unwrap_or_default();
            let datagram = match &side {
                Side::FromServer => {
                    if let Ok(mut server) = shared.server.lock() {
                        *server = Some(from);
                    }
                    datagram.to_vec()
                }
                // Only the phone's own datagrams go to the server.
                Side::FromPhone { phone, .. } if from != *phone => continue,
                Side::FromPhone { rewrite, .. } => rewrite_head(datagram, &rewrite.0, &rewrite.1),
            };
            if rng.hit(shared.loss_ppm.load(Ordering::Relaxed)) {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            match queue.try_send(datagram) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    counters.overflowed.fetch_add(1, Ordering::Relaxed);
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    })
}

fn spawn_writer(
    socket: Arc<UdpSocket>,
    shared: Arc<Shared>,
    queue: Receiver<Vec<u8>>,
    target: Target,
) -> JoinHandle<()> {
    thread::spawn(move || {
        let counters = match target {
            Target::Phone(_) => &shared.to_phone,
            Target::Server => &shared.to_server,
        };
        while !shared.stop.load(Ordering::Relaxed) {
            let Ok(datagram) = queue.recv_timeout(POLL) else {
                continue;
            };
            let to = match target {
                Target::Phone(phone) => Some(phone),
                Target::Server => shared.server.lock().ok().and_then(|s| *s),
            };
            // Nothing from the server yet: nobody to send to (counted as dropped).
            let sent = to.is_some_and(|to| socket.send_to(&datagram, to).is_ok());
            let counter = if sent {
                &counters.forwarded
            } else {
                &counters.dropped
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    })
}

/// `datagram` with every `from` in its header section (up to the blank line) replaced by
/// `to`; the body is left as it is, so its Content-Length stays right.
fn rewrite_head(datagram: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let head_len = datagram
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(datagram.len(), |at| at + 4);
    let (head, body) = datagram.split_at(head_len);
    let mut out = Vec::with_capacity(datagram.len() + 16);
    let mut i = 0;
    while i < head.len() {
        // `from` ends in a port: a longer number that starts with it is another port.
        let whole = head.get(i + from.len()).is_none_or(|b| !b.is_ascii_digit());
        if head.get(i..i + from.len()) == Some(from) && whole {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.extend_from_slice(head.get(i..=i).unwrap_or_default());
            i += 1;
        }
    }
    out.extend_from_slice(body);
    out
}
