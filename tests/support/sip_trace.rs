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

use super::sip::Msg;

/// One SIP message as the phone printed it.
#[derive(Debug, Clone)]
pub struct Traced {
    /// Transport name as printed (`UDP`, `TCP`, `TLS`).
    pub transport: String,
    pub src_port: u16,
    pub dst_port: u16,
    /// `INVITE sip:… SIP/2.0` or `SIP/2.0 200 OK`.
    pub start_line: String,
    /// Start line and headers, read with the harness's one SIP parser.
    head: Msg,
    pub body: String,
}

impl Traced {
    /// The method of a request, `None` for a response.
    pub fn method(&self) -> Option<&str> {
        self.head.method()
    }

    /// The status code of a response, `None` for a request.
    pub fn status(&self) -> Option<u16> {
        self.head.status()
    }

    /// The first value of header `name` (case-insensitive, compact forms accepted).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }

    /// The method named in CSeq (for matching a response to its request).
    pub fn cseq_method(&self) -> Option<&str> {
        self.head.cseq_method()
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
    // The head as it went over the wire (CRLF lines, blank line), for `Msg` to read.
    let mut head = format!("{start_line}\r\n");
    loop {
        let (line, after) = split_line(rest)?;
        rest = after;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        // A line without a colon is not a header: not a message after all.
        line.split_once(':')?;
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut traced = Traced {
        transport: transport.to_owned(),
        src_port,
        dst_port,
        start_line,
        head: Msg::new(head.as_bytes()),
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
