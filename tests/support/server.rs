//! The real `clicktocall` binary, started with a generated configuration file in a
//! scratch directory and stopped (only this child) when dropped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::WAIT;
use super::ports::{free_port, wait_tcp_accepting};

/// What a test may change in the generated configuration.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// `RingTimeout` in seconds; the product's default when `None`.
    pub ring_timeout: Option<u32>,
    /// Further `key = value` lines, appended after the generated ones.
    pub extra: Vec<(String, String)>,
}

impl ServerOptions {
    pub fn ring_timeout(seconds: u32) -> ServerOptions {
        ServerOptions {
            ring_timeout: Some(seconds),
            ..ServerOptions::default()
        }
    }
}

/// A running server on loopback.
pub struct Server {
    child: Child,
    exited: Option<ExitStatus>,
    pub sip_port: u16,
    pub xml_port: u16,
    pub http_port: u16,
    pub tls_port: u16,
    config_path: PathBuf,
    log_path: PathBuf,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

impl Server {
    /// Writes `clicktocall.config` into `dir`, starts the binary with `-c` on it and
    /// waits until the XML port accepts connections. A port picked free can be taken by
    /// another process before the server binds it: the server then exits with status 2
    /// ("could not start") and is started again on new ports, up to three times.
    pub fn start(dir: &Path, options: ServerOptions) -> Server {
        for _ in 0..3 {
            if let Some(server) = Server::try_start(dir, &options) {
                return server;
            }
        }
        panic!("clicktocall could not bind its ports in three attempts");
    }

    /// One start attempt; `None` if the server exited with status 2 at start-up.
    fn try_start(dir: &Path, options: &ServerOptions) -> Option<Server> {
        let sip_port = free_port();
        let xml_port = free_port();
        let http_port = free_port();
        let tls_port = free_port();
        let log_path = dir.join("clicktocall.log");
        let mut config = format!(
            "IPAddress = 127.0.0.1\n\
             ClickToCallIdentity = sip:click2call@127.0.0.1\n\
             UDPTCPPort = {sip_port}\n\
             TLSPort = {tls_port}\n\
             XmlRpcPort = {xml_port}\n\
             HttpPort = {http_port}\n\
             HttpAuthPwd = calls-test\n\
             LogLevel = DEBUG\n\
             LogFilename = {}\n\
             TranslationPattern = ^p([0-9]+)-(.+)$\n\
             TranslationOutput = sip:$2@127.0.0.1:$1\n\
             TranslationPattern = ^t([0-9]+)-(.+)$\n\
             TranslationOutput = sip:$2@127.0.0.1:$1;transport=tcp\n",
            log_path.display()
        );
        if let Some(seconds) = options.ring_timeout {
            config.push_str(&format!("RingTimeout = {seconds}\n"));
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
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).expect("create stdout file"))
            .stderr(File::create(&stderr_path).expect("create stderr file"))
            .spawn()
            .expect("start clicktocall");
        let mut server = Server {
            child,
            exited: None,
            sip_port,
            xml_port,
            http_port,
            tls_port,
            config_path,
            log_path,
            stdout_path,
            stderr_path,
        };
        let deadline = Instant::now() + WAIT;
        while !wait_tcp_accepting(xml_port, Duration::from_millis(200)) {
            if let Some(status) = server.try_exited() {
                if status.code() == Some(2) {
                    eprintln!(
                        "clicktocall could not bind a port, retrying:\n{}",
                        server.dump()
                    );
                    return None;
                }
                panic!(
                    "clicktocall exited at start-up ({status}):\n{}",
                    server.dump()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "clicktocall's XML port {xml_port} not open within {WAIT:?}:\n{}",
                    server.dump()
                );
            }
        }
        Some(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
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

    /// Sends SIGTERM to this child (and nothing else).
    pub fn terminate(&mut self) {
        if self.try_exited().is_none() {
            signal(self.child.id(), libc::SIGTERM);
        }
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

    /// The log file as written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
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
            out.push_str(&format!(
                "\n===== clicktocall {what}: {} =====\n{text}",
                path.display()
            ));
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.try_exited().is_some() {
            return;
        }
        self.terminate();
        if self.wait_exit(Duration::from_secs(5)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `sig` to the process `pid` — always a child this harness started.
pub fn signal(pid: u32, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own child.
    unsafe {
        libc::kill(pid, sig);
    }
}
