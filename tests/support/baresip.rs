//! A real SIP phone for the interop tests: baresip 1.0 (Debian package `baresip-core`),
//! headless, auto-answering, following REFER, with its SIP trace on stdout.
//!
//! The configuration comes from `tests/baresip/` (see the comments there for why each
//! line is needed). Each phone gets its own scratch configuration directory and a pair of
//! loopback ports (baresip opens TLS on port + 1). Only the child started here is ever
//! signalled: SIGTERM on drop, SIGKILL if it has not gone within a grace period (baresip
//! waits for its calls to end before leaving).

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::ports::{Bound, Proto, wait_owned};
use super::sip_trace::{self, Traced};

/// Upper bound of any wait on a phone; only a broken run reaches it.
pub const PHONE_WAIT: Duration = Duration::from_secs(20);

/// Starts of one phone before a port clash is a failure.
const BIND_ATTEMPTS: usize = 5;

/// How long a terminated phone may take to hang up its calls before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Where Debian and a source build put the modules; the first holding `ausine.so` wins.
const MODULE_DIRS: [&str; 3] = [
    "/usr/lib/baresip/modules",
    "/usr/lib/x86_64-linux-gnu/baresip/modules",
    "/usr/local/lib/baresip/modules",
];

/// One running baresip.
pub struct Baresip {
    child: Child,
    exited: Option<ExitStatus>,
    /// SIP port (UDP and TCP); TLS is on `port + 1`.
    pub port: u16,
    /// User part of the phone's account (`sip:<user>@127.0.0.1:<port>`).
    pub user: String,
    dir: PathBuf,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

impl Baresip {
    /// Starts a phone for `user` with its configuration in `<dir>/baresip-<user>/` and
    /// returns once it reports ready and holds its SIP port. Panics (never skips) when
    /// baresip is not installed.
    ///
    /// baresip cannot report a port it chose, so it gets a candidate pair; when another
    /// process took the port in between (baresip does not then hold it once ready), the
    /// phone is stopped and started again on a new pair, at most [`BIND_ATTEMPTS`] times.
    pub fn start(dir: &Path, user: &str) -> Baresip {
        for attempt in 1..=BIND_ATTEMPTS {
            let mut phone = Baresip::start_once(dir, user);
            let ready = phone.wait_ready();
            let (pid, port) = (phone.child.id(), phone.port);
            // It binds before it says ready: a short wait is enough.
            let bound = wait_owned(pid, Proto::Udp, port, Duration::from_secs(2), || {
                phone.try_exited().is_some()
            });
            if ready && bound == Bound::Owned {
                return phone;
            }
            eprintln!(
                "baresip {user} did not get port {port} (attempt {attempt}), new port:\n{}",
                phone.dump()
            );
        }
        panic!("baresip {user}: no port pair could be bound in {BIND_ATTEMPTS} attempts");
    }

    /// Waits (bounded) for "baresip is ready."; false if the phone exited first.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + PHONE_WAIT;
        loop {
            let exited = self.try_exited().is_some();
            if self.output().contains("baresip is ready.") {
                return true;
            }
            if exited {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "baresip {} not ready within {PHONE_WAIT:?}:\n{}",
                self.user,
                self.dump()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn start_once(dir: &Path, user: &str) -> Baresip {
        let module_path = module_dir();
        let port = free_port_pair();
        let dir = dir.join(format!("baresip-{user}"));
        std::fs::create_dir_all(&dir).expect("create phone directory");
        for name in ["config", "accounts"] {
            let source = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/baresip")
                .join(name);
            let text = std::fs::read_to_string(&source)
                .unwrap_or_else(|e| panic!("read {}: {e}", source.display()));
            let text = text
                .replace("@PORT@", &port.to_string())
                .replace("@USER@", user)
                .replace("@MODULE_PATH@", &module_path);
            std::fs::write(dir.join(name), text).expect("write phone configuration");
        }
        let stdout_path = dir.join("stdout");
        let stderr_path = dir.join("stderr");
        // `-s`: SIP trace on stdout; stdin closed (no UI module reads it).
        let child = Command::new("baresip")
            .arg("-f")
            .arg(&dir)
            .arg("-s")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).expect("create phone stdout"))
            .stderr(File::create(&stderr_path).expect("create phone stderr"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run baresip ({e}): install the Debian package baresip-core (.ci/run does)")
            });
        Baresip {
            child,
            exited: None,
            port,
            user: user.to_owned(),
            dir,
            stdout_path,
            stderr_path,
        }
    }

    /// The phone's address of record.
    pub fn uri(&self) -> String {
        format!("sip:{}@127.0.0.1:{}", self.user, self.port)
    }

    /// What the server's test translation rule turns into [`Baresip::uri`].
    pub fn address(&self) -> String {
        format!("p{}-{}", self.port, self.user)
    }

    /// Everything the phone printed so far.
    pub fn output(&self) -> String {
        std::fs::read(&self.stdout_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// Every SIP message the phone sent or received so far.
    pub fn trace(&self) -> Vec<Traced> {
        sip_trace::parse(&self.output())
    }

    /// Waits until `done(output, trace)` holds; panics with the phone's output if it does
    /// not within [`PHONE_WAIT`] or the phone exits first.
    pub fn wait_for(&mut self, what: &str, done: impl Fn(&str, &[Traced]) -> bool) {
        let deadline = Instant::now() + PHONE_WAIT;
        loop {
            let output = self.output();
            if done(&output, &sip_trace::parse(&output)) {
                return;
            }
            if let Some(status) = self.try_exited() {
                // It may have printed the awaited line just before leaving.
                let output = self.output();
                if done(&output, &sip_trace::parse(&output)) {
                    return;
                }
                panic!(
                    "baresip {} exited ({status}) waiting {what}:\n{}",
                    self.user,
                    self.dump()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "baresip {} not {what} within {PHONE_WAIT:?}:\n{}",
                    self.user,
                    self.dump()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn try_exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// Sends SIGTERM: baresip hangs up its calls (BYE) and then leaves.
    pub fn terminate(&mut self) {
        if self.try_exited().is_none() {
            signal(self.child.id(), libc::SIGTERM);
        }
    }

    /// Configuration, stdout and stderr, for a failure message.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for name in ["config", "accounts"] {
            let path = self.dir.join(name);
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            out.push_str(&format!(
                "\n===== baresip {} {name}: {} =====\n{text}",
                self.user,
                path.display()
            ));
        }
        let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        out.push_str(&format!(
            "\n===== baresip {} stdout =====\n{}",
            self.user,
            self.output()
        ));
        out.push_str(&format!(
            "\n===== baresip {} stderr =====\n{stderr}",
            self.user
        ));
        out
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.dump());
        }
        if self.try_exited().is_some() {
            return;
        }
        self.terminate();
        let deadline = Instant::now() + STOP_GRACE;
        while self.try_exited().is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        if self.try_exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The module directory of the installed baresip; panics naming the package if none.
fn module_dir() -> String {
    MODULE_DIRS
        .iter()
        .find(|dir| Path::new(dir).join("ausine.so").is_file())
        .map(|dir| (*dir).to_owned())
        .unwrap_or_else(|| {
            panic!(
                "baresip modules (ausine.so) not found in {MODULE_DIRS:?}: install the Debian package \
                 baresip-core (.ci/run does)"
            )
        })
}

/// A loopback port P free for UDP and TCP with P + 1 free for TCP (baresip's TLS), at
/// the time of asking: a candidate only, checked after the start (see [`Baresip::start`]).
fn free_port_pair() -> u16 {
    for _ in 0..200 {
        let Ok(tcp) = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(addr) = tcp.local_addr() else { continue };
        let port = addr.port();
        let Some(tls) = port.checked_add(1) else {
            continue;
        };
        if UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).is_ok()
            && TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, tls)).is_ok()
        {
            return port;
        }
    }
    panic!("no loopback port pair free after 200 tries");
}

/// Sends `sig` to `pid` — always a child this harness started.
fn signal(pid: u32, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own child.
    unsafe {
        libc::kill(pid, sig);
    }
}
