//! Reading baresip's SIP trace (`-s`): every message it sends or receives is printed as
//!
//! ```text
//! #
//! UDP 127.0.0.1:5072 -> 127.0.0.1:5061
//! INVITE sip:100@127.0.0.1:5061 SIP/2.0␍␊
//! …headers…␍␊
//! ␍␊
//! <Content-Length bytes of body>
//! ```
//!
//! wrapped in colour escapes and mixed with the phone's other log lines. A message is
//! found by its address line; its body is cut by Content-Length (RFC 3261 §18.3), not by
//! the escapes, so the reader does not depend on the colouring.

/// One SIP message as the phone printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    /// Transport name as printed (`UDP`, `TCP`, `TLS`).
    pub transport: String,
    pub src_port: u16,
    pub dst_port: u16,
    /// `INVITE sip:… SIP/2.0` or `SIP/2.0 200 OK`.
    pub start_line: String,
    headers: Vec<(String, String)>,
    pub body: String,
}

impl Traced {
    /// The method of a request, `None` for a response.
    pub fn method(&self) -> Option<&str> {
        if self.start_line.starts_with("SIP/") {
            return None;
        }
        self.start_line.split(' ').next()
    }

    /// The status code of a response, `None` for a request.
    pub fn status(&self) -> Option<u16> {
        let rest = self.start_line.strip_prefix("SIP/2.0 ")?;
        rest.get(..3)?.parse().ok()
    }

    /// The first value of header `name` (case-insensitive, compact forms of RFC 3261
    /// §7.3.3 accepted).
    pub fn header(&self, name: &str) -> Option<&str> {
        let wanted = full_name(name);
        self.headers
            .iter()
            .find(|(n, _)| full_name(n).eq_ignore_ascii_case(wanted))
            .map(|(_, v)| v.as_str())
    }

    /// The method named in CSeq (for matching a response to its request).
    pub fn cseq_method(&self) -> Option<&str> {
        self.header("CSeq")?.split_whitespace().nth(1)
    }

    pub fn call_id(&self) -> Option<&str> {
        self.header("Call-ID")
    }

    /// True for a request of `method` sent from `src` to `dst`.
    pub fn is_request(&self, method: &str, src: u16, dst: u16) -> bool {
        self.method() == Some(method) && self.src_port == src && self.dst_port == dst
    }

    /// True for a response with `code` to a `method` request, sent from `src` to `dst`.
    pub fn is_response(&self, code: u16, method: &str, src: u16, dst: u16) -> bool {
        self.status() == Some(code)
            && self.cseq_method() == Some(method)
            && self.src_port == src
            && self.dst_port == dst
    }
}

/// Compact header names (RFC 3261 §7.3.3, RFC 3515 §7 for `r`) to the full ones.
fn full_name(name: &str) -> &str {
    match name.to_ascii_lowercase().as_str() {
        "i" => "Call-ID",
        "f" => "From",
        "t" => "To",
        "v" => "Via",
        "m" => "Contact",
        "l" => "Content-Length",
        "c" => "Content-Type",
        "e" => "Content-Encoding",
        "k" => "Supported",
        "o" => "Event",
        "r" => "Refer-To",
        _ => name,
    }
}

/// Every message of `output` (a phone's whole stdout) in the order printed.
pub fn parse(output: &str) -> Vec<Traced> {
    let mut found = Vec::new();
    let mut rest = output;
    while let Some((line, after)) = split_line(rest) {
        rest = after;
        let Some((transport, src_port, dst_port)) = address_line(line.trim_end_matches('\r'))
        else {
            continue;
        };
        if let Some((message, after)) = message(rest, transport, src_port, dst_port) {
            found.push(message);
            rest = after;
        }
    }
    found
}

fn split_line(text: &str) -> Option<(&str, &str)> {
    if text.is_empty() {
        return None;
    }
    Some(match text.find('\n') {
        Some(at) => (text.get(..at)?, text.get(at + 1..)?),
        None => (text, ""),
    })
}

/// `UDP 127.0.0.1:5072 -> 127.0.0.1:5061` → (`UDP`, 5072, 5061).
fn address_line(line: &str) -> Option<(&str, u16, u16)> {
    let (transport, rest) = line.split_once(' ')?;
    if !matches!(transport, "UDP" | "TCP" | "TLS" | "WS" | "WSS") {
        return None;
    }
    let (src, dst) = rest.split_once(" -> ")?;
    Some((transport, port_of(src)?, port_of(dst.trim())?))
}

fn port_of(address: &str) -> Option<u16> {
    address.rsplit_once(':')?.1.parse().ok()
}

/// The message starting at `text` (start line, headers to the blank line, body of
/// Content-Length bytes) and what follows it.
fn message<'a>(
    text: &'a str,
    transport: &str,
    src_port: u16,
    dst_port: u16,
) -> Option<(Traced, &'a str)> {
    let (start_line, mut rest) = split_line(text)?;
    let start_line = start_line.trim_end_matches('\r').to_owned();
    let mut headers = Vec::new();
    loop {
        let (line, after) = split_line(rest)?;
        rest = after;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut traced = Traced {
        transport: transport.to_owned(),
        src_port,
        dst_port,
        start_line,
        headers,
        body: String::new(),
    };
    let length: usize = traced
        .header("Content-Length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // A body cut short (the phone was killed mid-print) is kept as far as it goes.
    let mut end = length.min(rest.len());
    while !rest.is_char_boundary(end) {
        end -= 1;
    }
    traced.body = rest.get(..end)?.to_owned();
    Some((traced, rest.get(end..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
