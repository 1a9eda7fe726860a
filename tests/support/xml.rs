//! A client of the XML interface: one `<ClickToCall>` request, then the stream of
//! response documents (each the request echoed with a `<Response>` inserted, ending at
//! `</ClickToCall>`, documents back to back on the connection).

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

/// Bound on what one click-to-call may send back; far above a real sequence.
const MAX_REPLY: usize = 1 << 20;

/// One `<Result>` line: code, `Leg` attribute (empty when absent) and text.
#[derive(Debug, Clone)]
pub struct Event {
    pub code: u16,
    pub leg: String,
    pub text: String,
    /// When it was read, for "how long after the request" checks; not compared.
    pub at: Instant,
}

/// Equal when code, leg and text are: expected lists are written without times.
impl PartialEq for Event {
    fn eq(&self, other: &Event) -> bool {
        (self.code, &self.leg, &self.text) == (other.code, &other.leg, &other.text)
    }
}

impl Eq for Event {}

impl Event {
    pub fn new(code: u16, leg: &str, text: &str) -> Event {
        Event {
            code,
            leg: leg.to_owned(),
            text: text.to_owned(),
            at: Instant::now(),
        }
    }

    /// A request is over after this event: a failure, or the destination connected.
    pub fn is_final(&self) -> bool {
        self.code >= 300 || ((200..300).contains(&self.code) && self.leg == "Destination")
    }
}

pub struct XmlClient {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// Every whole document received, in order.
    pub documents: Vec<String>,
    /// Every event read so far, in order.
    pub seen: Vec<Event>,
}

impl XmlClient {
    pub fn connect(port: u16) -> XmlClient {
        let stream = TcpStream::connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
            .unwrap_or_else(|e| panic!("connect to XML port {port}: {e}"));
        XmlClient {
            stream,
            buffer: Vec::new(),
            documents: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// Sends a click-to-call in the layout of the reference runs and reads documents
    /// until the final event or `timeout`. Panics on time-out or a malformed document.
    pub fn call(
        &mut self,
        initiator: &str,
        destination: &str,
        anchor: bool,
        timeout: Duration,
    ) -> Vec<Event> {
        self.send_request(initiator, destination, anchor);
        self.events_until(timeout, |e| e.is_final())
    }

    /// Sends one `<ClickToCall>` request.
    pub fn send_request(&mut self, initiator: &str, destination: &str, anchor: bool) {
        let request = format!(
            "<ClickToCall>\r\n  <Request>\r\n    <Initiator>{initiator}</Initiator>\r\n    \
             <Destination>{destination}</Destination>\r\n    <AnchorCall>{anchor}</AnchorCall>\r\n  \
             </Request>\r\n</ClickToCall>\r\n"
        );
        self.stream
            .write_all(request.as_bytes())
            .expect("send XML request");
    }

    /// Sends `doc` as it is.
    pub fn send_raw(&mut self, doc: &str) {
        self.stream
            .write_all(doc.as_bytes())
            .expect("send XML request");
    }

    /// Reads events until one satisfies `stop` (returned as the last element) or
    /// `timeout` passes (panic). A final event also stops the read, so a caller waiting
    /// for a provisional event sees a premature final instead of a time-out.
    pub fn events_until(&mut self, timeout: Duration, stop: impl Fn(&Event) -> bool) -> Vec<Event> {
        let deadline = Instant::now() + timeout;
        let mut events: Vec<Event> = Vec::new();
        loop {
            while let Some(event) = self.take_event() {
                let done = stop(&event) || event.is_final();
                events.push(event);
                if done {
                    return events;
                }
            }
            let now = Instant::now();
            if now >= deadline {
                panic!("no awaited event within {timeout:?}; events so far: {events:?}");
            }
            if !self.read_some(deadline - now) {
                panic!("XML connection closed early; events so far: {events:?}");
            }
        }
    }

    /// Reads results until one with `code` (and, when given, `leg`) arrives, and returns
    /// it. Panics on a time-out, a closed connection, or another final result first.
    pub fn expect(&mut self, code: u16, leg: Option<&str>, timeout: Duration) -> Event {
        let deadline = Instant::now() + timeout;
        loop {
            let e = self.next(deadline).unwrap_or_else(|| {
                panic!(
                    "no result {code} {leg:?} within {timeout:?}; results so far: {:?}",
                    self.seen
                )
            });
            if e.code == code && leg.is_none_or(|l| l == e.leg) {
                return e;
            }
            assert!(
                !e.is_final(),
                "final result {e:?} instead of {code} {leg:?}; results: {:?}",
                self.seen
            );
        }
    }

    /// The next event before `deadline`, or `None` (time-out or connection closed).
    pub fn next(&mut self, deadline: Instant) -> Option<Event> {
        loop {
            if let Some(event) = self.take_event() {
                return Some(event);
            }
            let now = Instant::now();
            if now >= deadline || !self.read_some(deadline - now) {
                return None;
            }
        }
    }

    /// One whole document off the buffer, recorded, as its event.
    fn take_event(&mut self) -> Option<Event> {
        let doc = self.next_document()?;
        let event = parse_result(&doc).unwrap_or_else(|| panic!("no <Result> in document:\n{doc}"));
        self.documents.push(doc);
        self.seen.push(event.clone());
        Some(event)
    }

    /// True if no byte arrives within `quiet` (the connection staying open or closing
    /// are both fine).
    pub fn silent_for(&mut self, quiet: Duration) -> bool {
        if !self.buffer.is_empty() {
            return false;
        }
        self.read_some(quiet);
        self.buffer.is_empty()
    }

    /// Reads what arrives within `timeout` into the buffer; false on end of stream.
    fn read_some(&mut self, timeout: Duration) -> bool {
        let _ = self
            .stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))));
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buffer
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                assert!(
                    self.buffer.len() <= MAX_REPLY,
                    "XML reply larger than {MAX_REPLY} bytes"
                );
                true
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                true
            }
            Err(e) => panic!("XML read: {e}"),
        }
    }

    /// Takes one whole document (up to and including `</ClickToCall>`, or the
    /// `</Hangup>` or `</Status>` of a call-control answer) off the buffer.
    fn next_document(&mut self) -> Option<String> {
        let (at, len) = [&b"</ClickToCall>"[..], b"</Hangup>", b"</Status>"]
            .iter()
            .filter_map(|end| {
                let at = self.buffer.windows(end.len()).position(|w| w == *end)?;
                Some((at, end.len()))
            })
            .min()?;
        let doc: Vec<u8> = self.buffer.drain(..at + len).collect();
        Some(String::from_utf8_lossy(&doc).into_owned())
    }
}

/// The `<Result Code="N"[ Leg="X"]>text</Result>` of a response document.
pub fn parse_result(doc: &str) -> Option<Event> {
    let start = doc.find("<Result Code=\"")? + "<Result Code=\"".len();
    let rest = doc.get(start..)?;
    let code_end = rest.find('"')?;
    let code = rest.get(..code_end)?.parse().ok()?;
    let rest = rest.get(code_end + 1..)?;
    let open_end = rest.find('>')?;
    let attrs = rest.get(..open_end)?;
    let leg = match attrs.find("Leg=\"") {
        Some(at) => {
            let value = attrs.get(at + "Leg=\"".len()..)?;
            value.get(..value.find('"')?)?.to_owned()
        }
        None => String::new(),
    };
    let body = rest.get(open_end + 1..)?;
    let text = body.get(..body.find("</Result>")?)?.to_owned();
    Some(Event {
        code,
        leg,
        text,
        at: Instant::now(),
    })
}

/// A `<ClickToCall>` request without `AnchorCall`, with an `AuthToken` when given, for
/// tests of the front door (any stream, TLS too: [`first_document`]).
pub fn request_text(initiator: &str, destination: &str, token: Option<&str>) -> String {
    let token = token.map_or(String::new(), |t| {
        format!("\r\n    <AuthToken>{t}</AuthToken>")
    });
    format!(
        "<ClickToCall>\r\n  <Request>\r\n    <Initiator>{initiator}</Initiator>\r\n    <Destination>{destination}</Destination>{token}\r\n  </Request>\r\n</ClickToCall>"
    )
}

/// Sends `request` on any stream and returns the text up to the end of the first
/// response document (or what came before the peer closed or [`super::WAIT`] passed).
pub fn first_document(s: &mut (impl Read + Write), request: &str) -> String {
    s.write_all(request.as_bytes()).expect("write request");
    super::wire::read_until(s, |t| {
        t.contains("</Response>") && t.trim_end().ends_with("</ClickToCall>")
    })
}
