//! The two front doors: the HTTP server (click-to-call links, digest authentication) and
//! the XML socket server (streamed progress documents, byte-compatible with the C++
//! original's clients).
//!
//! Both are synchronous: one listener thread per protocol (a small mio loop over the v4
//! and v6 sockets, woken for shutdown), one thread per connection. They never touch SIP:
//! a request becomes a [`Command`] for the calls thread, and progress comes back on the
//! request's own channel.

mod dispatch;
mod escape;
// Public (undocumented API) only so the fuzz targets in fuzz/ reach the parsers.
#[doc(hidden)]
pub mod http;
mod listen;
mod uri_check;
#[doc(hidden)]
pub mod xml;

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Sender;

use crate::c2c::command::Command;

pub use dispatch::Translator;
pub use uri_check::is_valid_sip_uri;

/// Settings of the front doors. Built by the caller from the legacy configuration;
/// the API layer does not read configuration files itself.
#[derive(Clone)]
pub struct ApiConfig {
    /// HTTP port: `None` disables the HTTP server (config `HttpPort=0`), `Some(0)` lets
    /// the kernel choose a port (tests), `Some(p)` listens on `p`.
    pub http_port: Option<u16>,
    /// XML port, same meaning as `http_port` (config `XmlRpcPort`).
    pub xml_port: Option<u16>,
    /// `HttpAuth`: protect `/clicktocall.html` with Digest and Basic authentication.
    pub http_auth: bool,
    /// `HttpAuthPwd`: the password of the user `admin`.
    pub http_auth_password: String,
    /// `HttpAuthRealm`: the realm of the challenges.
    pub http_auth_realm: String,
    /// `HttpMaxConnections`: beyond it a new connection gets 503 and is closed.
    pub http_max_connections: usize,
    /// `XmlRpcMaxConnections`: beyond it a new connection gets a 503 document and is closed.
    pub xml_max_connections: usize,
    /// `None`: listen on every interface, IPv4 (`0.0.0.0`) and IPv6 (`[::]`, v6-only).
    /// `Some(ip)`: listen on that address only.
    pub bind: Option<IpAddr>,
    /// Time allowed for one HTTP request to arrive (also the keep-alive idle time).
    pub http_request_timeout: Duration,
    /// Time allowed for a started XML document to be completed. Idle XML connections
    /// (nothing buffered) are kept open without limit, as the original does.
    pub xml_document_timeout: Duration,
    /// How long a digest nonce stays valid before it is answered with `stale=true`.
    pub digest_nonce_lifetime: Duration,
}

impl Default for ApiConfig {
    /// The original's defaults: HTTP 5090, XML 5094, no authentication.
    fn default() -> Self {
        ApiConfig {
            http_port: Some(5090),
            xml_port: Some(5094),
            http_auth: false,
            http_auth_password: "admin".to_owned(),
            http_auth_realm: "clicktocall".to_owned(),
            http_max_connections: 256,
            xml_max_connections: 64,
            bind: None,
            http_request_timeout: Duration::from_secs(10),
            xml_document_timeout: Duration::from_secs(30),
            digest_nonce_lifetime: Duration::from_secs(300),
        }
    }
}

impl fmt::Debug for ApiConfig {
    // Hand-written so the password never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiConfig")
            .field("http_port", &self.http_port)
            .field("xml_port", &self.xml_port)
            .field("http_auth", &self.http_auth)
            .field("http_auth_password", &"<hidden>")
            .field("http_auth_realm", &self.http_auth_realm)
            .field("http_max_connections", &self.http_max_connections)
            .field("xml_max_connections", &self.xml_max_connections)
            .field("bind", &self.bind)
            .field("http_request_timeout", &self.http_request_timeout)
            .field("xml_document_timeout", &self.xml_document_timeout)
            .field("digest_nonce_lifetime", &self.digest_nonce_lifetime)
            .finish()
    }
}

/// Why the front doors could not start.
#[derive(Debug)]
pub enum ApiStartError {
    /// A listening socket could not be opened (port in use, address not local, …).
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: io::Error,
    },
    /// A listener thread or its poller could not be created.
    Listener {
        what: &'static str,
        source: io::Error,
    },
    /// The random key for digest nonces could not be drawn.
    Random(openssl::error::ErrorStack),
}

impl fmt::Display for ApiStartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiStartError::Bind { what, addr, source } => {
                write!(f, "cannot listen for {what} on {addr}: {source}")
            }
            ApiStartError::Listener { what, source } => {
                write!(f, "cannot start the {what} listener: {source}")
            }
            ApiStartError::Random(e) => write!(f, "cannot draw the digest nonce key: {e}"),
        }
    }
}

impl std::error::Error for ApiStartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiStartError::Bind { source, .. } | ApiStartError::Listener { source, .. } => {
                Some(source)
            }
            ApiStartError::Random(e) => Some(e),
        }
    }
}

/// The running front doors. Dropping it without [`ApiServers::shutdown`] leaves the
/// listeners running until the process ends.
pub struct ApiServers {
    http: Option<listen::Listener>,
    xml: Option<listen::Listener>,
}

impl ApiServers {
    /// The local addresses the HTTP server listens on (empty when disabled).
    pub fn http_addrs(&self) -> Vec<SocketAddr> {
        self.http
            .as_ref()
            .map(|l| l.local_addrs().to_vec())
            .unwrap_or_default()
    }

    /// The local addresses the XML server listens on (empty when disabled).
    pub fn xml_addrs(&self) -> Vec<SocketAddr> {
        self.xml
            .as_ref()
            .map(|l| l.local_addrs().to_vec())
            .unwrap_or_default()
    }

    /// Stops accepting, closes every open connection's socket and joins the listener
    /// threads. Bounded: listeners are woken at once; connection threads end on their
    /// own when their sockets are shut down (calls already placed go on).
    pub fn shutdown(self) {
        if let Some(l) = self.http {
            l.shutdown();
        }
        if let Some(l) = self.xml {
            l.shutdown();
        }
    }
}

/// Binds the configured listeners and starts their threads.
///
/// `translator` applies the translation rules (`None`: no rule matched); `commands`
/// goes to the calls thread.
pub fn start(
    cfg: ApiConfig,
    translator: Translator,
    commands: Sender<Command>,
) -> Result<ApiServers, ApiStartError> {
    let dispatcher = Arc::new(dispatch::Dispatcher::new(translator, commands));
    let http = match cfg.http_port {
        Some(port) => {
            let sockets = listen::bind_all("HTTP", cfg.bind, port)?;
            let handler = http::server::HttpHandler::new(&cfg, Arc::clone(&dispatcher))
                .map_err(ApiStartError::Random)?;
            Some(listen::Listener::spawn(
                "HTTP",
                sockets,
                cfg.http_max_connections,
                Arc::new(handler),
            )?)
        }
        None => None,
    };
    let xml = match cfg.xml_port {
        Some(port) => {
            let sockets = match listen::bind_all("XML", cfg.bind, port) {
                Ok(s) => s,
                Err(e) => {
                    if let Some(h) = http {
                        h.shutdown();
                    }
                    return Err(e);
                }
            };
            let handler = xml::server::XmlHandler::new(&cfg, Arc::clone(&dispatcher));
            match listen::Listener::spawn(
                "XML",
                sockets,
                cfg.xml_max_connections,
                Arc::new(handler),
            ) {
                Ok(l) => Some(l),
                Err(e) => {
                    if let Some(h) = http {
                        h.shutdown();
                    }
                    return Err(e);
                }
            }
        }
        None => None,
    };
    Ok(ApiServers { http, xml })
}
