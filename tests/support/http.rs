//! A small HTTP/1.1 client on a raw socket (so tests see exactly what goes over the
//! wire), and an RFC 7616 digest client.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use openssl::hash::{MessageDigest, hash};

use super::WAIT;
use super::wire::connect;

/// Cap on one response (head and body).
const MAX_RESPONSE: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Status line and fields, through the blank line.
    pub head: String,
    pub body: String,
}

impl HttpResponse {
    /// The first field `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    /// Every field `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.head
            .split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect()
    }
}

/// One client connection.
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

    pub fn send(&mut self, raw: &str) {
        self.stream.write_all(raw.as_bytes()).expect("send request");
    }

    /// `GET target` over HTTP/1.1 with `extra` fields (each ending in CRLF).
    pub fn get(&mut self, target: &str, extra: &str) -> HttpResponse {
        self.send(&format!(
            "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n"
        ));
        self.read_response(false)
    }

    /// `method target` with `body` (sent with its Content-Length when not empty).
    pub fn request(&mut self, method: &str, target: &str, extra: &str, body: &str) -> HttpResponse {
        let length = if body.is_empty() {
            String::new()
        } else {
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )
        };
        self.send(&format!(
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}{length}\r\n{body}"
        ));
        self.read_response(method == "HEAD")
    }

    /// The bytes up to and including the next `needle`, or `None` when the stream ends
    /// first (what is left is in [`HttpConn::rest`]). Panics past [`WAIT`].
    pub fn read_through(&mut self, needle: &[u8]) -> Option<Vec<u8>> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(at) = self.buf.windows(needle.len()).position(|w| w == needle) {
                return Some(self.buf.drain(..at + needle.len()).collect());
            }
            if !self.fill(deadline) {
                return None;
            }
        }
    }

    /// What is buffered and not yet read.
    pub fn rest(&self) -> &[u8] {
        &self.buf
    }

    /// Reads more into the buffer; false at end of stream. Panics past `deadline`.
    fn fill(&mut self, deadline: Instant) -> bool {
        loop {
            let now = Instant::now();
            assert!(
                now < deadline,
                "no whole response within {WAIT:?}; buffered {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            let _ = self.stream.set_read_timeout(Some(deadline - now));
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf
                        .extend_from_slice(chunk.get(..n).unwrap_or_default());
                    assert!(self.buf.len() <= MAX_RESPONSE, "response too large");
                    return true;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(_) => return false,
            }
        }
    }

    /// The next response, or `None` if the connection ends before one is whole.
    pub fn try_read_response(&mut self, head_only: bool) -> Option<HttpResponse> {
        let deadline = Instant::now() + WAIT;
        let head_end = loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if !self.fill(deadline) {
                return None;
            }
        };
        let head = String::from_utf8_lossy(self.buf.get(..head_end)?).into_owned();
        let status = head.split(' ').nth(1)?.parse().ok()?;
        let mut response = HttpResponse {
            status,
            head,
            body: String::new(),
        };
        let length: usize = if head_only {
            0
        } else {
            response
                .header("Content-Length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        while self.buf.len() < head_end + length {
            if !self.fill(deadline) {
                return None;
            }
        }
        let body: Vec<u8> = self.buf.drain(..head_end + length).skip(head_end).collect();
        response.body = String::from_utf8_lossy(&body).into_owned();
        Some(response)
    }

    pub fn read_response(&mut self, head_only: bool) -> HttpResponse {
        self.try_read_response(head_only).unwrap_or_else(|| {
            panic!(
                "connection closed before a whole response; buffered {:?}",
                String::from_utf8_lossy(&self.buf)
            )
        })
    }

    /// True if the server closes the connection (within [`WAIT`]) with nothing more sent.
    pub fn closed(&mut self) -> bool {
        self.buf.is_empty() && !self.fill_or_timeout(WAIT) && self.buf.is_empty()
    }

    /// Like `fill`, but a time-out is a `true` (still open) instead of a panic.
    fn fill_or_timeout(&mut self, timeout: Duration) -> bool {
        let _ = self.stream.set_read_timeout(Some(timeout));
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                true
            }
            Err(e) => matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        }
    }
}

/// One GET on a fresh connection.
pub fn http_get(addr: SocketAddr, target: &str, extra: &str) -> HttpResponse {
    HttpConn::open(addr).get(target, extra)
}

// ---- RFC 7616 digest, written from the RFC ----

/// Lower-case hex of `alg` ("MD5" or "SHA-256") over `s`.
pub fn hex_hash(alg: &str, s: &str) -> String {
    let md = match alg {
        "MD5" => MessageDigest::md5(),
        "SHA-256" => MessageDigest::sha256(),
        other => panic!("no digest algorithm {other}"),
    };
    hash(md, s.as_bytes())
        .expect("hash")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The parameters of a `Digest …` challenge (RFC 7616 §3.3: comma-separated
/// `name=token` or `name="quoted"`; our server never puts a quote inside a value).
pub fn challenge_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut s = value.strip_prefix("Digest ").unwrap_or(value);
    loop {
        s = s.trim_start_matches([',', ' ']);
        let Some((name, after)) = s.split_once('=') else {
            return out;
        };
        let (v, next) = match after.strip_prefix('"') {
            Some(q) => {
                let end = q.find('"').unwrap_or(q.len());
                (
                    q.get(..end).unwrap_or_default(),
                    q.get(end + 1..).unwrap_or_default(),
                )
            }
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (
                    after.get(..end).unwrap_or_default(),
                    after.get(end..).unwrap_or_default(),
                )
            }
        };
        out.push((name.trim().to_owned(), v.to_owned()));
        s = next;
    }
}

/// A Digest challenge of a 401 for `alg`.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The `WWW-Authenticate: Digest` challenge of `r` for `alg`.
    pub fn of(r: &HttpResponse, alg: &str) -> Challenge {
        r.all("WWW-Authenticate")
            .into_iter()
            .filter(|v| v.starts_with("Digest "))
            .map(|v| Challenge {
                params: challenge_params(v),
            })
            .find(|c| c.get("algorithm") == Some(alg))
            .unwrap_or_else(|| panic!("no {alg} challenge in {}", r.head))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn must(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("challenge without {name}: {:?}", self.params))
    }

    /// An `Authorization: Digest …` field (with CRLF) answering this challenge for
    /// `GET uri` with nonce-count `nc`, per RFC 7616 §3.4.1 (qop=auth):
    /// response = H(H(user:realm:pwd) ":" nonce ":" nc ":" cnonce ":" qop ":" H("GET:" uri)).
    pub fn answer(&self, password: &str, nc: u32, uri: &str) -> String {
        let alg = self.must("algorithm");
        let realm = self.must("realm");
        let nonce = self.must("nonce");
        let nc = format!("{nc:08x}");
        let cnonce = "f2a3c9d1";
        let ha1 = hex_hash(alg, &format!("admin:{realm}:{password}"));
        let ha2 = hex_hash(alg, &format!("GET:{uri}"));
        let response = hex_hash(alg, &format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
        format!(
            "Authorization: Digest username=\"admin\", realm=\"{realm}\", nonce=\"{nonce}\", \
             uri=\"{uri}\", algorithm={alg}, response=\"{response}\", qop=auth, nc={nc}, \
             cnonce=\"{cnonce}\", opaque=\"{}\"\r\n",
            self.must("opaque")
        )
    }

    /// The `rspauth` the server must send back for that answer (RFC 7616 §3.5: A2 is
    /// ":" uri, without the method).
    pub fn rspauth(&self, password: &str, nc: u32, uri: &str) -> String {
        let alg = self.must("algorithm");
        let ha1 = hex_hash(alg, &format!("admin:{}:{password}", self.must("realm")));
        let ha2 = hex_hash(alg, &format!(":{uri}"));
        hex_hash(
            alg,
            &format!("{ha1}:{}:{nc:08x}:f2a3c9d1:auth:{ha2}", self.must("nonce")),
        )
    }
}

/// A loopback relay in front of `server` for a client that only knows MD5: it removes
/// the `algorithm=SHA-256` Digest challenges from responses (curl answers the first
/// Digest challenge it is offered) and passes everything else through unchanged.
/// Serves up to `connections` client connections, each on its own threads.
pub fn md5_only_relay(server: SocketAddr, connections: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
    let addr = listener.local_addr().expect("relay address");
    thread::spawn(move || {
        for _ in 0..connections {
            let Ok((client, _)) = listener.accept() else {
                return;
            };
            thread::spawn(move || relay_one(client, server));
        }
    });
    addr
}

fn relay_one(mut client: TcpStream, server: SocketAddr) {
    let Ok(upstream) = TcpStream::connect(server) else {
        return;
    };
    let (Ok(mut from_client), Ok(mut to_server)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from_client.read(&mut buf) {
            if n == 0
                || to_server
                    .write_all(buf.get(..n).unwrap_or_default())
                    .is_err()
            {
                break;
            }
        }
        let _ = to_server.shutdown(Shutdown::Write);
    });
    let mut up = HttpConn::from_stream(upstream);
    while let Some(r) = up.try_read_response(false) {
        let head: Vec<&str> = r
            .head
            .split("\r\n")
            .filter(|l| {
                !(l.starts_with("WWW-Authenticate: Digest") && l.contains("algorithm=SHA-256"))
            })
            .collect();
        if client
            .write_all(head.join("\r\n").as_bytes())
            .and_then(|()| client.write_all(r.body.as_bytes()))
            .is_err()
        {
            return;
        }
    }
    let _ = client.shutdown(Shutdown::Both);
}

/// One `GET target` with `Connection: close` over any stream (TCP, TLS); everything the
/// server sends until it closes (bounded by [`WAIT`]).
pub fn get_closing(s: &mut (impl Read + Write), target: &str) -> String {
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("write request");
    super::wire::read_until(s, |_| false)
}
