//! The TLS front doors (`HttpsPort`, `XmlTlsPort`): the connection thread makes the TLS
//! handshake within a time-out, then relays plain text between the TLS session and one end
//! of a local socket pair; the HTTP or XML server serves the other end exactly as it
//! serves a TCP connection. One relay serves both protocols, and the XML server's split
//! into a reader and a writer thread (which a TLS session cannot be shared between) keeps
//! working unchanged.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use log::debug;
use openssl::ssl::{ErrorCode, SslAcceptor, SslFiletype, SslMethod, SslStream, SslVersion};

use super::listen::{ConnectionHandler, ConnectionSlot};
use super::stream::ApiStream;
use crate::sys::poll::{self, Interest};

/// Plain text buffered each way before the relay stops reading that side (back-pressure).
const RELAY_BUFFER: usize = 64 * 1024;
const SERVED_STACK: usize = 512 * 1024;

/// Certificate chain and private key files (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// The SIP TLS transport's files for `domain` in `dir`: `domain_cert_<domain>.pem`
    /// and `domain_key_<domain>.pem`.
    pub fn of_domain(dir: &Path, domain: &str) -> TlsFiles {
        TlsFiles {
            certificate: dir.join(format!("domain_cert_{domain}.pem")),
            key: dir.join(format!("domain_key_{domain}.pem")),
        }
    }
}

/// TLS 1.2 and later, Mozilla's "intermediate" cipher list (ECDHE with AES-GCM or
/// ChaCha20-Poly1305; TLS 1.3 suites).
pub(crate) fn acceptor(files: &TlsFiles) -> Result<SslAcceptor, String> {
    let fail = |e: openssl::error::ErrorStack| {
        format!(
            "certificate {} / key {}: {e}",
            files.certificate.display(),
            files.key.display()
        )
    };
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(fail)?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(fail)?;
    b.set_certificate_chain_file(&files.certificate)
        .map_err(fail)?;
    b.set_private_key_file(&files.key, SslFiletype::PEM)
        .map_err(fail)?;
    b.check_private_key().map_err(fail)?;
    Ok(b.build())
}

/// Wraps a protocol's handler: handshake, then relay to it.
pub(crate) struct TlsHandler {
    pub(crate) what: &'static str,
    pub(crate) acceptor: SslAcceptor,
    pub(crate) inner: Arc<dyn ConnectionHandler>,
    pub(crate) handshake_timeout: Duration,
}

impl ConnectionHandler for TlsHandler {
    fn serve(&self, stream: ApiStream, peer: SocketAddr, slot: Arc<ConnectionSlot>) {
        let ApiStream::Tcp(tcp) = stream else {
            return;
        };
        let what = self.what;
        if tcp
            .set_read_timeout(Some(self.handshake_timeout))
            .and_then(|()| tcp.set_write_timeout(Some(self.handshake_timeout)))
            .is_err()
        {
            return;
        }
        let tls = match self.acceptor.accept(tcp) {
            Ok(s) => s,
            Err(e) => {
                debug!(target: "api", "{what} {peer}: TLS handshake failed: {e}");
                return;
            }
        };
        let (ours, theirs) = match UnixStream::pair() {
            Ok(p) => p,
            Err(e) => {
                debug!(target: "api", "{what} {peer}: no socket pair for the relay: {e}");
                return;
            }
        };
        let inner = Arc::clone(&self.inner);
        let served_slot = Arc::clone(&slot);
        let spawned = thread::Builder::new()
            .name(format!("{what}-served"))
            .stack_size(SERVED_STACK)
            .spawn(move || inner.serve(ApiStream::Relayed(theirs), peer, served_slot));
        if let Err(e) = spawned {
            debug!(target: "api", "{what} {peer}: cannot start a thread: {e}");
            return;
        }
        if let Err(e) = relay(tls, &ours) {
            debug!(target: "api", "{what} {peer}: TLS connection ended: {e}");
        }
        drop(slot);
    }

    fn refuse(&self, stream: &mut TcpStream) {
        // Nothing readable can be said before a handshake: close.
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// Relays between the TLS session and the served end until the served end closes (or
/// either side fails). Non-blocking on both sides, waiting in poll(2).
fn relay(mut tls: SslStream<TcpStream>, app: &UnixStream) -> io::Result<()> {
    tls.get_ref().set_nonblocking(true)?;
    app.set_nonblocking(true)?;
    let mut down: Vec<u8> = Vec::new(); // client → served end
    let mut up: Vec<u8> = Vec::new(); // served end → client
    let mut chunk = vec![0u8; 16 * 1024];
    let (mut tls_eof, mut app_eof, mut app_shut) = (false, false, false);
    loop {
        let mut progress = false;
        let (mut tls_r, mut tls_w, mut app_r, mut app_w) = (false, false, false, false);
        if down.len() < RELAY_BUFFER && !tls_eof {
            match tls.ssl_read(&mut chunk) {
                Ok(0) => tls_eof = true,
                Ok(n) => down.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) => match e.code() {
                    ErrorCode::WANT_READ => tls_r = true,
                    ErrorCode::WANT_WRITE => tls_w = true,
                    ErrorCode::ZERO_RETURN => tls_eof = true,
                    _ => return Err(io::Error::other(e.to_string())),
                },
            }
            progress |= !(tls_r || tls_w);
        }
        if !down.is_empty() {
            match (&*app).write(&down) {
                Ok(n) => {
                    down.drain(..n);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => app_w = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => progress = true,
                Err(e) => return Err(e),
            }
        } else if tls_eof && !app_shut {
            // The client is done sending: let the served end see the end of its input.
            let _ = app.shutdown(Shutdown::Write);
            app_shut = true;
            progress = true;
        }
        if up.len() < RELAY_BUFFER && !app_eof {
            match (&*app).read(&mut chunk) {
                Ok(0) => {
                    app_eof = true;
                    progress = true;
                }
                Ok(n) => {
                    up.extend_from_slice(chunk.get(..n).unwrap_or_default());
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => app_r = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => progress = true,
                Err(e) => return Err(e),
            }
        }
        if !up.is_empty() {
            match tls.ssl_write(&up) {
                Ok(n) => {
                    up.drain(..n);
                    progress = true;
                }
                Err(e) => match e.code() {
                    ErrorCode::WANT_READ => tls_r = true,
                    ErrorCode::WANT_WRITE => tls_w = true,
                    _ => return Err(io::Error::other(e.to_string())),
                },
            }
        } else if app_eof {
            // The served end closed and everything it wrote is sent: close_notify, FIN.
            let _ = tls.shutdown();
            let _ = tls.get_ref().shutdown(Shutdown::Write);
            return Ok(());
        }
        if !progress {
            wait(tls.get_ref(), tls_r, tls_w, app, app_r, app_w)?;
        }
    }
}

/// poll(2) on the two sockets for what each side is waiting for.
fn wait(
    tcp: &TcpStream,
    tcp_r: bool,
    tcp_w: bool,
    app: &UnixStream,
    app_r: bool,
    app_w: bool,
) -> io::Result<()> {
    poll::wait(&[
        Interest {
            fd: tcp.as_raw_fd(),
            readable: tcp_r,
            writable: tcp_w,
        },
        Interest {
            fd: app.as_raw_fd(),
            readable: app_r,
            writable: app_w,
        },
    ])
}
