//! Harness of the reactor's black-box tests: the real `clicktocall` binary started on
//! loopback with a generated configuration in a scratch directory, a client of its XML
//! port, and scripted SIP peers (`peer`). Independent of `tests/support` on purpose.
//!
//! Every wait is bounded. The server is stopped on drop — SIGTERM, then SIGKILL — and only
//! the child started here is ever signalled. When a test panics, the server's
//! configuration, console output and DEBUG log are printed (cargo shows them on failure).

#![allow(dead_code)]

pub mod peer;
pub mod sip;
pub mod xml;

use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Bound for start-up, shutdown and anything that should happen "at once": only reached
/// when something is broken.
pub const WAIT: Duration = Duration::from_secs(20);

/// A fresh directory, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("c2c-reactor-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create scratch directory");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A port free for TCP and UDP on every local address, IPv4 and IPv6, at the time of
/// asking. Picked below the kernel's ephemeral range (32768–60999 by default), from a
/// sequence that differs per process, so it does not collide with the ports peers and
/// other tests get from the kernel with port 0.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::process::id().wrapping_mul(7919)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
    for _ in 0..200 {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = 20000 + (seed.wrapping_add(n.wrapping_mul(131)) % 12000) as u16;
        if port_is_free(port) {
            return port;
        }
    }
    panic!("no free port found in 200 tries");
}

fn port_is_free(port: u16) -> bool {
    let v4 = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    let v6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
    let v4_free = TcpListener::bind(v4).is_ok() && UdpSocket::bind(v4).is_ok();
    // A host without IPv6 fails with another error than AddrInUse: that is "free".
    let v6_free = [
        TcpListener::bind(v6).err().map(|e| e.kind()),
        UdpSocket::bind(v6).err().map(|e| e.kind()),
    ]
    .iter()
    .all(|e| *e != Some(std::io::ErrorKind::AddrInUse));
    v4_free && v6_free
}

/// How a test server is configured beyond the fixed loopback settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// `IPAddress`; empty = all interfaces.
    pub ip_address: String,
    /// Translation rules, `(pattern, output)`, in order.
    pub rules: Vec<(String, String)>,
    /// Further `key = value` lines.
    pub extra: Vec<(String, String)>,
    /// Files to write into the working directory before start (name, contents).
    pub files: Vec<(String, Vec<u8>)>,
    /// `TLSDomainName` for a TLS listener on a free `TLSPort` (its certificate and key
    /// must be among `files`); `None`: `TLSPort = 0`.
    pub tls_domain: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ip_address: "127.0.0.1".into(),
            rules: Vec::new(),
            extra: Vec::new(),
            files: Vec::new(),
            tls_domain: None,
        }
    }
}

impl Options {
    /// Every address translated by `output` (`$1` = the whole address).
    pub fn translate_all(output: &str) -> Options {
        Options {
            rules: vec![("^(.*)$".into(), output.into())],
            ..Options::default()
        }
    }

    pub fn rule(mut self, pattern: &str, output: &str) -> Options {
        self.rules.push((pattern.into(), output.into()));
        self
    }

    pub fn set(mut self, key: &str, value: &str) -> Options {
        self.extra.push((key.into(), value.into()));
        self
    }
}

/// The running binary.
pub struct Server {
    child: Child,
    exited: Option<ExitStatus>,
    pub sip_port: u16,
    pub xml_port: u16,
    /// 0 when TLS is off.
    pub tls_port: u16,
    dir: PathBuf,
}

impl Server {
    /// Writes `reactor.config` and `opts.files` into `dir`, starts the binary there with
    /// `-c`, and waits until the log says it started and the XML port accepts.
    pub fn start(dir: &TempDir, opts: &Options) -> Server {
        let dir = dir.path().to_path_buf();
        let sip_port = free_port();
        let mut xml_port = free_port();
        while xml_port == sip_port {
            xml_port = free_port();
        }
        let mut tls_port = 0;
        if opts.tls_domain.is_some() {
            while tls_port == 0 || tls_port == sip_port || tls_port == xml_port {
                tls_port = free_port();
            }
        }
        let mut config = format!(
            "IPAddress = {}\nUDPTCPPort = {sip_port}\nTLSPort = {tls_port}\nXmlRpcPort = {xml_port}\n\
             HttpPort = 0\nLogLevel = DEBUG\nLogFilename = {}\nLogFileMaxLines = 0\n\
             ClickToCallIdentity = sip:click2call@127.0.0.1\n",
            opts.ip_address,
            dir.join("clicktocall.log").display(),
        );
        if let Some(domain) = &opts.tls_domain {
            config.push_str(&format!("TLSDomainName = {domain}\n"));
        }
        for (pattern, output) in &opts.rules {
            config.push_str(&format!(
                "TranslationPattern = {pattern}\nTranslationOutput = {output}\n"
            ));
        }
        for (key, value) in &opts.extra {
            config.push_str(&format!("{key} = {value}\n"));
        }
        std::fs::write(dir.join("reactor.config"), config).expect("write configuration");
        for (name, contents) in &opts.files {
            std::fs::write(dir.join(name), contents).expect("write file for the server");
        }
        let child = Command::new(env!("CARGO_BIN_EXE_clicktocall"))
            .arg("-c")
            .arg("reactor.config")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(File::create(dir.join("console.out")).expect("create console.out"))
            .stderr(File::create(dir.join("console.err")).expect("create console.err"))
            .spawn()
            .expect("start clicktocall");
        let mut server = Server {
            child,
            exited: None,
            sip_port,
            xml_port,
            tls_port,
            dir,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = server.try_exited() {
                panic!("clicktocall exited at start-up ({status})");
            }
            if server.log().contains("clicktocall started")
                && TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, xml_port))).is_ok()
            {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "clicktocall not up within {WAIT:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.sip_port))
    }

    fn try_exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    pub fn is_running(&mut self) -> bool {
        self.try_exited().is_none()
    }

    /// The log file as written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("clicktocall.log")).unwrap_or_default()
    }

    /// Waits up to `timeout` for a log line containing `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Configuration, console and log, for failure messages.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for name in [
            "reactor.config",
            "console.out",
            "console.err",
            "clicktocall.log",
        ] {
            let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            out.push_str(&format!("\n===== {name} =====\n{text}"));
        }
        out
    }

    fn signal(&self, sig: libc::c_int) {
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own child,
        // not yet reaped (checked by the caller), so it cannot name another process.
        unsafe {
            libc::kill(pid, sig);
        }
    }

    /// SIGTERM, then waits up to `timeout` for the exit (no SIGKILL).
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.try_exited().is_none() {
            self.signal(libc::SIGTERM);
        }
        let deadline = Instant::now() + timeout;
        while self.try_exited().is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        self.try_exited()
    }

    /// SIGTERM, up to 5 s for the exit, then SIGKILL.
    pub fn stop(&mut self) {
        if self.try_exited().is_some() {
            return;
        }
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.try_exited().is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        if self.try_exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            eprintln!("{}", self.dump());
        }
    }
}

/// A self-signed certificate and key for "localhost" and 127.0.0.1 (and ::1), made with
/// the `openssl` command in `dir`: `(cert.pem, key.pem)`. Self-signed with CA:TRUE, so a
/// client that trusts the certificate file as a root accepts it.
pub fn self_signed_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let cert = dir.join("peer_cert.pem");
    let key = dir.join("peer_key.pem");
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}
