//! Scripted phones for the simulation: user agent servers that answer what the server sends
//! them the way a script says (ring, answer with SDP, reject, stay silent, ignore the first
//! copies of a request), and record everything they receive with its virtual time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::sip::msg::{Message, Method};

/// The SDP a phone answers with (or offers, in the 2xx of an offerless INVITE).
fn sdp_of(addr: SocketAddr) -> String {
    format!(
        "v=0\r\no=phone 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n",
        ip = addr.ip(),
        port = addr.port() + 10_000
    )
}

/// What a phone does with the INVITE that starts its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnInvite {
    /// 180 at once, then a 200 with SDP `after` it.
    Answer { after: Duration },
    /// 180 at once and nothing more: it rings until cancelled.
    Ring,
    /// A final response `code` at once.
    Reject { code: u16 },
    /// Nothing at all.
    Silent,
    /// 180 at once, then it vanishes: not even a CANCEL is answered.
    RingAndVanish,
    /// `302 Moved Temporarily` at once, with these Contact values.
    Redirect { contacts: &'static [&'static str] },
}

/// A phone's behaviour.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    pub(crate) invite: OnInvite,
    /// Copies of the INVITE that starts the call ignored before the phone reacts: the
    /// server's retransmissions show.
    pub(crate) ignore_invites: usize,
    /// Copies of each REFER ignored before it is accepted (`usize::MAX`: never answered).
    pub(crate) ignore_refers: usize,
    /// Session-Expires for every 2xx to an INVITE (RFC 4028), e.g. `90;refresher=uac`.
    pub(crate) session_expires: Option<&'static str>,
    /// A REFER accepted is carried out at once: a NOTIFY with the sipfrag `SIP/2.0 200 OK`
    /// that ends the implicit subscription (RFC 3515 §2.4.5), then the transferee's BYE.
    pub(crate) transfer: bool,
    /// The phone sends BYE this long after answering the call's INVITE.
    pub(crate) hang_up_after: Option<Duration>,
    /// The phone (or the proxy in front of it) demands Digest credentials.
    pub(crate) challenge: Option<Demand>,
}

/// A Digest challenge the phone makes (RFC 3261 §22.2): every request but ACK, CANCEL and
/// NOTIFY answers without valid credentials gets `code` (401 or 407) with a challenge for
/// `realm` and the phone's current nonce, qop `auth` and `algorithm`. The phone checks the
/// response hash itself, with OpenSSL, and refuses a nonce count already used.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Demand {
    pub(crate) code: u16,
    pub(crate) realm: &'static str,
    pub(crate) user: &'static str,
    pub(crate) password: &'static str,
    pub(crate) algorithm: &'static str,
    /// A new nonce after every accepted request: the next pre-authorised request meets
    /// `stale=true` (RFC 7616 §3.3).
    pub(crate) rotate: bool,
}

impl Demand {
    fn header(&self) -> (&'static str, &'static str) {
        if self.code == 407 {
            ("Proxy-Authenticate", "Proxy-Authorization")
        } else {
            ("WWW-Authenticate", "Authorization")
        }
    }
}

impl Script {
    pub(crate) fn answer() -> Script {
        Script::with(OnInvite::Answer {
            after: Duration::ZERO,
        })
    }

    pub(crate) fn with(invite: OnInvite) -> Script {
        Script {
            invite,
            ignore_invites: 0,
            ignore_refers: 0,
            session_expires: None,
            transfer: false,
            hang_up_after: None,
            challenge: None,
        }
    }
}

/// One scripted phone.
pub(crate) struct Phone {
    pub(crate) addr: SocketAddr,
    script: Script,
    t0: Instant,
    /// Every message received, with its time since the start.
    received: Vec<(Duration, Message)>,
    /// What to send, when (kept in time order).
    outbox: Vec<(Instant, Vec<u8>)>,
    tag: String,
    /// The INVITE that made the call, to answer a CANCEL with 487 and to build requests.
    invite: Option<Message>,
    copies: HashMap<String, usize>,
    cseq: u32,
    /// The phone's own requests sent again until answered, as a UAC's Timer E would
    /// (RFC 3261 §17.1.2.2: T1 doubling up to T2, given up after 64*T1).
    unanswered: Vec<Unanswered>,
    /// The REFER was carried out (its retransmissions are answered 202, nothing more).
    transferred: bool,
    /// The nonce of the phone's challenges and the nonce counts it accepted.
    nonce: u32,
    nonce_counts: Vec<u32>,
    /// The requests whose credentials the phone checked and accepted.
    pub(crate) authorised: Vec<Method>,
}

/// A request of the phone still waiting for its response.
struct Unanswered {
    cseq: u32,
    bytes: Vec<u8>,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

impl Phone {
    pub(crate) fn new(addr: SocketAddr, script: Script, t0: Instant) -> Phone {
        Phone {
            addr,
            script,
            t0,
            received: Vec::new(),
            outbox: Vec::new(),
            tag: format!("ph{}", addr.port()),
            invite: None,
            copies: HashMap::new(),
            cseq: 100,
            unanswered: Vec::new(),
            transferred: false,
            nonce: 1,
            nonce_counts: Vec::new(),
            authorised: Vec::new(),
        }
    }

    /// Every request received with `method`, with its time since the start.
    pub(crate) fn requests(&self, method: Method) -> Vec<(Duration, &Message)> {
        self.received
            .iter()
            .filter(|(_, m)| m.method() == Some(&method))
            .map(|(at, m)| (*at, m))
            .collect()
    }

    /// Every response received, with its time since the start.
    pub(crate) fn responses(&self) -> Vec<(Duration, &Message)> {
        self.received
            .iter()
            .filter(|(_, m)| m.status().is_some())
            .map(|(at, m)| (*at, m))
            .collect()
    }

    /// The tag of the phone's side of its dialogs.
    pub(crate) fn tag(&self) -> &str {
        &self.tag
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let resend = self.unanswered.iter().map(|u| u.next);
        self.outbox
            .first()
            .map(|(at, _)| *at)
            .into_iter()
            .chain(resend)
            .min()
    }

    /// The next message due at `now`.
    pub(crate) fn poll_send(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.unanswered.retain(|u| u.give_up > now);
        if let Some(u) = self.unanswered.iter_mut().find(|u| u.next <= now) {
            u.interval = (u.interval * 2).min(Duration::from_secs(4));
            u.next = now + u.interval;
            return Some(u.bytes.clone());
        }
        if self.outbox.first()?.0 <= now {
            Some(self.outbox.remove(0).1)
        } else {
            None
        }
    }

    /// Queue `msg` to be sent at `at`.
    pub(crate) fn send_at(&mut self, at: Instant, msg: Message) {
        let i = self.outbox.partition_point(|(t, _)| *t <= at);
        self.outbox.insert(i, (at, msg.to_bytes()));
    }

    /// A request of ours in the dialog of the call's INVITE (RFC 3261 §12.2.1.1): To is
    /// the server's From, the Request-URI its Contact.
    pub(crate) fn in_dialog(&mut self, method: &str) -> Message {
        let invite = self.invite.as_ref().expect("a call to send in");
        self.cseq += 1;
        let contact = invite
            .header("Contact")
            .unwrap_or("<sip:click2call@127.0.0.1:5072>");
        let uri = contact
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap_or("");
        let text = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {addr};branch=z9hG4bK{tag}{cseq};rport\r\nMax-Forwards: 70\r\nFrom: {to};tag={tag}\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:phone@{addr}>\r\nContent-Length: 0\r\n\r\n",
            addr = self.addr,
            tag = self.tag,
            cseq = self.cseq,
            to = invite.header("To").unwrap_or(""),
            from = invite.header("From").unwrap_or(""),
            call_id = invite.call_id().unwrap_or(""),
        );
        Message::parse(text.as_bytes()).expect("the phone's request parses")
    }

    /// A re-INVITE of ours in the call's dialog, offering the phone's SDP again.
    pub(crate) fn reinvite(&mut self) -> Message {
        let mut invite = self.in_dialog("INVITE");
        invite.set_body(Some("application/sdp"), sdp_of(self.addr).into_bytes());
        invite
    }

    /// The ACK for the 2xx to our in-dialog `invite` (RFC 3261 §13.2.2.4): same dialog
    /// and CSeq number, a branch of its own.
    pub(crate) fn ack_for(&self, invite: &Message) -> Message {
        let (cseq, _) = invite.cseq().expect("our INVITE has a CSeq");
        let text = format!(
            "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {addr};branch=z9hG4bK{tag}ack{cseq};rport\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} ACK\r\nContent-Length: 0\r\n\r\n",
            uri = invite
                .request_uri()
                .map(|u| u.to_string())
                .unwrap_or_default(),
            addr = self.addr,
            tag = self.tag,
            from = invite.header("From").unwrap_or(""),
            to = invite.header("To").unwrap_or(""),
            call_id = invite.call_id().unwrap_or(""),
        );
        Message::parse(text.as_bytes()).expect("the phone's ACK parses")
    }

    /// `msg`, a request of the phone's, sent at `at` and again until it is answered.
    fn send_until_answered(&mut self, at: Instant, msg: Message) {
        let t1 = Duration::from_millis(500);
        self.unanswered.push(Unanswered {
            cseq: msg.cseq().map_or(0, |(n, _)| n),
            bytes: msg.to_bytes(),
            next: at,
            interval: t1 / 2,
            give_up: at + t1 * 64,
        });
    }

    /// What the server sent; the script's answer goes to the outbox.
    pub(crate) fn receive(&mut self, now: Instant, bytes: &[u8]) {
        let msg = Message::parse(bytes).expect("the server sends what parses");
        self.received.push((now - self.t0, msg.clone()));
        let Some(method) = msg.method().cloned() else {
            if msg.status().is_some_and(|c| c >= 200)
                && let Ok((cseq, _)) = msg.cseq()
            {
                self.unanswered.retain(|u| u.cseq != cseq);
            }
            return;
        };
        if let Some(demand) = self.script.challenge
            && !matches!(method, Method::Ack | Method::Cancel | Method::Notify)
            && !self.authorised_by(&demand, &msg)
        {
            let mut resp = Message::response_to(&msg, demand.code, "Authenticate", Some(&self.tag));
            // Credentials for the nonce just replaced were right but old: stale.
            let old = format!("nonce=\"nonce{}\"", self.nonce.saturating_sub(1));
            let stale = msg
                .header(demand.header().1)
                .is_some_and(|v| self.nonce > 1 && v.contains(&old));
            let stale = if stale { ", stale=true" } else { "" };
            resp.push_header(
                demand.header().0,
                &format!(
                    "Digest realm=\"{}\", nonce=\"nonce{}\", qop=\"auth\", algorithm={}{stale}",
                    demand.realm, self.nonce, demand.algorithm
                ),
            );
            self.send_at(now, resp);
            return;
        }
        let has_to_tag = msg.to_tag().is_some();
        match method {
            Method::Invite if !has_to_tag => self.on_invite(now, msg),
            Method::Invite => {
                let ok = self.ok_with_sdp(&msg);
                self.send_at(now, ok);
            }
            Method::Ack => {}
            Method::Cancel if self.script.invite == OnInvite::RingAndVanish => {}
            Method::Cancel => {
                self.send_at(now, Message::response_to(&msg, 200, "OK", Some(&self.tag)));
                if let Some(invite) = self.invite.clone() {
                    let terminated =
                        Message::response_to(&invite, 487, "Request Terminated", Some(&self.tag));
                    self.send_at(now, terminated);
                }
            }
            Method::Refer => {
                if self.ignored(&msg, self.script.ignore_refers) {
                    return;
                }
                self.send_at(
                    now,
                    Message::response_to(&msg, 202, "Accepted", Some(&self.tag)),
                );
                if self.script.transfer && !self.transferred {
                    self.transferred = true;
                    self.transfer(now);
                }
            }
            _ => self.send_at(now, Message::response_to(&msg, 200, "OK", Some(&self.tag))),
        }
    }

    /// Whether `msg` carries a valid response to the phone's current nonce with a nonce
    /// count not used before (RFC 7616 §3.4.1, computed here independently of the server).
    fn authorised_by(&mut self, demand: &Demand, msg: &Message) -> bool {
        let Some(value) = msg.header(demand.header().1) else {
            return false;
        };
        let param = |name: &str| -> String {
            let Some(start) = value
                .find(&format!(" {name}="))
                .or_else(|| value.find(&format!(",{name}=")))
            else {
                return String::new();
            };
            let rest = &value[start + name.len() + 2..];
            rest.trim_start_matches('"')
                .split(['"', ','])
                .next()
                .unwrap_or("")
                .to_string()
        };
        let md = if demand.algorithm == "SHA-256" {
            openssl::hash::MessageDigest::sha256()
        } else {
            openssl::hash::MessageDigest::md5()
        };
        let h = |s: String| -> String {
            openssl::hash::hash(md, s.as_bytes())
                .expect("OpenSSL hashes")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let method = msg
            .method()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        let uri = msg.request_uri().map(|u| u.to_string()).unwrap_or_default();
        let nonce = format!("nonce{}", self.nonce);
        let nc = param("nc");
        let ha1 = h(format!(
            "{}:{}:{}",
            demand.user, demand.realm, demand.password
        ));
        let ha2 = h(format!("{method}:{uri}"));
        let expected = h(format!("{ha1}:{nonce}:{nc}:{}:auth:{ha2}", param("cnonce")));
        let count = u32::from_str_radix(&nc, 16).unwrap_or(0);
        let ok = param("nonce") == nonce
            && param("uri") == uri
            && param("username") == demand.user
            && param("response") == expected
            && !self.nonce_counts.contains(&count);
        if ok {
            self.nonce_counts.push(count);
            self.authorised
                .push(msg.method().cloned().unwrap_or(Method::Ack));
            if demand.rotate {
                self.nonce += 1;
                self.nonce_counts.clear();
            }
        }
        ok
    }

    /// Whether this copy of `msg` is one of the first `ignore` of its transaction.
    fn ignored(&mut self, msg: &Message, ignore: usize) -> bool {
        let branch = msg
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_string))
            .unwrap_or_default();
        let seen = self.copies.entry(branch).or_insert(0);
        *seen += 1;
        *seen <= ignore
    }

    fn on_invite(&mut self, now: Instant, invite: Message) {
        if self.ignored(&invite, self.script.ignore_invites) {
            return;
        }
        self.invite = Some(invite.clone());
        let tag = self.tag.clone();
        match self.script.invite {
            OnInvite::Silent => {}
            OnInvite::Reject { code } => {
                self.send_at(
                    now,
                    Message::response_to(&invite, code, "Rejected", Some(&tag)),
                );
            }
            OnInvite::Ring | OnInvite::RingAndVanish => self.send_at(now, self.ringing(&invite)),
            OnInvite::Redirect { contacts } => {
                let mut moved = Message::response_to(&invite, 302, "Moved Temporarily", Some(&tag));
                for contact in contacts {
                    moved.push_header("Contact", contact);
                }
                self.send_at(now, moved);
            }
            OnInvite::Answer { after } => {
                self.send_at(now, self.ringing(&invite));
                let ok = self.ok_with_sdp(&invite);
                self.send_at(now + after, ok);
                // Once: an INVITE retransmission is answered again, not hung up again.
                if let Some(hold) = self.script.hang_up_after.take() {
                    let bye = self.in_dialog("BYE");
                    self.send_until_answered(now + after + hold, bye);
                }
            }
        }
    }

    /// The transfer succeeded at once: the final NOTIFY, then the transferee hangs up.
    fn transfer(&mut self, now: Instant) {
        let mut notify = self.in_dialog("NOTIFY");
        notify.push_header("Event", "refer");
        notify.push_header("Subscription-State", "terminated;reason=noresource");
        notify.set_body(Some("message/sipfrag"), b"SIP/2.0 200 OK\r\n".to_vec());
        self.send_until_answered(now, notify);
        let bye = self.in_dialog("BYE");
        self.send_until_answered(now + Duration::from_millis(100), bye);
    }

    fn ringing(&self, invite: &Message) -> Message {
        let mut r = Message::response_to(invite, 180, "Ringing", Some(&self.tag));
        r.push_header("Contact", &format!("<sip:phone@{}>", self.addr));
        r
    }

    /// A 2xx to an INVITE: Contact, SDP, and the script's session timer.
    fn ok_with_sdp(&self, invite: &Message) -> Message {
        let mut ok = Message::response_to(invite, 200, "OK", Some(&self.tag));
        ok.push_header("Contact", &format!("<sip:phone@{}>", self.addr));
        if let Some(se) = self.script.session_expires {
            ok.push_header("Session-Expires", se);
            ok.push_header("Require", "timer");
        }
        ok.set_body(Some("application/sdp"), sdp_of(self.addr).into_bytes());
        ok
    }
}
