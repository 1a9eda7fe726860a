//! Black-box tests of configuration loading: `--check-config`, broken files, the default
//! file, unknown keys. Every run is bounded by a time-out.

use crate::support::{server::manifest_dir, server::run, tmp::TempDir};

/// Every key `--check-config` must print.
const KEYS: [&str; 21] = [
    "IPAddress",
    "DNSServers",
    "ClickToCallIdentity",
    "UDPTCPPort",
    "TLSPort",
    "TLSDomainName",
    "KeepAlives",
    "OutboundProxy",
    "LogLevel",
    "LogFilename",
    "LogFileMaxLines",
    "XmlRpcPort",
    "XmlRpcMaxConnections",
    "HttpPort",
    "HttpAuth",
    "HttpAuthPwd",
    "HttpAuthRealm",
    "HttpMaxConnections",
    "RingTimeout",
    "TranslationPattern",
    "TranslationOutput",
];

fn setting<'a>(stdout: &'a str, key: &str) -> Option<&'a str> {
    stdout.lines().find_map(|line| {
        let (k, v) = line.split_once(" = ")?;
        (k == key).then_some(v)
    })
}

#[test]
fn check_config_prints_every_effective_setting_of_the_shipped_file() {
    let out = run(
        manifest_dir(),
        &["--check-config", "-c", "conf/clicktocall.config"],
    );
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    for key in KEYS {
        assert!(
            setting(&out.stdout, key).is_some(),
            "{key} missing from:\n{}",
            out.stdout
        );
    }
    assert_eq!(setting(&out.stdout, "IPAddress"), Some("127.0.0.1"));
    assert_eq!(setting(&out.stdout, "HttpAuth"), Some("1"));
    assert_eq!(setting(&out.stdout, "UDPTCPPort"), Some("5072"));
    assert_eq!(
        setting(&out.stdout, "TranslationPattern"),
        Some("^(sips?:.*)$")
    );
    // The secret is never printed.
    assert!(!out.stdout.contains("change-me"), "{}", out.stdout);
    assert!(
        out.stdout.contains("conf/clicktocall.config"),
        "{}",
        out.stdout
    );
    // The shipped file's only warning is its public password.
    assert!(
        out.stderr
            .trim()
            .lines()
            .all(|l| l.contains("the shipped configuration's public password")),
        "{}",
        out.stderr
    );
}

/// One broken configuration per kind of error: (what, file text, line, key).
const BROKEN: &[(&str, &str, usize, &str)] = &[
    ("port out of range", "UDPTCPPort = 70000\n", 1, "UDPTCPPort"),
    ("port not a number", "# c\nHttpPort = http\n", 2, "HttpPort"),
    ("negative port", "XmlRpcPort = -1\n", 1, "XmlRpcPort"),
    ("TLS port too big", "TLSPort = 65536\n", 1, "TLSPort"),
    ("UDPTCPPort zero", "UDPTCPPort = 0\n", 1, "UDPTCPPort"),
    ("bad boolean", "\nKeepAlives = yes\n", 2, "KeepAlives"),
    ("bad boolean for HttpAuth", "HttpAuth = 2\n", 1, "HttpAuth"),
    ("bad log level", "LogLevel = VERBOSE\n", 1, "LogLevel"),
    (
        "identity not a SIP URI",
        "ClickToCallIdentity = <sip:a@b>\n",
        1,
        "ClickToCallIdentity",
    ),
    (
        "identity with a space",
        "ClickToCallIdentity = click 2 call\n",
        1,
        "ClickToCallIdentity",
    ),
    (
        "proxy not a SIP URI",
        "OutboundProxy = http://proxy\n",
        1,
        "OutboundProxy",
    ),
    (
        "DNS server not an IP address",
        "DNSServers = 8.8.8.8, dns.example.com\n",
        1,
        "DNSServers",
    ),
    (
        "DNS server bad port",
        "DNSServers = 8.8.8.8:99999\n",
        1,
        "DNSServers",
    ),
    ("IP address bad", "IPAddress = 300.1.1.1\n", 1, "IPAddress"),
    (
        "output without pattern",
        "TranslationOutput = sip:$1@x\n",
        1,
        "TranslationOutput",
    ),
    (
        "pattern without output",
        "TranslationPattern = ^a$\nTranslationPattern = ^b$\nTranslationOutput = x\n",
        1,
        "TranslationPattern",
    ),
    (
        "pattern PCRE2 rejects",
        "TranslationPattern = ^(\\d+$\nTranslationOutput = x\n",
        1,
        "TranslationPattern",
    ),
    (
        "log lines not a number",
        "LogFileMaxLines = lots\n",
        1,
        "LogFileMaxLines",
    ),
    ("ring timeout zero", "RingTimeout = 0\n", 1, "RingTimeout"),
    (
        "HTTP connections zero",
        "HttpMaxConnections = 0\n",
        1,
        "HttpMaxConnections",
    ),
    (
        "XML connections not a number",
        "XmlRpcMaxConnections = many\n",
        1,
        "XmlRpcMaxConnections",
    ),
    (
        "realm with a quote",
        "HttpAuthRealm = a\"b\n",
        1,
        "HttpAuthRealm",
    ),
];

#[test]
fn broken_config_exits_1_naming_file_line_and_key() {
    let dir = TempDir::new("broken");
    for (what, text, line, key) in BROKEN {
        let path = dir.write("broken.config", text);
        let location = format!("{}:{line}", path.display());
        let path_arg = path.to_str().expect("utf-8 temp path");
        // Both modes: the check, and a real start, which must stop before opening sockets.
        for args in [vec!["--check-config", "-c", path_arg], vec!["-c", path_arg]] {
            let out = run(dir.path(), &args);
            assert_eq!(
                out.code(),
                Some(1),
                "{what}: {args:?}: stderr: {}",
                out.stderr
            );
            assert!(
                out.stderr.contains(&location) && out.stderr.contains(key),
                "{what}: expected {location} and {key} in stderr:\n{}",
                out.stderr
            );
            assert!(
                !out.stderr.contains("clicktocall started"),
                "{what}: must not start:\n{}",
                out.stderr
            );
        }
    }
}

#[test]
fn all_problems_of_a_file_are_reported_at_once() {
    let dir = TempDir::new("many");
    let path = dir.write(
        "many.config",
        "UDPTCPPort = x\nHttpPort = 1\nLogLevel = LOUD\n",
    );
    let out = run(
        dir.path(),
        &["--check-config", "-c", path.to_str().expect("utf-8")],
    );
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr.contains("many.config:1") && out.stderr.contains("many.config:3"),
        "{}",
        out.stderr
    );
}

#[test]
fn unknown_key_is_a_warning_naming_file_and_line() {
    let dir = TempDir::new("unknown");
    let path = dir.write("c.config", "HttpPort = 5090\nHttpPorts = 5091\n");
    let out = run(
        dir.path(),
        &["--check-config", "-c", path.to_str().expect("utf-8")],
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("{}:2", path.display())),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("HttpPorts"), "{}", out.stderr);
}

#[test]
fn missing_named_file_is_an_error_missing_default_file_is_not() {
    let dir = TempDir::new("missing");
    let out = run(dir.path(), &["--check-config", "-c", "nowhere.config"]);
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr.contains("nowhere.config"), "{}", out.stderr);

    let out = run(dir.path(), &["--check-config"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert_eq!(setting(&out.stdout, "UDPTCPPort"), Some("5072"));
    assert_eq!(setting(&out.stdout, "HttpPort"), Some("5090"));
}

#[test]
fn default_file_is_read_from_the_working_directory() {
    let dir = TempDir::new("default");
    dir.write(
        "clicktocall.config",
        "HttpPort = 1234\ntlsdomain = example.org\n",
    );
    let out = run(dir.path(), &["--check-config"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert_eq!(setting(&out.stdout, "HttpPort"), Some("1234"));
    assert_eq!(setting(&out.stdout, "TLSDomainName"), Some("example.org"));
}

#[test]
fn legacy_file_shape_is_accepted() {
    // Spacing, case, empty values, CRLF line ends, comment lines, repeated rule pairs.
    let dir = TempDir::new("legacy");
    let path = dir.write(
        "legacy.config",
        "# legacy\r\nipaddress=\r\n  HTTPPORT   =   8080  \r\nDNSServers =\r\n\
         TranslationPattern=^(50[0-9][0-9])(\\d+)$\r\nTranslationOutput=sip:$2@127.0.0.1:$1\r\n\
         TranslationPattern=^(sip:.*)$\r\nTranslationOutput=$1\r\n",
    );
    let out = run(
        dir.path(),
        &["--check-config", "-c", path.to_str().expect("utf-8")],
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert_eq!(setting(&out.stdout, "HttpPort"), Some("8080"));
    assert_eq!(setting(&out.stdout, "IPAddress"), Some(""));
    let patterns: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("TranslationPattern = "))
        .collect();
    assert_eq!(patterns, [r"^(50[0-9][0-9])(\d+)$", "^(sip:.*)$"]);
}

#[test]
fn auto_is_accepted_for_every_port_and_zero_keeps_its_legacy_meaning() {
    let dir = TempDir::new("check-auto");
    let config = dir.write(
        "auto.config",
        "UDPTCPPort = auto\nTLSPort = AUTO\nXmlRpcPort = auto\nHttpPort = Auto\n",
    );
    let out = run(
        dir.path(),
        &["--check-config", "-c", config.to_str().expect("utf-8")],
    );
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    for key in ["UDPTCPPort", "TLSPort", "XmlRpcPort", "HttpPort"] {
        assert_eq!(setting(&out.stdout, key), Some("auto"), "{}", out.stdout);
    }

    // 0 still turns TLS, XML and HTTP off...
    let config = dir.write("zero.config", "TLSPort = 0\nXmlRpcPort = 0\nHttpPort = 0\n");
    let out = run(
        dir.path(),
        &["--check-config", "-c", config.to_str().expect("utf-8")],
    );
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    for key in ["TLSPort", "XmlRpcPort", "HttpPort"] {
        assert_eq!(setting(&out.stdout, key), Some("0"), "{}", out.stdout);
    }

    // ...and is still no port for SIP, named with its origin; a near-miss of `auto` is
    // not a port either.
    let config = dir.write("bad.config", "UDPTCPPort = 0\nHttpPort = automatic\n");
    let out = run(
        dir.path(),
        &["--check-config", "-c", config.to_str().expect("utf-8")],
    );
    assert_eq!(out.code(), Some(1), "stdout: {}", out.stdout);
    assert!(
        out.stderr.contains("bad.config:1") && out.stderr.contains("UDPTCPPort"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("bad.config:2") && out.stderr.contains("automatic"),
        "{}",
        out.stderr
    );
}
