//! Just enough SIP text handling for scripted peers, written apart from the crate's
//! message layer so the tests check it rather than reuse it.

use std::net::SocketAddr;

/// A message as received: its text, and its source when a phone read it from a socket.
#[derive(Debug, Clone)]
pub struct Msg {
    pub text: String,
    pub from: Option<SocketAddr>,
}

/// Long form of a compact header name (RFC 3261 §7.3.3, RFC 3515 §7.2, RFC 3265 §7.2).
pub fn long_name(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "f" => "from",
        "t" => "to",
        "v" => "via",
        "i" => "call-id",
        "m" => "contact",
        "l" => "content-length",
        "c" => "content-type",
        "e" => "content-encoding",
        "r" => "refer-to",
        "o" => "event",
        "k" => "supported",
        other => other,
    }
    .to_owned()
}

impl Msg {
    pub fn new(bytes: &[u8]) -> Msg {
        Msg {
            text: String::from_utf8_lossy(bytes).into_owned(),
            from: None,
        }
    }

    /// A message read from `from`.
    pub fn received(bytes: &[u8], from: SocketAddr) -> Msg {
        Msg {
            from: Some(from),
            ..Msg::new(bytes)
        }
    }

    pub fn start_line(&self) -> &str {
        self.text.lines().next().unwrap_or("")
    }

    /// The method of a request (`None` for a response).
    pub fn method(&self) -> Option<&str> {
        let first = self.start_line().split(' ').next()?;
        (!first.starts_with("SIP/")).then_some(first)
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        let mut parts = self.start_line().split(' ');
        parts
            .next()
            .filter(|v| v.starts_with("SIP/"))
            .and(parts.next())?
            .parse()
            .ok()
    }

    pub fn request_uri(&self) -> Option<&str> {
        self.method().and(self.start_line().split(' ').nth(1))
    }

    fn head(&self) -> &str {
        self.text.split("\r\n\r\n").next().unwrap_or_default()
    }

    /// Every header line (name and value as written), after the start line.
    pub fn header_lines(&self) -> Vec<(&str, &str)> {
        self.head()
            .split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .collect()
    }

    /// Every value of header `name` (long or compact form), in order, trimmed.
    pub fn headers(&self, name: &str) -> Vec<&str> {
        let want = long_name(name);
        self.header_lines()
            .into_iter()
            .filter(|(n, _)| long_name(n) == want)
            .map(|(_, v)| v.trim())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers(name).into_iter().next()
    }

    /// The branch parameter of the top Via.
    pub fn branch(&self) -> Option<&str> {
        self.header("Via")?
            .split(';')
            .find_map(|p| p.trim().strip_prefix("branch="))
    }

    /// The transport of the top Via (`UDP`, `TCP`, `TLS`).
    pub fn via_transport(&self) -> Option<String> {
        let protocol = self.header("Via")?.split_whitespace().next()?;
        protocol.rsplit('/').next().map(str::to_ascii_uppercase)
    }

    /// The sent-by of the top Via.
    pub fn via_sent_by(&self) -> Option<&str> {
        let rest = self.header("Via")?.split_whitespace().nth(1)?;
        rest.split(';').next()
    }

    /// The CSeq method (of a request or of the request a response answers).
    pub fn cseq_method(&self) -> Option<&str> {
        self.header("CSeq")?.split_whitespace().nth(1)
    }

    pub fn body(&self) -> &str {
        self.text.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }

    /// Start line, top Via branch and CSeq: equal for a retransmission of one request.
    pub fn transaction_key(&self) -> String {
        format!(
            "{} {} {}",
            self.start_line(),
            self.branch().unwrap_or_default(),
            self.header("CSeq").unwrap_or_default()
        )
    }
}

/// A response to `req` (RFC 3261 §8.2.6.2: Via, From, Call-ID, CSeq copied; To gets
/// `to_tag` when it has none). `extra` lines go before Content-Length; `body` as given.
pub fn response(
    req: &Msg,
    code: u16,
    reason: &str,
    to_tag: &str,
    extra: &str,
    body: &str,
) -> String {
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for via in req.headers("Via") {
        out.push_str(&format!("Via: {via}\r\n"));
    }
    let to = req.header("To").unwrap_or_default();
    let to = if to.contains(";tag=") || to_tag.is_empty() {
        to.to_owned()
    } else {
        format!("{to};tag={to_tag}")
    };
    out.push_str(&format!(
        "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        req.header("From").unwrap_or_default(),
        req.header("Call-ID").unwrap_or_default(),
        req.header("CSeq").unwrap_or_default(),
        body.len()
    ));
    out
}

/// An out-of-dialog OPTIONS to `uri` sent from `via_addr` over UDP.
pub fn options(uri: &str, via_addr: &str, branch: &str, call_id: &str) -> String {
    format!(
        "OPTIONS {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {via_addr};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{via_addr}>;tag=p{branch}\r\nTo: <{uri}>\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

/// An SDP answer for a 200 to the server's INVITE.
pub const SDP_ANSWER: &str = "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
                              t=0 0\r\nm=audio 9000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
