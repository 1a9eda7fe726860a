//! The dialog of an out-of-dialog REFER (RFC 5359 §2.18 click-to-dial): the REFER creates
//! a subscription dialog (RFC 3515 §2.4.4, RFC 6665 §4.1.2.4), made by its 2xx or by the
//! first NOTIFY when that comes first. We send nothing in it after the REFER: we only
//! read and answer the NOTIFYs that come in it.

use super::{Dialog, DialogSpec, DialogState};
use crate::sip::msg::{Message, Method, NameAddr, Uri};

impl Dialog {
    /// A REFER outside any dialog to `spec.target` (RFC 3515 §2.4.1): a fresh Call-ID,
    /// our From with a tag, To without one, `Refer-To: <target>`, `Referred-By` us
    /// (RFC 3892). The dialog is `Calling` until the 2xx or a NOTIFY makes it.
    pub(crate) fn refer_out_of_dialog(
        spec: DialogSpec,
        target: &Uri,
        referred_by: &NameAddr,
    ) -> (Dialog, Message) {
        let mut dialog = Dialog::calling(spec);
        let refer = dialog.refer(target, referred_by);
        (dialog, refer)
    }

    /// The 2xx to the out-of-dialog REFER: it makes the subscription's dialog with the
    /// notifier's tag, target and route set (RFC 6665 §4.1.2.4, as a UAC, RFC 3261
    /// §12.1.2). A dialog a NOTIFY made already stays as it is.
    pub(crate) fn on_refer_2xx(&mut self, resp: &Message) {
        if self.state != DialogState::Calling {
            return;
        }
        let Some(tag) = resp.to_tag().map(str::to_string) else {
            return;
        };
        self.remote.set_tag(&tag);
        self.learn_route(resp, true);
        self.state = DialogState::Confirmed;
    }

    /// A NOTIFY for the out-of-dialog REFER before its 2xx (RFC 6665 §4.1.2.4: the
    /// subscriber must be ready for it): it makes the dialog, as a request that creates
    /// one at the UAS (RFC 3261 §12.1.1: the route set is its Record-Route in order, the
    /// target its Contact). True when `req` now belongs to this dialog.
    pub(crate) fn adopt_notifier(&mut self, req: &Message) -> bool {
        let ours = self.state == DialogState::Calling
            && req.method() == Some(&Method::Notify)
            && req.call_id().ok() == Some(self.call_id.as_str())
            && req.to_tag().is_some()
            && req.to_tag() == self.local.tag();
        let Some(tag) = req.from_tag().filter(|_| ours).map(str::to_string) else {
            return false;
        };
        self.remote.set_tag(&tag);
        if let Some(c) = req.contacts().ok().and_then(|c| c.first().cloned()) {
            self.remote_target = self.nat_target(c.uri);
        }
        self.route_set = req.record_routes().unwrap_or_default();
        self.state = DialogState::Confirmed;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DialogSpec {
        DialogSpec {
            target: Uri::parse("sip:100@192.0.2.10:5061").unwrap(),
            from: NameAddr::parse("\"Click-To-Call: 200\" <sip:click2call@192.0.2.1>").unwrap(),
            contact: NameAddr::parse("<sip:click2call@192.0.2.1:5072>").unwrap(),
            outbound_proxy: None,
            proxy_all: false,
            fix_nat: false,
            offer: None,
            extra_headers: Vec::new(),
        }
    }

    fn refer() -> (Dialog, Message) {
        let dest = Uri::parse("sip:200@192.0.2.20").unwrap();
        let by = NameAddr::parse("\"Click-To-Call: 200\" <sip:click2call@192.0.2.1>").unwrap();
        Dialog::refer_out_of_dialog(spec(), &dest, &by)
    }

    fn notify(d: &Dialog, from_tag: &str, cseq: u32) -> Message {
        let text = format!(
            "NOTIFY sip:click2call@192.0.2.1:5072 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5061;branch=z9hG4bKn{cseq}\r\nFrom: <sip:100@192.0.2.10:5061>;tag={from_tag}\r\nTo: <sip:click2call@192.0.2.1>;tag={}\r\nCall-ID: {}\r\nCSeq: {cseq} NOTIFY\r\nContact: <sip:100@192.0.2.10:5061>\r\nEvent: refer\r\nSubscription-State: active\r\nContent-Length: 0\r\n\r\n",
            d.local_tag().unwrap(),
            d.call_id()
        );
        Message::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn the_refer_is_a_new_request_to_the_initiator_naming_the_destination() {
        let (d, refer) = refer();
        assert_eq!(refer.method(), Some(&Method::Refer));
        assert_eq!(
            refer.request_uri().unwrap().to_string(),
            "sip:100@192.0.2.10:5061"
        );
        assert_eq!(refer.to_tag(), None);
        assert_eq!(refer.from_tag(), d.local_tag());
        assert_eq!(refer.cseq().unwrap(), (1, Method::Refer));
        assert_eq!(refer.header("Refer-To"), Some("<sip:200@192.0.2.20>"));
        assert_eq!(
            refer.header("Referred-By"),
            Some("\"Click-To-Call: 200\"<sip:click2call@192.0.2.1>")
        );
        assert_eq!(
            refer.header("Contact"),
            Some("<sip:click2call@192.0.2.1:5072>")
        );
        assert_eq!(d.state(), DialogState::Calling);
    }

    #[test]
    fn the_2xx_makes_the_dialog_and_its_notifys_match() {
        let (mut d, refer) = refer();
        let mut req = refer.clone();
        req.insert_header_front("Via", "SIP/2.0/UDP 192.0.2.1:5072;branch=z9hG4bKr");
        let mut ok = Message::response_to(&req, 202, "Accepted", Some("phone"));
        ok.push_header("Contact", "<sip:100@192.0.2.10:5061>");
        d.on_refer_2xx(&ok);
        assert_eq!(d.state(), DialogState::Confirmed);
        assert!(d.matches(&notify(&d, "phone", 1)));
        assert!(!d.matches(&notify(&d, "other", 1)));
    }

    /// RFC 6665 §4.1.2.4: a NOTIFY may come before the 2xx; it makes the dialog, and the
    /// 2xx after it changes nothing.
    #[test]
    fn a_notify_before_the_2xx_makes_the_dialog() {
        let (mut d, refer) = refer();
        let n = notify(&d, "phone", 1);
        assert!(!d.matches(&n));
        assert!(d.adopt_notifier(&n));
        assert!(d.matches(&n));
        assert!(!d.adopt_notifier(&notify(&d, "other", 2)), "only once");
        let mut req = refer.clone();
        req.insert_header_front("Via", "SIP/2.0/UDP 192.0.2.1:5072;branch=z9hG4bKr");
        d.on_refer_2xx(&Message::response_to(&req, 202, "Accepted", Some("late")));
        assert!(d.matches(&notify(&d, "phone", 2)));
    }

    #[test]
    fn a_request_of_another_call_is_not_adopted() {
        let (mut d, _) = refer();
        let (other, _) = refer();
        assert!(!d.adopt_notifier(&notify(&other, "phone", 1)));
        assert_eq!(d.state(), DialogState::Calling);
    }
}
