//! Whole-configuration tests: defaults, every key, precedence, collected errors.

use super::*;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn with_cli(text: &str, cli_args: &[&str]) -> Result<Loaded, ConfigError> {
    let cmd = cli::parse(&args(cli_args))?;
    Config::from_parts(Some(PathBuf::from("test.config")), text, cmd.overrides)
}

fn problems(text: &str) -> Vec<Problem> {
    match Config::from_text(text) {
        Err(ConfigError::Invalid { problems, .. }) => problems,
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn defaults_are_the_originals() {
    let c = Config::from_text("").expect("empty file is valid").config;
    assert_eq!(c.ip_address, None);
    assert!(c.dns_servers.is_empty());
    assert_eq!(c.udp_tcp_port, 5072);
    assert_eq!(c.tls_port, Some(5073));
    assert_eq!(c.tls_domain_name, hostname());
    assert!(c.keep_alives);
    assert_eq!(c.outbound_proxy, None);
    assert_eq!(c.log_level, LogLevel::Info);
    assert_eq!(c.log_filename, PathBuf::from("clicktocall.log"));
    assert_eq!(c.log_file_max_lines, 50_000);
    assert_eq!(c.xml_rpc_port, Some(5094));
    assert_eq!(c.http_port, Some(5090));
    assert!(!c.http_auth);
    assert_eq!(c.http_auth_pwd, "admin");
    assert_eq!(
        c.click_to_call_identity,
        format!("sip:click2call@{}", hostname())
    );
    assert_eq!(c.ring_timeout, Duration::from_secs(180));
    assert_eq!(c.http_max_connections, 2048);
    assert_eq!(c.http_auth_realm, "clicktocall");
    assert_eq!(c.xml_rpc_max_connections, 2048);
    assert!(c.translator.is_empty());
    // The front-door defences keep today's behaviour unless configured.
    assert_eq!(c.http_max_connections_per_peer, 256);
    assert_eq!(c.xml_max_connections_per_peer, 256);
    assert_eq!(c.http_request_timeout, Duration::from_secs(10));
    assert!(c.http_allow.is_any() && c.xml_allow.is_any());
    assert_eq!((c.https_port, c.xml_tls_port), (None, None));
    assert_eq!(
        (c.https_certificate.clone(), c.https_key.clone()),
        (None, None)
    );
    assert_eq!(c.xml_auth_token, None);
    assert_eq!(c.max_concurrent_calls, 10_000);
    assert_eq!(c.max_calls_per_second, 0);
    assert_eq!(c.max_calls_per_second_per_client, 0);
    assert!(c.destination_allow.is_empty() && c.destination_deny.is_empty());
    assert!(c.initiator_allow.is_empty() && c.initiator_deny.is_empty());
    assert!(c.sip_allow.is_any());
}

#[test]
fn every_key_is_read() {
    let text = "\
IPAddress = 127.0.0.1
DNSServers = 127.0.0.1:5353, ::1
ClickToCallIdentity = c2c@example.com
UDPTCPPort = 6060
TLSPort = 0
TLSDomain = example.com
KeepAlives = off
OutboundProxy = sip:proxy.example.com;lr
LogLevel = debug
LogFilename = /tmp/c2c.log
LogFileMaxLines = 10
XmlRpcPort = 0
HttpPort = 8080
HttpAuth = enable
HttpAuthPwd = s3cret
RingTimeout = 30
HttpMaxConnections = 10
HttpAuthRealm = example.com
XmlRpcMaxConnections = 5
TranslationPattern = ^(\\d+)$
TranslationOutput = sip:$1@example.com
";
    let loaded = Config::from_text(text).expect("valid");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;
    assert_eq!(c.ip_address, Some("127.0.0.1".parse().expect("ip")));
    assert_eq!(c.dns_servers.len(), 2);
    assert_eq!(c.click_to_call_identity, "sip:c2c@example.com");
    assert_eq!(c.udp_tcp_port, 6060);
    assert_eq!(c.tls_port, None);
    assert_eq!(c.tls_domain_name, "example.com");
    assert!(!c.keep_alives);
    assert_eq!(
        c.outbound_proxy.as_deref(),
        Some("sip:proxy.example.com;lr")
    );
    assert_eq!(c.log_level, LogLevel::Debug);
    assert_eq!(c.log_filename, PathBuf::from("/tmp/c2c.log"));
    assert_eq!(c.log_file_max_lines, 10);
    assert_eq!(c.xml_rpc_port, None);
    assert_eq!(c.http_port, Some(8080));
    assert!(c.http_auth);
    assert_eq!(c.http_auth_pwd, "s3cret");
    assert_eq!(c.ring_timeout, Duration::from_secs(30));
    assert_eq!(c.http_max_connections, 10);
    assert_eq!(c.http_auth_realm, "example.com");
    assert_eq!(c.xml_rpc_max_connections, 5);
    assert_eq!(
        c.translator.translate("123").as_deref(),
        Some("sip:123@example.com")
    );
}

#[test]
fn identity_defaults_to_the_configured_address() {
    let c = Config::from_text("IPAddress = 127.0.0.1\n")
        .expect("valid")
        .config;
    assert_eq!(c.click_to_call_identity, "sip:click2call@127.0.0.1");
}

#[test]
fn names_are_case_insensitive_and_empty_values_keep_defaults() {
    let c = Config::from_text("httpport = 1234\nUDPTCPPORT =\nloglevel=Warning\n")
        .expect("valid")
        .config;
    assert_eq!(c.http_port, Some(1234));
    assert_eq!(c.udp_tcp_port, 5072);
    assert_eq!(c.log_level, LogLevel::Warning);
}

#[test]
fn command_line_beats_file() {
    let c = with_cli(
        "UDPTCPPort = 5000\nHttpPort = 5090\nKeepAlives = 1\nLogLevel = ERR\n",
        &["-sp", "6060", "-httpport", "0", "-nk", "-l", "DEBUG"],
    )
    .expect("valid")
    .config;
    assert_eq!(c.udp_tcp_port, 6060);
    assert_eq!(c.http_port, None);
    assert!(!c.keep_alives);
    assert_eq!(c.log_level, LogLevel::Debug);
}

#[test]
fn command_line_rules_come_before_file_rules() {
    let c = with_cli(
        "TranslationPattern=^(.*)$\nTranslationOutput=sip:$1@file\n",
        &[
            "-TranslationPattern",
            "^(1.*)$",
            "-TranslationOutput",
            "sip:$1@cli",
        ],
    )
    .expect("valid")
    .config;
    assert_eq!(
        c.translator.translate("123").as_deref(),
        Some("sip:123@cli")
    );
    assert_eq!(
        c.translator.translate("223").as_deref(),
        Some("sip:223@file")
    );
}

#[test]
fn later_value_wins_with_a_warning() {
    let loaded = Config::from_text("HttpPort = 1\nHttpPort = 2\n").expect("valid");
    assert_eq!(loaded.config.http_port, Some(2));
    let w = loaded
        .warnings
        .iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        w.contains("<text>:2") && w.contains("<text>:1") && w.contains("HttpPort"),
        "{w}"
    );
}

#[test]
fn unknown_keys_are_warnings_naming_file_and_line() {
    let loaded =
        Config::from_text("HttpPort = 1\nHttpPorts = 2\n").expect("unknown key is not fatal");
    assert_eq!(
        loaded.warnings,
        vec![Warning::UnknownKey {
            origin: Origin::File {
                path: PathBuf::from("<text>"),
                line: 2
            },
            key: "HttpPorts".into()
        }]
    );
}

#[test]
fn every_problem_is_reported_with_line_key_and_value() {
    let p = problems("UDPTCPPort = 70000\nKeepAlives = maybe\nLogLevel = LOUD\n");
    let text: Vec<String> = p.iter().map(|p| p.to_string()).collect();
    assert_eq!(text.len(), 3, "{text:?}");
    assert!(
        text.iter()
            .any(|t| t.starts_with("<text>:1: UDPTCPPort = \"70000\"")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("<text>:2: KeepAlives = \"maybe\"")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("<text>:3: LogLevel = \"LOUD\"")),
        "{text:?}"
    );
}

#[test]
fn translation_pairs_must_be_complete() {
    let p = problems("TranslationOutput = x\n");
    assert_eq!(p[0].reason, Invalid::OutputWithoutPattern);
    let p = problems("TranslationPattern = a\nTranslationPattern = b\nTranslationOutput = x\n");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].reason, Invalid::PatternWithoutOutput);
    assert_eq!(
        p[0].origin,
        Origin::File {
            path: PathBuf::from("<text>"),
            line: 1
        }
    );
    let p = problems("TranslationPattern = a\n");
    assert_eq!(p[0].reason, Invalid::PatternWithoutOutput);
}

#[test]
fn bad_pattern_names_its_line() {
    let p = problems(
        "TranslationPattern = ok\nTranslationOutput = x\nTranslationPattern = (\nTranslationOutput = y\n",
    );
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].origin,
        Origin::File {
            path: PathBuf::from("<text>"),
            line: 3
        }
    );
    assert!(matches!(p[0].reason, Invalid::BadPattern(_)));
}

#[test]
fn other_keys_between_a_pair_are_fine() {
    let c = Config::from_text(
        "TranslationPattern = ^(.*)$\nHttpPort = 1\nTranslationOutput = sip:$1@x\n",
    )
    .expect("valid")
    .config;
    assert_eq!(c.translator.translate("a").as_deref(), Some("sip:a@x"));
}

#[test]
fn default_password_with_auth_is_warned() {
    let w = Config::from_text("HttpAuth = 1\n").expect("valid").warnings;
    assert_eq!(w, vec![Warning::DefaultPassword { password: "admin" }]);
    let w = Config::from_text("HttpAuth = 1\nHttpAuthPwd = change-me\n")
        .expect("valid")
        .warnings;
    assert_eq!(
        w,
        vec![Warning::DefaultPassword {
            password: "change-me"
        }]
    );
    let w = Config::from_text("HttpAuth = 1\nHttpAuthPwd = other\n")
        .expect("valid")
        .warnings;
    assert!(w.is_empty());
}

#[test]
fn settings_list_every_key_and_hide_the_password() {
    let c =
        Config::from_text("HttpAuthPwd = s3cret\nTranslationPattern = a\nTranslationOutput = b\n")
            .expect("valid")
            .config;
    let settings = c.settings();
    for key in Key::ALL {
        assert!(
            settings.iter().any(|(k, _)| *k == key.name()),
            "{} missing",
            key.name()
        );
    }
    assert!(settings.iter().all(|(_, v)| !v.contains("s3cret")));
    assert!(settings.contains(&("TranslationPattern", "a".to_owned())));
}

#[test]
fn debug_output_hides_the_password() {
    let c = Config::from_text("HttpAuthPwd = s3cret\n")
        .expect("valid")
        .config;
    let text = format!("{c:?}");
    assert!(!text.contains("s3cret"), "{text}");
    assert!(text.contains("http_auth_pwd"), "{text}");
}

#[test]
fn settings_feed_back_as_the_same_configuration() {
    // --check-config output is itself a valid configuration file (but for the password).
    let text = "IPAddress = ::1\nDNSServers = 1.2.3.4\nTLSPort = 0\nHttpPort = 0\nKeepAlives = 0\n\
                TranslationPattern = ^(.*)$\nTranslationOutput = sip:$1@x\n";
    let first = Config::from_text(text).expect("valid").config;
    let printed: String = first
        .settings()
        .iter()
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect();
    let second = Config::from_text(&printed)
        .expect("printed settings parse")
        .config;
    assert_eq!(first.settings(), second.settings());
}

#[test]
fn load_with_missing_named_file_is_an_error() {
    let err = Config::load(&args(&["-c", "/nonexistent/dir/x.config"])).expect_err("must fail");
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string().contains("/nonexistent/dir/x.config"),
        "{err}"
    );
}

#[test]
fn endless_file_is_refused_not_read_forever() {
    let err = Config::load(&args(&["-c", "/dev/zero"])).expect_err("must fail");
    assert!(err.to_string().contains("/dev/zero"), "{err}");
}

#[test]
fn log_levels_map_onto_log_levels() {
    let cases = [
        ("none", LevelFilter::Off),
        ("CRIT", LevelFilter::Error),
        ("Err", LevelFilter::Error),
        ("WARNING", LevelFilter::Warn),
        ("info", LevelFilter::Info),
        ("DEBUG", LevelFilter::Debug),
        ("stack", LevelFilter::Trace),
    ];
    for (name, filter) in cases {
        assert_eq!(
            name.parse::<LogLevel>().map(|l| l.level_filter()),
            Ok(filter),
            "{name}"
        );
    }
    assert_eq!("WARN".parse::<LogLevel>(), Err(Invalid::NotALogLevel));
}

#[test]
fn hostname_is_not_empty() {
    assert!(!hostname().is_empty());
}

#[test]
fn problems_come_out_in_line_order() {
    let p = problems("UDPTCPPort = x\nTranslationOutput = y\nKeepAlives = maybe\n");
    let lines: Vec<String> = p.iter().map(|p| p.origin.to_string()).collect();
    assert_eq!(lines, ["<text>:1", "<text>:2", "<text>:3"]);
}

#[test]
fn api_address_restricts_the_front_doors_and_must_be_an_address() {
    assert_eq!(Config::default().api_ip_address, None);
    let c = Config::from_text("ApiIPAddress = ::1\n").unwrap().config;
    assert_eq!(c.api_ip_address, Some("::1".parse().unwrap()));
    let text: Vec<String> = problems("ApiIPAddress = localhost\n")
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("<text>:1: ApiIPAddress = \"localhost\"")),
        "{text:?}"
    );
}

#[test]
fn auto_means_any_free_port_and_zero_keeps_its_legacy_meaning() {
    let c = Config::from_text(
        "UDPTCPPort = auto\nTLSPort = Auto\nXmlRpcPort = AUTO\nHttpPort = auto\n",
    )
    .expect("auto is accepted for every port key")
    .config;
    assert_eq!(c.udp_tcp_port, AUTO_PORT);
    assert_eq!(c.tls_port, Some(AUTO_PORT));
    assert_eq!(c.xml_rpc_port, Some(AUTO_PORT));
    assert_eq!(c.http_port, Some(AUTO_PORT));
    let settings = c.settings();
    for key in ["UDPTCPPort", "TLSPort", "XmlRpcPort", "HttpPort"] {
        assert!(
            settings.contains(&(key, "auto".to_owned())),
            "{key} shown as auto in {settings:?}"
        );
    }

    // 0 still disables TLS, XML and HTTP, and is still out of range for UDPTCPPort.
    let c = Config::from_text("TLSPort = 0\nXmlRpcPort = 0\nHttpPort = 0\n")
        .expect("valid")
        .config;
    assert_eq!(
        (c.tls_port, c.xml_rpc_port, c.http_port),
        (None, None, None)
    );
    let p = problems("UDPTCPPort = 0\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].key, "UDPTCPPort");
    for bad in ["automatic", "any", "auto5"] {
        let p = problems(&format!("HttpPort = {bad}\n"));
        assert_eq!(p.len(), 1, "{bad}: {p:?}");
        assert_eq!(p[0].reason, Invalid::NotANumber, "{bad}");
    }
}

#[test]
fn front_door_keys_are_read() {
    let text = "\
HttpMaxConnectionsPerPeer = 8
XmlMaxConnectionsPerPeer = 9
HttpRequestTimeout = 5
HttpAllow = 127.0.0.1, 10.0.0.0/8
XmlAllow = ::1, 192.0.2.0/24
HttpsPort = 8443
XmlTlsPort = 5095
HttpsCertificate = /etc/c2c/cert.pem
HttpsKey = /etc/c2c/key.pem
XmlAuthToken = 0123456789abcdef-token
MaxConcurrentCalls = 50
MaxCallsPerSecond = 5
MaxCallsPerSecondPerClient = 2
DestinationDeny = ^sip:00
DestinationDeny = ^sip:\\+?1900
DestinationAllow = @trunk\\.example\\.com$
InitiatorAllow = ^sip:[0-9]{3}@
InitiatorDeny = ^sip:999
SipAllow = 192.0.2.0/24
";
    let loaded = Config::from_text(text).expect("valid");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;
    assert_eq!(c.http_max_connections_per_peer, 8);
    assert_eq!(c.xml_max_connections_per_peer, 9);
    assert_eq!(c.http_request_timeout, Duration::from_secs(5));
    assert!(c.http_allow.allows("10.1.2.3".parse().expect("ip")));
    assert!(!c.http_allow.allows("11.1.2.3".parse().expect("ip")));
    assert!(c.xml_allow.allows("::1".parse().expect("ip")));
    assert_eq!(c.https_port, Some(8443));
    assert_eq!(c.xml_tls_port, Some(5095));
    assert_eq!(
        c.https_certificate,
        Some(PathBuf::from("/etc/c2c/cert.pem"))
    );
    assert_eq!(c.https_key, Some(PathBuf::from("/etc/c2c/key.pem")));
    assert_eq!(c.xml_auth_token.as_deref(), Some("0123456789abcdef-token"));
    assert_eq!(c.max_concurrent_calls, 50);
    assert_eq!(c.max_calls_per_second, 5);
    assert_eq!(c.max_calls_per_second_per_client, 2);
    assert_eq!(
        c.destination_deny.patterns().collect::<Vec<_>>(),
        ["^sip:00", "^sip:\\+?1900"]
    );
    assert_eq!(c.destination_allow.patterns().count(), 1);
    assert_eq!(c.initiator_allow.patterns().count(), 1);
    assert_eq!(c.initiator_deny.patterns().count(), 1);
    assert_eq!(c.file_secrets, ["XmlAuthToken"]);
    assert!(c.sip_allow.allows("192.0.2.200".parse().expect("ip")));
    assert!(!c.sip_allow.allows("192.0.3.1".parse().expect("ip")));
    // Printed settings: the token masked, one line per pattern, and they parse back.
    let settings = c.settings();
    assert!(settings.contains(&("XmlAuthToken", "********".to_owned())));
    assert!(settings.iter().all(|(_, v)| !v.contains("abcdef-token")));
    assert_eq!(
        settings
            .iter()
            .filter(|(k, _)| *k == "DestinationDeny")
            .count(),
        2
    );
    assert!(settings.contains(&("HttpAllow", "127.0.0.1/32,10.0.0.0/8".to_owned())));
    let text: String = settings
        .iter()
        .filter(|(k, _)| *k != "XmlAuthToken")
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect();
    let again = Config::from_text(&text)
        .expect("printed settings parse")
        .config;
    assert_eq!(again.destination_deny.patterns().count(), 2);
    assert_eq!(again.http_allow, c.http_allow);
}

#[test]
fn bad_front_door_values_name_line_key_and_reason() {
    let p = problems(
        "HttpAllow = 10.0.0.0/33\n\
         XmlAllow = 127.0.0.1, nowhere\n\
         HttpsPort = 70000\n\
         MaxCallsPerSecond = fast\n\
         DestinationDeny = ^(unclosed\n\
         XmlAuthToken = short\n\
         HttpsCertificate = /c.pem\n\
         HttpMaxConnectionsPerPeer = 0\n\
         HttpRequestTimeout = 301\n",
    );
    let text: Vec<String> = p.iter().map(|p| p.to_string()).collect();
    let expect = [
        ("<text>:1: HttpAllow = \"10.0.0.0/33\"", "prefix length"),
        (
            "<text>:2: XmlAllow = \"127.0.0.1, nowhere\"",
            "not an address",
        ),
        ("<text>:3: HttpsPort", "out of range"),
        ("<text>:4: MaxCallsPerSecond", "not a number"),
        ("<text>:5: DestinationDeny", "regular expression rejected"),
        // The token is not repeated in the message.
        ("<text>:6: XmlAuthToken = \"********\"", "too short"),
        ("<text>:7: HttpsCertificate", "HttpsKey must be given too"),
        ("<text>:8: HttpMaxConnectionsPerPeer", "out of range"),
        ("<text>:9: HttpRequestTimeout", "out of range"),
    ];
    assert_eq!(text.len(), expect.len(), "{text:?}");
    for ((start, reason), t) in expect.iter().zip(&text) {
        assert!(t.starts_with(start) && t.contains(reason), "{t}");
    }
    assert!(!text.iter().any(|t| t.contains("short\"")), "{text:?}");
}

#[test]
fn pattern_lists_gather_file_and_command_line_lines() {
    let c = with_cli(
        "DestinationDeny = ^sip:00\nDestinationDeny =\n",
        &["-DestinationDeny", "^sip:1900"],
    )
    .expect("valid");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.config.destination_deny.patterns().count(), 2);
}

#[test]
fn http_auth_over_plain_http_off_loopback_is_warned() {
    let w = Config::from_text("HttpAuth = 1\nHttpAuthPwd = other\n")
        .expect("valid")
        .config
        .start_warnings();
    assert!(
        matches!(w.as_slice(), [Warning::PlainHttpAuth { listen }] if listen.contains("every interface")),
        "{w:?}"
    );
    let w = Config::from_text("HttpAuth = 1\nHttpAuthPwd = other\nApiIPAddress = 192.0.2.1\n")
        .expect("valid")
        .config
        .start_warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].to_string().contains("192.0.2.1:5090"), "{}", w[0]);
    for quiet in [
        "HttpAuth = 1\nHttpAuthPwd = other\nApiIPAddress = 127.0.0.1\n",
        "HttpAuth = 1\nHttpAuthPwd = other\nApiIPAddress = ::1\n",
        "HttpAuth = 1\nHttpAuthPwd = other\nHttpPort = 0\n",
        "HttpAuth = 0\n",
    ] {
        let w = Config::from_text(quiet)
            .expect("valid")
            .config
            .start_warnings();
        assert!(w.is_empty(), "{quiet}: {w:?}");
    }
}

#[test]
fn ready_file_is_a_command_line_option_not_a_key() {
    let cmd = cli::parse(&args(&["--ready-file", "/tmp/r", "-sp", "auto"])).expect("parses");
    assert_eq!(cmd.ready_file, Some(PathBuf::from("/tmp/r")));
    let cmd = cli::parse(&args(&["--ready-file=/tmp/r2"])).expect("parses");
    assert_eq!(cmd.ready_file, Some(PathBuf::from("/tmp/r2")));
    assert!(cmd.overrides.is_empty());
    assert!(matches!(
        cli::parse(&args(&["--ready-file"])),
        Err(CliError::MissingValue { .. })
    ));
    assert!(help_text().contains("--ready-file"));
}

#[test]
fn a_readable_file_with_secrets_is_warned_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("c2c-mode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("secret.config");
    std::fs::write(&path, "HttpAuthPwd = s3cret\n").expect("write");
    let load = |mode| {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let args = vec!["-c".to_owned(), path.display().to_string()];
        match Config::load(&args).expect("load") {
            LoadOutcome::Run(l) => l.config.start_warnings(),
            other => panic!("{other:?}"),
        }
    };
    let w = load(0o644);
    assert_eq!(w.len(), 1, "{w:?}");
    let text = w[0].to_string();
    assert!(
        text.contains("HttpAuthPwd") && text.contains("644"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    assert!(load(0o600).is_empty());
    // No secret in the file: nothing to say, whatever the mode.
    std::fs::write(&path, "HttpPort = 5090\n").expect("write");
    assert!(load(0o644).is_empty());
    // A secret given on the command line only is not in the file.
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// SipAuthUser/SipAuthPassword/SipAuthRealm are read; the password is a file secret,
/// masked in the printed settings; a quote in the user or a control character in the
/// password is refused with its line.
#[test]
fn sip_auth_keys_are_read_and_the_password_is_masked() {
    let c = with_cli(
        "SipAuthUser = c2c\nSipAuthPassword = p@ss word\"\nSipAuthRealm = pbx.example\n",
        &[],
    )
    .expect("valid")
    .config;
    assert_eq!(
        (c.sip_auth_user.as_str(), c.sip_auth_password.as_str()),
        ("c2c", "p@ss word\"")
    );
    assert_eq!(c.sip_auth_realm, "pbx.example");
    assert_eq!(c.file_secrets, ["SipAuthPassword"]);
    let settings = c.settings();
    assert!(settings.contains(&("SipAuthPassword", "********".to_owned())));
    assert!(!format!("{c:?}").contains("p@ss"));
    let bad = problems("SipAuthUser = a\"b\nSipAuthPassword = a\u{1}b\n");
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(
        bad.iter().all(|p| p.value != "a\u{1}b"),
        "the secret is not echoed"
    );
}

/// ExternalAddress takes an address peers can send to; the wildcard is refused.
#[test]
fn external_address_is_read_and_the_wildcard_refused() {
    let c = with_cli("ExternalAddress = 203.0.113.7\n", &[])
        .expect("valid")
        .config;
    assert_eq!(c.external_address, Some("203.0.113.7".parse().expect("ip")));
    assert!(
        c.settings()
            .contains(&("ExternalAddress", "203.0.113.7".to_owned()))
    );
    for bad in ["0.0.0.0", "::", "nat.example"] {
        assert_eq!(
            problems(&format!("ExternalAddress = {bad}\n")).len(),
            1,
            "{bad}"
        );
    }
}

/// TelUriDomain takes a host with an optional port; anything a SIP URI's hostport cannot
/// be is refused.
#[test]
fn tel_uri_domain_takes_a_hostport() {
    for good in ["carrier.example", "192.0.2.1:5062", "[2001:db8::1]:5060"] {
        let c = with_cli(&format!("TelUriDomain = {good}\n"), &[])
            .expect("valid")
            .config;
        assert_eq!(c.tel_uri_domain.as_deref(), Some(good));
    }
    for bad in ["a b", "user@host", "host;transport=tcp", "host:port"] {
        assert_eq!(
            problems(&format!("TelUriDomain = {bad}\n")).len(),
            1,
            "{bad}"
        );
    }
}

#[test]
fn instance_name_is_a_short_url_safe_word_and_blank_by_default() {
    assert_eq!(Config::default().instance_name, None);
    let loaded = Config::from_text("InstanceName = east-1.b_2\n").expect("valid");
    assert_eq!(loaded.config.instance_name.as_deref(), Some("east-1.b_2"));
    let text: Vec<String> = problems("InstanceName = a/b\n")
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("<text>:1: InstanceName = \"a/b\"")),
        "{text:?}"
    );
    let long = format!("InstanceName = {}\n", "x".repeat(33));
    let text: Vec<String> = problems(&long).iter().map(|p| p.to_string()).collect();
    assert!(text.iter().any(|t| t.contains("too long")), "{text:?}");
}

#[test]
fn sip_transaction_memory_is_megabytes_between_16_and_65536() {
    assert_eq!(Config::default().sip_transaction_memory_mb, 256);
    let loaded = Config::from_text("SipTransactionMemory = 64\n").expect("valid");
    assert_eq!(loaded.config.sip_transaction_memory_mb, 64);
    for bad in ["8", "65537", "lots"] {
        let text: Vec<String> = problems(&format!("SipTransactionMemory = {bad}\n"))
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert!(
            text.iter()
                .any(|t| t.starts_with(&format!("<text>:1: SipTransactionMemory = \"{bad}\""))),
            "{text:?}"
        );
    }
}

#[test]
fn call_mode_names_a_mode_and_defaults_to_refer() {
    use crate::c2c::command::CallMode;
    assert_eq!(Config::default().call_mode, CallMode::Refer);
    for (text, mode) in [
        ("refer", CallMode::Refer),
        ("Anchored", CallMode::Anchored),
        ("REFER-OOD", CallMode::ReferOutOfDialog),
    ] {
        let c = Config::from_text(&format!("CallMode = {text}\n"))
            .expect("valid")
            .config;
        assert_eq!(c.call_mode, mode, "{text}");
    }
    let text: Vec<String> = problems("\nCallMode = ood\n")
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("<text>:2: CallMode = \"ood\"")
                && t.contains("refer|anchored|refer-ood")),
        "{text:?}"
    );
}

#[test]
fn call_detail_records_are_off_by_default_and_their_keys_are_checked() {
    let c = Config::default();
    assert_eq!(c.cdr_filename, None);
    assert_eq!(c.cdr_format, CdrFormat::Json);
    assert_eq!((c.cdr_file_max_lines, c.cdr_mask_digits), (0, 0));
    let loaded = Config::from_text(
        "CdrFilename = /var/log/clicktocall/cdr.csv\nCdrFormat = CSV\nCdrFileMaxLines = 100\nCdrMaskDigits = 4\n",
    )
    .expect("valid");
    let c = loaded.config;
    assert_eq!(
        c.cdr_filename.as_deref(),
        Some(std::path::Path::new("/var/log/clicktocall/cdr.csv"))
    );
    assert_eq!(c.cdr_format, CdrFormat::Csv);
    assert_eq!((c.cdr_file_max_lines, c.cdr_mask_digits), (100, 4));
    let text: Vec<String> = problems("LogLevel = INFO\nCdrFormat = xml\nCdrMaskDigits = 33\n")
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("<text>:2: CdrFormat = \"xml\"") && t.contains("json or csv")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("<text>:3: CdrMaskDigits = \"33\"")),
        "{text:?}"
    );
}

#[test]
fn caller_identity_keys_default_to_the_originals_behaviour() {
    let c = Config::from_text("").expect("valid").config;
    assert_eq!(
        c.initiator_from_display_name,
        "Click-To-Call: {destination}"
    );
    assert_eq!(c.initiator_from, "");
    assert_eq!(c.initiator_p_asserted_identity, "none");
    assert!(!c.initiator_privacy_id);
    assert_eq!(c.initiator_auto_answer, "none");
    assert_eq!(c.initiator_extra_header, "");
    assert_eq!(c.destination_from_display_name, "none");
    assert_eq!(c.destination_from, "");
    assert_eq!(c.destination_p_asserted_identity, "none");
    assert!(!c.destination_privacy_id);
}

#[test]
fn caller_identity_keys_are_read_and_printed_back() {
    let text = "InitiatorFromDisplayName = Call for {destination}\n\
                InitiatorFrom = sip:{destination}@{domain}\n\
                InitiatorPAssertedIdentity = from\n\
                InitiatorPrivacyId = on\n\
                InitiatorAutoAnswer = Call-Info\n\
                InitiatorExtraHeader = x-intercom:  yes\n\
                DestinationFromDisplayName = Agent {initiator}\n\
                DestinationFrom = sip:{initiator}@trunk.example.com\n\
                DestinationPAssertedIdentity = tel:+1555{initiator}\n\
                DestinationPrivacyId = 1\n";
    let c = Config::from_text(text).expect("valid").config;
    assert_eq!(c.initiator_from_display_name, "Call for {destination}");
    assert_eq!(c.initiator_from, "sip:{destination}@{domain}");
    assert_eq!(c.initiator_p_asserted_identity, "from");
    assert!(c.initiator_privacy_id);
    // Normalised: the spelling the documentation uses.
    assert_eq!(c.initiator_auto_answer, "call-info");
    assert_eq!(c.initiator_extra_header, "x-intercom: yes");
    assert_eq!(c.destination_from_display_name, "Agent {initiator}");
    assert_eq!(c.destination_from, "sip:{initiator}@trunk.example.com");
    assert_eq!(c.destination_p_asserted_identity, "tel:+1555{initiator}");
    assert!(c.destination_privacy_id);
    let printed: String = c
        .settings()
        .iter()
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect();
    assert!(
        printed.contains("InitiatorAutoAnswer = call-info\n"),
        "{printed}"
    );
    assert!(
        printed.contains("InitiatorExtraHeader = x-intercom: yes\n"),
        "{printed}"
    );
    let again = Config::from_text(&printed)
        .expect("printed settings parse")
        .config;
    assert_eq!(c.settings(), again.settings());
}

#[test]
fn bad_caller_identity_values_name_line_key_and_reason() {
    let text = "InitiatorFromDisplayName = Call {destnation}\n\
                InitiatorFrom = http://example.com/{initiator}\n\
                InitiatorPAssertedIdentity = mailto:a@example.com\n\
                InitiatorPrivacyId = maybe\n\
                InitiatorAutoAnswer = yes\n\
                InitiatorExtraHeader = Via: SIP/2.0/UDP evil\n\
                DestinationFromDisplayName = {initiator\n\
                DestinationFrom = sip:{initiator}@\n\
                DestinationPAssertedIdentity = sip:a b@c\n\
                DestinationPrivacyId = 2\n\
                InitiatorExtraHeader = Bad Name: x\n\
                InitiatorExtraHeader = m: <sip:a@b>\n";
    let got: Vec<String> = problems(text).iter().map(|p| p.to_string()).collect();
    // One problem per line; the repeated InitiatorExtraHeader reports only the last.
    for (start, reason) in [
        (
            "<text>:1: InitiatorFromDisplayName = \"Call {destnation}\"",
            "unknown placeholder {destnation}",
        ),
        ("<text>:2: InitiatorFrom", "not a sip: or sips: URI"),
        (
            "<text>:3: InitiatorPAssertedIdentity",
            "not a sip:, sips: or tel: URI",
        ),
        ("<text>:4: InitiatorPrivacyId", "not a boolean"),
        (
            "<text>:5: InitiatorAutoAnswer = \"yes\"",
            "not one of none, call-info, alert-info, answer-mode",
        ),
        ("<text>:7: DestinationFromDisplayName", "without its '}'"),
        ("<text>:8: DestinationFrom", "not a sip: or sips: URI"),
        (
            "<text>:9: DestinationPAssertedIdentity",
            "not a sip:, sips: or tel: URI",
        ),
        ("<text>:10: DestinationPrivacyId", "not a boolean"),
        (
            "<text>:12: InitiatorExtraHeader = \"m: <sip:a@b>\"",
            "Contact is written by the server itself",
        ),
    ] {
        assert!(
            got.iter()
                .any(|t| t.starts_with(start) && t.contains(reason)),
            "{start} / {reason} not in {got:#?}"
        );
    }
    assert_eq!(got.len(), 10, "{got:#?}");
    for (bad, reason) in [
        ("Via: SIP/2.0/UDP evil", "Via is written"),
        ("Bad Name: x", "not a header name"),
        ("X-A:", "value is empty"),
        ("no colon", "not Name: value"),
    ] {
        let got: Vec<String> = problems(&format!("InitiatorExtraHeader = {bad}\n"))
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert!(
            got.len() == 1
                && got[0].starts_with("<text>:1: InitiatorExtraHeader")
                && got[0].contains(reason),
            "{bad}: {got:?}"
        );
    }
}

#[test]
fn a_display_name_of_none_means_no_display_name() {
    let c = Config::from_text("InitiatorFromDisplayName = None\n")
        .expect("valid")
        .config;
    assert_eq!(c.initiator_from_display_name, "None");
    let identity = crate::c2c::identity::IdentityConfig::from_config(&c);
    assert_eq!(identity.initiator.display_name, None);
    assert_eq!(
        crate::c2c::identity::IdentityConfig::from_config(&Config::default()),
        crate::c2c::identity::IdentityConfig::default()
    );
}

/// OfferCodecs: the default, names in any case separated by commas or blanks (a repeat
/// offered once), printed back by --check-config; an unknown name or an empty list is a
/// file:line error naming the item.
#[test]
fn offer_codecs_take_known_codec_names() {
    use crate::sip::sdp::Codec;
    assert_eq!(Config::default().offer_codecs, Codec::DEFAULT.to_vec());
    let c = Config::from_text("OfferCodecs = pcma g722,PCMA , telephone-event\n")
        .expect("valid")
        .config;
    assert_eq!(
        c.offer_codecs,
        [Codec::Pcma, Codec::G722, Codec::TelephoneEvent]
    );
    assert!(
        c.settings()
            .iter()
            .any(|(k, v)| *k == "OfferCodecs" && v == "PCMA, G722, telephone-event"),
        "{:?}",
        c.settings()
    );
    let p = problems("\nOfferCodecs = PCMU, opus\n");
    assert_eq!(p.len(), 1);
    let text = p[0].to_string();
    assert!(text.starts_with("<text>:2: OfferCodecs"), "{text}");
    assert!(text.contains("\"opus\" is not a codec"), "{text}");
    assert_eq!(problems("OfferCodecs = , ,\n").len(), 1);
}
