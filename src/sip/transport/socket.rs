//! Socket set-up std and mio do not offer: IPV6_V6ONLY before bind (so v4 and v6 can
//! share a port), IP_RECVERR for ICMP reports, and a non-blocking connect from a chosen
//! source address. Everything unsafe in the transport layer lives here and in `icmp`.

use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A `sockaddr_storage` filled from `addr`, with its length.
pub fn to_sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in>(), sin) };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in6>(), sin6) };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// The address in a `sockaddr_storage` the kernel filled, if it is IPv4 or IPv6.
pub fn from_sockaddr(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match i32::from(storage.ss_family) {
        libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in, and it is long enough.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = std::net::Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family says the storage holds a sockaddr_in6, and it is long enough.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn new_socket(addr: &SocketAddr, ty: libc::c_int) -> io::Result<OwnedFd> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain system call; the returned descriptor is owned by the OwnedFd.
    let fd =
        cvt(unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: fd was just returned by socket() and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn set_int_opt(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the option value is a c_int that lives for the duration of the call.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&raw const value).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

fn bind(fd: &OwnedFd, addr: SocketAddr) -> io::Result<()> {
    if addr.is_ipv6() {
        // v4 and v6 listeners share the port on a wildcard bind, so the v6 socket must
        // not also claim the v4 space.
        set_int_opt(fd.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
    }
    let (storage, len) = to_sockaddr(addr);
    // SAFETY: storage holds a valid sockaddr of `len` bytes.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), (&raw const storage).cast(), len) }).map(drop)
}

/// A non-blocking UDP socket bound to `addr`, reporting ICMP errors on its error queue
/// (IP_RECVERR / IPV6_RECVERR).
pub fn bind_udp(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let fd = new_socket(&addr, libc::SOCK_DGRAM)?;
    bind(&fd, addr)?;
    if addr.is_ipv4() {
        set_int_opt(fd.as_raw_fd(), libc::IPPROTO_IP, libc::IP_RECVERR, 1)?;
    } else {
        set_int_opt(fd.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_RECVERR, 1)?;
    }
    Ok(std::net::UdpSocket::from(fd))
}

/// A non-blocking TCP listener on `addr`.
pub fn listen_tcp(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let fd = new_socket(&addr, libc::SOCK_STREAM)?;
    // A restarted server must not wait for old connections' TIME_WAIT to end.
    set_int_opt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    bind(&fd, addr)?;
    // SAFETY: plain system call on a descriptor we own.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), 1024) })?;
    Ok(std::net::TcpListener::from(fd))
}

/// Starts a non-blocking TCP connect to `remote`, from `local` (port chosen by the
/// kernel) when given. Completion is signalled by writability.
pub fn connect_tcp(remote: SocketAddr, local: Option<IpAddr>) -> io::Result<mio::net::TcpStream> {
    let fd = new_socket(&remote, libc::SOCK_STREAM)?;
    if let Some(ip) = local.filter(|ip| !ip.is_unspecified()) {
        bind(&fd, SocketAddr::new(ip, 0))?;
    }
    let (storage, len) = to_sockaddr(remote);
    // SAFETY: storage holds a valid sockaddr of `len` bytes.
    let ret = unsafe { libc::connect(fd.as_raw_fd(), (&raw const storage).cast(), len) };
    if ret < 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(err);
        }
    }
    let stream = mio::net::TcpStream::from_std(std::net::TcpStream::from(fd));
    // SIP messages are written whole; waiting for more data only adds latency.
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Whether a bind failure means "this host has no IPv6", which is not an error for a
/// wildcard bind (as the original: v6 transports only where the host has v6).
pub fn is_no_ipv6(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL | libc::EPROTONOSUPPORT)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_round_trip_v4_and_v6() {
        for text in ["127.0.0.1:5060", "[::1]:5061", "[fe80::1%2]:7"] {
            let addr: SocketAddr = text.parse().unwrap();
            let (storage, len) = to_sockaddr(addr);
            assert_eq!(from_sockaddr(&storage, len), Some(addr), "{text}");
        }
        let (storage, _) = to_sockaddr("127.0.0.1:1".parse().unwrap());
        assert_eq!(from_sockaddr(&storage, 3), None, "short length rejected");
    }

    #[test]
    fn v4_and_v6_udp_share_a_port() {
        let v4 = bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = v4.local_addr().unwrap().port();
        match bind_udp(SocketAddr::new("::".parse().unwrap(), port)) {
            Ok(v6) => assert_eq!(v6.local_addr().unwrap().port(), port),
            Err(e) => assert!(is_no_ipv6(&e), "{e}"),
        }
    }
}
