//! Transaction keys: which transaction a received message belongs to
//! (RFC 3261 §17.1.3 for responses, §17.2.3 for requests, §9.2 for CANCEL).

use std::fmt;

use crate::sip::msg::{Message, Method, ParseError, Via};

/// Why a message cannot be matched to any transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyError {
    /// The top Via has no branch parameter.
    NoBranch,
    /// A header the key is made of is missing or malformed.
    Header(ParseError),
    /// A request was expected and this is a response, or the reverse.
    WrongKind,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::NoBranch => f.write_str("top Via has no branch"),
            KeyError::Header(e) => write!(f, "{e}"),
            KeyError::WrongKind => f.write_str("not the expected request or response"),
        }
    }
}

impl std::error::Error for KeyError {}

impl From<ParseError> for KeyError {
    fn from(e: ParseError) -> KeyError {
        KeyError::Header(e)
    }
}

/// A client transaction's key (RFC 3261 §17.1.3): the branch of the top Via of the
/// request we sent and the CSeq method. The CANCEL for an INVITE shares its branch, so
/// the method tells their responses apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    pub branch: String,
    pub method: Method,
}

impl ClientKey {
    /// The key of a request we are about to send (its top Via must carry a branch).
    pub(crate) fn of_request(req: &Message) -> Result<ClientKey, KeyError> {
        let method = req.method().ok_or(KeyError::WrongKind)?.clone();
        let branch = req.top_branch().ok_or(KeyError::NoBranch)?.to_string();
        Ok(ClientKey { branch, method })
    }

    /// The key a received response matches (§17.1.3: top Via branch and CSeq method).
    pub(crate) fn of_response(resp: &Message) -> Result<ClientKey, KeyError> {
        if !resp.is_response() {
            return Err(KeyError::WrongKind);
        }
        let branch = resp.top_branch().ok_or(KeyError::NoBranch)?.to_string();
        let (_, method) = resp.cseq()?;
        Ok(ClientKey { branch, method })
    }
}

/// A server transaction's key (RFC 3261 §17.2.3). The method is that of the transaction:
/// an ACK is keyed as INVITE so it finds the INVITE transaction it acknowledges.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ServerKey {
    /// A branch with the RFC 3261 magic cookie: branch, sent-by and method.
    Rfc3261 {
        branch: String,
        /// The sent-by host, lower-cased (host names compare case-insensitively).
        host: String,
        /// The sent-by port, defaulted by transport (§18.2.2).
        port: u16,
        method: Method,
    },
    /// An RFC 2543 peer (no magic cookie): Request-URI, From tag, Call-ID, CSeq number
    /// and the whole top Via. The To tag is left out so that the ACK, whose To carries the
    /// tag of our response, still matches its INVITE.
    Rfc2543 {
        uri: String,
        from_tag: String,
        call_id: String,
        cseq: u32,
        via: String,
        method: Method,
    },
}

impl ServerKey {
    /// The key of a received request.
    #[cfg(test)]
    pub(crate) fn of_request(req: &Message) -> Result<ServerKey, KeyError> {
        ServerKey::of_request_via(req, &req.top_via()?)
    }

    /// The same, given the request's top Via already parsed.
    pub(crate) fn of_request_via(req: &Message, via: &Via) -> Result<ServerKey, KeyError> {
        let method = match req.method().ok_or(KeyError::WrongKind)? {
            Method::Ack => Method::Invite,
            m => m.clone(),
        };
        match via.branch() {
            Some(branch) if via.has_rfc3261_branch() => Ok(ServerKey::Rfc3261 {
                branch: branch.to_string(),
                host: via.host.to_string().to_ascii_lowercase(),
                port: via.port_or_default(),
                method,
            }),
            _ => {
                let (cseq, _) = req.cseq()?;
                Ok(ServerKey::Rfc2543 {
                    uri: req
                        .request_uri()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    from_tag: req.from_tag().unwrap_or_default().to_string(),
                    call_id: req.call_id()?.to_string(),
                    cseq,
                    via: req.header("Via").unwrap_or_default().to_string(),
                    method,
                })
            }
        }
    }

    /// The same key for another method: a CANCEL's key with `Method::Invite` is the key of
    /// the INVITE it cancels (RFC 3261 §9.2, §17.2.3).
    pub(crate) fn with_method(&self, new: Method) -> ServerKey {
        let mut key = self.clone();
        match &mut key {
            ServerKey::Rfc3261 { method, .. } | ServerKey::Rfc2543 { method, .. } => *method = new,
        }
        key
    }

    pub(crate) fn method(&self) -> &Method {
        match self {
            ServerKey::Rfc3261 { method, .. } | ServerKey::Rfc2543 { method, .. } => method,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Message {
        Message::parse(text.replace('\n', "\r\n").as_bytes()).expect("test message parses")
    }

    const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP PC33.Example.com:5060;branch=z9hG4bKnashds8, SIP/2.0/UDP proxy.example.com;branch=z9hG4bKother
Max-Forwards: 70
To: <sip:bob@example.com>
From: <sip:alice@example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Content-Length: 0

";

    #[test]
    fn server_key_ack_and_cancel_find_their_invite() {
        let invite = ServerKey::of_request(&parse(INVITE)).unwrap();
        // Sent-by host case and an explicit default port do not matter.
        let ack = parse(
            &INVITE
                .replace("INVITE sip", "ACK sip")
                .replace("314159 INVITE", "314159 ACK")
                .replace("PC33.Example.com:5060", "pc33.example.com")
                .replace("<sip:bob@example.com>\n", "<sip:bob@example.com>;tag=xyz\n"),
        );
        assert_eq!(ServerKey::of_request(&ack).unwrap(), invite);
        let cancel = parse(
            &INVITE
                .replace("INVITE sip", "CANCEL sip")
                .replace("314159 INVITE", "314159 CANCEL"),
        );
        let cancel_key = ServerKey::of_request(&cancel).unwrap();
        assert_ne!(cancel_key, invite);
        assert_eq!(cancel_key.method(), &Method::Cancel);
        assert_eq!(cancel_key.with_method(Method::Invite), invite);
    }

    #[test]
    fn server_key_differs_by_branch_and_sent_by() {
        let invite = ServerKey::of_request(&parse(INVITE)).unwrap();
        let other_branch = parse(&INVITE.replace("z9hG4bKnashds8", "z9hG4bKnashds9"));
        assert_ne!(ServerKey::of_request(&other_branch).unwrap(), invite);
        let other_port = parse(&INVITE.replace("PC33.Example.com:5060", "pc33.example.com:5070"));
        assert_ne!(ServerKey::of_request(&other_port).unwrap(), invite);
    }

    #[test]
    fn server_key_rfc2543_without_magic_cookie() {
        let old = INVITE.replace("branch=z9hG4bKnashds8", "branch=1234");
        let key = ServerKey::of_request(&parse(&old)).unwrap();
        assert!(matches!(key, ServerKey::Rfc2543 { cseq: 314159, .. }));
        let ack = old
            .replace("INVITE sip", "ACK sip")
            .replace("314159 INVITE", "314159 ACK")
            .replace("<sip:bob@example.com>\n", "<sip:bob@example.com>;tag=xyz\n");
        assert_eq!(ServerKey::of_request(&parse(&ack)).unwrap(), key);
        let next = old.replace("314159 INVITE", "314160 INVITE");
        assert_ne!(ServerKey::of_request(&parse(&next)).unwrap(), key);
    }

    #[test]
    fn client_key_uses_branch_and_cseq_method() {
        let req = parse(INVITE);
        let key = ClientKey::of_request(&req).unwrap();
        assert_eq!(key.branch, "z9hG4bKnashds8");
        assert_eq!(key.method, Method::Invite);
        let resp = parse(
            "SIP/2.0 180 Ringing
Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnashds8
To: <sip:bob@example.com>;tag=a6c85cf
From: <sip:alice@example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Content-Length: 0

",
        );
        assert_eq!(ClientKey::of_response(&resp).unwrap(), key);
        let cancel_resp = parse(
            "SIP/2.0 200 OK
Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnashds8
To: <sip:bob@example.com>;tag=a6c85cf
From: <sip:alice@example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 CANCEL
Content-Length: 0

",
        );
        assert_ne!(ClientKey::of_response(&cancel_resp).unwrap(), key);
        assert_eq!(ClientKey::of_response(&req), Err(KeyError::WrongKind));
    }
}
