//! A phone behind NAT (its Contact a private address), black box: with `FixNatContact`
//! the server's in-dialog requests go to the address its INVITE reached.

use crate::support::{
    lab::Lab, lab::events, lab::phone, ports::unbound_port, server::ServerConfig,
};

#[test]
fn fix_nat_contact_reaches_a_phone_whose_contact_is_private() {
    let lab = Lab::start("nat", ServerConfig::calls().set("FixNatContact", "1"));
    let dest = unbound_port();
    let mut initiator = lab.uas(
        "initiator_refer_nat.xml",
        &[("DEST_PORT", dest.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &phone(dest, "200"), false);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    // The REFER and the BYE reached the phone, not 10.0.0.5.
    initiator.expect_pass();
    let trace = initiator.messages();
    let want = format!(
        "REFER sip:100@127.0.0.1:{};transport=UDP SIP/2.0",
        initiator.port
    );
    assert!(trace.contains(&want), "{want} not in\n{trace}");
}
