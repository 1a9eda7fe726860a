//! Black-box tests of the front-door defences (issue 16) against the real binary on
//! loopback: HTTPS and XML over TLS, access lists (a client bound to 127.0.0.2), the XML
//! token, call limits, destination rules, a flood of slow connections and the
//! configuration-mode warning.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{
    WAIT,
    http::get_closing as http_get,
    server::{Server, ServerConfig, run},
    tls::{connect_verified, make_ca_and_server_cert},
    tmp::TempDir,
    wire::{connect_from, read_until},
    xml::{first_document as xml_first_document, request_text as xml_request},
};

const TOKEN: &str = "front-door-test-token-0123456789";

const HERE: Ipv4Addr = Ipv4Addr::LOCALHOST;
const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// The front doors' configuration: the `api` preset (`p<port>-<user>` rules, SIP URIs
/// unchanged, no authentication) with the API on loopback, HTTPS and XML over TLS on
/// `auto` ports with the certificate of [`make_ca_and_server_cert`], INFO logging (the
/// tests count log lines), and the test's `extra` lines.
fn config(dir: &Path, extra: &str) -> ServerConfig {
    ServerConfig::api()
        .set("ApiIPAddress", "127.0.0.1")
        .set("HttpsPort", "auto")
        .set("XmlTlsPort", "auto")
        .set(
            "HttpsCertificate",
            &dir.join("cert.pem").display().to_string(),
        )
        .set("HttpsKey", &dir.join("key.pem").display().to_string())
        .set("LogLevel", "INFO")
        .lines(extra)
        .file_mode(0o600)
}

/// A UDP socket that takes SIP requests and never answers: a phone that keeps a call
/// in its first leg until the socket is closed (then ICMP ends the call at once).
fn silent_phone() -> (UdpSocket, u16) {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("udp");
    let port = s.local_addr().expect("addr").port();
    (s, port)
}

fn tls_connect(dir: &Path, port: u16) -> openssl::ssl::SslStream<TcpStream> {
    connect_verified(&dir.join("ca.pem"), port)
}

fn started(name: &str, extra: &str) -> (TempDir, Server) {
    let dir = TempDir::new(&format!("front-door-{name}"));
    make_ca_and_server_cert(dir.path());
    let server = Server::start(dir.path(), &config(dir.path(), extra));
    (dir, server)
}

// ---------------------------------------------------------------------------------------
// TLS front doors.

#[test]
fn curl_reaches_the_https_port_with_the_ca_file() {
    let (dir, server) = started("https", "");
    let url = format!("https://localhost:{}/index.html", server.https_port);
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(dir.path().join("ca.pem"))
        .args([
            "--resolve",
            &format!("localhost:{}:127.0.0.1", server.https_port),
        ])
        .args(["-w", "\n%{http_code} %{ssl_verify_result}", &url])
        .output()
        .expect("curl is installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Click-To-Call HTML Server"), "{stdout}");
    assert!(stdout.trim_end().ends_with("200 0"), "{stdout}");
    // Without the CA the certificate is not trusted.
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args([
            "--resolve",
            &format!("localhost:{}:127.0.0.1", server.https_port),
        ])
        .arg(&url)
        .output()
        .expect("curl");
    assert!(!out.status.success());
    // A click-to-call over HTTPS is placed like one over HTTP.
    let (_phone, port) = silent_phone();
    let mut tls = tls_connect(dir.path(), server.https_port);
    let r = http_get(
        &mut tls,
        &format!("/clicktocall.html?initiator=p{port}-100&destination=p{port}-200"),
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    server.expect_log(&format!(
        "HTTP: 127.0.0.1: click-to-call sip:100@127.0.0.1:{port}"
    ));
}

#[test]
fn the_xml_protocol_runs_inside_tls() {
    let (dir, server) = started("xmltls", "");
    let (_phone, port) = silent_phone();
    let mut tls = tls_connect(dir.path(), server.xml_tls_port);
    let request = xml_request(&format!("p{port}-100"), &format!("p{port}-200"), None);
    let doc = xml_first_document(&mut tls, &request);
    assert!(
        doc.contains("<Result Code=\"100\">In progress</Result>"),
        "{doc}"
    );
    assert!(
        doc.contains(&format!(
            "<TranslatedInitiator>sip:100@127.0.0.1:{port}</TranslatedInitiator>"
        )),
        "{doc}"
    );
    // The connection is kept and takes another request.
    let doc = xml_first_document(&mut tls, &xml_request("nothing", "matches", None));
    assert!(doc.contains("Code=\"400\""), "{doc}");
    // Plain text on the TLS port gets no XML answer.
    let mut plain = connect_from(HERE, server.xml_tls_port);
    plain.write_all(request.as_bytes()).expect("write");
    let answer = read_until(&mut plain, |_| false);
    assert!(!answer.contains("<Result"), "{answer}");
}

// ---------------------------------------------------------------------------------------
// Access lists.

#[test]
fn peers_outside_the_access_lists_are_closed_at_once() {
    let (dir, server) = started(
        "allow",
        "HttpAllow = 127.0.0.1/32\nXmlAllow = 127.0.0.1, ::1\n",
    );
    for port in [server.http_port, server.xml_port] {
        let mut refused = connect_from(OTHER, port);
        let _ = refused.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let t = Instant::now();
        let answer = read_until(&mut refused, |_| false);
        assert!(answer.is_empty(), "refused peer got {answer:?}");
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "closed after {:?}",
            t.elapsed()
        );
        // The allowed address is still served.
        let mut allowed = connect_from(HERE, server.http_port);
        assert!(http_get(&mut allowed, "/index.html").starts_with("HTTP/1.1 200"));
    }
    // A second refusal from the same address within the minute is not logged again.
    let mut again = connect_from(OTHER, server.http_port);
    assert!(read_until(&mut again, |_| false).is_empty());
    // The TLS port of a protocol shares its list.
    let mut refused = connect_from(OTHER, server.https_port);
    assert!(read_until(&mut refused, |_| false).is_empty());
    let _tls = tls_connect(dir.path(), server.https_port);
    // Logged, once a minute per address: two refusals on the HTTP port, one line.
    let log = server.expect_log("connection from 127.0.0.2");
    assert!(log.contains("not in the access list"), "{log}");
    let lines = log
        .lines()
        .filter(|l| l.contains("HTTP connection from 127.0.0.2"))
        .count();
    assert_eq!(lines, 1, "{log}");
}

#[test]
fn out_of_dialog_sip_requests_from_outside_sip_allow_get_403() {
    let (_dir, server) = started("sipallow", "SipAllow = 127.0.0.1\n");
    let options = |from: Ipv4Addr| {
        let s = UdpSocket::bind((from, 0)).expect("udp");
        s.set_read_timeout(Some(WAIT)).expect("timeout");
        let local = s.local_addr().expect("addr");
        let msg = format!(
            "OPTIONS sip:click2call@127.0.0.1:{sip} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-fd-{port}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:probe@{ip}>;tag=fd1\r\n\
             To: <sip:click2call@127.0.0.1>\r\n\
             Call-ID: fd-{port}@{ip}\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n",
            sip = server.sip_port,
            ip = local.ip(),
            port = local.port(),
        );
        s.send_to(msg.as_bytes(), (Ipv4Addr::LOCALHOST, server.sip_port))
            .expect("send");
        let mut buf = [0u8; 4096];
        let n = s.recv(&mut buf).expect("an answer");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let refused = options(OTHER);
    assert!(
        refused.starts_with("SIP/2.0 403 Forbidden\r\n"),
        "{refused}"
    );
    let answered = options(HERE);
    assert!(answered.starts_with("SIP/2.0 200"), "{answered}");
    server.expect_log("OPTIONS from 127.0.0.2");
}

// ---------------------------------------------------------------------------------------
// XML token.

#[test]
fn the_xml_token_is_required_when_configured() {
    let (_dir, server) = started("token", &format!("XmlAuthToken = {TOKEN}\n"));
    let (_phone, port) = silent_phone();
    let (i, d) = (format!("p{port}-100"), format!("p{port}-200"));
    let mut c = connect_from(HERE, server.xml_port);
    let missing = xml_first_document(&mut c, &xml_request(&i, &d, None));
    assert!(
        missing.contains("<Result Code=\"401\">Unauthorized</Result>"),
        "{missing}"
    );
    let wrong = xml_first_document(
        &mut c,
        &xml_request(&i, &d, Some("front-door-test-token-X")),
    );
    assert!(
        wrong.contains("<Result Code=\"401\">Unauthorized</Result>"),
        "{wrong}"
    );
    // A prefix of the token is as wrong as anything else.
    let prefix = xml_first_document(&mut c, &xml_request(&i, &d, Some(&TOKEN[..20])));
    assert!(prefix.contains("Code=\"401\""), "{prefix}");
    let right = xml_first_document(&mut c, &xml_request(&i, &d, Some(TOKEN)));
    assert!(
        right.contains("<Result Code=\"100\">In progress</Result>"),
        "{right}"
    );
    let log = server.expect_log("missing AuthToken");
    assert!(log.contains("wrong AuthToken"), "{log}");
    assert!(!log.contains(TOKEN) && !server.stderr().contains(TOKEN));
    // --check-config masks it.
    let config = server.config_path().display().to_string();
    let out = run(_dir.path(), &["--check-config", "-c", &config]);
    let stdout = out.stdout;
    assert!(stdout.contains("XmlAuthToken = ********"), "{stdout}");
    assert!(!stdout.contains(TOKEN), "{stdout}");
}

#[test]
fn without_a_token_legacy_requests_keep_working() {
    let (_dir, server) = started("notoken", "");
    let (_phone, port) = silent_phone();
    let mut c = connect_from(HERE, server.xml_port);
    let doc = xml_first_document(
        &mut c,
        &xml_request(&format!("p{port}-100"), &format!("p{port}-200"), None),
    );
    assert!(doc.contains("Code=\"100\""), "{doc}");
}

// ---------------------------------------------------------------------------------------
// Limits.

#[test]
fn the_call_after_max_concurrent_calls_is_refused_until_one_ends() {
    let (_dir, server) = started("concurrent", "MaxConcurrentCalls = 2\n");
    let phones: Vec<(UdpSocket, u16)> = (0..2).map(|_| silent_phone()).collect();
    let mut c = connect_from(HERE, server.xml_port);
    for (_, port) in &phones {
        let doc = xml_first_document(
            &mut c,
            &xml_request(&format!("p{port}-100"), &format!("p{port}-200"), None),
        );
        assert!(doc.contains("Code=\"100\""), "{doc}");
    }
    let (_third, port3) = silent_phone();
    let third = xml_request(&format!("p{port3}-100"), &format!("p{port3}-200"), None);
    let mut other = connect_from(HERE, server.xml_port);
    let refused = xml_first_document(&mut other, &third);
    assert!(
        refused
            .contains("<Result Code=\"503\">Too many calls in progress; try again later</Result>"),
        "{refused}"
    );
    let mut h = connect_from(HERE, server.http_port);
    let r = http_get(
        &mut h,
        &format!("/clicktocall.html?initiator=p{port3}-100&destination=p{port3}-200"),
    );
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    assert!(r.contains("\r\nRetry-After: 1\r\n"), "{r}");
    // Closing the phones' sockets ends both calls (ICMP port unreachable): their places
    // come back and the next call is taken.
    drop(phones);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut c = connect_from(HERE, server.xml_port);
        let doc = xml_first_document(&mut c, &third);
        if doc.contains("Code=\"100\"") {
            break;
        }
        assert!(doc.contains("Code=\"503\""), "{doc}");
        assert!(Instant::now() < deadline, "no place came back: {doc}");
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_client_over_its_rate_gets_429_with_retry_after() {
    let (_dir, server) = started("rate", "MaxCallsPerSecondPerClient = 1\n");
    let (_phone, port) = silent_phone();
    let target = format!("/clicktocall.html?initiator=p{port}-100&destination=p{port}-200");
    let first = http_get(&mut connect_from(HERE, server.http_port), &target);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let second = http_get(&mut connect_from(HERE, server.http_port), &target);
    assert!(
        second.starts_with("HTTP/1.1 429 Too Many Requests"),
        "{second}"
    );
    assert!(second.contains("\r\nRetry-After: 1\r\n"), "{second}");
    // Another client has its own bucket.
    let other = http_get(&mut connect_from(OTHER, server.http_port), &target);
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
    // XML says the same with its codes.
    let doc = xml_first_document(
        &mut connect_from(HERE, server.xml_port),
        &xml_request(&format!("p{port}-100"), &format!("p{port}-200"), None),
    );
    assert!(doc.contains("Code=\"429\""), "{doc}");
}

// ---------------------------------------------------------------------------------------
// Destination rules.

#[test]
fn denied_destinations_are_refused_with_403() {
    let (_dir, server) = started(
        "deny",
        "DestinationDeny = ^sip:00\nDestinationDeny = ^sip:\\+?1900\nInitiatorAllow = ^sip:1[0-9][0-9]@\n",
    );
    let (_phone, port) = silent_phone();
    let mut c = connect_from(HERE, server.xml_port);
    let doc = xml_first_document(
        &mut c,
        &xml_request(&format!("p{port}-100"), "sip:0044123@127.0.0.1", None),
    );
    assert!(
        doc.contains(
            "<Result Code=\"403\">Destination sip:0044123@127.0.0.1 is not allowed</Result>"
        ),
        "{doc}"
    );
    let r = http_get(
        &mut connect_from(HERE, server.http_port),
        &format!("/clicktocall.html?initiator=p{port}-100&destination=sip:%2B1900555@127.0.0.1"),
    );
    assert!(r.starts_with("HTTP/1.1 403 Forbidden"), "{r}");
    // The initiator allow list: 999 is not 1xx.
    let doc = xml_first_document(
        &mut c,
        &xml_request(&format!("p{port}-999"), &format!("p{port}-200"), None),
    );
    assert!(
        doc.contains("Code=\"403\"") && doc.contains("Initiator"),
        "{doc}"
    );
    // Allowed ones go on.
    let doc = xml_first_document(
        &mut c,
        &xml_request(&format!("p{port}-100"), &format!("p{port}-200"), None),
    );
    assert!(doc.contains("Code=\"100\""), "{doc}");
    let log = server.expect_log("refused: destination deny rule \"^sip:00\"");
    assert!(
        log.contains("refused: initiator no allow rule matches"),
        "{log}"
    );
}

// ---------------------------------------------------------------------------------------
// Floods.

fn raise_nofile() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a pointer to a live rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

#[test]
fn a_new_client_is_served_while_1000_slow_http_and_1000_idle_xml_connections_are_open() {
    raise_nofile();
    // Per-peer caps raised so every slow connection is really held by the server (the
    // hardest case: the global limits and the threads, not the per-peer cap, bear it).
    let (_dir, server) = started(
        "flood",
        "HttpMaxConnectionsPerPeer = 2000\nXmlMaxConnectionsPerPeer = 2000\nHttpRequestTimeout = 120\n",
    );
    let mut held = Vec::with_capacity(2000);
    for _ in 0..1000 {
        let mut s = connect_from(HERE, server.http_port);
        s.write_all(b"GET /index.html HTTP/1.1\r\nHost: slow\r\n")
            .expect("slow head");
        held.push(s);
        held.push(connect_from(HERE, server.xml_port));
    }
    for source in [OTHER, HERE] {
        let t = Instant::now();
        let r = http_get(&mut connect_from(source, server.http_port), "/index.html");
        let http_took = t.elapsed();
        assert!(r.starts_with("HTTP/1.1 200"), "{source}: {r}");
        let t = Instant::now();
        let doc = xml_first_document(
            &mut connect_from(source, server.xml_port),
            &xml_request("no-rule", "matches", None),
        );
        let xml_took = t.elapsed();
        assert!(doc.contains("Code=\"400\""), "{source}: {doc}");
        eprintln!(
            "served from {source} with 2000 slow connections open: HTTP {http_took:?}, XML {xml_took:?}"
        );
    }
    // The slow ones are still open: none was answered.
    let mut probe = [0u8; 1];
    held[0].set_nonblocking(true).expect("nonblocking");
    assert!(
        matches!(held[0].read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    );
}

#[test]
fn connections_over_the_per_peer_cap_are_refused_but_others_are_served() {
    let (_dir, server) = started(
        "perpeer",
        "XmlMaxConnectionsPerPeer = 3\nHttpMaxConnectionsPerPeer = 2\n",
    );
    let _held: Vec<TcpStream> = (0..3)
        .map(|_| connect_from(HERE, server.xml_port))
        .collect();
    let mut fourth = connect_from(HERE, server.xml_port);
    let answer = read_until(&mut fourth, |t| t.contains("</Response>"));
    assert!(
        answer.contains("<Result Code=\"503\">Too many connections</Result>"),
        "{answer}"
    );
    let doc = xml_first_document(
        &mut connect_from(OTHER, server.xml_port),
        &xml_request("no-rule", "matches", None),
    );
    assert!(doc.contains("Code=\"400\""), "{doc}");
    let _h: Vec<TcpStream> = (0..2)
        .map(|_| connect_from(HERE, server.http_port))
        .collect();
    let r = read_until(&mut connect_from(HERE, server.http_port), |_| false);
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    let r = http_get(&mut connect_from(OTHER, server.http_port), "/index.html");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    server.expect_log("3 connections open from this address");
}

// ---------------------------------------------------------------------------------------
// Secrets.

#[test]
fn a_config_file_with_secrets_readable_by_others_is_warned_about() {
    let dir = TempDir::new("front-door-mode");
    make_ca_and_server_cert(dir.path());
    let secret = config(dir.path(), "HttpAuthPwd = very-secret-pwd\n");
    let server = Server::start(dir.path(), &secret.clone().file_mode(0o644));
    let stderr = server.stderr();
    assert!(
        stderr.contains("holds HttpAuthPwd and is readable by group or others (mode 644)"),
        "{stderr}"
    );
    assert!(!stderr.contains("very-secret-pwd"), "{stderr}");
    drop(server);
    let server = Server::start(dir.path(), &secret.file_mode(0o600));
    assert!(
        !server.stderr().contains("readable by group"),
        "{}",
        server.stderr()
    );
}
