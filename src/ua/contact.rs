//! Our Contact for a leg, matching the transport its requests go over (RFC 3261 §8.1.1.8):
//! the peer sends its in-dialog requests (NOTIFY, BYE, re-INVITE) to it, so it must name a
//! listener that serves that transport.

use std::net::IpAddr;

use crate::sip::Transport;
use crate::sip::msg::{Host, NameAddr, Scheme, Uri};

/// The ports we listen on, per transport (UDP and TCP share `UDPTCPPort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListenPorts {
    pub udp: u16,
    pub tcp: u16,
    /// `TLSPort`; `None` when no TLS transport runs.
    pub tls: Option<u16>,
}

/// The Contact of a leg whose first hop is `first_hop` (the outbound proxy, else the
/// Request-URI): RFC 3261 §8.1.1.8, a SIPS Request-URI or first Route gets a `sips:`
/// Contact; a `transport=tcp|tls` hop gets the same parameter and the port of that
/// listener. Otherwise the original's `sip:user@ip:<UDP port>`. Without a TLS listener a
/// TLS hop keeps that form: nothing would accept the peer's connection on a TLS port.
pub(crate) fn for_hop(
    user: Option<&str>,
    ip: IpAddr,
    ports: ListenPorts,
    first_hop: &Uri,
) -> NameAddr {
    let transport = match first_hop.scheme {
        Scheme::Sips => Some(Transport::Tls),
        _ => first_hop.transport(),
    };
    let uri = match (transport, ports.tls) {
        (Some(Transport::Tls), Some(tls)) if first_hop.scheme == Scheme::Sips => {
            let mut u = Uri::sip(user, Host::from(ip), Some(tls));
            u.scheme = Scheme::Sips;
            u
        }
        (Some(Transport::Tls), Some(tls)) => {
            let mut u = Uri::sip(user, Host::from(ip), Some(tls));
            u.params.set("transport", Some("tls"));
            u
        }
        (Some(Transport::Tcp), _) => {
            let mut u = Uri::sip(user, Host::from(ip), Some(ports.tcp));
            u.params.set("transport", Some("tcp"));
            u
        }
        _ => Uri::sip(user, Host::from(ip), Some(ports.udp)),
    };
    NameAddr::new(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTS: ListenPorts = ListenPorts {
        udp: 5072,
        tcp: 5072,
        tls: Some(5073),
    };

    fn contact(hop: &str, ports: ListenPorts) -> String {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for_hop(Some("c2c"), ip, ports, &Uri::parse(hop).unwrap()).to_string()
    }

    #[test]
    fn contact_follows_the_first_hops_scheme_and_transport() {
        for (hop, expected) in [
            ("sip:100@192.0.2.10", "<sip:c2c@192.0.2.1:5072>"),
            (
                "sip:100@192.0.2.10;transport=udp",
                "<sip:c2c@192.0.2.1:5072>",
            ),
            (
                "sip:100@192.0.2.10;transport=TCP",
                "<sip:c2c@192.0.2.1:5072;transport=tcp>",
            ),
            (
                "sip:100@192.0.2.10;transport=tls",
                "<sip:c2c@192.0.2.1:5073;transport=tls>",
            ),
            ("sips:100@192.0.2.10", "<sips:c2c@192.0.2.1:5073>"),
        ] {
            assert_eq!(contact(hop, PORTS), expected, "{hop}");
        }
        let no_tls = ListenPorts { tls: None, ..PORTS };
        assert_eq!(contact("sips:100@h", no_tls), "<sip:c2c@192.0.2.1:5072>");
    }
}
