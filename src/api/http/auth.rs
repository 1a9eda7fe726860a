//! HTTP authentication of the click-to-call page: Digest (RFC 7616, SHA-256 and MD5,
//! qop=auth) as the spec promises, and Basic (RFC 7617) as the original sent, for the
//! user `admin`.
//!
//! Nonces are stateless (RFC 7616 §3.3 suggests a time stamp and a keyed hash): the issue
//! time in milliseconds and an HMAC-SHA-256 of it under a per-process random key. Only the
//! highest nonce-count per nonce is remembered, in a bounded map, to refuse replays.

// The fuzz targets in fuzz/ reach this parser through `crate::fuzzing` (built with
// `--cfg fuzzing`): its items stay `pub` for that, unreachable otherwise.
#![cfg_attr(not(fuzzing), allow(unreachable_pub))]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use log::{debug, info};
use openssl::error::ErrorStack;
use openssl::hash::{MessageDigest, hash};
use openssl::memcmp;
use openssl::pkey::PKey;
use openssl::sign::Signer;

/// The only user (the spec: "The username is hardcoded to be admin").
pub(crate) const USER: &str = "admin";
/// Nonces whose counts are remembered at once; beyond it the oldest are forgotten and
/// nonces as old as those become stale.
const MAX_TRACKED_NONCES: usize = 4096;
/// Clock skew tolerated for a nonce time stamp from the future (several listeners share
/// the key, and the clock can step).
const FUTURE_SLACK_MS: u64 = 5_000;
/// Hex digits of the nonce's MAC (128 bits).
const MAC_HEX: usize = 32;
/// Hex digits of the nonce's time stamp and sequence number.
const STAMP_HEX: usize = 16 + 8;

/// The result of checking a request's `Authorization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Access granted; for Digest, the `Authentication-Info` value to send (RFC 7616 §3.5).
    Granted { info: Option<String> },
    /// Challenge again; `stale` when a valid digest used an expired nonce (RFC 7616 §3.3).
    Denied { stale: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            Algorithm::Md5 => MessageDigest::md5(),
            Algorithm::Sha256 => MessageDigest::sha256(),
        }
    }

    /// H(data) as lower-case hex (RFC 7616 §3.4).
    fn h(self, data: &str) -> Option<String> {
        hash(self.digest(), data.as_bytes()).ok().map(|d| hex(&d))
    }
}

/// Highest nonce-count seen per nonce.
struct NonceCounts {
    counts: HashMap<String, (u64, u32)>,
    /// Nonces issued at or before this time whose counts were forgotten: refused as stale.
    forgotten_up_to: u64,
}

/// Checks credentials and builds challenges.
pub struct Authenticator {
    realm: String,
    password: String,
    key: Vec<u8>,
    opaque: String,
    lifetime_ms: u64,
    sequence: AtomicU32,
    seen: Mutex<NonceCounts>,
}

impl Authenticator {
    /// Draws the per-process nonce key.
    pub fn new(
        realm: &str,
        password: &str,
        lifetime: Duration,
    ) -> Result<Authenticator, ErrorStack> {
        let mut key = vec![0u8; 32];
        openssl::rand::rand_bytes(&mut key)?;
        let opaque = hex(&hmac(&key, b"opaque")?)
            .get(..MAC_HEX)
            .unwrap_or_default()
            .to_owned();
        Ok(Authenticator {
            realm: realm.to_owned(),
            password: password.to_owned(),
            key,
            opaque,
            lifetime_ms: u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX),
            sequence: AtomicU32::new(0),
            seen: Mutex::new(NonceCounts {
                counts: HashMap::new(),
                forgotten_up_to: 0,
            }),
        })
    }

    /// `WWW-Authenticate` values, the preferred first (RFC 7616 §3.7): SHA-256, MD5, Basic.
    pub fn challenges(&self, stale: bool) -> Vec<String> {
        let realm = quote(&self.realm);
        let mut out = Vec::with_capacity(3);
        match self.nonce(now_ms()) {
            Some(nonce) => {
                for alg in [Algorithm::Sha256, Algorithm::Md5] {
                    out.push(format!(
                        "Digest realm={realm}, qop=\"auth\", algorithm={}, nonce=\"{nonce}\", opaque=\"{}\"{}",
                        alg.name(),
                        self.opaque,
                        if stale { ", stale=true" } else { "" }
                    ));
                }
            }
            None => {
                info!(target: "api::http", "cannot compute a digest nonce; offering Basic only")
            }
        }
        out.push(format!("Basic realm={realm}, charset=\"UTF-8\""));
        out
    }

    /// Checks an `Authorization` value for a request `method` on `target`.
    pub fn check(
        &self,
        authorization: Option<&str>,
        method: &str,
        target: &str,
        peer: SocketAddr,
    ) -> AuthOutcome {
        self.check_at(authorization, method, target, peer, now_ms())
    }

    fn check_at(
        &self,
        authorization: Option<&str>,
        method: &str,
        target: &str,
        peer: SocketAddr,
        now: u64,
    ) -> AuthOutcome {
        let Some(value) = authorization else {
            debug!(target: "api::http", "{peer}: no credentials, challenging");
            return AuthOutcome::Denied { stale: false };
        };
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let result = if scheme.eq_ignore_ascii_case("Basic") {
            self.check_basic(rest.trim())
        } else if scheme.eq_ignore_ascii_case("Digest") {
            self.check_digest(rest, method, target, now)
        } else {
            Err("unsupported authentication scheme")
        };
        match result {
            Ok(outcome) => {
                if let AuthOutcome::Denied { stale: true } = outcome {
                    debug!(target: "api::http", "{peer}: stale digest nonce");
                }
                outcome
            }
            Err(why) => {
                info!(target: "api::http", "{peer}: authentication failed: {why}");
                AuthOutcome::Denied { stale: false }
            }
        }
    }

    fn check_basic(&self, credentials: &str) -> Result<AuthOutcome, &'static str> {
        let decoded =
            openssl::base64::decode_block(credentials).map_err(|_| "bad Basic credentials")?;
        let decoded = String::from_utf8(decoded).map_err(|_| "bad Basic credentials")?;
        let (user, password) = decoded.split_once(':').ok_or("bad Basic credentials")?;
        if user != USER {
            return Err("unknown user");
        }
        if !secrets_equal(password, &self.password) {
            return Err("wrong password");
        }
        Ok(AuthOutcome::Granted { info: None })
    }

    fn check_digest(
        &self,
        params: &str,
        method: &str,
        target: &str,
        now: u64,
    ) -> Result<AuthOutcome, &'static str> {
        let params = parse_auth_params(params).ok_or("malformed Digest credentials")?;
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let algorithm = match get("algorithm") {
            // RFC 7616 §3.4: absent means MD5.
            None => Algorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("MD5") => Algorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("SHA-256") => Algorithm::Sha256,
            Some(_) => return Err("unsupported digest algorithm"),
        };
        let username = get("username").ok_or("no username")?;
        let realm = get("realm").ok_or("no realm")?;
        let nonce = get("nonce").ok_or("no nonce")?;
        let uri = get("uri").ok_or("no uri")?;
        let response = get("response").ok_or("no response")?;
        let qop = get("qop").ok_or("no qop")?;
        let nc = get("nc").ok_or("no nc")?;
        let cnonce = get("cnonce").ok_or("no cnonce")?;
        if get("userhash").is_some_and(|u| u.eq_ignore_ascii_case("true")) {
            return Err("userhash not offered");
        }
        if username != USER {
            return Err("unknown user");
        }
        if realm != self.realm {
            return Err("wrong realm");
        }
        if get("opaque").is_some_and(|o| o != self.opaque) {
            return Err("wrong opaque");
        }
        if qop != "auth" {
            return Err("unsupported qop");
        }
        // RFC 7616 §3.4.6: the uri must designate the requested resource.
        if uri != target {
            return Err("uri does not match the request");
        }
        // RFC 7616 §3.4: nc is 8 hex digits.
        if nc.len() != 8 {
            return Err("malformed nc");
        }
        let count = u32::from_str_radix(nc, 16).map_err(|_| "malformed nc")?;
        let issued = self.verify_nonce(nonce).ok_or("unknown nonce")?;

        let ha1 = algorithm
            .h(&format!("{username}:{realm}:{}", self.password))
            .ok_or("hash failure")?;
        let ha2 = algorithm
            .h(&format!("{method}:{uri}"))
            .ok_or("hash failure")?;
        let expected = algorithm
            .h(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"))
            .ok_or("hash failure")?;
        if !secrets_equal(&response.to_ascii_lowercase(), &expected) {
            return Err("wrong password or digest");
        }
        if now.saturating_sub(issued) > self.lifetime_ms {
            return Ok(AuthOutcome::Denied { stale: true });
        }
        if !self.record_count(nonce, issued, count)? {
            return Ok(AuthOutcome::Denied { stale: true });
        }
        // RFC 7616 §3.5: rspauth proves the server knows the secret too (A2 without method).
        let rsp_ha2 = algorithm.h(&format!(":{uri}")).ok_or("hash failure")?;
        let rspauth = algorithm
            .h(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{rsp_ha2}"))
            .ok_or("hash failure")?;
        Ok(AuthOutcome::Granted {
            info: Some(format!(
                "rspauth=\"{rspauth}\", qop=auth, nc={nc}, cnonce={}",
                quote(cnonce)
            )),
        })
    }

    /// Accepts `count` for `nonce` only if it is higher than any seen before. Ok(false)
    /// when the nonce's counts were forgotten (the client must fetch a new one).
    fn record_count(&self, nonce: &str, issued: u64, count: u32) -> Result<bool, &'static str> {
        let mut seen = self.seen.lock().map_err(|_| "nonce table unavailable")?;
        if let Some((_, last)) = seen.counts.get_mut(nonce) {
            if count <= *last {
                return Err("replayed nonce count");
            }
            *last = count;
            return Ok(true);
        }
        if issued <= seen.forgotten_up_to {
            return Ok(false);
        }
        if seen.counts.len() >= MAX_TRACKED_NONCES {
            let now = now_ms();
            let lifetime = self.lifetime_ms;
            seen.counts
                .retain(|_, (t, _)| now.saturating_sub(*t) <= lifetime);
            // Still full: forget the oldest half; their nonces become stale.
            if seen.counts.len() >= MAX_TRACKED_NONCES {
                let mut times: Vec<u64> = seen.counts.values().map(|(t, _)| *t).collect();
                times.sort_unstable();
                let cut = times.get(times.len() / 2).copied().unwrap_or(0);
                seen.counts.retain(|_, (t, _)| *t > cut);
                seen.forgotten_up_to = seen.forgotten_up_to.max(cut);
                if issued <= cut {
                    return Ok(false);
                }
            }
        }
        seen.counts.insert(nonce.to_owned(), (issued, count));
        Ok(true)
    }

    /// `<16 hex digits: issue time in ms><8 hex digits: sequence><32 hex digits: HMAC>`.
    /// The sequence number keeps two challenges of the same millisecond apart, so two
    /// clients never share a nonce (and its nonce-counts).
    fn nonce(&self, issued: u64) -> Option<String> {
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed);
        self.sign_nonce(&format!("{issued:016x}{seq:08x}"))
    }

    fn sign_nonce(&self, stamp: &str) -> Option<String> {
        let mac = hmac(&self.key, stamp.as_bytes()).ok()?;
        Some(format!("{stamp}{}", hex(&mac).get(..MAC_HEX)?))
    }

    /// The issue time of a nonce this process made, `None` for any other string.
    fn verify_nonce(&self, nonce: &str) -> Option<u64> {
        if nonce.len() != STAMP_HEX + MAC_HEX || !nonce.is_ascii() {
            return None;
        }
        let issued = u64::from_str_radix(nonce.get(..16)?, 16).ok()?;
        let expected = self.sign_nonce(nonce.get(..STAMP_HEX)?)?;
        if !memcmp::eq(expected.as_bytes(), nonce.as_bytes()) {
            return None;
        }
        (issued <= now_ms().saturating_add(FUTURE_SLACK_MS)).then_some(issued)
    }
}

/// Compares secrets in constant time: equal-length digests of both, so neither the
/// content nor the length of the secret leaks through timing.
fn secrets_equal(given: &str, expected: &str) -> bool {
    match (
        hash(MessageDigest::sha256(), given.as_bytes()),
        hash(MessageDigest::sha256(), expected.as_bytes()),
    ) {
        (Ok(a), Ok(b)) => memcmp::eq(&a, &b),
        _ => false,
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Result<Vec<u8>, ErrorStack> {
    let pkey = PKey::hmac(key)?;
    let mut signer = Signer::new(MessageDigest::sha256(), &pkey)?;
    signer.update(data)?;
    signer.sign_to_vec()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A quoted-string (RFC 9110 §5.6.4).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `name=value` pairs of a credentials value (RFC 9110 §11.2: auth-param = token BWS "="
/// BWS ( token / quoted-string ), comma separated). Names are lower-cased.
pub fn parse_auth_params(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars
            .peek()
            .is_some_and(|c| *c == ',' || *c == ' ' || *c == '\t')
        {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ' ' || c == '\t' {
                break;
            }
            name.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        if chars.next() != Some('=') || name.is_empty() {
            return None;
        }
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c == ' ' || c == '\t' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        if out.len() >= 32 {
            return None;
        }
        out.push((name.to_ascii_lowercase(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
        std::net::Ipv4Addr::LOCALHOST,
        1,
    ));

    fn auth() -> Authenticator {
        Authenticator::new("clicktocall", "s3cret", Duration::from_secs(300)).expect("auth")
    }

    fn h(alg: Algorithm, s: &str) -> String {
        alg.h(s).expect("hash")
    }

    /// A client's Authorization value per RFC 7616 §3.4.1, computed independently.
    fn digest(
        alg: Algorithm,
        nonce: &str,
        opaque: &str,
        password: &str,
        nc: &str,
        uri: &str,
    ) -> String {
        let ha1 = h(alg, &format!("admin:clicktocall:{password}"));
        let ha2 = h(alg, &format!("GET:{uri}"));
        let resp = h(alg, &format!("{ha1}:{nonce}:{nc}:abcdef:auth:{ha2}"));
        format!(
            "Digest username=\"admin\", realm=\"clicktocall\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm={}, response=\"{resp}\", qop=auth, nc={nc}, cnonce=\"abcdef\", opaque=\"{opaque}\"",
            alg.name()
        )
    }

    fn challenge_param(challenge: &str, name: &str) -> String {
        let params =
            parse_auth_params(challenge.strip_prefix("Digest ").expect("digest")).expect("params");
        params
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .expect(name)
    }

    #[test]
    fn rfc_7616_md5_example_response() {
        // RFC 7616 §3.9.1, the MD5 example: the computation matches the published value.
        let alg = Algorithm::Md5;
        let ha1 = h(alg, "Mufasa:http-auth@example.org:Circle of Life");
        let ha2 = h(alg, "GET:/dir/index.html");
        let resp = h(
            alg,
            &format!(
                "{ha1}:7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v:00000001:f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ:auth:{ha2}"
            ),
        );
        assert_eq!(resp, "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn rfc_7616_sha256_example_response() {
        let alg = Algorithm::Sha256;
        let ha1 = h(alg, "Mufasa:http-auth@example.org:Circle of Life");
        let ha2 = h(alg, "GET:/dir/index.html");
        let resp = h(
            alg,
            &format!(
                "{ha1}:7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v:00000001:f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ:auth:{ha2}"
            ),
        );
        assert_eq!(
            resp,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn challenges_offer_sha256_then_md5_then_basic() {
        let c = auth().challenges(false);
        assert_eq!(c.len(), 3);
        assert!(c[0].starts_with(
            "Digest realm=\"clicktocall\", qop=\"auth\", algorithm=SHA-256, nonce=\""
        ));
        assert!(c[1].contains("algorithm=MD5"));
        assert_eq!(c[2], "Basic realm=\"clicktocall\", charset=\"UTF-8\"");
        assert!(!c[0].contains("stale"));
        assert!(auth().challenges(true)[0].ends_with(", stale=true"));
    }

    #[test]
    fn digest_sha256_and_md5_are_granted_with_rspauth() {
        let a = auth();
        for alg in [Algorithm::Sha256, Algorithm::Md5] {
            let c = a.challenges(false);
            let nonce = challenge_param(&c[0], "nonce");
            let opaque = challenge_param(&c[0], "opaque");
            let value = digest(
                alg,
                &nonce,
                &opaque,
                "s3cret",
                "00000001",
                "/clicktocall.html?a=b",
            );
            match a.check(Some(&value), "GET", "/clicktocall.html?a=b", PEER) {
                AuthOutcome::Granted { info: Some(info) } => {
                    assert!(info.starts_with("rspauth=\""))
                }
                other => panic!("{alg:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn wrong_password_uri_or_user_is_denied() {
        let a = auth();
        let c = a.challenges(false);
        let nonce = challenge_param(&c[0], "nonce");
        let opaque = challenge_param(&c[0], "opaque");
        let denied = AuthOutcome::Denied { stale: false };
        let bad = digest(
            Algorithm::Sha256,
            &nonce,
            &opaque,
            "wrong",
            "00000001",
            "/clicktocall.html",
        );
        assert_eq!(
            a.check(Some(&bad), "GET", "/clicktocall.html", PEER),
            denied
        );
        let other_uri = digest(
            Algorithm::Sha256,
            &nonce,
            &opaque,
            "s3cret",
            "00000001",
            "/index.html",
        );
        assert_eq!(
            a.check(Some(&other_uri), "GET", "/clicktocall.html", PEER),
            denied
        );
        let bob = digest(Algorithm::Md5, &nonce, &opaque, "s3cret", "00000001", "/x")
            .replace("\"admin\"", "\"bob\"");
        assert_eq!(a.check(Some(&bob), "GET", "/x", PEER), denied);
        let forged = digest(
            Algorithm::Md5,
            "000000000000000100000000ffffffffffffffffffffffffffffffff",
            &opaque,
            "s3cret",
            "00000001",
            "/x",
        );
        assert_eq!(a.check(Some(&forged), "GET", "/x", PEER), denied);
        assert_eq!(a.check(None, "GET", "/x", PEER), denied);
        assert_eq!(a.check(Some("Bearer x"), "GET", "/x", PEER), denied);
    }

    #[test]
    fn a_replayed_nonce_count_is_refused_and_a_higher_one_accepted() {
        let a = auth();
        let c = a.challenges(false);
        let nonce = challenge_param(&c[0], "nonce");
        let opaque = challenge_param(&c[0], "opaque");
        let first = digest(
            Algorithm::Sha256,
            &nonce,
            &opaque,
            "s3cret",
            "00000001",
            "/x",
        );
        assert!(matches!(
            a.check(Some(&first), "GET", "/x", PEER),
            AuthOutcome::Granted { .. }
        ));
        assert_eq!(
            a.check(Some(&first), "GET", "/x", PEER),
            AuthOutcome::Denied { stale: false }
        );
        let second = digest(
            Algorithm::Sha256,
            &nonce,
            &opaque,
            "s3cret",
            "00000002",
            "/x",
        );
        assert!(matches!(
            a.check(Some(&second), "GET", "/x", PEER),
            AuthOutcome::Granted { .. }
        ));
    }

    #[test]
    fn an_expired_nonce_with_a_valid_digest_is_stale() {
        let a = auth();
        let c = a.challenges(false);
        let nonce = challenge_param(&c[0], "nonce");
        let opaque = challenge_param(&c[0], "opaque");
        let value = digest(
            Algorithm::Sha256,
            &nonce,
            &opaque,
            "s3cret",
            "00000001",
            "/x",
        );
        let later = now_ms() + 301_000;
        assert_eq!(
            a.check_at(Some(&value), "GET", "/x", PEER, later),
            AuthOutcome::Denied { stale: true }
        );
        // A wrong password with the same old nonce is not "stale", just wrong.
        let wrong = digest(Algorithm::Sha256, &nonce, &opaque, "nope", "00000001", "/x");
        assert_eq!(
            a.check_at(Some(&wrong), "GET", "/x", PEER, later),
            AuthOutcome::Denied { stale: false }
        );
    }

    #[test]
    fn basic_is_accepted_for_admin_only() {
        let a = auth();
        // "admin:s3cret", "admin:wrong", "bob:admin" as in the original's probes.
        assert_eq!(
            a.check(Some("Basic YWRtaW46czNjcmV0"), "GET", "/", PEER),
            AuthOutcome::Granted { info: None }
        );
        assert_eq!(
            a.check(Some("basic YWRtaW46czNjcmV0"), "GET", "/", PEER),
            AuthOutcome::Granted { info: None }
        );
        assert_eq!(
            a.check(Some("Basic YWRtaW46d3Jvbmc="), "GET", "/", PEER),
            AuthOutcome::Denied { stale: false }
        );
        assert_eq!(
            a.check(Some("Basic Ym9iOmFkbWlu"), "GET", "/", PEER),
            AuthOutcome::Denied { stale: false }
        );
        assert_eq!(
            a.check(Some("Basic !!!"), "GET", "/", PEER),
            AuthOutcome::Denied { stale: false }
        );
    }

    #[test]
    fn the_originals_digest_probe_is_refused() {
        let a = auth();
        let v = "Digest username=\"admin\", realm=\"vm\", nonce=\"x\", uri=\"/clicktocall.html\", response=\"00\"";
        assert_eq!(
            a.check(Some(v), "GET", "/clicktocall.html", PEER),
            AuthOutcome::Denied { stale: false }
        );
    }

    #[test]
    fn auth_params_parse_tokens_and_quoted_strings() {
        let p = parse_auth_params(r#"username="ad\"min", qop=auth ,nc=00000001,realm = "a,b""#)
            .expect("ok");
        assert_eq!(
            p,
            vec![
                ("username".into(), "ad\"min".into()),
                ("qop".into(), "auth".into()),
                ("nc".into(), "00000001".into()),
                ("realm".into(), "a,b".into()),
            ]
        );
        assert_eq!(parse_auth_params("x=\"unterminated"), None);
        assert_eq!(parse_auth_params("novalue"), None);
    }
}
