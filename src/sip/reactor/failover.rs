//! Where one outgoing request may still go: its RFC 3263 targets in order, which of them
//! failed and why, and the UDP → TCP switch for size with its way back (RFC 3261 §18.1.1).
//! Sans-IO: the reactor core asks for the next target and reports each failure.

use crate::sip::Transport;
use crate::sip::dns::{self, ResolveRequest};
use crate::sip::msg::Message;
use crate::sip::transaction::TxFailure;
use crate::sip::transport::{ConnId, Target};

use super::routing::transport_for_size;

/// A request waiting for its targets or for the outcome of one of them.
pub(super) struct Outgoing {
    /// The request as the calls thread gave it (no Via of ours yet).
    pub(super) request: Message,
    /// An ACK for a 2xx: sent once per target, not as a transaction.
    pub(super) is_ack: bool,
    /// RFC 3263 targets in order; `next` is the first not yet tried. Empty while the
    /// next hop is being resolved.
    targets: Vec<dns::Target>,
    next: usize,
    /// The URI named the transport: no switch to TCP for size (§18.1.1).
    explicit_transport: bool,
    /// The host name a TLS certificate must carry (RFC 5922 §7).
    tls_name: Option<String>,
    /// Why the last target failed, for the report when none is left.
    last_failure: Option<TxFailure>,
    /// The target just tried went over TCP only because of the request's size: if TCP
    /// fails there, UDP is tried on the same target first (RFC 3261 §18.1.1).
    upgraded: Option<dns::Target>,
    /// Send the next attempt to this target over UDP.
    retry_udp: Option<dns::Target>,
    /// The calls thread CANCELled the request (RFC 3261 §9.1): no further attempt is
    /// started, whatever becomes of the live one.
    pub(super) cancel_requested: bool,
    /// The connection the far end of the request's dialog last spoke on, for the first
    /// attempt (RFC 5923-style reuse).
    pub(super) flow: Option<Flow>,
}

/// A TCP or TLS connection a dialog's far end used: its 2xx to our INVITE, or a request
/// of its own, came on it. The dialog's later requests without a route set go on it while it is open (RFC
/// 5923 §4 reuses a connection for the requests of its peer; for a phone that cannot be
/// connected to, behind NAT or listening nowhere, only that connection reaches it), and
/// to their target over a new connection once it has closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Flow {
    pub(super) conn: ConnId,
    /// The connection's far end, as the transport knows the connection.
    pub(super) peer: Target,
}

impl Outgoing {
    /// A request whose next hop is being resolved with `lookup`.
    pub(super) fn new(request: Message, lookup: &ResolveRequest, is_ack: bool) -> Outgoing {
        Outgoing {
            request,
            is_ack,
            targets: Vec::new(),
            next: 0,
            explicit_transport: lookup.transport.is_some(),
            tls_name: lookup
                .host
                .parse::<std::net::IpAddr>()
                .is_err()
                .then(|| lookup.host.clone()),
            last_failure: None,
            upgraded: None,
            retry_udp: None,
            cancel_requested: false,
            flow: None,
        }
    }

    /// The next hop is a host name (not an address): its resolution is a DNS lookup.
    pub(super) fn by_name(&self) -> bool {
        self.tls_name.is_some()
    }

    /// The connection to write `target`'s attempt on: the dialog's flow, once, when it
    /// runs over the target's transport (a request is never moved to another transport
    /// than its Via names, RFC 3261 §18.1.1).
    pub(super) fn take_flow(&mut self, target: &Target) -> Option<Flow> {
        self.flow
            .take()
            .filter(|f| f.peer.transport == target.transport)
    }

    /// The resolver's answer, in the order to try (RFC 3263 §4.3).
    pub(super) fn set_targets(&mut self, targets: Vec<dns::Target>) {
        self.targets = targets;
    }

    /// Whether a target is left that was not tried yet: a 503 moves on only then
    /// (RFC 3263 §4.3).
    pub(super) fn has_untried(&self) -> bool {
        self.next < self.targets.len()
    }

    /// The next target to send to, or why none is left. `udp_bound` says whether UDP can be
    /// sent at all; a target over a transport we lack is skipped (and remembered as the
    /// failure). `scratch` is reused to measure the request.
    pub(super) fn next_target(
        &mut self,
        udp_bound: bool,
        scratch: &mut Vec<u8>,
    ) -> Result<Target, TxFailure> {
        loop {
            let (dns_target, transport) = match self.retry_udp.take() {
                Some(t) => (t, Transport::Udp),
                None => {
                    let Some(dns_target) = self.targets.get(self.next).copied() else {
                        return Err(self
                            .last_failure
                            .clone()
                            .unwrap_or_else(|| TxFailure::Transport("no usable target".into())));
                    };
                    self.next += 1;
                    // Only an unpinned UDP target can move to TCP for size (§18.1.1); measure
                    // the request just then.
                    let size = if dns_target.transport == Transport::Udp && !self.explicit_transport
                    {
                        scratch.clear();
                        self.request.write_to(scratch);
                        scratch.len()
                    } else {
                        0
                    };
                    let transport =
                        transport_for_size(dns_target.transport, self.explicit_transport, size);
                    self.upgraded = (transport != dns_target.transport).then_some(dns_target);
                    (dns_target, transport)
                }
            };
            if transport == Transport::Udp && !udp_bound {
                self.last_failure = Some(TxFailure::Transport(format!("no {transport} transport")));
                continue;
            }
            let mut target = Target::new(dns_target.addr, transport);
            if transport == Transport::Tls {
                target.tls_name = self.tls_name.clone();
            }
            return Ok(target);
        }
    }

    /// The target just tried failed with `why`. True when it is retried over UDP because
    /// only the request's size had moved it to TCP (RFC 3261 §18.1.1); otherwise the next
    /// target comes.
    pub(super) fn failed(&mut self, why: TxFailure) -> bool {
        // A time-out says nothing against TCP: no retry over UDP then.
        let upgraded = self.upgraded.take();
        if matches!(why, TxFailure::Transport(_)) {
            self.retry_udp = upgraded;
        }
        self.last_failure = Some(why);
        self.retry_udp.is_some()
    }
}
