//! The packages, black box, as root (CI runs `make test` as root): `make deb` is installed
//! on this machine with `dpkg -i`, its files, user, conffiles and modes checked, the
//! installed binary run the way the systemd unit runs it (as its user, in its working
//! directory, with its command line) to place one REFER-mode call to a SIPp phone, then
//! purged. `lintian` and `systemd-analyze verify` must have nothing to say; `make rpm`
//! must list the same files; `make install` must honour DESTDIR, PREFIX and SYSCONFDIR.
//! The man pages and README must name every configuration key and option.
//!
//! The tests that build or install packages take one lock (a mutex and a file lock), so
//! they never run at the same time, even from two `cargo test` processes; the installed
//! package is purged by a guard even when a test fails, and a package left by an earlier
//! run is purged first, so the file can be run twice in a row.
//!
//! The installed service is started with `auto` ports and `--ready-file` through the
//! harness (`support::server::Server::start_command`), and called with its SIPp runner
//! and XML client (`tests/support/`).

// One harness for every binary, beside the area folders (tests/support/). Each binary
// compiles all of it and uses the pieces of its area only: what one leaves unused another
// uses. One shared module beats a copy per binary; the allowance is for that alone.
#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread;

use clicktocall::config::{Key, help_text};

use support::{
    CALL_WAIT, ports::unbound_port, server::Server, sipp::Sipp, tmp::TempDir, xml::XmlClient,
};

/// Every file (not directory) the .deb, the .rpm and `make install` put in place, for the
/// package's paths (PREFIX=/usr, SYSCONFDIR=/etc, units in /lib/systemd/system).
const PACKAGE_FILES: &[&str] = &[
    "/etc/clicktocall/clicktocall.config",
    "/etc/logrotate.d/clicktocall",
    "/lib/systemd/system/clicktocall.service",
    "/usr/bin/clicktocall",
    "/usr/share/doc/clicktocall/README.md.gz",
    "/usr/share/doc/clicktocall/changelog.gz",
    "/usr/share/doc/clicktocall/copyright",
    "/usr/share/doc/clicktocall/examples/clicktocall.config",
    "/usr/share/man/man5/clicktocall.config.5.gz",
    "/usr/share/man/man8/clicktocall.8.gz",
];

/// What the package creates for its service user and purge must remove.
const SERVICE_DIRS: &[&str] = &["/var/lib/clicktocall", "/var/log/clicktocall"];

const CONFIG: &str = "/etc/clicktocall/clicktocall.config";
const UNIT: &str = "/lib/systemd/system/clicktocall.service";
const USER: &str = "clicktocall";

#[test]
fn deb_installs_places_a_call_as_the_service_user_and_purges() {
    let _serial = serial();
    let deb = build_deb();

    // lintian: no errors (and, today, no warnings either).
    let lint = command("lintian", &[deb.to_str().expect("utf-8")]);
    let errors: Vec<&str> = lint
        .stdout
        .lines()
        .filter(|l| l.starts_with("E:"))
        .collect();
    assert!(errors.is_empty(), "lintian:\n{}", lint.stdout);

    let mut package = Installed::install(&deb);

    // Files, modes, owners, conffiles, the user.
    let listed = dpkg_listed_files();
    assert_eq!(listed, expected_files(), "dpkg -L clicktocall");
    let user = passwd(USER).expect("postinst made the clicktocall user");
    assert!(user.uid < 1000, "a system user: {user:?}");
    assert_eq!(user.home, "/var/lib/clicktocall");
    assert!(user.shell.ends_with("nologin"), "{user:?}");
    assert_eq!(mode_owner("/usr/bin/clicktocall"), (0o755, 0, 0));
    assert_eq!(
        mode_owner(CONFIG),
        (0o640, 0, user.gid),
        "{CONFIG} holds passwords"
    );
    for dir in SERVICE_DIRS {
        assert_eq!(mode_owner(dir), (0o750, user.uid, user.gid), "{dir}");
    }
    let sections = command("readelf", &["-S", "--wide", "/usr/bin/clicktocall"]).stdout;
    assert!(
        !sections.contains(".debug_info"),
        "not stripped:\n{sections}"
    );
    let conffiles = command("dpkg-query", &["-W", "-f=${Conffiles}", "clicktocall"]).stdout;
    for conffile in [CONFIG, "/etc/logrotate.d/clicktocall"] {
        assert!(
            conffiles.contains(conffile),
            "{conffile} not a conffile:\n{conffiles}"
        );
    }
    let verify = command("systemd-analyze", &["verify", UNIT]);
    assert!(
        verify.stderr.trim().is_empty() && verify.stdout.trim().is_empty(),
        "systemd-analyze verify:\n{}{}",
        verify.stdout,
        verify.stderr
    );
    let check = command("/usr/bin/clicktocall", &["--check-config", "-c", CONFIG]);
    assert!(
        check
            .stdout
            .contains("LogFilename = /var/log/clicktocall/clicktocall.log")
    );

    // The operator's edit (`auto` loopback ports) survives an upgrade (a reinstall here).
    let unit = Unit::read(UNIT);
    assert!(
        !fs::read_to_string(CONFIG)
            .expect("read config")
            .contains(PORTS_MARKER),
        "the shipped configuration already has the test's edit"
    );
    edit_config();
    package.install_again();
    assert!(
        fs::read_to_string(CONFIG)
            .expect("read config")
            .contains(PORTS_MARKER),
        "the edited conffile was replaced"
    );
    assert_eq!(
        mode_owner(CONFIG),
        (0o640, 0, user.gid),
        "after the upgrade"
    );

    // The service, as its unit starts it; it reports the ports it bound.
    let dir = TempDir::new("deb-call");
    let mut server = start_service(&unit, &dir);

    // One REFER-mode call through the shipped translation rules (SIP URIs unchanged).
    let dest = unbound_port();
    let mut phone = Sipp::uas(
        dir.path(),
        "initiator_refer_ok.xml",
        &[
            ("SERVER_PORT", server.sip_port.to_string()),
            ("DEST_PORT", dest.to_string()),
        ],
    );
    let got = XmlClient::connect(server.xml_port).call(
        &format!("sip:100@127.0.0.1:{}", phone.port),
        &format!("sip:200@127.0.0.1:{dest}"),
        false,
        CALL_WAIT,
    );
    assert_eq!(
        got.last().map(|e| (e.code, e.leg.as_str())),
        Some((200, "Destination")),
        "{got:?}"
    );
    phone.expect_pass();
    server.stop_cleanly();
    let _ = fs::remove_file(SERVICE_READY);
    let log = "/var/log/clicktocall/clicktocall.log";
    assert_eq!(
        mode_owner(log).1,
        user.uid,
        "{log} written by the service user"
    );
    assert!(
        fs::read_to_string(log)
            .unwrap_or_default()
            .contains("clicktocall started")
    );

    // Purge: the package's files, the configuration, logs and state, the overrides.
    package.purge();
    for path in PACKAGE_FILES
        .iter()
        .chain(SERVICE_DIRS)
        .chain(&["/etc/clicktocall"])
    {
        assert!(!Path::new(path).exists(), "{path} left after purge");
    }
    let overrides = command("dpkg-statoverride", &["--list"]).stdout;
    assert!(!overrides.contains("clicktocall"), "{overrides}");
}

#[test]
fn rpm_lists_the_same_files_as_the_deb_with_the_same_modes() {
    let _serial = serial();
    let deb = build_deb();
    make(&["rpm"]);
    let rpm = target_dir().join(format!("clicktocall-{}-1.{}.rpm", version(), machine()));
    let rpm = rpm.to_str().expect("utf-8").to_owned();

    let contents = command("dpkg-deb", &["-c", deb.to_str().expect("utf-8")]).stdout;
    let (mut deb_files, mut deb_dirs) = (BTreeSet::new(), BTreeSet::new());
    for line in contents.lines() {
        let path = line
            .split_whitespace()
            .last()
            .expect("path")
            .trim_start_matches('.');
        if line.starts_with('d') {
            deb_dirs.insert(path.trim_end_matches('/').to_owned());
        } else {
            deb_files.insert(path.to_owned());
        }
    }
    assert_eq!(deb_files, expected_files(), "dpkg-deb -c");

    // path, mode, user, group, flags (c = %config, n = noreplace).
    let query =
        "[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\\n]";
    let listing = command("rpm", &["-qp", "--qf", query, &rpm]).stdout;
    let mut rpm_files = BTreeSet::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (perms, owner, group, path) =
            (fields[0], fields[1], fields[2], fields[fields.len() - 1]);
        let flags = if fields.len() == 5 { fields[3] } else { "" };
        if perms.starts_with('d') {
            assert!(
                deb_dirs.contains(path),
                "{path}: a directory of the rpm only"
            );
        } else {
            rpm_files.insert(path.to_owned());
        }
        match path {
            CONFIG => {
                assert_eq!((perms, owner, group), ("-rw-r-----", "root", USER));
                assert!(flags.contains('c') && flags.contains('n'), "{line}");
            }
            "/etc/logrotate.d/clicktocall" => assert!(flags.contains('n'), "{line}"),
            "/var/lib/clicktocall" | "/var/log/clicktocall" => {
                assert_eq!((perms, owner, group), ("drwxr-x---", USER, USER), "{line}");
            }
            _ => assert_eq!(owner, "root", "{line}"),
        }
    }
    assert_eq!(rpm_files, deb_files, "rpm -qlp against dpkg -c");
    let names = command("rpm", &["-qlp", &rpm]).stdout;
    for path in PACKAGE_FILES.iter().chain(SERVICE_DIRS) {
        assert!(names.lines().any(|l| l == *path), "rpm -qlp lacks {path}");
    }
}

#[test]
fn make_install_honours_destdir_prefix_and_sysconfdir_and_uninstall_keeps_the_config() {
    let _serial = serial();
    release_build();
    let dir = TempDir::new("install");
    let destdir = dir.path().join("root");
    let vars = [
        format!("DESTDIR={}", destdir.display()),
        "PREFIX=/opt/c2c".to_owned(),
        "SYSCONFDIR=/opt/c2c/etc".to_owned(),
    ];
    let vars: Vec<&str> = vars.iter().map(String::as_str).collect();
    make(&[&["install"], &vars[..]].concat());
    let root = |p: &str| destdir.join(p.trim_start_matches('/'));
    let unit = fs::read_to_string(root("/opt/c2c/lib/systemd/system/clicktocall.service"))
        .expect("unit under PREFIX");
    assert!(
        unit.contains(
            "\nExecStart=/opt/c2c/bin/clicktocall -c /opt/c2c/etc/clicktocall/clicktocall.config\n"
        ),
        "{unit}"
    );
    let config = root("/opt/c2c/etc/clicktocall/clicktocall.config");
    assert_eq!(mode_owner(config.to_str().expect("utf-8")).0, 0o640);
    for path in [
        "/opt/c2c/bin/clicktocall",
        "/opt/c2c/etc/logrotate.d/clicktocall",
        "/opt/c2c/share/man/man8/clicktocall.8.gz",
        "/opt/c2c/share/man/man5/clicktocall.config.5.gz",
        "/opt/c2c/share/doc/clicktocall/copyright",
    ] {
        assert!(root(path).is_file(), "{path} not installed");
    }

    // A second install keeps the operator's configuration; uninstall keeps it too.
    fs::write(&config, "# the operator's\n").expect("edit");
    make(&[&["install"], &vars[..]].concat());
    assert_eq!(
        fs::read_to_string(&config).expect("read"),
        "# the operator's\n"
    );
    make(&[&["uninstall"], &vars[..]].concat());
    assert!(!root("/opt/c2c/bin/clicktocall").exists());
    assert!(!root("/opt/c2c/lib/systemd/system/clicktocall.service").exists());
    assert!(!root("/opt/c2c/share/doc/clicktocall").exists());
    assert!(config.exists(), "uninstall removed the configuration");

    // With the package's paths, the same files as the packages.
    let pkg = dir.path().join("pkg");
    let destdir = format!("DESTDIR={}", pkg.display());
    make(&[
        "install-files",
        &destdir,
        "PREFIX=/usr",
        "SYSCONFDIR=/etc",
        "UNITDIR=/lib/systemd/system",
    ]);
    let mut installed = BTreeSet::new();
    collect_files(&pkg, &pkg, &mut installed);
    assert_eq!(installed, expected_files());
}

#[test]
fn man_pages_and_readme_name_every_key_with_its_default_and_every_option() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let man5 = plain_roff(&read("man/clicktocall.config.5"));
    let man8 = plain_roff(&read("man/clicktocall.8"));
    let readme = read("README.md");
    let shipped = read("conf/clicktocall.config");
    for key in Key::ALL {
        let name = key.name();
        // README: the table row `| `Key` ... | default | accepted | meaning |`.
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}`")))
            .unwrap_or_else(|| panic!("README has no table row for {name}"));
        let default = row
            .split('|')
            .nth(2)
            .expect("default column")
            .trim()
            .replace('`', "");
        // The man page: the key's entry, then "Default: <the same>."
        let entry = man5
            .split("\n.TP\n")
            .find(|e| {
                e.lines()
                    .next()
                    .is_some_and(|l| l.split_whitespace().nth(1) == Some(name))
            })
            .unwrap_or_else(|| panic!("clicktocall.config(5) has no entry for {name}"));
        assert!(
            entry.contains(&format!("Default: {default}.")),
            "{name}: README says default {default:?}; clicktocall.config(5) says:\n{entry}"
        );
        assert!(
            shipped.lines().any(|l| l.starts_with(&format!("{name} ="))),
            "conf/clicktocall.config does not set {name}"
        );
        if is_short_option_key(key) {
            assert!(man8.contains(name), "clicktocall(8) does not name {name}");
        }
    }
    // Every option of --help, in clicktocall(8) and README.
    for line in help_text().lines().filter(|l| l.starts_with("  -")) {
        let column = line.trim().split("  ").next().expect("option column");
        for option in column.split(", ") {
            let flag = option.split_whitespace().next().expect("flag");
            if flag.contains('<') {
                continue;
            }
            assert!(
                man8.split_whitespace()
                    .any(|w| w.trim_matches(|c| ",.;".contains(c)) == flag),
                "clicktocall(8) does not name {flag}"
            );
            assert!(
                readme.contains(&format!("`{flag}")),
                "README does not name {flag}"
            );
        }
    }
    for signal in ["SIGHUP", "SIGTERM", "SIGINT"] {
        assert!(man8.contains(signal) && readme.contains(signal), "{signal}");
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// Keys that have a short option of the original (`-a`, `-sp`, …): named in the page.
fn is_short_option_key(key: Key) -> bool {
    matches!(
        key,
        Key::IpAddress
            | Key::DnsServers
            | Key::ClickToCallIdentity
            | Key::UdpTcpPort
            | Key::TlsPort
            | Key::TlsDomainName
            | Key::KeepAlives
            | Key::OutboundProxy
            | Key::LogLevel
    )
}

/// Roff source with font escapes and `\-` undone, enough to search for words.
fn plain_roff(text: &str) -> String {
    text.replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\fP", "")
        .replace("\\(en", "-")
        .replace('"', " ")
}

fn expected_files() -> BTreeSet<String> {
    PACKAGE_FILES.iter().map(|p| (*p).to_owned()).collect()
}

fn collect_files(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).expect("read dir").filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            collect_files(root, &path, out);
        } else {
            let relative = path.strip_prefix(root).expect("under root");
            out.insert(format!("/{}", relative.display()));
        }
    }
}

/// Holds the packaging lock: one test at a time in this process and across processes.
struct Serial {
    _in_process: MutexGuard<'static, ()>,
    _file: fs::File,
}

fn serial() -> Serial {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let file = fs::File::create(target_dir().join("packaging-test.lock")).expect("lock file");
    // SAFETY: flock(2) on a descriptor this function owns; released when it is closed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock");
    assert_eq!(
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() },
        0,
        "the packaging tests install packages: run them as root (CI does)"
    );
    Serial {
        _in_process: guard,
        _file: file,
    }
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .to_path_buf()
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn machine() -> String {
    command("uname", &["-m"]).stdout.trim().to_owned()
}

/// The release binary the packages hold, up to date (a no-op after `make test`'s build).
fn release_build() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let out = Command::new(cargo)
            .args(["build", "--release", "--bin", "clicktocall"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("CARGO_TARGET_DIR", target_dir())
            .stdin(Stdio::null())
            .output()
            .expect("run cargo");
        assert!(
            out.status.success(),
            "cargo build --release:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

fn build_deb() -> PathBuf {
    release_build();
    make(&["deb"]);
    let arch = command("dpkg", &["--print-architecture"])
        .stdout
        .trim()
        .to_owned();
    let deb = target_dir().join(format!("clicktocall_{}_{arch}.deb", version()));
    assert!(deb.is_file(), "{} not built", deb.display());
    deb
}

fn make(args: &[&str]) {
    let out = Command::new("make")
        .arg("--no-print-directory")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir())
        .stdin(Stdio::null())
        .output()
        .expect("run make");
    assert!(
        out.status.success(),
        "make {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Run {
    stdout: String,
    stderr: String,
}

/// Runs a command that must succeed.
fn command(program: &str, args: &[&str]) -> Run {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"))
}

fn mode_owner(path: &str) -> (u32, u32, u32) {
    let meta = fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    (meta.permissions().mode() & 0o7777, meta.uid(), meta.gid())
}

#[derive(Debug)]
struct Passwd {
    uid: u32,
    gid: u32,
    home: String,
    shell: String,
}

fn passwd(user: &str) -> Option<Passwd> {
    let out = run("getent", &["passwd", user]);
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let fields: Vec<&str> = line.split(':').collect();
    (out.status.success() && fields.len() == 7).then(|| Passwd {
        uid: fields[2].parse().expect("uid"),
        gid: fields[3].parse().expect("gid"),
        home: fields[5].to_owned(),
        shell: fields[6].to_owned(),
    })
}

fn dpkg_listed_files() -> BTreeSet<String> {
    command("dpkg", &["-L", "clicktocall"])
        .stdout
        .lines()
        .filter(|l| Path::new(l).is_file())
        .map(str::to_owned)
        .collect()
}

/// The installed package; purged on drop (also when the test fails).
struct Installed {
    deb: PathBuf,
    purged: bool,
}

impl Installed {
    fn install(deb: &Path) -> Installed {
        // A package left by an earlier, interrupted run goes first.
        purge_package();
        let package = Installed {
            deb: deb.to_path_buf(),
            purged: false,
        };
        package.install_again();
        package
    }

    fn install_again(&self) {
        command("dpkg", &["-i", self.deb.to_str().expect("utf-8")]);
    }

    fn purge(&mut self) {
        self.purged = true;
        purge_package();
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if !self.purged {
            purge_package();
        }
    }
}

fn purge_package() {
    let out = run("dpkg", &["--purge", "clicktocall"]);
    assert!(
        out.status.success() || thread::panicking(),
        "dpkg --purge: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The line of the test's configuration edit that shows it survived an upgrade.
const PORTS_MARKER: &str = "UDPTCPPort = auto";

/// Where the service writes its `--ready-file`: its own state directory (the service
/// user must be able to create it there).
const SERVICE_READY: &str = "/var/lib/clicktocall/ready-test";

/// The operator's edit of the installed configuration: `auto` loopback ports (reported in
/// the ready file), no TLS, HTTP off. Everything else stays as shipped (identity,
/// translation rules, log file).
fn edit_config() {
    let text = fs::read_to_string(CONFIG).expect("read config");
    let edited: Vec<String> = text
        .lines()
        .map(|line| {
            let key = line.split('=').next().unwrap_or_default().trim();
            match key {
                "UDPTCPPort" => PORTS_MARKER.to_owned(),
                "TLSPort" => "TLSPort = 0".to_owned(),
                "XmlRpcPort" => "XmlRpcPort = auto".to_owned(),
                "HttpPort" => "HttpPort = 0".to_owned(),
                _ => line.to_owned(),
            }
        })
        .collect();
    fs::write(CONFIG, edited.join("\n") + "\n").expect("edit config");
}

/// What the installed unit says about how to run the service.
struct Unit {
    user: String,
    working_directory: String,
    exec_start: Vec<String>,
}

impl Unit {
    fn read(path: &str) -> Unit {
        let text = fs::read_to_string(path).expect("read unit");
        let value = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("{path} has no {key}="))
                .to_owned()
        };
        Unit {
            user: value("User"),
            working_directory: value("WorkingDirectory"),
            exec_start: value("ExecStart")
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// The installed binary run as its unit runs it: the unit's user and group (setpriv execs
/// the binary, so the child's pid is the server's), working directory and command line
/// (plus `--ready-file`, which the harness adds), with a clean environment. Its console
/// output goes to `dir`; stopped by the harness (SIGTERM, by PID) on drop.
fn start_service(unit: &Unit, dir: &TempDir) -> Server {
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={}", unit.user))
        .arg(format!("--regid={}", unit.user))
        .arg("--init-groups")
        .arg("--")
        .args(&unit.exec_start)
        .current_dir(&unit.working_directory)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    Server::start_command(
        cmd,
        Path::new(SERVICE_READY),
        dir.path(),
        Path::new("/var/log/clicktocall/clicktocall.log"),
    )
}
