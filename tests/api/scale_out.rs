//! The scale-out recipe (docs/scale-out.md): two instances behind HAProxy with the shipped
//! `docs/scale-out/haproxy.cfg`. New calls land on both instances; a call's events and
//! hang-up reach the instance its id names (the phone sees the CANCEL); XML connections
//! are spread over both.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};

use serde_json::json;

use crate::support::{
    WAIT,
    api_client::ApiClient,
    haproxy::Haproxy,
    lab::{Lab, phone},
    ports::unbound_port,
    server::ServerConfig,
    xml::XmlClient,
};

fn instance(id: &str) -> &str {
    id.split('-').next().unwrap_or("")
}

#[test]
fn calls_through_haproxy_land_on_both_instances_and_are_hung_up_by_their_owner() {
    let east = Lab::start(
        "scale-east",
        ServerConfig::calls().set("InstanceName", "east"),
    );
    let west = Lab::start(
        "scale-west",
        ServerConfig::calls().set("InstanceName", "west"),
    );
    let proxy = Haproxy::start(
        east.dir(),
        &[
            ("EAST_HTTP_PORT", east.server.http_port),
            ("WEST_HTTP_PORT", west.server.http_port),
            ("EAST_XML_PORT", east.server.xml_port),
            ("WEST_XML_PORT", west.server.xml_port),
        ],
    );
    let api = ApiClient::new(SocketAddr::from((Ipv4Addr::LOCALHOST, proxy.http_port)));

    // Two phones that ring until cancelled; whichever instance calls them.
    let mut phones = [
        east.uas("initiator_no_answer.xml", &[]),
        west.uas("initiator_no_answer.xml", &[]),
    ];
    let ids: Vec<String> = phones
        .iter()
        .map(|p| {
            api.place_ok(&json!({
                "initiator": p.phone("100"),
                "destination": phone(unbound_port(), "200"),
                "ring_timeout": 600,
            }))
        })
        .collect();
    let owners: BTreeSet<&str> = ids.iter().map(|id| instance(id)).collect();
    assert_eq!(owners, BTreeSet::from(["east", "west"]), "{ids:?}");

    for (id, phone) in ids.iter().zip(phones.iter_mut()) {
        let mut events = api.events(id);
        assert_eq!(
            events.next_event().expect("ringing").data["code"],
            180,
            "{id}"
        );
        assert_eq!(api.call(id).json["state"], "progressing", "{id}");
        assert_eq!(api.hang_up(id).status, 202, "{id}");
        let rest = events.until_end();
        assert!(
            rest.iter()
                .any(|e| e.data["code"] == 487 && e.data["text"] == "Hung up by API"),
            "{id}: {rest:?}"
        );
        phone.wait_received("CANCEL", 1);
        phone.expect_pass();
        assert_eq!(api.call(id).json["state"], "ended", "{id}");
    }

    // XML: connections go round-robin; each places its call on its instance.
    let mut xml_owners = BTreeSet::new();
    for _ in 0..2 {
        let mut xml = XmlClient::connect(proxy.xml_port);
        xml.send_raw(&format!(
            "<ClickToCall><Request><Initiator>{}</Initiator><Destination>{}</Destination>\
             <ReturnCallId>true</ReturnCallId></Request></ClickToCall>",
            phone(unbound_port(), "100"),
            phone(unbound_port(), "200")
        ));
        xml.expect(100, None, WAIT);
        let doc = xml.documents.last().expect("document").clone();
        let id = doc
            .split_once("<CallId>")
            .and_then(|(_, rest)| rest.split_once('-'))
            .map(|(owner, _)| owner.to_owned())
            .unwrap_or_else(|| panic!("no CallId in {doc}"));
        xml_owners.insert(id);
    }
    assert_eq!(
        xml_owners,
        BTreeSet::from(["east".to_owned(), "west".to_owned()])
    );
}
