//! The cookie configurations the targets exercise, and turning `Set-Cookie` values back into a
//! request's `Cookie` header.

use std::sync::LazyLock;

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use nhost_session_cookie::{CookieConfig, CookieFormat, Key, MAX_COOKIE_BYTES, SetCookie};
use nhost_session_core::StoredTokens;
use time::OffsetDateTime;

/// Every format, and the own format signed and encrypted too.
pub static CONFIGS: LazyLock<Vec<(&'static str, CookieConfig)>> = LazyLock::new(|| {
    let key = Key::try_from(&[0x5a_u8; 64][..]).expect("64 bytes make a key");
    let own = |builder: nhost_session_cookie::CookieConfigBuilder| {
        builder.build().expect("a valid configuration")
    };
    vec![
        ("own", CookieConfig::own()),
        (
            "own-signed",
            own(CookieConfig::builder(CookieFormat::Own).signed(key.clone())),
        ),
        (
            "own-private",
            own(CookieConfig::builder(CookieFormat::Own)
                .name("__Host-session")
                .private(key)),
        ),
        ("nextjs2", CookieConfig::nextjs2()),
        ("nhost-js4", CookieConfig::nhost_js4()),
    ]
});

/// A request carrying the cookies that `set` sets (removals left out), in one `Cookie` header,
/// as a browser would send them back.
pub fn request_from(set: &[SetCookie]) -> HeaderMap {
    let pairs: Vec<&str> = set
        .iter()
        .filter(|c| !c.is_removal())
        .map(|c| {
            let text = c
                .header_value()
                .to_str()
                .expect("Set-Cookie values are ASCII");
            text.split(';').next().unwrap_or_default()
        })
        .collect();
    let mut headers = HeaderMap::new();
    if !pairs.is_empty() {
        let value = HeaderValue::from_str(&pairs.join("; ")).expect("cookie pairs are a header");
        headers.insert(COOKIE, value);
    }
    headers
}

/// Checks what `write` produced: sizes, removals and the names of the format.
pub fn check_set_cookies(config: &CookieConfig, set: &[SetCookie]) {
    for cookie in set {
        assert!(
            cookie.len() <= MAX_COOKIE_BYTES,
            "{cookie:?} is over the limit"
        );
        assert_eq!(cookie.len(), cookie.header_value().len());
        let text = cookie.header_value().to_str().expect("ASCII");
        assert!(
            text.starts_with(&format!("{}=", cookie.name())),
            "{cookie:?} does not start with its name"
        );
        let max_age_zero = text
            .split("; ")
            .skip(1)
            .any(|attribute| attribute == "Max-Age=0");
        assert_eq!(cookie.is_removal(), max_age_zero, "{cookie:?}");
    }
    let written: Vec<&str> = set
        .iter()
        .filter(|c| !c.is_removal())
        .map(SetCookie::name)
        .collect();
    assert!(!written.is_empty(), "a write sets at least one cookie");
    if config.format() == CookieFormat::Own {
        let chunked = written.iter().any(|n| *n != config.name());
        assert!(
            !chunked || !written.contains(&config.name()),
            "a value is written whole or in chunks, never both: {written:?}"
        );
    }
}

/// What `tokens` reads back as after a write in `config`'s format, as far as the format keeps
/// it: the refresh token and its id always; the expiry in seconds (own format) or milliseconds
/// (`@nhost/nextjs` 2, within the years ISO-8601 without a sign can hold).
pub fn check_read_back(
    name: &str,
    config: &CookieConfig,
    written: &StoredTokens,
    read: &StoredTokens,
) {
    assert!(
        read.refresh_token.ct_eq(&written.refresh_token),
        "{name}: the refresh token changed on a round trip"
    );
    assert_eq!(
        read.refresh_token_id, written.refresh_token_id,
        "{name}: the refresh token id changed on a round trip"
    );
    match config.format() {
        CookieFormat::Own => {
            let expected = written
                .access_token_expires_at
                .map(|t| OffsetDateTime::from_unix_timestamp(t.unix_timestamp()).ok());
            assert_eq!(
                read.access_token_expires_at.map(Some),
                expected,
                "{name}: expiry"
            );
            assert!(read.access_token.is_none() && read.user.is_none());
        }
        CookieFormat::NextJs2 => {
            let expected = written.access_token_expires_at.and_then(|t| {
                let utc = t.to_offset(time::UtcOffset::UTC);
                // `toISOString` writes `±YYYYYY` outside years 0 to 9999, which RFC 3339 does
                // not read: the expiry is then unknown, which only means an early refresh.
                (0..=9999).contains(&utc.year()).then(|| {
                    let millis = utc.unix_timestamp_nanos().div_euclid(1_000_000);
                    OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000).expect("in range")
                })
            });
            assert_eq!(read.access_token_expires_at, expected, "{name}: expiry");
            // `nhostSession` is optional (only while the JWT has over a minute left).
            if let Some(token) = &read.access_token {
                assert_eq!(Some(token), written.access_token.as_ref(), "{name}");
                assert_eq!(read.user, written.user, "{name}: user");
            }
        }
        CookieFormat::NhostJs4 => {
            assert_eq!(read.access_token, written.access_token, "{name}");
            assert_eq!(read.user, written.user, "{name}: user");
        }
        _ => {}
    }
}
