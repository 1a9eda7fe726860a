//! XML socket requests, as one connection reads them: the framer never panics, gives only
//! documents that fit in what it was given, and gives the same documents and error
//! whether the bytes arrive at once or in pieces; a framed document frames to itself
//! again; the request parser never panics, a refused request gets a `Code="400"` echo
//! document, and a parsed request written back as XML parses to the same request.
#![no_main]

use clicktocall::fuzzing::xml::{DocumentError, Framer, MAX_DOCUMENT};
use clicktocall::fuzzing::xml::{ClickToCallRequest, parse_request};
use clicktocall::fuzzing::xml::EchoTemplate;
use libfuzzer_sys::fuzz_target;

/// Documents taken from one input, as a pipelining client would send them.
const MAX_DOCS: usize = 64;

/// Pushes `chunks` in turn, draining the framer after each as the server does.
fn frame_all<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> (Vec<Vec<u8>>, Option<DocumentError>) {
    let mut framer = Framer::new();
    let mut docs = Vec::new();
    for chunk in chunks {
        framer.push(chunk);
        loop {
            match framer.next_request() {
                Ok(Some(doc)) => docs.push(doc),
                Ok(None) => break,
                Err(e) => return (docs, Some(e)),
            }
        }
    }
    (docs, None)
}

/// Element content that XML-decodes to exactly `s` (markup and control characters as
/// character references, so line-end normalisation cannot change them).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("&#x{:x};", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn to_xml(r: &ClickToCallRequest) -> String {
    let o = &r.options;
    let identity = [
        ("InitiatorDisplayName", o.initiator_caller.display_name.clone()),
        ("InitiatorCallerId", o.initiator_caller.caller_id.clone()),
        ("DestinationDisplayName", o.destination_caller.display_name.clone()),
        ("DestinationCallerId", o.destination_caller.caller_id.clone()),
        ("AutoAnswer", o.auto_answer.map(|a| a.as_str().to_owned())),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.map(|v| format!("    <{name}>{}</{name}>\r\n", escape(&v))))
    .collect::<String>();
    format!(
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>{}</Initiator>\r\n    <Destination>{}</Destination>\r\n    <AnchorCall>{}</AnchorCall>\r\n    <ReturnCallId>{}</ReturnCallId>\r\n{}{identity}  </Request>\r\n</ClickToCall>",
        escape(&r.initiator),
        escape(&r.destination),
        r.anchor,
        r.return_call_id,
        r.ring_timeout
            .map(|d| format!("    <RingTimeout>{}</RingTimeout>\r\n", d.as_secs()))
            .unwrap_or_default()
    )
}

fuzz_target!(|data: &[u8]| {
    let (docs, err) = frame_all(std::iter::once(data));
    let total: usize = docs.iter().map(Vec::len).sum();
    assert!(
        total <= data.len(),
        "{total} bytes framed from {}",
        data.len()
    );
    if data.len() < MAX_DOCUMENT {
        assert_ne!(err, Some(DocumentError::TooLarge));
    }

    // Arrival in pieces: sizes drawn from the input itself, and one byte at a time.
    let mut sizes = data.iter().map(|b| 1 + usize::from(b % 13)).cycle();
    let mut pieces = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(1).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        pieces.push(piece);
        rest = tail;
    }
    assert_eq!(frame_all(pieces.into_iter()), (docs.clone(), err));
    if data.len() <= 1024 {
        assert_eq!(frame_all(data.chunks(1)), (docs.clone(), err));
    }

    for doc in docs.iter().take(MAX_DOCS) {
        assert!(doc.first() == Some(&b'<') && doc.last() == Some(&b'>'));
        assert!(doc.len() <= MAX_DOCUMENT);
        assert_eq!(
            frame_all(std::iter::once(doc.as_slice())),
            (vec![doc.clone()], None)
        );

        let template = EchoTemplate::from_request(doc);
        match parse_request(doc) {
            Ok(req) => {
                assert!(!req.initiator.is_empty() && !req.destination.is_empty());
                let again = parse_request(to_xml(&req).as_bytes());
                assert_eq!(
                    again.as_ref(),
                    Ok(&req),
                    "written back as {:?}",
                    to_xml(&req)
                );
            }
            Err(e) => {
                let answer = template.error(400, &e.to_string());
                let text = String::from_utf8_lossy(&answer);
                assert!(text.contains("<Result Code=\"400\">"), "{text}");
                // The echo holds the request once plus fixed text: bounded by the request.
                assert!(answer.len() <= doc.len() + 128);
            }
        }
    }
});
