//! SIPp processes playing the phones. Scenarios live in `tests/sipp/`; `@NAME@`
//! placeholders in them are replaced before the run (ports a check must name), and the
//! rendered copy is written to the test's scratch directory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::WAIT;
use super::ports::{Bound, Proto, candidate_port, wait_owned};

/// SIPp's own global time-out: a scenario still running after this fails (exit ≠ 0).
/// [`Sipp::uas_lasting`] sets a longer one for scenarios that wait on protocol timers.
const SIPP_TIMEOUT_S: u32 = 40;

/// How SIPp is run: whom it calls (a UAC), how many calls, over what, for how long.
#[derive(Clone, Copy)]
struct Run {
    remote_port: Option<u16>,
    calls: u32,
    tcp: bool,
    timeout_s: u32,
}

impl Run {
    const ONE_CALL: Run = Run {
        remote_port: None,
        calls: 1,
        tcp: false,
        timeout_s: SIPP_TIMEOUT_S,
    };
}

/// SIPp cannot bind port 0 and report it (`-p 0` means its default 5060), so it gets a
/// candidate port and is started again on a new one when it exits with "Unable to bind"
/// (the port was taken in between), at most this many times.
const BIND_ATTEMPTS: usize = 5;

/// One SIPp run of one call (`-m 1`), or of several for [`Sipp::uas_calls`].
pub struct Sipp {
    child: Child,
    exited: Option<ExitStatus>,
    /// The UDP port SIPp listens and sends on.
    pub port: u16,
    /// Over TCP instead of UDP.
    tcp: bool,
    scenario: String,
    base: PathBuf,
    /// SIPp's global time-out for this run, in seconds.
    timeout_s: u32,
}

impl Sipp {
    /// A UAS scenario (it waits for an INVITE) on a port of its own; returns once SIPp has
    /// bound the port, so a call placed afterwards reaches it.
    pub fn uas(dir: &Path, scenario: &str, vars: &[(&str, String)]) -> Sipp {
        Sipp::spawn(dir, scenario, Run::ONE_CALL, vars)
    }

    /// A UAS scenario over TCP (`-t t1`: one connection); returns once SIPp listens.
    pub fn uas_tcp(dir: &Path, scenario: &str, vars: &[(&str, String)]) -> Sipp {
        let run = Run {
            tcp: true,
            ..Run::ONE_CALL
        };
        Sipp::spawn(dir, scenario, run, vars)
    }

    /// A UAS scenario that plays `calls` calls (concurrently, matched by Call-ID) before
    /// it exits.
    pub fn uas_calls(dir: &Path, scenario: &str, calls: u32, vars: &[(&str, String)]) -> Sipp {
        let run = Run {
            calls,
            ..Run::ONE_CALL
        };
        Sipp::spawn(dir, scenario, run, vars)
    }

    /// As [`Sipp::uas_calls`], with SIPp's global time-out set to `timeout`.
    pub fn uas_calls_lasting(
        dir: &Path,
        scenario: &str,
        calls: u32,
        timeout: Duration,
        vars: &[(&str, String)],
    ) -> Sipp {
        let run = Run {
            calls,
            timeout_s: u32::try_from(timeout.as_secs()).unwrap_or(u32::MAX),
            ..Run::ONE_CALL
        };
        Sipp::spawn(dir, scenario, run, vars)
    }

    /// As [`Sipp::uas`], with SIPp's global time-out raised to `timeout` for a scenario
    /// that waits on a protocol timer longer than the usual 40 s.
    pub fn uas_lasting(
        dir: &Path,
        scenario: &str,
        timeout: Duration,
        vars: &[(&str, String)],
    ) -> Sipp {
        let run = Run {
            timeout_s: u32::try_from(timeout.as_secs()).unwrap_or(u32::MAX),
            ..Run::ONE_CALL
        };
        Sipp::spawn(dir, scenario, run, vars)
    }

    /// A UAC scenario sending to 127.0.0.1:`remote_port`.
    pub fn uac(dir: &Path, scenario: &str, remote_port: u16, vars: &[(&str, String)]) -> Sipp {
        let run = Run {
            remote_port: Some(remote_port),
            ..Run::ONE_CALL
        };
        Sipp::spawn(dir, scenario, run, vars)
    }

    /// Starts SIPp and returns once it holds its port (a UAS: a call placed afterwards
    /// reaches it), or once it ended by itself (a quick UAC), retrying on a bind clash.
    fn spawn(dir: &Path, scenario: &str, run: Run, vars: &[(&str, String)]) -> Sipp {
        for attempt in 1..=BIND_ATTEMPTS {
            let mut sipp = Sipp::spawn_once(dir, scenario, run, vars);
            let proto = if run.tcp {
                Proto::TcpListen
            } else {
                Proto::Udp
            };
            let (pid, port) = (sipp.child.id(), sipp.port);
            let bound = wait_owned(pid, proto, port, WAIT, || {
                sipp.exited = sipp.child.try_wait().ok().flatten();
                sipp.exited.is_some()
            });
            match bound {
                Bound::Owned => return sipp,
                Bound::Exited if sipp.stderr().contains("Unable to bind") => {
                    eprintln!(
                        "{}: port {port} taken before SIPp bound it (attempt {attempt}), new port",
                        sipp.label()
                    );
                }
                // Ran and ended on its own: its exit status tells the test how it went.
                Bound::Exited => return sipp,
                Bound::TimedOut => panic!(
                    "sipp {scenario} did not bind port {port} within {WAIT:?}:\n{}",
                    sipp.report()
                ),
            }
        }
        panic!("sipp {scenario}: a port was taken before SIPp bound it, {BIND_ATTEMPTS} times");
    }

    fn spawn_once(dir: &Path, scenario: &str, run: Run, vars: &[(&str, String)]) -> Sipp {
        let Run {
            remote_port,
            calls,
            tcp,
            timeout_s,
        } = run;
        let port = candidate_port();
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sipp")
            .join(scenario);
        let mut text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("read {}: {e}", source.display()));
        for (name, value) in vars {
            text = text.replace(&format!("@{name}@"), value);
        }
        if let Some(left) = leftover_placeholder(&text) {
            panic!("{scenario}: placeholder {left} has no value");
        }
        let stem = scenario.trim_end_matches(".xml");
        let base = dir.join(format!("{stem}-{port}"));
        let rendered = base.with_extension("xml");
        std::fs::write(&rendered, text).expect("write rendered scenario");
        let mut cmd = Command::new("sipp");
        if let Some(remote) = remote_port {
            cmd.arg(format!("127.0.0.1:{remote}"));
        }
        if tcp {
            cmd.args(["-t", "t1"]);
        }
        cmd.arg("-sf")
            .arg(&rendered)
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-m",
                &calls.to_string(),
                "-nostdin",
            ])
            .args(["-timeout", &format!("{timeout_s}s"), "-timeout_error"])
            .arg("-trace_msg")
            .arg("-message_file")
            .arg(base.with_extension("msg"))
            .arg("-trace_err")
            .arg("-error_file")
            .arg(base.with_extension("err"))
            .arg("-trace_logs")
            .arg("-log_file")
            .arg(base.with_extension("log"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(File::create(base.with_extension("screen")).expect("create screen file"))
            .stderr(File::create(base.with_extension("stderr")).expect("create stderr file"));
        let child = cmd.spawn().expect("start sipp (Debian package sip-tester)");
        Sipp {
            child,
            exited: None,
            port,
            tcp,
            scenario: scenario.to_owned(),
            base,
            timeout_s,
        }
    }

    /// The phone's address for the XML request: the server's translation rules turn it
    /// into `sip:<user>@127.0.0.1:<port>` (with `;transport=tcp` for a TCP phone).
    pub fn phone(&self, user: &str) -> String {
        if self.tcp {
            format!("t{}-{user}", self.port)
        } else {
            super::lab::phone(self.port, user)
        }
    }

    pub fn label(&self) -> String {
        format!("sipp {} on {}", self.scenario, self.port)
    }

    /// The files SIPp writes: messages, errors, `<log>` actions, final screen.
    pub fn log_paths(&self) -> Vec<PathBuf> {
        ["msg", "err", "log", "screen", "stderr"]
            .iter()
            .map(|ext| self.base.with_extension(ext))
            .collect()
    }

    /// The message trace written so far.
    pub fn messages(&self) -> String {
        std::fs::read_to_string(self.base.with_extension("msg")).unwrap_or_default()
    }

    /// How many requests of `method` SIPp has received so far (from its message trace).
    pub fn received(&self, method: &str) -> usize {
        self.traced("message received", &format!("{method} "))
    }

    /// How many messages SIPp has `sent` (else received) so far whose start line begins
    /// with `start` (`"NOTIFY "`, `"SIP/2.0 2"`), retransmissions included: its message
    /// trace logs every datagram.
    pub fn counted(&self, sent: bool, start: &str) -> usize {
        let marker = if sent {
            "message sent"
        } else {
            "message received"
        };
        self.traced(marker, start)
    }

    fn traced(&self, marker: &str, start: &str) -> usize {
        self.messages()
            .split(marker)
            .skip(1)
            .filter(|chunk| {
                chunk
                    .lines()
                    .skip(1)
                    .find(|l| !l.trim().is_empty())
                    .is_some_and(|l| l.starts_with(start))
            })
            .count()
    }

    /// Waits until SIPp has received `count` requests of `method` (panics after [`WAIT`]).
    pub fn wait_received(&self, method: &str, count: usize) {
        let deadline = Instant::now() + WAIT;
        while self.received(method) < count {
            assert!(
                Instant::now() < deadline,
                "{}: {count} {method} not received",
                self.label()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.base.with_extension("stderr")).unwrap_or_default()
    }

    /// Every file of this run, for a failure message.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for path in self.log_paths() {
            if let Ok(text) = std::fs::read_to_string(&path) {
                out.push_str(&format!(
                    "\n===== {}: {} =====\n{text}",
                    self.label(),
                    path.display()
                ));
            }
        }
        out
    }

    /// Waits for SIPp to exit (bounded by its own global time-out plus margin).
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(u64::from(self.timeout_s)) + WAIT;
        loop {
            if let Some(status) = self.exited {
                return status;
            }
            self.exited = self.child.try_wait().ok().flatten();
            if self.exited.is_none() {
                if Instant::now() >= deadline {
                    let _ = self.child.kill();
                    panic!("{} did not exit", self.label());
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Waits for SIPp and asserts that its scenario passed (exit status 0: the one call
    /// succeeded — every expected message came, every `check_it` matched).
    pub fn expect_pass(&mut self) {
        let status = self.wait();
        assert!(status.success(), "{} failed: {status}", self.label());
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if self.exited.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The first `@NAME@` (upper case, digits, `_`) left in a rendered scenario.
fn leftover_placeholder(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(off) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| b == b'@'))
    {
        let start = i + off;
        let name_len = bytes
            .get(start + 1..)
            .map(|rest| {
                rest.iter()
                    .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
                    .count()
            })
            .unwrap_or(0);
        if name_len > 0 && bytes.get(start + 1 + name_len) == Some(&b'@') {
            return text.get(start..start + name_len + 2).map(str::to_owned);
        }
        i = start + 1;
    }
    None
}
