//! TLS transport on loopback with a self-signed certificate made by the `openssl` tool:
//! host-name verification success and failure, pings over TLS, the handshake time-out,
//! and start-up without certificate files.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{
    tls::make_cert, tmp::TempDir, transport_rig::Rig, transport_rig::config, transport_rig::request,
};
use clicktocall::sip::Transport;
use clicktocall::sip::transport::{ErrorKind, Target, TransportConfig, TransportEvent};

fn tls_config(bind: &str, dir: &TempDir) -> TransportConfig {
    let mut cfg = config(bind);
    cfg.tls_domain = "sip.test.invalid".into();
    cfg.cert_dir = dir.path().to_path_buf();
    cfg
}

fn verified_round_trip(bind: &str) {
    let dir = TempDir::new(&format!("ok-{}", bind.replace(':', "_")));
    make_cert(dir.path(), "sip.test.invalid");
    let mut rig = Rig::new(vec![tls_config(bind, &dir), tls_config(bind, &dir)]);
    assert!(rig.layers[1].listening(Transport::Tls));
    let server = rig.addr(1, Transport::Tls);
    let target = Target::tls(server, "sip.test.invalid");
    let now = Instant::now();
    rig.layers[0].send(now, &target, &request("tls1")).unwrap();
    rig.layers[0].send(now, &target, &request("tls2")).unwrap();
    let m1 = rig.expect_message(1);
    let m2 = rig.expect_message(1);
    assert_eq!((m1.bytes, m2.bytes), (request("tls1"), request("tls2")));
    assert_eq!(m1.transport, Transport::Tls);
    // Response on the incoming TLS connection.
    rig.layers[1]
        .send_on(now, m1.conn.unwrap(), b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n")
        .unwrap();
    let back = rig.expect_message(0);
    assert_eq!(back.bytes, b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n");
    assert_eq!((back.source, back.transport), (server, Transport::Tls));
    assert_eq!(rig.layers[0].connection_count(), 1);
}

#[test]
fn tls_round_trip_with_host_name_verified_ipv4() {
    verified_round_trip("127.0.0.1");
}

#[test]
fn tls_round_trip_with_host_name_verified_ipv6() {
    verified_round_trip("::1");
}

#[test]
fn tls_ip_target_without_name_verifies_the_address() {
    let dir = TempDir::new("ip");
    make_cert(dir.path(), "sip.test.invalid");
    let mut rig = Rig::new(vec![
        tls_config("127.0.0.1", &dir),
        tls_config("127.0.0.1", &dir),
    ]);
    let target = Target::new(rig.addr(1, Transport::Tls), Transport::Tls);
    rig.layers[0]
        .send(Instant::now(), &target, &request("ip"))
        .unwrap();
    assert_eq!(rig.expect_message(1).bytes, request("ip"));
}

#[test]
fn tls_wrong_host_name_fails_verification() {
    let dir = TempDir::new("wrong");
    make_cert(dir.path(), "sip.test.invalid");
    let mut rig = Rig::new(vec![
        tls_config("127.0.0.1", &dir),
        tls_config("127.0.0.1", &dir),
    ]);
    let target = Target::tls(rig.addr(1, Transport::Tls), "other.test.invalid");
    rig.layers[0]
        .send(Instant::now(), &target, &request("no"))
        .unwrap();
    let kind = rig.expect_event(0, "TLS error", |e| match e {
        TransportEvent::Error { target: t, kind } if *t == target => Some(kind.clone()),
        _ => None,
    });
    match kind {
        ErrorKind::Tls(why) => assert!(why.contains("certificate"), "{why}"),
        other => panic!("expected a TLS error, got {other:?}"),
    }
    rig.run_for(Duration::from_millis(100));
    assert!(
        !rig.seen[1]
            .iter()
            .any(|e| matches!(e, TransportEvent::Received { .. })),
        "nothing delivered over an unverified connection"
    );
    assert_eq!(rig.layers[0].connection_count(), 0);
}

#[test]
fn untrusted_server_certificate_fails() {
    let server_dir = TempDir::new("untrusted-server");
    make_cert(server_dir.path(), "sip.test.invalid");
    let client_dir = TempDir::new("untrusted-client");
    let mut rig = Rig::new(vec![
        tls_config("127.0.0.1", &client_dir),
        tls_config("127.0.0.1", &server_dir),
    ]);
    let target = Target::tls(rig.addr(1, Transport::Tls), "sip.test.invalid");
    rig.layers[0]
        .send(Instant::now(), &target, &request("no"))
        .unwrap();
    let kind = rig.expect_event(0, "TLS error", |e| match e {
        TransportEvent::Error { kind, .. } => Some(kind.clone()),
        _ => None,
    });
    assert!(matches!(kind, ErrorKind::Tls(_)), "{kind:?}");
}

#[test]
fn tls_ping_over_layer_connection_gets_pong() {
    let dir = TempDir::new("ping");
    make_cert(dir.path(), "sip.test.invalid");
    let mut rig = Rig::new(vec![
        tls_config("127.0.0.1", &dir),
        tls_config("127.0.0.1", &dir),
    ]);
    let target = Target::tls(rig.addr(1, Transport::Tls), "sip.test.invalid");
    let now = Instant::now();
    // A ping from A, then a message: B answers the ping and delivers only the message;
    // A drops the pong and delivers nothing.
    rig.layers[0].send(now, &target, b"\r\n\r\n").unwrap();
    rig.layers[0]
        .send(now, &target, &request("after-ping"))
        .unwrap();
    assert_eq!(rig.expect_message(1).bytes, request("after-ping"));
    rig.run_for(Duration::from_millis(100));
    assert!(rig.seen[0].is_empty(), "{:?}", rig.seen[0]);
    assert!(rig.seen[1].is_empty(), "{:?}", rig.seen[1]);
}

#[test]
fn a_silent_tls_client_is_dropped_after_the_handshake_time_out() {
    let dir = TempDir::new("silent");
    make_cert(dir.path(), "sip.test.invalid");
    let mut cfg = tls_config("127.0.0.1", &dir);
    cfg.limits.handshake_timeout = Duration::from_millis(150);
    let mut rig = Rig::new(vec![cfg]);
    let mut peer = TcpStream::connect(rig.addr(0, Transport::Tls)).unwrap();
    peer.set_nonblocking(true).unwrap();
    rig.until("accepted", |rig| rig.layers[0].connection_count() == 1);
    let (_, eof) = rig.read_peer(&mut peer, usize::MAX);
    assert!(eof);
    assert_eq!(rig.layers[0].connection_count(), 0);
    // Garbage instead of a ClientHello is also just a closed connection.
    let mut junk = TcpStream::connect(rig.addr(0, Transport::Tls)).unwrap();
    junk.write_all(&request("plain")).unwrap();
    junk.set_nonblocking(true).unwrap();
    let (_, eof) = rig.read_peer(&mut junk, usize::MAX);
    assert!(eof);
    assert!(rig.seen[0].is_empty(), "{:?}", rig.seen[0]);
}

/// Keeps WARNING lines of the transport layer so a test can look for its own.
struct Capture;

static WARNINGS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

impl log::Log for Capture {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        meta.level() <= log::Level::Warn
    }
    fn log(&self, record: &log::Record) {
        if record.level() == log::Level::Warn && record.target() == "sip::transport" {
            WARNINGS.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

#[test]
fn missing_certificate_files_leave_udp_and_tcp_running() {
    if log::set_logger(&Capture).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
    let dir = TempDir::new("missing");
    let rig = Rig::new(vec![tls_config("127.0.0.1", &dir)]);
    let cert = dir.path().join("domain_cert_sip.test.invalid.pem");
    let key = dir.path().join("domain_key_sip.test.invalid.pem");
    let mine: Vec<String> = WARNINGS
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.contains(&*dir.path().to_string_lossy()))
        .cloned()
        .collect();
    assert_eq!(mine.len(), 1, "one warning: {mine:?}");
    assert!(
        mine[0].contains(&*cert.to_string_lossy()) && mine[0].contains(&*key.to_string_lossy()),
        "{}",
        mine[0]
    );
    let layer = &rig.layers[0];
    assert!(!layer.listening(Transport::Tls));
    assert!(layer.listening(Transport::Udp) && layer.listening(Transport::Tcp));
    assert!(
        layer.supports(Transport::Tls),
        "outgoing TLS needs no server certificate"
    );
    assert_eq!(layer.local_addrs().len(), 2);
}

#[test]
fn tls_bulk_transfer_survives_partial_writes_intact() {
    let dir = TempDir::new("bulk");
    make_cert(dir.path(), "sip.test.invalid");
    let mut rig = Rig::new(vec![
        tls_config("127.0.0.1", &dir),
        tls_config("127.0.0.1", &dir),
    ]);
    let target = Target::tls(rig.addr(1, Transport::Tls), "sip.test.invalid");
    rig.layers[0]
        .send(Instant::now(), &target, &request("first"))
        .unwrap();
    assert_eq!(rig.expect_message(1).bytes, request("first"));
    let big = |i: usize| {
        let body = vec![b'A' + (i % 26) as u8; 50_000];
        let mut m = format!(
            "MESSAGE sip:x SIP/2.0\r\nCSeq: {i} MESSAGE\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        m.extend_from_slice(&body);
        m
    };
    let count = 120;
    let mut i = 0;
    let mut guard = 0;
    while i < count {
        match rig.layers[0].send(Instant::now(), &target, &big(i)) {
            Ok(()) => i += 1,
            Err(clicktocall::sip::transport::SendError::QueueFull) => {
                guard += 1;
                assert!(guard < 100_000, "queue never drained");
                rig.turn();
            }
            Err(e) => panic!("send failed: {e}"),
        }
    }
    for i in 0..count {
        assert!(rig.expect_message(1).bytes == big(i), "message {i} intact");
    }
}

#[test]
fn a_server_that_never_answers_the_handshake_times_out() {
    let mut cfg = config("127.0.0.1");
    cfg.limits.handshake_timeout = Duration::from_millis(200);
    let mut rig = Rig::new(vec![cfg]);
    // Accepts (the kernel does) but never speaks TLS.
    let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = Target::tls(mute.local_addr().unwrap(), "sip.test.invalid");
    rig.layers[0]
        .send(Instant::now(), &target, &request("x"))
        .unwrap();
    let kind = rig.expect_event(0, "handshake time-out", |e| match e {
        TransportEvent::Error { target: t, kind } if *t == target => Some(kind.clone()),
        _ => None,
    });
    assert_eq!(kind, ErrorKind::TimedOut);
    assert_eq!(rig.layers[0].connection_count(), 0);
}
