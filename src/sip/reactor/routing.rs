//! Where requests go: the next hop (RFC 3261 §8.1.2, RFC 3263 §4) and our Via. Responses
//! follow their server transaction's route (`sip::transaction::reply`).

use std::net::SocketAddr;

use crate::sip::Transport;
use crate::sip::dns::ResolveRequest;
use crate::sip::msg::{Host, Message, Scheme, Uri, Via};

/// Requests larger than this go over TCP when the next hop did not ask for a transport
/// (RFC 3261 §18.1.1: 200 bytes under the 1500-byte path MTU).
pub(crate) const UDP_SIZE_LIMIT: usize = 1300;

/// The URI whose host the request is sent to: the first Route when it is a loose router,
/// else the Request-URI (RFC 3261 §8.1.2; a strict-router first hop was already placed in
/// the Request-URI by the dialog, §12.2.1.1).
pub(crate) fn next_hop(req: &Message) -> Option<Uri> {
    if let Ok(routes) = req.routes()
        && let Some(first) = routes.into_iter().next()
    {
        return Some(first.uri);
    }
    req.request_uri().cloned()
}

/// What to ask the resolver for a next-hop URI (RFC 3263 §4: maddr overrides the host;
/// port and transport as the URI gives them; `sips:` needs TLS).
pub(crate) fn resolve_request(uri: &Uri) -> Option<ResolveRequest> {
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

/// Put `via` on top of the request (RFC 3261 §8.1.1.7), with `rport` (RFC 3581 §3).
pub(crate) fn push_via(req: &mut Message, transport: Transport, sent_by: SocketAddr, branch: &str) {
    let mut via = Via::new(
        transport,
        Host::from(sent_by.ip()),
        Some(sent_by.port()),
        branch,
    );
    via.set_rport(None);
    req.insert_header_front("Via", &via.to_string());
}

/// The transport to use for a target list entry, given the message size (§18.1.1).
pub(crate) fn transport_for_size(
    target_transport: Transport,
    explicit: bool,
    size: usize,
) -> Transport {
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
