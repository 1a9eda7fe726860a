//! A client of the JSON API on the HTTP port: requests with Basic authentication when the
//! server has it on, JSON answers parsed with serde_json, and an event-stream reader.

use std::net::SocketAddr;

use serde_json::Value;

use super::http::{HttpConn, HttpResponse};
use super::server::PASSWORD;

/// The API of one server.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub addr: SocketAddr,
    /// `Authorization` field to send, when the server has `HttpAuth` on.
    auth: Option<String>,
}

/// An answer: its status, its fields and body, and the body as JSON (`Null` if not JSON).
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub http: HttpResponse,
    pub json: Value,
}

impl ApiClient {
    pub fn new(addr: SocketAddr) -> ApiClient {
        ApiClient { addr, auth: None }
    }

    /// Sends `admin` and the harness's [`PASSWORD`] (Basic: the server takes it beside
    /// Digest, and it keeps the client one request per call).
    pub fn with_auth(self) -> ApiClient {
        let token = openssl::base64::encode_block(format!("admin:{PASSWORD}").as_bytes());
        ApiClient {
            auth: Some(format!("Authorization: Basic {token}\r\n")),
            ..self
        }
    }

    fn extra(&self) -> &str {
        self.auth.as_deref().unwrap_or("")
    }

    /// `method target` with a JSON `body` ("" for none), on a fresh connection.
    pub fn request(&self, method: &str, target: &str, body: &str) -> ApiResponse {
        let http = HttpConn::open(self.addr).request(method, target, self.extra(), body);
        let json = serde_json::from_str(&http.body).unwrap_or(Value::Null);
        ApiResponse {
            status: http.status,
            http,
            json,
        }
    }

    /// `POST /api/v1/calls` with `body`.
    pub fn place(&self, body: &Value) -> ApiResponse {
        self.request("POST", "/api/v1/calls", &body.to_string())
    }

    /// Places a call that must be accepted; its id.
    pub fn place_ok(&self, body: &Value) -> String {
        let r = self.place(body);
        assert_eq!(r.status, 201, "{:?}", r.http);
        r.json["id"].as_str().expect("an id").to_owned()
    }

    pub fn get(&self, target: &str) -> ApiResponse {
        self.request("GET", target, "")
    }

    /// `GET /metrics`, parsed: sample name with its labels (as written) → value.
    pub fn metrics(&self) -> std::collections::BTreeMap<String, f64> {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200, "{:?}", r.http);
        r.http
            .body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (name, value) = l.rsplit_once(' ').expect("a sample");
                (name.to_owned(), value.parse().expect("a number"))
            })
            .collect()
    }

    pub fn call(&self, id: &str) -> ApiResponse {
        self.get(&format!("/api/v1/calls/{id}"))
    }

    pub fn hang_up(&self, id: &str) -> ApiResponse {
        self.request("DELETE", &format!("/api/v1/calls/{id}"), "")
    }

    /// Opens `GET /api/v1/calls/{id}/events`; asserts the stream's head.
    pub fn events(&self, id: &str) -> EventStream {
        let mut conn = HttpConn::open(self.addr);
        conn.send(&format!(
            "GET /api/v1/calls/{id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{}\r\n",
            self.extra()
        ));
        let head = conn
            .read_through(b"\r\n\r\n")
            .expect("an event-stream head");
        let head = String::from_utf8_lossy(&head).into_owned();
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/event-stream"),
            "{head}"
        );
        EventStream { conn }
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub name: String,
    pub data: Value,
}

/// A `text/event-stream` being read.
pub struct EventStream {
    conn: HttpConn,
}

impl EventStream {
    /// The next event (comments skipped), `None` when the server closed the stream.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            let block = self.conn.read_through(b"\n\n")?;
            let text = String::from_utf8_lossy(&block).into_owned();
            let mut name = String::from("message");
            let mut data = String::new();
            for line in text.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_owned();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            if data.is_empty() {
                continue;
            }
            let data = serde_json::from_str(&data).expect("JSON in an event's data");
            return Some(SseEvent { name, data });
        }
    }

    /// Every event until the stream ends; asserts it ends with `end` and nothing after.
    pub fn until_end(&mut self) -> Vec<SseEvent> {
        let mut all = Vec::new();
        while let Some(e) = self.next_event() {
            all.push(e);
        }
        assert_eq!(all.last().map(|e| e.name.as_str()), Some("end"), "{all:?}");
        assert!(self.conn.rest().is_empty(), "bytes after the end");
        all
    }
}
