//! Parse and serialize speed of the SIP message layer, and heap allocations per operation
//! (counted by a global allocator wrapper in this bench binary only).
//!
//! Run: `cargo bench --bench sip_msg` (allocation counts are printed first).
//!
//! Instruction counts, independent of machine load: build with
//! `cargo bench --bench sip_msg --no-run`, then run the binary under
//! `valgrind --tool=callgrind` with `SIP_MSG_LOOP=<what>:<n>` set (`what` is `invite`,
//! `ok`, `serialize` or `serialize-ok`): it then only does that `n` times and exits.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use clicktocall::sip::msg::{Frame, Message, frame};
use clicktocall::sip::sdp;
use criterion::{Criterion, Throughput, criterion_group};

/// Counts allocations made by the current thread.
struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr was allocated by System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: forwarding a block System allocated with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCS.with(Cell::get);
    let out = f();
    (ALLOCS.with(Cell::get) - before, out)
}

/// A typical INVITE with SDP after one proxy (about 900 bytes).
const INVITE: &[u8] = b"INVITE sip:100@192.0.2.10:5060;transport=udp SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-proxy-77a1c2;received=192.0.2.1\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bK-524287-1---83f02aac1e193de7;rport=5072\r\n\
Record-Route: <sip:192.0.2.1;lr;ftag=8f836233>\r\n\
Max-Forwards: 69\r\n\
Contact: <sip:click2call@127.0.0.1:5072>\r\n\
To: <sip:100@192.0.2.10:5060>\r\n\
From: \"Click-To-Call: 200\"<sip:click2call@127.0.0.1>;tag=8f836233\r\n\
Call-ID: jmvcqR1JkLQtk3zOLwHojw..\r\n\
CSeq: 1 INVITE\r\n\
Session-Expires: 1800\r\n\
Min-SE: 90\r\n\
Accept-Language: en\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, SUBSCRIBE, UPDATE, PRACK, INFO, MESSAGE\r\n\
Content-Type: application/sdp\r\n\
Supported: replaces, timer, norefersub, 100rel\r\n\
User-Agent: ClickToCall\r\n\
Content-Length: 229\r\n\
\r\n\
v=0\r\n\
o=clicktocall 1004902325 1004902325 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 8000 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n";

/// A 200 OK with an SDP answer.
const OK: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5072;branch=z9hG4bK-524287-1---83f02aac1e193de7;rport=5072\r\n\
Record-Route: <sip:192.0.2.1;lr;ftag=8f836233>\r\n\
Contact: <sip:100@192.0.2.10:5060;transport=udp>\r\n\
To: <sip:100@192.0.2.10:5060>;tag=16302SIPpTag011\r\n\
From: \"Click-To-Call: 200\"<sip:click2call@127.0.0.1>;tag=8f836233\r\n\
Call-ID: jmvcqR1JkLQtk3zOLwHojw..\r\n\
CSeq: 1 INVITE\r\n\
Session-Expires: 1800;refresher=uac\r\n\
Require: timer\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 131\r\n\
\r\n\
v=0\r\n\
o=user1 53655765 2353687637 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

fn report_allocations() {
    // The messages are exact: every body byte is counted by Content-Length.
    for (name, msg) in [("INVITE", INVITE), ("200 OK", OK)] {
        let m = Message::parse(msg).expect(name);
        assert_eq!(m.to_bytes(), msg, "{name} is not byte-exact");
    }
    let (n, m) = allocations(|| Message::parse(INVITE).expect("INVITE"));
    println!("allocations: parse INVITE ({} bytes) = {n}", INVITE.len());
    let (n, _) = allocations(|| Message::parse(OK).expect("200"));
    println!("allocations: parse 200 OK ({} bytes) = {n}", OK.len());
    let mut buf = Vec::with_capacity(2048);
    let (n, _) = allocations(|| m.write_to(&mut buf));
    println!("allocations: serialize INVITE into a reused buffer = {n}");
    let (n, _) = allocations(|| m.to_bytes());
    println!("allocations: to_bytes INVITE = {n}");
    let (n, _) = allocations(|| {
        (
            m.top_via().map(drop),
            m.cseq().map(drop),
            m.from_tag().map(drop),
        )
    });
    println!("allocations: top_via + cseq + from_tag = {n}");
    let (n, _) = allocations(|| Message::response_to(&m, 180, "Ringing", Some("abc123")));
    println!("allocations: response_to (180 with To tag) = {n}");
    let (n, _) = allocations(|| frame(INVITE, 65536));
    println!("allocations: frame INVITE = {n}");
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sip_msg");
    g.throughput(Throughput::Bytes(INVITE.len() as u64));
    g.bench_function("parse INVITE", |b| {
        b.iter(|| Message::parse(black_box(INVITE)))
    });
    g.throughput(Throughput::Bytes(OK.len() as u64));
    g.bench_function("parse 200 OK", |b| b.iter(|| Message::parse(black_box(OK))));
    let invite = Message::parse(INVITE).expect("INVITE");
    let ok = Message::parse(OK).expect("200");
    let mut buf = Vec::with_capacity(2048);
    g.throughput(Throughput::Bytes(INVITE.len() as u64));
    g.bench_function("serialize INVITE", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&invite).write_to(&mut buf);
        })
    });
    g.throughput(Throughput::Bytes(OK.len() as u64));
    g.bench_function("serialize 200 OK", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&ok).write_to(&mut buf);
        })
    });
    g.bench_function("frame INVITE", |b| {
        b.iter(|| {
            assert!(matches!(
                frame(black_box(INVITE), 65536),
                Ok(Frame::Complete(_))
            ))
        })
    });
    g.bench_function("response_to INVITE (180)", |b| {
        b.iter(|| Message::response_to(black_box(&invite), 180, "Ringing", Some("abc123")))
    });
    g.bench_function("typed: top_via + from + to + cseq", |b| {
        b.iter(|| {
            let m = black_box(&invite);
            (
                m.top_via().map(drop),
                m.from().map(drop),
                m.to().map(drop),
                m.cseq().map(drop),
            )
        })
    });
    let body = invite.body().to_vec();
    g.bench_function("sdp parse + serialize", |b| {
        b.iter(|| sdp::SessionDescription::parse(black_box(&body)).map(|s| s.to_bytes()))
    });
    g.finish();
}

criterion_group!(benches, bench);

/// The `SIP_MSG_LOOP` mode: one operation `n` times, nothing else (for callgrind).
fn run_loop(spec: &str) {
    let (what, n) = spec.split_once(':').unwrap_or((spec, "1000"));
    let n: usize = n.parse().expect("SIP_MSG_LOOP count");
    let invite = Message::parse(INVITE).expect("INVITE");
    let ok = Message::parse(OK).expect("200");
    let mut buf = Vec::with_capacity(2048);
    for _ in 0..n {
        match what {
            "invite" => drop(black_box(Message::parse(black_box(INVITE)))),
            "ok" => drop(black_box(Message::parse(black_box(OK)))),
            "serialize" | "serialize-ok" => {
                buf.clear();
                let m = if what == "serialize" { &invite } else { &ok };
                black_box(m).write_to(&mut buf);
            }
            other => panic!("SIP_MSG_LOOP: unknown operation {other:?}"),
        }
    }
    black_box(&buf);
}

fn main() {
    if let Ok(spec) = std::env::var("SIP_MSG_LOOP") {
        run_loop(&spec);
        return;
    }
    report_allocations();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
