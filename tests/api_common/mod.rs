//! Shared helpers of the HTTP and XML interface tests: the front doors started on
//! loopback ephemeral ports with the reference set-up's translation rules, a calls-thread
//! test double, and small socket clients.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use clicktocall::api::{self, ApiConfig, ApiServers, Translator};
use clicktocall::c2c::command::{Command, Progress, Role};
use crossbeam_channel::{Receiver, Sender};

/// Upper bound of any wait in these tests (they fail, not hang, when something is wrong).
pub const WAIT: Duration = Duration::from_secs(10);

/// The reference runs' rules: `^(50[0-9][0-9])(\d+)$` → `sip:$2@127.0.0.1:$1`,
/// `^(sip:.*)$` → `$1`.
pub fn reference_translator() -> Translator {
    Arc::new(|a: &str| {
        let b = a.as_bytes();
        if b.len() > 4 && a.starts_with("50") && b.iter().all(u8::is_ascii_digit) {
            return Some(format!("sip:{}@127.0.0.1:{}", &a[4..], &a[..4]));
        }
        if a.starts_with("sip:") && !a.contains('\n') {
            return Some(a.to_owned());
        }
        None
    })
}

/// A placed call as the calls thread saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub initiator: String,
    pub destination: String,
    pub anchor: bool,
}

/// The front doors on 127.0.0.1 ephemeral ports.
pub struct Harness {
    servers: Option<ApiServers>,
    pub http: SocketAddr,
    pub xml: SocketAddr,
    /// Commands from the front doors, for tests that play the calls thread themselves.
    pub commands: Receiver<Command>,
    _commands_tx: Sender<Command>,
}

impl Harness {
    pub fn start(configure: impl FnOnce(&mut ApiConfig)) -> Harness {
        let mut cfg = ApiConfig {
            http_port: Some(0),
            xml_port: Some(0),
            bind: Some("127.0.0.1".parse().expect("ip")),
            ..ApiConfig::default()
        };
        configure(&mut cfg);
        let (tx, rx) = crossbeam_channel::unbounded();
        let servers = api::start(cfg, reference_translator(), tx.clone()).expect("api::start");
        let http = servers
            .http_addrs()
            .first()
            .copied()
            .unwrap_or_else(|| "127.0.0.1:9".parse().expect("addr"));
        let xml = servers
            .xml_addrs()
            .first()
            .copied()
            .unwrap_or_else(|| "127.0.0.1:9".parse().expect("addr"));
        Harness {
            servers: Some(servers),
            http,
            xml,
            commands: rx,
            _commands_tx: tx,
        }
    }

    /// Starts a calls-thread double that answers every command with `script`'s events
    /// (after the given delays) and records what was placed.
    pub fn auto_answer(
        &self,
        script: impl Fn(&Placed) -> Vec<(Duration, Progress)> + Send + Sync + 'static,
    ) -> Arc<Mutex<Vec<Placed>>> {
        let placed = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&placed);
        let rx = self.commands.clone();
        let script = Arc::new(script);
        thread::spawn(move || {
            while let Ok(Command::ClickToCall {
                initiator_uri,
                destination_uri,
                anchor,
                reply,
            }) = rx.recv()
            {
                let p = Placed {
                    initiator: initiator_uri,
                    destination: destination_uri,
                    anchor,
                };
                log.lock().expect("log").push(p.clone());
                let events = script(&p);
                thread::spawn(move || {
                    for (delay, event) in events {
                        thread::sleep(delay);
                        // A client that went away does not stop the call.
                        let _ = reply.send(event);
                    }
                });
            }
        });
        placed
    }

    /// The next command, as the calls thread would receive it.
    pub fn next_command(&self) -> (Placed, Sender<Progress>) {
        match self
            .commands
            .recv_timeout(WAIT)
            .expect("a command for the calls thread")
        {
            Command::ClickToCall {
                initiator_uri,
                destination_uri,
                anchor,
                reply,
            } => (
                Placed {
                    initiator: initiator_uri,
                    destination: destination_uri,
                    anchor,
                },
                reply,
            ),
        }
    }

    pub fn shutdown(mut self) {
        if let Some(s) = self.servers.take() {
            s.shutdown();
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.servers.take() {
            s.shutdown();
        }
    }
}

pub fn progress(code: u16, leg: Role, text: &str) -> Progress {
    Progress {
        code,
        leg,
        text: text.to_owned(),
    }
}

/// The reference REFER-mode success sequence.
pub fn refer_ok() -> Vec<(Duration, Progress)> {
    let ms = Duration::from_millis(2);
    vec![
        (ms, progress(180, Role::Initiator, "Ringing initiator")),
        (ms, progress(200, Role::Initiator, "Connected to initiator")),
        (
            ms,
            progress(200, Role::Destination, "Connected to destination"),
        ),
    ]
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// Reads exactly `n` bytes (fails the test after [`WAIT`]).
pub fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    let mut got = 0;
    let deadline = Instant::now() + WAIT;
    while got < n {
        assert!(
            Instant::now() < deadline,
            "timed out after {got} of {n} bytes: {:?}",
            String::from_utf8_lossy(&out[..got])
        );
        match s.read(&mut out[got..]) {
            Ok(0) => panic!(
                "EOF after {got} of {n} bytes: {:?}",
                String::from_utf8_lossy(&out[..got])
            ),
            Ok(k) => got += k,
            Err(e) => panic!(
                "read after {got} of {n} bytes: {e}: {:?}",
                String::from_utf8_lossy(&out[..got])
            ),
        }
    }
    out
}

/// Reads until the peer closes (or [`WAIT`] passes: then fails).
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(
            Instant::now() < deadline,
            "peer did not close: {:?}",
            String::from_utf8_lossy(&out)
        );
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("read: {e}; got {:?}", String::from_utf8_lossy(&out)),
        }
    }
}

/// True when nothing arrives within `d`.
pub fn nothing_within(s: &mut TcpStream, d: Duration) -> bool {
    s.set_read_timeout(Some(d)).expect("timeout");
    let mut b = [0u8; 1];
    let quiet = matches!(s.read(&mut b), Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    quiet
}

pub fn send(s: &mut TcpStream, data: &[u8]) {
    s.write_all(data).expect("write");
}

/// One parsed HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub head: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A client connection that reads responses one at a time (keep-alive aware).
pub struct HttpConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl HttpConn {
    pub fn open(addr: SocketAddr) -> HttpConn {
        HttpConn {
            stream: connect(addr),
            buf: Vec::new(),
        }
    }

    pub fn from_stream(stream: TcpStream) -> HttpConn {
        HttpConn {
            stream,
            buf: Vec::new(),
        }
    }

    /// The next response, or `None` when the connection closes first.
    pub fn try_read_response(&mut self) -> Option<HttpResponse> {
        while !self.buf.windows(4).any(|w| w == b"\r\n\r\n") {
            if !self.fill() {
                return None;
            }
        }
        Some(self.read_response(false))
    }

    pub fn send(&mut self, raw: &str) {
        self.stream.write_all(raw.as_bytes()).expect("write");
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => false,
            Err(e) => panic!("read: {e}; have {:?}", String::from_utf8_lossy(&self.buf)),
        }
    }

    /// The next response; `head_only` for a response to HEAD.
    pub fn read_response(&mut self, head_only: bool) -> HttpResponse {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(
                self.fill(),
                "connection closed before a response head: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        };
        let head = String::from_utf8(self.buf[..end].to_vec()).expect("utf8 head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once(':').expect("field");
                (k.to_owned(), v.trim().to_owned())
            })
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().expect("length"))
            .unwrap_or(0);
        let body_len = if head_only { 0 } else { len };
        while self.buf.len() < end + body_len {
            assert!(self.fill(), "connection closed inside a body");
        }
        let body = String::from_utf8(self.buf[end..end + body_len].to_vec()).expect("utf8 body");
        self.buf.drain(..end + body_len);
        HttpResponse {
            status,
            head,
            headers,
            body,
        }
    }

    /// True when the server has closed the connection (after all responses were read).
    pub fn closed(&mut self) -> bool {
        self.buf.is_empty() && !self.fill()
    }
}

/// One request on a fresh connection.
pub fn http_get(addr: SocketAddr, target: &str, extra: &str) -> HttpResponse {
    let mut c = HttpConn::open(addr);
    c.send(&format!(
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n"
    ));
    c.read_response(false)
}

/// The placed calls once there are `n` of them (the double records them on its own
/// thread, possibly after the front door has answered).
pub fn placed_eventually(log: &Arc<Mutex<Vec<Placed>>>, n: usize) -> Vec<Placed> {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = log.lock().expect("log").clone();
        if now.len() >= n {
            assert_eq!(now.len(), n, "more calls than expected: {now:?}");
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} calls placed",
            now.len()
        );
        thread::sleep(Duration::from_millis(5));
    }
}
