//! UDP transport on loopback: datagrams both ways on IPv4 and IPv6, ICMP port
//! unreachable as a transport error, CRLF keepalives and pongs, oversize datagrams.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use crate::support::{transport_rig::Rig, transport_rig::config, transport_rig::request};
use clicktocall::sip::Transport;
use clicktocall::sip::transport::{
    ErrorKind, KeepaliveIntervals, SendError, Target, TransportEvent,
};

fn round_trip(bind: &str) {
    let mut rig = Rig::new(vec![config(bind), config(bind)]);
    let a = rig.addr(0, Transport::Udp);
    let b = rig.addr(1, Transport::Udp);
    let now = std::time::Instant::now();
    rig.layers[0]
        .send(now, &Target::new(b, Transport::Udp), &request("u1"))
        .unwrap();
    let got = rig.expect_message(1);
    assert_eq!(got.bytes, request("u1"));
    assert_eq!(
        got.source, a,
        "source is the sender's listening socket (rport works)"
    );
    assert_eq!(got.local, b);
    assert_eq!(got.transport, Transport::Udp);
    assert_eq!(got.conn, None);
    // The answer goes back to the source address (RFC 3581 / §18.2.2).
    rig.layers[1]
        .send(
            now,
            &Target::new(got.source, Transport::Udp),
            b"SIP/2.0 200 OK\r\n\r\n",
        )
        .unwrap();
    assert_eq!(rig.expect_message(0).bytes, b"SIP/2.0 200 OK\r\n\r\n");
}

#[test]
fn udp_round_trip_ipv4() {
    round_trip("127.0.0.1");
}

#[test]
fn udp_round_trip_ipv6() {
    round_trip("::1");
}

#[test]
fn udp_to_a_closed_port_reports_icmp_port_unreachable() {
    for bind in ["127.0.0.1", "::1"] {
        let mut rig = Rig::new(vec![config(bind)]);
        let dead: SocketAddr = {
            let s = UdpSocket::bind((bind, 0)).unwrap();
            s.local_addr().unwrap()
        };
        let target = Target::new(dead, Transport::Udp);
        rig.layers[0]
            .send(std::time::Instant::now(), &target, &request("dead"))
            .unwrap();
        let kind = rig.expect_event(0, "ICMP error", |e| match e {
            TransportEvent::Error { target: t, kind } if *t == target => Some(kind.clone()),
            _ => None,
        });
        assert_eq!(kind, ErrorKind::Refused, "{bind}");
    }
}

#[test]
fn udp_ping_gets_pong_and_pongs_are_not_messages() {
    let mut rig = Rig::new(vec![config("127.0.0.1")]);
    let ours = rig.addr(0, Transport::Udp);
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_nonblocking(true).unwrap();
    peer.send_to(b"\r\n\r\n", ours).unwrap();
    peer.send_to(b"\r\n", ours).unwrap();
    let mut buf = [0u8; 64];
    let mut got = None;
    rig.until("pong", |_| match peer.recv_from(&mut buf) {
        Ok((n, from)) => {
            got = Some((buf[..n].to_vec(), from));
            true
        }
        Err(_) => false,
    });
    assert_eq!(got, Some((b"\r\n".to_vec(), ours)));
    rig.run_for(Duration::from_millis(100));
    assert!(
        rig.seen[0].is_empty(),
        "keepalives are not delivered: {:?}",
        rig.seen[0]
    );
}

#[test]
fn udp_keepalives_reach_registered_targets_until_removed() {
    let mut cfg = config("127.0.0.1");
    cfg.keepalives = true;
    cfg.keepalive_intervals = KeepaliveIntervals {
        datagram: Duration::from_millis(50),
        stream: Duration::from_millis(50),
    };
    let mut rig = Rig::new(vec![cfg]);
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_nonblocking(true).unwrap();
    let target = Target::new(peer.local_addr().unwrap(), Transport::Udp);
    rig.layers[0].keepalive_add(std::time::Instant::now(), &target);
    let mut pings = 0;
    let mut buf = [0u8; 64];
    rig.until("two keepalives", |_| {
        while let Ok((n, _)) = peer.recv_from(&mut buf) {
            assert_eq!(&buf[..n], b"\r\n\r\n");
            pings += 1;
        }
        pings >= 2
    });
    rig.layers[0].keepalive_remove(&target);
    while peer.recv_from(&mut buf).is_ok() {}
    rig.run_for(Duration::from_millis(200));
    assert!(
        peer.recv_from(&mut buf).is_err(),
        "no keepalive after removal"
    );
}

#[test]
fn oversize_datagrams_are_dropped_and_refused_for_sending() {
    let mut cfg = config("127.0.0.1");
    cfg.limits.max_message = 1000;
    let mut rig = Rig::new(vec![cfg]);
    let ours = rig.addr(0, Transport::Udp);
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.send_to(&[b'x'; 1001], ours).unwrap();
    peer.send_to(&request("small"), ours).unwrap();
    assert_eq!(rig.expect_message(0).bytes, request("small"));
    assert!(rig.seen[0].is_empty());
    let err = rig.layers[0]
        .send(
            std::time::Instant::now(),
            &Target::new(peer.local_addr().unwrap(), Transport::Udp),
            &[b'x'; 1001],
        )
        .unwrap_err();
    assert_eq!(
        err,
        SendError::TooLarge {
            len: 1001,
            max: 1000
        }
    );
}

#[test]
fn an_ipv4_only_layer_cannot_send_to_ipv6() {
    let mut rig = Rig::new(vec![config("127.0.0.1")]);
    let target = Target::new("[::1]:5060".parse().unwrap(), Transport::Udp);
    let err = rig.layers[0]
        .send(std::time::Instant::now(), &target, b"x")
        .unwrap_err();
    assert!(matches!(err, SendError::NoTransport { .. }), "{err}");
}

#[test]
fn wildcard_bind_listens_on_ipv4_and_ipv6_with_one_port() {
    let mut cfg = config("127.0.0.1");
    cfg.bind = None;
    let mut rig = Rig::new(vec![cfg, config("127.0.0.1"), config("::1")]);
    let addrs = rig.layers[0].local_addrs();
    let port = addrs[0].1.port();
    for transport in [Transport::Udp, Transport::Tcp] {
        for v6 in [false, true] {
            assert!(
                addrs
                    .iter()
                    .any(|(t, a)| *t == transport && a.is_ipv6() == v6 && a.port() == port),
                "{transport} v6={v6} on port {port}: {addrs:?}"
            );
        }
    }
    let now = std::time::Instant::now();
    for (sender, dest) in [(1, "127.0.0.1"), (2, "::1")] {
        let target = Target::new(SocketAddr::new(dest.parse().unwrap(), port), Transport::Udp);
        rig.layers[sender]
            .send(now, &target, &request(dest))
            .unwrap();
        let got = rig.expect_message(0);
        assert_eq!(got.bytes, request(dest));
        assert_eq!(
            got.local, target.addr,
            "the address it was sent to, not the wildcard"
        );
    }
}

#[test]
fn a_burst_longer_than_one_read_budget_is_delivered_in_full() {
    let mut rig = Rig::new(vec![config("127.0.0.1")]);
    let ours = rig.addr(0, Transport::Udp);
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let count = 300;
    for i in 0..count {
        peer.send_to(&request(&format!("burst{i}")), ours).unwrap();
    }
    for i in 0..count {
        assert_eq!(rig.expect_message(0).bytes, request(&format!("burst{i}")));
    }
}

#[test]
fn source_address_for_a_destination() {
    let mut wildcard = config("127.0.0.1");
    wildcard.bind = None;
    let rig = Rig::new(vec![wildcard, config("::1")]);
    let v4: SocketAddr = "127.0.0.1:5060".parse().unwrap();
    let v6: SocketAddr = "[::1]:5060".parse().unwrap();
    assert_eq!(rig.layers[0].source_ip_for(v4), Some(v4.ip()));
    assert_eq!(rig.layers[0].source_ip_for(v6), Some(v6.ip()));
    assert_eq!(
        rig.layers[1].source_ip_for(v4),
        Some(v6.ip()),
        "the configured address"
    );
}
