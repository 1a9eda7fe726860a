//! The calls thread: runs the [`Engine`] over its three inputs — commands from the front
//! doors, events from the SIP reactor, and its own timers — and hands SIP commands to the
//! reactor, waking it through its `mio::Waker`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::access::{AccessList, LogLimiter};
use crate::sip::msg::{Message, Method, new_tag};

use crossbeam_channel::{Receiver, Sender, select};

use super::command::{CallCount, Command};
use super::engine::Engine;
use crate::sip::reactor::{ReactorWaker, SipCommand, SipEvent};

/// How long shutdown waits for legs to be cancelled or hung up before giving up.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The channels of the calls thread.
pub(crate) struct CallsChannels {
    pub commands: Receiver<Command>,
    pub sip_events: Receiver<SipEvent>,
    pub sip_commands: Sender<SipCommand>,
    pub waker: Arc<ReactorWaker>,
    /// One message (or a disconnect) starts the shutdown.
    pub shutdown: Receiver<()>,
    /// The places the front doors took for their commands; given back as calls end.
    pub call_count: Arc<CallCount>,
    /// `SipAllow`: who may send us out-of-dialog requests (empty: everyone).
    pub sip_allow: AccessList,
}

/// Out-of-dialog requests from outside `SipAllow` are answered 403 here, before the
/// engine sees them; requests inside a dialog (a To tag: BYE, NOTIFY, re-INVITE from the
/// phones, wherever they are) and responses are not filtered.
struct SipGate {
    allow: AccessList,
    log: LogLimiter,
}

impl SipGate {
    fn check(&mut self, ev: SipEvent) -> Gate {
        let SipEvent::Request {
            tx,
            request,
            source,
            transport,
        } = ev
        else {
            return Gate::Pass(ev);
        };
        if self.allow.allows(source.ip()) || request.to_tag().is_some() {
            return Gate::Pass(SipEvent::Request {
                tx,
                request,
                source,
                transport,
            });
        }
        let method = request
            .method()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        if let Some(held) = self
            .log
            .allow(Instant::now(), crate::access::unmap(source.ip()))
        {
            log::info!(target: "c2c", "{method} from {source} refused: not in SipAllow{}",
                if held > 0 { format!(" ({held} more refusals not logged)") } else { String::new() });
        }
        if request.method() == Some(&Method::Ack) {
            return Gate::Drop;
        }
        let response = Message::response_to(&request, 403, "Forbidden", Some(&new_tag()));
        Gate::Answer(SipCommand::Respond { tx, response })
    }
}

/// What [`SipGate::check`] decided.
enum Gate {
    /// Hand the event to the engine.
    Pass(SipEvent),
    /// Refused: send this answer.
    Answer(SipCommand),
    /// Refused, and nothing to answer (an ACK).
    Drop,
}

/// At most this many SIP events are taken in one turn, so timers and commands still get
/// their turn in a flood.
const SIP_EVENT_BATCH: usize = 256;

/// How long the loop sleeps when no timer is due: only a bound on the wait, since every
/// command, event and the shutdown signal wake it anyway.
const IDLE_WAIT: Duration = Duration::from_secs(3600);

fn take_sip_event(engine: &mut Engine, gate: &mut SipGate, ch: &CallsChannels, ev: SipEvent) {
    match gate.check(ev) {
        Gate::Pass(ev) => engine.handle_sip_event(Instant::now(), ev),
        Gate::Answer(answer) => {
            if ch.sip_commands.send(answer).is_ok() {
                let _ = ch.waker.wake();
            }
        }
        Gate::Drop => {}
    }
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
pub(crate) fn run(mut engine: Engine, ch: CallsChannels) {
    let mut stop_by: Option<Instant> = None;
    // The front doors may all be disabled (ports 0): a closed command channel only means
    // no more commands will come.
    let mut commands_open = true;
    let never_cmd = crossbeam_channel::never();
    let never_signal = crossbeam_channel::never();
    // Calls the front doors counted that the engine has not yet been seen to end: each
    // command adds one, each call that is over (or refused by the engine) removes one.
    let mut counted = 0usize;
    let mut gate = SipGate {
        allow: ch.sip_allow.clone(),
        log: LogLimiter::new(Duration::from_secs(60), 1024),
    };
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
                engine.abandon(now);
            }
            break;
        }
        let mut deadline = engine.poll_timeout();
        if let Some(limit) = stop_by {
            deadline = Some(deadline.map_or(limit, |d| d.min(limit)));
        }
        // Waiting with `default(wait)` rather than on an `after` channel: that would be a
        // new channel (an allocation) every turn of this loop, i.e. for every message.
        let wait = deadline.map_or(IDLE_WAIT, |d| d.saturating_duration_since(Instant::now()));
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
                    if matches!(cmd, Command::ClickToCall { .. }) {
                        counted += 1;
                    }
                    engine.handle_command(Instant::now(), cmd);
                }
                Err(_) => commands_open = false,
            },
            recv(ch.sip_events) -> ev => match ev {
                Ok(ev) => {
                    take_sip_event(&mut engine, &mut gate, &ch, ev);
                    // Under load the reactor delivers in bursts: take what is already
                    // there before flushing, so one wake-up of the reactor (and of this
                    // thread) serves many messages, not one each.
                    for ev in ch.sip_events.try_iter().take(SIP_EVENT_BATCH) {
                        take_sip_event(&mut engine, &mut gate, &ch, ev);
                    }
                }
                Err(_) => {
                    log::error!(target: "c2c", "SIP reactor stopped: ending the calls thread and its {} calls", engine.active_calls());
                    // No call is left without its final result and record.
                    engine.sip_stack_stopped(Instant::now());
                    break;
                }
            },
            recv(shutdown) -> _ => {
                let now = Instant::now();
                log::info!(target: "c2c", "shutting down: ending {} calls", engine.active_calls());
                engine.shutdown(now);
                stop_by = Some(now + SHUTDOWN_GRACE);
            },
            default(wait) => {},
        }
    }
    flush(&mut engine, &ch);
    let _ = ch.sip_commands.send(SipCommand::Shutdown);
    let _ = ch.waker.wake();
}

#[cfg(test)]
impl Gate {
    fn is_pass(&self) -> bool {
        matches!(self, Gate::Pass(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::Transport;
    use crate::sip::reactor::ServerTxId;

    fn options(to: &str) -> Message {
        let text = format!(
            "OPTIONS sip:c2c@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK1\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:x@192.0.2.9>;tag=a\r\n\
             To: {to}\r\n\
             Call-ID: c1\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        );
        Message::parse(text.as_bytes()).expect("parse")
    }

    fn event(request: Message, source: &str) -> SipEvent {
        SipEvent::Request {
            tx: ServerTxId(1),
            request,
            source: source.parse().expect("addr"),
            transport: Transport::Udp,
        }
    }

    #[test]
    fn out_of_dialog_requests_from_outside_sip_allow_get_403() {
        let mut gate = SipGate {
            allow: AccessList::parse("127.0.0.0/8").expect("list"),
            log: LogLimiter::new(Duration::from_secs(60), 4),
        };
        match gate.check(event(options("<sip:c2c@127.0.0.1>"), "192.0.2.9:5060")) {
            Gate::Answer(SipCommand::Respond { response, .. }) => {
                assert_eq!(response.status(), Some(403));
                assert!(response.to_tag().is_some());
            }
            _ => panic!("not answered 403"),
        }
        // Allowed sources and in-dialog requests go on to the engine.
        assert!(
            gate.check(event(options("<sip:c2c@127.0.0.1>"), "127.0.0.1:5060"))
                .is_pass()
        );
        assert!(
            gate.check(event(
                options("<sip:c2c@127.0.0.1>;tag=ours"),
                "192.0.2.9:5060"
            ))
            .is_pass()
        );
        let open = AccessList::any();
        let mut gate = SipGate {
            allow: open,
            log: LogLimiter::new(Duration::from_secs(60), 4),
        };
        assert!(
            gate.check(event(options("<sip:c2c@127.0.0.1>"), "192.0.2.9:5060"))
                .is_pass()
        );
    }

    /// The reactor's event channel closes with a call in progress (its INVITE out, no
    /// answer): before the thread exits the call gets its final result, 500 "SIP stack
    /// stopped", and its record, ended by an error.
    #[test]
    fn calls_in_progress_get_a_result_and_a_record_when_the_reactor_dies() {
        use crate::c2c::command::{CallId, CallOrigin, Role};
        use crate::c2c::engine::EngineConfig;
        use crate::cdr::{CdrSink, EndedBy, RecordSettings};
        use crossbeam_channel::unbounded;

        let wait = Duration::from_secs(10);
        let (cdr, records) = CdrSink::with_writer(RecordSettings::default(), Arc::default());
        let engine = Engine::new(EngineConfig::for_test()).with_cdr(cdr);
        let (commands_tx, commands) = unbounded();
        let (events_tx, sip_events) = unbounded();
        let (sip_commands, sent) = unbounded();
        let (_shutdown_tx, shutdown) = unbounded();
        let poll = mio::Poll::new().expect("poll");
        let waker = Arc::new(crate::sip::reactor::ReactorWaker::new(
            mio::Waker::new(poll.registry(), mio::Token(0)).expect("waker"),
        ));
        let ch = CallsChannels {
            commands,
            sip_events,
            sip_commands,
            waker,
            shutdown,
            call_count: Arc::default(),
            sip_allow: AccessList::any(),
        };
        let thread = std::thread::spawn(move || run(engine, ch));
        let (reply, progress) = unbounded();
        commands_tx
            .send(Command::ClickToCall {
                initiator_uri: "sip:100@127.0.0.1:5061".into(),
                destination_uri: "sip:200@127.0.0.1:5062".into(),
                anchor: true,
                id: CallId::generate(None).expect("random bits"),
                options: Default::default(),
                origin: CallOrigin::for_test("100", "200"),
                reply,
            })
            .expect("the thread takes commands");
        match sent.recv_timeout(wait) {
            Ok(SipCommand::SendRequest { request, .. }) => {
                assert_eq!(request.method(), Some(&Method::Invite));
            }
            other => panic!("the initiator's INVITE was not sent: {other:?}"),
        }
        drop(events_tx);
        thread.join().expect("the thread ends without a panic");
        let last = progress.recv_timeout(wait).expect("a final result");
        assert_eq!(
            (last.code, last.leg, last.text.as_str()),
            (500, Role::Initiator, "SIP stack stopped")
        );
        let record = records.recv_timeout(wait).expect("a detail record");
        assert_eq!((record.ended_by, record.code), (EndedBy::Error, 500));
        assert!(
            matches!(sent.try_iter().last(), Some(SipCommand::Shutdown)),
            "the reactor is told to stop"
        );
    }
}
