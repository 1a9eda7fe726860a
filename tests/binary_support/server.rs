//! The real `clicktocall` binary, started with a generated configuration in a scratch
//! directory on free loopback ports, and stopped on drop: SIGTERM, then SIGKILL if it has
//! not exited within 5 s — only to the child started here.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::WAIT;

/// The password tests use when authentication is on.
pub const PASSWORD: &str = "s3cret pass";

/// What a test may choose in the generated configuration.
#[derive(Debug, Clone)]
pub struct Options {
    /// `HttpAuth = 1` with this `HttpAuthPwd`; `None`: `HttpAuth = 0`.
    pub auth_password: Option<String>,
    /// Translation rules (pattern, output), tried in this order.
    pub rules: Vec<(String, String)>,
    /// Further `key = value` lines.
    pub extra: Vec<(String, String)>,
}

impl Default for Options {
    /// No authentication; `p<port>-<user>` → `sip:<user>@127.0.0.1:<port>` and SIP URIs
    /// unchanged.
    fn default() -> Self {
        Options {
            auth_password: None,
            rules: vec![
                (
                    r"^p(\d+)-(.+)$".to_owned(),
                    "sip:$2@127.0.0.1:$1".to_owned(),
                ),
                ("^(sip:.*)$".to_owned(), "$1".to_owned()),
            ],
            extra: Vec::new(),
        }
    }
}

impl Options {
    /// Authentication on with [`PASSWORD`].
    pub fn with_auth() -> Options {
        Options {
            auth_password: Some(PASSWORD.to_owned()),
            ..Options::default()
        }
    }

    /// The default rules plus the reference runs' `^(50[0-9][0-9])(\d+)$` →
    /// `sip:$2@127.0.0.1:$1` (so the traces' requests translate as they did there).
    pub fn with_reference_rules() -> Options {
        let mut o = Options::default();
        o.rules.insert(
            1,
            (
                r"^(50[0-9][0-9])(\d+)$".to_owned(),
                "sip:$2@127.0.0.1:$1".to_owned(),
            ),
        );
        o
    }

    pub fn extra(mut self, key: &str, value: &str) -> Options {
        self.extra.push((key.to_owned(), value.to_owned()));
        self
    }
}

/// A loopback port free for TCP and UDP when asked (bind port 0, release). Another
/// process could take it before the server binds it; the kernel hands ephemeral ports out
/// in turn, so that is rare, and the start-up check below reports it.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let Ok(tcp) = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(addr) = tcp.local_addr() else { continue };
        if UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, addr.port())).is_ok() {
            return addr.port();
        }
    }
    panic!("no loopback port free for TCP and UDP after 100 tries");
}

/// A running server.
pub struct Binary {
    child: Child,
    exited: Option<ExitStatus>,
    pub sip_port: u16,
    pub tls_port: u16,
    pub http_port: u16,
    pub xml_port: u16,
    dir: PathBuf,
    config_path: PathBuf,
    log_path: PathBuf,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

impl Binary {
    /// Writes the configuration, starts the binary with `-c` on it and waits (bounded)
    /// until its HTTP and XML ports accept connections. If another process took one of
    /// the chosen ports in between (the server exits with "cannot bind"), starts again
    /// on new ports, at most three times in all.
    pub fn start(tag: &str, options: &Options) -> Binary {
        for _ in 0..2 {
            match Binary::try_start(tag, options) {
                Ok(server) => return server,
                Err(lost) => {
                    eprintln!("a port was taken before clicktocall bound it; new ports");
                    // Not a failure of the test: its scratch files can go.
                    drop(lost);
                }
            }
        }
        Binary::try_start(tag, options).unwrap_or_else(|_| panic!("ports taken three times"))
    }

    /// One start; `Err` only when the server exited because a port was in use.
    fn try_start(tag: &str, options: &Options) -> Result<Binary, Box<Binary>> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("c2c-binary-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch directory");

        let (sip_port, tls_port, http_port, xml_port) =
            (free_port(), free_port(), free_port(), free_port());
        let log_path = dir.join("clicktocall.log");
        let mut config = format!(
            "IPAddress = 127.0.0.1\n\
             ClickToCallIdentity = sip:click2call@127.0.0.1\n\
             UDPTCPPort = {sip_port}\n\
             TLSPort = {tls_port}\n\
             HttpPort = {http_port}\n\
             XmlRpcPort = {xml_port}\n\
             LogLevel = DEBUG\n\
             LogFilename = {}\n",
            log_path.display()
        );
        match &options.auth_password {
            Some(pwd) => config.push_str(&format!("HttpAuth = 1\nHttpAuthPwd = {pwd}\n")),
            None => config.push_str("HttpAuth = 0\n"),
        }
        for (pattern, output) in &options.rules {
            config.push_str(&format!(
                "TranslationPattern = {pattern}\nTranslationOutput = {output}\n"
            ));
        }
        for (key, value) in &options.extra {
            config.push_str(&format!("{key} = {value}\n"));
        }
        let config_path = dir.join("clicktocall.config");
        std::fs::write(&config_path, config).expect("write configuration");
        let stdout_path = dir.join("server.stdout");
        let stderr_path = dir.join("server.stderr");
        let child = Command::new(env!("CARGO_BIN_EXE_clicktocall"))
            .arg("-c")
            .arg(&config_path)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).expect("create stdout file"))
            .stderr(File::create(&stderr_path).expect("create stderr file"))
            .spawn()
            .expect("start clicktocall");
        let mut server = Binary {
            child,
            exited: None,
            sip_port,
            tls_port,
            http_port,
            xml_port,
            dir,
            config_path,
            log_path,
            stdout_path,
            stderr_path,
        };
        let deadline = Instant::now() + WAIT;
        for port in [http_port, xml_port] {
            while !accepting(port) {
                if let Some(status) = server.try_exited() {
                    let said = std::fs::read_to_string(&server.stderr_path).unwrap_or_default()
                        + &server.log();
                    if said.contains("cannot bind") && said.contains("in use") {
                        return Err(Box::new(server));
                    }
                    panic!("clicktocall exited at start-up ({status})");
                }
                assert!(
                    Instant::now() < deadline,
                    "clicktocall's port {port} not open within {WAIT:?}"
                );
                thread::sleep(Duration::from_millis(20));
            }
        }
        if let Some(status) = server.try_exited() {
            panic!("clicktocall exited at start-up ({status})");
        }
        Ok(server)
    }

    pub fn http_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.http_port))
    }

    pub fn xml_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.xml_port))
    }

    pub fn http_url(&self, target: &str) -> String {
        format!("http://127.0.0.1:{}{target}", self.http_port)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn try_exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.try_exited().is_none()
    }

    /// The log file as written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Waits (bounded by `timeout`) until the log has a line containing every one of
    /// `parts`; returns that line.
    pub fn wait_log_line(&self, parts: &[&str], timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self
                .log()
                .lines()
                .find(|l| parts.iter().all(|p| l.contains(p)))
                .map(str::to_owned);
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Configuration, console output and log, for a failure message.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for (what, path) in [
            ("configuration", &self.config_path),
            ("stdout", &self.stdout_path),
            ("stderr", &self.stderr_path),
            ("log", &self.log_path),
        ] {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            // The log of a long test can be large: its end is what explains a failure.
            let skip = text.len().saturating_sub(200_000);
            let start = (skip..text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(text.len());
            let tail = text.get(start..).unwrap_or_default();
            out.push_str(&format!(
                "\n===== clicktocall {what}: {} =====\n{tail}",
                path.display()
            ));
        }
        out
    }

    /// SIGTERM, then SIGKILL after 5 s; the exit status if the process is gone.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        if self.try_exited().is_none() {
            signal(self.child.id(), libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.try_exited().is_none() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
            if self.try_exited().is_none() {
                let _ = self.child.kill();
                self.exited = self.child.wait().ok();
            }
        }
        self.exited
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("{}", self.dump());
            eprintln!("scratch files kept in {}", self.dir.display());
        } else if std::env::var_os("C2C_KEEP_SCRATCH").is_some() {
            eprintln!("scratch files kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// True if a TCP connection to 127.0.0.1:`port` succeeds.
fn accepting(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Sends `sig` to `pid` — always the child this harness started.
fn signal(pid: u32, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own child, not
    // yet reaped (we only wait for it after this call), so the id cannot be reused.
    unsafe {
        libc::kill(pid, sig);
    }
}
