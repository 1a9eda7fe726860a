//! From a request's two addresses to a command on the calls thread: translation rules,
//! the URI check, and the hand-off. Shared by the HTTP and XML servers.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, Sender};
use log::info;

use super::admission::{Admission, Refusal};
use super::stats::FrontDoorStats;
use super::uri_check::is_valid_sip_uri;
use crate::c2c::command::{CallId, CallOptions, CallOrigin, Command, Interface, Progress, Role};
use crate::translate::PatternList;

/// The translation rules: an address in, the translated URI out, `None` when no rule
/// matches.
pub type Translator = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How long a front door waits for room in the calls thread's queue before it answers
/// "service unavailable" (the calls thread never blocks, so this only trips when it is
/// gone or badly overloaded).
const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// How long a front door waits for the calls thread to take and answer a question; it
/// never blocks, so this only trips when it is gone or badly overloaded.
const ASK_WAIT: Duration = Duration::from_secs(2);

/// Asks the calls thread (a hang-up, a query) and waits for its answer; `None` when it
/// does not answer in time.
pub(crate) fn ask<T>(
    commands: &Sender<Command>,
    make: impl FnOnce(Sender<T>) -> Command,
) -> Option<T> {
    let (reply, answer) = crossbeam_channel::bounded(1);
    commands.send_timeout(make(reply), ASK_WAIT).ok()?;
    answer.recv_timeout(ASK_WAIT).ok()
}

/// Why a click-to-call request was not placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DispatchError {
    /// No translation rule matched one of the addresses (the original's check).
    NoRule {
        initiator: String,
        destination: String,
    },
    /// A translated address is not a SIP URI: `Some(translated)` for each bad one.
    InvalidUri {
        initiator: Option<String>,
        destination: Option<String>,
    },
    /// The calls thread is gone or not taking commands.
    Unavailable,
    /// A translated address is refused by `DestinationDeny`/`DestinationAllow` (or the
    /// initiator's rules).
    Denied { leg: Role, uri: String },
    /// An admission limit (`MaxConcurrentCalls`, `MaxCallsPerSecond`,
    /// `MaxCallsPerSecondPerClient`).
    Limited(Refusal),
}

impl fmt::Display for DispatchError {
    /// The result text, without a trailing period (the XML interface's form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DispatchError::NoRule {
                initiator,
                destination,
            } => write!(
                f,
                "No translation rule for either initiator {initiator} or destination {destination}"
            ),
            DispatchError::InvalidUri {
                initiator,
                destination,
            } => {
                f.write_str("Invalid URI format for ")?;
                match (initiator, destination) {
                    (Some(i), Some(d)) => write!(f, "initiator {i} and destination {d}"),
                    (Some(i), None) => write!(f, "initiator {i}"),
                    (None, Some(d)) => write!(f, "destination {d}"),
                    (None, None) => f.write_str("request"),
                }
            }
            DispatchError::Unavailable => f.write_str("Service unavailable"),
            DispatchError::Denied { leg, uri } => {
                write!(f, "{} {uri} is not allowed", leg.as_str())
            }
            DispatchError::Limited(Refusal::Concurrent) => {
                f.write_str("Too many calls in progress; try again later")
            }
            DispatchError::Limited(Refusal::Rate(_)) => {
                f.write_str("Too many calls per second; try again later")
            }
            DispatchError::Limited(Refusal::ClientRate(_)) => {
                f.write_str("Too many calls from this client; try again later")
            }
        }
    }
}

impl DispatchError {
    /// The status/result code the front doors report.
    pub(crate) fn code(&self) -> u16 {
        match self {
            DispatchError::NoRule { .. } | DispatchError::InvalidUri { .. } => 400,
            DispatchError::Unavailable => 503,
            DispatchError::Denied { .. } => 403,
            DispatchError::Limited(Refusal::ClientRate(_)) => 429,
            DispatchError::Limited(_) => 503,
        }
    }

    /// Seconds for `Retry-After`, for the refusals a client may retry.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        match self {
            DispatchError::Limited(r) => Some(r.retry_after_secs()),
            DispatchError::Unavailable => Some(1),
            _ => None,
        }
    }
}

/// A click-to-call that the calls thread has accepted.
#[derive(Debug)]
pub(crate) struct Dispatched {
    pub id: CallId,
    pub initiator_uri: String,
    pub destination_uri: String,
    /// Progress events, ending with a final one.
    pub progress: Receiver<Progress>,
}

/// The destination and initiator rules, applied to translated addresses: deny first,
/// then allow (an empty allow list allows everything).
#[derive(Debug, Clone, Default)]
pub struct CallRules {
    pub destination_allow: Arc<PatternList>,
    pub destination_deny: Arc<PatternList>,
    pub initiator_allow: Arc<PatternList>,
    pub initiator_deny: Arc<PatternList>,
}

impl CallRules {
    /// `Err(pattern)` naming the rule that refuses `uri` (`"no allow rule"` for a miss).
    fn check(uri: &str, allow: &PatternList, deny: &PatternList) -> Result<(), String> {
        if let Some(p) = deny.first_match(uri, true) {
            return Err(format!("deny rule {p:?}"));
        }
        if !allow.is_empty() && allow.first_match(uri, false).is_none() {
            return Err("no allow rule matches".to_owned());
        }
        Ok(())
    }
}

/// Translates, checks and hands click-to-call requests to the calls thread.
pub(crate) struct Dispatcher {
    translator: Translator,
    commands: Sender<Command>,
    rules: CallRules,
    admission: Admission,
    /// `InstanceName`: the prefix of the call ids.
    instance: Option<String>,
    /// Where refusals by the limits are counted.
    stats: Arc<FrontDoorStats>,
}

impl Dispatcher {
    pub(crate) fn new(
        translator: Translator,
        commands: Sender<Command>,
        rules: CallRules,
        admission: Admission,
    ) -> Dispatcher {
        Dispatcher {
            translator,
            commands,
            rules,
            admission,
            instance: None,
            stats: Arc::default(),
        }
    }

    /// Counts its refusals in `stats`.
    pub(crate) fn with_stats(self, stats: Arc<FrontDoorStats>) -> Dispatcher {
        Dispatcher { stats, ..self }
    }

    /// Call ids start with `name` (`InstanceName`).
    pub(crate) fn with_instance(self, name: Option<String>) -> Dispatcher {
        Dispatcher {
            instance: name,
            ..self
        }
    }

    /// The calls thread's queue, for the commands that are not click-to-calls (hang-up,
    /// queries).
    pub(crate) fn commands(&self) -> &Sender<Command> {
        &self.commands
    }

    /// Translates both addresses, checks the results are SIP URIs and that the
    /// destination and initiator rules allow them, without placing anything:
    /// `(initiator_uri, destination_uri)`. `via` and `peer` name the request in the log.
    pub(crate) fn prepare(
        &self,
        via: &str,
        peer: IpAddr,
        initiator: &str,
        destination: &str,
    ) -> Result<(String, String), DispatchError> {
        let (Some(initiator_uri), Some(destination_uri)) =
            ((self.translator)(initiator), (self.translator)(destination))
        else {
            return Err(DispatchError::NoRule {
                initiator: initiator.to_owned(),
                destination: destination.to_owned(),
            });
        };
        let bad_i = !is_valid_sip_uri(&initiator_uri);
        let bad_d = !is_valid_sip_uri(&destination_uri);
        if bad_i || bad_d {
            return Err(DispatchError::InvalidUri {
                initiator: bad_i.then_some(initiator_uri),
                destination: bad_d.then_some(destination_uri),
            });
        }
        for (leg, uri, allow, deny) in [
            (
                Role::Destination,
                &destination_uri,
                &self.rules.destination_allow,
                &self.rules.destination_deny,
            ),
            (
                Role::Initiator,
                &initiator_uri,
                &self.rules.initiator_allow,
                &self.rules.initiator_deny,
            ),
        ] {
            if let Err(why) = CallRules::check(uri, allow, deny) {
                info!(target: "api", "{via}: {peer}: click-to-call {initiator_uri} -> {destination_uri} refused: {} {why}",
                    leg.as_str().to_ascii_lowercase());
                return Err(DispatchError::Denied {
                    leg,
                    uri: uri.clone(),
                });
            }
        }
        Ok((initiator_uri, destination_uri))
    }

    /// [`Dispatcher::dispatch_with`] with the configured settings (the tests' shorthand).
    #[cfg(test)]
    pub(crate) fn dispatch(
        &self,
        via: &str,
        peer: IpAddr,
        initiator: &str,
        destination: &str,
        anchor: bool,
    ) -> Result<Dispatched, DispatchError> {
        self.dispatch_with(
            via,
            peer,
            initiator,
            destination,
            anchor,
            CallOptions::default(),
        )
    }

    /// [`Dispatcher::prepare`], then the command to the calls thread with the per-call
    /// settings. `via` names the front door for the log line.
    pub(crate) fn dispatch_with(
        &self,
        via: &str,
        peer: IpAddr,
        initiator: &str,
        destination: &str,
        anchor: bool,
        options: CallOptions,
    ) -> Result<Dispatched, DispatchError> {
        let (initiator_uri, destination_uri) = self.prepare(via, peer, initiator, destination)?;
        let admitted = self.admission.admit(Instant::now(), peer).map_err(|r| {
            info!(target: "api", "{via}: {peer}: click-to-call {initiator_uri} -> {destination_uri} refused: {}",
                DispatchError::Limited(r));
            self.stats.refused(r);
            DispatchError::Limited(r)
        })?;
        // Unbounded: the calls thread must never block on a front door (a client that
        // stops reading only grows its own connection's backlog, bounded by the number
        // of events of its calls).
        let id = CallId::generate(self.instance.as_deref()).map_err(|e| {
            log::error!(target: "api", "{via}: no random bits for a call id: {e}");
            DispatchError::Unavailable
        })?;
        let (reply, progress) = crossbeam_channel::unbounded();
        let origin = CallOrigin {
            // The front doors name themselves "HTTP" (the page), "XML" and "API".
            interface: match via {
                "XML" => Interface::Xml,
                "API" => Interface::Api,
                _ => Interface::Http,
            },
            client: peer,
            initiator: initiator.to_owned(),
            destination: destination.to_owned(),
        };
        let command = Command::ClickToCall {
            initiator_uri: initiator_uri.clone(),
            destination_uri: destination_uri.clone(),
            anchor,
            id: id.clone(),
            options,
            origin,
            reply,
        };
        match self.commands.send_timeout(command, QUEUE_WAIT) {
            Ok(()) => {
                admitted.keep();
                // The id comes last: scripts match the line's start, as it always was.
                info!(target: "api", "{via}: {peer}: click-to-call {initiator_uri} -> {destination_uri}{}, id {id}",
                    if anchor { " (anchored)" } else { "" });
                Ok(Dispatched {
                    id,
                    initiator_uri,
                    destination_uri,
                    progress,
                })
            }
            Err(SendTimeoutError::Timeout(_)) | Err(SendTimeoutError::Disconnected(_)) => {
                Err(DispatchError::Unavailable)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::admission::Limits;
    use crate::c2c::command::CallCount;

    fn dispatcher() -> (Dispatcher, Receiver<Command>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let translator: Translator = Arc::new(|a: &str| {
            if a.starts_with("sip:") {
                Some(a.to_owned())
            } else if a.chars().all(|c| c.is_ascii_digit()) {
                Some(format!("sip:{a}@127.0.0.1"))
            } else {
                None
            }
        });
        (
            Dispatcher::new(
                translator,
                tx,
                CallRules::default(),
                Admission::new(Limits::default(), Arc::new(CallCount::default())),
            ),
            rx,
        )
    }

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn a_valid_request_reaches_the_calls_thread_translated() {
        let (d, rx) = dispatcher();
        let placed = d
            .dispatch("test", PEER, "100", "sip:200@h", true)
            .expect("placed");
        assert_eq!(placed.initiator_uri, "sip:100@127.0.0.1");
        match rx.try_recv().expect("command") {
            Command::ClickToCall {
                initiator_uri,
                destination_uri,
                anchor,
                id,
                ..
            } => {
                assert_eq!(initiator_uri, "sip:100@127.0.0.1");
                assert_eq!(destination_uri, "sip:200@h");
                assert!(anchor);
                assert_eq!(id, placed.id);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_rule_names_both_original_addresses() {
        let (d, rx) = dispatcher();
        let err = d
            .dispatch("test", PEER, "100", "def", false)
            .expect_err("refused");
        assert_eq!(
            err.to_string(),
            "No translation rule for either initiator 100 or destination def"
        );
        assert_eq!(err.code(), 400);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn invalid_uris_are_refused_before_any_call() {
        let (d, rx) = dispatcher();
        let err = d
            .dispatch("test", PEER, "sip:@", "100", false)
            .expect_err("refused");
        assert_eq!(err.to_string(), "Invalid URI format for initiator sip:@");
        let err = d
            .dispatch("test", PEER, "sip:<>", "sip:@", false)
            .expect_err("refused");
        assert_eq!(
            err.to_string(),
            "Invalid URI format for initiator sip:<> and destination sip:@"
        );
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_gone_calls_thread_is_unavailable() {
        let (d, rx) = dispatcher();
        drop(rx);
        let err = d
            .dispatch("test", PEER, "100", "200", false)
            .expect_err("refused");
        assert_eq!(err, DispatchError::Unavailable);
        assert_eq!(err.code(), 503);
    }

    fn with_policy(rules: CallRules, limits: Limits) -> (Dispatcher, Receiver<Command>) {
        let (d, rx) = dispatcher();
        let d = Dispatcher {
            rules,
            admission: Admission::new(limits, Arc::new(CallCount::default())),
            ..d
        };
        (d, rx)
    }

    #[test]
    fn deny_rules_come_before_allow_rules_and_refuse_with_403() {
        let list = |p: &[&str]| Arc::new(PatternList::new(p.iter().copied()).expect("patterns"));
        let rules = CallRules {
            destination_allow: list(&["@127\\.0\\.0\\.1$"]),
            destination_deny: list(&["^sip:00"]),
            initiator_deny: list(&["^sip:666@"]),
            ..CallRules::default()
        };
        let (d, rx) = with_policy(rules, Limits::default());
        let err = d
            .dispatch("test", PEER, "100", "0044", false)
            .expect_err("denied");
        assert_eq!(err.code(), 403);
        assert_eq!(
            err.to_string(),
            "Destination sip:0044@127.0.0.1 is not allowed"
        );
        let err = d
            .dispatch("test", PEER, "100", "sip:200@h", false)
            .expect_err("not allowed");
        assert_eq!(err.code(), 403);
        let err = d
            .dispatch("test", PEER, "666", "200", false)
            .expect_err("initiator");
        assert_eq!(
            err.to_string(),
            "Initiator sip:666@127.0.0.1 is not allowed"
        );
        // HEAD's check sees the same refusal.
        assert!(d.prepare("test", PEER, "100", "0044").is_err());
        assert!(rx.try_recv().is_err());
        d.dispatch("test", PEER, "100", "200", false)
            .expect("allowed");
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn limits_refuse_with_503_or_429_and_a_retry_after() {
        let limits = Limits {
            max_concurrent: 1,
            per_second: 0,
            per_client_per_second: 0,
        };
        let (d, rx) = with_policy(CallRules::default(), limits);
        d.dispatch("test", PEER, "100", "200", false)
            .expect("first");
        let err = d
            .dispatch("test", PEER, "100", "200", false)
            .expect_err("second");
        assert_eq!((err.code(), err.retry_after()), (503, Some(1)));
        assert_eq!(rx.try_iter().count(), 1);
        let limits = Limits {
            max_concurrent: 0,
            per_second: 0,
            per_client_per_second: 1,
        };
        let (d, _rx) = with_policy(CallRules::default(), limits);
        d.dispatch("test", PEER, "100", "200", false)
            .expect("first");
        let err = d
            .dispatch("test", PEER, "100", "200", false)
            .expect_err("second");
        assert_eq!((err.code(), err.retry_after()), (429, Some(1)));
    }

    #[test]
    fn a_failed_hand_off_gives_the_call_place_back() {
        let limits = Limits {
            max_concurrent: 1,
            ..Limits::default()
        };
        let (d, rx) = with_policy(CallRules::default(), limits);
        drop(rx);
        assert_eq!(
            d.dispatch("test", PEER, "100", "200", false).err(),
            Some(DispatchError::Unavailable)
        );
        assert_eq!(
            d.admission
                .admit(Instant::now(), PEER)
                .map(|a| a.keep())
                .err(),
            None
        );
    }
}
