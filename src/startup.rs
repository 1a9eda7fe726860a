//! Builds the running server from a [`Config`]: the SIP reactor, the calls thread and the
//! HTTP/XML front doors, connected by their channels, in dependency order.
//!
//! Shutdown runs the other way round without a race: the front doors keep writing progress
//! until the calls thread has cancelled or hung up every leg and delivered its final
//! reports; the calls thread then tells the reactor to stop. The reactor does not watch the
//! shutdown notice itself, so the last CANCELs and BYEs still reach the wire.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::api::admission::Limits;
use crate::api::tls::TlsFiles;
use crate::api::{self, ApiConfig, ApiStartError, CallRules};
use crate::c2c::calls_thread::{self, CallsChannels};
use crate::c2c::command::CallCount;
use crate::c2c::engine::{Engine, EngineConfig};
use crate::c2c::session::Timing;
use crate::cdr::{CdrSink, CdrStats, CdrWriter, Control, FileSettings, RecordSettings};
use crate::config::Config;
use crate::logging::CONSOLE_TARGET;
use crate::server::{Components, StartError};
use crate::sip::Transport;
use crate::sip::dns::ResolverConfig;
use crate::sip::msg::Uri;
use crate::sip::reactor::{Reactor, ReactorConfig, ReactorStartError, default_local_ip};
use crate::sip::transaction::LayerConfig;
use crate::sip::transport::{TransportConfig, TransportStartError};
use crate::translate::LiveRules;
use crate::ua::contact::ListenPorts;
use crate::ua::digest::Credentials;

/// Click-to-call requests waiting for the calls thread before new ones are refused.
const COMMAND_QUEUE: usize = 1024;

/// How long the front doors wait for the calls thread to deliver its last reports.
const API_DRAIN: Duration = Duration::from_millis(3800);

/// One bound listener: what it serves (`sip-udp`, `sip-tcp`, `sip-tls`, `xml`, `http`,
/// `https`, `xml-tls`: the names of the ready file) and the address the kernel gave it.
pub(crate) type Listener = (&'static str, SocketAddr);

/// Start every component; an error names what could not start. Returns every listener
/// bound, with the real port where the configuration said `auto`.
pub(crate) fn start_all(
    config: &Config,
    components: &mut Components,
) -> Result<Vec<Listener>, StartError> {
    let (sip_events_tx, sip_events_rx) = crossbeam_channel::unbounded();
    let (reactor, handle) =
        Reactor::bind(reactor_config(config), sip_events_tx).map_err(reactor_error)?;
    let mut listeners = Vec::new();
    for (transport, addr) in &handle.local_addrs {
        log::info!(target: CONSOLE_TARGET, "SIP listening on {transport} {addr}");
        let name = match transport {
            Transport::Udp => "sip-udp",
            Transport::Tcp => "sip-tcp",
            Transport::Tls => "sip-tls",
        };
        listeners.push((name, *addr));
    }
    components.spawn("sip-reactor", move |_shutdown| reactor.run())?;

    let cdr = start_cdr(config, components)?;
    let mut engine = Engine::new(engine_config(config, &handle.local_addrs)).with_cdr(cdr);
    engine.share_sip_stats(Arc::clone(&handle.stats));
    let call_count = Arc::new(CallCount::default());
    // Bounded, so a flood of requests meets back-pressure: the front doors answer 503 when
    // the calls thread is this far behind, instead of queueing calls without limit.
    let (commands_tx, commands_rx) = crossbeam_channel::bounded(COMMAND_QUEUE);
    let (calls_done_tx, calls_done_rx) = crossbeam_channel::bounded::<()>(0);
    let channels = CallsChannels {
        commands: commands_rx,
        sip_events: sip_events_rx,
        sip_commands: handle.commands.clone(),
        waker: Arc::clone(&handle.waker),
        shutdown: crossbeam_channel::never(),
        call_count: Arc::clone(&call_count),
        sip_allow: config.sip_allow.clone(),
    };
    components.spawn("calls", move |shutdown| {
        let channels = CallsChannels {
            shutdown: shutdown.receiver().clone(),
            ..channels
        };
        calls_thread::run(engine, channels);
        drop(calls_done_tx);
    })?;

    // The rule set in force; SIGHUP replaces it (server::reload).
    let rules = Arc::new(LiveRules::new(Arc::clone(&config.translator)));
    components.share_rules(Arc::clone(&rules));
    rules.set_tel_domain(config.tel_uri_domain.as_deref());
    let servers = api::start(
        api_config(config, &call_count),
        Arc::new(move |addr: &str| {
            // RFC 3261 §19.1.6: a tel: result is called as a SIP URI at TelUriDomain.
            let tel_domain = rules.tel_domain();
            rules
                .current()
                .translate(addr)
                .map(|uri| crate::translate::tel_to_sip(uri, tel_domain.as_deref()))
        }),
        commands_tx,
    )
    .map_err(api_error)?;
    for addr in servers.http_addrs() {
        log::info!(target: CONSOLE_TARGET, "HTTP listening on {addr}");
        listeners.push(("http", addr));
    }
    for addr in servers.xml_addrs() {
        log::info!(target: CONSOLE_TARGET, "XML listening on {addr}");
        listeners.push(("xml", addr));
    }
    for addr in servers.https_addrs() {
        log::info!(target: CONSOLE_TARGET, "HTTPS listening on {addr}");
        listeners.push(("https", addr));
    }
    for addr in servers.xml_tls_addrs() {
        log::info!(target: CONSOLE_TARGET, "XML TLS listening on {addr}");
        listeners.push(("xml-tls", addr));
    }
    components.spawn("api", move |shutdown| {
        shutdown.wait();
        // Keep the connections open while the calls thread reports its last results.
        let _ = calls_done_rx.recv_timeout(API_DRAIN);
        servers.shutdown();
    })?;
    Ok(listeners)
}

/// The call detail records' sink and, with `CdrFilename`, their writer thread, started
/// before the calls thread so that it stops after it: it writes the records of the calls
/// the shutdown ends, then ends when the calls thread drops the sink. SIGHUP reopens the
/// file.
fn start_cdr(config: &Config, components: &mut Components) -> Result<CdrSink, StartError> {
    let settings = RecordSettings {
        instance: config.instance_name.clone(),
        mask_digits: config.cdr_mask_digits,
    };
    let stats = Arc::new(CdrStats::default());
    let Some(path) = &config.cdr_filename else {
        return Ok(CdrSink::new(settings, None, stats));
    };
    let (sink, records) = CdrSink::with_writer(settings, Arc::clone(&stats));
    // SIGHUPs coming faster than the file is reopened need only one reopen.
    let (reopen_tx, reopen_rx) = crossbeam_channel::bounded(1);
    let file = FileSettings {
        path: path.clone(),
        format: config.cdr_format,
        max_lines: config.cdr_file_max_lines,
    };
    let writer =
        CdrWriter::open(file, records, reopen_rx, stats).map_err(|source| StartError::CdrFile {
            path: path.clone(),
            source,
        })?;
    log::info!(target: CONSOLE_TARGET, "call detail records to {} ({})", path.display(), config.cdr_format.name());
    components.on_sighup(Box::new(move || {
        let _ = reopen_tx.try_send(Control::Reopen);
    }));
    components.spawn("cdr", move |_shutdown| writer.run())?;
    Ok(sink)
}

/// Writes the `--ready-file`: one `<name> <address>` line per listener, then `pid <n>`.
/// Written to `<path>.tmp` and renamed, so a reader never sees half a file: once the
/// file exists, every port in it accepts.
pub(crate) fn write_ready_file(path: &Path, listeners: &[Listener]) -> std::io::Result<()> {
    let mut text = String::new();
    for (name, addr) in listeners {
        text.push_str(&format!("{name} {addr}\n"));
    }
    text.push_str(&format!("pid {}\n", std::process::id()));
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

fn reactor_config(config: &Config) -> ReactorConfig {
    let transport = TransportConfig {
        bind: config.ip_address,
        udp_tcp_port: config.udp_tcp_port,
        tls_port: config.tls_port.unwrap_or(0),
        tls_domain: if config.tls_port.is_some() {
            config.tls_domain_name.clone()
        } else {
            String::new()
        },
        cert_dir: PathBuf::from("."),
        keepalives: config.keep_alives,
        ..TransportConfig::default()
    };
    ReactorConfig {
        transport,
        external_address: config.external_address,
        dns: ResolverConfig::from_system(&config.dns_servers),
        layer: {
            let mut layer = LayerConfig {
                // Live client transactions only: finished ones (Timers D, K) are in the
                // layer's finished store and answered INVITEs (Timer M) are not counted.
                max_client_transactions: 100_000,
                finished_budget: config.sip_transaction_memory_mb << 20,
                ..LayerConfig::default()
            };
            // The calls thread cancels a leg that rings too long (RingTimeout) and reports
            // it as 408; Timer C is only the safety net behind it, so it must fire later.
            layer.timers.timer_c = Some(config.ring_timeout + Duration::from_secs(32));
            layer
        },
    }
}

fn engine_config(config: &Config, local: &[(Transport, SocketAddr)]) -> EngineConfig {
    // RFC 3261 §8.1.1.8, RFC 4566 §5.7: Contact and SDP name the address peers reach us
    // at: ExternalAddress behind a 1:1 NAT, else the bound one.
    let local_ip: IpAddr = config
        .external_address
        .or(config.ip_address.filter(|ip| !ip.is_unspecified()))
        // No address configured: the one this host uses towards the outside world (the
        // routing table is asked; nothing is sent). TEST-NET-1, RFC 5737.
        .unwrap_or_else(|| default_local_ip(SocketAddr::from(([192, 0, 2, 1], 5060))));
    // The kernel's port where a port key said `auto`.
    let bound = |kind: Transport| {
        local
            .iter()
            .find(|(t, _)| *t == kind)
            .map(|(_, a)| a.port())
    };
    let udp = bound(Transport::Udp).unwrap_or(config.udp_tcp_port);
    let ports = ListenPorts {
        udp,
        tcp: bound(Transport::Tcp).unwrap_or(udp),
        tls: bound(Transport::Tls),
    };
    EngineConfig {
        credentials: (!config.sip_auth_user.is_empty()).then(|| Credentials {
            user: config.sip_auth_user.clone(),
            password: config.sip_auth_password.clone(),
            realm: (!config.sip_auth_realm.is_empty()).then(|| config.sip_auth_realm.clone()),
        }),
        max_redirects: config.max_redirects,
        call_mode: config.call_mode,
        offer_codecs: config.offer_codecs.clone(),
        outbound_proxy_all: config.outbound_proxy_all,
        fix_nat_contact: config.fix_nat_contact,
        identity: parse_sip_uri(&config.click_to_call_identity).unwrap_or_else(|| {
            Uri::sip(
                Some("click2call"),
                crate::sip::msg::Host::from(local_ip),
                None,
            )
        }),
        local_ip,
        ports,
        outbound_proxy: config
            .outbound_proxy
            .as_deref()
            .and_then(parse_sip_uri)
            .map(|mut u| {
                // RFC 3261 §8.1.2: a pre-loaded outbound proxy route is a loose router.
                if !u.lr() {
                    u.params.set("lr", None);
                }
                u
            }),
        timing: Timing::from_ring_timeout(config.ring_timeout),
        caller_identity: crate::c2c::identity::IdentityConfig::from_config(config),
    }
}

/// A SIP URI from the configuration, retried with `sip:` in front as the original does.
fn parse_sip_uri(text: &str) -> Option<Uri> {
    Uri::parse(text)
        .ok()
        .filter(Uri::is_sip)
        .or_else(|| Uri::parse(&format!("sip:{text}")).ok().filter(Uri::is_sip))
}

fn api_config(config: &Config, call_count: &Arc<CallCount>) -> ApiConfig {
    ApiConfig {
        http_port: config.http_port,
        xml_port: config.xml_rpc_port,
        http_auth: config.http_auth,
        http_auth_password: config.http_auth_pwd.clone(),
        http_auth_realm: config.http_auth_realm.clone(),
        http_max_connections: config.http_max_connections,
        xml_max_connections: config.xml_rpc_max_connections,
        http_max_connections_per_peer: config.http_max_connections_per_peer,
        xml_max_connections_per_peer: config.xml_max_connections_per_peer,
        http_request_timeout: config.http_request_timeout,
        http_allow: config.http_allow.clone(),
        xml_allow: config.xml_allow.clone(),
        https_port: config.https_port,
        xml_tls_port: config.xml_tls_port,
        tls_files: Some(match (&config.https_certificate, &config.https_key) {
            (Some(certificate), Some(key)) => TlsFiles {
                certificate: certificate.clone(),
                key: key.clone(),
            },
            // The SIP TLS transport's certificate, as the issue asks by default.
            _ => TlsFiles::of_domain(Path::new("."), &config.tls_domain_name),
        }),
        xml_auth_token: config.xml_auth_token.clone(),
        instance_name: config.instance_name.clone(),
        metrics_auth: config.metrics_auth,
        limits: Limits {
            max_concurrent: config.max_concurrent_calls,
            per_second: config.max_calls_per_second,
            per_client_per_second: config.max_calls_per_second_per_client,
        },
        call_count: Arc::clone(call_count),
        rules: CallRules {
            destination_allow: Arc::clone(&config.destination_allow),
            destination_deny: Arc::clone(&config.destination_deny),
            initiator_allow: Arc::clone(&config.initiator_allow),
            initiator_deny: Arc::clone(&config.initiator_deny),
        },
        bind: config.api_ip_address,
        ..ApiConfig::default()
    }
}

fn reactor_error(e: ReactorStartError) -> StartError {
    match e {
        ReactorStartError::Transport(TransportStartError::Bind(b)) => StartError::Bind {
            what: match b.transport {
                Transport::Udp => "SIP UDP transport",
                Transport::Tcp => "SIP TCP transport",
                Transport::Tls => "SIP TLS transport",
            },
            addr: b.addr,
            source: b.source,
        },
        other => StartError::Spawn {
            what: "SIP reactor",
            source: std::io::Error::other(other.to_string()),
        },
    }
}

fn api_error(e: ApiStartError) -> StartError {
    match e {
        ApiStartError::Bind { what, addr, source } => StartError::Bind { what, addr, source },
        other => StartError::Spawn {
            what: "API",
            source: std::io::Error::other(other.to_string()),
        },
    }
}
