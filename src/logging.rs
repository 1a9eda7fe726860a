//! Logging: `log` records formatted by simplelog, to the log file (rotated by line count)
//! and to the console.
//!
//! - The file gets every record at or above LogLevel.
//! - The console (stderr) gets WARNING and above, plus INFO records of the server's own
//!   start-up and shutdown lines (target [`CONSOLE_TARGET`]), like the original, which
//!   printed its own progress and left the SIP stack's chatter to the file.
//!
//! Every part logs with a target naming its layer (`sip::transport`, `sip::transaction`,
//! `c2c`, `api::http`, …) so a line says where it comes from.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};

use log::{LevelFilter, Log, Metadata, Record};
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

#[derive(Debug)]
pub enum LoggingError {
    /// The log file could not be opened.
    Open { path: PathBuf, source: io::Error },
    /// A logger was already installed (init called twice).
    AlreadyInitialised,
}

impl fmt::Display for LoggingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoggingError::Open { path, source } => {
                write!(f, "cannot open log file {}: {source}", path.display())
            }
            LoggingError::AlreadyInitialised => f.write_str("logging is already initialised"),
        }
    }
}

impl std::error::Error for LoggingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoggingError::Open { source, .. } => Some(source),
            LoggingError::AlreadyInitialised => None,
        }
    }
}

/// Installs the process-wide logger for `config`. Call once, from the main thread,
/// before other threads start (simplelog reads the local time offset here, which is only
/// reliable while the process has one thread).
pub fn init(config: &Config) -> Result<(), LoggingError> {
    let level = config.log_level.level_filter();
    let file = RotatingFile::open(
        &config.log_filename,
        config.log_file_max_lines,
        ROTATED_FILES_KEPT,
    )
    .map_err(|source| LoggingError::Open {
        path: config.log_filename.clone(),
        source,
    })?;

    let mut builder = ConfigBuilder::new();
    builder
        .set_time_format_rfc3339()
        .set_target_level(LevelFilter::Error)
        .set_thread_level(LevelFilter::Error)
        .set_thread_mode(ThreadLogMode::Names)
        .set_location_level(LevelFilter::Off);
    // Local time when the offset can be determined, else UTC (the format says which).
    let _ = builder.set_time_offset_to_local();
    let format = builder.build();

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
    let loggers: Vec<Box<dyn SharedLogger>> =
        vec![Box::new(console), WriteLogger::new(level, format, file)];
    CombinedLogger::init(loggers).map_err(|_| LoggingError::AlreadyInitialised)
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
    pub fn open(path: &Path, max_lines: u64, keep: usize) -> io::Result<RotatingFile> {
        let lines = match File::open(path) {
            Ok(existing) => count_lines(existing)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let mut rotating = RotatingFile {
            path: path.to_path_buf(),
            file,
            max_lines,
            keep,
            lines,
            pending: Vec::new(),
        };
        if rotating.max_lines > 0 && rotating.lines >= rotating.max_lines {
            rotating.rotate()?;
        }
        Ok(rotating)
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
        self.file.write_all(&self.pending)?;
        self.pending.clear();
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
