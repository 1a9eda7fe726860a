//! Reading the NOTIFYs of a REFER's implicit subscription (RFC 3515 §2.4.4–§2.4.7,
//! RFC 6665 §4.1.3): the sipfrag status of the transfer and whether the subscription ended.

use crate::sip::msg::Message;
use crate::sip::sipfrag;

/// What one `Event: refer` NOTIFY says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransferNotice {
    /// The status code of the sipfrag body, when it has a readable status line.
    pub code: Option<u16>,
    /// `Subscription-State: terminated`.
    pub terminated: bool,
    /// Terminated with `reason=timeout`: the subscription expired at the notifier before
    /// an outcome was known (RFC 6665 §4.1.3).
    pub timed_out: bool,
    /// `expires` of an active or pending subscription, in seconds.
    pub expires: Option<u32>,
}

/// True when the NOTIFY is for a REFER subscription (`Event: refer`, with or without `id`).
pub(crate) fn is_refer_event(req: &Message) -> bool {
    matches!(req.event(), Ok(Some(e)) if e.package.eq_ignore_ascii_case("refer"))
}

/// Read a refer NOTIFY. The body is read liberally (a bare LF line end, as baresip sends,
/// is accepted: the C++ original misread it and hung up transfers that succeeded).
pub(crate) fn read(req: &Message) -> TransferNotice {
    let code = sipfrag::parse(req.body())
        .ok()
        .and_then(|frag| frag.status());
    // RFC 6665 §8.2.3 makes Subscription-State mandatory; without it nothing ends.
    let state = req.subscription_state().ok().flatten();
    let terminated = state.as_ref().is_some_and(|s| s.is_terminated());
    let timed_out = terminated
        && state
            .as_ref()
            .and_then(|s| s.reason.as_deref())
            .is_some_and(|r| r.eq_ignore_ascii_case("timeout"));
    TransferNotice {
        code,
        terminated,
        timed_out,
        expires: state.and_then(|s| s.expires),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notify(state: &str, body: &str) -> Message {
        let text = format!(
            "NOTIFY sip:c@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 NOTIFY\r\nEvent: refer;id=2\r\nSubscription-State: {state}\r\nContent-Type: message/sipfrag\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        Message::parse(text.as_bytes()).expect("test NOTIFY parses")
    }

    #[test]
    fn reads_status_state_and_expiry() {
        let n = notify("active;expires=60", "SIP/2.0 180 Ringing\r\n");
        assert!(is_refer_event(&n));
        assert_eq!(
            read(&n),
            TransferNotice {
                code: Some(180),
                terminated: false,
                timed_out: false,
                expires: Some(60)
            }
        );
        let n = notify("terminated;reason=noresource", "SIP/2.0 200 OK\r\n");
        assert_eq!(
            read(&n),
            TransferNotice {
                code: Some(200),
                terminated: true,
                timed_out: false,
                expires: None
            }
        );
    }

    #[test]
    fn a_subscription_ended_by_its_expiry_is_a_time_out() {
        let n = notify("terminated;reason=timeout", "SIP/2.0 100 Trying\r\n");
        assert!(read(&n).timed_out);
        let n = notify("terminated;reason=giveup", "SIP/2.0 100 Trying\r\n");
        assert!(!read(&n).timed_out);
    }

    #[test]
    fn a_bare_lf_sipfrag_is_still_read() {
        let n = notify("terminated;reason=noresource", "SIP/2.0 200 OK\n");
        assert_eq!(read(&n).code, Some(200));
    }
}
