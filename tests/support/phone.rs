//! A SIP phone scripted by the test on a loopback UDP socket: the test waits for each
//! request the server sends and decides what to answer and when, so progress can be
//! interleaved across calls at will. Messages are built from RFC 3261 (§8.2.6 responses
//! copy Via, From, To, Call-ID and CSeq; §12.2.1 in-dialog requests).

use std::collections::{HashSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::WAIT;
use super::sip::Msg;

/// A scripted phone; its receive thread stops on drop.
pub struct Phone {
    pub port: u16,
    socket: UdpSocket,
    rx: Receiver<Msg>,
    pending: VecDeque<Msg>,
    seen: HashSet<String>,
    /// Every start line received (retransmissions included), in order.
    pub received: Vec<String>,
    tag: String,
    cseq: AtomicU32,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Phone {
    pub fn start() -> Phone {
        let socket =
            UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).expect("bind phone");
        let port = socket.local_addr().expect("local address").port();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        let (tx, rx) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let socket = socket.try_clone().expect("clone socket");
            let stop = Arc::clone(&stop);
            thread::spawn(move || receive(&socket, &tx, &stop))
        };
        Phone {
            port,
            socket,
            rx,
            pending: VecDeque::new(),
            seen: HashSet::new(),
            received: Vec::new(),
            tag: format!("ph{port}"),
            cseq: AtomicU32::new(1),
            stop,
            thread: Some(thread),
        }
    }

    /// The address a click-to-call names for this phone with user `user` (the harness's
    /// rule turns it into [`Phone::uri`]).
    pub fn addr(&self, user: &str) -> String {
        format!("p{}-{user}", self.port)
    }

    pub fn uri(&self, user: &str) -> String {
        format!("sip:{user}@127.0.0.1:{}", self.port)
    }

    /// Takes received datagrams off the channel for up to `timeout`; retransmissions of
    /// a request already seen are dropped.
    fn pump(&mut self, timeout: Duration) {
        match self.rx.recv_timeout(timeout) {
            Ok(m) => self.accept(m),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
        }
        while let Ok(m) = self.rx.try_recv() {
            self.accept(m);
        }
    }

    fn accept(&mut self, m: Msg) {
        self.received.push(m.start_line().to_owned());
        if m.method().is_some() && !self.seen.insert(m.transaction_key()) {
            return;
        }
        self.pending.push_back(m);
    }

    /// The next new message for which `pick` is true (others stay queued); panics after
    /// `timeout`.
    fn expect(&mut self, what: &str, timeout: Duration, pick: impl Fn(&Msg) -> bool) -> Msg {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.pending.iter().position(&pick)
                && let Some(m) = self.pending.remove(i)
            {
                return m;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "phone {}: no {what} within {timeout:?}; received {:?}",
                self.port,
                self.received
            );
            self.pump(deadline - now);
        }
    }

    /// The next new request `method`.
    pub fn expect_request(&mut self, method: &str) -> Msg {
        self.expect_request_within(method, WAIT)
    }

    pub fn expect_request_within(&mut self, method: &str, timeout: Duration) -> Msg {
        self.expect(method, timeout, |m| m.method() == Some(method))
    }

    /// The next new request of any method, if one arrives within `timeout`.
    pub fn poll_request(&mut self, timeout: Duration) -> Option<Msg> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.pending.iter().position(|m| m.method().is_some()) {
                return self.pending.remove(i);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            self.pump(deadline - now);
        }
    }

    /// The next final response to our request `method`.
    pub fn expect_final_response(&mut self, method: &str) -> Msg {
        self.expect(&format!("final response to {method}"), WAIT, |m| {
            m.status().is_some_and(|s| s >= 200) && m.cseq_method() == Some(method)
        })
    }

    /// True if no new request arrives within `quiet`.
    pub fn no_request_within(&mut self, quiet: Duration) -> bool {
        let deadline = Instant::now() + quiet;
        while Instant::now() < deadline {
            self.pump(deadline.saturating_duration_since(Instant::now()));
        }
        !self.pending.iter().any(|m| m.method().is_some())
    }

    fn send(&self, text: &str, to: SocketAddr) {
        self.socket.send_to(text.as_bytes(), to).expect("send SIP");
    }

    /// Answers `request` with `code reason` (RFC 3261 §8.2.6.2: Via, From, Call-ID and
    /// CSeq copied, To copied with our tag added), with an SDP body when `sdp`.
    pub fn reply(&self, request: &Msg, code: u16, reason: &str, sdp: bool) {
        let mut out = format!("SIP/2.0 {code} {reason}\r\n");
        for v in request.headers("Via") {
            out.push_str(&format!("Via: {v}\r\n"));
        }
        for name in ["From", "Call-ID", "CSeq"] {
            out.push_str(&format!(
                "{name}: {}\r\n",
                request.header(name).unwrap_or_default()
            ));
        }
        let to = request.header("To").unwrap_or_default();
        if to.contains(";tag=") || code == 100 {
            out.push_str(&format!("To: {to}\r\n"));
        } else {
            out.push_str(&format!("To: {to};tag={}\r\n", self.tag));
        }
        if request.method() == Some("INVITE") && code > 100 && code < 300 {
            out.push_str(&format!("Contact: <sip:phone@127.0.0.1:{}>\r\n", self.port));
        }
        if sdp {
            let body = format!(
                "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                 m=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
                self.port + 1
            );
            out.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        } else {
            out.push_str("Content-Length: 0\r\n\r\n");
        }
        self.send(&out, request.from.expect("a received request has a source"));
    }

    /// Sends an in-dialog request of the dialog the server's `invite` created with us
    /// (we are its UAS: our From is its To with our tag, our To is its From, the target
    /// is its Contact; RFC 3261 §12.2.1.1), with extra header lines and a body.
    pub fn request_in_dialog(
        &self,
        invite: &Msg,
        method: &str,
        extra: &str,
        content_type: &str,
        body: &str,
    ) {
        let target = invite
            .header("Contact")
            .map(|c| {
                c.trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let n = self.cseq.fetch_add(1, Ordering::SeqCst);
        let mut out = format!(
            "{method} {target} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKph{port}x{n}\r\n\
             Max-Forwards: 70\r\n\
             From: {};tag={}\r\n\
             To: {}\r\n\
             Call-ID: {}\r\n\
             CSeq: {n} {method}\r\n\
             Contact: <sip:phone@127.0.0.1:{port}>\r\n{extra}",
            invite.header("To").unwrap_or_default(),
            self.tag,
            invite.header("From").unwrap_or_default(),
            invite.header("Call-ID").unwrap_or_default(),
            port = self.port,
        );
        if body.is_empty() {
            out.push_str("Content-Length: 0\r\n\r\n");
        } else {
            out.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        }
        self.send(&out, invite.from.expect("a received request has a source"));
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn receive(socket: &UdpSocket, tx: &Sender<Msg>, stop: &AtomicBool) {
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::SeqCst) {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        if tx
            .send(Msg::received(buf.get(..n).unwrap_or_default(), from))
            .is_err()
        {
            return;
        }
    }
}

/// A phone on its own thread that answers every INVITE with 486 Busy Here (and anything
/// else with 200), recording the INVITEs and ACKs it got. Stopped on drop.
pub struct BusyPhone {
    pub port: u16,
    invites: Arc<std::sync::Mutex<Vec<Msg>>>,
    acks: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl BusyPhone {
    pub fn start() -> BusyPhone {
        let mut phone = Phone::start();
        let port = phone.port;
        let invites = Arc::new(std::sync::Mutex::new(Vec::new()));
        let acks = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (invites, acks, stop) =
                (Arc::clone(&invites), Arc::clone(&acks), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Some(m) = phone.poll_request(Duration::from_millis(50)) else {
                        continue;
                    };
                    match m.method() {
                        Some("INVITE") => {
                            phone.reply(&m, 486, "Busy Here", false);
                            if let Ok(mut v) = invites.lock() {
                                v.push(m);
                            }
                        }
                        Some("ACK") => {
                            acks.fetch_add(1, Ordering::SeqCst);
                        }
                        _ => phone.reply(&m, 200, "OK", false),
                    }
                }
            })
        };
        BusyPhone {
            port,
            invites,
            acks,
            stop,
            thread: Some(thread),
        }
    }

    pub fn addr(&self, user: &str) -> String {
        format!("p{}-{user}", self.port)
    }

    pub fn uri(&self, user: &str) -> String {
        format!("sip:{user}@127.0.0.1:{}", self.port)
    }

    /// Waits (bounded) until `n` INVITEs and their `n` ACKs have arrived; the INVITEs.
    pub fn wait_calls(&self, n: usize) -> Vec<Msg> {
        let deadline = Instant::now() + WAIT;
        loop {
            let invites = self.invites.lock().map(|v| v.clone()).unwrap_or_default();
            let acks = self.acks.load(Ordering::SeqCst) as usize;
            if invites.len() >= n && acks >= n {
                return invites;
            }
            assert!(
                Instant::now() < deadline,
                "busy phone {}: {} INVITEs, {acks} ACKs within {WAIT:?}, expected {n}",
                self.port,
                invites.len()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The INVITEs so far.
    pub fn invites(&self) -> Vec<Msg> {
        self.invites.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for BusyPhone {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
