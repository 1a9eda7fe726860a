//! The web page in a real headless Chromium (WebDriver): a call placed from its form with
//! the HTTP authentication on, its progress appearing live, and the hang-up button
//! ending it (both SIPp phones see a BYE); then an out-of-dialog REFER call chosen in the
//! form's mode list, its progress up to the destination's 200. A screenshot after the
//! call is kept under `target/` for CI.

use crate::support::{
    api_client::ApiClient,
    browser::Browser,
    lab::{Lab, phone},
    ports::unbound_port,
    server::{PASSWORD, ServerConfig, manifest_dir},
};

/// The state cell of the page's only call row, or null while there is none.
const ROW_STATE: &str =
    "const r = document.querySelector('#calls tr'); return r ? r.dataset.state || null : null;";

/// The progress lines of the page's newest call row.
const ROW_PROGRESS: &str = "return [...document.querySelectorAll('#calls tr:first-child td.progress div')].map(d => d.textContent);";

#[test]
fn the_page_places_an_anchored_and_a_refer_ood_call_shows_their_progress_live() {
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
    browser.click("#mode option[value=anchored]");
    browser.click("#call");

    let state = browser.wait_for(
        "the call connected",
        "const r = document.querySelector('#calls tr'); \
         return r && r.dataset.state === 'connected' ? r.dataset.state : null;",
    );
    assert_eq!(state, "connected");
    assert_eq!(
        browser.eval(ROW_PROGRESS),
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

    // The out-of-dialog REFER mode (RFC 5359 §2.18): the phone accepts the REFER and
    // calls the destination itself, whose port only appears in the Refer-To it checks.
    let dest = unbound_port();
    let mut ood = lab.uas(
        "initiator_refer_ood_ok.xml",
        &[("DEST_PORT", dest.to_string())],
    );
    browser.clear("#initiator");
    browser.clear("#destination");
    browser.type_into("#initiator", &ood.phone("100"));
    browser.type_into("#destination", &phone(dest, "200"));
    browser.click("#mode option[value=refer-ood]");
    browser.click("#call");
    browser.wait_for(
        "the out-of-dialog REFER call ended",
        &format!(
            "const r = document.querySelector('#calls tr'); \
             return r && r.dataset.id !== '{id}' && r.dataset.state === 'ended' ? r.dataset.state : null;"
        ),
    );
    assert_eq!(
        browser.eval(ROW_PROGRESS),
        serde_json::json!([
            "200 Initiator Initiator accepted the REFER",
            "180 Destination Ringing destination",
            "200 Destination Connected to destination",
        ])
    );
    assert_eq!(
        browser.eval("return document.querySelector('#calls tr td.mode').textContent;"),
        "refer-ood"
    );
    ood.expect_pass();
    browser.screenshot(&manifest_dir().join("target/web-page/after-refer-ood.png"));
}
