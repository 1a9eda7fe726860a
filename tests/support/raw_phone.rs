//! A phone played directly on a UDP socket, for what SIPp cannot express: a peer that
//! answers the first INVITE (with 180, or with 200 and an SDP answer) and then never
//! responds to anything again — the server must still end its calls and exit in time.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the phone answers to the first INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstAnswer {
    /// 180 Ringing, then silence.
    Ringing,
    /// 200 OK with an SDP answer, then silence (no response to ACK, REFER, BYE …).
    Answer,
}

/// A deaf phone on a loopback port; stopped (thread joined) on drop.
pub struct DeafPhone {
    pub port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl DeafPhone {
    pub fn start(mode: FirstAnswer) -> DeafPhone {
        let socket =
            UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).expect("bind deaf phone");
        let port = socket.local_addr().expect("local addr").port();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            thread::spawn(move || run(&socket, port, mode, &seen, &stop))
        };
        DeafPhone {
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    pub fn phone(&self, user: &str) -> String {
        super::phone(self.port, user)
    }

    /// The start line of every datagram received so far, in order.
    pub fn start_lines(&self) -> Vec<String> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for DeafPhone {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    socket: &UdpSocket,
    port: u16,
    mode: FirstAnswer,
    seen: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) {
    let mut answered = false;
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::SeqCst) {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
        let first = text.lines().next().unwrap_or_default().to_owned();
        if let Ok(mut v) = seen.lock() {
            v.push(first.clone());
        }
        if !answered && first.starts_with("INVITE ") {
            answered = true;
            let reply = response(&text, port, mode);
            let _ = socket.send_to(reply.as_bytes(), from);
        }
    }
}

/// A response to `request` copying Via, From, To (with a tag added), Call-ID and CSeq
/// (RFC 3261 §8.2.6.2).
fn response(request: &str, port: u16, mode: FirstAnswer) -> String {
    let head = request.split("\r\n\r\n").next().unwrap_or_default();
    let mut out = match mode {
        FirstAnswer::Ringing => String::from("SIP/2.0 180 Ringing\r\n"),
        FirstAnswer::Answer => String::from("SIP/2.0 200 OK\r\n"),
    };
    for line in head.split("\r\n").skip(1) {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match name.as_str() {
            "via" | "v" | "from" | "f" | "call-id" | "i" | "cseq" => {
                out.push_str(line);
                out.push_str("\r\n");
            }
            "to" | "t" => {
                out.push_str(line);
                if !line.contains(";tag=") {
                    out.push_str(";tag=deaf1");
                }
                out.push_str("\r\n");
            }
            _ => {}
        }
    }
    out.push_str(&format!("Contact: <sip:100@127.0.0.1:{port}>\r\n"));
    match mode {
        FirstAnswer::Ringing => out.push_str("Content-Length: 0\r\n\r\n"),
        FirstAnswer::Answer => {
            let sdp = "v=0\r\no=deaf 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                       m=audio 6020 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
            out.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
                sdp.len()
            ));
        }
    }
    out
}
