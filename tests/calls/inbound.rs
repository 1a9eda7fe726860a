//! Requests that reach the server from outside a click-to-call, black box: an inbound
//! INVITE is refused with 403 (reference trace sip-inbound-invite), OPTIONS is answered
//! 200 (the original crashed: trace sip-options), requests for an unknown dialog get 481.

use crate::support::{lab::Lab, server::ServerConfig};

#[test]
fn inbound_invite_is_refused_with_403() {
    let mut lab = Lab::start("inbound-invite", ServerConfig::calls());
    let mut caller = lab.uac("uac_inbound_invite.xml", &[]);
    caller.expect_pass();
    assert!(lab.server.is_running());
}

#[test]
fn options_is_answered_200_with_allow_accept_and_supported() {
    let mut lab = Lab::start("options", ServerConfig::calls());
    let mut prober = lab.uac("uac_options.xml", &[]);
    prober.expect_pass();
    assert!(
        lab.server.is_running(),
        "the server must survive OPTIONS (the original crashed)"
    );
}

#[test]
fn requests_for_an_unknown_dialog_get_481() {
    let mut lab = Lab::start("unknown-dialog", ServerConfig::calls());
    let mut stranger = lab.uac("uac_unknown_dialog.xml", &[]);
    stranger.expect_pass();
    assert!(lab.server.is_running());
}
