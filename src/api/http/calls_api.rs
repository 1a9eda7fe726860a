//! The JSON API on the HTTP port (`/api/v1/calls…`): place, list, show and hang up calls,
//! and watch one as Server-Sent Events. The calls thread owns the calls; every answer here
//! comes from it over a reply channel, waited for a bounded time.

use std::net::IpAddr;

use crossbeam_channel::Receiver;
use serde::{Deserialize, Serialize};

use super::request::{parse_query, query_param};
use super::response::Response;
use crate::api::dispatch::{Dispatcher, ask};
use crate::c2c::command::{
    CallId, CallMode, CallOptions, Command, HangupOutcome, IdentityOption, Query,
};
use crate::c2c::registry::{CallEvent, CallView};
use crate::cdr::CdrRecord;

/// The prefix of every API path.
pub(crate) const PREFIX: &str = "/api/v1/calls";

/// What a request to the API gets.
pub(crate) enum ApiReply {
    Document(Response),
    /// An event stream: the head, the call so far, and what follows.
    Events {
        head: Response,
        so_far: Box<CallView>,
        events: Receiver<CallEvent>,
    },
}

/// `POST /api/v1/calls`. Unknown fields are refused so that a client asking for an option
/// this server lacks hears so instead of getting a different call.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceRequest {
    initiator: String,
    destination: String,
    #[serde(default)]
    anchor: Option<bool>,
    /// `refer`, `anchored` or `refer-ood`; with `anchor`, the two must agree (`anchor`
    /// true is `anchored`, false any other mode). Without it, `anchor` true or else
    /// `CallMode`.
    #[serde(default)]
    mode: Option<Mode>,
    /// Seconds each leg may ring, as `RingTimeout` (1–86400).
    #[serde(default)]
    ring_timeout: Option<u64>,
    /// The caller identity each leg is shown and the auto-answer header
    /// ([`IdentityOption`]).
    #[serde(default)]
    initiator_display_name: Option<String>,
    #[serde(default)]
    initiator_caller_id: Option<String>,
    #[serde(default)]
    destination_display_name: Option<String>,
    #[serde(default)]
    destination_caller_id: Option<String>,
    #[serde(default)]
    auto_answer: Option<String>,
}

impl PlaceRequest {
    fn identity(&self, option: IdentityOption) -> Option<&str> {
        match option {
            IdentityOption::InitiatorDisplayName => self.initiator_display_name.as_deref(),
            IdentityOption::InitiatorCallerId => self.initiator_caller_id.as_deref(),
            IdentityOption::DestinationDisplayName => self.destination_display_name.as_deref(),
            IdentityOption::DestinationCallerId => self.destination_caller_id.as_deref(),
            IdentityOption::AutoAnswer => self.auto_answer.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Refer,
    Anchored,
    #[serde(rename = "refer-ood")]
    ReferOod,
}

impl From<Mode> for CallMode {
    fn from(m: Mode) -> CallMode {
        match m {
            Mode::Refer => CallMode::Refer,
            Mode::Anchored => CallMode::Anchored,
            Mode::ReferOod => CallMode::ReferOutOfDialog,
        }
    }
}

#[derive(Serialize)]
struct Placed<'a> {
    id: &'a str,
    initiator: &'a str,
    destination: &'a str,
    state: &'static str,
    events_url: String,
}

#[derive(Serialize)]
struct Listing {
    calls: Vec<CallView>,
}

/// `GET /api/v1/calls?state=ended`: the detail records of the calls ended lately.
#[derive(Serialize)]
struct EndedListing {
    calls: Vec<CdrRecord>,
}

#[derive(Serialize)]
struct HangingUp<'a> {
    id: &'a str,
    state: &'static str,
}

fn error(status: u16, text: &str) -> Response {
    #[derive(Serialize)]
    struct Error<'a> {
        error: &'a str,
    }
    json(status, &Error { error: text })
}

fn json(status: u16, value: &impl Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => Response::json(status, body),
        // Our own plain structs always serialise; answer honestly if one ever does not.
        Err(_) => Response::json(500, "{\"error\":\"Internal error\"}".to_owned()),
    }
}

fn unavailable() -> Response {
    error(503, "Service unavailable").with_header("Retry-After", "1".to_owned())
}

/// The API's answer to `method path?query` (the path starts with [`PREFIX`]).
pub(crate) fn respond(
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    dispatcher: &Dispatcher,
    peer: IpAddr,
) -> ApiReply {
    let rest = path.get(PREFIX.len()..).unwrap_or("");
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let commands = dispatcher.commands();
    let doc = match (method, segments.as_slice()) {
        ("POST", []) => place(body, dispatcher, peer),
        ("GET" | "HEAD", []) => {
            let pairs = parse_query(query.unwrap_or(""));
            match query_param(&pairs, "state") {
                None | Some("live") => {
                    match ask(commands, |reply| Command::Query(Query::List { reply })) {
                        Some(calls) => json(200, &Listing { calls }),
                        None => unavailable(),
                    }
                }
                Some("ended") => {
                    match ask(commands, |reply| Command::Query(Query::Ended { reply })) {
                        Some(calls) => json(200, &EndedListing { calls }),
                        None => unavailable(),
                    }
                }
                Some(_) => error(400, "state must be live or ended"),
            }
        }
        ("GET" | "HEAD", [id]) => {
            let id = CallId::from_client(id);
            match ask(commands, |reply| Command::Query(Query::Get { id, reply })) {
                Some(Some(call)) => json(200, &call),
                Some(None) => error(404, "No such call"),
                None => unavailable(),
            }
        }
        ("DELETE", [id]) => {
            let id = CallId::from_client(id);
            let text = id.to_string();
            match ask(commands, |reply| Command::Hangup { id, reply }) {
                Some(HangupOutcome::HangingUp) => json(
                    202,
                    &HangingUp {
                        id: &text,
                        state: "hanging-up",
                    },
                ),
                Some(HangupOutcome::AlreadyEnded) => error(409, "The call is over"),
                Some(HangupOutcome::Unknown) => error(404, "No such call"),
                None => unavailable(),
            }
        }
        ("GET", [id, "events"]) => {
            let id = CallId::from_client(id);
            return match ask(commands, |reply| {
                Command::Query(Query::Subscribe { id, reply })
            }) {
                Some(Some((so_far, events))) => ApiReply::Events {
                    head: Response::new(200, String::new()),
                    so_far: Box::new(so_far),
                    events,
                },
                Some(None) => ApiReply::Document(error(404, "No such call")),
                None => ApiReply::Document(unavailable()),
            };
        }
        (_, [] | [_] | [_, "events"]) => error(405, "Method not allowed").with_header(
            "Allow",
            match segments.len() {
                0 => "GET, HEAD, POST",
                1 => "GET, HEAD, DELETE",
                _ => "GET",
            }
            .to_owned(),
        ),
        _ => error(404, "No such resource"),
    };
    ApiReply::Document(doc)
}

fn place(body: &[u8], dispatcher: &Dispatcher, peer: IpAddr) -> Response {
    let req: PlaceRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return error(400, &format!("Invalid request: {e}")),
    };
    let anchor = match (req.anchor, req.mode) {
        (Some(a), Some(m)) if a != (m == Mode::Anchored) => {
            return error(400, "anchor and mode disagree");
        }
        (Some(a), _) => a,
        (None, m) => m == Some(Mode::Anchored),
    };
    let ring_timeout = match req.ring_timeout.map(CallOptions::ring_timeout_secs) {
        None => None,
        Some(Some(d)) => Some(d),
        Some(None) => return error(400, "ring_timeout must be 1 to 86400 seconds"),
    };
    let mut options = CallOptions {
        ring_timeout,
        ..CallOptions::default()
    };
    for option in IdentityOption::ALL {
        if let Some(text) = req.identity(option)
            && let Err(e) = options.set_identity(option, text)
        {
            return error(400, &format!("{} {e}", option.json_name()));
        }
    }
    options.mode = req.mode.map(CallMode::from);
    if req.initiator.is_empty() || req.destination.is_empty() {
        return error(400, "Missing initiator or destination");
    }
    match dispatcher.dispatch_with(
        "API",
        peer,
        &req.initiator,
        &req.destination,
        anchor,
        options,
    ) {
        Ok(placed) => {
            let url = format!("{PREFIX}/{}", placed.id);
            json(
                201,
                &Placed {
                    id: placed.id.as_str(),
                    initiator: &placed.initiator_uri,
                    destination: &placed.destination_uri,
                    state: "progressing",
                    events_url: format!("{url}/events"),
                },
            )
            .with_header("Location", url)
        }
        Err(e) => {
            let r = error(e.code(), &e.to_string());
            match e.retry_after() {
                Some(secs) => r.with_header("Retry-After", secs.to_string()),
                None => r,
            }
        }
    }
}

/// One event of the stream, `event:` and `data:` lines and the blank line (HTML Living
/// Standard §9.2.6). JSON has no raw newline, so `data` is one line.
pub(crate) fn sse_event(name: &str, value: &impl Serialize) -> Vec<u8> {
    let data = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    format!("event: {name}\ndata: {data}\n\n").into_bytes()
}
