//! Authentication headers: WWW-Authenticate, Proxy-Authenticate (challenges) and
//! Authorization, Proxy-Authorization (credentials), RFC 3261 §20.7, §20.27, §20.28,
//! §20.44, §25.1. Their values hold commas between parameters, so each header line is one
//! challenge or one set of credentials.

use std::fmt;
use std::str::FromStr;

use super::error::ParseError;
use super::scan::{
    comma_split, is_token, is_token_char, quoted_end, trim_ws, unquote, write_quoted,
};

/// A challenge or credentials: the scheme (`Digest`) and its `name=value` parameters.
/// Values are kept as received (quoted values keep their quotes); [`Auth::param`] unquotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Auth {
    /// Parse `Scheme name=value, name="value", ...`.
    pub fn parse(s: &str) -> Result<Auth, ParseError> {
        let s = trim_ws(s);
        let end = s.find([' ', '\t']).unwrap_or(s.len());
        let (scheme, rest) = s.split_at(end);
        if !is_token(scheme) {
            return Err(ParseError::syntax("bad auth scheme"));
        }
        let mut params = Vec::new();
        let rest = trim_ws(rest);
        if !rest.is_empty() {
            for p in comma_split(rest) {
                let (n, v) = p
                    .split_once('=')
                    .ok_or_else(|| ParseError::syntax("auth-param without '='"))?;
                let (n, v) = (trim_ws(n), trim_ws(v));
                let value_ok = if v.starts_with('"') {
                    quoted_end(v)? == v.len()
                } else {
                    // token68-ish values (base64 '/' and '=' padding) are tolerated.
                    !v.is_empty()
                        && v.bytes()
                            .all(|b| is_token_char(b) || b == b'/' || b == b'=')
                };
                if !is_token(n) || !value_ok {
                    return Err(ParseError::syntax("bad auth-param"));
                }
                params.push((n.to_string(), v.to_string()));
            }
        }
        Ok(Auth {
            scheme: scheme.to_string(),
            params,
        })
    }

    /// A new Digest challenge or credentials with no parameters yet.
    pub fn digest() -> Auth {
        Auth {
            scheme: "Digest".into(),
            params: Vec::new(),
        }
    }

    /// The parameter's value with quotes and quoted-pairs removed (names case-insensitive).
    pub fn param(&self, name: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| {
                if v.starts_with('"') {
                    unquote(v)
                } else {
                    v.clone()
                }
            })
    }

    /// Add a parameter written as a quoted string (realm, nonce, uri, response, ...).
    pub fn push_quoted(&mut self, name: &str, value: &str) {
        let mut q = String::with_capacity(value.len() + 2);
        write_quoted(&mut q, value);
        self.params.push((name.to_string(), q));
    }

    /// Add a parameter written as a token (algorithm, qop in credentials, nc, ...).
    pub fn push_token(&mut self, name: &str, value: &str) {
        self.params.push((name.to_string(), value.to_string()));
    }

    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("Digest")
    }
}

impl fmt::Display for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        for (i, (n, v)) in self.params.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { " " } else { "," })?;
        }
        Ok(())
    }
}

impl FromStr for Auth {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Auth::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_challenge_with_commas_in_quotes() {
        let a = Auth::parse(r#"Digest realm="atlanta.com", domain="sip:ss1.carrier.com", qop="auth,auth-int", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5"#).unwrap();
        assert!(a.is_digest());
        assert_eq!(a.param("QOP").as_deref(), Some("auth,auth-int"));
        assert_eq!(a.param("opaque").as_deref(), Some(""));
        assert_eq!(a.param("algorithm").as_deref(), Some("MD5"));
        assert_eq!(a.params.len(), 7);
        assert_eq!(Auth::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn building_credentials() {
        let mut c = Auth::digest();
        c.push_quoted("username", "bob");
        c.push_quoted("realm", "r\"x");
        c.push_token("nc", "00000001");
        assert_eq!(
            c.to_string(),
            r#"Digest username="bob",realm="r\"x",nc=00000001"#
        );
        assert_eq!(c.param("realm").as_deref(), Some("r\"x"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "Digest realm",
            "Digest realm=\"x",
            "Dig est",
            "Digest =x",
            "Digest a=b,,",
        ] {
            assert!(Auth::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Auth::parse("Basic").unwrap().params.len(), 0);
    }
}
