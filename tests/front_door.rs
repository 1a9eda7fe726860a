//! Black-box tests of the front-door defences (issue 16) against the real binary on
//! loopback: HTTPS and XML over TLS, access lists (a client bound to 127.0.0.2), the XML
//! token, call limits, destination rules, a flood of slow connections and the
//! configuration-mode warning.
//!
//! The helpers are self-contained on purpose (the shared harness is being rewritten);
//! every wait is bounded and only the processes started here are stopped.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslConnector, SslMethod, SslStream};
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, SubjectAlternativeName};
use openssl::x509::{X509, X509NameBuilder};

/// Longest any single wait in these tests may take.
const WAIT: Duration = Duration::from_secs(10);
const TOKEN: &str = "front-door-test-token-0123456789";

// ---------------------------------------------------------------------------------------
// Helpers: scratch directory, ports, the server process, clients.

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("front_door-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A loopback port free for TCP and UDP when asked (bind port 0, release).
fn free_port() -> u16 {
    for _ in 0..100 {
        let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(port) = tcp.local_addr().map(|a| a.port()) else {
            continue;
        };
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port");
}

struct Server {
    child: Child,
    sip: u16,
    http: u16,
    xml: u16,
    https: u16,
    xml_tls: u16,
    stderr: PathBuf,
    log: PathBuf,
}

impl Server {
    /// Starts the binary on `dir` with the generated settings plus `extra` lines; the
    /// file gets `mode`. Ports picked free may be taken before the server binds them: it
    /// then exits with status 2 and is started again on new ports (three attempts).
    fn start_with_mode(dir: &Path, extra: &str, mode: u32) -> Server {
        for _ in 0..3 {
            let (sip, http, xml, https, xml_tls) = (
                free_port(),
                free_port(),
                free_port(),
                free_port(),
                free_port(),
            );
            let log = dir.join("clicktocall.log");
            let text = format!(
                "IPAddress = 127.0.0.1\n\
                 ClickToCallIdentity = sip:click2call@127.0.0.1\n\
                 UDPTCPPort = {sip}\n\
                 TLSPort = 0\n\
                 ApiIPAddress = 127.0.0.1\n\
                 XmlRpcPort = {xml}\n\
                 HttpPort = {http}\n\
                 HttpsPort = {https}\n\
                 XmlTlsPort = {xml_tls}\n\
                 HttpsCertificate = {cert}\n\
                 HttpsKey = {key}\n\
                 LogLevel = INFO\n\
                 LogFilename = {log}\n\
                 TranslationPattern = ^p([0-9]+)-(.+)$\n\
                 TranslationOutput = sip:$2@127.0.0.1:$1\n\
                 TranslationPattern = ^(sip:.*)$\n\
                 TranslationOutput = $1\n\
                 {extra}\n",
                cert = dir.join("cert.pem").display(),
                key = dir.join("key.pem").display(),
                log = log.display(),
            );
            let config = dir.join("clicktocall.config");
            fs::write(&config, text).expect("config");
            fs::set_permissions(&config, fs::Permissions::from_mode(mode)).expect("chmod");
            let stderr = dir.join("stderr.txt");
            let child = Command::new(env!("CARGO_BIN_EXE_clicktocall"))
                .arg("-c")
                .arg(&config)
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&stderr).expect("stderr file"))
                .spawn()
                .expect("start clicktocall");
            let mut server = Server {
                child,
                sip,
                http,
                xml,
                https,
                xml_tls,
                stderr,
                log,
            };
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if server.stderr_text().contains("clicktocall started") {
                    return server;
                }
                if let Ok(Some(status)) = server.child.try_wait() {
                    if status.code() == Some(2) {
                        break; // a port was taken: try new ones
                    }
                    panic!("clicktocall exited {status}: {}", server.stderr_text());
                }
                assert!(
                    Instant::now() < deadline,
                    "clicktocall did not start: {}",
                    server.stderr_text()
                );
                thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("clicktocall could not bind its ports in three attempts");
    }

    fn start(dir: &Path, extra: &str) -> Server {
        Server::start_with_mode(dir, extra, 0o600)
    }

    fn stderr_text(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has a line containing `what`.
    fn log_eventually(&self, what: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let log = self.log_text();
            if log.contains(what) {
                return log;
            }
            assert!(Instant::now() < deadline, "no {what:?} in the log:\n{log}");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe {
                libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + WAIT;
            while let Ok(None) = self.child.try_wait() {
                if Instant::now() >= deadline {
                    let _ = self.child.kill();
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.wait();
        }
    }
}

/// A TCP connection to 127.0.0.1:`port` from `source` (127.0.0.1 or 127.0.0.2: the
/// whole 127/8 is loopback on Linux).
fn connect_from(source: Ipv4Addr, port: u16) -> TcpStream {
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

const HERE: Ipv4Addr = Ipv4Addr::LOCALHOST;
const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// Reads until `done` says the bytes so far are enough, or the peer closes, or WAIT.
fn read_until(s: &mut impl Read, done: impl Fn(&str) -> bool) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline && !done(&String::from_utf8_lossy(&buf)) {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// One HTTP/1.1 request with `Connection: close`; the whole response.
fn http_get(s: &mut (impl Read + Write), target: &str) -> String {
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("write request");
    read_until(s, |_| false)
}

fn xml_request(initiator: &str, destination: &str, token: Option<&str>) -> String {
    let token = token.map_or(String::new(), |t| {
        format!("\r\n    <AuthToken>{t}</AuthToken>")
    });
    format!(
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>{initiator}</Initiator>\r\n    <Destination>{destination}</Destination>{token}\r\n  </Request>\r\n</ClickToCall>"
    )
}

/// Sends one XML request and returns the first response document.
fn xml_first_document(s: &mut (impl Read + Write), request: &str) -> String {
    s.write_all(request.as_bytes()).expect("write request");
    read_until(s, |t| {
        t.contains("</Response>") && t.trim_end().ends_with("</ClickToCall>")
    })
}

/// A UDP socket that takes SIP requests and never answers: a phone that keeps a call
/// in its first leg until the socket is closed (then ICMP ends the call at once).
fn silent_phone() -> (UdpSocket, u16) {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("udp");
    let port = s.local_addr().expect("addr").port();
    (s, port)
}

// ---------------------------------------------------------------------------------------
// Certificates: a CA and a server certificate for localhost / 127.0.0.1 signed by it.

fn ec_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("curve");
    PKey::from_ec_key(EcKey::generate(&group).expect("ec key")).expect("pkey")
}

fn certificate(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>) -> X509 {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", cn).expect("cn");
    let name = name.build();
    let mut b = X509::builder().expect("builder");
    b.set_version(2).expect("version");
    let mut serial = BigNum::new().expect("bn");
    serial.rand(64, MsbOption::MAYBE_ZERO, false).expect("rand");
    b.set_serial_number(&serial.to_asn1_integer().expect("serial"))
        .expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_pubkey(key).expect("pubkey");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("time"))
        .expect("not before");
    b.set_not_after(&Asn1Time::days_from_now(2).expect("time"))
        .expect("not after");
    match issuer {
        None => {
            b.set_issuer_name(&name).expect("issuer");
            b.append_extension(BasicConstraints::new().critical().ca().build().expect("bc"))
                .expect("ext");
            b.sign(key, MessageDigest::sha256()).expect("sign");
        }
        Some((ca, ca_key)) => {
            b.set_issuer_name(ca.subject_name()).expect("issuer");
            let san = SubjectAlternativeName::new()
                .dns("localhost")
                .ip("127.0.0.1")
                .build(&b.x509v3_context(Some(ca), None))
                .expect("san");
            b.append_extension(san).expect("ext");
            b.append_extension(ExtendedKeyUsage::new().server_auth().build().expect("eku"))
                .expect("ext");
            b.sign(ca_key, MessageDigest::sha256()).expect("sign");
        }
    }
    b.build()
}

/// Writes `ca.pem`, `cert.pem` and `key.pem` into `dir`.
fn make_certificates(dir: &Path) {
    let ca_key = ec_key();
    let ca = certificate("front-door test CA", &ca_key, None);
    let key = ec_key();
    let cert = certificate("localhost", &key, Some((&ca, &ca_key)));
    fs::write(dir.join("ca.pem"), ca.to_pem().expect("pem")).expect("ca.pem");
    fs::write(dir.join("cert.pem"), cert.to_pem().expect("pem")).expect("cert.pem");
    fs::write(
        dir.join("key.pem"),
        key.private_key_to_pem_pkcs8().expect("pem"),
    )
    .expect("key.pem");
}

fn tls_connect(dir: &Path, port: u16) -> SslStream<TcpStream> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).expect("connector");
    b.set_ca_file(dir.join("ca.pem")).expect("ca");
    let tcp = connect_from(HERE, port);
    b.build()
        .connect("localhost", tcp)
        .expect("TLS handshake verified against the test CA")
}

fn started(name: &str, extra: &str) -> (Scratch, Server) {
    let dir = Scratch::new(name);
    make_certificates(&dir.0);
    let server = Server::start(&dir.0, extra);
    (dir, server)
}

// ---------------------------------------------------------------------------------------
// TLS front doors.

#[test]
fn curl_reaches_the_https_port_with_the_ca_file() {
    let (dir, server) = started("https", "");
    let url = format!("https://localhost:{}/index.html", server.https);
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(dir.0.join("ca.pem"))
        .args([
            "--resolve",
            &format!("localhost:{}:127.0.0.1", server.https),
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
            &format!("localhost:{}:127.0.0.1", server.https),
        ])
        .arg(&url)
        .output()
        .expect("curl");
    assert!(!out.status.success());
    // A click-to-call over HTTPS is placed like one over HTTP.
    let (_phone, port) = silent_phone();
    let mut tls = tls_connect(&dir.0, server.https);
    let r = http_get(
        &mut tls,
        &format!("/clicktocall.html?initiator=p{port}-100&destination=p{port}-200"),
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    server.log_eventually(&format!(
        "HTTP: 127.0.0.1: click-to-call sip:100@127.0.0.1:{port}"
    ));
}

#[test]
fn the_xml_protocol_runs_inside_tls() {
    let (dir, server) = started("xmltls", "");
    let (_phone, port) = silent_phone();
    let mut tls = tls_connect(&dir.0, server.xml_tls);
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
    let mut plain = connect_from(HERE, server.xml_tls);
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
    for port in [server.http, server.xml] {
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
        let mut allowed = connect_from(HERE, server.http);
        assert!(http_get(&mut allowed, "/index.html").starts_with("HTTP/1.1 200"));
    }
    // A second refusal from the same address within the minute is not logged again.
    let mut again = connect_from(OTHER, server.http);
    assert!(read_until(&mut again, |_| false).is_empty());
    // The TLS port of a protocol shares its list.
    let mut refused = connect_from(OTHER, server.https);
    assert!(read_until(&mut refused, |_| false).is_empty());
    let _tls = tls_connect(&dir.0, server.https);
    // Logged, once a minute per address: two refusals on the HTTP port, one line.
    let log = server.log_eventually("connection from 127.0.0.2");
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
            sip = server.sip,
            ip = local.ip(),
            port = local.port(),
        );
        s.send_to(msg.as_bytes(), (Ipv4Addr::LOCALHOST, server.sip))
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
    server.log_eventually("OPTIONS from 127.0.0.2");
}

// ---------------------------------------------------------------------------------------
// XML token.

#[test]
fn the_xml_token_is_required_when_configured() {
    let (_dir, server) = started("token", &format!("XmlAuthToken = {TOKEN}\n"));
    let (_phone, port) = silent_phone();
    let (i, d) = (format!("p{port}-100"), format!("p{port}-200"));
    let mut c = connect_from(HERE, server.xml);
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
    let log = server.log_eventually("missing AuthToken");
    assert!(log.contains("wrong AuthToken"), "{log}");
    assert!(!log.contains(TOKEN) && !server.stderr_text().contains(TOKEN));
    // --check-config masks it.
    let out = Command::new(env!("CARGO_BIN_EXE_clicktocall"))
        .args(["--check-config", "-c"])
        .arg(_dir.0.join("clicktocall.config"))
        .output()
        .expect("check-config");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("XmlAuthToken = ********"), "{stdout}");
    assert!(!stdout.contains(TOKEN), "{stdout}");
}

#[test]
fn without_a_token_legacy_requests_keep_working() {
    let (_dir, server) = started("notoken", "");
    let (_phone, port) = silent_phone();
    let mut c = connect_from(HERE, server.xml);
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
    let mut c = connect_from(HERE, server.xml);
    for (_, port) in &phones {
        let doc = xml_first_document(
            &mut c,
            &xml_request(&format!("p{port}-100"), &format!("p{port}-200"), None),
        );
        assert!(doc.contains("Code=\"100\""), "{doc}");
    }
    let (_third, port3) = silent_phone();
    let third = xml_request(&format!("p{port3}-100"), &format!("p{port3}-200"), None);
    let mut other = connect_from(HERE, server.xml);
    let refused = xml_first_document(&mut other, &third);
    assert!(
        refused
            .contains("<Result Code=\"503\">Too many calls in progress; try again later</Result>"),
        "{refused}"
    );
    let mut h = connect_from(HERE, server.http);
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
        let mut c = connect_from(HERE, server.xml);
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
    let first = http_get(&mut connect_from(HERE, server.http), &target);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let second = http_get(&mut connect_from(HERE, server.http), &target);
    assert!(
        second.starts_with("HTTP/1.1 429 Too Many Requests"),
        "{second}"
    );
    assert!(second.contains("\r\nRetry-After: 1\r\n"), "{second}");
    // Another client has its own bucket.
    let other = http_get(&mut connect_from(OTHER, server.http), &target);
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
    // XML says the same with its codes.
    let doc = xml_first_document(
        &mut connect_from(HERE, server.xml),
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
    let mut c = connect_from(HERE, server.xml);
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
        &mut connect_from(HERE, server.http),
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
    let log = server.log_eventually("refused: destination deny rule \"^sip:00\"");
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
        let mut s = connect_from(HERE, server.http);
        s.write_all(b"GET /index.html HTTP/1.1\r\nHost: slow\r\n")
            .expect("slow head");
        held.push(s);
        held.push(connect_from(HERE, server.xml));
    }
    for source in [OTHER, HERE] {
        let t = Instant::now();
        let r = http_get(&mut connect_from(source, server.http), "/index.html");
        let http_took = t.elapsed();
        assert!(r.starts_with("HTTP/1.1 200"), "{source}: {r}");
        let t = Instant::now();
        let doc = xml_first_document(
            &mut connect_from(source, server.xml),
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
    let _held: Vec<TcpStream> = (0..3).map(|_| connect_from(HERE, server.xml)).collect();
    let mut fourth = connect_from(HERE, server.xml);
    let answer = read_until(&mut fourth, |t| t.contains("</Response>"));
    assert!(
        answer.contains("<Result Code=\"503\">Too many connections</Result>"),
        "{answer}"
    );
    let doc = xml_first_document(
        &mut connect_from(OTHER, server.xml),
        &xml_request("no-rule", "matches", None),
    );
    assert!(doc.contains("Code=\"400\""), "{doc}");
    let _h: Vec<TcpStream> = (0..2).map(|_| connect_from(HERE, server.http)).collect();
    let r = read_until(&mut connect_from(HERE, server.http), |_| false);
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    let r = http_get(&mut connect_from(OTHER, server.http), "/index.html");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    server.log_eventually("3 connections open from this address");
}

// ---------------------------------------------------------------------------------------
// Secrets.

#[test]
fn a_config_file_with_secrets_readable_by_others_is_warned_about() {
    let dir = Scratch::new("mode");
    make_certificates(&dir.0);
    let server = Server::start_with_mode(&dir.0, "HttpAuthPwd = very-secret-pwd\n", 0o644);
    let stderr = server.stderr_text();
    assert!(
        stderr.contains("holds HttpAuthPwd and is readable by group or others (mode 644)"),
        "{stderr}"
    );
    assert!(!stderr.contains("very-secret-pwd"), "{stderr}");
    drop(server);
    let server = Server::start_with_mode(&dir.0, "HttpAuthPwd = very-secret-pwd\n", 0o600);
    assert!(
        !server.stderr_text().contains("readable by group"),
        "{}",
        server.stderr_text()
    );
}
