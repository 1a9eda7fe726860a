//! The XML interface's response documents, byte for byte as the original writes them.
//!
//! Every event is a whole document that echoes the request: the request text up to and
//! including `</Request>` and the whitespace after it, then `\r\n  <Response>\r\n`, the
//! response lines, `  </Response>\r\n`, then the rest of the request. A request without
//! a `</Request>` gets the original's bare form `<Response>\r\n…</Response>`. No trailing
//! newline follows a document.

// The fuzz targets in fuzz/ reach this parser through `crate::fuzzing` (built with
// `--cfg fuzzing`): its items stay `pub` for that, unreachable otherwise.
#![cfg_attr(not(fuzzing), allow(unreachable_pub))]

use std::fmt::Write as _;

use super::super::escape::escape_markup;
use crate::c2c::command::{Progress, Role};

/// The request-derived parts every response document of one request shares.
#[derive(Debug, Clone)]
pub struct EchoTemplate {
    /// Request text through `</Request>` and its trailing whitespace; `None` for the bare form.
    head: Option<Vec<u8>>,
    /// The rest of the request after that (normally `</ClickToCall>`).
    tail: Vec<u8>,
}

impl EchoTemplate {
    /// Splits a framed request at its first `</Request>` (any case, optional whitespace
    /// before `>`) plus the whitespace that follows.
    pub fn from_request(doc: &[u8]) -> EchoTemplate {
        let masked = mask_auth_token(doc);
        let doc = masked.as_deref().unwrap_or(doc);
        match request_end(doc) {
            Some(split) => EchoTemplate {
                head: doc.get(..split).map(<[u8]>::to_vec),
                tail: doc.get(split..).map(<[u8]>::to_vec).unwrap_or_default(),
            },
            None => EchoTemplate::bare(),
        }
    }

    /// The form used when there is no request to echo.
    pub(crate) fn bare() -> EchoTemplate {
        EchoTemplate {
            head: None,
            tail: Vec::new(),
        }
    }

    /// A whole document around `lines` (each ending in `\r\n`).
    pub(crate) fn document(&self, lines: &str) -> Vec<u8> {
        match &self.head {
            Some(head) => {
                let mut out = Vec::with_capacity(head.len() + lines.len() + self.tail.len() + 32);
                out.extend_from_slice(head);
                out.extend_from_slice(b"\r\n  <Response>\r\n");
                out.extend_from_slice(lines.as_bytes());
                out.extend_from_slice(b"  </Response>\r\n");
                out.extend_from_slice(&self.tail);
                out
            }
            None => {
                let mut out = Vec::with_capacity(lines.len() + 24);
                out.extend_from_slice(b"<Response>\r\n");
                out.extend_from_slice(lines.as_bytes());
                out.extend_from_slice(b"</Response>");
                out
            }
        }
    }

    /// The 100 "In progress" document with the translated addresses, and the call's id
    /// when the request asked for it (`<ReturnCallId>`).
    pub(crate) fn in_progress(
        &self,
        initiator_uri: &str,
        destination_uri: &str,
        call_id: Option<&str>,
    ) -> Vec<u8> {
        let mut lines = String::with_capacity(160 + initiator_uri.len() + destination_uri.len());
        let _ = write!(
            lines,
            "    <TranslatedInitiator>{}</TranslatedInitiator>\r\n    <TranslatedDestination>{}</TranslatedDestination>\r\n",
            escape_markup(initiator_uri),
            escape_markup(destination_uri)
        );
        if let Some(id) = call_id {
            let _ = write!(lines, "    <CallId>{}</CallId>\r\n", escape_markup(id));
        }
        lines.push_str(&result_line(100, None, "In progress"));
        self.document(&lines)
    }

    /// A document with one progress event.
    pub(crate) fn progress(&self, p: &Progress) -> Vec<u8> {
        self.document(&result_line(p.code, Some(p.leg), &p.text))
    }

    /// A document with one result without a leg (request errors).
    pub fn error(&self, code: u16, text: &str) -> Vec<u8> {
        self.document(&result_line(code, None, text))
    }
}

/// The request with the text of its first `<AuthToken …>…</AuthToken>` replaced by
/// `********`, so the echo never repeats the secret (to a log of the client's, say);
/// `None` when there is no such element. Requests without a token echo byte for byte.
fn mask_auth_token(doc: &[u8]) -> Option<Vec<u8>> {
    const OPEN: &[u8] = b"<authtoken";
    const CLOSE: &[u8] = b"</authtoken";
    let find = |from: usize, what: &[u8]| {
        doc.get(from..)?
            .windows(what.len())
            .position(|w| w.eq_ignore_ascii_case(what))
            .map(|i| i + from)
    };
    let open = find(0, OPEN)?;
    // The name must end there (`<AuthTokens>` is another element).
    let after = doc.get(open + OPEN.len()).copied()?;
    if !(after == b'>' || after.is_ascii_whitespace()) {
        return None;
    }
    let text_start = doc.get(open..)?.iter().position(|&b| b == b'>')? + open + 1;
    if doc.get(text_start - 2) == Some(&b'/') {
        return None; // <AuthToken/>: nothing to hide
    }
    let text_end = find(text_start, CLOSE)?;
    let mut out = Vec::with_capacity(doc.len());
    out.extend_from_slice(doc.get(..text_start)?);
    out.extend_from_slice(b"********");
    out.extend_from_slice(doc.get(text_end..)?);
    Some(out)
}

/// `    <Result Code="N"[ Leg="…"]>text</Result>\r\n`, the text escaped.
fn result_line(code: u16, leg: Option<Role>, text: &str) -> String {
    let text = escape_markup(text);
    match leg {
        Some(leg) => format!(
            "    <Result Code=\"{code}\" Leg=\"{}\">{text}</Result>\r\n",
            leg.as_str()
        ),
        None => format!("    <Result Code=\"{code}\">{text}</Result>\r\n"),
    }
}

/// Offset just after the first `</Request>` and the whitespace following it.
fn request_end(doc: &[u8]) -> Option<usize> {
    const END: &[u8] = b"</request";
    let mut from = 0;
    while let Some(rel) = doc
        .get(from..)?
        .windows(END.len())
        .position(|w| w.eq_ignore_ascii_case(END))
    {
        let mut i = from + rel + END.len();
        while doc.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if doc.get(i) == Some(&b'>') {
            i += 1;
            while doc.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            return Some(i);
        }
        // `</RequestX>` or similar: keep looking.
        from = from + rel + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &[u8] = b"<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n    <AnchorCall>true</AnchorCall>\r\n  </Request>\r\n</ClickToCall>";
    const ECHO: &str = "<ClickToCall>\r\n  <Request>\r\n    <Initiator>5061100</Initiator>\r\n    <Destination>5062200</Destination>\r\n    <AnchorCall>true</AnchorCall>\r\n  </Request>\r\n\r\n  <Response>\r\n";

    fn s(v: Vec<u8>) -> String {
        String::from_utf8(v).expect("utf8")
    }

    #[test]
    fn the_call_id_comes_before_the_result_only_when_asked() {
        let t = EchoTemplate::bare();
        assert_eq!(
            s(t.in_progress("sip:a@h", "sip:b@h", Some("east-0f"))),
            "<Response>\r\n    <TranslatedInitiator>sip:a@h</TranslatedInitiator>\r\n    <TranslatedDestination>sip:b@h</TranslatedDestination>\r\n    <CallId>east-0f</CallId>\r\n    <Result Code=\"100\">In progress</Result>\r\n</Response>"
        );
    }

    #[test]
    fn in_progress_matches_the_original_byte_for_byte() {
        let t = EchoTemplate::from_request(REQ);
        assert_eq!(
            s(t.in_progress("sip:100@127.0.0.1:5061", "sip:200@127.0.0.1:5062", None)),
            format!(
                "{ECHO}    <TranslatedInitiator>sip:100@127.0.0.1:5061</TranslatedInitiator>\r\n    <TranslatedDestination>sip:200@127.0.0.1:5062</TranslatedDestination>\r\n    <Result Code=\"100\">In progress</Result>\r\n  </Response>\r\n</ClickToCall>"
            )
        );
    }

    #[test]
    fn progress_carries_the_leg() {
        let t = EchoTemplate::from_request(REQ);
        let p = Progress {
            code: 180,
            leg: Role::Destination,
            text: "Ringing destination".into(),
        };
        assert_eq!(
            s(t.progress(&p)),
            format!(
                "{ECHO}    <Result Code=\"180\" Leg=\"Destination\">Ringing destination</Result>\r\n  </Response>\r\n</ClickToCall>"
            )
        );
    }

    #[test]
    fn without_whitespace_after_request_the_response_follows_directly() {
        let t = EchoTemplate::from_request(
            b"<ClickToCall><Request><Initiator>5061100</Request></ClickToCall>",
        );
        assert_eq!(
            s(t.error(400, "Parse error")),
            "<ClickToCall><Request><Initiator>5061100</Request>\r\n  <Response>\r\n    <Result Code=\"400\">Parse error</Result>\r\n  </Response>\r\n</ClickToCall>"
        );
    }

    #[test]
    fn no_request_element_gives_the_bare_form() {
        let t = EchoTemplate::from_request(b"<Foo></Foo>");
        assert_eq!(
            s(t.error(400, "Unknown method")),
            "<Response>\r\n    <Result Code=\"400\">Unknown method</Result>\r\n</Response>"
        );
    }

    #[test]
    fn lower_case_request_is_echoed() {
        let t = EchoTemplate::from_request(b"<clicktocall><request></request ></clicktocall>");
        assert_eq!(
            s(t.error(400, "x")),
            "<clicktocall><request></request >\r\n  <Response>\r\n    <Result Code=\"400\">x</Result>\r\n  </Response>\r\n</clicktocall>"
        );
    }

    #[test]
    fn values_are_escaped() {
        let t = EchoTemplate::bare();
        assert_eq!(
            s(t.in_progress("sip:<a>@h", "sip:b&c@h", None)),
            "<Response>\r\n    <TranslatedInitiator>sip:&lt;a&gt;@h</TranslatedInitiator>\r\n    <TranslatedDestination>sip:b&amp;c@h</TranslatedDestination>\r\n    <Result Code=\"100\">In progress</Result>\r\n</Response>"
        );
        assert_eq!(
            s(t.error(
                400,
                "No translation rule for either initiator <x> or destination y"
            )),
            "<Response>\r\n    <Result Code=\"400\">No translation rule for either initiator &lt;x&gt; or destination y</Result>\r\n</Response>"
        );
    }

    #[test]
    fn the_echo_masks_the_auth_token_and_nothing_else() {
        let doc = b"<ClickToCall><Request><Initiator>a</Initiator><authtoken kind=\"x\">s3cret-s3cret</AUTHTOKEN></Request></ClickToCall>";
        let out = EchoTemplate::from_request(doc).error(401, "Unauthorized");
        let text = String::from_utf8(out).expect("utf8");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.starts_with("<ClickToCall><Request><Initiator>a</Initiator><authtoken kind=\"x\">********</AUTHTOKEN></Request>"), "{text}");
        for same in [
            &b"<ClickToCall><Request><Initiator>a</Initiator></Request></ClickToCall>"[..],
            b"<ClickToCall><Request><AuthTokens>x</AuthTokens></Request></ClickToCall>",
            b"<ClickToCall><Request><AuthToken/></Request></ClickToCall>",
        ] {
            assert_eq!(mask_auth_token(same), None);
        }
    }
}
