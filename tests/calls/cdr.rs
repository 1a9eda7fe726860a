//! Call detail records, black box: the real binary with `CdrFilename`, SIPp phones, and
//! the file read back with Python's `json` and `csv` modules (what a billing script
//! would use), for each way a call ends; rotation, SIGHUP reopen, a full disk, and the
//! records `GET /api/v1/calls?state=ended` keeps.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{
    WAIT, api_client::ApiClient, lab::Lab, lab::PhoneRun, lab::events, lab::phone,
    ports::unbound_port, server::ServerConfig, xml::XmlClient,
};

/// The call tests' configuration with records in `name` (relative to the server's
/// directory), in `format`.
fn config(name: &str, format: &str) -> ServerConfig {
    ServerConfig::calls()
        .set("CdrFilename", name)
        .set("CdrFormat", format)
}

/// The records of `path`, parsed by Python: JSON lines with `json.loads`, CSV with
/// `csv.DictReader` (every value a string, `""` for none). Fails if Python cannot parse
/// the file.
fn parse_with_python(path: &Path, format: &str) -> Vec<Value> {
    let script = match format {
        "json" => {
            "import json,sys\nprint(json.dumps([json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]))"
        }
        "csv" => {
            "import csv,json,sys\nprint(json.dumps(list(csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8'), strict=True))))"
        }
        other => panic!("no format {other}"),
    };
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 (Debian: python3) runs");
    assert!(
        out.status.success(),
        "python3 could not parse {}: {}\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).expect("python printed JSON");
    parsed.as_array().cloned().expect("a list of records")
}

/// Waits (bounded) until `path` holds `n` complete lines besides a CSV header; the
/// records are then parsed by Python.
fn wait_records(path: &Path, format: &str, n: usize) -> Vec<Value> {
    let header = usize::from(format == "csv");
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines = text.matches('\n').count();
        if lines >= n + header && text.ends_with('\n') {
            let records = parse_with_python(path, format);
            assert_eq!(records.len(), n, "{text}");
            return records;
        }
        assert!(
            Instant::now() < deadline,
            "{} has {lines} lines, not {} within {WAIT:?}:\n{text}",
            path.display(),
            n + header
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// `2026-12-04T21:38:03.123Z`: RFC 3339, UTC, milliseconds.
fn assert_time(v: &Value, what: &str) {
    let t = v[what]
        .as_str()
        .unwrap_or_else(|| panic!("{what} missing: {v}"));
    let b = t.as_bytes();
    let shape = b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z';
    assert!(shape, "{what} = {t:?} is not RFC 3339 UTC");
}

fn single(lab: &Lab, name: &str, format: &str) -> Value {
    wait_records(&lab.dir().join(name), format, 1).remove(0)
}

#[test]
fn a_refer_success_is_recorded_as_transferred_by_the_destination() {
    let lab = Lab::start("cdr-refer", config("cdr.jsonl", "json"));
    let dest = unbound_port();
    let mut initiator = lab.uas("initiator_refer_ok.xml", &[("DEST_PORT", dest.to_string())]);
    let got = lab.click_to_call(&initiator.phone("100"), &phone(dest, "200"), false);
    assert_eq!(got.last().map(|e| e.code), Some(200), "{got:?}");
    initiator.expect_pass();
    let r = single(&lab, "cdr.jsonl", "json");
    assert_eq!(r["mode"], "refer", "{r}");
    assert_eq!(r["interface"], "xml");
    assert_eq!(r["client"], "127.0.0.1");
    assert_eq!(r["initiator"], initiator.phone("100"));
    assert_eq!(
        r["initiator_uri"],
        format!("sip:100@127.0.0.1:{}", initiator.port)
    );
    assert_eq!(r["destination"], phone(dest, "200"));
    assert_eq!(r["destination_uri"], format!("sip:200@127.0.0.1:{dest}"));
    assert_eq!(
        (r["code"].as_u64(), r["text"].as_str()),
        (Some(200), Some("Connected to destination"))
    );
    assert_eq!(r["ended_by"], "destination");
    for t in [
        "requested_at",
        "initiator_answered_at",
        "transfer_accepted_at",
        "destination_answered_at",
        "ended_at",
    ] {
        assert_time(&r, t);
    }
    assert!(
        r["initiator_answered_at"].as_str() <= r["transfer_accepted_at"].as_str(),
        "{r}"
    );
    assert!(
        r["initiator_sip_call_id"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{r}"
    );
    // REFER: we never call the destination ourselves.
    assert!(r["destination_sip_call_id"].is_null(), "{r}");
    assert!(r["instance"].is_null());
    assert!(
        r["duration_ms"].as_u64().is_some() && r["connected_ms"].as_u64().is_some(),
        "{r}"
    );
    assert!(
        r["call_id"].as_str().is_some_and(|id| id.len() == 32),
        "{r}"
    );
}

#[test]
fn an_anchored_call_the_destination_hangs_up_is_ended_by_the_destination() {
    let lab = Lab::start("cdr-anchor-dest-bye", config("cdr.jsonl", "json"));
    let (got, _, _) = lab.call_between("initiator_anchor.xml", "destination_anchor.xml", true);
    assert_eq!(got, crate::support::lab::connected_both_legs());
    let r = single(&lab, "cdr.jsonl", "json");
    assert_eq!(r["mode"], "anchored", "{r}");
    assert_eq!(r["ended_by"], "destination", "{r}");
    assert_eq!(r["code"], 200);
    assert_time(&r, "destination_answered_at");
    assert!(r["transfer_accepted_at"].is_null(), "{r}");
    assert!(r["connected_ms"].as_u64().is_some(), "{r}");
    let (i, d) = (
        r["initiator_sip_call_id"].as_str(),
        r["destination_sip_call_id"].as_str(),
    );
    assert!(
        i.is_some() && d.is_some() && i != d,
        "two legs, two Call-IDs: {r}"
    );
}

#[test]
fn an_anchored_call_the_initiator_hangs_up_is_ended_by_the_initiator() {
    let lab = Lab::start("cdr-anchor-init-bye", config("cdr.jsonl", "json"));
    let (got, _, _) = lab.call_between(
        "initiator_anchor_hangup.xml",
        "destination_anchor_wait.xml",
        true,
    );
    assert_eq!(got, crate::support::lab::connected_both_legs());
    let r = single(&lab, "cdr.jsonl", "json");
    assert_eq!(
        (r["mode"].as_str(), r["ended_by"].as_str()),
        (Some("anchored"), Some("initiator")),
        "{r}"
    );
}

#[test]
fn a_busy_destination_is_recorded_with_its_486() {
    let lab = Lab::start("cdr-dest-busy", config("cdr.jsonl", "json"));
    let (got, _, _) = lab.call_between(
        "initiator_answer_wait_bye.xml",
        "destination_busy.xml",
        true,
    );
    assert_eq!(got.last().map(|e| e.code), Some(486), "{got:?}");
    let r = single(&lab, "cdr.jsonl", "json");
    assert_eq!(
        (
            r["code"].as_u64(),
            r["text"].as_str(),
            r["ended_by"].as_str()
        ),
        (
            Some(486),
            Some("Failed to connect to destination"),
            Some("destination")
        ),
        "{r}"
    );
    assert_time(&r, "initiator_answered_at");
    assert!(
        r["destination_answered_at"].is_null() && r["connected_ms"].is_null(),
        "{r}"
    );
    assert!(
        r["destination_sip_call_id"].as_str().is_some(),
        "the destination was called: {r}"
    );
}

#[test]
fn a_ring_time_out_is_recorded_as_a_time_out_and_the_api_serves_the_same_record() {
    let lab = Lab::start("cdr-ring-timeout", config("cdr.jsonl", "json"));
    let mut initiator = lab.uas("initiator_no_answer.xml", &[]);
    let api = ApiClient::new(lab.server.http_addr());
    let id = api.place_ok(&json!({
        "initiator": initiator.phone("100"),
        "destination": phone(unbound_port(), "200"),
        "ring_timeout": 1,
    }));
    let r = single(&lab, "cdr.jsonl", "json");
    initiator.expect_pass();
    assert_eq!(r["call_id"], id.as_str());
    assert_eq!(r["interface"], "api");
    assert_eq!(
        (r["code"].as_u64(), r["ended_by"].as_str()),
        (Some(408), Some("timeout")),
        "{r}"
    );
    assert!(r["initiator_answered_at"].is_null(), "{r}");
    let ended = api.get("/api/v1/calls?state=ended");
    assert_eq!(ended.status, 200, "{:?}", ended.http);
    assert_eq!(
        ended.json["calls"],
        json!([r]),
        "the API's record is the file's"
    );
    assert_eq!(api.get("/api/v1/calls?state=other").status, 400);
    // The live list does not have it.
    assert_eq!(api.get("/api/v1/calls").json["calls"], json!([]));
}

#[test]
fn a_refused_refer_is_recorded_as_a_fallback_to_anchored() {
    let lab = Lab::start("cdr-fallback", config("cdr.jsonl", "json"));
    let (got, _, _) = lab.call_between(
        "initiator_refer_reject.xml",
        "destination_anchor.xml",
        false,
    );
    assert_eq!(got.last().map(|e| e.code), Some(200), "{got:?}");
    let r = single(&lab, "cdr.jsonl", "json");
    assert_eq!(r["mode"], "fallback-to-anchored", "{r}");
    assert!(r["transfer_accepted_at"].is_null(), "{r}");
    assert!(r["destination_sip_call_id"].as_str().is_some(), "{r}");
}

#[test]
fn a_call_ended_by_sigterm_has_its_record_on_disk_when_the_process_exits() {
    let mut lab = Lab::start("cdr-sigterm", config("cdr.csv", "csv"));
    let (mut initiator, mut destination) = lab.phones(
        PhoneRun::Udp,
        "initiator_anchor.xml",
        "destination_anchor_wait.xml",
    );
    let mut client = XmlClient::connect(lab.server.xml_port);
    client.send_request(&initiator.phone("100"), &destination.phone("200"), true);
    let got = client.events_until(WAIT, |e| e.is_final());
    assert_eq!(got.last().map(|e| e.code), Some(200), "{got:?}");
    initiator.wait_received("ACK", 2);
    lab.server.terminate();
    let status = lab.server.wait_exit(WAIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "exit status {status:?}"
    );
    // Read at once after the exit: no waiting for a writer that is gone.
    let path = lab.dir().join("cdr.csv");
    let records = parse_with_python(&path, "csv");
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(
        (r["mode"].as_str(), r["ended_by"].as_str()),
        (Some("anchored"), Some("shutdown")),
        "{r}"
    );
    assert_eq!(r["code"], "200", "the call had connected: {r}");
    assert_time(r, "ended_at");
    initiator.expect_pass();
    destination.expect_pass();
}

#[test]
fn csv_records_parse_back_with_pythons_csv_and_mask_the_last_digits() {
    let lab = Lab::start(
        "cdr-csv",
        config("cdr.csv", "csv")
            .set("CdrMaskDigits", "2")
            .set("InstanceName", "east-1"),
    );
    let mut initiator = lab.uas_calls("initiator_busy.xml", 2, &[]);
    let dest = unbound_port();
    for _ in 0..2 {
        let got = lab.click_to_call(&initiator.phone("12345"), &phone(dest, "200"), false);
        assert_eq!(got.last().map(|e| e.code), Some(486), "{got:?}");
    }
    initiator.expect_pass();
    let path = lab.dir().join("cdr.csv");
    let records = wait_records(&path, "csv", 2);
    let text = std::fs::read_to_string(&path).expect("file");
    assert!(
        text.starts_with("call_id,instance,interface,client,"),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("call_id,")).count(),
        1,
        "one header: {text}"
    );
    for r in &records {
        assert_eq!(r["instance"], "east-1", "{r}");
        assert!(
            r["call_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("east-1-")),
            "{r}"
        );
        assert_eq!(r["initiator"], format!("p{}-123XX", initiator.port), "{r}");
        assert_eq!(
            r["initiator_uri"],
            format!("sip:123XX@127.0.0.1:{}", initiator.port),
            "{r}"
        );
        assert_eq!(r["destination"], format!("p{dest}-2XX"), "{r}");
        assert_eq!(
            r["destination_uri"],
            format!("sip:2XX@127.0.0.1:{dest}"),
            "{r}"
        );
        assert_eq!(
            (r["code"].as_str(), r["ended_by"].as_str()),
            (Some("486"), Some("initiator")),
            "{r}"
        );
        // CSV has no null: an empty field.
        assert_eq!(r["destination_sip_call_id"], "", "{r}");
        assert_eq!(r["text"], "Failed to connect to initiator");
    }
    assert!(
        !text.contains("-12345") && !text.contains(":12345@") && !text.contains("-200,"),
        "unmasked digits: {text}"
    );
}

#[test]
fn the_file_is_rotated_after_cdr_file_max_lines() {
    let lab = Lab::start(
        "cdr-rotate",
        config("cdr.jsonl", "json").set("CdrFileMaxLines", "2"),
    );
    let mut initiator = lab.uas_calls("initiator_busy.xml", 3, &[]);
    let dest = unbound_port();
    for _ in 0..3 {
        lab.click_to_call(&initiator.phone("100"), &phone(dest, "200"), false);
    }
    initiator.expect_pass();
    let current = wait_records(&lab.dir().join("cdr.jsonl"), "json", 1);
    let rotated = wait_records(&lab.dir().join("cdr.jsonl.1"), "json", 2);
    assert!(
        rotated
            .iter()
            .all(|r| r["call_id"] != current[0]["call_id"]),
        "three different calls"
    );
}

#[test]
fn sighup_reopens_the_file_so_the_next_call_lands_in_a_new_one() {
    let mut lab = Lab::start("cdr-sighup", config("cdr.jsonl", "json"));
    let mut initiator = lab.uas_calls("initiator_busy.xml", 2, &[]);
    let dest = unbound_port();
    let path = lab.dir().join("cdr.jsonl");
    lab.click_to_call(&initiator.phone("100"), &phone(dest, "200"), false);
    let first = wait_records(&path, "json", 1);
    // What logrotate does: rename, then SIGHUP.
    let old: PathBuf = lab.dir().join("cdr.jsonl.old");
    std::fs::rename(&path, &old).expect("rename the file");
    lab.server.signal(libc::SIGHUP);
    lab.server
        .expect_log("call detail record file cdr.jsonl reopened");
    lab.click_to_call(&initiator.phone("100"), &phone(dest, "200"), false);
    let second = wait_records(&path, "json", 1);
    initiator.expect_pass();
    assert_ne!(first[0]["call_id"], second[0]["call_id"]);
    assert_eq!(
        parse_with_python(&old, "json"),
        first,
        "the old file is left as it was"
    );
}

#[test]
fn a_full_disk_logs_one_error_counts_every_failure_and_calls_go_on() {
    let lab = Lab::start("cdr-full", config("/dev/full", "json"));
    let mut initiator = lab.uas_calls("initiator_busy.xml", 3, &[]);
    let dest = unbound_port();
    for _ in 0..3 {
        let got = lab.click_to_call(&initiator.phone("100"), &phone(dest, "200"), false);
        assert_eq!(
            got,
            events(&[
                (100, "", "In progress"),
                (486, "Initiator", "Failed to connect to initiator")
            ])
        );
    }
    initiator.expect_pass();
    let api = ApiClient::new(lab.server.http_addr());
    let deadline = Instant::now() + WAIT;
    let metrics = loop {
        let m = api.metrics();
        if m.get("clicktocall_cdr_write_errors_total").copied() >= Some(3.0)
            || Instant::now() >= deadline
        {
            break m;
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        metrics.get("clicktocall_cdr_write_errors_total"),
        Some(&3.0),
        "{metrics:?}"
    );
    assert_eq!(
        metrics.get("clicktocall_cdr_records_written_total"),
        Some(&0.0)
    );
    assert_eq!(
        metrics.get("clicktocall_cdr_records_dropped_total"),
        Some(&0.0)
    );
    let log = lab.server.log();
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("cannot write the call detail record file /dev/full"))
        .collect();
    assert_eq!(errors.len(), 1, "logged once a minute at most: {errors:?}");
    assert!(errors[0].contains("ERROR"), "{}", errors[0]);
    // The records are still kept for the API.
    assert_eq!(
        api.get("/api/v1/calls?state=ended").json["calls"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

#[test]
fn a_call_whose_phone_ignores_the_shutdowns_bye_still_has_its_record_at_exit() {
    use crate::support::raw_phone::{RawMode, RawPhone};
    let mut lab = Lab::start("cdr-sigterm-deaf", config("cdr.jsonl", "json"));
    // Answers the INVITE, then ignores the ACK, the REFER and the BYE: the call is still
    // alive when the calls thread's shutdown grace is over.
    let phone_ = RawPhone::start(RawMode::Answer);
    let mut client = XmlClient::connect(lab.server.xml_port);
    client.send_request(&phone_.phone("100"), &phone(unbound_port(), "200"), false);
    client.events_until(WAIT, |e| e.code == 200 && e.leg == "Initiator");
    lab.server.terminate();
    let status = lab.server.wait_exit(WAIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "exit status {status:?}"
    );
    let records = parse_with_python(&lab.dir().join("cdr.jsonl"), "json");
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["ended_by"], "shutdown", "{r}");
    assert_eq!(
        (r["code"].as_u64(), r["text"].as_str()),
        (Some(503), Some("Failed to connect to destination")),
        "{r}"
    );
}

/// An out-of-dialog REFER click-to-dial (RFC 5359 §2.18): recorded as `refer-ood`, the
/// REFER's acceptance and the transfer's success timed, no answer of the initiator (the
/// phone never answered a call of ours) and no destination leg of ours.
#[test]
fn an_out_of_dialog_refer_is_recorded_as_refer_ood() {
    let lab = Lab::start(
        "cdr-refer-ood",
        config("cdr.jsonl", "json").set("CallMode", "refer-ood"),
    );
    let (got, _) = lab.refer_call("initiator_refer_ood_ok.xml", &[]);
    assert_eq!(got.last().map(|e| e.code), Some(200), "{got:?}");
    let r = single(&lab, "cdr.jsonl", "json");
    assert_eq!(r["mode"], "refer-ood", "{r}");
    assert_eq!(
        (r["code"].as_u64(), r["text"].as_str()),
        (Some(200), Some("Connected to destination"))
    );
    assert_eq!(r["ended_by"], "destination", "{r}");
    assert!(r["initiator_answered_at"].is_null(), "{r}");
    assert_time(&r, "transfer_accepted_at");
    assert_time(&r, "destination_answered_at");
    assert!(
        r["initiator_sip_call_id"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "the REFER's Call-ID: {r}"
    );
    assert!(r["destination_sip_call_id"].is_null(), "{r}");
}
