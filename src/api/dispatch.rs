//! From a request's two addresses to a command on the calls thread: translation rules,
//! the URI check, and the hand-off. Shared by the HTTP and XML servers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, SendTimeoutError, Sender};
use log::info;

use super::uri_check::is_valid_sip_uri;
use crate::c2c::command::{Command, Progress};

/// The translation rules: an address in, the translated URI out, `None` when no rule
/// matches.
pub type Translator = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How long a front door waits for room in the calls thread's queue before it answers
/// "service unavailable" (the calls thread never blocks, so this only trips when it is
/// gone or badly overloaded).
const QUEUE_WAIT: Duration = Duration::from_secs(2);

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
        }
    }
}

impl DispatchError {
    /// The status/result code the front doors report.
    pub(crate) fn code(&self) -> u16 {
        match self {
            DispatchError::NoRule { .. } | DispatchError::InvalidUri { .. } => 400,
            DispatchError::Unavailable => 503,
        }
    }
}

/// A click-to-call that the calls thread has accepted.
#[derive(Debug)]
pub(crate) struct Dispatched {
    pub initiator_uri: String,
    pub destination_uri: String,
    /// Progress events, ending with a final one.
    pub progress: Receiver<Progress>,
}

/// Translates, checks and hands click-to-call requests to the calls thread.
pub(crate) struct Dispatcher {
    translator: Translator,
    commands: Sender<Command>,
}

impl Dispatcher {
    pub(crate) fn new(translator: Translator, commands: Sender<Command>) -> Dispatcher {
        Dispatcher {
            translator,
            commands,
        }
    }

    /// Translates both addresses and checks the results are SIP URIs, without placing
    /// anything: `(initiator_uri, destination_uri)`.
    pub(crate) fn prepare(
        &self,
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
        Ok((initiator_uri, destination_uri))
    }

    /// [`Dispatcher::prepare`], then the command to the calls thread. `via` names the
    /// front door for the log line.
    pub(crate) fn dispatch(
        &self,
        via: &str,
        initiator: &str,
        destination: &str,
        anchor: bool,
    ) -> Result<(String, String), DispatchError> {
        self.dispatch_tracked(via, initiator, destination, anchor)
            .map(|d| (d.initiator_uri, d.destination_uri))
    }

    /// [`Dispatcher::dispatch`], keeping the progress channel.
    pub(crate) fn dispatch_tracked(
        &self,
        via: &str,
        initiator: &str,
        destination: &str,
        anchor: bool,
    ) -> Result<Dispatched, DispatchError> {
        let (initiator_uri, destination_uri) = self.prepare(initiator, destination)?;
        // Unbounded: the calls thread must never block on a front door (a client that
        // stops reading only grows its own connection's backlog, bounded by the number
        // of events of its calls).
        let (reply, progress) = crossbeam_channel::unbounded();
        let command = Command::ClickToCall {
            initiator_uri: initiator_uri.clone(),
            destination_uri: destination_uri.clone(),
            anchor,
            reply,
        };
        match self.commands.send_timeout(command, QUEUE_WAIT) {
            Ok(()) => {
                info!(target: "api", "{via}: click-to-call {initiator_uri} -> {destination_uri}{}",
                    if anchor { " (anchored)" } else { "" });
                Ok(Dispatched {
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
        (Dispatcher::new(translator, tx), rx)
    }

    #[test]
    fn a_valid_request_reaches_the_calls_thread_translated() {
        let (d, rx) = dispatcher();
        let placed = d
            .dispatch_tracked("test", "100", "sip:200@h", true)
            .expect("placed");
        assert_eq!(placed.initiator_uri, "sip:100@127.0.0.1");
        match rx.try_recv().expect("command") {
            Command::ClickToCall {
                initiator_uri,
                destination_uri,
                anchor,
                ..
            } => {
                assert_eq!(initiator_uri, "sip:100@127.0.0.1");
                assert_eq!(destination_uri, "sip:200@h");
                assert!(anchor);
            }
        }
    }

    #[test]
    fn no_rule_names_both_original_addresses() {
        let (d, rx) = dispatcher();
        let err = d
            .dispatch("test", "100", "def", false)
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
            .dispatch("test", "sip:@", "100", false)
            .expect_err("refused");
        assert_eq!(err.to_string(), "Invalid URI format for initiator sip:@");
        let err = d
            .dispatch("test", "sip:<>", "sip:@", false)
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
            .dispatch("test", "100", "200", false)
            .expect_err("refused");
        assert_eq!(err, DispatchError::Unavailable);
        assert_eq!(err.code(), 503);
    }
}
