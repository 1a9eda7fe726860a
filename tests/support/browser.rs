//! A real browser for the web page's tests: headless Chromium (Debian package `chromium`)
//! driven through chromedriver (package `chromium-driver`) over the W3C WebDriver HTTP
//! protocol, with this harness's HTTP client and serde_json.
//!
//! chromedriver is started with `--port=0` and tells the port it bound on its stdout, so no
//! port is guessed. Only the child started here is signalled (killed on drop, by PID);
//! Chromium is its child and ends with its session.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::WAIT;
use super::http::HttpConn;

/// The key of an element reference in WebDriver answers (W3C WebDriver §12.1).
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How often a condition in the page is checked while waiting for it.
const POLL: Duration = Duration::from_millis(100);

/// Starts of chromedriver before giving up: with `--port=0` it takes a free IPv6 port and
/// then needs the same IPv4 port, which another process may hold ("IPv4 port not
/// available"); it then exits, and is started again.
const DRIVER_ATTEMPTS: usize = 5;

/// One chromedriver start: the child and the port it reports, or `None` when it exited
/// without one.
fn start_driver() -> Option<(Child, u16)> {
    let mut driver = Command::new("chromedriver")
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start chromedriver ({e}): install the Debian packages chromium and chromium-driver")
        });
    let stdout = driver.stdout.take().expect("chromedriver stdout");
    let (tx, rx) = crossbeam_channel::bounded(1);
    // The reader keeps draining stdout so chromedriver never blocks on it.
    thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent
                && let Some(port) = line
                    .split("started successfully on port ")
                    .nth(1)
                    .and_then(|p| p.trim_end_matches('.').trim().parse::<u16>().ok())
            {
                let _ = tx.send(port);
                sent = true;
            }
        }
    });
    match rx.recv_timeout(WAIT) {
        Ok(port) => Some((driver, port)),
        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
            let _ = driver.wait();
            None
        }
        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
            let _ = driver.kill();
            let _ = driver.wait();
            panic!("chromedriver did not report its port within {WAIT:?}");
        }
    }
}

/// One chromedriver and one browser session.
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium whose profile lives in `dir`. Panics,
    /// naming the packages, when they are not installed.
    pub fn start(dir: &Path) -> Browser {
        let (driver, port) = (1..=DRIVER_ATTEMPTS)
            .find_map(|_| start_driver())
            .unwrap_or_else(|| panic!("chromedriver did not start in {DRIVER_ATTEMPTS} attempts"));
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let profile = dir.join("chromium-profile");
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
        };
        let created = browser.call(
            "POST",
            "/session",
            &json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    // Root in CI: Chromium's sandbox needs an unprivileged user.
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--window-size=1200,800",
                             format!("--user-data-dir={}", profile.display())],
                },
            }}}),
        );
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        browser
    }

    /// One WebDriver command; its `value`. Panics on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let body = if method == "GET" || method == "DELETE" {
            String::new()
        } else {
            body.to_string()
        };
        let r = HttpConn::open(self.addr).request(method, path, "Connection: close\r\n", &body);
        let doc: Value = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}: {}", r.body));
        assert_eq!(r.status, 200, "WebDriver {method} {path}: {doc}");
        doc["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: &Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn navigate(&self, url: &str) {
        self.session_call("POST", "/url", &json!({ "url": url }));
    }

    /// The element that `css` selects (the first).
    pub fn find(&self, css: &str) -> String {
        let v = self.session_call(
            "POST",
            "/element",
            &json!({"using": "css selector", "value": css}),
        );
        v[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.session_call(
            "POST",
            &format!("/element/{el}/value"),
            &json!({ "text": text }),
        );
    }

    /// Empties the field that `css` selects.
    pub fn clear(&self, css: &str) {
        let el = self.find(css);
        self.session_call("POST", &format!("/element/{el}/clear"), &json!({}));
    }

    pub fn click(&self, css: &str) {
        let el = self.find(css);
        self.session_call("POST", &format!("/element/{el}/click"), &json!({}));
    }

    /// Runs `script` (a function body) in the page; what it returns.
    pub fn eval(&self, script: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            &json!({ "script": script, "args": [] }),
        )
    }

    /// Waits until `script` returns something truthy in the page; that value. Panics
    /// with the page's text after [`WAIT`].
    pub fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.eval(script);
            if !(v.is_null() || v == false || v == "" || v == 0) {
                return v;
            }
            if Instant::now() >= deadline {
                let text = self.eval("return document.body.innerText;");
                panic!("{what}: not within {WAIT:?}; the page shows:\n{text}");
            }
            thread::sleep(POLL);
        }
    }

    /// A PNG of the window, written to `path` (its folder made if needed).
    pub fn screenshot(&self, path: &Path) -> PathBuf {
        let v = self.session_call("GET", "/screenshot", &Value::Null);
        let png = openssl::base64::decode_block(v.as_str().expect("base64 PNG")).expect("base64");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("screenshot folder");
        }
        std::fs::write(path, png).expect("write the screenshot");
        path.to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session quits Chromium; errors are ignored, as a drop may run while
        // a test panics.
        if !self.session.is_empty()
            && let Ok(mut s) = TcpStream::connect_timeout(&self.addr, WAIT)
        {
            let _ = s.set_read_timeout(Some(WAIT));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                self.session
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
