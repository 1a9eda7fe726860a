//! Kamailio 5.6 as a real outbound proxy (issue 11): it Record-Routes and challenges the
//! server's initial requests with 407 (static password, auth module). The server answers
//! the challenge (RFC 3261 §22.2, §22.3) and its in-dialog requests follow the
//! Record-Route; a wrong password ends the call with the 407.

use std::time::{Duration, Instant};

use crate::support::kamailio::Kamailio;
use crate::support::lab::{Lab, connected_both_legs, events, phone};
use crate::support::ports::unbound_port;
use crate::support::server::ServerConfig;
use crate::support::xml::Event;

const PASSWORD: &str = "proxy pass";

fn through(proxy: &Kamailio, password: &str) -> ServerConfig {
    ServerConfig::calls()
        .set("OutboundProxy", &proxy.uri())
        .set("SipAuthUser", "c2c")
        .set("SipAuthPassword", password)
}

/// Prints the proxy's own lines, so a run shows what Kamailio saw.
fn show(proxy: &Kamailio, test: &str) {
    eprintln!("kamailio lines ({test}):");
    for line in proxy.proxy_lines() {
        eprintln!("  {line}");
    }
}

/// A REFER-mode call from the proxied SIPp initiator through `proxy`, which Record-Routes
/// both ways: its events, once the phone's scenario passed and the proxy saw our BYE.
fn refer_through(lab: &Lab, proxy: &Kamailio) -> Vec<Event> {
    let (got, _) = lab.refer_call(
        "proxied_initiator_refer_ok.xml",
        &[("PROXY_PORT", proxy.port.to_string())],
    );
    proxy.wait_lines("the BYE", |lines| {
        lines.iter().any(|l| l.starts_with("in-dialog BYE"))
    });
    got
}

/// SHA-256 challenges (RFC 8760); the other tests use MD5.
#[test]
fn a_refer_mode_call_through_a_challenging_record_routing_kamailio_completes() {
    let lab_dir = crate::support::tmp::TempDir::new("kamailio-refer");
    let proxy = Kamailio::start(lab_dir.path(), PASSWORD, "SHA-256");
    let lab = Lab::start("kamailio-refer", through(&proxy, PASSWORD));
    let got = refer_through(&lab, &proxy);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    show(&proxy, "refer");
    let lines = proxy.proxy_lines();
    // The first INVITE is challenged (no credentials), its retry authorised.
    assert!(
        lines[0].starts_with("INVITE cseq 1 ") && lines[0].contains(": 407 (check -5"),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with("INVITE cseq 2 ") && lines[1].contains("authorised as c2c"),
        "{lines:#?}"
    );
    assert!(
        lines[1].contains("qop=auth") && lines[1].contains("nc=00000001"),
        "{lines:#?}"
    );
    for method in ["ACK", "REFER", "BYE"] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("in-dialog {method} "))),
            "{method} did not follow the Record-Route: {lines:#?}"
        );
    }
    assert!(
        !lines[2..].iter().any(|l| l.contains(": 407")),
        "{lines:#?}"
    );
}

#[test]
fn an_anchored_call_through_a_challenging_kamailio_completes() {
    let lab_dir = crate::support::tmp::TempDir::new("kamailio-anchor");
    let proxy = Kamailio::start(lab_dir.path(), PASSWORD, "MD5");
    let lab = Lab::start("kamailio-anchor", through(&proxy, PASSWORD));
    let (got, _, _) = lab.call_between(
        "proxied_initiator_anchor.xml",
        "proxied_destination_anchor.xml",
        true,
    );
    assert_eq!(got, connected_both_legs());
    show(&proxy, "anchored");
    let lines = proxy.proxy_lines();
    // Each leg's INVITE: one 407, then authorised (each dialog answers its own challenge).
    let challenged = lines.iter().filter(|l| l.contains(": 407")).count();
    let authorised = lines
        .iter()
        .filter(|l| l.contains("authorised as c2c"))
        .count();
    assert_eq!((challenged, authorised), (2, 2), "{lines:#?}");
}

#[test]
fn a_wrong_password_ends_the_call_with_the_407_within_10_s() {
    let lab_dir = crate::support::tmp::TempDir::new("kamailio-wrong");
    let proxy = Kamailio::start(lab_dir.path(), PASSWORD, "MD5");
    let lab = Lab::start("kamailio-wrong", through(&proxy, "not the password"));
    let start = Instant::now();
    let got = lab.click_to_call(
        &phone(unbound_port(), "100"),
        &phone(unbound_port(), "200"),
        true,
    );
    let took = start.elapsed();
    show(&proxy, "wrong password");
    let last = got.last().expect("a final event");
    assert!(last.code >= 400, "{got:?}");
    assert_eq!(last.code, 407, "{got:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let lines = proxy.proxy_lines();
    assert_eq!(
        lines.len(),
        2,
        "one INVITE, one retry, no third: {lines:#?}"
    );
    assert!(lines.iter().all(|l| l.contains(": 407")), "{lines:#?}");
    eprintln!("final {} after {took:?}", last.code);
}

/// `OutboundProxyAll`: with phones that do not Record-Route (plain SIPp scenarios) the
/// server still sends its in-dialog requests (ACK, the re-INVITE, BYE) through the proxy,
/// whose Route it puts first.
#[test]
fn outbound_proxy_all_sends_in_dialog_requests_through_kamailio() {
    let lab_dir = crate::support::tmp::TempDir::new("kamailio-all");
    let proxy = Kamailio::start(lab_dir.path(), PASSWORD, "MD5");
    let lab = Lab::start(
        "kamailio-all",
        through(&proxy, PASSWORD).set("OutboundProxyAll", "1"),
    );
    let (got, _, _) = lab.call_between("initiator_anchor.xml", "destination_anchor.xml", true);
    assert_eq!(got, connected_both_legs());
    show(&proxy, "OutboundProxyAll");
    let lines = proxy.proxy_lines();
    for (method, cseq) in [("ACK", 2), ("INVITE", 3), ("ACK", 3)] {
        let want = format!("in-dialog {method} cseq {cseq} to sip:100@");
        assert!(
            lines.iter().any(|l| l.starts_with(&want)),
            "{want}: {lines:#?}"
        );
    }
}

/// The same REFER-mode call with the outbound proxy reached over TCP
/// (`OutboundProxy = sip:…;transport=tcp;lr`): Kamailio challenges over TCP, relays to the
/// phone over UDP and Record-Routes both sides; the server's ACK, REFER and BYE follow the
/// Route and arrive over TCP.
#[test]
fn a_refer_mode_call_through_kamailio_over_tcp_routes_in_dialog_requests_over_tcp() {
    let lab_dir = crate::support::tmp::TempDir::new("kamailio-tcp");
    let proxy = Kamailio::start_tcp(lab_dir.path(), PASSWORD, "MD5");
    let lab = Lab::start("kamailio-tcp", through(&proxy, PASSWORD));
    let got = refer_through(&lab, &proxy);
    assert_eq!(
        got,
        events(&[
            (100, "", "In progress"),
            (180, "Initiator", "Ringing initiator"),
            (200, "Initiator", "Connected to initiator"),
            (200, "Destination", "Connected to destination"),
        ])
    );
    show(&proxy, "refer over TCP");
    let lines = proxy.proxy_lines();
    assert!(
        lines[0].starts_with("INVITE cseq 1 ") && lines[0].contains(": 407"),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with("INVITE cseq 2 ")
            && lines[1].contains("authorised as c2c")
            && lines[1].ends_with("[tcp]"),
        "{lines:#?}"
    );
    for method in ["ACK", "REFER", "BYE"] {
        let prefix = format!("in-dialog {method} ");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&prefix) && l.contains("routed by its Route header [tcp]")),
            "{method} did not follow the Record-Route over TCP: {lines:#?}"
        );
    }
    // The phone's NOTIFYs reached the server through the proxy too.
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("in-dialog NOTIFY "))
            .count(),
        2,
        "{lines:#?}"
    );
}
