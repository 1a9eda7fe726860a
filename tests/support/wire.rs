//! Raw TCP helpers with bounded waits: every read has a deadline, every reply a size cap.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::WAIT;

/// Cap on what one test reads from one connection.
const MAX_READ: usize = 4 << 20;

/// A connection with TCP_NODELAY, and a read time-out of [`WAIT`] so a plain `read` in a
/// test cannot hang.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, WAIT)
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    let _ = s.set_nodelay(true);
    let _ = s.set_read_timeout(Some(WAIT));
    s
}

pub fn send(s: &mut TcpStream, data: &[u8]) {
    s.write_all(data).expect("send");
}

/// One read within `timeout`: `Some(bytes)` (empty at end of stream), `None` if nothing
/// arrived in time.
fn read_some(s: &mut TcpStream, timeout: Duration) -> Option<Vec<u8>> {
    let _ = s.set_read_timeout(Some(timeout.max(Duration::from_millis(1))));
    let mut chunk = [0u8; 16 * 1024];
    match s.read(&mut chunk) {
        Ok(n) => Some(chunk.get(..n).unwrap_or_default().to_vec()),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
            ) =>
        {
            None
        }
        // A reset after the peer's last bytes counts as the end of the stream.
        Err(_) => Some(Vec::new()),
    }
}

/// Reads exactly `n` bytes (panics with what came if they do not arrive within [`WAIT`]).
pub fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let deadline = Instant::now() + WAIT;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let now = Instant::now();
        assert!(
            now < deadline,
            "only {} of {n} bytes within {WAIT:?}: {:?}",
            out.len(),
            String::from_utf8_lossy(&out)
        );
        let _ = s.set_read_timeout(Some(deadline - now));
        let mut chunk = vec![0u8; n - out.len()];
        match s.read(&mut chunk) {
            Ok(0) => panic!(
                "connection closed after {} of {n} bytes: {:?}",
                out.len(),
                String::from_utf8_lossy(&out)
            ),
            Ok(k) => out.extend_from_slice(chunk.get(..k).unwrap_or_default()),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) => panic!("read: {e}; got so far {:?}", String::from_utf8_lossy(&out)),
        }
    }
    out
}

/// Reads `expected.len()` bytes and compares them with `expected` as text.
pub fn expect_bytes(s: &mut TcpStream, expected: &str) {
    let got = read_n(s, expected.len());
    assert_eq!(String::from_utf8_lossy(&got), expected);
}

/// Everything until the server closes the connection (bounded by `timeout`).
pub fn read_to_close(s: &mut TcpStream, timeout: Duration) -> Vec<u8> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    loop {
        let now = Instant::now();
        assert!(
            now < deadline,
            "connection not closed within {timeout:?}; got {:?}",
            String::from_utf8_lossy(&out)
        );
        match read_some(s, deadline - now) {
            Some(bytes) if bytes.is_empty() => return out,
            Some(bytes) => {
                out.extend_from_slice(&bytes);
                assert!(out.len() <= MAX_READ, "more than {MAX_READ} bytes");
            }
            None => {}
        }
    }
}

/// True if nothing arrives within `quiet` (the connection may stay open or close).
pub fn nothing_within(s: &mut TcpStream, quiet: Duration) -> bool {
    let quiet = match read_some(s, quiet) {
        None => true,
        Some(bytes) => bytes.is_empty(),
    };
    let _ = s.set_read_timeout(Some(WAIT));
    quiet
}

/// True if nothing arrives within `quiet` and the connection is still open (a close
/// counts as something).
pub fn silent_and_open(s: &mut TcpStream, quiet: Duration) -> bool {
    let silent = read_some(s, quiet).is_none();
    let _ = s.set_read_timeout(Some(WAIT));
    silent
}

/// A TCP connection to 127.0.0.1:`port` from `source` (any address of 127.0.0.0/8: the
/// whole block is loopback on Linux), for access-list tests; read time-out [`WAIT`].
pub fn connect_from(source: std::net::Ipv4Addr, port: u16) -> TcpStream {
    use std::net::Ipv4Addr;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let sockaddr = |ip: Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(ip.octets()),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let local = sockaddr(source, 0);
    // SAFETY: `local` is an initialised sockaddr_in of length `len`.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&local as *const libc::sockaddr_in).cast(),
            len,
        )
    };
    assert_eq!(rc, 0, "bind {source}: {}", std::io::Error::last_os_error());
    let remote = sockaddr(Ipv4Addr::LOCALHOST, port);
    // SAFETY: as above.
    let rc = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&remote as *const libc::sockaddr_in).cast(),
            len,
        )
    };
    assert_eq!(
        rc,
        0,
        "connect to {port}: {}",
        std::io::Error::last_os_error()
    );
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    s
}

/// Reads from any stream (TCP, TLS) until `done` says the text so far is enough, the peer
/// closes, a read fails, or [`WAIT`] passes; returns what came.
pub fn read_until(s: &mut impl Read, done: impl Fn(&str) -> bool) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline && !done(&String::from_utf8_lossy(&buf)) {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
        assert!(buf.len() <= MAX_READ, "more than {MAX_READ} bytes");
    }
    String::from_utf8_lossy(&buf).into_owned()
}
