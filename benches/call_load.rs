//! Load driver of `scripts/bench_calls.sh`: click-to-calls over the XML interface at a
//! fixed rate for a fixed time, spread over a few kept-open connections (as the XML
//! clients of the original do), and a report of how each ended.
//!
//!     cargo bench --bench call_load -- PORT RATE SECONDS INITIATOR DESTINATION ANCHOR [CONNS] [WAIT]
//!
//! INITIATOR is given a call number (`INITIATOR-cN`, which the server's translation rule
//! must drop) so that the response documents, which echo the request, tell
//! the calls on one connection apart. WAIT (default 70 s) is how long after the last
//! request a call may still get its final result. Prints one `key=value` line.
//!
//! A call is *completed* with a final 200 for the destination, *refused* when its first
//! and final document is a 503 or 429 (admission at the front door), *failed* with any
//! other final code, and *no-final* when none arrived in time. Latency, of admitted calls,
//! is from writing the request to reading the final document.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Tally {
    completed: u64,
    refused: u64,
    failed: HashMap<u16, u64>,
    latencies_us: Vec<u64>,
}

struct Pending {
    sent: Instant,
    admitted: bool,
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.len() < 6 {
        eprintln!("usage: call_load PORT RATE SECONDS INITIATOR DESTINATION ANCHOR [CONNS] [WAIT]");
        std::process::exit(2);
    }
    let num = |i: usize, what: &str| -> f64 {
        args[i].parse().unwrap_or_else(|_| {
            eprintln!("{what}: not a number: {}", args[i]);
            std::process::exit(2)
        })
    };
    let port = num(0, "PORT") as u16;
    let rate = num(1, "RATE");
    let seconds = num(2, "SECONDS");
    let (initiator, destination, anchor) = (args[3].clone(), args[4].clone(), args[5].clone());
    let conns = args.get(6).and_then(|a| a.parse().ok()).unwrap_or(10usize);
    let wait = Duration::from_secs(args.get(7).and_then(|a| a.parse().ok()).unwrap_or(70));
    let calls = (rate * seconds).round() as u64;

    let start = Instant::now() + Duration::from_millis(200);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut threads = Vec::new();
    for c in 0..conns as u64 {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| {
            eprintln!("cannot connect to the XML port {port}: {e}");
            std::process::exit(1)
        });
        let _ = stream.set_nodelay(true);
        let pending: Arc<Mutex<HashMap<u64, Pending>>> = Arc::default();
        let reader = stream.try_clone().expect("a TCP stream clones");
        let (p, t) = (pending.clone(), tally.clone());
        let mine = (c..calls).step_by(conns).count() as u64;
        threads.push(thread::spawn(move || read_results(reader, p, t, mine)));
        let (ini, dst, anc) = (initiator.clone(), destination.clone(), anchor.clone());
        threads.push(thread::spawn(move || {
            let mut stream = stream;
            for n in (c..calls).step_by(conns) {
                let at = start + Duration::from_secs_f64(n as f64 / rate);
                if let Some(d) = at.checked_duration_since(Instant::now()) {
                    thread::sleep(d);
                }
                let req = format!(
                    "<ClickToCall>\r\n  <Request>\r\n    <Initiator>{ini}-c{n}</Initiator>\r\n    \
                     <Destination>{dst}</Destination>\r\n    <AnchorCall>{anc}</AnchorCall>\r\n  \
                     </Request>\r\n</ClickToCall>\r\n"
                );
                pending.lock().expect("no panic holding it").insert(
                    n,
                    Pending {
                        sent: Instant::now(),
                        admitted: false,
                    },
                );
                if stream.write_all(req.as_bytes()).is_err() {
                    break;
                }
            }
            // Keep the connection open until the reader is done: closing it would end
            // the calls still running on it.
            let end = start + Duration::from_secs_f64(seconds) + wait;
            while Instant::now() < end && !pending.lock().expect("no panic").is_empty() {
                thread::sleep(Duration::from_millis(100));
            }
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut t = tally.lock().expect("threads are done");
    let failed: u64 = t.failed.values().sum();
    let no_final = calls - t.completed - t.refused - failed;
    t.latencies_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        let v = &t.latencies_us;
        if v.is_empty() {
            return 0.0;
        }
        v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
    };
    let mut codes: Vec<_> = t.failed.iter().collect();
    codes.sort();
    let codes: Vec<String> = codes.iter().map(|(c, n)| format!("{c}:{n}")).collect();
    println!(
        "calls={calls} completed={} refused={} failed={failed} no_final={no_final} \
         failed_codes={} elapsed={elapsed:.2} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        t.completed,
        t.refused,
        if codes.is_empty() {
            "-".to_string()
        } else {
            codes.join(",")
        },
        pct(0.5),
        pct(0.99),
        pct(1.0),
    );
}

/// Reads response documents until every call of this connection has its final one (or
/// the connection closes), and files each final in `tally`.
fn read_results(
    mut stream: TcpStream,
    pending: Arc<Mutex<HashMap<u64, Pending>>>,
    tally: Arc<Mutex<Tally>>,
    mut left: u64,
) {
    const END: &[u8] = b"</ClickToCall>";
    let mut buf = Vec::with_capacity(1 << 16);
    let mut chunk = [0u8; 1 << 16];
    while left > 0 {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut used = 0;
        while let Some(end) = find(&buf[used..], END) {
            let doc = &buf[used..used + end];
            used += end + END.len();
            let (Some(call), Some(code)) = (call_number(doc), result_code(doc)) else {
                continue;
            };
            let now = Instant::now();
            let mut p = pending.lock().expect("no panic holding it");
            let Some(entry) = p.get_mut(&call) else {
                continue;
            };
            let destination = find(doc, b"Leg=\"Destination\"").is_some();
            if code < 300 && !(code >= 200 && destination) {
                entry.admitted = true;
                continue;
            }
            let Some(entry) = p.remove(&call) else {
                continue;
            };
            drop(p);
            left -= 1;
            let mut t = tally.lock().expect("no panic holding it");
            match code {
                503 | 429 if !entry.admitted => {
                    t.refused += 1;
                    continue;
                }
                200..=299 => t.completed += 1,
                _ => *t.failed.entry(code).or_default() += 1,
            }
            // The latency of admitted calls only: a refusal is immediate.
            t.latencies_us
                .push(now.duration_since(entry.sent).as_micros() as u64);
        }
        buf.drain(..used);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The N of `<Initiator>…-cN</Initiator>` in the echoed request.
fn call_number(doc: &[u8]) -> Option<u64> {
    let from = find(doc, b"<Initiator>")?;
    let rest = &doc[from..];
    let end = find(rest, b"</Initiator>")?;
    let field = &rest[..end];
    let dash = field.iter().rposition(|&b| b == b'c')?;
    std::str::from_utf8(&field[dash + 1..]).ok()?.parse().ok()
}

fn result_code(doc: &[u8]) -> Option<u16> {
    const TAG: &[u8] = b"<Result Code=\"";
    let at = find(doc, TAG)? + TAG.len();
    let digits: &[u8] = doc.get(at..at + 3)?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}
