//! Digest authentication as a client (RFC 3261 §22.2, RFC 7616 §3.4, RFC 8760): read a
//! 401/407 challenge, answer it, and remember it per dialog so later requests go out
//! pre-authorised (RFC 3261 §22.3). Sans-IO except for the cnonce, which comes from
//! OpenSSL's random generator.

use std::fmt;

use openssl::hash::{MessageDigest, hash};

use crate::sip::msg::{Auth, Message, write_quoted};

/// `SipAuthUser`, `SipAuthPassword`, `SipAuthRealm`: what we answer challenges with.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub user: String,
    pub password: String,
    /// Only challenges of this realm get the credentials; `None`: every realm.
    pub realm: Option<String>,
}

impl fmt::Debug for Credentials {
    // The password is never logged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"********")
            .field("realm", &self.realm)
            .finish()
    }
}

impl Credentials {
    fn serve(&self, realm: &str) -> bool {
        self.realm.as_deref().is_none_or(|r| r == realm)
    }
}

/// Who challenged: the UAS (401, WWW-Authenticate → Authorization) or a proxy (407,
/// Proxy-Authenticate → Proxy-Authorization), RFC 3261 §22.2, §22.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Challenger {
    Server,
    Proxy,
}

impl Challenger {
    fn challenge_header(self) -> &'static str {
        match self {
            Challenger::Server => "WWW-Authenticate",
            Challenger::Proxy => "Proxy-Authenticate",
        }
    }

    pub(crate) fn credentials_header(self) -> &'static str {
        match self {
            Challenger::Server => "Authorization",
            Challenger::Proxy => "Proxy-Authorization",
        }
    }
}

/// The algorithms we answer (RFC 7616 §3.2, RFC 8760 §2.1); a `-sess` variant hashes the
/// nonce and cnonce into A1 (RFC 7616 §3.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    fn parse(s: &str) -> Option<Algorithm> {
        [
            ("MD5", Algorithm::Md5),
            ("MD5-sess", Algorithm::Md5Sess),
            ("SHA-256", Algorithm::Sha256),
            ("SHA-256-sess", Algorithm::Sha256Sess),
        ]
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s))
        .map(|(_, a)| a)
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn hex(self, data: &str) -> String {
        let md = match self {
            Algorithm::Md5 | Algorithm::Md5Sess => MessageDigest::md5(),
            Algorithm::Sha256 | Algorithm::Sha256Sess => MessageDigest::sha256(),
        };
        // Hashing bytes in memory fails only if OpenSSL itself is broken; an empty
        // response then fails the authentication, which the peer reports.
        hash(md, data.as_bytes())
            .map(|d| d.iter().map(|b| format!("{b:02x}")).collect())
            .unwrap_or_default()
    }

    fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }
}

/// One Digest challenge we can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub challenger: Challenger,
    pub realm: String,
    pub nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    /// The challenge offered qop `auth` (RFC 7616 §3.3); without qop the RFC 2069 form.
    qop_auth: bool,
    /// RFC 7616 §3.3: the credentials were right, only the nonce was old.
    pub stale: bool,
}

impl Challenge {
    /// A `Digest` challenge value; `None` for another scheme, a missing realm or nonce, an
    /// algorithm we lack, or a qop list without `auth` (we do not hash bodies: auth-int).
    pub(crate) fn parse(challenger: Challenger, value: &str) -> Option<Challenge> {
        let (scheme, params) = params_of(value)?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return None;
        }
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let algorithm = match get("algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::parse(a)?,
        };
        let qop_auth = match get("qop") {
            None => false,
            Some(list) => {
                if !list
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth"))
                {
                    return None;
                }
                true
            }
        };
        Some(Challenge {
            challenger,
            realm: get("realm")?.to_string(),
            nonce: get("nonce")?.to_string(),
            opaque: get("opaque").map(str::to_string),
            algorithm,
            qop_auth,
            stale: get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The credentials value answering this challenge for `method` and `uri` (RFC 7616
    /// §3.4.1; RFC 3261 §22.4: the digest-uri is the Request-URI), with nonce count `nc`.
    pub(crate) fn answer(
        &self,
        creds: &Credentials,
        method: &str,
        uri: &str,
        nc: u32,
        cnonce: &str,
    ) -> String {
        let alg = self.algorithm;
        let mut ha1 = alg.hex(&format!("{}:{}:{}", creds.user, self.realm, creds.password));
        if alg.is_sess() {
            ha1 = alg.hex(&format!("{ha1}:{}:{cnonce}", self.nonce));
        }
        let ha2 = alg.hex(&format!("{method}:{uri}"));
        let nc = format!("{nc:08x}");
        let response = if self.qop_auth {
            alg.hex(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce))
        } else {
            alg.hex(&format!("{ha1}:{}:{ha2}", self.nonce))
        };
        let mut out = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\", algorithm={}",
            quote(&creds.user),
            quote(&self.realm),
            quote(&self.nonce),
            quote(uri),
            alg.name()
        );
        if self.qop_auth || alg.is_sess() {
            out.push_str(&format!(", cnonce=\"{cnonce}\""));
        }
        if self.qop_auth {
            out.push_str(&format!(", qop=auth, nc={nc}"));
        }
        if let Some(opaque) = &self.opaque {
            out.push_str(&format!(", opaque={}", quote(opaque)));
        }
        out
    }
}

/// A challenge answered in this dialog, and how many times its nonce was used.
#[derive(Debug, Clone)]
struct Cached {
    challenge: Challenge,
    nc: u32,
}

/// The challenges a dialog has met, one per challenger and realm (RFC 3261 §22.3: a UAC
/// caches credentials per realm and reuses them for later requests to the same
/// destination).
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthCache {
    entries: Vec<Cached>,
}

impl AuthCache {
    /// Adds credentials for every challenge met so far to `req` (its old credentials are
    /// replaced). Each use counts the nonce once more (RFC 7616 §3.4: nc).
    pub(crate) fn authorize(&mut self, req: &mut Message, creds: &Credentials) {
        if self.entries.is_empty() {
            return;
        }
        req.remove_header("Authorization");
        req.remove_header("Proxy-Authorization");
        let (Some(method), Some(uri)) = (req.method(), req.request_uri()) else {
            return;
        };
        let (method, uri) = (method.as_str().to_string(), uri.to_string());
        for entry in &mut self.entries {
            entry.nc += 1;
            let value = entry
                .challenge
                .answer(creds, &method, &uri, entry.nc, &new_cnonce());
            req.push_header(entry.challenge.challenger.credentials_header(), &value);
        }
    }

    /// Learns the challenges of a 401/407 to `sent`. True when the request is worth
    /// sending again with credentials: every challenged realm is ours and was not already
    /// answered in `sent` — unless the challenge says only the nonce was stale (RFC 7616
    /// §3.3). False when the credentials were refused, no realm is ours, or no challenge
    /// can be answered: the challenge is then the request's failure (RFC 3261 §22.2).
    pub(crate) fn learn(&mut self, resp: &Message, sent: &Message, creds: &Credentials) -> bool {
        let challenger = match resp.status() {
            Some(401) => Challenger::Server,
            Some(407) => Challenger::Proxy,
            _ => return false,
        };
        let mut learned: Vec<Challenge> = Vec::new();
        for value in resp.header_values(challenger.challenge_header()) {
            let Some(ch) = Challenge::parse(challenger, value) else {
                continue;
            };
            // RFC 8760 §2.4: of several challenges for one realm, the strongest algorithm.
            match learned.iter_mut().find(|c| c.realm == ch.realm) {
                Some(c) if c.algorithm < ch.algorithm => *c = ch,
                Some(_) => {}
                None => learned.push(ch),
            }
        }
        if learned.is_empty() {
            return false;
        }
        for ch in &learned {
            if !creds.serve(&ch.realm) || (answered(sent, ch) && !ch.stale) {
                return false;
            }
        }
        for ch in learned {
            self.entries.retain(|e| {
                e.challenge.challenger != ch.challenger || e.challenge.realm != ch.realm
            });
            self.entries.push(Cached {
                challenge: ch,
                nc: 0,
            });
        }
        true
    }
}

/// True when `sent` carried credentials for the challenge's realm.
fn answered(sent: &Message, ch: &Challenge) -> bool {
    sent.header_values(ch.challenger.credentials_header())
        .filter_map(|v| params_of(v).map(|(_, params)| params))
        .any(|params| {
            params
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case("realm") && *v == ch.realm)
        })
}

/// A fresh client nonce: 16 random bytes from OpenSSL, in hex (RFC 7616 §3.4: the
/// cnonce should be unguessable). Only a broken OpenSSL leaves it zero.
fn new_cnonce() -> String {
    let mut b = [0u8; 16];
    let _ = openssl::rand::rand_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A quoted-string (RFC 3261 §25.1), as the message layer writes them.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_quoted(&mut out, s);
    out
}

/// The scheme and the `name=value` pairs of a challenge or credentials, values unquoted,
/// as the message layer reads them (RFC 3261 §25.1, `sip::msg::Auth`).
fn params_of(value: &str) -> Option<(String, Vec<(String, String)>)> {
    let auth = Auth::parse(value).ok()?;
    let params = auth
        .params
        .iter()
        .map(|(name, _)| (name.clone(), auth.param(name).unwrap_or_default()))
        .collect();
    Some((auth.scheme, params))
}

#[cfg(test)]
mod tests;
