//! HTTP pages and routing against the front door with a calls-thread test double.

use crate::support::{
    api_double::Harness, api_double::placed_eventually, api_double::refer_ok, http::HttpConn,
    http::http_get,
};

/// The web page at `/` and `/index.html`.
const INDEX_BODY: &str = include_str!("../../src/api/http/index.html");

fn c2c_body(lines: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n<meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\" />\n<title>ClickToCall Server</title>\n</head>\n<body bgcolor=\"#ffffff\">\n{lines}</body>\n</html>\n"
    )
}

#[test]
fn index_and_root_serve_the_web_page() {
    let h = Harness::start(|_| {});
    for target in ["/index.html", "/"] {
        let r = http_get(h.http, target, "");
        assert_eq!(r.status, 200, "{target}");
        assert_eq!(r.body, INDEX_BODY);
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("Cache-Control"), Some("no-store"));
        assert_eq!(
            r.header("Content-Length"),
            Some(INDEX_BODY.len().to_string().as_str())
        );
        assert!(
            r.header("Server")
                .is_some_and(|s| s.starts_with("clicktocall/"))
        );
        assert!(r.header("Date").is_some_and(|d| d.ends_with(" GMT")));
        assert!(r.head.starts_with("HTTP/1.1 200 OK\r\n"));
    }
}

#[test]
fn unknown_pages_are_404() {
    let h = Harness::start(|_| {});
    let r = http_get(h.http, "/foo.html", "");
    assert_eq!(r.status, 404);
    assert!(r.header("Location").is_none());
    assert!(r.body.contains("404 Not Found"));
}

#[test]
fn other_methods_are_405_with_allow() {
    let h = Harness::start(|_| {});
    let mut c = HttpConn::open(h.http);
    c.send("POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    let r = c.read_response(false);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("GET, HEAD"));
    // The body was consumed: the connection is still in step.
    c.send("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response(false).status, 200);
}

#[test]
fn head_has_the_fields_of_get_without_a_body_and_places_no_call() {
    let h = Harness::start(|_| {});
    let placed = h.auto_answer(|_| refer_ok());
    let mut c = HttpConn::open(h.http);
    c.send("HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.read_response(true);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Length"),
        Some(INDEX_BODY.len().to_string().as_str())
    );
    c.send(
        "HEAD /clicktocall.html?initiator=5061100&destination=5062200 HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(c.read_response(true).status, 200);
    c.send("HEAD /clicktocall.html?initiator=abc&destination=def HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response(true).status, 400);
    // Still in step after the body-less responses.
    c.send("GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(c.read_response(false).body, INDEX_BODY);
    assert!(placed.lock().expect("log").is_empty());
}

#[test]
fn click_to_call_places_the_call_and_says_so() {
    let h = Harness::start(|_| {});
    let placed = h.auto_answer(|_| refer_ok());
    let r = http_get(
        h.http,
        "/clicktocall.html?initiator=5061100&destination=5062200",
        "",
    );
    assert_eq!(r.status, 200);
    // http-refer-ok/trigger.out: the same page, 550 bytes.
    assert_eq!(
        r.body,
        c2c_body(
            "<p><em>ClickToCall:</em> initiator=5061100, destination=5062200</p>\n<p>Initiating ClickToCall from sip:100@127.0.0.1:5061(5061100) to sip:200@127.0.0.1:5062(5062200) (unanchored)...</p>\n"
        )
    );
    assert_eq!(r.body.len(), 550);
    let r = http_get(
        h.http,
        "/clicktocall.html?initiator=5061100&destination=5062200&anchor=true",
        "",
    );
    assert_eq!(r.body.len(), 559);
    assert!(r.body.contains("(anchored)...</p>"));
    let placed = placed_eventually(&placed, 2);
    assert_eq!(placed[0].initiator, "sip:100@127.0.0.1:5061");
    assert_eq!(placed[0].destination, "sip:200@127.0.0.1:5062");
    assert!(!placed[0].anchor);
    assert!(placed[1].anchor);
}

#[test]
fn url_encoded_uri_and_case_insensitive_anchor() {
    let h = Harness::start(|_| {});
    let placed = h.auto_answer(|_| refer_ok());
    let r = http_get(
        h.http,
        "/clicktocall.html?initiator=sip%3A100%40127.0.0.1%3A5069&destination=5062200&anchor=TRUE",
        "",
    );
    assert_eq!(r.status, 200);
    // probe-http.txt "urlencoded-sip-uri-unreachable": same page, 589 bytes.
    assert_eq!(
        r.body,
        c2c_body(
            "<p><em>ClickToCall:</em> initiator=sip:100@127.0.0.1:5069, destination=5062200 (anchored)</p>\n<p>Initiating ClickToCall from sip:100@127.0.0.1:5069(sip:100@127.0.0.1:5069) to sip:200@127.0.0.1:5062(5062200) (anchored)...</p>\n"
        )
    );
    assert_eq!(r.body.len(), 589);
    assert!(placed_eventually(&placed, 1)[0].anchor);
}

#[test]
fn failures_are_400_with_the_originals_explanations() {
    let h = Harness::start(|_| {});
    let placed = h.auto_answer(|_| refer_ok());
    let cases = [
        (
            "/clicktocall.html",
            "<p><em>ClickToCall:</em> initiator=, destination=</p>\n<p>Missing initiator or destination URL parameters.</p>\n",
        ),
        (
            "/clicktocall.html?initiator=5061100",
            "<p><em>ClickToCall:</em> initiator=5061100, destination=</p>\n<p>Missing initiator or destination URL parameters.</p>\n",
        ),
        (
            "/clicktocall.html?initiator=abc&destination=def",
            "<p><em>ClickToCall:</em> initiator=abc, destination=def</p>\n<p>No translation rule for either initiator abc or destination def.</p>\n",
        ),
        (
            "/clicktocall.html?initiator=sip%3A%3C%3E&destination=sip%3A%3C%3E",
            "<p><em>ClickToCall:</em> initiator=sip:&lt;&gt;, destination=sip:&lt;&gt;</p>\n<p>Invalid URI format for initiator sip:&lt;&gt; and destination sip:&lt;&gt;.</p>\n",
        ),
        (
            "/clicktocall.html?initiator=sip%3A%40&destination=5062200",
            "<p><em>ClickToCall:</em> initiator=sip:@, destination=5062200</p>\n<p>Invalid URI format for initiator sip:.</p>\n",
        ),
    ];
    for (target, lines) in cases {
        let r = http_get(h.http, target, "");
        assert_eq!(r.status, 400, "{target}");
        if !target.contains("%40") {
            assert_eq!(r.body, c2c_body(lines), "{target}");
        }
    }
    assert!(placed.lock().expect("log").is_empty());
}

#[test]
fn an_xss_probe_comes_back_escaped() {
    let h = Harness::start(|_| {});
    let r = http_get(
        h.http,
        "/clicktocall.html?initiator=%3Cscript%3Ealert(1)%3C%2Fscript%3E&destination=%22%3E%3Cimg%20src%3Dx%3E",
        "",
    );
    assert_eq!(r.status, 400);
    assert!(!r.body.contains("<script>"));
    assert!(!r.body.contains("<img"));
    assert!(r.body.contains(
        "initiator=&lt;script&gt;alert(1)&lt;/script&gt;, destination=&quot;&gt;&lt;img src=x&gt;"
    ));
    let r = http_get(h.http, "/%3Cscript%3E<b>x", "");
    assert!(!r.body.contains("<b>"));
}

#[test]
fn serves_on_ipv6_loopback() {
    let h = Harness::start(|c| c.bind = Some("::1".parse().expect("ip")));
    assert!(h.http.is_ipv6());
    assert_eq!(http_get(h.http, "/index.html", "").body, INDEX_BODY);
}
