//! Splitting a value too large for one cookie into `name.0`, `name.1`, … and joining it back.

use time::{Duration, OffsetDateTime};

use crate::error::CookieError;
use crate::request::RequestCookies;
use crate::set_cookie::{Attributes, MAX_COOKIE_BYTES, SetCookie, removals};

/// At most this many chunks: 40 KB, far more than a session needs, and few enough that a
/// browser's per-site cookie limit (about 180) is never in danger.
pub const MAX_CHUNKS: usize = 10;

/// The name of chunk `index` of cookie `base`.
pub(crate) fn chunk_name(base: &str, index: usize) -> String {
    format!("{base}.{index}")
}

/// The index of `name` when it names a chunk of `base` (`base.0` … `base.9`).
pub(crate) fn chunk_index(base: &str, name: &str) -> Option<usize> {
    let digits = name.strip_prefix(base)?.strip_prefix('.')?;
    // One digit: no leading zeros, nothing past MAX_CHUNKS.
    let mut bytes = digits.bytes();
    match (bytes.next(), bytes.next()) {
        (Some(d @ b'0'..=b'9'), None) if usize::from(d - b'0') < MAX_CHUNKS => {
            Some(usize::from(d - b'0'))
        }
        _ => None,
    }
}

/// The chunks of `base` a request carried, joined; `None` when it carried no `base.0`.
/// Stops at the first missing index.
pub(crate) fn join(cookies: &RequestCookies, base: &str) -> Option<String> {
    let mut joined = String::new();
    for index in 0..MAX_CHUNKS {
        match cookies.get(&chunk_name(base, index)) {
            Some(part) => joined.push_str(part),
            None if index == 0 => return None,
            None => break,
        }
    }
    Some(joined)
}

/// The cookies that carry `value` under `base`: one cookie when it fits, chunks otherwise;
/// plus removals for whatever the request carried that the new value does not overwrite (the
/// unchunked cookie, or chunks past the new count).
pub(crate) fn write(
    attributes: &Attributes,
    base: &str,
    value: &str,
    now: OffsetDateTime,
    max_age: Duration,
    request: &RequestCookies,
) -> Result<Vec<SetCookie>, CookieError> {
    let single_overhead = attributes.overhead(base, now, max_age);
    if single_overhead + value.len() <= MAX_COOKIE_BYTES {
        let mut cookies = vec![attributes.set(base, value.to_owned(), now, max_age)?];
        let leftovers: Vec<String> = (0..MAX_CHUNKS)
            .map(|index| chunk_name(base, index))
            .filter(|name| request.contains(name))
            .collect();
        cookies.extend(removals(attributes, leftovers.iter().map(String::as_str)));
        return Ok(cookies);
    }

    // Every chunk name has the same length (one digit), so one overhead fits all.
    let overhead = attributes.overhead(&chunk_name(base, 0), now, max_age);
    let room = MAX_COOKIE_BYTES.saturating_sub(overhead);
    let too_large = || CookieError::TooLarge {
        name: base.to_owned(),
        size: single_overhead + value.len(),
        limit: MAX_COOKIE_BYTES,
    };
    if room == 0 {
        return Err(too_large());
    }
    let parts = split(value, room);
    if parts.len() > MAX_CHUNKS {
        return Err(too_large());
    }
    let mut cookies = Vec::with_capacity(parts.len() + 1);
    for (index, part) in parts.iter().enumerate() {
        cookies.push(attributes.set(&chunk_name(base, index), (*part).to_owned(), now, max_age)?);
    }
    let mut leftovers: Vec<String> = (parts.len()..MAX_CHUNKS)
        .map(|index| chunk_name(base, index))
        .filter(|name| request.contains(name))
        .collect();
    if request.contains(base) {
        leftovers.push(base.to_owned());
    }
    cookies.extend(removals(attributes, leftovers.iter().map(String::as_str)));
    Ok(cookies)
}

/// Splits `value` into parts of at most `room` bytes, at character boundaries (the values
/// are ASCII; this only keeps the function total).
fn split(value: &str, room: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let mut end = room.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end == 0 {
            // A character wider than the room: cannot split; take it whole (the caller's
            // size check refuses the cookie).
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (part, tail) = rest.split_at(end);
        parts.push(part);
        rest = tail;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_names() {
        assert_eq!(chunk_index("s", "s.0"), Some(0));
        assert_eq!(chunk_index("s", "s.9"), Some(9));
        for name in ["s", "s.", "s.10", "s.01", "s.a", "t.0", "s.0.0", "s.-1"] {
            assert_eq!(chunk_index("s", name), None, "{name}");
        }
    }

    #[test]
    fn split_and_join() {
        assert_eq!(split("abcdefg", 3), ["abc", "def", "g"]);
        assert_eq!(split("ééé", 3), ["é", "é", "é"]);
        assert_eq!(split("é", 1), ["é"]);
        assert!(split("", 3).is_empty());
        let cookies = RequestCookies::from_pairs([("s.0", "ab"), ("s.1", "cd"), ("s.3", "x")]);
        assert_eq!(join(&cookies, "s").as_deref(), Some("abcd"));
        assert_eq!(join(&RequestCookies::from_pairs([("s.1", "x")]), "s"), None);
    }
}
