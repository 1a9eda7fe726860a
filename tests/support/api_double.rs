//! The HTTP and XML front doors in-process (`clicktocall::api::start`) on loopback
//! ephemeral ports, with the reference set-up's translation rules and a calls-thread test
//! double: for interface tests that need no SIP. The ports are the kernel's (port 0),
//! read back from the listeners, so they cannot race.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use clicktocall::api::{self, ApiConfig, ApiServers, Translator};
use clicktocall::c2c::command::{Command, Progress, Role};
use crossbeam_channel::{Receiver, Sender};

use super::WAIT;

/// The reference runs' rules: `^(50[0-9][0-9])(\d+)$` → `sip:$2@127.0.0.1:$1`,
/// `^(sip:.*)$` → `$1`.
pub fn reference_translator() -> Translator {
    Arc::new(|a: &str| {
        let b = a.as_bytes();
        if b.len() > 4 && a.starts_with("50") && b.iter().all(u8::is_ascii_digit) {
            return Some(format!("sip:{}@127.0.0.1:{}", &a[4..], &a[..4]));
        }
        if a.starts_with("sip:") && !a.contains('\n') {
            return Some(a.to_owned());
        }
        None
    })
}

/// A placed call as the calls thread saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub initiator: String,
    pub destination: String,
    pub anchor: bool,
}

/// The front doors on 127.0.0.1 ephemeral ports.
pub struct Harness {
    servers: Option<ApiServers>,
    pub http: SocketAddr,
    pub xml: SocketAddr,
    /// Commands from the front doors, for tests that play the calls thread themselves.
    pub commands: Receiver<Command>,
    _commands_tx: Sender<Command>,
}

impl Harness {
    pub fn start(configure: impl FnOnce(&mut ApiConfig)) -> Harness {
        let mut cfg = ApiConfig {
            http_port: Some(0),
            xml_port: Some(0),
            bind: Some("127.0.0.1".parse().expect("ip")),
            ..ApiConfig::default()
        };
        configure(&mut cfg);
        let (tx, rx) = crossbeam_channel::unbounded();
        let servers = api::start(cfg, reference_translator(), tx.clone()).expect("api::start");
        let http = servers
            .http_addrs()
            .first()
            .copied()
            .unwrap_or_else(|| "127.0.0.1:9".parse().expect("addr"));
        let xml = servers
            .xml_addrs()
            .first()
            .copied()
            .unwrap_or_else(|| "127.0.0.1:9".parse().expect("addr"));
        Harness {
            servers: Some(servers),
            http,
            xml,
            commands: rx,
            _commands_tx: tx,
        }
    }

    /// Starts a calls-thread double that answers every command with `script`'s events
    /// (after the given delays) and records what was placed.
    pub fn auto_answer(
        &self,
        script: impl Fn(&Placed) -> Vec<(Duration, Progress)> + Send + Sync + 'static,
    ) -> Arc<Mutex<Vec<Placed>>> {
        let placed = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&placed);
        let rx = self.commands.clone();
        let script = Arc::new(script);
        thread::spawn(move || {
            while let Ok(Command::ClickToCall {
                initiator_uri,
                destination_uri,
                anchor,
                reply,
                ..
            }) = rx.recv()
            {
                let p = Placed {
                    initiator: initiator_uri,
                    destination: destination_uri,
                    anchor,
                };
                log.lock().expect("log").push(p.clone());
                let events = script(&p);
                thread::spawn(move || {
                    for (delay, event) in events {
                        thread::sleep(delay);
                        // A client that went away does not stop the call.
                        let _ = reply.send(event);
                    }
                });
            }
        });
        placed
    }

    /// The next command, as the calls thread would receive it.
    pub fn next_command(&self) -> (Placed, Sender<Progress>) {
        match self
            .commands
            .recv_timeout(WAIT)
            .expect("a command for the calls thread")
        {
            Command::ClickToCall {
                initiator_uri,
                destination_uri,
                anchor,
                reply,
                ..
            } => (
                Placed {
                    initiator: initiator_uri,
                    destination: destination_uri,
                    anchor,
                },
                reply,
            ),
            other => panic!("expected a click-to-call, got {other:?}"),
        }
    }

    pub fn shutdown(mut self) {
        if let Some(s) = self.servers.take() {
            s.shutdown();
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.servers.take() {
            s.shutdown();
        }
    }
}

pub fn progress(code: u16, leg: Role, text: &str) -> Progress {
    Progress {
        code,
        leg,
        text: text.to_owned(),
    }
}

/// The reference REFER-mode success sequence.
pub fn refer_ok() -> Vec<(Duration, Progress)> {
    let ms = Duration::from_millis(2);
    vec![
        (ms, progress(180, Role::Initiator, "Ringing initiator")),
        (ms, progress(200, Role::Initiator, "Connected to initiator")),
        (
            ms,
            progress(200, Role::Destination, "Connected to destination"),
        ),
    ]
}

/// The placed calls once there are `n` of them (the double records them on its own
/// thread, possibly after the front door has answered).
pub fn placed_eventually(log: &Arc<Mutex<Vec<Placed>>>, n: usize) -> Vec<Placed> {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = log.lock().expect("log").clone();
        if now.len() >= n {
            assert_eq!(now.len(), n, "more calls than expected: {now:?}");
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} calls placed",
            now.len()
        );
        thread::sleep(Duration::from_millis(5));
    }
}
