//! Redirect targets that can only lead back to this site.
//!
//! A sign-in page or callback that redirects to a `next` parameter is an open redirect unless
//! it checks the target: `//evil.example`, `/\evil.example`, `https:evil.example`, a tab that
//! browsers strip (`/\t/evil.example`), or percent-encoded forms of those all leave the site.
//! Only plain same-site paths pass here.

use percent_encoding::percent_decode_str;
use url::Url;

/// The longest target accepted.
const MAX_TARGET_LEN: usize = 2048;

/// How many rounds of percent-decoding are checked (a target decoded twice by some layer
/// must still be safe).
const DECODE_ROUNDS: usize = 3;

/// `target` if it is a same-site path (such as `/profile?tab=1`), `None` otherwise.
///
/// Accepted: a path that starts with exactly one `/` and holds only visible ASCII, no
/// backslash, and stays a same-site path after every round of percent-decoding. Refused:
/// anything with a scheme or a host (`https://…`, `https:evil.example`, `//evil.example`),
/// backslashes (`/\evil.example`), whitespace or control characters, non-ASCII, and
/// percent-encoded forms of these (`%2F%2Fevil.example`, `/%2F%2Fevil.example`,
/// `/%5Cevil.example`).
///
/// ```
/// use nhost_session_actix::same_site_path;
///
/// assert_eq!(same_site_path("/profile?tab=1"), Some("/profile?tab=1"));
/// for hostile in ["//evil.example", "/\\evil.example", "https:evil.example",
///                 "%2F%2Fevil.example", "HTTPS://evil.example", "/\t/evil.example"] {
///     assert_eq!(same_site_path(hostile), None, "{hostile}");
/// }
/// ```
pub fn same_site_path(target: &str) -> Option<&str> {
    if target.len() > MAX_TARGET_LEN || !is_plain_path(target.as_bytes()) {
        return None;
    }
    let mut current = target.to_owned();
    for _ in 0..DECODE_ROUNDS {
        let decoded: Vec<u8> = percent_decode_str(&current).collect();
        if decoded == current.as_bytes() {
            break;
        }
        if !is_plain_path(&decoded) {
            return None;
        }
        current = String::from_utf8(decoded).ok()?;
    }
    // The last word goes to a URL parser: the target must resolve on this site.
    let base = Url::parse("http://same-site.invalid/").ok()?;
    let resolved = base.join(target).ok()?;
    (resolved.origin() == base.origin()).then_some(target)
}

/// A path with exactly one leading `/`, visible ASCII only, no backslash.
fn is_plain_path(bytes: &[u8]) -> bool {
    matches!(bytes, [b'/', rest @ ..] if rest.first() != Some(&b'/'))
        && bytes.iter().all(|b| b.is_ascii_graphic() && *b != b'\\')
}

/// Where to send the browser: `target` when it is a [same-site path](same_site_path), with
/// the sign-in parameters (`refreshToken`, `code`, `type`, `error`, `errorDescription`)
/// removed from its query, and `/` otherwise.
///
/// ```
/// use nhost_session_actix::safe_redirect_target;
///
/// assert_eq!(safe_redirect_target(Some("/profile?refreshToken=x&tab=2")), "/profile?tab=2");
/// assert_eq!(safe_redirect_target(Some("//evil.example")), "/");
/// assert_eq!(safe_redirect_target(None), "/");
/// ```
pub fn safe_redirect_target(target: Option<&str>) -> String {
    target
        .and_then(same_site_path)
        .and_then(strip_sign_in_params)
        .unwrap_or_else(|| "/".to_owned())
}

/// The path without sign-in parameters in its query.
fn strip_sign_in_params(path: &str) -> Option<String> {
    let base = Url::parse("http://same-site.invalid/").ok()?;
    let url = nhost_session_core::strip_redirect_params(&base.join(path).ok()?);
    let mut out = url.path().to_owned();
    if let Some(query) = url.query() {
        out.push('?');
        out.push_str(query);
    }
    if let Some(fragment) = url.fragment() {
        out.push('#');
        out.push_str(fragment);
    }
    // Re-serialisation may normalise (dot segments, encoding): check the result again.
    same_site_path(&out).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_paths() {
        for ok in [
            "/",
            "/profile",
            "/a/b?c=d&e=%2F#frag",
            "/search?q=a:b",
            "/%41bc",
        ] {
            assert_eq!(same_site_path(ok), Some(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_everything_that_can_leave_the_site() {
        for bad in [
            "",
            "profile",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/\\/evil.example",
            "https:evil.example",
            "https://evil.example",
            "HTTPS://evil.example",
            "HtTpS:evil.example",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "%2F%2Fevil.example",
            "%2f%2fevil.example",
            "/%2F%2Fevil.example",
            "/%2f/evil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "/%252F%252Fevil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            " /profile",
            "/pro file",
            "/\u{0}x",
            "/\u{7f}",
            "/caf\u{e9}",
            "/%00",
            "/%0d%0aSet-Cookie:x=y",
        ] {
            assert_eq!(same_site_path(bad), None, "{bad:?}");
            assert_eq!(safe_redirect_target(Some(bad)), "/", "{bad:?}");
        }
        let long = format!("/{}", "a".repeat(MAX_TARGET_LEN));
        assert_eq!(same_site_path(&long), None);
    }

    #[test]
    fn strips_sign_in_parameters() {
        assert_eq!(
            safe_redirect_target(Some("/p?refreshToken=abc&code=x&type=y&keep=1")),
            "/p?keep=1"
        );
        assert_eq!(safe_redirect_target(Some("/p?refreshToken=abc")), "/p");
        assert_eq!(safe_redirect_target(Some("/p#x")), "/p#x");
    }
}
