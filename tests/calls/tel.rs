//! `tel:` URIs after translation (RFC 3261 §19.1.6), black box: with `TelUriDomain` the
//! call goes to `sip:<number>@<domain>;user=phone`; without it the request is refused
//! with a 400 naming the URI, before any call is placed.

use crate::support::{
    lab::Lab, lab::phone, ports::unbound_port, server::ServerConfig, sipp::Sipp, tmp::TempDir,
};

#[test]
fn a_tel_uri_is_called_at_the_tel_uri_domain_with_user_phone() {
    // The phone's port is the domain's: start the phone first, then the server.
    let dir = TempDir::new("tel-phone");
    let mut phone_sipp = Sipp::uas(dir.path(), "initiator_busy.xml", &[]);
    let lab = Lab::start(
        "tel",
        ServerConfig::calls()
            .rule(r"^tel(\d+)$", "tel:+$1")
            .set("TelUriDomain", &format!("127.0.0.1:{}", phone_sipp.port)),
    );
    let got = lab.click_to_call("tel15551234567", &phone(unbound_port(), "200"), false);
    assert_eq!(got.last().map(|e| e.code), Some(486), "{got:?}");
    phone_sipp.expect_pass();
    let trace = phone_sipp.messages();
    let want = format!(
        "INVITE sip:+15551234567@127.0.0.1:{};user=phone SIP/2.0",
        phone_sipp.port
    );
    assert!(trace.contains(&want), "{want} not in\n{trace}");
}

#[test]
fn a_tel_uri_without_a_domain_is_refused_with_400() {
    let lab = Lab::start(
        "tel-none",
        ServerConfig::calls().rule(r"^tel(\d+)$", "tel:+$1"),
    );
    let got = lab.click_to_call("tel15551234567", &phone(unbound_port(), "200"), false);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].code, 400);
    assert_eq!(
        got[0].text,
        "Invalid URI format for initiator tel:+15551234567"
    );
}
