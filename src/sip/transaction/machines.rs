//! One type for either client machine and one for either server machine, so the layer
//! can hold them in one map each.

use std::time::Instant;

use super::{
    ClientInvite, ClientNonInvite, ServerInvite, ServerNonInvite, Timers, TxAction, TxError,
    TxState,
};

#[derive(Debug)]
pub(super) enum ClientMachine {
    Invite(ClientInvite),
    NonInvite(ClientNonInvite),
}

impl ClientMachine {
    pub(super) fn new(now: Instant, timers: Timers, reliable: bool, invite: bool) -> ClientMachine {
        if invite {
            ClientMachine::Invite(ClientInvite::new(now, timers, reliable))
        } else {
            ClientMachine::NonInvite(ClientNonInvite::new(now, timers, reliable))
        }
    }

    pub(super) fn is_invite(&self) -> bool {
        matches!(self, ClientMachine::Invite(_))
    }

    pub(super) fn state(&self) -> TxState {
        match self {
            ClientMachine::Invite(m) => m.state(),
            ClientMachine::NonInvite(m) => m.state(),
        }
    }

    pub(super) fn handle_response(&mut self, now: Instant, status: u16) {
        match self {
            ClientMachine::Invite(m) => m.handle_response(now, status),
            ClientMachine::NonInvite(m) => m.handle_response(now, status),
        }
    }

    pub(super) fn handle_timeout(&mut self, now: Instant) {
        match self {
            ClientMachine::Invite(m) => m.handle_timeout(now),
            ClientMachine::NonInvite(m) => m.handle_timeout(now),
        }
    }

    /// A CANCEL for this INVITE went out (RFC 3261 §9.1); nothing for a non-INVITE.
    pub(super) fn cancel_sent(&mut self, now: Instant) {
        if let ClientMachine::Invite(m) = self {
            m.cancel_sent(now);
        }
    }

    pub(super) fn transport_error(&mut self) {
        match self {
            ClientMachine::Invite(m) => m.transport_error(),
            ClientMachine::NonInvite(m) => m.transport_error(),
        }
    }

    pub(super) fn poll_action(&mut self) -> Option<TxAction> {
        match self {
            ClientMachine::Invite(m) => m.poll_action(),
            ClientMachine::NonInvite(m) => m.poll_action(),
        }
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            ClientMachine::Invite(m) => m.poll_timeout(),
            ClientMachine::NonInvite(m) => m.poll_timeout(),
        }
    }
}

#[derive(Debug)]
pub(super) enum ServerMachine {
    Invite(ServerInvite),
    NonInvite(ServerNonInvite),
}

impl ServerMachine {
    pub(super) fn new(now: Instant, timers: Timers, reliable: bool, invite: bool) -> ServerMachine {
        if invite {
            ServerMachine::Invite(ServerInvite::new(now, timers, reliable))
        } else {
            ServerMachine::NonInvite(ServerNonInvite::new(now, timers, reliable))
        }
    }

    pub(super) fn state(&self) -> TxState {
        match self {
            ServerMachine::Invite(m) => m.state(),
            ServerMachine::NonInvite(m) => m.state(),
        }
    }

    pub(super) fn send_response(&mut self, now: Instant, status: u16) -> Result<(), TxError> {
        match self {
            ServerMachine::Invite(m) => m.send_response(now, status),
            ServerMachine::NonInvite(m) => m.send_response(now, status),
        }
    }

    pub(super) fn handle_request_retransmission(&mut self, now: Instant) {
        match self {
            ServerMachine::Invite(m) => m.handle_request_retransmission(now),
            ServerMachine::NonInvite(m) => m.handle_request_retransmission(now),
        }
    }

    /// Only an INVITE transaction takes an ACK; the key makes any other impossible.
    pub(super) fn handle_ack(&mut self, now: Instant) {
        if let ServerMachine::Invite(m) = self {
            m.handle_ack(now);
        }
    }

    pub(super) fn handle_timeout(&mut self, now: Instant) {
        match self {
            ServerMachine::Invite(m) => m.handle_timeout(now),
            ServerMachine::NonInvite(m) => m.handle_timeout(now),
        }
    }

    pub(super) fn transport_error(&mut self) {
        match self {
            ServerMachine::Invite(m) => m.transport_error(),
            ServerMachine::NonInvite(m) => m.transport_error(),
        }
    }

    pub(super) fn poll_action(&mut self) -> Option<TxAction> {
        match self {
            ServerMachine::Invite(m) => m.poll_action(),
            ServerMachine::NonInvite(m) => m.poll_action(),
        }
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            ServerMachine::Invite(m) => m.poll_timeout(),
            ServerMachine::NonInvite(m) => m.poll_timeout(),
        }
    }
}
