//! `GET /metrics`: the Prometheus text exposition format (version 0.0.4), written by hand:
//! a few counters, gauges and one histogram, all with fixed label values, so nothing from
//! a request reaches the text.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::api::stats::{FrontDoorStats, LISTENERS};
use crate::c2c::command::CallMode;
use crate::c2c::registry::{FINAL_BUCKETS, MetricsSnapshot};
use crate::sip::reactor::{DIRECTIONS, FIRST_CLASS, KINDS, SipSnapshot, TRANSPORTS};

/// The exposition format's media type.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const CLASSES: [&str; 5] = ["2xx", "3xx", "4xx", "5xx", "6xx"];

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The whole exposition.
pub(crate) fn render(m: &MetricsSnapshot, doors: &FrontDoorStats) -> String {
    let mut out = String::with_capacity(4096);
    header(
        &mut out,
        "clicktocall_calls_started_total",
        "counter",
        "Click-to-calls placed, by mode.",
    );
    for (mode, n) in CallMode::ALL.map(CallMode::as_str).iter().zip(m.started) {
        let _ = writeln!(
            out,
            "clicktocall_calls_started_total{{mode=\"{mode}\"}} {n}"
        );
    }
    header(
        &mut out,
        "clicktocall_calls_completed_total",
        "counter",
        "Click-to-calls whose final result was a success (the destination connected), by mode.",
    );
    for (mode, classes) in CallMode::ALL.map(CallMode::as_str).iter().zip(m.finished) {
        let _ = writeln!(
            out,
            "clicktocall_calls_completed_total{{mode=\"{mode}\"}} {}",
            classes[0]
        );
    }
    header(
        &mut out,
        "clicktocall_calls_failed_total",
        "counter",
        "Click-to-calls whose final result was a failure, by mode and code class.",
    );
    for (mode, classes) in CallMode::ALL.map(CallMode::as_str).iter().zip(m.finished) {
        for (class, n) in CLASSES.iter().zip(classes).skip(1) {
            let _ = writeln!(
                out,
                "clicktocall_calls_failed_total{{mode=\"{mode}\",class=\"{class}\"}} {n}"
            );
        }
    }
    header(
        &mut out,
        "clicktocall_calls_live",
        "gauge",
        "Click-to-calls not yet over.",
    );
    let _ = writeln!(out, "clicktocall_calls_live {}", m.live_calls);
    header(
        &mut out,
        "clicktocall_legs_live",
        "gauge",
        "SIP legs (an INVITE of ours and its dialog) of the live calls.",
    );
    let _ = writeln!(out, "clicktocall_legs_live {}", m.live_legs);
    header(
        &mut out,
        "clicktocall_call_final_seconds",
        "histogram",
        "Time from a click-to-call request to its final result.",
    );
    for (bound, n) in FINAL_BUCKETS.iter().zip(m.final_buckets) {
        let _ = writeln!(
            out,
            "clicktocall_call_final_seconds_bucket{{le=\"{bound}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "clicktocall_call_final_seconds_bucket{{le=\"+Inf\"}} {}",
        m.final_count
    );
    let _ = writeln!(out, "clicktocall_call_final_seconds_sum {}", m.final_sum);
    let _ = writeln!(
        out,
        "clicktocall_call_final_seconds_count {}",
        m.final_count
    );
    for (name, help, n) in [
        (
            "clicktocall_cdr_records_written_total",
            "Call detail records written to CdrFilename.",
            m.cdr_written,
        ),
        (
            "clicktocall_cdr_write_errors_total",
            "Failed writes, fsyncs and reopens of the call detail record file.",
            m.cdr_write_errors,
        ),
        (
            "clicktocall_cdr_records_dropped_total",
            "Call detail records dropped: the writer was too far behind.",
            m.cdr_dropped,
        ),
    ] {
        header(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name} {n}");
    }

    header(
        &mut out,
        "clicktocall_api_connections_total",
        "counter",
        "Connections accepted and served, by listener.",
    );
    for (what, l) in LISTENERS.iter().zip(&doors.listeners) {
        let _ = writeln!(
            out,
            "clicktocall_api_connections_total{{listener=\"{what}\"}} {}",
            l.accepted.load(Ordering::Relaxed)
        );
    }
    header(
        &mut out,
        "clicktocall_api_connections_open",
        "gauge",
        "Connections being served, by listener.",
    );
    for (what, l) in LISTENERS.iter().zip(&doors.listeners) {
        let open = l
            .accepted
            .load(Ordering::Relaxed)
            .saturating_sub(l.closed.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "clicktocall_api_connections_open{{listener=\"{what}\"}} {open}"
        );
    }
    header(
        &mut out,
        "clicktocall_api_connections_refused_total",
        "counter",
        "Connections refused: not in the access list, or over a connection cap.",
    );
    for (what, l) in LISTENERS.iter().zip(&doors.listeners) {
        for (reason, n) in [("access", &l.refused_access), ("limit", &l.refused_limit)] {
            let _ = writeln!(
                out,
                "clicktocall_api_connections_refused_total{{listener=\"{what}\",reason=\"{reason}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
    }
    header(
        &mut out,
        "clicktocall_calls_refused_total",
        "counter",
        "Click-to-call requests refused by an admission limit, by its key.",
    );
    for (limit, n) in doors.refused_calls() {
        let _ = writeln!(
            out,
            "clicktocall_calls_refused_total{{limit=\"{limit}\"}} {n}"
        );
    }
    render_sip(&mut out, &m.sip);
    out
}

/// One counter of SIP messages by direction, transport and `kinds` (the requests' methods
/// or the responses' code classes, `label` naming which).
fn sip_series(
    out: &mut String,
    (name, label): (&str, &str),
    help: &str,
    sip: &SipSnapshot,
    kinds: std::ops::Range<usize>,
) {
    header(out, name, "counter", help);
    for (d, direction) in DIRECTIONS.iter().enumerate() {
        for (t, transport) in TRANSPORTS.iter().enumerate() {
            for k in kinds.clone() {
                let _ = writeln!(
                    out,
                    "{name}{{direction=\"{direction}\",{label}=\"{}\",transport=\"{transport}\"}} {}",
                    KINDS[k], sip.messages[d][t][k]
                );
            }
        }
    }
}

/// The SIP reactor's part: messages, transactions, DNS.
fn render_sip(out: &mut String, sip: &SipSnapshot) {
    sip_series(
        out,
        ("clicktocall_sip_messages_total", "method"),
        "SIP requests received (in) and sent (out), retransmissions included, by method and transport.",
        sip,
        0..FIRST_CLASS,
    );
    sip_series(
        out,
        ("clicktocall_sip_responses_total", "class"),
        "SIP responses received (in) and sent (out), retransmissions included, by code class and transport.",
        sip,
        FIRST_CLASS..KINDS.len(),
    );
    header(
        out,
        "clicktocall_sip_transactions",
        "gauge",
        "SIP transactions held: live ones, and finished ones kept to absorb retransmissions (RFC 3261 Timers D, I, J, K).",
    );
    let [client_live, client_finished, server_live, server_finished] = sip.transactions;
    for (side, state, n) in [
        ("client", "live", client_live),
        ("client", "finished", client_finished),
        ("server", "live", server_live),
        ("server", "finished", server_finished),
    ] {
        let _ = writeln!(
            out,
            "clicktocall_sip_transactions{{side=\"{side}\",state=\"{state}\"}} {n}"
        );
    }
    header(
        out,
        "clicktocall_dns_lookups_total",
        "counter",
        "Next hops named by a host name, resolved per RFC 3263 (answers from the cache included).",
    );
    let _ = writeln!(out, "clicktocall_dns_lookups_total {}", sip.dns_lookups);
    header(
        out,
        "clicktocall_dns_failures_total",
        "counter",
        "Of those, the resolutions that gave no address.",
    );
    let _ = writeln!(out, "clicktocall_dns_failures_total {}", sip.dns_failures);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_line_is_a_name_labels_and_a_number() {
        let m = MetricsSnapshot {
            started: [3, 1, 2],
            finished: [[2, 0, 1, 0, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 1]],
            final_count: 4,
            final_sum: 7.5,
            ..MetricsSnapshot::default()
        };
        let text = render(&m, &FrontDoorStats::default());
        assert!(text.contains("clicktocall_calls_started_total{mode=\"refer\"} 3\n"));
        assert!(text.contains("clicktocall_calls_completed_total{mode=\"refer\"} 2\n"));
        assert!(
            text.contains("clicktocall_calls_failed_total{mode=\"anchored\",class=\"5xx\"} 1\n")
        );
        assert!(text.contains("clicktocall_calls_started_total{mode=\"refer-ood\"} 2\n"));
        assert!(
            text.contains("clicktocall_calls_failed_total{mode=\"refer-ood\",class=\"6xx\"} 1\n")
        );
        assert!(text.contains("clicktocall_call_final_seconds_bucket{le=\"+Inf\"} 4\n"));
        assert!(text.contains(
            "clicktocall_sip_messages_total{direction=\"in\",method=\"INVITE\",transport=\"udp\"} 0\n"
        ));
        assert!(text.contains(
            "clicktocall_sip_responses_total{direction=\"out\",class=\"6xx\",transport=\"tls\"} 0\n"
        ));
        assert!(!text.contains("method=\"2xx\""), "classes are not methods");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').expect("name value");
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(name.starts_with("clicktocall_"), "{line}");
        }
    }
}
