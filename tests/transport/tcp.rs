//! TCP transport on loopback: framing across split writes and of several messages in
//! one segment, connection reuse both ways, pings and keepalives, connect errors, and
//! the bounds: connection limit, oversize and garbage input, idle time-out.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::support::{transport_rig::Rig, transport_rig::config, transport_rig::request};
use clicktocall::sip::Transport;
use clicktocall::sip::transport::{ErrorKind, KeepaliveIntervals, Target, TransportEvent};

fn peer_to(rig: &Rig) -> TcpStream {
    let peer = TcpStream::connect(rig.addr(0, Transport::Tcp)).unwrap();
    peer.set_nonblocking(true).unwrap();
    peer.set_nodelay(true).unwrap();
    peer
}

#[test]
fn tcp_frames_split_writes_and_two_messages_in_one_segment() {
    let mut rig = Rig::new(vec![config("127.0.0.1")]);
    let mut peer = peer_to(&rig);
    let first = request("split");
    let (head, tail) = first.split_at(first.len() / 2);
    peer.write_all(head).unwrap();
    rig.run_for(Duration::from_millis(60));
    assert!(rig.seen[0].is_empty(), "half a message is not delivered");
    let mut segment = tail.to_vec();
    segment.extend_from_slice(&request("two"));
    segment.extend_from_slice(&request("three"));
    peer.write_all(&segment).unwrap();
    let m1 = rig.expect_message(0);
    let m2 = rig.expect_message(0);
    let m3 = rig.expect_message(0);
    assert_eq!(m1.bytes, first);
    assert_eq!(m2.bytes, request("two"));
    assert_eq!(m3.bytes, request("three"));
    assert_eq!(m1.source, peer.local_addr().unwrap());
    assert_eq!(m1.transport, Transport::Tcp);
    assert_eq!(m1.local, peer.peer_addr().unwrap());
    let conn = m1.conn.expect("stream messages name their connection");
    assert_eq!(m3.conn, Some(conn));

    // The response goes back on the same connection, by id or by address.
    let now = Instant::now();
    rig.layers[0]
        .send_on(now, conn, b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    rig.layers[0]
        .send(
            now,
            &Target::new(m1.source, Transport::Tcp),
            b"SIP/2.0 202 OK\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
    let want =
        b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\nSIP/2.0 202 OK\r\nContent-Length: 0\r\n\r\n";
    let (got, _) = rig.read_peer(&mut peer, want.len());
    assert_eq!(got, want);
    assert_eq!(rig.layers[0].connection_count(), 1);
}

#[test]
fn tcp_outgoing_connection_is_reused_both_ways_ipv4() {
    outgoing_reuse("127.0.0.1");
}

#[test]
fn tcp_outgoing_connection_is_reused_both_ways_ipv6() {
    outgoing_reuse("::1");
}

fn outgoing_reuse(bind: &str) {
    let mut rig = Rig::new(vec![config(bind), config(bind)]);
    let b = Target::new(rig.addr(1, Transport::Tcp), Transport::Tcp);
    let now = Instant::now();
    rig.layers[0].send(now, &b, &request("r1")).unwrap();
    rig.layers[0].send(now, &b, &request("r2")).unwrap();
    let m1 = rig.expect_message(1);
    let m2 = rig.expect_message(1);
    assert_eq!((m1.bytes, m2.bytes), (request("r1"), request("r2")));
    assert_eq!(m1.conn, m2.conn);
    assert_eq!(rig.layers[0].connection_count(), 1);
    // B answers to the source address: the incoming connection is reused, none opened.
    rig.layers[1]
        .send(
            now,
            &Target::new(m1.source, Transport::Tcp),
            b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n",
        )
        .unwrap();
    let back = rig.expect_message(0);
    assert_eq!(back.bytes, b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n");
    assert_eq!(back.source, b.addr);
    assert_eq!(rig.layers[1].connection_count(), 1);
}

#[test]
fn tcp_connect_refused_is_a_transport_error() {
    let mut rig = Rig::new(vec![config("127.0.0.1")]);
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let target = Target::new(dead, Transport::Tcp);
    rig.layers[0]
        .send(Instant::now(), &target, &request("x"))
        .unwrap();
    let kind = rig.expect_event(0, "connect error", |e| match e {
        TransportEvent::Error { target: t, kind } if *t == target => Some(kind.clone()),
        _ => None,
    });
    assert_eq!(kind, ErrorKind::Refused);
    assert_eq!(rig.layers[0].connection_count(), 0);
}

#[test]
fn tcp_ping_gets_pong_and_keepalives_flow_on_dialog_connections() {
    let mut cfg = config("127.0.0.1");
    cfg.keepalives = true;
    cfg.keepalive_intervals = KeepaliveIntervals {
        datagram: Duration::from_millis(50),
        stream: Duration::from_millis(50),
    };
    let mut rig = Rig::new(vec![cfg]);
    // Pong on an incoming connection.
    let mut peer = peer_to(&rig);
    peer.write_all(b"\r\n\r\n").unwrap();
    let (got, _) = rig.read_peer(&mut peer, 2);
    assert_eq!(got, b"\r\n");

    // Keepalives on an outgoing connection marked as carrying a dialog.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = Target::new(listener.local_addr().unwrap(), Transport::Tcp);
    rig.layers[0]
        .send(Instant::now(), &target, &request("dlg"))
        .unwrap();
    rig.layers[0].keepalive_add(Instant::now(), &target);
    listener.set_nonblocking(true).unwrap();
    let mut accepted = None;
    rig.until("accept", |_| {
        accepted = listener.accept().ok();
        accepted.is_some()
    });
    let (mut far, _) = accepted.unwrap();
    far.set_nonblocking(true).unwrap();
    let want = request("dlg").len() + 8;
    let (got, _) = rig.read_peer(&mut far, want);
    assert_eq!(&got[..request("dlg").len()], &request("dlg")[..]);
    assert_eq!(&got[request("dlg").len()..want], b"\r\n\r\n\r\n\r\n");
    assert!(rig.seen[0].is_empty(), "{:?}", rig.seen[0]);
}

#[test]
fn connection_limit_evicts_the_oldest_idle_then_refuses() {
    let mut cfg = config("127.0.0.1");
    cfg.limits.max_connections = 2;
    let mut rig = Rig::new(vec![cfg]);
    let mut p1 = peer_to(&rig);
    p1.write_all(&request("p1")).unwrap();
    let m1 = rig.expect_message(0);
    let mut p2 = peer_to(&rig);
    p2.write_all(&request("p2")).unwrap();
    let m2 = rig.expect_message(0);
    assert_eq!(rig.layers[0].connection_count(), 2);

    // A third connection closes the least recently used one (p1).
    let mut p3 = peer_to(&rig);
    p3.write_all(&request("p3")).unwrap();
    assert_eq!(rig.expect_message(0).bytes, request("p3"));
    let (_, eof) = rig.read_peer(&mut p1, usize::MAX);
    assert!(eof, "oldest idle connection closed");
    assert_eq!(rig.layers[0].connection_count(), 2);

    // With both remaining connections carrying dialogs, a new one is refused.
    let now = Instant::now();
    rig.layers[0].keepalive_add(now, &Target::new(m2.source, Transport::Tcp));
    rig.layers[0].keepalive_add(now, &Target::new(p3.local_addr().unwrap(), Transport::Tcp));
    let mut p4 = peer_to(&rig);
    let (_, eof) = rig.read_peer(&mut p4, usize::MAX);
    assert!(eof, "connection over the limit refused");
    assert_eq!(rig.layers[0].connection_count(), 2);
    p2.write_all(&request("still")).unwrap();
    assert_eq!(rig.expect_message(0).bytes, request("still"));
    let _ = m1;
}

#[test]
fn oversize_and_garbage_close_the_connection() {
    let mut cfg = config("127.0.0.1");
    cfg.limits.max_message = 1000;
    let mut rig = Rig::new(vec![cfg]);
    let mut big = peer_to(&rig);
    big.write_all(b"INVITE sip:x SIP/2.0\r\nContent-Length: 5000\r\n\r\n")
        .unwrap();
    let (_, eof) = rig.read_peer(&mut big, usize::MAX);
    assert!(eof, "oversize message closes the connection");

    let mut garbage = peer_to(&rig);
    garbage.write_all(&[b'z'; 1500]).unwrap();
    let (_, eof) = rig.read_peer(&mut garbage, usize::MAX);
    assert!(
        eof,
        "a header section that never ends closes the connection"
    );

    let mut bad = peer_to(&rig);
    bad.write_all(b"INVITE sip:x SIP/2.0\r\nContent-Length: lots\r\n\r\n")
        .unwrap();
    let (_, eof) = rig.read_peer(&mut bad, usize::MAX);
    assert!(eof, "a malformed Content-Length closes the connection");
    assert!(rig.seen[0].is_empty(), "{:?}", rig.seen[0]);
    assert_eq!(rig.layers[0].connection_count(), 0);
}

#[test]
fn idle_connections_are_closed_but_dialog_ones_kept() {
    let mut cfg = config("127.0.0.1");
    cfg.limits.idle_timeout = Duration::from_millis(150);
    let mut rig = Rig::new(vec![cfg]);
    let mut idle = peer_to(&rig);
    idle.write_all(&request("idle")).unwrap();
    rig.expect_message(0);
    let mut kept = peer_to(&rig);
    kept.write_all(&request("kept")).unwrap();
    let m = rig.expect_message(0);
    rig.layers[0].keepalive_add(Instant::now(), &Target::new(m.source, Transport::Tcp));
    let (_, eof) = rig.read_peer(&mut idle, usize::MAX);
    assert!(eof, "idle connection closed");
    rig.run_for(Duration::from_millis(300));
    assert_eq!(rig.layers[0].connection_count(), 1);
    kept.write_all(&request("alive")).unwrap();
    assert_eq!(rig.expect_message(0).bytes, request("alive"));
}

#[test]
fn a_connection_flood_stays_within_the_limit_and_service_continues() {
    let mut cfg = config("127.0.0.1");
    cfg.limits.max_connections = 20;
    let mut rig = Rig::new(vec![cfg]);
    let mut flood = Vec::new();
    for _ in 0..150 {
        flood.push(peer_to(&rig));
        rig.turn();
        assert!(rig.layers[0].connection_count() <= 20);
    }
    rig.run_for(Duration::from_millis(50));
    assert!(rig.layers[0].connection_count() <= 20);
    let mut late = peer_to(&rig);
    late.write_all(&request("late")).unwrap();
    assert_eq!(rig.expect_message(0).bytes, request("late"));
}

#[test]
fn a_slow_reader_fills_a_bounded_queue_and_then_gets_everything_in_order() {
    let mut cfg = config("127.0.0.1");
    cfg.limits.max_queued = 256 * 1024;
    let mut rig = Rig::new(vec![cfg]);
    let mut peer = peer_to(&rig);
    peer.write_all(&request("hello")).unwrap();
    let conn = rig.expect_message(0).conn.unwrap();
    let chunk = |i: usize| {
        let body = vec![b'a' + (i % 26) as u8; 60_000];
        let mut m = format!(
            "MESSAGE sip:x SIP/2.0\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        m.extend_from_slice(&body);
        m
    };
    let mut accepted = 0;
    let mut refused = false;
    for i in 0..2000 {
        match rig.layers[0].send_on(Instant::now(), conn, &chunk(i)) {
            Ok(()) => accepted += 1,
            Err(clicktocall::sip::transport::SendError::QueueFull) => {
                refused = true;
                break;
            }
            Err(e) => panic!("unexpected send error: {e}"),
        }
    }
    assert!(refused, "the queue is bounded");
    let want: Vec<u8> = (0..accepted).flat_map(chunk).collect();
    let (got, eof) = rig.read_peer(&mut peer, want.len());
    assert!(!eof);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "bytes arrive intact and in order");
}

#[test]
fn close_connection_writes_what_is_queued_first() {
    let mut rig = Rig::new(vec![config("127.0.0.1")]);
    let mut peer = peer_to(&rig);
    peer.write_all(&request("bad")).unwrap();
    let conn = rig.expect_message(0).conn.unwrap();
    let answer = b"SIP/2.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    rig.layers[0].send_on(Instant::now(), conn, answer).unwrap();
    rig.layers[0].close_connection(conn);
    let (got, eof) = rig.read_peer(&mut peer, usize::MAX);
    assert_eq!(got, answer);
    assert!(eof);
    assert_eq!(rig.layers[0].connection_count(), 0);
    assert!(
        rig.seen[0].is_empty(),
        "no error for a requested close: {:?}",
        rig.seen[0]
    );
}

#[test]
fn random_bytes_on_streams_and_datagrams_never_stop_the_layer() {
    let mut rig = Rig::new(vec![config("127.0.0.1")]);
    let udp_addr = rig.addr(0, Transport::Udp);
    let udp_peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // xorshift: deterministic noise without a dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..40 {
        let len = (next() % 3000) as usize + 1;
        let mut noise: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 4 == 0 {
            // Plausible starts make the framer work harder than pure noise.
            noise.splice(
                0..0,
                b"INVITE sip:x SIP/2.0\r\nContent-Length: ".iter().copied(),
            );
        }
        let _ = udp_peer.send_to(&noise, udp_addr);
        let mut peer = peer_to(&rig);
        let _ = peer.write_all(&noise);
        rig.run_for(Duration::from_millis(5));
    }
    rig.run_for(Duration::from_millis(50));
    let mut fresh = peer_to(&rig);
    fresh.write_all(&request("after-noise")).unwrap();
    rig.until("the valid message", |rig| {
        rig.seen[0].iter().any(|e| {
            matches!(e, TransportEvent::Received { bytes, .. } if *bytes == request("after-noise"))
        })
    });
}

#[test]
fn one_address_cannot_take_more_than_its_share_of_connections() {
    let mut cfg = config("127.0.0.1");
    cfg.limits.max_connections_per_ip = 3;
    let mut rig = Rig::new(vec![cfg]);
    let mut peers: Vec<TcpStream> = (0..3).map(|_| peer_to(&rig)).collect();
    rig.until("three accepted", |rig| {
        rig.layers[0].connection_count() == 3
    });
    let mut extra = peer_to(&rig);
    let (_, eof) = rig.read_peer(&mut extra, usize::MAX);
    assert!(eof, "a fourth connection from the same address is refused");
    assert_eq!(rig.layers[0].connection_count(), 3);
    peers[0].write_all(&request("first")).unwrap();
    assert_eq!(rig.expect_message(0).bytes, request("first"));
}
