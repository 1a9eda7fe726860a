//! The CDR writer thread: appends each record as it comes and `fsync`s in small groups, so
//! a record is on disk at most [`SYNC_AFTER`] or [`SYNC_EVERY`] records after its call
//! ended, and the calls thread never waits for the disk. SIGHUP reopens the file
//! (logrotate); the thread ends, after a last `fsync`, when the calls thread drops its
//! sender (shutdown, once every call's record is sent).

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};

use super::CdrStats;
use super::format;
use super::record::CdrRecord;
use crate::access::LogLimiter;
use crate::config::CdrFormat;
use crate::logging::{ROTATED_FILES_KEPT, RotatingFile};

/// The longest a written record waits for its `fsync`…
pub(crate) const SYNC_AFTER: Duration = Duration::from_millis(100);
/// …and the most records written between two.
pub(crate) const SYNC_EVERY: usize = 100;
/// A write error is logged at most this often (each one is counted).
const ERROR_LOG_EVERY: Duration = Duration::from_secs(60);

/// What the writer is told besides records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// SIGHUP: close the file and open it again by name.
    Reopen,
}

/// Where and how records are written.
#[derive(Debug, Clone)]
pub(crate) struct FileSettings {
    pub path: PathBuf,
    pub format: CdrFormat,
    /// `CdrFileMaxLines`: 0 = never rotate.
    pub max_lines: u64,
}

/// The writer thread's state.
pub(crate) struct CdrWriter {
    settings: FileSettings,
    file: Option<RotatingFile>,
    records: Receiver<Arc<CdrRecord>>,
    control: Receiver<Control>,
    stats: Arc<CdrStats>,
    /// Records written since the last `fsync`, and when the next one is due.
    unsynced: usize,
    sync_due: Option<Instant>,
    errors_logged: LogLimiter,
}

impl CdrWriter {
    /// Opens the file (appending, like the log: a restart goes on with it). An error
    /// here stops the start-up, as a log file that cannot be opened does.
    pub(crate) fn open(
        settings: FileSettings,
        records: Receiver<Arc<CdrRecord>>,
        control: Receiver<Control>,
        stats: Arc<CdrStats>,
    ) -> io::Result<CdrWriter> {
        let file = RotatingFile::open(&settings.path, settings.max_lines, ROTATED_FILES_KEPT)?;
        Ok(CdrWriter {
            settings,
            file: Some(file),
            records,
            control,
            stats,
            unsynced: 0,
            sync_due: None,
            errors_logged: LogLimiter::new(ERROR_LOG_EVERY, 1),
        })
    }

    /// Runs until the record channel is closed and drained.
    pub(crate) fn run(mut self) {
        let mut control = self.control.clone();
        loop {
            let timeout = match self.sync_due {
                Some(t) => crossbeam_channel::at(t),
                None => crossbeam_channel::never(),
            };
            select! {
                recv(self.records) -> record => match record {
                    Ok(record) => {
                        self.write(&record);
                        // What else is waiting goes out in the same turn.
                        while let Ok(record) = self.records.try_recv() {
                            self.write(&record);
                        }
                    }
                    Err(_) => break,
                },
                recv(control) -> c => match c {
                    Ok(Control::Reopen) => self.reopen(),
                    Err(_) => control = crossbeam_channel::never(),
                },
                recv(timeout) -> _ => self.sync(),
            }
        }
        self.sync();
    }

    fn write(&mut self, record: &CdrRecord) {
        let format = self.settings.format;
        let result = match self.file.as_mut() {
            Some(file) => write_record(file, record, format),
            None => Err(io::Error::other("the file could not be reopened")),
        };
        match result {
            Ok(()) => {
                self.stats.written.fetch_add(1, Ordering::Relaxed);
                self.unsynced += 1;
                if self.unsynced >= SYNC_EVERY {
                    self.sync();
                } else if self.sync_due.is_none() {
                    self.sync_due = Some(Instant::now() + SYNC_AFTER);
                }
            }
            Err(e) => self.failed("write", &e),
        }
    }

    /// `fsync` what was written since the last one.
    fn sync(&mut self) {
        if self.unsynced == 0 {
            return;
        }
        self.unsynced = 0;
        self.sync_due = None;
        let result = match self.file.as_mut() {
            Some(file) => file.flush().and_then(|()| file.sync_data()),
            None => Ok(()),
        };
        if let Err(e) = result {
            self.failed("fsync", &e);
        }
    }

    fn reopen(&mut self) {
        self.sync();
        let result = match self.file.as_mut() {
            Some(file) => file.reopen(),
            None => RotatingFile::open(
                &self.settings.path,
                self.settings.max_lines,
                ROTATED_FILES_KEPT,
            )
            .map(|file| self.file = Some(file)),
        };
        match result {
            Ok(()) => {
                log::info!(target: "cdr", "call detail record file {} reopened", self.settings.path.display())
            }
            Err(e) => self.failed("reopen", &e),
        }
    }

    /// Counted always, logged at most once per [`ERROR_LOG_EVERY`]: a full disk must not
    /// flood the log too, and calls go on.
    fn failed(&mut self, what: &str, e: &io::Error) {
        self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
        let key = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        if let Some(held) = self.errors_logged.allow(Instant::now(), key) {
            log::error!(target: "cdr", "cannot {what} the call detail record file {}: {e}{}",
                self.settings.path.display(),
                if held > 0 { format!(" ({held} more errors since the last one logged)") } else { String::new() });
        }
    }
}

/// One record's line, after the header if a CSV file is new (or was just rotated).
fn write_record(file: &mut RotatingFile, record: &CdrRecord, format: CdrFormat) -> io::Result<()> {
    if file.lines() == 0
        && let Some(header) = format::header(format)
    {
        file.write_all(header.as_bytes())?;
    }
    file.write_all(format::line(record, format).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c2c::command::{CallMode, CallOrigin};
    use crate::cdr::CallFacts;
    use crate::cdr::record::{EndedBy, RecordSettings};

    fn record(n: u32) -> Arc<CdrRecord> {
        let facts = CallFacts::new(
            CallOrigin::for_test("100", "200"),
            "sip:100@h",
            "sip:200@h",
            CallMode::Refer,
        );
        Arc::new(facts.finish(
            &format!("call{n}"),
            EndedBy::Initiator,
            [None, None],
            &RecordSettings::default(),
        ))
    }

    /// Runs a writer over `records` to the end (the sender dropped); its stats.
    fn write_all(
        path: &std::path::Path,
        format: CdrFormat,
        max_lines: u64,
        n: u32,
    ) -> Arc<CdrStats> {
        let (tx, rx) = crossbeam_channel::bounded(16);
        let (_control, control_rx) = crossbeam_channel::bounded(1);
        let stats = Arc::new(CdrStats::default());
        let settings = FileSettings {
            path: path.to_path_buf(),
            format,
            max_lines,
        };
        let writer = CdrWriter::open(settings, rx, control_rx, Arc::clone(&stats)).expect("open");
        let thread = std::thread::spawn(move || writer.run());
        for i in 0..n {
            tx.send(record(i)).expect("writer alive");
        }
        drop(tx);
        thread.join().expect("writer ends");
        stats
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("c2c-cdr-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn every_record_sent_before_the_end_is_written_and_counted() {
        let dir = scratch("all");
        let path = dir.join("cdr.jsonl");
        let stats = write_all(&path, CdrFormat::Json, 0, 250);
        let text = std::fs::read_to_string(&path).expect("file");
        assert_eq!(text.lines().count(), 250);
        assert!(text.lines().all(|l| l.starts_with("{\"call_id\":\"call")));
        assert_eq!(stats.written.load(Ordering::Relaxed), 250);
        assert_eq!(stats.write_errors.load(Ordering::Relaxed), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn each_csv_file_starts_with_its_header_also_after_a_rotation() {
        let dir = scratch("csv");
        let path = dir.join("cdr.csv");
        // Header + 2 records per file.
        write_all(&path, CdrFormat::Csv, 3, 3);
        let rotated = std::fs::read_to_string(dir.join("cdr.csv.1")).expect("rotated");
        let current = std::fs::read_to_string(&path).expect("current");
        for text in [&rotated, &current] {
            assert!(text.starts_with("call_id,instance,"), "{text}");
        }
        assert_eq!(rotated.lines().count(), 3, "{rotated}");
        assert_eq!(current.lines().count(), 2, "{current}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_full_disk_counts_each_failed_record_and_the_writer_goes_on() {
        let stats = write_all(std::path::Path::new("/dev/full"), CdrFormat::Json, 0, 5);
        assert_eq!(stats.written.load(Ordering::Relaxed), 0);
        assert_eq!(stats.write_errors.load(Ordering::Relaxed), 5);
    }
}
