//! Ports of peers the harness does not bind itself (SIPp, baresip): a candidate port, and
//! a check that *our* child process holds it. Servers are never given a port: they bind
//! `auto` ports and report them (see `server`); raw peers bind port 0 and keep the socket.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

/// Transport of a socket looked up in the kernel's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Udp,
    /// A listening TCP socket.
    TcpListen,
}

/// A loopback port free for TCP and UDP when asked (bind port 0, release). Only for a
/// program that cannot report the port it bound: the caller must check with
/// [`wait_owned`] that its child got the port, and start again on a new one if not,
/// because another process may take the port in between.
pub fn candidate_port() -> u16 {
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

/// A port nobody listens on, for a destination that must not answer (an ICMP port
/// unreachable or silence is the point). Picked like [`candidate_port`]; a process that
/// took it in between would only get stray requests, never make a test pass wrongly,
/// since every such test expects the call to fail.
pub fn unbound_port() -> u16 {
    candidate_port()
}

/// What became of a child that should bind a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The child `pid` holds a socket on the port.
    Owned,
    /// The child exited (typically "address in use": start again on a new port).
    Exited,
    /// Neither within the time allowed.
    TimedOut,
}

/// Waits until process `pid` holds a socket of `proto` on 127.0.0.1:`port` (or the
/// wildcard), or `exited()` says it ended. Read-only: the socket's inode is looked up in
/// `/proc/net/{udp,tcp}` and searched among `/proc/<pid>/fd`, so another process that
/// took the port is never mistaken for our child, and no probe can steal the port.
pub fn wait_owned(
    pid: u32,
    proto: Proto,
    port: u16,
    timeout: Duration,
    mut exited: impl FnMut() -> bool,
) -> Bound {
    let deadline = Instant::now() + timeout;
    loop {
        if owned(pid, proto, port) {
            return Bound::Owned;
        }
        if exited() {
            return Bound::Exited;
        }
        if Instant::now() >= deadline {
            return Bound::TimedOut;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// True if `pid`, or a child of it (Kamailio's TCP listener lives in a child process),
/// has an open socket of `proto` bound to 127.0.0.1:`port` or 0.0.0.0:`port`.
fn owned(pid: u32, proto: Proto, port: u16) -> bool {
    let inodes = inodes(proto, port);
    if inodes.is_empty() {
        return false;
    }
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let holds = |pid: &str| {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            return false;
        };
        fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| {
                let target = target.to_string_lossy();
                inodes.iter().any(|i| target == format!("socket:[{i}]"))
            })
        })
    };
    holds(&pid.to_string()) || children.split_whitespace().any(holds)
}

/// Inodes of the sockets in the kernel table of `proto` on 127.0.0.1:`port` or
/// 0.0.0.0:`port` (TCP: in state LISTEN only).
fn inodes(proto: Proto, port: u16) -> Vec<String> {
    let (path, state) = match proto {
        Proto::Udp => ("/proc/net/udp", None),
        Proto::TcpListen => ("/proc/net/tcp", Some("0A")),
    };
    let Ok(table) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    // Lines: "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode";
    // local_address is hex(IPv4 in host byte order):hex(port), 0100007F:1F90 on x86.
    let loopback = format!("{:08X}:{port:04X}", u32::from_ne_bytes([127, 0, 0, 1]));
    let any = format!("00000000:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = *fields.get(1)?;
            let st = *fields.get(3)?;
            let inode = *fields.get(9)?;
            ((local == loopback || local == any) && state.is_none_or(|want| st == want))
                .then(|| inode.to_owned())
        })
        .collect()
}
