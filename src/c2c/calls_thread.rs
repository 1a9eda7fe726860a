//! The calls thread: runs the [`Engine`] over its three inputs — commands from the front
//! doors, events from the SIP reactor, and its own timers — and hands SIP commands to the
//! reactor, waking it through its `mio::Waker`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};

use super::command::{CallCount, Command};
use super::engine::Engine;
use crate::sip::reactor::{SipCommand, SipEvent};

/// How long shutdown waits for legs to be cancelled or hung up before giving up.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The channels of the calls thread.
pub struct CallsChannels {
    pub commands: Receiver<Command>,
    pub sip_events: Receiver<SipEvent>,
    pub sip_commands: Sender<SipCommand>,
    pub waker: Arc<mio::Waker>,
    /// One message (or a disconnect) starts the shutdown.
    pub shutdown: Receiver<()>,
    /// The places the front doors took for their commands; given back as calls end.
    pub call_count: Arc<CallCount>,
}

fn flush(engine: &mut Engine, ch: &CallsChannels) {
    let mut any = false;
    while let Some(cmd) = engine.poll_command() {
        any = true;
        if ch.sip_commands.send(cmd).is_err() {
            log::error!(target: "c2c", "SIP reactor is gone: dropping SIP commands");
            return;
        }
    }
    if any && let Err(e) = ch.waker.wake() {
        log::error!(target: "c2c", "cannot wake the SIP reactor: {e}");
    }
}

/// Run the calls thread's loop on the current thread. It returns when shutdown is complete
/// (every call ended, or `SHUTDOWN_GRACE` passed), after telling the reactor to stop.
pub fn run(mut engine: Engine, ch: CallsChannels) {
    let mut stop_by: Option<Instant> = None;
    // The front doors may all be disabled (ports 0): a closed command channel only means
    // no more commands will come.
    let mut commands_open = true;
    let never_cmd = crossbeam_channel::never();
    let never_signal = crossbeam_channel::never();
    // Calls the front doors counted that the engine has not yet been seen to end: each
    // command adds one, each call that is over (or refused by the engine) removes one.
    let mut counted = 0usize;
    loop {
        let now = Instant::now();
        engine.handle_timeout(now);
        flush(&mut engine, &ch);
        let alive = engine.active_calls();
        if counted > alive {
            ch.call_count.release(counted - alive);
        }
        counted = alive;
        if let Some(limit) = stop_by
            && (engine.active_calls() == 0 || now >= limit)
        {
            if engine.active_calls() > 0 {
                log::warn!(target: "c2c", "{} calls did not end in time at shutdown", engine.active_calls());
            }
            break;
        }
        let mut deadline = engine.poll_timeout();
        if let Some(limit) = stop_by {
            deadline = Some(deadline.map_or(limit, |d| d.min(limit)));
        }
        let wait = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let timeout = match wait {
            Some(w) => crossbeam_channel::after(w),
            None => crossbeam_channel::never(),
        };
        // After the shutdown started, take no new commands and stop watching the signal.
        let commands = if stop_by.is_some() || !commands_open {
            &never_cmd
        } else {
            &ch.commands
        };
        let shutdown = if stop_by.is_some() {
            &never_signal
        } else {
            &ch.shutdown
        };
        select! {
            recv(commands) -> cmd => match cmd {
                Ok(cmd) => {
                    counted += 1;
                    engine.handle_command(Instant::now(), cmd);
                }
                Err(_) => commands_open = false,
            },
            recv(ch.sip_events) -> ev => match ev {
                Ok(ev) => engine.handle_sip_event(Instant::now(), ev),
                Err(_) => {
                    log::error!(target: "c2c", "SIP reactor stopped: ending the calls thread");
                    break;
                }
            },
            recv(shutdown) -> _ => {
                let now = Instant::now();
                log::info!(target: "c2c", "shutting down: ending {} calls", engine.active_calls());
                engine.shutdown(now);
                stop_by = Some(now + SHUTDOWN_GRACE);
            },
            recv(timeout) -> _ => {},
        }
    }
    flush(&mut engine, &ch);
    let _ = ch.sip_commands.send(SipCommand::Shutdown);
    let _ = ch.waker.wake();
}
