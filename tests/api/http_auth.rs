//! HTTP authentication: Digest (RFC 7616, SHA-256 and MD5) and Basic, with curl and with
//! a digest client written here from the RFC.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::support::{
    api_double::Harness, api_double::placed_eventually, api_double::refer_ok, http::HttpConn,
    http::HttpResponse, http::http_get,
};
use openssl::hash::{MessageDigest, hash};

const PWD: &str = "s3cret pass";
const C2C: &str = "/clicktocall.html?initiator=5061100&destination=5062200";

fn auth_harness(lifetime: Duration) -> Harness {
    Harness::start(|c| {
        c.http_auth = true;
        c.http_auth_password = PWD.to_owned();
        c.digest_nonce_lifetime = lifetime;
    })
}

fn hex_hash(alg: &str, s: &str) -> String {
    let md = if alg == "MD5" {
        MessageDigest::md5()
    } else {
        MessageDigest::sha256()
    };
    hash(md, s.as_bytes())
        .expect("hash")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The parameters of a `Digest` challenge.
fn challenge_params(v: &str) -> Vec<(String, String)> {
    let rest = v.strip_prefix("Digest ").expect("digest challenge");
    let mut out = Vec::new();
    let mut s = rest;
    while !s.is_empty() {
        s = s.trim_start_matches([',', ' ']);
        let Some((k, after)) = s.split_once('=') else {
            break;
        };
        let (val, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').expect("closing quote");
            (&q[..end], &q[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.push((k.trim().to_owned(), val.to_owned()));
        s = next;
    }
    out
}

fn param<'a>(params: &'a [(String, String)], k: &str) -> &'a str {
    params
        .iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {k}"))
}

/// The challenge for `alg` in a 401.
fn challenge(r: &HttpResponse, alg: &str) -> Vec<(String, String)> {
    r.all("WWW-Authenticate")
        .into_iter()
        .filter(|v| v.starts_with("Digest "))
        .map(challenge_params)
        .find(|p| param(p, "algorithm") == alg)
        .unwrap_or_else(|| panic!("no {alg} challenge in {:?}", r.all("WWW-Authenticate")))
}

struct Answer {
    header: String,
    ha1: String,
    nonce: String,
    nc: String,
    cnonce: String,
}

/// An Authorization value per RFC 7616 §3.4.1.
fn answer(ch: &[(String, String)], password: &str, nc: u32, uri: &str) -> Answer {
    let alg = param(ch, "algorithm");
    let realm = param(ch, "realm");
    let nonce = param(ch, "nonce");
    let nc = format!("{nc:08x}");
    let cnonce = "0a4f113b".to_owned();
    let ha1 = hex_hash(alg, &format!("admin:{realm}:{password}"));
    let ha2 = hex_hash(alg, &format!("GET:{uri}"));
    let response = hex_hash(alg, &format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    let header = format!(
        "Authorization: Digest username=\"admin\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm={alg}, response=\"{response}\", qop=auth, nc={nc}, cnonce=\"{cnonce}\", opaque=\"{}\"\r\n",
        param(ch, "opaque")
    );
    Answer {
        header,
        ha1,
        nonce: nonce.to_owned(),
        nc,
        cnonce,
    }
}

fn get(c: &mut HttpConn, target: &str, extra: &str) -> HttpResponse {
    c.send(&format!(
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n"
    ));
    c.read_response(false)
}

#[test]
fn the_page_without_credentials_is_challenged_with_digest_and_basic() {
    let h = auth_harness(Duration::from_secs(300));
    let placed = h.auto_answer(|_| refer_ok());
    let r = http_get(h.http, C2C, "");
    assert_eq!(r.status, 401);
    let challenges = r.all("WWW-Authenticate");
    assert_eq!(challenges.len(), 3);
    assert!(
        challenges[0]
            .starts_with("Digest realm=\"clicktocall\", qop=\"auth\", algorithm=SHA-256, ")
    );
    assert!(
        challenges[1].starts_with("Digest realm=\"clicktocall\", qop=\"auth\", algorithm=MD5, ")
    );
    assert_eq!(
        challenges[2],
        "Basic realm=\"clicktocall\", charset=\"UTF-8\""
    );
    assert!(placed.lock().expect("log").is_empty());
    // The default page is never behind authentication.
    assert_eq!(http_get(h.http, "/index.html", "").status, 200);
    assert_eq!(http_get(h.http, "/", "").status, 200);
}

#[test]
fn digest_sha256_and_md5_from_this_client_are_accepted_with_rspauth() {
    let h = auth_harness(Duration::from_secs(300));
    let placed = h.auto_answer(|_| refer_ok());
    for alg in ["SHA-256", "MD5"] {
        let mut c = HttpConn::open(h.http);
        let r = get(&mut c, C2C, "");
        let a = answer(&challenge(&r, alg), PWD, 1, C2C);
        let r = get(&mut c, C2C, &a.header);
        assert_eq!(r.status, 200, "{alg}: {}", r.head);
        assert!(
            r.body
                .contains("Initiating ClickToCall from sip:100@127.0.0.1:5061(5061100)")
        );
        // RFC 7616 §3.5: rspauth uses A2 = ":" uri.
        let rspauth = hex_hash(
            alg,
            &format!(
                "{}:{}:{}:{}:auth:{}",
                a.ha1,
                a.nonce,
                a.nc,
                a.cnonce,
                hex_hash(alg, &format!(":{C2C}"))
            ),
        );
        let info = r
            .header("Authentication-Info")
            .expect("Authentication-Info");
        assert!(
            info.starts_with(&format!("rspauth=\"{rspauth}\", qop=auth, nc={}", a.nc)),
            "{info}"
        );
    }
    placed_eventually(&placed, 2);
}

#[test]
fn a_wrong_password_is_refused() {
    let h = auth_harness(Duration::from_secs(300));
    let placed = h.auto_answer(|_| refer_ok());
    let mut c = HttpConn::open(h.http);
    let r = get(&mut c, C2C, "");
    let a = answer(&challenge(&r, "SHA-256"), "wrong", 1, C2C);
    let r = get(&mut c, C2C, &a.header);
    assert_eq!(r.status, 401);
    assert!(!r.all("WWW-Authenticate")[0].contains("stale"));
    assert!(placed.lock().expect("log").is_empty());
}

#[test]
fn a_replayed_nonce_count_is_refused() {
    let h = auth_harness(Duration::from_secs(300));
    let placed = h.auto_answer(|_| refer_ok());
    let mut c = HttpConn::open(h.http);
    let r = get(&mut c, C2C, "");
    let ch = challenge(&r, "MD5");
    let first = answer(&ch, PWD, 1, C2C);
    assert_eq!(get(&mut c, C2C, &first.header).status, 200);
    // The same request again, from another connection: refused.
    let mut other = HttpConn::open(h.http);
    assert_eq!(get(&mut other, C2C, &first.header).status, 401);
    // A higher count with the same nonce is fine.
    assert_eq!(
        get(&mut c, C2C, &answer(&ch, PWD, 2, C2C).header).status,
        200
    );
    placed_eventually(&placed, 2);
}

#[test]
fn an_expired_nonce_gets_stale_true() {
    let h = auth_harness(Duration::from_millis(300));
    let mut c = HttpConn::open(h.http);
    let r = get(&mut c, C2C, "");
    let ch = challenge(&r, "SHA-256");
    thread::sleep(Duration::from_millis(500));
    let r = get(&mut c, C2C, &answer(&ch, PWD, 1, C2C).header);
    assert_eq!(r.status, 401);
    for v in r
        .all("WWW-Authenticate")
        .iter()
        .filter(|v| v.starts_with("Digest"))
    {
        assert!(v.ends_with(", stale=true"), "{v}");
    }
    // The fresh nonce of that answer works.
    let r = get(
        &mut c,
        C2C,
        &answer(&challenge(&r, "SHA-256"), PWD, 1, C2C).header,
    );
    assert_eq!(r.status, 200);
}

#[test]
fn basic_credentials_of_the_original_clients_work() {
    let h = auth_harness(Duration::from_secs(300));
    h.auto_answer(|_| refer_ok());
    let good = openssl::base64::encode_block(format!("admin:{PWD}").as_bytes());
    assert_eq!(
        http_get(h.http, C2C, &format!("Authorization: Basic {good}\r\n")).status,
        200
    );
    let bad = openssl::base64::encode_block(b"admin:wrong");
    assert_eq!(
        http_get(h.http, C2C, &format!("Authorization: Basic {bad}\r\n")).status,
        401
    );
    let other = openssl::base64::encode_block(format!("bob:{PWD}").as_bytes());
    assert_eq!(
        http_get(h.http, C2C, &format!("Authorization: Basic {other}\r\n")).status,
        401
    );
}

// ---- curl ----

fn curl(args: &[&str], url: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is required for these tests (installed by .ci/run)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn curl_digest_uses_sha256_and_succeeds() {
    let h = auth_harness(Duration::from_secs(300));
    let placed = h.auto_answer(|_| refer_ok());
    // curl answers the first Digest challenge it is offered: SHA-256.
    let (relay_addr, sent) = relay(h.http, false);
    let url = format!("http://{relay_addr}{C2C}");
    assert_eq!(
        curl(&["--digest", "-u", &format!("admin:{PWD}")], &url),
        "200"
    );
    let auths = authorizations(&sent);
    assert_eq!(auths.len(), 1, "{auths:?}");
    assert!(
        auths[0].starts_with("Digest username=\"admin\"") && auths[0].contains("algorithm=SHA-256"),
        "{auths:?}"
    );
    let url = format!("http://{}{C2C}", h.http);
    assert_eq!(curl(&["--digest", "-u", "admin:wrong"], &url), "401");
    placed_eventually(&placed, 1);
}

#[test]
fn curl_digest_md5_succeeds() {
    let h = auth_harness(Duration::from_secs(300));
    let placed = h.auto_answer(|_| refer_ok());
    // curl takes the first Digest challenge, so a relay strips the SHA-256 one and curl
    // is left with MD5, as with a client that only knows MD5.
    let (relay_addr, sent) = relay(h.http, true);
    let url = format!("http://{relay_addr}{C2C}");
    assert_eq!(
        curl(&["--digest", "-u", &format!("admin:{PWD}")], &url),
        "200"
    );
    let auths = authorizations(&sent);
    assert_eq!(auths.len(), 1, "{auths:?}");
    assert!(auths[0].contains("algorithm=MD5"), "{auths:?}");
    placed_eventually(&placed, 1);
}

#[test]
fn curl_basic_succeeds() {
    let h = auth_harness(Duration::from_secs(300));
    let placed = h.auto_answer(|_| refer_ok());
    let url = format!("http://{}{C2C}", h.http);
    assert_eq!(curl(&["-u", &format!("admin:{PWD}")], &url), "200");
    assert_eq!(curl(&["-u", "admin:nope"], &url), "401");
    placed_eventually(&placed, 1);
}

/// A one-connection relay to `server` that records what the client sends and, with
/// `md5_only`, drops `algorithm=SHA-256` challenges from the responses.
fn relay(server: SocketAddr, md5_only: bool) -> (SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
    let addr = listener.local_addr().expect("addr");
    let sent = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&sent);
    thread::spawn(move || {
        let Ok((client, _)) = listener.accept() else {
            return;
        };
        let Ok(upstream) = TcpStream::connect(server) else {
            return;
        };
        let (Ok(mut from_client), Ok(mut to_server)) = (client.try_clone(), upstream.try_clone())
        else {
            return;
        };
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = from_client.read(&mut buf) {
                if n == 0 || to_server.write_all(&buf[..n]).is_err() {
                    break;
                }
                record.lock().expect("record").extend_from_slice(&buf[..n]);
            }
            let _ = to_server.shutdown(std::net::Shutdown::Write);
        });
        let mut up = HttpConn::from_stream(upstream);
        let mut client = client;
        while let Some(r) = up.try_read_response(false) {
            let head: String = r
                .head
                .split("\r\n")
                .filter(|l| {
                    !(md5_only
                        && l.starts_with("WWW-Authenticate: Digest")
                        && l.contains("algorithm=SHA-256"))
                })
                .collect::<Vec<_>>()
                .join("\r\n");
            if client
                .write_all(head.as_bytes())
                .and_then(|()| client.write_all(r.body.as_bytes()))
                .is_err()
            {
                return;
            }
        }
    });
    (addr, sent)
}

/// The Authorization values a relay saw.
fn authorizations(sent: &Arc<Mutex<Vec<u8>>>) -> Vec<String> {
    String::from_utf8_lossy(&sent.lock().expect("record"))
        .split("\r\n")
        .filter_map(|l| l.strip_prefix("Authorization: ").map(str::to_owned))
        .collect()
}
