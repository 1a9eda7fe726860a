//! The server as a service, black box: SIGHUP (the log file reopened after a rename, new
//! translation rules for the next call while a call placed before goes on, a broken rule
//! file refused with the old rules kept) and `LogFilename = -` (standard error as a pipe,
//! and as the journal's Unix socket with `JOURNAL_STREAM`: priority prefixes, no time
//! stamps of ours).

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::process::Stdio;

use crate::support::{
    CALL_WAIT, WAIT,
    ports::unbound_port,
    server::{Server, ServerConfig},
    sipp::Sipp,
    tmp::TempDir,
    xml::{Event, XmlClient},
};

/// The line the server logs once every port is open.
const STARTED: &str = "clicktocall started";

/// The tests' set-up: loopback (the API too), HTTP on, no rules; the log is the
/// harness's `clicktocall.log` in the server's directory.
fn base() -> ServerConfig {
    ServerConfig::default().set("ApiIPAddress", "127.0.0.1")
}

/// Translation rule of the tests: `p<port>-<user>` is `sip:<user>@127.0.0.1:<port>`.
fn p_rule(config: ServerConfig) -> ServerConfig {
    config.rule("^p([0-9]+)-(.+)$", "sip:$2@127.0.0.1:$1")
}

/// The rule SIGHUP adds: `q<port>-<user>` is the same.
fn q_rule(config: ServerConfig) -> ServerConfig {
    config.rule("^q([0-9]+)-(.+)$", "sip:$2@127.0.0.1:$1")
}

/// A call's events as (code, leg): what these tests compare.
fn code_leg(events: &[Event]) -> Option<(u16, &str)> {
    events.last().map(|e| (e.code, e.leg.as_str()))
}

#[test]
fn sighup_reopens_the_log_file_after_a_rename() {
    let dir = TempDir::new("hup-log");
    let mut server = Server::start(dir.path(), &base());
    let log = dir.path().join("clicktocall.log");
    let rotated = dir.path().join("clicktocall.log.1");
    fs::rename(&log, &rotated).expect("rename the log, as logrotate does");
    server.signal(libc::SIGHUP);
    server.expect_log("log file reopened");
    let old = fs::read_to_string(&rotated).expect("read the renamed log");
    assert!(old.contains(STARTED), "{old}");
    assert!(old.contains("SIGHUP received"), "{old}");
    // The server is still up: a second SIGHUP is answered in the new file too.
    server.signal(libc::SIGHUP);
    server.expect_log("translation rules reloaded");
    server.stop_cleanly();
}

#[test]
fn sighup_puts_a_new_rule_in_force_for_the_next_call_while_an_earlier_call_completes() {
    let dir = TempDir::new("hup-rules");
    let mut server = Server::start(dir.path(), &p_rule(base()));
    let dest = unbound_port();

    // Before the reload the q rule does not exist.
    let refused = XmlClient::connect(server.xml_port).call(
        &format!("q{dest}-100"),
        &format!("q{dest}-200"),
        false,
        WAIT,
    );
    assert_eq!(
        refused.last().map(|e| e.code),
        Some(400),
        "before SIGHUP: {refused:?}"
    );

    // A call placed before the SIGHUP, still ringing when it comes.
    let vars = [
        ("SERVER_PORT", server.sip_port.to_string()),
        ("DEST_PORT", dest.to_string()),
    ];
    let mut first = Sipp::uas(dir.path(), "initiator_refer_slow.xml", &vars);
    let mut early = XmlClient::connect(server.xml_port);
    early.send_request(&first.phone("100"), &format!("p{dest}-200"), false);
    let ringing = early.events_until(WAIT, |e| e.code == 180);
    assert_eq!(ringing.last().map(|e| e.code), Some(180), "{ringing:?}");

    server.rewrite_config(&q_rule(p_rule(base())));
    server.signal(libc::SIGHUP);
    server.expect_log("translation rules reloaded: 2 rules in force");

    let rest = early.events_until(CALL_WAIT, Event::is_final);
    assert_eq!(
        code_leg(&rest),
        Some((200, "Destination")),
        "the call placed before SIGHUP: {ringing:?} {rest:?}"
    );
    first.expect_pass();

    // The next call uses the new rule.
    let mut second = Sipp::uas(dir.path(), "initiator_refer_ok.xml", &vars);
    let got = XmlClient::connect(server.xml_port).call(
        &format!("q{}-100", second.port),
        &format!("q{dest}-200"),
        false,
        CALL_WAIT,
    );
    assert_eq!(
        code_leg(&got),
        Some((200, "Destination")),
        "after SIGHUP: {got:?}"
    );
    second.expect_pass();
    server.stop_cleanly();
}

#[test]
fn sighup_with_a_broken_rule_keeps_the_old_rules_and_logs_file_and_line() {
    let dir = TempDir::new("hup-broken");
    let mut server = Server::start(dir.path(), &p_rule(base()));
    let dest = unbound_port();

    let broken = q_rule(p_rule(base())).rule("(unclosed", "x");
    let text = server.rewrite_config(&broken);
    // The file and line of the broken pattern, as the server names the file (`-c`).
    let broken_line = 1 + text
        .lines()
        .position(|l| l == "TranslationPattern = (unclosed")
        .expect("the broken rule is in the file");
    server.signal(libc::SIGHUP);
    server.expect_log(&format!("clicktocall.config:{broken_line}"));
    server.expect_log("configuration refused: the 1 translation rules in force are kept");

    // The q rule of the refused file is not in force; the p rule still is.
    let refused = XmlClient::connect(server.xml_port).call(
        &format!("q{dest}-100"),
        &format!("q{dest}-200"),
        false,
        WAIT,
    );
    assert_eq!(refused.last().map(|e| e.code), Some(400), "{refused:?}");
    let vars = [
        ("SERVER_PORT", server.sip_port.to_string()),
        ("DEST_PORT", dest.to_string()),
    ];
    let mut phone = Sipp::uas(dir.path(), "initiator_refer_ok.xml", &vars);
    let got = XmlClient::connect(server.xml_port).call(
        &phone.phone("100"),
        &format!("p{dest}-200"),
        false,
        CALL_WAIT,
    );
    assert_eq!(code_leg(&got), Some((200, "Destination")), "{got:?}");
    phone.expect_pass();
    server.stop_cleanly();
}

#[test]
fn log_filename_dash_logs_everything_to_a_stderr_pipe_with_time_stamps() {
    let dir = TempDir::new("stderr-pipe");
    let (read_end, write_end) = std::io::pipe().expect("pipe");
    let mut server = Server::start_piped(
        dir.path(),
        &base().set("LogFilename", "-"),
        Stdio::from(write_end),
        Box::new(read_end),
    );
    server.stop_cleanly();
    let lines = server.stderr_lines();
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
    // HttpAuth on with the built-in password: a warning, priority 4.
    let config = base()
        .set("LogFilename", "stderr")
        .set("HttpAuth", "1")
        .env("JOURNAL_STREAM", &journal_stream);
    let mut server = Server::start_piped(
        dir.path(),
        &config,
        Stdio::from(OwnedFd::from(theirs)),
        Box::new(ours),
    );
    server.stop_cleanly();
    let lines = server.stderr_lines();
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

/// `TelUriDomain` is reloaded with the rules: a `tel:` result refused (400) for want of a
/// domain is called at the domain SIGHUP put in force.
#[test]
fn sighup_puts_a_new_tel_uri_domain_in_force_for_the_next_call() {
    let dir = TempDir::new("hup-tel");
    let tel = |c: ServerConfig| c.rule(r"^tel(\d+)$", "tel:+$1");
    let mut server = Server::start(dir.path(), &tel(p_rule(base())));
    let dest = format!("p{}-200", unbound_port());
    let refused = XmlClient::connect(server.xml_port).call("tel15551234567", &dest, false, WAIT);
    assert_eq!(code_leg(&refused), Some((400, "")), "{refused:?}");

    let mut phone = Sipp::uas(dir.path(), "initiator_busy.xml", &[]);
    let domain = format!("127.0.0.1:{}", phone.port);
    server.rewrite_config(&tel(p_rule(base())).set("TelUriDomain", &domain));
    server.signal(libc::SIGHUP);
    server.expect_log(&format!("TelUriDomain reloaded: {domain}"));
    let log = server.log();
    assert!(
        !log.contains("applied only at a restart"),
        "TelUriDomain needs no restart:\n{log}"
    );
    let got = XmlClient::connect(server.xml_port).call("tel15551234567", &dest, false, CALL_WAIT);
    assert_eq!(code_leg(&got), Some((486, "Initiator")), "{got:?}");
    phone.expect_pass();
    let want = format!("INVITE sip:+15551234567@{domain};user=phone SIP/2.0");
    let trace = phone.messages();
    assert!(trace.contains(&want), "{want} not in\n{trace}");
    server.stop_cleanly();
}
