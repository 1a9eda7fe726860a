//! The calls thread's command interface: what the HTTP and XML front doors send, and the
//! progress events they get back on a per-request channel.

use crossbeam_channel::Sender;

/// Which leg of a click-to-call a progress event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Leg {
    Initiator,
    Destination,
}

impl Leg {
    /// The other leg of the same call.
    pub fn other(self) -> Leg {
        match self {
            Leg::Initiator => Leg::Destination,
            Leg::Destination => Leg::Initiator,
        }
    }

    /// Index of the leg in per-call pairs (`[initiator, destination]`).
    pub fn index(self) -> usize {
        match self {
            Leg::Initiator => 0,
            Leg::Destination => 1,
        }
    }

    /// The value of the XML `Leg` attribute, as the original writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Initiator => "Initiator",
            Leg::Destination => "Destination",
        }
    }
}

/// One progress event of a click-to-call request. `code` follows SIP/HTTP ranges:
/// 1xx provisional, 2xx success, 3xx–6xx failure. A request is over after its final
/// event: `code >= 300`, or `code` 2xx with `leg == Leg::Destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub code: u16,
    pub leg: Leg,
    pub text: String,
}

impl Progress {
    /// True when no further event follows this one for the same request.
    pub fn is_final(&self) -> bool {
        self.code >= 300 || ((200..300).contains(&self.code) && self.leg == Leg::Destination)
    }
}

/// A command for the calls thread.
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
        reply: Sender<Progress>,
    },
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
        assert!(!p(180, Leg::Initiator).is_final());
        assert!(!p(200, Leg::Initiator).is_final());
        assert!(!p(180, Leg::Destination).is_final());
        assert!(p(200, Leg::Destination).is_final());
        assert!(p(486, Leg::Initiator).is_final());
        assert!(p(408, Leg::Destination).is_final());
    }
}
