//! Just enough SIP text handling for scripted peers, written apart from the crate's
//! message layer so the tests check it rather than reuse it.

/// A message as received: head lines and body.
#[derive(Debug, Clone)]
pub struct Msg {
    pub text: String,
}

impl Msg {
    pub fn new(bytes: &[u8]) -> Msg {
        Msg {
            text: String::from_utf8_lossy(bytes).into_owned(),
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

    /// Every value of header `name` (long or compact form), in order.
    pub fn headers(&self, name: &str) -> Vec<String> {
        let compact = match name.to_ascii_lowercase().as_str() {
            "via" => "v",
            "from" => "f",
            "to" => "t",
            "call-id" => "i",
            "contact" => "m",
            "content-length" => "l",
            "content-type" => "c",
            _ => "",
        };
        let head = self.text.split("\r\n\r\n").next().unwrap_or("");
        head.split("\r\n")
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .filter(|(n, _)| {
                let n = n.trim();
                n.eq_ignore_ascii_case(name) || (!compact.is_empty() && n == compact)
            })
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers(name).into_iter().next()
    }

    /// The branch parameter of the top Via.
    pub fn branch(&self) -> Option<String> {
        let via = self.header("Via")?;
        via.split(';')
            .find_map(|p| p.trim().strip_prefix("branch="))
            .map(str::to_string)
    }

    /// The transport of the top Via (`UDP`, `TCP`, `TLS`).
    pub fn via_transport(&self) -> Option<String> {
        let via = self.header("Via")?;
        let protocol = via.split_whitespace().next()?;
        protocol.rsplit('/').next().map(str::to_ascii_uppercase)
    }

    /// The sent-by of the top Via.
    pub fn via_sent_by(&self) -> Option<String> {
        let via = self.header("Via")?;
        let rest = via.split_whitespace().nth(1)?;
        Some(rest.split(';').next()?.to_string())
    }

    pub fn cseq_method(&self) -> Option<String> {
        self.header("CSeq")?
            .split_whitespace()
            .nth(1)
            .map(str::to_string)
    }

    pub fn body(&self) -> &str {
        self.text.split_once("\r\n\r\n").map_or("", |(_, b)| b)
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
        to
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
