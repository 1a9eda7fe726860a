//! Helpers for black-box tests of the `clicktocall` binary: a scratch directory, free
//! loopback ports, running the binary with a time-out, and a running server whose console
//! lines can be awaited. Only the child processes started here are ever signalled.
//!
//! Include with `#[path = "common/binary.rs"] mod binary;`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

/// Generous bound for anything the binary does at start-up or shutdown: a time-out that
/// only fires when something is broken, not a speed assertion.
pub const TIMEOUT: Duration = Duration::from_secs(30);

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_clicktocall")
}

/// The crate root, for the shipped `conf/clicktocall.config`.
pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("c2c-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create scratch directory");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `text` to `name` inside the directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, text).expect("write scratch file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A loopback port free for both TCP and UDP at the time of asking.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let tcp =
            TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).expect("bind ephemeral");
        let port = tcp.local_addr().expect("local addr").port();
        if UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both TCP and UDP after 100 tries");
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

fn drain<R: Read + Send + 'static>(mut pipe: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// Runs the binary with `args` in `cwd` to completion, killing it (and failing the test)
/// if it has not finished within [`TIMEOUT`].
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
    let status = wait_bounded(&mut child, TIMEOUT).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("clicktocall {args:?} did not finish within {TIMEOUT:?}");
    });
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Polls `child` until it exits or `timeout` passes.
pub fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}

/// A running server; its stderr lines arrive on a channel. Dropping it kills the child
/// if it is still running.
pub struct Server {
    child: Child,
    lines: Receiver<String>,
    /// Every stderr line seen so far.
    pub seen: Vec<String>,
}

impl Server {
    pub fn start(cwd: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(binary())
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start clicktocall");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, lines) = crossbeam_channel::unbounded();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `needle`; panics with everything seen if it
    /// does not come within [`TIMEOUT`] or the process ends first.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.lines.recv_deadline(deadline) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line containing {needle:?} within {TIMEOUT:?}; seen: {:#?}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "clicktocall ended before printing {needle:?}; seen: {:#?}",
                        self.seen
                    )
                }
            }
        }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits in pid_t")
    }

    /// Sends `signal` to this child (and nothing else).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with the pid of our own live child; no memory is involved.
        let rc = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(rc, 0, "kill({}, {signal}) failed", self.pid());
    }

    /// Waits for the exit within [`TIMEOUT`], then collects the remaining stderr lines.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let Some(status) = wait_bounded(&mut self.child, TIMEOUT) else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!(
                "clicktocall did not exit within {TIMEOUT:?}; seen: {:#?}",
                self.seen
            );
        };
        while let Ok(line) = self.lines.recv_timeout(TIMEOUT) {
            self.seen.push(line);
        }
        status
    }

    pub fn stderr(&self) -> String {
        self.seen.join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A configuration for a test server: loopback only, free ports, TLS off, log file in
/// `dir`. `extra` lines are appended.
pub fn test_config(dir: &TempDir, extra: &str) -> PathBuf {
    let text = format!(
        "IPAddress = 127.0.0.1\nUDPTCPPort = {}\nTLSPort = 0\nHttpPort = {}\nXmlRpcPort = {}\n\
         LogFilename = {}\nTranslationPattern = ^(.*)$\nTranslationOutput = sip:$1@127.0.0.1\n{extra}",
        free_port(),
        free_port(),
        free_port(),
        dir.path().join("clicktocall.log").display(),
    );
    dir.write("test.config", &text)
}
