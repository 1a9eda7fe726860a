//! The server's life cycle: block the shutdown signals, start the components, wait for
//! SIGINT/SIGTERM (or a component that dies), stop the components, exit. SIGHUP, in
//! between, reopens the log file and reloads the translation rules ([`reload`]).
//!
//! Components (SIP reactor, calls thread, HTTP and XML listeners) are threads started in
//! one place, `start_components`, in dependency order. Each gets a [`Shutdown`] to watch
//! and may register a wake-up for threads that block elsewhere (a `mio::Waker`). They are
//! stopped in reverse order with a bounded wait.

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use crate::config::{Config, ConfigError, LoadOutcome, Loaded};
use crate::logging::{self, CONSOLE_TARGET};
use crate::sys::signal::BlockedSignals;
use crate::translate::LiveRules;

/// Process exit statuses.
pub mod exit {
    /// Clean shutdown after SIGINT/SIGTERM.
    pub const CLEAN: u8 = 0;
    /// Bad configuration or command line; nothing was started.
    pub const CONFIG: u8 = 1;
    /// Could not start: a port could not be bound, a thread could not be created.
    pub const START: u8 = 2;
    /// A component thread ended by itself while the server ran.
    pub const COMPONENT_FAILED: u8 = 3;
}

/// How long stopping may take before the remaining components are abandoned.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// The server could not start.
#[derive(Debug)]
pub enum StartError {
    /// A socket could not be bound; the message names the address and port.
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: io::Error,
    },
    /// The signal mask could not be set.
    Signals(io::Error),
    /// A thread could not be created.
    Spawn {
        what: &'static str,
        source: io::Error,
    },
    /// The `--ready-file` could not be written.
    ReadyFile { path: PathBuf, source: io::Error },
    /// The `CdrFilename` file could not be opened.
    CdrFile { path: PathBuf, source: io::Error },
}

impl StartError {
    pub fn exit_code(&self) -> u8 {
        exit::START
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Bind { what, addr, source } => write!(
                f,
                "cannot bind the {what} to address {} port {}: {source}",
                addr.ip(),
                addr.port()
            ),
            StartError::Signals(e) => write!(f, "cannot block SIGINT/SIGTERM: {e}"),
            StartError::Spawn { what, source } => {
                write!(f, "cannot start the {what} thread: {source}")
            }
            StartError::ReadyFile { path, source } => {
                write!(
                    f,
                    "cannot write the ready file {}: {source}",
                    path.display()
                )
            }
            StartError::CdrFile { path, source } => {
                write!(
                    f,
                    "cannot open the call detail record file {}: {source}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Bind { source, .. }
            | StartError::Spawn { source, .. }
            | StartError::ReadyFile { source, .. }
            | StartError::CdrFile { source, .. } => Some(source),
            StartError::Signals(e) => Some(e),
        }
    }
}

/// Binds a TCP listener, naming `what` (e.g. "HTTP listener") in the error.
pub fn bind_tcp(what: &'static str, addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).map_err(|source| StartError::Bind { what, addr, source })
}

/// Binds a UDP socket, naming `what` (e.g. "SIP UDP transport") in the error.
pub fn bind_udp(what: &'static str, addr: SocketAddr) -> Result<UdpSocket, StartError> {
    UdpSocket::bind(addr).map_err(|source| StartError::Bind { what, addr, source })
}

/// The shutdown notice, for components: clone it freely. Nothing is ever sent on the
/// channel; shutdown is the channel becoming disconnected, which every clone sees at once
/// and which works inside `crossbeam_channel::select!` (`recv(shutdown.receiver())`).
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: Receiver<()>,
}

/// Requests shutdown when triggered or dropped.
#[derive(Debug)]
pub struct ShutdownTrigger {
    _tx: Sender<()>,
}

impl ShutdownTrigger {
    /// Requests shutdown: dropping the only sender disconnects every receiver.
    pub fn trigger(self) {
        drop(self);
    }
}

/// A trigger and the notice it controls.
pub fn shutdown_pair() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = crossbeam_channel::bounded(0);
    (ShutdownTrigger { _tx: tx }, Shutdown { rx })
}

impl Shutdown {
    pub fn is_requested(&self) -> bool {
        matches!(self.rx.try_recv(), Err(TryRecvError::Disconnected))
    }

    /// Sleeps up to `timeout`; true as soon as shutdown is requested.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        matches!(
            self.rx.recv_timeout(timeout),
            Err(RecvTimeoutError::Disconnected)
        )
    }

    /// Blocks until shutdown is requested.
    pub fn wait(&self) {
        while self.rx.recv().is_ok() {}
    }

    /// For `select!`: a `recv` on it completes (with `Err`) when shutdown is requested.
    pub fn receiver(&self) -> &Receiver<()> {
        &self.rx
    }
}

/// One running component.
struct Component {
    name: &'static str,
    handle: JoinHandle<()>,
    wake: Option<Box<dyn FnOnce() + Send>>,
}

/// The started components, stopped in reverse order of starting.
pub struct Components {
    shutdown: Shutdown,
    list: Vec<Component>,
    exited_tx: Sender<Exited>,
    exited_rx: Receiver<Exited>,
    /// Components whose exit notice has been received.
    exited: HashSet<usize>,
    /// The translation rules the front doors use, for SIGHUP to replace.
    rules: Option<Arc<LiveRules>>,
    /// What else SIGHUP does, after the reload (the call detail records' reopen).
    on_sighup: Vec<Box<dyn Fn() + Send>>,
}

/// A component's thread has ended: its index in the start order, and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exited {
    index: usize,
    name: &'static str,
}

/// Sends [`Exited`] when the component's thread ends, also when it ends by panicking.
struct ExitNotice {
    exited: Exited,
    tx: Sender<Exited>,
}

impl Drop for ExitNotice {
    fn drop(&mut self) {
        let _ = self.tx.send(self.exited);
    }
}

impl Components {
    pub fn new(shutdown: Shutdown) -> Components {
        let (exited_tx, exited_rx) = crossbeam_channel::unbounded();
        Components {
            shutdown,
            list: Vec::new(),
            exited_tx,
            exited_rx,
            exited: HashSet::new(),
            rules: None,
            on_sighup: Vec::new(),
        }
    }

    /// Names the rule set the front doors translate with, so that SIGHUP can replace it.
    pub fn share_rules(&mut self, rules: Arc<LiveRules>) {
        self.rules = Some(rules);
    }

    /// `hook` runs on every SIGHUP, after the log is reopened and the rules reloaded.
    pub fn on_sighup(&mut self, hook: Box<dyn Fn() + Send>) {
        self.on_sighup.push(hook);
    }

    /// Starts `body` on a thread named `name`. The body gets the shutdown notice and
    /// should return soon after it fires; returning before shutdown is taken as a failure
    /// of the server (it shuts down, exit status 3).
    pub fn spawn<F>(&mut self, name: &'static str, body: F) -> Result<(), StartError>
    where
        F: FnOnce(Shutdown) + Send + 'static,
    {
        self.spawn_with_wake(name, None, body)
    }

    /// As [`spawn`](Self::spawn), with `wake` called at shutdown for a thread that blocks
    /// on something other than the shutdown channel (e.g. `mio::Waker::wake`).
    pub fn spawn_with_wake<F>(
        &mut self,
        name: &'static str,
        wake: Option<Box<dyn FnOnce() + Send>>,
        body: F,
    ) -> Result<(), StartError>
    where
        F: FnOnce(Shutdown) + Send + 'static,
    {
        let shutdown = self.shutdown.clone();
        let exited = Exited {
            index: self.list.len(),
            name,
        };
        let notice = ExitNotice {
            exited,
            tx: self.exited_tx.clone(),
        };
        let handle = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _notice = notice;
                body(shutdown);
            })
            .map_err(|source| StartError::Spawn { what: name, source })?;
        self.list.push(Component { name, handle, wake });
        Ok(())
    }

    /// Receives a notice for each component whose thread ends; pass each notice taken
    /// from here to [`note_exited`](Self::note_exited).
    fn exited(&self) -> &Receiver<Exited> {
        &self.exited_rx
    }

    fn note_exited(&mut self, exited: Exited) {
        self.exited.insert(exited.index);
    }

    /// Wakes every component (shutdown must already be triggered), newest first, and
    /// joins them within `grace`. Returns the names of those that did not stop in time.
    fn stop(mut self, grace: Duration) -> Vec<&'static str> {
        let deadline = Instant::now() + grace;
        for component in self.list.iter_mut().rev() {
            if let Some(wake) = component.wake.take() {
                wake();
            }
        }
        let mut late = Vec::new();
        while let Some(component) = self.list.pop() {
            let index = self.list.len();
            // Wait for this component's exit notice; notices of others arriving first
            // are kept for their turn.
            while !self.exited.contains(&index) {
                match self.exited_rx.recv_deadline(deadline) {
                    Ok(exited) => {
                        self.exited.insert(exited.index);
                    }
                    Err(_) => break,
                }
            }
            if self.exited.contains(&index) {
                // The notice is sent as the thread ends: this join does not block long.
                if component.handle.join().is_err() {
                    log::error!(target: CONSOLE_TARGET, "{} panicked", component.name);
                }
            } else {
                late.push(component.name);
            }
        }
        late
    }
}

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread, so that every thread spawned after
/// this inherits the mask and the signals are only ever taken by `sigwait` in the signal
/// thread (POSIX: a signal blocked in all threads stays pending until accepted).
fn block_shutdown_signals() -> io::Result<BlockedSignals> {
    BlockedSignals::block(&[libc::SIGINT, libc::SIGTERM, libc::SIGHUP])
}

fn signal_name(signal: libc::c_int) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "signal",
    }
}

/// Starts the thread that takes SIGINT/SIGTERM/SIGHUP, each sent on the returned channel.
/// A second SIGINT/SIGTERM, while shutdown is under way, ends the process at once.
fn start_signal_thread(set: BlockedSignals) -> Result<Receiver<libc::c_int>, StartError> {
    let (tx, rx) = crossbeam_channel::unbounded();
    thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            let mut received = 0u32;
            loop {
                let signal = match set.wait() {
                    Ok(signal) => signal,
                    Err(e) => {
                        log::error!(target: CONSOLE_TARGET, "sigwait failed: {e}");
                        return;
                    }
                };
                if signal == libc::SIGHUP {
                    let _ = tx.send(signal);
                    continue;
                }
                received += 1;
                if received == 1 {
                    let _ = tx.send(signal);
                } else {
                    log::warn!(target: CONSOLE_TARGET, "second {}: exiting without waiting", signal_name(signal));
                    log::logger().flush();
                    // The shell convention for "ended by signal N".
                    std::process::exit(128 + signal);
                }
            }
        })
        .map_err(|source| StartError::Spawn { what: "signal", source })?;
    Ok(rx)
}

/// Starts the components, in dependency order: SIP reactor, calls thread, then the API
/// listeners that feed it. This is the one place a new component is added; an error here
/// stops the ones already started and exits with status 2.
/// With `--ready-file`, the file is written last, once every listener accepts.
fn start_components(config: &Config, components: &mut Components) -> Result<(), StartError> {
    let listeners = crate::startup::start_all(config, components)?;
    if let Some(path) = &config.ready_file {
        crate::startup::write_ready_file(path, &listeners).map_err(|source| {
            StartError::ReadyFile {
                path: path.clone(),
                source,
            }
        })?;
    }
    Ok(())
}

/// Logs the effective settings, one per line, at INFO on the console target.
fn log_settings(config: &Config) {
    log::info!(
        target: CONSOLE_TARGET,
        "clicktocall {} starting; configuration: {}",
        env!("CARGO_PKG_VERSION"),
        config.source_description()
    );
    for (key, value) in config.settings() {
        log::info!(target: CONSOLE_TARGET, "  {key} = {value}");
    }
}

/// Reads the configuration again, as at start-up (same file, same command line), for
/// SIGHUP.
pub type Reload = Box<dyn Fn() -> Result<LoadOutcome, ConfigError>>;

/// Runs the server until SIGINT/SIGTERM. Must be called from the main thread before any
/// other thread exists (the signal mask is inherited at thread creation). Returns the
/// process exit status: 0 after a clean shutdown, 2 if it could not start, 3 if a
/// component ended by itself. SIGHUP reloads the translation rules from `config.source`.
pub fn run(config: Config) -> ExitCode {
    let source = config.source.clone();
    run_with_reload(
        config,
        Box::new(move || match &source {
            Some(path) => Config::load(&["-c".to_owned(), path.display().to_string()]),
            None => Config::load(&[]),
        }),
    )
}

/// As [`run`], with SIGHUP reading the configuration through `reload` (main passes one
/// that parses the original command line again, so its rules and overrides stay).
pub fn run_with_reload(config: Config, reload: Reload) -> ExitCode {
    match serve(&config, &reload) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if log::log_enabled!(target: CONSOLE_TARGET, log::Level::Error) {
                // To the log file and, through the console logger, to stderr.
                log::error!(target: CONSOLE_TARGET, "{e}");
            } else {
                // LogLevel NONE: the reason for exit status 2 must still be seen.
                eprintln!("clicktocall: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn serve(config: &Config, reload_config: &Reload) -> Result<u8, StartError> {
    crate::heap::limit_arenas();
    let set = block_shutdown_signals().map_err(StartError::Signals)?;
    let signals = start_signal_thread(set)?;
    log_settings(config);

    let (trigger, shutdown) = shutdown_pair();
    let mut components = Components::new(shutdown);
    if let Err(e) = start_components(config, &mut components) {
        trigger.trigger();
        components.stop(SHUTDOWN_GRACE);
        return Err(e);
    }
    log::info!(
        target: CONSOLE_TARGET,
        "clicktocall started (pid {}); stop with Ctrl-C or SIGTERM, reload with SIGHUP",
        std::process::id()
    );

    let code = loop {
        crossbeam_channel::select! {
            recv(signals) -> signal => {
                if signal == Ok(libc::SIGHUP) {
                    reload(config, components.rules.as_deref(), reload_config);
                    for hook in &components.on_sighup {
                        hook();
                    }
                    continue;
                }
                let name = signal.map_or("signal", signal_name);
                log::info!(target: CONSOLE_TARGET, "{name} received: shutting down");
                break exit::CLEAN;
            }
            recv(components.exited()) -> exited => {
                let name = exited.map_or("a component", |e| e.name);
                log::error!(target: CONSOLE_TARGET, "{name} stopped unexpectedly: shutting down");
                if let Ok(exited) = exited {
                    components.note_exited(exited);
                }
                break exit::COMPONENT_FAILED;
            }
        }
    };
    trigger.trigger();
    let late = components.stop(SHUTDOWN_GRACE);
    if !late.is_empty() {
        log::warn!(target: CONSOLE_TARGET, "did not stop in time: {}", late.join(", "));
    }
    log::info!(target: CONSOLE_TARGET, "clicktocall stopped");
    log::logger().flush();
    Ok(code)
}

/// SIGHUP: reopens the log file (logrotate's `postrotate`), then reads the configuration
/// again and puts its translation rules and `TelUriDomain` in force for the next request. Calls already
/// placed go on. A configuration with an error is refused whole, each error logged with its
/// `file:line`, and the rules in force are kept. Other settings apply only at start-up:
/// those that changed are named in a warning.
pub fn reload(running: &Config, rules: Option<&LiveRules>, reload_config: &Reload) {
    log::info!(target: CONSOLE_TARGET, "SIGHUP received: reopening the log, reloading the translation rules");
    match logging::reopen() {
        Ok(true) => log::info!(target: CONSOLE_TARGET, "log file reopened"),
        Ok(false) => {}
        Err(e) => log::error!(target: CONSOLE_TARGET, "cannot reopen the log file: {e}"),
    }
    let Some(rules) = rules else {
        return;
    };
    let loaded: Loaded = match reload_config() {
        Ok(LoadOutcome::Run(loaded) | LoadOutcome::CheckConfig(loaded)) => loaded,
        Ok(LoadOutcome::Help(_) | LoadOutcome::Version(_)) => return,
        Err(e) => {
            for line in e.to_string().lines() {
                log::error!(target: CONSOLE_TARGET, "{line}");
            }
            log::error!(
                target: CONSOLE_TARGET,
                "configuration refused: the {} translation rules in force are kept",
                rules.current().len()
            );
            return;
        }
    };
    for warning in &loaded.warnings {
        log::warn!(target: CONSOLE_TARGET, "{warning}");
    }
    let changed = changed_settings(running, &loaded.config);
    if !changed.is_empty() {
        log::warn!(
            target: CONSOLE_TARGET,
            "changed in the configuration, applied only at a restart: {}",
            changed.join(", ")
        );
    }
    let count = loaded.config.translator.len();
    rules.replace(Arc::clone(&loaded.config.translator));
    log::info!(target: CONSOLE_TARGET, "translation rules reloaded: {count} rules in force");
    let tel_domain = loaded.config.tel_uri_domain.as_deref();
    if rules.tel_domain().as_deref() != tel_domain {
        rules.set_tel_domain(tel_domain);
        log::info!(target: CONSOLE_TARGET, "TelUriDomain reloaded: {}", tel_domain.unwrap_or("(none)"));
    }
}

/// Keys other than the translation rules whose effective value differs.
fn changed_settings(running: &Config, new: &Config) -> Vec<&'static str> {
    let rule_keys = [
        crate::config::Key::TranslationPattern.name(),
        crate::config::Key::TranslationOutput.name(),
        crate::config::Key::TelUriDomain.name(),
    ];
    let old = running.settings();
    new.settings()
        .into_iter()
        .filter(|(key, _)| !rule_keys.contains(key))
        .filter(|(key, value)| !old.iter().any(|(k, v)| k == key && v == value))
        .map(|(key, _)| key)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn shutdown_reaches_every_clone() {
        let (trigger, shutdown) = shutdown_pair();
        let other = shutdown.clone();
        assert!(!shutdown.is_requested());
        assert!(!other.wait_timeout(Duration::from_millis(1)));
        trigger.trigger();
        assert!(shutdown.is_requested());
        assert!(other.wait_timeout(Duration::from_secs(5)));
        other.wait();
    }

    #[test]
    fn components_stop_on_shutdown_and_wake_is_called() {
        let (trigger, shutdown) = shutdown_pair();
        let mut components = Components::new(shutdown);
        components
            .spawn("waiter", |shutdown| shutdown.wait())
            .expect("spawn");
        let woken = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&woken);
        let (tx, rx) = crossbeam_channel::bounded::<()>(1);
        components
            .spawn_with_wake(
                "blocked elsewhere",
                Some(Box::new(move || {
                    flag.store(true, Ordering::SeqCst);
                    let _ = tx.send(());
                })),
                move |_| {
                    let _ = rx.recv();
                },
            )
            .expect("spawn");
        trigger.trigger();
        let late = components.stop(Duration::from_secs(10));
        assert!(late.is_empty(), "{late:?}");
        assert!(woken.load(Ordering::SeqCst));
    }

    #[test]
    fn a_component_that_ends_is_reported() {
        let (_trigger, shutdown) = shutdown_pair();
        let mut components = Components::new(shutdown);
        components.spawn("short-lived", |_| {}).expect("spawn");
        let exited = components.exited().recv_timeout(Duration::from_secs(10));
        assert_eq!(exited.map(|e| e.name), Ok("short-lived"));
    }

    #[test]
    fn a_panicking_component_is_reported_too() {
        let (_trigger, shutdown) = shutdown_pair();
        let mut components = Components::new(shutdown);
        components
            .spawn("panics", |_| panic!("component failure under test"))
            .expect("spawn");
        let exited = components.exited().recv_timeout(Duration::from_secs(10));
        assert_eq!(exited.map(|e| e.name), Ok("panics"));
    }

    #[test]
    fn a_component_that_ignores_shutdown_is_reported_late() {
        let (trigger, shutdown) = shutdown_pair();
        let mut components = Components::new(shutdown);
        let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(1);
        components
            .spawn("stubborn", move |_| {
                let _ = release_rx.recv();
            })
            .expect("spawn");
        trigger.trigger();
        let late = components.stop(Duration::from_millis(50));
        assert_eq!(late, vec!["stubborn"]);
        drop(release_tx);
    }

    #[test]
    fn reload_replaces_the_rules_and_a_broken_file_keeps_them() {
        let running = Config::from_text("TranslationPattern = ^a$\nTranslationOutput = old\n")
            .expect("valid")
            .config;
        let rules = LiveRules::new(Arc::clone(&running.translator));
        let good: Reload = Box::new(|| {
            Config::from_text("TranslationPattern = ^a$\nTranslationOutput = new\n")
                .map(LoadOutcome::Run)
        });
        reload(&running, Some(&rules), &good);
        assert_eq!(rules.current().translate("a").as_deref(), Some("new"));
        let broken: Reload = Box::new(|| {
            Config::from_text("TranslationPattern = (a\nTranslationOutput = newer\n")
                .map(LoadOutcome::Run)
        });
        reload(&running, Some(&rules), &broken);
        assert_eq!(rules.current().translate("a").as_deref(), Some("new"));
    }

    #[test]
    fn reload_puts_the_new_tel_uri_domain_in_force() {
        let running = Config::from_text("").expect("valid").config;
        let rules = LiveRules::new(Arc::clone(&running.translator));
        let with: Reload =
            Box::new(|| Config::from_text("TelUriDomain = gw.example.net\n").map(LoadOutcome::Run));
        reload(&running, Some(&rules), &with);
        assert_eq!(rules.tel_domain().as_deref(), Some("gw.example.net"));
        let without: Reload = Box::new(|| Config::from_text("").map(LoadOutcome::Run));
        reload(&running, Some(&rules), &without);
        assert_eq!(rules.tel_domain(), None);
        let old = Config::from_text("TelUriDomain = a.example\n")
            .expect("valid")
            .config;
        let new = Config::from_text("TelUriDomain = b.example\n")
            .expect("valid")
            .config;
        assert!(changed_settings(&old, &new).is_empty(), "no restart needed");
    }

    #[test]
    fn changed_settings_name_only_keys_that_need_a_restart() {
        let old =
            Config::from_text("HttpPort = 1\nTranslationPattern = a\nTranslationOutput = b\n")
                .expect("valid")
                .config;
        let new =
            Config::from_text("HttpPort = 2\nTranslationPattern = c\nTranslationOutput = d\n")
                .expect("valid")
                .config;
        assert_eq!(changed_settings(&old, &new), vec!["HttpPort"]);
    }

    #[test]
    fn bind_error_names_address_and_port() {
        let taken = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let addr = taken.local_addr().expect("addr");
        let err = bind_tcp("HTTP listener", addr).expect_err("port is taken");
        let text = err.to_string();
        assert!(text.contains("HTTP listener"), "{text}");
        assert!(
            text.contains("127.0.0.1") && text.contains(&addr.port().to_string()),
            "{text}"
        );
        assert_eq!(err.exit_code(), exit::START);

        let udp = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let addr = udp.local_addr().expect("addr");
        assert!(matches!(
            bind_udp("SIP UDP transport", addr),
            Err(StartError::Bind { .. })
        ));
    }
}
