//! name-addr / addr-spec values: From, To, Contact, Route, Record-Route, Refer-To,
//! Referred-By (RFC 3261 §20.10, §20.20, §20.39, §25.1).

use std::fmt;
use std::str::FromStr;

use super::error::ParseError;
use super::params::Params;
use super::scan::{
    find_any, find_byte, header_params, is_token_char, is_ws, quoted_end, trim_start_ws, trim_ws,
    unquote, write_quoted,
};
use super::uri::{Uri, UriParts};

/// A URI with an optional display name and header parameters (e.g. `tag`, `expires`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name without quotes or quoted-pair escapes.
    pub display_name: Option<String>,
    pub uri: Uri,
    /// Header parameters after the URI (`;tag=...`, `;expires=...`), values as received.
    pub params: Params,
}

/// Borrowed, validated pieces of a name-addr.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameAddrParts<'a> {
    /// Raw display name: quoted (with quotes) or a run of tokens.
    pub display: Option<&'a str>,
    pub uri: UriParts<'a>,
    /// Starts with `;` (after optional whitespace) or is empty.
    pub params: &'a str,
}

impl<'a> NameAddrParts<'a> {
    /// Scan one element (`name-addr / addr-spec` followed by params), already comma-split.
    pub(crate) fn scan(s: &'a str) -> Result<NameAddrParts<'a>, ParseError> {
        let s = trim_ws(s);
        let (display, rest) = if s.starts_with('"') {
            let q = quoted_end(s)?;
            let rest = trim_start_ws(&s[q..]);
            if !rest.starts_with('<') {
                return Err(ParseError::syntax("quoted display name without <URI>"));
            }
            (Some(&s[..q]), rest)
        } else if let Some(lt) = find_byte(s, |b| b == b'<') {
            // A token display name; RFC 4475 §3.1.1.6 shows it may touch the '<'. UTF-8
            // letters are tolerated unquoted (some phones send `Björn <sip:...>`); ASCII
            // separators such as ',' still are not (RFC 4475 §3.1.2.15).
            let d = trim_ws(&s[..lt]);
            if !d.bytes().all(|b| is_token_char(b) || is_ws(b) || b >= 0x80) {
                return Err(ParseError::syntax("display name must be tokens or quoted"));
            }
            (if d.is_empty() { None } else { Some(d) }, &s[lt..])
        } else {
            (None, s)
        };
        if let Some(inner) = rest.strip_prefix('<') {
            let gt = find_any(inner.as_bytes(), [b'>'])
                .ok_or_else(|| ParseError::syntax("missing '>'"))?;
            let uri = UriParts::scan(&inner[..gt])?;
            let params = &inner[gt + 1..];
            header_params(params).try_for_each(|r| r.map(drop))?;
            return Ok(NameAddrParts {
                display,
                uri,
                params,
            });
        }
        // addr-spec: RFC 3261 §20.10 — parameters after a bare URI belong to the header,
        // and a URI with ',', '?' or ';' of its own must be enclosed in <>.
        let end = find_byte(rest, |b| matches!(b, b';' | b' ' | b'\t')).unwrap_or(rest.len());
        let (uri_text, params) = rest.split_at(end);
        if uri_text.contains(['?', ',']) {
            return Err(ParseError::syntax(
                "URI with headers must be enclosed in <>",
            ));
        }
        let uri = UriParts::scan(uri_text)?;
        header_params(params).try_for_each(|r| r.map(drop))?;
        Ok(NameAddrParts {
            display: None,
            uri,
            params,
        })
    }

    /// The value of a header parameter, without allocating.
    pub(crate) fn param(&self, name: &str) -> Option<Option<&'a str>> {
        header_params(self.params)
            .filter_map(Result::ok)
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub(crate) fn to_owned(self) -> NameAddr {
        NameAddr {
            display_name: self.display.map(|d| {
                if d.starts_with('"') {
                    unquote(d)
                } else {
                    d.to_string()
                }
            }),
            uri: self.uri.to_owned(),
            params: Params(
                header_params(self.params)
                    .filter_map(Result::ok)
                    .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
                    .collect(),
            ),
        }
    }
}

impl NameAddr {
    /// Parse one name-addr or addr-spec with its parameters.
    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        Ok(NameAddrParts::scan(s)?.to_owned())
    }

    /// A name-addr for `uri` with no display name and no parameters.
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display_name: None,
            uri,
            params: Params::new(),
        }
    }

    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }

    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag));
    }

    /// The `expires` parameter of a Contact, if numeric.
    pub fn expires(&self) -> Option<u32> {
        self.params.value("expires").and_then(|v| v.parse().ok())
    }

    /// The `q` parameter of a Contact, as given (e.g. "0.7").
    pub fn q(&self) -> Option<&str> {
        self.params.value("q")
    }
}

impl fmt::Display for NameAddr {
    /// Always the name-addr form (`<uri>`), so URI parameters can never be mistaken for
    /// header parameters. No space before `<`, as the C++ original writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display_name {
            let mut q = String::with_capacity(d.len() + 2);
            write_quoted(&mut q, d);
            f.write_str(&q)?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

impl FromStr for NameAddr {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NameAddr::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::msg::uri::Host;

    #[test]
    fn quoted_display_name_and_tag() {
        let n = NameAddr::parse(r#""Click-To-Call: 200"<sip:click2call@127.0.0.1>;tag=8f836233"#)
            .unwrap();
        assert_eq!(n.display_name.as_deref(), Some("Click-To-Call: 200"));
        assert_eq!(n.uri.user.as_deref(), Some("click2call"));
        assert_eq!(n.tag(), Some("8f836233"));
        assert_eq!(
            n.to_string(),
            r#""Click-To-Call: 200"<sip:click2call@127.0.0.1>;tag=8f836233"#
        );
    }

    #[test]
    fn addr_spec_params_belong_to_the_header() {
        let n = NameAddr::parse("sip:user@example.com;tag=810x2").unwrap();
        assert!(n.uri.params.is_empty());
        assert_eq!(n.tag(), Some("810x2"));
        assert_eq!(n.uri.host, Host::Name("example.com".into()));
        let mut m = NameAddr::parse("<sip:a@b;lr>").unwrap();
        assert!(m.uri.lr() && m.tag().is_none());
        m.set_tag("xyz");
        assert_eq!(m.to_string(), "<sip:a@b;lr>;tag=xyz");
    }

    #[test]
    fn token_display_names_even_touching_the_bracket() {
        let n = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(n.display_name.as_deref(), Some("caller"));
        let n = NameAddr::parse("Björn <sip:b@h>").unwrap();
        assert_eq!(n.display_name.as_deref(), Some("Björn"));
        let n = NameAddr::parse("Bob Smith <sip:b@h>").unwrap();
        assert_eq!(n.display_name.as_deref(), Some("Bob Smith"));
        let n = NameAddr::parse(r#""esc \" q" <sip:b@h>;expires=30;q=0.5"#).unwrap();
        assert_eq!(n.display_name.as_deref(), Some("esc \" q"));
        assert_eq!((n.expires(), n.q()), (Some(30), Some("0.5")));
    }

    #[test]
    fn rejects_torture_cases() {
        for bad in [
            r#""Bell, Alexander" <sip:a@b"#,          // no '>'
            "Bell, Alexander <sip:a@b>",              // comma in token display name
            r#""unterminated <sip:a@b>"#,             // RFC 4475 §3.1.2.6
            "< sip:a@b >",                            // RFC 4475 §3.1.2.14
            "sip:user@example.com?Route=%3Csip:x%3E", // RFC 4475 §3.1.2.13
            "<sip:a@b>;;",
            "",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad:?} should fail");
        }
    }
}
