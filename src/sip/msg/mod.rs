//! SIP messages: bytes in, typed view out, errors as values, no panics (RFC 3261 §7, §20,
//! §25). No sockets here.
//!
//! # API at a glance
//!
//! Parsing
//! - [`Message::parse`]`(datagram: &[u8]) -> Result<Message, ParseError>` — one UDP
//!   datagram or one framed stream message. Missing Content-Length = rest of datagram;
//!   a Content-Length beyond the data is an error; extra bytes are ignored. The headers
//!   the stack depends on are validated (Via, From, To, Call-ID, CSeq, Max-Forwards,
//!   Contact, Route, Record-Route; mandatory ones present; CSeq method = request method).
//!   [`ParseError::is_version`] → answer 505; otherwise [`ParseError::reason_phrase`] → 400.
//! - [`frame`]`(buf: &[u8], max_size: usize) -> Result<Frame, FrameError>` — stream
//!   framing for TCP/TLS: [`Frame::Complete`]`(len)`, `Partial`, `Ping(len)` (`\r\n\r\n`)
//!   and `Pong(len)` (lone `\r\n`), RFC 5626 §4.4.1. Then `Message::parse(&buf[..len])`.
//!
//! Start line: `is_request()`, `is_response()`, `method() -> Option<&Method>`,
//! `request_uri() -> Option<&Uri>`, `set_request_uri(Uri)`, `status() -> Option<u16>`,
//! `reason() -> Option<&str>`.
//!
//! Generic headers (case-insensitive names; compact forms equivalent):
//! `header(name) -> Option<&str>` (first value; first element of list headers),
//! `header_values(name)` (list headers split on top-level commas),
//! `headers()` (every line as (name, value)), `has_header`, `push_header(name, value)`,
//! `set_header` (replace all), `remove_header`, `insert_header_front` (Via/Route
//! prepending), `body() -> &[u8]`, `set_body(Option<&str> content_type, Vec<u8>)`.
//!
//! Typed headers (parsed on demand, errors name the header): `top_via()`, `top_branch()`,
//! `vias()`, `from()`, `to()` ([`NameAddr`] with `tag()`), `from_tag()`, `to_tag()`,
//! `call_id()`, `cseq() -> (u32, Method)`, `max_forwards()`, `contacts()` ([`Contacts`]),
//! `routes()`, `record_routes()`, `name_addrs(name)`, `content_type()` ([`MediaType`]),
//! `content_length()`, `expires()`, `tokens(name)` / `has_token(name, tag)` for
//! Require/Supported/Unsupported/Allow, `event()` ([`Event`]), `subscription_state()`
//! ([`SubscriptionState`]), `refer_to()`, `referred_by()`, `replaces()` ([`Replaces`]),
//! `rseq()`, `rack()` ([`RAck`]), `session_expires()` ([`SessionExpires`]), `min_se()`,
//! `www_authenticate()`, `proxy_authenticate()`, `authorization()`,
//! `proxy_authorization()` ([`Auth`]), `warnings()` ([`Warning`]), `retry_after()`
//! ([`RetryAfter`]), `reasons()` ([`Reason`]), `user_agent()`, `server()`. Each value type
//! also has its own `parse(&str)`.
//!
//! Building: [`Message::new_request`]`(Method, Uri)`, [`Message::new_response`]`(code,
//! reason)`, [`Message::response_to`]`(&req, code, reason, Option<to_tag>)` (§8.2.6),
//! `write_to(&mut Vec<u8>)` / `to_bytes()` (Content-Length always written, equal to the
//! body length). Identifiers: [`random_token`], [`new_branch`], [`new_tag`],
//! [`new_call_id`].
//!
//! Values: [`Uri`] (`sip`/`sips`/`tel`/other; [`Host`] `Name`/`V4`/`V6`; `transport()`,
//! `lr()`, `maddr()`, `equivalent()` per §19.1.4), [`NameAddr`], [`Via`]
//! (`branch()`, `received()`, `rport()`, `maddr()`, `ttl()`, setters), [`Params`].
//!
//! `Message` is owned, `Clone + Send + Sync + 'static`: the received header text is kept
//! once and header values are ranges into it.
//!
//! Bodies: [`crate::sip::sdp`] (`Session::parse`, `inactive_offer`) and
//! [`crate::sip::sipfrag`] (`parse`) for `message/sipfrag` NOTIFY bodies.

mod auth;
mod build;
mod error;
mod frame;
mod header_name;
mod headers;
mod lines;
mod message;
mod method;
mod name_addr;
mod params;
mod scan;
mod typed;
mod uri;
mod via;

pub use auth::Auth;
pub use build::{new_branch, new_call_id, new_tag, random_token};
pub use error::{ParseError, ParseErrorKind};
pub use frame::{DEFAULT_MAX_MESSAGE, Frame, FrameError, MAX_HEADER_SECTION, frame};
pub use header_name::canonical as canonical_header_name;
pub use headers::{
    Contacts, Event, MediaType, RAck, Reason, Refresher, Replaces, RetryAfter, SessionExpires,
    SubscriptionState, Warning, is_option_tag,
};
pub use message::Message;
pub use method::Method;
pub use name_addr::NameAddr;
pub use params::Params;
pub(crate) use scan::write_quoted;
pub use uri::{Host, Scheme, Uri};
pub use via::{Via, ViaTransport};

#[cfg(test)]
mod tests;
