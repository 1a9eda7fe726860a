//! The XML interface's call-control requests, additive to the original's `<ClickToCall>`:
//! `<Hangup><CallId>…</CallId></Hangup>` and `<Status><CallId>…</CallId></Status>` (or
//! `<Status/>` for every live call), each with an optional `<AuthToken>` beside the
//! `<CallId>`. Each answer is one document with the request's root around a `<Response>`,
//! as the original's answers sit inside `<ClickToCall>`, so a client frames it by its
//! root's end tag: `<Hangup>\r\n  <Response>\r\n    <Result Code="202">…`.

use std::fmt::Write as _;

use xml::reader::{ParserConfig, XmlEvent};

use super::request::RequestError;
use crate::api::escape::escape_markup;
use crate::c2c::command::CallId;
use crate::c2c::registry::CallView;

/// Deepest element nesting looked at; a control request needs 2.
const MAX_DEPTH: usize = 32;

/// A call-control request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    Hangup(CallId),
    /// One call, or every live call.
    Status(Option<CallId>),
}

/// `None` when `doc` is not a control request (its root is not `Hangup` or `Status`, any
/// case); else the request and its `<AuthToken>` text, or why it is malformed.
pub(crate) fn parse(doc: &[u8]) -> Option<Result<(Control, Option<String>), RequestError>> {
    let reader = ParserConfig::new()
        .cdata_to_characters(true)
        .whitespace_to_characters(true)
        .ignore_comments(true)
        .coalesce_characters(true)
        .max_entity_expansion_depth(1)
        .max_entity_expansion_length(1024)
        .create_reader(doc);
    let mut root: Option<String> = None;
    let mut depth = 0usize;
    let mut field: Option<String> = None;
    let mut text = String::new();
    let mut call_id: Option<String> = None;
    let mut token: Option<String> = None;
    for event in reader {
        let Ok(event) = event else {
            // A control request only if its root said so before the error.
            return root.is_some().then_some(Err(RequestError::Parse));
        };
        match event {
            XmlEvent::Doctype { .. } => return Some(Err(RequestError::Parse)),
            XmlEvent::StartElement { name, .. } => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(Err(RequestError::Parse));
                }
                let local = name.local_name;
                if depth == 1 {
                    if !["Hangup", "Status"]
                        .iter()
                        .any(|r| r.eq_ignore_ascii_case(&local))
                    {
                        return None;
                    }
                    root = Some(local);
                } else if depth == 2 {
                    field = Some(local);
                    text.clear();
                }
            }
            XmlEvent::Characters(chars) if depth == 2 => text.push_str(&chars),
            XmlEvent::EndElement { .. } => {
                if depth == 2
                    && let Some(f) = field.take()
                {
                    // The first of each wins, as in `<ClickToCall>`.
                    if f.eq_ignore_ascii_case("CallId") && call_id.is_none() {
                        call_id = Some(text.trim().to_owned());
                    } else if f.eq_ignore_ascii_case("AuthToken") && token.is_none() {
                        token = Some(std::mem::take(&mut text));
                    }
                }
                depth = depth.saturating_sub(1);
            }
            XmlEvent::EndDocument => break,
            _ => {}
        }
    }
    let root = root?;
    let id = call_id
        .filter(|s| !s.is_empty())
        .map(|s| CallId::from_client(&s));
    let control = if root.eq_ignore_ascii_case("Hangup") {
        match id {
            Some(id) => Control::Hangup(id),
            None => return Some(Err(RequestError::MissingTags)),
        }
    } else {
        Control::Status(id)
    };
    Some(Ok((control, token)))
}

/// The root of the answer to a request: `Hangup` or `Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    Hangup,
    Status,
}

impl Root {
    /// `None` when the framed `doc` (it starts at its root's start tag) is not a control
    /// request; its root otherwise, even if the rest does not parse: a malformed
    /// `<Hangup>` is answered as one.
    pub(crate) fn of(doc: &[u8]) -> Option<Root> {
        let start = doc.iter().position(|&b| b == b'<')? + 1;
        let name: Vec<u8> = doc
            .iter()
            .skip(start)
            .take_while(|b| b.is_ascii_alphanumeric())
            .copied()
            .collect();
        if name.eq_ignore_ascii_case(b"Hangup") {
            Some(Root::Hangup)
        } else if name.eq_ignore_ascii_case(b"Status") {
            Some(Root::Status)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Root::Hangup => "Hangup",
            Root::Status => "Status",
        }
    }
}

/// The answer document: `lines` (each ending in CRLF) and the result, inside `root`.
pub(crate) fn answer(root: Root, lines: &str, code: u16, text: &str) -> Vec<u8> {
    let root = root.name();
    format!(
        "<{root}>\r\n  <Response>\r\n{lines}    <Result Code=\"{code}\">{}</Result>\r\n  </Response>\r\n</{root}>",
        escape_markup(text)
    )
    .into_bytes()
}

/// `<Call …>` lines describing `calls`: id, state, mode and the latest result.
pub(crate) fn call_lines(calls: &[CallView]) -> String {
    let mut out = String::new();
    for c in calls {
        let (code, leg, text) = c.progress.last().map_or((100, "", "In progress"), |p| {
            (p.code, p.leg, p.text.as_str())
        });
        let leg = if leg.is_empty() {
            String::new()
        } else {
            format!(" Leg=\"{leg}\"")
        };
        let _ = write!(
            out,
            "    <Call Id=\"{}\" State=\"{}\" Anchor=\"{}\" Mode=\"{}\" Code=\"{code}\"{leg}>{}</Call>\r\n",
            escape_markup(&c.id),
            c.state.as_str(),
            c.anchor,
            c.mode,
            escape_markup(text)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangup_and_status_are_read_and_other_roots_are_left_alone() {
        assert_eq!(
            parse(b"<Hangup><CallId> ab12 </CallId><AuthToken>t</AuthToken></Hangup>"),
            Some(Ok((
                Control::Hangup(CallId::from_client("ab12")),
                Some("t".to_owned())
            )))
        );
        assert_eq!(parse(b"<status/>"), Some(Ok((Control::Status(None), None))));
        assert_eq!(
            parse(b"<Status><CallId>x</CallId></Status>"),
            Some(Ok((Control::Status(Some(CallId::from_client("x"))), None)))
        );
        assert_eq!(
            parse(b"<Hangup></Hangup>"),
            Some(Err(RequestError::MissingTags))
        );
        assert_eq!(parse(b"<ClickToCall><Request/></ClickToCall>"), None);
        assert_eq!(
            parse(b"<Hangup><CallId>x</Hangup>"),
            Some(Err(RequestError::Parse))
        );
    }

    #[test]
    fn answers_are_bare_documents_with_escaped_text() {
        assert_eq!(
            String::from_utf8(answer(Root::Hangup, "", 404, "No such call <x>")).expect("utf8"),
            "<Hangup>\r\n  <Response>\r\n    <Result Code=\"404\">No such call &lt;x&gt;</Result>\r\n  </Response>\r\n</Hangup>"
        );
        assert_eq!(Root::of(b"<status/>"), Some(Root::Status));
        assert_eq!(Root::of(b"<HANGUP>"), Some(Root::Hangup));
        assert_eq!(Root::of(b"<ClickToCall>"), None);
    }
}
