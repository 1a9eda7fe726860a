//! Following 3xx redirects of a leg's INVITE (RFC 3261 §8.1.3.4): the Contacts of each
//! 3xx are new targets, tried one at a time in q order; a target already tried is a loop
//! and is not tried again.

use crate::sip::msg::{Contacts, Message, Uri};

/// The targets of one leg: tried, and still to try.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redirects {
    tried: Vec<Uri>,
    pending: Vec<Uri>,
}

impl Redirects {
    /// `first` is the INVITE's own Request-URI.
    pub(crate) fn new(first: Uri) -> Redirects {
        Redirects {
            tried: vec![first],
            pending: Vec::new(),
        }
    }

    /// Takes the SIP and SIPS Contacts of a 3xx as targets, highest q first (RFC 3261
    /// §20.10: q from 0 to 1, 1 when absent; equal q keeps the listed order). They go
    /// before the targets of earlier 3xx: the latest redirect is the most specific. A
    /// target already tried or queued is dropped (a loop).
    pub(crate) fn learn(&mut self, resp: &Message) {
        let Ok(Contacts::List(list)) = resp.contacts() else {
            return;
        };
        let mut found: Vec<(u16, Uri)> = Vec::new();
        for contact in list {
            let uri = contact.uri;
            let known = |u: &Uri| u.equivalent(&uri);
            if !uri.is_sip()
                || self.tried.iter().any(known)
                || self.pending.iter().any(known)
                || found.iter().any(|(_, u)| known(u))
            {
                continue;
            }
            found.push((q_thousandths(contact.params.value("q")), uri));
        }
        // A stable sort: equal q keeps the order of the Contacts.
        found.sort_by_key(|(q, _)| std::cmp::Reverse(*q));
        let mut next: Vec<Uri> = found.into_iter().map(|(_, u)| u).collect();
        next.append(&mut self.pending);
        self.pending = next;
    }

    /// The next target, while fewer than `max_hops` redirected INVITEs have been sent.
    pub(crate) fn next(&mut self, max_hops: u8) -> Option<Uri> {
        if self.pending.is_empty() || self.tried.len() > usize::from(max_hops) {
            return None;
        }
        let uri = self.pending.remove(0);
        self.tried.push(uri.clone());
        Some(uri)
    }
}

/// A q value (RFC 3261 §25.1: "0" / "1" with up to three decimals) in thousandths;
/// absent or malformed counts as 1.
fn q_thousandths(q: Option<&str>) -> u16 {
    let Some(q) = q else {
        return 1000;
    };
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return 1000;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().unwrap_or(0);
    match int {
        "0" => frac_value,
        _ => 1000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(contacts: &[&str]) -> Message {
        let mut text = String::from(
            "SIP/2.0 302 Moved\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:100@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n",
        );
        for c in contacts {
            text.push_str(&format!("Contact: {c}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        Message::parse(text.as_bytes()).unwrap()
    }

    fn uri(s: &str) -> Uri {
        Uri::parse(s).unwrap()
    }

    #[test]
    fn contacts_are_tried_in_q_order_then_listed_order() {
        let mut r = Redirects::new(uri("sip:100@h"));
        r.learn(&redirect(&[
            "<sip:low@h>;q=0.1",
            "<sip:a@h>",
            "<tel:+1555>",
            "<sip:mid@h>;q=0.5",
            "<sip:b@h>;q=1.0",
        ]));
        let order: Vec<String> = std::iter::from_fn(|| r.next(5))
            .map(|u| u.to_string())
            .collect();
        assert_eq!(order, ["sip:a@h", "sip:b@h", "sip:mid@h", "sip:low@h"]);
    }

    #[test]
    fn loops_and_the_hop_limit_stop_the_redirects() {
        let mut r = Redirects::new(uri("sip:100@h"));
        // A redirect back to the original target, or to one already tried, is a loop.
        r.learn(&redirect(&["<sip:100@h>"]));
        assert_eq!(r.next(5), None);
        r.learn(&redirect(&["<sip:x@h>"]));
        assert_eq!(r.next(5), Some(uri("sip:x@h")));
        r.learn(&redirect(&["<sip:x@h>", "<sip:100@h>"]));
        assert_eq!(r.next(5), None);
        // At most two redirected INVITEs.
        let mut r = Redirects::new(uri("sip:100@h"));
        r.learn(&redirect(&["<sip:1@h>", "<sip:2@h>", "<sip:3@h>"]));
        assert!(r.next(2).is_some() && r.next(2).is_some());
        assert_eq!(r.next(2), None);
        assert_eq!(Redirects::new(uri("sip:100@h")).next(0), None);
        // No Contact at all.
        let mut r = Redirects::new(uri("sip:100@h"));
        r.learn(&redirect(&[]));
        assert_eq!(r.next(5), None);
    }

    #[test]
    fn q_values_parse_to_thousandths() {
        for (q, want) in [
            (None, 1000),
            (Some("1"), 1000),
            (Some("0"), 0),
            (Some("0.5"), 500),
            (Some("0.05"), 50),
            (Some("0.123"), 123),
            (Some("0.1234"), 1000),
            (Some("x"), 1000),
        ] {
            assert_eq!(q_thousandths(q), want, "{q:?}");
        }
    }
}
