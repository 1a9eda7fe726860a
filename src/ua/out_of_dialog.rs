//! Answers to requests that belong to no dialog of ours. The server takes no calls: it only
//! places them (as the C++ original, which answers an inbound INVITE 403).

use crate::sip::msg::{Message, Method, new_tag};

use super::dialog::{ALLOW, SUPPORTED, USER_AGENT};

/// The response to a request that matched no dialog, or `None` when none is due (an ACK:
/// RFC 3261 §17.2.3 — a stray ACK is dropped).
pub(crate) fn answer(req: &Message) -> Option<Message> {
    let method = req.method()?;
    if *method == Method::Ack {
        return None;
    }
    let tagged = req.to_tag().is_some();
    let (code, reason) = match method {
        // RFC 3261 §9.2: a CANCEL that matches no transaction gets 481.
        Method::Cancel => (481, "Call/Transaction Does Not Exist"),
        // RFC 3261 §12.2.2: a request with a To tag that matches no dialog gets 481.
        _ if tagged => (481, "Call/Transaction Does Not Exist"),
        Method::Invite => (403, "Forbidden"),
        // RFC 3261 §11.2: OPTIONS is answered as an INVITE would be, with our capabilities.
        Method::Options => (200, "OK"),
        // RFC 3261 §8.2.1: a method we do not serve outside a dialog.
        _ => (405, "Method Not Allowed"),
    };
    let tag = new_tag();
    let mut resp = Message::response_to(req, code, reason, (!tagged).then_some(tag.as_str()));
    match code {
        200 => {
            resp.push_header("Allow", ALLOW);
            resp.push_header("Accept", "application/sdp, message/sipfrag");
            resp.push_header("Supported", SUPPORTED);
        }
        405 => {
            // Allow lists what we serve, which is not the method just refused.
            let allow: Vec<&str> = ALLOW
                .split(", ")
                .filter(|m| *m != method.as_str())
                .collect();
            resp.push_header("Allow", &allow.join(", "));
        }
        _ => {}
    }
    resp.push_header("User-Agent", USER_AGENT);
    Some(resp)
}
