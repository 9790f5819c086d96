//! The session cookies a request carried, read from its `Cookie` headers with bounded work.

use std::collections::BTreeMap;
use std::fmt;

use cookie::Cookie;
use http::HeaderMap;
use http::header::COOKIE;

use crate::chunking;
use crate::config::{CookieConfig, CookieFormat};
use crate::nextjs2;

/// How many bytes of `Cookie` headers are looked at; the rest is ignored (with a warning).
/// Browsers send far less (servers usually refuse headers beyond 8 to 64 KiB), so this only
/// bounds the work a hostile request can cause: reading is linear in the bytes looked at.
pub const MAX_COOKIE_HEADER_BYTES: usize = 256 * 1024;

/// A session cookie value longer than this is ignored: no browser stores one this large.
pub(crate) const MAX_VALUE_BYTES: usize = 8 * 1024;

/// The cookies of one request that belong to a [`CookieConfig`]'s format, and only those.
///
/// Made by [`CookieConfig::request_cookies`]. When several cookies have the same name, the
/// first one wins, as in the browser SDKs' readers (browsers send the cookie with the longest
/// path first). `Debug` shows the names, never the values.
#[derive(Clone, Default)]
pub struct RequestCookies {
    values: BTreeMap<String, String>,
}

impl RequestCookies {
    /// No cookies: for writing a session when there is no request to look at.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Whether the request carried none of the format's cookies.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether the request carried a cookie of this name (one of the format's).
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The names of the format's cookies the request carried, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// For tests: cookies given directly.
    #[cfg(test)]
    pub(crate) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut values = BTreeMap::new();
        for (name, value) in pairs {
            values
                .entry(name.to_owned())
                .or_insert_with(|| value.to_owned());
        }
        Self { values }
    }
}

impl fmt::Debug for RequestCookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestCookies")
            .field("names", &self.values.keys())
            .finish()
    }
}

impl CookieConfig {
    /// Picks this format's cookies out of a request's `Cookie` headers (all of them: HTTP/2
    /// may split cookies over several). Never fails: malformed pairs are skipped.
    pub fn request_cookies(&self, headers: &HeaderMap) -> RequestCookies {
        self.request_cookies_from_values(headers.get_all(COOKIE).iter().map(|v| v.as_bytes()))
    }

    /// [`request_cookies`](Self::request_cookies) from the raw values of a request's `Cookie`
    /// headers, for servers whose header types are not `http` 1's (actix-web 4 has its own),
    /// without copying them into a `HeaderMap` first.
    pub fn request_cookies_from_values<'a>(
        &self,
        headers: impl IntoIterator<Item = &'a [u8]>,
    ) -> RequestCookies {
        let mut values = BTreeMap::new();
        let mut budget = MAX_COOKIE_HEADER_BYTES;
        for bytes in headers {
            let bytes = if bytes.len() > budget {
                tracing::warn!(
                    limit = MAX_COOKIE_HEADER_BYTES,
                    "Cookie headers too large; the rest is ignored"
                );
                bytes.get(..budget).unwrap_or_default()
            } else {
                bytes
            };
            budget -= bytes.len();
            // Checked first as it is: the common, valid case is faster than a lossy pass.
            let text = match std::str::from_utf8(bytes) {
                Ok(text) => std::borrow::Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(bytes),
            };
            for pair in Cookie::split_parse(text.as_ref()) {
                let Ok(pair) = pair else { continue };
                if !self.is_format_cookie(pair.name()) || values.contains_key(pair.name()) {
                    continue;
                }
                if pair.value().len() > MAX_VALUE_BYTES {
                    tracing::warn!(cookie = pair.name(), "cookie value too large; ignored");
                    continue;
                }
                values.insert(pair.name().to_owned(), pair.value().to_owned());
            }
            if budget == 0 {
                break;
            }
        }
        RequestCookies { values }
    }

    /// Whether `name` is one of the cookies this format reads or writes.
    pub(crate) fn is_format_cookie(&self, name: &str) -> bool {
        match self.format {
            CookieFormat::Own => {
                name == self.name || chunking::chunk_index(&self.name, name).is_some()
            }
            CookieFormat::NextJs2 => nextjs2::ALL_NAMES.contains(&name),
            CookieFormat::NhostJs4 => name == self.name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(COOKIE, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn keeps_the_formats_cookies_first_one_wins() {
        let config = CookieConfig::own();
        let cookies = config.request_cookies(&headers(&[
            "a=1; nhost-session=first; nhost-session.0=c0",
            "nhost-session=second; nhost-session.x=no; other=2; broken; =x",
        ]));
        assert_eq!(cookies.get("nhost-session"), Some("first"));
        assert_eq!(
            cookies.names().collect::<Vec<_>>(),
            ["nhost-session", "nhost-session.0"]
        );
        assert!(!format!("{cookies:?}").contains("first"));
    }

    #[test]
    fn thousands_of_cookies_and_huge_headers_are_bounded() {
        let config = CookieConfig::nhost_js4();
        let many: String =
            (0..20_000).map(|i| format!("c{i}=v; ")).collect::<String>() + "nhostSession=x";
        let cookies = config.request_cookies(&headers(&[&many]));
        assert_eq!(cookies.get("nhostSession"), Some("x"));

        let huge = format!("nhostSession={}", "a".repeat(MAX_VALUE_BYTES + 1));
        assert!(config.request_cookies(&headers(&[&huge])).is_empty());

        let beyond = "x=".to_owned() + &"a".repeat(MAX_COOKIE_HEADER_BYTES) + "; nhostSession=y";
        assert!(
            config
                .request_cookies(&headers(&[&beyond, "nhostSession=z"]))
                .is_empty()
        );
    }
}
