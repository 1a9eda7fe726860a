//! The XML interface of the real binary on loopback ephemeral ports, with scripted SIP
//! phones: whole response documents compared byte for byte with what the C++ original
//! writes (shared/reference/README.md, traces/xml-*/trigger.out, traces/probe-xml.txt),
//! pipelined requests with interleaved progress, one-byte writes, the specification's
//! example request, and a client that disconnects while its call goes on.

use std::net::TcpStream;
use std::time::Duration;

use crate::support::{
    WAIT, phone::Phone, server::Server, server::ServerConfig, wire::connect, wire::expect_bytes,
    wire::nothing_within, wire::read_to_close, wire::send,
};

/// A request in the layout of the reference runs (CRLF, two-space indent).
fn request(initiator: &str, destination: &str, anchor: Option<bool>) -> String {
    let anchor = anchor.map_or(String::new(), |a| {
        format!("    <AnchorCall>{a}</AnchorCall>\r\n")
    });
    format!(
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>{initiator}</Initiator>\r\n    \
         <Destination>{destination}</Destination>\r\n{anchor}  </Request>\r\n</ClickToCall>\r\n"
    )
}

/// The document the original writes for `request` around `lines`, built as
/// shared/reference/README.md says: the request text up to and including `</Request>`
/// and the whitespace after it, `\r\n  <Response>\r\n`, the lines, `  </Response>\r\n`,
/// then the rest of the request through its closing root tag (no trailing newline).
fn doc(request: &str, lines: &str) -> String {
    let end = request
        .find("</Request>")
        .expect("</Request> in the request")
        + "</Request>".len();
    let ws = request[end..].len() - request[end..].trim_start().len();
    let (head, rest) = request.split_at(end + ws);
    format!(
        "{head}\r\n  <Response>\r\n{lines}  </Response>\r\n{}",
        rest.trim_end()
    )
}

/// The 100 document with the translated addresses.
fn hundred(request: &str, initiator_uri: &str, destination_uri: &str) -> String {
    doc(
        request,
        &format!(
            "    <TranslatedInitiator>{initiator_uri}</TranslatedInitiator>\r\n    \
             <TranslatedDestination>{destination_uri}</TranslatedDestination>\r\n    \
             <Result Code=\"100\">In progress</Result>\r\n"
        ),
    )
}

/// A progress document of one leg.
fn event(request: &str, code: u16, leg: &str, text: &str) -> String {
    doc(
        request,
        &format!("    <Result Code=\"{code}\" Leg=\"{leg}\">{text}</Result>\r\n"),
    )
}

/// A request error document (no leg).
fn error(request: &str, text: &str) -> String {
    doc(
        request,
        &format!("    <Result Code=\"400\">{text}</Result>\r\n"),
    )
}

/// True if nothing more is written on `s` for a while.
fn quiet(s: &mut TcpStream) -> bool {
    nothing_within(s, Duration::from_millis(300))
}

#[test]
fn doc_builds_the_originals_bytes_from_the_request() {
    // xml-busy-initiator/trigger.out, second chunk.
    let req = "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n    <AnchorCall>false</AnchorCall>\r\n  </Request>\r\n</ClickToCall>\r\n";
    assert_eq!(req, request("5061100", "5062200", Some(false)));
    assert_eq!(
        event(req, 486, "Initiator", "Failed to connect to initiator"),
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n    <AnchorCall>false</AnchorCall>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"486\" Leg=\"Initiator\">Failed to connect to initiator</Result>\r\n  </Response>\r\n</ClickToCall>"
    );
}

#[test]
fn busy_initiator_100_and_final_are_the_originals_bytes() {
    let mut a = Phone::start();
    let mut b = Phone::start();
    let server = Server::start_scratch("xml-busy-initiator", &ServerConfig::api());
    let req = request(&a.addr("100"), &b.addr("200"), Some(false));
    let mut s = connect(server.xml_addr());
    send(&mut s, req.as_bytes());
    expect_bytes(&mut s, &hundred(&req, &a.uri("100"), &b.uri("200")));

    let invite = a.expect_request("INVITE");
    assert_eq!(invite.request_uri().unwrap_or_default(), a.uri("100"));
    let from = invite.header("From").expect("From");
    assert!(
        from.starts_with("\"Click-To-Call: 200\"<sip:click2call@127.0.0.1>;tag="),
        "{from}"
    );
    a.reply(&invite, 180, "Ringing", false);
    expect_bytes(&mut s, &event(&req, 180, "Initiator", "Ringing initiator"));
    a.reply(&invite, 486, "Busy Here", false);
    expect_bytes(
        &mut s,
        &event(&req, 486, "Initiator", "Failed to connect to initiator"),
    );
    a.expect_request("ACK");
    assert!(quiet(&mut s), "nothing after the final document");
    assert!(b.no_request_within(Duration::from_millis(200)));
}

#[test]
fn busy_destination_anchored_matches_the_originals_bytes() {
    let mut a = Phone::start();
    let mut b = Phone::start();
    let server = Server::start_scratch("xml-busy-dest", &ServerConfig::api());
    let req = request(&a.addr("100"), &b.addr("200"), Some(true));
    let mut s = connect(server.xml_addr());
    send(&mut s, req.as_bytes());
    expect_bytes(&mut s, &hundred(&req, &a.uri("100"), &b.uri("200")));

    let invite = a.expect_request("INVITE");
    a.reply(&invite, 180, "Ringing", false);
    expect_bytes(&mut s, &event(&req, 180, "Initiator", "Ringing initiator"));
    a.reply(&invite, 200, "OK", true);
    expect_bytes(
        &mut s,
        &event(&req, 200, "Initiator", "Connected to initiator"),
    );
    a.expect_request("ACK");

    // Anchored: the destination is called without SDP, as if by the initiator.
    let dest_invite = b.expect_request("INVITE");
    assert_eq!(dest_invite.request_uri().unwrap_or_default(), b.uri("200"));
    assert_eq!(dest_invite.body(), "");
    let from = dest_invite.header("From").expect("From");
    assert!(from.contains(&a.uri("100")), "{from}");
    b.reply(&dest_invite, 486, "Busy Here", false);
    expect_bytes(
        &mut s,
        &event(&req, 486, "Destination", "Failed to connect to destination"),
    );
    b.expect_request("ACK");
    // The failed destination ends the call: the initiator is hung up.
    let bye = a.expect_request("BYE");
    a.reply(&bye, 200, "OK", false);
    assert!(quiet(&mut s), "nothing after the final document");
}

#[test]
fn the_specs_example_request_places_the_call_through_a_translation_rule() {
    let mut a = Phone::start();
    let mut b = Phone::start();
    let mut options = ServerConfig::api();
    // The spec's addresses, mapped to the two local phones.
    options.rules.insert(
        0,
        (
            r"^sip:scott@sipdomain\.com$".to_owned(),
            format!("sip:scott@127.0.0.1:{}", a.port),
        ),
    );
    options.rules.insert(
        1,
        (
            "^(9055551234)$".to_owned(),
            format!("sip:$1@127.0.0.1:{}", b.port),
        ),
    );
    let server = Server::start_scratch("xml-spec-example", &options);
    // clicktocall-server-documentation.txt, "XML Interface", example request.
    let req = "<ClickToCall>\r\n   <Request>\r\n      <Initiator>sip:scott@sipdomain.com</Initiator>\r\n      <Destination>9055551234</Destination>\r\n      <AnchorCall>false</AnchorCall>\r\n   </Request>\r\n</ClickToCall>\r\n";
    let a_uri = format!("sip:scott@127.0.0.1:{}", a.port);
    let b_uri = format!("sip:9055551234@127.0.0.1:{}", b.port);
    let mut s = connect(server.xml_addr());
    send(&mut s, req.as_bytes());
    expect_bytes(&mut s, &hundred(req, &a_uri, &b_uri));

    // Unanchored: the initiator answers and is referred to the destination (RFC 3515).
    let invite = a.expect_request("INVITE");
    assert_eq!(invite.request_uri().unwrap_or_default(), a_uri);
    let from = invite.header("From").expect("From");
    assert!(
        from.starts_with("\"Click-To-Call: 9055551234\"<sip:click2call@127.0.0.1>;tag="),
        "{from}"
    );
    a.reply(&invite, 200, "OK", true);
    expect_bytes(
        &mut s,
        &event(req, 200, "Initiator", "Connected to initiator"),
    );
    a.expect_request("ACK");
    let refer = a.expect_request("REFER");
    let refer_to = refer.header("Refer-To").expect("Refer-To");
    assert!(refer_to.contains(&b_uri), "{refer_to}");
    a.reply(&refer, 202, "Accepted", false);
    // The transfer succeeds: a final sipfrag 200 (RFC 3515 §2.4.5).
    a.request_in_dialog(
        &invite,
        "NOTIFY",
        "Event: refer\r\nSubscription-State: terminated;reason=noresource\r\n",
        "message/sipfrag;version=2.0",
        "SIP/2.0 200 OK\r\n",
    );
    let ok = a.expect_final_response("NOTIFY");
    assert_eq!(ok.status(), Some(200));
    expect_bytes(
        &mut s,
        &event(req, 200, "Destination", "Connected to destination"),
    );
    let bye = a.expect_request("BYE");
    a.reply(&bye, 200, "OK", false);
    assert!(quiet(&mut s), "nothing after the final document");
    assert!(
        b.no_request_within(Duration::from_millis(200)),
        "B is called by A, not by us"
    );
}

#[test]
fn two_pipelined_requests_with_interleaved_progress() {
    let mut a = Phone::start();
    let mut b = Phone::start();
    let server = Server::start_scratch("xml-pipelined", &ServerConfig::api());
    let r1 = request(&a.addr("100"), &a.addr("200"), Some(false));
    let r2 = request(&b.addr("101"), &b.addr("201"), Some(true));
    let mut s = connect(server.xml_addr());
    send(&mut s, format!("{r1}{r2}").as_bytes());
    expect_bytes(&mut s, &hundred(&r1, &a.uri("100"), &a.uri("200")));
    expect_bytes(&mut s, &hundred(&r2, &b.uri("101"), &b.uri("201")));
    let ia = a.expect_request("INVITE");
    let ib = b.expect_request("INVITE");

    // The phones answer in an order unlike the requests'; each event is written as it
    // happens, into its own request's document.
    b.reply(&ib, 180, "Ringing", false);
    expect_bytes(&mut s, &event(&r2, 180, "Initiator", "Ringing initiator"));
    a.reply(&ia, 180, "Ringing", false);
    expect_bytes(&mut s, &event(&r1, 180, "Initiator", "Ringing initiator"));
    b.reply(&ib, 486, "Busy Here", false);
    expect_bytes(
        &mut s,
        &event(&r2, 486, "Initiator", "Failed to connect to initiator"),
    );
    b.expect_request("ACK");
    // A later request on the same connection is served while the first is still open.
    let r3 = request("abc", "def", None);
    send(&mut s, r3.as_bytes());
    expect_bytes(
        &mut s,
        &error(
            &r3,
            "No translation rule for either initiator abc or destination def",
        ),
    );
    a.reply(&ia, 603, "Decline", false);
    expect_bytes(
        &mut s,
        &event(&r1, 603, "Initiator", "Failed to connect to initiator"),
    );
    a.expect_request("ACK");
    assert!(quiet(&mut s));
}

#[test]
fn a_request_in_one_byte_writes() {
    let mut a = Phone::start();
    let server = Server::start_scratch("xml-one-byte", &ServerConfig::api());
    let req = request(&a.addr("100"), &a.addr("200"), Some(false));
    let mut s = connect(server.xml_addr());
    // Leading whitespace is skipped, as by the original.
    for byte in format!("\r\n  {req}").bytes() {
        send(&mut s, &[byte]);
    }
    expect_bytes(&mut s, &hundred(&req, &a.uri("100"), &a.uri("200")));
    let invite = a.expect_request("INVITE");
    a.reply(&invite, 486, "Busy Here", false);
    expect_bytes(
        &mut s,
        &event(&req, 486, "Initiator", "Failed to connect to initiator"),
    );
    a.expect_request("ACK");
    assert!(quiet(&mut s));
}

#[test]
fn a_client_that_disconnects_does_not_stop_its_call() {
    let mut a = Phone::start();
    let server = Server::start_scratch(
        "xml-disconnect",
        &ServerConfig::api().set("RingTimeout", "2"),
    );
    let req = request(&a.addr("100"), &a.addr("200"), Some(false));
    {
        let mut s = connect(server.xml_addr());
        send(&mut s, req.as_bytes());
        expect_bytes(&mut s, &hundred(&req, &a.uri("100"), &a.uri("200")));
        // The client goes away here.
    }
    let invite = a.expect_request("INVITE");
    a.reply(&invite, 180, "Ringing", false);
    // The call goes on without its client: after RingTimeout the server cancels the
    // ringing leg (RFC 3261 §9.1), and completes the INVITE transaction with an ACK.
    let cancel = a.expect_request_within("CANCEL", WAIT);
    assert_eq!(cancel.header("Call-ID"), invite.header("Call-ID"));
    a.reply(&cancel, 200, "OK", false);
    a.reply(&invite, 487, "Request Terminated", false);
    let ack = a.expect_request("ACK");
    assert_eq!(ack.header("Call-ID"), invite.header("Call-ID"));
    // The server is still serving.
    let probe = request("abc", "def", None);
    let mut s = connect(server.xml_addr());
    send(&mut s, probe.as_bytes());
    expect_bytes(
        &mut s,
        &error(
            &probe,
            "No translation rule for either initiator abc or destination def",
        ),
    );
}

// ---- probe-xml.txt: the original's 400 answers, byte for byte ----

/// Sends `request` on a new connection; expects exactly `expected`, then silence.
fn exchange(server: &Server, label: &str, request: &[u8], expected: &str) {
    let mut s = connect(server.xml_addr());
    send(&mut s, request);
    let got = crate::support::wire::read_n(&mut s, expected.len());
    assert_eq!(String::from_utf8_lossy(&got), expected, "probe {label}");
    assert!(
        quiet(&mut s),
        "probe {label}: nothing after the last document"
    );
}

/// Every 400 of probe-xml.txt, requests and answers copied from the trace.
#[test]
fn every_400_of_the_probe_trace_byte_for_byte() {
    let server = Server::start_scratch("xml-probes", &ServerConfig::api().with_reference_rules());
    let cases: [(&str, &[u8], &str); 9] = [
        (
            "bad-xml",
            b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Foo>\r\n  </Request>\r\n</ClickToCall>\r\n",
            "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Foo>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">Parse error</Result>\r\n  </Response>\r\n</ClickToCall>",
        ),
        (
            "bad-xml-unclosed-child",
            b"<ClickToCall><Request><Initiator>5061100</Request></ClickToCall>",
            "<ClickToCall><Request><Initiator>5061100</Request>\r\n  <Response>\r\n    <Result Code=\"400\">Parse error</Result>\r\n  </Response>\r\n</ClickToCall>",
        ),
        (
            "unknown-root",
            b"<Foo>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n</Foo>\r\n",
            "<Foo>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">Unknown method</Result>\r\n  </Response>\r\n</Foo>",
        ),
        (
            "missing-initiator",
            b"<ClickToCall>\r\n  <Request>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
            "<ClickToCall>\r\n  <Request>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">Missing initiator and/or destination tags</Result>\r\n  </Response>\r\n</ClickToCall>",
        ),
        (
            "empty-initiator",
            b"<ClickToCall>\r\n  <Request>\r\n    <Initiator></Initiator>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
            "<ClickToCall>\r\n  <Request>\r\n    <Initiator></Initiator>\r\n    <Destination>5062200</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">Missing initiator and/or destination tags</Result>\r\n  </Response>\r\n</ClickToCall>",
        ),
        (
            "no-request-element",
            b"<ClickToCall><Initiator>5061100</Initiator><Destination>5062200</Destination></ClickToCall>",
            "<Response>\r\n    <Result Code=\"400\">Missing initiator and/or destination tags</Result>\r\n</Response>",
        ),
        (
            "no-rule",
            b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
            "<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall>",
        ),
        (
            "no-rule-destination-only",
            b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
            "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator 5061100 or destination def</Result>\r\n  </Response>\r\n</ClickToCall>",
        ),
        (
            "two-pipelined",
            b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n<Foo></Foo>",
            "<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall><Response>\r\n    <Result Code=\"400\">Unknown method</Result>\r\n</Response>",
        ),
    ];
    for (label, req, expected) in cases {
        exchange(&server, label, req, expected);
    }
    // "split-write": the same request in two writes.
    let req = b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n";
    let mut s = connect(server.xml_addr());
    send(&mut s, &req[..40]);
    assert!(quiet(&mut s), "no answer to half a request");
    send(&mut s, &req[40..]);
    expect_bytes(
        &mut s,
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall>",
    );
    assert!(
        server
            .wait_log_line(&["c2c: click-to-call"], Duration::ZERO)
            .is_none(),
        "no call for a refused request"
    );
}

/// Where the original failed (README's differences table), ours answers in the normal
/// echo format: an XML declaration before the root, an attribute on the root, lower-case
/// tags, and translated addresses that are not valid SIP URIs (400 before any call).
#[test]
fn the_originals_failures_are_answered_in_the_normal_format() {
    let server = Server::start_scratch("xml-better", &ServerConfig::api().with_reference_rules());
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "xml-declaration-prefix",
            b"<?xml version=\"1.0\"?>\r\n<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
            "<ClickToCall>\r\n  <Request>\r\n    <Initiator>abc</Initiator>\r\n    <Destination>def</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall>",
        ),
        (
            "root-with-attribute",
            b"<ClickToCall id=\"1\"><Request><Initiator>abc</Initiator><Destination>def</Destination></Request></ClickToCall>",
            "<ClickToCall id=\"1\"><Request><Initiator>abc</Initiator><Destination>def</Destination></Request>\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall>",
        ),
        (
            "lowercase-root",
            b"<clicktocall><request><initiator>abc</initiator><destination>def</destination></request></clicktocall>",
            "<clicktocall><request><initiator>abc</initiator><destination>def</destination></request>\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</clicktocall>",
        ),
        (
            "bad-uri",
            b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>sip:&lt;&gt;</Initiator>\r\n    <Destination>sip:&lt;&gt;</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
            "<ClickToCall>\r\n  <Request>\r\n    <Initiator>sip:&lt;&gt;</Initiator>\r\n    <Destination>sip:&lt;&gt;</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">Invalid URI format for initiator sip:&lt;&gt; and destination sip:&lt;&gt;</Result>\r\n  </Response>\r\n</ClickToCall>",
        ),
        (
            "bad-uri-raw",
            b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>sip:@</Initiator>\r\n    <Destination>sip:@</Destination>\r\n  </Request>\r\n</ClickToCall>\r\n",
            "<ClickToCall>\r\n  <Request>\r\n    <Initiator>sip:@</Initiator>\r\n    <Destination>sip:@</Destination>\r\n  </Request>\r\n\r\n  <Response>\r\n    <Result Code=\"400\">Invalid URI format for initiator sip:@ and destination sip:@</Result>\r\n  </Response>\r\n</ClickToCall>",
        ),
    ];
    for (label, req, expected) in cases {
        exchange(&server, label, req, expected);
    }
    assert!(
        server
            .wait_log_line(&["c2c: click-to-call"], Duration::ZERO)
            .is_none(),
        "no call for a refused request"
    );
}

#[test]
fn a_document_over_64_kib_is_refused_and_the_connection_closed() {
    let server = Server::start_scratch("xml-too-large", &ServerConfig::api());
    let mut s = connect(server.xml_addr());
    let mut big = b"<ClickToCall><Request><Initiator>".to_vec();
    big.resize(70 * 1024, b'1');
    // The server may close before reading everything: write errors are expected.
    let _ = std::io::Write::write_all(&mut s, &big);
    let got = read_to_close(&mut s, WAIT);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "<Response>\r\n    <Result Code=\"400\">Request too large</Result>\r\n</Response>"
    );
}

#[test]
fn xml_answers_on_ipv6_loopback_too() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this host: skipped");
        return;
    }
    let server = Server::start_scratch("xml-v6", &ServerConfig::api());
    let addr = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, server.xml_port));
    let req = request("abc", "def", None);
    let mut s = connect(addr);
    send(&mut s, req.as_bytes());
    expect_bytes(
        &mut s,
        &error(
            &req,
            "No translation rule for either initiator abc or destination def",
        ),
    );
}

#[test]
fn a_dtd_is_refused_and_the_connection_closed() {
    let mut a = Phone::start();
    let server = Server::start_scratch("xml-dtd", &ServerConfig::api());
    let mut s = connect(server.xml_addr());
    send(
        &mut s,
        format!(
            "<?xml version=\"1.0\"?><!DOCTYPE ClickToCall [<!ENTITY x \"{}\">]><ClickToCall><Request><Initiator>&x;</Initiator><Destination>&x;</Destination></Request></ClickToCall>",
            a.addr("100")
        )
        .as_bytes(),
    );
    assert_eq!(
        String::from_utf8_lossy(&read_to_close(&mut s, WAIT)),
        "<Response>\r\n    <Result Code=\"400\">Parse error: DTD not allowed</Result>\r\n</Response>"
    );
    assert!(a.no_request_within(Duration::from_millis(300)));
}

#[test]
fn connections_beyond_xml_rpc_max_connections_get_503() {
    let server = Server::start_scratch(
        "xml-max-conn",
        &ServerConfig::api().set("XmlRpcMaxConnections", "2"),
    );
    // Connections are served once a request on them is answered; the start-up probe's
    // connection may still hold a slot for a moment, so refused ones are retried.
    let probe = request("abc", "def", None);
    let answer = error(
        &probe,
        "No translation rule for either initiator abc or destination def",
    );
    let refused =
        "<Response>\r\n    <Result Code=\"503\">Too many connections</Result>\r\n</Response>";
    let deadline = std::time::Instant::now() + WAIT;
    let mut kept = Vec::new();
    while kept.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "slots never freed");
        let mut s = connect(server.xml_addr());
        send(&mut s, probe.as_bytes());
        let got = crate::support::wire::read_n(&mut s, refused.len().min(answer.len()));
        if got == refused.as_bytes() {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let rest = crate::support::wire::read_n(&mut s, answer.len() - got.len());
        assert_eq!(String::from_utf8_lossy(&[got, rest].concat()), answer);
        kept.push(s);
    }
    let mut third = connect(server.xml_addr());
    assert_eq!(
        String::from_utf8_lossy(&read_to_close(&mut third, WAIT)),
        refused
    );
    // Idle connections stay open and keep being served.
    for s in &mut kept {
        send(s, probe.as_bytes());
        expect_bytes(s, &answer);
    }
}

#[test]
fn translated_addresses_are_xml_escaped_in_the_100() {
    let mut a = Phone::start();
    let server = Server::start_scratch("xml-escape", &ServerConfig::api());
    // `&` is allowed in a SIP URI's user part (RFC 3261 §25.1, user-unreserved); the
    // request carries it as `&amp;`, and the response must escape it again.
    let req = request(
        &format!("sip:a&amp;b@127.0.0.1:{}", a.port),
        &a.addr("200"),
        None,
    );
    let mut s = connect(server.xml_addr());
    send(&mut s, req.as_bytes());
    expect_bytes(
        &mut s,
        &hundred(
            &req,
            &format!("sip:a&amp;b@127.0.0.1:{}", a.port),
            &a.uri("200"),
        ),
    );
    let invite = a.expect_request("INVITE");
    assert_eq!(
        invite.request_uri().unwrap_or_default(),
        format!("sip:a&b@127.0.0.1:{}", a.port)
    );
    a.reply(&invite, 486, "Busy Here", false);
    expect_bytes(
        &mut s,
        &event(&req, 486, "Initiator", "Failed to connect to initiator"),
    );
}
