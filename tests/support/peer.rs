//! Scripted SIP peers on loopback: a UDP socket, and a TCP or TLS listener whose
//! connections are framed by Content-Length (RFC 3261 §18.3). Every read has a deadline.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod, SslStream};

use super::sip::Msg;

/// Largest message a peer accepts; our server's are far smaller.
const MAX_MESSAGE: usize = 64 * 1024;

/// True for a datagram or stream piece that is only CR and LF (a keepalive ping or pong,
/// RFC 5626 §4.4.1).
pub fn is_crlf_only(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|b| *b == b'\r' || *b == b'\n')
}

pub struct UdpPeer {
    pub sock: UdpSocket,
    pub addr: SocketAddr,
    /// Keepalive datagrams skipped by `recv_msg`: source, arrival time, bytes.
    pub keepalives: Vec<(SocketAddr, Instant, Vec<u8>)>,
}

impl UdpPeer {
    /// Binds `ip`, port 0.
    pub fn bind(ip: IpAddr) -> UdpPeer {
        let sock = UdpSocket::bind(SocketAddr::new(ip, 0)).expect("bind the UDP peer");
        let addr = sock.local_addr().expect("UDP peer address");
        UdpPeer {
            sock,
            addr,
            keepalives: Vec::new(),
        }
    }

    /// One datagram before `timeout`, with its source and arrival time.
    pub fn recv_raw(&self, timeout: Duration) -> Option<(Vec<u8>, SocketAddr, Instant)> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; MAX_MESSAGE];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            let _ = self
                .sock
                .set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))));
            match self.sock.recv_from(&mut buf) {
                Ok((n, from)) => return Some((buf[..n].to_vec(), from, Instant::now())),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                // An ICMP error for something we sent earlier: not a datagram.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
                Err(e) => panic!("UDP peer read: {e}"),
            }
        }
    }

    /// The next SIP message before `timeout`; keepalive datagrams are recorded and skipped.
    pub fn recv_msg(&mut self, timeout: Duration) -> Option<(Msg, SocketAddr, Instant)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let (bytes, from, at) = self.recv_raw(left)?;
            if is_crlf_only(&bytes) {
                self.keepalives.push((from, at, bytes));
                continue;
            }
            return Some((Msg::new(&bytes), from, at));
        }
    }

    /// The next request with `method`, skipping other messages (returned in `skipped`).
    pub fn recv_request(
        &mut self,
        method: &str,
        timeout: Duration,
    ) -> Option<(Msg, SocketAddr, Instant)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let got = self.recv_msg(left)?;
            if got.0.method() == Some(method) {
                return Some(got);
            }
        }
    }

    pub fn send(&self, text: &str, to: SocketAddr) {
        self.sock
            .send_to(text.as_bytes(), to)
            .expect("UDP peer send");
    }
}

/// A connection of a stream peer.
pub enum Conn {
    Tcp(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Tcp(s) => s,
            Conn::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// A connection and what was read on it but not yet framed.
pub struct StreamConn {
    pub conn: Conn,
    pub peer: SocketAddr,
    buffer: Vec<u8>,
}

impl StreamConn {
    pub fn new(conn: Conn) -> StreamConn {
        let peer = conn.tcp().peer_addr().expect("stream peer address");
        StreamConn {
            conn,
            peer,
            buffer: Vec::new(),
        }
    }

    /// Connects over TCP to `addr`.
    pub fn connect(addr: SocketAddr) -> StreamConn {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        StreamConn::new(Conn::Tcp(s))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.conn.tcp().local_addr().expect("stream local address")
    }

    /// Closes the connection both ways (the peer sees it end), keeping the value.
    pub fn shutdown(&self) {
        let _ = self.conn.tcp().shutdown(std::net::Shutdown::Both);
    }

    pub fn send(&mut self, text: &str) {
        self.conn
            .write_all(text.as_bytes())
            .expect("stream peer write");
        let _ = self.conn.flush();
    }

    /// Reads more bytes before `deadline`; false on end of stream or time-out.
    fn fill(&mut self, deadline: Instant) -> bool {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return false;
        };
        let _ = self
            .conn
            .tcp()
            .set_read_timeout(Some(left.max(Duration::from_millis(1))));
        let mut chunk = [0u8; 8192];
        match self.conn.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                assert!(
                    self.buffer.len() <= 2 * MAX_MESSAGE,
                    "stream peer buffer full"
                );
                true
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                Instant::now() < deadline
            }
            Err(_) => false,
        }
    }

    /// Raw bytes (at least one) before `timeout`, taking what is buffered first.
    pub fn recv_bytes(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        while self.buffer.is_empty() {
            if !self.fill(deadline) {
                return None;
            }
        }
        Some(std::mem::take(&mut self.buffer))
    }

    /// The next whole message before `timeout` (leading CRLFs skipped).
    pub fn recv_msg(&mut self, timeout: Duration) -> Option<Msg> {
        let deadline = Instant::now() + timeout;
        loop {
            let start = self
                .buffer
                .iter()
                .position(|b| *b != b'\r' && *b != b'\n')
                .unwrap_or(self.buffer.len());
            self.buffer.drain(..start);
            if let Some(head_end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = Msg::new(&self.buffer[..head_end + 4]);
                let len: usize = head
                    .header("Content-Length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let total = head_end + 4 + len;
                if self.buffer.len() >= total {
                    let bytes: Vec<u8> = self.buffer.drain(..total).collect();
                    return Some(Msg::new(&bytes));
                }
            }
            if !self.fill(deadline) {
                return None;
            }
        }
    }
}

/// A TCP listener, optionally serving TLS with a certificate and key from files.
pub struct StreamPeer {
    listener: TcpListener,
    pub addr: SocketAddr,
    tls: Option<SslAcceptor>,
}

impl StreamPeer {
    pub fn tcp(ip: IpAddr) -> StreamPeer {
        let listener = TcpListener::bind(SocketAddr::new(ip, 0)).expect("bind the TCP peer");
        let addr = listener.local_addr().expect("TCP peer address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        StreamPeer {
            listener,
            addr,
            tls: None,
        }
    }

    pub fn tls(ip: IpAddr, cert: &Path, key: &Path) -> StreamPeer {
        let mut builder =
            SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).expect("TLS acceptor");
        builder
            .set_certificate_chain_file(cert)
            .expect("peer certificate");
        builder
            .set_private_key_file(key, SslFiletype::PEM)
            .expect("peer key");
        let mut peer = StreamPeer::tcp(ip);
        peer.tls = Some(builder.build());
        peer
    }

    /// Waits for a connection and tries the TLS handshake, whatever its outcome (for a
    /// client expected to refuse our certificate); true if a connection came.
    pub fn accept_any(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).expect("blocking connection");
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    if let Some(acceptor) = &self.tls {
                        let _ = acceptor.accept(s);
                    }
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }

    /// The next connection before `timeout` (TLS handshake included).
    pub fn accept(&self, timeout: Duration) -> Option<StreamConn> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).expect("blocking connection");
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let conn = match &self.tls {
                        None => Conn::Tcp(s),
                        Some(acceptor) => match acceptor.accept(s) {
                            Ok(tls) => Conn::Tls(Box::new(tls)),
                            Err(e) => panic!("TLS handshake with the server failed: {e}"),
                        },
                    };
                    return Some(StreamConn::new(conn));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }
}
