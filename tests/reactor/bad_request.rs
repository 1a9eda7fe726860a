//! Black-box handling of bad input on the SIP port: a request the message layer refuses
//! but that carries Via, From, To, Call-ID and CSeq is answered statelessly with 400 (the
//! parse error as reason phrase) or 505 for a SIP version we do not speak (RFC 3261
//! §8.2.6.2, §21.5.26); garbage without those headers gets no answer at all, and the server
//! keeps serving (an OPTIONS afterwards gets 200).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use crate::support::{
    WAIT, peer::StreamConn, server::Server, server::ServerConfig, sip::Msg, sip::options,
    tmp::TempDir,
};

struct Probe {
    sock: UdpSocket,
    server: SocketAddr,
}

impl Probe {
    fn new(server: SocketAddr) -> Probe {
        let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        Probe { sock, server }
    }

    fn addr(&self) -> String {
        self.sock.local_addr().expect("addr").to_string()
    }

    fn send(&self, bytes: &[u8]) {
        self.sock.send_to(bytes, self.server).expect("send");
    }

    /// The next datagram within `timeout`.
    fn recv(&self, timeout: Duration) -> Option<Msg> {
        self.sock.set_read_timeout(Some(timeout)).expect("timeout");
        let mut buf = vec![0u8; 65536];
        let (n, _) = self.sock.recv_from(&mut buf).ok()?;
        Some(Msg::new(&buf[..n]))
    }

    /// An OPTIONS still gets 200: the server is alive and serving.
    fn assert_serving(&self, tag: &str) {
        let probe = options(
            "sip:probe@127.0.0.1",
            &self.addr(),
            tag,
            &format!("alive-{tag}"),
        );
        self.send(probe.as_bytes());
        let answer = self.recv(WAIT).expect("an answer to OPTIONS");
        assert_eq!(answer.status(), Some(200), "{}", answer.text);
        assert_eq!(
            answer.header("Call-ID"),
            Some(format!("alive-{tag}").as_str())
        );
    }
}

fn server(dir: &TempDir) -> Server {
    Server::start(
        dir,
        &ServerConfig::reactor().translate_all("sip:$1@127.0.0.1:9"),
    )
}

/// A request with every header a response needs and one broken header.
fn broken_request(addr: &str, broken: &str, call_id: &str) -> String {
    format!(
        "OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {addr};branch=z9hG4bKbad{call_id}\r\n\
         From: <sip:x@{addr}>;tag=f1\r\nTo: <sip:probe@127.0.0.1>\r\nCall-ID: {call_id}\r\n\
         CSeq: 7 OPTIONS\r\n{broken}\r\nContent-Length: 0\r\n\r\n"
    )
}

#[test]
fn malformed_request_with_the_needed_headers_gets_400() {
    let dir = TempDir::new("bad-400");
    let server = server(&dir);
    let probe = Probe::new(server.sip_addr());
    let request = broken_request(&probe.addr(), "Max-Forwards: seventy", "bad-mf");
    probe.send(request.as_bytes());
    let answer = probe
        .recv(Duration::from_secs(5))
        .expect("an answer to the malformed request");
    assert_eq!(answer.status(), Some(400), "{}", answer.text);
    assert!(
        answer.start_line().contains("Max-Forwards"),
        "the reason phrase names the parse error: {}",
        answer.start_line()
    );
    assert_eq!(answer.header("Call-ID"), Some("bad-mf"));
    assert_eq!(answer.header("CSeq"), Some("7 OPTIONS"));
    assert!(
        answer
            .header("Via")
            .is_some_and(|v| v.contains("z9hG4bKbadbad-mf"))
    );
    assert!(
        answer.header("To").is_some_and(|t| t.contains(";tag=")),
        "To gets a tag"
    );
    probe.assert_serving("after400");
}

#[test]
fn unknown_sip_version_gets_505() {
    let dir = TempDir::new("bad-505");
    let server = server(&dir);
    let probe = Probe::new(server.sip_addr());
    let request = broken_request(&probe.addr(), "Subject: version", "bad-ver").replacen(
        "SIP/2.0\r\n",
        "SIP/3.0\r\n",
        1,
    );
    probe.send(request.as_bytes());
    let answer = probe
        .recv(Duration::from_secs(5))
        .expect("an answer to the SIP/3.0 request");
    assert_eq!(answer.status(), Some(505), "{}", answer.text);
    probe.assert_serving("after505");
}

#[test]
fn garbage_gets_no_answer_and_the_server_keeps_serving() {
    let dir = TempDir::new("garbage");
    let mut server = server(&dir);
    let probe = Probe::new(server.sip_addr());
    let junk: [&[u8]; 5] = [
        b"hello world\r\n\r\n",
        b"OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\nCall-ID: only-this\r\n\r\n",
        b"SIP/2.0 200 OK\r\n\r\n",
        b"\x00\xff\x10\x80 binary \xfe",
        &[b'A'; 1400],
    ];
    for bytes in junk {
        probe.send(bytes);
    }
    assert!(
        probe.recv(Duration::from_secs(1)).is_none(),
        "garbage was answered"
    );
    probe.assert_serving("afterjunk");

    // Over TCP too: a broken message without the headers, then a good one.
    let mut conn = StreamConn::connect(server.sip_addr());
    conn.send("GARBAGE\r\nno colon here\r\n\r\n");
    let local = conn.local_addr().to_string();
    conn.send(
        &options("sip:probe@127.0.0.1", &local, "tcpjunk", "tcp-after-junk")
            .replace("SIP/2.0/UDP", "SIP/2.0/TCP"),
    );
    // The server may close the connection on the garbage; if it keeps it, the OPTIONS
    // is answered there. Either way a fresh connection is served.
    if let Some(answer) = conn.recv_msg(Duration::from_secs(2)) {
        assert_eq!(answer.status(), Some(200), "{}", answer.text);
    }
    // Half a message, then the connection closes: nothing is left waiting for the rest.
    let mut half = StreamConn::connect(server.sip_addr());
    half.send("OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;bra");
    drop(half);
    // Content-Length promising more than ever comes, on a connection that stays open.
    let mut short = StreamConn::connect(server.sip_addr());
    let local = short.local_addr().to_string();
    short.send(
        &options("sip:probe@127.0.0.1", &local, "short", "tcp-short")
            .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
            .replace("Content-Length: 0", "Content-Length: 500"),
    );
    let mut fresh = StreamConn::connect(server.sip_addr());
    let local = fresh.local_addr().to_string();
    fresh.send(
        &options("sip:probe@127.0.0.1", &local, "tcpfresh", "tcp-fresh")
            .replace("SIP/2.0/UDP", "SIP/2.0/TCP"),
    );
    let answer = fresh
        .recv_msg(WAIT)
        .expect("OPTIONS over a fresh TCP connection");
    assert_eq!(answer.status(), Some(200), "{}", answer.text);
    assert!(server.is_running());
    assert!(
        short.recv_msg(Duration::from_millis(200)).is_none(),
        "a message was taken before its body arrived"
    );
}
