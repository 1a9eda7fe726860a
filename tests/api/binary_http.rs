//! The HTTP interface of the real binary on loopback ephemeral ports: pages, routing,
//! digest (SHA-256 with curl, MD5 with a client written here from RFC 7616) and Basic
//! authentication, nonce-count replay and stale nonces, HTML escaping, keep-alive, slow
//! clients, and a click-to-call whose INVITE reaches a scripted phone.

use std::io::Write;
use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::support::{
    WAIT, http::Challenge, http::HttpConn, http::http_get, http::md5_only_relay, phone::BusyPhone,
    phone::Phone, server::PASSWORD, server::Server, server::ServerConfig, wire::connect,
    wire::read_to_close,
};

/// The original's default page (reference traces, probe-http.txt).
/// The web page at `/` and `/index.html`.
const INDEX_BODY: &str = include_str!("../../src/api/http/index.html");

/// The click-to-call page around `lines`, as the original lays it out.
fn c2c_body(lines: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n<meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\" />\n<title>ClickToCall Server</title>\n</head>\n<body bgcolor=\"#ffffff\">\n{lines}</body>\n</html>\n"
    )
}

/// A click-to-call target whose initiator is `phone` (the destination is never called:
/// the phone is busy).
fn c2c_target(port: u16) -> String {
    format!("/clicktocall.html?initiator=p{port}-100&destination=p{port}-200")
}

/// Runs curl with `-v` and returns (status code, curl's verbose output).
fn curl(args: &[&str], url: &str) -> (String, String) {
    let out = Command::new("curl")
        .args([
            "-sv",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "20",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is required by these tests");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `Authorization` lines curl sent, from its `-v` output.
fn sent_authorizations(verbose: &str) -> Vec<String> {
    verbose
        .lines()
        .filter_map(|l| l.strip_prefix("> Authorization: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn default_pages_are_served_without_credentials_even_with_auth_on() {
    let server = Server::start_scratch("http-default", &ServerConfig::api().with_auth());
    for target in ["/", "/index.html"] {
        let r = http_get(server.http_addr(), target, "");
        assert_eq!(r.status, 200, "{target}: {}", r.head);
        assert!(r.head.starts_with("HTTP/1.1 200 OK\r\n"));
        // The page waits for the password before it asks the API anything.
        let page = INDEX_BODY.replacen("data-auth=\"off\"", "data-auth=\"on\"", 1);
        assert_eq!(r.body, page);
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("Cache-Control"), Some("no-store"));
        assert_eq!(
            r.header("Content-Length"),
            Some(page.len().to_string().as_str())
        );
        assert!(
            r.header("Server")
                .is_some_and(|s| s.starts_with("clicktocall/"))
        );
        assert!(r.header("WWW-Authenticate").is_none());
    }
    // The click-to-call page is protected: Digest SHA-256, Digest MD5, then Basic.
    let r = http_get(
        server.http_addr(),
        "/clicktocall.html?initiator=a&destination=b",
        "",
    );
    assert_eq!(r.status, 401);
    let challenges = r.all("WWW-Authenticate");
    assert_eq!(challenges.len(), 3, "{challenges:?}");
    assert!(
        challenges[0]
            .starts_with("Digest realm=\"clicktocall\", qop=\"auth\", algorithm=SHA-256, nonce=\"")
    );
    assert!(
        challenges[1]
            .starts_with("Digest realm=\"clicktocall\", qop=\"auth\", algorithm=MD5, nonce=\"")
    );
    assert_eq!(
        challenges[2],
        "Basic realm=\"clicktocall\", charset=\"UTF-8\""
    );
}

#[test]
fn unknown_pages_are_404_and_other_methods_405() {
    let server = Server::start_scratch("http-404", &ServerConfig::api());
    let r = http_get(server.http_addr(), "/foo.html", "");
    assert_eq!(r.status, 404);
    assert!(r.header("Location").is_none());
    assert!(r.body.contains("404 Not Found"), "{}", r.body);

    let mut c = HttpConn::open(server.http_addr());
    c.send("POST /clicktocall.html HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    let r = c.read_response(false);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("GET, HEAD"));
    // The body was consumed: the connection stays in step.
    assert_eq!(c.get("/index.html", "").status, 200);

    let (code, _) = curl(&["-X", "DELETE"], &server.http_url("/index.html"));
    assert_eq!(code, "405");
}

#[test]
fn curl_digest_uses_sha256_and_the_call_is_placed() {
    let phone = BusyPhone::start();
    let server = Server::start_scratch("http-curl-digest", &ServerConfig::api().with_auth());
    let url = server.http_url(&c2c_target(phone.port));
    let (code, verbose) = curl(&["--digest", "-u", &format!("admin:{PASSWORD}")], &url);
    assert_eq!(code, "200", "{verbose}");
    let auths = sent_authorizations(&verbose);
    assert_eq!(auths.len(), 1, "{verbose}");
    assert!(
        auths[0].starts_with("Digest username=\"admin\""),
        "{auths:?}"
    );
    assert!(auths[0].contains("algorithm=SHA-256"), "{auths:?}");
    assert!(
        verbose.contains("< Authentication-Info: rspauth=\""),
        "{verbose}"
    );
    let invites = phone.wait_calls(1);
    assert_eq!(
        invites[0].request_uri().unwrap_or_default(),
        phone.uri("100")
    );
}

#[test]
fn curl_digest_md5_succeeds_when_md5_is_all_it_is_offered() {
    let phone = BusyPhone::start();
    let server = Server::start_scratch("http-curl-md5", &ServerConfig::api().with_auth());
    let relay = md5_only_relay(server.http_addr(), 4);
    let url = format!("http://{relay}{}", c2c_target(phone.port));
    let (code, verbose) = curl(&["--digest", "-u", &format!("admin:{PASSWORD}")], &url);
    assert_eq!(code, "200", "{verbose}");
    let auths = sent_authorizations(&verbose);
    assert_eq!(auths.len(), 1, "{verbose}");
    assert!(
        auths[0].starts_with("Digest username=\"admin\""),
        "{auths:?}"
    );
    // RFC 7616 §3.4: curl names MD5 explicitly or leaves algorithm out (MD5 by default).
    assert!(
        auths[0].contains("algorithm=MD5") || !auths[0].contains("algorithm="),
        "{auths:?}"
    );
    phone.wait_calls(1);
}

#[test]
fn md5_digest_from_this_client_is_accepted_with_rspauth() {
    let phone = BusyPhone::start();
    let server = Server::start_scratch("http-md5", &ServerConfig::api().with_auth());
    let target = c2c_target(phone.port);
    let mut c = HttpConn::open(server.http_addr());
    let challenge = Challenge::of(&c.get(&target, ""), "MD5");
    let r = c.get(&target, &challenge.answer(PASSWORD, 1, &target));
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.body.contains("Initiating ClickToCall from"), "{}", r.body);
    let info = r
        .header("Authentication-Info")
        .expect("Authentication-Info");
    let rspauth = challenge.rspauth(PASSWORD, 1, &target);
    assert!(
        info.starts_with(&format!("rspauth=\"{rspauth}\", qop=auth, nc=00000001")),
        "{info}"
    );
    phone.wait_calls(1);
}

#[test]
fn curl_basic_credentials_of_the_originals_clients_work() {
    let phone = BusyPhone::start();
    let server = Server::start_scratch("http-basic", &ServerConfig::api().with_auth());
    let url = server.http_url(&c2c_target(phone.port));
    let (code, verbose) = curl(&["-u", &format!("admin:{PASSWORD}")], &url);
    assert_eq!(code, "200", "{verbose}");
    let auths = sent_authorizations(&verbose);
    assert_eq!(auths.len(), 1, "{verbose}");
    assert!(auths[0].starts_with("Basic "), "{auths:?}");
    phone.wait_calls(1);
}

#[test]
fn a_wrong_password_is_refused_and_logged_with_the_peer() {
    let phone = BusyPhone::start();
    let server = Server::start_scratch("http-wrong", &ServerConfig::api().with_auth());
    let target = c2c_target(phone.port);
    let url = server.http_url(&target);
    assert_eq!(curl(&["--digest", "-u", "admin:wrong"], &url).0, "401");
    assert_eq!(curl(&["-u", "admin:wrong"], &url).0, "401");
    assert_eq!(
        curl(&["--digest", "-u", &format!("bob:{PASSWORD}")], &url).0,
        "401"
    );

    let mut c = HttpConn::open(server.http_addr());
    for alg in ["SHA-256", "MD5"] {
        let challenge = Challenge::of(&c.get(&target, ""), alg);
        let r = c.get(&target, &challenge.answer("wrong", 1, &target));
        assert_eq!(r.status, 401, "{alg}");
        assert!(
            r.all("WWW-Authenticate")
                .iter()
                .all(|v| !v.contains("stale")),
            "{}",
            r.head
        );
    }
    let line = server
        .wait_log_line(&["authentication failed", "127.0.0.1:"], WAIT)
        .expect("an INFO line for the failed attempt");
    assert!(line.contains("INFO"), "{line}");
    assert!(phone.invites().is_empty(), "no call for refused requests");
}

#[test]
fn a_replayed_nonce_count_is_refused() {
    let phone = BusyPhone::start();
    let server = Server::start_scratch("http-replay", &ServerConfig::api().with_auth());
    let target = c2c_target(phone.port);
    let mut c = HttpConn::open(server.http_addr());
    let challenge = Challenge::of(&c.get(&target, ""), "MD5");
    let first = challenge.answer(PASSWORD, 1, &target);
    assert_eq!(c.get(&target, &first).status, 200);
    // The same Authorization again, on this and on another connection: refused.
    assert_eq!(c.get(&target, &first).status, 401);
    let mut other = HttpConn::open(server.http_addr());
    assert_eq!(other.get(&target, &first).status, 401);
    // The next count is accepted; going back is not.
    assert_eq!(
        c.get(&target, &challenge.answer(PASSWORD, 2, &target))
            .status,
        200
    );
    assert_eq!(
        c.get(&target, &challenge.answer(PASSWORD, 2, &target))
            .status,
        401
    );
    assert_eq!(
        c.get(&target, &challenge.answer(PASSWORD, 5, &target))
            .status,
        200
    );
    assert_eq!(
        c.get(&target, &challenge.answer(PASSWORD, 3, &target))
            .status,
        401
    );
    phone.wait_calls(3);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(phone.invites().len(), 3, "one call per accepted request");
}

/// The nonce lifetime (300 s) is not a configuration key, so expiry itself is covered by
/// the unit tests of `api::http::auth` and by tests/http_auth.rs. Against the binary,
/// the other way a nonce becomes stale is used: the server remembers the counts of at
/// most 4096 nonces; when the table is full, the oldest half is forgotten, and a valid
/// digest on a forgotten nonce is answered `stale=true` with a fresh nonce.
#[test]
fn a_forgotten_nonce_gets_stale_true_and_the_fresh_one_works() {
    const TRACKED: usize = 4096;
    let server = Server::start_scratch("http-stale", &ServerConfig::api().with_auth());
    // No parameters: an authorised request is a 400 page and places no call.
    let target = "/clicktocall.html";
    let mut c = HttpConn::open(server.http_addr());
    let oldest = Challenge::of(&c.get(target, ""), "SHA-256");
    for i in 0..=TRACKED {
        let ch = Challenge::of(&c.get(target, ""), "MD5");
        let r = c.get(target, &ch.answer(PASSWORD, 1, target));
        assert_eq!(r.status, 400, "request {i}: {}", r.head);
    }
    let r = c.get(target, &oldest.answer(PASSWORD, 1, target));
    assert_eq!(r.status, 401, "{}", r.head);
    let digests: Vec<&str> = r
        .all("WWW-Authenticate")
        .into_iter()
        .filter(|v| v.starts_with("Digest "))
        .collect();
    assert_eq!(digests.len(), 2, "{}", r.head);
    for v in digests {
        assert!(v.ends_with(", stale=true"), "{v}");
    }
    let fresh = Challenge::of(&r, "SHA-256");
    assert_ne!(fresh.get("nonce"), oldest.get("nonce"));
    let r = c.get(target, &fresh.answer(PASSWORD, 1, target));
    assert_eq!(r.status, 400, "{}", r.head);
    assert!(
        r.body
            .contains("Missing initiator or destination URL parameters.")
    );
}

#[test]
fn an_xss_probe_comes_back_escaped() {
    let server = Server::start_scratch("http-xss", &ServerConfig::api());
    let r = http_get(
        server.http_addr(),
        "/clicktocall.html?initiator=%3Cscript%3Ealert(1)%3C%2Fscript%3E&destination=%22%3E%3Cimg%20src%3Dx%3E",
        "",
    );
    assert_eq!(r.status, 400);
    assert!(!r.body.contains("<script>"), "{}", r.body);
    assert!(!r.body.contains("<img"), "{}", r.body);
    assert_eq!(
        r.body,
        c2c_body(
            "<p><em>ClickToCall:</em> initiator=&lt;script&gt;alert(1)&lt;/script&gt;, destination=&quot;&gt;&lt;img src=x&gt;</p>\n<p>No translation rule for either initiator &lt;script&gt;alert(1)&lt;/script&gt; or destination &quot;&gt;&lt;img src=x&gt;.</p>\n"
        )
    );
    // Raw, unencoded markup in the query and the path too.
    let r = http_get(
        server.http_addr(),
        "/clicktocall.html?initiator=<script>&destination=x",
        "",
    );
    assert_eq!(r.status, 400);
    assert!(
        !r.body.contains("<script>") && r.body.contains("&lt;script&gt;"),
        "{}",
        r.body
    );
    let r = http_get(server.http_addr(), "/%3Cscript%3E<b>x", "");
    assert_eq!(r.status, 404);
    assert!(
        !r.body.contains("<script>") && !r.body.contains("<b>"),
        "{}",
        r.body
    );
}

#[test]
fn failures_are_400_with_the_explanation_page() {
    let server = Server::start_scratch("http-400", &ServerConfig::api());
    let cases = [
        (
            "/clicktocall.html".to_owned(),
            "<p><em>ClickToCall:</em> initiator=, destination=</p>\n<p>Missing initiator or destination URL parameters.</p>\n".to_owned(),
        ),
        (
            "/clicktocall.html?initiator=p5000-100".to_owned(),
            "<p><em>ClickToCall:</em> initiator=p5000-100, destination=</p>\n<p>Missing initiator or destination URL parameters.</p>\n".to_owned(),
        ),
        (
            "/clicktocall.html?initiator=abc&destination=def".to_owned(),
            "<p><em>ClickToCall:</em> initiator=abc, destination=def</p>\n<p>No translation rule for either initiator abc or destination def.</p>\n".to_owned(),
        ),
        (
            "/clicktocall.html?initiator=sip%3A%3C%3E&destination=sip%3A%3C%3E".to_owned(),
            "<p><em>ClickToCall:</em> initiator=sip:&lt;&gt;, destination=sip:&lt;&gt;</p>\n<p>Invalid URI format for initiator sip:&lt;&gt; and destination sip:&lt;&gt;.</p>\n".to_owned(),
        ),
    ];
    for (target, lines) in &cases {
        let r = http_get(server.http_addr(), target, "");
        assert_eq!(r.status, 400, "{target}");
        assert_eq!(
            r.head.split("\r\n").next(),
            Some("HTTP/1.1 400 Bad Request")
        );
        assert_eq!(&r.body, &c2c_body(lines), "{target}");
    }
    assert!(
        !server.log().contains("c2c: click-to-call"),
        "no call for a refused request"
    );
}

#[test]
fn a_thousand_keep_alive_requests_on_one_connection() {
    let server = Server::start_scratch("http-keepalive", &ServerConfig::api());
    let mut c = HttpConn::open(server.http_addr());
    for i in 0..1000 {
        let r = c.get("/index.html", "");
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(r.body.len(), INDEX_BODY.len(), "request {i}");
        assert!(r.header("Connection").is_none(), "request {i}: {}", r.head);
    }
    let r = c.get("/index.html", "Connection: close\r\n");
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(c.closed());
}

/// The request read time-out is 10 s and not configurable; the wait here is bounded by
/// [`WAIT`] (30 s).
#[test]
fn a_slow_client_does_not_block_others_and_is_timed_out() {
    let server = Server::start_scratch("http-slow", &ServerConfig::api());
    let mut slow = connect(server.http_addr());
    slow.write_all(b"GET /index.html HTTP/1.1\r\nHo")
        .expect("write");
    // Others are served meanwhile, on new and on kept-alive connections.
    let mut kept = HttpConn::open(server.http_addr());
    for _ in 0..10 {
        assert_eq!(http_get(server.http_addr(), "/", "").status, 200);
        assert_eq!(kept.get("/index.html", "").status, 200);
    }
    // Trickling bytes does not extend the deadline of the request.
    for _ in 0..3 {
        thread::sleep(Duration::from_millis(200));
        let _ = slow.write_all(b"s");
    }
    let got = String::from_utf8_lossy(&read_to_close(&mut slow, WAIT)).into_owned();
    assert!(got.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{got}");
    // And the server is still serving (on a new connection: the kept one has been idle
    // for as long as the slow one and is closed too).
    assert_eq!(http_get(server.http_addr(), "/", "").status, 200);
}

#[test]
fn click_to_call_places_the_call_and_the_invite_reaches_the_phone() {
    let mut phone = Phone::start();
    let destination = Phone::start();
    let server = Server::start_scratch("http-call", &ServerConfig::api());
    let (i, d) = (phone.addr("100"), destination.addr("200"));
    let r = http_get(
        server.http_addr(),
        &format!("/clicktocall.html?initiator={i}&destination={d}"),
        "",
    );
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(
        r.body,
        c2c_body(&format!(
            "<p><em>ClickToCall:</em> initiator={i}, destination={d}</p>\n<p>Initiating ClickToCall from {}({i}) to {}({d}) (unanchored)...</p>\n",
            phone.uri("100"),
            destination.uri("200")
        ))
    );
    let invite = phone.expect_request("INVITE");
    assert_eq!(invite.request_uri().unwrap_or_default(), phone.uri("100"));
    let from = invite.header("From").expect("From");
    assert!(
        from.starts_with("\"Click-To-Call: 200\"<sip:click2call@127.0.0.1>;tag="),
        "{from}"
    );
    phone.reply(&invite, 486, "Busy Here", false);
    let ack = phone.expect_request("ACK");
    assert_eq!(ack.header("Call-ID"), invite.header("Call-ID"));
    // The destination is never called when the initiator is busy.
    let mut destination = destination;
    assert!(destination.no_request_within(Duration::from_millis(500)));
}

#[test]
fn anchor_true_is_case_insensitive_and_said_on_the_page() {
    let phone = BusyPhone::start();
    let server = Server::start_scratch("http-anchor", &ServerConfig::api());
    let (i, d) = (phone.addr("100"), phone.addr("200"));
    let r = http_get(
        server.http_addr(),
        &format!("/clicktocall.html?initiator={i}&destination={d}&anchor=TRUE"),
        "",
    );
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains(&format!("initiator={i}, destination={d} (anchored)</p>")),
        "{}",
        r.body
    );
    assert!(r.body.contains("(anchored)...</p>"), "{}", r.body);
    phone.wait_calls(1);
}

#[test]
fn http_answers_on_ipv6_loopback_too() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this host: skipped");
        return;
    }
    let server = Server::start_scratch("http-v6", &ServerConfig::api());
    let addr = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, server.http_port));
    let r = http_get(addr, "/index.html", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX_BODY);
}

#[test]
fn http_1_0_pipelining_and_size_limits() {
    let server = Server::start_scratch("http-limits", &ServerConfig::api());
    // HTTP/1.0 closes unless keep-alive is asked for.
    let mut c = HttpConn::open(server.http_addr());
    c.send("GET /index.html HTTP/1.0\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(c.closed());
    let mut c = HttpConn::open(server.http_addr());
    c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        c.read_response(false).header("Connection"),
        Some("keep-alive")
    );
    c.send("GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(c.read_response(false).status, 200);

    // Pipelined requests are answered in order.
    let mut c = HttpConn::open(server.http_addr());
    c.send("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response(false).status, 200);
    assert_eq!(c.read_response(false).status, 404);
    let head = c.read_response(true);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("Content-Length"),
        Some(INDEX_BODY.len().to_string().as_str())
    );
    assert_eq!(c.read_response(false).body, INDEX_BODY);

    // Request line + fields are capped at 8 KiB; a GET body over 8 KiB is refused.
    let refused = |raw: String| {
        let mut c = HttpConn::open(server.http_addr());
        // The server may answer and close before reading everything.
        let _ = c.stream.write_all(raw.as_bytes());
        let r = c.read_response(false);
        assert_eq!(r.header("Connection"), Some("close"), "{}", r.head);
        r.status
    };
    assert_eq!(
        refused(format!(
            "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
            "a".repeat(9000)
        )),
        414
    );
    assert_eq!(
        refused(format!(
            "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
            "X-Pad: 0123456789012345678901234567890123456789\r\n".repeat(200)
        )),
        431
    );
    assert_eq!(
        refused("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".to_owned()),
        413
    );
    assert_eq!(refused("GET /index.html\r\n\r\n".to_owned()), 400);
    assert_eq!(refused("GET / HTTP/1.1\r\n\r\n".to_owned()), 400);
}

#[test]
fn head_on_the_click_to_call_page_places_no_call() {
    let mut phone = Phone::start();
    let server = Server::start_scratch("http-head", &ServerConfig::api());
    let mut c = HttpConn::open(server.http_addr());
    c.send(&format!(
        "HEAD {} HTTP/1.1\r\nHost: x\r\n\r\n",
        c2c_target(phone.port)
    ));
    let r = c.read_response(true);
    assert_eq!(r.status, 200);
    assert!(r.header("Content-Length").is_some());
    assert!(phone.no_request_within(Duration::from_millis(500)));
}

#[test]
fn the_realm_comes_from_http_auth_realm() {
    let phone = BusyPhone::start();
    let server = Server::start_scratch(
        "http-realm",
        &ServerConfig::api()
            .with_auth()
            .set("HttpAuthRealm", "pbx.example"),
    );
    let target = c2c_target(phone.port);
    let mut c = HttpConn::open(server.http_addr());
    let r = c.get(&target, "");
    assert_eq!(r.status, 401);
    assert!(
        r.all("WWW-Authenticate")
            .iter()
            .all(|v| v.contains("realm=\"pbx.example\"")),
        "{}",
        r.head
    );
    let ch = Challenge::of(&r, "SHA-256");
    assert_eq!(c.get(&target, &ch.answer(PASSWORD, 1, &target)).status, 200);
    phone.wait_calls(1);
}

/// Opens connections until `n` of them are served (connections the start-up probe
/// opened are released asynchronously, so an early one may still be refused).
fn served_connections(server: &Server, n: usize) -> Vec<HttpConn> {
    let deadline = std::time::Instant::now() + WAIT;
    let mut kept = Vec::new();
    while kept.len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} connections served",
            kept.len()
        );
        let mut c = HttpConn::open(server.http_addr());
        match c.get("/", "").status {
            200 => kept.push(c),
            503 => thread::sleep(Duration::from_millis(50)),
            other => panic!("unexpected status {other}"),
        }
    }
    kept
}

#[test]
fn connections_beyond_http_max_connections_get_503() {
    let server = Server::start_scratch(
        "http-max-conn",
        &ServerConfig::api().set("HttpMaxConnections", "3"),
    );
    let mut kept = served_connections(&server, 3);
    let mut extra = HttpConn::open(server.http_addr());
    extra.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = extra.read_response(false);
    assert_eq!(r.status, 503);
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(extra.closed());
    // The served ones are unaffected; closing one frees its slot.
    for c in &mut kept {
        assert_eq!(c.get("/index.html", "").status, 200);
    }
    drop(kept.pop());
    let _again = served_connections(&server, 1);
}
