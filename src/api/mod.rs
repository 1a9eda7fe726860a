//! The two front doors: the HTTP server (click-to-call links, digest authentication) and
//! the XML socket server (streamed progress documents, byte-compatible with the C++
//! original's clients).
//!
//! Both are synchronous: one listener thread per protocol (a small mio loop over the v4
//! and v6 sockets, woken for shutdown), one thread per connection. They never touch SIP:
//! a request becomes a [`Command`] for the calls thread, and progress comes back on the
//! request's own channel.

pub(crate) mod admission;
mod dispatch;
mod escape;
pub(crate) mod http;
mod listen;
mod stats;
mod stream;
pub(crate) mod tls;
mod uri_check;
pub(crate) mod xml;

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Sender;

use crate::c2c::command::{CallCount, Command};

use crate::access::AccessList;
use admission::{Admission, Limits};
pub use dispatch::{CallRules, Translator};
use listen::Admittance;
use tls::TlsFiles;
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
    /// `HttpMaxConnections`: beyond it a new connection gets 503 and is closed (each
    /// listening port counts its own).
    pub http_max_connections: usize,
    /// `XmlRpcMaxConnections`: beyond it a new connection gets a 503 document and is closed.
    pub xml_max_connections: usize,
    /// `HttpMaxConnectionsPerPeer`: the same, per client address.
    pub http_max_connections_per_peer: usize,
    /// `XmlMaxConnectionsPerPeer`: the same, per client address.
    pub xml_max_connections_per_peer: usize,
    /// `HttpAllow`: who may connect to the HTTP and HTTPS ports (empty: everyone).
    pub http_allow: AccessList,
    /// `XmlAllow`: who may connect to the XML ports, plain and TLS (empty: everyone).
    pub xml_allow: AccessList,
    /// `HttpsPort`: HTTP inside TLS, same meaning as `http_port`; `None`: off.
    pub https_port: Option<u16>,
    /// `XmlTlsPort`: the XML protocol inside TLS; `None`: off.
    pub xml_tls_port: Option<u16>,
    /// Certificate and key of the TLS ports (needed when one is on).
    pub tls_files: Option<TlsFiles>,
    /// How long a TLS client has to complete its handshake.
    pub tls_handshake_timeout: Duration,
    /// `XmlAuthToken`: when set, every XML request must carry it in `<AuthToken>`.
    pub xml_auth_token: Option<String>,
    /// `InstanceName`: the prefix of call ids.
    pub instance_name: Option<String>,
    /// `MetricsAuth`: `/metrics` asks for the HTTP authentication too (when `HttpAuth`).
    pub metrics_auth: bool,
    /// `MaxConcurrentCalls`, `MaxCallsPerSecond`, `MaxCallsPerSecondPerClient`.
    pub limits: Limits,
    /// Calls alive, shared with the calls thread that gives places back.
    pub call_count: Arc<CallCount>,
    /// `DestinationAllow`/`DestinationDeny`/`InitiatorAllow`/`InitiatorDeny`.
    pub rules: CallRules,
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
            http_max_connections: 2048,
            xml_max_connections: 2048,
            http_max_connections_per_peer: 256,
            xml_max_connections_per_peer: 256,
            http_allow: AccessList::any(),
            xml_allow: AccessList::any(),
            https_port: None,
            xml_tls_port: None,
            tls_files: None,
            tls_handshake_timeout: Duration::from_secs(10),
            xml_auth_token: None,
            instance_name: None,
            metrics_auth: false,
            limits: Limits::default(),
            call_count: Arc::new(CallCount::default()),
            rules: CallRules::default(),
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
            .field(
                "http_max_connections_per_peer",
                &self.http_max_connections_per_peer,
            )
            .field(
                "xml_max_connections_per_peer",
                &self.xml_max_connections_per_peer,
            )
            .field("http_allow", &self.http_allow)
            .field("xml_allow", &self.xml_allow)
            .field("https_port", &self.https_port)
            .field("xml_tls_port", &self.xml_tls_port)
            .field("tls_files", &self.tls_files)
            .field(
                "xml_auth_token",
                &self.xml_auth_token.as_ref().map(|_| "<hidden>"),
            )
            .field("limits", &self.limits)
            .field("rules", &self.rules)
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
    /// A TLS port is on but its certificate or key cannot be used.
    Tls { what: &'static str, message: String },
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
            ApiStartError::Tls { what, message } => {
                write!(f, "cannot start the {what} port: {message}")
            }
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
            ApiStartError::Tls { .. } => None,
        }
    }
}

/// The running front doors. Dropping it without [`ApiServers::shutdown`] leaves the
/// listeners running until the process ends.
pub struct ApiServers {
    http: Option<listen::Listener>,
    xml: Option<listen::Listener>,
    https: Option<listen::Listener>,
    xml_tls: Option<listen::Listener>,
}

fn addrs_of(l: &Option<listen::Listener>) -> Vec<SocketAddr> {
    l.as_ref()
        .map(|l| l.local_addrs().to_vec())
        .unwrap_or_default()
}

impl ApiServers {
    /// The local addresses the HTTP server listens on (empty when disabled).
    pub fn http_addrs(&self) -> Vec<SocketAddr> {
        addrs_of(&self.http)
    }

    /// The local addresses the XML server listens on (empty when disabled).
    pub fn xml_addrs(&self) -> Vec<SocketAddr> {
        addrs_of(&self.xml)
    }

    /// The local addresses of the HTTPS port (empty when disabled).
    pub fn https_addrs(&self) -> Vec<SocketAddr> {
        addrs_of(&self.https)
    }

    /// The local addresses of the XML-over-TLS port (empty when disabled).
    pub fn xml_tls_addrs(&self) -> Vec<SocketAddr> {
        addrs_of(&self.xml_tls)
    }

    /// Stops accepting, closes every open connection's socket and joins the listener
    /// threads. Bounded: listeners are woken at once; connection threads end on their
    /// own when their sockets are shut down (calls already placed go on).
    pub fn shutdown(self) {
        for l in [self.http, self.xml, self.https, self.xml_tls]
            .into_iter()
            .flatten()
        {
            l.shutdown();
        }
    }
}

/// One listener to start: its name, port, admittance and handler (`None`: off).
type Planned = (
    &'static str,
    Option<u16>,
    Admittance,
    Option<Arc<dyn listen::ConnectionHandler>>,
);

/// Binds the configured listeners and starts their threads.
///
/// `translator` applies the translation rules (`None`: no rule matched); `commands`
/// goes to the calls thread.
pub fn start(
    cfg: ApiConfig,
    translator: Translator,
    commands: Sender<Command>,
) -> Result<ApiServers, ApiStartError> {
    let admission = Admission::new(cfg.limits, Arc::clone(&cfg.call_count));
    let stats = Arc::new(stats::FrontDoorStats::default());
    let dispatcher = Arc::new(
        dispatch::Dispatcher::new(translator, commands, cfg.rules.clone(), admission)
            .with_instance(cfg.instance_name.clone())
            .with_stats(Arc::clone(&stats)),
    );
    let acceptor = match (&cfg.tls_files, cfg.https_port.or(cfg.xml_tls_port)) {
        (_, None) => None,
        (Some(files), Some(_)) => {
            Some(tls::acceptor(files).map_err(|message| ApiStartError::Tls {
                what: "HTTPS/XML TLS",
                message,
            })?)
        }
        (None, Some(_)) => {
            return Err(ApiStartError::Tls {
                what: "HTTPS/XML TLS",
                message: "no certificate configured".to_owned(),
            });
        }
    };
    let http_handler: Arc<dyn listen::ConnectionHandler> = Arc::new(
        http::server::HttpHandler::new(&cfg, Arc::clone(&dispatcher), Arc::clone(&stats))
            .map_err(ApiStartError::Random)?,
    );
    let xml_handler: Arc<dyn listen::ConnectionHandler> = Arc::new(
        xml::server::XmlHandler::new(&cfg, Arc::clone(&dispatcher))
            .map_err(ApiStartError::Random)?,
    );
    let http_admittance = Admittance {
        max_connections: cfg.http_max_connections,
        max_per_peer: cfg.http_max_connections_per_peer,
        allow: cfg.http_allow.clone(),
    };
    let xml_admittance = Admittance {
        max_connections: cfg.xml_max_connections,
        max_per_peer: cfg.xml_max_connections_per_peer,
        allow: cfg.xml_allow.clone(),
    };
    let tls_of = |what: &'static str, inner: &Arc<dyn listen::ConnectionHandler>| {
        acceptor.clone().map(|acceptor| {
            Arc::new(tls::TlsHandler {
                what,
                acceptor,
                inner: Arc::clone(inner),
                handshake_timeout: cfg.tls_handshake_timeout,
            }) as Arc<dyn listen::ConnectionHandler>
        })
    };
    let plan: [Planned; 4] = [
        (
            "HTTP",
            cfg.http_port,
            http_admittance.clone(),
            Some(Arc::clone(&http_handler)),
        ),
        (
            "XML",
            cfg.xml_port,
            xml_admittance.clone(),
            Some(Arc::clone(&xml_handler)),
        ),
        (
            "HTTPS",
            cfg.https_port,
            http_admittance,
            tls_of("HTTPS", &http_handler),
        ),
        (
            "XML-TLS",
            cfg.xml_tls_port,
            xml_admittance,
            tls_of("XML-TLS", &xml_handler),
        ),
    ];
    let mut started: Vec<Option<listen::Listener>> = Vec::new();
    for (what, port, admittance, handler) in plan {
        let (Some(port), Some(handler)) = (port, handler) else {
            started.push(None);
            continue;
        };
        let listener = listen::bind_all(what, cfg.bind, port).and_then(|sockets| {
            listen::Listener::spawn(what, sockets, admittance, handler, Arc::clone(&stats))
        });
        match listener {
            Ok(l) => started.push(Some(l)),
            Err(e) => {
                for l in started.into_iter().flatten() {
                    l.shutdown();
                }
                return Err(e);
            }
        }
    }
    let mut it = started.into_iter();
    let mut next = || it.next().flatten();
    Ok(ApiServers {
        http: next(),
        xml: next(),
        https: next(),
        xml_tls: next(),
    })
}
