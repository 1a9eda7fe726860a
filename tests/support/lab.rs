//! The call-engine tests' world: the real binary with the `calls` configuration, SIPp
//! processes playing the phones, and an XML client that places a click-to-call and
//! collects its progress events.
//!
//! When a test panics, [`Lab`]'s drop prints every SIPp run's message, error and log
//! files (and the server prints its configuration, console and log), so a failure shows
//! what went over the wire.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::CALL_WAIT;
use super::server::{Server, ServerConfig};
use super::sipp::Sipp;
use super::tmp::TempDir;
use super::xml::{Event, XmlClient};

/// One test's world: a scratch directory, the server, and the log files of every SIPp
/// started through it (printed if the test fails).
pub struct Lab {
    pub server: Server,
    logs: RefCell<Vec<(String, Vec<PathBuf>)>>,
    dir: TempDir,
}

impl Lab {
    /// Starts the server with `config` and waits until every listener is bound.
    pub fn start(tag: &str, config: ServerConfig) -> Lab {
        let dir = TempDir::new(tag);
        let server = Server::start(dir.path(), &config);
        Lab {
            server,
            logs: RefCell::new(Vec::new()),
            dir,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Starts a SIPp UAS (a phone that waits for our INVITE) on a free loopback port,
    /// with `@NAME@` placeholders of the scenario replaced by `vars`; returns once SIPp
    /// holds its port.
    /// `@SERVER_PORT@` is always set to the server's SIP port.
    pub fn uas(&self, scenario: &str, vars: &[(&str, String)]) -> Sipp {
        let mut vars = vars.to_vec();
        vars.push(("SERVER_PORT", self.server.sip_port.to_string()));
        let sipp = Sipp::uas(self.dir(), scenario, &vars);
        self.logs
            .borrow_mut()
            .push((sipp.label(), sipp.log_paths()));
        sipp
    }

    /// As [`Lab::uas`], for a scenario that runs longer than SIPp's usual time-out.
    pub fn uas_lasting(&self, scenario: &str, timeout: Duration, vars: &[(&str, String)]) -> Sipp {
        let mut vars = vars.to_vec();
        vars.push(("SERVER_PORT", self.server.sip_port.to_string()));
        let sipp = Sipp::uas_lasting(self.dir(), scenario, timeout, &vars);
        self.logs
            .borrow_mut()
            .push((sipp.label(), sipp.log_paths()));
        sipp
    }

    /// As [`Lab::uas`], over TCP.
    pub fn uas_tcp(&self, scenario: &str, vars: &[(&str, String)]) -> Sipp {
        let mut vars = vars.to_vec();
        vars.push(("SERVER_PORT", self.server.sip_port.to_string()));
        let sipp = Sipp::uas_tcp(self.dir(), scenario, &vars);
        self.logs
            .borrow_mut()
            .push((sipp.label(), sipp.log_paths()));
        sipp
    }

    /// As [`Lab::uas`], for a SIPp that plays `calls` calls before it exits.
    pub fn uas_calls(&self, scenario: &str, calls: u32, vars: &[(&str, String)]) -> Sipp {
        let mut vars = vars.to_vec();
        vars.push(("SERVER_PORT", self.server.sip_port.to_string()));
        let sipp = Sipp::uas_calls(self.dir(), scenario, calls, &vars);
        self.logs
            .borrow_mut()
            .push((sipp.label(), sipp.log_paths()));
        sipp
    }

    /// As [`Lab::uas_calls`], with SIPp's global time-out set to `timeout`.
    pub fn uas_calls_lasting(
        &self,
        scenario: &str,
        calls: u32,
        timeout: Duration,
        vars: &[(&str, String)],
    ) -> Sipp {
        let mut vars = vars.to_vec();
        vars.push(("SERVER_PORT", self.server.sip_port.to_string()));
        let sipp = Sipp::uas_calls_lasting(self.dir(), scenario, calls, timeout, &vars);
        self.logs
            .borrow_mut()
            .push((sipp.label(), sipp.log_paths()));
        sipp
    }

    /// Starts a SIPp UAC scenario that sends to the server's SIP port.
    pub fn uac(&self, scenario: &str, vars: &[(&str, String)]) -> Sipp {
        let sipp = Sipp::uac(self.dir(), scenario, self.server.sip_port, vars);
        self.logs
            .borrow_mut()
            .push((sipp.label(), sipp.log_paths()));
        sipp
    }

    /// Places a click-to-call over the XML interface and returns every event up to and
    /// including the final one (see [`XmlClient::call`]).
    pub fn click_to_call(&self, initiator: &str, destination: &str, anchor: bool) -> Vec<Event> {
        let mut client = XmlClient::connect(self.server.xml_port);
        let events = client.call(initiator, destination, anchor, CALL_WAIT);
        assert!(
            client.silent_for(Duration::from_millis(300)),
            "a document after the final event"
        );
        events
    }

    /// Every SIPp run's files, for a failure message (the server prints its own).
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for (label, paths) in self.logs.borrow().iter() {
            for path in paths {
                if let Ok(text) = std::fs::read_to_string(path) {
                    out.push_str(&format!(
                        "\n===== {label}: {} =====\n{text}",
                        path.display()
                    ));
                }
            }
        }
        out
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.dump());
        }
    }
}

/// The initiator or destination address a test sends over the XML interface for a
/// phone on `port` with user part `user` (the server's translation rule turns it into
/// `sip:<user>@127.0.0.1:<port>`).
pub fn phone(port: u16, user: &str) -> String {
    format!("p{port}-{user}")
}

/// Every event of a call that reached both phones (reference traces xml-refer, xml-anchor):
/// 100, each leg ringing and connected, the destination's 200 final.
pub fn connected_both_legs() -> Vec<Event> {
    events(&[
        (100, "", "In progress"),
        (180, "Initiator", "Ringing initiator"),
        (200, "Initiator", "Connected to initiator"),
        (180, "Destination", "Ringing destination"),
        (200, "Destination", "Connected to destination"),
    ])
}

/// Shorthand for an expected event list: leg `""` means no `Leg` attribute.
pub fn events(list: &[(u16, &str, &str)]) -> Vec<Event> {
    list.iter()
        .map(|&(code, leg, text)| Event::new(code, leg, text))
        .collect()
}
