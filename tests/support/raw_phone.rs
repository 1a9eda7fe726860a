//! A phone played directly on a UDP socket, for what SIPp cannot express: a peer that
//! answers the first INVITE and then never responds again (the server must still end
//! its calls and exit in time), and a transferee whose NOTIFY sipfrag ends with a bare
//! LF as real phones (baresip) send it.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::sip::{Msg, long_name};

/// How the phone behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawMode {
    /// 180 Ringing to the first INVITE, then silence.
    Ringing,
    /// 200 OK with an SDP answer to the first INVITE, then silence (no response to
    /// ACK, REFER, BYE …).
    Answer,
    /// 200 OK to the INVITE; 202 to a REFER followed by one NOTIFY whose sipfrag is
    /// `SIP/2.0 200 OK` ended by a bare LF, subscription terminated; 200 to BYE.
    TransferBareLf,
    /// 200 OK to the INVITE; 202 to a REFER, then at once a NOTIFY with sipfrag
    /// `SIP/2.0 200 OK` (subscription terminated) and a BYE of its own, as transferees
    /// end their dialog with the transferor after a transfer (RFC 5589 §6); 200 to BYE.
    TransferThenHangUp,
    /// 200 OK to the INVITE; a re-INVITE is answered 200 (with [`REINVITE_ANSWER`]) only
    /// after one second and never retransmitted, as over a reliable transport; 200 to BYE.
    SlowReinvite,
}

/// The SDP answer of [`RawMode::SlowReinvite`] to a re-INVITE: the same bytes as the
/// SIPp initiators' answer, so destination scenarios can check the relay.
pub const REINVITE_ANSWER: &str = "v=0\r\no=user1 53655765 2 IN IP4 127.0.0.1\r\ns=-\r\n\
    c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6004 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";

/// A phone on a loopback port; its thread is stopped and joined on drop.
pub struct RawPhone {
    pub port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl RawPhone {
    pub fn start(mode: RawMode) -> RawPhone {
        let socket =
            UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).expect("bind raw phone");
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
        RawPhone {
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    pub fn phone(&self, user: &str) -> String {
        super::lab::phone(self.port, user)
    }

    /// The start line of every datagram received so far, in order.
    pub fn start_lines(&self) -> Vec<String> {
        self.messages()
            .iter()
            .map(|m| m.lines().next().unwrap_or_default().to_owned())
            .collect()
    }

    /// Every datagram received so far, in order.
    pub fn messages(&self) -> Vec<String> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for RawPhone {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(socket: &UdpSocket, port: u16, mode: RawMode, seen: &Mutex<Vec<String>>, stop: &AtomicBool) {
    let mut answered = false;
    let mut referred = false;
    let mut reinvited = false;
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::SeqCst) {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
        let first = text.lines().next().unwrap_or_default().to_owned();
        if let Ok(mut v) = seen.lock() {
            v.push(text.clone());
        }
        let send = |reply: String| {
            let _ = socket.send_to(reply.as_bytes(), from);
        };
        if first.starts_with("INVITE ") && !answered {
            answered = true;
            send(match mode {
                RawMode::Ringing => response(&text, "180 Ringing", port, None),
                RawMode::Answer
                | RawMode::TransferBareLf
                | RawMode::TransferThenHangUp
                | RawMode::SlowReinvite => response(&text, "200 OK", port, Some(SDP)),
            });
        } else if mode == RawMode::TransferBareLf && first.starts_with("REFER ") && !referred {
            referred = true;
            send(response(&text, "202 Accepted", port, None));
            send(in_dialog(
                &text,
                "NOTIFY",
                port,
                from,
                Some("SIP/2.0 200 OK\n"),
            ));
        } else if mode == RawMode::TransferThenHangUp && first.starts_with("REFER ") && !referred {
            referred = true;
            send(response(&text, "202 Accepted", port, None));
            send(in_dialog(
                &text,
                "NOTIFY",
                port,
                from,
                Some("SIP/2.0 200 OK\r\n"),
            ));
            send(in_dialog(&text, "BYE", port, from, None));
        } else if mode == RawMode::SlowReinvite && first.starts_with("INVITE ") && !reinvited {
            // Retransmissions of the re-INVITE (read after the sleep) are ignored.
            reinvited = true;
            thread::sleep(Duration::from_secs(1));
            send(response(&text, "200 OK", port, Some(REINVITE_ANSWER)));
        } else if matches!(
            mode,
            RawMode::TransferBareLf | RawMode::TransferThenHangUp | RawMode::SlowReinvite
        ) && first.starts_with("BYE ")
        {
            send(response(&text, "200 OK", port, None));
        }
    }
}

const SDP: &str = "v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                   m=audio 6020 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// A response to `request` copying Via, From, To (with a tag added), Call-ID and CSeq
/// (RFC 3261 §8.2.6.2).
fn response(request: &str, status: &str, port: u16, sdp: Option<&str>) -> String {
    let mut out = format!("SIP/2.0 {status}\r\n");
    let request = Msg::new(request.as_bytes());
    // Copied as written (compact names included), in the request's order.
    for (name, value) in request.header_lines() {
        match long_name(name).as_str() {
            "via" | "from" | "call-id" | "cseq" => {
                out.push_str(&format!("{name}:{value}\r\n"));
            }
            "to" => {
                out.push_str(&format!("{name}:{value}"));
                if !value.contains(";tag=") {
                    out.push_str(";tag=raw1");
                }
                out.push_str("\r\n");
            }
            _ => {}
        }
    }
    out.push_str(&format!("Contact: <sip:100@127.0.0.1:{port}>\r\n"));
    match sdp {
        None => out.push_str("Content-Length: 0\r\n\r\n"),
        Some(sdp) => out.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        )),
    }
    out
}

/// A request in the REFER's dialog, sent by the phone (RFC 3261 §12.2.1.1): to the
/// REFER's Contact, From/To swapped. With `sipfrag`: the NOTIFY ending the REFER's
/// implicit subscription (RFC 3515 §2.4.4), CSeq 1; otherwise a BYE, CSeq 2.
fn in_dialog(
    refer: &str,
    method: &str,
    port: u16,
    to: SocketAddr,
    sipfrag: Option<&str>,
) -> String {
    let refer = Msg::new(refer.as_bytes());
    let target = refer
        .header("Contact")
        .and_then(|c| c.split('<').nth(1))
        .and_then(|c| c.split('>').next())
        .map_or_else(|| format!("sip:{to}"), str::to_owned);
    let from = refer.header("To").unwrap_or_default();
    let peer = refer.header("From").unwrap_or_default();
    let call_id = refer.header("Call-ID").unwrap_or_default();
    let (cseq, body_headers, body) = match sipfrag {
        Some(frag) => (
            1,
            format!(
                "Event: refer\r\nSubscription-State: terminated;reason=noresource\r\n\
                 Content-Type: message/sipfrag\r\nContent-Length: {}\r\n",
                frag.len()
            ),
            frag,
        ),
        None => (2, String::from("Content-Length: 0\r\n"), ""),
    };
    format!(
        "{method} {target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-raw-{method}-{cseq}\r\n\
         From: {from}\r\nTo: {peer}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\
         Contact: <sip:100@127.0.0.1:{port}>\r\nMax-Forwards: 70\r\n{body_headers}\r\n{body}"
    )
}
