//! HTTP connections: keep-alive, HTTP/1.0, pipelining, size limits, malformed requests,
//! time-outs and the connection limit.

use std::io::Write;
use std::thread;
use std::time::Duration;

use crate::support::{
    WAIT, api_double::Harness, http::HttpConn, wire::connect, wire::read_to_close,
};

#[test]
fn a_thousand_keep_alive_requests_on_one_connection() {
    let h = Harness::start(|_| {});
    let mut c = HttpConn::open(h.http);
    for i in 0..1000 {
        c.send("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = c.read_response(false);
        assert_eq!(r.status, 200, "request {i}");
        assert!(r.header("Connection").is_none());
    }
    c.send("GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(c.closed());
}

#[test]
fn http_1_0_closes_unless_keep_alive_is_asked() {
    let h = Harness::start(|_| {});
    let mut c = HttpConn::open(h.http);
    c.send("GET /index.html HTTP/1.0\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(c.closed());

    let mut c = HttpConn::open(h.http);
    c.send("GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        c.read_response(false).header("Connection"),
        Some("keep-alive")
    );
    c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(c.read_response(false).status, 200);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let h = Harness::start(|_| {});
    let mut c = HttpConn::open(h.http);
    c.send("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response(false).status, 200);
    assert_eq!(c.read_response(false).status, 404);
    assert_eq!(c.read_response(false).status, 200);
}

#[test]
fn a_request_in_one_byte_writes() {
    let h = Harness::start(|_| {});
    let mut c = HttpConn::open(h.http);
    for b in "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n".bytes() {
        c.stream.write_all(&[b]).expect("write");
    }
    assert_eq!(c.read_response(false).status, 200);
}

fn status_then_close(h: &Harness, raw: &[u8]) -> u16 {
    let mut c = HttpConn::open(h.http);
    // The server may answer and close before everything is written.
    let _ = c.stream.write_all(raw);
    let r = c.read_response(false);
    assert_eq!(r.header("Connection"), Some("close"), "{}", r.head);
    assert!(c.closed());
    r.status
}

#[test]
fn oversized_requests_get_414_431_413() {
    let h = Harness::start(|_| {});
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
    assert_eq!(status_then_close(&h, long_target.as_bytes()), 414);
    let many_fields = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "X-Pad: 0123456789012345678901234567890123456789\r\n".repeat(200)
    );
    assert_eq!(status_then_close(&h, many_fields.as_bytes()), 431);
    assert_eq!(
        status_then_close(
            &h,
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
        ),
        413
    );
}

#[test]
fn a_small_body_on_get_is_read_and_ignored() {
    let h = Harness::start(|_| {});
    let mut c = HttpConn::open(h.http);
    c.send("GET /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response(false).status, 200);
    assert_eq!(c.read_response(false).status, 200);
}

#[test]
fn malformed_requests_are_400_and_closed() {
    let h = Harness::start(|_| {});
    for raw in [
        &b"GET /index.html\r\n\r\n"[..],
        b"GET /index.html HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ] {
        assert_eq!(
            status_then_close(&h, raw),
            400,
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
    assert_eq!(
        status_then_close(&h, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
        505
    );
}

#[test]
fn a_slow_client_times_out_without_blocking_others() {
    let h = Harness::start(|c| c.http_request_timeout = Duration::from_millis(800));
    let mut slow = connect(h.http);
    slow.write_all(b"GET /index.html HTTP/1.1\r\nHo")
        .expect("write");
    // Others are served meanwhile.
    for _ in 0..5 {
        let mut c = HttpConn::open(h.http);
        c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(c.read_response(false).status, 200);
    }
    // Trickling bytes does not extend the deadline.
    for _ in 0..3 {
        thread::sleep(Duration::from_millis(100));
        let _ = slow.write_all(b"s");
    }
    let got = String::from_utf8_lossy(&read_to_close(&mut slow, WAIT)).into_owned();
    assert!(got.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{got}");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_silently() {
    let h = Harness::start(|c| c.http_request_timeout = Duration::from_millis(300));
    let mut c = HttpConn::open(h.http);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response(false).status, 200);
    assert!(
        c.closed(),
        "closed after the idle time-out without a response"
    );
}

#[test]
fn connections_beyond_the_limit_get_503() {
    let h = Harness::start(|c| c.http_max_connections = 2);
    let mut a = HttpConn::open(h.http);
    let mut b = HttpConn::open(h.http);
    for c in [&mut a, &mut b] {
        c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(c.read_response(false).status, 200);
    }
    let mut third = HttpConn::open(h.http);
    third.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = third.read_response(false);
    assert_eq!(r.status, 503);
    assert_eq!(r.header("Connection"), Some("close"));
    // The served connections are unaffected.
    a.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(a.read_response(false).status, 200);
}

#[test]
fn shutdown_stops_listening_and_closes_connections() {
    let h = Harness::start(|_| {});
    let mut c = HttpConn::open(h.http);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response(false).status, 200);
    let addr = h.http;
    h.shutdown();
    assert!(c.closed());
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn a_port_in_use_is_a_bind_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let cfg = clicktocall::api::ApiConfig {
        http_port: Some(0),
        xml_port: Some(port),
        bind: Some("127.0.0.1".parse().expect("ip")),
        ..clicktocall::api::ApiConfig::default()
    };
    let (tx, _rx) = crossbeam_channel::unbounded();
    match clicktocall::api::start(cfg, crate::support::api_double::reference_translator(), tx) {
        Err(clicktocall::api::ApiStartError::Bind { what, addr, source }) => {
            assert_eq!(what, "XML");
            assert_eq!(addr.port(), port);
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
        }
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("started on a port in use"),
    }
}

#[test]
fn disabled_servers_have_no_addresses() {
    let cfg = clicktocall::api::ApiConfig {
        http_port: None,
        xml_port: None,
        ..clicktocall::api::ApiConfig::default()
    };
    let (tx, _rx) = crossbeam_channel::unbounded();
    let servers =
        clicktocall::api::start(cfg, crate::support::api_double::reference_translator(), tx)
            .expect("start");
    assert!(servers.http_addrs().is_empty());
    assert!(servers.xml_addrs().is_empty());
    servers.shutdown();
}
