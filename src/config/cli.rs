//! The command line, compatible with the C++ original's: `-a <ip>`, `-d <dns servers>`,
//! `-ci <identity>`, `-sp <port>`, `-tp <port>`, `-td <domain>`, `-nk`, `-op <proxy uri>`,
//! `-l <level>`, and `-<any config key> <value>` (case-insensitive), plus `-?`/`--help`.
//! New here: `-c`/`--config FILE`, `--check-config`, `--version`, and `--key=value`.

use std::path::PathBuf;

use super::error::{CliError, Origin};
use super::file::Entry;
use super::keys::Key;

/// What the command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invocation {
    Help,
    Version,
    /// Load and validate, print the effective settings, exit.
    CheckConfig,
    Run,
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    pub action: Invocation,
    /// `-c FILE`; `None` means `./clicktocall.config` if it exists.
    pub config_path: Option<PathBuf>,
    /// `key = value` settings given on the command line, in order; they override the file.
    pub overrides: Vec<Entry>,
    /// `--ready-file PATH`: where to report the bound listeners once started.
    pub ready_file: Option<PathBuf>,
}

/// The original's short options and the keys they set.
const SHORT_OPTIONS: [(&str, Key); 8] = [
    ("a", Key::IpAddress),
    ("d", Key::DnsServers),
    ("ci", Key::ClickToCallIdentity),
    ("sp", Key::UdpTcpPort),
    ("tp", Key::TlsPort),
    ("td", Key::TlsDomainName),
    ("op", Key::OutboundProxy),
    ("l", Key::LogLevel),
];

/// Parses the arguments after the program name.
pub(super) fn parse(args: &[String]) -> Result<CommandLine, CliError> {
    let mut cmd = CommandLine {
        action: Invocation::Run,
        config_path: None,
        overrides: Vec::new(),
        ready_file: None,
    };
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        let lower = arg.to_ascii_lowercase();
        match lower.as_str() {
            "-?" | "--?" | "/?" | "-h" | "-help" | "--help" => {
                cmd.action = Invocation::Help;
                return Ok(cmd);
            }
            "--version" => {
                cmd.action = Invocation::Version;
                return Ok(cmd);
            }
            "--check-config" => {
                cmd.action = Invocation::CheckConfig;
                continue;
            }
            "-nk" | "--no-keepalives" => {
                cmd.overrides.push(Entry {
                    origin: Origin::CommandLine { arg: arg.clone() },
                    name: Key::KeepAlives.name().to_owned(),
                    value: "0".to_owned(),
                });
                continue;
            }
            _ => {}
        }
        let Some(option) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(CliError::UnexpectedArgument { arg: arg.clone() });
        };
        // `--name=value` carries its value; otherwise the next argument is the value.
        let (name, inline_value) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (option, None),
        };
        let value = match inline_value {
            Some(value) => value,
            None => {
                // As the original: an option's value may not look like an option, which
                // catches `-sp -nk` (a forgotten value) instead of taking `-nk` as a port.
                match args.get(i) {
                    Some(next) if !next.starts_with('-') || next == "-" => {
                        i += 1;
                        next.clone()
                    }
                    _ => return Err(CliError::MissingValue { arg: arg.clone() }),
                }
            }
        };
        if name.eq_ignore_ascii_case("c") || name.eq_ignore_ascii_case("config") {
            cmd.config_path = Some(PathBuf::from(value));
            continue;
        }
        if name.eq_ignore_ascii_case("ready-file") {
            cmd.ready_file = Some(PathBuf::from(value));
            continue;
        }
        let key = SHORT_OPTIONS
            .iter()
            .find(|(short, _)| short.eq_ignore_ascii_case(name))
            .map(|(_, key)| *key)
            .or_else(|| Key::from_name(name))
            .ok_or_else(|| CliError::UnknownOption { arg: arg.clone() })?;
        cmd.overrides.push(Entry {
            origin: Origin::CommandLine { arg: arg.clone() },
            name: key.name().to_owned(),
            value,
        });
    }
    Ok(cmd)
}

/// The `--help` text.
pub fn help_text() -> String {
    let mut text = format!(
        "clicktocall {version}: click-to-call SIP server (third-party call control over SIP,\n\
         driven by HTTP and an XML socket).\n\
         \n\
         Usage: clicktocall [options]\n\
         \n\
         Settings come from ./clicktocall.config (else /etc/clicktocall/clicktocall.config,\n\
         or the file given with -c), then from the command line, which wins.\n\
         \n\
         Options:\n",
        version = env!("CARGO_PKG_VERSION")
    );
    let lines = [
        (
            "-c, --config <file>",
            "configuration file (default ./clicktocall.config)",
        ),
        (
            "-a <ip address>",
            "IPAddress: bind SIP transports to this address (blank: all)",
        ),
        (
            "-d <dns servers>",
            "DNSServers: comma-separated ip or ip:port list",
        ),
        (
            "-ci <sip uri>",
            "ClickToCallIdentity: From URI of the calls we place",
        ),
        (
            "-sp <port>",
            "UDPTCPPort: SIP port for UDP and TCP (auto: any free port)",
        ),
        (
            "-tp <port>",
            "TLSPort: SIP port for TLS (0: no TLS, auto: any free port)",
        ),
        (
            "-td <domain>",
            "TLSDomainName: domain of the TLS certificate",
        ),
        ("-nk", "KeepAlives off: send no CRLF keep-alives"),
        (
            "-op <sip uri>",
            "OutboundProxy: send every request through this proxy",
        ),
        (
            "-l <level>",
            "LogLevel: NONE|CRIT|ERR|WARNING|INFO|DEBUG|STACK",
        ),
        (
            "-<key> <value>",
            "any configuration key, e.g. -httpport 8080 (any case)",
        ),
        ("--<key>=<value>", "the same, in one argument"),
        (
            "--ready-file <path>",
            "once listening, write each bound listener and the pid to this file",
        ),
        (
            "--check-config",
            "load and validate, print the effective settings, exit",
        ),
        ("--version", "print the version and exit"),
        ("-?, --help", "print this help and exit"),
    ];
    for (option, meaning) in lines {
        text.push_str(&format!("  {option:<22} {meaning}\n"));
    }
    text.push_str(
        "\nExit status: 0 clean shutdown (SIGINT/SIGTERM), 1 configuration error,\n\
         2 could not start (a port could not be bound), 3 a component stopped unexpectedly.\n\
         SIGHUP reopens the log file and reloads the translation rules.\n\
         \n\
         See clicktocall(8) and clicktocall.config(5).\n\
         \n\
         Example: clicktocall -a 192.168.1.100 -l DEBUG\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn overrides(list: &[&str]) -> Vec<(String, String, String)> {
        let cmd = parse(&args(list)).expect("parses");
        cmd.overrides
            .into_iter()
            .map(|e| (e.origin.to_string(), e.name, e.value))
            .collect()
    }

    fn ov(arg: &str, key: &str, value: &str) -> (String, String, String) {
        (
            format!("command line {arg}"),
            key.to_owned(),
            value.to_owned(),
        )
    }

    #[test]
    fn original_short_options_map_to_their_keys() {
        assert_eq!(
            overrides(&[
                "-a",
                "127.0.0.1",
                "-d",
                "1.1.1.1,8.8.8.8",
                "-ci",
                "sip:c2c@x",
                "-sp",
                "6060",
                "-tp",
                "6061",
                "-td",
                "example.com",
                "-nk",
                "-op",
                "sip:proxy",
                "-l",
                "DEBUG",
            ]),
            vec![
                ov("-a", "IPAddress", "127.0.0.1"),
                ov("-d", "DNSServers", "1.1.1.1,8.8.8.8"),
                ov("-ci", "ClickToCallIdentity", "sip:c2c@x"),
                ov("-sp", "UDPTCPPort", "6060"),
                ov("-tp", "TLSPort", "6061"),
                ov("-td", "TLSDomainName", "example.com"),
                ov("-nk", "KeepAlives", "0"),
                ov("-op", "OutboundProxy", "sip:proxy"),
                ov("-l", "LogLevel", "DEBUG"),
            ]
        );
    }

    #[test]
    fn any_key_in_any_case_and_long_forms() {
        assert_eq!(
            overrides(&[
                "-httpport",
                "0",
                "--XmlRpcPort",
                "0",
                "--loglevel=stack",
                "-TLSDomain",
                "d"
            ]),
            vec![
                ov("-httpport", "HttpPort", "0"),
                ov("--XmlRpcPort", "XmlRpcPort", "0"),
                ov("--loglevel=stack", "LogLevel", "stack"),
                ov("-TLSDomain", "TLSDomainName", "d"),
            ]
        );
    }

    #[test]
    fn config_file_check_and_actions() {
        let cmd = parse(&args(&["--check-config", "-c", "conf/x.config"])).expect("parses");
        assert_eq!(cmd.action, Invocation::CheckConfig);
        assert_eq!(cmd.config_path, Some(PathBuf::from("conf/x.config")));
        let cmd = parse(&args(&["--config=/etc/c.config"])).expect("parses");
        assert_eq!(cmd.action, Invocation::Run);
        assert_eq!(cmd.config_path, Some(PathBuf::from("/etc/c.config")));
        for help in ["-?", "--help", "/?", "-h"] {
            assert_eq!(
                parse(&args(&[help, "-bogus"])).map(|c| c.action),
                Ok(Invocation::Help),
                "{help}"
            );
        }
        assert_eq!(
            parse(&args(&["--version"])).map(|c| c.action),
            Ok(Invocation::Version)
        );
    }

    #[test]
    fn empty_values_are_allowed() {
        assert_eq!(overrides(&["-a", ""]), vec![ov("-a", "IPAddress", "")]);
    }

    #[test]
    fn errors_name_the_argument() {
        assert_eq!(
            parse(&args(&["-sp"])),
            Err(CliError::MissingValue { arg: "-sp".into() })
        );
        assert_eq!(
            parse(&args(&["-sp", "-nk"])),
            Err(CliError::MissingValue { arg: "-sp".into() })
        );
        assert_eq!(
            parse(&args(&["-bogus", "1"])),
            Err(CliError::UnknownOption {
                arg: "-bogus".into()
            })
        );
        assert_eq!(
            parse(&args(&["stray"])),
            Err(CliError::UnexpectedArgument {
                arg: "stray".into()
            })
        );
        let msg = parse(&args(&["-c"]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("-c"), "{msg}");
    }

    #[test]
    fn help_mentions_every_original_option() {
        let help = help_text();
        for option in [
            "-a ",
            "-d ",
            "-ci ",
            "-sp ",
            "-tp ",
            "-td ",
            "-nk",
            "-op ",
            "-l ",
            "--check-config",
        ] {
            assert!(help.contains(option), "{option} missing from help");
        }
    }
}
