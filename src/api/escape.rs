//! Escaping of text put into HTML pages and XML documents.

use std::borrow::Cow;

/// Escapes `&`, `<`, `>`, `"` and `'` so `text` is inert as element content or as a
/// quoted attribute value, in HTML and in XML alike (XML 1.0 §2.4; HTML's five
/// characters that can start markup or end a value).
pub(crate) fn escape_markup(text: &str) -> Cow<'_, str> {
    if !text
        .bytes()
        .any(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            escape_markup("sip:100@127.0.0.1:5061"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            escape_markup(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }

    #[test]
    fn non_ascii_survives() {
        assert_eq!(escape_markup("José <ü>"), "José &lt;ü&gt;");
    }
}
