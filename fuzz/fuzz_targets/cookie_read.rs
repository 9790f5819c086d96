//! Arbitrary `Cookie` headers read in every format (own plain, signed and encrypted,
//! `@nhost/nextjs` 2, `@nhost/nhost-js` 4).
//!
//! Input: the bytes of one or more `Cookie` header values, one per line (HTTP/2 may send
//! several). Checks, for every configuration:
//! - reading never panics, and `read` agrees with `request_cookies` + `read_cookies`;
//! - `read_refresh_token` finds the refresh token of every session `read` finds;
//! - a session that reads has a non-blank refresh token, and its `Debug` shows no token;
//! - an `AuthClient` over a `CookieTokenStore` of the request restores it without panicking;
//! - removal cookies are removals;
//! - whatever reads can be written in every format (a migration) without panicking;
//! - written back in its own format it reads back the same (as far as the format keeps it), and
//!   a second write/read round trip is a fixed point.

#![no_main]

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use nhost_session_cookie::{CookieFormat, CookieTokenStore, RequestCookies};
use nhost_session_fuzz::cookies::{CONFIGS, check_read_back, check_set_cookies, request_from};
use nhost_session_fuzz::{check_tokens_debug, now, restore_client};

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(COOKIE, value);
        }
    }
    for (name, config) in CONFIGS.iter() {
        let cookies = config.request_cookies(&headers);
        let names = format!("{cookies:?}");
        assert!(names.starts_with("RequestCookies"));
        assert!(config.remove(&cookies).iter().all(|c| c.is_removal()));

        let read = config.read_cookies(&cookies);
        assert_eq!(
            read,
            config.read(&headers),
            "{name}: read and read_cookies differ"
        );
        // What the actix middleware reads: the refresh token of every session `read` finds,
        // and (but for nhost-js 4, which skips the other members unread) nothing more.
        let alone = config.read_refresh_token(&cookies);
        match (&read, &alone) {
            (Some(tokens), alone) => assert_eq!(
                alone.as_ref(),
                Some(&tokens.refresh_token),
                "{name}: read_refresh_token disagrees with read"
            ),
            (None, Some(_)) => assert!(
                config.format() == CookieFormat::NhostJs4,
                "{name}: read_refresh_token found a token read refuses"
            ),
            (None, None) => {}
        }
        let from_values = config
            .request_cookies_from_values(headers.get_all(COOKIE).iter().map(|v| v.as_bytes()));
        assert_eq!(
            format!("{from_values:?}"),
            names,
            "{name}: request_cookies_from_values differs"
        );
        let Some(tokens) = read else { continue };
        assert!(
            !tokens.refresh_token.expose_secret().trim().is_empty(),
            "{name}: a blank refresh token was read"
        );
        check_tokens_debug(&tokens);

        // An SSR request: a client restores the session from the request's cookies.
        restore_client(CookieTokenStore::new(config.clone(), &headers));

        // A migration: whatever one format reads, every format can write (or refuse) safely.
        for (_, other) in CONFIGS.iter() {
            let _ = other.write(&tokens, now(), &RequestCookies::empty());
            let _ = other.write(&tokens, now(), &cookies);
        }

        // The same format: write, read back, write again.
        let Ok(set) = config.write(&tokens, now(), &cookies) else {
            continue;
        };
        check_set_cookies(config, &set);
        let request = request_from(&set);
        let again = config
            .read(&request)
            .unwrap_or_else(|| panic!("{name}: a session just written does not read back"));
        check_read_back(name, config, &tokens, &again);

        let set = config
            .write(&again, now(), &config.request_cookies(&request))
            .unwrap_or_else(|e| panic!("{name}: a session read back cannot be written: {e}"));
        let third = config.read(&request_from(&set));
        assert_eq!(third.as_ref(), Some(&again), "{name}: not a fixed point");
    }
});
