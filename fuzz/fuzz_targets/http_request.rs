//! HTTP request heads, as one connection reads them: the framer never claims more bytes
//! than it has nor more than the head limit, and gives the same end whether the bytes
//! arrive at once, as any prefix, or growing with its `scanned` memory; a parsed head's
//! query string decodes and its `Authorization` goes through the real Basic/Digest check.
//!
//! Digest credentials cannot be guessed by the fuzzer (the nonce carries an HMAC), so two
//! placeholders let it reach the whole verification: `NONCE` in the input becomes a nonce
//! the authenticator just issued, and a `response` parameter spelled `RESPONSE` becomes
//! the digest of the credentials' own parameters under the configured password. A digest
//! that is granted must then be refused when replayed with the same nonce-count.
#![no_main]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::OnceLock;
use std::time::Duration;

use clicktocall::fuzzing::http::{AuthOutcome, Authenticator, parse_auth_params};
use clicktocall::fuzzing::http::{
    HeadError, MAX_BODY, MAX_HEAD, find_head_end, leading_empty_lines, parse_head, parse_query,
    query_param,
};
use libfuzzer_sys::fuzz_target;
use openssl::hash::{MessageDigest, hash};

const REALM: &str = "clicktocall";
const PASSWORD: &str = "admin";
const PEER: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40000));
/// Requests taken from one input, as a pipelining client would send them.
const MAX_PIPELINED: usize = 16;

fn authenticator() -> &'static Authenticator {
    static AUTH: OnceLock<Authenticator> = OnceLock::new();
    AUTH.get_or_init(|| {
        Authenticator::new(REALM, PASSWORD, Duration::from_secs(3600)).expect("authenticator")
    })
}

/// A fresh nonce from the first (SHA-256) Digest challenge.
fn fresh_nonce() -> String {
    let challenges = authenticator().challenges(false);
    let first = challenges.first().expect("a challenge");
    let params = parse_auth_params(first.strip_prefix("Digest ").expect("Digest first"))
        .expect("challenge parses");
    params
        .into_iter()
        .find(|(k, _)| k == "nonce")
        .map(|(_, v)| v)
        .expect("nonce in challenge")
}

fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

fn h(md: MessageDigest, s: &str) -> String {
    hash(md, s.as_bytes())
        .expect("hash")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The client's side of RFC 7616 §3.4.1 for a `RESPONSE` placeholder, so the fuzzer's
/// credentials can be correct; `None` when the parameters are not usable for it.
fn fill_response(authorization: &str, method: &str) -> Option<String> {
    let (scheme, rest) = authorization.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Digest") || !rest.contains("RESPONSE") {
        return None;
    }
    let params = parse_auth_params(rest)?;
    let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    if get("response") != Some("RESPONSE") {
        return None;
    }
    let md = match get("algorithm") {
        None => MessageDigest::md5(),
        Some(a) if a.eq_ignore_ascii_case("MD5") => MessageDigest::md5(),
        Some(a) if a.eq_ignore_ascii_case("SHA-256") => MessageDigest::sha256(),
        Some(_) => return None,
    };
    let (username, realm, nonce, uri) =
        (get("username")?, get("realm")?, get("nonce")?, get("uri")?);
    let (qop, nc, cnonce) = (get("qop")?, get("nc")?, get("cnonce")?);
    let ha1 = h(md, &format!("{username}:{realm}:{PASSWORD}"));
    let ha2 = h(md, &format!("{method}:{uri}"));
    let response = h(md, &format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"));
    Some(authorization.replace("RESPONSE", &response))
}

fuzz_target!(|input: &[u8]| {
    let data = if input.windows(5).any(|w| w == b"NONCE") {
        replace(input, b"NONCE", fresh_nonce().as_bytes())
    } else {
        input.to_vec()
    };

    // Framing on the whole buffer and on prefixes (a fresh scan each time).
    let mut scanned = 0;
    let whole = find_head_end(&data, &mut scanned);
    if let Ok(Some(end)) = whole {
        assert!(end > 0 && end <= data.len() && end <= MAX_HEAD, "end {end}");
    }
    for cut in [data.len() / 3, data.len() / 2, data.len().saturating_sub(1)] {
        let mut s = 0;
        if let Ok(Some(k)) = find_head_end(&data[..cut], &mut s) {
            assert_eq!(whole, Ok(Some(k)), "prefix of {cut} bytes");
        }
    }
    // Growing buffer with the scan position carried over, as the connection does;
    // the first answer that is not "need more" is the whole buffer's.
    let mut s = 0;
    let mut step = 1 + data.first().map_or(0, |b| usize::from(b % 7));
    let mut len = 0;
    while len < data.len() {
        len = (len + step).min(data.len());
        step = step * 2 + 1;
        match find_head_end(&data[..len], &mut s) {
            Ok(None) => assert!(len < data.len() || whole == Ok(None)),
            other => {
                // A limit error on a shorter buffer is also the whole one's (the scan
                // never looks past MAX_HEAD).
                assert_eq!(other, whole, "growing to {len} bytes");
                break;
            }
        }
    }

    // The connection loop: skip empty lines, frame, parse, drop the body, repeat.
    let mut buf: &[u8] = &data;
    for _ in 0..MAX_PIPELINED {
        buf = &buf[leading_empty_lines(buf)..];
        let mut scanned = 0;
        let end = match find_head_end(buf, &mut scanned) {
            Ok(Some(end)) => end,
            Ok(None) => return,
            Err(e) => {
                assert!(matches!(e.status(), 414 | 431), "{e}");
                return;
            }
        };
        let head = match parse_head(&buf[..end]) {
            Ok(head) => head,
            Err(e) => {
                let status = e.status();
                assert!((400..=505).contains(&status) && !e.to_string().is_empty());
                if let HeadError::Malformed(_) = e {
                    assert_eq!(status, 400);
                }
                return;
            }
        };
        assert!(head.content_length <= MAX_BODY);
        assert!(head.path.len() <= head.target.len());

        let pairs = parse_query(head.query.as_deref().unwrap_or(""));
        for (k, _) in &pairs {
            // Every key is found, and the first value of it wins.
            let first = pairs
                .iter()
                .find(|(k2, _)| k2 == k)
                .map(|(_, v)| v.as_str());
            assert_eq!(query_param(&pairs, k), first);
        }

        let auth = authenticator();
        let filled = head
            .authorization
            .as_deref()
            .and_then(|a| fill_response(a, &head.method));
        let authorization = filled.as_deref().or(head.authorization.as_deref());
        let outcome = auth.check(authorization, &head.method, &head.target, PEER);
        match &outcome {
            AuthOutcome::Granted { info: Some(info) } => {
                assert!(info.starts_with("rspauth=\""));
                // RFC 7616 §3.4: the same nonce-count again is a replay.
                assert!(matches!(
                    auth.check(authorization, &head.method, &head.target, PEER),
                    AuthOutcome::Denied { .. }
                ));
            }
            AuthOutcome::Granted { info: None } => {
                let scheme = authorization.and_then(|a| a.get(..6));
                assert!(scheme.is_some_and(|s| s.eq_ignore_ascii_case("Basic ")));
            }
            AuthOutcome::Denied { .. } => {}
        }
        if authorization.is_none() {
            assert_eq!(outcome, AuthOutcome::Denied { stale: false });
        }

        let Some(next) = end.checked_add(head.content_length) else {
            return;
        };
        let Some(rest) = buf.get(next..) else { return };
        buf = rest;
    }
});
