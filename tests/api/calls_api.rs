//! The JSON API (`/api/v1/calls`) through the real binary and SIPp phones: place, list,
//! show, watch (Server-Sent Events, live and late) and hang up calls, ringing (the phone
//! sees a CANCEL) and connected (both phones see a BYE).

use serde_json::{Value, json};

use crate::support::{
    WAIT,
    api_client::{ApiClient, SseEvent},
    http::http_get,
    lab::{Lab, phone},
    ports::unbound_port,
    server::{Server, ServerConfig},
    tmp::TempDir,
    xml::XmlClient,
};

fn progress(events: &[SseEvent]) -> Vec<(u64, String, String)> {
    events
        .iter()
        .filter(|e| e.name == "progress")
        .map(|e| {
            (
                e.data["code"].as_u64().unwrap_or(0),
                e.data["leg"].as_str().unwrap_or("").to_owned(),
                e.data["text"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn p(code: u64, leg: &str, text: &str) -> (u64, String, String) {
    (code, leg.to_owned(), text.to_owned())
}

#[test]
fn an_anchored_call_is_watched_live_listed_and_hung_up_with_a_bye_to_each_phone() {
    let lab = Lab::start("api-anchor-hangup", ServerConfig::calls());
    let api = ApiClient::new(lab.server.http_addr());
    // Both phones answer and then wait for our BYE.
    let mut initiator = lab.uas("initiator_anchor.xml", &[]);
    let mut destination = lab.uas(
        "destination_anchor_wait.xml",
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let placed = api.place(&json!({
        "initiator": initiator.phone("100"),
        "destination": destination.phone("200"),
        "anchor": true,
    }));
    assert_eq!(placed.status, 201, "{:?}", placed.http);
    let id = placed.json["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 32, "{id}");
    assert_eq!(
        placed.json["initiator"],
        Value::from(format!("sip:100@127.0.0.1:{}", initiator.port))
    );
    assert_eq!(
        placed.json["events_url"],
        Value::from(format!("/api/v1/calls/{id}/events"))
    );
    assert_eq!(
        placed.http.header("Location"),
        Some(format!("/api/v1/calls/{id}").as_str())
    );
    assert_eq!(placed.http.header("Content-Type"), Some("application/json"));

    let mut stream = api.events(&id);
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|e: &SseEvent| e.data["code"] == 200 && e.data["leg"] == "Destination")
    {
        seen.push(stream.next_event().expect("progress before the end"));
    }
    assert_eq!(
        progress(&seen),
        [
            p(180, "Initiator", "Ringing initiator"),
            p(200, "Initiator", "Connected to initiator"),
            p(180, "Destination", "Ringing destination"),
            p(200, "Destination", "Connected to destination"),
        ]
    );
    let listed = api.get("/api/v1/calls");
    assert_eq!(listed.status, 200);
    let calls = listed.json["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["id"], Value::from(id.as_str()));
    let one = api.call(&id);
    assert_eq!(one.json["state"], "connected");
    assert_eq!(one.json["legs"][1]["code"], 200);
    assert_eq!(one.json["progress"].as_array().map(Vec::len), Some(4));

    let hung = api.hang_up(&id);
    assert_eq!(hung.status, 202, "{:?}", hung.http);
    let rest = stream.until_end();
    let end = &rest.last().expect("end").data;
    assert_eq!(end["state"], "ended");
    assert_eq!(end["hung_up_by_api"], true);
    // The final result was the destination's 200: hanging up adds none.
    assert_eq!(end["result"]["code"], 200);
    initiator.wait_received("BYE", 1);
    destination.wait_received("BYE", 1);
    initiator.expect_pass();
    destination.expect_pass();

    assert_eq!(api.call(&id).json["state"], "ended", "kept after its end");
    assert_eq!(api.hang_up(&id).status, 409);
    assert_eq!(
        api.get("/api/v1/calls").json["calls"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

#[test]
fn hanging_up_a_ringing_call_cancels_it_and_its_result_says_hung_up_by_api() {
    let lab = Lab::start("api-ringing-hangup", ServerConfig::calls());
    let api = ApiClient::new(lab.server.http_addr());
    // Rings, and passes only once our CANCEL (same Via branch as the INVITE) came.
    let mut initiator = lab.uas("initiator_no_answer.xml", &[]);
    let id = api.place_ok(&json!({
        "initiator": initiator.phone("100"),
        "destination": phone(unbound_port(), "200"),
        "mode": "refer",
        "ring_timeout": 600,
    }));
    let mut stream = api.events(&id);
    let ringing = stream.next_event().expect("ringing");
    assert_eq!(ringing.data["code"], 180, "{ringing:?}");
    assert_eq!(api.hang_up(&id).status, 202);
    let rest = stream.until_end();
    assert_eq!(
        progress(&rest),
        [p(487, "Initiator", "Hung up by API")],
        "{rest:?}"
    );
    initiator.wait_received("CANCEL", 1);
    initiator.expect_pass();
    let call = api.call(&id);
    assert_eq!(call.json["result"]["text"], "Hung up by API");
    assert_eq!(call.json["hung_up_by_api"], true);
}

#[test]
fn a_late_subscriber_gets_the_progress_so_far_and_then_the_end() {
    let lab = Lab::start("api-late-sse", ServerConfig::calls());
    let api = ApiClient::new(lab.server.http_addr());
    let dest = unbound_port();
    let mut initiator = lab.uas("initiator_refer_ok.xml", &[("DEST_PORT", dest.to_string())]);
    let id = api.place_ok(&json!({
        "initiator": initiator.phone("100"),
        "destination": phone(dest, "200"),
    }));
    // The scenario ends after our BYE, once the transfer has succeeded.
    initiator.expect_pass();
    let mut ended = false;
    for _ in 0..100 {
        if api.call(&id).json["state"] == "ended" {
            ended = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ended, "{:?}", api.call(&id).json);
    let all = api.events(&id).until_end();
    assert_eq!(
        progress(&all),
        [
            p(180, "Initiator", "Ringing initiator"),
            p(200, "Initiator", "Connected to initiator"),
            p(200, "Destination", "Connected to destination"),
        ]
    );
    assert_eq!(
        all.last().map(|e| e.data["anchor"].clone()),
        Some(Value::from(false))
    );
}

#[test]
fn bad_requests_are_refused_with_a_json_error() {
    let dir = TempDir::new("api-bad-requests");
    let server = Server::start(dir.path(), &ServerConfig::api());
    let api = ApiClient::new(server.http_addr());
    for (body, why) in [
        ("{", "Invalid request"),
        (r#"{"initiator": "sip:a@h"}"#, "missing field `destination`"),
        (
            r#"{"initiator": "sip:a@h", "destination": "sip:b@h", "identity": "x"}"#,
            "unknown field `identity`",
        ),
        (
            r#"{"initiator": "sip:a@h", "destination": "sip:b@h", "anchor": true, "mode": "refer"}"#,
            "anchor and mode disagree",
        ),
        (
            r#"{"initiator": "sip:a@h", "destination": "sip:b@h", "anchor": true, "mode": "refer-ood"}"#,
            "anchor and mode disagree",
        ),
        (
            r#"{"initiator": "sip:a@h", "destination": "sip:b@h", "mode": "ood"}"#,
            "unknown variant `ood`",
        ),
        (
            r#"{"initiator": "sip:a@h", "destination": "sip:b@h", "ring_timeout": 0}"#,
            "ring_timeout",
        ),
        (
            r#"{"initiator": "nothing", "destination": "sip:b@h"}"#,
            "No translation rule for either initiator nothing or destination sip:b@h",
        ),
    ] {
        let r = api.request("POST", "/api/v1/calls", body);
        assert_eq!(r.status, 400, "{body}: {:?}", r.http);
        let error = r.json["error"].as_str().unwrap_or_default();
        assert!(error.contains(why), "{body}: {error}");
    }
    assert_eq!(api.call("0123").status, 404);
    assert_eq!(api.hang_up("0123").status, 404);
    assert_eq!(api.get("/api/v1/calls/0123/events").status, 404);
    let r = api.request("PUT", "/api/v1/calls", "");
    assert_eq!(r.status, 405);
    assert_eq!(r.http.header("Allow"), Some("GET, HEAD, POST"));
    assert_eq!(api.get("/api/v1/calls/a/b/c").status, 404);
}

#[test]
fn the_api_takes_the_pages_authentication_and_ids_carry_the_instance_name() {
    let dir = TempDir::new("api-auth");
    let server = Server::start(
        dir.path(),
        &ServerConfig::api()
            .with_auth()
            .set("InstanceName", "east-1"),
    );
    let open = ApiClient::new(server.http_addr());
    let r = open.get("/api/v1/calls");
    assert_eq!(r.status, 401);
    assert!(r.http.header("WWW-Authenticate").is_some());
    assert_eq!(
        open.request("POST", "/api/v1/calls", "{}").status,
        401,
        "no call without the password"
    );
    let api = open.with_auth();
    assert_eq!(api.get("/api/v1/calls").status, 200);
    let id = api.place_ok(&json!({
        "initiator": phone(unbound_port(), "100"),
        "destination": phone(unbound_port(), "200"),
    }));
    assert!(id.starts_with("east-1-"), "{id}");
    assert_eq!(id.len(), 7 + 32);
}

#[test]
fn the_legacy_page_and_the_xml_interface_give_the_id_the_api_knows() {
    let dir = TempDir::new("api-ids-legacy");
    let server = Server::start(dir.path(), &ServerConfig::api());
    let api = ApiClient::new(server.http_addr());
    let (i, d) = (phone(unbound_port(), "100"), phone(unbound_port(), "200"));

    // The page: the id in X-Call-Id always, in the body only when asked.
    let plain = http_get(
        server.http_addr(),
        &format!("/clicktocall.html?initiator={i}&destination={d}"),
        "",
    );
    let id = plain.header("X-Call-Id").expect("X-Call-Id").to_owned();
    assert!(!plain.body.contains("Call id"), "{}", plain.body);
    assert_eq!(api.call(&id).status, 200);
    let asked = http_get(
        server.http_addr(),
        &format!("/clicktocall.html?initiator={i}&destination={d}&callid=true"),
        "",
    );
    let id = asked.header("X-Call-Id").expect("X-Call-Id").to_owned();
    assert!(
        asked.body.contains(&format!(
            "<p>Call id: <span id=\"call-id\">{id}</span></p>\n"
        )),
        "{}",
        asked.body
    );

    // XML: <CallId> in the 100 document only with <ReturnCallId>.
    let mut xml = XmlClient::connect(server.xml_port);
    xml.send_raw(&format!(
        "<ClickToCall><Request><Initiator>{i}</Initiator><Destination>{d}</Destination>\
         <ReturnCallId>true</ReturnCallId></Request></ClickToCall>"
    ));
    xml.expect(100, None, WAIT);
    let doc = xml.documents.last().expect("document").clone();
    let id = doc
        .split_once("<CallId>")
        .and_then(|(_, rest)| rest.split_once("</CallId>"))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_else(|| panic!("no CallId in {doc}"));
    assert_eq!(api.call(&id).status, 200, "{doc}");
    let mut legacy = XmlClient::connect(server.xml_port);
    legacy.send_request(&i, &d, false);
    legacy.expect(100, None, WAIT);
    assert!(
        !legacy.documents[0].contains("CallId"),
        "{}",
        legacy.documents[0]
    );
}

#[test]
fn the_xml_interface_shows_and_hangs_up_a_call_by_its_id() {
    let lab = Lab::start("api-xml-control", ServerConfig::calls());
    let api = ApiClient::new(lab.server.http_addr());
    let mut initiator = lab.uas("initiator_no_answer.xml", &[]);
    let id = api.place_ok(&json!({
        "initiator": initiator.phone("100"),
        "destination": phone(unbound_port(), "200"),
    }));
    let mut stream = api.events(&id);
    assert_eq!(stream.next_event().expect("ringing").data["code"], 180);
    let mut xml = XmlClient::connect(lab.server.xml_port);
    xml.send_raw(&format!("<Status><CallId>{id}</CallId></Status>"));
    let status = xml.expect(200, None, WAIT);
    let doc = xml.documents.last().expect("doc").clone();
    assert!(
        doc.contains(&format!(
            "<Call Id=\"{id}\" State=\"progressing\" Anchor=\"false\" Mode=\"refer\" Code=\"180\" Leg=\"Initiator\">Ringing initiator</Call>"
        )),
        "{doc}"
    );
    assert_eq!(status.text, "OK");
    xml.send_raw("<Status/>");
    xml.expect(200, None, WAIT);
    assert!(xml.documents.last().expect("doc").contains(&id));
    xml.send_raw(&format!("<Hangup><CallId>{id}</CallId></Hangup>"));
    xml.expect(202, None, WAIT);
    initiator.wait_received("CANCEL", 1);
    stream.until_end();
    xml.send_raw(&format!("<Hangup><CallId>{id}</CallId></Hangup>"));
    xml.expect(409, None, WAIT);
    xml.send_raw("<Hangup><CallId>nope</CallId></Hangup>");
    xml.expect(404, None, WAIT);
    initiator.expect_pass();
}

/// A per-call ring time-out of 1 s, from each front door: the ringing phone is cancelled
/// (it passes only once the CANCEL came) and the call fails 408, long before the
/// configured `RingTimeout` of 600 s.
#[test]
fn each_front_door_takes_a_per_call_ring_time_out() {
    let lab = Lab::start("api-ring-timeout", ServerConfig::calls().ring_timeout(600));
    let api = ApiClient::new(lab.server.http_addr());
    let started = std::time::Instant::now();
    let dest = || phone(unbound_port(), "200");

    let mut by_api = lab.uas("initiator_no_answer.xml", &[]);
    let id = api.place_ok(&json!({
        "initiator": by_api.phone("100"), "destination": dest(), "ring_timeout": 1,
    }));
    let mut by_page = lab.uas("initiator_no_answer.xml", &[]);
    let page = http_get(
        lab.server.http_addr(),
        &format!(
            "/clicktocall.html?initiator={}&destination={}&ringtimeout=1",
            by_page.phone("100"),
            dest()
        ),
        "",
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let page_id = page.header("X-Call-Id").expect("id").to_owned();
    let mut by_xml = lab.uas("initiator_no_answer.xml", &[]);
    let mut xml = XmlClient::connect(lab.server.xml_port);
    xml.send_raw(&format!(
        "<ClickToCall><Request><Initiator>{}</Initiator><Destination>{}</Destination>\
         <RingTimeout>1</RingTimeout></Request></ClickToCall>",
        by_xml.phone("100"),
        dest()
    ));
    let got = xml.events_until(WAIT, |e| e.code >= 300);
    assert_eq!(got.last().map(|e| e.code), Some(408), "{got:?}");

    for id in [id, page_id] {
        let all = api.events(&id).until_end();
        assert!(all.iter().any(|e| e.data["code"] == 408), "{id}: {all:?}");
    }
    for phone in [&mut by_api, &mut by_page, &mut by_xml] {
        phone.expect_pass();
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(60));

    // Out of range: refused before any call.
    let bad = http_get(
        lab.server.http_addr(),
        "/clicktocall.html?initiator=p1-1&destination=p2-2&ringtimeout=0",
        "",
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("Invalid ringtimeout"), "{}", bad.body);
}
