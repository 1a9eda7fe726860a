//! One call leg: an INVITE we send and the dialog it creates (RFC 3261 §12–§15), seen from
//! the UAC side. It builds every request of the dialog (ACK, BYE, re-INVITE, REFER) and
//! reads the responses and in-dialog requests that concern it. No I/O: the caller sends
//! what it returns through the reactor.

use std::net::SocketAddr;

use crate::sip::msg::{Message, Method, NameAddr, Uri, new_call_id, new_tag};

/// The methods we serve (RFC 3261 §20.5): what `c2c::engine` answers in a dialog, and
/// OPTIONS outside one. The C++ original also listed REFER, SUBSCRIBE and PRACK, which
/// it (and we) answer 405: a peer believing the list would fail. PRACK is one we send
/// (RFC 3262 §4), never one we take: we send no reliable provisional.
pub(crate) const ALLOW: &str = "INVITE, ACK, CANCEL, OPTIONS, BYE, NOTIFY, UPDATE, INFO, MESSAGE";
/// The extensions we implement (RFC 3261 §20.37): session timers (RFC 4028) and, as UAC,
/// reliable provisionals (RFC 3262). Not the original's `replaces` (we take no INVITE
/// with Replaces, RFC 3891) nor `norefersub` (we take no REFER, RFC 4488).
pub(crate) const SUPPORTED: &str = "timer, 100rel";
/// A re-INVITE does not offer 100rel (we would have to PRACK the initiator's provisionals).
const SUPPORTED_REINVITE: &str = "timer";
pub(crate) const USER_AGENT: &str = "ClickToCall";
const MAX_FORWARDS: &str = "70";
const SDP: &str = "application/sdp";

/// What a leg needs to place its INVITE.
#[derive(Debug, Clone)]
pub(crate) struct DialogSpec {
    /// Request-URI and `To` of the INVITE.
    pub target: Uri,
    /// `From` without tag (a tag is added).
    pub from: NameAddr,
    /// Our `Contact` (RFC 3261 §8.1.1.8).
    pub contact: NameAddr,
    /// Pre-loaded route (RFC 3261 §8.1.2), e.g. the outbound proxy with `lr`.
    pub outbound_proxy: Option<Uri>,
    /// `OutboundProxyAll`: the outbound proxy stays the first hop of every request of
    /// the dialog, ahead of the route set the Record-Route gives.
    pub proxy_all: bool,
    /// `FixNatContact`: see [`Dialog::nat_target`].
    pub fix_nat: bool,
    /// The SDP offer, or `None` for an offerless INVITE (the 2xx then carries the offer and
    /// its ACK must wait for our answer).
    pub offer: Option<Vec<u8>>,
    /// Headers of the initial INVITE only, after ours (`c2c::identity`: P-Asserted-Identity,
    /// Privacy, auto-answer, the operator's extra header). A redirected or re-authorised
    /// copy of the INVITE keeps them; in-dialog requests do not carry them.
    pub extra_headers: Vec<(String, String)>,
}

/// Where the dialog stands (RFC 3261 §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DialogState {
    /// INVITE sent, no dialog yet.
    Calling,
    /// A provisional response with a To tag created an early dialog.
    Early,
    /// A 2xx confirmed it.
    Confirmed,
    /// Over.
    Terminated,
}

/// What a response to the leg's INVITE means.
// Built once per response and consumed at once: boxing the messages would only add
// allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum InviteOutcome {
    /// 1xx; `ringing` for 180–189 (RFC 3261 §21.1: 18x means the callee is being alerted
    /// or the call is progressing). `prack` acknowledges a reliable provisional
    /// (RFC 3262 §4): send it as a new transaction in its early dialog, whose To tag is
    /// `tag`. `sdp` is the body of a reliable provisional when it is SDP: to an offerless
    /// INVITE the first one is the offer, and the PRACK must carry the answer (RFC 3262
    /// §5), so the caller decides what the PRACK carries before sending it.
    Provisional {
        ringing: bool,
        prack: Option<Message>,
        sdp: Option<Vec<u8>>,
        tag: Option<String>,
    },
    /// The first 2xx: the dialog is confirmed. `ack` is the ACK to send now, or `None`
    /// when it must wait for an answer to the 2xx's offer (offerless INVITE).
    Answered {
        sdp: Option<Vec<u8>>,
        ack: Option<Message>,
    },
    /// A retransmission of the 2xx we accepted: send the same ACK again (RFC 3261
    /// §13.2.2.4), if it was sent already.
    Retransmission { ack: Option<Message> },
    /// A 2xx from another fork after one already won: acknowledge it and end that dialog
    /// (RFC 3261 §13.2.2.4).
    OtherFork { ack: Message, bye: Message },
    /// A final failure (the transaction layer acknowledges it).
    Failed { code: u16 },
    /// A 2xx that cannot answer the INVITE: it has no To tag (RFC 3261 §8.2.6.2 makes the
    /// UAS add one; without it no dialog can be identified) or its CSeq is not our
    /// INVITE's. Waiting would only keep the leg hanging, so the INVITE counts as failed:
    /// `ack` acknowledges the 2xx as it came, so the phone stops resending it (RFC 3261
    /// §13.2.2.4, §13.3.1.4), and `bye` ends the dialog the phone thinks it made when that
    /// was to be this one (initial INVITE). For a confirmed dialog `bye` is `None`: the
    /// caller ends the dialog with its own BYE.
    Unusable { ack: Message, bye: Option<Message> },
    /// Not for this INVITE (e.g. a response to an older CSeq), or malformed.
    Ignored,
}

/// One UAC call leg.
#[derive(Debug, Clone)]
pub(crate) struct Dialog {
    call_id: String,
    /// Our `From`, with our tag.
    local: NameAddr,
    /// Their `To`; its tag once known.
    remote: NameAddr,
    contact: NameAddr,
    remote_target: Uri,
    /// Route set, in the order requests carry it (Record-Route reversed, RFC 3261 §12.1.2).
    route_set: Vec<NameAddr>,
    local_cseq: u32,
    remote_cseq: Option<u32>,
    state: DialogState,
    /// CSeq of the INVITE whose 2xx the current ACK answers.
    invite_cseq: u32,
    /// The ACK of the last 2xx, kept to answer its retransmissions.
    ack: Option<Message>,
    /// An INVITE (initial or re-INVITE) is waiting for its final response.
    invite_pending: bool,
    /// The RSeq of the last reliable provisional acknowledged in each early dialog, by its
    /// To tag (RFC 3262 §4, §7.2: each early dialog numbers its own; a forked INVITE may
    /// have several), at most `MAX_EARLY_DIALOGS`.
    rseqs: Vec<(String, u32)>,
    /// The session interval the last 2xx to our INVITE set (RFC 4028 §7.2), as the call
    /// engine read it; `None` when it set none, and no session timer runs.
    session_interval: Option<u32>,
    /// The Min-SE our re-INVITEs carry: ours, or the largest a 422 of the peer named
    /// (RFC 4028 §7.4).
    min_se: u32,
    /// `OutboundProxyAll`: the proxy every request of the dialog goes through first.
    sticky_proxy: Option<NameAddr>,
    /// `FixNatContact`: where the phone's answers come from — the address the INVITE
    /// went to (when that is an address) until a response says otherwise.
    nat_fix_to: Option<Uri>,
    /// The Authorization / Proxy-Authorization lines of the INVITE the current ACK answers:
    /// RFC 3261 §13.2.2.4, the ACK carries the same credentials as the INVITE.
    invite_credentials: Vec<(String, String)>,
}

/// The most early dialogs of one INVITE whose reliable provisionals we acknowledge.
const MAX_EARLY_DIALOGS: usize = 16;

/// The session interval our initial INVITE asks for, and our Min-SE (RFC 4028 §4, §5:
/// 90 s is the smallest allowed).
const SESSION_EXPIRES: u32 = 1800;
pub(crate) const MIN_SE: u32 = 90;

impl Dialog {
    /// A dialog of ours not made yet (`Calling`): a fresh Call-ID, our From with a new tag,
    /// To the target without one, the outbound proxy as pre-loaded route (RFC 3261 §8.1.1,
    /// §8.1.2). No INVITE pending: the INVITE constructor marks its own. The spec's offer
    /// and extra headers belong to the first request, which the caller builds.
    pub(super) fn calling(spec: DialogSpec) -> Dialog {
        let mut local = spec.from;
        local.set_tag(&new_tag());
        let route_set: Vec<NameAddr> = spec
            .outbound_proxy
            .map(|uri| vec![NameAddr::new(uri)])
            .unwrap_or_default();
        let sticky_proxy = route_set.first().filter(|_| spec.proxy_all).cloned();
        let nat_fix_to = (spec.fix_nat && route_set.is_empty() && spec.target.host.ip().is_some())
            .then(|| spec.target.clone());
        Dialog {
            call_id: new_call_id(),
            local,
            remote: NameAddr::new(spec.target.clone()),
            contact: spec.contact,
            remote_target: spec.target,
            route_set,
            local_cseq: 0,
            remote_cseq: None,
            state: DialogState::Calling,
            invite_cseq: 0,
            ack: None,
            invite_pending: false,
            rseqs: Vec::new(),
            session_interval: None,
            min_se: MIN_SE,
            sticky_proxy,
            nat_fix_to,
            invite_credentials: Vec::new(),
        }
    }

    /// Create the leg and its initial INVITE (RFC 3261 §8.1.1, §13.2.1).
    pub(crate) fn invite(mut spec: DialogSpec) -> (Dialog, Message) {
        let body = spec.offer.take();
        let extra_headers = std::mem::take(&mut spec.extra_headers);
        let mut leg = Dialog::calling(spec);
        leg.invite_pending = true;
        let mut invite = leg.request(Method::Invite);
        leg.invite_cseq = leg.local_cseq;
        invite.push_header("Session-Expires", &SESSION_EXPIRES.to_string());
        invite.push_header("Min-SE", &MIN_SE.to_string());
        invite.push_header("Accept-Language", "en");
        invite.push_header("Allow", ALLOW);
        if body.is_some() {
            invite.push_header("Content-Type", SDP);
        }
        invite.push_header("Supported", SUPPORTED);
        invite.push_header("User-Agent", USER_AGENT);
        for (name, value) in &extra_headers {
            invite.push_header(name, value);
        }
        if let Some(sdp) = body {
            invite.set_body(Some(SDP), sdp);
        }
        (leg, invite)
    }

    pub(crate) fn state(&self) -> DialogState {
        self.state
    }

    pub(crate) fn call_id(&self) -> &str {
        &self.call_id
    }

    pub(crate) fn local_tag(&self) -> Option<&str> {
        self.local.tag()
    }

    #[cfg(test)]
    pub(crate) fn remote_tag(&self) -> Option<&str> {
        self.remote.tag()
    }

    /// Their side of the dialog (`To`, with tag once known).
    pub(crate) fn remote(&self) -> &NameAddr {
        &self.remote
    }

    /// Our re-INVITE is waiting for its final response: a re-INVITE from the peer now is
    /// glare and gets 491 (RFC 3261 §14.2).
    pub(crate) fn reinvite_pending(&self) -> bool {
        self.invite_pending && self.state == DialogState::Confirmed
    }

    /// Mark the dialog over (BYE sent or received, or the INVITE failed).
    pub(crate) fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }

    /// The next INVITE response came from `source`. With `FixNatContact` the dialog's
    /// requests go where the phone's answer came from, not where the INVITE was sent: a
    /// NAT may send the answer from another address or port than the one it was asked
    /// on, and only that mapping reaches the phone (the Kamailio `fix_nated_contact` idea
    /// uses the source of the message, like RFC 3581 §4 does for responses).
    pub(crate) fn response_came_from(&mut self, source: SocketAddr) {
        if let Some(to) = &mut self.nat_fix_to {
            to.host = source.ip().into();
            to.port = Some(source.port());
        }
    }

    /// Read a response to one of the leg's INVITEs (initial or re-INVITE): `sent_cseq` is
    /// the CSeq of the INVITE whose transaction the response came on.
    pub(crate) fn on_invite_response(
        &mut self,
        resp: &Message,
        sent_cseq: u32,
        ack_now: bool,
    ) -> InviteOutcome {
        let Some(code) = resp.status() else {
            return InviteOutcome::Ignored;
        };
        let answers_it = matches!(resp.cseq(), Ok((c, Method::Invite)) if c == sent_cseq);
        let to_tag = resp.to_tag().map(str::to_string);
        if (200..300).contains(&code) && (!answers_it || to_tag.is_none()) {
            return self.unusable(resp, sent_cseq);
        }
        if !answers_it && code < 200 {
            return InviteOutcome::Ignored;
        }
        if sent_cseq != self.invite_cseq {
            // An earlier INVITE's transaction: only a retransmission of its 2xx comes late,
            // and it is acknowledged again (RFC 3261 §13.2.2.4), with no body: any offer of
            // it was answered in the first ACK.
            return match code {
                200..=299 => InviteOutcome::Retransmission {
                    ack: Some(self.base_request(Method::Ack, sent_cseq)),
                },
                _ => InviteOutcome::Ignored,
            };
        }
        // A final failure ends the transaction whatever its CSeq says (the transaction
        // layer matched it to our INVITE, RFC 3261 §17.1.3).
        match code {
            100..=199 => {
                // RFC 3261 §12.1.2: a provisional with a To tag creates an early dialog.
                if let (DialogState::Calling, Some(tag)) = (self.state, &to_tag) {
                    self.remote.set_tag(tag);
                    self.learn_route(resp, true);
                    self.state = DialogState::Early;
                }
                let prack = (code > 100).then(|| self.prack_for(resp)).flatten();
                let sdp = prack.as_ref().and_then(|_| body_sdp(resp));
                InviteOutcome::Provisional {
                    ringing: (180..=189).contains(&code),
                    prack,
                    sdp,
                    tag: to_tag,
                }
            }
            200..=299 => {
                let Some(tag) = to_tag else {
                    return self.unusable(resp, sent_cseq);
                };
                let same_dialog = self.remote.tag() == Some(tag.as_str());
                if !self.invite_pending {
                    if same_dialog {
                        return InviteOutcome::Retransmission {
                            ack: self.ack.clone(),
                        };
                    }
                    return self.other_fork(resp, &tag);
                }
                if self.state == DialogState::Confirmed && !same_dialog {
                    // A re-INVITE's 2xx must come from the dialog's own peer.
                    return InviteOutcome::Ignored;
                }
                self.invite_pending = false;
                // The first 2xx fixes the dialog: its tag, target and route set win over any
                // early dialog (RFC 3261 §13.2.2.4); a re-INVITE's 2xx refreshes the target.
                // The route set is fixed once confirmed (RFC 3261 §12.2.1.2).
                let routes = self.state != DialogState::Confirmed;
                self.remote.set_tag(&tag);
                self.learn_route(resp, routes);
                self.state = DialogState::Confirmed;
                let sdp = body_sdp(resp);
                let ack = ack_now.then(|| self.build_ack(None));
                InviteOutcome::Answered { sdp, ack }
            }
            _ => {
                if !self.invite_pending {
                    return InviteOutcome::Ignored;
                }
                self.invite_pending = false;
                if self.state != DialogState::Confirmed {
                    self.state = DialogState::Terminated;
                }
                InviteOutcome::Failed { code }
            }
        }
    }

    /// See [`InviteOutcome::Unusable`]. The ACK is built from the response, so it carries
    /// the CSeq and To the phone put in it and matches its 2xx. When the INVITE it came on
    /// no longer waits (it failed already, or a later one is out), the 2xx is only
    /// acknowledged again.
    fn unusable(&mut self, resp: &Message, sent_cseq: u32) -> InviteOutcome {
        let mut as_sent =
            Dialog::from_2xx(resp, self.contact.clone()).unwrap_or_else(|| self.clone());
        let ack = as_sent.build_ack(None);
        if !self.invite_pending || sent_cseq != self.invite_cseq {
            return InviteOutcome::Retransmission { ack: Some(ack) };
        }
        self.invite_pending = false;
        let confirmed = self.state == DialogState::Confirmed;
        if !confirmed {
            self.state = DialogState::Terminated;
        }
        let bye = (!confirmed).then(|| as_sent.bye());
        InviteOutcome::Unusable { ack, bye }
    }

    /// The ACK for the current 2xx, carrying `sdp` when the 2xx held the offer (RFC 3261
    /// §13.2.2.4, RFC 3264 §5). Kept for the 2xx's retransmissions.
    pub(crate) fn ack(&mut self, sdp: Option<Vec<u8>>) -> Message {
        self.build_ack(sdp)
    }

    fn build_ack(&mut self, sdp: Option<Vec<u8>>) -> Message {
        let mut ack = self.base_request(Method::Ack, self.invite_cseq);
        for (name, value) in &self.invite_credentials {
            ack.push_header(name, value);
        }
        if let Some(body) = sdp {
            ack.push_header("Content-Type", SDP);
            ack.push_header("User-Agent", USER_AGENT);
            ack.set_body(Some(SDP), body);
        } else {
            ack.push_header("User-Agent", USER_AGENT);
        }
        self.ack = Some(ack.clone());
        ack
    }

    /// The PRACK for a reliable provisional response (`Require: 100rel` with an RSeq), in
    /// its early dialog: only for the next RSeq in order; retransmissions and responses out
    /// of order get none (RFC 3262 §4, §7.2). Every early dialog of a forked INVITE gets
    /// its own (RFC 3262 §4: the UAS of each fork retransmits its provisional until it is
    /// PRACKed), sent to that fork's Contact with that fork's To tag and route set.
    fn prack_for(&mut self, resp: &Message) -> Option<Message> {
        if !resp.has_token("Require", "100rel") || self.state != DialogState::Early {
            return None;
        }
        let rseq = resp.rseq().ok().flatten()?;
        let tag = resp.to_tag()?.to_string();
        let known = self.rseqs.iter().position(|(t, _)| *t == tag);
        match known {
            Some(i) if rseq != self.rseqs[i].1.wrapping_add(1) => return None,
            Some(i) => self.rseqs[i].1 = rseq,
            // A bound on what forks can make us keep: later early dialogs get no PRACK
            // (their UAS gives up on its provisional, RFC 3262 §3).
            None if self.rseqs.len() >= MAX_EARLY_DIALOGS => return None,
            None => self.rseqs.push((tag.clone(), rseq)),
        }
        let invite_cseq = self.invite_cseq;
        let mut prack = if self.remote.tag() == Some(tag.as_str()) {
            self.request(Method::Prack)
        } else {
            let mut fork = self.clone();
            fork.remote.set_tag(&tag);
            fork.learn_route(resp, true);
            let prack = fork.request(Method::Prack);
            self.local_cseq = fork.local_cseq;
            prack
        };
        prack.push_header("RAck", &format!("{rseq} {invite_cseq} INVITE"));
        prack.push_header("User-Agent", USER_AGENT);
        Some(prack)
    }

    /// Records the session interval a 2xx to our INVITE set (RFC 4028 §7.2), or `None`
    /// when it set none, and returns the interval in force: later re-INVITEs ask to keep
    /// it. A 2xx may not lower the interval below the Min-SE we sent (RFC 4028 §9, §10);
    /// one that does (`Session-Expires: 1`, or 0) is taken as our Min-SE, so a peer cannot
    /// make us refresh in a loop.
    pub(crate) fn set_session_interval(&mut self, interval: Option<u32>) -> Option<u32> {
        self.session_interval = interval.map(|s| s.max(self.min_se));
        self.session_interval
    }

    /// A 422 named `min_se` (RFC 4028 §7.4): the next re-INVITE asks for at least that
    /// interval and carries the largest Min-SE received. Returns the interval now in force.
    pub(crate) fn raise_min_se(&mut self, min_se: u32) -> u32 {
        self.min_se = self.min_se.max(min_se);
        let interval = self
            .session_interval
            .unwrap_or(self.min_se)
            .max(self.min_se);
        self.session_interval = Some(interval);
        interval
    }

    /// A re-INVITE carrying `sdp` as the offer (RFC 3261 §14.1); with an empty `sdp`, an
    /// offerless one (its 2xx brings the peer's offer, our ACK the answer, RFC 3264 §4).
    pub(crate) fn reinvite(&mut self, sdp: Vec<u8>) -> Message {
        let mut req = self.request(Method::Invite);
        self.invite_cseq = self.local_cseq;
        self.ack = None;
        self.invite_pending = true;
        // Every re-INVITE refreshes the session (RFC 4028 §7.4): it asks to keep the
        // interval in force, no shorter than our Min-SE, with us as the refresher.
        let interval = self.session_interval.unwrap_or(SESSION_EXPIRES);
        req.push_header("Session-Expires", &format!("{interval};refresher=uac"));
        req.push_header("Min-SE", &self.min_se.to_string());
        req.push_header("Accept-Language", "en");
        req.push_header("Allow", ALLOW);
        if !sdp.is_empty() {
            req.push_header("Content-Type", SDP);
        }
        req.push_header("Supported", SUPPORTED_REINVITE);
        req.push_header("User-Agent", USER_AGENT);
        if !sdp.is_empty() {
            req.set_body(Some(SDP), sdp);
        }
        req
    }

    /// REFER the peer to `target` (RFC 3515 §2.4.1), `Referred-By` us (RFC 3892).
    pub(crate) fn refer(&mut self, target: &Uri, referred_by: &NameAddr) -> Message {
        let mut req = self.request(Method::Refer);
        req.push_header("User-Agent", USER_AGENT);
        req.push_header("Refer-To", &format!("<{target}>"));
        req.push_header("Referred-By", &referred_by.to_string());
        req
    }

    /// A non-INVITE request within the dialog carrying `body` (INFO, RFC 6086 §4.2.1;
    /// MESSAGE, RFC 3428 §4), with `headers` (name, value) describing it, e.g.
    /// Content-Type or Info-Package. A MESSAGE has no Contact: it never creates or
    /// refreshes a dialog (RFC 3428 §4).
    pub(crate) fn request_with_body(
        &mut self,
        method: Method,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Message {
        let is_message = method == Method::Message;
        let mut req = self.request(method);
        if is_message {
            req.remove_header("Contact");
        }
        req.push_header("User-Agent", USER_AGENT);
        for (name, value) in headers {
            req.push_header(name, value);
        }
        let content_type = req.header("Content-Type").map(str::to_string);
        req.set_body(content_type.as_deref(), body);
        req
    }

    /// BYE (RFC 3261 §15.1.1).
    pub(crate) fn bye(&mut self) -> Message {
        let mut req = self.request(Method::Bye);
        req.push_header("User-Agent", USER_AGENT);
        self.state = DialogState::Terminated;
        req
    }

    /// Gives `req`, a request of this dialog challenged with 401/407, the dialog's next
    /// CSeq, so it can go again with credentials as a new transaction (RFC 3261 §22.1:
    /// the CSeq is incremented as for any new request; §8.1.3.5: Call-ID, tags and, for
    /// an initial INVITE, the From tag stay). A re-sent INVITE is the one the ACK and the
    /// responses now answer.
    pub(crate) fn renumber(&mut self, req: &mut Message) {
        let Some(method) = req.method().cloned() else {
            return;
        };
        self.local_cseq += 1;
        req.set_header("CSeq", &format!("{} {}", self.local_cseq, method.as_str()));
        if method == Method::Invite {
            self.invite_cseq = self.local_cseq;
        }
    }

    /// Turns `invite`, the leg's initial INVITE, into one for `target`, the Contact of a
    /// 3xx (RFC 3261 §8.1.3.4): the Request-URI changes, To, From and Call-ID stay, and
    /// the CSeq is the next one. An early dialog of the old target is forgotten, with the
    /// route set it taught: the pre-loaded route the INVITE carries is the route again.
    pub(crate) fn redirect(&mut self, invite: &mut Message, target: Uri) {
        invite.set_request_uri(target.clone());
        if self.nat_fix_to.is_some() {
            self.nat_fix_to = target.host.ip().is_some().then(|| target.clone());
        }
        self.remote_target = target;
        self.remote.params.remove("tag");
        self.state = DialogState::Calling;
        self.rseqs.clear();
        self.route_set = invite
            .header_values("Route")
            .filter_map(|r| NameAddr::parse(r).ok())
            .collect();
        self.renumber(invite);
    }

    /// Remembers the credentials `invite`, the INVITE now out, carries, for its ACK.
    pub(crate) fn set_invite_credentials(&mut self, invite: &Message) {
        self.invite_credentials = ["Authorization", "Proxy-Authorization"]
            .into_iter()
            .flat_map(|name| {
                invite
                    .header_values(name)
                    .map(move |v| (name.to_string(), v.to_string()))
            })
            .collect();
    }

    /// True when `req` belongs to this dialog (RFC 3261 §12.2.2: Call-ID, the To tag is ours,
    /// the From tag is theirs).
    pub(crate) fn matches(&self, req: &Message) -> bool {
        req.call_id().ok() == Some(self.call_id.as_str())
            && req.to_tag().is_some()
            && req.to_tag() == self.local.tag()
            && req.from_tag() == self.remote.tag()
    }

    /// Accept an in-dialog request: check its CSeq is not older than the last one
    /// (RFC 3261 §12.2.2: otherwise answer 500) and refresh the remote target on a
    /// target-refresh request (re-INVITE, UPDATE: RFC 3261 §12.2.2, RFC 3311 §5.2).
    pub(crate) fn on_request(&mut self, req: &Message) -> Result<(), OutOfOrder> {
        let Ok((cseq, method)) = req.cseq() else {
            return Err(OutOfOrder);
        };
        if method != Method::Ack {
            if let Some(last) = self.remote_cseq
                && cseq <= last
            {
                return Err(OutOfOrder);
            }
            self.remote_cseq = Some(cseq);
        }
        if matches!(method, Method::Invite | Method::Update)
            && let Some(c) = req.contacts().ok().and_then(|c| c.first().cloned())
        {
            self.remote_target = self.nat_target(c.uri);
        }
        Ok(())
    }

    /// A 2xx response to an in-dialog request of the peer, with our Contact and
    /// User-Agent as the original adds them.
    pub(crate) fn response_to(&self, req: &Message, code: u16, reason: &str) -> Message {
        let mut resp = Message::response_to(req, code, reason, None);
        if (200..300).contains(&code)
            && matches!(req.method(), Some(Method::Invite | Method::Update))
        {
            resp.push_header("Contact", &self.contact.to_string());
        }
        resp.push_header("User-Agent", USER_AGENT);
        resp
    }

    /// A new request within the dialog with the next CSeq (RFC 3261 §12.2.1.1).
    fn request(&mut self, method: Method) -> Message {
        self.local_cseq += 1;
        self.base_request(method, self.local_cseq)
    }

    fn base_request(&self, method: Method, cseq: u32) -> Message {
        // RFC 3261 §12.2.1.1: with a loose-routing first route (or none), the Request-URI is
        // the remote target and the route set goes into Route as is. A strict router first
        // hop (no `lr`) gets the remote target as the last Route instead.
        let strict = self.route_set.first().is_some_and(|r| !r.uri.lr());
        let (ruri, routes): (Uri, Vec<String>) = if strict {
            let mut routes: Vec<String> = self
                .route_set
                .iter()
                .skip(1)
                .map(|r| r.to_string())
                .collect();
            routes.push(format!("<{}>", self.remote_target));
            (self.route_set[0].uri.clone(), routes)
        } else {
            (
                self.remote_target.clone(),
                self.route_set.iter().map(|r| r.to_string()).collect(),
            )
        };
        let method_name = method.as_str().to_string();
        let mut req = Message::new_request(method, ruri);
        for r in &routes {
            req.push_header("Route", r);
        }
        req.push_header("Max-Forwards", MAX_FORWARDS);
        req.push_header("Contact", &self.contact.to_string());
        req.push_header("To", &self.remote.to_string());
        req.push_header("From", &self.local.to_string());
        req.push_header("Call-ID", &self.call_id);
        req.push_header("CSeq", &format!("{cseq} {method_name}"));
        req
    }

    /// Take the remote target and route set from a response that creates or confirms the
    /// dialog (RFC 3261 §12.1.2: Record-Route in reverse order, Contact as target).
    fn learn_route(&mut self, resp: &Message, routes: bool) {
        if let Some(c) = resp.contacts().ok().and_then(|c| c.first().cloned()) {
            self.remote_target = self.nat_target(c.uri);
        }
        if !routes {
            return;
        }
        // RFC 3261 §12.1.2: the route set is the Record-Route of the response, reversed;
        // without one it is empty (a pre-loaded outbound proxy route served only the
        // initial request).
        self.route_set = resp
            .record_routes()
            .unwrap_or_default()
            .into_iter()
            .rev()
            .collect();
        // OutboundProxyAll: the operator wants every request through the proxy, whatever
        // the peers recorded (a deliberate departure from §12.2.1.1's route set, as
        // RFC 3261 §8.1.2 allows a UA to pre-load routes): it goes first unless the route
        // set already starts at it (it Record-Routed).
        if let Some(proxy) = &self.sticky_proxy {
            let same = |r: &NameAddr| {
                r.uri.host.equivalent(&proxy.uri.host)
                    && r.uri.port.unwrap_or(5060) == proxy.uri.port.unwrap_or(5060)
            };
            if !self.route_set.first().is_some_and(same) {
                self.route_set.insert(0, proxy.clone());
            }
        }
    }

    /// `FixNatContact` (the Kamailio `fix_nated_contact` idea): a phone behind NAT writes
    /// its private address in Contact, where nothing of ours can reach it. When the INVITE
    /// went straight to an address (no proxy, which would handle NAT itself) and the
    /// Contact names a private address other than that one, the dialog's requests go to
    /// the source of the phone's answer (user and parameters of the Contact kept): with no
    /// proxy in between, that is the phone's NAT mapping.
    fn nat_target(&self, contact: Uri) -> Uri {
        let Some(sent_to) = &self.nat_fix_to else {
            return contact;
        };
        let private = contact.host.ip().is_some_and(is_private);
        if !private || contact.host.equivalent(&sent_to.host) {
            return contact;
        }
        let mut fixed = contact;
        fixed.host = sent_to.host.clone();
        fixed.port = sent_to.port;
        fixed
    }

    /// The dialog a 2xx to an INVITE of ours sets up, rebuilt from the response alone (its
    /// From is ours, its To the peer's, RFC 3261 §12.1.2), to end it. `None` when the
    /// response lacks what any request of the dialog needs.
    fn from_2xx(resp: &Message, contact: NameAddr) -> Option<Dialog> {
        let local = resp.from().ok()?;
        let remote = resp.to().ok()?;
        let (cseq, _) = resp.cseq().ok()?;
        let mut dialog = Dialog {
            call_id: resp.call_id().ok()?.to_string(),
            remote_target: remote.uri.clone(),
            local,
            remote,
            contact,
            route_set: Vec::new(),
            local_cseq: cseq,
            remote_cseq: None,
            state: DialogState::Confirmed,
            invite_cseq: cseq,
            ack: None,
            invite_pending: false,
            rseqs: Vec::new(),
            session_interval: None,
            min_se: MIN_SE,
            sticky_proxy: None,
            nat_fix_to: None,
            invite_credentials: Vec::new(),
        };
        dialog.learn_route(resp, true);
        Some(dialog)
    }

    /// A 2xx with another To tag after the dialog was confirmed: a second fork answered.
    /// Build its own ACK and BYE from a copy of the dialog with that fork's tag and target.
    fn other_fork(&self, resp: &Message, tag: &str) -> InviteOutcome {
        let mut fork = self.clone();
        fork.remote.set_tag(tag);
        fork.learn_route(resp, true);
        let ack = fork.build_ack(None);
        let bye = fork.bye();
        InviteOutcome::OtherFork { ack, bye }
    }
}

/// The ACK and BYE for a 2xx to an INVITE of ours that no dialog of ours takes: its call
/// is over (the INVITE was given up and its call forgotten) and the phone answered late or
/// retransmits. RFC 3261 §13.2.2.4: the UAC acknowledges every 2xx (or the phone resends
/// it for 64·T1, RFC 3261 §13.3.1.4) and ends with BYE a dialog it does not want. Built
/// from the response alone. The ACK carries no body: whether the 2xx held an offer or an
/// answer is no longer known, and the BYE follows at once. `None` when the response is not
/// a 2xx to an INVITE or lacks the headers a request needs.
pub(crate) fn end_unwanted_2xx(resp: &Message, contact: NameAddr) -> Option<(Message, Message)> {
    if !resp.status().is_some_and(|c| (200..300).contains(&c))
        || !matches!(resp.cseq(), Ok((_, Method::Invite)))
    {
        return None;
    }
    let mut dialog = Dialog::from_2xx(resp, contact)?;
    let ack = dialog.build_ack(None);
    let bye = dialog.bye();
    Some((ack, bye))
}

/// A final response to a request within a dialog that ends the dialog: 481 and 408
/// (RFC 3261 §12.2.1.2; a transaction time-out counts as 408, §8.1.3.1) and the codes
/// RFC 5057 §5.1 says destroy the dialog. Any other failure ends only the transaction.
pub(crate) fn ends_dialog(code: u16) -> bool {
    matches!(
        code,
        404 | 408 | 410 | 416 | 481 | 482 | 483 | 484 | 485 | 502 | 604
    )
}

/// An address no peer outside its network can reach: RFC 1918 and shared (RFC 6598)
/// IPv4 space, link-local, and IPv6 unique-local (RFC 4193) and link-local.
fn is_private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || v4.is_link_local() || (a == 100 && (64..128).contains(&b))
        }
        std::net::IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// An in-dialog request arrived with a CSeq lower than one already seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutOfOrder;

/// The body of a message when it is SDP.
pub(crate) fn body_sdp(msg: &Message) -> Option<Vec<u8>> {
    let is_sdp = matches!(msg.content_type(), Ok(Some(ct)) if ct.is("application", "sdp"));
    (is_sdp && !msg.body().is_empty()).then(|| msg.body().to_vec())
}

mod subscription;

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(proxy: Option<&str>) -> DialogSpec {
        DialogSpec {
            target: Uri::parse("sip:100@192.0.2.10:5061").unwrap(),
            from: NameAddr::parse("\"Click-To-Call: 200\" <sip:click2call@192.0.2.1>").unwrap(),
            contact: NameAddr::parse("<sip:click2call@192.0.2.1:5072>").unwrap(),
            outbound_proxy: proxy.map(|p| Uri::parse(p).unwrap()),
            proxy_all: false,
            fix_nat: false,
            offer: None,
            extra_headers: Vec::new(),
        }
    }

    #[test]
    fn extra_headers_go_in_the_initial_invite_only() {
        let (mut leg, invite) = Dialog::invite(DialogSpec {
            extra_headers: vec![
                ("P-Asserted-Identity".into(), "<sip:100@example.com>".into()),
                ("Answer-Mode".into(), "Auto".into()),
            ],
            ..spec(None)
        });
        assert_eq!(
            invite.header("P-Asserted-Identity"),
            Some("<sip:100@example.com>")
        );
        assert_eq!(invite.header("Answer-Mode"), Some("Auto"));
        leg.on_invite_response(&response(&invite, 200, &[]), 1, true);
        let reinvite = leg.reinvite(b"v=0\r\n".to_vec());
        let bye = leg.bye();
        for req in [reinvite, bye] {
            assert!(!req.has_header("P-Asserted-Identity"));
            assert!(!req.has_header("Answer-Mode"));
        }
    }

    /// FixNatContact: a private Contact in the 2xx is replaced by the address the INVITE
    /// went to; a public one, or one equal to it, is kept; without the option it is kept.
    #[test]
    fn fix_nat_contact_sends_the_dialog_to_the_address_the_invite_reached() {
        for (fix, contact, want) in [
            (
                true,
                "<sip:phone@10.1.2.3:5062;transport=udp>",
                "sip:phone@192.0.2.10:5061;transport=udp",
            ),
            (true, "<sip:phone@100.64.0.9>", "sip:phone@192.0.2.10:5061"),
            (
                true,
                "<sip:phone@[fd00::5]:5060>",
                "sip:phone@192.0.2.10:5061",
            ),
            (
                true,
                "<sip:phone@198.51.100.7:5060>",
                "sip:phone@198.51.100.7:5060",
            ),
            (
                false,
                "<sip:phone@10.1.2.3:5062>",
                "sip:phone@10.1.2.3:5062",
            ),
        ] {
            let (mut leg, invite) = Dialog::invite(DialogSpec {
                fix_nat: fix,
                ..spec(None)
            });
            let mut ok = response(&invite, 200, &[]);
            ok.set_header("Contact", contact);
            leg.on_invite_response(&ok, 1, true);
            assert_eq!(
                leg.bye().request_uri().unwrap().to_string(),
                want,
                "{contact}"
            );
        }
        // Through a proxy the option does nothing: the proxy handles NAT.
        let (mut leg, invite) = Dialog::invite(DialogSpec {
            fix_nat: true,
            ..spec(Some("sip:proxy.example.net;lr"))
        });
        let mut ok = response(&invite, 200, &[]);
        ok.set_header("Contact", "<sip:phone@10.1.2.3:5062>");
        leg.on_invite_response(&ok, 1, true);
        assert_eq!(
            leg.bye().request_uri().unwrap().to_string(),
            "sip:phone@10.1.2.3:5062"
        );
    }

    /// FixNatContact: the answer's source wins over the address the INVITE went to — a NAT
    /// that answers from another port is reached on that port.
    #[test]
    fn fix_nat_contact_sends_the_dialog_to_the_source_of_the_answer() {
        let (mut leg, invite) = Dialog::invite(DialogSpec {
            fix_nat: true,
            ..spec(None)
        });
        let mut ok = response(&invite, 200, &[]);
        ok.set_header("Contact", "<sip:phone@10.1.2.3:5062;transport=udp>");
        leg.response_came_from("192.0.2.10:40000".parse().unwrap());
        leg.on_invite_response(&ok, 1, true);
        assert_eq!(
            leg.bye().request_uri().unwrap().to_string(),
            "sip:phone@192.0.2.10:40000;transport=udp"
        );
        // Without the option the source changes nothing.
        let (mut leg, invite) = Dialog::invite(spec(None));
        let mut ok = response(&invite, 200, &[]);
        ok.set_header("Contact", "<sip:phone@10.1.2.3:5062>");
        leg.response_came_from("192.0.2.10:40000".parse().unwrap());
        leg.on_invite_response(&ok, 1, true);
        assert_eq!(
            leg.bye().request_uri().unwrap().to_string(),
            "sip:phone@10.1.2.3:5062"
        );
    }

    fn response(invite: &Message, code: u16, extra: &[(&str, &str)]) -> Message {
        let mut req = invite.clone();
        req.insert_header_front("Via", "SIP/2.0/UDP 192.0.2.1:5072;branch=z9hG4bKx");
        let mut resp = Message::response_to(&req, code, "X", Some("peer"));
        resp.push_header("Contact", "<sip:phone@192.0.2.10:5061>");
        for (n, v) in extra {
            resp.push_header(n, v);
        }
        resp
    }

    #[test]
    fn outbound_proxy_routes_the_invite_only() {
        let (mut leg, invite) = Dialog::invite(spec(Some("sip:proxy.example.net;lr")));
        assert_eq!(invite.header("Route"), Some("<sip:proxy.example.net;lr>"));
        assert_eq!(
            invite.request_uri().unwrap().to_string(),
            "sip:100@192.0.2.10:5061"
        );
        let ok = response(&invite, 200, &[]);
        assert!(matches!(
            leg.on_invite_response(&ok, 1, true),
            InviteOutcome::Answered { ack: Some(_), .. }
        ));
        // No Record-Route: in-dialog requests go straight to the remote target.
        let bye = leg.bye();
        assert_eq!(bye.header("Route"), None);
        assert_eq!(
            bye.request_uri().unwrap().to_string(),
            "sip:phone@192.0.2.10:5061"
        );
    }

    /// OutboundProxyAll: in-dialog requests go through the proxy too; a proxy that
    /// Record-Routed is not listed twice, another one's route follows it.
    #[test]
    fn proxy_all_keeps_the_outbound_proxy_first_in_the_dialog() {
        for (rr, expected) in [
            (None, vec!["<sip:proxy.example.net;lr>"]),
            (
                Some("<sip:proxy.example.net;lr;ftag=x>"),
                vec!["<sip:proxy.example.net;lr;ftag=x>"],
            ),
            (
                Some("<sip:other.example;lr>"),
                vec!["<sip:proxy.example.net;lr>", "<sip:other.example;lr>"],
            ),
        ] {
            let (mut leg, invite) = Dialog::invite(DialogSpec {
                proxy_all: true,
                ..spec(Some("sip:proxy.example.net;lr"))
            });
            let extra: Vec<(&str, &str)> = rr.map(|r| ("Record-Route", r)).into_iter().collect();
            leg.on_invite_response(&response(&invite, 200, &extra), 1, true);
            let bye = leg.bye();
            let routes: Vec<&str> = bye.header_values("Route").collect();
            assert_eq!(routes, expected, "{rr:?}");
            assert_eq!(
                bye.request_uri().unwrap().to_string(),
                "sip:phone@192.0.2.10:5061"
            );
        }
    }

    #[test]
    fn record_route_is_reversed_into_the_route_set() {
        let (mut leg, invite) = Dialog::invite(spec(None));
        let ok = response(
            &invite,
            200,
            &[("Record-Route", "<sip:p2.example;lr>, <sip:p1.example;lr>")],
        );
        leg.on_invite_response(&ok, 1, true);
        let bye = leg.bye();
        let routes: Vec<&str> = bye.header_values("Route").collect();
        assert_eq!(routes, vec!["<sip:p1.example;lr>", "<sip:p2.example;lr>"]);
    }

    #[test]
    fn strict_router_goes_into_the_request_uri() {
        let (mut leg, invite) = Dialog::invite(spec(None));
        let ok = response(&invite, 200, &[("Record-Route", "<sip:strict.example>")]);
        leg.on_invite_response(&ok, 1, true);
        let bye = leg.bye();
        // RFC 3261 §12.2.1.1: the strict router is the Request-URI, the target the last Route.
        assert_eq!(bye.request_uri().unwrap().to_string(), "sip:strict.example");
        assert_eq!(bye.header("Route"), Some("<sip:phone@192.0.2.10:5061>"));
    }

    #[test]
    fn early_dialog_then_2xx_then_other_fork_is_acked_and_byed() {
        let (mut leg, invite) = Dialog::invite(spec(None));
        let ringing = response(&invite, 180, &[]);
        assert!(matches!(
            leg.on_invite_response(&ringing, 1, true),
            InviteOutcome::Provisional {
                ringing: true,
                prack: None,
                ..
            }
        ));
        assert_eq!(leg.state(), DialogState::Early);
        let ok = response(&invite, 200, &[]);
        assert!(matches!(
            leg.on_invite_response(&ok, 1, true),
            InviteOutcome::Answered { .. }
        ));
        assert!(matches!(
            leg.on_invite_response(&ok, 1, true),
            InviteOutcome::Retransmission { ack: Some(_) }
        ));
        let mut other = ok.clone();
        other.set_header("To", "<sip:100@192.0.2.10:5061>;tag=fork2");
        match leg.on_invite_response(&other, 1, true) {
            InviteOutcome::OtherFork { ack, bye } => {
                assert_eq!(ack.to_tag(), Some("fork2"));
                assert_eq!(bye.to_tag(), Some("fork2"));
                assert_eq!(bye.method(), Some(&Method::Bye));
            }
            o => panic!("expected the other fork to be ended, got {o:?}"),
        }
        assert_eq!(
            leg.remote_tag(),
            Some("peer"),
            "the winning dialog is unchanged"
        );
    }

    #[test]
    fn request_with_body_carries_the_body_and_its_headers_in_the_dialog() {
        let (mut leg, invite) = Dialog::invite(spec(None));
        leg.on_invite_response(&response(&invite, 200, &[]), 1, true);
        let headers = [
            ("Content-Type", "application/dtmf-relay"),
            ("Info-Package", "dtmf"),
        ];
        let info = leg.request_with_body(Method::Info, &headers, b"Signal=5\r\n".to_vec());
        assert_eq!(info.cseq().unwrap(), (2, Method::Info));
        assert_eq!(info.to_tag(), Some("peer"));
        assert_eq!(info.header("Content-Type"), Some("application/dtmf-relay"));
        assert_eq!(info.header("Info-Package"), Some("dtmf"));
        assert_eq!(
            info.header("Contact"),
            Some("<sip:click2call@192.0.2.1:5072>")
        );
        assert_eq!(info.body(), b"Signal=5\r\n");
        let text = String::from_utf8(info.to_bytes()).unwrap();
        assert_eq!(text.matches("Content-Type:").count(), 1, "{text}");
        // RFC 3428: a MESSAGE carries no Contact; a body without a type gets none.
        let msg = leg.request_with_body(Method::Message, &[], b"hi".to_vec());
        assert_eq!(msg.cseq().unwrap(), (3, Method::Message));
        assert_eq!(msg.header("Contact"), None);
        assert_eq!(msg.header("Content-Type"), None);
        assert_eq!(msg.body(), b"hi");
    }

    /// A 2xx without a To tag or with another CSeq cannot confirm the INVITE: it is
    /// acknowledged as it came, the dialog the phone made is ended, and the INVITE fails;
    /// its retransmission is only acknowledged again.
    #[test]
    fn a_2xx_without_to_tag_or_with_another_cseq_fails_the_invite() {
        for bad in ["no tag", "cseq"] {
            let (mut leg, invite) = Dialog::invite(spec(None));
            let mut ok = response(&invite, 200, &[]);
            match bad {
                "no tag" => ok.set_header("To", "<sip:100@192.0.2.10:5061>"),
                _ => ok.set_header("CSeq", "7 INVITE"),
            }
            match leg.on_invite_response(&ok, 1, false) {
                InviteOutcome::Unusable {
                    ack,
                    bye: Some(bye),
                } => {
                    assert_eq!(ack.method(), Some(&Method::Ack));
                    assert_eq!(ack.to_tag(), ok.to_tag(), "{bad}");
                    assert_eq!(ack.cseq().unwrap().0, ok.cseq().unwrap().0, "{bad}");
                    assert_eq!(bye.method(), Some(&Method::Bye));
                }
                o => panic!("{bad}: expected an unusable 2xx, got {o:?}"),
            }
            assert_eq!(leg.state(), DialogState::Terminated, "{bad}");
            assert!(matches!(
                leg.on_invite_response(&ok, 1, false),
                InviteOutcome::Retransmission { ack: Some(_) }
            ));
        }
        // A re-INVITE's unusable 2xx leaves the BYE to the confirmed dialog.
        let (mut leg, invite) = Dialog::invite(spec(None));
        leg.on_invite_response(&response(&invite, 200, &[]), 1, true);
        let reinvite = leg.reinvite(b"v=0\r\n".to_vec());
        let mut ok = response(&reinvite, 200, &[]);
        ok.set_header("CSeq", "1 INVITE");
        assert!(matches!(
            leg.on_invite_response(&ok, 2, true),
            InviteOutcome::Unusable { bye: None, .. }
        ));
        assert_eq!(leg.state(), DialogState::Confirmed);
        assert!(!leg.reinvite_pending());
    }

    /// A late 2xx of an earlier INVITE's transaction is acknowledged again, not taken for
    /// the answer to the re-INVITE that is out now.
    #[test]
    fn an_earlier_invites_2xx_is_acknowledged_again() {
        let (mut leg, invite) = Dialog::invite(spec(None));
        let ok = response(&invite, 200, &[]);
        leg.on_invite_response(&ok, 1, true);
        leg.reinvite(b"v=0\r\n".to_vec());
        match leg.on_invite_response(&ok, 1, true) {
            InviteOutcome::Retransmission { ack: Some(ack) } => {
                assert_eq!(ack.cseq().unwrap(), (1, Method::Ack));
            }
            o => panic!("expected the old 2xx acknowledged, got {o:?}"),
        }
        assert!(leg.reinvite_pending(), "the re-INVITE still waits");
    }

    #[test]
    fn an_unwanted_2xx_is_acked_and_byed_from_the_response_alone() {
        let (_, invite) = Dialog::invite(spec(None));
        let ok = response(
            &invite,
            200,
            &[("Record-Route", "<sip:p2.example;lr>, <sip:p1.example;lr>")],
        );
        let contact = NameAddr::parse("<sip:click2call@192.0.2.1:5072>").unwrap();
        let (ack, bye) = end_unwanted_2xx(&ok, contact.clone()).expect("a 2xx to an INVITE");
        for (req, cseq, method) in [(&ack, 1, Method::Ack), (&bye, 2, Method::Bye)] {
            assert_eq!(req.method(), Some(&method));
            assert_eq!(req.cseq().unwrap(), (cseq, method));
            assert_eq!(req.call_id().ok(), invite.call_id().ok());
            assert_eq!(req.from_tag(), invite.from_tag());
            assert_eq!(req.to_tag(), Some("peer"));
            assert_eq!(
                req.request_uri().unwrap().to_string(),
                "sip:phone@192.0.2.10:5061"
            );
            let routes: Vec<&str> = req.header_values("Route").collect();
            assert_eq!(routes, vec!["<sip:p1.example;lr>", "<sip:p2.example;lr>"]);
        }
        assert!(ack.body().is_empty());
        // Anything else is not ours to end.
        assert!(end_unwanted_2xx(&response(&invite, 486, &[]), contact.clone()).is_none());
        let mut bye_ok = ok.clone();
        bye_ok.set_header("CSeq", "2 BYE");
        assert!(end_unwanted_2xx(&bye_ok, contact).is_none());
    }

    #[test]
    fn lower_cseq_in_dialog_is_out_of_order() {
        let (mut leg, invite) = Dialog::invite(spec(None));
        leg.on_invite_response(&response(&invite, 200, &[]), 1, true);
        let (tag, call_id) = (
            leg.local_tag().unwrap().to_string(),
            leg.call_id().to_string(),
        );
        let req = |cseq: u32| {
            let text = format!(
                "INFO sip:c@d SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK{cseq}\r\nFrom: <sip:a@b>;tag=peer\r\nTo: <sip:c@d>;tag={}\r\nCall-ID: {}\r\nCSeq: {cseq} INFO\r\nContent-Length: 0\r\n\r\n",
                tag, call_id
            );
            Message::parse(text.as_bytes()).unwrap()
        };
        assert!(leg.matches(&req(5)));
        assert_eq!(leg.on_request(&req(5)), Ok(()));
        assert_eq!(leg.on_request(&req(4)), Err(OutOfOrder));
        assert_eq!(leg.on_request(&req(6)), Ok(()));
    }
}
