//! `/metrics` (Prometheus text) and `/healthz` through the real binary: counters that move
//! as calls run, and the health check without authentication.

use serde_json::json;

use crate::support::{
    api_client::ApiClient,
    lab::{Lab, phone},
    ports::unbound_port,
    server::{Server, ServerConfig},
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
