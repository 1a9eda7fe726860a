//! Black-box tests of the command line: the original's options, precedence over the
//! file, errors naming the argument, help and version.

use crate::support::{server::run, tmp::TempDir};

fn setting<'a>(stdout: &'a str, key: &str) -> Option<&'a str> {
    stdout.lines().find_map(|line| {
        let (k, v) = line.split_once(" = ")?;
        (k == key).then_some(v)
    })
}

fn check(dir: &TempDir, args: &[&str]) -> String {
    let mut all = vec!["--check-config"];
    all.extend_from_slice(args);
    let out = run(dir.path(), &all);
    assert_eq!(out.code(), Some(0), "{args:?}: {}", out.stderr);
    out.stdout
}

#[test]
fn original_command_lines_work() {
    let dir = TempDir::new("orig");
    let out = check(&dir, &["-a", "127.0.0.1", "-l", "DEBUG"]);
    assert_eq!(setting(&out, "IPAddress"), Some("127.0.0.1"));
    assert_eq!(setting(&out, "LogLevel"), Some("DEBUG"));
    assert_eq!(
        setting(&out, "ClickToCallIdentity"),
        Some("sip:click2call@127.0.0.1")
    );

    let out = check(&dir, &["-sp", "6060", "-httpport", "0"]);
    assert_eq!(setting(&out, "UDPTCPPort"), Some("6060"));
    assert_eq!(setting(&out, "HttpPort"), Some("0"));

    let out = check(&dir, &["-nk"]);
    assert_eq!(setting(&out, "KeepAlives"), Some("0"));

    let out = check(
        &dir,
        &[
            "-d",
            "127.0.0.1,[::1]:5353",
            "-ci",
            "c2c@example.com",
            "-tp",
            "6061",
            "-td",
            "example.com",
            "-op",
            "sip:proxy.example.com",
        ],
    );
    assert_eq!(setting(&out, "DNSServers"), Some("127.0.0.1:53,[::1]:5353"));
    assert_eq!(
        setting(&out, "ClickToCallIdentity"),
        Some("sip:c2c@example.com")
    );
    assert_eq!(setting(&out, "TLSPort"), Some("6061"));
    assert_eq!(setting(&out, "TLSDomainName"), Some("example.com"));
    assert_eq!(
        setting(&out, "OutboundProxy"),
        Some("sip:proxy.example.com")
    );

    let out = check(&dir, &["-XMLRPCPORT", "7000", "--LogFileMaxLines=10"]);
    assert_eq!(setting(&out, "XmlRpcPort"), Some("7000"));
    assert_eq!(setting(&out, "LogFileMaxLines"), Some("10"));
}

#[test]
fn command_line_overrides_the_file() {
    let dir = TempDir::new("override");
    let path = dir.write(
        "c.config",
        "UDPTCPPort = 5000\nHttpPort = 5555\nKeepAlives = on\nLogLevel = ERR\nXmlRpcPort = 7777\n",
    );
    let path = path.to_str().expect("utf-8");
    let out = check(
        &dir,
        &[
            "-c",
            path,
            "-sp",
            "6060",
            "-httpport",
            "0",
            "-nk",
            "-l",
            "STACK",
        ],
    );
    assert_eq!(setting(&out, "UDPTCPPort"), Some("6060"));
    assert_eq!(setting(&out, "HttpPort"), Some("0"));
    assert_eq!(setting(&out, "KeepAlives"), Some("0"));
    assert_eq!(setting(&out, "LogLevel"), Some("STACK"));
    // Not overridden: the file's value, not the default.
    assert_eq!(setting(&out, "XmlRpcPort"), Some("7777"));
    // Options before -c count the same: the file is always applied first.
    let out = check(&dir, &["-sp", "6061", "-c", path]);
    assert_eq!(setting(&out, "UDPTCPPort"), Some("6061"));
}

#[test]
fn bad_arguments_exit_1_naming_the_argument() {
    let dir = TempDir::new("badargs");
    let cases: [(&[&str], &str); 6] = [
        (&["-sp"], "-sp"),
        (&["-sp", "-nk"], "-sp"),
        (&["-bogus", "1"], "-bogus"),
        (&["stray"], "stray"),
        (&["-sp", "70000"], "-sp"),
        (&["-l", "LOUD"], "-l"),
    ];
    for (args, named) in cases {
        for check_only in [true, false] {
            let mut all: Vec<&str> = args.to_vec();
            if check_only {
                all.push("--check-config");
            }
            let out = run(dir.path(), &all);
            assert_eq!(out.code(), Some(1), "{all:?}: {}", out.stderr);
            assert!(
                out.stderr.contains(named),
                "{all:?}: {named} not named in {}",
                out.stderr
            );
        }
    }
    // The key is named as well as the argument.
    let out = run(dir.path(), &["-sp", "70000"]);
    assert!(out.stderr.contains("UDPTCPPort"), "{}", out.stderr);
}

#[test]
fn help_and_version() {
    let dir = TempDir::new("help");
    for flag in ["-?", "--help"] {
        let out = run(dir.path(), &[flag]);
        assert_eq!(out.code(), Some(0));
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
            assert!(out.stdout.contains(option), "{flag}: {option} missing");
        }
    }
    let out = run(dir.path(), &["--version"]);
    assert_eq!(out.code(), Some(0));
    assert_eq!(
        out.stdout.trim(),
        format!("clicktocall {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn argument_that_is_not_utf8_is_an_error() {
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new("utf8");
    let mut child = std::process::Command::new(crate::support::server::binary())
        .arg(std::ffi::OsStr::from_bytes(b"-a\xff"))
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start clicktocall");
    let status = crate::support::server::wait_bounded(&mut child, crate::support::WAIT);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert_eq!(status.and_then(|s| s.code()), Some(1));
}
