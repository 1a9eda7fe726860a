//! The calls thread's command interface: what the HTTP and XML front doors send, and the
//! progress events they get back on a per-request channel.

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::Sender;

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
