//! Logging: `log` records formatted by simplelog, to the log file (rotated by line count)
//! and to the console; or, for a service, to standard error or syslog alone.
//!
//! - The file gets every record at or above LogLevel.
//! - The console (stderr) gets WARNING and above, plus INFO records of the server's own
//!   start-up and shutdown lines (target [`CONSOLE_TARGET`]), like the original, which
//!   printed its own progress and left the SIP stack's chatter to the file.
//! - `LogFilename = -` (or `stderr`, `/dev/stderr`): every record at or above LogLevel goes
//!   to standard error, nothing else; no rotation and no line counting. When standard error
//!   is the journal (`JOURNAL_STREAM` names it, see systemd.exec(5)) each line starts with
//!   its syslog priority (`<3>` … `<7>`, sd-daemon(3)) and carries no time stamp of ours:
//!   journald adds its own and keeps the level.
//! - `LogFilename = syslog`: every record goes to the local syslog socket `/dev/log`
//!   (facility daemon).
//!
//! [`reopen`] (SIGHUP) closes and reopens the log file, for logrotate's `postrotate`.
//!
//! Every part logs with a target naming its layer (`sip::transport`, `sip::transaction`,
//! `c2c`, `api::http`, …) so a line says where it comes from.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, IsTerminal, LineWriter, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use log::{Level, LevelFilter, Log, Metadata, Record};
use simplelog::{
    ColorChoice, CombinedLogger, ConfigBuilder, SharedLogger, TermLogger, TerminalMode,
    ThreadLogMode, WriteLogger,
};

use crate::config::Config;

/// Target of the server's own lines that also go to the console at INFO.
pub const CONSOLE_TARGET: &str = "server";

/// How many rotated files are kept: `<LogFilename>.1` (newest) to `.5` (oldest).
pub const ROTATED_FILES_KEPT: usize = 5;

/// Longest line kept in the rotating writer's buffer before it is written out anyway:
/// bounds memory if something logs a huge record.
const MAX_PENDING_LINE: usize = 64 * 1024;

/// The local syslog socket for `LogFilename = syslog`.
pub const SYSLOG_SOCKET: &str = "/dev/log";

/// Where the log goes, as `LogFilename` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A file, rotated by line count, plus the console policy on stderr.
    File(PathBuf),
    /// `-`, `stderr` or `/dev/stderr`: standard error only.
    Stderr,
    /// `syslog`: the local syslog socket.
    Syslog,
}

impl Destination {
    pub fn of(log_filename: &Path) -> Destination {
        match log_filename.to_str() {
            Some("-" | "stderr" | "/dev/stderr") => Destination::Stderr,
            Some("syslog") => Destination::Syslog,
            _ => Destination::File(log_filename.to_path_buf()),
        }
    }
}

#[derive(Debug)]
pub enum LoggingError {
    /// The log file could not be opened.
    Open { path: PathBuf, source: io::Error },
    /// A logger was already installed (init called twice).
    AlreadyInitialised,
    /// The call detail record file (`CdrFilename`) could not be opened.
    CdrOpen { path: PathBuf, source: io::Error },
}

impl fmt::Display for LoggingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoggingError::Open { path, source } => {
                write!(f, "cannot open log file {}: {source}", path.display())
            }
            LoggingError::AlreadyInitialised => f.write_str("logging is already initialised"),
            LoggingError::CdrOpen { path, source } => {
                write!(
                    f,
                    "cannot open call detail record file {}: {source}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for LoggingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoggingError::Open { source, .. } | LoggingError::CdrOpen { source, .. } => {
                Some(source)
            }
            LoggingError::AlreadyInitialised => None,
        }
    }
}

/// The open log file, for [`reopen`]; set by [`init`] in file mode.
static LOG_FILE: OnceLock<Arc<Mutex<RotatingFile>>> = OnceLock::new();

/// Installs the process-wide logger for `config`. Call once, from the main thread,
/// before other threads start (simplelog reads the local time offset here, which is only
/// reliable while the process has one thread).
pub fn init(config: &Config) -> Result<(), LoggingError> {
    let level = config.log_level.level_filter();
    let path = match Destination::of(&config.log_filename) {
        Destination::File(path) => path,
        Destination::Stderr if journal_is_stderr() => {
            return install(PriorityLogger {
                level,
                sink: Sink::Journal,
            });
        }
        Destination::Stderr => {
            let writer = LineWriter::new(io::stderr());
            return CombinedLogger::init(vec![WriteLogger::new(level, time_format(), writer)])
                .map_err(|_| LoggingError::AlreadyInitialised);
        }
        Destination::Syslog => {
            let socket = syslog_socket().map_err(|source| LoggingError::Open {
                path: PathBuf::from(SYSLOG_SOCKET),
                source,
            })?;
            return install(PriorityLogger {
                level,
                sink: Sink::Syslog(Mutex::new(socket)),
            });
        }
    };
    let file = RotatingFile::open(&path, config.log_file_max_lines, ROTATED_FILES_KEPT).map_err(
        |source| LoggingError::Open {
            path: path.clone(),
            source,
        },
    )?;
    let file = Arc::new(Mutex::new(file));
    let _ = LOG_FILE.set(Arc::clone(&file));

    let format = time_format();
    // Colours only on a terminal: termcolor's Auto looks at TERM alone, and escape codes
    // in a journal or a redirected file are noise.
    let colours = if io::stderr().is_terminal() {
        ColorChoice::Auto
    } else {
        ColorChoice::Never
    };
    let console = ConsoleFilter {
        inner: TermLogger::new(level, format.clone(), TerminalMode::Stderr, colours),
        level,
    };
    let loggers: Vec<Box<dyn SharedLogger>> = vec![
        Box::new(console),
        WriteLogger::new(level, format, SharedFile(file)),
    ];
    CombinedLogger::init(loggers).map_err(|_| LoggingError::AlreadyInitialised)
}

/// Checks, for `--check-config`, that the log destination can be opened, without
/// writing to it: an existing file is opened for appending, a missing one is created and
/// removed again.
pub fn check(config: &Config) -> Result<(), LoggingError> {
    let open_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LoggingError::Open { path, source }
    };
    match Destination::of(&config.log_filename) {
        Destination::Stderr => Ok(()),
        Destination::Syslog => syslog_socket()
            .map(drop)
            .map_err(open_error(Path::new(SYSLOG_SOCKET))),
        Destination::File(path) => check_file(&path).map_err(open_error(&path)),
    }
}

/// Checks, for `--check-config`, that the call detail record file (`CdrFilename`), when
/// there is one, can be opened, as [`check`] does for the log.
pub fn check_cdr(config: &Config) -> Result<(), LoggingError> {
    match &config.cdr_filename {
        Some(path) => check_file(path).map_err(|source| LoggingError::CdrOpen {
            path: path.clone(),
            source,
        }),
        None => Ok(()),
    }
}

/// Opens `path` for appending without writing to it; a file the check created is removed
/// again.
fn check_file(path: &Path) -> io::Result<()> {
    let existed = path.exists();
    OpenOptions::new()
        .create(true)
        .append(true)
        // A FIFO without a reader must not block the check.
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !existed {
        let _ = fs::remove_file(path);
    }
    Ok(())
}

/// Closes the log file and opens it again by name (after logrotate renamed it), counting
/// the lines of whatever file is there now. `Ok(false)` when the log is not a file.
pub fn reopen() -> io::Result<bool> {
    match LOG_FILE.get() {
        Some(file) => {
            let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
            file.reopen().map(|()| true)
        }
        None => Ok(false),
    }
}

fn install(logger: PriorityLogger) -> Result<(), LoggingError> {
    let level = logger.level;
    log::set_boxed_logger(Box::new(logger)).map_err(|_| LoggingError::AlreadyInitialised)?;
    log::set_max_level(level);
    Ok(())
}

fn time_format() -> simplelog::Config {
    let mut builder = ConfigBuilder::new();
    builder
        .set_time_format_rfc3339()
        .set_target_level(LevelFilter::Error)
        .set_thread_level(LevelFilter::Error)
        .set_thread_mode(ThreadLogMode::Names)
        .set_location_level(LevelFilter::Off);
    // Local time when the offset can be determined, else UTC (the format says which).
    let _ = builder.set_time_offset_to_local();
    builder.build()
}

/// systemd.exec(5): `JOURNAL_STREAM` is `<device>:<inode>` of the stream journald gave the
/// service; it counts only while standard error is still that stream (not redirected).
fn journal_is_stderr() -> bool {
    let Ok(expected) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(fd) = io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(meta) = File::from(fd).metadata() else {
        return false;
    };
    expected == format!("{}:{}", meta.dev(), meta.ino())
}

fn syslog_socket() -> io::Result<UnixDatagram> {
    let socket = UnixDatagram::unbound()?;
    socket.connect(SYSLOG_SOCKET)?;
    Ok(socket)
}

/// RFC 5424 §6.2.1 severities, as journald and syslog read them: the server's own
/// start-up and shutdown lines are notices (5), other INFO lines informational (6).
pub fn priority(level: Level, target: &str) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info if target == CONSOLE_TARGET => 5,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// RFC 5424 §6.2.1: facility 3, system daemons.
const FACILITY_DAEMON: u8 = 3;

/// Records to the journal (stderr) or syslog, each prefixed with its priority.
struct PriorityLogger {
    level: LevelFilter,
    sink: Sink,
}

enum Sink {
    /// `<p>target: message`, one write per record (sd-daemon(3) prefixes).
    Journal,
    /// `<facility*8+p>clicktocall[pid]: target: message`, one datagram per record.
    Syslog(Mutex<UnixDatagram>),
}

impl Log for PriorityLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let severity = priority(record.level(), record.target());
        match &self.sink {
            Sink::Journal => {
                let line = format!("<{severity}>{}: {}\n", record.target(), record.args());
                // Nothing better to do with a failed write to stderr than to drop it.
                let _ = io::stderr().lock().write_all(line.as_bytes());
            }
            Sink::Syslog(socket) => {
                let datagram = format!(
                    "<{}>clicktocall[{}]: {}: {}",
                    FACILITY_DAEMON * 8 + severity,
                    std::process::id(),
                    record.target(),
                    record.args()
                );
                let socket = socket.lock().unwrap_or_else(PoisonError::into_inner);
                if socket.send(datagram.as_bytes()).is_err() {
                    // syslog restarted: connect again once, else drop the record.
                    let _ = socket
                        .connect(SYSLOG_SOCKET)
                        .and_then(|()| socket.send(datagram.as_bytes()));
                }
            }
        }
    }

    fn flush(&self) {}
}

/// The rotating file shared between its logger and [`reopen`].
struct SharedFile(Arc<Mutex<RotatingFile>>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

/// Console policy: warnings and errors from everyone, INFO only from [`CONSOLE_TARGET`]
/// (and never beyond LogLevel).
struct ConsoleFilter {
    inner: Box<TermLogger>,
    level: LevelFilter,
}

impl ConsoleFilter {
    fn wants(level: LevelFilter, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= level
            && (metadata.level() <= log::Level::Warn
                || (metadata.level() <= log::Level::Info && metadata.target() == CONSOLE_TARGET))
    }
}

impl Log for ConsoleFilter {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        Self::wants(self.level, metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            self.inner.log(record);
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

impl SharedLogger for ConsoleFilter {
    fn level(&self) -> LevelFilter {
        self.level.min(LevelFilter::Info)
    }

    fn config(&self) -> Option<&simplelog::Config> {
        self.inner.config()
    }

    fn as_log(self: Box<Self>) -> Box<dyn Log> {
        self
    }
}

/// A log file that is rotated after a number of lines: the full file becomes
/// `<path>.1`, `.1` becomes `.2`, and so on up to `.<keep>`, whose old content is dropped.
///
/// Bytes are gathered until a newline and each whole line is written with one call, so a
/// reader of the file never sees half a line and a rotation never splits one.
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    /// 0: never rotate.
    max_lines: u64,
    keep: usize,
    lines: u64,
    pending: Vec<u8>,
}

impl RotatingFile {
    /// Opens `path` for appending (a restart continues the current file, counting the lines
    /// it already has).
    ///
    /// A path that is not a regular file (a FIFO, `/dev/null`, a terminal) is written to
    /// as it is: its lines are not counted (reading a pipe would block) and it is never
    /// rotated.
    pub fn open(path: &Path, max_lines: u64, keep: usize) -> io::Result<RotatingFile> {
        let (file, lines, regular) = open_counting(path)?;
        let mut rotating = RotatingFile {
            path: path.to_path_buf(),
            file,
            max_lines: if regular { max_lines } else { 0 },
            keep,
            lines,
            pending: Vec::new(),
        };
        if rotating.max_lines > 0 && rotating.lines >= rotating.max_lines {
            rotating.rotate()?;
        }
        Ok(rotating)
    }

    /// Writes out what is pending, then opens the path again: after logrotate renamed
    /// the file, a new one is started; otherwise the same file goes on. On error the old
    /// file is kept.
    pub fn reopen(&mut self) -> io::Result<()> {
        self.flush()?;
        let (file, lines, _) = open_counting(&self.path)?;
        self.file = file;
        self.lines = lines;
        if self.max_lines > 0 && self.lines >= self.max_lines {
            self.rotate()?;
        }
        Ok(())
    }

    /// Lines in the current file: 0 for a new one (also just after a rotation).
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// `fdatasync(2)` of the current file (the call detail records' group commit).
    pub fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn rotated_name(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Shifts `.1`…`.keep-1` up by one, renames the current file to `.1` and starts a new
    /// one. With `keep == 0` the full file is simply started again.
    fn rotate(&mut self) -> io::Result<()> {
        if self.keep == 0 {
            self.file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&self.path)?;
        } else {
            // What the full file holds reaches the disk before it is set aside: a writer
            // that syncs the current file (the call detail records) loses nothing to a
            // rotation between two syncs.
            self.file.sync_data()?;
            for n in (1..self.keep).rev() {
                let from = self.rotated_name(n);
                if from.exists() {
                    fs::rename(&from, self.rotated_name(n + 1))?;
                }
            }
            fs::rename(&self.path, self.rotated_name(1))?;
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
        }
        self.lines = 0;
        Ok(())
    }

    fn write_pending(&mut self, complete_line: bool) -> io::Result<()> {
        // A line the file refused (a full disk) is dropped, not kept: kept, it would be
        // joined by every later line and grow without bound while the error lasts.
        let written = self.file.write_all(&self.pending);
        self.pending.clear();
        written?;
        if complete_line {
            self.lines += 1;
            if self.max_lines > 0 && self.lines >= self.max_lines {
                self.rotate()?;
            }
        }
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(pos + 1);
            self.pending.extend_from_slice(line);
            self.write_pending(true)?;
            rest = after;
        }
        self.pending.extend_from_slice(rest);
        if self.pending.len() > MAX_PENDING_LINE {
            self.write_pending(false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.write_pending(false)?;
        }
        self.file.flush()
    }
}

/// Opens `path` for appending; returns the file, the lines it has and whether it is a
/// regular file (only those are counted).
fn open_counting(path: &Path) -> io::Result<(File, u64, bool)> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let regular = file.metadata()?.is_file();
    let lines = if regular {
        count_lines(File::open(path)?)?
    } else {
        0
    };
    Ok((file, lines, regular))
}

fn count_lines(file: File) -> io::Result<u64> {
    let mut reader = BufReader::new(file);
    let mut count = 0u64;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(count);
        }
        count += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let len = buf.len();
        reader.consume(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("c2c-logging-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create temp dir");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn rotates_after_max_lines_and_keeps_a_fixed_number() {
        let dir = TempDir::new("rotate");
        let path = dir.0.join("c2c.log");
        let mut file = RotatingFile::open(&path, 3, 2).expect("open");
        for i in 1..=10 {
            // Written in pieces, as simplelog does (time, level, target, message).
            write!(file, "line ").expect("write");
            writeln!(file, "{i}").expect("write");
        }
        file.flush().expect("flush");
        assert_eq!(read(&path), "line 10\n");
        assert_eq!(read(&dir.0.join("c2c.log.1")), "line 7\nline 8\nline 9\n");
        assert_eq!(read(&dir.0.join("c2c.log.2")), "line 4\nline 5\nline 6\n");
        // keep = 2: the oldest lines (1-3) are gone.
        assert!(!dir.0.join("c2c.log.3").exists());
    }

    #[test]
    fn several_lines_in_one_write_are_counted_each() {
        let dir = TempDir::new("multi");
        let path = dir.0.join("c2c.log");
        let mut file = RotatingFile::open(&path, 2, 5).expect("open");
        file.write_all(b"a\nb\nc\nd").expect("write");
        file.flush().expect("flush");
        assert_eq!(read(&dir.0.join("c2c.log.1")), "a\nb\n");
        assert_eq!(read(&path), "c\nd");
    }

    #[test]
    fn reopening_counts_existing_lines() {
        let dir = TempDir::new("reopen");
        let path = dir.0.join("c2c.log");
        fs::write(&path, "old 1\nold 2\n").expect("seed");
        let mut file = RotatingFile::open(&path, 3, 5).expect("open");
        writeln!(file, "new 1").expect("write");
        writeln!(file, "new 2").expect("write");
        assert_eq!(read(&dir.0.join("c2c.log.1")), "old 1\nold 2\nnew 1\n");
        assert_eq!(read(&path), "new 2\n");
    }

    #[test]
    fn full_file_at_open_is_rotated_first() {
        let dir = TempDir::new("full");
        let path = dir.0.join("c2c.log");
        fs::write(&path, "1\n2\n").expect("seed");
        let mut file = RotatingFile::open(&path, 2, 5).expect("open");
        writeln!(file, "3").expect("write");
        assert_eq!(read(&dir.0.join("c2c.log.1")), "1\n2\n");
        assert_eq!(read(&path), "3\n");
    }

    #[test]
    fn zero_max_lines_never_rotates() {
        let dir = TempDir::new("never");
        let path = dir.0.join("c2c.log");
        let mut file = RotatingFile::open(&path, 0, 5).expect("open");
        for i in 0..100 {
            writeln!(file, "{i}").expect("write");
        }
        assert_eq!(read(&path).lines().count(), 100);
        assert!(!dir.0.join("c2c.log.1").exists());
    }

    #[test]
    fn open_failure_is_reported() {
        let err = RotatingFile::open(Path::new("/nonexistent-dir/c2c.log"), 10, 5).err();
        assert!(err.is_some());
    }

    #[test]
    fn reopen_starts_a_new_file_after_a_rename() {
        let dir = TempDir::new("reopen-renamed");
        let path = dir.0.join("c2c.log");
        let mut file = RotatingFile::open(&path, 3, 5).expect("open");
        writeln!(file, "before").expect("write");
        fs::rename(&path, dir.0.join("c2c.log.old")).expect("rename");
        writeln!(file, "still old").expect("write");
        file.reopen().expect("reopen");
        writeln!(file, "after").expect("write");
        file.flush().expect("flush");
        assert_eq!(read(&dir.0.join("c2c.log.old")), "before\nstill old\n");
        assert_eq!(read(&path), "after\n");
    }

    #[test]
    fn a_non_regular_file_is_neither_counted_nor_rotated() {
        let mut file = RotatingFile::open(Path::new("/dev/null"), 1, 5).expect("open");
        for _ in 0..3 {
            writeln!(file, "x").expect("write");
        }
        assert_eq!(file.max_lines, 0);
    }

    #[test]
    fn a_line_the_disk_refuses_is_dropped_not_kept_to_grow() {
        let mut file = RotatingFile::open(Path::new("/dev/full"), 0, 5).expect("open");
        for _ in 0..3 {
            assert!(writeln!(file, "{}", "x".repeat(1000)).is_err());
        }
        assert!(file.pending.is_empty(), "{} bytes kept", file.pending.len());
    }

    #[test]
    fn log_filename_names_the_destination() {
        for stderr in ["-", "stderr", "/dev/stderr"] {
            assert_eq!(Destination::of(Path::new(stderr)), Destination::Stderr);
        }
        assert_eq!(Destination::of(Path::new("syslog")), Destination::Syslog);
        assert_eq!(
            Destination::of(Path::new("./stderr.log")),
            Destination::File(PathBuf::from("./stderr.log"))
        );
    }

    #[test]
    fn priorities_follow_syslog_severities() {
        assert_eq!(priority(Level::Error, "c2c"), 3);
        assert_eq!(priority(Level::Warn, "c2c"), 4);
        assert_eq!(priority(Level::Info, CONSOLE_TARGET), 5);
        assert_eq!(priority(Level::Info, "sip::transport"), 6);
        assert_eq!(priority(Level::Debug, "c2c"), 7);
        assert_eq!(priority(Level::Trace, "c2c"), 7);
    }

    #[test]
    fn console_shows_warnings_and_server_info_only() {
        let meta = |level, target| Metadata::builder().level(level).target(target).build();
        let info = LevelFilter::Info;
        assert!(ConsoleFilter::wants(
            info,
            &meta(log::Level::Warn, "sip::transport")
        ));
        assert!(ConsoleFilter::wants(info, &meta(log::Level::Error, "c2c")));
        assert!(ConsoleFilter::wants(
            info,
            &meta(log::Level::Info, CONSOLE_TARGET)
        ));
        assert!(!ConsoleFilter::wants(
            info,
            &meta(log::Level::Info, "sip::transport")
        ));
        assert!(!ConsoleFilter::wants(
            LevelFilter::Trace,
            &meta(log::Level::Debug, CONSOLE_TARGET)
        ));
        // LogLevel still caps the console.
        assert!(!ConsoleFilter::wants(
            LevelFilter::Error,
            &meta(log::Level::Warn, "c2c")
        ));
        assert!(!ConsoleFilter::wants(
            LevelFilter::Off,
            &meta(log::Level::Error, "c2c")
        ));
    }
}
