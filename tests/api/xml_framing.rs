//! XML connections: framing over the socket (one-byte writes, pipelining, limits, DTD),
//! concurrent requests with interleaved progress, time-outs, connection limits,
//! disconnects and shutdown.

use std::time::Duration;

use crate::support::{
    WAIT, api_double::Harness, api_double::progress, api_double::refer_ok, wire::connect,
    wire::read_n, wire::read_to_close, wire::send, wire::silent_and_open,
};
use clicktocall::c2c::command::Role;

fn request(initiator: &str, destination: &str) -> String {
    format!(
        "<ClickToCall><Request><Initiator>{initiator}</Initiator><Destination>{destination}</Destination></Request></ClickToCall>"
    )
}

fn echo(initiator: &str, destination: &str) -> String {
    format!(
        "<ClickToCall><Request><Initiator>{initiator}</Initiator><Destination>{destination}</Destination></Request>\r\n  <Response>\r\n"
    )
}

fn hundred(initiator: &str, destination: &str, ti: &str, td: &str) -> String {
    format!(
        "{}    <TranslatedInitiator>{ti}</TranslatedInitiator>\r\n    <TranslatedDestination>{td}</TranslatedDestination>\r\n    <Result Code=\"100\">In progress</Result>\r\n  </Response>\r\n</ClickToCall>",
        echo(initiator, destination)
    )
}

fn event(initiator: &str, destination: &str, code: u16, leg: &str, text: &str) -> String {
    format!(
        "{}    <Result Code=\"{code}\" Leg=\"{leg}\">{text}</Result>\r\n  </Response>\r\n</ClickToCall>",
        echo(initiator, destination)
    )
}

const TOO_LARGE: &str =
    "<Response>\r\n    <Result Code=\"400\">Request too large</Result>\r\n</Response>";

#[test]
fn a_request_in_one_byte_writes() {
    let h = Harness::start(|_| {});
    h.auto_answer(|_| refer_ok());
    let mut s = connect(h.xml);
    let req = format!("\r\n  {}\r\n", request("5061100", "5062200"));
    for b in req.bytes() {
        send(&mut s, &[b]);
    }
    let expected = [
        hundred(
            "5061100",
            "5062200",
            "sip:100@127.0.0.1:5061",
            "sip:200@127.0.0.1:5062",
        ),
        event("5061100", "5062200", 180, "Initiator", "Ringing initiator"),
        event(
            "5061100",
            "5062200",
            200,
            "Initiator",
            "Connected to initiator",
        ),
        event(
            "5061100",
            "5062200",
            200,
            "Destination",
            "Connected to destination",
        ),
    ]
    .concat();
    assert_eq!(
        String::from_utf8_lossy(&read_n(&mut s, expected.len())),
        expected
    );
}

#[test]
fn two_pipelined_requests_with_interleaved_progress() {
    let h = Harness::start(|_| {});
    let mut s = connect(h.xml);
    send(
        &mut s,
        format!(
            "{}\r\n{}",
            request("5061100", "5062200"),
            request("5061101", "5062201")
        )
        .as_bytes(),
    );
    let (a, a_tx) = h.next_command();
    let (b, b_tx) = h.next_command();
    assert_eq!(a.initiator, "sip:100@127.0.0.1:5061");
    assert_eq!(b.initiator, "sip:101@127.0.0.1:5061");
    let first = [
        hundred(
            "5061100",
            "5062200",
            "sip:100@127.0.0.1:5061",
            "sip:200@127.0.0.1:5062",
        ),
        hundred(
            "5061101",
            "5062201",
            "sip:101@127.0.0.1:5061",
            "sip:201@127.0.0.1:5062",
        ),
    ]
    .concat();
    assert_eq!(String::from_utf8_lossy(&read_n(&mut s, first.len())), first);

    // The calls thread interleaves the two requests' events; each is written as it comes.
    let steps = [
        (
            &b_tx,
            ("5061101", "5062201"),
            180,
            Role::Initiator,
            "Ringing initiator",
        ),
        (
            &a_tx,
            ("5061100", "5062200"),
            180,
            Role::Initiator,
            "Ringing initiator",
        ),
        (
            &b_tx,
            ("5061101", "5062201"),
            486,
            Role::Initiator,
            "Failed to connect to initiator",
        ),
        (
            &a_tx,
            ("5061100", "5062200"),
            200,
            Role::Initiator,
            "Connected to initiator",
        ),
        (
            &a_tx,
            ("5061100", "5062200"),
            200,
            Role::Destination,
            "Connected to destination",
        ),
    ];
    for (tx, (i, d), code, leg, text) in steps {
        tx.send(progress(code, leg, text)).expect("send");
        let want = event(i, d, code, leg.as_str(), text);
        assert_eq!(String::from_utf8_lossy(&read_n(&mut s, want.len())), want);
    }
    assert!(silent_and_open(&mut s, Duration::from_millis(200)));
}

#[test]
fn the_connection_stays_open_for_later_requests() {
    let h = Harness::start(|_| {});
    h.auto_answer(|_| {
        vec![(
            Duration::ZERO,
            progress(486, Role::Initiator, "Failed to connect to initiator"),
        )]
    });
    let mut s = connect(h.xml);
    for n in 0..5 {
        let i = format!("506110{n}");
        send(&mut s, request(&i, "5062200").as_bytes());
        let want = [
            hundred(
                &i,
                "5062200",
                &format!("sip:10{n}@127.0.0.1:5061"),
                "sip:200@127.0.0.1:5062",
            ),
            event(
                &i,
                "5062200",
                486,
                "Initiator",
                "Failed to connect to initiator",
            ),
        ]
        .concat();
        assert_eq!(String::from_utf8_lossy(&read_n(&mut s, want.len())), want);
    }
}

#[test]
fn over_64_kib_is_refused_and_closed() {
    let h = Harness::start(|_| {});
    let mut s = connect(h.xml);
    let mut big = b"<ClickToCall><Request><Initiator>".to_vec();
    big.resize(70 * 1024, b'1');
    // The server may close before reading everything: ignore write errors.
    let _ = std::io::Write::write_all(&mut s, &big);
    let got = read_to_close(&mut s, WAIT);
    assert_eq!(String::from_utf8_lossy(&got), TOO_LARGE);
}

#[test]
fn a_64_kib_request_just_under_the_limit_is_served() {
    let h = Harness::start(|_| {});
    let mut s = connect(h.xml);
    let padding = " ".repeat(60 * 1024);
    let req = format!(
        "<ClickToCall><Request>{padding}<Initiator>abc</Initiator><Destination>def</Destination></Request></ClickToCall>"
    );
    send(&mut s, req.as_bytes());
    let want = format!(
        "<ClickToCall><Request>{padding}<Initiator>abc</Initiator><Destination>def</Destination></Request>\r\n  <Response>\r\n    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall>"
    );
    assert_eq!(String::from_utf8_lossy(&read_n(&mut s, want.len())), want);
}

#[test]
fn a_dtd_is_refused_and_the_connection_closed() {
    let h = Harness::start(|_| {});
    let placed = h.auto_answer(|_| refer_ok());
    let mut s = connect(h.xml);
    send(&mut s, b"<?xml version=\"1.0\"?><!DOCTYPE ClickToCall [<!ENTITY x \"5061100\">]><ClickToCall><Request><Initiator>&x;</Initiator><Destination>5062200</Destination></Request></ClickToCall>");
    let got = read_to_close(&mut s, WAIT);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "<Response>\r\n    <Result Code=\"400\">Parse error: DTD not allowed</Result>\r\n</Response>"
    );
    assert!(placed.lock().expect("log").is_empty());
}

#[test]
fn garbage_is_refused_and_the_connection_closed() {
    let h = Harness::start(|_| {});
    let mut s = connect(h.xml);
    send(&mut s, b"GET / HTTP/1.1\r\n\r\n");
    let got = read_to_close(&mut s, WAIT);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "<Response>\r\n    <Result Code=\"400\">Parse error</Result>\r\n</Response>"
    );
}

#[test]
fn an_unfinished_document_times_out_but_idle_connections_stay() {
    let h = Harness::start(|c| c.xml_document_timeout = Duration::from_millis(500));
    let mut idle = connect(h.xml);
    let mut slow = connect(h.xml);
    send(&mut slow, b"<ClickToCall><Request>");
    let got = read_to_close(&mut slow, WAIT);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "<Response>\r\n    <Result Code=\"408\">Request timeout</Result>\r\n</Response>"
    );
    // The idle connection (nothing buffered) is still served.
    send(&mut idle, request("abc", "def").as_bytes());
    let want = format!(
        "{}    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall>",
        echo("abc", "def")
    );
    assert_eq!(
        String::from_utf8_lossy(&read_n(&mut idle, want.len())),
        want
    );
}

#[test]
fn a_client_that_disconnects_does_not_stop_its_call() {
    let h = Harness::start(|_| {});
    let mut s = connect(h.xml);
    send(&mut s, request("5061100", "5062200").as_bytes());
    let (_, tx) = h.next_command();
    let want = hundred(
        "5061100",
        "5062200",
        "sip:100@127.0.0.1:5061",
        "sip:200@127.0.0.1:5062",
    );
    read_n(&mut s, want.len());
    drop(s);
    // The calls thread can still report (its sends may fail once the writer is gone, but
    // nothing panics and the server keeps serving).
    let _ = tx.send(progress(180, Role::Initiator, "Ringing initiator"));
    let _ = tx.send(progress(200, Role::Destination, "Connected to destination"));
    let mut again = connect(h.xml);
    send(&mut again, request("abc", "def").as_bytes());
    let want = format!(
        "{}    <Result Code=\"400\">No translation rule for either initiator abc or destination def</Result>\r\n  </Response>\r\n</ClickToCall>",
        echo("abc", "def")
    );
    assert_eq!(
        String::from_utf8_lossy(&read_n(&mut again, want.len())),
        want
    );
}

#[test]
fn a_half_closed_client_still_gets_its_progress() {
    let h = Harness::start(|_| {});
    h.auto_answer(|_| refer_ok());
    let mut s = connect(h.xml);
    send(&mut s, request("5061100", "5062200").as_bytes());
    s.shutdown(std::net::Shutdown::Write).expect("half-close");
    let got = read_to_close(&mut s, WAIT);
    let want = [
        hundred(
            "5061100",
            "5062200",
            "sip:100@127.0.0.1:5061",
            "sip:200@127.0.0.1:5062",
        ),
        event("5061100", "5062200", 180, "Initiator", "Ringing initiator"),
        event(
            "5061100",
            "5062200",
            200,
            "Initiator",
            "Connected to initiator",
        ),
        event(
            "5061100",
            "5062200",
            200,
            "Destination",
            "Connected to destination",
        ),
    ]
    .concat();
    assert_eq!(String::from_utf8_lossy(&got), want);
}

#[test]
fn a_calls_thread_that_drops_a_request_ends_it_with_503() {
    let h = Harness::start(|_| {});
    let mut s = connect(h.xml);
    send(&mut s, request("5061100", "5062200").as_bytes());
    let (_, tx) = h.next_command();
    drop(tx);
    let want = [
        hundred("5061100", "5062200", "sip:100@127.0.0.1:5061", "sip:200@127.0.0.1:5062"),
        format!("{}    <Result Code=\"503\">Service unavailable</Result>\r\n  </Response>\r\n</ClickToCall>", echo("5061100", "5062200")),
    ]
    .concat();
    assert_eq!(String::from_utf8_lossy(&read_n(&mut s, want.len())), want);
}

#[test]
fn connections_beyond_the_limit_get_503() {
    let h = Harness::start(|c| c.xml_max_connections = 2);
    let mut a = connect(h.xml);
    let mut b = connect(h.xml);
    // Make sure both are being served before the third arrives.
    for s in [&mut a, &mut b] {
        send(s, b"<Foo/>");
        let want = "<Response>\r\n    <Result Code=\"400\">Unknown method</Result>\r\n</Response>";
        assert_eq!(String::from_utf8_lossy(&read_n(s, want.len())), want);
    }
    let mut c = connect(h.xml);
    assert_eq!(
        String::from_utf8_lossy(&read_to_close(&mut c, WAIT)),
        "<Response>\r\n    <Result Code=\"503\">Too many connections</Result>\r\n</Response>"
    );
    drop(a);
    // The slot is given back once the first connection's threads end.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let mut d = connect(h.xml);
        send(&mut d, b"<Foo/>");
        // Both answers start `<Response>\r\n    <Result Code="NNN`: 33 bytes.
        let head = String::from_utf8_lossy(&read_n(&mut d, 33)).into_owned();
        if head.ends_with("400") {
            break;
        }
        assert!(head.ends_with("503"), "{head}");
        assert!(std::time::Instant::now() < deadline, "slot never released");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn shutdown_closes_open_connections_promptly() {
    let h = Harness::start(|_| {});
    let mut s = connect(h.xml);
    send(&mut s, request("5061100", "5062200").as_bytes());
    let (_, _tx) = h.next_command();
    let want = hundred(
        "5061100",
        "5062200",
        "sip:100@127.0.0.1:5061",
        "sip:200@127.0.0.1:5062",
    );
    read_n(&mut s, want.len());
    let addr = h.xml;
    h.shutdown();
    assert!(read_to_close(&mut s, WAIT).is_empty());
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "listener closed"
    );
}

#[test]
fn serves_on_ipv6_loopback() {
    let h = Harness::start(|c| c.bind = Some("::1".parse().expect("ip")));
    assert!(h.xml.is_ipv6());
    let mut s = connect(h.xml);
    send(&mut s, b"<Foo/>");
    let want = "<Response>\r\n    <Result Code=\"400\">Unknown method</Result>\r\n</Response>";
    assert_eq!(String::from_utf8_lossy(&read_n(&mut s, want.len())), want);
}
