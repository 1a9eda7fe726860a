//! A record as one line of the CDR file: a JSON object (JSON lines, `jq`-friendly) or an
//! RFC 4180 CSV record under a header line.

use super::record::CdrRecord;
use crate::config::CdrFormat;

/// The line of `record` in `format`, with its line break.
pub(crate) fn line(record: &CdrRecord, format: CdrFormat) -> String {
    match format {
        CdrFormat::Json => json_line(record),
        CdrFormat::Csv => csv_line(record.csv_values().iter().map(String::as_str)),
    }
}

/// The header line of a CSV file (nothing for JSON lines).
pub(crate) fn header(format: CdrFormat) -> Option<String> {
    match format {
        CdrFormat::Json => None,
        CdrFormat::Csv => Some(csv_line(CdrRecord::CSV_HEADER.iter().copied())),
    }
}

/// serde_json escapes every control character (RFC 8259 §7), so the object is one line.
fn json_line(record: &CdrRecord) -> String {
    let mut out = serde_json::to_string(record)
        // Plain strings and numbers always serialise; say so rather than lose the line.
        .unwrap_or_else(|e| format!("{{\"error\":\"unserialisable record: {e}\"}}"));
    out.push('\n');
    out
}

/// RFC 4180 §2: fields separated by commas, a field holding a comma, a quote or a line
/// break enclosed in quotes with its quotes doubled, the record ended by CRLF. Control
/// characters (line breaks included) become spaces first, so a record is always one
/// line: the file's rotation counts lines, and line tools (`tail`, `grep`) stay right.
fn csv_line<'a>(fields: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let clean: String = field
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if clean.contains([',', '"']) {
            out.push('"');
            out.push_str(&clean.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&clean);
        }
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::record::{EndedBy, Mode};

    fn record() -> CdrRecord {
        CdrRecord {
            call_id: "east-1-00ff".into(),
            instance: Some("east-1".into()),
            interface: "xml",
            client: "127.0.0.1".into(),
            initiator: "Bob \"the builder\", jr".into(),
            destination: "line\nbreak\ttab".into(),
            initiator_uri: "sip:100@h".into(),
            destination_uri: "sip:200@h".into(),
            mode: Mode::FallbackToAnchored,
            requested_at: "2026-12-04T21:38:03.123Z".into(),
            initiator_answered_at: Some("2026-12-04T21:38:04.000Z".into()),
            transfer_accepted_at: None,
            destination_answered_at: None,
            ended_at: "2026-12-04T21:38:09.000Z".into(),
            duration_ms: 5877,
            connected_ms: None,
            code: 486,
            text: "Failed to connect to destination".into(),
            ended_by: EndedBy::Destination,
            initiator_sip_call_id: Some("abc@127.0.0.1".into()),
            destination_sip_call_id: None,
        }
    }

    #[test]
    fn csv_quotes_commas_and_quotes_and_keeps_a_record_on_one_line() {
        let line = csv_line(
            ["plain", "a,b", "say \"hi\"", "", "two\r\nlines"]
                .iter()
                .copied(),
        );
        assert_eq!(line, "plain,\"a,b\",\"say \"\"hi\"\"\",,two  lines\r\n");
        let line = super::line(&record(), CdrFormat::Csv);
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(
            line.contains(",\"Bob \"\"the builder\"\", jr\",line break tab,"),
            "{line}"
        );
        assert!(line.contains(",fallback-to-anchored,"), "{line}");
        assert!(
            line.contains(",486,Failed to connect to destination,destination,"),
            "{line}"
        );
    }

    #[test]
    fn the_csv_header_names_the_json_keys_in_order() {
        let csv = header(CdrFormat::Csv).expect("csv has a header");
        assert_eq!(csv, format!("{}\r\n", CdrRecord::CSV_HEADER.join(",")));
        let json = json_line(&record());
        let mut at = 0;
        for key in CdrRecord::CSV_HEADER {
            let found = json[at..]
                .find(&format!("\"{key}\":"))
                .unwrap_or_else(|| panic!("{key} missing or out of order in {json}"));
            at += found;
        }
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(
            parsed.as_object().map(|o| o.len()),
            Some(CdrRecord::CSV_HEADER.len())
        );
        assert_eq!(header(CdrFormat::Json), None);
    }

    #[test]
    fn json_escapes_quotes_and_control_characters_on_one_line() {
        let line = json_line(&record());
        assert!(line.ends_with("}\n"));
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(
            line.contains(r#""initiator":"Bob \"the builder\", jr""#),
            "{line}"
        );
        assert!(
            line.contains(r#""destination":"line\nbreak\ttab""#),
            "{line}"
        );
        assert!(line.contains(r#""transfer_accepted_at":null"#), "{line}");
        assert!(line.contains(r#""mode":"fallback-to-anchored""#), "{line}");
        assert!(line.contains(r#""ended_by":"destination""#), "{line}");
        let back: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(back["destination"], "line\nbreak\ttab");
        assert_eq!(back["code"], 486);
    }
}
