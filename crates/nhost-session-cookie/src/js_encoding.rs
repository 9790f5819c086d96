//! The percent-encodings of the JavaScript side, reproduced byte for byte.
//!
//! - `encodeURIComponent` / `decodeURIComponent`, which `@nhost/nhost-js` 4's `CookieStorage`
//!   uses for its cookie value;
//! - js-cookie 3's converter (used by `@nhost/hasura-auth-js` 2 and `@nhost/nextjs` 2):
//!   `encodeURIComponent`, then the characters `#$&+/:<=>?@[]^`{|}` put back raw; its reader
//!   strips one pair of surrounding double quotes and decodes every run of `%XX` escapes,
//!   dropping the cookie when a run is not UTF-8.
//!
//! The character sets were read from js-cookie 3.0.8 (`defaultConverter`) and from the
//! ECMAScript definition of `encodeURIComponent` (unreserved: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What `encodeURIComponent` escapes: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// What js-cookie 3 escapes in a value: `encodeURIComponent`'s set, less the characters its
/// writer decodes back (`/%(2[346BF]|3[AC-F]|40|5[BDE]|60|7[BCD])/g`).
const JS_COOKIE_VALUE: &AsciiSet = &URI_COMPONENT
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'/')
    .remove(b':')
    .remove(b'<')
    .remove(b'=')
    .remove(b'>')
    .remove(b'?')
    .remove(b'@')
    .remove(b'[')
    .remove(b']')
    .remove(b'^')
    .remove(b'`')
    .remove(b'{')
    .remove(b'|')
    .remove(b'}');

/// JavaScript's `encodeURIComponent` (uppercase hex, UTF-8 bytes).
pub(crate) fn encode_uri_component(text: &str) -> String {
    utf8_percent_encode(text, URI_COMPONENT).to_string()
}

/// js-cookie 3's `converter.write`.
pub(crate) fn js_cookie_encode(text: &str) -> String {
    utf8_percent_encode(text, JS_COOKIE_VALUE).to_string()
}

/// JavaScript's `decodeURIComponent`: `None` where it throws a `URIError` (a `%` without two
/// hex digits after it, or escapes that do not form UTF-8).
pub(crate) fn decode_uri_component(text: &str) -> Option<String> {
    decode_runs(text, true)
}

/// js-cookie 3's `converter.read`: one pair of surrounding quotes stripped (as
/// `value.slice(1, -1)` does when the first character is `"`), then every run of `%XX` escapes
/// decoded; `None` when a run is not UTF-8 (js-cookie then skips the cookie).
pub(crate) fn js_cookie_decode(text: &str) -> Option<String> {
    let unquoted = match text.strip_prefix('"') {
        // `slice(1, -1)` drops the first and the last character, whatever the last one is.
        Some(rest) => {
            let mut chars = rest.chars();
            chars.next_back();
            chars.as_str()
        }
        None => text,
    };
    decode_runs(unquoted, false)
}

/// Decodes runs of `%XX` escapes as UTF-8. With `strict`, a `%` not followed by two hex digits
/// is an error (as in `decodeURIComponent`); without, it stays as it is (as in js-cookie's
/// regular expression, which only matches complete escapes).
fn decode_runs(text: &str, strict: bool) -> Option<String> {
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    // Literal text is found with `memchr` (a session cookie's JWT is one long literal run);
    // escapes come in runs (`%22%3A%22` is `":"`), decoded one after the other without a search.
    while let Some(at) = memchr::memchr(b'%', rest) {
        let (literal, escapes) = rest.split_at(at);
        out.extend_from_slice(literal);
        rest = escapes;
        while let [b'%', tail @ ..] = rest {
            if let [high, low, after @ ..] = tail {
                if let (Some(high), Some(low)) = (hex(*high), hex(*low)) {
                    out.push(high << 4 | low);
                    rest = after;
                    continue;
                }
            }
            if strict {
                return None;
            }
            out.push(b'%');
            rest = tail;
        }
    }
    out.extend_from_slice(rest);
    // Checking the whole result at once is the same as checking each run of escapes: the
    // literal text around a run is whole characters (it came from a `&str`), so no invalid
    // run can become valid next to it, and no valid run invalid.
    String::from_utf8(out).ok()
}

fn hex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// JavaScript's `String.prototype.trim`: removes WhiteSpace and LineTerminator code points,
/// which differ from Rust's `char::is_whitespace` (JS trims U+FEFF, not U+0085).
pub(crate) fn js_trim(text: &str) -> &str {
    text.trim_matches(is_js_whitespace)
}

fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{A}' | '\u{B}' | '\u{C}' | '\u{D}' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// Whether `c` is a JavaScript LineTerminator (what `.` in a regular expression does not match).
pub(crate) fn is_js_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The decoder as first written, one run of escapes at a time (each run must be UTF-8 on
    /// its own, as `decodeURIComponent` requires), kept to check the faster one against.
    fn decode_run_by_run(text: &str, strict: bool) -> Option<String> {
        let bytes = text.as_bytes();
        let escape_at = |at: usize| match (
            bytes.get(at),
            bytes.get(at + 1).copied().and_then(hex),
            bytes.get(at + 2).copied().and_then(hex),
        ) {
            (Some(b'%'), Some(high), Some(low)) => Some(high << 4 | low),
            _ => None,
        };
        let (mut out, mut run, mut literal_start, mut i) = (String::new(), Vec::new(), 0, 0);
        while i < bytes.len() {
            if bytes[i] != b'%' {
                i += 1;
                continue;
            }
            if escape_at(i).is_none() {
                if strict {
                    return None;
                }
                i += 1;
                continue;
            }
            out.push_str(&text[literal_start..i]);
            run.clear();
            while let Some(byte) = escape_at(i) {
                run.push(byte);
                i += 3;
            }
            out.push_str(std::str::from_utf8(&run).ok()?);
            literal_start = i;
        }
        out.push_str(&text[literal_start..]);
        Some(out)
    }

    fn escaped_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            any::<u8>().prop_map(|b| format!("%{b:02X}")),
            any::<u8>().prop_map(|b| format!("%{b:02x}")),
            Just("%".to_owned()),
            Just("%z".to_owned()),
            any::<char>().prop_map(String::from),
            "[a-z%{}\":,]{0,4}",
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn decoding_at_once_equals_decoding_run_by_run(text in escaped_text()) {
            prop_assert_eq!(decode_uri_component(&text), decode_run_by_run(&text, true));
            prop_assert_eq!(decode_runs(&text, false), decode_run_by_run(&text, false));
        }
    }

    #[test]
    fn encode_uri_component_matches_javascript() {
        // Outputs of `encodeURIComponent` in Node 20.
        assert_eq!(
            encode_uri_component("aZ09-_.!~*'() \"#$%&+,/:;<=>?@[\\]^`{|}"),
            "aZ09-_.!~*'()%20%22%23%24%25%26%2B%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D"
        );
        assert_eq!(encode_uri_component("é€😀"), "%C3%A9%E2%82%AC%F0%9F%98%80");
        assert_eq!(encode_uri_component("\u{0}\u{7f}"), "%00%7F");
    }

    #[test]
    fn js_cookie_leaves_its_characters_raw() {
        // Outputs of js-cookie 3.0.8's `converter.write` in Node 20.
        assert_eq!(
            js_cookie_encode("aZ09-_.!~*'() \"#$%&+,/:;<=>?@[\\]^`{|}"),
            "aZ09-_.!~*'()%20%22#$%25&+%2C/:%3B<=>?@[%5C]^`{|}"
        );
        assert_eq!(
            js_cookie_encode(r#"{"a":"b c"}"#),
            r#"{%22a%22:%22b%20c%22}"#
        );
    }

    #[test]
    fn decode_uri_component_throws_where_javascript_throws() {
        assert_eq!(decode_uri_component("a%20b%C3%A9").as_deref(), Some("a bé"));
        assert_eq!(decode_uri_component("%2b%2B+").as_deref(), Some("+++"));
        assert_eq!(decode_uri_component("plain").as_deref(), Some("plain"));
        for bad in [
            "%",
            "%2",
            "%zz",
            "a%C3",
            "%C3a",
            "%ED%A0%80",
            "%C0%80",
            "%FF",
            "%E2%82",
        ] {
            assert_eq!(decode_uri_component(bad), None, "{bad}");
        }
    }

    #[test]
    fn js_cookie_read_is_lenient_like_its_regex() {
        assert_eq!(js_cookie_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(js_cookie_decode("100%").as_deref(), Some("100%"));
        assert_eq!(js_cookie_decode("%zz%41").as_deref(), Some("%zzA"));
        assert_eq!(
            js_cookie_decode("\"quoted%20\"").as_deref(),
            Some("quoted ")
        );
        assert_eq!(js_cookie_decode("\"").as_deref(), Some(""));
        assert_eq!(js_cookie_decode("\"é").as_deref(), Some(""));
        assert_eq!(js_cookie_decode("%C3"), None);
        assert_eq!(js_cookie_decode("%C3%A9").as_deref(), Some("é"));
    }

    #[test]
    fn round_trips() {
        for text in [
            "",
            "abc",
            "a b;c,d=e\"f\\g",
            "é€😀\u{0}",
            "%41",
            "{\"k\":[1,2]}",
        ] {
            assert_eq!(
                decode_uri_component(&encode_uri_component(text)).as_deref(),
                Some(text)
            );
            assert_eq!(
                js_cookie_decode(&js_cookie_encode(text)).as_deref(),
                Some(text)
            );
        }
    }

    #[test]
    fn javascript_trim() {
        assert_eq!(js_trim("\u{FEFF} a \u{2029}"), "a");
        assert_eq!(js_trim("\u{85}a\u{85}"), "\u{85}a\u{85}");
    }
}
