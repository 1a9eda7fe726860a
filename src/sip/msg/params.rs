//! An ordered `;name[=value]` parameter list, shared by URIs, name-addrs and Via.
//! Order is kept so a parsed value serializes back the way it came.

use std::fmt;

/// Parameters as `(name, value)` pairs in order of appearance. Names compare
/// case-insensitively (RFC 3261 §7.3.1, §19.1.4); values are kept exactly as received
/// (quoted-string values keep their quotes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(pub Vec<(String, Option<String>)>);

impl Params {
    pub fn new() -> Self {
        Params(Vec::new())
    }

    /// `None` when absent, `Some(None)` for a flag (`;lr`), `Some(Some(v))` with a value.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The parameter's value, if it is present and has one.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).flatten()
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Replace the first parameter of that name (dropping later duplicates) or append it.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let mut found = false;
        self.0.retain_mut(|(n, v)| {
            if !n.eq_ignore_ascii_case(name) {
                return true;
            }
            if found {
                return false;
            }
            found = true;
            *v = value.map(str::to_string);
            true
        });
        if !found {
            self.0.push((name.to_string(), value.map(str::to_string)));
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for Params {
    /// `;name=value;flag` — the form used inside URIs and after header values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_case_insensitively_and_display_keeps_order() {
        let mut p = Params::new();
        p.set("transport", Some("udp"));
        p.set("lr", None);
        p.set("TRANSPORT", Some("tcp"));
        assert_eq!(p.to_string(), ";transport=tcp;lr");
        assert_eq!(p.get("LR"), Some(None));
        assert_eq!(p.value("transport"), Some("tcp"));
        p.remove("lr");
        assert!(!p.has("lr"));
        assert_eq!(p.len(), 1);
    }
}
