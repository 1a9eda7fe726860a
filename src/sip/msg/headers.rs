//! Typed header values that are more than a name-addr or a number: Contact lists and
//! media types (RFC 3261 §20.10, §20.15).

use std::fmt;

use super::error::ParseError;
use super::name_addr::NameAddr;
use super::params::Params;
use super::scan::{header_params, is_token, trim_ws};

/// The Contact header of a message (RFC 3261 §20.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contacts {
    /// `Contact: *` (REGISTER removing all bindings).
    Star,
    List(Vec<NameAddr>),
}

impl Contacts {
    /// The first contact, if any (the remote target of a dialog, RFC 3261 §12.1).
    pub fn first(&self) -> Option<&NameAddr> {
        match self {
            Contacts::Star => None,
            Contacts::List(v) => v.first(),
        }
    }
}

/// A media type with parameters, e.g. `application/sdp` or
/// `multipart/mixed;boundary=x` (RFC 3261 §20.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    pub mtype: String,
    pub subtype: String,
    pub params: Params,
}

impl MediaType {
    pub fn parse(s: &str) -> Result<MediaType, ParseError> {
        let s = trim_ws(s);
        let end = s.find(';').unwrap_or(s.len());
        let (ty, params) = s.split_at(end);
        let (t, st) = ty
            .split_once('/')
            .ok_or_else(|| ParseError::syntax("expected type/subtype"))?;
        let (t, st) = (trim_ws(t), trim_ws(st));
        if !is_token(t) || !is_token(st) {
            return Err(ParseError::syntax("expected type/subtype"));
        }
        let params = header_params(params)
            .map(|r| r.map(|(n, v)| (n.to_string(), v.map(str::to_string))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MediaType {
            mtype: t.to_string(),
            subtype: st.to_string(),
            params: Params(params),
        })
    }

    /// Case-insensitive comparison of type and subtype, e.g. `is("application", "sdp")`.
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.mtype.eq_ignore_ascii_case(mtype) && self.subtype.eq_ignore_ascii_case(subtype)
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.mtype, self.subtype, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_with_params() {
        let m = MediaType::parse(
            "multipart/signed ; protocol=\"application/pkcs7-signature\";boundary=x",
        )
        .unwrap();
        assert!(m.is("Multipart", "SIGNED"));
        assert_eq!(m.params.value("boundary"), Some("x"));
        assert_eq!(
            MediaType::parse("application/sdp").unwrap().to_string(),
            "application/sdp"
        );
        assert!(MediaType::parse("application").is_err());
        assert!(MediaType::parse("a/b;").is_err());
    }
}
