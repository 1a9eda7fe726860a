//! SIP request methods (RFC 3261 §7.1 and the extensions this server meets).

use std::fmt;

use super::error::{ParseError, ParseErrorKind};
use super::scan::is_token;

/// A request method. Method names are case-sensitive (RFC 3261 §7.1), so `invite` is an
/// `Other` method, not `Invite`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Options,
    Register,
    Refer,
    Notify,
    Subscribe,
    Update,
    Prack,
    Info,
    Message,
    Publish,
    /// Any other token, kept as received (e.g. `NEWMETHOD`, `RE%47IST%45R`).
    Other(String),
}

impl Method {
    /// Parse a method token; anything that is a token but not a known name is `Other`.
    pub fn parse(s: &str) -> Result<Method, ParseError> {
        Ok(match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "REFER" => Method::Refer,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "INFO" => Method::Info,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            _ if is_token(s) => Method::Other(s.to_string()),
            _ => {
                return Err(ParseError::new(
                    ParseErrorKind::Method,
                    "method is not a token",
                ));
            }
        })
    }

    /// The method name as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Refer => "REFER",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Info => "INFO",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }

    /// Compare with a method token without allocating.
    pub(crate) fn matches(&self, token: &str) -> bool {
        self.as_str() == token
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Method {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_are_case_sensitive_and_others_kept() {
        assert_eq!(Method::parse("INVITE"), Ok(Method::Invite));
        assert_eq!(Method::parse("invite"), Ok(Method::Other("invite".into())));
        assert_eq!(
            Method::parse("RE%47IST%45R"),
            Ok(Method::Other("RE%47IST%45R".into()))
        );
        assert!(Method::parse("IN VITE").is_err());
        assert!(Method::parse("").is_err());
        assert_eq!(Method::Prack.to_string(), "PRACK");
    }
}
