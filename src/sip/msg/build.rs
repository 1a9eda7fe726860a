//! Building and serializing messages: requests, responses (RFC 3261 §8.2.6), the
//! wire form with a correct Content-Length, and random tokens for branches, tags and
//! Call-IDs (RFC 3261 §8.1.1.4, §8.1.1.7, §19.3).

use std::io::Write as _;
use std::sync::OnceLock;

use super::header_name::Hid;
use super::message::{Header, Message, StartLine, Text};
use super::method::Method;
use super::name_addr::NameAddrParts;
use super::uri::Uri;

impl Message {
    /// A request with only its start line; the caller adds Via, Max-Forwards, From, To,
    /// Call-ID, CSeq, Contact (RFC 3261 §8.1.1).
    pub fn new_request(method: Method, uri: Uri) -> Message {
        Message {
            head: String::new(),
            start: StartLine::Request {
                method,
                uri: OnceLock::from(uri),
                uri_text: None,
            },
            headers: Vec::with_capacity(12),
            body: Vec::new(),
        }
    }

    /// A response with only its status line.
    pub fn new_response(code: u16, reason: &str) -> Message {
        Message {
            head: String::new(),
            start: StartLine::Response {
                code,
                reason: Text::Own(reason.replace(['\r', '\n'], " ").into()),
            },
            headers: Vec::with_capacity(8),
            body: Vec::new(),
        }
    }

    /// A response to `req` as RFC 3261 §8.2.6.2 builds it: every Via line in order, then
    /// From, To, Call-ID and CSeq (the order the C++ original writes them); `to_tag` is
    /// added to To when it has no tag yet; for a 100 the Timestamp is copied too
    /// (§8.2.6.1). Header values are copied verbatim.
    pub fn response_to(req: &Message, code: u16, reason: &str, to_tag: Option<&str>) -> Message {
        let mut resp = Message::new_response(code, reason);
        for v in req.raw_values("Via") {
            resp.push_header("Via", v);
        }
        for v in req.raw_values("From") {
            resp.push_header("From", v);
        }
        for v in req.raw_values("To") {
            let has_tag = NameAddrParts::scan(v)
                .map(|p| p.param("tag").is_some())
                .unwrap_or(false);
            match to_tag {
                Some(tag) if !has_tag => resp.push_header("To", &format!("{v};tag={tag}")),
                _ => resp.push_header("To", v),
            }
        }
        for name in ["Call-ID", "CSeq"] {
            for v in req.raw_values(name) {
                resp.push_header(name, v);
            }
        }
        if code == 100 {
            for v in req.raw_values("Timestamp") {
                resp.push_header("Timestamp", v);
            }
        }
        resp
    }

    /// Serialize into `out` (appending): start line, headers in order, a Content-Length
    /// equal to the body length (at the place of the first Content-Length header, or
    /// last), the empty line and the body.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.head.len() + self.body.len() + 64);
        match &self.start {
            StartLine::Request {
                method,
                uri,
                uri_text,
            } => {
                out.extend_from_slice(method.as_str().as_bytes());
                out.push(b' ');
                match uri_text {
                    Some(t) => out.extend_from_slice(t.get(&self.head).as_bytes()),
                    None => {
                        if let Some(uri) = uri.get() {
                            let _ = write!(out, "{uri}");
                        }
                    }
                }
                out.extend_from_slice(b" SIP/2.0\r\n");
            }
            StartLine::Response { code, reason } => {
                let _ = write!(out, "SIP/2.0 {code} ");
                out.extend_from_slice(reason.get(&self.head).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        let mut wrote_length = false;
        for h in &self.headers {
            if h.known.is_some_and(|k| k.id == Hid::ContentLength) {
                if !wrote_length {
                    self.write_content_length(out);
                    wrote_length = true;
                }
                continue;
            }
            write_header(out, h, &self.head);
        }
        if !wrote_length {
            self.write_content_length(out);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    fn write_content_length(&self, out: &mut Vec<u8>) {
        let _ = write!(out, "Content-Length: {}\r\n", self.body.len());
    }

    /// The wire form in a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

fn write_header(out: &mut Vec<u8>, h: &Header, head: &str) {
    out.extend_from_slice(h.name.get(head).as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(h.value.get(head).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `n` random characters from `[A-Za-z0-9]`, from OpenSSL's CSPRNG (unguessable tags and
/// branches also protect against off-path spoofing).
pub fn random_token(n: usize) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; n];
    if openssl::rand::rand_bytes(&mut bytes).is_err() {
        fallback_random(&mut bytes);
    }
    // 248 = 4 * 62: rejecting larger bytes would be unbiased; the slight bias of a plain
    // modulo costs < 0.1 bit per character, irrelevant for identifiers.
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// Used only if OpenSSL's generator fails: std's randomly keyed hasher over a counter and
/// the clock.
fn fallback_random(out: &mut [u8]) {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = RandomState::new();
    for chunk in out.chunks_mut(8) {
        let mut h = state.build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        let v = h.finish().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

/// A new Via branch: the RFC 3261 magic cookie `z9hG4bK` and 16 random characters.
pub fn new_branch() -> String {
    format!("z9hG4bK{}", random_token(16))
}

/// A new From/To tag (RFC 3261 §19.3: at least 32 bits of randomness; 8 chars ≈ 47 bits).
pub fn new_tag() -> String {
    random_token(8)
}

/// A new Call-ID (RFC 3261 §8.1.1.4), 22 random characters (≈ 131 bits).
pub fn new_call_id() -> String {
    random_token(22)
}
