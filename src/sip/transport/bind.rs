//! Opening the listeners: UDP and TCP on one port, TLS on another, on the configured
//! address or on every interface for IPv4 and — when the host has it — IPv6.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use log::info;

use super::event::BindError;
use crate::sip::Transport;
use crate::sys::socket::{bind_udp, is_no_ipv6, listen_tcp};

/// The sockets of a started layer.
pub(super) struct Bound {
    pub udp: Vec<std::net::UdpSocket>,
    pub tcp: Vec<std::net::TcpListener>,
    pub tls: Vec<std::net::TcpListener>,
}

/// How often a port-0 bind is retried when the port the first socket got is taken for
/// the others.
const EPHEMERAL_ATTEMPTS: usize = 16;

/// Binds UDP and TCP on `udp_tcp_port`, and TLS on `tls_port` when `with_tls`.
pub(super) fn bind_all(
    bind: Option<IpAddr>,
    udp_tcp_port: u16,
    tls_port: u16,
    with_tls: bool,
) -> Result<Bound, BindError> {
    let wildcard = bind.is_none();
    let ips: Vec<IpAddr> = match bind {
        Some(ip) => vec![ip],
        None => vec![
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ],
    };
    let (udp, tcp) = with_retry(udp_tcp_port, || {
        bind_family_set(&ips, udp_tcp_port, true, wildcard)
    })?;
    let tls = if with_tls {
        with_retry(tls_port, || {
            bind_family_set(&ips, tls_port, false, wildcard)
        })?
        .1
    } else {
        Vec::new()
    };
    Ok(Bound { udp, tcp, tls })
}

type Sockets = (Vec<std::net::UdpSocket>, Vec<std::net::TcpListener>);

/// Port 0 lets the first socket pick; a clash on the others is retried with a new pick.
fn with_retry(
    port: u16,
    mut attempt: impl FnMut() -> Result<Sockets, BindError>,
) -> Result<Sockets, BindError> {
    let mut tries = 0;
    loop {
        match attempt() {
            Err(e)
                if port == 0
                    && e.source.kind() == io::ErrorKind::AddrInUse
                    && tries < EPHEMERAL_ATTEMPTS =>
            {
                tries += 1;
            }
            other => return other,
        }
    }
}

/// UDP (when `with_udp`) and a TCP listener on each address, all on one port.
fn bind_family_set(
    ips: &[IpAddr],
    port: u16,
    with_udp: bool,
    wildcard: bool,
) -> Result<Sockets, BindError> {
    let mut port = port;
    let mut udp = Vec::new();
    let mut tcp = Vec::new();
    let kinds: &[Transport] = if with_udp {
        &[Transport::Udp, Transport::Tcp]
    } else {
        &[Transport::Tls]
    };
    'families: for &ip in ips {
        for &transport in kinds {
            let addr = SocketAddr::new(ip, port);
            let result = if transport == Transport::Udp {
                bind_udp(addr).and_then(|s| {
                    let local = s.local_addr()?;
                    udp.push(s);
                    Ok(local)
                })
            } else {
                listen_tcp(addr).and_then(|s| {
                    let local = s.local_addr()?;
                    tcp.push(s);
                    Ok(local)
                })
            };
            match result {
                Ok(local) => {
                    // Port 0: every later socket takes the port the first one got.
                    port = local.port();
                    info!(target: "sip::transport", "listening on {transport} {local}");
                }
                // Only the first v6 socket can meet this: a host without IPv6 fails at
                // once, so nothing of the family is left half-open.
                Err(e) if wildcard && ip.is_ipv6() && is_no_ipv6(&e) => {
                    info!(target: "sip::transport", "no IPv6 on this host ({e}); IPv4 only");
                    continue 'families;
                }
                Err(source) => {
                    return Err(BindError {
                        transport,
                        addr,
                        source,
                    });
                }
            }
        }
    }
    Ok((udp, tcp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_gives_udp_and_tcp_one_port() {
        let bound = bind_all(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), 0, 0, true).unwrap();
        let udp = bound.udp[0].local_addr().unwrap();
        let tcp = bound.tcp[0].local_addr().unwrap();
        assert_eq!(udp.port(), tcp.port());
        assert_ne!(udp.port(), 0);
        assert_eq!(bound.tls.len(), 1);
    }

    #[test]
    fn a_taken_port_names_address_and_port() {
        let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = bind_all(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), port, 0, false)
            .err()
            .expect("bind must fail");
        assert_eq!(err.transport, Transport::Udp);
        let text = err.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    }
}
