//! The one test harness: every test binary says `mod support;` and takes what it needs.
//!
//! | piece | for |
//! |---|---|
//! | [`tmp::TempDir`] | a scratch directory (kept when the test fails or `C2C_KEEP_SCRATCH` is set) |
//! | [`server::Server`], [`server::ServerConfig`] | the real binary: config writer (presets `calls`, `api`, `reactor`; file mode, environment), start, ready, stop by PID, log dumped on failure; `start_piped` for a stderr the test reads, `start_command` for the installed package's binary, `rewrite_config` for a reload; [`server::run`] for runs that end by themselves |
//! | [`xml::XmlClient`] | the XML interface: place a call, read its events |
//! | [`http::HttpConn`] | the HTTP interface, and an RFC 7616 digest client |
//! | [`haproxy::Haproxy`] | HAProxy with the scale-out recipe's configuration |
//! | [`browser::Browser`] | headless Chromium through chromedriver (WebDriver): the web page's tests |
//! | [`api_client::ApiClient`], [`api_client::EventStream`] | the JSON API (`/api/v1/calls`), its Server-Sent Events, `/metrics`, `/healthz` |
//! | [`wire`] | raw TCP reads and writes with deadlines; a connection from another loopback address ([`wire::connect_from`]) |
//! | [`sip::Msg`] | SIP text: parse what a peer received, build responses |
//! | [`peer`] | raw SIP peers: UDP socket, TCP/TLS listener and connection |
//! | [`phone::Phone`], [`raw_phone::RawPhone`] | scripted UDP phones: step by step from the test, or autonomous modes SIPp cannot play |
//! | [`sipp::Sipp`], [`lab::Lab`] | SIPp phones, and the call tests' server + SIPp + XML world |
//! | [`lossy::LossyRelay`] | a lossy UDP path between the server and a SIPp phone: the test names the phone by the relay's front port; the relay drops a seeded fraction each way and rewrites the phone's own `127.0.0.1:<port>` in its headers to the front's, so the server's replies and in-dialog requests come back through it too |
//! | [`baresip::Baresip`], [`sip_trace`] | real phones for interop, and their SIP trace |
//! | [`kamailio::Kamailio`] | a real Record-Routing, 407-challenging outbound proxy (`tests/kamailio/`) |
//! | [`dns::TestDnsServer`] | an authoritative DNS server on loopback |
//! | [`api_double::Harness`] | the HTTP/XML front doors in-process with a calls-thread double |
//! | [`transport_rig::Rig`] | `TransportLayer`s in-process on a mio loop |
//! | [`tls`] | certificates made with `openssl` (the command, or a CA and a server certificate in-process), a verified TLS client |
//!
//! # Ports without races
//!
//! A port is never picked by the harness for something that can tell us what it bound:
//! - the server gets `auto` for every listener and `--ready-file`; it writes the file
//!   (atomically) once every listener is bound, and the harness reads the ports from it
//!   ([`server::Server::wait_ready`]);
//! - raw peers, the DNS server, the lossy relay and the in-process front doors bind port 0
//!   themselves and keep the socket;
//! - SIPp, baresip and Kamailio cannot bind port 0 and report it (`sipp -p 0` means 5060), so they
//!   get a candidate port ([`ports::candidate_port`]); the harness then checks that the
//!   child itself holds the port (its socket inode among `/proc/<pid>/fd`) and, when the
//!   child failed to bind ("Unable to bind", or not holding it once ready), starts it
//!   again on a new port, a bounded number of times.
//!
//! # Waits
//!
//! Every wait is bounded: [`WAIT`] is only reached when something is broken, never a
//! timing claim. Only processes started here are signalled, by their PID.

pub mod api_client;
pub mod api_double;
pub mod baresip;
pub mod browser;
pub mod dns;
pub mod haproxy;
pub mod http;
pub mod kamailio;
pub mod lab;
pub mod lossy;
pub mod peer;
pub mod phone;
pub mod ports;
pub mod raw_phone;
pub mod server;
pub mod sip;
pub mod sip_trace;
pub mod sipp;
pub mod tls;
pub mod tmp;
pub mod transport_rig;
pub mod wire;
pub mod xml;

use std::time::Duration;

/// Upper bound of any wait that is not a SIP transaction time-out: only a broken run
/// ever reaches it.
pub const WAIT: Duration = Duration::from_secs(30);

/// Upper bound for a click-to-call whose final event may come from a SIP time-out
/// (Timer B, 64·T1 = 32 s, RFC 3261 §17.1.1.2), with margin.
pub const CALL_WAIT: Duration = Duration::from_secs(45);
