//! Overload is refused at the front door, never inside a live call (issue 13): while the
//! server refuses new click-to-calls for `MaxConcurrentCalls`, the in-dialog NOTIFYs of
//! the call it admitted are answered 200 and that call completes.

use crate::support::{
    CALL_WAIT, lab::phone, phone::Phone, ports::unbound_port, server::Server, server::ServerConfig,
    xml::XmlClient,
};

const SIPFRAG: &str = "message/sipfrag";

#[test]
fn in_dialog_notifies_are_answered_200_while_new_calls_are_refused() {
    let config = ServerConfig::calls().set("MaxConcurrentCalls", "1");
    let server = Server::start_scratch("admission-notify", &config);
    let mut initiator = Phone::start();
    let destination = phone(unbound_port(), "200");

    let mut admitted = XmlClient::connect(server.xml_port);
    admitted.send_request(&initiator.addr("100"), &destination, false);
    admitted.expect(100, None, CALL_WAIT);
    let invite = initiator.expect_request("INVITE");
    initiator.reply(&invite, 200, "OK", true);
    initiator.expect_request("ACK");
    let refer = initiator.expect_request("REFER");
    initiator.reply(&refer, 202, "Accepted", false);

    // The one call allowed is alive: a second one is refused at the front door.
    let mut refused = XmlClient::connect(server.xml_port);
    refused.send_request(&initiator.addr("101"), &destination, false);
    let refusal = refused.expect(503, None, CALL_WAIT);
    assert!(refusal.is_final(), "{refusal:?}");

    // The admitted call's subscription goes on (RFC 3515 §2.4.4): both NOTIFYs get 200.
    initiator.request_in_dialog(
        &invite,
        "NOTIFY",
        "Event: refer\r\nSubscription-State: active;expires=60\r\n",
        SIPFRAG,
        "SIP/2.0 100 Trying\r\n",
    );
    let ok = initiator.expect_final_response("NOTIFY");
    assert_eq!(ok.status(), Some(200), "{}", ok.start_line());
    // Refused again while the call lives: the admission is not confused by the NOTIFY.
    refused.send_request(&initiator.addr("102"), &destination, false);
    refused.expect(503, None, CALL_WAIT);
    initiator.request_in_dialog(
        &invite,
        "NOTIFY",
        "Event: refer\r\nSubscription-State: terminated;reason=noresource\r\n",
        SIPFRAG,
        "SIP/2.0 200 OK\r\n",
    );
    let ok = initiator.expect_final_response("NOTIFY");
    assert_eq!(ok.status(), Some(200), "{}", ok.start_line());

    let done = admitted.expect(200, Some("Destination"), CALL_WAIT);
    assert!(done.is_final());
    let bye = initiator.expect_request("BYE");
    initiator.reply(&bye, 200, "OK", false);
}
