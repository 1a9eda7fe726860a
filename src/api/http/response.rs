//! Serialising HTTP/1.1 responses (RFC 9112 §4, RFC 9110 §6).

use std::time::{SystemTime, UNIX_EPOCH};

/// A response ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    /// Extra header fields (name, value), written in order.
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub content_type: &'static str,
}

/// The type of the HTML pages.
const HTML: &str = "text/html; charset=utf-8";

impl Response {
    pub(crate) fn new(status: u16, body: String) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body,
            content_type: HTML,
        }
    }

    /// A plain-text document of `content_type`.
    pub(crate) fn text(status: u16, content_type: &'static str, body: String) -> Response {
        Response {
            content_type,
            ..Response::new(status, body)
        }
    }

    /// A JSON document (RFC 8259 §11: `application/json`, UTF-8 without a charset).
    pub(crate) fn json(status: u16, body: String) -> Response {
        Response {
            content_type: "application/json",
            ..Response::new(status, body)
        }
    }

    /// The head of an event stream (the `text/event-stream` of the HTML Living Standard,
    /// §9.2): no length, so the stream ends when the connection closes.
    pub(crate) fn event_stream_head(&self) -> Vec<u8> {
        let mut out = String::with_capacity(256);
        self.push_status_and_fields(&mut out, "text/event-stream");
        for (name, value) in &self.headers {
            push_field(&mut out, name, value);
        }
        push_field(&mut out, "Connection", "close");
        out.push_str("\r\n");
        out.into_bytes()
    }

    fn push_status_and_fields(&self, out: &mut String, content_type: &str) {
        out.push_str("HTTP/1.1 ");
        out.push_str(&self.status.to_string());
        out.push(' ');
        out.push_str(reason(self.status));
        out.push_str("\r\n");
        // RFC 9110 §6.6.1: an origin server with a clock sends Date.
        push_field(out, "Date", &http_date(SystemTime::now()));
        push_field(
            out,
            "Server",
            concat!("clicktocall/", env!("CARGO_PKG_VERSION")),
        );
        push_field(out, "Content-Type", content_type);
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Response {
        self.headers.push((name, value));
        self
    }

    /// The bytes on the wire. `head_only` for HEAD (same fields, no body: RFC 9110 §9.3.2);
    /// `close` adds `Connection: close`, `keep_alive_1_0` adds `Connection: keep-alive`
    /// for an HTTP/1.0 client that asked for it.
    pub(crate) fn to_bytes(&self, head_only: bool, close: bool, keep_alive_1_0: bool) -> Vec<u8> {
        let mut out = String::with_capacity(256 + self.body.len());
        self.push_status_and_fields(&mut out, self.content_type);
        push_field(&mut out, "Content-Length", &self.body.len().to_string());
        push_field(&mut out, "Cache-Control", "no-store");
        for (name, value) in &self.headers {
            push_field(&mut out, name, value);
        }
        if close {
            push_field(&mut out, "Connection", "close");
        } else if keep_alive_1_0 {
            push_field(&mut out, "Connection", "keep-alive");
        }
        out.push_str("\r\n");
        if !head_only {
            out.push_str(&self.body);
        }
        out.into_bytes()
    }
}

fn push_field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    // Header values come from our own code, but never let a CR or LF split a field.
    out.extend(
        value
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c }),
    );
    out.push_str("\r\n");
}

/// RFC 9110 §15 reason phrases of the statuses this server sends.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        409 => "Conflict",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) fn http_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let weekday = WEEKDAYS.get((days % 7) as usize).copied().unwrap_or("Thu");
    let month = MONTHS
        .get(m.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday}, {d:02} {month} {y} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian
/// (the era/day-of-era method: 400-year eras of 146097 days).
pub(crate) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_imf_fixdate() {
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
    }

    #[test]
    fn a_response_has_the_required_fields_and_length() {
        let r = Response::new(404, "gone".into()).with_header("Allow", "GET, HEAD".into());
        let text = String::from_utf8(r.to_bytes(false, true, false)).expect("utf8");
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\nDate: "));
        for field in [
            "\r\nServer: clicktocall/",
            "\r\nContent-Type: text/html; charset=utf-8\r\n",
            "\r\nContent-Length: 4\r\n",
            "\r\nCache-Control: no-store\r\n",
            "\r\nAllow: GET, HEAD\r\n",
            "\r\nConnection: close\r\n",
        ] {
            assert!(text.contains(field), "{field:?} in {text:?}");
        }
        assert!(text.ends_with("\r\n\r\ngone"));
    }

    #[test]
    fn head_keeps_the_length_but_drops_the_body() {
        let text = String::from_utf8(Response::new(200, "abc".into()).to_bytes(true, false, true))
            .expect("utf8");
        assert!(text.contains("Content-Length: 3\r\n"));
        assert!(text.contains("Connection: keep-alive\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn header_values_cannot_inject_fields() {
        let r = Response::new(200, String::new()).with_header("X", "a\r\nSet-Cookie: b".into());
        let text = String::from_utf8(r.to_bytes(false, false, false)).expect("utf8");
        assert!(text.contains("X: a  Set-Cookie: b\r\n"));
    }
}
