//! The XML interface's documents, compared whole against the C++ original's bytes
//! (shared/reference/traces: xml-*/trigger.out and probe-xml.txt), with a calls-thread
//! test double scripting the progress events.

use std::time::Duration;

use crate::support::{
    api_double::Harness, api_double::progress, api_double::refer_ok, wire::connect, wire::read_n,
    wire::send, wire::silent_and_open,
};
use clicktocall::c2c::command::Role;

const REQ_REFER: &str = "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n    <AnchorCall>false</AnchorCall>\r\n  </Request>\r\n</ClickToCall>\r\n";
const ECHO_REFER: &str = "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n    <AnchorCall>false</AnchorCall>\r\n  </Request>\r\n\r\n  <Response>\r\n";
const HUNDRED_LINES: &str = "    <TranslatedInitiator>sip:100@127.0.0.1:5061</TranslatedInitiator>\r\n    <TranslatedDestination>sip:200@127.0.0.1:5062</TranslatedDestination>\r\n    <Result Code=\"100\">In progress</Result>\r\n";

fn doc(echo: &str, lines: &str) -> String {
    format!("{echo}{lines}  </Response>\r\n</ClickToCall>")
}

fn result(code: u16, leg: &str, text: &str) -> String {
    format!("    <Result Code=\"{code}\" Leg=\"{leg}\">{text}</Result>\r\n")
}

/// Sends `request` on a new connection and expects exactly `expected` back, then silence.
fn exchange(h: &Harness, request: &[u8], expected: &str) {
    let mut s = connect(h.xml);
    send(&mut s, request);
    let got = read_n(&mut s, expected.len());
    assert_eq!(String::from_utf8_lossy(&got), expected);
    assert!(
        silent_and_open(&mut s, Duration::from_millis(200)),
        "nothing after the last document"
    );
}

#[test]
fn refer_success_sequence_matches_the_original() {
    let h = Harness::start(|_| {});
    let placed = h.auto_answer(|_| refer_ok());
    let expected = [
        doc(ECHO_REFER, HUNDRED_LINES),
        doc(ECHO_REFER, &result(180, "Initiator", "Ringing initiator")),
        doc(
            ECHO_REFER,
            &result(200, "Initiator", "Connected to initiator"),
        ),
        doc(
            ECHO_REFER,
            &result(200, "Destination", "Connected to destination"),
        ),
    ]
    .concat();
    exchange(&h, REQ_REFER.as_bytes(), &expected);
    let placed = placed.lock().expect("log").clone();
    assert_eq!(placed.len(), 1);
    assert_eq!(placed[0].initiator, "sip:100@127.0.0.1:5061");
    assert_eq!(placed[0].destination, "sip:200@127.0.0.1:5062");
    assert!(!placed[0].anchor);
}

#[test]
fn anchored_sequence_matches_the_original_trace_byte_for_byte() {
    let h = Harness::start(|_| {});
    let placed = h.auto_answer(|_| {
        let ms = Duration::from_millis(2);
        vec![
            (ms, progress(180, Role::Initiator, "Ringing initiator")),
            (ms, progress(200, Role::Initiator, "Connected to initiator")),
            (ms, progress(180, Role::Destination, "Ringing destination")),
            (
                ms,
                progress(200, Role::Destination, "Connected to destination"),
            ),
        ]
    });
    let request = b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n    <AnchorCall>true</AnchorCall>\r\n  </Request>\r\n</ClickToCall>\r\n";
    // xml-anchor/trigger.out, every chunk concatenated.
    let expected = concat!(
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n    <AnchorCall>true</AnchorCall>\r\n  </Request>\r\n\r\n  <Response>\r\n    <TranslatedInitiator>sip:100@127.0.0.1:5061</TranslatedInitiator>\r\n    <TranslatedDestination>sip:200@127.0.0.1:5062</TranslatedDestination>\r\n    <Result Code=\"100\">In progress</Result>\r\n  </Response>\r\n</ClickToCall>",
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n    <AnchorCall>true</AnchorCall>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"180\" Leg=\"Initiator\">Ringing initiator</Result>\r\n  </Response>\r\n</ClickToCall>",
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n    <AnchorCall>true</AnchorCall>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"200\" Leg=\"Initiator\">Connected to initiator</Result>\r\n  </Response>\r\n</ClickToCall>",
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n    <AnchorCall>true</AnchorCall>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"180\" Leg=\"Destination\">Ringing destination</Result>\r\n  </Response>\r\n</ClickToCall>",
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n    <AnchorCall>true</AnchorCall>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"200\" Leg=\"Destination\">Connected to destination</Result>\r\n  </Response>\r\n</ClickToCall>",
    );
    exchange(&h, request, expected);
    assert!(placed.lock().expect("log")[0].anchor);
}

#[test]
fn busy_initiator_ends_the_request() {
    let h = Harness::start(|_| {});
    h.auto_answer(|_| {
        vec![(
            Duration::ZERO,
            progress(486, Role::Initiator, "Failed to connect to initiator"),
        )]
    });
    let expected = [
        doc(ECHO_REFER, HUNDRED_LINES),
        doc(
            ECHO_REFER,
            &result(486, "Initiator", "Failed to connect to initiator"),
        ),
    ]
    .concat();
    exchange(&h, REQ_REFER.as_bytes(), &expected);
}

#[test]
fn busy_destination_after_connected_initiator() {
    let h = Harness::start(|_| {});
    h.auto_answer(|_| {
        vec![
            (
                Duration::ZERO,
                progress(180, Role::Initiator, "Ringing initiator"),
            ),
            (
                Duration::ZERO,
                progress(200, Role::Initiator, "Connected to initiator"),
            ),
            (
                Duration::ZERO,
                progress(486, Role::Destination, "Failed to connect to destination"),
            ),
        ]
    });
    let expected = [
        doc(ECHO_REFER, HUNDRED_LINES),
        doc(ECHO_REFER, &result(180, "Initiator", "Ringing initiator")),
        doc(
            ECHO_REFER,
            &result(200, "Initiator", "Connected to initiator"),
        ),
        doc(
            ECHO_REFER,
            &result(486, "Destination", "Failed to connect to destination"),
        ),
    ]
    .concat();
    exchange(&h, REQ_REFER.as_bytes(), &expected);
}

#[test]
fn nothing_is_written_after_a_final_event() {
    let h = Harness::start(|_| {});
    // A misbehaving engine sending more after the final: the client must not see it.
    h.auto_answer(|_| {
        vec![
            (
                Duration::ZERO,
                progress(408, Role::Initiator, "Failed to connect to initiator"),
            ),
            (
                Duration::ZERO,
                progress(200, Role::Destination, "Connected to destination"),
            ),
        ]
    });
    let expected = [
        doc(ECHO_REFER, HUNDRED_LINES),
        doc(
            ECHO_REFER,
            &result(408, "Initiator", "Failed to connect to initiator"),
        ),
    ]
    .concat();
    exchange(&h, REQ_REFER.as_bytes(), &expected);
}

#[test]
fn progress_text_and_translated_uris_are_escaped() {
    let h = Harness::start(|_| {});
    h.auto_answer(|_| {
        vec![(
            Duration::ZERO,
            progress(603, Role::Destination, "Declined <by> \"x\" & 'y'"),
        )]
    });
    let request = "<ClickToCall><Request><Initiator>sip:a&amp;b@h</Initiator><Destination>5062200</Destination></Request></ClickToCall>";
    let echo = "<ClickToCall><Request><Initiator>sip:a&amp;b@h</Initiator><Destination>5062200</Destination></Request>\r\n  <Response>\r\n";
    let expected = [
        doc(echo, "    <TranslatedInitiator>sip:a&amp;b@h</TranslatedInitiator>\r\n    <TranslatedDestination>sip:200@127.0.0.1:5062</TranslatedDestination>\r\n    <Result Code=\"100\">In progress</Result>\r\n"),
        doc(echo, &result(603, "Destination", "Declined &lt;by&gt; &quot;x&quot; &amp; &#39;y&#39;")),
    ]
    .concat();
    exchange(&h, request.as_bytes(), &expected);
}

#[test]
fn the_specs_example_request() {
    let h = Harness::start(|_| {});
    let placed = h.auto_answer(|_| refer_ok());
    let request = "<ClickToCall>\r\n   <Request>\r\n      <Initiator>sip:scott@sipdomain.com</Initiator>\r\n      <Destination>5062200</Destination>\r\n      <AnchorCall>false</AnchorCall>\r\n   </Request>\r\n</ClickToCall>\r\n";
    let echo = "<ClickToCall>\r\n   <Request>\r\n      <Initiator>sip:scott@sipdomain.com</Initiator>\r\n      <Destination>5062200</Destination>\r\n      <AnchorCall>false</AnchorCall>\r\n   </Request>\r\n\r\n  <Response>\r\n";
    let expected = [
        doc(echo, "    <TranslatedInitiator>sip:scott@sipdomain.com</TranslatedInitiator>\r\n    <TranslatedDestination>sip:200@127.0.0.1:5062</TranslatedDestination>\r\n    <Result Code=\"100\">In progress</Result>\r\n"),
        doc(echo, &result(180, "Initiator", "Ringing initiator")),
        doc(echo, &result(200, "Initiator", "Connected to initiator")),
        doc(echo, &result(200, "Destination", "Connected to destination")),
    ]
    .concat();
    exchange(&h, request.as_bytes(), &expected);
    assert_eq!(
        placed.lock().expect("log")[0].initiator,
        "sip:scott@sipdomain.com"
    );
}

// ---- probe-xml.txt: the original's 400 answers, byte for byte ----

fn probe(request: &[u8], expected: &str) {
    let h = Harness::start(|_| {});
    let placed = h.auto_answer(|_| refer_ok());
    exchange(&h, request, expected);
    assert!(
        placed.lock().expect("log").is_empty(),
        "no call for a refused request"
    );
}

#[test]
fn probe_bad_xml() {
    probe(
        b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Foo>\r\n  </Request>\r\n</ClickToCall>\r\n",
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Foo>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">Parse error</Result>\r\n  </Response>\r\n</ClickToCall>",
    );
}

#[test]
fn probe_bad_xml_unclosed_child() {
    probe(
        b"<ClickToCall><Request><Initiator>5061100</Request></ClickToCall>",
        "<ClickToCall><Request><Initiator>5061100</Request>\r\n  <Response>\r\n    <Result Code=\"400\">Parse error</Result>\r\n  </Response>\r\n</ClickToCall>",
    );
}

#[test]
fn probe_unknown_root() {
    probe(
        b"<Foo>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n</Foo>\r\n",
        "<Foo>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">Unknown method</Result>\r\n  </Response>\r\n</Foo>",
    );
}

#[test]
fn probe_missing_initiator() {
    probe(
        b"<ClickToCall>\r\n  <Request>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
        "<ClickToCall>\r\n  <Request>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">Missing initiator and/or destination tags</Result>\r\n  </Response>\r\n</ClickToCall>",
    );
}

#[test]
fn probe_empty_initiator() {
    probe(
        b"<ClickToCall>\r\n  <Request>\r\n    <Initiator></Initiator>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator></Initiator>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">Missing initiator and/or destination tags</Result>\r\n  </Response>\r\n</ClickToCall>",
    );
}

#[test]
fn probe_no_request_element() {
    probe(
        b"<ClickToCall><Initiator>5061100</Initiator><Destination>5062200</Destination></ClickToCall>",
        "<Response>\r\n    <Result Code=\"400\">Missing initiator and/or destination tags</Result>\r\n</Response>",
    );
}

#[test]
fn probe_no_rule() {
    probe(
        b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall>",
    );
}

#[test]
fn probe_no_rule_destination_only() {
    probe(
        b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator 5061100 or destination def</Result>\r\n  </Response>\r\n</ClickToCall>",
    );
}

#[test]
fn probe_split_write() {
    let h = Harness::start(|_| {});
    let mut s = connect(h.xml);
    let req = b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n";
    send(&mut s, &req[..40]);
    assert!(silent_and_open(&mut s, Duration::from_millis(100)));
    send(&mut s, &req[40..]);
    let expected = "<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall>";
    assert_eq!(
        String::from_utf8_lossy(&read_n(&mut s, expected.len())),
        expected
    );
}

#[test]
fn probe_two_pipelined() {
    probe(
        b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n<Foo></Foo>",
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall><Response>\r\n    <Result Code=\"400\">Unknown method</Result>\r\n</Response>",
    );
}

// ---- the original's failures, answered in the normal format (README differences) ----

#[test]
fn xml_declaration_prefix_is_answered() {
    probe(
        b"<?xml version=\"1.0\"?>\r\n<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall>",
    );
}

#[test]
fn root_with_attribute_is_answered() {
    probe(
        b"<ClickToCall id=\"1\"><Request><Initiator>abc</Initiator><Destination>def</Destination></Request></ClickToCall>",
        "<ClickToCall id=\"1\"><Request><Initiator>abc</Initiator><Destination>def</Destination></Request>\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall>",
    );
}

#[test]
fn lowercase_tags_get_the_echo_format() {
    probe(
        b"<clicktocall><request><initiator>abc</initiator><destination>def</destination></request></clicktocall>",
        "<clicktocall><request><initiator>abc</initiator><destination>def</destination></request>\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</clicktocall>",
    );
}

#[test]
fn unparsable_translated_uris_are_400_before_any_call() {
    probe(
        b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>sip:&lt;&gt;</Initiator>\r\n    <Destination>sip:&lt;&gt;</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>sip:&lt;&gt;</Initiator>\r\n    <Destination>sip:&lt;&gt;</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">Invalid URI format for initiator sip:&lt;&gt; and destination sip:&lt;&gt;</Result>\r\n  </Response>\r\n</ClickToCall>",
    );
    probe(
        b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>sip:@</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>sip:@</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">Invalid URI format for destination sip:@</Result>\r\n  </Response>\r\n</ClickToCall>",
    );
}

#[test]
fn unreachable_initiator_timeout_result() {
    // probe-xml.txt "unreachable-initiator": 100 with the translation, then 408 Initiator.
    let h = Harness::start(|_| {});
    h.auto_answer(|_| {
        vec![(
            Duration::from_millis(5),
            progress(408, Role::Initiator, "Failed to connect to initiator"),
        )]
    });
    let request = b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>5069100</Initiator>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n";
    let expected = "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5069100</Initiator>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <TranslatedInitiator>sip:100@127.0.0.1:5069</TranslatedInitiator>\r\n    <TranslatedDestination>sip:200@127.0.0.1:5062</TranslatedDestination>\r\n    <Result Code=\"100\">In progress</Result>\r\n  </Response>\r\n</ClickToCall><ClickToCall>\r\n  <Request>\r\n    <Initiator>5069100</Initiator>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"408\" Leg=\"Initiator\">Failed to connect to initiator</Result>\r\n  </Response>\r\n</ClickToCall>";
    exchange(&h, request, expected);
}
