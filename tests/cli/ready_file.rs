//! `--ready-file` and `auto` ports: the file lists every bound listener once they all
//! accept, the `auto` ports are distinct and work, and the file is written atomically.

use std::net::{SocketAddr, TcpStream, UdpSocket};

use crate::support::WAIT;
use crate::support::server::{Ready, Server, ServerConfig};
use crate::support::sip::{Msg, options};
use crate::support::tls::self_signed_cert;
use crate::support::tmp::TempDir;

#[test]
fn ready_file_lists_every_listener_on_distinct_working_auto_ports() {
    let dir = TempDir::new("ready-all");
    let (cert, key) = self_signed_cert(dir.path());
    let mut config = ServerConfig::reactor();
    config.http = true;
    config.tls_domain = Some("localhost".into());
    config.files.push((
        "domain_cert_localhost.pem".into(),
        std::fs::read(&cert).expect("certificate"),
    ));
    config.files.push((
        "domain_key_localhost.pem".into(),
        std::fs::read(&key).expect("key"),
    ));
    let server = Server::start(dir.path(), &config);
    let ready = &server.ready;

    assert_eq!(ready.pid, server.pid());
    let mut names: Vec<&str> = ready.listeners.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    // IPAddress 127.0.0.1 for SIP; the API listens on every interface (IPv4 and IPv6
    // where the host has it), so http and xml may appear twice.
    names.dedup();
    assert_eq!(
        names,
        ["http", "sip-tcp", "sip-tls", "sip-udp", "xml"],
        "{ready:?}"
    );
    for (name, addr) in &ready.listeners {
        assert_ne!(addr.port(), 0, "{name} reported port 0");
    }
    // UDP and TCP share one number, as operators expect of UDPTCPPort.
    assert_eq!(ready.port("sip-udp"), ready.port("sip-tcp"));
    assert_eq!(
        ready.addrs("sip-udp"),
        vec![SocketAddr::from(([127, 0, 0, 1], ready.port("sip-udp")))]
    );
    let mut ports = vec![
        ready.port("sip-udp"),
        ready.port("sip-tls"),
        ready.port("xml"),
        ready.port("http"),
    ];
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 4, "listeners share a port: {ready:?}");
    // Every address of a listener has its one port.
    for name in ["http", "xml"] {
        let addrs = ready.addrs(name);
        assert!(
            addrs.iter().all(|a| a.port() == ready.port(name)),
            "{addrs:?}"
        );
    }

    // Each one works: SIP over UDP answers OPTIONS, the TCP ones accept.
    let peer = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP peer");
    peer.set_read_timeout(Some(WAIT)).expect("timeout");
    let via = peer.local_addr().expect("addr").to_string();
    let request = options("sip:probe@127.0.0.1", &via, "ready1", "ready-file-1");
    peer.send_to(request.as_bytes(), server.sip_addr())
        .expect("send OPTIONS");
    let mut buf = [0u8; 65_536];
    let (n, from) = peer.recv_from(&mut buf).expect("an answer to OPTIONS");
    assert_eq!(from, server.sip_addr());
    assert_eq!(Msg::new(&buf[..n]).status(), Some(200));
    for name in ["sip-tcp", "sip-tls", "xml", "http"] {
        let addr = SocketAddr::from(([127, 0, 0, 1], ready.port(name)));
        TcpStream::connect_timeout(&addr, WAIT)
            .unwrap_or_else(|e| panic!("{name} on {addr} does not accept: {e}"));
    }
    // Renamed into place: no temporary file is left.
    assert!(!dir.path().join("ready.tmp").exists());
}

#[test]
fn wildcard_address_lists_ipv4_and_ipv6_sip_listeners_on_one_port() {
    let dir = TempDir::new("ready-wild");
    let config = ServerConfig {
        ip_address: String::new(),
        ..ServerConfig::reactor()
    };
    let server = Server::start(dir.path(), &config);
    let ready = &server.ready;
    let udp = ready.addrs("sip-udp");
    assert!(
        udp.iter().any(|a| a.ip().is_unspecified() && a.is_ipv4()),
        "{ready:?}"
    );
    // The host may lack IPv6 (then the server runs IPv4 only); where it has it, the v6
    // listener is listed too, on the same port.
    if std::net::UdpSocket::bind("[::1]:0").is_ok() {
        assert!(udp.iter().any(SocketAddr::is_ipv6), "{ready:?}");
        assert!(
            ready.addrs("sip-tcp").iter().any(SocketAddr::is_ipv6),
            "{ready:?}"
        );
    }
    for name in ["sip-udp", "sip-tcp"] {
        let addrs = ready.addrs(name);
        assert!(
            addrs.iter().all(|a| a.port() == ready.port("sip-udp")),
            "{addrs:?}"
        );
    }
    // HttpPort 0 keeps its legacy meaning: no HTTP listener at all.
    assert!(ready.addrs("http").is_empty(), "{ready:?}");
}

#[test]
fn two_servers_on_auto_ports_get_different_ports() {
    let (a, b) = (TempDir::new("ready-a"), TempDir::new("ready-b"));
    let one = Server::start(a.path(), &ServerConfig::api());
    let two = Server::start(b.path(), &ServerConfig::api());
    for name in ["sip-udp", "xml", "http"] {
        assert_ne!(one.ready.port(name), two.ready.port(name), "{name}");
    }
}

#[test]
fn no_ready_file_when_a_port_cannot_be_bound() {
    let dir = TempDir::new("ready-busy");
    let taken = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port");
    let port = taken.local_addr().expect("addr").port().to_string();
    let config = crate::support::server::minimal_config(&dir, "");
    let mut server = Server::spawn(
        dir.path(),
        &["-c", config.to_str().expect("utf-8"), "-sp", &port],
    );
    let status = server.expect_exit();
    assert_eq!(status.code(), Some(2), "{}", server.stderr());
    assert!(!dir.path().join("ready").exists());
    assert!(!dir.path().join("ready.tmp").exists());
}

#[test]
fn ready_file_text_is_one_listener_per_line_then_the_pid() {
    let ready =
        Ready::parse("sip-udp 127.0.0.1:40001\nsip-tcp 127.0.0.1:40001\nxml [::]:40002\npid 77\n")
            .expect("parses");
    assert_eq!(ready.pid, 77);
    assert_eq!(ready.port("sip-tcp"), 40001);
    assert_eq!(ready.port("xml"), 40002);
    assert!(
        Ready::parse("sip-udp 127.0.0.1:40001\n").is_none(),
        "no pid line"
    );
}
