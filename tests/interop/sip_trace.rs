//! The reader of baresip's SIP trace (`support::sip_trace`), on printed samples.

use crate::support::sip_trace::parse;

const SAMPLE: &str = "baresip is ready.\n\x1b[36;1m#\nUDP 127.0.0.1:5072 -> 127.0.0.1:5061\n\
    NOTIFY sip:click2call@127.0.0.1:5072 SIP/2.0\r\nCSeq: 12 NOTIFY\r\ni: abc\r\n\
    Content-Type: message/sipfrag\r\nContent-Length: 19\r\n\r\nSIP/2.0 100 Trying\n\x1b[;m\n\
    menu: transferring call\n\x1b[36;1m#\nUDP 127.0.0.1:5061 -> 127.0.0.1:5072\n\
    SIP/2.0 200 OK\r\nCSeq: 12 NOTIFY\r\nContent-Length: 0\r\n\r\n\x1b[;m\n";

#[test]
fn finds_requests_and_responses_with_bodies_cut_by_content_length() {
    let messages = parse(SAMPLE);
    assert_eq!(messages.len(), 2);
    let notify = &messages[0];
    assert!(notify.is_request("NOTIFY", 5072, 5061));
    assert_eq!(notify.call_id(), Some("abc"));
    // baresip ends the sipfrag with a bare LF; the body keeps it as sent.
    assert_eq!(notify.body, "SIP/2.0 100 Trying\n");
    let ok = &messages[1];
    assert!(ok.is_response(200, "NOTIFY", 5061, 5072));
    assert_eq!(ok.method(), None);
    assert_eq!(ok.body, "");
}

#[test]
fn a_message_cut_short_keeps_what_was_printed() {
    let text =
        "UDP 127.0.0.1:1 -> 127.0.0.1:2\nSIP/2.0 200 OK\r\nContent-Length: 100\r\n\r\nv=0\r\n";
    let messages = parse(text);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body, "v=0\r\n");
    assert_eq!(messages[0].status(), Some(200));
}

#[test]
fn log_lines_that_look_like_addresses_but_are_not_are_skipped() {
    assert!(parse("UDP socket ready\nTCP 1 -> 2\nno message here\n").is_empty());
}
