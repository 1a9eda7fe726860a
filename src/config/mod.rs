//! Configuration: the legacy `clicktocall.config` file and the original's command line,
//! turned into one typed, validated [`Config`] that every other part reads.
//!
//! Order of precedence: built-in defaults (those of the C++ original), then the file
//! (`./clicktocall.config`, or `-c FILE`), then the command line.

mod cli;
mod error;
mod file;
mod keys;
mod validate;

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use log::LevelFilter;

pub use cli::{CommandLine, Invocation, help_text};
pub use error::{CliError, ConfigError, Invalid, Origin, Problem, Warning};
pub use keys::Key;
pub use validate::is_sip_uri;

use crate::access::AccessList;
use crate::translate::{PatternList, Translator};

/// The file read when no `-c` is given, relative to the working directory, as the original.
pub const DEFAULT_CONFIG_FILE: &str = "clicktocall.config";

/// Read when no `-c` is given and [`DEFAULT_CONFIG_FILE`] is not in the working directory
/// (new: the original read only `./`), so the installed binary finds the packaged file.
pub const SYSTEM_CONFIG_FILE: &str = "/etc/clicktocall/clicktocall.config";

/// The effective settings. Cheap to clone (the translator is shared). `Debug` masks the
/// password.
#[derive(Clone)]
pub struct Config {
    /// The file the settings were read from; `None` when no file was read.
    pub source: Option<PathBuf>,
    /// IPAddress: the address SIP transports bind to; `None` (blank) = all interfaces.
    pub ip_address: Option<IpAddr>,
    /// ExternalAddress: the address written in Via, Contact and SDP when peers reach us
    /// through a 1:1 NAT; `None` (blank): the bound address.
    pub external_address: Option<IpAddr>,
    /// DNSServers: overrides the system's resolvers; empty = use the system's.
    pub dns_servers: Vec<SocketAddr>,
    /// ClickToCallIdentity: the From URI of calls we place (a checked SIP URI).
    pub click_to_call_identity: String,
    /// UDPTCPPort: SIP over UDP and TCP; [`AUTO_PORT`] (`auto`) = any free port, the same
    /// number for both.
    pub udp_tcp_port: u16,
    /// TLSPort: SIP over TLS; `None` (0) = no TLS transport, `Some(AUTO_PORT)` (`auto`) =
    /// any free port.
    pub tls_port: Option<u16>,
    /// TLSDomainName (or TLSDomain): names the certificate files `domain_cert_<d>.pem` /
    /// `domain_key_<d>.pem` in the working directory.
    pub tls_domain_name: String,
    /// KeepAlives: CRLF keep-alives to SIP endpoints.
    pub keep_alives: bool,
    /// OutboundProxy: every request is sent through this URI when set.
    pub outbound_proxy: Option<String>,
    /// OutboundProxyAll: in-dialog requests go through the outbound proxy too, not only
    /// where the Record-Route says.
    pub outbound_proxy_all: bool,
    /// FixNatContact: a phone's private Contact is replaced by the address its answer
    /// came from (no proxy in between).
    pub fix_nat_contact: bool,
    /// SipAuthUser: the user name answering 401/407 challenges to our requests; blank:
    /// challenges are not answered.
    pub sip_auth_user: String,
    /// SipAuthPassword: its password. Never log it.
    pub sip_auth_password: String,
    /// SipAuthRealm: only challenges of this realm are answered; blank: any realm.
    pub sip_auth_realm: String,
    /// MaxRedirects: INVITEs a leg sends to the Contacts of 3xx responses; 0: a 3xx is
    /// a failure.
    pub max_redirects: u8,
    /// CallMode: the mode of a call whose request names none (`refer`, `anchored`,
    /// `refer-ood`); `AnchorCall`/`anchor=true` still make a call anchored.
    pub call_mode: crate::c2c::command::CallMode,
    /// OfferCodecs: the audio codecs the initiator's inactive offer lists, in order.
    pub offer_codecs: Vec<crate::sip::sdp::Codec>,
    pub log_level: LogLevel,
    pub log_filename: PathBuf,
    /// Lines per log file before it is rotated; 0 = never rotate.
    pub log_file_max_lines: u64,
    /// CdrFilename: where call detail records are appended; `None` (blank): no file.
    pub cdr_filename: Option<PathBuf>,
    /// CdrFormat: JSON lines or CSV.
    pub cdr_format: CdrFormat,
    /// CdrFileMaxLines: lines per CDR file before it is rotated; 0 = never rotate.
    pub cdr_file_max_lines: u64,
    /// CdrMaskDigits: the last this many digits of each number in a record are masked.
    pub cdr_mask_digits: usize,
    /// XmlRpcPort: the XML socket interface; `None` (0) = disabled, `Some(AUTO_PORT)`
    /// (`auto`) = any free port.
    pub xml_rpc_port: Option<u16>,
    /// XmlRpcMaxConnections: concurrent XML connections accepted.
    pub xml_rpc_max_connections: usize,
    /// HttpPort: the HTTP interface; `None` (0) = disabled, `Some(AUTO_PORT)` (`auto`) =
    /// any free port.
    pub http_port: Option<u16>,
    /// HttpAuth: require authentication (user `admin`) on the HTTP interface.
    pub http_auth: bool,
    /// HttpAuthPwd: the password of user `admin`. Never log it.
    pub http_auth_pwd: String,
    /// ApiIPAddress: the address the HTTP and XML servers listen on; `None` (blank): every
    /// interface, IPv4 and IPv6, as the original.
    pub api_ip_address: Option<IpAddr>,
    /// HttpAuthRealm: the realm of HTTP Digest challenges.
    pub http_auth_realm: String,
    /// HttpMaxConnections: concurrent HTTP connections accepted.
    pub http_max_connections: usize,
    /// RingTimeout: how long a leg may ring before the call attempt is given up.
    pub ring_timeout: Duration,
    /// TelUriDomain: a translated `tel:` URI is called as `sip:<number>@<this>;user=phone`;
    /// `None` (blank): `tel:` results are refused (400).
    pub tel_uri_domain: Option<String>,
    /// The TranslationPattern / TranslationOutput rules, compiled, in order.
    pub translator: Arc<Translator>,
    /// `--ready-file PATH` (command line only, not a key): once every listener is bound,
    /// the bound addresses and the pid are written there, so a caller that asked for
    /// `auto` ports learns them without guessing.
    pub ready_file: Option<PathBuf>,
    /// HttpMaxConnectionsPerPeer: concurrent HTTP connections from one address.
    pub http_max_connections_per_peer: usize,
    /// XmlMaxConnectionsPerPeer: concurrent XML connections from one address.
    pub xml_max_connections_per_peer: usize,
    /// HttpRequestTimeout: time for an HTTP request (head and body) to arrive; also the
    /// keep-alive idle time.
    pub http_request_timeout: Duration,
    /// HttpAllow: addresses that may connect to the HTTP and HTTPS ports (empty: all).
    pub http_allow: AccessList,
    /// XmlAllow: addresses that may connect to the XML ports (empty: all).
    pub xml_allow: AccessList,
    /// HttpsPort: HTTP inside TLS; `None` (0) = off.
    pub https_port: Option<u16>,
    /// XmlTlsPort: the XML protocol inside TLS; `None` (0) = off.
    pub xml_tls_port: Option<u16>,
    /// HttpsCertificate / HttpsKey: the TLS ports' certificate chain and key (PEM);
    /// `None`: the SIP TLS domain's files.
    pub https_certificate: Option<PathBuf>,
    pub https_key: Option<PathBuf>,
    /// XmlAuthToken: when set, XML requests must carry it. Never log it.
    pub xml_auth_token: Option<String>,
    /// MetricsAuth: `/metrics` behind the HTTP authentication too.
    pub metrics_auth: bool,
    /// InstanceName: the prefix of this server's call ids; `None`: no prefix.
    pub instance_name: Option<String>,
    /// MaxConcurrentCalls: click-to-calls alive at once; 0 = no limit.
    pub max_concurrent_calls: usize,
    /// MaxCallsPerSecond: new click-to-calls a second, all clients together; 0 = no limit.
    pub max_calls_per_second: u32,
    /// MaxCallsPerSecondPerClient: the same for one source address; 0 = no limit.
    pub max_calls_per_second_per_client: u32,
    /// SipTransactionMemory: megabytes the finished SIP transactions may hold for their
    /// retransmissions (Timers D, I, J, K); the oldest are forgotten first beyond it.
    pub sip_transaction_memory_mb: usize,
    /// DestinationAllow / DestinationDeny / InitiatorAllow / InitiatorDeny.
    pub destination_allow: Arc<PatternList>,
    pub destination_deny: Arc<PatternList>,
    pub initiator_allow: Arc<PatternList>,
    pub initiator_deny: Arc<PatternList>,
    /// SipAllow: addresses that may send out-of-dialog SIP requests (empty: all).
    pub sip_allow: AccessList,
    /// The secret keys given a value in the configuration file (not the command line).
    pub file_secrets: Vec<&'static str>,
    /// InitiatorFromDisplayName: the display name of the initiator leg's From, a template
    /// (`{initiator}`, `{destination}`, `{domain}`); `none`: no display name.
    pub initiator_from_display_name: String,
    /// InitiatorFrom: the URI of the initiator leg's From, a template; blank: the identity.
    pub initiator_from: String,
    /// InitiatorPAssertedIdentity: `none`, `from` or a URI template (RFC 3325 §9.1).
    pub initiator_p_asserted_identity: String,
    /// InitiatorPrivacyId: `Privacy: id` on the initiator leg (RFC 3323 §4.2).
    pub initiator_privacy_id: bool,
    /// InitiatorAutoAnswer: `none`, `call-info`, `alert-info` or `answer-mode`.
    pub initiator_auto_answer: String,
    /// InitiatorExtraHeader: a `Name: value` line for the initiator's INVITE; blank: none.
    pub initiator_extra_header: String,
    /// DestinationFromDisplayName: as InitiatorFromDisplayName, for the destination leg.
    pub destination_from_display_name: String,
    /// DestinationFrom: the URI of the destination leg's From, a template; blank: the
    /// initiator's URI as called (the original).
    pub destination_from: String,
    /// DestinationPAssertedIdentity: as InitiatorPAssertedIdentity, for the destination.
    pub destination_p_asserted_identity: String,
    /// DestinationPrivacyId: `Privacy: id` on the destination leg.
    pub destination_privacy_id: bool,
}

/// The port value meaning "any free port" inside [`Config`] (written `auto`): the kernel
/// picks it when the listener is bound, as a bind to port 0 does.
pub const AUTO_PORT: u16 = 0;

impl Default for Config {
    /// The C++ original's defaults (ClickToCallIdentity: `sip:click2call@<host name>`).
    fn default() -> Self {
        let host = hostname();
        Config {
            source: None,
            ip_address: None,
            external_address: None,
            dns_servers: Vec::new(),
            click_to_call_identity: format!("sip:click2call@{host}"),
            udp_tcp_port: 5072,
            tls_port: Some(5073),
            tls_domain_name: host,
            keep_alives: true,
            outbound_proxy: None,
            outbound_proxy_all: false,
            fix_nat_contact: false,
            sip_auth_user: String::new(),
            sip_auth_password: String::new(),
            sip_auth_realm: String::new(),
            max_redirects: 5,
            call_mode: crate::c2c::command::CallMode::Refer,
            offer_codecs: crate::sip::sdp::Codec::DEFAULT.to_vec(),
            log_level: LogLevel::Info,
            log_filename: PathBuf::from("clicktocall.log"),
            log_file_max_lines: 50_000,
            cdr_filename: None,
            cdr_format: CdrFormat::Json,
            cdr_file_max_lines: 0,
            cdr_mask_digits: 0,
            xml_rpc_port: Some(5094),
            xml_rpc_max_connections: 2048,
            http_port: Some(5090),
            http_auth: false,
            http_auth_pwd: "admin".to_owned(),
            http_auth_realm: "clicktocall".to_owned(),
            api_ip_address: None,
            http_max_connections: 2048,
            ring_timeout: Duration::from_secs(180),
            tel_uri_domain: None,
            translator: Arc::new(Translator::empty()),
            ready_file: None,
            http_max_connections_per_peer: 256,
            xml_max_connections_per_peer: 256,
            http_request_timeout: Duration::from_secs(10),
            http_allow: AccessList::any(),
            xml_allow: AccessList::any(),
            https_port: None,
            xml_tls_port: None,
            https_certificate: None,
            https_key: None,
            xml_auth_token: None,
            instance_name: None,
            metrics_auth: false,
            max_concurrent_calls: 10_000,
            max_calls_per_second: 0,
            max_calls_per_second_per_client: 0,
            sip_transaction_memory_mb: 256,
            destination_allow: Arc::new(PatternList::default()),
            destination_deny: Arc::new(PatternList::default()),
            initiator_allow: Arc::new(PatternList::default()),
            initiator_deny: Arc::new(PatternList::default()),
            sip_allow: AccessList::any(),
            file_secrets: Vec::new(),
            initiator_from_display_name: "Click-To-Call: {destination}".to_owned(),
            initiator_from: String::new(),
            initiator_p_asserted_identity: "none".to_owned(),
            initiator_privacy_id: false,
            initiator_auto_answer: "none".to_owned(),
            initiator_extra_header: String::new(),
            destination_from_display_name: "none".to_owned(),
            destination_from: String::new(),
            destination_p_asserted_identity: "none".to_owned(),
            destination_privacy_id: false,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("source", &self.source)
            .field("ip_address", &self.ip_address)
            .field("external_address", &self.external_address)
            .field("dns_servers", &self.dns_servers)
            .field("click_to_call_identity", &self.click_to_call_identity)
            .field("udp_tcp_port", &self.udp_tcp_port)
            .field("tls_port", &self.tls_port)
            .field("tls_domain_name", &self.tls_domain_name)
            .field("keep_alives", &self.keep_alives)
            .field("outbound_proxy", &self.outbound_proxy)
            .field("outbound_proxy_all", &self.outbound_proxy_all)
            .field("fix_nat_contact", &self.fix_nat_contact)
            .field("sip_auth_user", &self.sip_auth_user)
            .field("sip_auth_password", &"********")
            .field("sip_auth_realm", &self.sip_auth_realm)
            .field("max_redirects", &self.max_redirects)
            .field("call_mode", &self.call_mode)
            .field("offer_codecs", &self.offer_codecs)
            .field("log_level", &self.log_level)
            .field("log_filename", &self.log_filename)
            .field("log_file_max_lines", &self.log_file_max_lines)
            .field("cdr_filename", &self.cdr_filename)
            .field("cdr_format", &self.cdr_format)
            .field("cdr_file_max_lines", &self.cdr_file_max_lines)
            .field("cdr_mask_digits", &self.cdr_mask_digits)
            .field("xml_rpc_port", &self.xml_rpc_port)
            .field("xml_rpc_max_connections", &self.xml_rpc_max_connections)
            .field("http_port", &self.http_port)
            .field("http_auth", &self.http_auth)
            .field("http_auth_pwd", &"********")
            .field("http_auth_realm", &self.http_auth_realm)
            .field("api_ip_address", &self.api_ip_address)
            .field("http_max_connections", &self.http_max_connections)
            .field("ring_timeout", &self.ring_timeout)
            .field("tel_uri_domain", &self.tel_uri_domain)
            .field("translator", &self.translator)
            .field("ready_file", &self.ready_file)
            .field(
                "http_max_connections_per_peer",
                &self.http_max_connections_per_peer,
            )
            .field(
                "xml_max_connections_per_peer",
                &self.xml_max_connections_per_peer,
            )
            .field("http_request_timeout", &self.http_request_timeout)
            .field("http_allow", &self.http_allow)
            .field("xml_allow", &self.xml_allow)
            .field("https_port", &self.https_port)
            .field("xml_tls_port", &self.xml_tls_port)
            .field("https_certificate", &self.https_certificate)
            .field("https_key", &self.https_key)
            .field(
                "xml_auth_token",
                &self.xml_auth_token.as_ref().map(|_| "********"),
            )
            .field("instance_name", &self.instance_name)
            .field("metrics_auth", &self.metrics_auth)
            .field("max_concurrent_calls", &self.max_concurrent_calls)
            .field("max_calls_per_second", &self.max_calls_per_second)
            .field(
                "max_calls_per_second_per_client",
                &self.max_calls_per_second_per_client,
            )
            .field("sip_transaction_memory_mb", &self.sip_transaction_memory_mb)
            .field("destination_allow", &self.destination_allow)
            .field("destination_deny", &self.destination_deny)
            .field("initiator_allow", &self.initiator_allow)
            .field("initiator_deny", &self.initiator_deny)
            .field("sip_allow", &self.sip_allow)
            .field(
                "initiator_from_display_name",
                &self.initiator_from_display_name,
            )
            .field("initiator_from", &self.initiator_from)
            .field(
                "initiator_p_asserted_identity",
                &self.initiator_p_asserted_identity,
            )
            .field("initiator_privacy_id", &self.initiator_privacy_id)
            .field("initiator_auto_answer", &self.initiator_auto_answer)
            .field("initiator_extra_header", &self.initiator_extra_header)
            .field(
                "destination_from_display_name",
                &self.destination_from_display_name,
            )
            .field("destination_from", &self.destination_from)
            .field(
                "destination_p_asserted_identity",
                &self.destination_p_asserted_identity,
            )
            .field("destination_privacy_id", &self.destination_privacy_id)
            .finish()
    }
}

/// A loaded configuration and what is worth telling the operator about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Warning>,
}

/// What the command line asked for, with the configuration where there is one.
#[derive(Debug)]
pub enum LoadOutcome {
    /// `-?` / `--help`: print this and exit 0.
    Help(String),
    /// `--version`: print this and exit 0.
    Version(String),
    /// `--check-config`: print the warnings and [`Config::settings`], exit 0.
    CheckConfig(Loaded),
    /// Start the server.
    Run(Loaded),
}

impl Config {
    /// Reads the command line (the arguments after the program name), the configuration
    /// file it names (or `./clicktocall.config` if present) and validates everything.
    /// Opens no socket.
    pub fn load(args: &[String]) -> Result<LoadOutcome, ConfigError> {
        let cmd = cli::parse(args)?;
        match cmd.action {
            Invocation::Help => return Ok(LoadOutcome::Help(help_text())),
            Invocation::Version => {
                return Ok(LoadOutcome::Version(format!(
                    "clicktocall {}",
                    env!("CARGO_PKG_VERSION")
                )));
            }
            Invocation::CheckConfig | Invocation::Run => {}
        }
        let (candidates, required) = match &cmd.config_path {
            Some(path) => (vec![path.clone()], true),
            None => (
                vec![
                    PathBuf::from(DEFAULT_CONFIG_FILE),
                    PathBuf::from(SYSTEM_CONFIG_FILE),
                ],
                false,
            ),
        };
        let mut found = None;
        for path in candidates {
            match read_bounded(&path) {
                Ok(text) => {
                    found = Some((path, text));
                    break;
                }
                // The original starts on defaults when its default file is absent.
                Err(e) if !required && e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(ConfigError::Read { path, source }),
            }
        }
        let (source, text) = match found {
            Some((path, text)) => (Some(path), text),
            None => (None, String::new()),
        };
        let mut loaded = Self::from_parts(source, &text, cmd.overrides)?;
        loaded.config.ready_file = cmd.ready_file;
        Ok(match cmd.action {
            Invocation::CheckConfig => LoadOutcome::CheckConfig(loaded),
            _ => LoadOutcome::Run(loaded),
        })
    }

    /// Builds a configuration from file text alone (`path` only names it in messages).
    /// Handy for tests of other parts: `Config::from_text("HttpPort = 0\n")`.
    pub fn from_text(text: &str) -> Result<Loaded, ConfigError> {
        Self::from_parts(Some(PathBuf::from("<text>")), text, Vec::new())
    }

    fn from_parts(
        source: Option<PathBuf>,
        text: &str,
        overrides: Vec<file::Entry>,
    ) -> Result<Loaded, ConfigError> {
        let name = source
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
        let (entries, warnings) = file::parse(&name, text);
        validate::build(source, entries, overrides, warnings)
            .map_err(|(problems, warnings)| ConfigError::Invalid { problems, warnings })
    }

    /// Every effective setting as `(key, value)`, in the documented order, translation
    /// rules as repeated pattern/output pairs. The password is masked. Used by
    /// `--check-config` and the start-up log.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        fn number(p: u16) -> String {
            if p == AUTO_PORT {
                "auto".to_owned()
            } else {
                p.to_string()
            }
        }
        fn port(p: Option<u16>) -> String {
            p.map_or_else(|| "0".to_owned(), number)
        }
        fn path(p: &Option<PathBuf>) -> String {
            p.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        }
        let mut out = Vec::new();
        for key in Key::ALL {
            let value = match key {
                Key::IpAddress => self.ip_address.map(|ip| ip.to_string()).unwrap_or_default(),
                Key::ExternalAddress => self
                    .external_address
                    .map(|ip| ip.to_string())
                    .unwrap_or_default(),
                Key::DnsServers => self
                    .dns_servers
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                Key::ClickToCallIdentity => self.click_to_call_identity.clone(),
                Key::UdpTcpPort => number(self.udp_tcp_port),
                Key::TlsPort => port(self.tls_port),
                Key::TlsDomainName => self.tls_domain_name.clone(),
                Key::KeepAlives => (if self.keep_alives { "1" } else { "0" }).to_owned(),
                Key::OutboundProxy => self.outbound_proxy.clone().unwrap_or_default(),
                Key::OutboundProxyAll => {
                    (if self.outbound_proxy_all { "1" } else { "0" }).to_owned()
                }
                Key::FixNatContact => (if self.fix_nat_contact { "1" } else { "0" }).to_owned(),
                Key::SipAuthUser => self.sip_auth_user.clone(),
                Key::SipAuthPassword => {
                    if self.sip_auth_password.is_empty() {
                        String::new()
                    } else {
                        "********".to_owned()
                    }
                }
                Key::SipAuthRealm => self.sip_auth_realm.clone(),
                Key::MaxRedirects => self.max_redirects.to_string(),
                Key::CallMode => self.call_mode.as_str().to_owned(),
                Key::OfferCodecs => self
                    .offer_codecs
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                Key::LogLevel => self.log_level.to_string(),
                Key::LogFilename => self.log_filename.display().to_string(),
                Key::LogFileMaxLines => self.log_file_max_lines.to_string(),
                Key::CdrFilename => path(&self.cdr_filename),
                Key::CdrFormat => self.cdr_format.name().to_owned(),
                Key::CdrFileMaxLines => self.cdr_file_max_lines.to_string(),
                Key::CdrMaskDigits => self.cdr_mask_digits.to_string(),
                Key::XmlRpcPort => port(self.xml_rpc_port),
                Key::XmlRpcMaxConnections => self.xml_rpc_max_connections.to_string(),
                Key::HttpPort => port(self.http_port),
                Key::HttpAuth => (if self.http_auth { "1" } else { "0" }).to_owned(),
                Key::HttpAuthPwd => "********".to_owned(),
                Key::HttpAuthRealm => self.http_auth_realm.clone(),
                Key::ApiIpAddress => self
                    .api_ip_address
                    .map(|ip| ip.to_string())
                    .unwrap_or_default(),
                Key::HttpMaxConnections => self.http_max_connections.to_string(),
                Key::RingTimeout => self.ring_timeout.as_secs().to_string(),
                Key::HttpMaxConnectionsPerPeer => self.http_max_connections_per_peer.to_string(),
                Key::XmlMaxConnectionsPerPeer => self.xml_max_connections_per_peer.to_string(),
                Key::HttpRequestTimeout => self.http_request_timeout.as_secs().to_string(),
                Key::HttpAllow => self.http_allow.to_string(),
                Key::XmlAllow => self.xml_allow.to_string(),
                Key::SipAllow => self.sip_allow.to_string(),
                Key::HttpsPort => port(self.https_port),
                Key::XmlTlsPort => port(self.xml_tls_port),
                Key::HttpsCertificate => path(&self.https_certificate),
                Key::HttpsKey => path(&self.https_key),
                Key::XmlAuthToken => self
                    .xml_auth_token
                    .as_ref()
                    .map(|_| "********".to_owned())
                    .unwrap_or_default(),
                Key::InstanceName => self.instance_name.clone().unwrap_or_default(),
                Key::MetricsAuth => (if self.metrics_auth { "1" } else { "0" }).to_owned(),
                Key::MaxConcurrentCalls => self.max_concurrent_calls.to_string(),
                Key::MaxCallsPerSecond => self.max_calls_per_second.to_string(),
                Key::MaxCallsPerSecondPerClient => self.max_calls_per_second_per_client.to_string(),
                Key::SipTransactionMemory => self.sip_transaction_memory_mb.to_string(),
                Key::DestinationAllow
                | Key::DestinationDeny
                | Key::InitiatorAllow
                | Key::InitiatorDeny => {
                    let list = self.pattern_list(key);
                    if list.is_empty() {
                        String::new()
                    } else {
                        out.extend(list.patterns().map(|p| (key.name(), p.to_owned())));
                        continue;
                    }
                }
                Key::TelUriDomain => self.tel_uri_domain.clone().unwrap_or_default(),
                Key::InitiatorFromDisplayName => self.initiator_from_display_name.clone(),
                Key::InitiatorFrom => self.initiator_from.clone(),
                Key::InitiatorPAssertedIdentity => self.initiator_p_asserted_identity.clone(),
                Key::InitiatorPrivacyId => {
                    (if self.initiator_privacy_id { "1" } else { "0" }).to_owned()
                }
                Key::InitiatorAutoAnswer => self.initiator_auto_answer.clone(),
                Key::InitiatorExtraHeader => self.initiator_extra_header.clone(),
                Key::DestinationFromDisplayName => self.destination_from_display_name.clone(),
                Key::DestinationFrom => self.destination_from.clone(),
                Key::DestinationPAssertedIdentity => self.destination_p_asserted_identity.clone(),
                Key::DestinationPrivacyId => (if self.destination_privacy_id {
                    "1"
                } else {
                    "0"
                })
                .to_owned(),
                Key::TranslationPattern | Key::TranslationOutput => continue,
            };
            out.push((key.name(), value));
        }
        for (pattern, output) in self.translator.rules() {
            out.push((Key::TranslationPattern.name(), pattern.to_owned()));
            out.push((Key::TranslationOutput.name(), output.to_owned()));
        }
        out
    }

    /// The pattern list of one of the four rule keys (an empty list for any other key).
    pub fn pattern_list(&self, key: Key) -> &PatternList {
        static EMPTY: std::sync::OnceLock<PatternList> = std::sync::OnceLock::new();
        match key {
            Key::DestinationAllow => &self.destination_allow,
            Key::DestinationDeny => &self.destination_deny,
            Key::InitiatorAllow => &self.initiator_allow,
            Key::InitiatorDeny => &self.initiator_deny,
            _ => EMPTY.get_or_init(PatternList::default),
        }
    }

    /// What is worth a warning when the server starts (not for `--check-config`): HTTP
    /// authentication over plain HTTP on an address others can reach, and a
    /// configuration file holding secrets that group or others may read.
    pub fn start_warnings(&self) -> Vec<Warning> {
        use std::os::unix::fs::PermissionsExt;
        let mut out = Vec::new();
        if self.http_auth
            && let Some(port) = self.http_port
            && !self.api_ip_address.is_some_and(|ip| ip.is_loopback())
        {
            out.push(Warning::PlainHttpAuth {
                listen: match self.api_ip_address {
                    Some(ip) => SocketAddr::new(ip, port).to_string(),
                    None => format!("every interface, port {port}"),
                },
            });
        }
        if let Some(path) = &self.source
            && !self.file_secrets.is_empty()
            && let Ok(meta) = std::fs::metadata(path)
        {
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                out.push(Warning::SecretsReadable {
                    path: path.clone(),
                    mode,
                    keys: self.file_secrets.clone(),
                });
            }
        }
        out
    }

    /// The source file for messages: its path, or a note that none was read.
    pub fn source_description(&self) -> String {
        match &self.source {
            Some(path) => path.display().to_string(),
            None => format!(
                "none (neither ./{} nor {} found; defaults and command line)",
                Path::new(DEFAULT_CONFIG_FILE).display(),
                SYSTEM_CONFIG_FILE
            ),
        }
    }
}

/// Largest configuration file read: far above any real one, and it stops `-c /dev/zero`
/// from eating memory.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

fn read_bounded(path: &Path) -> io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(io::Error::other(format!(
            "larger than {MAX_CONFIG_BYTES} bytes"
        )));
    }
    Ok(text)
}

/// CdrFormat: how call detail records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdrFormat {
    /// One JSON object per line.
    Json,
    /// RFC 4180 CSV under a header line.
    Csv,
}

impl CdrFormat {
    pub fn name(self) -> &'static str {
        match self {
            CdrFormat::Json => "json",
            CdrFormat::Csv => "csv",
        }
    }
}

/// LogLevel, with the original's names. CRIT and ERR both map to `log`'s error level,
/// STACK to trace (the SIP stack's byte-level tracing), NONE turns logging off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    None,
    Crit,
    Err,
    Warning,
    Info,
    Debug,
    Stack,
}

impl LogLevel {
    pub fn level_filter(self) -> LevelFilter {
        match self {
            LogLevel::None => LevelFilter::Off,
            LogLevel::Crit | LogLevel::Err => LevelFilter::Error,
            LogLevel::Warning => LevelFilter::Warn,
            LogLevel::Info => LevelFilter::Info,
            LogLevel::Debug => LevelFilter::Debug,
            LogLevel::Stack => LevelFilter::Trace,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LogLevel::None => "NONE",
            LogLevel::Crit => "CRIT",
            LogLevel::Err => "ERR",
            LogLevel::Warning => "WARNING",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
            LogLevel::Stack => "STACK",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LogLevel {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        [
            LogLevel::None,
            LogLevel::Crit,
            LogLevel::Err,
            LogLevel::Warning,
            LogLevel::Info,
            LogLevel::Debug,
            LogLevel::Stack,
        ]
        .into_iter()
        .find(|l| l.name().eq_ignore_ascii_case(s))
        .ok_or(Invalid::NotALogLevel)
    }
}

/// This machine's host name (the default TLSDomainName and identity host), or
/// `localhost` if the system will not say.
pub fn hostname() -> String {
    crate::sys::host::hostname().unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests;
