//! The web page in a real headless Chromium (WebDriver): a call placed from its form with
//! the HTTP authentication on, its progress appearing live, and the hang-up button
//! ending it (both SIPp phones see a BYE). A screenshot after the call is kept under
//! `target/` for CI.

use crate::support::{
    api_client::ApiClient,
    browser::Browser,
    lab::Lab,
    server::{PASSWORD, ServerConfig, manifest_dir},
};

/// The state cell of the page's only call row, or null while there is none.
const ROW_STATE: &str =
    "const r = document.querySelector('#calls tr'); return r ? r.dataset.state || null : null;";

#[test]
fn the_page_places_an_anchored_call_shows_its_progress_live_and_hangs_it_up() {
    // `calls()` sets its own HttpAuthPwd; the page is given the harness's PASSWORD.
    let lab = Lab::start(
        "web-page",
        ServerConfig::calls()
            .with_auth()
            .set("HttpAuthPwd", PASSWORD),
    );
    let mut initiator = lab.uas("initiator_anchor.xml", &[]);
    let mut destination = lab.uas(
        "destination_anchor_wait.xml",
        &[("INIT_PORT", initiator.port.to_string())],
    );
    let browser = Browser::start(lab.dir());
    browser.navigate(&lab.server.http_url("/"));
    assert_eq!(browser.eval("return document.title;"), "ClickToCall Server");
    browser.type_into("#password", PASSWORD);
    browser.type_into("#initiator", &initiator.phone("100"));
    browser.type_into("#destination", &destination.phone("200"));
    browser.click("#anchor");
    browser.click("#call");

    let state = browser.wait_for(
        "the call connected",
        "const r = document.querySelector('#calls tr'); \
         return r && r.dataset.state === 'connected' ? r.dataset.state : null;",
    );
    assert_eq!(state, "connected");
    let progress = browser.eval(
        "return [...document.querySelectorAll('#calls tr td.progress div')].map(d => d.textContent);",
    );
    assert_eq!(
        progress,
        serde_json::json!([
            "180 Initiator Ringing initiator",
            "200 Initiator Connected to initiator",
            "180 Destination Ringing destination",
            "200 Destination Connected to destination",
        ])
    );
    let id = browser
        .eval("return document.querySelector('#calls tr').dataset.id;")
        .as_str()
        .expect("the row's call id")
        .to_owned();
    let shot = browser.screenshot(&manifest_dir().join("target/web-page/after-call.png"));
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
        "{shot:?}"
    );

    browser.click("#calls tr button.hangup");
    browser.wait_for(
        "the call ended",
        "const r = document.querySelector('#calls tr'); \
         return r && r.dataset.state === 'ended' && r.dataset.hungUp === 'true';",
    );
    assert_eq!(browser.eval(ROW_STATE), "ended");
    initiator.wait_received("BYE", 1);
    destination.wait_received("BYE", 1);
    initiator.expect_pass();
    destination.expect_pass();
    let call = ApiClient::new(lab.server.http_addr()).with_auth().call(&id);
    assert_eq!(call.json["hung_up_by_api"], true);
    browser.screenshot(&manifest_dir().join("target/web-page/after-hang-up.png"));
}
