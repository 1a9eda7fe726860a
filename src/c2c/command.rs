//! The calls thread's command interface: what the HTTP and XML front doors send, and the
//! progress events they get back on a per-request channel.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender};

use super::registry::{CallEvent, CallView, MetricsSnapshot};
use crate::cdr::CdrRecord;

/// Which leg of a click-to-call a progress event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Initiator,
    Destination,
}

impl Role {
    /// The other leg of the same call.
    pub fn other(self) -> Role {
        match self {
            Role::Initiator => Role::Destination,
            Role::Destination => Role::Initiator,
        }
    }

    /// Index of the leg in per-call pairs (`[initiator, destination]`).
    pub fn index(self) -> usize {
        match self {
            Role::Initiator => 0,
            Role::Destination => 1,
        }
    }

    /// The value of the XML `Leg` attribute, as the original writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Initiator => "Initiator",
            Role::Destination => "Destination",
        }
    }
}

/// One progress event of a click-to-call request. `code` follows SIP/HTTP ranges:
/// 1xx provisional, 2xx success, 3xx–6xx failure. A request is over after its final
/// event: `code >= 300`, or `code` 2xx with `leg == Role::Destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub code: u16,
    pub leg: Role,
    pub text: String,
}

impl Progress {
    /// True when no further event follows this one for the same request.
    pub fn is_final(&self) -> bool {
        self.code >= 300 || ((200..300).contains(&self.code) && self.leg == Role::Destination)
    }
}

/// A command for the calls thread.
// `ClickToCall` is the large one and by far the most frequent: boxing it would add an
// allocation per call to save bytes in the rare `Hangup`/`Query` (the command queue is
// bounded: 1024 slots of a few hundred bytes).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Command {
    /// Place a click-to-call. The sender of the command has already translated both
    /// addresses and checked they are SIP URIs, and has reported 100 "In progress" itself.
    /// Every accepted command ends in exactly one final `Progress` on `reply`; a dropped
    /// receiver (client gone) does not stop the call.
    ClickToCall {
        initiator_uri: String,
        destination_uri: String,
        anchor: bool,
        /// The id the front door gave the call (and already showed its client).
        id: CallId,
        options: CallOptions,
        /// Who asked, and what, for the call's detail record.
        origin: CallOrigin,
        reply: Sender<Progress>,
    },
    /// Hang a call up: CANCEL what rings, BYE what is up; its final result (if it had none
    /// yet) says it was hung up by the API.
    Hangup {
        id: CallId,
        reply: Sender<HangupOutcome>,
    },
    /// A question about the calls, answered on its own channel.
    Query(Query),
}

/// What [`Command::Query`] asks. Each is answered at once by the calls thread, which owns
/// the call registry; the asker waits a bounded time for the answer.
#[derive(Debug)]
pub enum Query {
    /// The calls not yet over.
    List { reply: Sender<Vec<CallView>> },
    /// One call, live or recently ended.
    Get {
        id: CallId,
        reply: Sender<Option<CallView>>,
    },
    /// One call's state so far and a channel of what happens next (ending with
    /// [`CallEvent::End`]); `None` for an unknown call. An ended call's channel holds only
    /// its end.
    Subscribe {
        id: CallId,
        reply: Sender<Option<(CallView, Receiver<CallEvent>)>>,
    },
    /// The counters for `/metrics`.
    Metrics { reply: Sender<MetricsSnapshot> },
    /// The detail records of the calls ended lately, oldest first.
    Ended { reply: Sender<Vec<CdrRecord>> },
    /// `/healthz`: the calls thread passes `reply` on to the SIP reactor, which answers, so
    /// an answer shows both threads take their work.
    Ping { reply: Sender<()> },
}

/// The front door a click-to-call came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    /// The legacy page, `/clicktocall.html`.
    Http,
    /// The XML socket.
    Xml,
    /// The JSON API, `POST /api/v1/calls`.
    Api,
}

impl Interface {
    /// The name records use.
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Http => "http",
            Interface::Xml => "xml",
            Interface::Api => "api",
        }
    }
}

/// Who asked for a click-to-call and what they asked for, before translation: the
/// call's detail record carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOrigin {
    pub interface: Interface,
    /// The client's address.
    pub client: IpAddr,
    /// The initiator and destination as the client gave them.
    pub initiator: String,
    pub destination: String,
}

#[cfg(test)]
impl CallOrigin {
    /// An XML request from loopback, for tests that place calls by hand.
    pub(crate) fn for_test(initiator: &str, destination: &str) -> CallOrigin {
        CallOrigin {
            interface: Interface::Xml,
            client: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            initiator: initiator.to_owned(),
            destination: destination.to_owned(),
        }
    }
}

/// The answer to [`Command::Hangup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupOutcome {
    /// The legs are being cancelled or hung up.
    HangingUp,
    /// The call is already over.
    AlreadyEnded,
    /// No such call (never, or forgotten).
    Unknown,
}

/// Per-call settings a request may give; `None` keeps the configured one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// `RingTimeout` for this call's legs.
    pub ring_timeout: Option<std::time::Duration>,
    /// Who the initiator's phone is told calls it (its INVITE's From).
    pub initiator_caller: CallerOverride,
    /// Who the destination's phone is told calls it (anchored calls).
    pub destination_caller: CallerOverride,
    /// `InitiatorAutoAnswer` for this call.
    pub auto_answer: Option<AutoAnswer>,
    /// The call's mode when the request named one (`mode=`, `"mode"`, `<Mode>`): it wins
    /// over `anchor` and `CallMode`.
    pub mode: Option<CallMode>,
}

/// How a click-to-call connects the two phones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum CallMode {
    /// Call the initiator, then REFER it to the destination in that dialog (the
    /// original's default).
    #[default]
    Refer,
    /// Call both phones and join them (RFC 3725 flow I).
    Anchored,
    /// REFER the initiator to the destination outside any dialog (RFC 5359 §2.18,
    /// "click-to-dial"): the phone calls the destination itself.
    ReferOutOfDialog,
}

impl CallMode {
    /// Every mode, in the order `/metrics` lists them.
    pub const ALL: [CallMode; 3] = [
        CallMode::Refer,
        CallMode::Anchored,
        CallMode::ReferOutOfDialog,
    ];

    /// The spelling of the `CallMode` key, the `mode` options and `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallMode::Refer => "refer",
            CallMode::Anchored => "anchored",
            CallMode::ReferOutOfDialog => "refer-ood",
        }
    }

    /// A mode by its spelling, ignoring ASCII case.
    pub fn parse(text: &str) -> Option<CallMode> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// Index in per-mode arrays (`/metrics`).
    pub fn index(self) -> usize {
        match self {
            CallMode::Refer => 0,
            CallMode::Anchored => 1,
            CallMode::ReferOutOfDialog => 2,
        }
    }

    /// The mode of a call: the one its request named, else anchored when the request
    /// asked for it the legacy way (`AnchorCall`, `anchor=true`), else `default` (the
    /// `CallMode` key).
    pub fn resolve(requested: Option<CallMode>, anchor: bool, default: CallMode) -> CallMode {
        match (requested, anchor) {
            (Some(mode), _) => mode,
            (None, true) => CallMode::Anchored,
            (None, false) => default,
        }
    }
}

impl CallOptions {
    /// The longest per-call ring time-out, as `RingTimeout` allows.
    pub const MAX_RING_TIMEOUT_SECS: u64 = 86_400;

    /// A ring time-out a request gave: whole seconds, 1 to
    /// [`CallOptions::MAX_RING_TIMEOUT_SECS`].
    pub fn ring_timeout_secs(secs: u64) -> Option<std::time::Duration> {
        (1..=Self::MAX_RING_TIMEOUT_SECS)
            .contains(&secs)
            .then(|| std::time::Duration::from_secs(secs))
    }

    /// The same from text (a query parameter, an XML element).
    pub fn parse_ring_timeout(text: &str) -> Option<std::time::Duration> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().and_then(Self::ring_timeout_secs)
    }
}

/// A request's change to the caller identity one leg is shown; `None` keeps the
/// configured one. Both end up in a SIP header, so they are checked when the request
/// comes in ([`CallerOverride::parse_display_name`], [`CallerOverride::parse_caller_id`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerOverride {
    /// The From's display name, unquoted (it is quoted when the header is written).
    pub display_name: Option<String>,
    /// The user part of the From's URI (a number, usually), as it goes in the URI.
    pub caller_id: Option<String>,
}

/// Why a per-call identity value was refused (the text a 400 carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrideError {
    Empty,
    TooLong(usize),
    /// A control character (CR, LF, NUL, …): it would end or break the header line.
    ControlCharacter,
    /// A character the user part of a SIP URI cannot hold (RFC 3261 §25.1 `user`).
    NotUserCharacter,
    /// Not one of the [`AutoAnswer`] names.
    NotAnAutoAnswer,
}

impl std::fmt::Display for OverrideError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OverrideError::Empty => f.write_str("must not be empty"),
            OverrideError::TooLong(n) => write!(f, "longer than {n} characters"),
            OverrideError::ControlCharacter => f.write_str("holds a control character"),
            OverrideError::NotUserCharacter => f.write_str(
                "holds a character a SIP URI's user part cannot (letters, digits and -_.!~*'()&=+$,;?/ or %HH)",
            ),
            OverrideError::NotAnAutoAnswer => {
                f.write_str("must be none, call-info, alert-info or answer-mode")
            }
        }
    }
}

impl CallerOverride {
    /// The longest display name a request may give.
    pub const MAX_DISPLAY_NAME: usize = 100;
    /// The longest caller id a request may give.
    pub const MAX_CALLER_ID: usize = 64;

    /// A display name from a request: any text without control characters, at most
    /// [`CallerOverride::MAX_DISPLAY_NAME`] characters. It is written as a quoted-string
    /// (RFC 3261 §25.1), `"` and `\` as quoted-pairs; CR and LF cannot be quoted at all.
    pub fn parse_display_name(text: &str) -> Result<String, OverrideError> {
        if text.is_empty() {
            return Err(OverrideError::Empty);
        }
        if text.chars().any(char::is_control) {
            return Err(OverrideError::ControlCharacter);
        }
        if text.chars().count() > Self::MAX_DISPLAY_NAME {
            return Err(OverrideError::TooLong(Self::MAX_DISPLAY_NAME));
        }
        Ok(text.to_owned())
    }

    /// A caller id from a request: the user part of a SIP URI (RFC 3261 §25.1: unreserved,
    /// user-unreserved and `%HH` escapes), at most [`CallerOverride::MAX_CALLER_ID`]
    /// characters, e.g. `+15551234567`.
    pub fn parse_caller_id(text: &str) -> Result<String, OverrideError> {
        if text.is_empty() {
            return Err(OverrideError::Empty);
        }
        if text.chars().any(char::is_control) {
            return Err(OverrideError::ControlCharacter);
        }
        if text.len() > Self::MAX_CALLER_ID {
            return Err(OverrideError::TooLong(Self::MAX_CALLER_ID));
        }
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'%' {
                if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
                {
                    return Err(OverrideError::NotUserCharacter);
                }
                i += 3;
                continue;
            }
            let ok = c.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,;?/".contains(&c);
            if !ok {
                return Err(OverrideError::NotUserCharacter);
            }
            i += 1;
        }
        Ok(text.to_owned())
    }
}

/// The per-call identity options, by the names each front door spells them with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityOption {
    InitiatorDisplayName,
    InitiatorCallerId,
    DestinationDisplayName,
    DestinationCallerId,
    AutoAnswer,
}

impl IdentityOption {
    pub const ALL: [IdentityOption; 5] = [
        IdentityOption::InitiatorDisplayName,
        IdentityOption::InitiatorCallerId,
        IdentityOption::DestinationDisplayName,
        IdentityOption::DestinationCallerId,
        IdentityOption::AutoAnswer,
    ];

    /// The XML element (inside `<Request>`).
    pub fn xml_name(self) -> &'static str {
        match self {
            IdentityOption::InitiatorDisplayName => "InitiatorDisplayName",
            IdentityOption::InitiatorCallerId => "InitiatorCallerId",
            IdentityOption::DestinationDisplayName => "DestinationDisplayName",
            IdentityOption::DestinationCallerId => "DestinationCallerId",
            IdentityOption::AutoAnswer => "AutoAnswer",
        }
    }

    /// The JSON field of `POST /api/v1/calls`.
    pub fn json_name(self) -> &'static str {
        match self {
            IdentityOption::InitiatorDisplayName => "initiator_display_name",
            IdentityOption::InitiatorCallerId => "initiator_caller_id",
            IdentityOption::DestinationDisplayName => "destination_display_name",
            IdentityOption::DestinationCallerId => "destination_caller_id",
            IdentityOption::AutoAnswer => "auto_answer",
        }
    }

    /// The query parameter of `clicktocall.html` (lower case, as `ringtimeout`).
    pub fn query_name(self) -> &'static str {
        match self {
            IdentityOption::InitiatorDisplayName => "initiatordisplayname",
            IdentityOption::InitiatorCallerId => "initiatorcallerid",
            IdentityOption::DestinationDisplayName => "destinationdisplayname",
            IdentityOption::DestinationCallerId => "destinationcallerid",
            IdentityOption::AutoAnswer => "autoanswer",
        }
    }
}

impl CallOptions {
    /// Sets one identity option from a request's text, checked: the values end up in SIP
    /// headers.
    pub fn set_identity(
        &mut self,
        option: IdentityOption,
        text: &str,
    ) -> Result<(), OverrideError> {
        match option {
            IdentityOption::InitiatorDisplayName => {
                self.initiator_caller.display_name = Some(CallerOverride::parse_display_name(text)?)
            }
            IdentityOption::InitiatorCallerId => {
                self.initiator_caller.caller_id = Some(CallerOverride::parse_caller_id(text)?)
            }
            IdentityOption::DestinationDisplayName => {
                self.destination_caller.display_name =
                    Some(CallerOverride::parse_display_name(text)?)
            }
            IdentityOption::DestinationCallerId => {
                self.destination_caller.caller_id = Some(CallerOverride::parse_caller_id(text)?)
            }
            IdentityOption::AutoAnswer => {
                self.auto_answer =
                    Some(AutoAnswer::parse(text).ok_or(OverrideError::NotAnAutoAnswer)?)
            }
        }
        Ok(())
    }
}

/// A header in the initiator's INVITE that makes a desk phone answer by itself
/// (`InitiatorAutoAnswer`, or per call).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AutoAnswer {
    /// No header (the original).
    #[default]
    None,
    /// `Call-Info: <sip:HOST>;answer-after=0` (Yealink, Snom, Cisco, Grandstream).
    CallInfo,
    /// `Alert-Info: <http://HOST>;info=alert-autoanswer;delay=0` (Polycom, Aastra class).
    AlertInfo,
    /// `Answer-Mode: Auto` (RFC 5373 §6).
    AnswerMode,
}

impl AutoAnswer {
    /// Every value, as the configuration and the requests spell it.
    pub const ALL: [AutoAnswer; 4] = [
        AutoAnswer::None,
        AutoAnswer::CallInfo,
        AutoAnswer::AlertInfo,
        AutoAnswer::AnswerMode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AutoAnswer::None => "none",
            AutoAnswer::CallInfo => "call-info",
            AutoAnswer::AlertInfo => "alert-info",
            AutoAnswer::AnswerMode => "answer-mode",
        }
    }

    /// `none`, `call-info`, `alert-info` or `answer-mode`, any case.
    pub fn parse(text: &str) -> Option<AutoAnswer> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(text))
    }
}

/// A click-to-call's id: 128 random bits in hex, after the `InstanceName` and a `-` when
/// one is set, so several servers behind one API front can tell their calls apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(String);

impl CallId {
    /// A new id from OpenSSL's CSPRNG: unguessable, so knowing one call's id tells
    /// nothing of another's.
    pub fn generate(instance: Option<&str>) -> Result<CallId, openssl::error::ErrorStack> {
        let mut bits = [0u8; 16];
        openssl::rand::rand_bytes(&mut bits)?;
        let hex: String = bits.iter().map(|b| format!("{b:02x}")).collect();
        Ok(CallId(match instance {
            Some(name) => format!("{name}-{hex}"),
            None => hex,
        }))
    }

    /// An id as a client sent it back (a path segment, an XML element): only looked up,
    /// so any text is harmless; an overlong one is cut so it cannot cost memory.
    pub fn from_client(text: &str) -> CallId {
        CallId(text.chars().take(MAX_CALL_ID_LEN).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CallId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest id we make: a 32-character instance name, `-`, 32 hex digits.
const MAX_CALL_ID_LEN: usize = 32 + 1 + 32;

/// Click-to-calls alive, for `MaxConcurrentCalls`. A front door takes a place before it
/// sends a [`Command::ClickToCall`] (and gives it back if the send fails); the calls thread
/// gives places back as calls end. Kept outside the command so the command's shape, and
/// the engine, stay as they are.
#[derive(Debug, Default)]
pub struct CallCount(AtomicUsize);

impl CallCount {
    /// Takes a place if fewer than `max` are taken (`max` 0: no limit).
    pub fn try_take(&self, max: usize) -> bool {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (max == 0 || n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives `n` places back.
    pub fn release(&self, n: usize) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                Some(c.saturating_sub(n))
            });
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_events_are_failures_or_destination_success() {
        let p = |code, leg| Progress {
            code,
            leg,
            text: String::new(),
        };
        assert!(!p(180, Role::Initiator).is_final());
        assert!(!p(200, Role::Initiator).is_final());
        assert!(!p(180, Role::Destination).is_final());
        assert!(p(200, Role::Destination).is_final());
        assert!(p(486, Role::Initiator).is_final());
        assert!(p(408, Role::Destination).is_final());
    }

    #[test]
    fn call_ids_are_128_random_bits_in_hex_after_the_instance_name() {
        let a = CallId::generate(None).expect("id");
        let b = CallId::generate(None).expect("id");
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        let c = CallId::generate(Some("east-1")).expect("id");
        assert!(c.as_str().starts_with("east-1-"), "{c}");
        assert_eq!(c.as_str().len(), 7 + 32);
        assert_eq!(CallId::from_client(&"x".repeat(500)).as_str().len(), 65);
    }

    #[test]
    fn a_requested_mode_wins_then_anchor_then_the_default() {
        use CallMode::*;
        assert_eq!(CallMode::resolve(None, false, Refer), Refer);
        assert_eq!(
            CallMode::resolve(None, false, ReferOutOfDialog),
            ReferOutOfDialog
        );
        assert_eq!(CallMode::resolve(None, true, ReferOutOfDialog), Anchored);
        assert_eq!(
            CallMode::resolve(Some(ReferOutOfDialog), true, Refer),
            ReferOutOfDialog
        );
        assert_eq!(CallMode::resolve(Some(Refer), false, Anchored), Refer);
        assert_eq!(CallMode::parse(" REFER-OOD "), Some(ReferOutOfDialog));
        assert_eq!(CallMode::parse("ood"), None);
        for m in CallMode::ALL {
            assert_eq!(CallMode::parse(m.as_str()), Some(m));
            assert_eq!(CallMode::ALL[m.index()], m);
        }
    }

    #[test]
    fn call_count_stops_at_its_limit_and_zero_is_unlimited() {
        let c = CallCount::default();
        assert!(c.try_take(2));
        assert!(c.try_take(2));
        assert!(!c.try_take(2));
        c.release(1);
        assert!(c.try_take(2));
        assert!(c.try_take(0));
        c.release(10);
        assert_eq!(c.get(), 0);
    }
}
