//! The byte stream a connection is served over: the accepted TCP socket itself, or, behind
//! a TLS front door, the local end of a socket pair whose other end the TLS pump
//! (`api::tls`) relays to and from the client. Both kinds have the same blocking
//! operations with time-outs, half-close and cloning, so the HTTP and XML servers are
//! written once.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::Duration;

#[derive(Debug)]
pub(crate) enum ApiStream {
    Tcp(TcpStream),
    /// Plain text of a TLS connection, relayed by its pump.
    Relayed(UnixStream),
}

impl ApiStream {
    pub(crate) fn try_clone(&self) -> io::Result<ApiStream> {
        match self {
            ApiStream::Tcp(s) => s.try_clone().map(ApiStream::Tcp),
            ApiStream::Relayed(s) => s.try_clone().map(ApiStream::Relayed),
        }
    }

    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            ApiStream::Tcp(s) => s.set_read_timeout(t),
            ApiStream::Relayed(s) => s.set_read_timeout(t),
        }
    }

    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            ApiStream::Tcp(s) => s.set_write_timeout(t),
            ApiStream::Relayed(s) => s.set_write_timeout(t),
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            ApiStream::Tcp(s) => s.shutdown(how),
            ApiStream::Relayed(s) => s.shutdown(how),
        }
    }
}

impl Read for &ApiStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ApiStream::Tcp(s) => (&*s).read(buf),
            ApiStream::Relayed(s) => (&*s).read(buf),
        }
    }
}

impl Write for &ApiStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            ApiStream::Tcp(s) => (&*s).write(buf),
            ApiStream::Relayed(s) => (&*s).write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for ApiStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for ApiStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
