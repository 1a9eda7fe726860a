//! The error queue of a UDP socket (IP_RECVERR, IPV6_RECVERR; Linux `ip(7)`): the ICMP
//! errors the kernel matched to datagrams we sent.

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::os::fd::RawFd;

use super::socket::from_sockaddr;

/// One entry of a UDP socket's error queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorReport {
    /// Where the datagram that failed was sent.
    pub dest: Option<SocketAddr>,
    /// The errno the kernel derived from the ICMP message.
    pub errno: i32,
    pub origin: u8,
    pub icmp_type: u8,
    pub icmp_code: u8,
}

/// Takes one report off the error queue of `fd`; `Ok(None)` when the queue is empty.
pub(crate) fn read_error_queue(fd: RawFd) -> io::Result<Option<ErrorReport>> {
    // SAFETY: sockaddr_storage is plain data; all-zero is valid.
    let mut name: libc::sockaddr_storage = unsafe { mem::zeroed() };
    // The returned payload (our own datagram) is not needed; a short buffer truncates it.
    let mut data = [0u8; 64];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 64];
    // SAFETY: msghdr is plain data; all-zero is valid and the fields are set below.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&raw mut name).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of_val(&control) as _;
    // SAFETY: every pointer in msg refers to a live local buffer of the stated size.
    let ret = unsafe { libc::recvmsg(fd, &raw mut msg, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) };
    if ret < 0 {
        let err = io::Error::last_os_error();
        return if err.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(err)
        };
    }
    let dest = from_sockaddr(&name, msg.msg_namelen);
    let mut report = None;
    // SAFETY: msg was filled by recvmsg; the CMSG_* helpers walk its control buffer
    // within msg_controllen, and the payload is read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        while !cmsg.is_null() {
            let level = (*cmsg).cmsg_level;
            let ty = (*cmsg).cmsg_type;
            let is_err = (level == libc::IPPROTO_IP && ty == libc::IP_RECVERR)
                || (level == libc::IPPROTO_IPV6 && ty == libc::IPV6_RECVERR);
            let payload = (*cmsg).cmsg_len as usize;
            if is_err
                && payload
                    >= libc::CMSG_LEN(mem::size_of::<libc::sock_extended_err>() as u32) as usize
            {
                let ee: libc::sock_extended_err =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                report = Some(ErrorReport {
                    dest,
                    errno: ee.ee_errno as i32,
                    origin: ee.ee_origin,
                    icmp_type: ee.ee_type,
                    icmp_code: ee.ee_code,
                });
            }
            cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
        }
    }
    Ok(Some(report.unwrap_or(ErrorReport {
        dest,
        errno: 0,
        origin: libc::SO_EE_ORIGIN_NONE,
        icmp_type: 0,
        icmp_code: 0,
    })))
}
