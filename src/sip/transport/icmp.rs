//! ICMP errors for UDP, read from the socket's error queue (IP_RECVERR, IPV6_RECVERR;
//! Linux `ip(7)`). Without this a dead UDP target is only noticed after Timer B/F's
//! 32 s; with it, port and host unreachable become transport errors at once, which lets
//! RFC 3263 §4.3 fail-over happen within a second.

use super::event::ErrorKind;
pub(super) use crate::sys::errqueue::{ErrorReport, read_error_queue};

impl ErrorReport {
    /// The transport error this report means for its destination, or `None` for reports
    /// that do not make the destination unusable (for example "fragmentation needed").
    pub(crate) fn kind(&self) -> Option<ErrorKind> {
        if !matches!(
            self.origin,
            libc::SO_EE_ORIGIN_ICMP | libc::SO_EE_ORIGIN_ICMP6 | libc::SO_EE_ORIGIN_LOCAL
        ) {
            return None;
        }
        match self.errno {
            // ICMP port unreachable (type 3 code 3, ICMPv6 type 1 code 4).
            libc::ECONNREFUSED => Some(ErrorKind::Refused),
            // Host, network, or administratively prohibited.
            libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EHOSTDOWN | libc::EACCES => {
                Some(ErrorKind::Unreachable)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(origin: u8, errno: i32) -> ErrorReport {
        ErrorReport {
            dest: None,
            errno,
            origin,
            icmp_type: 3,
            icmp_code: 3,
        }
    }

    #[test]
    fn port_and_host_unreachable_are_errors() {
        assert_eq!(
            report(libc::SO_EE_ORIGIN_ICMP, libc::ECONNREFUSED).kind(),
            Some(ErrorKind::Refused)
        );
        assert_eq!(
            report(libc::SO_EE_ORIGIN_ICMP6, libc::EHOSTUNREACH).kind(),
            Some(ErrorKind::Unreachable)
        );
    }

    #[test]
    fn path_mtu_and_unknown_origins_are_not() {
        assert_eq!(report(libc::SO_EE_ORIGIN_ICMP, libc::EMSGSIZE).kind(), None);
        assert_eq!(
            report(libc::SO_EE_ORIGIN_NONE, libc::ECONNREFUSED).kind(),
            None
        );
    }

    #[test]
    fn empty_queue_reads_none() {
        use std::os::fd::AsRawFd;
        let sock = crate::sys::socket::bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
        assert_eq!(read_error_queue(sock.as_raw_fd()).unwrap(), None);
    }
}
