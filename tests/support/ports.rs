//! Loopback ports: picking free ones and waiting for a process to take one.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

/// A loopback port free for both TCP and UDP at the time of asking (bind port 0,
/// then release it). Another process may take it before we use it; tests are short
/// and the kernel hands out ephemeral ports round-robin, so that is rare.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let Ok(tcp) = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(addr) = tcp.local_addr() else { continue };
        if UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, addr.port())).is_ok() {
            return addr.port();
        }
    }
    panic!("no loopback port free for both TCP and UDP after 100 tries");
}

/// Waits until some process has bound UDP `port` on 127.0.0.1 or the wildcard address,
/// as listed in `/proc/net/udp` (read-only: probing with a bind of our own could steal
/// the port from the process starting up). False if not within `timeout`.
pub fn wait_udp_bound(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if udp_bound(port) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until some process listens on TCP `port` on 127.0.0.1 or the wildcard address
/// (read-only look at `/proc/net/tcp`, as [`wait_udp_bound`]).
pub fn wait_tcp_listening(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if listed("/proc/net/tcp", port, Some("0A")) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// True if `/proc/net/udp` lists a socket bound to 127.0.0.1:`port` or 0.0.0.0:`port`.
fn udp_bound(port: u16) -> bool {
    listed("/proc/net/udp", port, None)
}

/// True if the kernel socket table `path` has a local address 127.0.0.1:`port` or
/// 0.0.0.0:`port`, in `state` (hex, `0A` = TCP LISTEN) when one is given.
fn listed(path: &str, port: u16, state: Option<&str>) -> bool {
    let Ok(table) = std::fs::read_to_string(path) else {
        return false;
    };
    // Lines: "  sl  local_address rem_address ..."; local_address is
    // hex(IPv4 in host byte order):hex(port), e.g. 0100007F:1F90 on little-endian.
    let loopback = format!("{:08X}:{port:04X}", u32::from_ne_bytes([127, 0, 0, 1]));
    let any = format!("00000000:{port:04X}");
    table.lines().skip(1).any(|line| {
        let mut fields = line.split_whitespace();
        let local = fields.nth(1).unwrap_or_default();
        let st = fields.nth(1).unwrap_or_default();
        (local == loopback || local == any) && state.is_none_or(|want| st == want)
    })
}

/// Waits until a TCP connection to 127.0.0.1:`port` succeeds.
pub fn wait_tcp_accepting(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).into();
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}
