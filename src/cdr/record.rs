//! One call detail record: what is known of a click-to-call once it is over, gathered on
//! the calls thread while it runs ([`CallFacts`]) and frozen when it ends
//! ([`CallFacts::finish`]).

use std::time::SystemTime;

use serde::Serialize;

use super::mask::mask_digits;
use super::time::rfc3339;
use crate::c2c::command::{CallMode, CallOrigin, Progress, Role};

/// How the call was placed, as its record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The initiator was transferred to the destination (REFER, RFC 3515).
    Refer,
    /// We called both phones and bridged them (RFC 3725 flow I).
    Anchored,
    /// A REFER the initiator refused, then an anchored call.
    FallbackToAnchored,
    /// The initiator was sent a REFER outside any dialog and called the destination
    /// itself (RFC 5359 §2.18). Named as the `CallMode` key spells it.
    #[serde(rename = "refer-ood")]
    ReferOutOfDialog,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Refer => "refer",
            Mode::Anchored => "anchored",
            Mode::FallbackToAnchored => "fallback-to-anchored",
            Mode::ReferOutOfDialog => "refer-ood",
        }
    }
}

/// What ended the call: the first cause wins (an API hang-up is not turned into
/// `initiator` by the BYE that follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EndedBy {
    /// The initiator's phone: it refused or hung up (or, in REFER mode, its transfer
    /// subscription ended without a result).
    Initiator,
    /// The destination's phone: it refused or hung up, or answered the transfer (REFER:
    /// our part of the call ends with the transfer's outcome).
    Destination,
    /// `DELETE /api/v1/calls/{id}` or XML `<Hangup>`.
    Api,
    /// A leg rang past its ring time-out, or a transfer past its deadline.
    Timeout,
    /// SIGTERM/SIGINT ended the call.
    Shutdown,
    /// Neither phone chose it: no answer to a request of ours, a dialog that failed,
    /// an offer the initiator refused.
    Error,
}

impl EndedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            EndedBy::Initiator => "initiator",
            EndedBy::Destination => "destination",
            EndedBy::Api => "api",
            EndedBy::Timeout => "timeout",
            EndedBy::Shutdown => "shutdown",
            EndedBy::Error => "error",
        }
    }

    /// The phone of `leg`.
    pub(crate) fn leg(leg: Role) -> EndedBy {
        match leg {
            Role::Initiator => EndedBy::Initiator,
            Role::Destination => EndedBy::Destination,
        }
    }
}

/// A finished call's record: the file's line and `GET /api/v1/calls?state=ended`'s entry.
/// The field order is the CSV's column order ([`CdrRecord::CSV_HEADER`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CdrRecord {
    pub call_id: String,
    /// `InstanceName`; `null` when unset.
    pub instance: Option<String>,
    /// `http`, `xml` or `api`.
    pub interface: &'static str,
    /// The requesting client's address.
    pub client: String,
    /// The addresses as the client gave them, and as translated (digits masked when
    /// `CdrMaskDigits` says so).
    pub initiator: String,
    pub destination: String,
    pub initiator_uri: String,
    pub destination_uri: String,
    pub mode: Mode,
    /// RFC 3339 UTC times, milliseconds; `null` for what did not happen.
    pub requested_at: String,
    pub initiator_answered_at: Option<String>,
    /// REFER: the initiator accepted our REFER (2xx, or a NOTIFY before it).
    pub transfer_accepted_at: Option<String>,
    /// The destination answered (anchored), or the transfer succeeded (REFER).
    pub destination_answered_at: Option<String>,
    pub ended_at: String,
    /// From the request to the end.
    pub duration_ms: u64,
    /// From the destination's answer to the end; `null` if it never answered.
    pub connected_ms: Option<u64>,
    /// The final result reported to the client (`code`/`text`, as in the XML `<Result>`).
    pub code: u16,
    pub text: String,
    pub ended_by: EndedBy,
    /// The SIP Call-IDs of the initiator's and the destination's dialog; `null` for a leg
    /// never called.
    pub initiator_sip_call_id: Option<String>,
    pub destination_sip_call_id: Option<String>,
}

impl CdrRecord {
    /// The CSV header: the JSON keys, in the same order.
    pub(crate) const CSV_HEADER: [&'static str; 21] = [
        "call_id",
        "instance",
        "interface",
        "client",
        "initiator",
        "destination",
        "initiator_uri",
        "destination_uri",
        "mode",
        "requested_at",
        "initiator_answered_at",
        "transfer_accepted_at",
        "destination_answered_at",
        "ended_at",
        "duration_ms",
        "connected_ms",
        "code",
        "text",
        "ended_by",
        "initiator_sip_call_id",
        "destination_sip_call_id",
    ];

    /// The values in [`CdrRecord::CSV_HEADER`]'s order; `null` is an empty field.
    pub(crate) fn csv_values(&self) -> [String; 21] {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        [
            self.call_id.clone(),
            opt(&self.instance),
            self.interface.to_owned(),
            self.client.clone(),
            self.initiator.clone(),
            self.destination.clone(),
            self.initiator_uri.clone(),
            self.destination_uri.clone(),
            self.mode.as_str().to_owned(),
            self.requested_at.clone(),
            opt(&self.initiator_answered_at),
            opt(&self.transfer_accepted_at),
            opt(&self.destination_answered_at),
            self.ended_at.clone(),
            self.duration_ms.to_string(),
            self.connected_ms.map(|n| n.to_string()).unwrap_or_default(),
            self.code.to_string(),
            self.text.clone(),
            self.ended_by.as_str().to_owned(),
            opt(&self.initiator_sip_call_id),
            opt(&self.destination_sip_call_id),
        ]
    }
}

/// What every record of this server shares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RecordSettings {
    /// `InstanceName`.
    pub instance: Option<String>,
    /// `CdrMaskDigits`: the last this many digits of each number are masked.
    pub mask_digits: usize,
}

/// What the calls thread learns of one call while it runs, for its record.
#[derive(Debug, Clone)]
pub(crate) struct CallFacts {
    origin: CallOrigin,
    initiator_uri: String,
    destination_uri: String,
    mode: Mode,
    requested: SystemTime,
    initiator_answered: Option<SystemTime>,
    transfer_accepted: Option<SystemTime>,
    destination_answered: Option<SystemTime>,
    result: Option<(u16, String)>,
}

impl CallFacts {
    /// A call requested now.
    pub(crate) fn new(
        origin: CallOrigin,
        initiator_uri: &str,
        destination_uri: &str,
        mode: CallMode,
    ) -> CallFacts {
        CallFacts {
            origin,
            initiator_uri: initiator_uri.to_owned(),
            destination_uri: destination_uri.to_owned(),
            mode: match mode {
                CallMode::Refer => Mode::Refer,
                CallMode::Anchored => Mode::Anchored,
                CallMode::ReferOutOfDialog => Mode::ReferOutOfDialog,
            },
            requested: SystemTime::now(),
            initiator_answered: None,
            transfer_accepted: None,
            destination_answered: None,
            result: None,
        }
    }

    /// A progress report to the client: the answers and the final result.
    pub(crate) fn progress(&mut self, p: &Progress) {
        let now = SystemTime::now();
        match (p.leg, p.code) {
            // Out of dialog the initiator's 200 is its phone accepting the REFER (kept as
            // `transfer_accepted`): it never answered a call of ours.
            (Role::Initiator, 200..=299) if self.mode != Mode::ReferOutOfDialog => {
                self.initiator_answered.get_or_insert(now);
            }
            (Role::Destination, 200..=299) => {
                self.destination_answered.get_or_insert(now);
            }
            _ => {}
        }
        if p.is_final() && self.result.is_none() {
            self.result = Some((p.code, p.text.clone()));
        }
    }

    /// We are calling the destination ourselves: in a REFER call, the fallback.
    pub(crate) fn destination_invited(&mut self) {
        if self.mode == Mode::Refer {
            self.mode = Mode::FallbackToAnchored;
        }
    }

    /// The initiator accepted our REFER.
    pub(crate) fn transfer_accepted(&mut self) {
        self.transfer_accepted.get_or_insert_with(SystemTime::now);
    }

    /// The record of the call, over now.
    pub(crate) fn finish(
        self,
        call_id: &str,
        ended_by: EndedBy,
        sip_call_ids: [Option<String>; 2],
        settings: &RecordSettings,
    ) -> CdrRecord {
        let ended = SystemTime::now();
        let ms = |from: SystemTime| {
            ended
                .duration_since(from)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        };
        let mask = |text: &str| mask_digits(text, settings.mask_digits);
        // Every accepted call ends with a final result; a record without one says so.
        let (code, text) = self.result.unwrap_or((500, "No final result".to_owned()));
        let [initiator_sip_call_id, destination_sip_call_id] = sip_call_ids;
        CdrRecord {
            call_id: call_id.to_owned(),
            instance: settings.instance.clone(),
            interface: self.origin.interface.as_str(),
            client: crate::access::unmap(self.origin.client).to_string(),
            initiator: mask(&self.origin.initiator),
            destination: mask(&self.origin.destination),
            initiator_uri: mask(&self.initiator_uri),
            destination_uri: mask(&self.destination_uri),
            mode: self.mode,
            requested_at: rfc3339(self.requested),
            initiator_answered_at: self.initiator_answered.map(rfc3339),
            transfer_accepted_at: self.transfer_accepted.map(rfc3339),
            destination_answered_at: self.destination_answered.map(rfc3339),
            ended_at: rfc3339(ended),
            duration_ms: ms(self.requested),
            connected_ms: self.destination_answered.map(ms),
            code,
            text,
            ended_by,
            initiator_sip_call_id,
            destination_sip_call_id,
        }
    }
}
