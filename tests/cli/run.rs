//! Black-box tests of a running server: it stays up until SIGTERM/SIGINT and then exits
//! 0, logs its effective settings, rotates its log file. Only our own child is signalled.

use std::fs;

use crate::support::{
    server::Server, server::manifest_dir, server::minimal_config as test_config, server::run,
    tmp::TempDir,
};

const STARTED: &str = "clicktocall started";

#[test]
fn runs_until_sigterm_then_exits_0() {
    let dir = TempDir::new("sigterm");
    let config = test_config(&dir, "");
    let mut server = Server::spawn(dir.path(), &["-c", config.to_str().expect("utf-8")]);
    server.wait_for_line(STARTED);
    server.signal(libc::SIGTERM);
    let status = server.expect_exit();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", server.stderr());
    assert!(
        server.stderr().contains("SIGTERM received"),
        "{}",
        server.stderr()
    );
    assert!(
        server.stderr().contains("clicktocall stopped"),
        "{}",
        server.stderr()
    );
}

#[test]
fn ctrl_c_is_a_clean_exit_too() {
    let dir = TempDir::new("sigint");
    let config = test_config(&dir, "");
    let mut server = Server::spawn(dir.path(), &["-c", config.to_str().expect("utf-8")]);
    server.wait_for_line(STARTED);
    server.signal(libc::SIGINT);
    assert_eq!(
        server.expect_exit().code(),
        Some(0),
        "stderr:\n{}",
        server.stderr()
    );
}

#[test]
fn the_shipped_config_runs() {
    // As `make run` does, with the ports moved to free ones (`auto`, reported in the
    // ready file) so the test cannot collide with anything else on the machine, and the
    // log written to a scratch directory.
    let dir = TempDir::new("shipped");
    let conf = manifest_dir().join("conf/clicktocall.config");
    let (sip, http, xml) = ("auto", "auto", "auto");
    let log = dir.path().join("shipped.log");
    let mut server = Server::spawn(
        dir.path(),
        &[
            "-c",
            conf.to_str().expect("utf-8"),
            "-sp",
            sip,
            "-tp",
            "0",
            "-httpport",
            http,
            "-xmlrpcport",
            xml,
            "-logfilename",
            log.to_str().expect("utf-8"),
        ],
    );
    server.wait_for_line(STARTED);
    let ready = server.wait_ready().clone();
    server.signal(libc::SIGTERM);
    assert_eq!(
        server.expect_exit().code(),
        Some(0),
        "stderr:\n{}",
        server.stderr()
    );
    let text = server.stderr();
    assert!(text.contains(&format!("UDPTCPPort = {sip}")), "{text}");
    assert!(text.contains(&format!("HttpPort = {http}")), "{text}");
    // The command line's ports are the ones bound, as the console says.
    let sip_port = ready.port("sip-udp");
    assert!(
        text.contains(&format!("SIP listening on UDP 127.0.0.1:{sip_port}")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "HTTP listening on 127.0.0.1:{}",
            ready.port("http")
        )),
        "{text}"
    );
    // Settings go to the log file too, and the password to neither.
    let logged = fs::read_to_string(&log).expect("log file written");
    assert!(logged.contains(&format!("UDPTCPPort = {sip}")), "{logged}");
    assert!(!text.contains("change-me") && !logged.contains("change-me"));
}

#[test]
fn original_style_command_line_starts() {
    let dir = TempDir::new("origcli");
    let config = test_config(&dir, "");
    let mut server = Server::spawn(
        dir.path(),
        &[
            "-c",
            config.to_str().expect("utf-8"),
            "-a",
            "127.0.0.1",
            "-l",
            "DEBUG",
            "-nk",
        ],
    );
    server.wait_for_line(STARTED);
    let text = server.stderr();
    assert!(text.contains("IPAddress = 127.0.0.1"), "{text}");
    assert!(text.contains("LogLevel = DEBUG"), "{text}");
    assert!(text.contains("KeepAlives = 0"), "{text}");
    server.signal(libc::SIGTERM);
    assert_eq!(
        server.expect_exit().code(),
        Some(0),
        "stderr:\n{}",
        server.stderr()
    );
}

#[test]
fn log_file_is_rotated_at_log_file_max_lines() {
    let dir = TempDir::new("rotate");
    let config = test_config(&dir, "LogLevel = DEBUG\nLogFileMaxLines = 4\n");
    let mut server = Server::spawn(dir.path(), &["-c", config.to_str().expect("utf-8")]);
    server.wait_for_line(STARTED);
    server.signal(libc::SIGTERM);
    assert_eq!(
        server.expect_exit().code(),
        Some(0),
        "stderr:\n{}",
        server.stderr()
    );
    let log = dir.path().join("clicktocall.log");
    // The start-up alone logs far more than 4 lines: full files were rotated out...
    let rotated =
        fs::read_to_string(dir.path().join("clicktocall.log.1")).expect("clicktocall.log.1 exists");
    assert_eq!(rotated.lines().count(), 4, "{rotated}");
    // ...at most 5 are kept...
    assert!(dir.path().join("clicktocall.log.5").exists());
    assert!(!dir.path().join("clicktocall.log.6").exists());
    // ...and the current file never exceeds the limit.
    let current = fs::read_to_string(&log).expect("current log");
    assert!(current.lines().count() < 4, "{current}");
    // The last lines, in the current file or the newest rotated one, are the shutdown.
    assert!(
        current.contains("clicktocall stopped") || rotated.contains("clicktocall stopped"),
        "{current}\n---\n{rotated}"
    );
}

#[test]
fn unknown_key_warning_reaches_the_console_at_start() {
    let dir = TempDir::new("warn");
    let config = test_config(&dir, "Colour = blue\n");
    let mut server = Server::spawn(dir.path(), &["-c", config.to_str().expect("utf-8")]);
    let line = server.wait_for_line("Colour");
    assert!(line.contains("test.config:9"), "{line}");
    server.wait_for_line(STARTED);
    server.signal(libc::SIGTERM);
    assert_eq!(server.expect_exit().code(), Some(0));
}

#[test]
fn unwritable_log_file_is_a_configuration_error() {
    let dir = TempDir::new("badlog");
    let config = test_config(&dir, "LogFilename = /nonexistent-dir/c2c.log\n");
    let out = run(dir.path(), &["-c", config.to_str().expect("utf-8")]);
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("/nonexistent-dir/c2c.log"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_call_detail_record_file_that_cannot_be_opened_is_refused_by_the_check_and_the_start() {
    let dir = TempDir::new("badcdr");
    let config = test_config(&dir, "CdrFilename = /nonexistent-dir/cdr.jsonl\n");
    let path = config.to_str().expect("utf-8");
    let out = run(dir.path(), &["--check-config", "-c", path]);
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot open call detail record file /nonexistent-dir/cdr.jsonl"),
        "{}",
        out.stderr
    );
    let out = run(dir.path(), &["-c", path]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot open the call detail record file /nonexistent-dir/cdr.jsonl"),
        "{}",
        out.stderr
    );
}

#[test]
fn sip_port_in_use_exits_2_naming_address_and_port() {
    let dir = TempDir::new("sipbusy");
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port");
    let port = taken.local_addr().expect("local addr").port().to_string();
    let config = test_config(&dir, "");
    let out = run(
        dir.path(),
        &["-c", config.to_str().expect("utf-8"), "-sp", &port],
    );
    assert_eq!(out.code(), Some(2), "stderr:\n{}", out.stderr);
    assert!(
        out.stderr.contains("127.0.0.1") && out.stderr.contains(&format!("port {port}")),
        "address and port not named:\n{}",
        out.stderr
    );
    assert!(!out.stderr.contains(STARTED), "{}", out.stderr);
    // Once, not once by the logger and again by hand.
    assert_eq!(
        out.stderr.matches(&format!("port {port}:")).count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn http_port_in_use_exits_2_naming_the_port() {
    let dir = TempDir::new("httpbusy");
    let taken = std::net::TcpListener::bind("0.0.0.0:0").expect("bind a TCP port");
    let port = taken.local_addr().expect("local addr").port().to_string();
    let config = test_config(&dir, "");
    let out = run(
        dir.path(),
        &["-c", config.to_str().expect("utf-8"), "-httpport", &port],
    );
    assert_eq!(out.code(), Some(2), "stderr:\n{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("port {port}")),
        "port not named:\n{}",
        out.stderr
    );
}

#[test]
fn start_failure_is_reported_even_with_logging_off() {
    let dir = TempDir::new("busynone");
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port");
    let port = taken.local_addr().expect("local addr").port().to_string();
    let config = test_config(&dir, "LogLevel = NONE\n");
    let out = run(
        dir.path(),
        &["-c", config.to_str().expect("utf-8"), "-sp", &port],
    );
    assert_eq!(out.code(), Some(2), "stderr:\n{}", out.stderr);
    assert_eq!(
        out.stderr.matches(&format!("port {port}")).count(),
        1,
        "reported once:\n{}",
        out.stderr
    );
}
