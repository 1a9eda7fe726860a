//! Click-to-calls to phones reached over TCP (translated URIs with `;transport=tcp`),
//! black box: the same sequences as over UDP, in-dialog requests both ways on the
//! connections (SIPp `-t t1`: one connection per phone).

use crate::support::{
    lab::Lab, lab::events, lab::phone, ports::unbound_port, server::ServerConfig,
};

#[test]
fn refer_success_over_tcp() {
    let lab = Lab::start("tcp-refer", ServerConfig::calls());
    let dest = unbound_port();
    let mut initiator = lab.uas_tcp("initiator_refer_ok.xml", &[("DEST_PORT", dest.to_string())]);
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
    initiator.expect_pass();
}

#[test]
fn anchored_call_over_tcp_relays_sdp_and_mirrors_bye() {
    let lab = Lab::start("tcp-anchor", ServerConfig::calls());
    let mut initiator = lab.uas_tcp("initiator_anchor.xml", &[]);
    let mut destination = lab.uas_tcp(
        "destination_anchor.xml",
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let got = lab.click_to_call(&initiator.phone("100"), &destination.phone("200"), true);
    assert_eq!(got, crate::support::lab::connected_both_legs());
    destination.expect_pass();
    initiator.expect_pass();
    // RFC 3261 §8.1.1.8: our Contact names the transport the phone reached us over, so
    // its in-dialog requests come back on TCP (not to the UDP port as before).
    let ours = format!(
        "Contact: <sip:click2call@127.0.0.1:{};transport=tcp>",
        lab.server.sip_port
    );
    let init = initiator.messages();
    assert!(init.contains(&ours), "{init}");
    let dest = destination.messages();
    let ours_dest = ours.replace("click2call", "100");
    assert!(dest.contains(&ours_dest), "{dest}");
    let udp_form = format!("@127.0.0.1:{}>", lab.server.sip_port);
    assert!(
        !init.contains(&udp_form) && !dest.contains(&udp_form),
        "no Contact of ours without the transport"
    );
}
