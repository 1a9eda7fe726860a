//! Reading the NOTIFYs of a REFER's implicit subscription (RFC 3515 §2.4.4–§2.4.7,
//! RFC 6665 §4.1.3): the sipfrag status of the transfer and whether the subscription ended.

use crate::sip::msg::Message;
use crate::sip::sipfrag;

/// What one `Event: refer` NOTIFY says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferNotice {
    /// The status code of the sipfrag body, when it has a readable status line.
    pub code: Option<u16>,
    /// `Subscription-State: terminated`.
    pub terminated: bool,
    /// `expires` of an active or pending subscription, in seconds.
    pub expires: Option<u32>,
}

/// True when the NOTIFY is for a REFER subscription (`Event: refer`, with or without `id`).
pub fn is_refer_event(req: &Message) -> bool {
    req.header("Event").is_some_and(|e| {
        let name = e.split(';').next().unwrap_or("").trim();
        name.eq_ignore_ascii_case("refer")
    })
}

/// Read a refer NOTIFY. The body is read liberally (a bare LF line end, as baresip sends,
/// is accepted: the C++ original misread it and hung up transfers that succeeded).
pub fn read(req: &Message) -> TransferNotice {
    let code = sipfrag::parse(req.body())
        .ok()
        .and_then(|frag| frag.status());
    let (terminated, expires) = match req.header("Subscription-State") {
        Some(value) => {
            let (state, params) = value.split_once(';').unwrap_or((value, ""));
            let expires = params
                .split(';')
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("expires"))
                .and_then(|(_, v)| v.trim().parse().ok());
            (state.trim().eq_ignore_ascii_case("terminated"), expires)
        }
        // RFC 6665 §8.2.3 makes the header mandatory; without it nothing ends.
        None => (false, None),
    };
    TransferNotice {
        code,
        terminated,
        expires,
    }
}
