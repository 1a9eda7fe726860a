//! Message-level tests: parsing, header access, building and round trips.

use super::*;
use crate::sip::Transport;

/// A typical INVITE as the C++ original sends it (reference trace xml-refer-ok).
pub(crate) const INVITE: &[u8] = b"INVITE sip:100@127.0.0.1:5061 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bK-524287-1---83f02aac1e193de73be59916;rport\r\n\
Max-Forwards: 70\r\n\
Contact: <sip:click2call@127.0.0.1:5072>\r\n\
To: <sip:100@127.0.0.1:5061>\r\n\
From: \"Click-To-Call: 200\"<sip:click2call@127.0.0.1>;tag=8f836233\r\n\
Call-ID: jmvcqR1JkLQtk3zOLwHojw..\r\n\
CSeq: 1 INVITE\r\n\
Session-Expires: 1800\r\n\
Min-SE: 90\r\n\
Accept-Language: en\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, SUBSCRIBE, UPDATE, PRACK, INFO, MESSAGE\r\n\
Content-Type: application/sdp\r\n\
Supported: replaces, timer, norefersub, 100rel\r\n\
User-Agent: ClickToCall\r\n\
Content-Length: 149\r\n\
\r\n\
v=0\r\n\
o=clicktocall 1004902325 1004902325 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 8000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=inactive\r\n";

#[test]
fn message_is_owned_and_shareable() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<Message>();
}

#[test]
fn parses_the_reference_invite() {
    let m = Message::parse(INVITE).unwrap();
    assert!(m.is_request());
    assert_eq!(m.method(), Some(&Method::Invite));
    let ru = m.request_uri().unwrap();
    assert_eq!((ru.user.as_deref(), ru.port), (Some("100"), Some(5061)));
    let via = m.top_via().unwrap();
    assert_eq!(via.transport.known(), Some(Transport::Udp));
    assert_eq!(via.rport(), Some(None));
    assert_eq!(
        m.top_branch(),
        Some("z9hG4bK-524287-1---83f02aac1e193de73be59916")
    );
    let from = m.from().unwrap();
    assert_eq!(from.display_name.as_deref(), Some("Click-To-Call: 200"));
    assert_eq!(from.tag(), Some("8f836233"));
    assert_eq!(m.from_tag(), Some("8f836233"));
    assert_eq!(m.to().unwrap().tag(), None);
    assert_eq!(m.to_tag(), None);
    assert_eq!(m.call_id(), Ok("jmvcqR1JkLQtk3zOLwHojw.."));
    assert_eq!(m.cseq(), Ok((1, Method::Invite)));
    assert_eq!(m.max_forwards(), Ok(Some(70)));
    assert_eq!(m.contacts().unwrap().first().unwrap().uri.port, Some(5072));
    assert!(m.content_type().unwrap().unwrap().is("application", "sdp"));
    assert_eq!(m.content_length(), Ok(Some(149)));
    assert_eq!(m.body().len(), 149);
    assert!(m.body().starts_with(b"v=0\r\n"));
    assert_eq!(m.header_values("Allow").count(), 12);
    assert!(m.has_token("k", "TIMER"));
    assert_eq!(m.header("session-expires"), Some("1800"));
    assert_eq!(m.expires(), Ok(None));
}

#[test]
fn round_trip_is_byte_exact_for_a_well_formed_message() {
    let m = Message::parse(INVITE).unwrap();
    assert_eq!(m.to_bytes(), INVITE);
    let again = Message::parse(&m.to_bytes()).unwrap();
    assert_eq!(
        again.headers().collect::<Vec<_>>(),
        m.headers().collect::<Vec<_>>()
    );
}

#[test]
fn folding_compact_forms_and_case() {
    let raw = b"OPTIONS sip:x@h SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>\r\ni: abc@h\r\nCSEQ: 2\r\n  OPTIONS\r\nSubject: one,\r\n\ttwo  \r\nl: 0\r\n\r\n";
    let m = Message::parse(raw).unwrap();
    assert_eq!(m.cseq(), Ok((2, Method::Options)));
    assert_eq!(m.header("Subject"), Some("one, two"));
    assert_eq!(m.header("VIA"), m.header("v"));
    assert_eq!(m.call_id(), Ok("abc@h"));
    let out = String::from_utf8(m.to_bytes()).unwrap();
    assert!(out.contains("CSEQ: 2 OPTIONS\r\n"), "{out}");
    assert!(out.contains("Content-Length: 0\r\n\r\n"));
}

#[test]
fn datagram_body_rules() {
    let base = "MESSAGE sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n";
    // Missing Content-Length: the rest of the datagram.
    let m = Message::parse(format!("{base}\r\nhello").as_bytes()).unwrap();
    assert_eq!(m.body(), b"hello");
    // Extra bytes after Content-Length are ignored.
    let m = Message::parse(format!("{base}Content-Length: 2\r\n\r\nhello").as_bytes()).unwrap();
    assert_eq!(m.body(), b"he");
    let e =
        Message::parse(format!("{base}Content-Length: 20\r\n\r\nhello").as_bytes()).unwrap_err();
    assert_eq!(
        (e.kind, e.header),
        (ParseErrorKind::Truncated, Some("Content-Length"))
    );
    let e = Message::parse(format!("{base}Content-Length: -1\r\n\r\n").as_bytes()).unwrap_err();
    assert_eq!(e.header, Some("Content-Length"));
    let e = Message::parse(format!("{base}Content-Length: 1\r\nl: 2\r\n\r\nab").as_bytes())
        .unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::ContentLength);
    // Leading CRLFs are skipped (RFC 3261 §7.5); bare LF line ends are tolerated.
    let m = Message::parse(
        format!("\r\n\r\n{base}\r\n")
            .replace("\r\n", "\n")
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(m.cseq(), Ok((1, Method::Message)));
}

#[test]
fn errors_name_the_header() {
    let ok = "OPTIONS sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n";
    assert!(Message::parse(ok.as_bytes()).is_ok());
    let cases = [
        ("CSeq: 1 OPTIONS", "CSeq: 1 INVITE", Some("CSeq")),
        ("CSeq: 1 OPTIONS", "CSeq: 4294967296 OPTIONS", Some("CSeq")),
        ("Call-ID: c\r\n", "", Some("Call-ID")),
        ("To: <sip:b@h>", "To: \"b <sip:b@h>", Some("To")),
        (
            "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
            "Via: SIP/2.0/UDP h;;,",
            Some("Via"),
        ),
        ("Call-ID: c", "Call-ID: c\r\nCall-ID: d", Some("Call-ID")),
        (
            "Call-ID: c",
            "Call-ID: c\r\nMax-Forwards: 300",
            Some("Max-Forwards"),
        ),
        ("SIP/2.0\r\n", "SIP/2.0 \r\n", None),
        ("OPTIONS sip:x@h", "OPTIONS  sip:x@h", None),
        ("sip:x@h", "sip:x@h?Route=x", None),
    ];
    for (from, to, header) in cases {
        let bad = ok.replacen(from, to, 1);
        let e = Message::parse(bad.as_bytes()).expect_err(&bad);
        assert_eq!(e.header, header, "{bad}: {e}");
    }
    let v = Message::parse(
        ok.replace("OPTIONS sip:x@h SIP/2.0", "OPTIONS sip:x@h SIP/7.0")
            .as_bytes(),
    );
    assert!(v.unwrap_err().is_version());
    assert!(Message::parse(b"").is_err());
    assert!(Message::parse(b"\r\n\r\n").is_err());
}

#[test]
fn responses_and_status_lines() {
    let r = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    let m = Message::parse(r.as_bytes()).unwrap();
    assert_eq!((m.status(), m.reason()), (Some(180), Some("Ringing")));
    assert!(m.method().is_none() && m.request_uri().is_none());
    assert_eq!(m.to_tag(), Some("2"));
    assert_eq!(m.to_bytes(), r.as_bytes());
    for bad in [
        "SIP/2.0 99 x",
        "SIP/2.0 700 x",
        "SIP/2.0 4294967301 x",
        "SIP/2.0 2000 x",
    ] {
        assert!(Message::parse(r.replace("SIP/2.0 180 Ringing", bad).as_bytes()).is_err());
    }
}

#[test]
fn response_to_copies_per_rfc3261_8_2_6() {
    let req = Message::parse(
        b"INVITE sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia: SIP/2.0/TCP b;branch=z9hG4bK2,SIP/2.0/UDP c;branch=z9hG4bK3\r\nTo: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nTimestamp: 54\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    let trying = Message::response_to(&req, 100, "Trying", None);
    assert_eq!(
        String::from_utf8(trying.to_bytes()).unwrap(),
        "SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia: SIP/2.0/TCP b;branch=z9hG4bK2,SIP/2.0/UDP c;branch=z9hG4bK3\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nTimestamp: 54\r\nContent-Length: 0\r\n\r\n"
    );
    let ok = Message::response_to(&req, 200, "OK", Some("xyz"));
    assert_eq!(ok.to_tag(), Some("xyz"));
    assert!(!ok.has_header("Timestamp"));
    assert_eq!(ok.vias().unwrap().len(), 3);
    // A To that already has a tag keeps it.
    let again = Message::response_to(
        &Message::parse(&ok.to_bytes()).unwrap_or(ok.clone()),
        200,
        "OK",
        Some("new"),
    );
    assert_eq!(again.to_tag(), Some("xyz"));
}

#[test]
fn building_a_request_and_editing_headers() {
    let uri = Uri::parse("sip:100@127.0.0.1:5061").unwrap();
    let mut m = Message::new_request(Method::Invite, uri);
    let branch = new_branch();
    assert!(branch.starts_with("z9hG4bK") && branch.len() == 23);
    m.push_header(
        "Via",
        &format!("SIP/2.0/UDP 127.0.0.1:5072;branch={branch};rport"),
    );
    m.push_header("Max-Forwards", "70");
    m.push_header("From", &format!("<sip:c@h>;tag={}", new_tag()));
    m.push_header("To", "<sip:100@127.0.0.1:5061>");
    m.push_header("Call-ID", &new_call_id());
    m.push_header("CSeq", "1 INVITE");
    m.set_body(Some("application/sdp"), b"v=0\r\n".to_vec());
    m.insert_header_front("Via", "SIP/2.0/TCP proxy;branch=z9hG4bKp");
    m.insert_header_front("Route", "<sip:proxy;lr>");
    let bytes = m.to_bytes();
    let p = Message::parse(&bytes).unwrap();
    assert_eq!(p.headers().next(), Some(("Route", "<sip:proxy;lr>")));
    assert_eq!(p.top_branch(), Some("z9hG4bKp"));
    assert_eq!(p.vias().unwrap().len(), 2);
    assert_eq!(p.body(), b"v=0\r\n");
    assert_eq!(p.content_length(), Ok(Some(5)));
    assert!(p.routes().unwrap()[0].uri.lr());
    m.set_header("Max-Forwards", "69");
    m.push_header("max-forwards", "1");
    m.set_header("MAX-FORWARDS", "68");
    assert_eq!(m.header_values("Max-Forwards").collect::<Vec<_>>(), ["68"]);
    m.remove_header("v");
    assert!(m.header("Via").is_none());
    m.push_header("X-Evil", "a\r\nInjected: 1");
    assert_eq!(m.header("x-evil"), Some("a  Injected: 1"));
    m.set_body(None, Vec::new());
    assert!(m.header("Content-Type").is_none());
    let tokens: std::collections::HashSet<String> = (0..100).map(|_| random_token(12)).collect();
    assert_eq!(tokens.len(), 100);
    assert!(
        tokens
            .iter()
            .all(|t| t.len() == 12 && t.bytes().all(|b| b.is_ascii_alphanumeric()))
    );
}

#[test]
fn unknown_headers_are_kept_verbatim_and_not_split() {
    let raw = "OPTIONS sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nX-List: a, b,c\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\nContent-Length: 0\r\n\r\n";
    let m = Message::parse(raw.as_bytes()).unwrap();
    assert_eq!(m.header("x-list"), Some("a, b,c"));
    assert_eq!(m.header_values("WWW-Authenticate").count(), 1);
    assert_eq!(m.to_bytes(), raw.as_bytes());
}

#[test]
fn typed_extension_headers() {
    let raw = "NOTIFY sip:c@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 2 NOTIFY\r\no: refer;id=7\r\nSubscription-State: terminated;reason=noresource\r\nr: <tel:+12015550123>\r\nb: \"Click-To-Call: 200\"<sip:id@h>\r\nReplaces: x@h;to-tag=a;from-tag=b\r\nRSeq: 9\r\nRAck: 9 1 INVITE\r\nx: 1800;refresher=uac\r\nMin-SE: 90\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n,1\"\r\nWWW-Authenticate: Digest realm=\"s\", nonce=\"m\"\r\nProxy-Authorization: Digest username=\"u\", response=\"x\"\r\nWarning: 399 h \"a\", 307 h \"b\"\r\nRetry-After: 30\r\nReason: SIP;cause=487;text=\"x\"\r\nUser-Agent: ClickToCall\r\nServer: S (1.0)\r\nContent-Length: 0\r\n\r\n";
    let m = Message::parse(raw.as_bytes()).unwrap();
    assert_eq!(m.event().unwrap().unwrap().id(), Some("7"));
    assert!(m.subscription_state().unwrap().unwrap().is_terminated());
    assert_eq!(m.refer_to().unwrap().uri.scheme, Scheme::Tel);
    assert_eq!(
        m.referred_by().unwrap().unwrap().display_name.as_deref(),
        Some("Click-To-Call: 200")
    );
    assert_eq!(m.replaces().unwrap().unwrap().to_tag, "a");
    assert_eq!(m.rseq(), Ok(Some(9)));
    assert_eq!(m.rack().unwrap().unwrap().method, Method::Invite);
    assert_eq!(
        m.session_expires().unwrap().unwrap().refresher,
        Some(Refresher::Uac)
    );
    assert_eq!(m.min_se(), Ok(Some(90)));
    let ch = m.www_authenticate().unwrap();
    assert_eq!(
        (ch.len(), ch[0].param("nonce").as_deref()),
        (2, Some("n,1"))
    );
    assert_eq!(
        m.proxy_authorization().unwrap()[0]
            .param("username")
            .as_deref(),
        Some("u")
    );
    assert!(m.authorization().unwrap().is_empty() && m.proxy_authenticate().unwrap().is_empty());
    assert_eq!(
        m.warnings()
            .unwrap()
            .iter()
            .map(|w| w.code)
            .collect::<Vec<_>>(),
        [399, 307]
    );
    assert_eq!(m.retry_after().unwrap().unwrap().seconds, 30);
    assert_eq!(m.reasons().unwrap()[0].cause, Some(487));
    assert_eq!(
        (m.user_agent(), m.server()),
        (Some("ClickToCall"), Some("S (1.0)"))
    );
    // Errors name the header.
    let bad = Message::parse(raw.replace("RSeq: 9", "RSeq: x").as_bytes()).unwrap();
    assert_eq!(bad.rseq().unwrap_err().header, Some("RSeq"));
    let none = Message::parse(INVITE).unwrap();
    assert_eq!(none.event(), Ok(None));
    assert_eq!(none.refer_to().unwrap_err().kind, ParseErrorKind::Missing);
}

#[test]
fn trying_matches_the_reference_trace_byte_for_byte() {
    // shared/reference/traces/xml-refer-ok/sip-full.txt: the original's answer to its own
    // INVITE, as the UAS (SIPp) sent it back.
    let expected = "SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bK-524287-1---83f02aac1e193de73be59916;rport\r\nFrom: \"Click-To-Call: 200\"<sip:click2call@127.0.0.1>;tag=8f836233\r\nTo: <sip:100@127.0.0.1:5061>\r\nCall-ID: jmvcqR1JkLQtk3zOLwHojw..\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    let req = Message::parse(INVITE).unwrap();
    let trying = Message::response_to(&req, 100, "Trying", None);
    assert_eq!(String::from_utf8(trying.to_bytes()).unwrap(), expected);
}
