//! Reading the legacy `clicktocall.config` format: `Name = value` lines, `#` comment lines,
//! blank lines, empty values allowed, surrounding spaces trimmed, names repeated freely
//! (the translation rules come in repeated pairs).
//!
//! Each line goes through the `ini` crate with quote and escape handling off, so a value
//! such as `^(\d+)$` keeps its backslashes and a `"` stays a `"`. The file is fed to it one
//! line at a time rather than whole because every message must name `file:line`, which the
//! crate does not report for entries, and because the legacy format has no sections: fed
//! whole, a `[0-9]` at the start of a line would open a section and swallow the keys after
//! it. Per line, a stray line is only that line's warning.

use std::path::Path;

use ini::{Ini, ParseOption};

use super::error::{Origin, Warning};

/// One `Name = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub origin: Origin,
    /// The name as written (case kept; matching ignores case).
    pub name: String,
    /// The value, trimmed; may be empty.
    pub value: String,
}

/// Splits file text into entries in file order, with warnings for lines that are not
/// `Name = value`.
pub(super) fn parse(path: &Path, text: &str) -> (Vec<Entry>, Vec<Warning>) {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    // A byte-order mark some editors put in front is not part of the first name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw) in text.lines().enumerate() {
        let origin = Origin::File {
            path: path.to_path_buf(),
            line: index + 1,
        };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match split_line(line) {
            Some((name, value)) => entries.push(Entry {
                origin,
                name,
                value,
            }),
            None => warnings.push(Warning::UnparsableLine {
                origin,
                text: line.to_owned(),
            }),
        }
    }
    (entries, warnings)
}

/// `Name = value` → (name, value) through the `ini` crate; `None` for anything else
/// (no `=`, empty name, a `[section]` line, a `;` comment).
fn split_line(line: &str) -> Option<(String, String)> {
    let options = ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        enabled_indented_mutiline_value: false,
        enabled_preserve_key_leading_whitespace: false,
    };
    let ini = Ini::load_from_str_opt(line, options).ok()?;
    let mut properties = ini.iter().flat_map(|(_, props)| props.iter());
    let (name, value) = properties.next()?;
    if name.is_empty() {
        return None;
    }
    Some((name.to_owned(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> (Vec<(usize, String, String)>, Vec<Warning>) {
        let (entries, warnings) = parse(Path::new("t.config"), text);
        let entries = entries
            .into_iter()
            .map(|e| match e.origin {
                Origin::File { line, .. } => (line, e.name, e.value),
                Origin::CommandLine { .. } => unreachable!("file entries have file origins"),
            })
            .collect();
        (entries, warnings)
    }

    fn entry(line: usize, name: &str, value: &str) -> (usize, String, String) {
        (line, name.to_owned(), value.to_owned())
    }

    #[test]
    fn names_values_comments_and_blank_lines() {
        let (entries, warnings) = parse_str(
            "# comment\n\n  IPAddress = 127.0.0.1  \r\nDNSServers=\n\t# indented comment\nHttpPort   =5090\n",
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            entries,
            vec![
                entry(3, "IPAddress", "127.0.0.1"),
                entry(4, "DNSServers", ""),
                entry(6, "HttpPort", "5090"),
            ]
        );
    }

    #[test]
    fn repeated_keys_stay_in_file_order_with_their_lines() {
        let (entries, _) = parse_str(
            "TranslationPattern=^(50[0-9][0-9])(\\d+)$\nTranslationOutput=sip:$2@127.0.0.1:$1\n\
             HttpPort=1\nTranslationPattern=^(sip:.*)$\nTranslationOutput=$1\n",
        );
        assert_eq!(
            entries,
            vec![
                entry(1, "TranslationPattern", r"^(50[0-9][0-9])(\d+)$"),
                entry(2, "TranslationOutput", "sip:$2@127.0.0.1:$1"),
                entry(3, "HttpPort", "1"),
                entry(4, "TranslationPattern", "^(sip:.*)$"),
                entry(5, "TranslationOutput", "$1"),
            ]
        );
    }

    #[test]
    fn values_keep_backslashes_quotes_hashes_and_equals() {
        let (entries, warnings) = parse_str(
            "TranslationPattern = ^\"?(\\d+)\"?$\nTranslationOutput = sip:$1@a.com;user=phone # not a comment\n\
             HttpAuthPwd = 'pa;ss'\n",
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(entries[0].2, r#"^"?(\d+)"?$"#);
        assert_eq!(entries[1].2, "sip:$1@a.com;user=phone # not a comment");
        assert_eq!(entries[2].2, "'pa;ss'");
    }

    #[test]
    fn a_line_starting_with_a_bracket_does_not_open_a_section() {
        let (entries, warnings) = parse_str("[general]\nHttpPort=5090\n");
        assert_eq!(entries, vec![entry(2, "HttpPort", "5090")]);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].to_string().contains("t.config:1"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn lines_without_name_or_equals_are_warned_with_their_line() {
        let (entries, warnings) = parse_str("KeepAlives\n= 5\nLogLevel=DEBUG\n");
        assert_eq!(entries, vec![entry(3, "LogLevel", "DEBUG")]);
        let text: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(text.len(), 2);
        assert!(
            text[0].contains("t.config:1") && text[0].contains("KeepAlives"),
            "{text:?}"
        );
        assert!(text[1].contains("t.config:2"), "{text:?}");
    }

    #[test]
    fn no_line_panics_and_names_and_values_come_back_trimmed() {
        // Every line of up to four characters over the characters that mean something to
        // an ini parser: none may panic, and what is accepted is a trimmed name and value.
        const ALPHABET: [char; 12] = [
            '=', ':', '[', ']', '#', ';', '"', '\'', '\\', ' ', 'a', '\t',
        ];
        let mut line = String::new();
        for len in 1..=4u32 {
            for mut n in 0..ALPHABET.len().pow(len) {
                line.clear();
                for _ in 0..len {
                    line.push(ALPHABET[n % ALPHABET.len()]);
                    n /= ALPHABET.len();
                }
                if let Some((name, value)) = split_line(line.trim()) {
                    assert!(
                        !name.is_empty() && name.trim() == name,
                        "{line:?} -> {name:?}"
                    );
                    assert_eq!(value.trim(), value, "{line:?}");
                }
            }
        }
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let (entries, _) = parse_str("\u{feff}HttpPort=1\n");
        assert_eq!(entries, vec![entry(1, "HttpPort", "1")]);
    }

    #[test]
    fn agrees_with_the_ini_crate_on_the_shipped_config() {
        // The shipped sample parsed whole by the ini crate (where that works: it has no
        // sections and no stray lines) gives the same pairs, in the same order.
        let text = include_str!("../../conf/clicktocall.config");
        let (entries, warnings) = parse(Path::new("conf/clicktocall.config"), text);
        assert!(warnings.is_empty(), "{warnings:?}");
        let options = ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..ParseOption::default()
        };
        let whole = Ini::load_from_str_opt(text, options).expect("sample is plain ini");
        let theirs: Vec<(String, String)> = whole
            .general_section()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let ours: Vec<(String, String)> = entries.into_iter().map(|e| (e.name, e.value)).collect();
        assert_eq!(ours, theirs);
        assert!(ours.iter().any(|(k, _)| k == "TranslationPattern"));
    }
}
