//! One SDP origin per leg (RFC 3264 §8, RFC 4566 §5.2). Every session description we
//! give a phone carries the same `o=` username, session id and address for the whole
//! dialog, with a version one higher each time the description changes and the same
//! version when it does not. In an anchored call most of what we give one phone is the
//! other phone's SDP: its `o=` is replaced by ours, so no phone ever sees the other's
//! origin in its dialog (to it, the other origin would be a new session, RFC 3264 §8).

use std::net::IpAddr;

use crate::sip::sdp::{Connection, Origin, SessionDescription};

/// What a leg's phone knows of our side of its session.
#[derive(Debug, Clone)]
pub(crate) struct LegOrigin {
    origin: Origin,
    /// The last description given, with its origin: the next one bumps the version only
    /// if it differs.
    last: Option<SessionDescription>,
}

impl LegOrigin {
    /// Username `clicktocall` (as the original's offer), `session_id` as id and first
    /// version, our address.
    pub(crate) fn new(addr: IpAddr, session_id: u64) -> LegOrigin {
        let conn = Connection::new(addr);
        LegOrigin {
            origin: Origin {
                username: "clicktocall".into(),
                session_id,
                session_version: session_id,
                net_type: conn.net_type,
                addr_type: conn.addr_type,
                address: conn.address,
            },
            last: None,
        }
    }

    /// `sdp` as this leg's phone is to get it: under our origin, the version incremented
    /// when the description differs from the last one given (RFC 3264 §8: "the version
    /// MUST be incremented" on a change, and a description offered again unchanged keeps
    /// it). A body that is not SDP we can parse goes as it is: it is the phones' to
    /// judge, and a phone's answer we cannot read is no reason to break the call.
    pub(crate) fn stamp(&mut self, sdp: &[u8]) -> Vec<u8> {
        let Ok(mut desc) = SessionDescription::parse(sdp) else {
            return sdp.to_vec();
        };
        desc.origin = self.origin.clone();
        if let Some(last) = &self.last
            && *last != desc
        {
            self.origin.session_version = self.origin.session_version.wrapping_add(1);
            desc.origin.session_version = self.origin.session_version;
        }
        let bytes = desc.to_bytes();
        self.last = Some(desc);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE: &str = "v=0\r\no=phone 77 5 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=sendrecv\r\n";

    fn origin_line(sdp: &[u8]) -> String {
        let text = String::from_utf8(sdp.to_vec()).unwrap();
        text.lines()
            .find(|l| l.starts_with("o="))
            .unwrap()
            .to_string()
    }

    /// The other phone's origin never shows; the version moves on each change only.
    #[test]
    fn every_description_carries_our_origin_and_a_version_bumped_on_change() {
        let mut o = LegOrigin::new("127.0.0.1".parse().unwrap(), 1000);
        let first = o.stamp(PHONE.as_bytes());
        assert_eq!(
            origin_line(&first),
            "o=clicktocall 1000 1000 IN IP4 127.0.0.1"
        );
        // The rest is the phone's, untouched.
        assert_eq!(
            String::from_utf8(first.clone()).unwrap(),
            PHONE.replace(
                "o=phone 77 5 IN IP4 192.0.2.7",
                "o=clicktocall 1000 1000 IN IP4 127.0.0.1"
            )
        );
        // The same again (a refresh, the phone's own version bumped): same version.
        let again = o.stamp(PHONE.replace("77 5", "77 6").as_bytes());
        assert_eq!(again, first);
        let hold = o.stamp(PHONE.replace("sendrecv", "sendonly").as_bytes());
        assert_eq!(
            origin_line(&hold),
            "o=clicktocall 1000 1001 IN IP4 127.0.0.1"
        );
        let resume = o.stamp(PHONE.as_bytes());
        assert_eq!(
            origin_line(&resume),
            "o=clicktocall 1000 1002 IN IP4 127.0.0.1"
        );
        // Not SDP we can read: passed on as it is.
        assert_eq!(o.stamp(b"v=0\r\nnonsense\r\n"), b"v=0\r\nnonsense\r\n");
    }
}
