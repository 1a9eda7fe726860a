//! A client of the XML port: one `<ClickToCall>` request, then the progress documents
//! (each a whole document ending at `</ClickToCall>`, back to back on the connection).

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Bound on what one click-to-call may send back.
const MAX_BUFFER: usize = 1 << 20;

/// One `<Result Code="N" Leg="...">text</Result>`; `leg` is empty when absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub code: u16,
    pub leg: String,
    pub text: String,
    /// When it was read, for "how long after the request" checks.
    pub at: Instant,
}

impl Progress {
    /// Nothing follows this on the request: a failure, or the destination connected.
    pub fn is_final(&self) -> bool {
        self.code >= 300 || (self.code >= 200 && self.leg == "Destination")
    }
}

pub struct XmlClient {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// Every result read so far.
    pub seen: Vec<Progress>,
}

impl XmlClient {
    pub fn connect(port: u16) -> XmlClient {
        let stream = TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .unwrap_or_else(|e| panic!("connect to the XML port {port}: {e}"));
        XmlClient {
            stream,
            buffer: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// Sends the request of the reference runs.
    pub fn request(&mut self, initiator: &str, destination: &str, anchor: bool) {
        let text = format!(
            "<ClickToCall><Request><Initiator>{initiator}</Initiator>\
             <Destination>{destination}</Destination><AnchorCall>{anchor}</AnchorCall>\
             </Request></ClickToCall>"
        );
        self.stream
            .write_all(text.as_bytes())
            .expect("send the XML request");
    }

    /// Reads results until one with `code` (and, when given, `leg`) arrives, and returns
    /// it. Panics on a time-out, a closed connection, or another final result first.
    pub fn expect(&mut self, code: u16, leg: Option<&str>, timeout: Duration) -> Progress {
        let deadline = Instant::now() + timeout;
        loop {
            let p = self.next(deadline).unwrap_or_else(|| {
                panic!(
                    "no result {code} {leg:?} within {timeout:?}; results so far: {:?}",
                    self.seen
                )
            });
            if p.code == code && leg.is_none_or(|l| l == p.leg) {
                return p;
            }
            assert!(
                !p.is_final(),
                "final result {p:?} instead of {code} {leg:?}; results: {:?}",
                self.seen
            );
        }
    }

    /// The next result before `deadline`, or `None`.
    pub fn next(&mut self, deadline: Instant) -> Option<Progress> {
        loop {
            if let Some(p) = self.take_document() {
                self.seen.push(p.clone());
                return Some(p);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            let _ = self
                .stream
                .set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))));
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => {
                    self.buffer.extend_from_slice(&chunk[..n]);
                    assert!(self.buffer.len() <= MAX_BUFFER, "XML reply too large");
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("XML read: {e}"),
            }
        }
    }

    fn take_document(&mut self) -> Option<Progress> {
        const END: &[u8] = b"</ClickToCall>";
        let at = self.buffer.windows(END.len()).position(|w| w == END)?;
        let doc: Vec<u8> = self.buffer.drain(..at + END.len()).collect();
        let doc = String::from_utf8_lossy(&doc).into_owned();
        Some(parse_result(&doc).unwrap_or_else(|| panic!("no <Result> in:\n{doc}")))
    }
}

/// The `<Result Code="N"[ Leg="X"]>text</Result>` of a document.
fn parse_result(doc: &str) -> Option<Progress> {
    let rest = doc.split_once("<Result Code=\"")?.1;
    let (code, rest) = rest.split_once('"')?;
    let (attrs, rest) = rest.split_once('>')?;
    let leg = attrs
        .split_once("Leg=\"")
        .and_then(|(_, v)| v.split_once('"'))
        .map_or(String::new(), |(v, _)| v.to_string());
    let text = rest.split_once("</Result>")?.0.to_string();
    Some(Progress {
        code: code.parse().ok()?,
        leg,
        text,
        at: Instant::now(),
    })
}
