//! Outbound Digest authentication (RFC 3261 §22.2), black box: a SIPp initiator demands
//! credentials for the INVITE and, with a stale nonce, for the REFER; SIPp's verifyauth
//! checks each response hash, the pre-authorised BYE's too.

use crate::support::{lab::Lab, lab::events, server::ServerConfig};

#[test]
fn a_phone_that_challenges_the_invite_and_the_refer_gets_its_transfer() {
    let password = "phone secret";
    let lab = Lab::start(
        "auth-phone",
        ServerConfig::calls()
            .set("SipAuthUser", "c2c")
            .set("SipAuthPassword", password),
    );
    let (got, initiator) = lab.refer_call(
        "initiator_challenges.xml",
        &[("PASSWORD", password.to_string())],
    );
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    assert_eq!(initiator.received("INVITE"), 2);
    assert_eq!(initiator.received("REFER"), 2);
    // The password is never logged.
    let log = lab.server.log();
    assert!(!log.contains(password), "the password is in the log");
}
