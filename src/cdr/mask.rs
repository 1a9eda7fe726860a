//! `CdrMaskDigits`: the last digits of the numbers in a record, masked for privacy.

/// What a masked digit becomes.
const MASK: char = 'X';

/// `text` with the last `n` ASCII digits of its number replaced by `X`. The number is the
/// user part of a `sip:`/`sips:` URI (before `@`; a URI without one has no number), the
/// subscriber of any other URI (`tel:`, RFC 3966: up to its first `;`), or, for an
/// address as a client typed it, everything before an `@` or `;`. Digits elsewhere (the
/// host, the port) are left alone. Separators (`-`, `.`, spaces) are kept and not counted.
pub(crate) fn mask_digits(text: &str, n: usize) -> String {
    if n == 0 {
        return text.to_owned();
    }
    let Some((start, end)) = number_span(text) else {
        return text.to_owned();
    };
    let mut left = n;
    let mut masked: Vec<char> = text[start..end].chars().collect();
    for c in masked.iter_mut().rev() {
        if left == 0 {
            break;
        }
        if c.is_ascii_digit() {
            *c = MASK;
            left -= 1;
        }
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    out.extend(masked);
    out.push_str(&text[end..]);
    out
}

/// The byte range of the number in `text` (see [`mask_digits`]).
fn number_span(text: &str) -> Option<(usize, usize)> {
    let stop = |from: usize, at: &[char]| {
        text[from..]
            .find(|c| at.contains(&c))
            .map_or(text.len(), |i| from + i)
    };
    match scheme(text) {
        Some(s) if s.eq_ignore_ascii_case("sip") || s.eq_ignore_ascii_case("sips") => {
            let from = s.len() + 1;
            let at = text[from..].find('@')? + from;
            Some((from, at))
        }
        Some(s) => {
            let from = s.len() + 1;
            Some((from, stop(from, &[';', '@'])))
        }
        None => Some((0, stop(0, &[';', '@']))),
    }
}

/// A URI's scheme (RFC 3986 §3.1: a letter, then letters, digits, `+`, `-`, `.`), if
/// `text` starts with one and a `:`.
fn scheme(text: &str) -> Option<&str> {
    let colon = text.find(':')?;
    let s = &text[..colon];
    let mut chars = s.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_digits_of_the_user_part_are_masked_not_the_host_or_port() {
        assert_eq!(
            mask_digits("sip:+15551234567@10.0.0.1:5060", 4),
            "sip:+1555123XXXX@10.0.0.1:5060"
        );
        assert_eq!(
            mask_digits("sips:0044-20-7946-0958@h;user=phone", 6),
            "sips:0044-20-79XX-XXXX@h;user=phone"
        );
        // No user part: nothing is a number.
        assert_eq!(mask_digits("sip:10.0.0.1:5060", 4), "sip:10.0.0.1:5060");
    }

    #[test]
    fn tel_uris_and_typed_numbers_are_masked_up_to_their_parameters() {
        assert_eq!(
            mask_digits("tel:+1-555-123-4567;phone-context=x9", 3),
            "tel:+1-555-123-4XXX;phone-context=x9"
        );
        assert_eq!(mask_digits("5551234567", 2), "55512345XX");
        assert_eq!(mask_digits("p5062-200", 2), "p5062-2XX");
        assert_eq!(mask_digits("200@example.com", 2), "2XX@example.com");
    }

    #[test]
    fn zero_masks_nothing_and_more_than_there_are_masks_every_digit() {
        assert_eq!(mask_digits("sip:123@h", 0), "sip:123@h");
        assert_eq!(mask_digits("sip:1-2@h", 10), "sip:X-X@h");
        assert_eq!(mask_digits("", 3), "");
        // Not ASCII: kept whole, never split inside a character.
        assert_eq!(mask_digits("sip:é12@h", 1), "sip:é1X@h");
    }
}
