//! One UDP socket: whole datagrams in and out (RFC 3261 §18.1.1, §18.2.1), ICMP errors
//! from its error queue, and CRLF keepalive pings answered in kind.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use log::{debug, info, trace};

use super::event::{ErrorKind, SendError, Target, TransportEvent};
use super::icmp::read_error_queue;
use super::keepalive::{PING, PONG};
use crate::sip::Transport;
use crate::sys::socket::recv_datagram;

/// Datagrams read per readiness event before yielding to the rest of the reactor; the
/// remainder is read on the next `handle_timeout`.
pub(super) const READ_BUDGET: usize = 256;
/// Receive errors in a row after which reading stops until the next readiness event.
const MAX_FAILURES: usize = 8;
/// Error-queue entries read in one go.
const ERROR_BUDGET: usize = 64;

pub(super) struct UdpEndpoint {
    pub socket: mio::net::UdpSocket,
    pub local: SocketAddr,
}

/// Whether reading stopped because the socket is empty or because the budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Drained {
    Empty,
    MoreLeft,
}

impl UdpEndpoint {
    pub(super) fn new(socket: std::net::UdpSocket) -> io::Result<Self> {
        let local = socket.local_addr()?;
        Ok(UdpEndpoint {
            socket: mio::net::UdpSocket::from_std(socket),
            local,
        })
    }

    /// Reads what is waiting: error-queue reports first, then datagrams (at most
    /// `READ_BUDGET`). `scratch` is at least `max_message` bytes; longer datagrams are
    /// dropped.
    pub(super) fn read(
        &mut self,
        scratch: &mut [u8],
        max_message: usize,
        events: &mut VecDeque<TransportEvent>,
    ) -> Drained {
        self.drain_errors(events);
        let mut failures = 0;
        for _ in 0..READ_BUDGET {
            match recv_datagram(self.socket.as_raw_fd(), scratch) {
                Ok(d) if d.truncated => {
                    info!(target: "sip::transport",
                        "dropping UDP datagram from {}: larger than {max_message} bytes", d.source);
                }
                Ok(d) => {
                    let local = match d.dest {
                        Some(ip) if self.local.ip().is_unspecified() => {
                            SocketAddr::new(ip, self.local.port())
                        }
                        _ => self.local,
                    };
                    let data = scratch.get(..d.len).unwrap_or_default();
                    self.on_datagram(data, d.source, local, max_message, events);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Drained::Empty,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // With IP_RECVERR a pending ICMP error is also returned once by
                    // recvfrom; the details are on the error queue.
                    debug!(target: "sip::transport", "UDP {} receive error: {e}", self.local);
                    self.drain_errors(events);
                    // An error that does not go away must not keep the loop busy.
                    failures += 1;
                    if failures >= MAX_FAILURES {
                        return Drained::Empty;
                    }
                }
            }
        }
        Drained::MoreLeft
    }

    fn on_datagram(
        &self,
        data: &[u8],
        source: SocketAddr,
        local: SocketAddr,
        max_message: usize,
        events: &mut VecDeque<TransportEvent>,
    ) {
        if data.len() > max_message {
            info!(target: "sip::transport",
                "dropping UDP datagram from {source}: larger than {max_message} bytes");
            return;
        }
        // RFC 5626 §4.4.1 defines STUN for UDP keepalives, but the C++ original's peers
        // send CRLFCRLF on UDP too; answer it like on a stream.
        if data == PING {
            trace!(target: "sip::transport", "UDP keepalive ping from {source}");
            if let Err(e) = self.socket.send_to(PONG, source) {
                debug!(target: "sip::transport", "UDP pong to {source} failed: {e}");
            }
            return;
        }
        if data.iter().all(|&b| b == b'\r' || b == b'\n') {
            // A pong or stray line ends: nothing for the message layer.
            return;
        }
        trace!(target: "sip::transport", "UDP {} bytes from {source}", data.len());
        events.push_back(TransportEvent::Received {
            bytes: data.to_vec(),
            source,
            transport: Transport::Udp,
            local,
            conn: None,
        });
    }

    /// Turns ICMP reports into `Error` events for the destinations they name.
    pub(super) fn drain_errors(&self, events: &mut VecDeque<TransportEvent>) {
        for _ in 0..ERROR_BUDGET {
            match read_error_queue(self.socket.as_raw_fd()) {
                Ok(None) => return,
                Ok(Some(report)) => {
                    debug!(target: "sip::transport",
                        "UDP {} error queue: {:?} errno {} ICMP type {} code {}",
                        self.local, report.dest, report.errno, report.icmp_type, report.icmp_code);
                    if let (Some(dest), Some(kind)) = (report.dest, report.kind()) {
                        events.push_back(TransportEvent::Error {
                            target: Target::new(dest, Transport::Udp),
                            kind,
                        });
                    }
                }
                Err(e) => {
                    debug!(target: "sip::transport", "UDP {} error queue unreadable: {e}", self.local);
                    return;
                }
            }
        }
    }

    /// Sends one datagram. A full socket buffer drops it (the transaction layer
    /// retransmits); an error left by an earlier ICMP report is collected and the send
    /// retried once.
    pub(super) fn send(
        &self,
        bytes: &[u8],
        dest: SocketAddr,
        events: &mut VecDeque<TransportEvent>,
    ) -> Result<(), SendError> {
        let mut retried = false;
        loop {
            match self.socket.send_to(bytes, dest) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    debug!(target: "sip::transport", "UDP send buffer full, dropped a datagram to {dest}");
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if !retried && is_pending_icmp(&e) => {
                    retried = true;
                    self.drain_errors(events);
                }
                Err(e) => return Err(SendError::Io(ErrorKind::from_io(&e))),
            }
        }
    }
}

fn is_pending_icmp(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNREFUSED | libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EHOSTDOWN)
    )
}
