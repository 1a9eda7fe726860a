//! The server as a service, black box: SIGHUP (the log file reopened after a rename, new
//! translation rules for the next call while a call placed before goes on, a broken rule
//! file refused with the old rules kept) and `LogFilename = -` (standard error as a pipe,
//! and as the journal's Unix socket with `JOURNAL_STREAM`: priority prefixes, no time
//! stamps of ours).
//!
//! Self-contained: its helpers (scratch directory, ports, server process, SIPp phone, XML
//! client) are below, so this file does not depend on the shared test harness.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any one step may take before the test fails.
const WAIT: Duration = Duration::from_secs(20);

/// The line the server logs once every port is open.
const STARTED: &str = "clicktocall started";

/// Translation rules of the tests: `p<port>-<user>` is `sip:<user>@127.0.0.1:<port>`.
const P_RULE: &str = "TranslationPattern = ^p([0-9]+)-(.+)$\n\
                      TranslationOutput = sip:$2@127.0.0.1:$1\n";
/// The rule SIGHUP adds: `q<port>-<user>` is the same.
const Q_RULE: &str = "TranslationPattern = ^q([0-9]+)-(.+)$\n\
                      TranslationOutput = sip:$2@127.0.0.1:$1\n";

#[test]
fn sighup_reopens_the_log_file_after_a_rename() {
    let dir = TempDir::new("hup-log");
    let log = dir.path().join("c2c.log");
    let mut server = Server::start(&dir, &format!("LogFilename = {}\n", log.display()), &[]);
    let rotated = dir.path().join("c2c.log.1");
    fs::rename(&log, &rotated).expect("rename the log, as logrotate does");
    server.signal(libc::SIGHUP);
    wait_for_file_line(&log, "log file reopened");
    let old = fs::read_to_string(&rotated).expect("read the renamed log");
    assert!(old.contains(STARTED), "{old}");
    assert!(old.contains("SIGHUP received"), "{old}");
    // The server is still up: a second SIGHUP is answered in the new file too.
    server.signal(libc::SIGHUP);
    wait_for_file_line(&log, "translation rules reloaded");
    server.stop_cleanly();
}

#[test]
fn sighup_puts_a_new_rule_in_force_for_the_next_call_while_an_earlier_call_completes() {
    let dir = TempDir::new("hup-rules");
    let log = dir.path().join("c2c.log");
    let base = format!("LogFilename = {}\n{P_RULE}", log.display());
    let mut server = Server::start(&dir, &base, &[]);
    let dest = free_port();

    // Before the reload the q rule does not exist.
    let refused =
        XmlClient::connect(server.xml_port).call(&format!("q{dest}-100"), &format!("q{dest}-200"));
    assert_eq!(
        refused.last().map(|e| e.code),
        Some(400),
        "before SIGHUP: {refused:?}"
    );

    // A call placed before the SIGHUP, still ringing when it comes.
    let mut first = Sipp::uas(
        &dir,
        "initiator_refer_slow.xml",
        &[
            ("SERVER_PORT", server.sip_port.to_string()),
            ("DEST_PORT", dest.to_string()),
        ],
    );
    let mut early = XmlClient::connect(server.xml_port);
    early.send(&format!("p{}-100", first.port), &format!("p{dest}-200"));
    let ringing = early.events_until(|e| e.code == 180);
    assert_eq!(ringing.last().map(|e| e.code), Some(180), "{ringing:?}");

    server.rewrite_config(&format!("{base}{Q_RULE}"));
    server.signal(libc::SIGHUP);
    wait_for_file_line(&log, "translation rules reloaded: 2 rules in force");

    let rest = early.events_until(Event::is_final);
    assert_eq!(
        rest.last(),
        Some(&Event {
            code: 200,
            leg: "Destination".to_owned()
        }),
        "the call placed before SIGHUP: {ringing:?} {rest:?}"
    );
    first.expect_pass();

    // The next call uses the new rule.
    let mut second = Sipp::uas(
        &dir,
        "initiator_refer_ok.xml",
        &[
            ("SERVER_PORT", server.sip_port.to_string()),
            ("DEST_PORT", dest.to_string()),
        ],
    );
    let got = XmlClient::connect(server.xml_port)
        .call(&format!("q{}-100", second.port), &format!("q{dest}-200"));
    assert_eq!(
        got.last(),
        Some(&Event {
            code: 200,
            leg: "Destination".to_owned()
        }),
        "after SIGHUP: {got:?}"
    );
    second.expect_pass();
    server.stop_cleanly();
}

#[test]
fn sighup_with_a_broken_rule_keeps_the_old_rules_and_logs_file_and_line() {
    let dir = TempDir::new("hup-broken");
    let log = dir.path().join("c2c.log");
    let base = format!("LogFilename = {}\n{P_RULE}", log.display());
    let mut server = Server::start(&dir, &base, &[]);
    let dest = free_port();

    // Line numbers of the new file: the settings Server writes, then these.
    let broken = format!("{base}{Q_RULE}TranslationPattern = (unclosed\nTranslationOutput = x\n");
    let broken_line = server.rewrite_config(&broken) - 1;
    server.signal(libc::SIGHUP);
    let where_ = format!("{}:{broken_line}", server.config.display());
    wait_for_file_line(&log, &where_);
    wait_for_file_line(
        &log,
        "configuration refused: the 1 translation rules in force are kept",
    );

    // The q rule of the refused file is not in force; the p rule still is.
    let refused =
        XmlClient::connect(server.xml_port).call(&format!("q{dest}-100"), &format!("q{dest}-200"));
    assert_eq!(refused.last().map(|e| e.code), Some(400), "{refused:?}");
    let mut phone = Sipp::uas(
        &dir,
        "initiator_refer_ok.xml",
        &[
            ("SERVER_PORT", server.sip_port.to_string()),
            ("DEST_PORT", dest.to_string()),
        ],
    );
    let got = XmlClient::connect(server.xml_port)
        .call(&format!("p{}-100", phone.port), &format!("p{dest}-200"));
    assert_eq!(
        got.last(),
        Some(&Event {
            code: 200,
            leg: "Destination".to_owned()
        }),
        "{got:?}"
    );
    phone.expect_pass();
    server.stop_cleanly();
}

#[test]
fn log_filename_dash_logs_everything_to_a_stderr_pipe_with_time_stamps() {
    let dir = TempDir::new("stderr-pipe");
    let mut server = Server::start(&dir, "LogFilename = -\n", &[]);
    server.stop_cleanly();
    let lines = server.lines();
    // DEBUG lines of other layers reach stderr too: it is the only destination.
    assert!(lines.iter().any(|l| l.contains("DEBUG")), "{lines:#?}");
    // Not the journal: simplelog's format, time first, no priority prefix.
    for line in &lines {
        assert!(!line.starts_with('<'), "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(STARTED)),
        "{lines:#?}"
    );
    // No file is made for "-".
    let made: Vec<_> = fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().contains(".log") || n == "-")
        .collect();
    assert!(made.is_empty(), "{made:?}");
}

#[test]
fn log_filename_dash_on_the_journal_socket_gives_priorities_and_no_time_stamps() {
    let dir = TempDir::new("stderr-journal");
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    let meta = fs::File::from(theirs.as_fd().try_clone_to_owned().expect("dup"))
        .metadata()
        .expect("fstat the socket");
    let journal_stream = format!("{}:{}", meta.dev(), meta.ino());
    let mut server = Server::start_with_stderr(
        &dir,
        // HttpAuth on with the built-in password: a warning, priority 4.
        "LogFilename = stderr\nHttpAuth = 1\n",
        &[("JOURNAL_STREAM", journal_stream)],
        Stdio::from(OwnedFd::from(theirs)),
        Box::new(ours),
    );
    server.stop_cleanly();
    let lines = server.lines();
    for line in &lines {
        let prefix_ok = line.len() > 3
            && line.starts_with('<')
            && (b'3'..=b'7').contains(&line.as_bytes()[1])
            && line.as_bytes()[2] == b'>';
        assert!(prefix_ok, "no priority prefix: {line:?}");
        // No time stamp of ours: the target comes right after the prefix.
        assert!(
            !line[3..].starts_with(|c: char| c.is_ascii_digit()),
            "{line:?}"
        );
    }
    let has = |p: &str| lines.iter().any(|l| l.starts_with(p));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<5>server: ") && l.contains(STARTED)),
        "{lines:#?}"
    );
    assert!(has("<4>server: "), "the password warning: {lines:#?}");
    assert!(has("<7>"), "DEBUG lines: {lines:#?}");
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// A scratch directory under the target directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("service-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create scratch dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// Whether some socket is bound to UDP `port` on 127.0.0.1 or the wildcard (a read-only
/// look at /proc/net/udp, so the check itself never takes the port).
fn udp_bound(port: u16) -> bool {
    let needle = format!(":{port:04X}");
    fs::read_to_string("/proc/net/udp")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|local| local.ends_with(&needle))
        })
}

/// A port free on 127.0.0.1 for UDP and TCP at once when asked; it may be taken again
/// before it is used, which the server start retries on.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

/// Waits until `path` has a line containing `text`.
fn wait_for_file_line(path: &Path, text: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let content = fs::read_to_string(path).unwrap_or_default();
        if content.lines().any(|l| l.contains(text)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} has no line with {text:?}:\n{content}",
            path.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The real binary on a generated configuration with free loopback ports; killed on drop
/// if still running.
struct Server {
    child: Child,
    exited: Option<ExitStatus>,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<thread::JoinHandle<()>>,
    config: PathBuf,
    /// The settings written before the test's own text.
    ports_text: String,
    sip_port: u16,
    xml_port: u16,
}

impl Server {
    /// Starts the server with `extra` configuration text and waits for [`STARTED`] on its
    /// stderr (a pipe).
    fn start(dir: &TempDir, extra: &str, env: &[(&str, String)]) -> Server {
        Server::start_inner(dir, extra, env, None)
    }

    /// As [`Server::start`] with stderr given by the test, read from `read_end`.
    fn start_with_stderr(
        dir: &TempDir,
        extra: &str,
        env: &[(&str, String)],
        stderr: Stdio,
        read_end: Box<dyn Read + Send>,
    ) -> Server {
        Server::start_inner(dir, extra, env, Some((stderr, read_end)))
    }

    fn start_inner(
        dir: &TempDir,
        extra: &str,
        env: &[(&str, String)],
        mut stderr: Option<(Stdio, Box<dyn Read + Send>)>,
    ) -> Server {
        let config = dir.path().join("clicktocall.config");
        let one_off_stderr = stderr.is_some();
        // A port taken between the check and the bind makes the server exit 2: try again.
        for _attempt in 0..5 {
            let (sip_port, xml_port) = (free_port(), free_port());
            let ports_text = format!(
                "IPAddress = 127.0.0.1\nApiIPAddress = 127.0.0.1\nClickToCallIdentity = sip:click2call@127.0.0.1\n\
                 UDPTCPPort = {sip_port}\nTLSPort = 0\nXmlRpcPort = {xml_port}\nHttpPort = {}\n\
                 LogLevel = DEBUG\n",
                free_port()
            );
            fs::write(&config, format!("{ports_text}{extra}")).expect("write config");
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_clicktocall"));
            cmd.arg("-c")
                .arg(&config)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .env_remove("JOURNAL_STREAM");
            for (name, value) in env {
                cmd.env(name, value);
            }
            let reader: Box<dyn Read + Send>;
            let mut child = match stderr.take() {
                Some((stdio, read_end)) => {
                    cmd.stderr(stdio);
                    reader = read_end;
                    let child = cmd.spawn().expect("start clicktocall");
                    // Our copy of the child's end must go, or EOF never comes.
                    drop(cmd);
                    child
                }
                None => {
                    cmd.stderr(Stdio::piped());
                    let mut child = cmd.spawn().expect("start clicktocall");
                    reader = Box::new(child.stderr.take().expect("stderr"));
                    child
                }
            };
            let lines = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&lines);
            let reader = thread::spawn(move || {
                for line in BufReader::new(reader).lines() {
                    let Ok(line) = line else { break };
                    sink.lock().expect("lines").push(line);
                }
            });
            let deadline = Instant::now() + WAIT;
            loop {
                if lines
                    .lock()
                    .expect("lines")
                    .iter()
                    .any(|l| l.contains(STARTED))
                {
                    return Server {
                        child,
                        exited: None,
                        lines,
                        reader: Some(reader),
                        config,
                        ports_text,
                        sip_port,
                        xml_port,
                    };
                }
                if let Some(status) = child.try_wait().expect("try_wait") {
                    let _ = reader.join();
                    let text = lines.lock().expect("lines").join("\n");
                    assert!(
                        status.code() == Some(2) && text.contains("in use"),
                        "clicktocall exited {status}:\n{text}"
                    );
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "clicktocall did not start:\n{}",
                        lines.lock().expect("lines").join("\n")
                    );
                }
                thread::sleep(Duration::from_millis(20));
            }
            // Stdio given by the test cannot be reused for a second attempt.
            assert!(!one_off_stderr, "port clash with a one-off stderr");
        }
        panic!("no free ports after 5 attempts");
    }

    /// Replaces the configuration file (ports kept) with `extra`; returns the number of
    /// its last line.
    fn rewrite_config(&self, extra: &str) -> usize {
        let text = format!("{}{extra}", self.ports_text);
        fs::write(&self.config, &text).expect("rewrite config");
        text.lines().count()
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal})");
    }

    /// SIGTERM, then exit status 0 within the shutdown bound; stderr read to its end.
    fn stop_cleanly(&mut self) {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "clicktocall did not stop");
            thread::sleep(Duration::from_millis(20));
        };
        self.exited = Some(status);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        assert_eq!(status.code(), Some(0), "{}", self.lines().join("\n"));
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One SIPp phone playing a UAS scenario of `tests/sipp/` (one call) on a free port.
struct Sipp {
    child: Child,
    port: u16,
    base: PathBuf,
    done: bool,
}

impl Sipp {
    fn uas(dir: &TempDir, scenario: &str, vars: &[(&str, String)]) -> Sipp {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sipp")
            .join(scenario);
        let mut text = fs::read_to_string(&source).expect("read scenario");
        for (name, value) in vars {
            text = text.replace(&format!("@{name}@"), value);
        }
        let port = free_port();
        let base = dir
            .path()
            .join(format!("{}-{port}", scenario.trim_end_matches(".xml")));
        fs::write(base.with_extension("xml"), text).expect("write scenario");
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(base.with_extension("xml"))
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-m",
                "1",
                "-nostdin",
            ])
            .args([
                "-timeout",
                "40s",
                "-timeout_error",
                "-trace_err",
                "-error_file",
            ])
            .arg(base.with_extension("err"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(fs::File::create(base.with_extension("screen")).expect("screen file"))
            .stderr(fs::File::create(base.with_extension("stderr")).expect("stderr file"))
            .spawn()
            .expect("start sipp (Debian package sip-tester)");
        let mut sipp = Sipp {
            child,
            port,
            base,
            done: false,
        };
        let deadline = Instant::now() + WAIT;
        while !udp_bound(port) {
            if Instant::now() >= deadline || sipp.child.try_wait().ok().flatten().is_some() {
                panic!(
                    "sipp {scenario} did not bind port {port}:\n{}",
                    sipp.report()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
        sipp
    }

    fn report(&self) -> String {
        ["err", "stderr", "screen"]
            .iter()
            .map(|ext| fs::read_to_string(self.base.with_extension(ext)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits for the scenario's end and fails unless it passed.
    fn expect_pass(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(45);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait sipp") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "sipp still running:\n{}",
                self.report()
            );
            thread::sleep(Duration::from_millis(20));
        };
        self.done = true;
        assert!(
            status.success(),
            "sipp failed ({status}):\n{}",
            self.report()
        );
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `<Result>` of the XML interface: its code and `Leg` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    code: u16,
    leg: String,
}

impl Event {
    /// A request is over after this event: a failure, or the destination connected.
    fn is_final(&self) -> bool {
        self.code >= 300 || ((200..300).contains(&self.code) && self.leg == "Destination")
    }
}

/// A client of the XML interface: one request, then its response documents.
struct XmlClient {
    stream: TcpStream,
    buffer: String,
}

impl XmlClient {
    fn connect(port: u16) -> XmlClient {
        let stream = TcpStream::connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
            .expect("connect to the XML port");
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("read timeout");
        XmlClient {
            stream,
            buffer: String::new(),
        }
    }

    fn send(&mut self, initiator: &str, destination: &str) {
        let request = format!(
            "<ClickToCall><Request><Initiator>{initiator}</Initiator>\
             <Destination>{destination}</Destination><AnchorCall>false</AnchorCall>\
             </Request></ClickToCall>\r\n"
        );
        self.stream
            .write_all(request.as_bytes())
            .expect("send XML request");
    }

    fn call(mut self, initiator: &str, destination: &str) -> Vec<Event> {
        self.send(initiator, destination);
        self.events_until(Event::is_final)
    }

    /// Events until one satisfies `stop` or is final (returned last); panics after WAIT.
    fn events_until(&mut self, stop: impl Fn(&Event) -> bool) -> Vec<Event> {
        let deadline = Instant::now() + WAIT;
        let mut events = Vec::new();
        loop {
            while let Some(event) = self.next_event() {
                let last = stop(&event) || event.is_final();
                events.push(event);
                if last {
                    return events;
                }
            }
            assert!(
                Instant::now() < deadline,
                "XML: no final event: {events:?} {}",
                self.buffer
            );
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("XML connection closed: {events:?} {}", self.buffer),
                Ok(n) => self.buffer.push_str(&String::from_utf8_lossy(&chunk[..n])),
                Err(_) => {}
            }
        }
    }

    /// Takes the first `<Result Code="..." [Leg="..."]>` from the buffer.
    fn next_event(&mut self) -> Option<Event> {
        const OPEN: &str = "<Result Code=\"";
        let start = self.buffer.find(OPEN)?;
        let rest = &self.buffer[start + OPEN.len()..];
        let end = rest.find("</Result>")?;
        let head = &rest[..end];
        let code = head.get(..head.find('"')?)?.parse().ok()?;
        let leg = head
            .find("Leg=\"")
            .and_then(|at| {
                let value = &head[at + 5..];
                value.find('"').map(|q| value[..q].to_owned())
            })
            .unwrap_or_default();
        let consumed = start + OPEN.len() + end;
        self.buffer.drain(..consumed);
        Some(Event { code, leg })
    }
}
