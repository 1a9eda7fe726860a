//! Address translation: the operator's `TranslationPattern` / `TranslationOutput` rules turn
//! what a click-to-call request names (a phone number, a user name, a URI) into the SIP URI
//! that is dialled.
//!
//! Semantics, as the user's specification describes them:
//! - rules are tried in file order and the first rule whose pattern matches wins;
//! - a pattern matches *anywhere* in the address (a search, not a full match) unless it
//!   anchors itself with `^` / `$`;
//! - `$1` … `$9` in the output are replaced by that group of the match (a group that did
//!   not take part in the match gives the empty string); `$` followed by anything else,
//!   including `$0`, is kept literally.
//!
//! Patterns are compiled once, when the configuration is loaded, so a bad pattern is a
//! start-up error and matching on the request path never compiles anything.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use pcre2::bytes::{Regex, RegexBuilder};

/// Log target of this module.
const TARGET: &str = "translate";

/// One compiled rule.
struct Rule {
    pattern: String,
    output: String,
    regex: Regex,
    /// `output` pre-split into literal text and group references.
    parts: Vec<OutputPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum OutputPart {
    Literal(String),
    /// A `$1`…`$9` reference.
    Group(usize),
}

/// A pattern PCRE2 refused to compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// Position of the rule in the list given to [`Translator::new`] (0-based).
    pub index: usize,
    pub pattern: String,
    /// PCRE2's own message, with the offset it reports.
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid regular expression {:?}: {}",
            self.pattern, self.message
        )
    }
}

impl std::error::Error for PatternError {}

/// A translated `tel:` URI (RFC 3966) as the SIP URI we can call: RFC 3261 §19.1.6, the
/// telephone-subscriber (with its parameters) becomes the user part at `domain`, marked
/// `user=phone`. Anything else is returned as it is; so is a `tel:` URI when no domain is
/// set (`TelUriDomain`), which the front door then refuses as not a SIP URI.
pub(crate) fn tel_to_sip(uri: String, domain: Option<&str>) -> String {
    let Some(domain) = domain else {
        return uri;
    };
    match uri.split_once(':') {
        Some((scheme, number))
            if scheme.eq_ignore_ascii_case("tel") && crate::sip::msg::Uri::parse(&uri).is_ok() =>
        {
            format!("sip:{number}@{domain};user=phone")
        }
        _ => uri,
    }
}

/// The ordered, compiled translation rules. `Send + Sync`: share one behind an `Arc`
/// between every HTTP and XML connection thread.
pub struct Translator {
    rules: Vec<Rule>,
}

impl Translator {
    /// Compiles `(pattern, output)` pairs, keeping their order. Fails on the first pattern
    /// PCRE2 rejects.
    pub fn new<I, P, O>(rules: I) -> Result<Translator, PatternError>
    where
        I: IntoIterator<Item = (P, O)>,
        P: Into<String>,
        O: Into<String>,
    {
        let mut compiled = Vec::new();
        for (index, (pattern, output)) in rules.into_iter().enumerate() {
            let pattern = pattern.into();
            let output = output.into();
            let regex = compile(&pattern).map_err(|message| PatternError {
                index,
                pattern: pattern.clone(),
                message,
            })?;
            let parts = parse_output(&output);
            compiled.push(Rule {
                pattern,
                output,
                regex,
                parts,
            });
        }
        Ok(Translator { rules: compiled })
    }

    /// A translator without rules: every address is "no rule matched".
    pub fn empty() -> Translator {
        Translator { rules: Vec::new() }
    }

    /// Translates `addr` with the first matching rule; `None` when no rule matches (the
    /// caller reports that to the requester).
    pub fn translate(&self, addr: &str) -> Option<String> {
        for rule in &self.rules {
            match rule.regex.captures(addr.as_bytes()) {
                Ok(Some(caps)) => {
                    let mut out = String::with_capacity(rule.output.len() + addr.len());
                    for part in &rule.parts {
                        match part {
                            OutputPart::Literal(text) => out.push_str(text),
                            OutputPart::Group(n) => {
                                if let Some(m) = caps.get(*n) {
                                    // The subject is a &str and the pattern is compiled in
                                    // UTF mode, so group boundaries fall on characters;
                                    // the lossy conversion never actually replaces.
                                    out.push_str(&String::from_utf8_lossy(m.as_bytes()));
                                }
                            }
                        }
                    }
                    log::debug!(target: TARGET, "{addr:?} -> {out:?} (rule {:?})", rule.pattern);
                    return Some(out);
                }
                Ok(None) => {}
                Err(err) => {
                    // A match-time failure (PCRE2's backtracking limit) means this rule
                    // cannot decide: treat it as not matching, and say so.
                    log::warn!(
                        target: TARGET,
                        "rule {:?} could not be applied to {addr:?}: {err}",
                        rule.pattern
                    );
                }
            }
        }
        log::debug!(target: TARGET, "{addr:?}: no translation rule matched");
        None
    }

    /// The rules as configured, in order: `(pattern, output)`.
    pub fn rules(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.rules
            .iter()
            .map(|r| (r.pattern.as_str(), r.output.as_str()))
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// For each rule, the group numbers its output refers to that its pattern does not
    /// have (they always expand to nothing): worth a warning at start-up.
    pub fn missing_groups(&self) -> Vec<(usize, Vec<usize>)> {
        let mut found = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            // captures_len counts the implicit group 0.
            let groups = rule.regex.captures_len().saturating_sub(1);
            let missing: Vec<usize> = rule
                .parts
                .iter()
                .filter_map(|p| match p {
                    OutputPart::Group(n) if *n > groups => Some(*n),
                    _ => None,
                })
                .collect();
            if !missing.is_empty() {
                found.push((index, missing));
            }
        }
        found
    }
}

impl fmt::Debug for Translator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.rules()).finish()
    }
}

/// The rule set in force, shared by every HTTP and XML connection thread and replaced
/// whole on SIGHUP: an address is translated by one set, old or new, never by a mix; the
/// lock is held only to clone an `Arc`.
pub struct LiveRules {
    current: RwLock<Arc<Translator>>,
    /// `TelUriDomain` in force: where a `tel:` result is called (reloaded with the rules).
    tel_domain: RwLock<Option<Arc<str>>>,
}

impl LiveRules {
    pub fn new(rules: Arc<Translator>) -> LiveRules {
        LiveRules {
            current: RwLock::new(rules),
            tel_domain: RwLock::new(None),
        }
    }

    /// The `TelUriDomain` in force now.
    pub fn tel_domain(&self) -> Option<Arc<str>> {
        self.tel_domain
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `domain` in force as `TelUriDomain` for every request from now on.
    pub fn set_tel_domain(&self, domain: Option<&str>) {
        *self
            .tel_domain
            .write()
            .unwrap_or_else(PoisonError::into_inner) = domain.map(Arc::from);
    }

    /// The rules in force now.
    pub fn current(&self) -> Arc<Translator> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Puts `rules` in force for every request from now on; calls already placed are not
    /// affected (their addresses were translated when they were accepted).
    pub fn replace(&self, rules: Arc<Translator>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = rules;
    }
}

impl fmt::Debug for LiveRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.current().fmt(f)
    }
}

/// Checks that PCRE2 accepts `pattern`, with the options the translator compiles it with;
/// the error is PCRE2's message. Used by configuration validation to report every bad
/// pattern at once, each with its own line.
pub(crate) fn check_pattern(pattern: &str) -> Result<(), String> {
    compile(pattern).map(|_| ())
}

fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new()
        .utf(true)
        .jit_if_available(true)
        .build(pattern)
        .map_err(|e| e.to_string())
}

/// Splits an output template into literals and `$1`…`$9` references.
fn parse_output(output: &str) -> Vec<OutputPart> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = output.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$'
            && let Some(n @ 1..=9) = chars.peek().and_then(|d| d.to_digit(10))
        {
            chars.next();
            if !literal.is_empty() {
                parts.push(OutputPart::Literal(std::mem::take(&mut literal)));
            }
            parts.push(OutputPart::Group(n as usize));
            continue;
        }
        literal.push(c);
    }
    if !literal.is_empty() {
        parts.push(OutputPart::Literal(literal));
    }
    parts
}

/// A list of PCRE2 patterns an address is checked against (`DestinationAllow`,
/// `DestinationDeny`, `InitiatorAllow`, `InitiatorDeny`). A pattern matches anywhere in
/// the address unless it anchors itself, as the translation patterns do.
#[derive(Debug, Clone, Default)]
pub struct PatternList {
    patterns: Vec<(String, Regex)>,
}

impl PatternList {
    /// Compiles every pattern; the error names the first one PCRE2 refuses.
    pub fn new<I, P>(patterns: I) -> Result<PatternList, PatternError>
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        let mut compiled = Vec::new();
        for (index, pattern) in patterns.into_iter().enumerate() {
            let pattern = pattern.into();
            let regex = compile(&pattern).map_err(|message| PatternError {
                index,
                pattern: pattern.clone(),
                message,
            })?;
            compiled.push((pattern, regex));
        }
        Ok(PatternList { patterns: compiled })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns as configured, in order.
    pub fn patterns(&self) -> impl Iterator<Item = &str> + '_ {
        self.patterns.iter().map(|(p, _)| p.as_str())
    }

    /// The first pattern matching `addr`. A pattern PCRE2 cannot decide (its match
    /// limit) counts as matching when `undecided_matches`, so a deny list fails closed,
    /// and as not matching otherwise, so an allow list does too.
    pub fn first_match(&self, addr: &str, undecided_matches: bool) -> Option<&str> {
        self.patterns.iter().find_map(|(pattern, regex)| {
            let hit = match regex.is_match(addr.as_bytes()) {
                Ok(hit) => hit,
                Err(err) => {
                    log::warn!(target: TARGET, "pattern {pattern:?} could not be applied to {addr:?}: {err}");
                    undecided_matches
                }
            };
            hit.then_some(pattern.as_str())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tel_uris_become_sip_uris_at_the_domain_with_user_phone() {
        let d = Some("carrier.example");
        for (tel, sip) in [
            (
                "tel:+15551234567",
                "sip:+15551234567@carrier.example;user=phone",
            ),
            (
                "tel:+358-555-1234567;postd=pp22",
                "sip:+358-555-1234567;postd=pp22@carrier.example;user=phone",
            ),
            (
                "TEL:7042;phone-context=example.com",
                "sip:7042;phone-context=example.com@carrier.example;user=phone",
            ),
            ("sip:100@127.0.0.1", "sip:100@127.0.0.1"),
        ] {
            let out = tel_to_sip(tel.to_string(), d);
            assert_eq!(out, sip);
            assert!(crate::sip::msg::Uri::parse(&out).is_ok(), "{out}");
        }
        // No domain: left for the front door to refuse.
        assert_eq!(tel_to_sip("tel:+1555".to_string(), None), "tel:+1555");
    }

    fn translator(rules: &[(&str, &str)]) -> Translator {
        Translator::new(rules.iter().copied()).expect("test rules compile")
    }

    #[test]
    fn spec_example_wraps_number_in_sip_uri() {
        let t = translator(&[("^(.*)$", "sip:$1@sipdomain.com")]);
        assert_eq!(
            t.translate("9055551234").as_deref(),
            Some("sip:9055551234@sipdomain.com")
        );
    }

    #[test]
    fn first_matching_rule_wins_in_order() {
        let t = translator(&[
            (r"^(50[0-9][0-9])(\d+)$", "sip:$2@127.0.0.1:$1"),
            ("^(sip:.*)$", "$1"),
            ("^(.*)$", "sip:$1@fallback.example"),
        ]);
        assert_eq!(
            t.translate("5061100").as_deref(),
            Some("sip:100@127.0.0.1:5061")
        );
        assert_eq!(
            t.translate("sip:bob@example.com").as_deref(),
            Some("sip:bob@example.com")
        );
        assert_eq!(
            t.translate("alice").as_deref(),
            Some("sip:alice@fallback.example")
        );
        // Swapping the order changes the winner: order is the rule.
        let t = translator(&[("^(.*)$", "catchall:$1"), ("^(sip:.*)$", "$1")]);
        assert_eq!(
            t.translate("sip:bob@example.com").as_deref(),
            Some("catchall:sip:bob@example.com")
        );
    }

    #[test]
    fn pattern_searches_anywhere_unless_anchored() {
        let t = translator(&[("555", "found")]);
        assert_eq!(t.translate("9055551234").as_deref(), Some("found"));
        let t = translator(&[("^555", "found")]);
        assert_eq!(t.translate("9055551234"), None);
    }

    #[test]
    fn groups_are_substituted_and_unmatched_group_is_empty() {
        let t = translator(&[(r"^(\d{3})-(\d{4})(x(\d+))?$", "sip:$1$2;ext=$4@pbx")]);
        assert_eq!(
            t.translate("555-1234x77").as_deref(),
            Some("sip:5551234;ext=77@pbx")
        );
        assert_eq!(
            t.translate("555-1234").as_deref(),
            Some("sip:5551234;ext=@pbx")
        );
    }

    #[test]
    fn dollar_not_followed_by_1_to_9_is_literal() {
        let t = translator(&[("^(a)$", "$0-$$-$x-$1$")]);
        assert_eq!(t.translate("a").as_deref(), Some("$0-$$-$x-a$"));
    }

    #[test]
    fn only_one_digit_after_dollar_is_a_group() {
        let t = translator(&[("^(a)(b)$", "$12")]);
        assert_eq!(t.translate("ab").as_deref(), Some("a2"));
    }

    #[test]
    fn reference_to_missing_group_expands_to_nothing_and_is_reported() {
        let t = translator(&[("^(a)$", "[$1$3]"), ("x", "y")]);
        assert_eq!(t.translate("a").as_deref(), Some("[a]"));
        assert_eq!(t.missing_groups(), vec![(0, vec![3])]);
    }

    #[test]
    fn address_matching_no_rule_is_none() {
        let t = translator(&[(r"^\d+$", "sip:$0@x"), ("^sip:", "$1")]);
        assert_eq!(t.translate("alice@example.com"), None);
        assert_eq!(Translator::empty().translate("anything"), None);
    }

    #[test]
    fn invalid_pattern_is_reported_with_its_index() {
        let err = Translator::new([("ok", "x"), ("(unclosed", "y")]).expect_err("must fail");
        assert_eq!(err.index, 1);
        assert_eq!(err.pattern, "(unclosed");
        assert!(err.to_string().contains("(unclosed"), "{err}");
    }

    #[test]
    fn non_ascii_addresses_keep_their_characters() {
        let t = translator(&[("^(.+)$", "sip:$1@example.com")]);
        assert_eq!(
            t.translate("jürgen").as_deref(),
            Some("sip:jürgen@example.com")
        );
    }

    #[test]
    fn translator_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Translator>();
    }

    #[test]
    fn live_rules_are_replaced_whole() {
        let live = LiveRules::new(Arc::new(translator(&[("^a$", "old")])));
        let before = live.current();
        live.replace(Arc::new(translator(&[("^a$", "new")])));
        assert_eq!(before.translate("a").as_deref(), Some("old"));
        assert_eq!(live.current().translate("a").as_deref(), Some("new"));
    }

    #[test]
    fn rules_are_listed_in_order() {
        let t = translator(&[("a", "1"), ("b", "2")]);
        assert_eq!(t.rules().collect::<Vec<_>>(), vec![("a", "1"), ("b", "2")]);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn pattern_lists_report_the_first_match() {
        let list = PatternList::new(["^sip:00", "^sip:\\+?1900"]).expect("list");
        assert_eq!(list.first_match("sip:0044123@h", false), Some("^sip:00"));
        assert_eq!(
            list.first_match("sip:+1900555@h", false),
            Some("^sip:\\+?1900")
        );
        assert_eq!(list.first_match("sip:100@h", true), None);
        assert!(PatternList::new(["("]).is_err());
        assert!(PatternList::default().is_empty());
    }
}
