//! The two requests a transaction derives from one it sent: the ACK for a non-2xx final
//! response (RFC 3261 §17.1.1.3) and the CANCEL of an INVITE (§9.1).

use crate::sip::msg::{Message, Method, ParseError, ParseErrorKind};

/// The ACK for a 300–699 response to `invite`, as §17.1.1.3 builds it: the INVITE's
/// Request-URI, Call-ID, From, top Via (same branch: it belongs to the transaction) and
/// Route headers, the To of the response (with its tag), and the INVITE's CSeq number with
/// method ACK.
pub(crate) fn build_ack(invite: &Message, response: &Message) -> Result<Message, ParseError> {
    let uri = request_uri(invite)?;
    let mut ack = Message::new_request(Method::Ack, uri);
    let (seq, _) = invite.cseq()?;
    push_common(&mut ack, invite)?;
    ack.push_header("To", response.header("To").ok_or_else(|| missing("To"))?);
    ack.push_header("Call-ID", invite.call_id()?);
    ack.push_header("CSeq", &format!("{seq} ACK"));
    Ok(ack)
}

/// The CANCEL of `invite` (§9.1): the INVITE's Request-URI, Call-ID, To, From, top Via and
/// Route headers, and its CSeq number with method CANCEL.
pub(crate) fn build_cancel(invite: &Message) -> Result<Message, ParseError> {
    let uri = request_uri(invite)?;
    let mut cancel = Message::new_request(Method::Cancel, uri);
    let (seq, _) = invite.cseq()?;
    push_common(&mut cancel, invite)?;
    cancel.push_header("To", invite.header("To").ok_or_else(|| missing("To"))?);
    cancel.push_header("Call-ID", invite.call_id()?);
    cancel.push_header("CSeq", &format!("{seq} CANCEL"));
    Ok(cancel)
}

fn request_uri(invite: &Message) -> Result<crate::sip::msg::Uri, ParseError> {
    invite
        .request_uri()
        .cloned()
        .ok_or_else(|| ParseError::new(ParseErrorKind::StartLine, "not a request"))
}

/// Top Via, Max-Forwards, Route set and From, in the order a request usually carries them.
fn push_common(out: &mut Message, invite: &Message) -> Result<(), ParseError> {
    // Only the top Via: the one with our branch (§17.1.1.3, §9.1).
    out.push_header("Via", invite.header("Via").ok_or_else(|| missing("Via"))?);
    // Max-Forwards is mandatory in every request (§8.1.1.6); reuse the INVITE's.
    let max_forwards = invite.max_forwards()?.unwrap_or(70);
    out.push_header("Max-Forwards", &max_forwards.to_string());
    for route in invite.header_values("Route") {
        out.push_header("Route", route);
    }
    out.push_header(
        "From",
        invite.header("From").ok_or_else(|| missing("From"))?,
    );
    Ok(())
}

fn missing(name: &'static str) -> ParseError {
    ParseError::missing(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Message {
        Message::parse(text.replace('\n', "\r\n").as_bytes()).expect("test message parses")
    }

    const INVITE: &str = "INVITE sip:bob@biloxi.example.com;transport=udp SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKour1;rport
Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>
Max-Forwards: 69
To: \"Bob\" <sip:bob@biloxi.example.com>
From: <sip:alice@atlanta.example.com>;tag=9fxced76sl
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 2 INVITE
Contact: <sip:alice@192.0.2.1>
Content-Type: application/sdp
Content-Length: 4

v=0
";

    const BUSY: &str = "SIP/2.0 486 Busy Here
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKour1;rport=5060;received=192.0.2.1
To: \"Bob\" <sip:bob@biloxi.example.com>;tag=314159
From: <sip:alice@atlanta.example.com>;tag=9fxced76sl
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: 2 INVITE
Content-Length: 0

";

    #[test]
    fn ack_for_non_2xx_follows_17_1_1_3() {
        let ack = build_ack(&parse(INVITE), &parse(BUSY)).unwrap();
        let text = String::from_utf8(ack.to_bytes()).unwrap();
        assert_eq!(
            text,
            "ACK sip:bob@biloxi.example.com;transport=udp SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKour1;rport\r\n\
             Max-Forwards: 69\r\n\
             Route: <sip:p1.example.com;lr>\r\n\
             Route: <sip:p2.example.com;lr>\r\n\
             From: <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
             To: \"Bob\" <sip:bob@biloxi.example.com>;tag=314159\r\n\
             Call-ID: 3848276298220188511@atlanta.example.com\r\n\
             CSeq: 2 ACK\r\n\
             Content-Length: 0\r\n\r\n"
        );
        // It parses back, and carries no body or Contact from the INVITE.
        let back = Message::parse(text.as_bytes()).unwrap();
        assert_eq!(back.cseq().unwrap(), (2, Method::Ack));
        assert_eq!(back.to_tag(), Some("314159"));
        assert_eq!(back.top_branch(), Some("z9hG4bKour1"));
        assert!(!back.has_header("Contact"));
    }

    #[test]
    fn cancel_follows_9_1() {
        let cancel = build_cancel(&parse(INVITE)).unwrap();
        let back = Message::parse(&cancel.to_bytes()).unwrap();
        assert_eq!(back.method(), Some(&Method::Cancel));
        assert_eq!(back.cseq().unwrap(), (2, Method::Cancel));
        assert_eq!(back.top_branch(), Some("z9hG4bKour1"));
        assert_eq!(back.to_tag(), None, "To of the INVITE, not of any response");
        assert_eq!(back.header_values("Route").count(), 2);
        assert_eq!(back.from_tag(), Some("9fxced76sl"));
        assert_eq!(
            back.request_uri().map(ToString::to_string).as_deref(),
            Some("sip:bob@biloxi.example.com;transport=udp")
        );
        assert!(back.body().is_empty());
    }

    #[test]
    fn ack_without_to_in_response_is_an_error() {
        // The parser never lets such a response through; a built one can lack it.
        let mut resp = parse(BUSY);
        resp.remove_header("To");
        let err = build_ack(&parse(INVITE), &resp).unwrap_err();
        assert_eq!(err.header, Some("To"));
    }
}
