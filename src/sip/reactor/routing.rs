//! Where messages go: the next hop of a request (RFC 3261 §8.1.2, RFC 3263 §4), the place a
//! response is sent back to (RFC 3261 §18.2.2, RFC 3581 §4), and our Via.

use std::net::{IpAddr, SocketAddr};

use crate::sip::Transport;
use crate::sip::dns::ResolveRequest;
use crate::sip::msg::{Host, Message, Scheme, Uri, Via};
use crate::sip::transport::{ConnId, Target};

/// Requests larger than this go over TCP when the next hop did not ask for a transport
/// (RFC 3261 §18.1.1: 200 bytes under the 1500-byte path MTU).
pub const UDP_SIZE_LIMIT: usize = 1300;

/// The URI whose host the request is sent to: the first Route when it is a loose router,
/// else the Request-URI (RFC 3261 §8.1.2; a strict-router first hop was already placed in
/// the Request-URI by the dialog, §12.2.1.1).
pub fn next_hop(req: &Message) -> Option<Uri> {
    if let Ok(routes) = req.routes()
        && let Some(first) = routes.into_iter().next()
    {
        return Some(first.uri);
    }
    req.request_uri().cloned()
}

/// What to ask the resolver for a next-hop URI (RFC 3263 §4: maddr overrides the host;
/// port and transport as the URI gives them; `sips:` needs TLS).
pub fn resolve_request(uri: &Uri) -> Option<ResolveRequest> {
    let secure = matches!(uri.scheme, Scheme::Sips);
    if !matches!(uri.scheme, Scheme::Sip | Scheme::Sips) {
        return None;
    }
    let host = match uri.maddr() {
        Some(m) => m.trim_start_matches('[').trim_end_matches(']').to_string(),
        None => match &uri.host {
            Host::Name(n) => n.clone(),
            Host::V4(a) => a.to_string(),
            Host::V6(a) => a.to_string(),
        },
    };
    if host.is_empty() {
        return None;
    }
    Some(ResolveRequest {
        host,
        port: uri.port,
        transport: uri.transport(),
        secure,
    })
}

/// Where a response to a request goes (RFC 3261 §18.2.2 with RFC 3581 §4): back on the
/// connection it came on for TCP/TLS; else to `maddr` if the Via has one; else to the
/// `received` address (the packet's source) at the `rport` (the source port) when the Via
/// asked for it, or the sent-by port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseRoute {
    Connection { conn: ConnId, target: Target },
    Datagram(Target),
}

pub fn response_route(
    via: &Via,
    source: SocketAddr,
    transport: Transport,
    conn: Option<ConnId>,
) -> ResponseRoute {
    if let Some(conn) = conn {
        return ResponseRoute::Connection {
            conn,
            target: Target::new(source, transport),
        };
    }
    if let Some(maddr) = via
        .maddr()
        .and_then(|m| m.trim_matches(['[', ']']).parse::<IpAddr>().ok())
    {
        return ResponseRoute::Datagram(Target::new(
            SocketAddr::new(maddr, via.port_or_default()),
            transport,
        ));
    }
    let port = match via.rport() {
        Some(_) => source.port(),
        None => via.port.unwrap_or_else(|| transport.default_port()),
    };
    ResponseRoute::Datagram(Target::new(SocketAddr::new(source.ip(), port), transport))
}

/// Stamp a received request's top Via with `received` and `rport` (RFC 3261 §18.2.1,
/// RFC 3581 §4) so that responses built from it say where it really came from.
pub fn stamp_received(req: &mut Message, source: SocketAddr) {
    let Ok(mut via) = req.top_via() else { return };
    let mut changed = false;
    let sent_by_ip = via.host.ip();
    if sent_by_ip != Some(source.ip()) {
        via.set_received(source.ip());
        changed = true;
    }
    if via.rport() == Some(None) {
        via.set_rport(Some(source.port()));
        via.set_received(source.ip());
        changed = true;
    }
    if changed {
        replace_top_via(req, &via);
    }
}

/// Put `via` on top of the request (RFC 3261 §8.1.1.7), with `rport` (RFC 3581 §3).
pub fn push_via(req: &mut Message, transport: Transport, sent_by: SocketAddr, branch: &str) {
    let mut via = Via::new(
        transport,
        Host::from(sent_by.ip()),
        Some(sent_by.port()),
        branch,
    );
    via.set_rport(None);
    req.insert_header_front("Via", &via.to_string());
}

/// Replace the first Via value of a message, keeping the others in order.
fn replace_top_via(req: &mut Message, via: &Via) {
    let mut all: Vec<String> = req.header_values("Via").map(str::to_string).collect();
    let Some(first) = all.first_mut() else { return };
    *first = via.to_string();
    req.remove_header("Via");
    // Each insert goes before the first Via: inserting from the last keeps the order.
    for v in all.iter().rev() {
        req.insert_header_front("Via", v);
    }
}

/// The transport to use for a target list entry, given the message size (§18.1.1).
pub fn transport_for_size(target_transport: Transport, explicit: bool, size: usize) -> Transport {
    if target_transport == Transport::Udp && !explicit && size > UDP_SIZE_LIMIT {
        Transport::Tcp
    } else {
        target_transport
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> Message {
        Message::parse(text.replace('\n', "\r\n").as_bytes()).expect("test message parses")
    }

    const BASE: &str = "OPTIONS sip:bob@example.com SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;rport\nMax-Forwards: 70\nTo: <sip:bob@example.com>\nFrom: <sip:a@b>;tag=1\nCall-ID: x\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n";

    #[test]
    fn next_hop_is_first_loose_route_else_request_uri() {
        let r = req(BASE);
        assert_eq!(next_hop(&r).unwrap().to_string(), "sip:bob@example.com");
        let with_route = BASE.replace(
            "Max-Forwards",
            "Route: <sip:proxy.example.net;lr>\nMax-Forwards",
        );
        assert_eq!(
            next_hop(&req(&with_route)).unwrap().to_string(),
            "sip:proxy.example.net;lr"
        );
    }

    #[test]
    fn resolve_request_takes_port_transport_maddr_and_sips() {
        let u = Uri::parse("sip:100@127.0.0.1:5061;transport=tcp").unwrap();
        let r = resolve_request(&u).unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.transport, r.secure),
            ("127.0.0.1", Some(5061), Some(Transport::Tcp), false)
        );
        let u = Uri::parse("sips:bob@example.com;maddr=192.0.2.7").unwrap();
        let r = resolve_request(&u).unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.secure),
            ("192.0.2.7", None, true)
        );
        assert!(resolve_request(&Uri::parse("tel:+15551234").unwrap()).is_none());
    }

    #[test]
    fn response_goes_to_source_port_with_rport_and_to_sent_by_port_without() {
        let r = req(BASE);
        let via = r.top_via().unwrap();
        let src: SocketAddr = "192.0.2.9:40000".parse().unwrap();
        assert_eq!(
            response_route(&via, src, Transport::Udp, None),
            ResponseRoute::Datagram(Target::new(src, Transport::Udp))
        );
        let no_rport = req(&BASE.replace(";rport", ""));
        assert_eq!(
            response_route(&no_rport.top_via().unwrap(), src, Transport::Udp, None),
            ResponseRoute::Datagram(Target::new(
                "192.0.2.9:5070".parse().unwrap(),
                Transport::Udp
            ))
        );
    }

    #[test]
    fn stamping_adds_received_and_rport_to_the_top_via_only() {
        let two = BASE.replace(
            "Max-Forwards",
            "Via: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bK2\nMax-Forwards",
        );
        let mut r = req(&two);
        stamp_received(&mut r, "192.0.2.9:40000".parse().unwrap());
        let vias = r.vias().unwrap();
        assert_eq!(vias.len(), 2);
        assert_eq!(vias[0].received(), Some("192.0.2.9".parse().unwrap()));
        assert_eq!(vias[0].rport(), Some(Some(40000)));
        assert_eq!(vias[1].branch(), Some("z9hG4bK2"));
    }

    #[test]
    fn push_via_puts_ours_on_top_with_rport() {
        let mut r = req(BASE);
        push_via(
            &mut r,
            Transport::Udp,
            "127.0.0.1:5072".parse().unwrap(),
            "z9hG4bKabc",
        );
        let top = r.top_via().unwrap();
        assert_eq!(top.branch(), Some("z9hG4bKabc"));
        assert_eq!(top.rport(), Some(None));
        assert_eq!(r.vias().unwrap().len(), 2);
        assert!(r.to_bytes().starts_with(b"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bKabc;rport\r\n"));
    }

    #[test]
    fn big_requests_move_to_tcp_unless_the_transport_was_asked_for() {
        assert_eq!(
            transport_for_size(Transport::Udp, false, 1400),
            Transport::Tcp
        );
        assert_eq!(
            transport_for_size(Transport::Udp, true, 1400),
            Transport::Udp
        );
        assert_eq!(
            transport_for_size(Transport::Udp, false, 900),
            Transport::Udp
        );
    }
}
