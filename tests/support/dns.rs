//! A small authoritative-style DNS server for the tests: UDP and TCP on one ephemeral
//! loopback port, answering from a fixed table. Written independently of the crate's
//! codec so the two check each other. Threads stop and are joined on drop.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub const A: u16 = 1;
pub const AAAA: u16 = 28;
pub const SRV: u16 = 33;
pub const NAPTR: u16 = 35;

/// Record data; the owner is always the question name (written as a compression pointer
/// to the question, which exercises the client's decompression).
#[derive(Clone, Debug)]
pub enum Data {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    Naptr {
        order: u16,
        preference: u16,
        services: String,
        replacement: String,
    },
}

#[derive(Clone, Debug)]
pub enum Behaviour {
    Answer(Vec<Data>),
    NxDomain,
    ServFail,
    /// Never answers.
    Silent,
    /// Over UDP: an empty answer with TC set; over TCP: the records.
    TruncateUdp(Vec<Data>),
    /// Over UDP: garbage, then fakes (answering 203.0.113.66) with a wrong ID, a wrong
    /// question and a compression loop, and only then the right answer (the records
    /// must end with an A record).
    Hostile(Vec<Data>),
    /// Over UDP: only answers with a wrong ID, as an off-path spoofer would send.
    SpoofOnly(Vec<Data>),
    /// Over UDP: TC set; over TCP: bytes that are not a DNS message.
    TcpGarbage,
}

/// What the server was asked: ("udp" | "tcp", name, type).
pub type QueryLog = Arc<Mutex<Vec<(&'static str, String, u16)>>>;

pub struct TestDnsServer {
    pub addr: SocketAddr,
    pub log: QueryLog,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl TestDnsServer {
    /// Starts on `ip` (127.0.0.1 or ::1), on a port the kernel gave UDP (bound and kept,
    /// so nothing can take it) and TCP on the same number. Unknown
    /// questions get NOERROR with no records (NODATA).
    pub fn start(ip: IpAddr, zone: Vec<((&str, u16), Behaviour)>) -> TestDnsServer {
        let zone: Arc<HashMap<(String, u16), Behaviour>> = Arc::new(
            zone.into_iter()
                .map(|((n, t), b)| ((n.to_ascii_lowercase(), t), b))
                .collect(),
        );
        // Find a port free for both UDP and TCP; bounded retries.
        let (udp, tcp) = (0..50)
            .find_map(|_| {
                let udp = UdpSocket::bind(SocketAddr::new(ip, 0)).ok()?;
                let port = udp.local_addr().ok()?.port();
                let tcp = TcpListener::bind(SocketAddr::new(ip, port)).ok()?;
                Some((udp, tcp))
            })
            .expect("no free UDP+TCP port on loopback for the test DNS server");
        let addr = udp.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let log: QueryLog = Arc::default();
        udp.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        tcp.set_nonblocking(true).unwrap();

        let (z, s, l) = (zone.clone(), stop.clone(), log.clone());
        let udp_thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = udp.recv_from(&mut buf) else {
                    continue;
                };
                for reply in answer(&buf[..n], &z, false, &l) {
                    let _ = udp.send_to(&reply, from);
                }
            }
        });
        let (z, s, l) = (zone, stop.clone(), log.clone());
        let tcp_thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = tcp.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut len = [0u8; 2];
                if conn.read_exact(&mut len).is_err() {
                    continue;
                }
                let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if conn.read_exact(&mut msg).is_err() {
                    continue;
                }
                if let Some(reply) = answer(&msg, &z, true, &l).pop() {
                    let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                    framed.extend(reply);
                    // Written in two pieces to exercise the client's reassembly.
                    let (a, b) = framed.split_at(framed.len() / 2);
                    let _ = conn.write_all(a);
                    let _ = conn.flush();
                    std::thread::sleep(Duration::from_millis(5));
                    let _ = conn.write_all(b);
                }
            }
        });
        TestDnsServer {
            addr,
            log,
            stop,
            threads: vec![udp_thread, tcp_thread],
        }
    }

    pub fn queries(&self) -> Vec<(&'static str, String, u16)> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for TestDnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The datagrams to send back for `query`, in order (over TCP only the last is sent).
fn answer(
    query: &[u8],
    zone: &HashMap<(String, u16), Behaviour>,
    over_tcp: bool,
    log: &QueryLog,
) -> Vec<Vec<u8>> {
    let Some((name, qtype, good)) = reply(query, zone, over_tcp, log) else {
        return Vec::new();
    };
    let qlen = query.len() - 12; // our client sends only the question after the header
    match zone.get(&(name.clone(), qtype)) {
        Some(Behaviour::Hostile(_)) if !over_tcp => {
            // The fakes point elsewhere (the last 4 bytes are the last A record's
            // address), so accepting any of them would show in the result.
            let mut fake = good.clone();
            let end = fake.len();
            fake[end - 4..].copy_from_slice(&[203, 0, 113, 66]);
            let mut wrong_id = fake.clone();
            wrong_id[0] ^= 0xFF;
            let mut wrong_question = fake.clone();
            wrong_question[13] = if wrong_question[13] == b'z' {
                b'y'
            } else {
                b'z'
            };
            let mut looped = fake;
            let owner = 12 + qlen;
            looped[owner..owner + 2].copy_from_slice(&(0xC000u16 | owner as u16).to_be_bytes());
            vec![
                b"\x12\x34 not dns at all".to_vec(),
                wrong_id,
                wrong_question,
                looped,
                good,
            ]
        }
        Some(Behaviour::SpoofOnly(_)) => {
            let mut wrong_id = good;
            wrong_id[0] ^= 0xFF;
            vec![wrong_id]
        }
        Some(Behaviour::TcpGarbage) if over_tcp => vec![b"\xff\xff garbage".to_vec()],
        _ => vec![good],
    }
}

/// Parses the (uncompressed) question of a query and builds the honest reply.
fn reply(
    query: &[u8],
    zone: &HashMap<(String, u16), Behaviour>,
    over_tcp: bool,
    log: &QueryLog,
) -> Option<(String, u16, Vec<u8>)> {
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*query.get(pos)?);
        if len == 0 {
            pos += 1;
            break;
        }
        labels
            .push(String::from_utf8_lossy(query.get(pos + 1..pos + 1 + len)?).to_ascii_lowercase());
        pos += 1 + len;
    }
    let qtype = u16::from_be_bytes([*query.get(pos)?, *query.get(pos + 1)?]);
    let question = query.get(12..pos + 4)?;
    let name = labels.join(".");
    log.lock()
        .unwrap()
        .push((if over_tcp { "tcp" } else { "udp" }, name.clone(), qtype));

    let (rcode, tc, records): (u16, bool, &[Data]) = match zone.get(&(name.clone(), qtype)) {
        None => (0, false, &[]),
        Some(Behaviour::Answer(r)) => (0, false, r),
        Some(Behaviour::NxDomain) => (3, false, &[]),
        Some(Behaviour::ServFail) => (2, false, &[]),
        Some(Behaviour::Silent) => return None,
        Some(Behaviour::TruncateUdp(r)) if over_tcp => (0, false, r),
        Some(Behaviour::TruncateUdp(_)) | Some(Behaviour::TcpGarbage) => (0, true, &[]),
        Some(Behaviour::Hostile(r)) | Some(Behaviour::SpoofOnly(r)) => (0, false, r),
    };
    let mut m = query.get(..2)?.to_vec();
    // QR, AA, RD copied from the query, RA, the rcode, TC when truncating.
    let rd = u16::from(query.get(2)? & 1) << 8;
    let flags: u16 = 0x8400 | rd | 0x0080 | rcode | if tc { 0x0200 } else { 0 };
    m.extend(flags.to_be_bytes());
    m.extend(1u16.to_be_bytes());
    m.extend((records.len() as u16).to_be_bytes());
    // Negative answers (NODATA, NXDOMAIN) carry the zone's SOA so they can be cached
    // (RFC 2308 §3).
    let negative = records.is_empty() && (rcode == 0 || rcode == 3) && !tc;
    m.extend(u16::from(negative).to_be_bytes());
    m.extend([0, 0]);
    m.extend(question);
    for r in records {
        m.extend([0xC0, 12]); // owner: pointer to the question name
        let (t, rdata) = rdata(r);
        m.extend(t.to_be_bytes());
        m.extend(1u16.to_be_bytes());
        m.extend(300u32.to_be_bytes());
        m.extend((rdata.len() as u16).to_be_bytes());
        m.extend(rdata);
    }
    if negative {
        m.extend(wire_name("test"));
        m.extend(6u16.to_be_bytes());
        m.extend(1u16.to_be_bytes());
        m.extend(60u32.to_be_bytes());
        let mut soa = wire_name("ns.test");
        soa.extend(wire_name("admin.test"));
        soa.extend([0u8; 16]);
        soa.extend(60u32.to_be_bytes()); // MINIMUM
        m.extend((soa.len() as u16).to_be_bytes());
        m.extend(soa);
    }
    Some((name, qtype, m))
}

fn wire_name(n: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in n.split('.').filter(|l| !l.is_empty()) {
        v.push(l.len() as u8);
        v.extend(l.bytes());
    }
    v.push(0);
    v
}

fn rdata(d: &Data) -> (u16, Vec<u8>) {
    match d {
        Data::A(ip) => (A, ip.octets().to_vec()),
        Data::Aaaa(ip) => (AAAA, ip.octets().to_vec()),
        Data::Srv {
            priority,
            weight,
            port,
            target,
        } => {
            let mut v = [*priority, *weight, *port]
                .iter()
                .flat_map(|x| x.to_be_bytes())
                .collect::<Vec<_>>();
            v.extend(wire_name(target));
            (SRV, v)
        }
        Data::Naptr {
            order,
            preference,
            services,
            replacement,
        } => {
            let mut v = [*order, *preference]
                .iter()
                .flat_map(|x| x.to_be_bytes())
                .collect::<Vec<_>>();
            v.extend([1, b'S', services.len() as u8]);
            v.extend(services.bytes());
            v.push(0);
            v.extend(wire_name(replacement));
            (NAPTR, v)
        }
    }
}

pub fn srv(priority: u16, weight: u16, port: u16, target: &str) -> Data {
    Data::Srv {
        priority,
        weight,
        port,
        target: target.into(),
    }
}

pub fn naptr(order: u16, preference: u16, services: &str, replacement: &str) -> Data {
    Data::Naptr {
        order,
        preference,
        services: services.into(),
        replacement: replacement.into(),
    }
}

pub fn a(ip: &str) -> Data {
    Data::A(ip.parse().unwrap())
}

pub fn aaaa(ip: &str) -> Data {
    Data::Aaaa(ip.parse().unwrap())
}
