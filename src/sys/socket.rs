//! Socket set-up std and mio do not offer: IPV6_V6ONLY before bind (so v4 and v6 can
//! share a port), IP_RECVERR for ICMP reports, IP_PKTINFO for a datagram's destination,
//! and a non-blocking connect from a chosen source address. Used by the SIP transports
//! and the HTTP/XML listeners.

use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A `sockaddr_storage` filled from `addr`, with its length.
pub(crate) fn to_sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
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
pub(crate) fn from_sockaddr(
    storage: &libc::sockaddr_storage,
    len: libc::socklen_t,
) -> Option<SocketAddr> {
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

pub(crate) fn set_int_opt(
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

/// The value of an integer socket option.
#[cfg(test)]
pub(crate) fn int_opt(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live locals of the sizes the call is told.
    cvt(unsafe { libc::getsockopt(fd, level, name, (&raw mut value).cast(), &raw mut len) })?;
    Ok(value)
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

/// Receive buffer asked for on UDP sockets.
const UDP_RCVBUF: libc::c_int = 1024 * 1024;

/// A non-blocking UDP socket bound to `addr`, reporting ICMP errors on its error queue
/// (IP_RECVERR / IPV6_RECVERR).
pub(crate) fn bind_udp(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let fd = new_socket(&addr, libc::SOCK_DGRAM)?;
    bind(&fd, addr)?;
    let raw = fd.as_raw_fd();
    // Bursts of requests under load outrun the default buffer; a larger one is only a
    // request to the kernel, so failure is not an error.
    let _ = set_int_opt(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, UDP_RCVBUF);
    if addr.is_ipv4() {
        set_int_opt(raw, libc::IPPROTO_IP, libc::IP_RECVERR, 1)?;
    } else {
        set_int_opt(raw, libc::IPPROTO_IPV6, libc::IPV6_RECVERR, 1)?;
    }
    if addr.ip().is_unspecified() {
        // On a wildcard socket, ask for each datagram's destination address so the
        // layer can say which local address a request reached.
        if addr.is_ipv4() {
            set_int_opt(raw, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
        } else {
            set_int_opt(raw, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
        }
    }
    Ok(std::net::UdpSocket::from(fd))
}

/// A non-blocking TCP listener on `addr`.
pub(crate) fn listen_tcp(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
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
pub(crate) fn connect_tcp(
    remote: SocketAddr,
    local: Option<IpAddr>,
) -> io::Result<mio::net::TcpStream> {
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

/// One received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Datagram {
    pub len: usize,
    pub source: SocketAddr,
    /// The address it was sent to, when the socket reports it (wildcard sockets).
    pub dest: Option<IpAddr>,
    /// The datagram was longer than the buffer.
    pub truncated: bool,
}

/// Receives one datagram with its destination address (IP_PKTINFO / IPV6_PKTINFO).
pub(crate) fn recv_datagram(fd: RawFd, buf: &mut [u8]) -> io::Result<Datagram> {
    // SAFETY: sockaddr_storage is plain data; all-zero is valid.
    let mut name: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 16];
    // SAFETY: msghdr is plain data; all-zero is valid and the fields are set below.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&raw mut name).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of_val(&control) as _;
    // SAFETY: every pointer in msg refers to a live buffer of the stated size.
    let n = unsafe { libc::recvmsg(fd, &raw mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let source = from_sockaddr(&name, msg.msg_namelen)
        .ok_or_else(|| io::Error::other("datagram from a non-IP address"))?;
    let mut dest = None;
    // SAFETY: msg was filled by recvmsg; the CMSG_* helpers stay within
    // msg_controllen and the payloads are read unaligned after a length check.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        while !cmsg.is_null() {
            let (level, ty, len) = (
                (*cmsg).cmsg_level,
                (*cmsg).cmsg_type,
                (*cmsg).cmsg_len as usize,
            );
            if level == libc::IPPROTO_IP
                && ty == libc::IP_PKTINFO
                && len >= libc::CMSG_LEN(mem::size_of::<libc::in_pktinfo>() as u32) as usize
            {
                let info: libc::in_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                dest = Some(IpAddr::from(info.ipi_addr.s_addr.to_ne_bytes()));
            } else if level == libc::IPPROTO_IPV6
                && ty == libc::IPV6_PKTINFO
                && len >= libc::CMSG_LEN(mem::size_of::<libc::in6_pktinfo>() as u32) as usize
            {
                let info: libc::in6_pktinfo =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                dest = Some(IpAddr::from(info.ipi6_addr.s6_addr));
            }
            cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
        }
    }
    Ok(Datagram {
        len: (n as usize).min(buf.len()),
        source,
        dest,
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
    })
}

/// Whether a bind failure means "this host has no IPv6", which is not an error for a
/// wildcard bind (as the original: v6 transports only where the host has v6).
pub(crate) fn is_no_ipv6(err: &io::Error) -> bool {
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
