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
use super::ports::unbound_port;
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

    /// Starts a SIPp UAS run as `run` (see [`Lab::uas`]).
    pub fn uas_run(&self, run: PhoneRun, scenario: &str, vars: &[(&str, String)]) -> Sipp {
        match run {
            PhoneRun::Udp => self.uas(scenario, vars),
            PhoneRun::Tcp => self.uas_tcp(scenario, vars),
            PhoneRun::Lasting(timeout) => self.uas_lasting(scenario, timeout, vars),
        }
    }

    /// The two phones of an anchored call: the initiator's SIPp playing `initiator`, then
    /// the destination's playing `destination` with `@INIT_PORT@` set to the initiator's
    /// port (the destination's scenario checks who calls it), both run as `run`.
    pub fn phones(&self, run: PhoneRun, initiator: &str, destination: &str) -> (Sipp, Sipp) {
        let initiator = self.uas_run(run, initiator, &[]);
        let destination = self.uas_run(
            run,
            destination,
            &[("INIT_PORT", initiator.port.to_string())],
        );
        (initiator, destination)
    }

    /// Places a click-to-call over XML from `initiator` (user 100) to `destination` (user
    /// 200), then waits for both phones' scenarios to pass. Returns the events (the caller's
    /// to check) and the initiator's and destination's phones, for what else it checks.
    pub fn call_phones(
        &self,
        mut initiator: Sipp,
        mut destination: Sipp,
        anchor: bool,
    ) -> (Vec<Event>, Sipp, Sipp) {
        let events = self.click_to_call(&initiator.phone("100"), &destination.phone("200"), anchor);
        destination.expect_pass();
        initiator.expect_pass();
        (events, initiator, destination)
    }

    /// [`Lab::phones`] over UDP then [`Lab::call_phones`]: a click-to-call between two
    /// SIPp phones.
    pub fn call_between(
        &self,
        initiator: &str,
        destination: &str,
        anchor: bool,
    ) -> (Vec<Event>, Sipp, Sipp) {
        let (initiator, destination) = self.phones(PhoneRun::Udp, initiator, destination);
        self.call_phones(initiator, destination, anchor)
    }

    /// A REFER-mode initiator's phone: a SIPp UAS playing `scenario` with `@DEST_PORT@` a
    /// port nobody listens on (the phone calls the destination itself, if at all: its
    /// scenario only checks the Refer-To) and `vars`. Returns the phone and the
    /// destination's address (user 200) for the click-to-call.
    pub fn transferring_phone(
        &self,
        run: PhoneRun,
        scenario: &str,
        vars: &[(&str, String)],
    ) -> (Sipp, String) {
        let dest = unbound_port();
        let mut vars = vars.to_vec();
        vars.push(("DEST_PORT", dest.to_string()));
        (self.uas_run(run, scenario, &vars), phone(dest, "200"))
    }

    /// A REFER-mode click-to-call (`<AnchorCall>false`) from the phone of
    /// [`Lab::transferring_phone`] (user 100) to its destination; waits for the phone's
    /// scenario to pass. The events are the caller's to check; the phone is returned for
    /// what else the test checks.
    pub fn transfer(&self, (mut initiator, destination): (Sipp, String)) -> (Vec<Event>, Sipp) {
        let events = self.click_to_call(&initiator.phone("100"), &destination, false);
        initiator.expect_pass();
        (events, initiator)
    }

    /// [`Lab::transferring_phone`] over UDP then [`Lab::transfer`].
    pub fn refer_call(&self, scenario: &str, vars: &[(&str, String)]) -> (Vec<Event>, Sipp) {
        self.transfer(self.transferring_phone(PhoneRun::Udp, scenario, vars))
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

/// How the lab runs a SIPp phone: over UDP or TCP with SIPp's usual time-out, or over UDP
/// for longer.
#[derive(Clone, Copy)]
pub enum PhoneRun {
    Udp,
    Tcp,
    Lasting(Duration),
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
