//! Where a server transaction's responses go: the Via of a received request stamped with
//! `received` and `rport` (RFC 3261 §18.2.1, RFC 3581 §4) and the destination of the
//! responses chosen from it (RFC 3261 §18.2.2, RFC 3581 §4).

use std::net::SocketAddr;

use crate::sip::Transport;
use crate::sip::msg::{Message, ParseError, Via};
use crate::sip::transport::{ConnId, Target};

/// How a request reached us, as the transport layer reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub source: SocketAddr,
    pub transport: Transport,
    /// The local address it arrived on.
    pub local: SocketAddr,
    /// The TCP or TLS connection it came on.
    pub conn: Option<ConnId>,
}

/// Where to send responses: on `conn` while it is open, otherwise to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReplyRoute {
    pub conn: Option<ConnId>,
    pub target: Target,
}

/// Add `received` to the top Via when its sent-by host is not the source address
/// (§18.2.1), and fill in `rport` when the client asked for it — then `received` is always
/// added (RFC 3581 §4). Returns the stamped top Via.
pub(crate) fn stamp_via(req: &mut Message, source: SocketAddr) -> Result<Via, ParseError> {
    let mut via = req.top_via()?;
    let asked_rport = via.rport().is_some();
    if asked_rport || via.host.ip() != Some(source.ip()) {
        via.set_received(source.ip());
    }
    if asked_rport {
        via.set_rport(Some(source.port()));
    }
    // Rewrite only the top value; the others are copied verbatim (one comma-separated
    // line is equivalent to several lines, RFC 3261 §7.3.1).
    let mut values: Vec<String> = req.header_values("Via").map(str::to_string).collect();
    if let Some(top) = values.first_mut() {
        *top = via.to_string();
    }
    req.set_header("Via", &values.join(", "));
    Ok(via)
}

/// RFC 3261 §18.2.2 (with RFC 3581 §4): a reliable transport answers on the connection
/// the request came on, falling back to the source address and the sent-by port; an
/// unreliable one sends to the source address, on the source port when `rport` was asked
/// for and on the sent-by port otherwise. `maddr` (multicast) is not supported: the
/// response goes to the source as for unicast.
pub(crate) fn reply_route(via: &Via, origin: &Origin) -> ReplyRoute {
    let port = if !origin.transport.is_reliable() && via.rport().is_some() {
        origin.source.port()
    } else {
        via.port_or_default()
    };
    ReplyRoute {
        conn: origin.conn,
        target: Target::new(SocketAddr::new(origin.source.ip(), port), origin.transport),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(via: &str) -> Message {
        let text = format!(
            "OPTIONS sip:us@127.0.0.1 SIP/2.0\r\nVia: {via}\r\nVia: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp\r\n\
             Max-Forwards: 70\r\nTo: <sip:us@127.0.0.1>\r\nFrom: <sip:them@example.com>;tag=1\r\n\
             Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        Message::parse(text.as_bytes()).expect("test message parses")
    }

    fn origin(source: &str, transport: Transport, conn: Option<u64>) -> Origin {
        Origin {
            source: source.parse().unwrap(),
            transport,
            local: "127.0.0.1:5060".parse().unwrap(),
            conn: conn.map(ConnId),
        }
    }

    #[test]
    fn rport_gets_source_port_and_received() {
        let mut req = request("SIP/2.0/UDP 10.0.0.1:5060;rport;branch=z9hG4bKa");
        let via = stamp_via(&mut req, "192.0.2.7:40000".parse().unwrap()).unwrap();
        assert_eq!(via.rport(), Some(Some(40000)));
        assert_eq!(via.received(), Some("192.0.2.7".parse().unwrap()));
        let vias = req.vias().unwrap();
        assert_eq!(vias.len(), 2, "the lower Via is kept");
        assert_eq!(vias[0], via);
        assert_eq!(vias[1].branch(), Some("z9hG4bKp"));
        let route = reply_route(&via, &origin("192.0.2.7:40000", Transport::Udp, None));
        assert_eq!(route.target.addr, "192.0.2.7:40000".parse().unwrap());
    }

    #[test]
    fn same_host_without_rport_is_left_alone_and_sent_by_port_used() {
        let mut req = request("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa");
        let via = stamp_via(&mut req, "127.0.0.1:5070".parse().unwrap()).unwrap();
        assert_eq!(via.received(), None);
        assert_eq!(
            req.header("Via"),
            Some("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa")
        );
        let route = reply_route(&via, &origin("127.0.0.1:33333", Transport::Udp, None));
        assert_eq!(route.target.addr, "127.0.0.1:5070".parse().unwrap());
    }

    #[test]
    fn host_name_gets_received_and_reliable_uses_connection() {
        let mut req = request("SIP/2.0/TCP client.example.com;branch=z9hG4bKa");
        let via = stamp_via(&mut req, "[::1]:50000".parse().unwrap()).unwrap();
        assert_eq!(via.received(), Some("::1".parse().unwrap()));
        let route = reply_route(&via, &origin("[::1]:50000", Transport::Tcp, Some(7)));
        assert_eq!(route.conn, Some(ConnId(7)));
        // Fallback when the connection is gone: source address, sent-by port (default).
        assert_eq!(route.target.addr, "[::1]:5060".parse().unwrap());
        assert_eq!(route.target.transport, Transport::Tcp);
    }
}
