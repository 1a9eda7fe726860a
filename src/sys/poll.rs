//! poll(2) over a few descriptors, for threads that wait on more than one socket.

use std::io;
use std::os::fd::RawFd;

/// What to wait for on one descriptor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interest {
    pub fd: RawFd,
    pub readable: bool,
    pub writable: bool,
}

/// Blocks until one of the descriptors is ready for what it asks (or has an error or
/// hang-up, which the next read or write reports). An interrupted wait returns as if
/// something were ready: the caller tries its reads and writes again either way.
pub(crate) fn wait(interests: &[Interest]) -> io::Result<()> {
    let mut fds: Vec<libc::pollfd> = interests
        .iter()
        .map(|i| libc::pollfd {
            fd: i.fd,
            events: (if i.readable { libc::POLLIN } else { 0 })
                | (if i.writable { libc::POLLOUT } else { 0 }),
            revents: 0,
        })
        .collect();
    // SAFETY: `fds` is a live, initialised array of pollfd and its exact length is passed.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}
