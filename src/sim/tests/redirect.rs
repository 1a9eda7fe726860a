//! 3xx redirects of a leg's INVITE (RFC 3261 §8.1.3.4) on the virtual clock.

use super::*;
use crate::c2c::command::Role;
use crate::sim::{OnInvite, Script, Sim, SimConfig};
use crate::sip::msg::Method;

/// A 302 with two Contacts: the one with the higher q is tried first (it is busy), then
/// the other, which answers; each redirected INVITE is reported `181`, keeps the Call-ID,
/// From tag and To of the first, and has the next CSeq. The call completes.
#[test]
fn a_302_is_followed_in_q_order_until_a_target_answers() {
    let mut sim = Sim::new(SimConfig::default());
    let first = sim.add_phone(
        INITIATOR,
        Script::with(OnInvite::Redirect {
            contacts: &[
                "<sip:100@127.0.0.1:5063>;q=0.5",
                "<sip:100@127.0.0.1:5064>;q=0.9",
            ],
        }),
    );
    let busy = sim.add_phone(
        "127.0.0.1:5064",
        Script::with(OnInvite::Reject { code: 486 }),
    );
    let answers = sim.add_phone("127.0.0.1:5063", Script::answer());
    sim.add_phone(DESTINATION, Script::answer());
    let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, true);
    sim.run_until(ms(5_000));
    let original = sim.phone(first).requests(Method::Invite)[0].1.clone();
    let to_busy = sim.phone(busy).requests(Method::Invite)[0].1.clone();
    let answered = sim.phone(answers).requests(Method::Invite)[0].1.clone();
    assert_eq!(
        to_busy.request_uri().unwrap().to_string(),
        "sip:100@127.0.0.1:5064"
    );
    for (inv, cseq) in [(&to_busy, 2), (&answered, 3)] {
        assert_eq!(inv.cseq().unwrap(), (cseq, Method::Invite));
        assert_eq!(inv.call_id().ok(), original.call_id().ok());
        assert_eq!(inv.from_tag(), original.from_tag());
        assert_eq!(inv.header("To"), original.header("To"));
    }
    assert_eq!(
        progress(&rx),
        [
            (181, Role::Initiator),
            (181, Role::Initiator),
            (180, Role::Initiator),
            (200, Role::Initiator),
            (180, Role::Destination),
            (200, Role::Destination)
        ]
    );
    let acks = sim.phone(answers).requests(Method::Ack);
    assert_eq!(
        acks[0].1.cseq().unwrap(),
        (3, Method::Ack),
        "the redirected INVITE's"
    );
}

/// A redirect to itself is a loop, and a 302 without Contact has no target: the call
/// ends with the 302; nothing is left behind.
#[test]
fn a_redirect_loop_or_an_empty_contact_list_ends_with_the_3xx() {
    for contacts in [&["<sip:100@127.0.0.1:5061>"][..], &[][..]] {
        let mut sim = Sim::new(SimConfig::default());
        let phone = sim.add_phone(INITIATOR, Script::with(OnInvite::Redirect { contacts }));
        let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, true);
        sim.run_until(ms(40_000));
        assert_eq!(sim.phone(phone).requests(Method::Invite).len(), 1);
        assert_eq!(progress(&rx), [(302, Role::Initiator)], "{contacts:?}");
        assert_eq!(sim.engine_counts(), Default::default());
    }
}

/// Two phones redirecting to each other: the second redirect back is a loop, so only two
/// INVITEs go out, and the call ends with the 302.
#[test]
fn phones_redirecting_to_each_other_end_with_the_3xx() {
    let mut sim = Sim::new(SimConfig::default());
    let a = sim.add_phone(
        INITIATOR,
        Script::with(OnInvite::Redirect {
            contacts: &["<sip:100@127.0.0.1:5063>"],
        }),
    );
    let b = sim.add_phone(
        "127.0.0.1:5063",
        Script::with(OnInvite::Redirect {
            contacts: &["<sip:100@127.0.0.1:5061>"],
        }),
    );
    let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, false);
    sim.run_until(ms(40_000));
    assert_eq!(sim.phone(a).requests(Method::Invite).len(), 1);
    assert_eq!(sim.phone(b).requests(Method::Invite).len(), 1);
    assert_eq!(
        progress(&rx),
        [(181, Role::Initiator), (302, Role::Initiator)]
    );
}
