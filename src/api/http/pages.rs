//! The HTML pages. Their wording and XHTML skeleton follow the original's pages, so
//! scripts that scrape them keep working; every piece of request text is escaped (the
//! original echoed parameters raw, a reflected XSS).

use std::net::IpAddr;

use super::request::{parse_query, query_param};
use super::response::{Response, reason};
use crate::api::dispatch::{DispatchError, Dispatcher};
use crate::api::escape::escape_markup as esc;
use crate::c2c::command::{CallMode, CallOptions, IdentityOption};

fn page(title: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\">\n\
         <head>\n\
         <meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\" />\n\
         <title>{title}</title>\n\
         </head>\n\
         <body bgcolor=\"#ffffff\">\n\
         {body}\
         </body>\n\
         </html>\n"
    )
}

/// The web page: a form to place a call, the live calls with their progress, a hang-up
/// button per call. Static and in the binary, so it holds no data of its own.
const WEB_PAGE: &str = include_str!("index.html");

/// `/` and `/index.html`: the web page, never behind authentication (it is static; its
/// script sends the password the user types with each API request). `auth`: the page
/// waits for the password before its first request (a 401 would open the browser's own
/// login prompt).
pub(crate) fn index(auth: bool) -> Response {
    let body = if auth {
        WEB_PAGE.replacen("<body data-auth=\"off\">", "<body data-auth=\"on\">", 1)
    } else {
        WEB_PAGE.to_owned()
    };
    // Nothing but the page's own inline script and style, and requests to this server.
    Response::new(200, body).with_header(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
         connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
            .to_owned(),
    )
}

/// A page for an error status, with an explanation.
pub(crate) fn status_page(status: u16, detail: &str) -> Response {
    let title = format!("{status} {}", reason(status));
    Response::new(
        status,
        page(
            &title,
            &format!("<h1>{title}</h1>\n<p>{}</p>\n", esc(detail)),
        ),
    )
}

pub(crate) fn not_found(path: &str) -> Response {
    status_page(404, &format!("No page {path} here; see /index.html."))
}

pub(crate) fn method_not_allowed(method: &str) -> Response {
    status_page(405, &format!("Method {method} is not supported."))
        .with_header("Allow", "GET, HEAD".to_owned())
}

pub(crate) fn unauthorized() -> Response {
    status_page(401, "Authentication required (user admin).")
}

/// `/clicktocall.html?initiator=…&destination=…[&anchor=true|false]`, and the new
/// optional `ringtimeout`, `mode` and `callid`. With `place` false (a HEAD request) the
/// checks run but no call is placed.
pub(crate) fn click_to_call(
    query: Option<&str>,
    dispatcher: &Dispatcher,
    peer: IpAddr,
    place: bool,
) -> Response {
    let pairs = parse_query(query.unwrap_or(""));
    let initiator = query_param(&pairs, "initiator").unwrap_or("");
    let destination = query_param(&pairs, "destination").unwrap_or("");
    let anchor = query_param(&pairs, "anchor").is_some_and(|a| a.eq_ignore_ascii_case("true"));
    // `ringtimeout=<seconds>` (new, optional): this call's RingTimeout.
    let ring_timeout = query_param(&pairs, "ringtimeout").map(CallOptions::parse_ring_timeout);
    // `mode=refer|anchored|refer-ood` (new, optional): it wins over `anchor`.
    let mode = query_param(&pairs, "mode").map(CallMode::parse);
    let shown_anchor = match mode {
        Some(Some(m)) => m == CallMode::Anchored,
        _ => anchor,
    };
    let out_of_dialog = mode == Some(Some(CallMode::ReferOutOfDialog));
    let mut body = format!(
        "<p><em>ClickToCall:</em> initiator={}, destination={}{}</p>\n",
        esc(initiator),
        esc(destination),
        if shown_anchor {
            " (anchored)"
        } else if out_of_dialog {
            " (refer-ood)"
        } else {
            ""
        }
    );
    // The caller identity and auto-answer options (new, optional): an empty one is as if
    // not given, as a form's empty field.
    let mut options = CallOptions {
        ring_timeout: ring_timeout.flatten(),
        ..CallOptions::default()
    };
    let mut bad_option = None;
    for option in IdentityOption::ALL {
        if let Some(text) = query_param(&pairs, option.query_name()).filter(|t| !t.is_empty())
            && let Err(e) = options.set_identity(option, text)
        {
            bad_option.get_or_insert(format!("Invalid {}: {e}", option.query_name()));
        }
    }
    options.mode = mode.flatten();
    let mut retry_after = None;
    let result = if initiator.is_empty() || destination.is_empty() {
        Err((
            400,
            "Missing initiator or destination URL parameters".to_owned(),
        ))
    } else if ring_timeout == Some(None) {
        Err((400, "Invalid ringtimeout: 1 to 86400 seconds".to_owned()))
    } else if mode == Some(None) {
        Err((400, "Invalid mode: refer, anchored or refer-ood".to_owned()))
    } else if let Some(text) = bad_option {
        Err((400, text))
    } else {
        let placed = if place {
            dispatcher
                .dispatch_with("HTTP", peer, initiator, destination, shown_anchor, options)
                .map(|d| (d.initiator_uri, d.destination_uri, Some(d.id)))
        } else {
            dispatcher
                .prepare("HTTP", peer, initiator, destination)
                .map(|(i, d)| (i, d, None))
        };
        placed.map_err(|e: DispatchError| {
            retry_after = e.retry_after();
            (e.code(), e.to_string())
        })
    };
    // The legacy page is byte for byte the original's unless the client asks for the id;
    // the `X-Call-Id` field carries it always.
    let show_id = query_param(&pairs, "callid").is_some_and(|a| a.eq_ignore_ascii_case("true"));
    let mut call_id = None;
    let status = match result {
        Ok((initiator_uri, destination_uri, id)) => {
            body.push_str(&format!(
                "<p>Initiating ClickToCall from {}({}) to {}({}) ({})...</p>\n",
                esc(&initiator_uri),
                esc(initiator),
                esc(&destination_uri),
                esc(destination),
                if shown_anchor {
                    "anchored"
                } else if out_of_dialog {
                    "out-of-dialog REFER"
                } else {
                    "unanchored"
                }
            ));
            if let Some(id) = &id
                && show_id
            {
                body.push_str(&format!(
                    "<p>Call id: <span id=\"call-id\">{}</span></p>\n",
                    esc(id.as_str())
                ));
            }
            call_id = id;
            200
        }
        Err((status, text)) => {
            body.push_str(&format!("<p>{}.</p>\n", esc(&text)));
            status
        }
    };
    let mut r = Response::new(status, page("ClickToCall Server", &body));
    if let Some(id) = call_id {
        r = r.with_header("X-Call-Id", id.to_string());
    }
    match retry_after {
        Some(secs) => r.with_header("Retry-After", secs.to_string()),
        None => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::dispatch::Translator;
    use crate::c2c::command::Command;
    use crossbeam_channel::Receiver;
    use std::sync::Arc;

    fn dispatcher() -> (Dispatcher, Receiver<Command>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let t: Translator = Arc::new(|a: &str| {
            if a.starts_with("sip:") {
                Some(a.to_owned())
            } else if let Some(rest) = a.strip_prefix("50") {
                let (port, user) = rest.split_at(rest.len().min(2));
                (!user.is_empty()).then(|| format!("sip:{user}@127.0.0.1:50{port}"))
            } else {
                None
            }
        });
        (
            Dispatcher::new(
                t,
                tx,
                crate::api::dispatch::CallRules::default(),
                crate::api::admission::Admission::new(
                    crate::api::admission::Limits::default(),
                    Arc::new(crate::c2c::command::CallCount::default()),
                ),
            ),
            rx,
        )
    }

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn the_index_page_is_the_web_page_and_loads_nothing_from_elsewhere() {
        let r = index(true);
        assert!(r.body.contains("<body data-auth=\"on\">"));
        assert!(index(false).body.contains("<body data-auth=\"off\">"));
        assert_eq!(r.status, 200);
        // The original's landing text stays, for scripts that look for it.
        assert!(r.body.contains("Click-To-Call HTML Server"));
        for external in ["src=", "href=", "http://", "https://", "innerHTML"] {
            assert!(!r.body.contains(external), "{external}");
        }
    }

    #[test]
    fn a_placed_call_page_matches_the_originals_text() {
        let (d, rx) = dispatcher();
        let r = click_to_call(
            Some("initiator=5061100&destination=5062200&anchor=true"),
            &d,
            PEER,
            true,
        );
        assert_eq!(r.status, 200);
        assert!(r.body.contains("<p><em>ClickToCall:</em> initiator=5061100, destination=5062200 (anchored)</p>\n<p>Initiating ClickToCall from sip:100@127.0.0.1:5061(5061100) to sip:200@127.0.0.1:5062(5062200) (anchored)...</p>\n"), "{}", r.body);
        assert_eq!(r.body.len(), 559, "same length as the original's page");
        assert!(rx.try_recv().is_ok());
    }

    /// `mode=` picks the call's mode and names it on the page; a bad one is a 400.
    #[test]
    fn the_mode_parameter_is_passed_on_and_checked() {
        let (d, rx) = dispatcher();
        let r = click_to_call(
            Some("initiator=5061100&destination=5062200&mode=refer-ood"),
            &d,
            PEER,
            true,
        );
        assert_eq!(r.status, 200);
        assert!(r.body.contains("<p><em>ClickToCall:</em> initiator=5061100, destination=5062200 (refer-ood)</p>\n<p>Initiating ClickToCall from sip:100@127.0.0.1:5061(5061100) to sip:200@127.0.0.1:5062(5062200) (out-of-dialog REFER)...</p>\n"), "{}", r.body);
        match rx.try_recv() {
            Ok(crate::c2c::command::Command::ClickToCall { options, .. }) => {
                assert_eq!(options.mode, Some(CallMode::ReferOutOfDialog));
            }
            other => panic!("{other:?}"),
        }
        let r = click_to_call(
            Some("initiator=5061100&destination=5062200&mode=sideways"),
            &d,
            PEER,
            true,
        );
        assert_eq!(r.status, 400);
        assert!(r.body.contains("Invalid mode"), "{}", r.body);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn identity_parameters_reach_the_call_and_bad_ones_are_400_pages() {
        use crate::c2c::command::AutoAnswer;
        let (d, rx) = dispatcher();
        let r = click_to_call(
            Some(
                "initiator=5061100&destination=5062200&initiatordisplayname=Front+Desk&initiatorcallerid=%2B49&destinationcallerid=&autoanswer=call-info",
            ),
            &d,
            PEER,
            true,
        );
        assert_eq!(r.status, 200);
        let Ok(Command::ClickToCall { options, .. }) = rx.try_recv() else {
            panic!("no call placed");
        };
        // The page is the original's: the options are not echoed.
        let plain = click_to_call(
            Some("initiator=5061100&destination=5062200"),
            &d,
            PEER,
            true,
        );
        assert_eq!(r.body, plain.body);
        assert!(rx.try_recv().is_ok());
        assert_eq!(
            options.initiator_caller.display_name.as_deref(),
            Some("Front Desk")
        );
        assert_eq!(options.initiator_caller.caller_id.as_deref(), Some("+49"));
        assert_eq!(options.destination_caller.caller_id, None);
        assert_eq!(options.auto_answer, Some(AutoAnswer::CallInfo));
        let r = click_to_call(
            Some("initiator=5061100&destination=5062200&initiatorcallerid=1%40evil"),
            &d,
            PEER,
            true,
        );
        assert_eq!(r.status, 400);
        assert!(
            r.body
                .contains("<p>Invalid initiatorcallerid: holds a character"),
            "{}",
            r.body
        );
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn head_checks_without_placing() {
        let (d, rx) = dispatcher();
        let r = click_to_call(
            Some("initiator=5061100&destination=5062200"),
            &d,
            PEER,
            false,
        );
        assert_eq!(r.status, 200);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn failures_are_400_pages() {
        let (d, rx) = dispatcher();
        let r = click_to_call(None, &d, PEER, true);
        assert_eq!(r.status, 400);
        assert!(r.body.contains("<p><em>ClickToCall:</em> initiator=, destination=</p>\n<p>Missing initiator or destination URL parameters.</p>\n"));
        let r = click_to_call(Some("initiator=abc&destination=def"), &d, PEER, true);
        assert_eq!(r.status, 400);
        assert!(
            r.body.contains(
                "<p>No translation rule for either initiator abc or destination def.</p>"
            )
        );
        let r = click_to_call(
            Some("initiator=sip%3A%3C%3E&destination=sip%3A%3C%3E"),
            &d,
            PEER,
            true,
        );
        assert_eq!(r.status, 400);
        assert!(
            r.body.contains(
                "<p>Invalid URI format for initiator sip:&lt;&gt; and destination sip:&lt;&gt;.</p>"
            ),
            "{}",
            r.body
        );
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn request_text_is_escaped() {
        let (d, _rx) = dispatcher();
        let r = click_to_call(
            Some("initiator=%3Cscript%3Ealert(1)%3C/script%3E&destination=%22x%22"),
            &d,
            PEER,
            true,
        );
        assert!(!r.body.contains("<script>"));
        assert!(r.body.contains(
            "initiator=&lt;script&gt;alert(1)&lt;/script&gt;, destination=&quot;x&quot;"
        ));
        assert!(!not_found("/<b>").body.contains("<b>"));
    }
}
