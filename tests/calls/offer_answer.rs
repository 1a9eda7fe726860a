//! Offer/answer corner cases against SIPp phones, black box (issue 12 item 1; RFC 3262,
//! 3264, 6337): the destination's offer in a reliable 183 answered in the PRACK, a forked
//! destination with two 100rel early dialogs and two 200s, one `o=` origin per dialog
//! across a hold and a resume, and a phone that only takes PCMA. The scenarios check every
//! rule with regular expressions and SIPp's `<test>`, so a wrong message fails the phone.

use crate::support::{lab::Lab, lab::connected_both_legs, lab::events, server::ServerConfig};

/// RFC 3262 §5: the 183's offer reaches the initiator in our re-INVITE (initiator_anchor.xml
/// checks it), the initiator's answer comes back in the PRACK, and the 200 that follows
/// carries no offer and is ACKed without one.
#[test]
fn an_offer_in_a_reliable_183_is_answered_in_the_prack() {
    let lab = Lab::start("oa-early-offer", ServerConfig::calls());
    let (got, _, destination) =
        lab.call_between("initiator_anchor.xml", "destination_early_offer.xml", true);
    assert_eq!(got, connected_both_legs());
    assert_eq!(destination.received("PRACK"), 1);
}

/// RFC 3262 §4, RFC 3261 §13.2.2.4: both early dialogs are PRACKed in their own dialog;
/// the first 200 wins, the second is ACKed with an answer and then BYEd.
#[test]
fn a_forked_destination_with_two_100rel_early_dialogs_and_two_200s() {
    let lab = Lab::start("oa-fork", ServerConfig::calls());
    let (got, _, destination) = lab.call_between(
        "initiator_anchor.xml",
        "destination_forked_100rel.xml",
        true,
    );
    assert_eq!(got, connected_both_legs());
    assert_eq!(destination.received("PRACK"), 2);
    assert_eq!(destination.received("ACK"), 2);
}

/// RFC 3264 §8: across the initiator's hold and resume each phone sees one origin, ours,
/// with its version one up at each change (the scenarios compute and compare them).
#[test]
fn each_dialog_keeps_one_origin_across_a_hold_and_a_resume() {
    let lab = Lab::start("oa-hold", ServerConfig::calls());
    let (got, _, destination) = lab.call_between(
        "initiator_anchor_hold.xml",
        "destination_anchor_hold.xml",
        true,
    );
    assert_eq!(got, connected_both_legs());
    assert_eq!(
        destination.received("INVITE"),
        3,
        "the call's, the hold, the resume"
    );
}

/// OfferCodecs' default lists PCMA: a phone without PCMU answers with it, and the call
/// completes instead of failing 488.
#[test]
fn a_phone_that_only_takes_pcma_completes_the_call() {
    let lab = Lab::start("oa-pcma", ServerConfig::calls());
    let (got, _) = lab.refer_call("initiator_pcma_only.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
}

/// REFER mode: the initiator's dialog lives until the transfer completes; an offerless
/// re-INVITE then gets our current offer, same o= version, and its answer is in the ACK.
#[test]
fn an_offerless_reinvite_during_a_transfer_gets_our_current_offer() {
    let lab = Lab::start("oa-offerless-refer", ServerConfig::calls());
    let (got, _) = lab.refer_call("initiator_refer_offerless_reinvite.xml", &[]);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
}

/// Anchored: an offerless re-INVITE from the initiator goes to the destination offerless;
/// the destination's offer comes back in our 200, the initiator's answer from its ACK goes
/// in our ACK to the destination.
#[test]
fn an_offerless_reinvite_from_the_initiator_is_relayed_offerless() {
    let lab = Lab::start("oa-offerless-init", ServerConfig::calls());
    let (got, _, _) = lab.call_between(
        "initiator_anchor_offerless.xml",
        "destination_anchor_offerless_relayed.xml",
        true,
    );
    assert_eq!(got, connected_both_legs());
}

/// The same from the destination's side.
#[test]
fn an_offerless_reinvite_from_the_destination_is_relayed_offerless() {
    let lab = Lab::start("oa-offerless-dest", ServerConfig::calls());
    let (got, _, _) = lab.call_between(
        "initiator_anchor_offerless_relayed.xml",
        "destination_anchor_offerless.xml",
        true,
    );
    assert_eq!(got, connected_both_legs());
}
