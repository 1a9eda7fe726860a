//! Kamailio 5.6 (Debian package `kamailio`) as a real outbound proxy: the configuration
//! in `tests/kamailio/proxy.cfg` Record-Routes and challenges initial requests with 407
//! against one static password. Its log (stderr, `-E`) is kept for the test to read.
//!
//! Kamailio cannot report a port it chose: it gets a candidate port, and the harness
//! checks that its main process holds it, starting it again on a new port when another
//! process took the port first (see `support` on ports). Only the child started here is
//! signalled, by its PID: SIGTERM, then SIGKILL after a grace period.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::ports::{Bound, Proto, candidate_port, wait_owned};

/// Starts before a port clash is a failure.
const BIND_ATTEMPTS: usize = 5;

/// How long Kamailio may take to leave after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Where Debian puts the modules.
const MODULE_DIRS: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/kamailio/modules",
    "/usr/lib/kamailio/modules",
];

/// The realm of the proxy's challenges.
pub const REALM: &str = "c2c.test";

/// One running Kamailio.
pub struct Kamailio {
    child: Child,
    /// Its UDP port on 127.0.0.1 (and TCP port, when started with [`Kamailio::start_tcp`]).
    pub port: u16,
    /// It listens on TCP too, and [`Kamailio::uri`] names TCP.
    tcp: bool,
    dir: PathBuf,
    log_path: PathBuf,
}

impl Kamailio {
    /// Starts the proxy in `<dir>/kamailio-<port>/`, accepting `password` for any user
    /// and challenging with `algorithm` (`MD5` or `SHA-256`), and returns once it holds its
    /// port. Panics (never skips) when Kamailio is missing.
    pub fn start(dir: &Path, password: &str, algorithm: &str) -> Kamailio {
        Kamailio::start_with(dir, password, algorithm, false)
    }

    /// As [`Kamailio::start`], listening on TCP too (the same port number): [`Kamailio::uri`]
    /// then says `;transport=tcp`, so the server reaches it over TCP.
    pub fn start_tcp(dir: &Path, password: &str, algorithm: &str) -> Kamailio {
        Kamailio::start_with(dir, password, algorithm, true)
    }

    fn start_with(dir: &Path, password: &str, algorithm: &str, tcp: bool) -> Kamailio {
        for attempt in 1..=BIND_ATTEMPTS {
            let mut proxy = Kamailio::start_once(dir, password, algorithm, tcp);
            let pid = proxy.child.id();
            let bound = wait_owned(pid, Proto::Udp, proxy.port, Duration::from_secs(10), || {
                proxy.child.try_wait().ok().flatten().is_some()
            });
            let tcp_bound = !tcp
                || wait_owned(
                    pid,
                    Proto::TcpListen,
                    proxy.port,
                    Duration::from_secs(10),
                    || proxy.child.try_wait().ok().flatten().is_some(),
                ) == Bound::Owned;
            if bound == Bound::Owned && tcp_bound {
                return proxy;
            }
            eprintln!(
                "kamailio did not get port {} (attempt {attempt}):\n{}",
                proxy.port,
                proxy.log()
            );
        }
        panic!("kamailio: no port could be bound in {BIND_ATTEMPTS} attempts");
    }

    fn start_once(dir: &Path, password: &str, algorithm: &str, tcp: bool) -> Kamailio {
        let module_dir = MODULE_DIRS
            .iter()
            .find(|d| Path::new(d).join("auth.so").is_file())
            .unwrap_or_else(|| {
                panic!("Kamailio's auth module not found in {MODULE_DIRS:?}: install the Debian package kamailio (.ci/run does)")
            });
        let port = candidate_port();
        let dir = dir.join(format!("kamailio-{port}"));
        std::fs::create_dir_all(&dir).expect("create the proxy's directory");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio/proxy.cfg");
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("read {}: {e}", source.display()));
        let cfg = dir.join("proxy.cfg");
        std::fs::write(
            &cfg,
            text.replace("@MODULE_DIR@", module_dir)
                .replace("@PASSWORD@", password)
                .replace("@ALGORITHM@", algorithm),
        )
        .expect("write the proxy's configuration");
        let log_path = dir.join("kamailio.log");
        // -DD: stay in the foreground as the process we started; -E: log to stderr;
        // -Y: its runtime files (control sockets) in the scratch directory.
        let mut command = Command::new("kamailio");
        if tcp {
            command
                .args(["-A", "WITH_TCP", "-l"])
                .arg(format!("tcp:127.0.0.1:{port}"));
        }
        let child = command
            .arg("-f")
            .arg(&cfg)
            .arg("-DD")
            .arg("-E")
            .args(["-m", "32", "-M", "4"])
            .arg("-l")
            .arg(format!("udp:127.0.0.1:{port}"))
            .arg("-Y")
            .arg(&dir)
            .arg("-P")
            .arg(dir.join("kamailio.pid"))
            .arg("-w")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(File::create(dir.join("stdout")).expect("create the proxy's stdout"))
            .stderr(File::create(&log_path).expect("create the proxy's log"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run kamailio ({e}): install the Debian package kamailio (.ci/run does)"
                )
            });
        Kamailio {
            child,
            port,
            tcp,
            dir,
            log_path,
        }
    }

    /// `sip:127.0.0.1:<port>;lr` (with `;transport=tcp` when it listens on TCP), for
    /// `OutboundProxy`.
    pub fn uri(&self) -> String {
        if self.tcp {
            format!("sip:127.0.0.1:{};transport=tcp;lr", self.port)
        } else {
            format!("sip:127.0.0.1:{};lr", self.port)
        }
    }

    /// Everything Kamailio logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The lines the configuration writes (after `c2c-proxy: `), in order.
    pub fn proxy_lines(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| {
                l.split_once("c2c-proxy: ")
                    .map(|(_, line)| line.to_string())
            })
            .collect()
    }

    /// Waits (bounded) until `done` holds for the proxy's lines.
    pub fn wait_lines(&self, what: &str, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + super::WAIT;
        while !done(&self.proxy_lines()) {
            assert!(
                Instant::now() < deadline,
                "kamailio: {what} not logged within {:?}:\n{}",
                super::WAIT,
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "===== kamailio ({}) =====\n{}",
                self.dir.display(),
                self.log()
            );
        }
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own child.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + STOP_GRACE;
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
