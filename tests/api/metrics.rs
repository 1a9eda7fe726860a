//! `/metrics` (Prometheus text) and `/healthz` through the real binary: counters that move
//! as calls run, and the health check without authentication.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use clicktocall::c2c::command::{Command, Query};
use serde_json::json;

use crate::support::{
    WAIT,
    api_client::ApiClient,
    api_double::Harness,
    dns::{A, AAAA, Behaviour, TestDnsServer, a},
    http::HttpConn,
    lab::{Lab, phone},
    peer::UdpPeer,
    ports::unbound_port,
    server::{Server, ServerConfig},
    sip::response,
    tmp::TempDir,
};

#[test]
fn metrics_count_calls_by_mode_and_result_and_show_live_calls_and_legs() {
    let lab = Lab::start("metrics-calls", ServerConfig::calls());
    let api = ApiClient::new(lab.server.http_addr());
    let before = api.metrics();
    assert_eq!(before["clicktocall_calls_live"], 0.0);
    assert_eq!(
        before["clicktocall_calls_started_total{mode=\"refer\"}"],
        0.0
    );
    let r = api.get("/metrics");
    assert_eq!(
        r.http.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );

    // A ringing call: live, one leg.
    let mut ringing = lab.uas("initiator_no_answer.xml", &[]);
    let id = api.place_ok(&json!({
        "initiator": ringing.phone("100"),
        "destination": phone(unbound_port(), "200"),
    }));
    let mut stream = api.events(&id);
    assert_eq!(stream.next_event().expect("ringing").data["code"], 180);
    let live = api.metrics();
    assert_eq!(live["clicktocall_calls_live"], 1.0);
    assert_eq!(live["clicktocall_legs_live"], 1.0);
    assert_eq!(live["clicktocall_calls_started_total{mode=\"refer\"}"], 1.0);
    assert!(live["clicktocall_api_connections_open{listener=\"HTTP\"}"] >= 2.0);
    assert_eq!(api.hang_up(&id).status, 202);
    stream.until_end();
    ringing.expect_pass();

    // A busy initiator: a failure of class 4xx.
    let mut busy = lab.uas("initiator_busy.xml", &[]);
    let got = lab.click_to_call(&busy.phone("100"), &phone(unbound_port(), "200"), true);
    assert!(got.last().is_some_and(|e| e.code == 486), "{got:?}");
    busy.expect_pass();

    let after = api.metrics();
    assert_eq!(after["clicktocall_calls_live"], 0.0);
    assert_eq!(after["clicktocall_legs_live"], 0.0);
    assert_eq!(
        after["clicktocall_calls_started_total{mode=\"anchored\"}"],
        1.0
    );
    assert_eq!(
        after["clicktocall_calls_failed_total{mode=\"refer\",class=\"4xx\"}"], 1.0,
        "the hung-up call's 487"
    );
    assert_eq!(
        after["clicktocall_calls_failed_total{mode=\"anchored\",class=\"4xx\"}"],
        1.0
    );
    assert_eq!(after["clicktocall_call_final_seconds_count"], 2.0);
    assert_eq!(
        after["clicktocall_call_final_seconds_bucket{le=\"+Inf\"}"],
        2.0
    );
    assert!(after["clicktocall_api_connections_total{listener=\"XML\"}"] >= 1.0);
}

#[test]
fn refused_calls_are_counted_by_limit() {
    let dir = TempDir::new("metrics-refused");
    let server = Server::start(
        dir.path(),
        &ServerConfig::api().set("MaxCallsPerSecondPerClient", "1"),
    );
    let api = ApiClient::new(server.http_addr());
    let call = json!({
        "initiator": phone(unbound_port(), "100"),
        "destination": phone(unbound_port(), "200"),
    });
    assert_eq!(api.place(&call).status, 201);
    let refused = api.place(&call);
    assert_eq!(refused.status, 429, "{:?}", refused.http);
    assert_eq!(
        api.metrics()["clicktocall_calls_refused_total{limit=\"MaxCallsPerSecondPerClient\"}"],
        1.0
    );
}

#[test]
fn healthz_answers_without_auth_and_metrics_asks_for_it_only_with_metrics_auth() {
    let dir = TempDir::new("metrics-auth");
    let server = Server::start(dir.path(), &ServerConfig::api().with_auth());
    let open = ApiClient::new(server.http_addr());
    let health = open.get("/healthz");
    assert_eq!(health.status, 200, "{:?}", health.http);
    assert_eq!(health.http.body, "ok\n");
    assert_eq!(
        open.get("/metrics").status,
        200,
        "MetricsAuth is off by default"
    );

    let dir = TempDir::new("metrics-auth-on");
    let server = Server::start(
        dir.path(),
        &ServerConfig::api().with_auth().set("MetricsAuth", "1"),
    );
    let open = ApiClient::new(server.http_addr());
    assert_eq!(open.get("/healthz").status, 200);
    assert_eq!(open.get("/metrics").status, 401);
    assert!(
        open.with_auth()
            .metrics()
            .contains_key("clicktocall_calls_live")
    );
}

/// One `clicktocall_sip_messages_total` (requests) or `clicktocall_sip_responses_total`
/// (`what` a class such as `2xx`) sample over UDP.
fn udp(direction: &str, what: &str) -> String {
    if what.ends_with("xx") {
        format!(
            "clicktocall_sip_responses_total{{direction=\"{direction}\",class=\"{what}\",transport=\"udp\"}}"
        )
    } else {
        format!(
            "clicktocall_sip_messages_total{{direction=\"{direction}\",method=\"{what}\",transport=\"udp\"}}"
        )
    }
}

/// `/metrics` until `key` shows `want` (the last message of a call may still be on its
/// way to the reactor when the phone has ended), bounded by `WAIT`.
fn metrics_when(api: &ApiClient, key: &str, want: f64) -> BTreeMap<String, f64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let m = api.metrics();
        if m.get(key) == Some(&want) || Instant::now() >= deadline {
            return m;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn metrics_count_every_sip_message_of_a_refer_call_as_the_phone_saw_it() {
    let lab = Lab::start("metrics-sip", ServerConfig::calls());
    let api = ApiClient::new(lab.server.http_addr());
    let before = api.metrics();
    let sip_lines: Vec<_> = before
        .iter()
        .filter(|(k, _)| k.starts_with("clicktocall_sip_"))
        .collect();
    assert!(sip_lines.len() > 100, "{sip_lines:?}");
    assert!(
        sip_lines.iter().all(|(_, v)| **v == 0.0),
        "no SIP before the first call: {sip_lines:?}"
    );
    for t in ["udp", "tcp", "tls"] {
        let key = format!(
            "clicktocall_sip_messages_total{{direction=\"out\",method=\"INVITE\",transport=\"{t}\"}}"
        );
        assert!(before.contains_key(&key), "{key}");
    }

    let dest = unbound_port();
    let mut initiator = lab.uas("initiator_refer_ok.xml", &[("DEST_PORT", dest.to_string())]);
    let got = lab.click_to_call(&initiator.phone("100"), &phone(dest, "200"), false);
    assert_eq!(
        got.last().map(|e| (e.code, e.leg.as_str())),
        Some((200, "Destination")),
        "{got:?}"
    );
    initiator.expect_pass();
    // INVITE → 100, 180, 200 → ACK → REFER → 202 → NOTIFY ×2 (each answered 200) → BYE
    // → 200: once each, and every retransmission on either side counted as the phone's
    // trace counts it — what we sent it received, what it sent we received.
    let phone_sent_2xx = initiator.counted(true, "SIP/2.0 2");
    let m = metrics_when(&api, &udp("in", "2xx"), phone_sent_2xx as f64);
    let mut want = Vec::new();
    for method in [
        "INVITE", "ACK", "REFER", "BYE", "NOTIFY", "CANCEL", "OPTIONS",
    ] {
        let start = format!("{method} ");
        want.push((udp("out", method), initiator.counted(false, &start)));
        want.push((udp("in", method), initiator.counted(true, &start)));
    }
    for class in 1..=6 {
        let start = format!("SIP/2.0 {class}");
        want.push((
            udp("out", &format!("{class}xx")),
            initiator.counted(false, &start),
        ));
        want.push((
            udp("in", &format!("{class}xx")),
            initiator.counted(true, &start),
        ));
    }
    let shown: Vec<(String, usize)> = want
        .iter()
        .map(|(k, _)| (k.clone(), m[k] as usize))
        .collect();
    assert_eq!(shown, want, "/metrics against the phone's trace");
    eprintln!("SIP messages over UDP in the REFER call: {shown:?}");
    // The flow, at least once each (more only for a retransmission).
    let at_least = [
        (udp("out", "INVITE"), 1),
        (udp("out", "ACK"), 1),
        (udp("out", "REFER"), 1),
        (udp("out", "BYE"), 1),
        (udp("in", "NOTIFY"), 2),
        (udp("in", "1xx"), 2),
        (udp("in", "2xx"), 3),
        (udp("out", "2xx"), 2),
        (udp("in", "INVITE"), 0),
        (udp("out", "NOTIFY"), 0),
    ];
    for (key, n) in at_least {
        assert!(m[&key] >= n as f64, "{key} = {}", m[&key]);
    }
    assert_eq!(m[&udp("in", "INVITE")], 0.0);
    assert_eq!(m[&udp("out", "NOTIFY")], 0.0);
    let tcp: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("clicktocall_sip_") && k.contains("transport=\"tcp\""))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(tcp, 0.0, "nothing over TCP");
    // The NOTIFYs' server transactions stay finished for Timer J (64·T1); none is live.
    assert!(m["clicktocall_sip_transactions{side=\"server\",state=\"finished\"}"] >= 2.0);
    assert_eq!(
        m["clicktocall_sip_transactions{side=\"server\",state=\"live\"}"],
        0.0
    );
}

#[test]
fn metrics_show_live_client_transactions_while_a_phone_rings() {
    let lab = Lab::start("metrics-tx", ServerConfig::calls());
    let api = ApiClient::new(lab.server.http_addr());
    let live = "clicktocall_sip_transactions{side=\"client\",state=\"live\"}";
    assert_eq!(api.metrics()[live], 0.0);
    let mut ringing = lab.uas("initiator_no_answer.xml", &[]);
    let id = api.place_ok(&json!({
        "initiator": ringing.phone("100"),
        "destination": phone(unbound_port(), "200"),
    }));
    let mut stream = api.events(&id);
    assert_eq!(stream.next_event().expect("ringing").data["code"], 180);
    assert_eq!(api.metrics()[live], 1.0, "the ringing INVITE");
    assert_eq!(api.hang_up(&id).status, 202);
    stream.until_end();
    ringing.expect_pass();
    // The INVITE's 487 leaves it finished for Timer D (32 s over UDP), and the CANCEL
    // for Timer K.
    let m = metrics_when(&api, live, 0.0);
    assert_eq!(m[live], 0.0);
    assert!(m["clicktocall_sip_transactions{side=\"client\",state=\"finished\"}"] >= 1.0);
}

/// A next hop named by a host name is a DNS lookup; one that resolves to no address is a
/// failure too. Addresses are no lookups.
#[test]
fn metrics_count_dns_lookups_and_failures() {
    let mut phone_peer = UdpPeer::bind(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let dns = TestDnsServer::start(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        vec![
            (
                ("good.example.test", A),
                Behaviour::Answer(vec![a("127.0.0.1")]),
            ),
            (("missing.example.test", A), Behaviour::NxDomain),
            (("missing.example.test", AAAA), Behaviour::NxDomain),
        ],
    );
    let dir = TempDir::new("metrics-dns");
    let server = Server::start(
        dir.path(),
        &ServerConfig::api().set("DNSServers", &dns.addr.to_string()),
    );
    let api = ApiClient::new(server.http_addr());
    let before = api.metrics();
    assert_eq!(before["clicktocall_dns_lookups_total"], 0.0);
    assert_eq!(before["clicktocall_dns_failures_total"], 0.0);

    let call = |initiator: String| json!({"initiator": initiator, "destination": phone(unbound_port(), "200")});
    let busy = api.place_ok(&call(format!(
        "sip:alice@good.example.test:{}",
        phone_peer.addr.port()
    )));
    let (invite, from, _) = phone_peer.recv_request("INVITE", WAIT).expect("INVITE");
    phone_peer.send(&response(&invite, 486, "Busy Here", "b1", "", ""), from);
    let ended = api.events(&busy).until_end();
    assert!(ended.iter().any(|e| e.data["code"] == 486), "{ended:?}");
    let m = api.metrics();
    assert_eq!(m["clicktocall_dns_lookups_total"], 1.0);
    assert_eq!(m["clicktocall_dns_failures_total"], 0.0);

    let failed = api.place_ok(&call("sip:alice@missing.example.test:5060".into()));
    let ended = api.events(&failed).until_end();
    assert!(ended.iter().any(|e| e.data["code"] == 503), "{ended:?}");
    let m = api.metrics();
    assert_eq!(m["clicktocall_dns_lookups_total"], 2.0);
    assert_eq!(m["clicktocall_dns_failures_total"], 1.0);
}

/// `/healthz` against a calls-thread double (the front doors in-process): 200 while the
/// ping is answered; 503 when it is not answered within the bounded wait (the calls
/// thread, or the reactor it passes the ping to, is stuck), and at once when the ping's
/// reply is dropped unanswered (the reactor is gone).
#[test]
fn healthz_is_503_when_the_calls_thread_or_the_reactor_does_not_answer() {
    let h = Harness::start(|_| {});
    let health = |h: &Harness| {
        let asked = Instant::now();
        let r = HttpConn::open(h.http).get("/healthz", "");
        (r, asked.elapsed())
    };
    let next_ping = |h: &Harness| match h.commands.recv_timeout(WAIT) {
        Ok(Command::Query(Query::Ping { reply })) => reply,
        other => panic!("expected a ping, got {other:?}"),
    };

    // Answered: 200.
    let pinged = {
        let commands = h.commands.clone();
        std::thread::spawn(move || match commands.recv_timeout(WAIT) {
            Ok(Command::Query(Query::Ping { reply })) => reply.send(()).is_ok(),
            _ => false,
        })
    };
    let (r, _) = health(&h);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(pinged.join().expect("double"), "the double answered");

    // Taken and never answered (the reply is held): 503 after the bounded wait.
    let holder = {
        let commands = h.commands.clone();
        std::thread::spawn(move || {
            let reply = match commands.recv_timeout(WAIT) {
                Ok(Command::Query(Query::Ping { reply })) => reply,
                other => panic!("expected a ping, got {other:?}"),
            };
            std::thread::sleep(Duration::from_secs(4));
            drop(reply);
        })
    };
    let (r, took) = health(&h);
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(r.body, "calls thread or SIP reactor not answering\n");
    assert!(
        took >= Duration::from_secs(2) && took < WAIT,
        "503 after the 2 s wait, not {took:?}"
    );
    holder.join().expect("double");

    // Nobody takes the command (the calls thread is stuck): 503 after the wait too.
    let (r, took) = health(&h);
    assert_eq!(r.status, 503, "{r:?}");
    assert!(took >= Duration::from_secs(2) && took < WAIT, "{took:?}");
    drop(next_ping(&h));

    // The ping's reply dropped unanswered (the reactor is gone): 503 at once.
    let dropper = {
        let commands = h.commands.clone();
        std::thread::spawn(move || {
            if let Ok(Command::Query(Query::Ping { reply })) = commands.recv_timeout(WAIT) {
                drop(reply);
            }
        })
    };
    let (r, took) = health(&h);
    assert_eq!(r.status, 503, "{r:?}");
    assert!(
        took < Duration::from_secs(2),
        "no wait for a dropped reply: {took:?}"
    );
    dropper.join().expect("double");
}
