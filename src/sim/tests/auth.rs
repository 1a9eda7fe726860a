//! Outbound Digest authentication (RFC 3261 §22.2, RFC 7616) against phones that
//! challenge and check the response hash themselves.

use super::*;
use crate::c2c::command::Role;
use crate::sim::{Demand, Script, Sim, SimConfig};
use crate::sip::msg::Method;
use crate::ua::digest::Credentials;

fn creds(password: &str) -> Option<Credentials> {
    Some(Credentials {
        user: "c2c".into(),
        password: password.into(),
        realm: None,
    })
}

const DEMAND: Demand = Demand {
    code: 401,
    realm: "phones",
    user: "c2c",
    password: "secret",
    algorithm: "SHA-256",
    rotate: true,
};

/// REFER mode against an initiator that challenges with 401 (SHA-256, qop auth) and
/// replaces its nonce after each good request: the INVITE goes again once with
/// credentials, a new CSeq and branch, the same Call-ID and From tag; the REFER goes
/// pre-authorised with the old nonce, meets `stale=true`, and goes again (not a failure),
/// and so does the BYE; the call completes.
#[test]
fn a_challenged_invite_and_a_stale_refer_are_sent_again_with_credentials() {
    let mut sim = Sim::new(SimConfig {
        credentials: creds("secret"),
        ..SimConfig::default()
    });
    let ini = sim.add_phone(
        INITIATOR,
        Script {
            challenge: Some(DEMAND),
            transfer: true,
            ..Script::answer()
        },
    );
    let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, false);
    sim.run_until(ms(5_000));
    let phone = sim.phone(ini);
    let invites = phone.requests(Method::Invite);
    assert_eq!(invites.len(), 2, "one INVITE, one retry");
    let (first, retry) = (invites[0].1, invites[1].1);
    assert_eq!(first.header("Authorization"), None);
    assert_eq!(first.cseq().unwrap(), (1, Method::Invite));
    assert_eq!(
        retry.cseq().unwrap(),
        (2, Method::Invite),
        "§22.1: a new CSeq"
    );
    assert_eq!(retry.call_id().ok(), first.call_id().ok());
    assert_eq!(retry.from_tag(), first.from_tag());
    assert_ne!(branch(retry), branch(first), "§8.1.3.5: a new branch");
    let acks = phone.requests(Method::Ack);
    assert_eq!(acks[0].1.cseq().unwrap(), (1, Method::Ack), "the 401's ACK");
    assert_eq!(branch(acks[0].1), branch(first));
    assert_eq!(acks[1].1.cseq().unwrap(), (2, Method::Ack));
    assert_eq!(
        acks[1].1.header("Authorization"),
        retry.header("Authorization"),
        "§13.2.2.4: the 2xx's ACK carries the INVITE's credentials"
    );
    let refers = phone.requests(Method::Refer);
    assert_eq!(refers.len(), 2, "pre-authorised, stale, again");
    assert!(
        refers[0]
            .1
            .header("Authorization")
            .unwrap()
            .contains("nonce=\"nonce1\"")
    );
    assert!(
        refers[1]
            .1
            .header("Authorization")
            .unwrap()
            .contains("nonce=\"nonce2\"")
    );
    assert_eq!(refers[1].1.cseq().unwrap(), (4, Method::Refer));
    // After the transfer's final NOTIFY our BYE meets the same: stale, and again.
    let byes = phone.requests(Method::Bye);
    let byes: Vec<(u32, bool)> = byes
        .iter()
        .map(|(_, m)| {
            let auth = m.header("Authorization").unwrap();
            (m.cseq().unwrap().0, auth.contains("nonce=\"nonce3\""))
        })
        .collect();
    assert_eq!(byes, [(5, false), (6, true)]);
    assert_eq!(
        phone.authorised,
        [Method::Invite, Method::Refer, Method::Bye]
    );
    let reports = progress(&rx);
    assert_eq!(
        reports.last(),
        Some(&(200, Role::Destination)),
        "{reports:?}"
    );
    assert!(!reports.iter().any(|(c, _)| *c == 401), "{reports:?}");
}

/// A wrong password: the retry is challenged again, which is the failure (401), with no
/// third INVITE; without credentials the first challenge is the failure.
#[test]
fn refused_or_missing_credentials_end_the_call_with_the_challenge_code() {
    for (credentials, invites) in [(creds("wrong"), 2), (None, 1)] {
        let mut sim = Sim::new(SimConfig {
            credentials,
            ..SimConfig::default()
        });
        let ini = sim.add_phone(
            INITIATOR,
            Script {
                challenge: Some(Demand {
                    code: 407,
                    rotate: false,
                    ..DEMAND
                }),
                ..Script::answer()
            },
        );
        let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, true);
        sim.run_until(ms(40_000));
        assert_eq!(sim.phone(ini).requests(Method::Invite).len(), invites);
        assert_eq!(progress(&rx), [(407, Role::Initiator)]);
        assert_eq!(sim.active_calls(), 0);
        assert_eq!(sim.engine_counts(), Default::default());
    }
}

/// An anchored call where both phones sit behind a 407-challenging proxy: each leg is
/// authorised on its own, and the BYE at the end goes pre-authorised.
#[test]
fn anchored_legs_are_authorised_each_and_their_bye_goes_pre_authorised() {
    let mut sim = Sim::new(SimConfig {
        credentials: creds("secret"),
        ..SimConfig::default()
    });
    let proxy = Demand {
        code: 407,
        rotate: false,
        ..DEMAND
    };
    let ini = sim.add_phone(
        INITIATOR,
        Script {
            challenge: Some(proxy),
            ..Script::answer()
        },
    );
    let dest = sim.add_phone(
        DESTINATION,
        Script {
            challenge: Some(proxy),
            hang_up_after: Some(ms(1_000)),
            ..Script::answer()
        },
    );
    let rx = sim.click_to_call(INITIATOR_URI, DESTINATION_URI, true);
    sim.run_until(ms(10_000));
    assert_eq!(progress(&rx).last(), Some(&(200, Role::Destination)));
    assert_eq!(sim.phone(dest).authorised, [Method::Invite]);
    // The initiator also gets the re-INVITE with the destination's SDP, pre-authorised.
    assert_eq!(
        sim.phone(ini).authorised,
        [Method::Invite, Method::Invite, Method::Bye]
    );
    assert_eq!(sim.phone(ini).requests(Method::Invite).len(), 3);
    let bye = sim.phone(ini).requests(Method::Bye);
    assert_eq!(bye.len(), 1, "the BYE was not challenged");
    assert!(
        bye[0]
            .1
            .header("Proxy-Authorization")
            .unwrap()
            .contains("nc=00000003")
    );
    assert_eq!(sim.engine_counts(), Default::default());
}
