//! The real `clicktocall` binary: a generated configuration ([`ServerConfig`]) written to
//! a scratch directory, the process started with `auto` ports and `--ready-file`, its
//! bound addresses read from that file, and the process stopped on drop — SIGTERM, then
//! SIGKILL after 5 s, only ever to the child started here. When a test panics, the
//! configuration, console output and log are printed.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::WAIT;
use super::tmp::TempDir;

/// The password of the `api` preset with authentication on.
pub const PASSWORD: &str = "s3cret pass";

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_clicktocall")
}

/// The crate root, for the shipped `conf/clicktocall.config` and the scenario files.
pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What a test chooses in the generated configuration. The ports are never chosen: every
/// listener is `auto` and the server reports what it bound.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `IPAddress`; empty = all interfaces (IPv4 and IPv6).
    pub ip_address: String,
    /// `HttpAuth = 1` with this `HttpAuthPwd`; `None`: `HttpAuth = 0`.
    pub auth_password: Option<String>,
    /// Translation rules `(pattern, output)`, tried in this order.
    pub rules: Vec<(String, String)>,
    /// Further `key = value` lines, after the generated ones (a later line wins).
    pub extra: Vec<(String, String)>,
    /// Files written into the working directory before start (name, contents).
    pub files: Vec<(String, Vec<u8>)>,
    /// `TLSDomainName` of a TLS listener on an `auto` port (its certificate and key must be
    /// among `files`); `None`: `TLSPort = 0`.
    pub tls_domain: Option<String>,
    /// `HttpPort = auto` when true, `0` (off) when false.
    pub http: bool,
    /// The configuration file's mode (the default: as created, umask applied).
    pub mode: Option<u32>,
    /// Environment variables set for the process (`JOURNAL_STREAM` is always removed
    /// unless set here, so the server never takes the test's stderr for the journal).
    pub env: Vec<(String, String)>,
}

impl Default for ServerConfig {
    /// Loopback, no rules, HTTP on without authentication, TLS off.
    fn default() -> Self {
        ServerConfig {
            ip_address: "127.0.0.1".into(),
            auth_password: None,
            rules: Vec::new(),
            extra: Vec::new(),
            files: Vec::new(),
            tls_domain: None,
            http: true,
            mode: None,
            env: Vec::new(),
        }
    }
}

impl ServerConfig {
    /// The call tests' set-up: `p<port>-<user>` → `sip:<user>@127.0.0.1:<port>` and
    /// `t<port>-<user>` → the same over TCP.
    pub fn calls() -> ServerConfig {
        ServerConfig::default()
            .rule(r"^p([0-9]+)-(.+)$", "sip:$2@127.0.0.1:$1")
            .rule(r"^t([0-9]+)-(.+)$", "sip:$2@127.0.0.1:$1;transport=tcp")
            .set("HttpAuthPwd", "calls-test")
    }

    /// The HTTP/XML interface tests' set-up: `p<port>-<user>` as [`ServerConfig::calls`],
    /// SIP URIs unchanged, no authentication.
    pub fn api() -> ServerConfig {
        ServerConfig::default()
            .rule(r"^p(\d+)-(.+)$", "sip:$2@127.0.0.1:$1")
            .rule("^(sip:.*)$", "$1")
    }

    /// The reactor tests' set-up: no rules, no HTTP, the log never rotated.
    pub fn reactor() -> ServerConfig {
        ServerConfig {
            http: false,
            ..ServerConfig::default()
        }
        .set("LogFileMaxLines", "0")
    }

    /// Every address translated by `output` (`$1` = the whole address).
    pub fn translate_all(self, output: &str) -> ServerConfig {
        self.rule("^(.*)$", output)
    }

    pub fn rule(mut self, pattern: &str, output: &str) -> ServerConfig {
        self.rules.push((pattern.into(), output.into()));
        self
    }

    pub fn set(mut self, key: &str, value: &str) -> ServerConfig {
        self.extra.push((key.into(), value.into()));
        self
    }

    /// Every `key = value` line of `lines` (blank lines skipped), as [`ServerConfig::set`].
    pub fn lines(mut self, lines: &str) -> ServerConfig {
        for line in lines.lines().filter(|l| !l.trim().is_empty()) {
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not a configuration line: {line:?}"));
            self = self.set(key.trim(), value.trim());
        }
        self
    }

    /// The configuration file gets `mode` (e.g. 0o600).
    pub fn file_mode(mut self, mode: u32) -> ServerConfig {
        self.mode = Some(mode);
        self
    }

    /// The process gets environment variable `name` = `value`.
    pub fn env(mut self, name: &str, value: &str) -> ServerConfig {
        self.env.push((name.into(), value.into()));
        self
    }

    /// The configuration file text as [`Server::start`] writes it, logging to `log`.
    pub fn file_text(&self, log: &Path) -> String {
        self.text(log)
    }

    /// `RingTimeout` in seconds.
    pub fn ring_timeout(self, seconds: u32) -> ServerConfig {
        self.set("RingTimeout", &seconds.to_string())
    }

    /// Authentication on with [`PASSWORD`].
    pub fn with_auth(mut self) -> ServerConfig {
        self.auth_password = Some(PASSWORD.to_owned());
        self
    }

    /// The reference runs' `^(50[0-9][0-9])(\d+)$` → `sip:$2@127.0.0.1:$1` put second, so
    /// the traces' requests translate as they did there.
    pub fn with_reference_rules(mut self) -> ServerConfig {
        let at = self.rules.len().min(1);
        self.rules.insert(
            at,
            (
                r"^(50[0-9][0-9])(\d+)$".to_owned(),
                "sip:$2@127.0.0.1:$1".to_owned(),
            ),
        );
        self
    }

    /// The configuration file text, logging to `log`.
    fn text(&self, log: &Path) -> String {
        let tls = if self.tls_domain.is_some() {
            "auto"
        } else {
            "0"
        };
        let http = if self.http { "auto" } else { "0" };
        let mut text = format!(
            "IPAddress = {}\nClickToCallIdentity = sip:click2call@127.0.0.1\n\
             UDPTCPPort = auto\nTLSPort = {tls}\nXmlRpcPort = auto\nHttpPort = {http}\n\
             LogLevel = DEBUG\nLogFilename = {}\n",
            self.ip_address,
            log.display()
        );
        if let Some(domain) = &self.tls_domain {
            text.push_str(&format!("TLSDomainName = {domain}\n"));
        }
        match &self.auth_password {
            Some(pwd) => text.push_str(&format!("HttpAuth = 1\nHttpAuthPwd = {pwd}\n")),
            None => text.push_str("HttpAuth = 0\n"),
        }
        for (pattern, output) in &self.rules {
            text.push_str(&format!(
                "TranslationPattern = {pattern}\nTranslationOutput = {output}\n"
            ));
        }
        for (key, value) in &self.extra {
            text.push_str(&format!("{key} = {value}\n"));
        }
        text
    }
}

/// A fixed-layout configuration `test.config` in `dir` for the command-line tests, which
/// name its lines (`extra` starts on line 9): loopback, `auto` ports, TLS off, the log in
/// `dir`, every address translated to `sip:<it>@127.0.0.1`.
pub fn minimal_config(dir: &TempDir, extra: &str) -> PathBuf {
    let text = format!(
        "IPAddress = 127.0.0.1\nUDPTCPPort = auto\nTLSPort = 0\nHttpPort = auto\nXmlRpcPort = auto\n\
         LogFilename = {}\nTranslationPattern = ^(.*)$\nTranslationOutput = sip:$1@127.0.0.1\n{extra}",
        dir.path().join("clicktocall.log").display(),
    );
    dir.write("test.config", &text)
}

/// What the server wrote to its `--ready-file`.
#[derive(Debug, Clone, Default)]
pub struct Ready {
    /// `(name, address)` per line: `sip-udp`, `sip-tcp`, `sip-tls`, `xml`, `http`,
    /// `https`, `xml-tls`.
    pub listeners: Vec<(String, SocketAddr)>,
    pub pid: u32,
}

impl Ready {
    /// Parses the file's text; `None` if a line is not `<name> <address>` or `pid <n>`.
    pub fn parse(text: &str) -> Option<Ready> {
        let mut ready = Ready::default();
        for line in text.lines() {
            let (name, value) = line.split_once(' ')?;
            if name == "pid" {
                ready.pid = value.parse().ok()?;
            } else {
                ready.listeners.push((name.to_owned(), value.parse().ok()?));
            }
        }
        (ready.pid != 0).then_some(ready)
    }

    /// Every address of listener `name`, in the order written.
    pub fn addrs(&self, name: &str) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, a)| *a)
            .collect()
    }

    /// The port of listener `name` (each listener has one port on all its addresses);
    /// 0 if there is none.
    pub fn port(&self, name: &str) -> u16 {
        self.addrs(name).first().map_or(0, SocketAddr::port)
    }
}

/// A running server (or one that ran: the exit status is kept).
pub struct Server {
    child: Child,
    exited: Option<ExitStatus>,
    /// Filled by [`Server::wait_ready`] (`start` does it).
    pub ready: Ready,
    pub sip_port: u16,
    pub xml_port: u16,
    /// 0 when HTTP is off.
    pub http_port: u16,
    /// 0 when TLS is off.
    pub tls_port: u16,
    /// 0 when `HttpsPort` is off.
    pub https_port: u16,
    /// 0 when `XmlTlsPort` is off.
    pub xml_tls_port: u16,
    /// Standard error's lines when it is a pipe of the test's ([`Server::start_piped`]).
    piped: Option<Piped>,
    dir: PathBuf,
    ready_path: PathBuf,
    config_path: Option<PathBuf>,
    log_path: PathBuf,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    /// The scratch directory when the server owns it ([`Server::start_scratch`]).
    _scratch: Option<TempDir>,
}

impl Server {
    /// Writes `clicktocall.config` and `config.files` into `dir`, starts the binary there
    /// with `-c` on it and `--ready-file`, and waits until every listener is bound.
    pub fn start(dir: impl AsRef<Path>, config: &ServerConfig) -> Server {
        Server::start_inner(dir.as_ref(), config, None)
    }

    /// As [`Server::start`], with standard error given by the test (a pipe, a socket):
    /// the child gets `stderr`, and a thread reads `read_end` into lines
    /// ([`Server::stderr`], [`Server::stderr_lines`]) until the child closes it.
    pub fn start_piped(
        dir: impl AsRef<Path>,
        config: &ServerConfig,
        stderr: Stdio,
        read_end: Box<dyn Read + Send>,
    ) -> Server {
        Server::start_inner(dir.as_ref(), config, Some((stderr, read_end)))
    }

    fn start_inner(
        dir: &Path,
        config: &ServerConfig,
        piped: Option<(Stdio, Box<dyn Read + Send>)>,
    ) -> Server {
        let config_path = dir.join("clicktocall.config");
        let log_path = dir.join("clicktocall.log");
        Server::write_config(&config_path, config, &log_path);
        for (name, contents) in &config.files {
            std::fs::write(dir.join(name), contents).expect("write file for the server");
        }
        let mut server = Server::spawn_with(dir, &["-c", "clicktocall.config"], &config.env, piped);
        server.config_path = Some(config_path);
        server.log_path = log_path;
        server.wait_ready();
        server
    }

    fn write_config(path: &Path, config: &ServerConfig, log: &Path) {
        std::fs::write(path, config.text(log)).expect("write configuration");
        if let Some(mode) = config.mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .expect("chmod configuration");
        }
    }

    /// Writes `config` over the configuration file (for a reload: SIGHUP) and returns its
    /// text.
    pub fn rewrite_config(&self, config: &ServerConfig) -> String {
        let path = self
            .config_path
            .as_ref()
            .expect("a server started with a configuration");
        Server::write_config(path, config, &self.log_path);
        config.text(&self.log_path)
    }

    /// The configuration file's path.
    pub fn config_path(&self) -> &Path {
        self.config_path.as_deref().unwrap_or(&self.dir)
    }

    /// As [`Server::start`], in a scratch directory of its own named after `tag`, removed
    /// with the server.
    pub fn start_scratch(tag: &str, config: &ServerConfig) -> Server {
        let dir = TempDir::new(tag);
        let mut server = Server::start(dir.path(), config);
        server._scratch = Some(dir);
        server
    }

    /// Starts a command the test prepared (another copy of the binary, e.g. the installed
    /// one run through `setpriv` as the packaged unit runs it: it must exec the server, so
    /// the child's pid is the server's) with `--ready-file ready_path` added, console output
    /// to files in `out_dir`, and waits until every listener is bound. `log_path` is the
    /// log the server writes (for [`Server::log`] and the failure dump).
    pub fn start_command(
        mut cmd: Command,
        ready_path: &Path,
        out_dir: &Path,
        log_path: &Path,
    ) -> Server {
        let _ = std::fs::remove_file(ready_path);
        let stdout_path = out_dir.join("server.stdout");
        let stderr_path = out_dir.join("server.stderr");
        cmd.arg("--ready-file")
            .arg(ready_path)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).expect("create stdout file"))
            .stderr(File::create(&stderr_path).expect("create stderr file"));
        let child = cmd.spawn().expect("start the server command");
        let mut server = Server {
            child,
            exited: None,
            ready: Ready::default(),
            sip_port: 0,
            xml_port: 0,
            http_port: 0,
            tls_port: 0,
            https_port: 0,
            xml_tls_port: 0,
            piped: None,
            dir: out_dir.to_path_buf(),
            ready_path: ready_path.to_path_buf(),
            config_path: None,
            log_path: log_path.to_path_buf(),
            stdout_path,
            stderr_path,
            _scratch: None,
        };
        server.wait_ready();
        server
    }

    /// Starts the binary in `dir` with `args` and `--ready-file <dir>/ready`, without
    /// waiting: for tests of the command line itself. Console output goes to files.
    pub fn spawn(dir: &Path, args: &[&str]) -> Server {
        Server::spawn_with(dir, args, &[], None)
    }

    fn spawn_with(
        dir: &Path,
        args: &[&str],
        env: &[(String, String)],
        piped: Option<(Stdio, Box<dyn Read + Send>)>,
    ) -> Server {
        let ready_path = dir.join("ready");
        let _ = std::fs::remove_file(&ready_path);
        let stdout_path = dir.join("server.stdout");
        let stderr_path = dir.join("server.stderr");
        let mut cmd = Command::new(binary());
        cmd.args(args)
            .arg("--ready-file")
            .arg(&ready_path)
            .current_dir(dir)
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).expect("create stdout file"));
        for (name, value) in env {
            cmd.env(name, value);
        }
        let (child, piped) = match piped {
            None => {
                cmd.stderr(File::create(&stderr_path).expect("create stderr file"));
                (cmd.spawn().expect("start clicktocall"), None)
            }
            Some((stderr, read_end)) => {
                cmd.stderr(stderr);
                let child = cmd.spawn().expect("start clicktocall");
                // Our copy of the child's end must go, or the end of stream never comes.
                drop(cmd);
                (child, Some(Piped::read(read_end)))
            }
        };
        Server {
            child,
            exited: None,
            ready: Ready::default(),
            sip_port: 0,
            xml_port: 0,
            http_port: 0,
            tls_port: 0,
            https_port: 0,
            xml_tls_port: 0,
            piped,
            dir: dir.to_path_buf(),
            ready_path,
            config_path: None,
            log_path: dir.join("clicktocall.log"),
            stdout_path,
            stderr_path,
            _scratch: None,
        }
    }

    /// Waits (bounded by [`WAIT`]) for the ready file and reads the ports from it. Panics
    /// with the server's output if it exits first or the file does not come.
    pub fn wait_ready(&mut self) -> &Ready {
        let deadline = Instant::now() + WAIT;
        loop {
            // The server renames the file into place complete, so any text read is whole.
            if let Ok(text) = std::fs::read_to_string(&self.ready_path) {
                let ready = Ready::parse(&text)
                    .unwrap_or_else(|| panic!("unreadable ready file:\n{text}{}", self.dump()));
                assert_eq!(ready.pid, self.pid(), "ready file of another process");
                self.sip_port = ready.port("sip-udp");
                self.xml_port = ready.port("xml");
                self.http_port = ready.port("http");
                self.tls_port = ready.port("sip-tls");
                self.https_port = ready.port("https");
                self.xml_tls_port = ready.port("xml-tls");
                self.ready = ready;
                return &self.ready;
            }
            if let Some(status) = self.try_exited() {
                panic!(
                    "clicktocall exited at start-up ({status}):\n{}",
                    self.dump()
                );
            }
            assert!(
                Instant::now() < deadline,
                "clicktocall wrote no ready file within {WAIT:?}:\n{}",
                self.dump()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.sip_port))
    }

    pub fn xml_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.xml_port))
    }

    pub fn http_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.http_port))
    }

    pub fn http_url(&self, target: &str) -> String {
        format!("http://127.0.0.1:{}{target}", self.http_port)
    }

    fn try_exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.try_exited().is_none()
    }

    /// Sends `sig` to this child, unless it has already been reaped (then its pid could
    /// name another process).
    pub fn signal(&mut self, sig: libc::c_int) {
        if self.try_exited().is_some() {
            return;
        }
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own child,
        // not yet reaped (checked above), so it cannot name another process.
        unsafe {
            libc::kill(pid, sig);
        }
    }

    /// SIGTERM (and nothing else).
    pub fn terminate(&mut self) {
        self.signal(libc::SIGTERM);
    }

    /// SIGTERM, then waits up to `timeout` for the exit (no SIGKILL).
    pub fn terminate_and_wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.terminate();
        self.wait_exit(timeout)
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The exit status; panics with the output if the process has not ended within
    /// [`WAIT`].
    pub fn expect_exit(&mut self) -> ExitStatus {
        self.wait_exit(WAIT)
            .unwrap_or_else(|| panic!("clicktocall did not exit within {WAIT:?}:\n{}", self.dump()))
    }

    /// SIGTERM, then SIGKILL after 5 s; the exit status if the process is gone.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        if self.terminate_and_wait(Duration::from_secs(5)).is_none() {
            let _ = self.child.kill();
            self.exited = self.child.wait().ok();
        }
        self.exited
    }

    /// The log file as written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The console's standard error as written so far.
    pub fn stderr(&self) -> String {
        match &self.piped {
            Some(piped) => piped.lines().join("\n"),
            None => std::fs::read_to_string(&self.stderr_path).unwrap_or_default(),
        }
    }

    /// Standard error's lines so far (whole once [`Server::stop_cleanly`] returned).
    pub fn stderr_lines(&self) -> Vec<String> {
        match &self.piped {
            Some(piped) => piped.lines(),
            None => self.stderr().lines().map(str::to_owned).collect(),
        }
    }

    /// SIGTERM; asserts the exit status 0 within [`WAIT`], and reads a piped standard
    /// error to its end.
    pub fn stop_cleanly(&mut self) {
        let status = self.terminate_and_wait(WAIT);
        if let Some(piped) = &mut self.piped {
            piped.join();
        }
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "clicktocall did not stop cleanly:\n{}",
            self.dump()
        );
    }

    /// The whole log once it has a line containing `needle`; panics with the log if none
    /// comes within [`WAIT`].
    pub fn expect_log(&self, needle: &str) -> String {
        if self.wait_log(needle, WAIT) {
            return self.log();
        }
        panic!("no {needle:?} in the log within {WAIT:?}:\n{}", self.log())
    }

    /// Waits up to `timeout` for a log line containing `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        self.wait_log_line(&[needle], timeout).is_some()
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

    /// Waits for a standard-error line containing `needle` and returns it; panics with
    /// the output if it does not come within [`WAIT`] or the process ends first.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let exited = self.try_exited();
            // Read after the exit check, so the lines of a process that just ended count.
            if let Some(line) = self.stderr().lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            if let Some(status) = exited {
                panic!(
                    "clicktocall ended ({status}) before printing {needle:?}:\n{}",
                    self.dump()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no line containing {needle:?} within {WAIT:?}:\n{}",
                self.dump()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Configuration, console output and log, for a failure message. A long log is cut
    /// to its end, which is what explains a failure.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        let mut parts = vec![
            ("stdout", self.stdout_path.clone()),
            ("log", self.log_path.clone()),
        ];
        if let Some(config) = &self.config_path {
            parts.insert(0, ("configuration", config.clone()));
        }
        if self.piped.is_some() {
            out.push_str(&format!(
                "\n===== clicktocall stderr (piped) =====\n{}",
                self.stderr()
            ));
        }
        if self.piped.is_none() {
            parts.insert(1, ("stderr", self.stderr_path.clone()));
        }
        for (what, path) in parts {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
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
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            eprintln!("{}", self.dump());
        }
    }
}

/// A standard error the test reads: its lines, gathered by a thread until the end of
/// stream.
struct Piped {
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<thread::JoinHandle<()>>,
}

impl Piped {
    fn read(read_end: Box<dyn Read + Send>) -> Piped {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = thread::spawn(move || {
            for line in BufReader::new(read_end).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut lines) = sink.lock() {
                    lines.push(line);
                }
            }
        });
        Piped {
            lines,
            reader: Some(reader),
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits for the end of stream (the child has exited: it comes at once).
    fn join(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// What a finished run printed.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Polls `child` (one the test started) until it exits or `timeout` passes.
pub fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => return None,
        }
    }
}

fn drain<R: std::io::Read + Send + 'static>(mut pipe: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// Runs the binary with `args` in `cwd` to completion (no ready file: for runs that end
/// by themselves, such as `--check-config`), killing it and failing the test if it has
/// not finished within [`WAIT`]. Output is piped, so nothing is written to `cwd`.
pub fn run(cwd: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start clicktocall");
    let stdout = drain(child.stdout.take().expect("stdout piped"));
    let stderr = drain(child.stderr.take().expect("stderr piped"));
    let status = wait_bounded(&mut child, WAIT).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("clicktocall {args:?} did not finish within {WAIT:?}");
    });
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}
