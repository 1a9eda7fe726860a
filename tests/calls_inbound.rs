//! Requests that reach the server from outside a click-to-call, black box: an inbound
//! INVITE is refused with 403 (reference trace sip-inbound-invite), OPTIONS is answered
//! 200 (the original crashed: trace sip-options), requests for an unknown dialog get 481.

#[path = "support/mod.rs"]
mod support;

use support::{Lab, ServerOptions};

#[test]
fn inbound_invite_is_refused_with_403() {
    let mut lab = Lab::start("inbound-invite", ServerOptions::default());
    let mut caller = lab.uac("uac_inbound_invite.xml", &[]);
    caller.expect_pass();
    assert!(lab.server.is_running());
}

#[test]
fn options_is_answered_200_with_allow_accept_and_supported() {
    let mut lab = Lab::start("options", ServerOptions::default());
    let mut prober = lab.uac("uac_options.xml", &[]);
    prober.expect_pass();
    assert!(
        lab.server.is_running(),
        "the server must survive OPTIONS (the original crashed)"
    );
}

#[test]
fn requests_for_an_unknown_dialog_get_481() {
    let mut lab = Lab::start("unknown-dialog", ServerOptions::default());
    let mut stranger = lab.uac("uac_unknown_dialog.xml", &[]);
    stranger.expect_pass();
    assert!(lab.server.is_running());
}
